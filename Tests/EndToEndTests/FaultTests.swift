import Foundation
import Testing

/// Seeded randomness, so that a failing trial can be replayed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("faults: nothing lost, nothing leaked", .enabled(if: PG.enabled), .serialized)
struct FaultTests {
    /// kill -9 at random moments; afterwards every final name verifies, earlier backups are
    /// byte-identical, and the next run succeeds and clears the leftovers.
    func crashTrials(_ tally: PromiseTally, folder: String, seed: UInt64, maxDelayMicros: UInt32, trials: Int = 50,
                     start: () throws -> Process, run: () throws -> Harness.Output) throws {
        var random = SeededRandom(seed: seed)
        let first = try run()
        #expect(first.status == 0, "\(first.stderr)")
        let before = try digests(folder)
        for trial in 0..<trials {
            let process = try start()
            usleep(UInt32.random(in: 0...maxDelayMicros, using: &random))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let now = try digests(folder)
            for (name, digest) in before { tally.trial(now[name] == digest, "trial \(trial): \(name) changed or vanished") }
            let finals = Harness.files(in: folder).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".sha256") && $0 != "backup_log.txt" }
            let verify = try Harness.cdb("cdb-verify", finals.map { folder + "/" + $0 } + ["--require-table", "public.orders"])
            tally.trial(verify.status == 0, "trial \(trial): \(verify.stderr.split(separator: "\n").filter { $0.hasPrefix("FAILED") }.joined(separator: "; "))")
        }
        let next = try run()
        tally.trial(next.status == 0, "the run after the crashes failed: \(next.stderr)")
        let leftovers = Harness.files(in: folder).filter { $0.hasPrefix(".cdb-tmp-") }
        tally.trial(leftovers.isEmpty, "leftovers after the next run: \(leftovers)")
    }

    @Test("crash: kill -9 during cdb-pg-dump, cdb-repo-snap and cdb-prune, 50 trials each")
    func crashes() throws {
        let database = try PG.tradingDatabase(scale: 4)
        let repo = try TestRepo("crash")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); repo.remove(); Harness.remove(root) }
        let make = try Harness.run("sh", ["-c", "cd '\(repo.path)' && for d in $(seq 1 20); do mkdir -p d$d && for f in $(seq 1 20); do head -c 20000 /dev/urandom > d$d/f$f; done; done"])
        #expect(make.status == 0)
        try repo.commitAll("binary files")

        let dump = PromiseTally("crash during cdb-pg-dump leaves only complete backups")
        try crashTrials(dump, folder: root + "/PostgreSQL", seed: 1, maxDelayMicros: 250_000,
                        start: { try spawn(Harness.binDir + "/cdb-pg-dump", ["--backup-root", root, "--dbname", database]) },
                        run: { try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "--dbname", database]) })
        dump.report()

        let snap = PromiseTally("crash during cdb-repo-snap leaves only complete snapshots")
        try crashTrials(snap, folder: root + "/Repository", seed: 2, maxDelayMicros: 250_000,
                        start: { try spawn(Harness.binDir + "/cdb-repo-snap", ["--backup-root", root, "--force"], directory: repo.path) },
                        run: { try Harness.cdb("cdb-repo-snap", ["--backup-root", root, "--force"], directory: repo.path) })
        snap.report()

        // Prune: kept backups stay untouched, no backup is ever left without its sidecar.
        let prune = PromiseTally("crash during cdb-prune never loses a kept backup")
        var random = SeededRandom(seed: 3)
        let folder = root + "/PostgreSQL"
        for trial in 0..<50 {
            // 40 old backups (to delete) around the real ones (to keep).
            for i in 0..<40 {
                let name = String(format: "cdb_backup_2020-01-%02d_%02d%02d.sql", 1 + i % 28, i / 28, i % 60)
                try "old\n".write(toFile: folder + "/" + name, atomically: false, encoding: .utf8)
                try "x  \(name)\n".write(toFile: folder + "/" + name + ".sha256", atomically: false, encoding: .utf8)
            }
            // Kept: today's backups and their sidecars. A sidecar whose backup is missing (a dump
            // killed above between writing it and renaming the backup into place) is an orphan
            // that prune rightly deletes: not a kept file.
            let files = try digests(folder)
            let kept = files.filter { !$0.key.hasPrefix("cdb_backup_2020") && (!$0.key.hasSuffix(".sha256") || files[String($0.key.dropLast(7))] != nil) }
            let process = try spawn(Harness.binDir + "/cdb-prune", ["--backup-root", root])
            usleep(UInt32.random(in: 0...30_000, using: &random))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let now = try digests(folder)
            for (name, digest) in kept { prune.trial(now[name] == digest, "trial \(trial): kept \(name) changed or vanished") }
            for name in now.keys where !name.hasSuffix(".sha256") {
                prune.trial(now[name + ".sha256"] != nil, "trial \(trial): \(name) lost its sidecar")
            }
        }
        let last = try Harness.cdb("cdb-prune", ["--backup-root", root])
        prune.trial(last.status == 0, "the prune after the crashes failed: \(last.stderr)")
        prune.trial(!Harness.files(in: folder).contains { $0.hasPrefix("cdb_backup_2020") }, "old backups or sidecars left after the next prune")
        prune.report()
    }

    @Test("database loss: the dumping backend ended mid-COPY, or the server stopped: non-zero, a clear message, no final file")
    func databaseLoss() throws {
        let tally = PromiseTally("database loss mid-dump leaves no final file")
        let database = try PG.createDatabase("big")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); Harness.remove(root) }
        _ = try PG.psql(database, "CREATE TABLE public.big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 400000) g")
        // Proven mid-transfer: the dump is stopped (SIGSTOP) once a backend of it runs a COPY,
        // so the server blocks writing to it (wait_event ClientWrite: the table is far larger than
        // the socket buffers); only then is that one backend terminated, and the dump resumed.
        // With --jobs 1 that is the dump's own connection; by default one of its workers.
        for jobs in [["--jobs", "1"], []] {
            let errFile = root + "/stderr"
            FileManager.default.createFile(atPath: errFile, contents: nil)
            let dump = Process()
            dump.executableURL = URL(fileURLWithPath: Harness.binDir + "/cdb-pg-dump")
            dump.arguments = ["--backup-root", root, "--dbname", database, "--require-table", "big"] + jobs
            dump.environment = Harness.environment.merging(["XDG_CONFIG_HOME": Harness.configHome]) { $1 }
            dump.standardOutput = FileHandle.nullDevice
            dump.standardError = FileHandle(forWritingAtPath: errFile)
            try Harness.startUnblocked(dump)
            let backend = "datname = '\(database)' AND application_name = 'cdb-pg-dump' AND state = 'active' AND query LIKE 'COPY %'"
            var pid = ""
            try waitFor(seconds: 30) {
                pid = try PG.psql("postgres", "SELECT pid FROM pg_stat_activity WHERE \(backend) ORDER BY pid LIMIT 1")
                return !pid.isEmpty
            }
            kill(dump.processIdentifier, SIGSTOP)
            try waitFor(seconds: 30) {
                try PG.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid) AND \(backend) AND wait_event = 'ClientWrite'") == "1"
            }
            let terminated = try PG.psql("postgres", "SELECT pg_terminate_backend(\(pid))")
            kill(dump.processIdentifier, SIGCONT)
            dump.waitUntilExit()
            let message = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
            unlink(errFile)
            tally.trial(terminated == "t", "\(jobs): the backend \(pid) was not terminated")
            tally.trial(dump.terminationStatus == 69, "\(jobs): exit \(dump.terminationStatus) after the backend was terminated mid-COPY (expected 69)")
            tally.trial(message.contains("connection to the database lost while dumping public.big"), "\(jobs): message: \(message)")
            tally.trial(Harness.files(in: root + "/PostgreSQL").allSatisfy { $0 == "backup_log.txt" }, "\(jobs): files: \(Harness.files(in: root + "/PostgreSQL"))")
            let closed = (try? waitFor(seconds: 10) { try PG.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)'") == "0" }) != nil
            tally.trial(closed, "\(jobs): a connection of the failed dump stayed")
        }

        // The server stopped mid-dump: a private cluster of its own, so the suite's stays up.
        let script = """
            psql -X -q -c "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 400000) g" postgres
            '\(Harness.binDir)/cdb-pg-dump' --backup-root '\(root)/stopped' --dbname postgres --require-table big 2>'\(root)/stderr' & pid=$!
            copy="application_name = 'cdb-pg-dump' AND state = 'active' AND query LIKE 'COPY %'"
            for i in $(seq 1 1500); do
              if psql -X -At -c "SELECT count(*) > 0 FROM pg_stat_activity WHERE $copy" postgres | grep -qx t; then break; fi
              sleep 0.02
            done
            kill -STOP $pid
            for i in $(seq 1 1500); do
              if psql -X -At -c "SELECT count(*) > 0 FROM pg_stat_activity WHERE $copy AND wait_event = 'ClientWrite'" postgres | grep -qx t; then echo mid-copy; break; fi
              sleep 0.02
            done
            if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$CDB_TEST_PGBIN/pg_ctl" -D "$CDB_TEST_PGDATA" -m immediate stop >/dev/null
            else "$CDB_TEST_PGBIN/pg_ctl" -D "$CDB_TEST_PGDATA" -m immediate stop >/dev/null; fi
            kill -CONT $pid
            wait $pid; echo "exit $?"
            """
        let stopped = try Harness.run(Harness.packageRoot + "/scripts/with-postgres.sh", ["bash", "-c", script],
                                      environment: ["CDB_TEST_PGPORT": "5499"])
        let stderr = (try? String(contentsOfFile: root + "/stderr", encoding: .utf8)) ?? ""
        tally.trial(stopped.stdout.contains("mid-copy"), "the server was not proven mid-COPY: \(stopped.stdout) \(stopped.stderr)")
        tally.trial(stopped.stdout.contains("exit 69"), "dump exit after the server stopped: \(stopped.stdout)")
        tally.trial(stderr.contains("connection to the database lost while dumping public.big"), "message: \(stderr)")
        tally.trial(Harness.files(in: root + "/stopped/PostgreSQL").allSatisfy { $0 == "backup_log.txt" }, "files left: \(Harness.files(in: root + "/stopped/PostgreSQL"))")
        tally.report()
    }

    @Test("disk full: every writing program exits 74 with a message, removes its temporary file, older backups intact")
    func diskFull() throws {
        let tally = PromiseTally("disk full exits 74 and loses nothing")
        let database = try PG.tradingDatabase()
        let repo = try TestRepo("full")
        let base = try Harness.temporaryDirectory("cdb-full")
        defer { PG.dropDatabase(database); repo.remove(); Harness.remove(base) }
        _ = try Harness.run("sh", ["-c", "head -c 300000 /dev/urandom > '\(repo.path)/noise.bin'"])
        try repo.commitAll("noise")
        try Harness.enable(repo.path)
        let root = base + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let mounted = try Harness.run("mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", root]).status == 0
        defer { if mounted { _ = try? Harness.run("umount", [root]) } }
        print("disk full uses \(mounted ? "a 200 KiB tmpfs" : "RLIMIT_FSIZE (ulimit -f 150)")")
        for folder in ["PostgreSQL", "Repository"] {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
            try "older\n".write(toFile: root + "/\(folder)/cdb_backup_2020-01-01_0000.sql", atomically: false, encoding: .utf8)
        }
        let limit = mounted ? "" : "ulimit -f 150; "
        let runs: [(String, String)] = [
            ("cdb-pg-dump", "\(limit)exec '\(Harness.binDir)/cdb-pg-dump' --backup-root '\(root)' --dbname \(database)"),
            ("cdb-repo-snap", "cd '\(repo.path)' && \(limit)exec '\(Harness.binDir)/cdb-repo-snap' --backup-root '\(root)' --force"),
            ("cdb-pre-session", "cd '\(repo.path)' && PGDATABASE=\(database) \(limit)exec '\(Harness.binDir)/cdb-pre-session' --backup-root '\(root)'"),
        ]
        for (program, command) in runs {
            let out = try Harness.run("bash", ["-c", command])
            tally.trial(out.status == 74, "\(program) exited \(out.status): \(out.stderr)")
            tally.trial(out.stderr.contains("No space left") || out.stderr.contains("too large"), "\(program) message: \(out.stderr)")
            for folder in ["PostgreSQL", "Repository"] {
                let names = Harness.files(in: root + "/" + folder)
                tally.trial(!names.contains { $0.hasPrefix(".cdb-tmp-") }, "\(program) left a temporary file in \(folder): \(names)")
                tally.trial((try? String(contentsOfFile: root + "/\(folder)/cdb_backup_2020-01-01_0000.sql", encoding: .utf8)) == "older\n", "\(program) touched the older backup")
            }
        }
        tally.report()
    }

    @Test("concurrency: 8 pre-session runs at once, prune alongside; no shared names, everything verifies")
    func concurrency() throws {
        let tally = PromiseTally("concurrent runs never collide")
        let f = try SessionFixture()
        defer { f.remove() }
        var env: [String: String] = ["CDB_BACKUP_ROOT": f.root, "NO_COLOR": "1"]
        env["PGDATABASE"] = f.database
        let runs = try (0..<8).map { _ in
            try spawn(Harness.binDir + "/cdb-pre-session", ["--lock-wait", "60"], directory: f.repo.path, environment: env)
        }
        let pruners = try (0..<3).map { _ in try spawn(Harness.binDir + "/cdb-prune", ["--lock-wait", "60"], environment: env) }
        for p in runs + pruners { p.waitUntilExit() }
        for p in runs { tally.trial([0, 75].contains(p.terminationStatus), "pre-session exited \(p.terminationStatus)") }
        for p in pruners { tally.trial(p.terminationStatus == 0, "prune exited \(p.terminationStatus)") }
        let dumps = f.dumps, snaps = f.snapshots
        let finished = runs.filter { $0.terminationStatus == 0 }.count
        tally.trial(dumps.count == finished && snaps.count == finished, "\(finished) runs finished but \(dumps.count) dumps and \(snaps.count) snapshots exist")
        let verify = try Harness.cdb("cdb-verify", dumps.map { f.root + "/PostgreSQL/" + $0 } + snaps.map { f.root + "/Repository/" + $0 })
        tally.trial(verify.status == 0, "verify: \(verify.stderr)")
        tally.report()
    }

    @Test("bad configuration: clear errors, nothing deleted")
    func badConfiguration() throws {
        let tally = PromiseTally("bad configuration fails clearly and deletes nothing")
        let f = try SessionFixture()
        defer { f.remove() }
        let first = try Harness.cdb("cdb-pre-session", [], environment: f.environment, directory: f.repo.path)
        #expect(first.status == 0)
        let before = try digests(f.root + "/PostgreSQL").merging(try digests(f.root + "/Repository")) { a, _ in a }
        // Malformed lines are named (never their values) and ignored; the run goes on.
        try "POSTGRES_DB\nthis is not = valid\n=nothing\n".write(toFile: f.repo.path + "/.env", atomically: false, encoding: .utf8)
        let lines = try Harness.cdb("cdb-prune", ["--dry-run"], environment: f.environment, directory: f.repo.path)
        tally.trial(lines.status == 0 && lines.stderr.contains(".env:1:") && lines.stderr.contains(".env:3:"), "malformed lines: \(lines.status) \(lines.stderr)")
        // cdb's own settings in a repository's .env are ignored, with a warning naming the config file.
        try "CDB_RETENTION_DAYS=0\nCDB_KEEP_LAST=0\n".write(toFile: f.repo.path + "/.env", atomically: false, encoding: .utf8)
        let ignored = try Harness.cdb("cdb-prune", ["--dry-run"], environment: f.environment, directory: f.repo.path)
        tally.trial(ignored.status == 0 && ignored.stderr.contains("CDB_RETENTION_DAYS is ignored in a repository's .env")
                    && ignored.stderr.contains("/cdb/config"), "CDB_* in .env: \(ignored.status) \(ignored.stderr)")
        // A bad value in the user's config file is a configuration error naming it.
        let config = try Harness.temporaryDirectory("cdb-config")
        defer { Harness.remove(config) }
        try FileManager.default.createDirectory(atPath: config + "/cdb", withIntermediateDirectories: true)
        try "CDB_RETENTION_DAYS=soon\n".write(toFile: config + "/cdb/config", atomically: false, encoding: .utf8)
        let value = try Harness.cdb("cdb-prune", ["--dry-run"], environment: f.environment.merging(["XDG_CONFIG_HOME": config]) { $1 }, directory: f.repo.path)
        tally.trial(value.status == 78 && value.stderr.contains("CDB_RETENTION_DAYS in \(config)/cdb/config"), "a bad value in the config file: \(value.status) \(value.stderr)")
        try FileManager.default.removeItem(atPath: f.repo.path + "/.env")
        let cases: [([String], [String: String?], Int32, String)] = [
            (["--no-such-flag"], [:], 64, "Unknown option"),
            (["--retention-days=-1"], [:], 64, "0 or more"),
            (["--keep-last", "0", "--retention-days", "0"], [:], 64, "keeps nothing"),
            ([], ["CDB_BACKUP_ROOT": "/"], 78, "refusing"),
        ]
        for (args, extra, code, needle) in cases {
            let out = try Harness.cdb("cdb-prune", args, environment: f.environment.merging(extra) { $1 }, directory: f.repo.path)
            tally.trial(out.status == code && out.stderr.contains(needle), "cdb-prune \(args) \(extra): \(out.status) \(out.stderr)")
        }
        let link = f.bin + "/root-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/")
        for program in ["cdb-pg-dump", "cdb-repo-snap", "cdb-pre-session", "cdb-prune"] {
            let out = try Harness.cdb(program, ["--backup-root", link], environment: f.environment, directory: f.repo.path)
            tally.trial(out.status == 78 && out.stderr.contains("refusing"), "\(program) with a root linked to /: \(out.status) \(out.stderr)")
        }
        tally.trial(!FileManager.default.fileExists(atPath: "/PostgreSQL") && !FileManager.default.fileExists(atPath: "/Repository"), "something was written into /")
        let file = f.bin + "/root-file"
        try "x".write(toFile: file, atomically: false, encoding: .utf8)
        for program in ["cdb-pg-dump", "cdb-repo-snap"] {
            let out = try Harness.cdb(program, ["--backup-root", file], environment: f.environment, directory: f.repo.path)
            tally.trial(out.status == 73 && out.stderr.contains("not a directory"), "\(program) with a root that is a file: \(out.status) \(out.stderr)")
        }
        // Unwritable: a read-only file system (root ignores permission bits, so a mode would prove nothing).
        let readOnly = f.bin + "/ro-root"
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
        if try Harness.run("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", readOnly]).status == 0 {
            defer { _ = try? Harness.run("umount", [readOnly]) }
            for program in ["cdb-pg-dump", "cdb-repo-snap", "cdb-pre-session"] {
                let out = try Harness.cdb(program, ["--backup-root", readOnly], environment: f.environment, directory: f.repo.path)
                tally.trial([73, 74].contains(out.status) && out.stderr.contains("Read-only"), "\(program) with a read-only root: \(out.status) \(out.stderr)")
            }
        } else {
            print("bad configuration: mounting a read-only tmpfs is not allowed here; the unwritable-root case was skipped")
        }
        let after = try digests(f.root + "/PostgreSQL").merging(try digests(f.root + "/Repository")) { a, _ in a }
        tally.trial(after == before, "backups changed")
        tally.report()
    }

    @Test("secrets: passwords and tokens appear in nothing written, printed, logged or on a command line")
    func secrets() throws {
        let tally = PromiseTally("secrets stay secret")
        let password = "PgPw-\(UUID().uuidString.prefix(8))"
        let token = "ghp_Tok\(UUID().uuidString.prefix(8))"
        let role = try PasswordRole(password: password)
        let f = try SessionFixture()
        defer { f.remove() }
        try f.repo.git("remote", "add", "origin", "https://trader:\(token)@github.com/claire/trading.git")
        try f.repo.write(".gitignore", ".env\n")
        try f.repo.commitAll("ignore env")
        try "POSTGRES_USER=\(role.name)\nPOSTGRES_PASSWORD=\(password)\nPOSTGRES_DB=\(f.database!)\n".write(toFile: f.repo.path + "/.env", atomically: false, encoding: .utf8)
        var env = f.environment
        env["PGUSER"] = .some(nil)       // unset: .env supplies user, password and database
        env["PGDATABASE"] = .some(nil)
        // Sample every process's command line while the programs run.
        final class Sampler: @unchecked Sendable { var seen = ""; var running = true }
        let sampler = Sampler()
        let thread = Thread {
            while sampler.running {
                for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where pid.allSatisfy(\.isNumber) {
                    if let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") {
                        sampler.seen += String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self) + "\n"
                    }
                }
                usleep(5_000)
            }
        }
        thread.start()
        var outputs = ""
        let pre = try Harness.cdb("cdb-pre-session", [], environment: env, directory: f.repo.path)
        outputs += pre.stdout + pre.stderr
        tally.trial(pre.status == 0, "pre-session with .env credentials: \(pre.stderr)")
        let fresh = f.bin + "/fresh-root"
        let withPGPASSWORD = try Harness.cdb("cdb-pg-dump", ["--backup-root", fresh, "--username", role.name, "--dbname", f.database!],
                                             environment: env.merging(["PGPASSWORD": password]) { $1 })
        outputs += withPGPASSWORD.stdout + withPGPASSWORD.stderr
        let wrong = try Harness.cdb("cdb-pg-dump", ["--backup-root", f.root, "--dbname", f.database!, "--username", role.name],
                                    environment: env.merging(["PGPASSWORD": "not-\(password.reversed())"]) { $1 })
        outputs += wrong.stdout + wrong.stderr
        let snap = try Harness.cdb("cdb-repo-snap", ["--backup-root", f.root, "--include-env", "--json"], environment: env, directory: f.repo.path)
        outputs += snap.stdout + snap.stderr
        sampler.running = false
        usleep(20_000)
        for secret in [password, token] {
            tally.trial(!outputs.contains(secret), "a secret in stdout/stderr")
            tally.trial(!sampler.seen.contains(secret), "a secret on a command line")
        }
        // Everything written, except dump data and the .env.backup the user asked for.
        for folder in ["PostgreSQL", "Repository"] {
            for name in Harness.files(in: f.root + "/" + folder) {
                let path = f.root + "/" + folder + "/" + name
                var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                if name.hasSuffix(".zip") {
                    let members = try Harness.run("sh", ["-c", "unzip -p '\(path)' git_metadata.txt git_metadata.json"]).stdout
                    text = members
                }
                tally.trial(!text.contains(password) && !text.contains(token), "\(folder)/\(name) holds a secret")
            }
        }
        let zip = snap.stdout.components(separatedBy: "\"path\":\"").dropFirst().first?.components(separatedBy: "\"").first ?? ""
        var info = stat()
        stat(zip, &info)
        tally.trial(info.st_mode & 0o777 == 0o600, "the zip with .env.backup is \(String(info.st_mode & 0o777, radix: 8))")
        tally.trial(try Harness.run("unzip", ["-p", zip, ".env.backup"]).stdout.contains(password), ".env.backup is in the zip")
        for folder in [fresh, fresh + "/PostgreSQL", f.root + "/PostgreSQL", f.root + "/Repository"] {
            stat(folder, &info)
            tally.trial(info.st_mode & 0o777 == 0o700, "\(folder) is \(String(info.st_mode & 0o777, radix: 8))")
        }
        tally.report()
    }

    @Test("hostile input: odd names and links in the tree, a sparse 5 GiB file, tables named with quotes and SQL, a 100 MB value")
    func hostileInput() throws {
        let tally = PromiseTally("hostile input is saved faithfully and safely")
        let repo = try TestRepo("hostile")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { repo.remove(); Harness.remove(root) }
        try repo.populateAwkward()
        try repo.link("shadow", to: "/etc/shadow")
        try repo.commitAll("hostile names")
        let sparse = root + "/sparse-volume"
        try FileManager.default.createDirectory(atPath: sparse, withIntermediateDirectories: true)
        _ = try Harness.run("truncate", ["-s", "5G", sparse + "/disk.img"])
        let snap = try Harness.cdb("cdb-repo-snap", ["--backup-root", root, "--include", sparse, "--json"], directory: repo.path)
        tally.trial(snap.status == 0, "snapshot with a sparse 5 GiB file: \(snap.stderr)")
        let zip = snap.stdout.components(separatedBy: "\"path\":\"").dropFirst().first?.components(separatedBy: "\"").first ?? ""
        let listing = try Harness.run("unzip", ["-Zl", zip]).stdout
        tally.trial(listing.contains("extra/sparse-volume/disk.img") && listing.contains("5368709120"), "the sparse file is in extra/ at full size")
        tally.trial(try Harness.cdb("cdb-verify", [zip]).status == 0, "the snapshot verifies")
        let inner = try Harness.temporaryDirectory("inner")
        defer { Harness.remove(inner) }
        _ = try Harness.run("sh", ["-c", "unzip -p '\(zip)' repository.zip > '\(inner)/r.zip'"])
        let link = try Harness.run("unzip", ["-p", inner + "/r.zip", "shadow"]).stdout
        tally.trial(link == "/etc/shadow", "the link to /etc/shadow is stored as a link, not its target's content")

        let database = try PG.createDatabase("hostile")
        defer { PG.dropDatabase(database) }
        _ = try PG.psql(database, #"""
            DO $$ BEGIN
              EXECUTE format('CREATE TABLE public.%I (v text)', 'quote"s; DROP TABLE x; --');
              EXECUTE format('CREATE TABLE public.%I (v text)', E'new\nline');
              EXECUTE format('CREATE TABLE public.%I (v text)', 'Robert''); DROP TABLE students;--');
              EXECUTE format('INSERT INTO public.%I VALUES (%L), (%L), (%L)', 'quote"s; DROP TABLE x; --', 'a', E'\\.', E'\n\\.\n');
              EXECUTE format('INSERT INTO public.%I SELECT repeat(%L, 100 * 1024 * 1024)', E'new\nline', 'x');
            END $$
            """#)
        let dir = try Harness.temporaryDirectory()
        defer { Harness.remove(dir) }
        let dump = try Harness.cdb("cdb-pg-dump", ["--dbname", database, "-o", dir + "/h.sql", "--require-table", "public.new\nline"])
        tally.trial(dump.status == 0, "dump of hostile tables: \(dump.stderr)")
        let check = try Harness.cdb("cdb-restore", ["--check", dir + "/h.sql"])
        tally.trial(check.status == 0, "restore check of hostile tables: \(check.stderr)")
        let copy = PG.uniqueName("hostile_copy")
        let restored = try Harness.cdb("cdb-restore", [dir + "/h.sql", "--dbname", copy, "--create"])
        defer { PG.dropDatabase(copy) }
        tally.trial(restored.status == 0, "restore: \(restored.stderr)")
        tally.trial(try PG.contentDigest(database) == PG.contentDigest(copy), "hostile tables differ after the round trip")
        tally.report()
    }
}
