import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Before a work session: dump the database, snapshot the repository, prune both folders, in
/// one process under the backup root's lock, with the banner the original scripts printed.
public struct PreSession {
    public struct Request: Sendable {
        public var settings: Settings
        public var repository: String = FileManager.default.currentDirectoryPath
        public var skipDatabase = false
        public var skipRepository = false
        public var lockWait: Double = 30
        /// Minutes: skip when this repository's last successful run is younger. 0 = never skip.
        public var minInterval = 0
        public var compression: Compression = .none
        /// Encrypt both backups to these recipients (age), or nil.
        public var recipients: [AgeRecipient]?
        /// The snapshot takes the repository's .env (as cdb-repo-snap --include-env).
        public var includeEnv = false
        /// Untracked files go into the snapshot's uncommitted.patch (cdb-repo-snap's default).
        public var untracked = true
        /// Off-site copies: cdb-copy is started in the background after the backups when
        /// destinations are set (CDB_COPY_TO); `copyProgram` is its path.
        public var copyTo: [String] = []
        public var copyProgram: String?
        /// Where the steps' transient progress lines go (waiting for a database being started,
        /// a long table); their other lines are the banner's.
        public var progress: Reporter = SilentReporter.shared
        public init(settings: Settings) { self.settings = settings }
    }

    /// One step's outcome.
    public struct Step: Sendable {
        public var name: String
        public var status: ExitStatus = .success
        public var path: String?
        public var summary: String
        public var warnings: [String] = []
        /// What a person should know that is not a problem (the database was started).
        public var notes: [String] = []
        public var bytes: Int64?
        public var seconds: Double?
    }

    public struct Outcome: Sendable {
        public var steps: [Step] = []
        public var skippedBecauseRecent: String?
        /// cdb-copy started in the background (or not); not part of the run's status.
        public var copy: Step?
        public var seconds: Double = 0
        public var status: ExitStatus { steps.map(\.status).max() ?? .success }
        public var paths: [String] { steps.compactMap(\.path) }
    }

    /// What happens during a run, in order, for whoever shows it (the command-line module
    /// renders the banner the original scripts printed).
    public enum Event {
        /// The repository is not enabled (or not a repository): nothing was run.
        case refused(CDBError)
        /// The last successful run of this repository is too recent: nothing was run.
        case skippedRecently(String)
        case started
        /// The backup root's lock could not be taken: nothing was run.
        case lockFailed(Step)
        case stepStarted(number: Int, total: Int, label: String)
        case stepFinished(Step, label: String)
        /// Pruning ran (its step says whether it deleted anything or failed).
        case pruned(Step)
        /// cdb-copy was started in the background (or could not be); the last run's record.
        case copyStarted(Step)
        /// The last restore check (check_log.txt); `warn` when it failed, is older than 8 days,
        /// or never ran.
        case restoreCheck(String, warn: Bool)
        case finished(Outcome, root: String)
    }

    public let request: Request
    let events: (Event) -> Void

    public init(request: Request, events: @escaping (Event) -> Void) {
        self.request = request
        self.events = events
    }

    public func run() -> Outcome {
        let started = Date()
        var outcome = Outcome()
        let root = request.settings.backupRoot
        // A repository is not the user: backups run only where the user enabled them.
        if let refusal = Self.trustRefusal(directory: request.repository, settings: request.settings) {
            outcome.steps.append(Step(name: "trust", status: refusal.exitStatus, summary: refusal.errorDescription ?? ""))
            events(.refused(refusal))
            return outcome
        }
        let marker = Self.markerPath(root: root, repository: request.repository)
        if request.minInterval > 0, let age = Self.age(of: marker), age < Double(request.minInterval) * 60 {
            outcome.skippedBecauseRecent = "last backup of this repository \(Int(age / 60)) min ago (less than \(request.minInterval) min); skipping"
            events(.skippedRecently(outcome.skippedBecauseRecent!))
            return outcome
        }
        let total = (request.skipDatabase ? 0 : 1) + (request.skipRepository ? 0 : 1)
        events(.started)
        let lock: RootLock
        do {
            lock = try RootLock(root: root, mode: .exclusive, wait: request.lockWait)
        } catch {
            let status = (error as? CDBError)?.exitStatus ?? .failure
            let step = Step(name: "lock", status: status, summary: (error as? CDBError)?.errorDescription ?? "\(error)")
            outcome.steps.append(step)
            events(.lockFailed(step))
            return outcome
        }
        defer { withExtendedLifetime(lock) {} }
        var number = 0
        if !request.skipDatabase {
            number += 1
            events(.stepStarted(number: number, total: total, label: "PostgreSQL"))
            outcome.steps.append(databaseStep())
            events(.stepFinished(outcome.steps.last!, label: "PostgreSQL"))
        }
        if !request.skipRepository {
            number += 1
            events(.stepStarted(number: number, total: total, label: "Repository"))
            outcome.steps.append(repositoryStep())
            events(.stepFinished(outcome.steps.last!, label: "Repository"))
        }
        let prune = pruneStep()
        outcome.steps.append(prune)
        events(.pruned(prune))
        if !request.copyTo.isEmpty {
            outcome.copy = copyStep()
            events(.copyStarted(outcome.copy!))
        }
        let check = Self.lastRestoreCheck(root: root)
        events(.restoreCheck(check.text, warn: check.warn))
        outcome.seconds = Date().timeIntervalSince(started)
        if outcome.status == .success { Self.touch(marker) }
        events(.finished(outcome, root: root))
        return outcome
    }

    /// Why a run in `directory` may not back up: not in a work tree (66), or not enabled (78).
    public static func trustRefusal(directory: String, settings: Settings) -> CDBError? {
        if settings.enabledWorkTree != nil { return nil }
        guard let tree = WorkTree.root(containing: directory) else {
            return .inputMissing(path: directory, reason: "not inside a git work tree — run cdb-pre-session in your repository (or --repo DIR)")
        }
        return .configuration("\(Untrusted.escape(tree)) is not enabled for cdb backups; if you trust this repository, run `cdb-pre-session enable` in it (cdb never runs for a repository you did not enable)")
    }


    /// Runs one step; any error becomes the step's status and (redacted) summary, so that a
    /// failing step never stops the others.
    private func step(_ name: String, redact: (String) -> String = { $0 }, _ body: (inout Step) throws -> Void) -> Step {
        var step = Step(name: name, summary: "")
        let started = Date()
        do {
            try body(&step)
        } catch let error as CDBError {
            step.status = error.exitStatus
            step.summary = redact(error.errorDescription ?? "\(error)")
        } catch {
            step.status = .failure
            step.summary = redact("\(error)")
        }
        step.seconds = Date().timeIntervalSince(started)
        return step
    }

    func databaseStep() -> Step {
        step("postgres", redact: request.settings.database.redact) { step in
            var dump = PostgresBackup.Request(settings: request.settings)
            dump.lock = .heldByCaller
            dump.compression = request.compression
            dump.recipients = request.recipients
            let result = try PostgresBackup(request: dump, reporter: request.progress).run()
            step.path = result.path
            step.bytes = result.bytes
            step.summary = "PostgreSQL: \(ByteSize.format(result.bytes))"
            if let seconds = result.serverStarted {
                step.notes.append("the database was down: started it (CDB_DB_START_COMMAND); it answered after \(Format.fixed(seconds)) s")
            }
            if !result.missingTables.isEmpty {
                step.status = .dataError
                step.warnings.append("required table\(result.missingTables.count == 1 ? "" : "s") missing: \(result.missingTables.joined(separator: ", ")) (tables \(result.requiredFound)/\(result.requiredTotal))")
            }
            step.warnings += result.skipped.map { "skipped (--allow-unsupported): \($0)" }
        }
    }

    func repositoryStep() -> Step {
        step("repository", redact: { ConnectionString.redactURLs(in: $0) }) { step in
            var snap = RepositorySnapshot.Request(settings: request.settings)
            snap.lock = .heldByCaller
            snap.repository = request.repository
            snap.recipients = request.recipients
            snap.includeEnv = request.includeEnv
            snap.dockerVolumes = DockerVolume.configured(request.settings.sources)
            snap.untracked = request.untracked
            // Like the post-commit hook's: only what is new since the newest full snapshot.
            snap.incremental = true
            let result = try RepositorySnapshot(request: snap, reporter: SilentReporter.shared).run()
            step.path = result.path
            step.bytes = result.bytes
            step.summary = result.summaryLine
            let m = result.metadata
            if m.uncommitted > 0 { step.warnings.append(m.uncommittedSummary + " in uncommitted.patch") }
            for (path, reason) in m.untrackedSkipped where reason != "--no-untracked" {
                step.warnings.append("untracked \(Untrusted.escape(path)) not captured: \(reason)")
            }
            step.warnings += result.warnings(includeEnv: request.includeEnv, encrypted: request.recipients != nil)
        }
    }

    /// Starts cdb-copy in the background (it waits for this run's lock, then copies); the
    /// summary names the destinations and the last copy run's outcome from copy_log.txt.
    func copyStep() -> Step {
        step("copy") { step in
            guard let program = request.copyProgram else { throw CDBError.configuration("cdb-copy is not installed beside cdb-pre-session") }
            let last = Self.lastCopyRun(root: request.settings.backupRoot).map { "; last run \($0)" } ?? "; first run"
            do { try ChildProcess.startDetached([program, "--quiet"] + request.copyTo.flatMap { ["--to", $0] }) } catch {
                throw CDBError.configuration("cannot start \(program): \(describe(error))")
            }
            step.summary = "Off-site copy: started in the background → \(request.copyTo.map { Untrusted.escape($0) }.joined(separator: ", "))\(last)"
        }
    }

    /// "Last restore check: OK 3 days ago", or a warning when it failed, is older than 8 days or
    /// never ran (from check_log.txt, which cdb-restore --check appends to).
    static func lastRestoreCheck(root: String, now: Date = Date()) -> (text: String, warn: Bool) {
        guard let (result, dump) = CheckLog.latest(root: root) else {
            return ("Last restore check: never — prove a dump restores: cdb-restore --check --latest (weekly: install.sh --schedule)", true)
        }
        let days = Int(now.timeIntervalSince(result.when) / 86_400)
        let hours = Int(now.timeIntervalSince(result.when) / 3600)
        let age = hours < 48 ? "\(max(0, hours)) h ago" : "\(days) days ago"
        if !result.ok { return ("Last restore check: FAILED \(age) (\(Untrusted.escape(dump))) — see check_log.txt", true) }
        if days > 8 { return ("Last restore check: OK \(age) — older than a week; run cdb-restore --check --latest", true) }
        return ("Last restore check: OK \(age)", false)
    }

    /// "OK 2 h ago" / "FAILED 5 min ago: reason", from the last entry of copy_log.txt.
    static func lastCopyRun(root: String, now: Date = Date()) -> String? {
        guard let text = try? String(contentsOfFile: Path.join(root, "copy_log.txt"), encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").map(String.init)
        guard let start = lines.lastIndex(where: { $0.hasPrefix("[") && $0.contains("] Copy ") }) else { return nil }
        let head = lines[start]
        let ok = head.hasSuffix("Copy OK")
        var age = ""
        if head.count > 21, let date = Timestamp.parseLocal(String(head.dropFirst().prefix(19))) {
            let minutes = Int(now.timeIntervalSince(date) / 60)
            age = minutes < 60 ? " \(minutes) min ago" : minutes < 48 * 60 ? " \(minutes / 60) h ago" : " \(minutes / 1440) days ago"
        }
        let error = lines[(start + 1)...].prefix { $0.hasPrefix("  ") }.first { $0.hasPrefix("  Error: ") }.map { ": " + $0.dropFirst(9) } ?? ""
        return (ok ? "OK" : "FAILED") + age + error
    }

    func pruneStep() -> Step {
        step("prune") { step in
            var prune = Pruner.Request(root: request.settings.backupRoot,
                                       policy: RetentionPolicy(retentionDays: request.settings.retentionDays, keepLast: request.settings.keepLast))
            prune.lock = .heldByCaller
            let result = try Pruner(request: prune).run()
            step.bytes = result.freed
            if result.backupsDeleted > 0 {
                step.summary = "deleted \(result.backupsDeleted) old backup\(result.backupsDeleted == 1 ? "" : "s") (\(ByteSize.format(result.freed)))"
            }
        }
    }

    /// `<root>/.last-session-<hash of the repository path>`: touched after a fully successful run.
    static func markerPath(root: String, repository: String) -> String {
        let key = URL(fileURLWithPath: repository).standardizedFileURL.resolvingSymlinksInPath().path
        return Path.join(root, ".last-session-" + Format.fnv1a(key))
    }

    static func age(of path: String) -> Double? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid() else { return nil }
        return Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec)
    }

    static func touch(_ path: String) {
        guard let fd = try? OwnedFile.open(path, flags: O_WRONLY) else { return }
        futimens(fd, nil)
        close(fd)
    }
}

/// A reporter that says nothing (the steps' own lines are replaced by the banner's).
enum SilentReporter {
    static let shared = Reporter(level: .quiet, environment: ["NO_COLOR": "1"], silent: true)
}
