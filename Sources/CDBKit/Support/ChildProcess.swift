import FoundationEssentials
import Glibc

/// A program run as a child process, its standard input and standard error connected to pipes
/// (standard output inherited), found on PATH. posix_spawn directly: CDBKit does not load full
/// Foundation (see Text.swift).
final class ChildProcess {
    let pid: pid_t
    /// Write end of the child's standard input (close it to send end-of-file).
    private(set) var input: Int32
    /// Read end of the child's standard error.
    private(set) var errors: Int32
    /// Read end of the child's standard output, when captured (else it is inherited).
    private(set) var output: Int32 = -1

    /// Starts `arguments[0]` (looked up on PATH) with the rest as its arguments, in this
    /// process's environment plus `environment` (which wins); throws the POSIX error when it
    /// cannot start.
    /// `discardOutput`: standard output goes to /dev/null (a helper that might outlive cdb then
    /// never holds cdb's own output open).
    /// `detached`: in a session of its own (a Ctrl-C of cdb's terminal does not reach it).
    init(_ arguments: [String], captureOutput: Bool = false, discardOutput: Bool = false, detached: Bool = false, environment: [String: String] = [:]) throws {
        var stdinPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1]
        if captureOutput {
            guard Self.makePipe(&stdoutPipe) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        }
        guard Self.makePipe(&stdinPipe) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // A 1 MiB pipe (F_SETPIPE_SZ, Linux's default maximum) instead of 64 KiB: a streaming
        // reader (rclone rcat, psql) takes larger reads and waits on cdb less often.
        _ = fcntl(stdinPipe[1], 1031, Int32(1 << 20))
        guard Self.makePipe(&stderrPipe) else {
            let code = errno
            close(stdinPipe[0]); close(stdinPipe[1])
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], STDERR_FILENO)
        if captureOutput { posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], STDOUT_FILENO) }
        if discardOutput && !captureOutput { posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) }
        // Only the three standard streams reach the child: a descriptor this process inherited
        // (a test harness's exit-detection pipe, a caller's socket) must not be held open by a
        // helper, least of all by one that outlives cdb.
        _ = Self.closeFrom?(&actions, 3)
        var attributes = Self.attributes(flags: detached ? 0x80 : 0)  // glibc's POSIX_SPAWN_SETSID
        defer { posix_spawnattr_destroy(&attributes) }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child = pid_t()
        let started: Int32
        if environment.isEmpty {
            started = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, environ)
        } else {
            var envp: [UnsafeMutablePointer<CChar>?] = []
            var pointer = environ
            while let entry = pointer.pointee {
                let text = String(cString: entry)
                let key = text.prefix { $0 != "=" }
                if environment[String(key)] == nil { envp.append(strdup(entry)) }
                pointer += 1
            }
            for (key, value) in environment { envp.append(strdup(key + "=" + value)) }
            envp.append(nil)
            defer { envp.forEach { free($0) } }
            started = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, envp)
        }
        close(stdinPipe[0])
        close(stderrPipe[1])
        if captureOutput { close(stdoutPipe[1]) }
        guard started == 0 else {
            close(stdinPipe[1]); close(stderrPipe[0])
            if captureOutput { close(stdoutPipe[0]) }
            throw POSIXError(.init(rawValue: started) ?? .EIO)
        }
        pid = child
        input = stdinPipe[1]
        errors = stderrPipe[0]
        output = captureOutput ? stdoutPipe[0] : -1
    }

    /// The path of `program`: itself when it names a path, else the first executable of that
    /// name on PATH; nil when there is none.
    static func find(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = String(folder) + "/" + program
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Starts a program that may outlive this one: its own session, standard input on
    /// /dev/null, standard output and error on /dev/null or appended to `output`, no signal
    /// blocked; init adopts it when this process ends. Its pid, for `exitStatus(of:)`.
    @discardableResult
    static func startDetached(_ arguments: [String], output: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output ?? "/dev/null", O_WRONLY | O_APPEND | O_CREAT | (output == nil ? 0 : O_NOFOLLOW), 0o600)
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)
        _ = Self.closeFrom?(&actions, 3)
        // 0x80 is glibc's POSIX_SPAWN_SETSID (a GNU extension the Swift module does not export).
        var attributes = Self.attributes(flags: 0x80)
        defer { posix_spawnattr_destroy(&attributes) }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child = pid_t()
        let started = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, environ)
        guard started == 0 else { throw POSIXError(.init(rawValue: started) ?? .EIO) }
        return child
    }

    /// A child's exit code (or 128 + its signal) once it has ended; nil while it runs.
    static func exitStatus(of pid: pid_t) -> Int32? {
        var status: Int32 = 0
        var ended = waitpid(pid, &status, WNOHANG)
        while ended < 0 && errno == EINTR { ended = waitpid(pid, &status, WNOHANG) }
        guard ended == pid else { return ended < 0 ? -1 : nil }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Spawn attributes: the child starts with no signal blocked (libdispatch blocks some in
    /// its threads, and a blocked SIGTERM would make terminate() a no-op) and with default
    /// actions for the signals cdb itself ignores or catches; plus `flags`. Destroy after use.
    private static func attributes(flags: Int32) -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | flags))
        return attributes
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+; the Swift module does not
    /// export it): closes every descriptor from the given one up in the child.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// A pipe whose ends close on exec (the child gets only the ends dup2 gives it).
    private static func makePipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    deinit {
        closeInput()
        if errors >= 0 { close(errors) }
        if output >= 0 { close(output) }
    }

    func closeInput() {
        if input >= 0 { close(input); input = -1 }
    }

    func terminate() { kill(pid, SIGTERM) }

    /// Everything the child writes to standard error, up to `limit` bytes kept (the rest read
    /// and dropped), until it closes it.
    func readErrors(limit: Int = 64 * 1024) -> [UInt8] { Self.drain(errors, limit: limit) }

    /// Everything the child writes to standard output (captured), up to `limit` bytes kept.
    func readOutput(limit: Int = 64 << 20) -> [UInt8] { Self.drain(output, limit: limit) }

    private static func drain(_ fd: Int32, limit: Int) -> [UInt8] {
        guard fd >= 0 else { return [] }
        let errors = fd
        var kept = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(errors, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if kept.count < limit { kept += buffer[0..<min(n, limit - kept.count)] }
        }
        return kept
    }

    /// Waits for the child to end: its exit code, or 128 + the signal that ended it.
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}
