import Foundation
import Testing

@Test("PostgreSQL is there when CI runs the suite")
func postgresIsAvailableUnderCI() {
    if Harness.underCI {
        #expect(PG.available, "scripts/with-postgres.sh should have started a server (PGHOST=\(Harness.environment["PGHOST"] ?? "unset"))")
    }
}

/// Differential fidelity: dump with cdb-pg-dump, restore with psql, and let pg_dump judge.
@Suite("cdb-pg-dump restores exactly", .enabled(if: PG.enabled), .serialized)
struct PgDumpFidelityTests {
    /// Dumps `source` into a fresh backup root; returns the dump's path and the root.
    func dump(_ source: String, _ extra: [String] = []) throws -> (path: String, root: String) {
        let root = try Harness.temporaryDirectory("cdb-root")
        let out = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "--backup-root", root] + extra)
        #expect(out.status == 0, "cdb-pg-dump failed: \(out.stderr)")
        let path = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: path), "stdout should name the dump: \(out.stdout)")
        return (path, root)
    }

    /// Restores a plain dump with psql into a new database and returns its name.
    func restore(_ path: String) throws -> String {
        let target = try PG.createDatabase("restored")
        let out = try Harness.run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, "-f", path])
        #expect(out.status == 0, "psql could not restore \(path): \(out.stderr)")
        return target
    }

    func expectSameDatabase(_ source: String, _ copy: String) throws {
        let sourceSchema = try PG.schema(source)
        let copySchema = try PG.schema(copy)
        #expect(sourceSchema == copySchema, "pg_dump --schema-only differs:\n\(lineDiff(sourceSchema, copySchema))")
        let sourceData = try PG.contentDigest(source)
        let copyData = try PG.contentDigest(copy)
        #expect(!sourceData.isEmpty)
        for (table, digest) in sourceData.sorted(by: { $0.key < $1.key }) {
            #expect(copyData[table] == digest, "table or sequence \(table) differs after restore")
        }
        #expect(Set(sourceData.keys) == Set(copyData.keys))
    }

    @Test("the trading fixture comes back identical: schema, data and sequences")
    func tradingRoundTrip() throws {
        let source = try PG.tradingDatabase()
        let (path, root) = try dump(source)
        defer { PG.dropDatabase(source); Harness.remove(root) }
        let copy = try restore(path)
        defer { PG.dropDatabase(copy) }
        try expectSameDatabase(source, copy)
    }

    @Test("every object kind with awkward names and values comes back identical")
    func awkwardRoundTrip() throws {
        let source = try PG.awkwardDatabase()
        let (path, root) = try dump(source, ["--require-table", "app.node"])
        defer { PG.dropDatabase(source); Harness.remove(root) }
        let copy = try restore(path)
        defer { PG.dropDatabase(copy) }
        try expectSameDatabase(source, copy)
        // Spot checks that pg_dump's text could hide: bytes and sequence positions.
        let bytes = try PG.psql(copy, "SELECT length(b), md5(b) FROM \"Odd Schema\".\"Mixed Case Table\" WHERE \"Tab\tName\" = 1")
        let expected = try PG.psql(source, "SELECT length(b), md5(b) FROM \"Odd Schema\".\"Mixed Case Table\" WHERE \"Tab\tName\" = 1")
        #expect(bytes == expected && bytes.hasPrefix("256|"))
        #expect(try PG.psql(copy, "SELECT nextval('app.counter')") == PG.psql(source, "SELECT nextval('app.counter')"))
        #expect(try PG.psql(copy, #"SELECT count(*) FROM app.mood_counts"#) == "4")
    }

    @Test("aggregates, rules, revoked privileges and the other kinds real databases hold come back identical, through psql and cdb-restore")
    func objectKindsRoundTrip() throws {
        let source = try PG.objectsDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        let out0 = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "--backup-root", root, "--require-table", "shop.item"])
        defer { PG.dropDatabase(source); Harness.remove(root) }
        #expect(out0.status == 0, "cdb-pg-dump failed: \(out0.stderr)")
        let path = out0.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // A user mapping's password goes into the dump as pg_dump writes it, and nowhere else.
        #expect(!out0.stderr.contains("fixture-secret") && !out0.stdout.contains("fixture-secret"))
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("password=fixture-secret-sub"), "the subscription is in the dump as pg_dump writes it")
        #expect(!((try? String(contentsOfFile: root + "/PostgreSQL/backup_log.txt", encoding: .utf8)) ?? "").contains("fixture-secret"))
        let copy = try restore(path)
        defer { PG.dropDatabase(copy) }
        try expectSameDatabase(source, copy)
        // The same dump through cdb-restore (its own script reader, one transaction).
        let viaRestore = PG.uniqueName("objects_restored")
        let out = try Harness.cdb("cdb-restore", [path, "--dbname", viaRestore, "--create"])
        defer { PG.dropDatabase(viaRestore) }
        #expect(out.status == 0, "cdb-restore failed: \(out.stderr)")
        try expectSameDatabase(source, viaRestore)
        // What the catalogs say and pg_dump -s could hide: a revoked function stays locked.
        #expect(try PG.psql(copy, "SELECT proacl::text FROM pg_proc WHERE proname = 'secret_rate'") == "{}")
        #expect(try PG.psql(copy, "SELECT has_function_privilege('cdb_reader', 'shop.secret_rate()', 'EXECUTE')") == "f")
        #expect(try PG.psql(copy, "SELECT names FROM shop.item_names") == "[apple,melon,pear]")
        // Large objects: pg_dump -s shows none of their bytes.
        let objects = "SELECT string_agg(oid || ':' || md5(lo_get(oid)) || ':' || pg_get_userbyid(lomowner) || ':' || coalesce(lomacl::text, '-'), ',' ORDER BY oid) FROM pg_largeobject_metadata"
        for database in [copy, viaRestore] {
            #expect(try PG.psql(database, objects) == PG.psql(source, objects))
            #expect(try PG.psql(database, "SELECT count(*) FROM pg_largeobject_metadata") == "4")
        }
    }

    @Test("tables, keys, indexes, partitioned tables and materialized views in a tablespace come back in it")
    func tablespaces() throws {
        let dir = try Harness.temporaryDirectory("cdb-ts")
        // The server runs as postgres when the tests run as root: the folder must be its own.
        if getuid() == 0 { _ = try Harness.run("chown", ["postgres", dir]) }
        let space = PG.uniqueName("cdb_space")
        let source = try PG.createDatabase("spaces")
        var copy: String?
        defer {
            PG.dropDatabase(source)
            if let copy { PG.dropDatabase(copy) }
            _ = try? PG.psql("postgres", "DROP TABLESPACE IF EXISTS \(space)")
            Harness.remove(dir)
        }
        _ = try PG.psql("postgres", "CREATE TABLESPACE \(space) LOCATION '\(dir)'")
        _ = try PG.psql(source, """
            CREATE TABLE public.t (id integer PRIMARY KEY USING INDEX TABLESPACE \(space), v text) TABLESPACE \(space);
            CREATE INDEX t_v ON public.t (v) TABLESPACE \(space);
            CREATE TABLE public.elsewhere (id integer PRIMARY KEY);
            CREATE TABLE public.pt (d date, x integer) PARTITION BY RANGE (d) TABLESPACE \(space);
            CREATE TABLE public.pt_2024 PARTITION OF public.pt FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE MATERIALIZED VIEW public.mv TABLESPACE \(space) AS SELECT id FROM public.t;
            INSERT INTO public.t VALUES (1, 'a'), (2, 'b');
            INSERT INTO public.pt VALUES ('2024-03-03', 1);
            REFRESH MATERIALIZED VIEW public.mv;
            """)
        let (path, root) = try dump(source, ["--require-table", "public.t"])
        defer { Harness.remove(root) }
        copy = try restore(path)
        try expectSameDatabase(source, copy!)
        let placed = "SELECT string_agg(c.relname || ':' || coalesce(t.spcname, '-'), ',' ORDER BY c.relname) FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE c.relnamespace = 'public'::regnamespace"
        #expect(try PG.psql(copy!, placed) == PG.psql(source, placed))
        #expect(try PG.psql(copy!, placed).contains("t_pkey:\(space)"))
    }

    @Test("a dump of the restored copy equals the first dump", arguments: ["awkward", "objects"])
    func dumpOfCopyEqualsDump(_ fixture: String) throws {
        let source = fixture == "awkward" ? try PG.awkwardDatabase() : try PG.objectsDatabase()
        let required = ["--require-table", fixture == "awkward" ? "app.node" : "shop.item"]
        let first = try dump(source, required)
        defer { PG.dropDatabase(source); Harness.remove(first.root) }
        let copy = try restore(first.path)
        defer { PG.dropDatabase(copy) }
        let second = try dump(copy, required)
        defer { Harness.remove(second.root) }
        let a = try String(contentsOfFile: first.path, encoding: .utf8)
        let b = try String(contentsOfFile: second.path, encoding: .utf8)
        #expect(a == b, "dumps differ:\n\(lineDiff(a, b))")
    }

    @Test("--no-owner and --no-privileges leave out owners and grants, and restore as another role")
    func noOwnerNoPrivileges() throws {
        let source = try PG.awkwardDatabase()
        let (path, root) = try dump(source, ["--require-table", "app.node", "--no-owner", "--no-privileges"])
        defer { PG.dropDatabase(source); Harness.remove(root) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("OWNER TO"))
        #expect(!text.contains("GRANT ") && !text.contains("REVOKE "))
        _ = try PG.psql("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdb_restorer') THEN CREATE ROLE cdb_restorer LOGIN CREATEDB; END IF; END $$")
        let target = PG.uniqueName("asother")
        _ = try PG.psql("postgres", "CREATE DATABASE \(target) OWNER cdb_restorer")
        defer { PG.dropDatabase(target) }
        // Extensions need a superuser; everything else loads as the other role.
        _ = try PG.psql(target, "CREATE EXTENSION citext; CREATE EXTENSION btree_gist")
        _ = try PG.psql(target, "ALTER SCHEMA public OWNER TO cdb_restorer")
        let out = try Harness.run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "cdb_restorer", "-d", target, "-f", path])
        #expect(out.status == 0, "restore as cdb_restorer failed: \(out.stderr)")
        #expect(try PG.psql(target, "SELECT tableowner FROM pg_tables WHERE tablename = 'node'") == "cdb_restorer")
    }

    @Test("zstd and gzip dumps decompress with the standard tools to a dump that restores")
    func compressedDumps() throws {
        let source = try PG.tradingDatabase()
        defer { PG.dropDatabase(source) }
        for (method, tool) in [("zstd", "zstd"), ("gzip", "gzip")] {
            let (path, root) = try dump(source, ["--compress", method])
            defer { Harness.remove(root) }
            #expect(path.hasSuffix(method == "zstd" ? ".sql.zst" : ".sql.gz"))
            let check = try Harness.run("sha256sum", ["-c", (path as NSString).lastPathComponent + ".sha256"],
                                        directory: (path as NSString).deletingLastPathComponent)
            #expect(check.status == 0, "sha256sum -c failed: \(check.stdout) \(check.stderr)")
            let plain = root + "/plain.sql"
            let out = try Harness.run("sh", ["-c", "\(tool) -dc '\(path)' > '\(plain)'"])
            #expect(out.status == 0, "\(tool) -dc failed: \(out.stderr)")
            let copy = try restore(plain)
            defer { PG.dropDatabase(copy) }
            try expectSameDatabase(source, copy)
        }
    }

    @Test("-o - streams the dump to stdout and -o FILE writes exactly that file with a sidecar")
    func outputOptions() throws {
        let source = try PG.tradingDatabase()
        let dir = try Harness.temporaryDirectory()
        defer { PG.dropDatabase(source); Harness.remove(dir) }
        let streamed = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", "-"])
        #expect(streamed.status == 0, "\(streamed.stderr)")
        #expect(streamed.stdout.hasPrefix("--\n-- PostgreSQL database dump\n"))
        #expect(streamed.stdout.contains("-- PostgreSQL database dump complete"))
        let file = dir + "/mine.sql"
        let written = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", file])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stdout == file + "\n")
        let check = try Harness.run("sha256sum", ["-c", "mine.sql.sha256"], directory: dir)
        #expect(check.status == 0)
        // Same snapshot content either way (the header is identical too).
        #expect(try String(contentsOfFile: file, encoding: .utf8) == streamed.stdout)
        #expect(Harness.files(in: dir) == ["mine.sql", "mine.sql.sha256"], "no temporary files left")
    }
}
