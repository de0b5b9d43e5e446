import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Unpacks a repository snapshot into a folder: repository.zip's files with their modes and
/// links, git_metadata.txt, `.env` from .env.backup (0600), and optionally the uncommitted
/// patch. Every name and link target is checked before anything is written; nothing is
/// written outside the folder.
public struct SnapshotRestore {
    public struct Request: Sendable {
        public var snapshot: String
        public var directory: String
        public var force = false
        public var applyUncommitted = false
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
    }

    public let request: Request
    public let reporter: Reporter

    public init(request: Request, reporter: Reporter) {
        self.request = request
        self.reporter = reporter
    }

    /// Why `name` may not be written under the folder, or nil when it may.
    static func unsafeReason(name: String, linkTarget: String?) -> String? {
        if name.isEmpty || name.contains("\0") { return "an empty or NUL-containing name" }
        if name.hasPrefix("/") { return "an absolute path" }
        let parts = name.split(separator: "/", omittingEmptySubsequences: true)
        if parts.contains("..") { return "a path that climbs out with '..'" }
        guard let target = linkTarget else { return nil }
        if target.hasPrefix("/") { return "a symbolic link to an absolute path (\(target))" }
        // Resolve the target against the link's folder, lexically.
        var stack = parts.dropLast().map(String.init)
        for piece in target.split(separator: "/", omittingEmptySubsequences: true) {
            if piece == "." { continue }
            if piece == ".." {
                if stack.isEmpty { return "a symbolic link pointing outside the folder (\(target))" }
                stack.removeLast()
            } else {
                stack.append(String(piece))
            }
        }
        return nil
    }

    public func run() throws -> Result {
        let outer = try ZipReader(path: request.snapshot)
        func entry(_ name: String) -> ZipReader.Entry? { outer.entries.first { $0.name == name } }
        guard let innerEntry = entry("repository.zip"), innerEntry.method == 0 else {
            throw CDBError.validation(path: request.snapshot, reason: "no repository.zip inside: not a cdb snapshot")
        }
        let start = try outer.dataOffset(of: innerEntry)
        let inner = try ZipReader(length: innerEntry.size, name: "repository.zip") { offset, count in try outer.read(start + offset, count) }

        // Check everything before writing anything.
        var links: [(ZipReader.Entry, String)] = []
        for e in inner.entries {
            var target: String?
            if e.isSymlink {
                target = String(decoding: try BackupVerifier.contents(inner, e, limit: 4096), as: UTF8.self)
                links.append((e, target!))
            }
            if let reason = Self.unsafeReason(name: e.name, linkTarget: target) {
                throw CDBError.validation(path: request.snapshot, reason: "refusing entry '\(e.name)': \(reason); nothing was written")
            }
        }

        let dir = request.directory
        var info = stat()
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
        }
        let rootFD = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw CDBError.cannotCreate(path: dir, reason: String(cString: strerror(errno))) }
        defer { close(rootFD) }

        var result = Result()
        for e in inner.entries where !e.isSymlink {
            if e.isDirectory {
                _ = try openDirectory(rootFD, components: e.name.split(separator: "/").map(String.init), create: true)
                continue
            }
            try writeFile(rootFD, name: e.name, mode: mode_t(e.mode & 0o777 == 0 ? 0o644 : e.mode & 0o777)) { write in
                try BackupVerifier.stream(inner, e, body: write)
            }
            result.files += 1
        }
        // Links last, so that no file is ever written through one.
        for (e, target) in links {
            let parts = e.name.split(separator: "/").map(String.init)
            let parent = try openDirectory(rootFD, components: Array(parts.dropLast()), create: true)
            defer { if parent != rootFD { close(parent) } }
            if request.force { unlinkat(parent, parts.last!, 0) }
            guard symlinkat(target, parent, parts.last!) == 0 else {
                throw CDBError.cannotCreate(path: dir + "/" + e.name, reason: String(cString: strerror(errno)))
            }
            result.links += 1
        }
        if let meta = entry("git_metadata.txt") {
            let text = try BackupVerifier.contents(outer, meta, limit: 1 << 20)
            if inner.entries.contains(where: { $0.name == "git_metadata.txt" }) {
                reporter.warning("the repository has its own git_metadata.txt; the snapshot's was not written")
            } else {
                try writeFile(rootFD, name: "git_metadata.txt", mode: 0o644) { write in try text.withUnsafeBytes(write) }
            }
            let line = String(decoding: text, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Commit: ") }
            result.commit = line.map { String($0.dropFirst(8)) } ?? ""
        }
        if let env = entry(".env.backup") {
            try writeFile(rootFD, name: ".env", mode: 0o600) { write in try BackupVerifier.stream(outer, env, body: write) }
            result.env = true
        }
        if request.applyUncommitted {
            guard let patchEntry = entry("uncommitted.patch") else {
                reporter.info("no uncommitted.patch in the snapshot: the work tree was clean")
                return result
            }
            let patch = try BackupVerifier.contents(outer, patchEntry, limit: Int.max)
            try applyPatch(Data(patch), in: dir)
            result.patchApplied = true
        }
        return result
    }

    /// Opens (creating when asked) a folder below `root`, refusing any component that is a link.
    private func openDirectory(_ root: Int32, components: [String], create: Bool) throws -> Int32 {
        var fd = root
        for (index, part) in components.enumerated() {
            if create { mkdirat(fd, part, 0o755) }
            let next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd != root { close(fd) }
            guard next >= 0 else {
                throw CDBError.cannotCreate(path: request.directory + "/" + components[0...index].joined(separator: "/"),
                                            reason: errno == ELOOP || errno == ENOTDIR ? "a symbolic link or file is in the way; refusing to write through it" : String(cString: strerror(errno)))
            }
            fd = next
        }
        return fd
    }

    private func writeFile(_ root: Int32, name: String, mode: mode_t, body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let parts = name.split(separator: "/").map(String.init)
        let parent = try openDirectory(root, components: Array(parts.dropLast()), create: true)
        defer { if parent != root { close(parent) } }
        if request.force { unlinkat(parent, parts.last!, 0) }
        let fd = openat(parent, parts.last!, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CDBError.cannotCreate(path: request.directory + "/" + name, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let sink = DescriptorSink(fd: fd, path: request.directory + "/" + name, ownsDescriptor: false)
        sink.hashing = false
        try body { try sink.write($0) }
        fchmod(fd, mode)
    }

    private func applyPatch(_ patch: Data, in dir: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "apply", "--whitespace=nowarn", "-"]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        do { try process.run() } catch {
            throw CDBError.configuration("--apply-uncommitted needs git to apply uncommitted.patch; install git, or apply it by hand")
        }
        input.fileHandleForWriting.write(patch)
        try? input.fileHandleForWriting.close()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw CDBError.validation(path: "uncommitted.patch", reason: "git apply failed: \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
