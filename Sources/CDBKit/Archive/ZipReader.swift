import Crypto
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Reads a zip's central directory (ZIP64 included) from a file or from bytes.
public struct ZipReader {
    public struct Entry: Sendable {
        public let name: String
        public let method: UInt16
        public let flags: UInt16
        public let crc: UInt32
        public let compressedSize: UInt64
        public let size: UInt64
        public let localHeaderOffset: UInt64
        public let mode: UInt32
        public var isDirectory: Bool { name.hasSuffix("/") }
        public var isSymlink: Bool { mode & 0o170000 == 0o120000 }
    }

    public private(set) var entries: [Entry]
    /// Reads `count` bytes at `offset` of the archive (unchecked; use `read`).
    private let readRaw: (UInt64, Int) throws -> [UInt8]
    public let length: UInt64
    let name: String

    /// `count` bytes at `offset`, or a validation error when any of them lies outside the
    /// archive. Every read of a zip goes through here: no field of a hostile file can make an
    /// offset overflow or a read run past the end.
    func read(_ offset: UInt64, _ count: Int) throws -> [UInt8] {
        guard count >= 0, offset <= length, UInt64(count) <= length - offset else {
            throw CDBError.validation(path: name, reason: "a field points outside the archive (offset \(offset), \(count) bytes, archive \(length) bytes)")
        }
        return try readRaw(offset, count)
    }

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CDBError.inputMissing(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        fstat(fd, &info)
        let handle = FileDescriptor(fd: fd)
        try self.init(length: UInt64(max(0, info.st_size)), name: path) { offset, count in
            var bytes = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let n = try bytes.withUnsafeMutableBytes {
                    try FileIO.read(handle.fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: off_t(offset) + off_t(filled), path: path)
                }
                if n == 0 { throw CDBError.validation(path: path, reason: "unexpected end of file") }
                filled += n
            }
            return bytes
        }
    }

    public init(bytes: [UInt8], name: String) throws {
        try self.init(length: UInt64(bytes.count), name: name) { offset, count in
            Array(bytes[Int(offset)..<(Int(offset) + count)])
        }
    }

    /// A zip stored inside another (repository.zip): its bytes are `entry`'s, read through `outer`.
    init(inner entry: Entry, of outer: ZipReader) throws {
        let start = try outer.dataOffset(of: entry)
        guard entry.method == 0, entry.compressedSize == entry.size, start <= outer.length, entry.size <= outer.length - start else {
            throw CDBError.validation(path: outer.name, reason: "\(entry.name) is not stored whole inside the archive")
        }
        try self.init(length: entry.size, name: entry.name) { offset, count in try outer.read(start + offset, count) }
    }

    init(length: UInt64, name: String, read: @escaping (UInt64, Int) throws -> [UInt8]) throws {
        self.readRaw = read
        self.length = length
        self.name = name
        self.entries = []
        func fail(_ reason: String) -> CDBError { .validation(path: name, reason: reason) }
        guard length >= 22 else { throw fail("too short to be a zip") }
        let tailLength = Int(min(length, 65_557))
        let tail = try self.read(length - UInt64(tailLength), tailLength)
        guard let eocd = stride(from: tail.count - 22, through: 0, by: -1).first(where: { tail.u32($0) == 0x06054B50 }) else {
            throw fail("no end of central directory (truncated?)")
        }
        var count = UInt64(tail.u16(eocd + 10))
        var cdSize = UInt64(tail.u32(eocd + 12))
        var cdOffset = UInt64(tail.u32(eocd + 16))
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            guard eocd >= 20, tail.u32(eocd - 20) == 0x07064B50 else { throw fail("ZIP64 locator missing") }
            let z64 = tail.u64(eocd - 20 + 8)
            let record = try self.read(z64, 56)
            guard record.u32(0) == 0x06064B50 else { throw fail("ZIP64 end record missing") }
            count = record.u64(32); cdSize = record.u64(40); cdOffset = record.u64(48)
        }
        guard cdOffset <= length, cdSize <= length - cdOffset else { throw fail("central directory out of range") }
        // Each entry takes at least 46 bytes: a count the directory cannot hold is a lie.
        guard count <= cdSize / 46 else { throw fail("the central directory claims \(count) entries but has room for \(cdSize / 46)") }
        let cd = try self.read(cdOffset, Int(cdSize))
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        var p = 0
        for _ in 0..<count {
            guard p + 46 <= cd.count, cd.u32(p) == 0x02014B50 else { throw fail("bad central directory entry") }
            let nameLength = Int(cd.u16(p + 28)), extraLength = Int(cd.u16(p + 30)), commentLength = Int(cd.u16(p + 32))
            guard p + 46 + nameLength + extraLength + commentLength <= cd.count else { throw fail("central directory entry out of range") }
            var compressed = UInt64(cd.u32(p + 20)), size = UInt64(cd.u32(p + 24)), offset = UInt64(cd.u32(p + 42))
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = cd.u16(e), len = Int(cd.u16(e + 2))
                guard e + 4 + len <= extraEnd else { throw fail("an extra field runs past its entry") }
                if id == 0x0001 {
                    var q = e + 4
                    let end = e + 4 + len
                    func next() throws -> UInt64 {
                        guard q + 8 <= end else { throw fail("a ZIP64 field is shorter than its entry needs") }
                        defer { q += 8 }
                        return cd.u64(q)
                    }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if offset == 0xFFFF_FFFF { offset = try next() }
                }
                e += 4 + len
            }
            let entryName = String(decoding: cd[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            guard offset < length, compressed <= length else {
                throw fail("entry \(Untrusted.escape(entryName)) points outside the archive")
            }
            entries.append(Entry(name: entryName, method: cd.u16(p + 10), flags: cd.u16(p + 8), crc: cd.u32(p + 16),
                                 compressedSize: compressed, size: size, localHeaderOffset: offset, mode: cd.u32(p + 38) >> 16))
            p += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }

    /// Where an entry's data starts (after its local header), checking the header and that
    /// the data lies inside the archive.
    public func dataOffset(of entry: Entry) throws -> UInt64 {
        let header = try read(entry.localHeaderOffset, 30)
        guard header.u32(0) == 0x04034B50 else {
            throw CDBError.validation(path: name, reason: "\(Untrusted.escape(entry.name)): local header missing at \(entry.localHeaderOffset)")
        }
        let start = entry.localHeaderOffset + 30 + UInt64(header.u16(26)) + UInt64(header.u16(28))  // ≤ length + 2^17: no overflow
        guard start <= length, entry.compressedSize <= length - start else {
            throw CDBError.validation(path: name, reason: "\(Untrusted.escape(entry.name)): data runs past the end of the archive")
        }
        return start
    }
}

extension Array where Element == UInt8 {
    func u16(_ i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }
    func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
    func u64(_ i: Int) -> UInt64 { UInt64(u32(i)) | UInt64(u32(i + 4)) << 32 }
}

/// The structural check a snapshot passes before it gets its final name.
enum ZipCheck {
    /// `fileKey`: the snapshot is encrypted, and this is its file key (held by the writer).
    static func verify(path: String, fileKey: SymmetricKey? = nil, increment: Bool = false) throws {
        if increment {
            let outer = try SnapshotArchive.outerZip(path: path, keys: nil, fileKey: fileKey)
            for entry in outer.entries { _ = try outer.dataOffset(of: entry) }
            guard let bundle = outer.entries.first(where: { $0.name == SnapshotArchive.incrementName }) else {
                throw CDBError.validation(path: path, reason: "\(SnapshotArchive.incrementName) is missing")
            }
            _ = try GitBundle.check(outer, bundle, path: path)
            return
        }
        let snapshot = try SnapshotArchive(path: path, fileKey: fileKey)
        for entry in snapshot.outer.entries { _ = try snapshot.outer.dataOffset(of: entry) }
        for entry in snapshot.inner.entries { _ = try snapshot.inner.dataOffset(of: entry) }
    }
}
