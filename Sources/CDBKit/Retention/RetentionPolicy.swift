import FoundationEssentials
import Glibc

/// Which backups to keep. A backup is kept when any rule keeps it.
public struct RetentionPolicy: Sendable, Equatable {
    /// Keep backups younger than this many calendar days (local time).
    public var retentionDays: Int
    /// Keep the newest N of each kind, whatever their age.
    public var keepLast: Int
    /// Keep the newest backup of each of the last N days / ISO weeks / months that have one
    /// (as borg and restic count them).
    public var keepDaily = 0
    public var keepWeekly = 0
    public var keepMonthly = 0

    public init(retentionDays: Int, keepLast: Int, keepDaily: Int = 0, keepWeekly: Int = 0, keepMonthly: Int = 0) {
        self.retentionDays = retentionDays
        self.keepLast = keepLast
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
    }

    /// Refuses negative numbers and a policy that keeps nothing.
    public func validate() throws {
        for (flag, value) in [("--retention-days", retentionDays), ("--keep-last", keepLast), ("--keep-daily", keepDaily),
                              ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly)] where value < 0 {
            throw CDBError.usage("\(flag) must be 0 or more, not \(value)")
        }
        if retentionDays == 0 && keepLast == 0 && keepDaily == 0 && keepWeekly == 0 && keepMonthly == 0 {
            throw CDBError.usage("this policy keeps nothing (--retention-days 0 and --keep-last 0, no --keep-daily/weekly/monthly); refusing to delete every backup")
        }
    }

    /// The rule that keeps a backup, or why it goes.
    public enum Rule: String, Sendable, Codable {
        case keepLast = "keep-last"
        case retention = "retention"
        case daily = "keep-daily"
        case weekly = "keep-weekly"
        case monthly = "keep-monthly"
        /// Named for a time more than five minutes ahead: kept, and never counted as the newest.
        case future = "future"
        /// The full snapshot a kept increment is restored from.
        case base = "base of a kept increment"
        case expired = "expired"
    }

    public struct Decision: Sendable {
        public let backup: BackupName
        public let date: Date
        public let keep: Bool
        public let rule: Rule
    }

    /// Decides for every backup; `dates` gives each backup's date (the name's, else mtime).
    /// Works per kind; the result is newest first within each kind.
    public func plan(_ backups: [(BackupName, Date)], now: Date, calendar: Calendar = .current) -> [Decision] {
        var result: [Decision] = []
        let cutoff = calendar.date(byAdding: .day, value: -retentionDays, to: now) ?? now
        // A name in the future (a wrong clock, or a planted file) must not take the place of the
        // backup just made in keep-last or a period: it is kept, but counts for nothing.
        let horizon = now.addingTimeInterval(300)
        for kind in [BackupName.Kind.postgres, .repository] {
            let sorted = backups.filter { $0.0.kind == kind }.sorted {
                $0.1 != $1.1 ? $0.1 > $1.1 : ($0.0.order != $1.0.order ? $0.0.order > $1.0.order : $0.0.name > $1.0.name)
            }
            for entry in sorted where entry.1 > horizon {
                result.append(Decision(backup: entry.0, date: entry.1, keep: true, rule: .future))
            }
            let newestFirst = sorted.filter { $0.1 <= horizon }
            var rules = [Rule?](repeating: nil, count: newestFirst.count)
            for index in newestFirst.indices.prefix(keepLast) { rules[index] = .keepLast }
            for (index, entry) in newestFirst.enumerated() where rules[index] == nil && entry.1 >= cutoff {
                rules[index] = .retention
            }
            func bucketRule(_ count: Int, _ rule: Rule, _ bucket: (Date) -> String) {
                guard count > 0 else { return }
                var seen = Set<String>()
                for (index, entry) in newestFirst.enumerated() {
                    let key = bucket(entry.1)
                    if seen.contains(key) { continue }
                    // The newest backup of this period.
                    seen.insert(key)
                    if rules[index] == nil { rules[index] = rule }
                    if seen.count >= count { break }
                }
            }
            bucketRule(keepDaily, .daily) { date in
                let c = calendar.dateComponents([.year, .month, .day], from: date)
                return "\(c.year!)-\(c.month!)-\(c.day!)"
            }
            bucketRule(keepWeekly, .weekly) { date in
                var iso = Calendar(identifier: .iso8601)
                iso.timeZone = calendar.timeZone
                let c = iso.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
                return "\(c.yearForWeekOfYear!)-W\(c.weekOfYear!)"
            }
            bucketRule(keepMonthly, .monthly) { date in
                let c = calendar.dateComponents([.year, .month], from: date)
                return "\(c.year!)-\(c.month!)"
            }
            // An increment is only restorable with its full snapshot: the newest full snapshot of
            // its base commit at or before it stays as long as the increment does.
            for (index, entry) in newestFirst.enumerated() where rules[index] != nil {
                guard let base = entry.0.base else { continue }
                if let j = newestFirst.indices.first(where: { j in
                    j > index && !newestFirst[j].0.isIncrement
                        && newestFirst[j].0.commit.map { $0.hasPrefix(base) || base.hasPrefix($0) } == true
                }), rules[j] == nil {
                    rules[j] = .base
                }
            }
            for (index, entry) in newestFirst.enumerated() {
                let rule = rules[index] ?? .expired
                result.append(Decision(backup: entry.0, date: entry.1, keep: rule != .expired, rule: rule))
            }
        }
        return result
    }
}
