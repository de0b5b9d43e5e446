import FoundationEssentials
import Glibc

/// The record of checks at the backup root, in the logs' style: `check_log.txt` gets every
/// restore check (`cdb-restore --check`) and verify (`cdb-verify`), appended; `check_state.txt`
/// holds only the last of each kind, rewritten atomically, so that the session banner reads a
/// few lines however long the log grows. cdb-list shows each dump's last result from the log.
public enum CheckLog {
    public static let file = "check_log.txt"
    public static let stateFile = "check_state.txt"

    public struct Result: Sendable, Equatable {
        public let ok: Bool
        public let when: Date
    }

    /// Appends one restore check's outcome and remembers it as the last one (never fails the
    /// check: a record that cannot be written is skipped).
    public static func record(root: String, dump: String, from: String?, ok: Bool, details: [(String, String)]) {
        var fields = [("Dump", dump)]
        if let from { fields.append(("From", from)) }
        write(root: root, title: ok ? "Restore check OK" : "Restore check FAILED", fields: fields + details)
    }

    /// Appends one verify's outcome and remembers it as the last one.
    public static func recordVerify(root: String, file path: String, ok: Bool, details: [(String, String)]) {
        write(root: root, title: ok ? "Verify OK" : "Verify FAILED", fields: [("File", path)] + details)
    }

    static func write(root: String, title: String, fields: [(String, String)]) {
        let now = Date()
        BackupLog.append(folder: root, title: title, fields: fields, at: now, file: file)
        // The state: the other kind's last entry as it was, this kind's replaced.
        let kind = title.hasPrefix("Verify") ? "Verify" : "Restore check"
        var kept = ""
        if let text = try? String(contentsOfFile: Path.join(root, stateFile), encoding: .utf8) {
            for block in blocks(text) where !heading(of: block).hasPrefix(kind) { kept += block }
        }
        let text = kept + BackupLog.entry(title: title, fields: fields, at: now)
        guard let file = try? AtomicFile(directory: root, stem: stateFile, mode: 0o600) else { return }
        do {
            try Array(text.utf8).withUnsafeBytes { try file.sink.write($0) }
            try file.sync()
            try file.commit(replacing: Path.join(root, stateFile))
        } catch {}
    }

    /// The entries of a log text: each "[stamp] title" line with its indented lines.
    static func blocks(_ text: String) -> [String] {
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("[") || out.isEmpty { out.append("") }
            out[out.count - 1] += line + "\n"
        }
        return out
    }

    static func heading(of block: String) -> String {
        guard let close = block.firstIndex(of: "]") else { return "" }
        return String(block[block.index(after: close)...].prefix { $0 != "\n" }.trimmingPrefix(" "))
    }

    /// The most recent restore check of any dump: its result and the dump's name (from the
    /// state file, or the log when there is none yet).
    public static func latest(root: String) -> (Result, dump: String)? {
        if let text = try? String(contentsOfFile: Path.join(root, stateFile), encoding: .utf8), let last = entries(text).last {
            return last
        }
        return entries(root: root).last
    }

    /// The last result per dump name.
    public static func lastResults(root: String) -> [String: Result] {
        var out: [String: Result] = [:]
        for (result, dump) in entries(root: root) { out[dump] = result }
        return out
    }

    /// Every recorded restore check, oldest first (the log is appended to).
    static func entries(root: String) -> [(Result, dump: String)] {
        guard let text = try? String(contentsOfFile: Path.join(root, file), encoding: .utf8) else { return [] }
        return entries(text)
    }

    static func entries(_ text: String) -> [(Result, dump: String)] {
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
