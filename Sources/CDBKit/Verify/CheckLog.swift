import FoundationEssentials

/// The record of restore checks (`check_log.txt` at the backup root, in the logs' style): what
/// `cdb-restore --check` proved, and when. cdb-list shows each dump's last result.
public enum CheckLog {
    public static let file = "check_log.txt"

    public struct Result: Sendable, Equatable {
        public let ok: Bool
        public let when: Date
    }

    /// Appends one check's outcome (never fails the check: a log that cannot be written is
    /// skipped).
    public static func record(root: String, dump: String, from: String?, ok: Bool, details: [(String, String)]) {
        var fields = [("Dump", dump)]
        if let from { fields.append(("From", from)) }
        BackupLog.append(folder: root, title: ok ? "Restore check OK" : "Restore check FAILED", fields: fields + details, file: file)
    }

    /// The most recent check of any dump: its result and the dump's name.
    public static func latest(root: String) -> (Result, dump: String)? {
        entries(root: root).last
    }

    /// The last result per dump name.
    public static func lastResults(root: String) -> [String: Result] {
        var out: [String: Result] = [:]
        for (result, dump) in entries(root: root) { out[dump] = result }
        return out
    }

    /// Every recorded check, oldest first (the log is appended to).
    static func entries(root: String) -> [(Result, dump: String)] {
        guard let text = try? String(contentsOfFile: Path.join(root, file), encoding: .utf8) else { return [] }
        var out: [(Result, dump: String)] = []
        var current: (ok: Bool, when: Date)?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                let stamp = String(line[line.index(after: line.startIndex)..<close])
                let title = line[line.index(after: close)...].trimmingPrefix(" ")
                if let when = Timestamp.parseLocal(stamp), title.hasPrefix("Restore check ") {
                    current = (title == "Restore check OK", when)
                } else {
                    current = nil
                }
            } else if let entry = current, line.hasPrefix("  Dump: ") {
                out.append((Result(ok: entry.ok, when: entry.when), String(line.dropFirst("  Dump: ".count))))
                current = nil
            }
        }
        return out
    }
}
