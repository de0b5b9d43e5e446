import Foundation
import Testing
@testable import CDBKit

@Suite("retention")
struct RetentionTests {
    static let berlin: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "Europe/Berlin")!
        return c
    }()

    static func date(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 12, _ mi: Int = 0) -> Date {
        berlin.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi))!
    }

    static func backup(_ date: Date, _ kind: BackupName.Kind = .postgres) -> (BackupName, Date) {
        (BackupName(name: "b\(date.timeIntervalSince1970)", kind: kind, stamp: date, order: 1, encrypted: false), date)
    }

    func kept(_ policy: RetentionPolicy, _ dates: [Date], now: Date) -> [Date: RetentionPolicy.Rule] {
        var result: [Date: RetentionPolicy.Rule] = [:]
        for d in policy.plan(dates.map { Self.backup($0) }, now: now, calendar: Self.berlin) { result[d.date] = d.rule }
        return result
    }

    @Test("names of both kinds, every suffix, seconds and counter variants parse; others do not")
    func names() {
        let good = [
            "cdb_backup_2025-11-25_2227.sql", "cdb_backup_2025-11-25_2227.sql.gz", "cdb_backup_2025-11-25_2227.sql.zst",
            "cdb_backup_2025-11-25_222715.sql", "cdb_backup_2025-11-25_222715_2.sql.zst",
            "claire_repo_2025-11-25_2230_0e4fbd3.zip", "claire_repo_2025-11-25_223015_0e4fbd3.zip",
            "claire_repo_2025-11-25_223015_3_0e4fbd3.zip", "claire_repo_2025-11-25_2230.zip", "claire_repo_2025-11-25_2230_1234567.zip",
        ]
        for name in good {
            #expect(BackupName.parse(name)?.encrypted == false, "\(name)")
            // Encrypted (age): the same name plus .age, the same stamp and order.
            let encrypted = BackupName.parse(name + ".age")
            #expect(encrypted?.encrypted == true && encrypted?.stamp == BackupName.parse(name)?.stamp
                    && encrypted?.order == BackupName.parse(name)?.order && encrypted?.kind == BackupName.parse(name)?.kind, "\(name).age")
        }
        let bad = ["cdb_backup_2025-11-25_2227.sql.sha256", "cdb_backup_2025-11-25.sql", "cdb_backup_garbage.sql",
                   "cdb_backup_2025-11-25_2227.sql.age.sha256", "cdb_backup_2025-11-25_2227.age", "cdb_backup_2025-11-25_2227.sql.age.age",
                   "claire_repo_2025-11-25_2230_XYZ.zip", "notes.txt", ".cdb-tmp-1-2-cdb_backup.sql",
                   "cdb_backup_2025-11-25_2227.sql.bak", "xcdb_backup_2025-11-25_2227.sql"]
        for name in bad { #expect(BackupName.parse(name) == nil, "\(name)") }
        let p = BackupName.parse("claire_repo_2025-11-25_223015_3_0e4fbd3.zip")!
        #expect(p.kind == .repository && p.order == 15 * 100_000 + 3)
        let impossible = BackupName.parse("cdb_backup_2025-13-45_2227.sql")
        #expect(impossible != nil && impossible?.stamp == nil, "an impossible date is still our backup, dated by its mtime")
    }

    @Test("backups named in the future are kept but never push out the backup just made")
    func futureNames() {
        let now = Self.date(2025, 11, 25, 22, 30)
        let justMade = Self.date(2025, 11, 25, 22, 30)
        let yesterday = Self.date(2025, 11, 24, 22, 30)
        let future = [Self.date(2099, 1, 1), Self.date(2099, 1, 2), Self.date(2099, 1, 3), Self.date(2025, 11, 25, 23, 0)]
        for policy in [RetentionPolicy(retentionDays: 0, keepLast: 3), RetentionPolicy(retentionDays: 0, keepLast: 1),
                       RetentionPolicy(retentionDays: 0, keepLast: 0, keepDaily: 1)] {
            let rules = kept(policy, future + [justMade, yesterday], now: now)
            #expect(rules[justMade] != .expired, "\(policy): the backup just made went")
            #expect(future.allSatisfy { rules[$0] == .future }, "\(policy): \(rules)")
        }
        // Five minutes of clock difference is not the future.
        let soon = Self.date(2025, 11, 25, 22, 33)
        #expect(kept(RetentionPolicy(retentionDays: 0, keepLast: 1), [soon, justMade], now: now)[soon] == .keepLast)
    }

    @Test("exactly 14 days old is kept; a minute older goes")
    func boundary() {
        let now = Self.date(2025, 6, 20, 12, 0)
        let policy = RetentionPolicy(retentionDays: 14, keepLast: 0)
        let r = kept(policy, [Self.date(2025, 6, 6, 12, 0), Self.date(2025, 6, 6, 11, 59)], now: now)
        #expect(r[Self.date(2025, 6, 6, 12, 0)] == .retention)
        #expect(r[Self.date(2025, 6, 6, 11, 59)] == .expired)
    }

    @Test("retention counts calendar days across a DST change, both ways")
    func dst() {
        let policy = RetentionPolicy(retentionDays: 14, keepLast: 0)
        // Clocks went back on 2025-10-26: 14 calendar days are 14 d 1 h.
        let autumn = kept(policy, [Self.date(2025, 10, 24, 12, 0), Self.date(2025, 10, 24, 11, 59)], now: Self.date(2025, 11, 7, 12, 0))
        #expect(autumn[Self.date(2025, 10, 24, 12, 0)] == .retention)
        #expect(autumn[Self.date(2025, 10, 24, 11, 59)] == .expired)
        // Clocks went forward on 2025-03-30: 14 calendar days are 13 d 23 h.
        let spring = kept(policy, [Self.date(2025, 3, 23, 12, 0), Self.date(2025, 3, 23, 11, 59)], now: Self.date(2025, 4, 6, 12, 0))
        #expect(spring[Self.date(2025, 3, 23, 12, 0)] == .retention)
        #expect(spring[Self.date(2025, 3, 23, 11, 59)] == .expired)
    }

    @Test("keep-last keeps the newest three even when all are older than the retention")
    func keepLastFloor() {
        let dates = (0..<10).map { Self.date(2025, 1, 1 + $0) }
        let r = kept(RetentionPolicy(retentionDays: 14, keepLast: 3), dates, now: Self.date(2025, 6, 1))
        #expect(dates.filter { r[$0] == .keepLast } == Array(dates.suffix(3)))
        #expect(dates.filter { r[$0] == .expired }.count == 7)
    }

    @Test("keep-last counts each kind on its own")
    func perKind() {
        let old = (1...5).map { Self.backup(Self.date(2025, 1, $0), .postgres) } + (1...5).map { Self.backup(Self.date(2025, 1, $0, 13), .repository) }
        let decisions = RetentionPolicy(retentionDays: 1, keepLast: 2).plan(old, now: Self.date(2025, 6, 1), calendar: Self.berlin)
        #expect(decisions.filter { $0.keep && $0.backup.kind == .postgres }.count == 2)
        #expect(decisions.filter { $0.keep && $0.backup.kind == .repository }.count == 2)
    }

    @Test("keep-weekly uses ISO weeks across a year boundary")
    func weeklyYearBoundary() {
        // 2024-12-29 is in ISO week 2024-W52; 2024-12-30 and 2025-01-05 in 2025-W01.
        let dates = [Self.date(2024, 12, 29), Self.date(2024, 12, 30), Self.date(2025, 1, 5)]
        let r = kept(RetentionPolicy(retentionDays: 0, keepLast: 0, keepWeekly: 2), dates, now: Self.date(2025, 3, 1))
        #expect(r[Self.date(2025, 1, 5)] == .weekly)
        #expect(r[Self.date(2024, 12, 29)] == .weekly)
        #expect(r[Self.date(2024, 12, 30)] == .expired)
    }

    @Test("keep-daily and keep-monthly keep the newest of each of the last N periods that have backups")
    func dailyMonthly() {
        let dates = [Self.date(2025, 5, 1, 9), Self.date(2025, 5, 1, 18), Self.date(2025, 5, 3), Self.date(2025, 4, 10), Self.date(2025, 2, 2)]
        let daily = kept(RetentionPolicy(retentionDays: 0, keepLast: 0, keepDaily: 2), dates, now: Self.date(2025, 6, 1))
        #expect(daily[Self.date(2025, 5, 3)] == .daily)
        #expect(daily[Self.date(2025, 5, 1, 18)] == .daily)
        #expect(daily[Self.date(2025, 5, 1, 9)] == .expired)
        #expect(daily[Self.date(2025, 4, 10)] == .expired)
        let monthly = kept(RetentionPolicy(retentionDays: 0, keepLast: 0, keepMonthly: 3), dates, now: Self.date(2025, 6, 1))
        #expect(monthly[Self.date(2025, 5, 3)] == .monthly && monthly[Self.date(2025, 4, 10)] == .monthly && monthly[Self.date(2025, 2, 2)] == .monthly)
        #expect(monthly[Self.date(2025, 5, 1, 18)] == .expired)
    }

    @Test("an increment keeps the full snapshot it builds on (the newest of its base commit before it), not another repository's")
    func incrementKeepsBase() {
        let now = Self.date(2025, 11, 30)
        func named(_ name: String, _ date: Date) -> (BackupName, Date) { (BackupName.parse(name)!, date) }
        let backups = [
            named("claire_repo_2025-10-01_1200_aaaaaaa.zip", Self.date(2025, 10, 1)),          // the base, old
            named("claire_repo_2025-10-02_1200_bbbbbbb.zip", Self.date(2025, 10, 2)),          // another, old
            named("claire_repo_2025-11-29_1200_ccccccc.inc-aaaaaaa.zip", Self.date(2025, 11, 29)),
        ]
        let plan = RetentionPolicy(retentionDays: 14, keepLast: 0).plan(backups, now: now)
        let rule = Dictionary(uniqueKeysWithValues: plan.map { ($0.backup.name, $0.rule) })
        #expect(rule["claire_repo_2025-10-01_1200_aaaaaaa.zip"] == .base)
        #expect(rule["claire_repo_2025-10-02_1200_bbbbbbb.zip"] == .expired)
        #expect(rule["claire_repo_2025-11-29_1200_ccccccc.inc-aaaaaaa.zip"] == .retention)
        // Once the increment expires too, both go.
        let later = RetentionPolicy(retentionDays: 14, keepLast: 0).plan(backups, now: Self.date(2025, 12, 31))
        #expect(later.allSatisfy { !$0.keep })
    }

    @Test("a policy that keeps nothing, or a negative number, is refused")
    func refusals() {
        #expect(throws: CDBError.self) { try RetentionPolicy(retentionDays: 0, keepLast: 0).validate() }
        #expect(throws: CDBError.self) { try RetentionPolicy(retentionDays: -1, keepLast: 3).validate() }
        #expect(throws: Never.self) { try RetentionPolicy(retentionDays: 0, keepLast: 1).validate() }
    }
}
