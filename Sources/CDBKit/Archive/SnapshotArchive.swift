import Crypto

/// A repository snapshot as stored: the outer zip with git_metadata.txt (and .json, and
/// optionally .env.backup, uncommitted.patch, extra/…) and repository.zip stored inside it.
/// Opened once by whoever reads a snapshot — the writer's final check, cdb-verify and
/// cdb-restore — so that the layout is known in one place.
struct SnapshotArchive {
    static let metadataName = "git_metadata.txt"
    static let repositoryName = "repository.zip"
    /// A full snapshot's history (a git bundle), and an increment's commits since its base.
    static let bundleName = "repository.bundle"
    static let incrementName = "increment.bundle"

    let path: String
    let outer: ZipReader
    let metadataEntry: ZipReader.Entry?
    let repositoryEntry: ZipReader.Entry
    /// repository.zip, read in place through the outer zip.
    let inner: ZipReader

    /// Opens both zips; `requireMetadata` refuses a snapshot without git_metadata.txt. An age
    /// file is first authenticated whole (every chunk, no truncation) with `keys`, then read in
    /// place through random access to its chunks: no plaintext file.
    init(path: String, requireMetadata: Bool = true, keys: DecryptionKeys? = nil, fileKey: SymmetricKey? = nil) throws {
        self.path = path
        outer = try Self.outerZip(path: path, keys: keys, fileKey: fileKey)
        metadataEntry = outer.entries.first { $0.name == Self.metadataName }
        if requireMetadata && metadataEntry == nil {
            throw CDBError.validation(path: path, reason: "\(Self.metadataName) is missing")
        }
        guard let repository = outer.entries.first(where: { $0.name == Self.repositoryName }) else {
            throw CDBError.validation(path: path, reason: "\(Self.repositoryName) is missing: not a cdb snapshot")
        }
        guard repository.method == 0 else {
            throw CDBError.validation(path: path, reason: "\(Self.repositoryName) is not stored: not a cdb snapshot")
        }
        repositoryEntry = repository
        inner = try ZipReader(inner: repository, of: outer)
    }

    /// The outer zip of a snapshot or an increment, read in place; an age file is first
    /// authenticated whole with `keys` (or the writer's `fileKey`).
    static func outerZip(path: String, keys: DecryptionKeys?, fileKey: SymmetricKey?) throws -> ZipReader {
        guard AgeFile.isEncrypted(path: path) else { return try ZipReader(path: path) }
        do {
            let age = try fileKey.map { try AgeReader(path: path, fileKey: $0) } ?? AgeReader(path: path, keys: keys ?? DecryptionKeys())
            try age.forEachChunk { _ in }
            return try ZipReader(length: age.length, name: path) { offset, count in
                do { return try age.read(offset, count) } catch let error as AgeError { throw CDBError.encrypted(path: path, problem: error) }
            }
        } catch let error as AgeError {
            throw CDBError.encrypted(path: path, problem: error)
        }
    }

    func entry(_ name: String) -> ZipReader.Entry? { outer.entries.first { $0.name == name } }

    /// git_metadata.txt's text (at most 1 MiB), or nil without one.
    func metadataText() throws -> String? {
        guard let metadataEntry else { return nil }
        return String(decoding: try outer.contents(metadataEntry, limit: 1 << 20), as: UTF8.self)
    }

    /// The commit git_metadata.txt names (its `Commit:` line), or nil.
    func commit() throws -> String? {
        guard let text = try metadataText() else { return nil }
        return Self.commit(inMetadata: text)
    }

    /// git_metadata.txt of `zip` as "Key: value" pairs (top-level lines only); 65 without one.
    static func metadata(of zip: ZipReader, path: String) throws -> [String: String] {
        guard let entry = zip.entries.first(where: { $0.name == metadataName }) else {
            throw CDBError.validation(path: path, reason: "\(metadataName) is missing")
        }
        var fields: [String: String] = [:]
        for line in String(decoding: try zip.contents(entry, limit: 1 << 20), as: UTF8.self).split(separator: "\n") where !line.hasPrefix(" ") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon]), value = String(line[line.index(after: colon)...].dropFirst())
            if fields[key] == nil { fields[key] = value }
        }
        return fields
    }

    static func commit(inMetadata text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("Commit: ") }.map { String($0.dropFirst(8)) }
    }
}
