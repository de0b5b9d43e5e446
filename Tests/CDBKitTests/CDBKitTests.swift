import Foundation
import Testing
@testable import CDBKit

@Suite("settings")
struct SettingsTests {
    @Test(".env parsing takes quotes, export and comments, and names bad lines without their values")
    func dotenv() {
        let text = """
            # comment
            export POSTGRES_USER=trader
            POSTGRES_PASSWORD="s3cr=t # not a comment"
            POSTGRES_DB='claire'
            POSTGRES_HOST=db # trailing comment
            this line is broken hunter2
            1BAD=x
            UNTERMINATED="abc
            """
        let parsed = DotEnv.parse(text)
        #expect(parsed.values["POSTGRES_USER"] == "trader")
        #expect(parsed.values["POSTGRES_PASSWORD"] == "s3cr=t # not a comment")
        #expect(parsed.values["POSTGRES_DB"] == "claire")
        #expect(parsed.values["POSTGRES_HOST"] == "db")
        #expect(parsed.problems.count == 3)
        #expect(parsed.problems.allSatisfy { !$0.description.contains("hunter2") && !$0.description.contains("abc") })
        #expect(parsed.problems[0].description.contains(":6:"))
    }

    @Test(".env as docker compose reads it: CRLF, BOM, quotes, escapes, comments, multi-line values, interpolation")
    func composeSyntax() {
        let text = "\u{FEFF}A=1\r\nB='literal $A ${A} \\n'\r\nC=\"x\\ty\\n$A ${A}\" # comment\r\nD=plain value # comment\r\n"
            + "E=no#comment\nF=${UNSET:-fallback}\nG=${A:-unused}\nH=${UNSET-dash}\nI=${A:+alt}\nJ=${UNSET:+alt}\nK=$$A and \\$A\n"
            + "L=\"first\nsecond\"\nM=${A}${A}\nN=${PGPASSWORD}${HOME}\nO=${UNSET:?needs a value}\nP=\"x\" trailing\nQ=\"\\$A\"\n"
        let parsed = DotEnv.parse(text, environment: ["HOME": "/home/t", "PGPASSWORD": "secret"])
        let v = parsed.values
        #expect(v["A"] == "1")
        #expect(v["B"] == "literal $A ${A} \\n")
        #expect(v["C"] == "x\ty\n1 1")
        #expect(v["D"] == "plain value")
        #expect(v["E"] == "no#comment")
        #expect(v["F"] == "fallback" && v["G"] == "1" && v["H"] == "dash" && v["I"] == "alt" && v["J"] == "")
        #expect(v["K"] == "$A and \\1")
        #expect(v["L"] == "first\nsecond")
        #expect(v["M"] == "11")
        #expect(v["N"] == "/home/t", "a secret-looking variable is never interpolated")
        #expect(v["O"] == nil && v["P"] == nil)
        #expect(v["Q"] == "$A")
        #expect(parsed.lines["L"] == 12 && parsed.lines["M"] == 14, "\(parsed.lines)")
        let keys = parsed.problems.compactMap(\.key)
        #expect(keys == ["O", "P"], "\(parsed.problems)")
        #expect(parsed.problems.allSatisfy { !$0.description.contains("secret") })
    }

    @Test("flags beat the environment, which beats the user's config file, which beats defaults; .env gives only the connection, and only when enabled")
    func precedence() throws {
        let dir = NSTemporaryDirectory() + "cdb-settings-\(UUID().uuidString.prefix(6))"
        let config = dir + "-config"
        try FileManager.default.createDirectory(atPath: dir + "/.git", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: config + "/cdb", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: config) }
        try "CDB_RETENTION_DAYS=7\nCDB_KEEP_LAST=9\n".write(toFile: config + "/cdb/config", atomically: true, encoding: .utf8)
        chmod(config + "/cdb/config", 0o600)
        try "CDB_KEEP_LAST=1\nCDB_BACKUP_ROOT=backups\nPOSTGRES_DB=fromenvfile\nPOSTGRES_PASSWORD=pw-from-dotenv\n"
            .write(toFile: dir + "/.env", atomically: true, encoding: .utf8)
        let environment = ["HOME": "/home/t", "XDG_CONFIG_HOME": config]
        // Not enabled: the repository's .env is not read at all.
        let untrusted = try Settings.resolve(flags: .init(), environment: environment, directory: dir + "/sub")
        #expect(untrusted.enabledWorkTree == nil)
        #expect(!untrusted.database.parameters.contains { $0.0 == "dbname" })
        #expect(untrusted.retentionDays == 7 && untrusted.keepLast == 9)

        try UserConfig(environment: environment).enable(WorkTree.root(containing: dir)!)
        var flags = Settings.Flags()
        flags.keepLast = 2
        let settings = try Settings.resolve(flags: flags, environment: environment.merging(["CDB_RETENTION_DAYS": "10"]) { $1 }, directory: dir + "/sub")
        #expect(settings.enabledWorkTree == WorkTree.physical(dir))
        #expect(settings.keepLast == 2)
        #expect(settings.retentionDays == 10)
        #expect(settings.backupRoot == "/home/t/Claire_Backups", "CDB_BACKUP_ROOT in .env is ignored")
        #expect(settings.warnings.contains { $0.contains("CDB_BACKUP_ROOT is ignored") && $0.contains(config + "/cdb/config") })
        #expect(settings.requiredTables == Settings.defaultRequiredTables)
        #expect(settings.database.parameters.contains { $0 == ("dbname", "fromenvfile") })
        #expect(settings.database.secrets == ["pw-from-dotenv"])
        // PG* variables are left to libpq and win over .env.
        let env = try Settings.resolve(flags: .init(), environment: environment.merging(["PGDATABASE": "x", "PGPASSWORD": "p"]) { $1 }, directory: dir)
        #expect(!env.database.parameters.contains { $0.0 == "dbname" || $0.0 == "password" })
        #expect(throws: CDBError.self) {
            try Settings.resolve(flags: .init(), environment: ["HOME": "/h", "CDB_KEEP_LAST": "many", "XDG_CONFIG_HOME": config], directory: "/")
        }
    }

    @Test("credentials are removed from URLs and conninfo, and nothing else is touched")
    func redaction() {
        #expect(ConnectionString.redactURLs(in: "https://user:tok3n@github.com/x.git") == "https://user@github.com/x.git")
        #expect(ConnectionString.password(in: "postgresql://u:p%40ss@h/db") == "p@ss")
        #expect(ConnectionString.password(in: "host=x password='a b' dbname=y") == "a b")
        #expect(ConnectionString.redactConninfo(in: "host=x password='a b' dbname=y") == "host=x password=*** dbname=y")
        #expect(ConnectionString.rawURIPassword(in: "postgresql://u:SEC%ZZ@h:5432/db?x=1") == "SEC%ZZ")
        #expect(ConnectionString.rawURIPassword(in: "postgresql://u@h/db") == nil)
        #expect(ConnectionString.rawURIPassword(in: "postgresql://h/db?user=a:b@c") == nil)
        #expect(ConnectionString.rawURIPassword(in: "host=h password=x") == nil)
        var flags = Settings.Flags()
        flags.dbname = "postgresql://u:hunter2@h/db"
        let settings = try? Settings.resolve(flags: flags, environment: ["HOME": "/h"], directory: "/")
        #expect(settings?.database.redact("failed for postgresql://u:hunter2@h/db") == "failed for postgresql://u@h/db")
        // A password that is a common word leaves messages alone.
        for password in ["t", "failed", "password", "e"] {
            var short = Settings.Flags()
            short.dbname = "host=h password=\(password) dbname=d"
            let s = try? Settings.resolve(flags: short, environment: ["HOME": "/h"], directory: "/")
            let message = "password authentication failed for user \"trader\""
            #expect(s?.database.redact(message) == message, "password \(password)")
            #expect(PGConnection.classify(message: message, target: "h:5432", redact: s!.database.redact).exitStatus == .config)
        }
    }
}

@Suite("store")
struct StoreTests {
    @Test("backup names go minutes, then seconds, then a counter")
    func names() {
        var parts = DateComponents()
        (parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second) = (2025, 11, 25, 22, 27, 15)
        let date = Calendar.current.date(from: parts)!
        let names = Array(BackupRoot.candidateNames(prefix: "cdb_backup", stamp: .init(date), suffix: ".sql").prefix(4))
        #expect(names == ["cdb_backup_2025-11-25_2227.sql", "cdb_backup_2025-11-25_222715.sql",
                          "cdb_backup_2025-11-25_222715_2.sql", "cdb_backup_2025-11-25_222715_3.sql"])
    }

    @Test("an atomic file never replaces an existing name and leaves nothing behind uncommitted")
    func atomicFile() throws {
        let dir = NSTemporaryDirectory() + "cdb-atomic-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "old".write(toFile: dir + "/a", atomically: true, encoding: .utf8)
        let file = try AtomicFile(directory: dir, stem: "a")
        try Array("new".utf8).withUnsafeBytes { try file.sink.write($0) }
        try file.sync()
        let path = try file.commit(candidates: ["a", "b"])
        #expect(path == dir + "/b")
        #expect(try String(contentsOfFile: dir + "/a", encoding: .utf8) == "old")
        #expect(try String(contentsOfFile: dir + "/b", encoding: .utf8) == "new")
        do {
            let abandoned = try AtomicFile(directory: dir, stem: "c")
            try Array("partial".utf8).withUnsafeBytes { try abandoned.sink.write($0) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a", "b"])
    }

    @Test("a big atomic file is written past the page cache from 8 MiB on, in any write sizes, and patched after; the same bytes on every file system; a pipe takes every byte", arguments: [NSTemporaryDirectory(), "/dev/shm/"])
    func diskWrites(_ base: String) throws {
        let dir = base + "cdb-wb-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Odd sizes, so that no write and no block boundary falls on a page.
        var expected = [UInt8]()
        var sizes = [1, 4095, 3 << 20 + 7, 1 << 20, 5 << 20 + 4093, 333, 2 << 20 + 1]
        sizes += sizes + sizes
        let pattern = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12) }
        let file = try AtomicFile(directory: dir, stem: "w")
        for (i, size) in sizes.enumerated() {
            let chunk = pattern[(i * 97)..<(i * 97 + size)]
            expected += chunk
            try chunk.withUnsafeBytes { try file.sink.write($0) }
        }
        #expect(file.sink.writtenBack != nil || file.sink.writesDirectly)
        if base == NSTemporaryDirectory() {
            #expect(file.sink.writesDirectly, "this project's /tmp (ext4) takes O_DIRECT")
        }
        // A zip-style patch of bytes already written, then the hash read back.
        file.sink.hashing = false
        try file.sink.patch(at: 4090, Array("patched".utf8))
        expected.replaceSubrange(4090..<4097, with: Array("patched".utf8))
        try file.sink.rehash()
        try file.sync()
        let path = try file.commit(candidates: ["w"])
        #expect(FileManager.default.contents(atPath: path) == Data(expected))
        #expect(try Checksum.sha256(ofFileAt: path) == file.sink.digest())

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readEnd = fds[0]
        defer { close(readEnd) }
        let reader = Thread { var buffer = [UInt8](repeating: 0, count: 1 << 16); while read(readEnd, &buffer, buffer.count) > 0 {} }
        reader.start()
        let piped = DescriptorSink(fd: fds[1], path: "pipe", ownsDescriptor: true)
        piped.startsDiskWrites()
        let block = [UInt8](repeating: 7, count: 3 << 20)
        for _ in 0..<4 { try block.withUnsafeBytes { try piped.write($0) } }
        #expect(piped.writtenBack == nil && !piped.writesDirectly)
        #expect(piped.bytesWritten == 12 << 20)
    }

    @Test("compressed streams round-trip through the reader", arguments: [Compression.gzip, .zstd, .none])
    func compression(_ method: Compression) throws {
        let dir = NSTemporaryDirectory() + "cdb-z-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try AtomicFile(directory: dir, stem: "x")
        let writer = BufferedWriter(sink: try method.wrap(file.sink), capacity: 4096)
        var expected = Data()
        for i in 0..<20_000 {
            let line = "row \(i)\t\(String(repeating: "x", count: i % 97))\n"
            expected.append(contentsOf: line.utf8)
            try writer.write(line)
        }
        try writer.finish()
        let path = try file.commit(candidates: ["out" + method.suffix])
        let reader = try DecompressingReader(path: path)
        var got = Data()
        while true {
            let chunk = try reader.next()
            if chunk.isEmpty { break }
            got.append(contentsOf: chunk)
        }
        #expect(got == expected)
    }
}

@Suite("dump validator")
struct DumpValidatorTests {
    static let good = #"""
        --
        -- PostgreSQL database dump
        --

        CREATE TABLE public.orders (
            id bigint
        );
        CREATE TABLE "Odd Schema"."Mixed ""Case""" (
            id bigint
        );
        COPY public.orders (id) FROM stdin;
        1
        2
        \.
        -- Rows: 2

        COPY "Odd Schema"."Mixed ""Case""" (id) FROM stdin;
        \.
        -- Rows: 0

        --
        -- PostgreSQL database dump complete
        --

        """#

    func validate(_ text: String, chunk: Int = 7) -> DumpValidator.Report {
        let validator = DumpValidator()
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            bytes[i..<end].withUnsafeBytes { validator.consume($0) }
            i = end
        }
        return validator.finish()
    }

    @Test("a complete dump passes, in any chunking, and its tables are known")
    func complete() {
        for chunk in [1, 3, 64, 100_000] {
            let report = validate(Self.good, chunk: chunk)
            #expect(report.problems.isEmpty, "\(report.problems)")
            #expect(report.createdTables == ["public.orders", "Odd Schema.Mixed \"Case\""])
            #expect(report.copiedRows == ["public.orders": 2, "Odd Schema.Mixed \"Case\"": 0])
            #expect(report.missing(required: ["orders", "public.orders", "trades"]) == ["trades"])
        }
    }

    @Test("a truncated dump, a missing terminator and a wrong row count all fail")
    func broken() {
        let truncated = String(Self.good.prefix(Self.good.count - 40))
        #expect(!validate(truncated).problems.isEmpty)
        let unterminated = Self.good.components(separatedBy: "\n").prefix(13).joined(separator: "\n")
        #expect(validate(unterminated).problems.contains { $0.contains("not terminated") })
        let wrongCount = Self.good.replacingOccurrences(of: "-- Rows: 2", with: "-- Rows: 3")
        #expect(validate(wrongCount).problems.contains { $0.contains("has 2 rows but its dump recorded 3") })
        let trailingJunk = Self.good + "DROP TABLE x;\n"
        #expect(!validate(trailingJunk).problems.isEmpty)
    }
}

@Suite("dependency order")
struct DependencyOrderTests {
    @Test("dependencies come first; ties follow rank; cycles still yield every object once")
    func order() {
        let rank: [String: (Int, String)] = ["view": (5, "a"), "table": (4, "z"), "type": (1, "m"), "fn": (2, "b")]
        let sorted = DependencyOrder.sort(["view", "table", "type", "fn"], rank: rank,
                                          edges: [("view", "fn"), ("fn", "table"), ("table", "type")])
        #expect(sorted == ["type", "table", "fn", "view"])
        let cyclic = DependencyOrder.sort(["a", "b"], rank: ["a": (1, "a"), "b": (1, "b")], edges: [("a", "b"), ("b", "a")])
        #expect(Set(cyclic) == ["a", "b"] && cyclic.count == 2)
    }
}
