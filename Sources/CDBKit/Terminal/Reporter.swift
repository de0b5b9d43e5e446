import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Human output on stderr: colour and glyphs only on a terminal without NO_COLOR.
public final class Reporter: @unchecked Sendable {
    public enum Level: Int, Sendable { case quiet, normal, verbose }

    public let level: Level
    public let isTerminal: Bool
    public let fancy: Bool
    private let lock = Lock()
    // One standard error per process: whichever reporter writes the next line clears the
    // progress line any of them left.
    nonisolated(unsafe) private static var progressShown = false
    private static let terminalLock = Lock()

    private let silent: Bool
    private let onlyProgress: Bool

    /// `silent`: nothing at all; `onlyProgress`: the transient progress lines only (a step run
    /// inside a banner that says the rest itself).
    public init(level: Level = .normal, environment: [String: String] = ProcessInfo.processInfo.environment, silent: Bool = false,
                onlyProgress: Bool = false) {
        self.level = level
        self.silent = silent
        self.onlyProgress = onlyProgress
        isTerminal = isatty(2) == 1
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        fancy = isTerminal && !noColor && environment["TERM"] != "dumb"
    }

    public enum Mark { case ok, fail, warn }

    /// `[✓]` / `[✗]` / `[!]` on a terminal, `[OK]` / `[FAIL]` / `[WARN]` elsewhere.
    public func glyph(_ mark: Mark) -> String {
        switch (mark, fancy) {
        case (.ok, true): return "[\(Self.green)✓\(Self.reset)]"
        case (.fail, true): return "[\(Self.red)✗\(Self.reset)]"
        case (.warn, true): return "[\(Self.yellow)!\(Self.reset)]"
        case (.ok, false): return "[OK]"
        case (.fail, false): return "[FAIL]"
        case (.warn, false): return "[WARN]"
        }
    }

    public func info(_ text: String) { if level != .quiet { emit(text) } }
    public func detail(_ text: String) { if level == .verbose { emit(text) } }
    public func warning(_ text: String) { if level != .quiet { emit("warning: " + text) } }
    /// Errors are shown even with --quiet.
    public func error(_ text: String) { noteProblem(text); emit("error: " + text) }
    /// A result line shown even with --quiet (cdb-verify's FAILED lines).
    public func always(_ text: String) { noteProblem(text); emit(text) }

    /// The last error or result line shown (what a failure notification says).
    public var lastProblem: String? { lock.withLock { problem } }
    private var problem: String?
    private func noteProblem(_ text: String) { lock.withLock { problem = text } }

    /// A transient progress line (terminal only; replaced by the next line).
    public func progress(_ text: String) {
        guard isTerminal, level != .quiet, !silent else { return }
        Self.terminalLock.lock(); defer { Self.terminalLock.unlock() }
        writeText("\r\u{1B}[2K\(text)")
        Self.progressShown = true
    }

    // Colours travel through messages as private-use placeholders and become escape sequences
    // only here, after every other control character in the line was made visible.
    static let green = "\u{E000}", red = "\u{E001}", yellow = "\u{E002}", reset = "\u{E003}"
    private static let colours: [(String, String)] = [(green, "\u{1B}[32m"), (red, "\u{1B}[31m"), (yellow, "\u{1B}[33m"), (reset, "\u{1B}[0m")]

    private func emit(_ text: String) {
        if silent || onlyProgress { return }
        var shown = Untrusted.escapeKeepingLines(text)
        for (placeholder, code) in Self.colours where shown.contains(placeholder) {
            shown = shown.replacingAll(placeholder, with: fancy ? code : "")
        }
        Self.terminalLock.lock(); defer { Self.terminalLock.unlock() }
        var line = shown + "\n"
        if Self.progressShown { line = "\r\u{1B}[2K" + line; Self.progressShown = false }
        writeText(line)
    }
}

