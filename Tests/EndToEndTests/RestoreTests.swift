import CDBKit
import Foundation
import Testing

/// cdb-restore: round trips through libpq, --check, and snapshots into folders.
@Suite("cdb-restore", .enabled(if: PG.enabled), .serialized)
struct RestoreTests {
    func restoreExpectingEqual(_ source: String, dump: String) throws {
        let target = PG.uniqueName("restored")
        let out = try Harness.cdb("cdb-restore", [dump, "--dbname", target, "--create"])
        #expect(out.status == 0, "\(out.stderr)")
        defer { PG.dropDatabase(target) }
        let a = try PG.schema(source), b = try PG.schema(target)
        #expect(a == b, "schema differs:\n\(lineDiff(a, b))")
        #expect(try PG.contentDigest(source) == PG.contentDigest(target))
    }

    @Test("our dumps (plain and zstd) of the trading and awkward databases restore exactly without psql")
    func roundTripOurs() throws {
        for (source, extra) in [(try PG.tradingDatabase(), [String]()), (try PG.awkwardDatabase(), ["--require-table", "app.node"])] {
            defer { PG.dropDatabase(source) }
            let dir = try Harness.temporaryDirectory()
            defer { Harness.remove(dir) }
            for name in ["d.sql", "d.sql.zst"] {
                let compress = name.hasSuffix(".zst") ? ["--compress", "zstd"] : []
                let dump = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", dir + "/" + name] + compress + extra)
                #expect(dump.status == 0, "\(dump.stderr)")
                try restoreExpectingEqual(source, dump: dir + "/" + name)
            }
        }
    }

    @Test("pg_dump's plain dumps (\\restrict lines, large objects in BEGIN/COMMIT, rules, every object kind) restore exactly", arguments: ["awkward", "objects"])
    func roundTripPgDump(_ fixture: String) throws {
        let source = fixture == "awkward" ? try PG.awkwardDatabase() : try PG.objectsDatabase()
        let dir = try Harness.temporaryDirectory()
        defer { PG.dropDatabase(source); Harness.remove(dir) }
        let made = try Harness.run("pg_dump", ["-Fp", "-f", dir + "/p.sql", source])
        #expect(made.status == 0)
        try restoreExpectingEqual(source, dump: dir + "/p.sql")
        if fixture == "objects" {
            let objects = "SELECT string_agg(oid || ':' || md5(lo_get(oid)), ',' ORDER BY oid) FROM pg_largeobject_metadata"
            let target = PG.uniqueName("restored")
            #expect(try Harness.cdb("cdb-restore", [dir + "/p.sql", "--dbname", target, "--create"]).status == 0)
            defer { PG.dropDatabase(target) }
            #expect(try PG.psql(target, objects) == PG.psql(source, objects))
        }
    }

    @Test("a failing statement stops the restore with its line and the server's message; nothing stays")
    func failureLine() throws {
        let dir = try Harness.temporaryDirectory()
        defer { Harness.remove(dir) }
        try "CREATE TABLE public.t (i int);\n\nCOPY public.t (i) FROM stdin;\n1\n2\n\\.\n-- a comment; with a semicolon\nSELECT 'a;b' AS x;\nSELECT $q$ ; $q$;\nCREATE TABLE public.t (j int);\n"
            .write(toFile: dir + "/bad.sql", atomically: false, encoding: .utf8)
        let target = try PG.createDatabase("failing")
        defer { PG.dropDatabase(target) }
        let out = try Harness.cdb("cdb-restore", [dir + "/bad.sql", "--dbname", target])
        #expect(out.status == 65)
        #expect(out.stderr.contains("failed at line 10") && out.stderr.contains("already exists"), "\(out.stderr)")
        #expect(try PG.psql(target, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0", "one transaction: nothing stays")
        let nonEmpty = try PG.tradingDatabase()
        defer { PG.dropDatabase(nonEmpty) }
        let refused = try Harness.cdb("cdb-restore", [dir + "/bad.sql", "--dbname", nonEmpty])
        #expect(refused.status == 73 && refused.stderr.contains("--clean"), "\(refused.stderr)")
    }

    @Test("--clean restores over an earlier restore of the same dump (functions, procedures, aggregates, large objects dropped first)")
    func cleanOverExisting() throws {
        let source = try PG.objectsDatabase()
        let dir = try Harness.temporaryDirectory()
        let target = PG.uniqueName("clean")
        defer { PG.dropDatabase(source); PG.dropDatabase(target); Harness.remove(dir) }
        let dump = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", dir + "/d.sql", "--require-table", "shop.item"])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(try Harness.cdb("cdb-restore", [dir + "/d.sql", "--dbname", target, "--create"]).status == 0)
        let again = try Harness.cdb("cdb-restore", [dir + "/d.sql", "--dbname", target, "--clean"])
        #expect(again.status == 0, "\(again.stderr.suffix(600))")
        #expect(try PG.schema(target) == PG.schema(source))
    }

    @Test("attack: object names crafted against --clean — one that holds the header's separators, one whose 'arguments' are SQL — drop nothing they do not name")
    func cleanAgainstHostileNames() throws {
        let dir = try Harness.temporaryDirectory()
        let source = try PG.createDatabase("hostileclean"), target = try PG.createDatabase("victim")
        defer { PG.dropDatabase(source); PG.dropDatabase(target); Harness.remove(dir) }
        // The target holds a table the dump does not contain: --clean must never touch it.
        _ = try PG.psql(target, "CREATE TABLE public.victim (v text); INSERT INTO public.victim VALUES ('keep me')")
        // A function whose name makes its header read "f(integer); DROP TABLE public.victim; --(integer)".
        _ = try PG.psql(source, """
            CREATE FUNCTION public."f(integer); DROP TABLE public.victim; --"(integer) RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
            CREATE TABLE public.t (x integer);
            """)
        let injection = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", dir + "/injection.sql", "--require-table", "public.t"])
        #expect(injection.status == 0, "\(injection.stderr)")
        let first = try Harness.cdb("cdb-restore", [dir + "/injection.sql", "--dbname", target, "--clean"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try PG.psql(target, "SELECT v FROM public.victim") == "keep me", "the function's name was run as SQL")
        // A table whose name holds "; Type: TABLE; Schema: public": its header would name public.victim.
        _ = try PG.psql(source, #"CREATE TABLE public."victim; Type: TABLE; Schema: public" (y integer)"#)
        let ambiguous = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", dir + "/ambiguous.sql", "--require-table", "public.t"])
        #expect(ambiguous.status == 0, "\(ambiguous.stderr)")
        let refused = try Harness.cdb("cdb-restore", [dir + "/ambiguous.sql", "--dbname", target, "--clean"])
        #expect(refused.status == 65 && refused.stderr.contains("--clean cannot tell which object"), "\(refused.stderr)")
        #expect(try PG.psql(target, "SELECT v FROM public.victim") == "keep me")
    }

    @Test("attack: a quote followed by a combining mark is still a quote — names built so that a Character-wise escape leaves it single break neither the dump nor --clean")
    func combiningMarkQuotes() throws {
        let dir = try Harness.temporaryDirectory()
        let source = try PG.createDatabase("combining"), copy = try PG.createDatabase("combining_copy")
        defer { PG.dropDatabase(source); PG.dropDatabase(copy); Harness.remove(dir) }
        // setval('public."q'́); DROP TABLE public.victim; --"', …): with the ' left single, the
        // literal would end there and the rest would run as SQL on restore.
        let sequence = "q'\u{301}); DROP TABLE public.victim; --"
        let table = "t\"\u{301}; DROP TABLE public.victim; --"
        _ = try PG.psql(source, """
            CREATE TABLE public.t (x integer);
            CREATE SEQUENCE public."\(sequence.replacingAll("\"", with: "\"\""))";
            SELECT pg_catalog.setval('public."\(sequence.replacingAll("'", with: "''"))"', 42);
            CREATE TABLE public."\(table.replacingAll("\"", with: "\"\""))" (y integer);
            """)
        _ = try PG.psql(copy, "CREATE TABLE public.victim (v text); INSERT INTO public.victim VALUES ('keep me')")
        let dump = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", dir + "/d.sql", "--require-table", "public.t"])
        #expect(dump.status == 0, "\(dump.stderr)")
        let restored = try Harness.run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", copy, "-f", dir + "/d.sql"])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try PG.psql(copy, "SELECT v FROM public.victim") == "keep me", "a name was run as SQL")
        #expect(try PG.psql(copy, "SELECT last_value FROM public.\"\(sequence.replacingAll("\"", with: "\"\""))\"") == "42")
        let again = try Harness.cdb("cdb-restore", [dir + "/d.sql", "--dbname", copy, "--clean"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try PG.psql(copy, "SELECT v FROM public.victim") == "keep me", "--clean ran a name as SQL")
        #expect(try PG.psql(copy, "SELECT count(*) FROM pg_class WHERE relname = '\(table.replacingAll("'", with: "''"))'") == "1")
    }

    @Test("--latest checks and restores the newest dump by the time in its name, not by how names sort")
    func latest() throws {
        let source = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        let target = PG.uniqueName("latest")
        defer { PG.dropDatabase(source); PG.dropDatabase(target); Harness.remove(root) }
        let env: [String: String?] = ["CDB_BACKUP_ROOT": root]
        let none = try Harness.cdb("cdb-restore", ["--check", "--latest"], environment: env)
        #expect(none.status == 66 && none.stderr.contains("no dump here"), "\(none.stderr)")
        let made = try Harness.cdb("cdb-pg-dump", ["-d", source], environment: env).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Two older names that sort after the real one bytewise ("_0337_…" vs "_033745_…").
        let folder = root + "/PostgreSQL/"
        for old in ["cdb_backup_2020-01-01_0337_2.sql", "cdb_backup_2020-01-01_033745_2.sql"] {
            try FileManager.default.copyItem(atPath: made, toPath: folder + old)
        }
        let check = try Harness.cdb("cdb-restore", ["--check", "--latest"], environment: env)
        #expect(check.status == 0 && check.stderr.contains("the newest dump: \(Path.name(of: made))") && check.stderr.contains("OK:"), "\(check.stderr)")
        let restored = try Harness.cdb("cdb-restore", ["--latest", "--dbname", target, "--create"], environment: env)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try PG.contentDigest(target) == PG.contentDigest(source))
        let both = try Harness.cdb("cdb-restore", ["--latest", made, "--check"], environment: env)
        #expect(both.status == 64, "\(both.stderr)")
    }

    @Test("a dump that does not match its sidecar is refused by restore and --check (65) before any database is touched; --no-verify rescues it; a failed --create drops what it created")
    func sidecarAndCreate() throws {
        let source = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        let target = PG.uniqueName("restored")
        defer { PG.dropDatabase(source); PG.dropDatabase(target); Harness.remove(root) }
        let dump = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", source]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let sidecar = try String(contentsOfFile: dump + ".sha256", encoding: .utf8)
        try (String(repeating: "f", count: 64) + sidecar.dropFirst(64)).write(toFile: dump + ".sha256", atomically: false, encoding: .utf8)
        // Refused before any database is touched: the same answer with no server to reach (a
        // count of databases would race the suites running beside this one).
        let noServer: [String: String?] = ["PGHOST": root + "/no-server", "PGPORT": "1"]
        for args in [[dump, "--check"], [dump, "-d", target, "--create"]] {
            for environment in [[:], noServer] {
                let out = try Harness.cdb("cdb-restore", args, environment: environment)
                #expect(out.status == 65 && out.stderr.contains("does not match its .sha256 sidecar"), "\(args): \(out.stderr)")
            }
            #expect(try PG.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(target)'") == "0", "no database was created")
        }
        let rescued = try Harness.cdb("cdb-restore", [dump, "-d", target, "--create", "--no-verify"])
        #expect(rescued.status == 0 && rescued.stderr.contains("--no-verify"), "\(rescued.stderr)")
        #expect(try PG.contentDigest(target) == PG.contentDigest(source))
        // --create of a database that exists: 73, and the existing one is left alone.
        let exists = try Harness.cdb("cdb-restore", [dump, "-d", target, "--create", "--no-verify"])
        #expect(exists.status == 73 && exists.stderr.contains("already exists"), "\(exists.stderr)")
        #expect(try PG.contentDigest(target) == PG.contentDigest(source))
        // A dump that fails half-way under --create: the new database is dropped again.
        let bad = root + "/bad.sql"
        try "CREATE TABLE public.t (i int);\nSELECT no_such_function();\n".write(toFile: bad, atomically: false, encoding: .utf8)
        let other = PG.uniqueName("created")
        let failed = try Harness.cdb("cdb-restore", [bad, "-d", other, "--create"])
        #expect(failed.status == 65, "\(failed.stderr)")
        #expect(try PG.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(other)'") == "0", "the created database was left behind")
    }

    @Test("SQL-standard function bodies (BEGIN ATOMIC … END, with CASE inside) stay one statement, as psql reads them; a column named begin does not")
    func beginAtomic() throws {
        let dir = try Harness.temporaryDirectory()
        defer { Harness.remove(dir) }
        try """
            CREATE TABLE public.t (begin int, "end" int);
            CREATE FUNCTION public.sign_of(x int) RETURNS text LANGUAGE sql
            BEGIN ATOMIC
              SELECT CASE WHEN x > 0 THEN 'up' WHEN x < 0 THEN 'down' ELSE 'flat' END;
            END;
            CREATE OR REPLACE PROCEDURE public.fill(n int) LANGUAGE sql
            BEGIN ATOMIC
              INSERT INTO public.t VALUES (n, n + 1);
              INSERT INTO public.t VALUES (n + 2, n + 3);
            END;
            CALL public.fill(1);

            """.write(toFile: dir + "/atomic.sql", atomically: false, encoding: .utf8)
        let target = try PG.createDatabase("atomic")
        defer { PG.dropDatabase(target) }
        let out = try Harness.cdb("cdb-restore", [dir + "/atomic.sql", "--dbname", target])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try PG.psql(target, "SELECT public.sign_of(-3) || ',' || (SELECT count(*) FROM public.t)") == "down,2")
    }

    @Test("BEGIN/COMMIT inside a script stay inside cdb-restore's one transaction (so \"nothing was restored\" is true); ';' inside parentheses does not end a statement")
    func transactionsAndParentheses() throws {
        let dir = try Harness.temporaryDirectory()
        defer { Harness.remove(dir) }
        let good = """
            CREATE TABLE public.a (x text);
            CREATE TABLE public.b (x text);
            CREATE RULE two AS ON INSERT TO public.a DO ALSO (INSERT INTO public.b VALUES ('one; two'); INSERT INTO public.b VALUES ('three'));
            BEGIN;
            SELECT pg_catalog.lo_create('777');
            SELECT pg_catalog.lo_put('777', 0, '\\x6869');
            COMMIT;
            INSERT INTO public.a VALUES ('x');

            """
        try good.write(toFile: dir + "/good.sql", atomically: false, encoding: .utf8)
        try (good + "CREATE TABLE public.c (x no_such_type);\n").write(toFile: dir + "/bad.sql", atomically: false, encoding: .utf8)
        let target = try PG.createDatabase("txn")
        defer { PG.dropDatabase(target) }
        let failed = try Harness.cdb("cdb-restore", [dir + "/bad.sql", "--dbname", target, "--no-verify"])
        #expect(failed.status == 65, "\(failed.stderr)")
        #expect(failed.stderr.contains("nothing was restored"), "\(failed.stderr)")
        #expect(try PG.psql(target, "SELECT count(*) FROM pg_class WHERE relname IN ('a', 'b')") == "0", "a COMMIT in the script ended the one transaction")
        #expect(try PG.psql(target, "SELECT count(*) FROM pg_largeobject_metadata") == "0")
        let out = try Harness.cdb("cdb-restore", [dir + "/good.sql", "--dbname", target, "--no-verify"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try PG.psql(target, "SELECT string_agg(x, '|' ORDER BY x) FROM public.b") == "one; two|three")
        #expect(try PG.psql(target, "SELECT convert_from(lo_get(777), 'UTF8')") == "hi")
    }

    @Test("--check passes a good dump and leaves no scratch database, also after a failure")
    func check() throws {
        let source = try PG.tradingDatabase()
        let dir = try Harness.temporaryDirectory()
        defer { PG.dropDatabase(source); Harness.remove(dir) }
        _ = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", dir + "/good.sql"])
        let good = try Harness.cdb("cdb-restore", ["--check", dir + "/good.sql"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stderr.contains("5 tables, 2504 rows restored and matching the dump"))
        // A row the server rejects (bad numeric) but whose block still counts right.
        var text = try String(contentsOfFile: dir + "/good.sql", encoding: .utf8)
        let range = text.range(of: "\tBTC/USDT\t")!
        text.replaceSubrange(range, with: "\tBTC/USDT\tnot-a-number-here\t")
        try text.write(toFile: dir + "/bad.sql", atomically: false, encoding: .utf8)
        let bad = try Harness.cdb("cdb-restore", ["--check", dir + "/bad.sql"])
        #expect(bad.status == 65, "\(bad.stderr)")
        try expectScratchGone(good.stderr + bad.stderr, count: 2)
    }
}

extension RestoreTests {
    /// The scratch databases a --check named on stderr (other suites run checks at the same
    /// time: only these are this test's).
    static func scratchNames(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: #"cdb_check_[0-9]+_[0-9a-z]+"#, options: .regularExpression) else { return nil }
            return String(line[range])
        }
    }

    func expectScratchGone(_ stderr: String, count: Int? = nil) throws {
        let names = Set(Self.scratchNames(stderr))
        if let count { #expect(names.count == count, "each --check names its scratch database: \(stderr)") }
        for name in names {
            #expect(try PG.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(name)'") == "0", "\(name) was left behind")
        }
    }

    @Test("--check interrupted with Ctrl-C leaves no scratch database")
    func checkInterrupted() throws {
        let source = try PG.createDatabase("bigcheck")
        let dir = try Harness.temporaryDirectory()
        defer { PG.dropDatabase(source); Harness.remove(dir) }
        _ = try PG.psql(source, "CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1500000) g")
        let dump = try Harness.cdb("cdb-pg-dump", ["--dbname", source, "-o", dir + "/big.sql", "--require-table", "big"])
        #expect(dump.status == 0)
        // Through a shell, as a user meets it: the exit status it sees is 130, and stderr says why.
        let script = """
            '\(Harness.binDir)/cdb-restore' --check '\(dir)/big.sql' 2>'\(dir)/err' & pid=$!
            until psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'cdb_check_${pid}_%'" | grep -qx 1; do sleep 0.05; done
            sleep 0.2; kill -INT $pid; wait $pid; echo "exit $?"
            """
        let shell = try Harness.run("bash", ["-c", script])
        #expect(shell.stdout.contains("exit 130"), "\(shell.stdout) \(shell.stderr)")
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        #expect(err.contains("cdb-restore: interrupted"), "\(err)")
        let named = try #require(RestoreTests.scratchNames(err).first, "stderr names the scratch database: \(err)")
        try waitFor(seconds: 10) { try PG.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(named)'") == "0" }
    }
}

/// pg_dump's plain dumps (which end with `\unrestrict KEY` since 15.14) through --check and cdb-verify.
@Suite("pg_dump's dumps are proven too", .enabled(if: PG.enabled), .serialized)
struct PgDumpCheckTests {
    @Test("--check and cdb-verify --no-checksum pass pg_dump's plain dumps (plain, gzip, zstd) of the trading and awkward databases; cut ones fail as truncated")
    func pgDumpDumps() throws {
        let dir = try Harness.temporaryDirectory("pgdump")
        var checkOutput = ""
        let trading = try PG.tradingDatabase(), awkward = try PG.awkwardDatabase()
        defer { Harness.remove(dir); PG.dropDatabase(trading); PG.dropDatabase(awkward) }
        for (database, required) in [(trading, [String]()), (awkward, ["--require-table", "app.node"])] {
            let plain = dir + "/\(database).sql"
            let dump = try Harness.run("pg_dump", ["-Fp", "-d", database, "-f", plain])
            #expect(dump.status == 0, "\(dump.stderr)")
            let text = try String(contentsOfFile: plain, encoding: .utf8)
            #expect(text.contains("\\unrestrict "), "this pg_dump writes \\unrestrict (15.14 and later)")
            _ = try Harness.run("sh", ["-c", "gzip -k -c '\(plain)' > '\(plain).gz' && zstd -q -k -f '\(plain)' -o '\(plain).zst'"])
            for file in [plain, plain + ".gz", plain + ".zst"] {
                let check = try Harness.cdb("cdb-restore", ["--check", file])
                #expect(check.status == 0, "--check \(file): \(check.stderr)")
                #expect(check.stderr.contains("records no row counts"), "\(check.stderr)")
                checkOutput += check.stderr
                let verify = try Harness.cdb("cdb-verify", ["--no-checksum"] + required + [file])
                #expect(verify.status == 0 && verify.stderr.contains("no row counts recorded"), "verify \(file): \(verify.stderr)")
            }
            // Without --no-checksum a file with no sidecar is not proven.
            #expect(try Harness.cdb("cdb-verify", required + [plain]).status == 65)
            // Cut at several points: inside a COPY block, between statements, before the completion line.
            let bytes = Array(text.utf8)
            let copyAt = text.range(of: "COPY ").map { text.utf8.distance(from: text.utf8.startIndex, to: $0.upperBound) } ?? 0
            let completion = text.range(of: "-- PostgreSQL database dump complete").map { text.utf8.distance(from: text.utf8.startIndex, to: $0.lowerBound) } ?? 0
            for cut in [bytes.count / 4, bytes.count / 2, copyAt + 200, completion - 2, completion + 10] where cut > 0 && cut < bytes.count {
                let cutPath = dir + "/cut-\(cut).sql"
                try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: cutPath))
                for file in [cutPath] + (cut == bytes.count / 2 ? [cutPath + ".zst"] : []) {
                    if file.hasSuffix(".zst") { _ = try Harness.run("zstd", ["-q", "-f", cutPath, "-o", file]) }
                    let verify = try Harness.cdb("cdb-verify", ["--no-checksum"] + required + [file])
                    #expect(verify.status == 65 && verify.stderr.contains("truncated"), "cut at \(cut) of \(bytes.count): \(verify.stderr)")
                    let check = try Harness.cdb("cdb-restore", ["--check", file])
                    #expect(check.status == 65 && check.stderr.contains("truncated"), "--check cut at \(cut): \(check.stderr)")
                    checkOutput += check.stderr
                }
            }
        }
        #expect(RestoreTests.scratchNames(checkOutput).count == 6, "each good --check names its scratch database")
        try RestoreTests().expectScratchGone(checkOutput)
    }
}

/// Snapshots into folders, and hostile archives.
@Suite("cdb-restore of snapshots", .serialized)
struct SnapshotRestoreTests {
    @Test("files, modes, links, git_metadata.txt and .env come back; --apply-uncommitted replays the work; a full folder is refused")
    func unpack() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.populateAwkward()
        try repo.write(".gitignore", ".env\n")
        try repo.commitAll("files")
        try repo.write(".env", "SECRET=1\n")
        try repo.write("src/engine.py", "print('uncommitted')\n")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { Harness.remove(root) }
        let zip = try Harness.cdb("cdb-repo-snap", ["--backup-root", root, "--include-env", "--force"], directory: repo.path).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let target = try Harness.temporaryDirectory("restored") + "/tree"
        defer { Harness.remove((target as NSString).deletingLastPathComponent) }
        let out = try Harness.cdb("cdb-restore", [zip, target, "--apply-uncommitted"])
        #expect(out.status == 0, "\(out.stderr)")
        var expected = try treeFingerprint(repo.path)
        expected["git_metadata.txt"] = try treeFingerprint(target)["git_metadata.txt"]
        let got = try treeFingerprint(target)
        #expect(got == expected, "only restored \(Set(got.keys).subtracting(expected.keys)), missing \(Set(expected.keys).subtracting(got.keys))")
        var info = stat()
        stat(target + "/.env", &info)
        #expect(info.st_mode & 0o777 == 0o600)
        let again = try Harness.cdb("cdb-restore", [zip, target])
        #expect(again.status == 73 && again.stderr.contains("not empty"), "\(again.stderr)")
        #expect(try Harness.cdb("cdb-restore", [zip, target, "--force"]).status == 0)
    }

    /// A snapshot whose repository.zip holds `entries` (name, mode, content).
    func hostileSnapshot(_ path: String, _ entries: [(String, UInt32, String)]) throws {
        var inner: [UInt8] = []
        let zip = ZipWriter(output: ZipWriter.Output(write: { inner.append(contentsOf: $0) }, patch: nil), modified: Date())
        for (name, mode, content) in entries { try zip.add(name: name, mode: mode, bytes: Array(content.utf8), level: 0) }
        try zip.finish()
        var outer: [UInt8] = []
        let outerZip = ZipWriter(output: ZipWriter.Output(write: { outer.append(contentsOf: $0) }, patch: nil), modified: Date())
        try outerZip.add(name: "git_metadata.txt", bytes: Array("Commit: 0123456789abcdef0123456789abcdef01234567\n".utf8))
        let crc = inner.withUnsafeBytes { Deflate.compress($0, level: 0).crc }
        try inner.withUnsafeBytes { try outerZip.add(name: "repository.zip", mode: 0o100644, method: .stored, crc: crc, uncompressed: UInt64(inner.count), data: $0) }
        try outerZip.finish()
        try Data(outer).write(to: URL(fileURLWithPath: path))
    }

    @Test("path traversal, absolute names and files below a link are refused; nothing is written", arguments: [
        [("ok.txt", UInt32(0o100644), "fine"), ("../escaped.txt", 0o100644, "evil")],
        [("ok.txt", 0o100644, "fine"), ("/tmp/cdb-absolute-evil.txt", 0o100644, "evil")],
        [("link", 0o120777, "/etc"), ("link/passwd", 0o100644, "evil")],
        [("a/b/../../../escaped.txt", 0o100644, "evil")],
    ])
    func hostile(_ entries: [(String, UInt32, String)]) throws {
        let base = try Harness.temporaryDirectory("hostile")
        defer { Harness.remove(base) }
        try hostileSnapshot(base + "/claire_repo_2025-01-01_0000_0123456.zip", entries)
        let out = try Harness.cdb("cdb-restore", [base + "/claire_repo_2025-01-01_0000_0123456.zip", base + "/dir"])
        #expect(out.status == 65, "\(out.stderr)")
        #expect(out.stderr.contains("refusing entry"), "\(out.stderr)")
        #expect(!FileManager.default.fileExists(atPath: base + "/escaped.txt"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/cdb-absolute-evil.txt"))
        #expect(Harness.files(in: base + "/dir").isEmpty, "nothing written inside either")
    }
}
