import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A file name of ours in a backup folder, parsed without touching the file.
public struct BackupName: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case postgres, repository }

    public let name: String
    public let kind: Kind
    /// The local time in the name, or nil when the name carries none that parses.
    public let stamp: Date?
    /// Seconds and counter, so that names of one minute sort in the order they were written.
    public let order: Int
    /// The name ends in `.age`: the file is encrypted (README, "Encryption").
    public let encrypted: Bool
    /// A snapshot's commit (short hash) as its name gives it.
    public var commit: String?
    /// An increment (`…_<hash>.inc-<base hash>.zip`): only what its commit added since the full
    /// snapshot of commit `base` (README, "After every commit").
    public var base: String?
    public var isIncrement: Bool { base != nil }

    /// Whether this backup was made before `other`, by the time in the names (seconds and
    /// counter included); a name without a time counts as the oldest.
    public func isOlder(than other: BackupName) -> Bool {
        (stamp ?? .distantPast, order) < (other.stamp ?? .distantPast, other.order)
    }

    /// Parses our names (both kinds, every compression suffix, seconds and counter variants)
    /// and those of the original scripts, which used the same scheme. Nil for anything else,
    /// sidecars included.
    public static func parse(_ name: String) -> BackupName? {
        let bytes = Array(name.utf8)
        let kind: Kind
        var i: Int
        if name.hasPrefix("cdb_backup_") {
            kind = .postgres
            i = 11
        } else if name.hasPrefix("claire_repo_") {
            kind = .repository
            i = 12
        } else {
            return nil
        }
        // YYYY-MM-DD_HHMM[SS][_N]
        func digits(_ count: Int) -> Int? {
            guard i + count <= bytes.count else { return nil }
            var value = 0
            for k in i..<(i + count) {
                let b = bytes[k]
                guard b >= 0x30 && b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            i += count
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
              expect(0x5F), let hour = digits(2), let minute = digits(2) else { return nil }
        var second = 0
        if i + 2 <= bytes.count, bytes[i] != 0x5F, bytes[i] != 0x2E, let s = digits(2) { second = s }
        var counter = 1
        // A counter is `_N` followed by `_` or `.`; a repository name then has `_<hash>`.
        let save = i
        if expect(0x5F) {
            var n = 0
            var length = 0
            while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { n = n * 10 + Int(bytes[i] - 0x30); i += 1; length += 1 }
            if length > 0, length < 7, i < bytes.count, bytes[i] == 0x2E || bytes[i] == 0x5F { counter = n } else { i = save }
        }
        var rest = String(decoding: bytes[i...], as: UTF8.self)
        var commitHash: String?, baseHash: String?
        let encrypted = rest.hasSuffix(".age")
        if encrypted { rest = String(rest.dropLast(4)) }
        switch kind {
        case .postgres:
            guard [".sql", ".sql.gz", ".sql.zst", ".dump", ".sql.bz2", ".sql.xz"].contains(rest) else { return nil }
        case .repository:
            // `_<hex>.zip`, `_<hex>.inc-<hex>.zip` (an increment), or `.zip` alone (older names
            // without the commit).
            if rest != ".zip" {
                guard rest.hasPrefix("_"), rest.hasSuffix(".zip") else { return nil }
                var hash = rest.dropFirst().dropLast(4)
                if let dot = hash.firstIndex(of: ".") {
                    let suffix = hash[hash.index(after: dot)...]
                    guard suffix.hasPrefix("inc-") else { return nil }
                    let base = suffix.dropFirst(4)
                    guard (4...40).contains(base.count), base.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
                    baseHash = String(base)
                    hash = hash[..<dot]
                }
                guard (4...40).contains(hash.count), hash.allSatisfy({ $0.isHexDigit }) else { return nil }
                commitHash = String(hash)
            }
        }
        let valid = (1...12).contains(month) && (1...31).contains(day) && hour < 24 && minute < 60 && second < 60
        var stamp: Date?
        if valid {
            // Local time, as the name was written; mktime is far cheaper than Calendar here.
            var parts = tm()
            parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
            parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second); parts.tm_isdst = -1
            let t = mktime(&parts)
            if t != -1, parts.tm_mday == Int32(day) { stamp = Date(timeIntervalSince1970: TimeInterval(t)) }
        }
        var parsed = BackupName(name: name, kind: kind, stamp: stamp, order: second * 100_000 + counter, encrypted: encrypted)
        parsed.commit = commitHash
        parsed.base = baseHash
        return parsed
    }

    /// The file a sidecar belongs to, or nil when `name` is not a sidecar.
    public static func sidecarTarget(_ name: String) -> String? {
        name.hasSuffix(".sha256") ? String(name.dropLast(7)) : nil
    }
}
