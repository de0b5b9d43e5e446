import Foundation

/// What cdb-prune tells: deleted paths on stdout (or JSON lines), a summary on stderr.
public enum PruneReport {
    public static func print(_ result: Pruner.Result, dryRun: Bool, json: Bool, reporter: Reporter) {
        var out = ""
        for entry in result.entries {
            if json {
                guard entry.kind != "sidecar" || entry.action == .deleted else { continue }
                var object: [String: Any] = ["path": entry.path, "kind": entry.kind, "rule": entry.rule,
                                             "action": dryRun && entry.action == .deleted ? "would-delete" : entry.action.rawValue]
                if entry.bytes >= 0 { object["bytes"] = entry.bytes }
                if let date = entry.date { object["date"] = ISO8601DateFormatter().string(from: date) }
                let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
                out += String(decoding: data, as: UTF8.self) + "\n"
            } else if entry.action == .deleted {
                out += entry.path + "\n"
            }
            if entry.action == .ignored { reporter.detail("ignored: \(entry.path) (\(entry.rule))") }
            if entry.action == .kept, entry.kind != "sidecar" { reporter.detail("kept: \(entry.path) (\(entry.rule))") }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
        let verb = dryRun ? "would delete" : "deleted"
        let deleted = result.deleted
        let backupsDeleted = result.backupsDeleted
        var summary = "kept \(result.kept), \(verb) \(backupsDeleted), \(dryRun ? "would free" : "freed") \(ByteSize.format(result.freed))"
        let extra = deleted.count - backupsDeleted
        if extra > 0 { summary += " (\(extra) sidecar or temporary file\(extra == 1 ? "" : "s") too)" }
        if dryRun { summary += " — dry run, nothing was deleted" }
        reporter.info(summary)
    }
}
