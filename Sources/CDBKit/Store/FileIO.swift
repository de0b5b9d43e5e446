import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor, closed when the last reference goes.
final class FileDescriptor: @unchecked Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// The one place cdb reads and writes file descriptors: whole writes, chunked reads, positioned
/// reads, each retried on EINTR, each failure an error naming the path.
enum FileIO {
    /// Writes all of `bytes`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw CDBError.fromWrite(errno: errno, path: path)
            }
            offset += n
        }
    }

    /// One read into `buffer`; 0 at the end.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw CDBError.io(path: path, reason: String(cString: strerror(errno))) }
        }
    }

    /// One positioned read into `buffer`; 0 at the end.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: off_t, path: String) throws -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, offset)
            if n >= 0 { return n }
            if errno != EINTR { throw CDBError.io(path: path, reason: String(cString: strerror(errno))) }
        }
    }

    /// Up to `count` bytes of the file at `path` from `offset` (fewer at the end).
    static func readRange(path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CDBError.inputMissing(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try bytes.withUnsafeMutableBytes { try read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: off_t(offset) + off_t(filled), path: path) }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[0..<filled])
    }

    /// The rest of the file's bytes.
    static func readAll(_ fd: Int32, path: String) throws -> [UInt8] {
        var bytes = [UInt8]()
        try forEachChunk(fd, path: path) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Hands the rest of the file (from `offset`, or from the current position) to `body` in
    /// chunks of one reused 1 MiB buffer.
    static func forEachChunk(_ fd: Int32, path: String, from offset: off_t? = nil, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var position = offset
        while true {
            let n = try position.map { try read(fd, into: buffer, at: $0, path: path) } ?? read(fd, into: buffer, path: path)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            position = position.map { $0 + off_t(n) }
        }
    }
}
