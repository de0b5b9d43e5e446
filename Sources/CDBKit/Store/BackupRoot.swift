import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The backup root and its two folders, with DESIGN.md's file names.
public struct BackupRoot: Sendable {
    public let path: String

    public enum Kind: String, Sendable, CaseIterable {
        case postgres = "PostgreSQL"
        case repository = "Repository"
    }

    public init(path: String) { self.path = path }

    public func folder(_ kind: Kind) -> String { (path as NSString).appendingPathComponent(kind.rawValue) }

    /// Creates the root and the folder of `kind` (0700), removes what crashed runs left there,
    /// and returns the folder's path.
    public func prepare(_ kind: Kind) throws -> String {
        try Self.refuseSystemRoot(path)
        try Self.makeDirectory(path)
        let folder = folder(kind)
        try Self.makeDirectory(folder)
        AtomicFile.removeAbandoned(in: folder)
        return folder
    }

    /// A backup root that is (or leads to) `/` is a mistake, whatever program is run.
    static func refuseSystemRoot(_ path: String) throws {
        if URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path == "/" {
            throw CDBError.configuration("refusing \(path) as a backup root: it is, or leads to, / — set --backup-root to the backup folder")
        }
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
        let parent = (path as NSString).deletingLastPathComponent
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
            date = String(format: "%04d-%02d-%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday)
            minute = String(format: "%02d%02d", parts.tm_hour, parts.tm_min)
            second = minute + String(format: "%02d", parts.tm_sec)
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
        try BackupRoot.refuseSystemRoot(root)
        try BackupRoot.makeDirectory(root)
        let path = (root as NSString).appendingPathComponent(".lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw CDBError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB
        let deadline = Date().addingTimeInterval(wait)
        while flock(fd, operation) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                close(fd)
                throw CDBError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
            }
            if Date() >= deadline {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                close(fd)
                throw CDBError.locked(path: path, holder: holder.isEmpty ? "waited \(Int(wait)) s" : "held by \(holder); waited \(Int(wait)) s")
            }
            usleep(50_000)
        }
        if mode == .exclusive {
            let note = "pid \(getpid()) (\(CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent } ?? "cdb"))\n"
            _ = ftruncate(fd, 0)
            _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
        }
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
    public static func append(folder: String, title: String, fields: [(String, String)], at when: Date = Date()) -> String? {
        var t = time_t(when.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        let stamp = String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                           parts.tm_hour, parts.tm_min, parts.tm_sec)
        var text = "[\(stamp)] \(title)\n"
        for (key, value) in fields {
            text += "  \(key): \(value.replacingOccurrences(of: "\n", with: " "))\n"
        }
        let path = (folder as NSString).appendingPathComponent("backup_log.txt")
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? nil : "\(path): \(String(cString: strerror(errno)))"
    }
}

/// Human sizes as the original scripts printed them.
public enum ByteSize {
    public static func format(_ bytes: Int64) -> String {
        let b = Double(bytes)
        if b >= 1024 * 1024 * 1024 { return String(format: "%.2f GB", b / 1024 / 1024 / 1024) }
        if b >= 1024 * 1024 { return String(format: "%.2f MB", b / 1024 / 1024) }
        if b >= 1024 { return String(format: "%.2f KB", b / 1024) }
        return "\(bytes) B"
    }
}
