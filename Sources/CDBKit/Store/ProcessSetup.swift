import Dispatch
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide manners every cdb program sets up first.
public enum ProcessSetup {
    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []
    /// The signal being handled, 0 when none.
    static let interrupted = SignalFlag()

    /// Write errors instead of deadly signals (a full file size limit gives EFBIG, a closed
    /// pipe EPIPE), and Ctrl-C / SIGTERM remove our temporary files before the process ends.
    /// `detached`: a job a hook started in the background (the post-commit snapshot). It first
    /// closes every descriptor it inherited and leaves the terminal's session — before any signal
    /// source exists, so that libdispatch's own descriptors are never closed under it.
    public static func prepare(detached: Bool = false) {
        if detached {
            closeInheritedDescriptors()
            _ = setsid()
        }
        // With TZ unset glibc stats /etc/localtime on every local-time conversion; naming the
        // file once makes it read it once (same zone, same answers).
        if getenv("TZ") == nil, access("/etc/localtime", R_OK) == 0 { setenv("TZ", ":/etc/localtime", 0) }
        signal(SIGXFSZ, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        atexit {
            // An exit racing the signal handler waits for it, so that the status is the signal's.
            if ProcessSetup.interrupted.load() != 0 { sleep(30) }
        }
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                // From here the process ends by this signal: the work it undoes below may make
                // the main thread fail and try to exit first; exit then waits for the signal.
                interrupted.store(sig)
                let name = CommandLine.arguments.first.map { Path.name(of: $0) } ?? "cdb"
                writeText("\n\(name): \(sig == SIGINT ? "interrupted" : "stopped by signal \(sig)")\n")
                TemporaryFiles.removeAll()
                Interruption.runCleanups()
                // The shell then sees the signal itself (Ctrl-C: 130), as it expects.
                // libdispatch keeps the signal blocked (it reads it from a queue): unblock it here,
                // with the default action back, and raise it on this thread.
                signal(sig, SIG_DFL)
                var set = sigset_t()
                sigemptyset(&set)
                sigaddset(&set, sig)
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
                raise(sig)
            }
            source.resume()
            signalSources.append(source)
        }
    }
}

extension ProcessSetup {
    /// Closes every descriptor above stderr that this process inherited, so that a job started
    /// in the background holds none of its parent's pipes open (a caller reading git's output
    /// would otherwise wait for the job to end). Call it before anything opens descriptors.
    static func closeInheritedDescriptors() {
        guard let dir = opendir("/proc/self/fd") else { return }
        let own = dirfd(dir)
        var open: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if let fd = Int32(name), fd > 2, fd != own { open.append(fd) }
        }
        closedir(dir)
        open.forEach { close($0) }
    }
}

/// A signal number shared between the signal handler's queue and the exiting thread.
final class SignalFlag: @unchecked Sendable {
    private let lock = Lock()
    private var value: Int32 = 0
    func store(_ v: Int32) { lock.lock(); value = v; lock.unlock() }
    func load() -> Int32 { lock.lock(); defer { lock.unlock() }; return value }
}

/// The temporary files this process has open, so that a signal can remove them.
enum TemporaryFiles {
    private static let lock = Lock()
    nonisolated(unsafe) private static var paths: Set<String> = []

    static func register(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.insert(path)
    }

    static func unregister(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.remove(path)
    }

    static func removeAll() {
        lock.lock(); defer { lock.unlock() }
        for path in paths { unlink(path) }
        paths.removeAll()
    }
}

/// Work to undo when the process is interrupted (a scratch database to drop).
public enum Interruption {
    private static let lock = Lock()
    nonisolated(unsafe) private static var cleanups: [Int: () -> Void] = [:]
    nonisolated(unsafe) private static var nextID = 0

    @discardableResult
    public static func register(_ cleanup: @escaping () -> Void) -> Int {
        lock.lock(); defer { lock.unlock() }
        nextID += 1
        cleanups[nextID] = cleanup
        return nextID
    }

    public static func unregister(_ id: Int) {
        lock.lock(); defer { lock.unlock() }
        cleanups[id] = nil
    }

    static func runCleanups() {
        lock.lock()
        let pending = Array(cleanups.values)
        cleanups.removeAll()
        lock.unlock()
        pending.forEach { $0() }
    }
}
