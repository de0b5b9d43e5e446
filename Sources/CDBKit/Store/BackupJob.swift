import FoundationEssentials
import Glibc

/// How a run gets the backup root's lock: it takes it (waiting up to some seconds), or its
/// caller (cdb-pre-session) already holds it.
public enum RootLockPolicy: Sendable {
    case wait(seconds: Double)
    case heldByCaller

    /// Takes the lock in `mode` unless the caller holds it; the lock lives as long as the value.
    func acquire(root: String, mode: RootLock.Mode) throws -> RootLock? {
        switch self {
        case let .wait(seconds): return try RootLock(root: root, mode: mode, wait: seconds)
        case .heldByCaller: return nil
        }
    }
}

/// The shape of one backup that writes into the backup root: the root's lock, the prepared
/// folder of its kind, and the outcome in that folder's backup_log.txt — an OK entry, or a
/// FAILED one for every error of any type once the folder exists. A backup written to a file of
/// the user's (-o) or to standard output takes no lock and writes no log.
public struct BackupJob {
    public let root: BackupRoot
    public let kind: BackupRoot.Kind
    public let destination: BackupDestination
    public let lock: RootLockPolicy
    public let reporter: Reporter
    /// Removes secrets from an error before it reaches the log.
    public var redact: (String) -> String = { $0 }

    public init(root: BackupRoot, kind: BackupRoot.Kind, destination: BackupDestination, lock: RootLockPolicy, reporter: Reporter) {
        self.root = root
        self.kind = kind
        self.destination = destination
        self.lock = lock
        self.reporter = reporter
    }

    /// Runs `body`, then logs: `entry` makes the OK entry's title and fields from the result;
    /// a failure is logged as "`failureTitle`" with the (redacted) error.
    public func run<Result>(failureTitle: String, entry: (Result) -> (title: String, fields: [(String, String)]),
                            _ body: () throws -> Result) throws -> Result {
        var folder: String?
        do {
            var held: RootLock?
            if case .backupRoot = destination {
                held = try lock.acquire(root: root.path, mode: .shared)
                folder = try root.prepare(kind)
            }
            let result = try withExtendedLifetime(held) { try body() }
            if let folder {
                let (title, fields) = entry(result)
                append(folder: folder, title: title, fields: fields)
            }
            return result
        } catch {
            // A failure before the folder was prepared (the lock, a bad root) still reaches the
            // log when the folder exists from earlier runs.
            if let folder = folder ?? existingFolder() {
                let reason = (error as? CDBError)?.errorDescription ?? "\(error)"
                append(folder: folder, title: failureTitle, fields: [("Error", redact(reason))])
            }
            throw error
        }
    }

    private func existingFolder() -> String? {
        guard case .backupRoot = destination else { return nil }
        var info = stat()
        let folder = root.folder(kind)
        return lstat(folder, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? folder : nil
    }

    private func append(folder: String, title: String, fields: [(String, String)]) {
        if let problem = BackupLog.append(folder: folder, title: title, fields: fields) {
            reporter.warning("could not write the backup log: \(problem)")
        }
    }
}
