import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The facts about a repository that a snapshot records (git_metadata.txt / .json).
public struct GitMetadata: Sendable {
    public var branch: String          // a branch name, or "detached at <short hash>"
    public var detached: Bool
    public var commit: String
    public var subject: String
    public var authorName: String
    public var authorEmail: String
    public var authorDate: String
    public var remotes: [(name: String, url: String)]
    public var commitCount: Int
    public var uncommitted: Int
    /// Untracked files put into uncommitted.patch, and those left out with the reason.
    public var untrackedCaptured: [String] = []
    public var untrackedSkipped: [(path: String, reason: String)] = []
    public var shallow: Bool
    public var bare: Bool
    public var worktree: Bool
    public var submodules: [(path: String, commit: String)]
    public var envIncluded: Bool
    /// Why `--include-env` added nothing although the repository has a `.env` (a link, say).
    public var envRefusal: String?
    public var extras: [String]
    /// Docker volumes added under volumes/NAME/.
    public var dockerVolumes: [String] = []
    public var captured: String
    /// A full snapshot's history bundle ("repository.bundle, N objects"), or why there is none.
    public var bundle: String = "none"
    /// For an increment: the full snapshot it builds on (file name) and that snapshot's commit.
    public var base: String?
    public var baseCommit: String?

    public var shortCommit: String { String(commit.prefix(7)) }

    /// "3 uncommitted changes captured (2 untracked files included; 1 skipped)".
    public var uncommittedSummary: String {
        var text = "\(uncommitted) uncommitted change\(uncommitted == 1 ? "" : "s") captured"
        var parts: [String] = []
        if !untrackedCaptured.isEmpty { parts.append("\(untrackedCaptured.count) untracked file\(untrackedCaptured.count == 1 ? "" : "s") included") }
        if !untrackedSkipped.isEmpty { parts.append("\(untrackedSkipped.count) untracked file\(untrackedSkipped.count == 1 ? "" : "s") skipped") }
        if !parts.isEmpty { text += " (" + parts.joined(separator: "; ") + ")" }
        return text
    }

    public var text: String {
        var lines = [
            "Branch: \(branch)",
            "Commit: \(commit)",
            "Message: \(subject)",
            "Author: \(authorName) <\(authorEmail)>",
            "Date: \(authorDate)",
            "Remotes: \(remotes.count)",
        ]
        lines += remotes.map { "  \(Untrusted.escape($0.name)) \(Untrusted.escape($0.url))" }
        lines += [
            "Commit count: \(commitCount)",
            "Uncommitted changes: \(uncommitted)",
            "Untracked files captured: \(untrackedCaptured.count)",
            "Untracked files skipped: \(untrackedSkipped.count)",
        ]
        lines += untrackedSkipped.map { "  \(Untrusted.escape($0.path)) (\($0.reason))" }
        lines += [
            "Shallow: \(shallow ? "yes" : "no")",
            "Bare: \(bare ? "yes" : "no")",
            "Worktree: \(worktree ? "yes" : "no")",
            "Submodules: \(submodules.count)",
        ]
        lines += submodules.map { "  \(Untrusted.escape($0.path)) \($0.commit)" }
        lines += [
            "Env included: \(envIncluded ? "yes" : "no")",
            "Extras: \(extras.isEmpty ? "none" : extras.joined(separator: ", "))",
            "Docker volumes: \(dockerVolumes.isEmpty ? "none" : dockerVolumes.joined(separator: ", "))",
            "Snapshot: \(base == nil ? "full" : "increment")",
            "History: \(bundle)",
        ]
        if let base, let baseCommit { lines += ["Base: \(Untrusted.escape(base))", "Base commit: \(baseCommit)"] }
        lines += [
            "Captured: \(captured)",
            "Tool: cdb-repo-snap \(CDBVersion.string)",
        ]
        // Every value may come from the repository (branch, message, author, remotes, paths): one
        // line each, no control characters.
        return lines.map(Untrusted.escape).joined(separator: "\n") + "\n"
    }

    public var json: [String: Any] {
        [
            "branch": branch, "detached": detached, "commit": commit, "subject": subject,
            "author": ["name": authorName, "email": authorEmail], "date": authorDate,
            "remotes": remotes.map { ["name": $0.name, "url": $0.url] },
            "commit_count": commitCount, "uncommitted_changes": uncommitted,
            "untracked_captured": untrackedCaptured,
            "untracked_skipped": untrackedSkipped.map { ["path": $0.path, "reason": $0.reason] },
            "shallow": shallow, "bare": bare, "worktree": worktree,
            "submodules": submodules.map { ["path": $0.path, "commit": $0.commit] },
            "env_included": envIncluded, "extras": extras, "docker_volumes": dockerVolumes, "captured": captured,
            "snapshot": base == nil ? "full" : "increment", "history": bundle,
            "base": base as Any, "base_commit": baseCommit as Any,
        ]
    }
}

/// One repository snapshot run.
public struct RepositorySnapshot {
    public typealias Destination = BackupDestination

    public struct Request: Sendable {
        public var settings: Settings
        public var repository: String = FileManager.default.currentDirectoryPath
        public var destination: Destination = .backupRoot
        public var includeEnv = false
        /// Capture untracked, not ignored files in uncommitted.patch (within the settings' caps).
        public var untracked = true
        public var includes: [String] = []
        /// Docker named volumes to add under volumes/NAME/ (their files as they are now).
        public var dockerVolumes: [String] = []
        /// A full commit hash to snapshot instead of HEAD (the post-commit hook's commit).
        public var commit: String?
        public var lock: RootLockPolicy = .wait(seconds: 30)
        /// libdeflate level: 4 deflates within about 2 % of zlib level 6 (what git archive uses) at a third less CPU.
        public var level: Int32 = 4
        /// Encrypt to these recipients (age; the name gains `.age`), or nil.
        public var recipients: [AgeRecipient]?
        /// Store only what is new since the repository's newest full snapshot, when one can be
        /// built on (the post-commit hook's runs); a full snapshot otherwise.
        public var incremental = false
        /// A full snapshot again after this many increments on one base (a safety cap: the
        /// usual reason is size, see `incrementBase`).
        public var maxIncrements = 500
        public init(settings: Settings) { self.settings = settings }
    }

    public struct Result: Sendable {
        public var path: String?
        public var bytes: Int64 = 0
        public var files = 0
        public var metadata: GitMetadata
        public var seconds: Double = 0
        public var sha256: String?
        public var patchBytes = 0
        /// What --include or a volume held that is not a file, folder or link (skipped).
        public var skippedSpecial: [String] = []

        /// What the snapshot left out or holds in clear that the user asked about or should know
        /// (the program and the session banner say the same): the .env in clear, an .env not
        /// added, special files skipped.
        public func warnings(includeEnv: Bool, encrypted: Bool) -> [String] {
            var out: [String] = []
            if metadata.envIncluded && !encrypted {
                out.append("the snapshot holds the repository's .env (secrets) in clear as .env.backup, readable by you only (0600); --encrypt keeps it encrypted")
            } else if let refusal = metadata.envRefusal {
                out.append("--include-env: the repository's .env was not added: \(refusal)")
            } else if includeEnv && !metadata.envIncluded {
                out.append("--include-env: the repository has no .env; nothing was added")
            }
            out += skippedSpecial.map { "\(Untrusted.escape($0)) is not a file, folder or link (a fifo, socket or device); skipped" }
            return out
        }

        /// "Repository: 0.17 MB | 0ad8144", as the original scripts printed it (the program and
        /// the session banner alike).
        public var summaryLine: String {
            "Repository: \(ByteSize.format(bytes)) | \(metadata.shortCommit)"
        }
    }

    public let request: Request
    public let reporter: Reporter

    public init(request: Request, reporter: Reporter) {
        self.request = request
        self.reporter = reporter
    }

    /// Entries of one repository larger than this are deflated as a stream on the writer's
    /// thread rather than held compressed in memory.
    static let streamThreshold = 32 << 20

    public func run() throws -> Result {
        let started = Date()
        let root = BackupRoot(path: request.settings.backupRoot)
        var job = BackupJob(root: root, kind: .repository, destination: request.destination, lock: request.lock, reporter: reporter)
        job.redact = { ConnectionString.redactURLs(in: $0) }
        return try job.run(failureTitle: "Repository backup FAILED", entry: logEntry) {
            // Volumes first: a wrong name or a live database's files stop the run before any work.
            let volumes = try request.dockerVolumes.map { try DockerVolume.locate($0, sources: request.settings.sources) }
            for volume in volumes {
                if let refusal = volume.liveDatabaseRefusal() { throw CDBError.configuration(refusal) }
            }
            let repo = try GitRepository(discoveringFrom: request.repository)
            let headNow = try repo.headCommit()
            let head = try request.commit.map { try repo.commit(hash: $0) } ?? headNow
            let entries = try head.tree().walk()
            // The work tree belongs to HEAD: a commit HEAD has moved past gets none of it.
            var metadata = try collectMetadata(repo, head, entries: entries, started: started, workTree: head.hash == headNow.hash)
            metadata.dockerVolumes = volumes.map(\.name)
            let marker = BaseMarker(root: root, repository: repo)
            if request.incremental, case .backupRoot = request.destination, let base = incrementBase(repo, head, marker, root: root, started: started) {
                metadata.base = base.name
                metadata.baseCommit = base.commit
                var result = try write(repo, head, nil, metadata, base: base, volumes: volumes, root: root, started: started)
                if result.path != nil {
                    marker.save(name: base.name, commit: base.commit, increments: base.increments + 1, encrypted: request.recipients != nil,
                                lastIncrement: result.bytes)
                }
                result.seconds = Date().timeIntervalSince(started)
                return result
            }
            // History only where increments will build on it (the hook's and the session's runs):
            // building the bundle costs more than the rest of a full snapshot on a big tree.
            metadata.bundle = !request.incremental ? "none (a snapshot without --incremental)"
                : repo.isShallow ? "none (a shallow clone: its history is cut)" : "repository.bundle"
            var result = try write(repo, head, entries, metadata, base: nil, volumes: volumes, root: root, started: started)
            if case .backupRoot = request.destination, let path = result.path, result.metadata.bundle != "none" {
                marker.save(name: Path.name(of: path), commit: head.hash, increments: 0, encrypted: request.recipients != nil, lastIncrement: 0)
            }
            result.seconds = Date().timeIntervalSince(started)
            return result
        }
    }

    /// The commit count of `head` (as `git rev-list --count`): from the last count cdb made for
    /// this repository plus the commits since, when that commit is an ancestor; else from the
    /// repository's commit-graph file; else a walk of the whole history. A shallow clone counts
    /// what it has.
    func countCommits(_ repo: GitRepository, _ head: GitCommit) throws -> Int {
        if repo.isShallow { return try repo.commitCount(from: head) }
        let cache = CommitCountCache(root: request.settings.backupRoot, repository: repo)
        let last = cache.load()
        if let last, last.commit == head.hash { return last.count }
        let count: Int
        if let last, repo.isAncestor(last.commit, of: head) {
            count = last.count + (try repo.commitCount(from: head, hiding: last.commit))
            reporter.detail("commit count: \(last.count) at \(last.commit.prefix(7)) plus the commits since")
        } else if let counted = repo.commitCountFromGraph(from: head) {
            count = counted
            reporter.detail("commit count: from the commit-graph file")
        } else {
            count = try repo.commitCount(from: head)
            reporter.detail("commit count: walked the whole history (git commit-graph write --reachable, or git gc, makes this quick)")
        }
        cache.save(commit: head.hash, count: count)
        return count
    }

    func collectMetadata(_ repo: GitRepository, _ head: GitCommit, entries: [GitTree.Entry], started: Date, workTree: Bool = true) throws -> GitMetadata {
        let branch = repo.branchName()
        let submodules = entries.filter { $0.kind == .submodule }.map { ($0.path, $0.oid.hex) }
        // A committed `.env` may be a link to anything of the user's (~/.ssh/id_ed25519): only a
        // regular file is taken, and never through a link.
        var envIncluded = false, envRefusal: String?
        var info = stat()
        if request.includeEnv, !repo.workdir.isEmpty, lstat(repo.workdir + ".env", &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG: envIncluded = true
            case S_IFLNK: envRefusal = "it is a symbolic link, and cdb never follows one out of the repository"
            default: envRefusal = "it is not a regular file"
            }
        }
        var metadata = GitMetadata(
            branch: branch ?? "detached at \(head.hash.prefix(7))", detached: branch == nil,
            commit: head.hash, subject: head.summary, authorName: head.authorName, authorEmail: head.authorEmail,
            authorDate: head.authorDate,
            remotes: repo.remotes().map { ($0.name, ConnectionString.redactURLs(in: $0.url)) },
            commitCount: try countCommits(repo, head), uncommitted: workTree ? try repo.uncommittedCount() : 0,
            shallow: repo.isShallow, bare: repo.isBare, worktree: repo.isWorktree, submodules: submodules,
            envIncluded: envIncluded, extras: request.includes,
            captured: Timestamp.iso8601(started, local: true)
        )
        metadata.envRefusal = envRefusal
        if workTree && metadata.uncommitted > 0 && !repo.isBare {
            if request.untracked {
                let choice = Self.chooseUntracked(try repo.untrackedFiles(), maxFile: request.settings.untrackedMaxFile,
                                                  maxTotal: request.settings.untrackedMaxTotal)
                metadata.untrackedCaptured = choice.captured
                metadata.untrackedSkipped = choice.skipped
            } else {
                metadata.untrackedSkipped = try repo.untrackedFiles().map { ($0.path, "--no-untracked") }
            }
        }
        return metadata
    }

    /// Which untracked files go into the patch: in path order, none named `.env` or `.env.*`
    /// (secrets: --include-env keeps .env apart, as .env.backup), none over the per-file cap,
    /// and no more once the total would pass its cap.
    static func chooseUntracked(_ files: [GitRepository.UntrackedFile], maxFile: Int64, maxTotal: Int64)
        -> (captured: [String], skipped: [(path: String, reason: String)]) {
        var captured: [String] = []
        var skipped: [(String, String)] = []
        var total: Int64 = 0
        for file in files.sorted(by: { $0.path < $1.path }) {
            let name = Path.name(of: file.path)
            if name == ".env" || name.hasPrefix(".env.") {
                skipped.append((file.path, "may hold secrets; --include-env stores the repository's .env as .env.backup"))
            } else if file.size > maxFile {
                skipped.append((file.path, "\(ByteSize.format(file.size)), over the per-file cap of \(ByteSize.format(maxFile)) (CDB_UNTRACKED_MAX_FILE)"))
            } else if total + file.size > maxTotal {
                skipped.append((file.path, "over the total cap of \(ByteSize.format(maxTotal)) (CDB_UNTRACKED_MAX_TOTAL)"))
            } else {
                total += file.size
                captured.append(file.path)
            }
        }
        return (captured, skipped)
    }

    /// The name's suffix: `.zip`, then `.age` when encrypted.
    private var suffix: String { request.recipients == nil ? ".zip" : ".zip.age" }

    /// Writes a full snapshot (`tree` given: repository.zip and the history bundle), or an
    /// increment on `base` (increment.bundle: the commits since the base's commit).
    private func write(_ repo: GitRepository, _ head: GitCommit, _ tree: [GitTree.Entry]?, _ metadata: GitMetadata,
                       base baseSnapshot: IncrementBase?, volumes: [DockerVolume], root: BackupRoot, started: Date) throws -> Result {
        let opened = try request.destination.open(folder: root.folder(.repository), stem: "claire_repo\(baseSnapshot == nil ? "" : ".inc")\(suffix)")
        let file = opened.file, base = opened.sink
        // A file can have its zip headers patched afterwards, so it is hashed once finished;
        // standard output and an encrypted file cannot be patched, so they get data descriptors
        // and are hashed as they go (the encrypted bytes).
        let age = try request.recipients.map { try AgeSink(next: base, recipients: $0) }
        let seekable = file != nil && age == nil
        base.hashing = !seekable
        let sink: ByteSink = age ?? base
        let outer = ZipWriter(output: ZipWriter.Output(
            write: { try sink.write($0) },
            patch: seekable ? { offset, bytes in try base.patch(at: offset, bytes) } : nil
        ), modified: started)

        try outer.add(name: "git_metadata.txt", bytes: Array(metadata.text.utf8))
        try outer.add(name: "git_metadata.json", bytes: Array((JSON(any: metadata.json).text(pretty: true) + "\n").utf8))

        let branch = metadata.detached || !GitRepository.isValidBranchName(metadata.branch) ? nil : metadata.branch
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var files = 0
        if let tree {
            let inner = try outer.stream(name: "repository.zip", method: .stored)
            files = try writeTree(repo, tree, into: inner, modified: head.time)
            try inner.finish()
            if metadata.bundle == SnapshotArchive.bundleName {
                // The history, so that increments can build on this snapshot (git clone reads it).
                let bundle = try outer.stream(name: SnapshotArchive.bundleName, method: .stored)
                _ = try repo.writeBundle(tip: head, branch: branch, prerequisite: nil, threads: cores) { try bundle.write($0) }
                try bundle.finish()
            }
        } else if let baseSnapshot {
            let bundle = try outer.stream(name: SnapshotArchive.incrementName, method: .stored)
            files = try repo.writeBundle(tip: head, branch: branch, prerequisite: baseSnapshot.commit, threads: cores) { try bundle.write($0) }
            try bundle.finish()
        }

        var patchBytes = 0
        if metadata.uncommitted > 0 && !repo.isBare {
            let patch = try repo.uncommittedPatch(head: head, untracked: metadata.untrackedCaptured)
            patchBytes = patch.count
            if !patch.isEmpty { try outer.add(name: "uncommitted.patch", bytes: patch) }
        }
        if metadata.envIncluded {
            try outer.add(name: ".env.backup", mode: 0o100600, bytes: try Self.readRegularFile(repo.workdir + ".env"))
        }
        var skipped: [String] = []
        for include in request.includes {
            var info = stat()
            guard lstat(include, &info) == 0 else { throw CDBError.inputMissing(path: include, reason: "--include: no such file or folder") }
            try addTree(include, as: "extra/" + Path.name(of: include), to: outer, skipped: &skipped)
        }
        for volume in volumes {
            try addTree(volume.mountpoint, as: "volumes/" + volume.name, to: outer, skipped: &skipped)
        }
        try outer.finish()
        try age?.finish()
        if let file {
            try file.sync()
            if seekable { try base.rehash() }
        }
        var result = Result(path: nil, bytes: base.bytesWritten, files: files, metadata: metadata)
        result.patchBytes = patchBytes
        result.skippedSpecial = skipped
        result.sha256 = base.digest()
        if let file { try ZipCheck.verify(path: file.temporaryPath, fileKey: age?.fileKey, increment: baseSnapshot != nil) }
        let kind = baseSnapshot.map { ".inc-" + $0.commit.prefix(7) } ?? ""
        result.path = try request.destination.commit(
            opened, candidates: BackupRoot.candidateNames(prefix: "claire_repo", stamp: .init(started), suffix: "_\(metadata.shortCommit)\(kind)\(suffix)"),
            digest: result.sha256!)
        return result
    }

    /// Writes HEAD's tree as a zip into `stream`, compressing entries on every core.
    private func writeTree(_ repo: GitRepository, _ tree: [GitTree.Entry], into stream: ZipWriter.Stream, modified: Date) throws -> Int {
        let entries = tree.filter { $0.kind != .submodule }
        let zip = ZipWriter(output: ZipWriter.Output(write: { try stream.write($0) }, patch: nil), modified: modified)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let gitDir = repo.gitDir
        let level = request.level
        enum Piece { case ready(ZipWriter.Method, UInt32, UInt64, [UInt8]), large, directory }
        try orderedParallel(count: entries.count, workers: cores, window: cores * 8,
                            makeContext: { _ in try GitRepository(exactly: gitDir) },
                            produce: { context, index -> Piece in
                                let entry = entries[index]
                                if entry.kind == .directory { return .directory }
                                let own = context as! GitRepository
                                if try own.blobSize(entry.oid) > Self.streamThreshold { return .large }
                                let blob = try own.lookupBlob(entry.oid)
                                let bytes = blob.bytes
                                let packed = entry.kind == .symlink
                                    ? Deflate.Packed(method: .stored, crc: Deflate.compress(bytes, level: 0).crc, data: Array(bytes))
                                    : Deflate.compress(bytes, level: level)
                                return .ready(packed.method, packed.crc, UInt64(bytes.count), packed.data)
                            },
                            consume: { index, piece in
                                let entry = entries[index]
                                let mode: UInt32 = switch entry.kind {
                                case .executable: 0o100755
                                case .symlink: 0o120777
                                case .directory: 0o40755
                                default: 0o100644
                                }
                                switch piece {
                                case .directory:
                                    try zip.addDirectory(name: entry.path + "/")
                                case let .ready(method, crc, size, data):
                                    try data.withUnsafeBytes {
                                        try zip.add(name: entry.path, mode: mode, method: method, crc: crc, uncompressed: size, data: $0)
                                    }
                                case .large:
                                    // Streamed from the object database when it can (loose objects);
                                    // packed ones can only be read whole by libgit2 1.5.
                                    let out = try zip.stream(name: entry.path, mode: mode, method: .deflated, level: level)
                                    if try !repo.streamBlob(entry.oid, chunk: { try out.write($0) }) {
                                        let blob = try repo.lookupBlob(entry.oid)
                                        let bytes = blob.bytes
                                        var offset = 0
                                        while offset < bytes.count {
                                            let n = min(8 << 20, bytes.count - offset)
                                            try out.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                                            offset += n
                                        }
                                    }
                                    try out.finish()
                                }
                            })
        try zip.finish()
        return entries.filter { $0.kind != .directory }.count
    }

    /// A regular file's bytes, opened without following a link (one swapped in meanwhile is refused).
    static func readRegularFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw CDBError.inputMissing(path: path, reason: "cannot be read without following a link: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw CDBError.inputMissing(path: path, reason: "not a regular file")
        }
        return try FileIO.readAll(fd, path: path)
    }

    /// Adds a file or folder as `base` (an --include under extra/, a volume under volumes/),
    /// keeping links as links (never followed: nothing outside is read through one) and modes;
    /// anything else (a fifo, a socket, a device) is skipped and named in `skipped`.
    private func addTree(_ path: String, as base: String, to zip: ZipWriter, skipped: inout [String]) throws {
        let fm = FileManager.default
        func add(_ full: String, as name: String) throws {
            var st = stat()
            guard lstat(full, &st) == 0 else { return }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try zip.addDirectory(name: name + "/", mode: 0o40000 | UInt32(st.st_mode & 0o7777))
                for child in (try fm.contentsOfDirectory(atPath: full)).sorted() {
                    try add(full + "/" + child, as: name + "/" + child)
                }
            case S_IFLNK:
                let target = try fm.destinationOfSymbolicLink(atPath: full)
                try zip.add(name: name, mode: 0o120777, bytes: Array(target.utf8), level: 0)
            case S_IFREG:
                let fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard fd >= 0 else { throw CDBError.inputMissing(path: full, reason: String(cString: strerror(errno))) }
                defer { close(fd) }
                // Swapped for something else since the lstat: what was opened is what counts.
                var opened = stat()
                guard fstat(fd, &opened) == 0, (opened.st_mode & S_IFMT) == S_IFREG else {
                    skipped.append(full)
                    return
                }
                let out = try zip.stream(name: name, mode: 0o100000 | UInt32(opened.st_mode & 0o7777), method: .deflated, level: request.level)
                try FileIO.forEachChunk(fd, path: full) { try out.write($0) }
                try out.finish()
            default:
                skipped.append(full)
            }
        }
        try add(path, as: base)
    }

    private func logEntry(_ result: Result) -> (title: String, fields: [(String, String)]) {
        var fields: [(String, String)] = []
        fields.append(("File", result.path.map { Path.name(of: $0) } ?? "-"))
        fields.append(("Size", ByteSize.format(result.bytes)))
        fields.append(("Branch", result.metadata.branch))
        fields.append(("Commit", result.metadata.commit))
        fields.append(("Files", "\(result.files)"))
        fields.append(("Uncommitted changes", "\(result.metadata.uncommitted)"))
        fields.append(("Untracked files", "\(result.metadata.untrackedCaptured.count) captured, \(result.metadata.untrackedSkipped.count) skipped"))
        fields.append((".env included", result.metadata.envIncluded ? "yes" : "no"))
        fields.append(("Extras", result.metadata.extras.isEmpty ? "none" : result.metadata.extras.joined(separator: ", ")))
        fields.append(("Duration", Format.fixed(result.seconds) + " s"))
        return ("Repository backup OK", fields)
    }
}



// MARK: Increments

/// The full snapshot an increment builds on.
struct IncrementBase {
    var name: String
    var commit: String
    var increments: Int
}

/// When increments stop paying: each holds every commit since its base, so they grow; once the
/// last one passed half the base's size, the next snapshot is full again. Storage then stays
/// within a small multiple of one full snapshot, and a restore needs two files at most.
let incrementShareOfBase = 0.5

/// `<root>/.snapshot-base-<hash of the repository>`: the repository's newest full snapshot with
/// history (its file name and full commit) and how many increments were built on it. Kept
/// outside the snapshots so that encrypted ones need no key to be built on.
/// The last commit count cdb worked out for a repository (`.commit-count-<key>` at the backup
/// root, beside the base marker): the next snapshot counts only the commits since, when that
/// commit is an ancestor of its own. A file cdb did not write, or a commit no longer an ancestor
/// (a rebase), means a full count.
struct CommitCountCache {
    let path: String

    init(root: String, repository: GitRepository) {
        path = Path.join(root, ".commit-count-" + Format.fnv1a(repository.commonDir))
    }

    func load() -> (commit: String, count: Int)? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let bytes = try? FileIO.readAll(fd, path: path), bytes.count < 256,
              let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count == 2, lines[0].count == 40, lines[0].allSatisfy(\.isHexDigit), let count = Int(lines[1]), count > 0 else { return nil }
        return (lines[0], count)
    }

    /// Records a count; a failure only costs the next snapshot a full count.
    func save(commit: String, count: Int) {
        var info = stat()
        guard lstat(Path.directory(of: path), &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return }
        try? AtomicFile.write("\(commit)\n\(count)\n", to: path)
    }
}

struct BaseMarker {
    let path: String

    init(root: BackupRoot, repository: GitRepository) {
        path = Path.join(root.path, ".snapshot-base-" + Format.fnv1a(repository.commonDir))
    }

    /// The recorded base, or nil (no marker, or one cdb did not write).
    func load() -> (name: String, commit: String, increments: Int, encrypted: Bool, lastIncrement: Int64)? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let bytes = try? FileIO.readAll(fd, path: path), bytes.count < 4096,
              let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 4, let parsed = BackupName.parse(lines[0]), parsed.kind == .repository, !parsed.isIncrement,
              lines[0] == Path.name(of: lines[0]), lines[1].count == 40, lines[1].allSatisfy(\.isHexDigit),
              let count = Int(lines[2]), count >= 0 else { return nil }
        let last = lines.count > 4 ? Int64(lines[4]) ?? 0 : 0
        return (lines[0], lines[1], count, lines[3] == "encrypted", last)
    }

    /// Records a base; a failure only costs the next commit a full snapshot.
    func save(name: String, commit: String, increments: Int, encrypted: Bool, lastIncrement: Int64) {
        try? AtomicFile.write("\(name)\n\(commit)\n\(increments)\n\(encrypted ? "encrypted" : "plain")\n\(lastIncrement)\n", to: path)
    }
}

extension RepositorySnapshot {
    /// The base for an increment of `head`, or nil when a full snapshot is due: no recorded base,
    /// its file gone, older than the retention window, history rewritten (its commit is no
    /// longer an ancestor), the increment limit reached, encryption switched, or a shallow clone.
    func incrementBase(_ repo: GitRepository, _ head: GitCommit, _ marker: BaseMarker, root: BackupRoot, started: Date) -> IncrementBase? {
        guard !repo.isShallow, let recorded = marker.load() else { return nil }
        let folder = root.folder(.repository)
        var info = stat()
        guard lstat(Path.join(folder, recorded.name), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            reporter.detail("full snapshot: the last one (\(recorded.name)) is gone")
            return nil
        }
        if let stamp = BackupName.parse(recorded.name)?.stamp,
           started.timeIntervalSince(stamp) > Double(request.settings.retentionDays) * 86_400 {
            reporter.detail("full snapshot: the last one is older than the retention window")
            return nil
        }
        guard recorded.encrypted == (request.recipients != nil) else { return nil }
        if recorded.lastIncrement > 0, Double(recorded.lastIncrement) > Double(info.st_size) * incrementShareOfBase {
            reporter.detail("full snapshot: the last increment grew past half the full one")
            return nil
        }
        guard recorded.increments < request.maxIncrements else {
            reporter.detail("full snapshot: \(recorded.increments) increments since the last one")
            return nil
        }
        guard recorded.commit != head.hash, repo.isAncestor(recorded.commit, of: head) else {
            reporter.detail("full snapshot: history was rewritten since \(recorded.commit.prefix(7))")
            return nil
        }
        return IncrementBase(name: recorded.name, commit: recorded.commit, increments: recorded.increments)
    }
}
