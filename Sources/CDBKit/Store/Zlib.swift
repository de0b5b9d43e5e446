import CZlib

/// The one owner of zlib in cdb: DEFLATE streams (raw, as zip stores them, or gzip-wrapped),
/// INFLATE streams, and CRC-32. (libdeflate compresses whole zip entries; libzstd is in
/// Compression.swift.)
enum DeflateFormat {
    /// Bare DEFLATE, as inside a zip.
    case raw
    /// With a gzip header and trailer (reading: gzip or zlib, detected).
    case gzip

    var windowBits: Int32 { self == .raw ? -15 : 15 + 16 }
}

/// A DEFLATE compressor that hands its output to a closure, in chunks of its own buffer.
final class Deflater {
    private var stream = z_stream()
    private let buffer: UnsafeMutableRawBufferPointer
    private let context: String

    /// `context` names the output in an error ("gzip", "zip").
    init(_ format: DeflateFormat, level: Int32, context: String) throws {
        self.context = context
        buffer = .allocate(byteCount: 1 << 18, alignment: 16)
        let status = deflateInit2_(&stream, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            buffer.deallocate()
            throw CDBError.io(path: context, reason: "deflateInit2 failed (\(status))")
        }
    }

    deinit {
        deflateEnd(&stream)
        buffer.deallocate()
    }

    /// Compresses `input` (all of it); with `finish`, also ends the stream.
    func compress(_ input: UnsafeRawBufferPointer, finish: Bool, out: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(buffer.count)
            let status = deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
            guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                throw CDBError.io(path: context, reason: "deflate failed (\(status))")
            }
            let produced = buffer.count - Int(stream.avail_out)
            if produced > 0 { try out(UnsafeRawBufferPointer(rebasing: buffer[0..<produced])) }
            if finish ? status == Z_STREAM_END : (stream.avail_in == 0 && stream.avail_out > 0) { return }
        }
    }
}

/// A DEFLATE decompressor stepping over the caller's buffers.
final class Inflater {
    /// The data is not valid DEFLATE (zlib's status inside).
    struct Corrupt: Error { let status: Int32 }

    private var stream = z_stream()

    init(_ format: DeflateFormat) throws {
        // Reading gzip: 15 + 32 detects a gzip or zlib header.
        let bits: Int32 = format == .raw ? -15 : 15 + 32
        let status = inflateInit2_(&stream, bits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw Corrupt(status: status) }
    }

    deinit { inflateEnd(&stream) }

    /// Inflates from `input` into `output`. `stalled`: no progress was possible (more input needed).
    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
        -> (consumed: Int, produced: Int, ended: Bool, stalled: Bool) {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let status = inflate(&stream, Z_NO_FLUSH)
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else { throw Corrupt(status: status) }
        return (input.count - Int(stream.avail_in), output.count - Int(stream.avail_out), status == Z_STREAM_END, status == Z_BUF_ERROR)
    }

    /// Starts a new stream (the next member of a concatenated gzip file).
    func reset() { inflateReset(&stream) }
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
