import CSystem
import Crypto
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A byte destination.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything; after it the sink takes no more bytes.
    func finish() throws
}

/// Writes to a file descriptor and hashes what it writes (SHA-256).
public final class DescriptorSink: ByteSink {
    public let fd: Int32
    let path: String
    private let ownsDescriptor: Bool
    private(set) var hasher = SHA256()
    public private(set) var bytesWritten: Int64 = 0
    /// Off when the writer will patch bytes already written; then `rehash` reads the file back.
    public var hashing = true
    /// Where the disk writes started by `write` have reached (nil: the sink does not start them).
    private(set) var writtenBack: Int64?
    /// Bytes between two starts of writing back (see `startsWriteback`).
    static let writebackStep: Int64 = 8 << 20

    init(fd: Int32, path: String, ownsDescriptor: Bool) {
        self.fd = fd
        self.path = path
        self.ownsDescriptor = ownsDescriptor
    }

    deinit { if ownsDescriptor { close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if hashing { hasher.update(bufferPointer: bytes) }
        try FileIO.writeAll(fd, UnsafeRawBufferPointer(start: base, count: bytes.count), path: path)
        bytesWritten += Int64(bytes.count)
        if let from = writtenBack, bytesWritten - from >= Self.writebackStep {
            // Advisory: a file system that cannot just leaves it all to the final fsync.
            writtenBack = cdb_start_writeback(fd, from, bytesWritten - from) == 0 ? bytesWritten : nil
        }
    }

    /// Makes `write` start the disk's writing of every 8 MiB as soon as it is written, without
    /// waiting for it, so that the fsync before the file is committed finds the data on its way
    /// (or on disk) instead of writing the whole file then: for a 300 MB dump on this project's
    /// test machine the final fsync alone took 0.4 s, as long as half the dump.
    func startsWriteback() { writtenBack = bytesWritten }

    public func finish() throws {}

    /// Rewrites bytes already written (a zip header whose sizes are known only afterwards).
    public func patch(at offset: Int64, _ bytes: [UInt8]) throws {
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        if n != bytes.count { throw CDBError.fromWrite(errno: errno, path: path) }
    }

    /// Hashes the file as it is now on disk, from the start.
    public func rehash() throws {
        var fresh = SHA256()
        try FileIO.forEachChunk(fd, path: path, from: 0) { fresh.update(bufferPointer: $0) }
        hasher = fresh
    }

    /// The hex SHA-256 of everything written.
    public func digest() -> String {
        hasher.finalize().map { Format.hex([$0]) }.joined()
    }
}

/// A file written under a hidden temporary name in its final folder, flushed, then moved to a
/// final name that did not exist before. Until `commit` the final name is untouched; if the
/// object goes away uncommitted, the temporary file is removed.
public final class AtomicFile {
    public let directory: String
    public let temporaryPath: String
    public let sink: DescriptorSink
    private var done = false
    public private(set) var finalPath: String?

    /// Prefix of every temporary name, so that prune can find leftovers of crashed runs.
    public static let temporaryPrefix = ".cdb-tmp-"

    /// A temporary file left by a run that is gone: `.cdb-tmp-<pid>-…` whose process no longer
    /// exists. (A live process with that pid keeps its files, whatever it is.)
    public static func isAbandoned(_ name: String) -> Bool {
        guard name.hasPrefix(temporaryPrefix) else { return false }
        let rest = name.dropFirst(temporaryPrefix.count)
        guard let pid = Int32(rest.prefix { $0.isNumber }), pid > 0 else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the abandoned temporary files of crashed runs in `folder`; returns how many.
    @discardableResult
    public static func removeAbandoned(in folder: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where isAbandoned(name) {
            var info = stat()
            let path = Path.join(folder, name)
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    public init(directory: String, stem: String, mode: mode_t = 0o600) throws {
        self.directory = directory
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        temporaryPath = Path.join(directory, "\(Self.temporaryPrefix)\(getpid())-\(random)-\(stem)")
        let fd = open(temporaryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 {
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw CDBError.fromWrite(errno: code, path: temporaryPath) }
            throw CDBError.cannotCreate(path: directory, reason: String(cString: strerror(code)))
        }
        // Messages name the folder and the kind of file; the partial file is removed on failure.
        sink = DescriptorSink(fd: fd, path: Path.join(directory, stem) + " (partial file removed)",
                              ownsDescriptor: true)
        sink.startsWriteback()
        TemporaryFiles.register(temporaryPath)
    }

    deinit {
        if !done { unlink(temporaryPath) }
        TemporaryFiles.unregister(temporaryPath)
    }

    /// Flushes the data to disk (fsync). Call before validating and committing.
    public func sync() throws {
        if fsync(sink.fd) != 0 { throw CDBError.fromWrite(errno: errno, path: temporaryPath) }
    }

    /// Moves the file to the first free name that `candidates` yields, without ever replacing
    /// an existing file, and returns that name.
    @discardableResult
    public func commit(candidates: some Sequence<String>) throws -> String {
        for name in candidates {
            let target = Path.join(directory, name)
            if link(temporaryPath, target) == 0 {
                unlink(temporaryPath)
                return finish(at: target)
            }
            switch errno {
            case EEXIST:
                continue
            case EPERM, ENOTSUP, EOPNOTSUPP, EXDEV, EMLINK:
                // File systems without hard links: fall back to check-then-rename.
                if FileManager.default.fileExists(atPath: target) { continue }
                if rename(temporaryPath, target) == 0 { return finish(at: target) }
                throw CDBError.cannotCreate(path: target, reason: String(cString: strerror(errno)))
            default:
                throw CDBError.cannotCreate(path: target, reason: String(cString: strerror(errno)))
            }
        }
        throw CDBError.cannotCreate(path: directory, reason: "no free file name")
    }

    /// Moves the file to exactly `path`, replacing it (for an explicit `-o FILE`).
    public func commit(replacing path: String) throws {
        if rename(temporaryPath, path) != 0 {
            throw CDBError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
        _ = finish(at: path)
    }

    private func finish(at path: String) -> String {
        done = true
        TemporaryFiles.unregister(temporaryPath)
        finalPath = path
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 { fsync(dirFD); close(dirFD) }
        return path
    }

    /// Writes `text` as a whole file under a final name, atomically.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        let directory = Path.directory(of: path)
        let file = try AtomicFile(directory: directory.isEmpty ? "." : directory, stem: Path.name(of: path), mode: mode)
        try Array(text.utf8).withUnsafeBytes { try file.sink.write($0) }
        try file.sync()
        try file.commit(replacing: path)
    }
}

/// `sha256sum`-format sidecars.
public enum Checksum {
    public static func sidecarPath(for path: String) -> String { path + ".sha256" }

    /// Writes `<digest>  <file name>` next to the file, atomically.
    public static func writeSidecar(digest: String, for path: String) throws {
        let name = Path.name(of: path)
        try AtomicFile.write("\(digest)  \(name)\n", to: sidecarPath(for: path), mode: 0o600)
    }

    /// SHA-256 of a whole file, read in chunks.
    public static func sha256(ofFileAt path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw CDBError.inputMissing(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var hasher = SHA256()
        try FileIO.forEachChunk(fd, path: path) { hasher.update(bufferPointer: $0) }
        return hasher.finalize().map { Format.hex([$0]) }.joined()
    }
}
