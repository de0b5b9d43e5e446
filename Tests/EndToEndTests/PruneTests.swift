import Foundation
import Testing

/// cdb-prune on a real folder of about 100 backups over 60 days, with foreign files, links,
/// sidecars without backups and backups without sidecars.
@Suite("cdb-prune deletes only what the policy says", .serialized)
struct PruneTests {
    static let tz = "Europe/Berlin"
    static let now = "2025-11-25T12:00:00+01:00"

    static var berlin: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: tz)!
        return c
    }

    struct Fixture {
        let root: String
        let outside: String
        /// Backup file names (both folders) with their local time.
        var backups: [(folder: String, name: String, date: Date)] = []

        init() throws {
            root = try Harness.temporaryDirectory("cdb-prune")
            outside = try Harness.temporaryDirectory("cdb-outside")
            let pg = root + "/PostgreSQL", repo = root + "/Repository"
            try FileManager.default.createDirectory(atPath: pg, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
            let now = ISO8601DateFormatter().date(from: PruneTests.now)!
            let cal = PruneTests.berlin
            func stamp(_ d: Date, seconds: Bool = false) -> String {
                let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: d)
                var s = String(format: "%04d-%02d-%02d_%02d%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!)
                if seconds { s += String(format: "%02d", c.second!) }
                return s
            }
            // 60 daily database dumps at 22:27, a few compressed, two in one minute on day 3.
            for day in 0..<60 {
                let d = cal.date(byAdding: .day, value: -day, to: cal.date(bySettingHour: 22, minute: 27, second: 0, of: now)!)!
                if d > now { continue }
                let suffix = day % 7 == 0 ? ".sql.zst" : (day % 11 == 0 ? ".sql.gz" : ".sql")
                backups.append((pg, "cdb_backup_\(stamp(d))\(suffix)", d))
                if day == 3 {
                    let later = d.addingTimeInterval(15)
                    backups.append((pg, "cdb_backup_\(stamp(later, seconds: true)).sql", later))
                }
            }
            // About 40 repository snapshots every 1.5 days.
            for i in 0..<40 {
                let d = now.addingTimeInterval(-Double(i) * 36 * 3600 - 600)
                backups.append((repo, "claire_repo_\(stamp(d))_\(String(format: "%07x", 0xabc000 + i)).zip", d))
            }
            for (index, b) in backups.enumerated() {
                let path = b.folder + "/" + b.name
                try "backup \(b.name)\n".write(toFile: path, atomically: false, encoding: .utf8)
                if index % 17 != 5 {  // a few backups have no sidecar
                    try "0000  \(b.name)\n".write(toFile: path + ".sha256", atomically: false, encoding: .utf8)
                }
            }
            // Orphan sidecars, foreign files, links, leftovers of crashed runs.
            try "x  cdb_backup_2025-01-01_0101.sql\n".write(toFile: pg + "/cdb_backup_2025-01-01_0101.sql.sha256", atomically: false, encoding: .utf8)
            try "x\n".write(toFile: repo + "/claire_repo_2025-11-24_1000_abcdef0.zip.sha256", atomically: false, encoding: .utf8)
            for foreign in ["notes.txt", "cdb_backup_garbage.sql", "claire_repo_2025-01-01_1200_XYZ.zip", "cdb_backup_2025-01-01_0101.sql.bak"] {
                try "keep me\n".write(toFile: pg + "/" + foreign, atomically: false, encoding: .utf8)
            }
            try "precious\n".write(toFile: outside + "/target.sql", atomically: false, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: pg + "/cdb_backup_2025-01-02_0101.sql", withDestinationPath: outside + "/target.sql")
            try FileManager.default.createSymbolicLink(atPath: pg + "/cdb_backup_2025-01-03_0101.sql.sha256", withDestinationPath: outside + "/target.sql")
            // An old one goes by its age alone, even with a live pid in its name (this process's:
            // a pid reused by another program, or another machine's run).
            try "partial\n".write(toFile: pg + "/.cdb-tmp-\(getpid())-old-cdb_backup.sql", atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3 * 86_400)],
                                                  ofItemAtPath: pg + "/.cdb-tmp-\(getpid())-old-cdb_backup.sql")
            // A recent one of a live process (this one) is a run in progress: left alone.
            try "partial\n".write(toFile: pg + "/.cdb-tmp-\(getpid())-new-cdb_backup.sql", atomically: false, encoding: .utf8)
        }

        /// Every file name under the root with its content digest.
        func snapshot() throws -> [String: String] {
            var result: [String: String] = [:]
            for folder in ["PostgreSQL", "Repository"] {
                for name in Harness.files(in: root + "/" + folder) {
                    let path = root + "/" + folder + "/" + name
                    let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: path)
                    result[folder + "/" + name] = dest.map { "link:" + $0 } ?? (try? String(contentsOfFile: path, encoding: .utf8)) ?? "?"
                }
            }
            return result
        }

        func remove() { Harness.remove(root); Harness.remove(outside) }
    }

    func prune(_ fixture: Fixture, _ args: [String]) throws -> Harness.Output {
        try Harness.cdb("cdb-prune", ["--backup-root", fixture.root, "--now", Self.now] + args, environment: ["TZ": Self.tz])
    }

    @Test("the default policy deletes what is older than 14 calendar days, with sidecars, and nothing else")
    func defaultPolicy() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let before = try fixture.snapshot()
        #expect(fixture.backups.count >= 95)

        let dry = try prune(fixture, ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(try fixture.snapshot() == before, "--dry-run changed the folder")
        #expect(dry.stderr.contains("dry run, nothing was deleted"))

        let real = try prune(fixture, [])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stdout == dry.stdout, "the dry run should list exactly what the real run deletes")

        let now = ISO8601DateFormatter().date(from: Self.now)!
        let cutoff = Self.berlin.date(byAdding: .day, value: -14, to: now)!
        let after = try fixture.snapshot()
        var expectedDeleted: [String] = []
        for b in fixture.backups {
            let key = (b.folder as NSString).lastPathComponent + "/" + b.name
            let shouldKeep = b.date >= cutoff
            #expect((after[key] != nil) == shouldKeep, "\(key) (\(b.date)) should be \(shouldKeep ? "kept" : "deleted")")
            if !shouldKeep {
                expectedDeleted.append(b.folder + "/" + b.name)
                if before[key + ".sha256"] != nil { expectedDeleted.append(b.folder + "/" + b.name + ".sha256") }
            }
            if after[key] != nil, before[key + ".sha256"] != nil { #expect(after[key + ".sha256"] != nil, "sidecar of a kept backup") }
            if after[key] == nil { #expect(after[key + ".sha256"] == nil, "sidecar of a deleted backup") }
        }
        // Foreign files, links and their targets, recent temporary files: untouched.
        for key in ["PostgreSQL/notes.txt", "PostgreSQL/cdb_backup_garbage.sql", "PostgreSQL/claire_repo_2025-01-01_1200_XYZ.zip",
                    "PostgreSQL/cdb_backup_2025-01-01_0101.sql.bak", "PostgreSQL/cdb_backup_2025-01-02_0101.sql",
                    "PostgreSQL/cdb_backup_2025-01-03_0101.sql.sha256", "PostgreSQL/.cdb-tmp-\(getpid())-new-cdb_backup.sql"] {
            #expect(after[key] == before[key], "\(key) must be left alone")
        }
        #expect(try String(contentsOfFile: fixture.outside + "/target.sql", encoding: .utf8) == "precious\n")
        // Orphan sidecars and old leftovers go.
        #expect(after["PostgreSQL/cdb_backup_2025-01-01_0101.sql.sha256"] == nil)
        #expect(after["Repository/claire_repo_2025-11-24_1000_abcdef0.zip.sha256"] == nil)
        #expect(after["PostgreSQL/.cdb-tmp-\(getpid())-old-cdb_backup.sql"] == nil)
        let listed = Set(real.stdout.split(separator: "\n").map(String.init))
        #expect(Set(expectedDeleted).isSubset(of: listed))
        #expect(listed.count == expectedDeleted.count + 3, "plus two orphan sidecars and one leftover: \(listed.subtracting(expectedDeleted))")
        #expect(real.stderr.contains("kept ") && real.stderr.contains("freed"))
        let log = try String(contentsOfFile: fixture.root + "/PostgreSQL/backup_log.txt", encoding: .utf8)
        #expect(log.contains("Retention: deleted \(fixture.backups.filter { $0.folder.hasSuffix("PostgreSQL") && $0.date < cutoff }.count) old backups"))

        // A second run finds nothing more to do.
        let again = try prune(fixture, [])
        #expect(again.status == 0 && again.stdout.isEmpty)
    }

    @Test("--json names the rule that decided each backup")
    func json() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let out = try prune(fixture, ["--dry-run", "--json", "--keep-weekly", "8", "--keep-monthly", "3"])
        #expect(out.status == 0, "\(out.stderr)")
        let objects = out.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.count == out.stdout.split(separator: "\n").count, "every line is one JSON object")
        let rules = Set(objects.compactMap { $0["rule"] as? String })
        for rule in ["retention", "keep-weekly", "keep-monthly", "expired", "orphan sidecar"] {
            #expect(rules.contains(rule), "no \(rule) in \(rules)")
        }
        let expired = objects.filter { $0["rule"] as? String == "expired" && $0["kind"] as? String == "db" }
        #expect(!expired.isEmpty && expired.allSatisfy { $0["action"] as? String == "would-delete" })
        #expect(objects.filter { $0["kind"] as? String == "foreign" }.allSatisfy { $0["action"] as? String == "ignored" })
    }

    @Test("when every backup is old, the newest three of each kind stay")
    func keepLastFloor() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let out = try Harness.cdb("cdb-prune", ["--backup-root", fixture.root, "--now", "2027-01-01T00:00:00+01:00"], environment: ["TZ": Self.tz])
        #expect(out.status == 0, "\(out.stderr)")
        let after = try fixture.snapshot()
        for (folder, kind) in [("PostgreSQL", "cdb_backup_"), ("Repository", "claire_repo_")] {
            let newest = fixture.backups.filter { $0.folder.hasSuffix(folder) }.sorted { $0.date > $1.date }.prefix(3).map { folder + "/" + $0.name }
            let left = after.keys.filter { $0.hasPrefix(folder + "/" + kind) && !$0.hasSuffix(".sha256") && after[$0]?.hasPrefix("backup") == true }
            #expect(Set(left) == Set(newest), "\(folder): \(left.sorted())")
        }
    }

    @Test("refuses a policy that keeps nothing, negative numbers, / and $HOME as the root")
    func refusals() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let before = try fixture.snapshot()
        let nothing = try prune(fixture, ["--keep-last", "0", "--retention-days", "0"])
        #expect(nothing.status == 64 && nothing.stderr.contains("keeps nothing"), "\(nothing.stderr)")
        let negative = try prune(fixture, ["--retention-days", "-3"])
        #expect(negative.status == 64, "\(negative.stderr)")
        let slash = try Harness.cdb("cdb-prune", ["--backup-root", "/"])
        #expect(slash.status == 78 && slash.stderr.contains("refusing"), "\(slash.stderr)")
        let home = try Harness.cdb("cdb-prune", ["--backup-root", fixture.root], environment: ["HOME": fixture.root])
        #expect(home.status == 78 && home.stderr.contains("home folder"), "\(home.stderr)")
        let envNegative = try Harness.cdb("cdb-prune", ["--backup-root", fixture.root], environment: ["CDB_KEEP_LAST": "-1"])
        #expect(envNegative.status == 78 && envNegative.stderr.contains("CDB_KEEP_LAST"), "a bad setting is a configuration error: \(envNegative.stderr)")
        #expect(try fixture.snapshot() == before)
    }

    @Test("waits for the backup root's lock, then exits 75 naming the holder, deleting nothing")
    func lockHeld() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let before = try fixture.snapshot()
        // A writer (cdb-pg-dump takes the lock shared) holds the root while prune wants it alone.
        let holder = try holdRootLock(fixture.root, shared: true, seconds: 2)
        defer { holder.terminate(); holder.waitUntilExit() }
        let out = try prune(fixture, ["--lock-wait", "1"])
        #expect(out.status == 75, "\(out.stderr)")
        #expect(out.stderr.contains("another cdb run holds"), "\(out.stderr)")
        #expect(try fixture.snapshot() == before)
    }
}
