import FoundationEssentials
import Glibc

/// Restores a snapshot's history as a git repository with its commit checked out: a full
/// snapshot's repository.bundle, or an increment's base bundle plus its increment.bundle.
/// Uses the git program (restoring is the one place cdb runs it); nothing is left behind on
/// failure.
public struct HistoryRestore {
    public struct Request: Sendable {
        public var snapshot: String
        public var directory: String
        public var noVerify = false
        public var keys: DecryptionKeys?
        public init(snapshot: String, directory: String) {
            self.snapshot = snapshot
            self.directory = directory
        }
    }

    public struct Result: Sendable {
        public var commit = ""
        public var branch: String?
        /// The full snapshot the commits came from, when `snapshot` is an increment.
        public var base: String?
    }

    public let request: Request
    public let reporter: Reporter

    public init(request: Request, reporter: Reporter) {
        self.request = request
        self.reporter = reporter
    }

    /// The newest snapshot (full with history, or increment) in `folder` whose commit starts
    /// with `hash`; 66 when there is none.
    public static func find(commit hash: String, in folder: String) throws -> String {
        let wanted = hash.lowercased()
        guard wanted.count >= 4, wanted.allSatisfy(\.isHexDigit) else { throw CDBError.usage("--commit takes a commit hash (at least 4 hex digits)") }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let matches = names.compactMap(BackupName.parse).filter { name in
            guard let commit = name.commit else { return false }
            return commit.hasPrefix(wanted) || wanted.hasPrefix(commit)
        }
        guard let newest = matches.max(by: { $0.isOlder(than: $1) }) else {
            throw CDBError.inputMissing(path: folder, reason: "no snapshot of commit \(wanted) here (cdb-verify --latest lists what there is)")
        }
        return Path.join(folder, newest.name)
    }

    public func run() throws -> Result {
        let path = request.snapshot
        try BackupIntegrity.checkSidecar(of: path, skip: request.noVerify, reporter: reporter)
        let outer = try SnapshotArchive.outerZip(path: path, keys: request.keys, fileKey: nil)
        for entry in outer.entries { try outer.checkCRC(entry) }
        let metadata = try SnapshotArchive.metadata(of: outer, path: path)
        var result = Result(commit: metadata["Commit"] ?? "")
        guard result.commit.count == 40, result.commit.allSatisfy(\.isHexDigit) else {
            throw CDBError.validation(path: path, reason: "\(SnapshotArchive.metadataName) names no full commit hash")
        }
        let branchLine = metadata["Branch"] ?? ""
        result.branch = branchLine.hasPrefix("detached at ") || !GitRepository.isValidBranchName(branchLine) ? nil : branchLine

        // The bundles: the base's history, and the increment's commits.
        var bundles: [(ZipReader, ZipReader.Entry)] = []
        if let increment = outer.entries.first(where: { $0.name == SnapshotArchive.incrementName }) {
            let base = try Self.base(of: path, metadata: metadata)
            try BackupIntegrity.checkSidecar(of: base.path, skip: request.noVerify, reporter: reporter)
            let baseZip = try SnapshotArchive.outerZip(path: base.path, keys: request.keys, fileKey: nil)
            guard let history = baseZip.entries.first(where: { $0.name == SnapshotArchive.bundleName }) else {
                throw CDBError.validation(path: base.path, reason: "the base snapshot holds no \(SnapshotArchive.bundleName)")
            }
            let checked = try GitBundle.check(outer, increment, path: path)
            guard checked.prerequisites == [base.commit] else {
                throw CDBError.validation(path: path, reason: "the increment needs commit \(checked.prerequisites.first?.prefix(7) ?? "none"), but its base \(Path.name(of: base.path)) is \(base.commit.prefix(7))")
            }
            bundles = [(baseZip, history), (outer, increment)]
            result.base = base.path
        } else if let history = outer.entries.first(where: { $0.name == SnapshotArchive.bundleName }) {
            bundles = [(outer, history)]
        } else {
            throw CDBError.validation(path: path, reason: "the snapshot holds no history (\(SnapshotArchive.bundleName)); restore its files instead: cdb-restore SNAPSHOT DIR")
        }

        // The target: a new or empty folder; bundles go into a private folder beside it.
        let dir = request.directory
        var info = stat()
        var created = false
        if lstat(dir, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR, ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? ["x"]).isEmpty else {
                throw CDBError.cannotCreate(path: dir, reason: "it exists and is not an empty folder; choose a new one")
            }
        } else {
            guard mkdir(dir, 0o755) == 0 else { throw CDBError.cannotCreate(path: dir, reason: String(cString: strerror(errno))) }
            created = true
        }
        let parent = Path.directory(of: dir).isEmpty ? "." : Path.directory(of: dir)
        var template = Array((Path.join(parent, ".cdb-history-XXXXXX")).utf8CString)
        guard let scratch = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            if created { rmdir(dir) }
            throw CDBError.cannotCreate(path: parent, reason: "cannot make a private folder: \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            var files: [String] = []
            for (index, (zip, entry)) in bundles.enumerated() {
                let file = Path.join(scratch, "\(index).bundle")
                let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw CDBError.cannotCreate(path: file, reason: String(cString: strerror(errno))) }
                let sink = DescriptorSink(fd: fd, path: file, ownsDescriptor: true)
                sink.hashing = false
                try zip.stream(entry) { try sink.write($0) }
                files.append(file)
            }
            try Self.git(["clone", "--quiet", "--no-checkout", files[0], dir])
            if files.count > 1 { try Self.git(["-C", dir, "fetch", "--quiet", files[1], "HEAD"]) }
            if let branch = result.branch {
                try Self.git(["-C", dir, "checkout", "--quiet", "-B", branch, result.commit])
            } else {
                try Self.git(["-C", dir, "checkout", "--quiet", "--detach", result.commit])
            }
            // The clone's origin is the temporary bundle: drop it.
            try? Self.git(["-C", dir, "remote", "remove", "origin"])
        } catch {
            if created { try? FileManager.default.removeItem(atPath: dir) } else {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] { try? FileManager.default.removeItem(atPath: Path.join(dir, name)) }
            }
            throw error
        }
        return result
    }

    /// An increment's base: the snapshot its metadata names, in the same folder, whose name
    /// carries the base commit. 66 when it is gone.
    static func base(of path: String, metadata: [String: String]) throws -> (path: String, commit: String) {
        guard let name = metadata["Base"], let commit = metadata["Base commit"], commit.count == 40, commit.allSatisfy(\.isHexDigit),
              name == Path.name(of: name), let parsed = BackupName.parse(name), parsed.kind == .repository, !parsed.isIncrement,
              let short = parsed.commit, commit.hasPrefix(short) else {
            throw CDBError.validation(path: path, reason: "\(SnapshotArchive.metadataName) names no valid base snapshot")
        }
        // A copy (cdb-copy) names the base with .age when it encrypted it on the way.
        var info = stat()
        let basePath = [name, name + ".age"].map { Path.join(Path.directory(of: path), $0) }
            .first { lstat($0, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG } ?? Path.join(Path.directory(of: path), name)
        guard lstat(basePath, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw CDBError.inputMissing(path: basePath, reason: "the full snapshot this increment builds on is missing; without it the increment cannot be restored")
        }
        return (basePath, commit)
    }

    /// Runs git; its error output becomes the message when it fails.
    static func git(_ arguments: [String]) throws {
        let child: ChildProcess
        do { child = try ChildProcess(["git"] + arguments) } catch {
            throw CDBError.configuration("restoring history needs the git program; install git")
        }
        child.closeInput()
        let errors = child.readErrors()
        let status = child.waitForExit()
        guard status == 0 else {
            throw CDBError.validation(path: "git \(arguments.first ?? "")", reason: Untrusted.escape(String(decoding: errors, as: UTF8.self).trimmed()))
        }
    }
}
