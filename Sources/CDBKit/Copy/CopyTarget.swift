import Crypto
import Dispatch
import FoundationEssentials
import Glibc

/// Where `cdb-copy` puts copies: a local folder (a mounted USB disk) or an rclone remote. The
/// layout mirrors the backup root (`PostgreSQL/`, `Repository/`). Every object is uploaded under
/// a temporary name and moved into place only when complete, so an interrupted copy never leaves
/// a final name that does not decrypt.
public protocol CopyTarget {
    /// What messages call it (never a secret: rclone keeps credentials in its own config).
    var display: String { get }
    /// Every object under the layout's folders, "PostgreSQL/name" → size. Throws when the
    /// destination cannot be listed (nothing may then be deleted).
    func list() throws -> [String: Int64]
    /// Writes `relative` by handing a sink to `produce`; returns the bytes written.
    func upload(_ relative: String, _ produce: (ByteSink) throws -> Void) throws -> Int64
    /// Deletes one object.
    func remove(_ relative: String) throws
}

/// The prefix of temporary names at a destination (never one of cdb's backup names).
let copyTemporaryPrefix = ".cdb-tmp-"

/// Picks the kind of destination from its text: `name:path` or `:backend,…:path` is an rclone
/// remote; anything else is a folder.
public func copyTarget(_ text: String, rclone: String) throws -> CopyTarget {
    if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
        return RcloneTarget(remote: text, rclone: rclone)
    }
    return try FolderTarget(path: text)
}

// MARK: A folder

/// A local folder: temp name, fsync, rename (as for local backups). The folder itself must exist
/// (a USB disk not mounted is "unreachable", never a new folder on the laptop's own disk).
public struct FolderTarget: CopyTarget {
    public let path: String
    public var display: String { path }

    public init(path: String) throws {
        let expanded = path == "~" || path.hasPrefix("~/") ? Path.home + path.dropFirst() : path
        self.path = expanded
    }

    private func checkReachable() throws {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CDBError.destinationUnreachable(destination: path, reason: "no such folder")
        }
    }

    public func list() throws -> [String: Int64] {
        try checkReachable()
        var out: [String: Int64] = [:]
        for kind in BackupRoot.Kind.allCases {
            let folder = Path.join(path, kind.rawValue)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names {
                var info = stat()
                guard lstat(Path.join(folder, name), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                out[kind.rawValue + "/" + name] = Int64(info.st_size)
            }
        }
        return out
    }

    public func upload(_ relative: String, _ produce: (ByteSink) throws -> Void) throws -> Int64 {
        try checkReachable()
        let folder = Path.join(path, Path.directory(of: relative))
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw CDBError.cannotCreate(path: folder, reason: String(cString: strerror(errno)))
        }
        let file = try AtomicFile(directory: folder, stem: Path.name(of: relative))
        try produce(file.sink)
        try file.sync()
        try file.commit(replacing: Path.join(path, relative))
        return file.sink.bytesWritten
    }

    public func remove(_ relative: String) throws {
        if unlink(Path.join(path, relative)) != 0 && errno != ENOENT {
            throw CDBError.io(path: Path.join(path, relative), reason: "cannot delete: \(String(cString: strerror(errno)))")
        }
    }
}

// MARK: An rclone remote

/// An rclone remote (`name:bucket/path`, or an on-the-fly `:sftp,host=…:path`). rclone owns the
/// credentials (its config file or RCLONE_CONFIG_* variables); cdb passes none and never prints
/// rclone's arguments or environment. Uploads stream into `rclone rcat` under a temporary name,
/// then `rclone moveto` puts the object in place (a rename on local and sftp backends; on S3 a
/// copy, where an upload appears only once complete anyway).
public struct RcloneTarget: CopyTarget {
    public let remote: String
    public let rclone: String
    public var display: String { remote }

    private func path(_ relative: String) -> String {
        remote.hasSuffix(":") || remote.hasSuffix("/") ? remote + relative : remote + "/" + relative
    }

    /// Runs rclone; returns its standard output. A failure is mapped from its message: refused or
    /// unreachable 69, authentication 78, no space 74.
    @discardableResult
    func run(_ arguments: [String], input: ((Int32) throws -> Void)? = nil, what: String) throws -> [UInt8] {
        let child: ChildProcess
        do { child = try ChildProcess([rclone] + arguments, captureOutput: true) } catch {
            throw CDBError.configuration("cannot run rclone (\(rclone)): install Debian's rclone package or set CDB_RCLONE")
        }
        final class Box: @unchecked Sendable { var output = [UInt8](); var errors = [UInt8]() }
        let box = Box(), readers = DispatchGroup()
        readers.enter()
        // Blocking pipe reads get threads of their own: on the global queue they could take all of
        // its few threads (one per core) and starve the work that would end them.
        detachThread { box.output = child.readOutput(); readers.leave() }
        readers.enter()
        detachThread { box.errors = child.readErrors(); readers.leave() }
        var failure: Error?
        if let input {
            do { try input(child.input) } catch { failure = error; child.terminate() }
        }
        child.closeInput()
        readers.wait()
        let status = child.waitForExit()
        if let failure { throw failure }
        guard status == 0 else { throw Self.error(String(decoding: box.errors, as: UTF8.self), remote: remote, what: what) }
        return box.output
    }

    static func error(_ message: String, remote: String, what: String) -> CDBError {
        let lower = message.lowercased()
        // rclone's last error line says what happened; keep it short and printable.
        let line = message.split(separator: "\n").last { $0.contains("ERROR") || $0.contains("Failed") || $0.contains("error") }.map(String.init)
            ?? message.split(separator: "\n").last.map(String.init) ?? "rclone failed"
        let reason = Untrusted.escape(line.trimmed())
        if lower.contains("no space left") || lower.contains("quota") || lower.contains("insufficient storage") {
            return .io(path: remote, reason: "\(what): the destination is full: \(reason)")
        }
        if lower.contains("unable to authenticate") || lower.contains("permission denied") || lower.contains("access denied")
            || lower.contains("invalidaccesskeyid") || lower.contains("signaturedoesnotmatch") || lower.contains("didn't find section in config file")
            || lower.contains("config file") && lower.contains("not found") {
            return .configuration("\(remote): \(what): authentication or configuration failed: \(reason) — check the remote with rclone config")
        }
        return .destinationUnreachable(destination: remote, reason: "\(what): \(reason)")
    }

    struct Listed: Decodable {
        let Path: String
        let Size: Int64
        let IsDir: Bool?
    }

    public func list() throws -> [String: Int64] {
        let output = try run(["lsjson", "-R", "--files-only", "--no-mimetype", "--no-modtime", remote], what: "listing")
        let entries: [Listed]
        do { entries = try JSONDecoder().decode([Listed].self, from: Data(output)) } catch {
            throw CDBError.destinationUnreachable(destination: remote, reason: "rclone's listing could not be read")
        }
        var out: [String: Int64] = [:]
        for entry in entries where entry.IsDir != true {
            let parts = entry.Path.split(separator: "/", maxSplits: 1)
            guard parts.count == 2, BackupRoot.Kind(rawValue: String(parts[0])) != nil, !parts[1].contains("/") else { continue }
            out[entry.Path] = entry.Size
        }
        return out
    }

    public func upload(_ relative: String, _ produce: (ByteSink) throws -> Void) throws -> Int64 {
        let temporary = Path.directory(of: relative) + "/" + copyTemporaryPrefix + "\(getpid())-" + Path.name(of: relative)
        var written: Int64 = 0
        try withoutActuallyEscaping(produce) { produce in
            try run(["rcat", path(temporary)], input: { fd in
                let sink = DescriptorSink(fd: fd, path: "rclone rcat", ownsDescriptor: false)
                sink.hashing = false
                try produce(sink)
                written = sink.bytesWritten
            }, what: "uploading \(relative)")
        }
        do {
            try run(["moveto", path(temporary), path(relative)], what: "moving \(relative) into place")
        } catch {
            try? remove(temporary)
            throw error
        }
        return written
    }

    public func remove(_ relative: String) throws {
        try run(["deletefile", path(relative)], what: "deleting \(relative)")
    }
}

