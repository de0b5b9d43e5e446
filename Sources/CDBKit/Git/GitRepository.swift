import CLibGit2
import FoundationEssentials
import Glibc

/// libgit2 is initialised once per process.
enum LibGit2 {
    static let initialised: Bool = {
        git_libgit2_init()
        return true
    }()

    /// The last libgit2 error of this thread (it may be NULL).
    static func lastError(_ code: Int32) -> String {
        if let error = git_error_last(), let message = error.pointee.message {
            return String(cString: message)
        }
        return "libgit2 error \(code)"
    }
}

/// A git repository opened through libgit2; owns its handle.
public final class GitRepository {
    let handle: OpaquePointer
    /// The work tree ("" for a bare repository) and the git folder.
    public let workdir: String
    public let gitDir: String
    public let isBare: Bool

    /// Opens the repository containing `path` (searching upward), honouring GIT_DIR and
    /// GIT_WORK_TREE when they are set.
    public init(discoveringFrom path: String) throws {
        _ = LibGit2.initialised
        var repo: OpaquePointer?
        let env = ProcessInfo.processInfo.environment
        let code: Int32
        if let gitDir = env["GIT_DIR"], !gitDir.isEmpty {
            // libgit2 1.5's GIT_REPOSITORY_OPEN_FROM_ENV refuses GIT_WORK_TREE ("unimplemented"):
            // open GIT_DIR itself and set the work tree by hand.
            let absolute = gitDir.hasPrefix("/") ? gitDir : Path.join(path, gitDir)
            code = git_repository_open_ext(&repo, absolute, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
            if code == 0, let repo, let tree = env["GIT_WORK_TREE"], !tree.isEmpty {
                let absoluteTree = tree.hasPrefix("/") ? tree : Path.join(path, tree)
                git_repository_set_workdir(repo, absoluteTree, 0)
            }
        } else {
            code = git_repository_open_ext(&repo, path, 0, nil)
        }
        guard code == 0, let repo else {
            if code == GIT_ENOTFOUND.rawValue {
                throw CDBError.inputMissing(path: path, reason: "not a git repository (or any parent up to /) — run inside the trading repository or pass --repo")
            }
            throw CDBError.inputMissing(path: path, reason: "cannot open the repository: \(LibGit2.lastError(code))")
        }
        self.handle = repo
        isBare = git_repository_is_bare(repo) == 1
        workdir = git_repository_workdir(repo).map { String(cString: $0) } ?? ""
        gitDir = String(cString: git_repository_path(repo))
    }

    /// Opens exactly this repository (for worker threads: one handle each).
    init(exactly gitDir: String) throws {
        _ = LibGit2.initialised
        var repo: OpaquePointer?
        let code = git_repository_open_ext(&repo, gitDir, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        guard code == 0, let repo else { throw CDBError.inputMissing(path: gitDir, reason: LibGit2.lastError(code)) }
        handle = repo
        isBare = git_repository_is_bare(repo) == 1
        workdir = git_repository_workdir(repo).map { String(cString: $0) } ?? ""
        self.gitDir = gitDir
    }

    deinit { git_repository_free(handle) }

    public var isShallow: Bool { git_repository_is_shallow(handle) == 1 }
    /// The folder shared by all worktrees (the main .git).
    public var commonDir: String { String(cString: git_repository_commondir(handle)) }

    /// A path-valued config setting (`~` expanded), or nil.
    public func configPath(_ name: String) -> String? {
        var config: OpaquePointer?
        guard git_repository_config_snapshot(&config, handle) == 0 else { return nil }
        defer { git_config_free(config) }
        var buffer = git_buf()
        guard git_config_get_path(&buffer, config, name) == 0, let ptr = buffer.ptr else { return nil }
        defer { git_buf_dispose(&buffer) }
        return String(cString: ptr)
    }
    public var isWorktree: Bool { git_repository_is_worktree(handle) == 1 }

    func check(_ code: Int32, _ what: String) throws {
        if code < 0 { throw CDBError.inputMissing(path: workdir.isEmpty ? gitDir : workdir, reason: "\(what): \(LibGit2.lastError(code))") }
    }

    /// HEAD's commit; throws "nothing committed yet" for an empty repository or unborn branch.
    public func headCommit() throws -> GitCommit {
        var ref: OpaquePointer?
        let code = git_repository_head(&ref, handle)
        if code == GIT_EUNBORNBRANCH.rawValue || code == GIT_ENOTFOUND.rawValue {
            throw CDBError.inputMissing(path: workdir.isEmpty ? gitDir : workdir, reason: "nothing committed yet — make a first commit, then snapshot")
        }
        try check(code, "reading HEAD")
        defer { git_reference_free(ref) }
        var object: OpaquePointer?
        try check(git_reference_peel(&object, ref, GIT_OBJECT_COMMIT), "resolving HEAD to a commit")
        return GitCommit(handle: object!)
    }

    /// The commit a full 40-digit hash names (what the post-commit hook passes).
    public func commit(hash: String) throws -> GitCommit {
        var oid = git_oid()
        guard hash.count == 40, hash.allSatisfy(\.isHexDigit), git_oid_fromstr(&oid, hash) == 0 else {
            throw CDBError.usage("--commit takes a full 40-digit commit hash, not \(Untrusted.escape(hash))")
        }
        var object: OpaquePointer?
        try check(git_commit_lookup(&object, handle, &oid), "reading commit \(hash)")
        return GitCommit(handle: object!)
    }

    /// The branch HEAD points at, or nil when detached.
    public func branchName() -> String? {
        guard git_repository_head_detached(handle) != 1 else { return nil }
        var ref: OpaquePointer?
        guard git_repository_head(&ref, handle) == 0 else { return nil }
        defer { git_reference_free(ref) }
        return git_reference_shorthand(ref).map { String(cString: $0) }
    }

    /// Every remote's name and URL (credentials not yet removed).
    public func remotes() -> [(name: String, url: String)] {
        var list = git_strarray()
        guard git_remote_list(&list, handle) == 0 else { return [] }
        defer { git_strarray_dispose(&list) }
        var result: [(String, String)] = []
        for i in 0..<list.count {
            guard let cName = list.strings[i] else { continue }
            var remote: OpaquePointer?
            guard git_remote_lookup(&remote, handle, cName) == 0 else { continue }
            defer { git_remote_free(remote) }
            let url = git_remote_url(remote).map { String(cString: $0) } ?? ""
            result.append((String(cString: cName), url))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// The number of commits reachable from `commit`. In a shallow clone the walk stops at the
    /// commits listed in the `shallow` file (libgit2 1.5's revwalk cannot pass them).
    /// `git rev-list --count`: the commits reachable from `commit`, or with `hiding`, only those
    /// not reachable from that commit too (the count since an earlier one, when it is an
    /// ancestor). libgit2 reads the repository's commit-graph file when there is one.
    public func commitCount(from commit: GitCommit, hiding: String? = nil) throws -> Int {
        if isShallow { return try shallowCommitCount(from: commit) }
        var walk: OpaquePointer?
        try check(git_revwalk_new(&walk, handle), "walking history")
        defer { git_revwalk_free(walk) }
        var oid = commit.oid
        try check(git_revwalk_push(walk, &oid), "walking history")
        if let hiding {
            var hidden = git_oid()
            try check(git_oid_fromstr(&hidden, hiding), "reading a commit hash")
            try check(git_revwalk_hide(walk, &hidden), "walking history")
        }
        var count = 0
        var next = git_oid()
        while true {
            let code = git_revwalk_next(&next, walk)
            if code == GIT_ITEROVER.rawValue { break }
            try check(code, "walking history")
            count += 1
        }
        return count
    }

    /// The count through the commit-graph file (objects/info/commit-graph), when the repository
    /// has one this reader trusts: the commits made since it was written are read one by one
    /// (libgit2) until they reach commits it holds; those and their ancestors are counted in the
    /// graph. Nil when there is none, or it contradicts itself (then walk instead).
    public func commitCountFromGraph(from commit: GitCommit) -> Int? {
        guard !isShallow, let graph = CommitGraph.open(objects: Path.join(commonDir, "objects")) else { return nil }
        defer { graph.close() }
        var outside = Set<String>()
        var inGraph: [Int] = []
        var stack = [commit.oid]
        while let oid = stack.popLast() {
            if let index = graph.index(of: withUnsafeBytes(of: oid.id) { Array($0) }) {
                inGraph.append(index)
                continue
            }
            guard outside.insert(oid.hex).inserted else { continue }
            var id = oid
            var object: OpaquePointer?
            guard git_commit_lookup(&object, handle, &id) == 0 else { return nil }
            defer { git_commit_free(object) }
            for i in 0..<git_commit_parentcount(object) {
                guard let parent = git_commit_parent_id(object, i)?.pointee else { return nil }
                stack.append(parent)
            }
        }
        guard let counted = graph.ancestorCount(of: inGraph) else { return nil }
        return outside.count + counted
    }

    /// Whether `ancestor` is `commit` or one of its ancestors (false when either is unknown).
    public func isAncestor(_ ancestor: String, of commit: GitCommit) -> Bool {
        var base = git_oid()
        guard git_oid_fromstr(&base, ancestor) == 0 else { return false }
        if git_oid_equal(&base, [commit.oid]) == 1 { return true }
        var tip = commit.oid
        return git_graph_descendant_of(handle, &tip, &base) == 1
    }

    /// Writes a git bundle (v2; `git clone` and `git bundle verify` read it) of everything
    /// reachable from `tip` that is not reachable from `prerequisite`, in chunks to `write`:
    /// the header (the refs `HEAD` and, when given, `refs/heads/<branch>`; the prerequisite as
    /// `-<hash>`), then a pack made by libgit2's packbuilder on all cores. Returns the number of
    /// objects. The caller checks that `branch` is a name git allows.
    public func writeBundle(tip: GitCommit, branch: String?, prerequisite: String?, threads: Int,
                            _ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var walk: OpaquePointer?
        try check(git_revwalk_new(&walk, handle), "walking history for the bundle")
        defer { git_revwalk_free(walk) }
        var tipOid = tip.oid
        try check(git_revwalk_push(walk, &tipOid), "walking history for the bundle")
        var header = "# v2 git bundle\n"
        if let prerequisite {
            var base = git_oid()
            try check(git_oid_fromstr(&base, prerequisite), "reading the base commit")
            try check(git_revwalk_hide(walk, &base), "walking history for the bundle")
            header += "-\(prerequisite)\n"
        }
        header += "\(tip.hash) HEAD\n"
        if let branch { header += "\(tip.hash) refs/heads/\(branch)\n" }
        header += "\n"
        var builder: OpaquePointer?
        try check(git_packbuilder_new(&builder, handle), "starting the bundle's pack")
        defer { git_packbuilder_free(builder) }
        git_packbuilder_set_threads(builder, UInt32(max(1, threads)))
        try check(git_packbuilder_insert_walk(builder, walk), "collecting the bundle's objects")
        try Array(header.utf8).withUnsafeBytes { try write($0) }
        final class Sink {
            let write: (UnsafeRawBufferPointer) throws -> Void
            var failure: Error?
            init(_ write: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.write = write }
        }
        return try withoutActuallyEscaping(write) { write in
            let sink = Sink(write)
            let code = git_packbuilder_foreach(builder, { data, size, payload in
                let sink = Unmanaged<Sink>.fromOpaque(payload!).takeUnretainedValue()
                do { try sink.write(UnsafeRawBufferPointer(start: data, count: size)) } catch {
                    sink.failure = error
                    return -1
                }
                return 0
            }, Unmanaged.passUnretained(sink).toOpaque())
            if let failure = sink.failure { throw failure }
            try check(code, "writing the bundle's pack")
            return git_packbuilder_object_count(builder)
        }
    }

    /// Whether git allows `name` as a branch name (checked by libgit2), so that it can go into a
    /// bundle's ref line and onto git's command line at restore: never one that starts with "-"
    /// (which git's command line would read as an option; `git branch` refuses it too).
    public static func isValidBranchName(_ name: String) -> Bool {
        var valid: Int32 = 0
        return !name.hasPrefix("-") && git_reference_name_is_valid(&valid, "refs/heads/" + name) == 0 && valid == 1
            && !name.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    private func shallowCommitCount(from commit: GitCommit) throws -> Int {
        let shallowFile = Path.join(commonDir, "shallow")
        let boundary = Set(((try? String(contentsOfFile: shallowFile, encoding: .utf8)) ?? "")
            .split(separator: "\n").map { $0.trimmedSpaces() })
        var seen: Set<String> = [commit.hash]
        var queue = [commit.oid]
        while let oid = queue.popLast() {
            var id = oid
            var object: OpaquePointer?
            guard git_commit_lookup(&object, handle, &id) == 0 else { continue }
            let current = GitCommit(handle: object!)
            if boundary.contains(current.hash) { continue }
            for i in 0..<git_commit_parentcount(object) {
                guard let parent = git_commit_parent_id(object, i)?.pointee else { continue }
                if seen.insert(parent.hex).inserted { queue.append(parent) }
            }
        }
        return seen.count
    }

    /// What `git status --porcelain` lists: staged and unstaged changes and untracked files
    /// (untracked folders counted once), ignoring ignored files.
    public func uncommittedCount() throws -> Int {
        guard !isBare else { return 0 }
        return try withStatus(GIT_STATUS_SHOW_INDEX_AND_WORKDIR, GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue,
                       "reading the status") { git_status_list_entrycount($0) }
    }

    /// Runs `body` over a status list made with `show` and `flags`, freed afterwards.
    private func withStatus<T>(_ show: git_status_show_t, _ flags: UInt32, _ what: String, _ body: (OpaquePointer?) throws -> T) throws -> T {
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.show = show
        options.flags = flags
        var list: OpaquePointer?
        try check(git_status_list_new(&list, handle, &options), what)
        defer { git_status_list_free(list) }
        return try body(list)
    }

    /// An untracked file that `.gitignore` does not ignore, with its size (links: their target's length).
    public struct UntrackedFile: Sendable {
        public var path: String
        public var size: Int64
    }

    /// Every untracked, not ignored file of the work tree (folders walked into).
    public func untrackedFiles() throws -> [UntrackedFile] {
        guard !isBare else { return [] }
        return try withStatus(GIT_STATUS_SHOW_WORKDIR_ONLY, GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue,
                              "listing untracked files") { list in
            var result: [UntrackedFile] = []
            for i in 0..<git_status_list_entrycount(list) {
                guard let entry = git_status_byindex(list, i)?.pointee, entry.status.rawValue & GIT_STATUS_WT_NEW.rawValue != 0,
                      let delta = entry.index_to_workdir?.pointee, let cPath = delta.new_file.path else { continue }
                let path = String(cString: cPath)
                var info = stat()
                let size: Int64 = lstat(workdir + path, &info) == 0 ? Int64(info.st_size) : 0
                result.append(UntrackedFile(path: path, size: size))
            }
            return result
        }
    }

    /// A binary-safe patch from HEAD to the work tree (staged and unstaged), which `git apply`
    /// replays on a clean checkout, then the untracked files named in `untracked` as new files.
    public func uncommittedPatch(head: GitCommit, untracked: [String]) throws -> [UInt8] {
        guard !isBare else { return [] }
        var patch = try diffToWorkdir(head, flags: 0, paths: nil)
        if !untracked.isEmpty {
            let flags = GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue
                | GIT_DIFF_SHOW_UNTRACKED_CONTENT.rawValue | GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
            patch += try diffToWorkdir(head, flags: flags, paths: untracked)
        }
        return patch
    }

    private func diffToWorkdir(_ head: GitCommit, flags extra: UInt32, paths: [String]?) throws -> [UInt8] {
        let tree = try head.tree()
        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        options.flags = GIT_DIFF_SHOW_BINARY.rawValue | GIT_DIFF_IGNORE_SUBMODULES.rawValue | extra
        var cPaths = (paths ?? []).map { strdup($0) }
        defer { cPaths.forEach { free($0) } }
        var diff: OpaquePointer?
        let code = cPaths.withUnsafeMutableBufferPointer { buffer -> Int32 in
            if paths != nil {
                options.pathspec = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            }
            return git_diff_tree_to_workdir_with_index(&diff, handle, tree.handle, &options)
        }
        try check(code, "comparing the work tree with HEAD")
        defer { git_diff_free(diff) }
        var buffer = git_buf()
        try check(git_diff_to_buf(&buffer, diff, GIT_DIFF_FORMAT_PATCH), "writing the patch")
        defer { git_buf_dispose(&buffer) }
        guard let ptr = buffer.ptr else { return [] }
        return Array(UnsafeRawBufferPointer(start: ptr, count: buffer.size))
    }

    /// A blob's size from its header, without reading it.
    public func blobSize(_ oid: git_oid) throws -> Int {
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, handle), "opening the object database")
        defer { git_odb_free(odb) }
        var id = oid
        var size = 0
        var type = GIT_OBJECT_BLOB
        try check(git_odb_read_header(&size, &type, odb, &id), "reading an object header")
        return size
    }

    /// Streams a blob in chunks when the object database can (loose objects), so that a huge
    /// file is never held whole; returns false when it cannot (packed objects), having read nothing.
    public func streamBlob(_ oid: git_oid, chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, handle), "opening the object database")
        defer { git_odb_free(odb) }
        var id = oid
        var stream: UnsafeMutablePointer<git_odb_stream>?
        var length = 0
        var type = GIT_OBJECT_BLOB
        guard git_odb_open_rstream(&stream, &length, &type, odb, &id) == 0, let stream else { return false }
        defer { git_odb_stream_free(stream) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while total < length {
            let n = git_odb_stream_read(stream, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
            if n < 0 { try check(n, "reading a large file from the object database") }
            if n == 0 { break }
            try chunk(UnsafeRawBufferPointer(rebasing: buffer[0..<Int(n)]))
            total += Int(n)
        }
        guard total == length else {
            throw CDBError.inputMissing(path: oid.hex, reason: "the object database gave \(total) of \(length) bytes")
        }
        return true
    }

    /// A blob, read whole.
    public func lookupBlob(_ oid: git_oid) throws -> GitBlob {
        var oid = oid
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, handle, &oid), "reading a file from the object database")
        return GitBlob(handle: blob!)
    }
}

/// A commit; freed in `deinit`.
public final class GitCommit {
    let handle: OpaquePointer
    init(handle: OpaquePointer) { self.handle = handle }
    deinit { git_commit_free(handle) }

    public var oid: git_oid { git_commit_id(handle).pointee }
    public var hash: String {
        var id = oid
        var text = [CChar](repeating: 0, count: 41)
        git_oid_tostr(&text, 41, &id)
        return String(cString: text)
    }
    public var summary: String { git_commit_summary(handle).map { String(cString: $0) } ?? "" }
    public var authorName: String { git_commit_author(handle).pointee.name.map { String(cString: $0) } ?? "" }
    public var authorEmail: String { git_commit_author(handle).pointee.email.map { String(cString: $0) } ?? "" }

    /// The author date in ISO 8601 with the author's offset, as `git log --format=%aI`.
    public var authorDate: String {
        let when = git_commit_author(handle).pointee.when
        let offset = Int(when.offset)  // minutes
        let local = Int(when.time) + offset * 60
        var t = time_t(local)
        var parts = tm()
        gmtime_r(&t, &parts)
        let sign = offset < 0 ? "-" : "+"
        return Timestamp.dateAndTime(parts, separator: "T") + sign + Format.zeroPadded(abs(offset) / 60, width: 2) + ":"
            + Format.zeroPadded(abs(offset) % 60, width: 2)
    }

    public var time: Date { Date(timeIntervalSince1970: TimeInterval(git_commit_time(handle))) }

    public func tree() throws -> GitTree {
        var tree: OpaquePointer?
        let code = git_commit_tree(&tree, handle)
        if code < 0 { throw CDBError.inputMissing(path: hash, reason: "reading the commit's tree: \(LibGit2.lastError(code))") }
        return GitTree(handle: tree!)
    }
}

/// A tree; freed in `deinit`.
public final class GitTree {
    let handle: OpaquePointer
    init(handle: OpaquePointer) { self.handle = handle }
    deinit { git_tree_free(handle) }

    /// One entry of the recursive walk.
    public struct Entry {
        public enum Kind { case file, executable, symlink, submodule, directory }
        public let path: String
        public let kind: Kind
        public let oid: git_oid
    }

    /// Every entry below this tree, parents before children, in git's order.
    public func walk() throws -> [Entry] {
        final class Collector {
            var entries: [Entry] = []
        }
        let collector = Collector()
        let code = withUnsafeMutablePointer(to: &collector.entries) { pointer -> Int32 in
            git_tree_walk(handle, GIT_TREEWALK_PRE, { root, entry, payload in
                let entries = payload!.assumingMemoryBound(to: [GitTree.Entry].self)
                let name = String(cString: git_tree_entry_name(entry))
                let path = String(cString: root!) + name
                let mode = git_tree_entry_filemode(entry)
                let kind: GitTree.Entry.Kind
                switch mode {
                case GIT_FILEMODE_TREE: kind = .directory
                case GIT_FILEMODE_BLOB_EXECUTABLE: kind = .executable
                case GIT_FILEMODE_LINK: kind = .symlink
                case GIT_FILEMODE_COMMIT: kind = .submodule
                default: kind = .file
                }
                entries.pointee.append(GitTree.Entry(path: path, kind: kind, oid: git_tree_entry_id(entry).pointee))
                return 0
            }, pointer)
        }
        if code < 0 { throw CDBError.inputMissing(path: "HEAD", reason: "walking the tree: \(LibGit2.lastError(code))") }
        return collector.entries
    }
}

/// A blob's bytes, valid while the object lives.
public final class GitBlob {
    let handle: OpaquePointer
    init(handle: OpaquePointer) { self.handle = handle }
    deinit { git_blob_free(handle) }

    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: git_blob_rawcontent(handle), count: Int(git_blob_rawsize(handle)))
    }
}

extension git_oid {
    var hex: String {
        var id = self
        var text = [CChar](repeating: 0, count: 41)
        git_oid_tostr(&text, 41, &id)
        return String(cString: text)
    }
}
