import CSystem
import Crypto
import Dispatch
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
    /// Bytes between two starts of writing back (see `startsDiskWrites`).
    static let writebackStep: Int64 = 8 << 20
    /// The size from which a file is written past the page cache (see `startsDiskWrites`).
    static let directFrom: Int64 = 8 << 20
    private var directAllowed = false
    private var direct: DirectWrites?

    init(fd: Int32, path: String, ownsDescriptor: Bool) {
        self.fd = fd
        self.path = path
        self.ownsDescriptor = ownsDescriptor
    }

    deinit {
        direct?.waitForWrites()  // before the descriptor closes under a write
        if ownsDescriptor { close(fd) }
    }

    /// Whether the file is being written past the page cache now.
    var writesDirectly: Bool { direct != nil }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if hashing { hasher.update(bufferPointer: bytes) }
        if let direct {
            try direct.append(bytes, path: path)
            bytesWritten += Int64(bytes.count)
            return
        }
        try FileIO.writeAll(fd, UnsafeRawBufferPointer(start: base, count: bytes.count), path: path)
        bytesWritten += Int64(bytes.count)
        if let from = writtenBack, bytesWritten - from >= Self.writebackStep {
            // Advisory: a file system that cannot just leaves it all to the final fsync.
            writtenBack = cdb_start_writeback(fd, from, bytesWritten - from) == 0 ? bytesWritten : nil
        }
        if directAllowed, bytesWritten >= Self.directFrom {
            directAllowed = false
            direct = DirectWrites.start(fd: fd, from: bytesWritten)
        }
    }

    /// Makes a big file reach the disk while it is written, so that the fsync before it is
    /// committed does not write it all then (for a 300 MB dump on this project's test machine
    /// that fsync alone took 0.4 s, as long as half the dump). Every 8 MiB written starts the
    /// disk's writing of them (`sync_file_range`); past 8 MiB the file is written with O_DIRECT
    /// in 1 MiB blocks from a thread of its own — straight from cdb's buffer to the disk, no
    /// copy into the page cache and no write-back afterwards (on that machine 0.45 s for 320 MiB,
    /// against 0.91 s through the page cache with a final fsync). A file system that refuses
    /// O_DIRECT keeps the first way; one that refuses both leaves it all to the fsync.
    func startsDiskWrites() {
        writtenBack = bytesWritten
        directAllowed = true
    }

    /// Ends writing past the page cache: waits for the blocks, writes the last partial one.
    func endDirectWrites() throws {
        guard let direct else { return }
        self.direct = nil
        try direct.end(path: path)
    }

    public func finish() throws { try endDirectWrites() }

    /// Rewrites bytes already written (a zip header whose sizes are known only afterwards).
    public func patch(at offset: Int64, _ bytes: [UInt8]) throws {
        try endDirectWrites()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        if n != bytes.count { throw CDBError.fromWrite(errno: errno, path: path) }
    }

    /// Hashes the file as it is now on disk, from the start.
    public func rehash() throws {
        try endDirectWrites()
        var fresh = SHA256()
        try FileIO.forEachChunk(fd, path: path, from: 0) { fresh.update(bufferPointer: $0) }
        hasher = fresh
    }

    /// The hex SHA-256 of everything written.
    public func digest() -> String {
        hasher.finalize().map { Format.hex([$0]) }.joined()
    }
}

/// The O_DIRECT part of `DescriptorSink`: bytes are copied into aligned 1 MiB blocks, used in
/// turn; a full block is written at its (aligned) offset by a serial queue while the next ones
/// fill, and every 16 MiB a second queue flushes the disk's cache (fdatasync) while the writes
/// go on (a flush waits for the disk's write-back cache: done in line, it held up the writes
/// behind it), so that the fsync before the file is committed has little left to do. The block
/// being filled first starts at the page the file had reached (that page's first bytes are read
/// back into it, and written again with it).
private final class DirectWrites: @unchecked Sendable {
    static let blockSize = 1 << 20
    static let blockCount = 4
    static let alignment = 4096
    /// A block write that ends the file at a multiple of this also flushes the disk's cache.
    static let flushStep: Int64 = 16 << 20
    let fd: Int32
    private let blocks: [UnsafeMutableRawBufferPointer]
    private var current = 0
    private var used = 0
    private var offset: Int64
    private let queue = DispatchQueue(label: "cdb.direct-writes")
    /// Flushes, one at a time: one asked for while another runs is left out (the next covers it).
    private let flusher = DispatchQueue(label: "cdb.direct-flushes")
    /// Blocks whose write is done, besides the one being filled.
    private let free = DispatchSemaphore(value: DirectWrites.blockCount - 1)
    /// Guards `flushing` and `firstFailure`, which both queues and the writer use.
    private let state = Lock()
    private var flushing = false
    /// The errno of the first failed block write or flush; no write is tried after it. Kept, not
    /// retried: after a failed fsync the kernel may forget the failure, and a later one succeed.
    private var firstFailure: Int32 = 0

    private var failure: Int32 { state.withLock { firstFailure } }

    private func fail(_ code: Int32) {
        state.withLock { if firstFailure == 0 { firstFailure = code } }
    }

    /// Nil when the file system refuses O_DIRECT (the flag, or a first write with it).
    static func start(fd: Int32, from size: Int64) -> DirectWrites? {
        let writes = DirectWrites(fd: fd, from: size)
        let page = Self.alignment, used = writes.used, first = writes.blocks[0].baseAddress!
        var ready = used == 0 || pread(fd, first, used, off_t(writes.offset)) == used
        ready = ready && cdb_set_direct(fd, 1) == 0
        if ready {
            // A probe: a file system may take the flag and refuse the writes. The page is
            // written with its own bytes (zeros after them) and the file cut back to its size.
            memset(first + used, 0, page - used)
            ready = pwrite(fd, first, page, off_t(writes.offset)) == page && ftruncate(fd, off_t(size)) == 0
        }
        if !ready { _ = cdb_set_direct(fd, 0) }
        return ready ? writes : nil
    }

    private init(fd: Int32, from size: Int64) {
        self.fd = fd
        offset = size - size % Int64(Self.alignment)
        used = Int(size - offset)
        blocks = (0..<Self.blockCount).map { _ in .allocate(byteCount: Self.blockSize, alignment: Self.alignment) }
    }

    deinit {
        waitForWrites()
        blocks.forEach { $0.deallocate() }
    }

    func waitForWrites() {
        queue.sync {}
        flusher.sync {}
    }

    private func startFlush() {
        let start = state.withLock { () -> Bool in
            if flushing { return false }
            flushing = true
            return true
        }
        guard start else { return }
        flusher.async { [self] in
            if fdatasync(fd) != 0 { fail(errno) }
            state.withLock { flushing = false }
        }
    }

    /// Takes `bytes`; throws what a block write before met.
    func append(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        var rest = bytes
        while let base = rest.baseAddress, !rest.isEmpty {
            let take = min(rest.count, Self.blockSize - used)
            (blocks[current].baseAddress! + used).copyMemory(from: base, byteCount: take)
            used += take
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if used == Self.blockSize { try submit(path: path) }
        }
    }

    private func submit(path: String) throws {
        let block = blocks[current], at = off_t(offset), fd = fd
        let flush = (offset + Int64(Self.blockSize)) % Self.flushStep == 0
        queue.async { [self] in
            var done = 0
            while failure == 0, done < Self.blockSize {
                let n = pwrite(fd, block.baseAddress! + done, Self.blockSize - done, at + off_t(done))
                if n < 0, errno == EINTR { continue }
                if n <= 0 {
                    fail(n < 0 ? errno : ENOSPC)
                    break
                }
                done += n
            }
            if flush, failure == 0 { startFlush() }
            free.signal()
        }
        current = (current + 1) % blocks.count
        used = 0
        offset += Int64(Self.blockSize)
        free.wait()  // the block now current is written
        let failed = failure
        if failed != 0 { throw CDBError.fromWrite(errno: failed, path: path) }
    }

    /// Waits for the blocks, turns O_DIRECT off and writes the partial block through the page
    /// cache, where the file's position is then (the fsync that follows writes it).
    func end(path: String) throws {
        waitForWrites()
        let failed = failure
        if failed != 0 { throw CDBError.fromWrite(errno: failed, path: path) }
        guard cdb_set_direct(fd, 0) == 0, lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            throw CDBError.fromWrite(errno: errno, path: path)
        }
        try FileIO.writeAll(fd, UnsafeRawBufferPointer(start: blocks[current].baseAddress, count: used), path: path)
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
        sink.startsDiskWrites()
        TemporaryFiles.register(temporaryPath)
    }

    deinit {
        if !done { unlink(temporaryPath) }
        TemporaryFiles.unregister(temporaryPath)
    }

    /// Flushes the data to disk (fsync). Call before validating and committing.
    public func sync() throws {
        try sink.endDirectWrites()
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
