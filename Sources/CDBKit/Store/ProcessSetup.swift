import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide manners every cdb program sets up first.
public enum ProcessSetup {
    nonisolated(unsafe) private static var signalSources: [DispatchSourceSignal] = []

    /// Write errors instead of deadly signals (a full file size limit gives EFBIG, a closed
    /// pipe EPIPE), and Ctrl-C / SIGTERM remove our temporary files before the process ends.
    public static func prepare() {
        // With TZ unset glibc stats /etc/localtime on every local-time conversion; naming the
        // file once makes it read it once (same zone, same answers).
        if getenv("TZ") == nil, access("/etc/localtime", R_OK) == 0 { setenv("TZ", ":/etc/localtime", 0) }
        signal(SIGXFSZ, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                TemporaryFiles.removeAll()
                Interruption.runCleanups()
                signal(sig, SIG_DFL)
                raise(sig)
            }
            source.resume()
            signalSources.append(source)
        }
    }
}

extension ProcessSetup {
    /// Closes every descriptor above stderr that this process inherited. A job started in the
    /// background by a hook calls it first, so that it holds none of its parent's pipes open
    /// (a caller reading git's output would otherwise wait for the job to end).
    public static func closeInheritedDescriptors() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in entries.compactMap(Int32.init) where fd > 2 {
            close(fd)
        }
    }
}

/// The temporary files this process has open, so that a signal can remove them.
enum TemporaryFiles {
    private static let lock = NSLock()
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
    private static let lock = NSLock()
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
