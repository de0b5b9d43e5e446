import CDBKit
import Foundation

// What the programs tell people (stderr, through the Reporter) and scripts (stdout: paths or
// JSON lines). The library returns results; these render them. All JSON goes through `jsonLine`.
/// cdb-pg-dump's whole job: run the backup, tell people on stderr, describe the result.
public enum PostgresBackupCommand {
    public struct Outcome: Sendable {
        public var result: PostgresBackup.Result?
        public var status: ExitStatus
        public var error: String?

        /// One JSON object describing the run.
        public var json: String {
            var object: [String: Any] = ["kind": "postgres", "ok": status == .success, "exit": Int(status.rawValue)]
            if let result {
                object["path"] = result.path ?? NSNull()
                object["bytes"] = result.bytes
                object["seconds"] = (result.seconds * 1000).rounded() / 1000
                object["sha256"] = result.sha256 ?? NSNull()
                object["tables"] = result.tables.map { ["name": $0.name, "rows": $0.rows] }
                object["required_found"] = result.requiredFound
                object["required_total"] = result.requiredTotal
                object["missing_tables"] = result.missingTables
                object["skipped"] = result.skipped
            }
            if let error { object["error"] = error }
            return jsonLine(object)
        }
    }

    public static func run(request: PostgresBackup.Request, reporter: Reporter) -> Outcome {
        let backup = PostgresBackup(request: request, reporter: reporter)
        do {
            let result = try backup.run()
            for object in result.skipped { reporter.warning("skipped (--allow-unsupported): \(object)") }
            reporter.info(summary(result))
            if !result.missingTables.isEmpty {
                let error = CDBError.missingTables(path: result.path ?? "standard output", tables: result.missingTables)
                reporter.error(error.errorDescription ?? "")
                return Outcome(result: result, status: error.exitStatus, error: error.errorDescription)
            }
            return Outcome(result: result, status: .success)
        } catch let error as CDBError {
            let message = request.settings.database.redact(error.errorDescription ?? "\(error)")
            reporter.error(message)
            return Outcome(result: nil, status: error.exitStatus, error: message)
        } catch {
            let message = request.settings.database.redact("\(error)")
            reporter.error(message)
            return Outcome(result: nil, status: .failure, error: message)
        }
    }

    static func summary(_ result: PostgresBackup.Result) -> String {
        String(format: "PostgreSQL: %@ | tables %d/%d | %.2f s", ByteSize.format(result.bytes),
               result.requiredFound, result.requiredTotal, result.seconds)
    }
}

/// cdb-repo-snap's whole job: run the snapshot, tell people on stderr, describe the result.
public enum RepositorySnapshotCommand {
    public struct Outcome: Sendable {
        public var result: RepositorySnapshot.Result?
        public var status: ExitStatus
        public var error: String?

        public var json: [String: Any] {
            var object: [String: Any] = ["kind": "repository", "ok": status == .success, "exit": Int(status.rawValue)]
            if let result {
                object["path"] = result.path ?? NSNull()
                object["bytes"] = result.bytes
                object["files"] = result.files
                object["seconds"] = (result.seconds * 1000).rounded() / 1000
                object["sha256"] = result.sha256 ?? NSNull()
                object["metadata"] = result.metadata.json
            }
            if let error { object["error"] = error }
            return object
        }
    }

    public static func run(request: RepositorySnapshot.Request, force: Bool, reporter: Reporter) -> Outcome {
        do {
            let result = try RepositorySnapshot(request: request, reporter: reporter).run()
            let m = result.metadata
            if m.uncommitted > 0 && !force {
                let place = result.path.map { "uncommitted.patch in \($0)" } ?? "uncommitted.patch"
                reporter.warning(m.uncommittedSummary + ", in \(place)")
            }
            for (path, reason) in m.untrackedSkipped where !force || reason != "--no-untracked" {
                reporter.warning("untracked \(Untrusted.escape(path)) not captured: \(reason)")
            }
            if m.envIncluded {
                reporter.warning("the snapshot holds the repository's .env (secrets) as .env.backup; it is readable by you only (0600)")
            } else if let refusal = m.envRefusal {
                reporter.warning("--include-env: the repository's .env was not added: \(refusal)")
            } else if request.includeEnv {
                reporter.warning("--include-env: the repository has no .env; nothing was added")
            }
            if m.detached { reporter.detail("HEAD is detached at \(m.shortCommit)") }
            if m.shallow { reporter.detail("shallow clone: commit count covers the fetched history only") }
            reporter.info(result.summaryLine)
            return Outcome(result: result, status: .success)
        } catch let error as CDBError {
            let message = ConnectionString.redactURLs(in: error.errorDescription ?? "\(error)")
            reporter.error(message)
            return Outcome(result: nil, status: error.exitStatus, error: message)
        } catch {
            reporter.error("\(error)")
            return Outcome(result: nil, status: .failure, error: "\(error)")
        }
    }
}

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
                out += jsonLine(object) + "\n"
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
