import FoundationEssentials

#if canImport(Glibc)
import Dispatch
import Glibc
#endif

/// Unpacks a repository snapshot into a folder: repository.zip's files with their modes and
/// links, git_metadata.txt, `.env` from .env.backup (0600), and optionally the uncommitted
/// patch. The sidecar is checked first; every name is checked before anything is written
/// (no `..`, no absolute names, no `.git`, no duplicates, nothing below a link); every byte is
/// checked against its CRC and size as it is written, and a failure takes back everything the
/// run wrote. Links are made last, exactly as committed, and nothing is written through one.
public struct SnapshotRestore {
    public struct Request: Sendable {
        public var snapshot: String
        public var directory: String
        public var force = false
        public var applyUncommitted = false
        /// Skip the `.sha256` check (to rescue a damaged backup on purpose).
        public var noVerify = false
        /// Keys for an encrypted (.zip.age) snapshot.
        public var keys: DecryptionKeys?
        public init(snapshot: String, directory: String) {
            self.snapshot = snapshot
            self.directory = directory
        }
    }

    public struct Result: Sendable {
        public var files = 0
        public var links = 0
        public var env = false
        public var patchApplied = false
        public var commit = ""
        /// Links restored as committed that point outside the folder ("name -> target").
        public var outsideLinks: [String] = []
        /// Docker volumes restored: name → folder (DIR/volumes/NAME, or DIR/docker-volumes/NAME
        /// when the repository has a volumes/ folder of its own).
        public var volumes: [(name: String, path: String)] = []
    }

    public let request: Request
    public let reporter: Reporter

    public init(request: Request, reporter: Reporter) {
        self.request = request
        self.reporter = reporter
    }

    /// Why `name` may not be written under the folder, or nil when it may. As git refuses them:
    /// absolute names, `..`, and `.git` in any case or disguise (`.GIT`, `.git.`, `git~1`, with
    /// characters HFS+ ignores) as any component.
    static func unsafeReason(name: String) -> String? {
        if name.isEmpty || name.utf8.contains(0) { return "an empty or NUL-containing name" }
        if name.hasPrefix("/") { return "an absolute path" }
        let parts = name.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains("..") { return "a path that climbs out with '..'" }
        if parts.contains(where: { isGitFolderName(String($0)) }) { return "a .git folder (it could plant hooks or configuration that run commands)" }
        return nil
    }

    static func isGitFolderName(_ component: String) -> Bool {
        let ignorable: Set<UInt32> = [0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
                                      0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF]
        var text = String(String.UnicodeScalarView(component.unicodeScalars.filter { !ignorable.contains($0.value) })).lowercased()
        while let last = text.last, last == "." || last == " " { text.removeLast() }
        return text == ".git" || text == "git~1"
    }

    /// The components of a name, without empty ones and `.`: "a//./b" and "a/b" are one path.
    static func components(_ name: String) -> [String] {
        name.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
    }

    /// Whether link `name` resolves to a place outside the folder, following the snapshot's own
    /// links on the way (`s/l1 -> ..`, `l2 -> s/l1/..` leaves it).
    static func pointsOutside(_ name: String, links: [String: String]) -> Bool {
        var budget = 40
        func resolve(_ start: [String], _ target: String) -> [String]? {
            budget -= 1
            if budget < 0 || target.hasPrefix("/") { return nil }
            var stack = start
            for piece in components(target) {
                if piece == ".." {
                    if stack.isEmpty { return nil }
                    stack.removeLast()
                    continue
                }
                stack.append(piece)
                if let next = links[stack.joined(separator: "/")] {
                    guard let resolved = resolve(Array(stack.dropLast()), next) else { return nil }
                    stack = resolved
                }
            }
            return stack
        }
        guard let target = links[name] else { return false }
        return resolve(Array(components(name).dropLast()), target) == nil
    }

    public func run() throws -> Result {
        try BackupIntegrity.checkSidecar(of: request.snapshot, skip: request.noVerify, reporter: reporter)
        let snapshot = try SnapshotArchive(path: request.snapshot, requireMetadata: false, keys: request.keys)
        let outer = snapshot.outer, inner = snapshot.inner
        func entry(_ name: String) -> ZipReader.Entry? { snapshot.entry(name) }
        let envBackup = entry(".env.backup")

        // Check every name and link before writing anything.
        func refuse(_ name: String, _ reason: String) -> CDBError {
            .validation(path: request.snapshot, reason: "refusing entry '\(Untrusted.escape(name))': \(reason); nothing was written")
        }
        let tree = try Self.plan(inner.entries.map { ($0, $0.name) }, zip: inner, refuse: refuse)
        // Docker volumes (outer volumes/NAME/…): the same checks, in a place of their own.
        let volumes = try Self.plan(outer.entries.filter { $0.name.hasPrefix("volumes/") }.map { ($0, String($0.name.dropFirst("volumes/".count))) },
                                    zip: outer, shown: "volumes/", refuse: refuse)
        let volumeFolder = tree.files.contains { $0.1.first == "volumes" } || tree.links.contains { $0.1.first == "volumes" } ? "docker-volumes" : "volumes"

        let dir = request.directory
        var info = stat()
        var createdRoot = false
        if lstat(dir, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw CDBError.cannotCreate(path: dir, reason: "it exists and is not a folder")
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            if !contents.isEmpty && !request.force {
                throw CDBError.cannotCreate(path: dir, reason: "the folder is not empty; choose an empty one, or --force to write over it")
            }
        } else {
            try BackupRoot.makeDirectory(dir)
            chmod(dir, 0o755)
            createdRoot = true
        }
        let rootFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw CDBError.cannotCreate(path: dir, reason: String(cString: strerror(errno))) }
        defer { close(rootFD) }

        // Whatever goes wrong from here, nothing this run wrote stays under the folder.
        let created = Created()
        do {
            var result = try extract(snapshot, tree: tree, envBackup: envBackup, rootFD: rootFD, created: created)
            _ = try writeTree(volumes, zip: outer, under: [volumeFolder], folderModes: true, rootFD: rootFD, created: created)
            var names: [String] = []
            for (_, parts) in volumes.files where !names.contains(parts[0]) { names.append(parts[0]) }
            for (_, parts, _) in volumes.links where !names.contains(parts[0]) { names.append(parts[0]) }
            result.volumes = names.map { ($0, Path.join(request.directory, volumeFolder + "/" + $0)) }
            return result
        } catch {
            created.undo(rootFD: rootFD)
            if createdRoot { rmdir(dir) }
            throw error
        }
    }

    /// A tree's entries (the repository's, or the Docker volumes'), every name and link checked
    /// before anything is written: by path components, the links apart (written last).
    struct TreePlan {
        var files: [(ZipReader.Entry, [String])] = []
        var links: [(ZipReader.Entry, [String], String)] = []
        var linkMap: [String: String] = [:]
    }

    /// Refuses an unsafe name, a name twice, a link with an empty or NUL target, and anything
    /// below a link (it would be written through it). `entries` pairs each entry with its name
    /// inside the tree; `shown` prefixes names in messages.
    static func plan(_ entries: [(ZipReader.Entry, String)], zip: ZipReader, shown: String = "",
                     refuse: (String, String) -> CDBError) throws -> TreePlan {
        var plan = TreePlan()
        var seen = Set<String>()
        for (e, name) in entries {
            if let reason = unsafeReason(name: name) { throw refuse(e.name, reason) }
            let parts = components(name)
            guard !parts.isEmpty else { continue }
            let key = parts.joined(separator: "/")
            guard seen.insert(key).inserted else { throw refuse(e.name, "the name appears twice") }
            if e.isSymlink {
                let target = String(decoding: try zip.contents(e, limit: 4096), as: UTF8.self)
                guard !target.isEmpty, !target.utf8.contains(0) else { throw refuse(e.name, "a link with an empty or NUL-containing target") }
                plan.links.append((e, parts, target))
                plan.linkMap[key] = target
            } else {
                plan.files.append((e, parts))
            }
        }
        for (e, parts) in plan.files + plan.links.map({ ($0.0, $0.1) }) {
            for depth in 1..<max(1, parts.count) where plan.linkMap[parts[0..<depth].joined(separator: "/")] != nil {
                throw refuse(e.name, "it lies below the symbolic link '\(shown)\(Untrusted.escape(parts[0..<depth].joined(separator: "/")))'")
            }
        }
        return plan
    }

    /// Writes a checked tree under `prefix`: folders, files with their modes, then the links as
    /// they were (nothing is written through one); with `folderModes`, folders get theirs last,
    /// deepest first (a read-only folder must not stop its own contents). `skip` leaves a file
    /// out. Returns the files and links written, and the links that point outside the tree.
    private func writeTree(_ plan: TreePlan, zip: ZipReader, under prefix: [String] = [], folderModes: Bool = false,
                           skip: ([String]) -> Bool = { _ in false }, rootFD: Int32, created: Created) throws -> (files: Int, links: Int, outside: [String]) {
        var files = 0
        var modes: [([String], mode_t)] = []
        for (e, parts) in plan.files {
            let path = prefix + parts
            if e.isDirectory {
                let fd = try openDirectory(rootFD, components: path, create: true, created: created)
                if fd != rootFD { close(fd) }
                if folderModes && e.mode & 0o7777 != 0 { modes.append((path, mode_t(e.mode & 0o7777))) }
                continue
            }
            if skip(parts) { continue }
            try writeFile(rootFD, name: path.joined(separator: "/"), mode: mode_t(e.mode & 0o777 == 0 ? 0o644 : e.mode & 0o777),
                          entry: e, zip: zip, created: created)
            files += 1
        }
        var outside: [String] = []
        for (e, parts, target) in plan.links {
            let path = prefix + parts
            let parent = try openDirectory(rootFD, components: Array(path.dropLast()), create: true, created: created)
            defer { if parent != rootFD { close(parent) } }
            if request.force { unlinkat(parent, path.last!, 0) }
            guard symlinkat(target, parent, path.last!) == 0 else {
                throw CDBError.cannotCreate(path: request.directory + "/" + Untrusted.escape(e.name), reason: String(cString: strerror(errno)))
            }
            created.files.append(path.joined(separator: "/"))
            if Self.pointsOutside(parts.joined(separator: "/"), links: plan.linkMap) { outside.append("\(Untrusted.escape(e.name)) -> \(Untrusted.escape(target))") }
        }
        for (path, mode) in modes.sorted(by: { $0.0.count > $1.0.count }) {
            let fd = try openDirectory(rootFD, components: path, create: false, created: created)
            if fd != rootFD { fchmod(fd, mode); close(fd) }
        }
        return (files, plan.links.count, outside)
    }

    /// What a run created, to take back when it fails.
    final class Created {
        var files: [String] = []
        var folders: [String] = []

        func undo(rootFD: Int32) {
            for file in files.reversed() { unlinkat(rootFD, file, 0) }
            for folder in folders.reversed() { unlinkat(rootFD, folder, AT_REMOVEDIR) }
        }
    }

    private func extract(_ snapshot: SnapshotArchive, tree: TreePlan, envBackup: ZipReader.Entry?, rootFD: Int32, created: Created) throws -> Result {
        let outer = snapshot.outer, inner = snapshot.inner
        let dir = request.directory
        var result = Result()
        // Links last, exactly as committed, so that no file is ever written through one.
        let written = try writeTree(tree, zip: inner, skip: { parts in
            guard envBackup != nil && parts == [".env"] else { return false }
            reporter.warning("the snapshot holds both a committed .env and .env.backup (the work tree's .env when it was made); .env.backup wins, the committed one is in the repository's history")
            return true
        }, rootFD: rootFD, created: created)
        result.files = written.files
        result.links = written.links
        let outside = written.outside
        if !outside.isEmpty {
            reporter.warning("\(outside.count) link\(outside.count == 1 ? "" : "s") point\(outside.count == 1 ? "s" : "") outside \(dir) (restored as committed, as git checkout does): \(outside.joined(separator: ", "))")
        }
        result.outsideLinks = outside
        if let meta = snapshot.metadataEntry {
            if inner.entries.contains(where: { Self.components($0.name) == [SnapshotArchive.metadataName] }) {
                reporter.warning("the repository has its own \(SnapshotArchive.metadataName); the snapshot's was not written")
            } else {
                try writeFile(rootFD, name: SnapshotArchive.metadataName, mode: 0o644, entry: meta, zip: outer, created: created)
            }
            result.commit = try snapshot.commit() ?? ""
        }
        if let env = envBackup {
            try writeFile(rootFD, name: ".env", mode: 0o600, entry: env, zip: outer, created: created)
            result.env = true
        }
        if request.applyUncommitted {
            guard let patchEntry = outer.entries.first(where: { $0.name == "uncommitted.patch" }) else {
                reporter.info("no uncommitted.patch in the snapshot: the work tree was clean")
                return result
            }
            try applyPatch(outer, patchEntry, in: dir)
            result.patchApplied = true
        }
        return result
    }

    /// Opens (creating when asked) a folder below `root`, refusing any component that is a link.
    private func openDirectory(_ root: Int32, components: [String], create: Bool, created: Created) throws -> Int32 {
        var fd = root
        for (index, part) in components.enumerated() {
            if create, mkdirat(fd, part, 0o755) == 0 { created.folders.append(components[0...index].joined(separator: "/")) }
            let next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            if fd != root { close(fd) }
            guard next >= 0 else {
                throw CDBError.cannotCreate(path: request.directory + "/" + Untrusted.escape(components[0...index].joined(separator: "/")),
                                            reason: code == ELOOP || code == ENOTDIR ? "a symbolic link or file is in the way; refusing to write through it" : String(cString: strerror(code)))
            }
            fd = next
        }
        return fd
    }

    /// Writes one entry's bytes to a new file, checking its CRC-32 and size against the central
    /// directory as it goes: a lie is exit 65.
    private func writeFile(_ root: Int32, name: String, mode: mode_t, entry: ZipReader.Entry, zip: ZipReader, created: Created) throws {
        let parts = name.split(separator: "/").map(String.init)
        let parent = try openDirectory(root, components: Array(parts.dropLast()), create: true, created: created)
        defer { if parent != root { close(parent) } }
        if request.force { unlinkat(parent, parts.last!, 0) }
        let fd = openat(parent, parts.last!, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CDBError.cannotCreate(path: request.directory + "/" + Untrusted.escape(name), reason: String(cString: strerror(errno))) }
        created.files.append(name)
        defer { close(fd) }
        let sink = DescriptorSink(fd: fd, path: request.directory + "/" + name, ownsDescriptor: false)
        sink.hashing = false
        var crc = CRC32()
        var size: UInt64 = 0
        try zip.stream(entry) { chunk in
            crc.update(chunk)
            size += UInt64(chunk.count)
            try sink.write(chunk)
        }
        guard crc.value == entry.crc, size == entry.size else {
            throw CDBError.validation(path: request.snapshot, reason: "\(Untrusted.escape(entry.name)): \(size != entry.size ? "\(size) bytes where the archive declares \(entry.size)" : "CRC mismatch (corrupt data)"); nothing was left behind")
        }
        fchmod(fd, mode)
    }

    /// Streams uncommitted.patch into `git apply` (memory stays flat whatever its size).
    private func applyPatch(_ zip: ZipReader, _ entry: ZipReader.Entry, in dir: String) throws {
        let process: ChildProcess
        do { process = try ChildProcess(["git", "-C", dir, "apply", "--whitespace=nowarn", "-"]) } catch {
            throw CDBError.configuration("--apply-uncommitted needs git to apply uncommitted.patch; install git, or apply it by hand")
        }
        final class Box: @unchecked Sendable { var data = [UInt8]() }
        let box = Box()
        let reader = DispatchGroup()
        reader.enter()
        detachThread {  // a blocking read: a thread of its own, never one of the global queue's few
            box.data = process.readErrors()
            reader.leave()
        }
        let sink = DescriptorSink(fd: process.input, path: "git apply", ownsDescriptor: false)
        sink.hashing = false
        var crc = CRC32()
        var failure: Error?
        do {
            try zip.stream(entry) { chunk in
                crc.update(chunk)
                try sink.write(chunk)
            }
            if crc.value != entry.crc { failure = CDBError.validation(path: request.snapshot, reason: "uncommitted.patch: CRC mismatch (corrupt data)") }
        } catch { failure = error }
        process.closeInput()
        if failure != nil { process.terminate() }
        let status = process.waitForExit()
        reader.wait()
        if let failure { throw failure }
        let message = String(decoding: box.data, as: UTF8.self)
        if status != 0 {
            throw CDBError.validation(path: "uncommitted.patch", reason: "git apply failed: \(Untrusted.escape(message.trimmed()))")
        }
    }
}
