import Foundation
import Testing

/// Promises that one-line mutations of the code once broke without any test noticing; each test
/// here fails on its mutation (scripts/mutants.sh applies them).
@Suite("promises a mutation would break", .enabled(if: PG.enabled), .serialized)
struct PromiseTests {
    func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test("cdb-pg-dump and cdb-repo-snap take the backup root's lock: with prune holding it, exit 75 and nothing written")
    func writersTakeTheLock() throws {
        let database = try PG.tradingDatabase()
        let repo = try TestRepo()
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); repo.remove(); Harness.remove(root) }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        let holder = try holdRootLock(root, shared: false, seconds: 60)
        defer { holder.terminate(); holder.waitUntilExit() }
        let dump = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", database, "--lock-wait", "1"])
        #expect(dump.status == 75 && dump.stderr.contains(".lock"), "\(dump.stderr)")
        let snap = try Harness.cdb("cdb-repo-snap", ["--backup-root", root, "--lock-wait", "1"], directory: repo.path)
        #expect(snap.status == 75 && snap.stderr.contains(".lock"), "\(snap.stderr)")
        #expect(Harness.files(in: root + "/PostgreSQL").filter { !$0.hasPrefix("backup_log") }.isEmpty)
        #expect(Harness.files(in: root + "/Repository").filter { !$0.hasPrefix("backup_log") }.isEmpty)
    }

    @Test("every file cdb writes is 0600 and every folder it makes 0700")
    func modes() throws {
        let f = try SessionFixture()
        defer { f.remove() }
        let out = try Harness.cdb("cdb-pre-session", [], environment: f.environment, directory: f.repo.path)
        #expect(out.status == 0, "\(out.stderr)")
        for folder in ["/PostgreSQL", "/Repository"] { #expect(mode(f.root + folder) == 0o700, "\(folder)") }
        for folder in ["PostgreSQL", "Repository"] {
            for name in Harness.files(in: f.root + "/" + folder) {
                #expect(mode(f.root + "/" + folder + "/" + name) == 0o600, "\(folder)/\(name) is \(String(mode(f.root + "/" + folder + "/" + name), radix: 8))")
            }
        }
    }

    @Test("--check compares the restored rows with the dump's: a trigger that drops rows on the way in fails it")
    func checkComparesRows() throws {
        let database = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); Harness.remove(root) }
        let path = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", database]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // Before the data: a trigger that keeps only even ids of portfolio_snapshots (nothing refers to it).
        let trigger = """
            CREATE FUNCTION public.drop_odd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id % 2 = 1 THEN RETURN NULL; END IF; RETURN NEW; END $$;
            CREATE TRIGGER drop_odd BEFORE INSERT ON public.portfolio_snapshots FOR EACH ROW EXECUTE FUNCTION public.drop_odd();

            """
        let lossy = root + "/lossy.sql"
        try text.replacingOccurrences(of: "--\n-- Data for Name: ", with: trigger + "--\n-- Data for Name: ", options: [], range: text.range(of: "--\n-- Data for Name: "))
            .write(toFile: lossy, atomically: false, encoding: .utf8)
        let check = try Harness.cdb("cdb-restore", ["--check", lossy])
        #expect(check.status == 65 && check.stderr.contains("public.portfolio_snapshots:") && check.stderr.contains("rows restored, the dump holds"), "\(check.stderr)")
        #expect(!check.stderr.contains("OK:"))
    }

    @Test("cdb-verify checks the required tables and the banner")
    func verifyChecksTablesAndBanner() throws {
        let database = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); Harness.remove(root) }
        let path = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", database]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let missing = try Harness.cdb("cdb-verify", ["--require-table", "audit_log", path])
        #expect(missing.status == 65 && missing.stderr.contains("required table missing: audit_log"), "\(missing.stderr)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let bannerless = root + "/PostgreSQL/cdb_backup_2020-01-01_0000.sql"
        try text.replacingOccurrences(of: "-- PostgreSQL database dump\n", with: "-- something else\n").write(toFile: bannerless, atomically: false, encoding: .utf8)
        try "\(try Harness.sha256(bannerless))  cdb_backup_2020-01-01_0000.sql\n".write(toFile: bannerless + ".sha256", atomically: false, encoding: .utf8)
        let banner = try Harness.cdb("cdb-verify", [bannerless])
        #expect(banner.status == 65 && banner.stderr.contains("banner"), "\(banner.stderr)")
    }

    @Test("cdb-verify --latest takes the newest backup by the time in its name")
    func latestIsNewest() throws {
        let database = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); Harness.remove(root) }
        let path = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", database]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let folder = root + "/PostgreSQL"
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        unlink(path); unlink(path + ".sha256")
        // An older good one, a newer damaged one (its sidecar does not match), named so that
        // byte order would put them the other way round.
        for (name, data) in [("cdb_backup_2025-01-02_033745.sql", good), ("cdb_backup_2025-01-02_0338.sql", good + Data("x".utf8))] {
            try data.write(to: URL(fileURLWithPath: folder + "/" + name))
            try "\(Harness.sha256Bytes(good))  \(name)\n".write(toFile: folder + "/" + name + ".sha256", atomically: false, encoding: .utf8)
        }
        let out = try Harness.cdb("cdb-verify", ["--latest", "--backup-root", root])
        #expect(out.status == 65 && out.stderr.contains("cdb_backup_2025-01-02_0338.sql"), "\(out.stderr)")
    }

    @Test("cdb-pre-session prunes old backups, and CDB_SESSION_INTERVAL skips a run soon after the last")
    func preSessionPrunesAndSkips() throws {
        let f = try SessionFixture()
        defer { f.remove() }
        let folder = f.root + "/PostgreSQL"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let old = "cdb_backup_2020-01-01_0000.sql"
        try "-- old\n".write(toFile: folder + "/" + old, atomically: false, encoding: .utf8)
        let first = try Harness.cdb("cdb-pre-session", [], environment: f.environment.merging(["CDB_SESSION_INTERVAL": "60", "CDB_KEEP_LAST": "1"]) { $1 }, directory: f.repo.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/" + old), "the old backup should be pruned")
        #expect(first.stderr.contains("Retention: deleted 1 old backup"), "\(first.stderr)")
        let dumps = f.dumps.count
        let second = try Harness.cdb("cdb-pre-session", [], environment: f.environment.merging(["CDB_SESSION_INTERVAL": "60", "CDB_KEEP_LAST": "1"]) { $1 }, directory: f.repo.path)
        #expect(second.status == 0 && second.stderr.contains("skipping"), "\(second.stderr)")
        #expect(f.dumps.count == dumps, "a skipped run writes nothing")
        let third = try Harness.cdb("cdb-pre-session", [], environment: f.environment.merging(["CDB_SESSION_INTERVAL": "0"]) { $1 }, directory: f.repo.path)
        #expect(third.status == 0 && !third.stderr.contains("skipping"))
    }

    @Test("a restored snapshot holds the snapshot's own git_metadata.txt, byte for byte")
    func restoreWritesMetadata() throws {
        let repo = try TestRepo()
        let base = try Harness.temporaryDirectory("meta")
        defer { repo.remove(); Harness.remove(base) }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        let zip = try Harness.cdb("cdb-repo-snap", ["--backup-root", base + "/root"], directory: repo.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let restored = try Harness.cdb("cdb-restore", [zip, base + "/out"])
        #expect(restored.status == 0, "\(restored.stderr)")
        let expected = try Harness.run("unzip", ["-p", zip, "git_metadata.txt"]).stdoutData
        #expect(!expected.isEmpty && (try? Data(contentsOf: URL(fileURLWithPath: base + "/out/git_metadata.txt"))) == expected)
    }

    @Test("a password that libpq quotes back in its message is redacted there")
    func redactionEndToEnd() throws {
        let secret = "Sec%ZZret\(UUID().uuidString.prefix(4))"
        let out = try Harness.cdb("cdb-pg-dump", ["-d", "postgresql://trader:\(secret)@localhost/db"])
        #expect(out.status == 78, "\(out.stderr)")
        #expect(out.stderr.contains("invalid percent-encoded token"), "the message is kept: \(out.stderr)")
        #expect(!out.stderr.contains(secret), "\(out.stderr)")
    }
}
