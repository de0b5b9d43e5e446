import Crypto
import FoundationEssentials

/// A git bundle (v2) as a snapshot stores it, checked without git: its header (refs and
/// prerequisites) and its pack (signature, version, and the SHA-1 trailer over every byte).
struct GitBundle {
    /// `-<hash>` lines: commits the bundle needs from elsewhere (an increment's base).
    var prerequisites: [String] = []
    /// `<hash> <ref>` lines.
    var refs: [(hash: String, name: String)] = []
    var objects: UInt32 = 0

    /// Reads `entry` of `zip` as a bundle; 65 naming what is wrong.
    static func check(_ zip: ZipReader, _ entry: ZipReader.Entry, path: String) throws -> GitBundle {
        var bundle = GitBundle()
        var header = [UInt8]()
        var inHeader = true
        var packHead = [UInt8]()
        var hasher = Insecure.SHA1()
        var tail = [UInt8]()          // the last 20 bytes seen (the trailer, once the pack ends)
        var packBytes: UInt64 = 0
        func fail(_ reason: String) -> CDBError { .validation(path: path, reason: "\(entry.name): \(reason)") }
        func pack(_ bytes: UnsafeRawBufferPointer) {
            if packHead.count < 12 { packHead += bytes.prefix(12 - packHead.count) }
            packBytes += UInt64(bytes.count)
            // Hash everything but the final 20 bytes: hold back a 20-byte tail.
            tail += bytes
            if tail.count > 20 {
                let ready = tail.count - 20
                tail.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<ready])) }
                tail.removeFirst(ready)
            }
        }
        try zip.stream(entry) { chunk in
            var rest = chunk[...]
            if inHeader {
                // The header ends at the first empty line.
                while let byte = rest.first {
                    rest = rest.dropFirst()
                    header.append(byte)
                    if header.count > 1 << 20 { throw fail("the bundle header is too long") }
                    if header.count >= 2 && header.suffix(2) == [0x0A, 0x0A] { inHeader = false; break }
                }
            }
            if !inHeader && !rest.isEmpty { pack(UnsafeRawBufferPointer(rebasing: rest)) }
        }
        let lines = String(decoding: header, as: UTF8.self).split(separator: "\n").map(String.init)
        guard lines.first == "# v2 git bundle" else { throw fail("not a git bundle (v2)") }
        for line in lines.dropFirst() {
            if line.hasPrefix("-") {
                let hash = String(line.dropFirst().prefix { $0 != " " })
                guard hash.count == 40, hash.allSatisfy(\.isHexDigit) else { throw fail("a malformed prerequisite line") }
                bundle.prerequisites.append(hash)
            } else {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0].count == 40, parts[0].allSatisfy(\.isHexDigit) else { throw fail("a malformed ref line") }
                bundle.refs.append((parts[0], parts[1]))
            }
        }
        guard !bundle.refs.isEmpty else { throw fail("the bundle names no commit") }
        guard packHead.count == 12, Array(packHead[0..<4]) == Array("PACK".utf8) else { throw fail("no pack after the header") }
        let version = UInt32(packHead[4]) << 24 | UInt32(packHead[5]) << 16 | UInt32(packHead[6]) << 8 | UInt32(packHead[7])
        guard version == 2 || version == 3 else { throw fail("pack version \(version) is unknown") }
        bundle.objects = UInt32(packHead[8]) << 24 | UInt32(packHead[9]) << 16 | UInt32(packHead[10]) << 8 | UInt32(packHead[11])
        guard packBytes >= 32, tail.count == 20, Array(hasher.finalize()) == tail else {
            throw fail("the pack's checksum does not match (damaged or cut)")
        }
        return bundle
    }
}
