import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Applies a retention policy to backup folders. Touches only names of ours: backups, their
/// `.sha256` sidecars, orphan sidecars, and our temporary files older than a day. Never
/// follows or deletes a symbolic link.
public struct Pruner {
    public struct Request: Sendable {
        public var root: String
        /// Folders to prune; empty means the root's PostgreSQL and Repository folders.
        public var folders: [String] = []
        public var policy: RetentionPolicy
        public var dryRun = false
        public var lock: RootLockPolicy = .wait(seconds: 30)
        public var now = Date()
        public init(root: String, policy: RetentionPolicy) {
            self.root = root
            self.policy = policy
        }
    }

    /// What happened to one file.
    public struct Entry: Sendable {
        public enum Action: String, Sendable { case kept, deleted, ignored }
        public let path: String
        public let kind: String
        public let action: Action
        public let rule: String
        /// The file's size; -1 when not measured (kept files are not looked at).
        public let bytes: Int64
        public let date: Date?
    }

    public struct Result: Sendable {
        public var entries: [Entry] = []
        public var kept: Int { entries.filter { $0.action == .kept && $0.kind != "sidecar" }.count }
        public var deleted: [Entry] { entries.filter { $0.action == .deleted } }
        public var freed: Int64 { deleted.reduce(0) { $0 + $1.bytes } }
        public var backupsDeleted: Int { deleted.filter { $0.kind == "postgres" || $0.kind == "repository" }.count }
    }

    public let request: Request

    public init(request: Request) { self.request = request }

    public func run(home: String = ProcessInfo.processInfo.environment["HOME"] ?? Path.home) throws -> Result {
        try request.policy.validate()
        try BackupRoot.validate(request.root, setting: "--backup-root", home: home)
        let folders = request.folders.isEmpty
            ? BackupRoot.Kind.allCases.map { BackupRoot(path: request.root).folder($0) }
            : request.folders
        for folder in folders { try BackupRoot.validate(folder, setting: "--folder", home: home) }
        var info = stat()
        guard stat(request.root, &info) == 0 else {
            throw CDBError.inputMissing(path: request.root, reason: "no such backup root")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CDBError.configuration("\(request.root) is not a directory; set --backup-root to the backup folder")
        }
        let lock = try request.lock.acquire(root: request.root, mode: .exclusive)
        defer { withExtendedLifetime(lock) {} }
        var result = Result()
        for folder in folders {
            var folderInfo = stat()
            guard lstat(folder, &folderInfo) == 0 else { continue }  // a kind never backed up
            guard (folderInfo.st_mode & S_IFMT) == S_IFDIR else {
                result.entries.append(Entry(path: folder, kind: "folder", action: .ignored, rule: "not a directory", bytes: 0, date: nil))
                continue
            }
            let entries = try prune(folder: folder)
            result.entries += entries
            let deleted = entries.filter { $0.action == .deleted && ($0.kind == "postgres" || $0.kind == "repository") }.count
            if !request.dryRun, entries.contains(where: { $0.action == .deleted }) {
                let freed = entries.filter { $0.action == .deleted }.reduce(0) { $0 + $1.bytes }
                BackupLog.append(folder: folder, title: "Retention: deleted \(deleted) old backups",
                                 fields: [("Kept", "\(entries.filter { $0.action == .kept && $0.kind != "sidecar" }.count)"),
                                          ("Freed", ByteSize.format(freed)),
                                          ("Policy", describe(request.policy))])
            }
        }
        return result
    }

    func describe(_ p: RetentionPolicy) -> String {
        var parts = ["\(p.retentionDays) days", "keep last \(p.keepLast)"]
        if p.keepDaily > 0 { parts.append("daily \(p.keepDaily)") }
        if p.keepWeekly > 0 { parts.append("weekly \(p.keepWeekly)") }
        if p.keepMonthly > 0 { parts.append("monthly \(p.keepMonthly)") }
        return parts.joined(separator: ", ")
    }

    /// Plans and (unless a dry run) deletes in one folder.
    func prune(folder: String) throws -> [Entry] {
        guard let dir = opendir(folder) else {
            throw CDBError.inputMissing(path: folder, reason: String(cString: strerror(errno)))
        }
        var names: [(String, UInt8)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append((name, entry.pointee.d_type))
        }
        // lstat relative to the open folder: no path walk per file.
        let dirFD = dirfd(dir)
        defer { closedir(dir) }

        var entries: [Entry] = []
        var backups: [(BackupName, Date)] = []
        var sidecars: Set<String> = []       // regular-file sidecars of our names
        var backupNames: Set<String> = []    // regular-file backups
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        func path(_ name: String) -> String { prefix + name }
        func lstatOf(_ name: String) -> stat? {
            var info = stat()
            return fstatat(dirFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
        }
        /// A regular file, never a link: from readdir's type when the file system gives one.
        func isRegular(_ name: String, _ type: UInt8) -> Bool {
            if type == UInt8(DT_REG) { return true }
            if type != UInt8(DT_UNKNOWN) { return false }
            guard let info = lstatOf(name) else { return false }
            return (info.st_mode & S_IFMT) == S_IFREG
        }
        for (name, type) in names {
            if name.hasPrefix(AtomicFile.temporaryPrefix) {
                guard isRegular(name, type), let info = lstatOf(name) else { continue }
                let mtime = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
                // Leftovers: their process is gone, or (another machine's) older than a day by the
                // real clock, whatever time the policy is run "as of".
                if AtomicFile.isAbandoned(name) || Date().timeIntervalSince(mtime) > 86_400 {
                    try delete(name)
                    entries.append(Entry(path: path(name), kind: "temporary", action: .deleted, rule: "leftover of a crashed run",
                                         bytes: Int64(info.st_size), date: mtime))
                } else {
                    entries.append(Entry(path: path(name), kind: "temporary", action: .ignored, rule: "in progress or recent", bytes: 0, date: mtime))
                }
                continue
            }
            if let target = BackupName.sidecarTarget(name), BackupName.parse(target) != nil {
                if isRegular(name, type) {
                    sidecars.insert(name)
                } else {
                    entries.append(Entry(path: path(name), kind: "sidecar", action: .ignored, rule: "not a regular file", bytes: 0, date: nil))
                }
                continue
            }
            guard let parsed = BackupName.parse(name) else {
                entries.append(Entry(path: path(name), kind: "foreign", action: .ignored, rule: "not a backup name of ours", bytes: 0, date: nil))
                continue
            }
            guard isRegular(name, type) else {
                entries.append(Entry(path: path(name), kind: parsed.kind.rawValue, action: .ignored, rule: "a symbolic link or not a regular file", bytes: 0, date: nil))
                continue
            }
            backupNames.insert(name)
            if let stamp = parsed.stamp {
                backups.append((parsed, stamp))
            } else if let info = lstatOf(name) {
                backups.append((parsed, Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))))
            }
        }

        let decisions = request.policy.plan(backups, now: request.now)
        for decision in decisions {
            let name = decision.backup.name
            let sidecar = name + ".sha256"
            let hasSidecar = sidecars.contains(sidecar)
            let rule = decision.rule.rawValue
            if decision.keep {
                entries.append(Entry(path: path(name), kind: decision.backup.kind.rawValue, action: .kept, rule: rule, bytes: -1, date: decision.date))
                if hasSidecar { entries.append(Entry(path: path(sidecar), kind: "sidecar", action: .kept, rule: rule, bytes: -1, date: nil)) }
            } else {
                let bytes = try delete(name)
                entries.append(Entry(path: path(name), kind: decision.backup.kind.rawValue, action: .deleted, rule: rule, bytes: bytes, date: decision.date))
                if hasSidecar {
                    let sidecarBytes = try delete(sidecar)
                    entries.append(Entry(path: path(sidecar), kind: "sidecar", action: .deleted, rule: rule, bytes: sidecarBytes, date: nil))
                }
            }
        }
        // Sidecars whose backup is not there.
        for sidecar in sidecars.sorted() where !backupNames.contains(String(sidecar.dropLast(7))) {
            let bytes = try delete(sidecar)
            entries.append(Entry(path: path(sidecar), kind: "sidecar", action: .deleted, rule: "orphan sidecar", bytes: bytes, date: nil))
        }
        return entries

        /// Deletes one of our files (unless a dry run) and returns its size. Checks right before
        /// that it is still a regular file, never a link.
        @discardableResult
        func delete(_ name: String) throws -> Int64 {
            guard let info = lstatOf(name), (info.st_mode & S_IFMT) == S_IFREG else { return 0 }
            if !request.dryRun, unlinkat(dirFD, name, 0) != 0, errno != ENOENT {
                throw CDBError.io(path: path(name), reason: "cannot delete: \(String(cString: strerror(errno)))")
            }
            return Int64(info.st_size)
        }
    }
}
