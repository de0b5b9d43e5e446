import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The backup root and its two folders, with the file names the README documents.
public struct BackupRoot: Sendable {
    public let path: String

    public enum Kind: String, Sendable, CaseIterable {
        case postgres = "PostgreSQL"
        case repository = "Repository"
    }

    public init(path: String) { self.path = path }

    public func folder(_ kind: Kind) -> String { Path.join(path, kind.rawValue) }

    /// Creates the root and the folder of `kind` (0700), removes what crashed runs left there,
    /// and returns the folder's path.
    public func prepare(_ kind: Kind) throws -> String {
        try Self.refuseUnsafe(path)
        try Self.makeDirectory(path)
        let folder = folder(kind)
        try Self.makeDirectory(folder)
        AtomicFile.removeAbandoned(in: folder)
        return folder
    }

    /// Folders that are never a backup root; the first group not even their subfolders.
    static let systemTrees = ["/proc", "/sys", "/dev", "/boot", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/run"]
    static let systemFolders = ["/", "/home", "/root", "/tmp", "/var", "/var/tmp", "/opt", "/mnt", "/media", "/srv", "/snap"]

    /// A backup root must be absolute, not `/`, `$HOME` or a system folder, and not inside any
    /// git work tree (a repository could otherwise receive, or plant files in, the backups).
    /// `setting` names where the value came from; the error is a configuration error (78).
    public static func validate(_ path: String, setting: String, home: String) throws {
        func refuse(_ why: String) -> CDBError {
            .configuration("refusing \(Untrusted.escape(path)) as the backup root (\(setting)): \(why) — set CDB_BACKUP_ROOT (or --backup-root) to an absolute folder of its own, e.g. ~/Claire_Backups")
        }
        guard path.hasPrefix("/") else { throw refuse("not an absolute path") }
        // The physical path: the nearest existing ancestor resolved, the rest appended.
        var existing = path, rest: [String] = []
        while WorkTree.physical(existing) == nil {
            let parent = Path.directory(of: existing)
            if parent == existing || parent.isEmpty { break }
            rest.insert(Path.name(of: existing), at: 0)
            existing = parent
        }
        var physical = WorkTree.physical(existing) ?? existing
        for part in rest where part != "." && !part.isEmpty {
            physical = part == ".." ? Path.directory(of: physical) : Path.join(physical, part)
        }
        let homePhysical = WorkTree.physical(home) ?? home
        if physical == homePhysical { throw refuse("that is your home folder") }
        if systemFolders.contains(physical) { throw refuse("that is a system folder") }
        if systemTrees.contains(where: { physical == $0 || physical.hasPrefix($0 + "/") }) { throw refuse("that is inside a system folder") }
        if let tree = WorkTree.enclosing(path) {
            throw refuse("that is inside the git work tree \(Untrusted.escape(tree))")
        }
    }

    /// The one root check at the moment of use (creating folders, taking the lock): the same
    /// rules as `validate`, which settings apply when they are resolved.
    static func refuseUnsafe(_ path: String) throws {
        try validate(path, setting: "the backup root", home: ProcessInfo.processInfo.environment["HOME"] ?? Path.home)
    }

    static func makeDirectory(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFLNK {
                // A link is followed only when it leads to a directory.
                guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw CDBError.cannotCreate(path: path, reason: "it is a symbolic link that does not lead to a directory")
                }
                return
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw CDBError.cannotCreate(path: path, reason: "it exists and is not a directory — choose another --backup-root")
            }
            return
        }
        let parent = Path.directory(of: path)
        if !parent.isEmpty, parent != path, lstat(parent, &info) != 0 { try makeDirectory(parent) }
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            let code = errno
            if code == ENOSPC { throw CDBError.fromWrite(errno: code, path: path) }
            throw CDBError.cannotCreate(path: path, reason: String(cString: strerror(code)))
        }
    }

    /// `20251125_2227`-style pieces of a local time.
    public struct Stamp: Sendable {
        public let date: String    // 2025-11-25
        public let minute: String  // 2227
        public let second: String  // 222715

        public init(_ when: Date = Date()) {
            var t = time_t(when.timeIntervalSince1970)
            var parts = tm()
            localtime_r(&t, &parts)
            date = Timestamp.date(parts)
            minute = Format.zeroPadded(parts.tm_hour, width: 2) + Format.zeroPadded(parts.tm_min, width: 2)
            second = minute + Format.zeroPadded(parts.tm_sec, width: 2)
        }
    }

    /// The names to try, in order, for a backup made at `stamp`: minutes, then seconds, then
    /// seconds with a counter. `suffix` follows the time (e.g. "_0e4fbd3.zip" or ".sql.zst").
    public static func candidateNames(prefix: String, stamp: Stamp, suffix: String) -> AnySequence<String> {
        AnySequence { () -> AnyIterator<String> in
            var attempt = 0
            return AnyIterator {
                attempt += 1
                switch attempt {
                case 1: return "\(prefix)_\(stamp.date)_\(stamp.minute)\(suffix)"
                case 2: return "\(prefix)_\(stamp.date)_\(stamp.second)\(suffix)"
                case 3...10_000: return "\(prefix)_\(stamp.date)_\(stamp.second)_\(attempt - 1)\(suffix)"
                default: return nil
                }
            }
        }
    }
}

/// The backup root's `.lock`: writers share it, pruning takes it alone.
public final class RootLock {
    private let fd: Int32

    public enum Mode { case shared, exclusive }

    /// Takes the lock, waiting up to `wait` seconds.
    public init(root: String, mode: Mode, wait: Double) throws {
        try BackupRoot.refuseUnsafe(root)
        try BackupRoot.makeDirectory(root)
        let path = Path.join(root, ".lock")
        fd = try OwnedFile.open(path, flags: O_RDWR)
        let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB
        let deadline = Date().addingTimeInterval(wait)
        while flock(fd, operation) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(fd)
                throw CDBError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
            }
            if Date() >= deadline {
                let holders = Self.holders(of: fd)
                close(fd)
                throw CDBError.locked(path: path, holder: holders.isEmpty ? "waited \(Int(wait)) s" : "held by \(holders.joined(separator: ", ")); waited \(Int(wait)) s")
            }
            usleep(50_000)
        }
    }

    /// The processes holding a lock on the file open at `fd`, read from /proc/locks (which
    /// lists every holder, shared ones too): "pid 42 (cdb-repo-snap)".
    static func holders(of fd: Int32) -> [String] {
        var info = stat()
        guard fstat(fd, &info) == 0, let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return [] }
        let me = getpid()
        var seen = Set<Int32>()
        var result: [String] = []
        for line in table.split(separator: "\n") {
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters carry "->").
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]), pid != me, !seen.contains(pid) else { continue }
            let device = fields[5].split(separator: ":")
            guard device.count == 3, UInt64(device[2]) == UInt64(info.st_ino) else { continue }
            seen.insert(pid)
            let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
                .trimmed() ?? "?"
            result.append("pid \(pid) (\(Untrusted.escape(name)), \(fields[3] == "WRITE" ? "exclusive" : "shared"))")
        }
        return result
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// `backup_log.txt` in a backup folder, in the original scripts' layout.
public enum BackupLog {
    /// Appends one entry: a `[YYYY-MM-DD HH:MM:SS] title` line, then indented `Key: value` lines.
    /// A log that cannot be written never fails the backup; the reason is returned instead.
    @discardableResult
    public static func append(folder: String, title: String, fields: [(String, String)], at when: Date = Date(), file: String = "backup_log.txt") -> String? {
        let text = entry(title: title, fields: fields, at: when)
        let path = Path.join(folder, file)
        let fd: Int32
        do { fd = try OwnedFile.open(path, flags: O_WRONLY | O_APPEND) } catch let error as CDBError {
            return error.errorDescription ?? path
        } catch { return path }
        defer { close(fd) }
        do {
            try Array(text.utf8).withUnsafeBytes { try FileIO.writeAll(fd, $0, path: path) }
            return nil
        } catch {
            return (error as? CDBError)?.errorDescription ?? path
        }
    }

    /// One entry's text. Every value may come from a repository, a database or a file name: an
    /// entry is always exactly its own lines, with no control characters.
    public static func entry(title: String, fields: [(String, String)], at when: Date = Date()) -> String {
        var t = time_t(when.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        var text = "[\(Timestamp.dateAndTime(parts))] \(Untrusted.escape(title))\n"
        for (key, value) in fields {
            text += "  \(Untrusted.escape(key)): \(Untrusted.escape(value))\n"
        }
        return text
    }
}

/// Human sizes as the original scripts printed them.
public enum ByteSize {
    /// "1048576", "512K", "10M", "2G" (1024-based; a trailing "B" or "iB" is allowed); nil otherwise.
    public static func parse(_ text: String) -> Int64? {
        var t = text.trimmedSpaces().uppercased()
        if t.hasSuffix("IB") { t.removeLast(2) } else if t.hasSuffix("B") { t.removeLast() }
        var factor: Int64 = 1
        if let last = t.last, let shift = ["K": 10, "M": 20, "G": 30, "T": 40][String(last)] {
            factor = 1 << shift
            t.removeLast()
        }
        guard let number = Int64(t), number >= 0 else { return nil }
        let (value, overflow) = number.multipliedReportingOverflow(by: factor)
        return overflow ? nil : value
    }

    public static func format(_ bytes: Int64) -> String {
        let b = Double(bytes)
        if b >= 1024 * 1024 * 1024 { return Format.fixed(b / 1024 / 1024 / 1024) + " GB" }
        if b >= 1024 * 1024 { return Format.fixed(b / 1024 / 1024) + " MB" }
        if b >= 1024 { return Format.fixed(b / 1024) + " KB" }
        return "\(bytes) B"
    }
}
