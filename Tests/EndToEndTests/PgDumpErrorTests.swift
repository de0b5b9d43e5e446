import Foundation
import Testing
import Synchronization

/// Every error path of cdb-pg-dump: its exit code, its message, no partial file, and older
/// backups untouched.
@Suite("cdb-pg-dump fails clearly and loses nothing", .enabled(if: PG.enabled), .serialized)
struct PgDumpErrorTests {
    /// A backup root holding one older backup (and its sidecar) that must survive every failure.
    struct Root {
        let path: String
        let folder: String
        let older: String
        let olderDigest: String

        init() throws {
            path = try Harness.temporaryDirectory("cdb-root")
            folder = path + "/PostgreSQL"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            older = folder + "/cdb_backup_2020-01-01_0000.sql"
            try "-- an older backup\n".write(toFile: older, atomically: true, encoding: .utf8)
            try "whatever  cdb_backup_2020-01-01_0000.sql\n".write(toFile: older + ".sha256", atomically: true, encoding: .utf8)
            olderDigest = try Harness.sha256(older)
        }

        /// Only the older backup, its sidecar and the log are there; the older one is unchanged.
        func expectUntouched(_ note: String) throws {
            let names = Harness.files(in: folder).filter { $0 != "backup_log.txt" }
            #expect(names == ["cdb_backup_2020-01-01_0000.sql", "cdb_backup_2020-01-01_0000.sql.sha256"], "\(note): \(names)")
            #expect(try Harness.sha256(older) == olderDigest, "\(note): the older backup changed")
        }

        var log: String { (try? String(contentsOfFile: folder + "/backup_log.txt", encoding: .utf8)) ?? "" }
        func remove() { Harness.remove(path) }
    }

    @Test("server down: exit 69, 'database unreachable at …', nothing written")
    func serverDown() throws {
        let root = try Root()
        defer { root.remove() }
        let dead = try Harness.temporaryDirectory("nosrv")
        defer { Harness.remove(dead) }
        let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--host", dead, "--port", "5999"])
        #expect(out.status == 69)
        #expect(out.stderr.contains("database unreachable at \(dead):5999"), "\(out.stderr)")
        #expect(out.stderr.lowercased().components(separatedBy: "server running").count == 2, "asked once: \(out.stderr)")
        #expect(out.stdout.isEmpty)
        try root.expectUntouched("server down")
        #expect(root.log.contains("PostgreSQL backup FAILED") && root.log.contains("unreachable"))
    }

    @Test("no such database: exit 78 naming the setting to fix")
    func missingDatabase() throws {
        let root = try Root()
        defer { root.remove() }
        let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", "no_such_db_here"])
        #expect(out.status == 78)
        #expect(out.stderr.contains("no_such_db_here") && out.stderr.contains("--dbname, PGDATABASE or POSTGRES_DB"), "\(out.stderr)")
        try root.expectUntouched("missing database")
    }

    @Test("bad password: exit 78, and the password appears in no output, log or dump; .env supplies it")
    func credentials() throws {
        let secret = "Pw-\(UUID().uuidString.prefix(6))-s3cr3t"
        let wrong = "Wrong-\(UUID().uuidString.prefix(6))-pw"
        let role = try PasswordRole(password: secret)
        let source = try PG.tradingDatabase()
        let root = try Root()
        let repo = try Harness.temporaryDirectory("repo")
        defer { PG.dropDatabase(source); root.remove(); Harness.remove(repo) }

        let bad = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source, "--username", role.name],
                                  environment: ["PGPASSWORD": wrong])
        #expect(bad.status == 78, "\(bad.stderr)")
        #expect(bad.stderr.contains("password"), "should say what failed: \(bad.stderr)")
        #expect(!bad.stderr.contains(wrong) && !bad.stdout.contains(wrong))
        try root.expectUntouched("bad password")
        #expect(!root.log.contains(wrong))

        // The repository's .env supplies user and password; PGPASSWORD is unset.
        try FileManager.default.createDirectory(atPath: repo + "/.git", withIntermediateDirectories: true)
        try "POSTGRES_USER=\(role.name)\nPOSTGRES_PASSWORD='\(secret)'\nPOSTGRES_DB=\(source)\n"
            .write(toFile: repo + "/.env", atomically: true, encoding: .utf8)
        try Harness.enable(repo)
        let good = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--json"],
                                   environment: ["PGPASSWORD": nil, "PGUSER": nil, "PGDATABASE": nil], directory: repo)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("\"status\":\"ok\""))
        for file in Harness.files(in: root.folder) {
            let text = (try? String(contentsOfFile: root.folder + "/" + file, encoding: .utf8)) ?? ""
            #expect(!text.contains(secret), "\(file) holds the password")
        }
        #expect(!good.stderr.contains(secret) && !good.stdout.contains(secret))

        // A URI with the password in it is redacted from messages, too.
        let uri = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname",
                                                  "postgresql://\(role.name):\(wrong)@localhost:1/\(source)"])
        #expect(uri.status == 69 || uri.status == 78)
        #expect(!uri.stderr.contains(wrong), "\(uri.stderr)")
    }

    @Test("what cdb-pg-dump cannot dump (a subscription, for a role that is not a superuser, as pg_dump): exit 65 naming it; --allow-unsupported dumps the rest and names it; a superuser's dump holds it, disconnected")
    func unsupported() throws {
        let source = try PG.tradingDatabase()
        let root = try Root()
        let plain = PG.uniqueName("cdb_plain")
        defer { PG.dropDatabase(source); root.remove(); _ = try? PG.psql("postgres", "DROP ROLE IF EXISTS \(plain)") }
        _ = try PG.psql(source, """
            CREATE SUBSCRIPTION my_sub CONNECTION 'host=127.0.0.1 dbname=nowhere password=sub-secret-41' PUBLICATION p
                WITH (connect = false, slot_name = NONE, enabled = false, create_slot = false);
            CREATE ROLE \(plain) LOGIN;
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(plain);
            GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO \(plain);
            """)
        let asPlain: [String: String?] = ["PGUSER": plain]
        let refused = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source], environment: asPlain)
        #expect(refused.status == 65, "\(refused.stderr)")
        for needle in ["subscription my_sub (only a superuser", "--allow-unsupported"] {
            #expect(refused.stderr.contains(needle), "missing \(needle) in: \(refused.stderr)")
        }
        try root.expectUntouched("unsupported")
        // The whole list of what cdb-pg-dump refuses (the README names the same).
        print("cdb-pg-dump refuses only: \(refused.stderr.split(separator: "\n").filter { $0.hasPrefix("  - ") }.joined(separator: "; "))")
        let allowed = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source, "--allow-unsupported"], environment: asPlain)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("skipped (--allow-unsupported): subscription my_sub"), "\(allowed.stderr)")
        let text = try String(contentsOfFile: allowed.stdout.trimmingCharacters(in: .whitespacesAndNewlines), encoding: .utf8)
        #expect(text.contains("-- Skipped (--allow-unsupported): subscription my_sub"))
        #expect(!text.contains("CREATE SUBSCRIPTION"))
        // A superuser dumps it as pg_dump does (the password is in the dump, as in pg_dump's, and
        // nowhere else).
        let full = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source])
        #expect(full.status == 0, "\(full.stderr)")
        let fullText = try String(contentsOfFile: full.stdout.trimmingCharacters(in: .whitespacesAndNewlines), encoding: .utf8)
        #expect(fullText.contains("CREATE SUBSCRIPTION my_sub CONNECTION 'host=127.0.0.1 dbname=nowhere password=sub-secret-41' PUBLICATION p WITH (connect = false, slot_name = NONE"), "\(fullText.suffix(800))")
        #expect(!(refused.stderr + allowed.stderr + full.stderr + text + root.log).contains("sub-secret-41"), "a subscription's password leaked")
        _ = try PG.psql(source, "ALTER SUBSCRIPTION my_sub SET (slot_name = NONE); DROP SUBSCRIPTION my_sub")
    }

    @Test("server errors have their own exit codes and name the object: a view the server cannot render 65 (pg_dump fails on it too), a table the role may not read 78 (the wrong role is a configuration error)")
    func serverErrors() throws {
        let source = try PG.tradingDatabase()
        let root = try Root()
        let plain = PG.uniqueName("cdb_plain")
        defer { PG.dropDatabase(source); root.remove(); _ = try? PG.psql("postgres", "DROP ROLE IF EXISTS \(plain)") }
        // A materialized view made inside a trigger over its transition table: its stored
        // query names a relation that no longer exists anywhere, and pg_get_viewdef fails.
        _ = try PG.psql(source, """
            CREATE TABLE public.feed (x integer);
            CREATE FUNCTION public.snapshot_feed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN CREATE MATERIALIZED VIEW public.feed_copy AS SELECT x FROM new_rows; RETURN NULL; END $$;
            CREATE TRIGGER snap AFTER INSERT ON public.feed REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.snapshot_feed();
            INSERT INTO public.feed VALUES (1);
            """)
        let pgDump = try Harness.run("pg_dump", ["-s", source])
        #expect(pgDump.status != 0, "pg_dump was expected to fail on this database too")
        let broken = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source])
        #expect(broken.status == 65, "\(broken.stderr)")
        #expect(broken.stderr.contains("the server failed on materialized view public.feed_copy"), "\(broken.stderr)")
        #expect(broken.stderr.contains("pg_dump cannot dump it either"), "\(broken.stderr)")
        try root.expectUntouched("unrenderable view")
        _ = try PG.psql(source, """
            DROP MATERIALIZED VIEW public.feed_copy;
            CREATE ROLE \(plain) LOGIN;
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(plain);
            REVOKE SELECT ON public.orders FROM \(plain);
            """)
        let denied = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source], environment: ["PGUSER": plain])
        #expect(denied.status == 78, "\(denied.stderr)")
        #expect(denied.stderr.contains("permission denied") && denied.stderr.contains("orders"), "\(denied.stderr)")
        try root.expectUntouched("permission denied")
    }

    @Test("a required table missing: the dump is kept, stderr and the log name the table, exit 65")
    func missingRequiredTable() throws {
        let source = try PG.tradingDatabase()
        let root = try Root()
        defer { PG.dropDatabase(source); root.remove() }
        _ = try PG.psql(source, "DROP TABLE public.positions")
        let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source])
        #expect(out.status == 65)
        #expect(out.stderr.contains("required table(s) missing from the database: positions"), "\(out.stderr)")
        let kept = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: kept), "the dump should be kept and named on stdout")
        #expect(root.log.contains("Tables: 4 / 5") && root.log.contains("Missing: positions"))
        // CDB_REQUIRED_TABLES changes what is required.
        let relaxed = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source],
                                      environment: ["CDB_REQUIRED_TABLES": "signals, orders"])
        #expect(relaxed.status == 0, "\(relaxed.stderr)")
        #expect(relaxed.stderr.contains("tables 2/2"))
    }

    /// 64 KiB: the disk fills while the dump is written through the page cache; 10 MiB: after
    /// 8 MiB, while it is written past it (O_DIRECT, from the sink's own thread).
    @Test("disk full: exit 74, the temporary file removed, older backups intact", arguments: [64, 10 << 10])
    func diskFull(kib: Int) throws {
        let source = try PG.tradingDatabase(scale: kib > 64 ? 60 : 1)
        let root = try Root()
        defer { PG.dropDatabase(source); root.remove() }
        // A small tmpfs when this process may mount one; else a file size limit (EFBIG).
        let mounted = try Harness.run("mount", ["-t", "tmpfs", "-o", "size=\(kib)k", "tmpfs", root.folder]).status == 0
        defer { if mounted { _ = try? Harness.run("umount", [root.folder]) } }
        if mounted {
            try "-- an older backup\n".write(toFile: root.older, atomically: true, encoding: .utf8)
            try "whatever  cdb_backup_2020-01-01_0000.sql\n".write(toFile: root.older + ".sha256", atomically: true, encoding: .utf8)
        }
        let command = mounted
            ? "exec '\(Harness.binDir)/cdb-pg-dump' --backup-root '\(root.path)' --dbname \(source)"
            : "ulimit -f \(kib); exec '\(Harness.binDir)/cdb-pg-dump' --backup-root '\(root.path)' --dbname \(source)"
        print("disk full test uses \(mounted ? "a \(kib) KiB tmpfs" : "RLIMIT_FSIZE (ulimit -f \(kib))")")
        let out = try Harness.run("bash", ["-c", command])
        #expect(out.status == 74, "\(out.stderr)")
        #expect(out.stderr.contains("writing") && (out.stderr.contains("space") || out.stderr.contains("too large")), "\(out.stderr)")
        try root.expectUntouched("disk full")
    }

    @Test("connection lost mid-dump: non-zero exit, a clear message, no final file")
    func connectionLost() throws {
        let source = try PG.tradingDatabase()
        let root = try Root()
        defer { PG.dropDatabase(source); root.remove() }
        // Hold a lock the dump must wait for, then end the dump's backend (only it: this
        // database, this program, waiting on a lock) while it waits. The waits are long so that
        // a loaded machine cannot make the dump reach its lock after the killer gave up.
        let holder = try PG.holdExclusiveLock(source, table: "public.trades", seconds: 300)
        defer { holder.terminate(); holder.waitUntilExit() }

        let killed = Mutex(false)
        let finished = Mutex(false)
        let killerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {  // a thread of its own, never waiting for a pool's
            defer { killerDone.signal() }
            let deadline = Date().addingTimeInterval(240)
            while Date() < deadline, !finished.withLock({ $0 }) {
                let count = try? PG.psql("postgres", """
                    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE application_name = 'cdb-pg-dump' AND datname = '\(source)' AND wait_event_type = 'Lock'
                    """)
                if count == "1" { killed.withLock { $0 = true }; return }
                usleep(50_000)
            }
        }
        let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source, "--lock-wait", "240"])
        finished.withLock { $0 = true }
        killerDone.wait()
        #expect(killed.withLock { $0 }, "the dump's backend was never seen waiting for the lock: \(out.stderr)")
        #expect(out.status == 69, "\(out.stderr)")
        #expect(out.stderr.contains("connection to the database lost"), "\(out.stderr)")
        #expect(out.stdout.isEmpty)
        try root.expectUntouched("connection lost")
    }

    @Test("a table lock held past --lock-wait: exit 75 saying so")
    func lockTimeout() throws {
        let source = try PG.tradingDatabase()
        let root = try Root()
        defer { PG.dropDatabase(source); root.remove() }
        let holder = try PG.holdExclusiveLock(source, table: "public.orders", seconds: 10)
        defer { holder.terminate(); holder.waitUntilExit() }
        let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source, "--lock-wait", "1"])
        #expect(out.status == 75, "\(out.stderr)")
        #expect(out.stderr.contains("exclusive lock"), "\(out.stderr)")
        try root.expectUntouched("lock timeout")
    }

    @Test("two dumps in one minute get two names; neither overwrites the other")
    func nameCollision() throws {
        let source = try PG.tradingDatabase()
        let root = try Root()
        defer { PG.dropDatabase(source); root.remove() }
        let first = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source])
        let second = try Harness.cdb("cdb-pg-dump", ["--backup-root", root.path, "--dbname", source])
        #expect(first.status == 0 && second.status == 0)
        let a = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let b = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(a != b)
        #expect(FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b))
        let check = try Harness.run("sha256sum", ["-c", (a as NSString).lastPathComponent + ".sha256", (b as NSString).lastPathComponent + ".sha256"],
                                    directory: root.folder)
        #expect(check.status == 0, "\(check.stdout)")
    }

    @Test("bad input: unknown flag 64, bad --compress 64, backup root that is a file 73")
    func badInput() throws {
        let unknown = try Harness.cdb("cdb-pg-dump", ["--password", "x"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("Unknown option"), "\(unknown.stderr)")
        let compress = try Harness.cdb("cdb-pg-dump", ["--compress", "rar"])
        #expect(compress.status == 64)
        let dir = try Harness.temporaryDirectory()
        defer { Harness.remove(dir) }
        try "not a folder".write(toFile: dir + "/rootfile", atomically: true, encoding: .utf8)
        let file = try Harness.cdb("cdb-pg-dump", ["--backup-root", dir + "/rootfile"])
        #expect(file.status == 73, "\(file.stderr)")
        #expect(file.stderr.contains("not a directory"))
        #expect(try String(contentsOfFile: dir + "/rootfile", encoding: .utf8) == "not a folder")
    }
}
