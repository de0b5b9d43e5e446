import CDBKit
import Foundation
import Testing

@Suite("attacks: snapshots after every commit", .serialized)
struct PostCommitReliabilityTests {
    @Test("20 commits in quick succession give 20 snapshots, one per commit; the log holds only cdb's entries")
    func everyCommit() throws {
        let repo = try TestRepo("rapid")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { repo.remove(); Harness.remove(root) }
        try repo.write("a.txt", "0\n")
        try repo.commitAll("first")
        let install = try Harness.cdb("cdb-repo-snap", ["--install-hook"], directory: repo.path)
        #expect(install.status == 0 && install.stderr.contains("enabled"), "\(install.stderr)")
        var commits: [String] = []
        for i in 1...20 {
            try repo.write("a.txt", "\(i)\n")
            try repo.gitArgs(["commit", "-q", "-am", "change \(i)"], environment: ["CDB_BACKUP_ROOT": root])
            commits.append(try repo.git("rev-parse", "--short=7", "HEAD"))
        }
        let folder = root + "/Repository"
        func snapshotted() -> Set<String> {
            // Full snapshots and increments alike (`_<hash>.zip`, `_<hash>.inc-<base>.zip`).
            Set(Harness.files(in: folder).filter { $0.hasSuffix(".zip") }.compactMap { BackupName.parse($0)?.commit })
        }
        try? waitFor(seconds: 60) { snapshotted().isSuperset(of: commits) }
        #expect(snapshotted().isSuperset(of: commits), "missing snapshots of \(Set(commits).subtracting(snapshotted()).sorted())")
        // Each snapshot holds its own commit, and verifies.
        for name in Harness.files(in: folder).filter({ $0.hasSuffix(".zip") }) {
            let metadata = try Harness.run("unzip", ["-p", folder + "/" + name, "git_metadata.txt"]).stdout
            #expect(metadata.contains("Commit: " + (BackupName.parse(name)?.commit ?? "?")), "\(name)")
        }
        let verify = try Harness.cdb("cdb-verify", Harness.files(in: folder).filter { $0.hasSuffix(".zip") }.map { folder + "/" + $0 })
        #expect(verify.status == 0, "\(verify.stderr)")
        try waitFor(seconds: 30) {
            ((try? String(contentsOfFile: folder + "/backup_log.txt", encoding: .utf8)) ?? "").components(separatedBy: "Repository backup OK").count - 1 >= 20
        }
        let log = try String(contentsOfFile: folder + "/backup_log.txt", encoding: .utf8)
        let foreign = log.split(separator: "\n").filter { !$0.hasPrefix("[") && !$0.hasPrefix("  ") }
        #expect(foreign.isEmpty, "lines cdb did not write: \(foreign.prefix(5))")
        #expect(!log.contains("FAILED"))
    }

    @Test("200 background runs: none crashes, each exits 0")
    func noCrashes() throws {
        let repo = try TestRepo("bg")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { repo.remove(); Harness.remove(root) }
        try repo.write("a.txt", "0\n")
        try repo.commitAll("first")
        try Harness.enable(repo.path)
        let commit = try repo.git("rev-parse", "HEAD")
        var statuses: [Int32] = []
        for _ in 0..<20 {
            // Inherited descriptors, as git leaves them to a hook.
            let batch = try (0..<10).map { _ in
                try spawn("/bin/sh", ["-c", "exec 7</dev/null 8>/dev/null 9<&0; exec \"$0\" --quiet --force --background --commit \"$1\" --backup-root \"$2\"",
                                      Harness.binDir + "/cdb-repo-snap", commit, root], directory: repo.path)
            }
            for p in batch { p.waitUntilExit(); statuses.append(p.terminationReason == .exit ? p.terminationStatus : 1000 + p.terminationStatus) }
        }
        #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 0 }, "non-zero or signalled: \(statuses.filter { $0 != 0 })")
        let snapshots = Harness.files(in: root + "/Repository").filter { $0.hasSuffix(".zip") }
        #expect(snapshots.count == 200, "\(snapshots.count) snapshots")
        let log = try String(contentsOfFile: root + "/Repository/backup_log.txt", encoding: .utf8)
        #expect(log.components(separatedBy: "Repository backup OK").count - 1 == 200)
    }

    @Test("a failing background snapshot writes a FAILED entry with the reason; a repository not enabled gets nothing")
    func failuresAreLogged() throws {
        let repo = try TestRepo("bgfail")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { repo.remove(); Harness.remove(root) }
        try repo.write("a.txt", "0\n")
        try repo.commitAll("first")
        let commit = try repo.git("rev-parse", "HEAD")
        // Not enabled: nothing at all.
        let quiet = try Harness.cdb("cdb-repo-snap", ["--background", "--quiet", "--commit", commit, "--backup-root", root], directory: repo.path)
        #expect(quiet.status == 0 && Harness.files(in: root).isEmpty, "\(quiet.stderr)")
        try Harness.enable(repo.path)
        // A commit the repository does not have: FAILED, with the reason.
        let missing = String(repeating: "ab", count: 20)
        let out = try Harness.cdb("cdb-repo-snap", ["--background", "--quiet", "--commit", missing, "--backup-root", root], directory: repo.path)
        #expect(out.status != 0)
        let log = try String(contentsOfFile: root + "/Repository/backup_log.txt", encoding: .utf8)
        #expect(log.contains("Repository backup FAILED") && log.contains("Error: ") && log.contains(missing), "\(log)")
        var info = stat()
        #expect(stat(root + "/Repository/backup_log.txt", &info) == 0 && info.st_mode & 0o777 == 0o600)
    }
}

@Suite("attacks: hostile names and careless use", .enabled(if: PG.enabled), .serialized)
struct CarelessUseTests {
    @Test("a table named with newlines and '-- Rows: 5' is dumped, verified and restored, every time")
    func hostileTableName() throws {
        let database = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        let copy = PG.uniqueName("copy")
        defer { PG.dropDatabase(database); PG.dropDatabase(copy); Harness.remove(root) }
        _ = try PG.psql(database, """
            CREATE TABLE public."n
            -- Rows: 5
            x" (id int PRIMARY KEY, note text);
            INSERT INTO public."n
            -- Rows: 5
            x" VALUES (1, 'one'), (2, E'two\\n-- Rows: 9\\n\\\\.');
            CREATE TABLE "COPY a FROM stdin;
            " (v int);
            INSERT INTO "COPY a FROM stdin;
            " VALUES (3);
            CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT '
            COPY public.signals FROM stdin;
            -- PostgreSQL database dump complete
            '::text $body$;
            """)
        for round in 1...2 {
            let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", database])
            #expect(out.status == 0, "round \(round): \(out.stderr)")
            let path = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let verify = try Harness.cdb("cdb-verify", [path])
            #expect(verify.status == 0, "round \(round): \(verify.stderr)")
            #expect(!out.stderr.contains(".cdb-tmp-"), "a message names a temporary file")
        }
        let path = root + "/PostgreSQL/" + Harness.files(in: root + "/PostgreSQL").first { $0.hasSuffix(".sql") }!
        let check = try Harness.cdb("cdb-restore", ["--check", path])
        #expect(check.status == 0, "\(check.stderr)")
        _ = try PG.psql("postgres", "CREATE DATABASE \(copy)")
        let restore = try Harness.cdb("cdb-restore", [path, "-d", copy])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try PG.contentDigest(copy) == PG.contentDigest(database))
        // A row count that lies is still caught.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lie = root + "/lie.sql"
        try text.replacingOccurrences(of: "\\.\n-- Rows: 2\n", with: "\\.\n-- Rows: 3\n").write(toFile: lie, atomically: false, encoding: .utf8)
        let caught = try Harness.cdb("cdb-verify", [lie])
        #expect(caught.status == 65 && caught.stderr.contains("rows but its dump recorded 3"), "\(caught.stderr)")
    }

    @Test(".env as docker compose reads it: CRLF, a byte order mark, quotes, comments, interpolation; an unreadable POSTGRES_DB is 78 naming the line")
    func composeDotEnv() throws {
        let database = try PG.tradingDatabase()
        let repo = try TestRepo("compose")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); repo.remove(); Harness.remove(root) }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        try Harness.enable(repo.path)
        let prefix = String(database.prefix { $0 != "_" })   // "trading"
        let suffix = String(database.dropFirst(prefix.count + 1))
        let env = "\u{FEFF}# compose file\r\nBASE=\(prefix)\r\nexport POSTGRES_DB=\"${BASE}_\(suffix)\" # the trading database\r\n"
        try env.write(toFile: repo.path + "/.env", atomically: false, encoding: .utf8)
        let good = try Harness.cdb("cdb-pg-dump", ["--backup-root", root], environment: ["PGDATABASE": nil], directory: repo.path)
        #expect(good.status == 0, "\(good.stderr)")
        let dump = try String(contentsOfFile: good.stdout.trimmingCharacters(in: .whitespacesAndNewlines), encoding: .utf8)
        #expect(dump.contains("COPY public.signals"))
        // Broken POSTGRES_DB lines: exit 78 naming the line, never a fall-back database.
        for broken in ["POSTGRES_DB=\"unterminated\nOTHER=1\n", "POSTGRES_DB=${MISSING:?set MISSING first}\n", "POSTGRES_DB=\"x\" trailing\n"] {
            try ("A=1\n" + broken).write(toFile: repo.path + "/.env", atomically: false, encoding: .utf8)
            let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root], environment: ["PGDATABASE": nil], directory: repo.path)
            #expect(out.status == 78 && out.stderr.contains(".env:2: POSTGRES_DB cannot be read"), "\(broken): \(out.status) \(out.stderr)")
        }
        #expect(Harness.files(in: root + "/PostgreSQL").filter { $0.hasSuffix(".sql") }.count == 1)
    }

    @Test("small defects: -o never replaces without --force, pg_dump's short flags, a bad CDB_SESSION_INTERVAL is 78, logs and sidecars are 0600")
    func smallDefects() throws {
        let database = try PG.tradingDatabase()
        let dir = try Harness.temporaryDirectory("cdb-out")
        defer { PG.dropDatabase(database); Harness.remove(dir) }
        let target = dir + "/mine.sql"
        try "precious\n".write(toFile: target, atomically: false, encoding: .utf8)
        let refused = try Harness.cdb("cdb-pg-dump", ["-d", database, "-o", target])
        #expect(refused.status == 73 && refused.stderr.contains("exists"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
        #expect(Harness.files(in: dir) == ["mine.sql"], "nothing else left: \(Harness.files(in: dir))")
        let forced = try Harness.cdb("cdb-pg-dump", ["-d", database, "-o", target, "--force"])
        let replaced = try String(contentsOfFile: target, encoding: .utf8)
        #expect(forced.status == 0 && replaced.contains("COPY public.trades"), "\(forced.stderr)")
        // -h -p -U -d -f as pg_dump has them; --help is help.
        let host = Harness.environment["PGHOST"] ?? "/tmp", port = Harness.environment["PGPORT"] ?? "5432"
        let user = Harness.environment["PGUSER"] ?? "postgres"
        let short = try Harness.cdb("cdb-pg-dump", ["-h", host, "-p", port, "-U", user, "-d", database, "-f", dir + "/short.sql"],
                                    environment: ["PGHOST": nil, "PGPORT": nil, "PGUSER": nil, "PGDATABASE": nil])
        #expect(short.status == 0 && FileManager.default.fileExists(atPath: dir + "/short.sql"), "\(short.stderr)")
        let help = try Harness.cdb("cdb-pg-dump", ["--help"])
        #expect(help.status == 0 && help.stdout.contains("-h, --host"))
        var info = stat()
        #expect(stat(dir + "/short.sql.sha256", &info) == 0 && info.st_mode & 0o777 == 0o600, "sidecar mode \(String(info.st_mode & 0o777, radix: 8))")

        let f = try SessionFixture()
        defer { f.remove() }
        for bad in ["soon", "-5", "1.5"] {
            let out = try Harness.cdb("cdb-pre-session", [], environment: f.environment.merging(["CDB_SESSION_INTERVAL": bad]) { $1 }, directory: f.repo.path)
            #expect(out.status == 78 && out.stderr.contains("CDB_SESSION_INTERVAL"), "\(bad): \(out.status) \(out.stderr)")
        }
        #expect(f.dumps.isEmpty)
        let run = try Harness.cdb("cdb-pre-session", [], environment: f.environment, directory: f.repo.path)
        #expect(run.status == 0, "\(run.stderr)")
        let written = ["PostgreSQL/backup_log.txt", "Repository/backup_log.txt"] + f.dumps.map { "PostgreSQL/\($0).sha256" } + f.snapshots.map { "Repository/\($0).sha256" }
        for file in written {
            #expect(stat(f.root + "/" + file, &info) == 0 && info.st_mode & 0o777 == 0o600, "\(file) is \(String(info.st_mode & 0o777, radix: 8))")
        }
    }
}

/// The confusions a new user met, each answered by a message that names the cause and the fix.
@Suite("messages say what went wrong and what to do", .enabled(if: PG.enabled), .serialized)
struct MessageTests {
    @Test("restore targets, connection settings from where they came, empty input, negative numbers, counts")
    func newUserConfusions() throws {
        let database = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        let repo = try TestRepo("messages")
        defer { PG.dropDatabase(database); Harness.remove(root); repo.remove() }
        let dump = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", database])
        let path = dump.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(dump.status == 0, "\(dump.stderr)")

        // Into a database that has tables, without --clean/--create: not "cannot create".
        let full = try Harness.cdb("cdb-restore", [path, "-d", database])
        #expect(full.status == 73, "\(full.stderr)")
        #expect(full.stderr.contains("database \(database) already has 5 tables or views; nothing was restored")
                && full.stderr.contains("--clean") && !full.stderr.contains("cannot create"), "\(full.stderr)")
        // A target that does not exist: --create is the answer, and the name came from -d, not PGDATABASE.
        let missing = try Harness.cdb("cdb-restore", [path, "-d", "no_such_target_db"], environment: ["PGDATABASE": database])
        #expect(missing.status == 78 && missing.stderr.contains("add --create") && !missing.stderr.contains("PGDATABASE)"), "\(missing.stderr)")

        // The server's address from the repository's .env: the message says so, and asks once.
        try repo.write(".env", "POSTGRES_HOST=127.0.0.1\nPOSTGRES_PORT=1\n")
        try Harness.enable(repo.path)
        let env: [String: String?] = ["PGHOST": nil, "PGPORT": nil, "CDB_BACKUP_ROOT": root, "PGDATABASE": database]
        let down = try Harness.cdb("cdb-pg-dump", ["-o", root + "/x.sql"], environment: env, directory: repo.path)
        #expect(down.status == 69, "\(down.stderr)")
        #expect(down.stderr.contains("host from POSTGRES_HOST in the repository's .env, port from POSTGRES_PORT in the repository's .env"), "\(down.stderr)")
        #expect(down.stderr.lowercased().components(separatedBy: "server running").count == 2, "asked once: \(down.stderr)")
        // An unreadable port from a flag: fix that flag, not --dbname.
        let port = try Harness.cdb("cdb-pg-dump", ["--port", "abc", "-o", root + "/x.sql"])
        #expect(port.status == 78 && port.stderr.contains("fix --port") && !port.stderr.contains("fix --dbname"), "\(port.stderr)")

        // A dump written to a pipe and renamed has no sidecar: the refusal names --no-checksum, which
        // checks the structure and says the bytes are not proven.
        let piped = root + "/piped.sql.gz"
        let pipe = try Harness.run("sh", ["-c", "'\(Harness.binDir)/cdb-pg-dump' -d '\(database)' -o - | gzip > '\(piped)'"])
        #expect(pipe.status == 0, "\(pipe.stderr)")
        let refused = try Harness.cdb("cdb-verify", [piped])
        #expect(refused.status == 65 && refused.stderr.contains("--no-checksum"), "\(refused.stderr)")
        let structure = try Harness.cdb("cdb-verify", ["--no-checksum", piped])
        #expect(structure.status == 0 && structure.stderr.contains("5 tables") && structure.stderr.contains("bytes not proven"), "\(structure.stderr)")

        // Nothing on standard input is not a pass.
        let empty = try Harness.run(Harness.binDir + "/cdb-verify", ["-"], stdin: Data())
        #expect(empty.status == 66 && empty.stderr.contains("nothing was checked"), "\(empty.stderr)")
        // A negative number is named as such, not "Missing value".
        for arguments in [["cdb-prune", "--keep-daily", "-1"], ["cdb-prune", "--lock-wait", "-2"], ["cdb-pre-session", "--min-interval", "-5"]] {
            let out = try Harness.cdb(arguments[0], Array(arguments.dropFirst()) + ["--backup-root", root])
            #expect(out.status == 64 && out.stderr.contains("0 or more") && !out.stderr.contains("Missing value"), "\(arguments): \(out.stderr)")
        }
        // Counts and sizes read like English: "1 file", KB for a small snapshot.
        try ".env\n".write(toFile: repo.path + "/.git/info/exclude", atomically: false, encoding: .utf8)
        try repo.write("one.txt", "1\n")
        try repo.commitAll("one file")
        let snap = try Harness.cdb("cdb-repo-snap", ["--backup-root", root, "--repo", repo.path, "--force"], environment: ["CDB_BACKUP_ROOT": root])
        #expect(snap.status == 0 && snap.stderr.contains(" KB |") && !snap.stderr.contains("0.00 MB"), "\(snap.stderr)")
        let verify = try Harness.cdb("cdb-verify", [snap.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        #expect(verify.stderr.contains(", 1 file,") || verify.stderr.contains(", 1 file)"), "\(verify.stderr) \(snap.stderr)")
    }
}
