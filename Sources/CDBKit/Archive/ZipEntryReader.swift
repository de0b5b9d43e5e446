import FoundationEssentials
import Glibc

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
            let inflater: Inflater
            do { inflater = try Inflater(.raw) } catch {
                throw CDBError.validation(path: entry.name, reason: "cannot start inflating")
            }
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
            defer { out.deallocate() }
            var ended = false
            while !ended {
                let n = Int(min(remaining, 1 << 20))
                let input = n > 0 ? try read(offset, n) : []
                offset += UInt64(n)
                remaining -= UInt64(n)
                try input.withUnsafeBytes { raw in
                    var rest = raw
                    repeat {
                        let step: (consumed: Int, produced: Int, ended: Bool, stalled: Bool)
                        do { step = try inflater.step(rest, into: out) } catch {
                            throw CDBError.validation(path: entry.name, reason: "\(entry.name): corrupt deflate data")
                        }
                        if step.stalled && !rest.isEmpty && step.produced == 0 && step.consumed == 0 {
                            throw CDBError.validation(path: entry.name, reason: "\(entry.name): corrupt deflate data")
                        }
                        rest = UnsafeRawBufferPointer(rebasing: rest[step.consumed...])
                        if step.produced > 0 { try deliver(UnsafeRawBufferPointer(rebasing: out[0..<step.produced])) }
                        if step.ended { ended = true; break }
                        if step.stalled { break }
                        if step.produced < out.count && rest.isEmpty { break }
                    } while true
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
