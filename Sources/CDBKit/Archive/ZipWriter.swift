import CDeflate
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A streaming zip writer with ZIP64. Entries whose bytes are ready (compressed elsewhere, in
/// parallel) get a complete local header; streamed entries of unknown size get their header
/// patched afterwards when the sink can seek, and a data descriptor otherwise.
public final class ZipWriter {
    /// Where the zip goes. `patch` rewrites bytes already written (nil: cannot seek).
    public struct Output {
        public let write: (UnsafeRawBufferPointer) throws -> Void
        public let patch: ((Int64, [UInt8]) throws -> Void)?
        public init(write: @escaping (UnsafeRawBufferPointer) throws -> Void, patch: ((Int64, [UInt8]) throws -> Void)?) {
            self.write = write
            self.patch = patch
        }
    }

    public enum Method: UInt16 { case stored = 0, deflated = 8 }

    struct Central {
        var name: [UInt8]
        var method: Method
        var crc: UInt32
        var compressed: UInt64
        var uncompressed: UInt64
        var offset: UInt64
        var mode: UInt32
        var dosTime: UInt16
        var dosDate: UInt16
        var flags: UInt16
    }

    private let output: Output
    private var offset: UInt64 = 0
    private var central: [Central] = []
    private let dosTime: UInt16
    private let dosDate: UInt16
    public var entryCount: Int { central.count }

    /// `modified` is written as every entry's time (DOS time, local).
    public init(output: Output, modified: Date) {
        self.output = output
        var t = time_t(modified.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        let year = max(1980, Int(parts.tm_year) + 1900)
        dosTime = UInt16(parts.tm_hour) << 11 | UInt16(parts.tm_min) << 5 | UInt16(parts.tm_sec / 2)
        dosDate = UInt16(year - 1980) << 9 | UInt16(parts.tm_mon + 1) << 5 | UInt16(parts.tm_mday)
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try output.write($0) }
        offset += UInt64(bytes.count)
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        try output.write(bytes)
        offset += UInt64(bytes.count)
    }

    static func flags(for name: [UInt8]) -> UInt16 {
        name.contains { $0 >= 0x80 } ? 0x0800 : 0  // bit 11: the name is UTF-8
    }

    private func localHeader(name: [UInt8], method: Method, flags: UInt16, crc: UInt32, compressed: UInt64,
                             uncompressed: UInt64, zip64: Bool) -> [UInt8] {
        var h = ByteWriter()
        h.u32(0x04034B50)
        h.u16(zip64 ? 45 : 20)
        h.u16(flags)
        h.u16(method.rawValue)
        h.u16(dosTime); h.u16(dosDate)
        h.u32(crc)
        h.u32(zip64 ? 0xFFFF_FFFF : UInt32(compressed))
        h.u32(zip64 ? 0xFFFF_FFFF : UInt32(uncompressed))
        h.u16(UInt16(name.count))
        h.u16(zip64 ? 20 : 0)
        h.bytes(name)
        if zip64 {
            h.u16(0x0001); h.u16(16)
            h.u64(uncompressed); h.u64(compressed)
        }
        return h.data
    }

    /// Adds an entry whose (possibly compressed) bytes, CRC and size are known.
    public func add(name: String, mode: UInt32, method: Method, crc: UInt32, uncompressed: UInt64,
                    data: UnsafeRawBufferPointer) throws {
        let nameBytes = Array(name.utf8)
        let flags = Self.flags(for: nameBytes)
        let zip64 = uncompressed >= 0xFFFF_FFFF || UInt64(data.count) >= 0xFFFF_FFFF
        let start = offset
        try emit(localHeader(name: nameBytes, method: method, flags: flags, crc: crc, compressed: UInt64(data.count),
                             uncompressed: uncompressed, zip64: zip64))
        try emit(data)
        central.append(Central(name: nameBytes, method: method, crc: crc, compressed: UInt64(data.count),
                               uncompressed: uncompressed, offset: start, mode: mode, dosTime: dosTime, dosDate: dosDate, flags: flags))
    }

    /// Adds a directory entry (`name` ends in "/").
    public func addDirectory(name: String, mode: UInt32 = 0o40755) throws {
        try add(name: name.hasSuffix("/") ? name : name + "/", mode: mode, method: .stored, crc: 0, uncompressed: 0,
                data: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Adds a small entry from memory, compressing it with libdeflate when that pays.
    public func add(name: String, mode: UInt32 = 0o100644, bytes: [UInt8], level: Int32 = 6) throws {
        let packed = bytes.withUnsafeBytes { Deflate.compress($0, level: level) }
        try packed.data.withUnsafeBytes {
            try add(name: name, mode: mode, method: packed.method, crc: packed.crc, uncompressed: UInt64(bytes.count), data: $0)
        }
    }

    /// A streamed entry: write its bytes with `write`, then call `finish`.
    public final class Stream {
        fileprivate let writer: ZipWriter
        fileprivate let index: Int
        fileprivate let headerOffset: UInt64
        fileprivate let dataStart: UInt64
        fileprivate var running = CRC32()
        fileprivate var crc: UInt32 { running.value }
        fileprivate var uncompressed: UInt64 = 0
        fileprivate let deflater: Deflater?

        fileprivate init(writer: ZipWriter, index: Int, headerOffset: UInt64, method: Method, level: Int32) throws {
            self.writer = writer
            self.index = index
            self.headerOffset = headerOffset
            self.dataStart = writer.offset
            deflater = method == .deflated ? try Deflater(.raw, level: level, context: "zip") : nil
        }

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard bytes.count > 0 else { return }
            running.update(bytes)
            uncompressed += UInt64(bytes.count)
            if let deflater {
                try deflater.compress(bytes, finish: false) { try writer.emit($0) }
            } else {
                try writer.emit(bytes)
            }
        }

        public func finish() throws {
            if let deflater { try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true) { try writer.emit($0) } }
            let compressed = writer.offset - dataStart
            var entry = writer.central[index]
            entry.crc = crc
            entry.compressed = compressed
            entry.uncompressed = uncompressed
            if let patch = writer.output.patch {
                // Rewrite the local header in place: same length, real values.
                let header = writer.localHeader(name: entry.name, method: entry.method, flags: entry.flags, crc: crc,
                                                compressed: compressed, uncompressed: uncompressed, zip64: true)
                try patch(Int64(headerOffset), header)
            } else {
                var d = ByteWriter()
                d.u32(0x08074B50); d.u32(crc); d.u64(compressed); d.u64(uncompressed)
                try writer.emit(d.data)
            }
            writer.central[index] = entry
        }
    }

    /// Starts a streamed entry of unknown size. Its local header always carries a ZIP64 field,
    /// so any size fits.
    public func stream(name: String, mode: UInt32 = 0o100644, method: Method, level: Int32 = 6) throws -> Stream {
        let nameBytes = Array(name.utf8)
        var flags = Self.flags(for: nameBytes)
        if output.patch == nil { flags |= 0x0008 }  // sizes follow in a data descriptor
        let start = offset
        central.append(Central(name: nameBytes, method: method, crc: 0, compressed: 0, uncompressed: 0, offset: start,
                               mode: mode, dosTime: dosTime, dosDate: dosDate, flags: flags))
        try emit(localHeader(name: nameBytes, method: method, flags: flags, crc: 0, compressed: 0, uncompressed: 0, zip64: true))
        return try Stream(writer: self, index: central.count - 1, headerOffset: start, method: method, level: level)
    }

    /// Writes the central directory and the end records.
    public func finish() throws {
        let cdStart = offset
        for e in central {
            let needs64 = e.uncompressed >= 0xFFFF_FFFF || e.compressed >= 0xFFFF_FFFF || e.offset >= 0xFFFF_FFFF
            var extra = ByteWriter()
            if needs64 {
                extra.u16(0x0001)
                var fields = ByteWriter()
                if e.uncompressed >= 0xFFFF_FFFF { fields.u64(e.uncompressed) }
                if e.compressed >= 0xFFFF_FFFF { fields.u64(e.compressed) }
                if e.offset >= 0xFFFF_FFFF { fields.u64(e.offset) }
                extra.u16(UInt16(fields.data.count))
                extra.bytes(fields.data)
            }
            var h = ByteWriter()
            h.u32(0x02014B50)
            h.u16(3 << 8 | 63)                 // made by: Unix, spec 6.3
            h.u16(needs64 || e.flags & 0x0008 != 0 ? 45 : 20)
            h.u16(e.flags)
            h.u16(e.method.rawValue)
            h.u16(e.dosTime); h.u16(e.dosDate)
            h.u32(e.crc)
            h.u32(e.compressed >= 0xFFFF_FFFF ? 0xFFFF_FFFF : UInt32(e.compressed))
            h.u32(e.uncompressed >= 0xFFFF_FFFF ? 0xFFFF_FFFF : UInt32(e.uncompressed))
            h.u16(UInt16(e.name.count))
            h.u16(UInt16(extra.data.count))
            h.u16(0)                           // comment
            h.u16(0)                           // disk
            h.u16(0)                           // internal attributes
            h.u32(e.mode << 16 | (e.mode & 0o40000 != 0 ? 0x10 : 0))
            h.u32(e.offset >= 0xFFFF_FFFF ? 0xFFFF_FFFF : UInt32(e.offset))
            h.bytes(e.name)
            h.bytes(extra.data)
            try emit(h.data)
        }
        let cdSize = offset - cdStart
        let count = UInt64(central.count)
        if count >= 0xFFFF || cdSize >= 0xFFFF_FFFF || cdStart >= 0xFFFF_FFFF {
            let zip64End = offset
            var z = ByteWriter()
            z.u32(0x06064B50); z.u64(44); z.u16(3 << 8 | 63); z.u16(45)
            z.u32(0); z.u32(0); z.u64(count); z.u64(count); z.u64(cdSize); z.u64(cdStart)
            z.u32(0x07064B50); z.u32(0); z.u64(zip64End); z.u32(1)
            try emit(z.data)
        }
        var end = ByteWriter()
        end.u32(0x06054B50); end.u16(0); end.u16(0)
        end.u16(count >= 0xFFFF ? 0xFFFF : UInt16(count))
        end.u16(count >= 0xFFFF ? 0xFFFF : UInt16(count))
        end.u32(cdSize >= 0xFFFF_FFFF ? 0xFFFF_FFFF : UInt32(cdSize))
        end.u32(cdStart >= 0xFFFF_FFFF ? 0xFFFF_FFFF : UInt32(cdStart))
        end.u16(0)
        try emit(end.data)
    }
}

/// Little-endian field writer.
struct ByteWriter {
    var data: [UInt8] = []
    mutating func u16(_ v: UInt16) { data.append(UInt8(v & 0xFF)); data.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { data.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { data.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) } }
    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
}

/// Whole-buffer DEFLATE through libdeflate (one compressor per thread).
public enum Deflate {
    public struct Packed {
        public var method: ZipWriter.Method
        public var crc: UInt32
        public var data: [UInt8]
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in libdeflate_free_compressor(OpaquePointer(pointer)) }
        return key
    }()

    private static func compressor(level: Int32) -> OpaquePointer {
        if let existing = pthread_getspecific(key) { return OpaquePointer(existing) }
        let made = libdeflate_alloc_compressor(level)!
        pthread_setspecific(key, UnsafeRawPointer(made))
        return made
    }

    /// Deflates `input`; stores it instead when deflating does not make it smaller.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> Packed {
        let crc = libdeflate_crc32(0, input.baseAddress, input.count)
        guard input.count > 0 else { return Packed(method: .stored, crc: crc, data: []) }
        let c = compressor(level: level)
        let bound = libdeflate_deflate_compress_bound(c, input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { libdeflate_deflate_compress(c, input.baseAddress, input.count, $0.baseAddress, bound) }
        if n == 0 || n >= input.count {
            return Packed(method: .stored, crc: crc, data: Array(input))
        }
        out.removeSubrange(n...)
        return Packed(method: .deflated, crc: crc, data: out)
    }
}
