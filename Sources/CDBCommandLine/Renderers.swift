import CDBKit
import FoundationEssentials
import Glibc

// What the programs tell people (stderr, through the Reporter) and scripts (stdout: paths or
// JSON lines). The library returns results; these render them. All JSON goes through `jsonLine`.
/// cdb-pg-dump's whole job: run the backup, tell people on stderr, describe the result.
public enum PostgresBackupCommand {
    public struct Outcome: Sendable {
        public var result: PostgresBackup.Result?
        public var status: ExitStatus
        public var error: String?

        /// The run's JSON line.
        public var record: JSONRecord {
            var extra: [String: Any] = [:]
            if let result {
                extra["sha256"] = result.sha256 ?? JSON.null
                extra["tables"] = result.tables.map { ["name": $0.name, "rows": $0.rows] }
                extra["required_found"] = result.requiredFound
                extra["required_total"] = result.requiredTotal
                extra["missing_tables"] = result.missingTables
                extra["skipped_objects"] = result.skipped
                extra["server_started_after"] = result.serverStarted.map { JSON.double(($0 * 1000).rounded() / 1000) } ?? JSON.null
            }
            return JSONRecord(kind: "db", path: result?.path, status: status == .success ? .ok : .failed, exit: status,
                              bytes: result.map { Int64($0.bytes) }, seconds: result?.seconds,
                              message: error ?? result.map { PostgresBackupCommand.summary($0) }, extra: extra)
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
        "PostgreSQL: \(ByteSize.format(result.bytes)) | tables \(result.requiredFound)/\(result.requiredTotal) | \(Format.fixed(result.seconds)) s"
    }
}

/// cdb-repo-snap's whole job: run the snapshot, tell people on stderr, describe the result.
public enum RepositorySnapshotCommand {
    public struct Outcome: Sendable {
        public var result: RepositorySnapshot.Result?
        public var status: ExitStatus
        public var error: String?

        /// The run's JSON line.
        public var record: JSONRecord {
            var extra: [String: Any] = [:]
            if let result {
                extra["files"] = result.files
                extra["sha256"] = result.sha256 ?? JSON.null
                extra["metadata"] = result.metadata.json
            }
            return JSONRecord(kind: "repo", path: result?.path, status: status == .success ? .ok : .failed, exit: status,
                              bytes: result.map { Int64($0.bytes) }, seconds: result?.seconds,
                              message: error ?? result?.summaryLine, extra: extra)
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
            if m.envIncluded && request.recipients != nil {
                reporter.info("the snapshot holds the repository's .env as .env.backup, encrypted")
            }
            result.warnings(includeEnv: request.includeEnv, encrypted: request.recipients != nil).forEach(reporter.warning)
            if !m.dockerVolumes.isEmpty { reporter.detail("Docker volumes under volumes/: \(m.dockerVolumes.joined(separator: ", "))") }
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
                let action = dryRun && entry.action == .deleted ? "would-delete" : entry.action.rawValue
                var extra: [String: Any] = ["rule": entry.rule, "action": action]
                if let date = entry.date { extra["date"] = Timestamp.iso8601(date) }
                let kind = BackupName.Kind(rawValue: entry.kind).map(JSONRecord.kind) ?? entry.kind
                out += JSONOutput.text(JSONRecord(kind: kind, path: entry.path, status: entry.action == .ignored ? .skipped : .ok,
                                                  bytes: entry.bytes >= 0 ? entry.bytes : nil, message: "\(action): \(entry.rule)", extra: extra)) + "\n"
            } else if entry.action == .deleted {
                out += entry.path + "\n"
            }
            if entry.action == .ignored { reporter.detail("ignored: \(entry.path) (\(entry.rule))") }
            if entry.action == .kept, entry.kind != "sidecar" { reporter.detail("kept: \(entry.path) (\(entry.rule))") }
        }
        writeText(out, to: STDOUT_FILENO)
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

/// cdb-pre-session's JSON lines: one per step (`db`, `repo`, `prune`, and `copy` when copies
/// started), or one `session` line when the run did not start (skipped as too recent, not
/// enabled, or the lock was busy).
public enum SessionReport {
    public static func records(_ outcome: PreSession.Outcome) -> [JSONRecord] {
        if let why = outcome.skippedBecauseRecent {
            return [JSONRecord(kind: "session", path: nil, status: .skipped, message: why)]
        }
        let kinds = ["postgres": "db", "repository": "repo"]
        return (outcome.steps + (outcome.copy.map { [$0] } ?? [])).map { step in
            JSONRecord(kind: kinds[step.name] ?? (["trust", "lock"].contains(step.name) ? "session" : step.name), path: step.path,
                       status: step.status == .success ? .ok : .failed, exit: step.status, bytes: step.bytes, seconds: step.seconds,
                       message: step.name == "prune" && step.summary.isEmpty ? "nothing to delete" : step.summary,
                       extra: ["warnings": step.warnings, "notes": step.notes])
        }
    }
}

/// The session banner the original scripts printed, on stderr, as cdb-pre-session runs:
/// "=== Pre-Session: Automatic Backups ===", one "[n/N] … Backup..." block per step with its
/// ✓/✗ line and warnings, the retention line, and "=== Backups Complete ===" with the root.
public struct SessionBanner {
    let reporter: Reporter

    public init(reporter: Reporter) { self.reporter = reporter }

    public func show(_ event: PreSession.Event) {
        switch event {
        case let .refused(error):
            reporter.error(error.errorDescription ?? "")
        case let .skippedRecently(why):
            reporter.info("cdb: " + why)
        case .started:
            reporter.info("=== Pre-Session: Automatic Backups ===")
        case let .lockFailed(step):
            line("      \(reporter.glyph(.fail)) \(step.summary)", failed: true)
        case let .stepStarted(number, total, label):
            reporter.info("\n[\(number)/\(total)] \(label) Backup...")
        case let .stepFinished(step, label):
            for note in step.notes { reporter.info("      \(label): \(note)") }
            if step.status == .success {
                line("      \(reporter.glyph(.ok)) \(step.summary)", failed: false)
            } else {
                let text = step.summary.hasPrefix(label + ":") ? step.summary : "\(label): \(step.summary)"
                line("      \(reporter.glyph(.fail)) \(text)", failed: true)
            }
            for warning in step.warnings { line("      \(reporter.glyph(.warn)) \(label): \(warning)", failed: false) }
        case let .pruned(step):
            guard step.status != .success || !step.summary.isEmpty else { return }
            reporter.info("")
            if step.status != .success {
                line("\(reporter.glyph(.fail)) Retention: \(step.summary)", failed: true)
            } else {
                reporter.info("Retention: \(step.summary)")
            }
        case let .copyStarted(step):
            if step.status == .success {
                reporter.info(step.summary)
            } else {
                line("\(reporter.glyph(.fail)) Off-site copy: \(step.summary)", failed: true)
            }
        case let .restoreCheck(text, warn):
            if warn { line("\(reporter.glyph(.warn)) \(text)", failed: false) } else { reporter.info(text) }
        case let .finished(outcome, root):
            reporter.info(outcome.status == .success ? "\n=== Backups Complete ===" : "\n=== Backups Finished With Errors ===")
            reporter.info("Saved: \(root.hasSuffix("/") ? root : root + "/")")
            reporter.detail("took \(Format.fixed(outcome.seconds)) s")
        }
    }

    /// A failure still shows under --quiet (as an error line).
    private func line(_ text: String, failed: Bool) {
        if failed && reporter.level == .quiet { reporter.error(text.trimmedSpaces()) } else { reporter.info(text) }
    }
}
