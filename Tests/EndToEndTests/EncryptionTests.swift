import CDBKit
import Crypto
import Foundation
import Testing

/// Encryption with age, judged by the real `age` tool (Debian's package): files cdb writes open
/// with `age -d`, files `age` writes open with cdb, and the programs never leave plaintext.
@Suite("encryption (age)", .enabled(if: PG.enabled), .serialized)
struct EncryptionTests {
    /// A fresh identity file made by age-keygen, and its recipient.
    static func keygen(_ dir: String, _ name: String = "key.txt") throws -> (file: String, recipient: String) {
        let file = dir + "/" + name
        let made = try Harness.run("age-keygen", ["-o", file])
        #expect(made.status == 0, "\(made.stderr)")
        let recipient = try Harness.run("age-keygen", ["-y", file]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return (file, recipient)
    }

    final class FileSink: ByteSink {
        let handle: FileHandle
        init(_ path: String) throws {
            FileManager.default.createFile(atPath: path, contents: nil)
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        func write(_ bytes: UnsafeRawBufferPointer) throws { handle.write(Data(bytes)) }
        func finish() throws { try handle.close() }
    }

    @Test("interoperability: what cdb encrypts (0 B, 1 B, 64 KiB, 64 KiB + 1, 200 MB; two recipients) age -d opens; what age -e writes cdb opens")
    func interoperability() throws {
        let dir = try Harness.temporaryDirectory("age")
        defer { Harness.remove(dir) }
        let alice = try Self.keygen(dir, "alice.txt"), bob = try Self.keygen(dir, "bob.txt")
        for size in [0, 1, 65_536, 65_537, 200 << 20] {
            var plain = [UInt8](repeating: 0, count: size)
            for i in stride(from: 0, to: size, by: 4096) { plain[i] = UInt8(truncatingIfNeeded: i >> 12 &* 131) }
            try Data(plain).write(to: URL(fileURLWithPath: dir + "/plain"))
            let sink = try FileSink(dir + "/cdb.age")
            let age = try AgeSink(next: sink, recipients: [try AgeRecipient(alice.recipient), try AgeRecipient(bob.recipient)])
            var offset = 0
            while offset < size {
                let n = min(size - offset, 3 << 20)
                try plain[offset..<(offset + n)].withUnsafeBytes { try age.write($0) }
                offset += n
            }
            try age.finish()
            for key in [alice.file, bob.file] {
                // age creates its output only when it has bytes to write: start from an empty one.
                try Data().write(to: URL(fileURLWithPath: dir + "/out"))
                let opened = try Harness.run("age", ["-d", "-i", key, "-o", dir + "/out", dir + "/cdb.age"])
                #expect(opened.status == 0, "size \(size): \(opened.stderr)")
                #expect(try Harness.sha256(dir + "/out") == Harness.sha256(dir + "/plain"), "size \(size)")
            }
            // The other way: age encrypts, cdb decrypts.
            let sealed = try Harness.run("age", ["-r", alice.recipient, "-r", bob.recipient, "-o", dir + "/age.age", dir + "/plain"])
            #expect(sealed.status == 0, "\(sealed.stderr)")
            let reader = try AgeReader(path: dir + "/age.age", keys: DecryptionKeys(identities: try AgeIdentity.parseFile(
                String(contentsOfFile: bob.file, encoding: .utf8), name: "bob.txt")))
            var digest = SHA256()
            try reader.forEachChunk { digest.update(data: $0) }
            #expect(Format.hex(digest.finalize()) == (try Harness.sha256(dir + "/plain")), "size \(size)")
        }
    }

    @Test("a dump encrypted by cdb-pg-dump restores with age -d | psql, and one made by pg_dump | age restores with cdb-restore --identity")
    func dumpBothWays() throws {
        let dir = try Harness.temporaryDirectory("age")
        let source = try PG.tradingDatabase()
        let copies = [PG.uniqueName("viaage"), PG.uniqueName("viacdb")]
        defer { Harness.remove(dir); PG.dropDatabase(source); copies.forEach { PG.dropDatabase($0) } }
        let key = try Self.keygen(dir)
        let dump = try Harness.cdb("cdb-pg-dump", ["-d", source, "--compress", "zstd", "--recipient", key.recipient, "-o", dir + "/d.sql.zst.age"])
        #expect(dump.status == 0, "\(dump.stderr)")
        // No plaintext anywhere: the file is age, not zstd or SQL.
        let head = try Data(contentsOf: URL(fileURLWithPath: dir + "/d.sql.zst.age")).prefix(22)
        #expect(String(decoding: head, as: UTF8.self) == "age-encryption.org/v1\n")
        #expect(try Harness.run("sha256sum", ["-c", "d.sql.zst.age.sha256"], directory: dir).status == 0)
        _ = try PG.psql("postgres", "CREATE DATABASE \(copies[0])")
        let piped = try Harness.run("sh", ["-c", "age -d -i \"$1\" \"$2\" | zstd -d | psql -X -q -v ON_ERROR_STOP=1 -d \"$3\"", "sh",
                                           key.file, dir + "/d.sql.zst.age", copies[0]])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try PG.contentDigest(copies[0]) == PG.contentDigest(source))

        let made = try Harness.run("sh", ["-c", "pg_dump -d \"$1\" | age -r \"$2\" > \"$3\"", "sh", source, key.recipient, dir + "/pg.sql.age"])
        #expect(made.status == 0, "\(made.stderr)")
        let restored = try Harness.cdb("cdb-restore", [dir + "/pg.sql.age", "--dbname", copies[1], "--create", "--identity", key.file])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try PG.contentDigest(copies[1]) == PG.contentDigest(source))
    }

    @Test("cdb-pre-session --encrypt: both backups are .age with sidecars of the encrypted bytes, no plaintext in the root; cdb-verify and cdb-restore --check need the identity")
    func session() throws {
        let f = try SessionFixture()
        let dir = try Harness.temporaryDirectory("age")
        defer { Harness.remove(dir); Harness.remove(f.root); f.database.map { PG.dropDatabase($0) } }
        let key = try Self.keygen(dir)
        var env = f.environment
        env["CDB_RECIPIENTS"] = key.recipient
        try f.repo.write(".env", "POSTGRES_PASSWORD=not-in-clear\n")
        let run = try Harness.cdb("cdb-pre-session", ["--encrypt"], environment: env, directory: f.repo.path)
        #expect(run.status == 0, "\(run.stderr)")
        let paths = run.stdout.split(separator: "\n").map(String.init)
        #expect(paths.count == 2 && paths.allSatisfy { $0.hasSuffix(".age") }, "\(paths)")
        #expect(paths.contains { $0.hasSuffix(".sql.age") } && paths.contains { $0.hasSuffix(".zip.age") })
        // Nothing under the root holds plaintext: no SQL, no zip, no file names of the repository.
        let everything = FileManager.default.enumerator(atPath: f.root)!.compactMap { $0 as? String }
            .map { f.root + "/" + $0 }.filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
        #expect(everything.count >= 4)
        for file in everything {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for marker in ["PostgreSQL database dump", "strategy.py", "PK\u{3}\u{4}", "COPY public."] {
                #expect(bytes.range(of: Data(marker.utf8)) == nil, "\(file) holds \(marker)")
            }
        }
        for path in paths {
            let noKey = try Harness.cdb("cdb-verify", [path], environment: env)
            #expect(noKey.status == 0 && noKey.stderr.contains("give --identity"), "\(noKey.stderr)")
            let full = try Harness.cdb("cdb-verify", [path, "--identity", key.file], environment: env)
            #expect(full.status == 0 && !full.stderr.contains("give --identity"), "\(full.stderr)")
            let other = try Self.keygen(dir, "other.txt")
            let wrong = try Harness.cdb("cdb-verify", [path, "--identity", other.file], environment: env)
            #expect(wrong.status == 77 && wrong.stderr.contains("no identity matches"), "\(wrong.stderr)")
            try FileManager.default.removeItem(atPath: other.file)
        }
        let dump = paths.first { $0.hasSuffix(".sql.age") }!
        let check = try Harness.cdb("cdb-restore", ["--check", dump, "--identity", key.file], environment: env)
        #expect(check.status == 0 && check.stderr.contains("OK:"), "\(check.stderr)")
        let refused = try Harness.cdb("cdb-restore", ["--check", dump], environment: env)
        #expect(refused.status == 77, "\(refused.stderr)")
        // cdb-verify --latest and prune see the .age names.
        let latest = try Harness.cdb("cdb-verify", ["--latest", "--identity", key.file], environment: env)
        #expect(latest.status == 0 && latest.stderr.components(separatedBy: "OK ").count == 3, "\(latest.stderr)")
        let prune = try Harness.cdb("cdb-prune", ["--dry-run", "--json"], environment: env)
        #expect(prune.status == 0 && prune.stdout.contains(".age"), "\(prune.stdout)")
    }

    @Test("tampering with an encrypted dump: a flipped byte in the header, a middle chunk or the end, a cut — 65 naming what broke, nothing restored")
    func tampering() throws {
        let dir = try Harness.temporaryDirectory("age")
        let source = try PG.tradingDatabase(scale: 40)
        let target = try PG.createDatabase("tampered")
        defer { Harness.remove(dir); PG.dropDatabase(source); PG.dropDatabase(target) }
        let key = try Self.keygen(dir)
        let dump = try Harness.cdb("cdb-pg-dump", ["-d", source, "--recipient", key.recipient, "-o", dir + "/d.sql.age"])
        #expect(dump.status == 0, "\(dump.stderr)")
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/d.sql.age"))
        #expect(good.count > 3 * 65_552, "the dump is big enough to have a middle chunk")
        let headerEnd = good.range(of: Data("\n---".utf8))!.upperBound + 45 + 16
        // A flip in a stanza changes what it wraps (no identity matches: 77, as age says); a
        // flip in the MAC is caught by the MAC (65).
        var stanza = good; stanza[30] ^= 0x01
        try stanza.write(to: URL(fileURLWithPath: dir + "/bad.sql.age"))
        let unwrapped = try Harness.cdb("cdb-verify", [dir + "/bad.sql.age", "--no-checksum", "--identity", key.file])
        #expect(unwrapped.status == 77, "\(unwrapped.stderr)")
        var cases: [(String, Data, String)] = []
        var header = good; header[headerEnd - 16 - 10] ^= 0x01; cases.append(("MAC", header, "MAC"))
        var middle = good; middle[headerEnd + 65_552 + 500] ^= 0x01; cases.append(("middle", middle, "chunk 1"))
        var end = good; end[good.count - 3] ^= 0x01; cases.append(("end", end, "chunk"))
        cases.append(("cut", good.prefix(good.count - 1000), "chunk"))
        for (label, bytes, says) in cases {
            try bytes.write(to: URL(fileURLWithPath: dir + "/bad.sql.age"))
            let verify = try Harness.cdb("cdb-verify", [dir + "/bad.sql.age", "--no-checksum", "--identity", key.file])
            #expect(verify.status == 65 && verify.stderr.contains(says), "\(label): \(verify.stderr)")
            let restore = try Harness.cdb("cdb-restore", [dir + "/bad.sql.age", "--dbname", target, "--no-verify", "--identity", key.file])
            #expect(restore.status == 65, "\(label): \(restore.stderr)")
            #expect(try PG.psql(target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0", "\(label): something was restored")
        }
    }

    @Test("passphrase files (age -p, typed at a terminal) open with --passphrase-file and at cdb's own terminal prompt; keys never reach a message")
    func passphrase() throws {
        let dir = try Harness.temporaryDirectory("age")
        let source = try PG.tradingDatabase()
        defer { Harness.remove(dir); PG.dropDatabase(source) }
        let dump = try Harness.cdb("cdb-pg-dump", ["-d", source, "-o", dir + "/d.sql"])
        #expect(dump.status == 0, "\(dump.stderr)")
        // age -p reads the passphrase only from a terminal: drive it through a pty.
        let pty = """
            import os, pty, sys, time
            argv = sys.argv[2:]
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp(argv[0], argv)
            out = b""
            answered = 0
            while True:
                try:
                    data = os.read(fd, 1024)
                except OSError:
                    break
                if not data:
                    break
                out += data
                prompts = out.lower().count(b"passphrase")
                while answered < prompts and answered < int(sys.argv[1]):
                    time.sleep(0.2)
                    os.write(fd, b"correct horse battery\\n")
                    answered += 1
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit(os.waitstatus_to_exitcode(status))
            """
        try pty.write(toFile: dir + "/drive_tty.py", atomically: false, encoding: .utf8)
        let sealed = try Harness.run("python3", [dir + "/drive_tty.py", "2", "age", "-p", "-o", dir + "/p.sql.age", dir + "/d.sql"])
        #expect(sealed.status == 0, "\(sealed.stdout) \(sealed.stderr)")
        try "correct horse battery\n".write(toFile: dir + "/pass.txt", atomically: false, encoding: .utf8)
        let viaFile = try Harness.cdb("cdb-verify", [dir + "/p.sql.age", "--no-checksum", "--passphrase-file", dir + "/pass.txt"])
        #expect(viaFile.status == 0 && viaFile.stderr.contains("tables"), "\(viaFile.stderr)")
        let prompted = try Harness.run("python3", [dir + "/drive_tty.py", "1", Harness.binDir + "/cdb-restore", "--check", "--no-verify", dir + "/p.sql.age"])
        #expect(prompted.status == 0 && prompted.stdout.contains("OK:"), "\(prompted.stdout)")
        #expect(!prompted.stdout.contains("correct horse"), "the passphrase was echoed")
        try "wrong\n".write(toFile: dir + "/wrong.txt", atomically: false, encoding: .utf8)
        let wrong = try Harness.cdb("cdb-verify", [dir + "/p.sql.age", "--no-checksum", "--passphrase-file", dir + "/wrong.txt"])
        #expect(wrong.status == 77, "\(wrong.stderr)")
        // A malformed identity file: 78 naming the line, never its text.
        try "# mine\nAGE-SECRET-KEY-1THISISNOTAKEYBUTLOOKSSECRET\n".write(toFile: dir + "/bad.txt", atomically: false, encoding: .utf8)
        let bad = try Harness.cdb("cdb-verify", [dir + "/p.sql.age", "--identity", dir + "/bad.txt"])
        #expect(bad.status == 78 && bad.stderr.contains("line 2") && !bad.stderr.contains("THISISNOTAKEY"), "\(bad.stderr)")
        // Encrypting with no recipient is a configuration error, and nothing is written.
        let none = try Harness.cdb("cdb-pg-dump", ["-d", source, "--encrypt", "-o", dir + "/none.sql.age"])
        #expect(none.status == 78 && !FileManager.default.fileExists(atPath: dir + "/none.sql.age"), "\(none.stderr)")
    }
}

