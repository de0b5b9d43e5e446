import CZlib
import Foundation

/// Reading a zip entry's bytes: the one place that inflates, and that checks an entry against
/// what the central directory declares (CRC-32, size, never more than declared).
extension ZipReader {
    /// Reads an entry through and compares its CRC-32 and size with the central directory.
    func checkCRC(_ entry: Entry, container: String? = nil) throws {
        var crc = CRC32()
        var size: UInt64 = 0
        try stream(entry) { chunk in
            crc.update(chunk)
            size += UInt64(chunk.count)
        }
        let place = container.map { "\($0): " } ?? ""
        if crc.value != entry.crc { throw CDBError.validation(path: entry.name, reason: "\(place)\(entry.name): CRC mismatch (corrupt data)") }
        if size != entry.size { throw CDBError.validation(path: entry.name, reason: "\(place)\(entry.name): size \(size), expected \(entry.size)") }
    }

    func contents(_ entry: Entry, limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try stream(entry) { chunk in
            if bytes.count < limit { bytes.append(contentsOf: chunk.prefix(limit - bytes.count)) }
        }
        return bytes
    }

    /// Hands an entry's uncompressed bytes to `body` in chunks (stored or deflated).
    func stream(_ entry: Entry, body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var offset = try dataOffset(of: entry)
        var remaining = entry.compressedSize
        // Never more than the central directory declares: an entry that inflates past its size
        // stops here, before its excess reaches anyone.
        var produced: UInt64 = 0
        let declared = entry.size
        func deliver(_ chunk: UnsafeRawBufferPointer) throws {
            produced += UInt64(chunk.count)
            guard produced <= declared else {
                throw CDBError.validation(path: name, reason: "\(Untrusted.escape(entry.name)): inflates past its declared size of \(declared) bytes (a hostile or corrupt archive)")
            }
            try body(chunk)
        }
        switch entry.method {
        case 0:
            while remaining > 0 {
                let n = Int(min(remaining, 1 << 20))
                let chunk = try read(offset, n)
                try chunk.withUnsafeBytes(deliver)
                offset += UInt64(n)
                remaining -= UInt64(n)
            }
        case 8:
            var stream = z_stream()
            guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw CDBError.validation(path: entry.name, reason: "inflateInit failed")
            }
            defer { inflateEnd(&stream) }
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
            defer { out.deallocate() }
            var ended = false
            while !ended {
                let n = Int(min(remaining, 1 << 20))
                var input = n > 0 ? try read(offset, n) : []
                offset += UInt64(n)
                remaining -= UInt64(n)
                try input.withUnsafeMutableBytes { raw in
                    stream.next_in = raw.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_in = uInt(raw.count)
                    repeat {
                        stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.avail_out = uInt(out.count)
                        let status = inflate(&stream, Z_NO_FLUSH)
                        guard status == Z_OK || status == Z_STREAM_END || (status == Z_BUF_ERROR && raw.count == 0) else {
                            throw CDBError.validation(path: entry.name, reason: "\(entry.name): corrupt deflate data")
                        }
                        let made = out.count - Int(stream.avail_out)
                        if made > 0 { try deliver(UnsafeRawBufferPointer(rebasing: out[0..<made])) }
                        if status == Z_STREAM_END { ended = true; break }
                        if status == Z_BUF_ERROR { break }
                    } while stream.avail_out == 0 || stream.avail_in > 0
                }
                if !ended && remaining == 0 && n == 0 {
                    throw CDBError.validation(path: entry.name, reason: "\(entry.name): deflate data is truncated")
                }
            }
        default:
            throw CDBError.validation(path: entry.name, reason: "\(entry.name): compression method \(entry.method) is not supported")
        }
    }

}

/// A running CRC-32 (zlib's).
public struct CRC32 {
    private var state: uLong = crc32(0, nil, 0)
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        state = crc32(state, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
    }
    public var value: UInt32 { UInt32(state) }
}
