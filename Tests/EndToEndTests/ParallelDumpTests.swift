import Foundation
import Testing

/// `cdb-pg-dump --jobs N`: the data over N connections in one snapshot, big tables in page
/// ranges, written in order — the same bytes as `--jobs 1`.
@Suite("cdb-pg-dump --jobs: all cores, same bytes", .enabled(if: PG.enabled), .serialized)
struct ParallelDumpTests {
    /// Dumps `database` with `--jobs N` to a new file; returns its bytes and stderr.
    func dump(_ database: String, jobs: Int, _ extra: [String] = []) throws -> (bytes: Data, stderr: String) {
        let folder = try Harness.temporaryDirectory("cdb-jobs")
        defer { Harness.remove(folder) }
        let path = folder + "/dump.sql"
        let out = try Harness.cdb("cdb-pg-dump", ["-d", database, "--jobs", String(jobs), "-o", path, "--verbose"] + extra)
        #expect(out.status == 0, "cdb-pg-dump --jobs \(jobs) failed: \(out.stderr)")
        return (try Data(contentsOf: URL(fileURLWithPath: path)), out.stderr)
    }

    /// Big tables of every shape that splitting could get wrong: inherited (a parent's COPY
    /// holds only its own rows), partitioned (the parent has no rows; each partition is a
    /// table), a generated column (not copied), and rows moved and deleted so that the
    /// physical order is not the insertion order and pages have holes.
    static let bigTables = """
        CREATE SCHEMA big;
        CREATE TABLE big.parent (id integer, pad text);
        CREATE TABLE big.child (extra integer) INHERITS (big.parent);
        CREATE TABLE big.part (k integer, pad text) PARTITION BY RANGE (k);
        CREATE TABLE big.part_low PARTITION OF big.part FOR VALUES FROM (0) TO (60000);
        CREATE TABLE big.part_high PARTITION OF big.part FOR VALUES FROM (60000) TO (MAXVALUE);
        CREATE TABLE big.gen (a integer, pad text, doubled integer GENERATED ALWAYS AS (a * 2) STORED);
        INSERT INTO big.parent SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 70000) i;
        INSERT INTO big.child SELECT i, repeat(md5(i::text), 4), -i FROM generate_series(1, 70000) i;
        INSERT INTO big.part SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 120000) i;
        INSERT INTO big.gen (a, pad) SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 70000) i;
        UPDATE big.parent SET pad = 'moved ' || id WHERE id % 97 = 0;
        DELETE FROM big.gen WHERE a % 5 = 0;
        UPDATE big.gen SET a = a + 1000000 WHERE a % 31 = 0;
        """

    @Test("--jobs 2 and 3 write the bytes --jobs 1 writes: the trading fixture at scale 50, and the awkward schema with big inherited, partitioned and generated-column tables split into page ranges; the parallel dump restores exactly")
    func sameBytes() throws {
        let trading = try PG.tradingDatabase(scale: 50)
        defer { PG.dropDatabase(trading) }
        let one = try dump(trading, jobs: 1)
        let two = try dump(trading, jobs: 2)
        #expect(!one.stderr.contains("connections"), "--jobs 1 reads with the dump's own connection: \(one.stderr)")
        #expect(two.stderr.contains("table data read over 2 connections"), "the parallel path should have run: \(two.stderr)")
        #expect(one.bytes == two.bytes, "--jobs 2 differs from --jobs 1 on the trading fixture")

        let awkward = try PG.awkwardDatabase()
        defer { PG.dropDatabase(awkward) }
        _ = try PG.psql(awkward, Self.bigTables)
        let serial = try dump(awkward, jobs: 1, ["--require-table", "big.gen"])
        let parallel = try dump(awkward, jobs: 2, ["--require-table", "big.gen"])
        let three = try dump(awkward, jobs: 3, ["--require-table", "big.gen"])
        #expect(parallel.stderr.contains("table data read over 2 connections"), "\(parallel.stderr)")
        #expect(parallel.stderr.contains("page ranges"), "big tables should have been split: \(parallel.stderr)")
        #expect(serial.bytes == parallel.bytes, "--jobs 2 differs from --jobs 1 on the awkward schema")
        #expect(serial.bytes == three.bytes, "--jobs 3 differs from --jobs 1 on the awkward schema")
        let text = String(decoding: parallel.bytes, as: UTF8.self)
        #expect(text.contains("-- Rows: 70000\n") && text.contains("-- Rows: 56000\n"), "row counts of whole split tables")

        // And it restores: schema, every table's digest, sequences.
        let folder = try Harness.temporaryDirectory("cdb-jobs")
        defer { Harness.remove(folder) }
        try parallel.bytes.write(to: URL(fileURLWithPath: folder + "/dump.sql"))
        let copy = try PG.createDatabase("restored")
        defer { PG.dropDatabase(copy) }
        let restored = try Harness.run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", copy, "-f", folder + "/dump.sql"])
        #expect(restored.status == 0, "psql could not restore the parallel dump: \(restored.stderr)")
        #expect(try PG.schema(awkward) == PG.schema(copy))
        #expect(try PG.contentDigest(awkward) == PG.contentDigest(copy))
    }

    @Test("workers killed mid-dump (pg_terminate_backend) fail the dump with 69, naming the lost connection; no complete dump is written and no connection stays")
    func workerKilled() throws {
        let database = try PG.createDatabase("jobs")
        defer { PG.dropDatabase(database) }
        _ = try PG.psql(database, """
            CREATE TABLE public.signals (id integer, pad text);
            INSERT INTO public.signals SELECT i, repeat(md5(i::text), 30) FROM generate_series(1, 70000) i;
            """)
        // 68 MB in eight page ranges, written to a pipe nobody reads yet: the writer stops, the
        // workers fill their budgets (4 + 32 MiB) and stop reading with ranges still to do.
        // Their connections are killed; what they read next fails.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.binDir + "/cdb-pg-dump")
        process.arguments = ["-d", database, "--jobs", "2", "-o", "-", "--require-table", "signals"]
        var environment = Harness.environment
        environment["XDG_CONFIG_HOME"] = Harness.configHome
        process.environment = environment
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try Harness.startUnblocked(process)
        try waitFor(seconds: 60) {
            try PG.psql("postgres", """
                SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = '\(database)' AND query LIKE 'COPY (SELECT%'
                """).trimmingCharacters(in: .whitespacesAndNewlines) == "2"
        }
        let killed = try PG.psql("postgres", """
            SELECT count(*) FROM pg_catalog.pg_stat_activity
             WHERE datname = '\(database)' AND query LIKE 'COPY (SELECT%' AND pg_catalog.pg_terminate_backend(pid)
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(killed == "2")
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 69, "a lost worker is a lost connection (69): \(message)")
        #expect(message.contains("dumping public.signals"), "the message names what was being dumped: \(message)")
        let text = String(decoding: output, as: UTF8.self)
        #expect(!text.contains("dump complete"), "no complete dump may come out of a failed one")
        #expect(try PG.psql(database, "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND pid <> pg_backend_pid()")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0", "every connection of the dump is closed")
    }

    @Test("workers that cannot connect (a role's connection limit) are left out: the dump still succeeds, the same bytes")
    func connectionLimit() throws {
        let database = try PG.tradingDatabase(scale: 50)
        defer { PG.dropDatabase(database) }
        let role = PG.uniqueName("limited")
        _ = try PG.psql("postgres", "CREATE ROLE \(role) LOGIN CONNECTION LIMIT 1; GRANT pg_read_all_data TO \(role)")
        defer { _ = try? PG.psql("postgres", "DROP ROLE IF EXISTS \(role)") }
        let full = try dump(database, jobs: 1, ["--no-owner", "--no-privileges"])
        let limited = try dump(database, jobs: 4, ["--no-owner", "--no-privileges", "-U", role])
        #expect(full.bytes == limited.bytes)
        #expect(limited.stderr.contains("no worker could connect"), "the parallel path was tried and fell back: \(limited.stderr)")
    }
}

/// `cdb-restore --jobs N`: the schema in one transaction, then data and indexes over N connections.
@Suite("cdb-restore --jobs: data and indexes over every core", .enabled(if: PG.enabled), .serialized)
struct ParallelRestoreTests {
    @Test("--jobs 2 restores exactly (schema, every table's digest, sequences): cdb's dumps of the trading fixture x50 and of the awkward schema with big split tables, pg_dump's plain dumps of it and of every object kind with large objects; --check --jobs 2 passes")
    func roundTrip() throws {
        let folder = try Harness.temporaryDirectory("cdb-jobs")
        defer { Harness.remove(folder) }
        let trading = try PG.tradingDatabase(scale: 50)
        let awkward = try PG.awkwardDatabase()
        defer { PG.dropDatabase(trading); PG.dropDatabase(awkward) }
        _ = try PG.psql(awkward, ParallelDumpTests.bigTables)
        var dumps: [(source: String, path: String)] = []
        for (source, required) in [(trading, "signals"), (awkward, "big.gen")] {
            let path = folder + "/\(source).sql"
            let out = try Harness.cdb("cdb-pg-dump", ["-d", source, "-o", path, "--require-table", required])
            #expect(out.status == 0, "\(out.stderr)")
            dumps.append((source, path))
        }
        let compressed = folder + "/\(trading).sql.zst"
        let zst = try Harness.cdb("cdb-pg-dump", ["-d", trading, "-o", compressed, "--compress", "zstd", "--require-table", "signals"])
        #expect(zst.status == 0, "\(zst.stderr)")
        dumps.append((trading, compressed))
        // pg_dump's plain dumps too, large objects (BEGIN; lo_open … lowrite … COMMIT) included.
        let objects = try PG.objectsDatabase()
        defer { PG.dropDatabase(objects) }
        for source in [awkward, objects] {
            let plain = folder + "/pg_dump_\(source).sql"
            let pgDump = try Harness.run("pg_dump", ["-Fp", "-f", plain, source])
            #expect(pgDump.status == 0, "\(pgDump.stderr)")
            dumps.append((source, plain))
        }
        for (source, path) in dumps {
            let target = PG.uniqueName("jobs_restored")
            defer { PG.dropDatabase(target) }
            let out = try Harness.cdb("cdb-restore", ["-d", target, "--create", "--jobs", "2", "--verbose", path])
            #expect(out.status == 0, "cdb-restore --jobs 2 \(path): \(out.stderr)")
            #expect(out.stderr.contains("loading the data over 2 connections"), "the parallel path should have run: \(out.stderr)")
            if path.hasSuffix("/\(awkward).sql") {
                #expect(out.stderr.contains("big.part_low: 59999 rows (in ") || out.stderr.contains("COPYs)"), "a big table should load in several COPYs: \(out.stderr)")
            }
            #expect(try PG.schema(source) == PG.schema(target), "schema differs after --jobs 2 restore of \(path)")
            #expect(try PG.contentDigest(source) == PG.contentDigest(target), "data differs after --jobs 2 restore of \(path)")
        }
        let check = try Harness.cdb("cdb-restore", ["--check", "--jobs", "2", "--verbose", dumps[1].path])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr.contains("loading the data over 2 connections"), "--check restores in parallel: \(check.stderr)")
        // The defaults: the cores with --check (and --create); one transaction into a database
        // that existed.
        if ProcessInfo.processInfo.activeProcessorCount > 1 {
            let byDefault = try Harness.cdb("cdb-restore", ["--check", "--verbose", dumps[0].path])
            #expect(byDefault.status == 0 && byDefault.stderr.contains("loading the data over"), "\(byDefault.stderr)")
        }
        let existing = try PG.createDatabase("jobs_existing")
        defer { PG.dropDatabase(existing) }
        let serial = try Harness.cdb("cdb-restore", ["-d", existing, "--verbose", dumps[0].path])
        #expect(serial.status == 0, "\(serial.stderr)")
        #expect(!serial.stderr.contains("loading the data over"), "into an existing database the default is one transaction: \(serial.stderr)")
    }

    @Test("a foreign key the data breaks, validated apart from its adding: the restore fails naming the key and its line, as with --jobs 1; the database --create made is dropped")
    func brokenForeignKey() throws {
        // The dump claims a valid key that its rows break; the error names the ALTER line.
        try Self.expectBrokenDumpFailsAlike(schema: """
            CREATE TABLE public.p (id integer PRIMARY KEY);
            CREATE TABLE public.c (id integer PRIMARY KEY, p_id integer);
            INSERT INTO public.p VALUES (1), (2);
            INSERT INTO public.c VALUES (1, 1), (2, 424242);
            ALTER TABLE public.c ADD CONSTRAINT c_p_fkey FOREIGN KEY (p_id) REFERENCES public.p(id) NOT VALID;
            """, replacing: "REFERENCES public.p(id) NOT VALID;", with: "REFERENCES public.p(id);",
            line: { lines in lines.firstIndex { $0.contains("ADD CONSTRAINT c_p_fkey") } ?? 0 },  // the line above, 1-based
            message: "insert or update on table \"c\" violates foreign key constraint \"c_p_fkey\"")
    }

    @Test("a unique index the rows break, built while other tables load: the restore fails naming its line, as with --jobs 1; the database --create made is dropped")
    func brokenIndex() throws {
        // The dump claims a unique index that its rows break.
        try Self.expectBrokenDumpFailsAlike(schema: """
            CREATE TABLE public.a (id integer PRIMARY KEY, v integer);
            CREATE TABLE public.b (id integer PRIMARY KEY, w text);
            INSERT INTO public.a SELECT i, i % 1000 FROM generate_series(1, 20000) i;
            INSERT INTO public.b SELECT i, md5(i::text) FROM generate_series(1, 20000) i;
            CREATE INDEX a_v ON public.a (v);
            CREATE INDEX b_w ON public.b (w);
            """, replacing: "CREATE INDEX a_v ON public.a", with: "CREATE UNIQUE INDEX a_v ON public.a",
            line: { lines in (lines.firstIndex { $0.hasPrefix("CREATE UNIQUE INDEX a_v ") } ?? -1) + 1 },
            message: "could not create unique index \"a_v\"")
    }

    /// A database made by `schema`, dumped by pg_dump, the dump edited (`old` → `new`) into a
    /// claim its own rows break: restoring it must fail alike with --jobs 1 and 2, at the line
    /// `line` finds in the edited dump.
    static func expectBrokenDumpFailsAlike(schema: String, replacing old: String, with new: String,
                                           line: ([Substring]) -> Int, message: String) throws {
        let folder = try Harness.temporaryDirectory("cdb-jobs")
        defer { Harness.remove(folder) }
        let source = try PG.createDatabase("jobs_broken_source")
        defer { PG.dropDatabase(source) }
        _ = try PG.psql(source, schema)
        let path = folder + "/broken.sql"
        let pgDump = try Harness.run("pg_dump", ["-Fp", "-f", path, source])
        #expect(pgDump.status == 0, "\(pgDump.stderr)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let broken = text.replacingOccurrences(of: old, with: new)
        #expect(broken != text, "the dump holds \(old)")
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        try expectFailsAlike(path, line: line(broken.split(separator: "\n", omittingEmptySubsequences: false)), message: message)
    }

    /// Restores `path` with --create, --jobs 1 and 2: each fails with 65 at `line` with
    /// `message`, and the database it created is dropped.
    static func expectFailsAlike(_ path: String, line: Int, message: String) throws {
        for jobs in ["1", "2"] {
            let target = PG.uniqueName("jobs_broken")
            defer { PG.dropDatabase(target) }
            let out = try Harness.cdb("cdb-restore", ["-d", target, "--create", "--jobs", jobs, path])
            #expect(out.status == 65, "--jobs \(jobs): \(out.stderr)")
            #expect(out.stderr.contains("failed at line \(line): \(message)"),
                    "--jobs \(jobs): the message names the statement's line and what broke: \(out.stderr)")
            #expect(try PG.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(target)'") == "0",
                    "--jobs \(jobs): the database --create made is dropped: \(out.stderr)")
        }
    }

    @Test("a worker killed mid-restore: the restore fails, naming the line, and the database --create made is dropped")
    func workerKilled() throws {
        let folder = try Harness.temporaryDirectory("cdb-jobs")
        defer { Harness.remove(folder) }
        let source = try PG.createDatabase("jobs")
        defer { PG.dropDatabase(source) }
        _ = try PG.psql(source, """
            CREATE TABLE public.signals (id integer PRIMARY KEY, pad text);
            INSERT INTO public.signals SELECT i, repeat(md5(i::text), 30) FROM generate_series(1, 70000) i;
            """)
        let path = folder + "/big.sql"
        let dumped = try Harness.cdb("cdb-pg-dump", ["-d", source, "-o", path, "--require-table", "signals"])
        #expect(dumped.status == 0, "\(dumped.stderr)")
        let target = PG.uniqueName("jobs_killed")
        defer { PG.dropDatabase(target) }
        let errFile = folder + "/stderr"
        FileManager.default.createFile(atPath: errFile, contents: nil)
        let restore = Process()
        restore.executableURL = URL(fileURLWithPath: Harness.binDir + "/cdb-restore")
        restore.arguments = ["-d", target, "--create", "--jobs", "2", path]
        restore.environment = Harness.environment.merging(["XDG_CONFIG_HOME": Harness.configHome]) { $1 }
        restore.standardOutput = FileHandle.nullDevice
        restore.standardError = FileHandle(forWritingAtPath: errFile)
        try Harness.startUnblocked(restore)
        // Stopped while a worker's COPY is open, so that it is killed mid-COPY.
        let copying = "datname = '\(target)' AND application_name = 'cdb-restore' AND state = 'active' AND query LIKE '%COPY public.signals %FROM stdin;%'"
        var pid = ""
        try waitFor(seconds: 60) {
            pid = try PG.psql("postgres", "SELECT pid FROM pg_stat_activity WHERE \(copying) ORDER BY pid LIMIT 1")
            return !pid.isEmpty
        }
        kill(restore.processIdentifier, SIGSTOP)
        let terminated = try PG.psql("postgres", "SELECT pg_terminate_backend(\(pid))")
        kill(restore.processIdentifier, SIGCONT)
        restore.waitUntilExit()
        let message = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        #expect(terminated == "t")
        #expect(restore.terminationStatus != 0, "the restore should fail: \(message)")
        #expect(message.contains("line "), "the message names the line: \(message)")
        #expect(try PG.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(target)'") == "0",
                "the database --create made is dropped: \(message)")
    }
}
