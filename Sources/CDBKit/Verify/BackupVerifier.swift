import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Offline checks of backups: the sidecar, and the structure of a dump or a snapshot.
public struct BackupVerifier {
    public var requiredTables: [String]
    /// A missing `.sha256` sidecar is a problem (off for files cdb did not write, --no-checksum).
    public var requireSidecar = true

    public init(requiredTables: [String]) { self.requiredTables = requiredTables }

    public struct Report: Sendable {
        public var path: String
        public var problems: [String] = []
        public var detail: String = ""
        /// The file is not there (66) rather than damaged (65).
        public var missing = false
        public var ok: Bool { problems.isEmpty }
        /// The exit code this file earns.
        public var status: ExitStatus { ok ? .success : (missing ? .noInput : .dataError) }
    }

    /// Checks one file; never throws: every problem lands in the report.
    public func verify(_ path: String) -> Report {
        var report = Report(path: path)
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            report.problems.append("no such file")
            report.missing = true
            return report
        }
        // The sidecar first: it covers every byte.
        let sidecar = Checksum.sidecarPath(for: path)
        if let text = try? String(contentsOfFile: sidecar, encoding: .utf8) {
            let expected = String(text.prefix(while: { !$0.isWhitespace })).lowercased()
            do {
                let actual = try Checksum.sha256(ofFileAt: path)
                if expected != actual { report.problems.append("checksum mismatch (the .sha256 sidecar says \(expected.prefix(12))…, the file is \(actual.prefix(12))…)") }
            } catch {
                report.problems.append("cannot read the file: \(error)")
                return report
            }
        } else if requireSidecar {
            report.problems.append("no .sha256 sidecar")
        }
        let name = (path as NSString).lastPathComponent
        do {
            if name.hasSuffix(".zip") {
                report.detail = try verifySnapshot(path, name: name)
            } else if name.contains(".sql") {
                report.detail = try verifyDump(path)
            } else {
                report.problems.append("not a backup name cdb knows (.sql, .sql.gz, .sql.zst, .zip)")
            }
        } catch let error as CDBError {
            report.problems.append(Self.reason(error))
        } catch {
            report.problems.append("\(error)")
        }
        return report
    }

    static func reason(_ error: CDBError) -> String {
        if case let .validation(_, reason) = error { return reason }
        return error.errorDescription ?? "\(error)"
    }

    /// A dump: complete, every COPY block terminated and matching its row count, required tables present.
    func verifyDump(_ path: String) throws -> String {
        let report = try DumpValidator.validate(fileAt: path)
        let missing = report.missing(required: requiredTables)
        if !missing.isEmpty {
            throw CDBError.validation(path: path, reason: "required table\(missing.count == 1 ? "" : "s") missing: \(missing.joined(separator: ", "))")
        }
        let rows = report.copiedRows.values.reduce(0, +)
        let counts = report.countedBlocks < report.copyBlocks ? "; no row counts recorded (not a cdb dump): structure checked" : ""
        return "\(report.copiedRows.count) tables, \(rows) rows\(counts)"
    }

    /// A snapshot: both zips sound with matching CRCs, metadata present and naming the commit in the file name.
    func verifySnapshot(_ path: String, name: String) throws -> String {
        let outer = try ZipReader(path: path)
        for entry in outer.entries { try Self.checkCRC(outer, entry) }
        guard let metaEntry = outer.entries.first(where: { $0.name == "git_metadata.txt" }) else {
            throw CDBError.validation(path: path, reason: "git_metadata.txt is missing")
        }
        let metadata = String(decoding: try Self.contents(outer, metaEntry, limit: 1 << 20), as: UTF8.self)
        guard let commitLine = metadata.split(separator: "\n").first(where: { $0.hasPrefix("Commit: ") }) else {
            throw CDBError.validation(path: path, reason: "git_metadata.txt has no Commit line")
        }
        let commit = String(commitLine.dropFirst(8))
        guard commit.count >= 7, commit.allSatisfy(\.isHexDigit) else {
            throw CDBError.validation(path: path, reason: "git_metadata.txt names no commit hash")
        }
        if let parsed = BackupName.parse(name), parsed.kind == .repository {
            let hash = name.dropLast(4).split(separator: "_").last.map(String.init) ?? ""
            if hash.count >= 4, hash.allSatisfy(\.isHexDigit), !commit.hasPrefix(hash) {
                throw CDBError.validation(path: path, reason: "the file name says commit \(hash) but git_metadata.txt says \(commit.prefix(7))")
            }
        }
        guard let innerEntry = outer.entries.first(where: { $0.name == "repository.zip" }) else {
            throw CDBError.validation(path: path, reason: "repository.zip is missing")
        }
        guard innerEntry.method == 0 else { throw CDBError.validation(path: path, reason: "repository.zip is not stored") }
        let inner = try ZipReader(inner: innerEntry, of: outer)
        for entry in inner.entries { try Self.checkCRC(inner, entry, container: "repository.zip") }
        return "commit \(commit.prefix(7)), \(inner.entries.filter { !$0.isDirectory }.count) files"
    }

    /// Reads an entry through and compares its CRC-32 and size with the central directory.
    static func checkCRC(_ zip: ZipReader, _ entry: ZipReader.Entry, container: String? = nil) throws {
        var crc: uLong = crc32(0, nil, 0)
        var size: UInt64 = 0
        try stream(zip, entry) { chunk in
            crc = crc32(crc, chunk.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(chunk.count))
            size += UInt64(chunk.count)
        }
        let place = container.map { "\($0): " } ?? ""
        if UInt32(crc) != entry.crc { throw CDBError.validation(path: entry.name, reason: "\(place)\(entry.name): CRC mismatch (corrupt data)") }
        if size != entry.size { throw CDBError.validation(path: entry.name, reason: "\(place)\(entry.name): size \(size), expected \(entry.size)") }
    }

    static func contents(_ zip: ZipReader, _ entry: ZipReader.Entry, limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try stream(zip, entry) { chunk in
            if bytes.count < limit { bytes.append(contentsOf: chunk.prefix(limit - bytes.count)) }
        }
        return bytes
    }

    /// Hands an entry's uncompressed bytes to `body` in chunks (stored or deflated).
    static func stream(_ zip: ZipReader, _ entry: ZipReader.Entry, body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var offset = try zip.dataOffset(of: entry)
        var remaining = entry.compressedSize
        // Never more than the central directory declares: an entry that inflates past its size
        // stops here, before its excess reaches anyone.
        var produced: UInt64 = 0
        let declared = entry.size
        func deliver(_ chunk: UnsafeRawBufferPointer) throws {
            produced += UInt64(chunk.count)
            guard produced <= declared else {
                throw CDBError.validation(path: zip.name, reason: "\(Untrusted.escape(entry.name)): inflates past its declared size of \(declared) bytes (a hostile or corrupt archive)")
            }
            try body(chunk)
        }
        switch entry.method {
        case 0:
            while remaining > 0 {
                let n = Int(min(remaining, 1 << 20))
                let chunk = try zip.read(offset, n)
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
                var input = n > 0 ? try zip.read(offset, n) : []
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

    /// The newest backup of each kind in the backup root.
    public static func latest(root: String) -> [String] {
        BackupRoot.Kind.allCases.compactMap { kind in
            let folder = BackupRoot(path: root).folder(kind)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return names.compactMap(BackupName.parse).filter { $0.stamp != nil }
                .max { ($0.stamp!, $0.order) < ($1.stamp!, $1.order) }
                .map { (folder as NSString).appendingPathComponent($0.name) }
        }
    }
}
