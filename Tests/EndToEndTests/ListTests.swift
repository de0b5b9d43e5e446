import CDBKit
import Foundation
import Testing

/// cdb-list: what is there, newest first by the time in the name, increments under their base.
@Suite("cdb-list shows the backups")
struct ListTests {
    static func stamp(daysAgo: Int, _ time: String) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: Date().addingTimeInterval(-Double(daysAgo) * 86_400)) + "_" + time
    }

    /// A root with dumps, a full snapshot and its increment, an encrypted dump, a file without a
    /// sidecar and foreign files.
    static func root() throws -> String {
        let root = try Harness.temporaryDirectory("cdb-list")
        for folder in ["PostgreSQL", "Repository"] { try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true) }
        func put(_ relative: String, size: Int, sidecar: Bool = true) throws {
            try Data(repeating: 7, count: size).write(to: URL(fileURLWithPath: root + "/" + relative))
            if sidecar { try "x  y\n".write(toFile: root + "/" + relative + ".sha256", atomically: false, encoding: .utf8) }
        }
        // Bytewise "…_0337.sql" sorts after "…_033745.sql", but 03:37:45 is the newer.
        try put("PostgreSQL/cdb_backup_\(stamp(daysAgo: 0, "0337")).sql", size: 100)
        try put("PostgreSQL/cdb_backup_\(stamp(daysAgo: 0, "033745")).sql", size: 200)
        try put("PostgreSQL/cdb_backup_\(stamp(daysAgo: 3, "1200")).sql.zst.age", size: 300)
        try put("PostgreSQL/cdb_backup_\(stamp(daysAgo: 9, "1200")).sql", size: 400, sidecar: false)
        try put("Repository/claire_repo_\(stamp(daysAgo: 1, "0900"))_aaaaaaa.zip", size: 500)
        try put("Repository/claire_repo_\(stamp(daysAgo: 1, "1000"))_bbbbbbb.zip", size: 600)
        try put("Repository/claire_repo_\(stamp(daysAgo: 0, "0800"))_ccccccc.inc-aaaaaaa.zip", size: 50)
        try "mine".write(toFile: root + "/PostgreSQL/notes.txt", atomically: false, encoding: .utf8)
        return root
    }

    @Test("60 days of both kinds, encrypted and not: newest first, ages, JSON; --latest picks by the parsed time across seconds and counter variants")
    func sixtyDays() throws {
        let root = try Harness.temporaryDirectory("cdb-list-60")
        defer { Harness.remove(root) }
        for folder in ["PostgreSQL", "Repository"] { try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true) }
        func put(_ relative: String) throws {
            try Data(repeating: 1, count: 64).write(to: URL(fileURLWithPath: root + "/" + relative))
            try "x  y\n".write(toFile: root + "/" + relative + ".sha256", atomically: false, encoding: .utf8)
        }
        var expected: [(name: String, days: Int, encrypted: Bool)] = []
        for day in 1..<60 {
            let dump = "cdb_backup_\(Self.stamp(daysAgo: day, "0900")).sql" + (day % 2 == 0 ? ".zst.age" : "")
            let snap = "claire_repo_\(Self.stamp(daysAgo: day, "1800"))_\(String(format: "%07x", day)).zip" + (day % 3 == 0 ? ".age" : "")
            try put("PostgreSQL/" + dump)
            try put("Repository/" + snap)
            expected += [(dump, day, day % 2 == 0), (snap, day, day % 3 == 0)]
        }
        // Today, a few minutes ago: a minute-only name, one with seconds, and its counter variant
        // (bytewise, "_0001.sql" sorts after "_000130_2.sql"; by time the counter one is newest).
        let now = Date().addingTimeInterval(-300)
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd_HHmm"
        let minute = f.string(from: now)
        for name in ["cdb_backup_\(minute).sql", "cdb_backup_\(minute)30.sql", "cdb_backup_\(minute)30_2.sql"] { try put("PostgreSQL/" + name) }
        try put("Repository/claire_repo_\(minute)_abcdef0.zip")

        let out = try Harness.cdb("cdb-list", ["--backup-root", root, "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let objects = try out.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.count == 59 * 2 + 4, "\(objects.count)")
        let names = objects.map { $0["name"] as? String ?? "" }
        #expect(names.first == "cdb_backup_\(minute)30_2.sql", "\(names.prefix(4))")
        #expect(Array(names.prefix(4)).sorted() == ["cdb_backup_\(minute).sql", "cdb_backup_\(minute)30.sql", "cdb_backup_\(minute)30_2.sql",
                                                     "claire_repo_\(minute)_abcdef0.zip"].sorted())
        let dumps = names.prefix(4).filter { $0.hasPrefix("cdb_") }
        #expect(dumps == ["cdb_backup_\(minute)30_2.sql", "cdb_backup_\(minute)30.sql", "cdb_backup_\(minute).sql"], "\(names.prefix(4))")
        // Older ones: each day's snapshot (18:00) above its dump (09:00), day after day.
        let order = expected.sorted { ($0.days, $0.name.hasPrefix("claire") ? 0 : 1) < ($1.days, $1.name.hasPrefix("claire") ? 0 : 1) }
        #expect(Array(names.dropFirst(4)) == order.map(\.name), "\(names.dropFirst(4).prefix(6))")
        let times = objects.compactMap { $0["age_seconds"] as? Int }
        #expect(times.count == objects.count && zip(times, times.dropFirst()).allSatisfy { $0 <= $1 }, "ages grow down the list")
        for (object, want) in zip(objects.dropFirst(4), order) {
            let age = Double(object["age_seconds"] as? Int ?? 0) / 86_400
            #expect(age > Double(want.days) - 1.5 && age < Double(want.days) + 1.5, "\(want.name): \(age) days")
            #expect(object["encrypted"] as? Bool == want.encrypted && object["kind"] as? String == (want.name.hasPrefix("cdb") ? "db" : "repo"))
        }
        let text = try Harness.cdb("cdb-list", ["--backup-root", root, "--since", "30d"])
        let recent = text.stdout.split(separator: "\n").count
        #expect((29 * 2 + 4...30 * 2 + 4).contains(recent), "\(recent) lines since 30 days")  // day 30: by the time of day

        // --latest everywhere picks the same, by the parsed time.
        let verify = try Harness.cdb("cdb-verify", ["--backup-root", root, "--latest", "--json"])
        let checked = verify.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(checked.compactMap { ($0["path"] as? String).map { ($0 as NSString).lastPathComponent } }.sorted()
                == ["cdb_backup_\(minute)30_2.sql", "claire_repo_\(minute)_abcdef0.zip"], "\(verify.stdout)")
        let restore = try Harness.cdb("cdb-restore", ["--backup-root", root, "--check", "--latest"])
        #expect(restore.stderr.contains("the newest dump: cdb_backup_\(minute)30_2.sql"), "\(restore.stderr)")
    }

    @Test("--copies: which destinations hold each backup (with its sidecar, encrypted or not); a destination that cannot be listed is 69, the rest still shown")
    func copiesColumn() throws {
        let root = try Self.root()
        let usb = try Harness.temporaryDirectory("usb")
        let other = try Harness.temporaryDirectory("other")
        defer { Harness.remove(root); Harness.remove(usb); Harness.remove(other) }
        let dump = "cdb_backup_\(Self.stamp(daysAgo: 0, "033745")).sql"
        let snap = "claire_repo_\(Self.stamp(daysAgo: 1, "0900"))_aaaaaaa.zip"
        for folder in ["PostgreSQL", "Repository"] {
            for place in [usb, other] { try FileManager.default.createDirectory(atPath: place + "/" + folder, withIntermediateDirectories: true) }
        }
        for file in ["PostgreSQL/\(dump).age", "PostgreSQL/\(dump).age.sha256", "Repository/\(snap)", "Repository/\(snap).sha256"] {
            try "x".write(toFile: usb + "/" + file, atomically: false, encoding: .utf8)
        }
        // At the other destination the dump lacks its sidecar: not a copy yet.
        try "x".write(toFile: other + "/PostgreSQL/\(dump).age", atomically: false, encoding: .utf8)
        let config = root + "/config/cdb"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        try "CDB_COPY_TO=\(usb) \(other)\n".write(toFile: config + "/config", atomically: false, encoding: .utf8)
        let env: [String: String?] = ["XDG_CONFIG_HOME": root + "/config"]
        let out = try Harness.cdb("cdb-list", ["--backup-root", root, "--copies"], environment: env)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first { $0.contains(dump) }?.hasSuffix("[copies: \(usb)]") == true, "\(out.stdout)")
        #expect(lines.first { $0.contains(snap) }?.hasSuffix("[copies: \(usb)]") == true, "\(out.stdout)")
        #expect(lines.filter { $0.hasSuffix("[copies: none]") }.count == lines.count - 2, "\(out.stdout)")
        let json = try Harness.cdb("cdb-list", ["--backup-root", root, "--copies", "--json", "--kind", "db"], environment: env)
        let first = try JSONSerialization.jsonObject(with: Data(json.stdout.split(separator: "\n")[0].utf8)) as! [String: Any]
        #expect(first["name"] as? String == dump && first["copies"] as? [String] == [usb], "\(json.stdout)")
        // Without --copies no column and no listing; with a destination gone, 69 and the rest shown.
        #expect(try !Harness.cdb("cdb-list", ["--backup-root", root], environment: env).stdout.contains("[copies:"))
        let gone = try Harness.cdb("cdb-list", ["--backup-root", root, "--copies-at", usb, "--copies-at", root + "/unplugged"], environment: env)
        #expect(gone.status == 69 && gone.stderr.contains("unplugged") && gone.stdout.contains("[copies: \(usb)]"), "\(gone.stderr)")
    }

    @Test("newest first by the time in the name; an increment under its base; --kind, --since, --json; nothing found is exit 0")
    func lists() throws {
        let root = try Self.root()
        defer { Harness.remove(root) }
        let out = try Harness.cdb("cdb-list", ["--backup-root", root])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        let names = lines.map { String($0.split(separator: " ").last!) }
        #expect(lines.count == 7, "\(out.stdout)")
        #expect(names.first?.hasSuffix("_033745.sql") == true, "03:37:45 is newer than 03:37: \(out.stdout)")
        // The increment (made today) sits right under its base (yesterday 09:00), not at the top.
        let base = try #require(names.firstIndex { $0.hasSuffix("_aaaaaaa.zip") })
        #expect(names.indices.contains(base + 1) && names[base + 1].contains(".inc-aaaaaaa"), "\(out.stdout)")
        #expect(lines[base + 1].hasPrefix("  inc"), "\(lines[base + 1])")
        #expect(lines.contains { $0.contains(".sql.zst.age") && $0.contains(" age ") })
        #expect(lines.contains { $0.contains("(no sidecar)") })
        #expect(!out.stdout.contains("notes.txt"))

        let dbs = try Harness.cdb("cdb-list", ["--backup-root", root, "--kind", "db", "--since", "5d", "--json"])
        let objects = try dbs.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.count == 3 && objects.allSatisfy { $0["kind"] as? String == "db" }, "\(dbs.stdout)")
        #expect(objects.first?["bytes"] as? Int == 200 && objects.contains { $0["encrypted"] as? Bool == true })

        let empty = try Harness.cdb("cdb-list", ["--backup-root", root + "/nothing"])
        #expect(empty.status == 0 && empty.stdout.isEmpty && empty.stderr.contains("no backups"), "\(empty.stderr)")
        let bad = try Harness.cdb("cdb-list", ["--backup-root", root, "--since", "yesterday"])
        #expect(bad.status == 64, "\(bad.stderr)")
    }

    @Test("a restore check is recorded (check_log.txt) and cdb-list shows each dump's last result, OK or FAILED")
    func checkRecords() throws {
        let source = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-list-check")
        defer { PG.dropDatabase(source); Harness.remove(root) }
        let dumped = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "--dbname", source])
        #expect(dumped.status == 0, "\(dumped.stderr)")
        let dump = dumped.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let check = try Harness.cdb("cdb-restore", ["--backup-root", root, "--check", "--latest"])
        #expect(check.status == 0, "\(check.stderr)")
        var listed = try Harness.cdb("cdb-list", ["--backup-root", root, "--kind", "db"])
        #expect(listed.stdout.contains("[restore check OK 0 min ago]"), "\(listed.stdout)")
        let verified = try Harness.cdb("cdb-verify", ["--backup-root", root, "--latest"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let log = try String(contentsOfFile: root + "/check_log.txt", encoding: .utf8)
        #expect(log.contains("Restore check OK") && log.contains("Dump: " + Path.name(of: dump)) && log.contains("Rows: "), "\(log)")
        #expect(log.contains("Verify OK") && log.contains("File: " + dump), "cdb-verify records its checks too: \(log)")
        listed = try Harness.cdb("cdb-list", ["--backup-root", root, "--kind", "db"])
        #expect(listed.stdout.contains("[restore check OK 0 min ago]"), "a verify entry is not a restore check: \(listed.stdout)")
        // A damaged dump: the check fails, and that is what the list shows now.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dump))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: dump))
        let failed = try Harness.cdb("cdb-restore", ["--backup-root", root, "--check", "--latest"])
        #expect(failed.status != 0)
        listed = try Harness.cdb("cdb-list", ["--backup-root", root, "--kind", "db", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
        let checked = object?["checked"] as? [String: Any]
        #expect(checked?["ok"] as? Bool == false, "\(listed.stdout)")
    }

    @Test("hostile names in the root: escape sequences and newlines never reach the terminal raw, a link named like a backup is not listed")
    func hostileNames() throws {
        let root = try Self.root()
        defer { Harness.remove(root) }
        let stamp = Self.stamp(daysAgo: 0, "0100")
        for name in ["cdb_backup_\(stamp).sql\u{1B}[2J", "cdb_backup_\(stamp)\nclaire_repo_x.sql", "\u{1B}]0;owned\u{07}cdb_backup_\(stamp).sql"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/PostgreSQL/" + name))
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/PostgreSQL/cdb_backup_\(Self.stamp(daysAgo: 0, "0200")).sql", withDestinationPath: "/etc/passwd")
        for arguments in [["--backup-root", root], ["--backup-root", root, "--json"]] {
            let out = try Harness.cdb("cdb-list", arguments)
            #expect(out.status == 0, "\(out.stderr)")
            #expect(!out.stdout.contains("\u{1B}") && !out.stdout.contains("\u{07}"), "raw control characters: \(out.stdout.debugDescription)")
            #expect(out.stdout.split(separator: "\n").count == 7, "one line per real backup: \(out.stdout)")
            #expect(!out.stdout.contains("_0200.sql"), "a link is not a backup")
        }
    }

    @Test("--from DEST lists a copy destination")
    func fromDestination() throws {
        let root = try Self.root()
        defer { Harness.remove(root) }
        let out = try Harness.cdb("cdb-list", ["--from", root, "--kind", "repo"], environment: ["CDB_BACKUP_ROOT": "/nonexistent"])
        #expect(out.status == 0 && out.stdout.split(separator: "\n").count == 3, "\(out.stdout)\(out.stderr)")
        let missing = try Harness.cdb("cdb-list", ["--from", root + "/unplugged"])
        #expect(missing.status == 69, "\(missing.stderr)")
    }
}
