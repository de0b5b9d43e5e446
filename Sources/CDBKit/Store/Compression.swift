import CZstd
import FoundationEssentials
import Glibc

/// How a backup file is compressed.
public enum Compression: String, CaseIterable, Sendable {
    case none, gzip, zstd

    /// The file name suffix after `.sql`.
    public var suffix: String {
        switch self {
        case .none: return ""
        case .gzip: return ".gz"
        case .zstd: return ".zst"
        }
    }

    /// Guesses the compression from a file name (an encrypted file's `.age` set aside).
    public static func of(path: String) -> Compression {
        let path = path.hasSuffix(".age") ? String(path.dropLast(4)) : path
        if path.hasSuffix(".gz") { return .gzip }
        if path.hasSuffix(".zst") { return .zstd }
        return .none
    }

    /// Wraps `sink` so that bytes written are compressed first.
    public func wrap(_ sink: ByteSink) throws -> ByteSink {
        switch self {
        case .none: return sink
        case .gzip: return try GzipSink(next: sink)
        case .zstd: return try ZstdSink(next: sink)
        }
    }
}

/// zstd compression, on all cores (libzstd's worker threads).
final class ZstdSink: ByteSink {
    private let next: ByteSink
    private let context: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer

    init(next: ByteSink, level: Int32 = 3) throws {
        self.next = next
        guard let context = ZSTD_createCCtx() else { throw CDBError.io(path: "zstd", reason: "out of memory") }
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        let cores = Int32(ProcessInfo.processInfo.activeProcessorCount)
        if cores > 1 {
            ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, cores)
            // 2 MiB jobs instead of the default 4 windows keep memory near 40 MiB on 2 cores.
            ZSTD_CCtx_setParameter(context, ZSTD_c_jobSize, 2 << 20)
        }
        output = .allocate(byteCount: ZSTD_CStreamOutSize() * 4, alignment: 16)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try step(&input, ZSTD_e_continue)
        }
    }

    func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
        try next.finish()
    }

    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, mode)
        if ZSTD_isError(remaining) != 0 {
            throw CDBError.io(path: "zstd", reason: String(cString: ZSTD_getErrorName(remaining)))
        }
        if out.pos > 0 { try next.write(UnsafeRawBufferPointer(rebasing: output[0..<out.pos])) }
        return remaining
    }
}

/// gzip compression (zlib, through `Deflater`).
final class GzipSink: ByteSink {
    private let next: ByteSink
    private let deflater: Deflater

    init(next: ByteSink, level: Int32 = 6) throws {
        self.next = next
        deflater = try Deflater(.gzip, level: level, context: "gzip")
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        try deflater.compress(bytes, finish: false) { try next.write($0) }
    }

    func finish() throws {
        try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true) { try next.write($0) }
        try next.finish()
    }
}

/// Decompressing reader for plain, gzip and zstd files, each perhaps encrypted with age (known
/// by its first line, whatever its name): hands out chunks of the original bytes.
public final class DecompressingReader {
    private let fd: Int32
    /// The decrypted chunks, when the file is an age file.
    private var decrypted: AgeReader.Chunks?
    private var chunk: [UInt8] = []
    private var chunkOffset = 0
    private let path: String
    private let compression: Compression
    private let input: UnsafeMutableRawBufferPointer
    private let output: UnsafeMutableRawBufferPointer
    private var zstd: OpaquePointer?
    private var inflater: Inflater?
    private var inputStart = 0, inputEnd = 0
    private var endOfFile = false
    private var streamEnded = false

    /// Opens `path`; an age file needs `keys` (without them: 77, naming what to give).
    public init(path: String, compression: Compression? = nil, keys: DecryptionKeys? = nil) throws {
        self.path = path
        self.compression = compression ?? Compression.of(path: path)
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw CDBError.inputMissing(path: path, reason: String(cString: strerror(errno))) }
        if AgeFile.isEncrypted(fd: fd) {
            do {
                decrypted = try AgeReader(path: path, keys: keys ?? DecryptionKeys()).sequence()
            } catch let error as AgeError {
                close(fd)
                throw CDBError.encrypted(path: path, problem: error)
            } catch {
                close(fd)
                throw error
            }
        }
        input = .allocate(byteCount: 1 << 20, alignment: 16)
        output = .allocate(byteCount: 1 << 20, alignment: 16)
        switch self.compression {
        case .zstd: zstd = ZSTD_createDCtx()
        case .gzip:
            do { inflater = try Inflater(.gzip) } catch {
                close(fd)
                input.deallocate()
                output.deallocate()
                throw CDBError.io(path: path, reason: "cannot start inflating")
            }
        case .none: break
        }
    }

    deinit {
        close(fd)
        if let zstd { ZSTD_freeDCtx(zstd) }
        input.deallocate()
        output.deallocate()
    }

    private func fill() throws {
        if inputStart == inputEnd { inputStart = 0; inputEnd = 0 }
        guard !endOfFile, inputEnd < input.count else { return }
        let n = try decrypted == nil ? FileIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: input[inputEnd...]), path: path)
            : readDecrypted(into: UnsafeMutableRawBufferPointer(rebasing: input[inputEnd...]))
        if n == 0 { endOfFile = true }
        inputEnd += n
    }

    /// Plaintext from the age file into `buffer`; 0 at the end.
    private func readDecrypted(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while chunkOffset == chunk.count {
            do {
                guard let next = try decrypted!.next() else { return 0 }
                chunk = next
                chunkOffset = 0
            } catch let error as AgeError {
                throw CDBError.encrypted(path: path, problem: error)
            }
        }
        let n = min(buffer.count, chunk.count - chunkOffset)
        chunk.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + chunkOffset, byteCount: n) }
        chunkOffset += n
        return n
    }

    /// The next chunk of decompressed bytes; empty at the end. Throws on corrupt input.
    public func next() throws -> UnsafeRawBufferPointer {
        while true {
            try fill()
            switch compression {
            case .none:
                let chunk = UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd])
                inputStart = inputEnd
                return chunk
            case .zstd:
                if inputStart == inputEnd && endOfFile {
                    if !streamEnded { throw CDBError.validation(path: path, reason: "the zstd stream is truncated") }
                    return UnsafeRawBufferPointer(start: nil, count: 0)
                }
                var inBuf = ZSTD_inBuffer(src: input.baseAddress! + inputStart, size: inputEnd - inputStart, pos: 0)
                var outBuf = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
                let status = ZSTD_decompressStream(zstd, &outBuf, &inBuf)
                if ZSTD_isError(status) != 0 {
                    throw CDBError.validation(path: path, reason: "zstd: \(String(cString: ZSTD_getErrorName(status)))")
                }
                streamEnded = status == 0
                inputStart += inBuf.pos
                if outBuf.pos > 0 { return UnsafeRawBufferPointer(rebasing: output[0..<outBuf.pos]) }
            case .gzip:
                if streamEnded && inputStart == inputEnd && endOfFile { return UnsafeRawBufferPointer(start: nil, count: 0) }
                if inputStart == inputEnd && endOfFile {
                    throw CDBError.validation(path: path, reason: "the gzip stream is truncated")
                }
                if streamEnded {
                    // Concatenated gzip members are legal; start the next one.
                    inflater!.reset()
                    streamEnded = false
                }
                let step: (consumed: Int, produced: Int, ended: Bool, stalled: Bool)
                do {
                    step = try inflater!.step(UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd]), into: output)
                } catch let corrupt as Inflater.Corrupt {
                    throw CDBError.validation(path: path, reason: "gzip: corrupt data (\(corrupt.status))")
                }
                inputStart += step.consumed
                if step.ended { streamEnded = true }
                let produced = step.produced
                if produced > 0 { return UnsafeRawBufferPointer(rebasing: output[0..<produced]) }
            }
        }
    }
}
