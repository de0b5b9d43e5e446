import Dispatch
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Offline checks of backups: the sidecar, and the structure of a dump or a snapshot.
public struct BackupVerifier {
    public var requiredTables: [String]
    /// A missing `.sha256` sidecar is a problem (off for files cdb did not write, --no-checksum).
    public var requireSidecar = true
    /// Keys for encrypted (.age) backups; without them only the sidecar and the age header are
    /// checked.
    public var keys: DecryptionKeys?

    public init(requiredTables: [String]) { self.requiredTables = requiredTables }

    public struct Report: Sendable {
        public var path: String
        public var problems: [String] = []
        public var detail: String = ""
        /// The file is not there (66) rather than damaged (65).
        public var missing = false
        /// No identity given opens this encrypted file (77) rather than damaged (65).
        public var noMatchingKey = false
        /// The file's size (nil when it is missing).
        public var bytes: Int64?
        public var ok: Bool { problems.isEmpty }
        /// The exit code this file earns.
        public var status: ExitStatus { ok ? .success : (missing ? .noInput : noMatchingKey && problems.count == 1 ? .noPermission : .dataError) }
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
        report.bytes = Int64(info.st_size)
        // The sidecar covers every byte; it is hashed on another core while the contents are
        // checked (the file is read twice from the page cache, once per core), and its verdict
        // comes first in the report.
        let sidecar = Checksum.sidecarPath(for: path)
        final class Hash: @unchecked Sendable { var result: Result<String, Error>? }
        let hash = Hash(), hashing = DispatchGroup()
        var expected: String?
        if let text = try? String(contentsOfFile: sidecar, encoding: .utf8) {
            expected = String(text.prefix(while: { !$0.isWhitespace })).lowercased()
            hashing.enter()
            DispatchQueue.global().async {
                hash.result = Result { try Checksum.sha256(ofFileAt: path) }
                hashing.leave()
            }
        } else if requireSidecar {
            report.problems.append("no .sha256 sidecar (a file written to a pipe or by another tool has none: --no-checksum checks its structure without it)")
        }
        let sidecarVerdict = { () -> Bool in
            hashing.wait()
            guard let expected, let result = hash.result else { return true }
            switch result {
            case let .success(actual):
                if expected != actual { report.problems.insert("checksum mismatch (the .sha256 sidecar says \(expected.prefix(12))…, the file is \(actual.prefix(12))…)", at: 0) }
                return true
            case let .failure(error):
                report.problems = ["cannot read the file: \(error)"]
                return false
            }
        }
        defer { hashing.wait() }
        var name = Path.name(of: path)
        let encrypted = AgeFile.isEncrypted(path: path)
        if name.hasSuffix(".age") { name = String(name.dropLast(4)) }
        do {
            if encrypted && (keys == nil || (keys!.identities.isEmpty && keys!.askPassphrase == nil)) {
                // No key: the sidecar (above) proves the bytes; the header is checked to parse.
                _ = try AgeHeader.parse { offset, count in
                    try FileIO.readRange(path: path, offset: UInt64(offset), count: count)
                }
                report.detail = "encrypted (age): sidecar and header checked; give --identity to check the contents"
            } else if name.hasSuffix(".zip") {
                report.detail = try verifySnapshot(path, name: name)
            } else if name.contains(".sql") {
                report.detail = try verifyDump(path)
            } else {
                report.problems.append("not a backup name cdb knows (.sql, .sql.gz, .sql.zst, .zip, each perhaps .age)")
            }
        } catch let error as AgeError {
            report.problems.append(error.description)
        } catch let error as CDBError {
            if case .encrypted(_, .noMatch) = error { report.noMatchingKey = true }
            report.problems.append(Self.reason(error))
        } catch {
            report.problems.append("\(error)")
        }
        _ = sidecarVerdict()
        if expected == nil && report.ok {
            // Say what was not checked: without a sidecar nothing proves the bytes are the ones written.
            report.detail += (report.detail.isEmpty ? "" : "; ") + "no sidecar: structure checked, bytes not proven"
        }
        return report
    }

    static func reason(_ error: CDBError) -> String {
        if case let .validation(_, reason) = error { return reason }
        return error.errorDescription ?? "\(error)"
    }

    /// A dump: complete, every COPY block terminated and matching its row count, required tables present.
    func verifyDump(_ path: String) throws -> String {
        let report = try DumpValidator.validate(fileAt: path, keys: keys)
        let missing = report.missing(required: requiredTables)
        if !missing.isEmpty {
            throw CDBError.validation(path: path, reason: "required table\(missing.count == 1 ? "" : "s") missing: \(missing.joined(separator: ", "))")
        }
        let rows = report.copiedRows.values.reduce(0, +)
        let counts = report.countedBlocks < report.copyBlocks ? "; no row counts recorded (not a cdb dump): structure checked" : ""
        return "\(Format.count(report.copiedRows.count, "table")), \(Format.count(rows, "row"))\(counts)"
    }

    /// A snapshot: both zips sound with matching CRCs, metadata present and naming the commit in
    /// the file name, its history bundle sound. An increment: its zip, its bundle, and its base —
    /// there, a full snapshot with history, and the commit the increment builds on.
    func verifySnapshot(_ path: String, name: String) throws -> String {
        if BackupName.parse(name)?.isIncrement == true || name.contains(".inc-") {
            let outer = try SnapshotArchive.outerZip(path: path, keys: keys, fileKey: nil)
            for entry in outer.entries { try outer.checkCRC(entry) }
            let metadata = try SnapshotArchive.metadata(of: outer, path: path)
            guard let entry = outer.entries.first(where: { $0.name == SnapshotArchive.incrementName }) else {
                throw CDBError.validation(path: path, reason: "\(SnapshotArchive.incrementName) is missing")
            }
            let bundle = try GitBundle.check(outer, entry, path: path)
            let base = try HistoryRestore.base(of: path, metadata: metadata)
            guard bundle.prerequisites == [base.commit] else {
                throw CDBError.validation(path: path, reason: "the increment needs commit \(bundle.prerequisites.first?.prefix(7) ?? "none") but its base is \(base.commit.prefix(7))")
            }
            guard let commit = metadata["Commit"], bundle.refs.contains(where: { $0.hash == commit && $0.name == "HEAD" }) else {
                throw CDBError.validation(path: path, reason: "the increment's bundle does not hold the commit its metadata names")
            }
            return "increment: commit \(commit.prefix(7)) on \(Path.name(of: base.path)), \(Format.count(bundle.objects, "object"))"
        }
        let snapshot = try SnapshotArchive(path: path, keys: keys)
        for entry in snapshot.outer.entries { try snapshot.outer.checkCRC(entry) }
        guard let commit = try snapshot.commit() else {
            throw CDBError.validation(path: path, reason: "\(SnapshotArchive.metadataName) has no Commit line")
        }
        guard commit.count >= 7, commit.allSatisfy(\.isHexDigit) else {
            throw CDBError.validation(path: path, reason: "\(SnapshotArchive.metadataName) names no commit hash")
        }
        if let parsed = BackupName.parse(name), parsed.kind == .repository {
            let hash = name.dropLast(4).split(separator: "_").last.map(String.init) ?? ""
            if hash.count >= 4, hash.allSatisfy(\.isHexDigit), !commit.hasPrefix(hash) {
                throw CDBError.validation(path: path, reason: "the file name says commit \(hash) but \(SnapshotArchive.metadataName) says \(commit.prefix(7))")
            }
        }
        for entry in snapshot.inner.entries { try snapshot.inner.checkCRC(entry, container: SnapshotArchive.repositoryName) }
        var history = ""
        if let entry = snapshot.entry(SnapshotArchive.bundleName) {
            let bundle = try GitBundle.check(snapshot.outer, entry, path: path)
            guard bundle.prerequisites.isEmpty, bundle.refs.contains(where: { $0.hash == commit && $0.name == "HEAD" }) else {
                throw CDBError.validation(path: path, reason: "\(SnapshotArchive.bundleName) does not hold commit \(commit.prefix(7)) with its whole history")
            }
            history = ", history of \(Format.count(bundle.objects, "object"))"
        }
        return "commit \(commit.prefix(7)), \(Format.count(snapshot.inner.entries.filter { !$0.isDirectory }.count, "file"))\(history)"
    }

    /// The newest backup of each kind in the backup root.
    public static func latest(root: String) -> [String] {
        BackupRoot.Kind.allCases.compactMap { kind in
            let folder = BackupRoot(path: root).folder(kind)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return names.compactMap(BackupName.parse).filter { $0.stamp != nil }
                .max { $0.isOlder(than: $1) }
                .map { Path.join(folder, $0.name) }
        }
    }
}
