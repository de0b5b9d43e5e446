import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The user's own cdb folder, `${XDG_CONFIG_HOME:-~/.config}/cdb/`: the settings file `config`
/// and the list of enabled repositories `enabled`. Nothing a repository carries is read here.
public struct UserConfig: Sendable {
    public let folder: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? Path.home
        // The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored.
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.config"
        folder = Path.join(base, "cdb")
    }

    public var configPath: String { folder + "/config" }
    public var enabledPath: String { folder + "/enabled" }

    /// The settings file's `KEY=value` lines (`.env` syntax), or none when there is no file.
    /// A file that others can change, or that is not the user's, is a configuration error.
    public func settings() throws -> [String: String] {
        var info = stat()
        guard stat(configPath, &info) == 0 else {
            if errno == ENOENT { return [:] }
            throw CDBError.configuration("\(configPath): \(String(cString: strerror(errno))) — fix or remove the settings file")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CDBError.configuration("\(configPath) is not a regular file — make it one, or remove it")
        }
        guard info.st_uid == geteuid() || info.st_uid == 0, info.st_mode & 0o022 == 0 else {
            throw CDBError.configuration("\(configPath) can be changed by other users; run chmod 600 on it (and make it yours)")
        }
        let parsed = try DotEnv.parse(fileAt: configPath)
        return parsed.values
    }

    // MARK: enabled repositories

    /// The enabled repositories' work-tree roots, one absolute physical path a line.
    public func enabledRepositories() -> [String] {
        guard let data = FileManager.default.contents(atPath: enabledPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.hasPrefix("/") }
    }

    public func isEnabled(_ root: String) -> Bool { enabledRepositories().contains(root) }

    /// Adds `root` to the list; returns false when it was there already.
    @discardableResult
    public func enable(_ root: String) throws -> Bool {
        guard !root.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw CDBError.configuration("cannot enable \(Untrusted.escape(root)): its path holds a control character or a newline; rename the folder")
        }
        return try locked {
            var list = enabledRepositories()
            if list.contains(root) { return false }
            list.append(root)
            try save(list)
            return true
        }
    }

    /// Removes `root` from the list; returns false when it was not there.
    @discardableResult
    public func disable(_ root: String) throws -> Bool {
        return try locked {
            var list = enabledRepositories()
            guard list.contains(root) else { return false }
            list.removeAll { $0 == root }
            try save(list)
            return true
        }
    }

    /// Runs a read-modify-write of the list under the folder's lock (two `enable`s at once keep both).
    private func locked<T>(_ body: () throws -> T) throws -> T {
        try makeFolder()
        let fd = try OwnedFile.open(folder + "/.lock", flags: O_RDWR)
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        return try body()
    }

    private func save(_ list: [String]) throws {
        try AtomicFile.write(list.map { $0 + "\n" }.joined(), to: enabledPath, mode: 0o600)
    }

    /// Creates the folder (and its parents) 0700; an existing folder gets 0700 when it is ours.
    func makeFolder() throws {
        try BackupRoot.makeDirectory(folder)
        var info = stat()
        if lstat(folder, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 != 0 { chmod(folder, 0o700) }
    }
}

/// Git work trees as the hooks see them: the nearest folder upward holding `.git`.
public enum WorkTree {
    /// The physical path of `path` (links resolved), or nil when it does not exist.
    public static func physical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The root of the work tree that holds `directory`: the nearest folder, from its physical
    /// path upward, that has a `.git` (folder or file). The shell hooks walk the same way.
    public static func root(containing directory: String) -> String? {
        guard var current = physical(directory) else { return nil }
        while true {
            if access(current == "/" ? "/.git" : current + "/.git", F_OK) == 0 { return current }
            if current == "/" { return nil }
            let parent = Path.directory(of: current)
            current = parent.isEmpty ? "/" : parent
        }
    }

    /// The work tree that holds `path` or its nearest existing ancestor, if any.
    public static func enclosing(_ path: String) -> String? {
        var current = path
        while !current.isEmpty {
            if physical(current) != nil { return root(containing: current) }
            let parent = Path.directory(of: current)
            if parent == current { break }
            current = parent
        }
        return nil
    }
}
