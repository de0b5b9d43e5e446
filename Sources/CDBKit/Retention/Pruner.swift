import Foundation

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
        public var lockWait: Double = 30
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

    /// Refuses roots whose pruning could only be a mistake.
    public static func checkRoot(_ path: String, home: String) throws {
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let homeResolved = URL(fileURLWithPath: home).standardizedFileURL.resolvingSymlinksInPath().path
        if resolved == "/" { throw CDBError.configuration("refusing to prune / as a backup root; set --backup-root to the backup folder") }
        if resolved == homeResolved {
            throw CDBError.configuration("refusing to prune your home folder (\(home)) as a backup root; set --backup-root to e.g. \(home)/Claire_Backups")
        }
    }

    public func run(home: String = NSHomeDirectory()) throws -> Result {
        try request.policy.validate()
        try Self.checkRoot(request.root, home: home)
        let folders = request.folders.isEmpty
            ? BackupRoot.Kind.allCases.map { BackupRoot(path: request.root).folder($0) }
            : request.folders
        for folder in folders { try Self.checkRoot(folder, home: home) }
        var info = stat()
        guard stat(request.root, &info) == 0 else {
            throw CDBError.inputMissing(path: request.root, reason: "no such backup root")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CDBError.configuration("\(request.root) is not a directory; set --backup-root to the backup folder")
        }
        let lock = try RootLock(root: request.root, mode: .exclusive, wait: request.lockWait)
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
        closedir(dir)

        var entries: [Entry] = []
        var backups: [(BackupName, Date)] = []
        var sizes: [String: Int64] = [:]
        var sidecars: [String] = []
        let present = Set(names.map { $0.0 })
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func lstatOf(_ name: String) -> stat? {
            var info = stat()
            return lstat(path(name), &info) == 0 ? info : nil
        }
        for (name, type) in names {
            let isLinkOrOther = type == UInt8(DT_LNK) || (type != UInt8(DT_REG) && type != UInt8(DT_UNKNOWN))
            if name.hasPrefix(AtomicFile.temporaryPrefix) {
                guard !isLinkOrOther, let info = lstatOf(name), (info.st_mode & S_IFMT) == S_IFREG else { continue }
                let mtime = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
                if request.now.timeIntervalSince(mtime) > 86_400 {
                    entries.append(Entry(path: path(name), kind: "temporary", action: .deleted, rule: "leftover of a crashed run",
                                         bytes: Int64(info.st_size), date: mtime))
                } else {
                    entries.append(Entry(path: path(name), kind: "temporary", action: .ignored, rule: "in progress or recent", bytes: 0, date: mtime))
                }
                continue
            }
            if let target = BackupName.sidecarTarget(name), BackupName.parse(target) != nil {
                guard !isLinkOrOther, let info = lstatOf(name), (info.st_mode & S_IFMT) == S_IFREG else {
                    entries.append(Entry(path: path(name), kind: "sidecar", action: .ignored, rule: "not a regular file", bytes: 0, date: nil))
                    continue
                }
                sizes[name] = Int64(info.st_size)
                sidecars.append(name)
                continue
            }
            guard let parsed = BackupName.parse(name) else {
                entries.append(Entry(path: path(name), kind: "foreign", action: .ignored, rule: "not a backup name of ours", bytes: 0, date: nil))
                continue
            }
            guard !isLinkOrOther, let info = lstatOf(name), (info.st_mode & S_IFMT) == S_IFREG else {
                entries.append(Entry(path: path(name), kind: parsed.kind.rawValue, action: .ignored, rule: "a symbolic link or not a regular file", bytes: 0, date: nil))
                continue
            }
            sizes[name] = Int64(info.st_size)
            let date = parsed.stamp ?? Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
            backups.append((parsed, date))
        }

        let decisions = request.policy.plan(backups, now: request.now)
        var deletedNames = Set<String>()
        for decision in decisions {
            let name = decision.backup.name
            let sidecar = name + ".sha256"
            let hasSidecar = present.contains(sidecar) && sizes[sidecar] != nil
            if decision.keep {
                entries.append(Entry(path: path(name), kind: decision.backup.kind.rawValue, action: .kept, rule: decision.rule.rawValue,
                                     bytes: sizes[name] ?? 0, date: decision.date))
                if hasSidecar {
                    entries.append(Entry(path: path(sidecar), kind: "sidecar", action: .kept, rule: decision.rule.rawValue, bytes: sizes[sidecar] ?? 0, date: nil))
                }
            } else {
                try delete(name)
                deletedNames.insert(name)
                entries.append(Entry(path: path(name), kind: decision.backup.kind.rawValue, action: .deleted, rule: decision.rule.rawValue,
                                     bytes: sizes[name] ?? 0, date: decision.date))
                if hasSidecar {
                    try delete(sidecar)
                    entries.append(Entry(path: path(sidecar), kind: "sidecar", action: .deleted, rule: decision.rule.rawValue, bytes: sizes[sidecar] ?? 0, date: nil))
                }
            }
        }
        // Sidecars whose backup is gone (and was not just deleted with them).
        for sidecar in sidecars {
            let target = String(sidecar.dropLast(7))
            if present.contains(target) { continue }
            try delete(sidecar)
            entries.append(Entry(path: path(sidecar), kind: "sidecar", action: .deleted, rule: "orphan sidecar", bytes: sizes[sidecar] ?? 0, date: nil))
        }
        for entry in entries where entry.action == .deleted && entry.kind == "temporary" {
            try delete((entry.path as NSString).lastPathComponent)
        }
        return entries

        func delete(_ name: String) throws {
            guard !request.dryRun else { return }
            // Re-check right before deleting: still a regular file, never a link.
            var info = stat()
            guard lstat(path(name), &info) == 0 else { return }
            guard (info.st_mode & S_IFMT) == S_IFREG else { return }
            if unlink(path(name)) != 0 && errno != ENOENT {
                throw CDBError.io(path: path(name), reason: "cannot delete: \(String(cString: strerror(errno)))")
            }
        }
    }
}
