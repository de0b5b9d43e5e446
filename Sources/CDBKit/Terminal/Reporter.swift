import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Human output on stderr: colour and glyphs only on a terminal without NO_COLOR.
public final class Reporter: @unchecked Sendable {
    public enum Level: Int, Sendable { case quiet, normal, verbose }

    public let level: Level
    public let isTerminal: Bool
    public let fancy: Bool
    private let lock = NSLock()
    private var progressShown = false

    private let silent: Bool

    public init(level: Level = .normal, environment: [String: String] = ProcessInfo.processInfo.environment, silent: Bool = false) {
        self.level = level
        self.silent = silent
        isTerminal = isatty(2) == 1
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        fancy = isTerminal && !noColor && environment["TERM"] != "dumb"
    }

    public enum Mark { case ok, fail, warn }

    /// `[✓]` / `[✗]` / `[!]` on a terminal, `[OK]` / `[FAIL]` / `[WARN]` elsewhere.
    public func glyph(_ mark: Mark) -> String {
        switch (mark, fancy) {
        case (.ok, true): return "[\u{1B}[32m✓\u{1B}[0m]"
        case (.fail, true): return "[\u{1B}[31m✗\u{1B}[0m]"
        case (.warn, true): return "[\u{1B}[33m!\u{1B}[0m]"
        case (.ok, false): return "[OK]"
        case (.fail, false): return "[FAIL]"
        case (.warn, false): return "[WARN]"
        }
    }

    public func info(_ text: String) { if level != .quiet { emit(text) } }
    public func detail(_ text: String) { if level == .verbose { emit(text) } }
    public func warning(_ text: String) { if level != .quiet { emit("warning: " + text) } }
    /// Errors are shown even with --quiet.
    public func error(_ text: String) { emit("error: " + text) }
    /// A result line shown even with --quiet (cdb-verify's FAILED lines).
    public func always(_ text: String) { emit(text) }

    /// A transient progress line (terminal only; replaced by the next line).
    public func progress(_ text: String) {
        guard isTerminal, level != .quiet, !silent else { return }
        lock.lock(); defer { lock.unlock() }
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
        progressShown = true
    }

    private func emit(_ text: String) {
        if silent { return }
        lock.lock(); defer { lock.unlock() }
        var line = text + "\n"
        if progressShown { line = "\r\u{1B}[2K" + line; progressShown = false }
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// The toolkit's version, printed by `--version` and in dump headers.
public enum CDBVersion {
    public static let string = "0.1.0"
}
