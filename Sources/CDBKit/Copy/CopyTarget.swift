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
    /// Writes `relative` by handing a sink to `produce` (`size` bytes, when known: some
    /// remotes upload faster knowing it); returns the bytes written.
    func upload(_ relative: String, size: Int64?, _ produce: (ByteSink) throws -> Void) throws -> Int64
    /// Deletes one object.
    func remove(_ relative: String) throws
    /// The hash the destination reports for its objects, checked after every upload; nil: it
    /// reports none (the size is checked).
    func reportedHash() throws -> CopyHash?
    /// An object's size, and its `hash` (hex) where the destination has it; nil when the
    /// object is not there.
    func inspect(_ relative: String, hash: CopyHash?) throws -> (size: Int64, hash: String?)?
    /// Copies the object to the local file `local` (which must not exist yet).
    func download(_ relative: String, to local: String) throws
    /// A hint, before the listing: `relative` (`size` bytes) will probably be uploaded next —
    /// the destination may start connecting for it now. Undone by `cancelPrepared`.
    func prepareUpload(_ relative: String, size: Int64)
    /// Drops a prepared upload that was not used (and what it left at the destination).
    func cancelPrepared()
}

extension CopyTarget {
    public func prepareUpload(_ relative: String, size: Int64) {}
    public func cancelPrepared() {}
}

/// Hashes a destination may report, best first.
public enum CopyHash: String, CaseIterable, Sendable {
    case sha256, sha1, md5

    /// A running hash of this kind.
    func start() -> any HashFunction {
        switch self {
        case .sha256: SHA256()
        case .sha1: Insecure.SHA1()
        case .md5: Insecure.MD5()
        }
    }
}

/// `relative` under a destination as the user writes it: `b2:bucket` + `PostgreSQL/x` is
/// `b2:bucket/PostgreSQL/x`, `b2:` + it is `b2:PostgreSQL/x`.
public func destinationPath(_ destination: String, _ relative: String) -> String {
    destination.hasSuffix("/") || destination.hasSuffix(":") ? destination + relative : destination + "/" + relative
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
            // Not made yet: nothing there. Anything else that cannot be read is a listing that
            // failed, and then nothing may be copied or deleted.
            var info = stat()
            if lstat(folder, &info) != 0 && errno == ENOENT { continue }
            guard (info.st_mode & S_IFMT) == S_IFDIR, let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
                throw CDBError.io(path: folder, reason: "the destination's folder cannot be listed (not a folder, or unreadable); nothing was copied or deleted")
            }
            for name in names {
                var info = stat()
                guard lstat(Path.join(folder, name), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                out[kind.rawValue + "/" + name] = Int64(info.st_size)
            }
        }
        return out
    }

    public func upload(_ relative: String, size: Int64?, _ produce: (ByteSink) throws -> Void) throws -> Int64 {
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

    /// A local file was fsynced by this program: its size is the check (--verify reads it back).
    public func reportedHash() throws -> CopyHash? { nil }

    public func inspect(_ relative: String, hash: CopyHash?) throws -> (size: Int64, hash: String?)? {
        var info = Glibc.stat()
        guard lstat(Path.join(path, relative), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int64(info.st_size), nil)
    }

    public func download(_ relative: String, to local: String) throws {
        let source = Path.join(path, relative)
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else { throw CDBError.inputMissing(path: source, reason: String(cString: strerror(errno))) }
        defer { close(input) }
        let output = open(local, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw CDBError.cannotCreate(path: local, reason: String(cString: strerror(errno))) }
        let sink = DescriptorSink(fd: output, path: local, ownsDescriptor: true)
        sink.hashing = false
        try FileIO.forEachChunk(input, path: source) { try sink.write($0) }
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
/// rclone's arguments or environment. One `rclone rcd` serves the whole run (RcloneDaemon):
/// uploads stream into it under a temporary name, then a move puts the object in place (a
/// rename on local and sftp backends; on S3 a server-side copy, where an upload appears only
/// once complete anyway).
public final class RcloneTarget: CopyTarget {
    public let remote: String
    public let rclone: String
    public var display: String { remote }
    private var started: RcloneDaemon?

    public init(remote: String, rclone: String) {
        self.remote = remote
        self.rclone = rclone
    }

    private func daemon() throws -> RcloneDaemon {
        if let started { return started }
        guard let program = ChildProcess.find(rclone) else {
            throw CDBError.configuration("cannot run rclone (\(Untrusted.escape(rclone))): install Debian's rclone package or set CDB_RCLONE")
        }
        do {
            let daemon = try RcloneDaemon(rclone: program)
            started = daemon
            return daemon
        } catch let failure as RcloneDaemon.Failure {
            throw CDBError.configuration("rclone (\(Untrusted.escape(program))) could not start its remote control: \(Untrusted.escape(failure.message.trimmed()))")
        }
    }

    /// Calls rclone; a failure is mapped from its message: refused or unreachable 69,
    /// authentication 78, no space 74.
    private func call(_ command: String, _ parameters: [String: Any], what: String) throws -> [UInt8] {
        let daemon = try daemon()
        do { return try daemon.call(command, JSON(any: parameters)) } catch let failure as RcloneDaemon.Failure {
            throw Self.error(failure.message, remote: remote, what: what)
        }
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
        let Hashes: [String: String]?
    }

    private func listing(hashes: Bool) throws -> [Listed] {
        let reply: [UInt8]
        do {
            reply = try call("operations/list", ["fs": listingRemote, "remote": "", "opt": [
                "recurse": true, "filesOnly": true, "noMimeType": true, "noModTime": true, "showHash": hashes,
            ]], what: "listing")
        } catch let error as CDBError where "\(error)".contains("directory not found") {
            return []  // a folder not made yet holds nothing (the first upload makes it)
        }
        struct Reply: Decodable { let list: [Listed] }
        do { return try JSONDecoder().decode(Reply.self, from: Data(reply)).list } catch {
            throw CDBError.destinationUnreachable(destination: remote, reason: "rclone's listing could not be read")
        }
    }

    /// The remote for listings: on SFTP, rclone asks the server whether `md5sum` and `sha1sum`
    /// run before anything else (two remote commands, about a quarter second); a listing needs
    /// no hash, so it goes without (other backends ignore the two settings). Only for remotes
    /// written plainly (`name:path`, `:type,key=value:path` without quotes).
    var listingRemote: String {
        guard let colon = remote.dropFirst().firstIndex(of: ":"), !remote[..<colon].contains("\""), !remote[..<colon].contains("'") else { return remote }
        return remote[..<colon] + ",md5sum_command=none,sha1sum_command=none" + remote[colon...]
    }

    public func list() throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        for entry in try listing(hashes: false) where entry.IsDir != true {
            let parts = entry.Path.split(separator: "/", maxSplits: 1)
            guard parts.count == 2, BackupRoot.Kind(rawValue: String(parts[0])) != nil, !parts[1].contains("/") else { continue }
            out[entry.Path] = entry.Size
        }
        return out
    }

    /// Uploads under a temporary name, then moves the object into place. An object larger than
    /// the daemon's streaming cutoff goes through its own `rclone rcat --size N` (rclone then
    /// streams it with several writes in flight, where an upload of unknown size through the
    /// remote control writes one block at a time: half the speed on SFTP, a multipart upload
    /// on S3); smaller ones through the daemon, which sends them as one request.
    public func upload(_ relative: String, size: Int64?, _ produce: (ByteSink) throws -> Void) throws -> Int64 {
        let folder = Path.directory(of: relative)
        let temporary = copyTemporaryPrefix + "\(getpid())-" + Path.name(of: relative)
        var written: Int64 = 0
        let daemon = try daemon()
        do {
            if let size, size > RcloneDaemon.streamingCutoff {
                let child: Rcat
                if let prepared, prepared.relative == relative, prepared.size == size {
                    child = prepared.child
                    self.prepared = nil
                } else {
                    child = try startRcat(path(folder + "/" + temporary), size: size)  // (a prepared one waits its turn)
                }
                try feed(child) { sink in
                    let counted = CountingSink(next: sink)
                    try produce(counted)
                    written = counted.count
                }
            } else {
                try daemon.upload(fs: remote, remote: folder, name: temporary) { sink in
                    let counted = CountingSink(next: sink)
                    try produce(counted)
                    written = counted.count
                }
            }
        } catch let failure as RcloneDaemon.Failure {
            var error = Self.error(failure.message, remote: remote, what: "uploading \(relative)")
            // SFTP servers say only "Failure" when their disk is full: ask what is free.
            if case .io = error {} else if let size, let free = freeSpace(), free < size {
                error = .io(path: remote, reason: "uploading \(relative): the destination is full (\(ByteSize.format(free)) free, \(ByteSize.format(size)) needed)")
            }
            // (An unreachable destination cannot delete either: the next run removes it.)
            if case .destinationUnreachable = error {} else { try? remove(folder + "/" + temporary) }
            throw error
        } catch {
            try? remove(folder + "/" + temporary)
            throw error
        }
        if let size, written != size {
            try? remove(folder + "/" + temporary)
            throw CDBError.io(path: remote + "/" + relative, reason: "\(written) bytes were produced where \(size) were announced; nothing was put in place")
        }
        do {
            _ = try call("operations/movefile", ["srcFs": remote, "srcRemote": folder + "/" + temporary, "dstFs": remote, "dstRemote": relative],
                         what: "moving \(relative) into place")
        } catch {
            try? remove(folder + "/" + temporary)
            throw error
        }
        return written
    }

    private func path(_ relative: String) -> String { destinationPath(remote, relative) }

    /// A running `rclone rcat --size N`, its standard error collected by a thread of its own.
    final class Rcat {
        final class Box: @unchecked Sendable { var errors = [UInt8]() }
        let child: ChildProcess
        let box = Box()
        let reader = DispatchGroup()
        init(_ child: ChildProcess) {
            self.child = child
            reader.enter()
            let box = self.box, reader = self.reader
            // A blocking read: a thread of its own, never one of the global queue's few.
            detachThread { box.errors = child.readErrors(); reader.leave() }
        }
    }

    /// The upload started before the listing (`prepareUpload`), not fed yet.
    private var prepared: (relative: String, size: Int64, temporary: String, child: Rcat)?

    /// Starts the upload of the object `relative` most likely to be copied, so that rclone's
    /// start and its SSH or TLS handshake overlap the listing instead of following it.
    public func prepareUpload(_ relative: String, size: Int64) {
        guard size > RcloneDaemon.streamingCutoff, prepared == nil else { return }
        let temporary = Path.directory(of: relative) + "/" + copyTemporaryPrefix + "\(getpid())-" + Path.name(of: relative)
        guard let child = try? startRcat(path(temporary), size: size) else { return }
        prepared = (relative, size, temporary, child)
        // What the destination reports (and, on SFTP, rclone's check of its hash commands) is
        // asked meanwhile too: by the time the upload ends, the check after it need not wait.
        // (Measured: asking again on the main thread when it needs the answer, rather than
        // waiting for this one, is faster: rclone answers the second from the first's work.)
        guard (try? daemon()) != nil else { return }
        detachThread { [self] in _ = try? reportedHash() }
    }

    /// An unused prepared upload: rclone gets no bytes, fails short of its size and exits; what
    /// it may have created under the temporary name is deleted.
    public func cancelPrepared() {
        guard let prepared else { return }
        self.prepared = nil
        prepared.child.child.closeInput()
        prepared.child.reader.wait()
        _ = prepared.child.child.waitForExit()
        try? remove(prepared.temporary)
    }

    /// `rclone rcat --size N` into `target`; dies with cdb (setpriv).
    private func startRcat(_ target: String, size: Int64) throws -> Rcat {
        guard let program = ChildProcess.find(rclone) else {
            throw CDBError.configuration("cannot run rclone (\(Untrusted.escape(rclone))): install Debian's rclone package or set CDB_RCLONE")
        }
        // No hash is asked of rcat (cdb checks each object itself): on SFTP, without these it
        // would first run two remote commands to see whether the server has them.
        return Rcat(try ChildProcess(RcloneDaemon.dyingWithParent([program, "rcat", "--ignore-checksum", "--low-level-retries", "3",
                                                                   "--sftp-md5sum-command", "none", "--sftp-sha1sum-command", "none",
                                                                   "--size", String(size), target]), discardOutput: true))
    }

    /// Feeds a started rcat with what `produce` writes, and waits for it.
    private func feed(_ rcat: Rcat, _ produce: (ByteSink) throws -> Void) throws {
        let child = rcat.child, box = rcat.box, reader = rcat.reader
        var failure: Error?
        do {
            let sink = DescriptorSink(fd: child.input, path: "rclone rcat", ownsDescriptor: false)
            sink.hashing = false
            try produce(sink)
        } catch {
            failure = error
        }
        // Short of its --size, rclone fails the upload (under its temporary name) and exits.
        child.closeInput()
        reader.wait()
        let status = child.waitForExit()
        let rcloneFailed = status != 0 ? RcloneDaemon.Failure(message: String(decoding: box.errors, as: UTF8.self)) : nil
        if let failure {
            // A pipe that broke because rclone gave up: rclone's reason is the one to tell.
            if let rcloneFailed, "\(failure)".contains("rclone rcat") { throw rcloneFailed }
            throw failure
        }
        if let rcloneFailed { throw rcloneFailed }
    }

    /// The destination's free bytes, where the backend tells (rclone's about: SFTP's statvfs,
    /// some clouds' quota); nil when it does not or cannot.
    private func freeSpace() -> Int64? {
        struct About: Decodable { let free: Int64? }
        guard let reply = try? call("operations/about", ["fs": remote], what: "asking for free space") else { return nil }
        return (try? JSONDecoder().decode(About.self, from: Data(reply)))?.free
    }

    public func reportedHash() throws -> CopyHash? {
        if let chosen = hashLock.withLock({ chosenHash }) { return chosen }
        struct Info: Decodable { let Hashes: [String]? }
        let reply = try call("operations/fsinfo", ["fs": remote], what: "asking what the destination supports")
        let offered = Set((try? JSONDecoder().decode(Info.self, from: Data(reply)))?.Hashes ?? [])
        let hash = CopyHash.allCases.first { offered.contains($0.rawValue) }
        hashLock.withLock { chosenHash = .some(hash) }
        return hash
    }
    /// Asked once per run: nil until then, .some(nil) when the destination reports no hash.
    private var chosenHash: CopyHash??
    private let hashLock = Lock()

    public func inspect(_ relative: String, hash: CopyHash?) throws -> (size: Int64, hash: String?)? {
        var options: [String: Any] = ["noMimeType": true, "noModTime": true]
        if let hash { options["showHash"] = true; options["hashTypes"] = [hash.rawValue] }
        let reply = try call("operations/stat", ["fs": remote, "remote": relative, "opt": options], what: "checking \(relative)")
        struct Reply: Decodable { let item: Listed? }
        guard let item = try JSONDecoder().decode(Reply.self, from: Data(reply)).item else { return nil }
        let value = hash.flatMap { item.Hashes?[$0.rawValue] }.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        return (item.Size, value)
    }

    public func download(_ relative: String, to local: String) throws {
        _ = try call("operations/copyfile", ["srcFs": remote, "srcRemote": relative, "dstFs": Path.directory(of: local), "dstRemote": Path.name(of: local)],
                     what: "downloading \(relative)")
    }

    public func remove(_ relative: String) throws {
        _ = try call("operations/deletefile", ["fs": remote, "remote": relative], what: "deleting \(relative)")
    }
}

/// Counts what passes to the next sink.
final class CountingSink: ByteSink {
    let next: ByteSink
    private(set) var count: Int64 = 0
    init(next: ByteSink) { self.next = next }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try next.write(bytes)
        count += Int64(bytes.count)
    }
    func finish() throws { try next.finish() }
}
