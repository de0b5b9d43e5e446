import ArgumentParser
import CDBKit
import FoundationEssentials
import Glibc

/// A cdb program: its flags and `execute`. The default `run()` does what every program needs,
/// once: the reporter from --quiet/--verbose, the settings (flags > environment > the user's
/// config file > defaults; the repository's .env only when enabled), their warnings, every error
/// mapped to its documented exit code with secrets redacted, and stdout flushed.
public protocol CDBProgram: ParsableCommand {
    var common: CommonOptions { get }
    /// Puts this program's own flags into the settings' flags (the backup root is already set).
    func configure(_ flags: inout Settings.Flags)
    /// The folder whose repository's settings count (default: the current folder).
    var settingsDirectory: String { get }
    /// Work that needs no settings (installing a hook); nil to go on to `execute`.
    func executeWithoutSettings(reporter: Reporter) throws -> ExitStatus?
    /// The exit code for settings that cannot be resolved, when this run should not report
    /// them (a background hook run has nowhere to report to); nil to report them.
    func quietExit(settingsError: CDBError) -> ExitStatus?
    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus
    /// Whether runs report to CDB_PING_URL (the programs that make, copy, prune or prove
    /// backups; not the ones that only look).
    static var pingsMonitor: Bool { get }
    /// The name in messages, notifications and JSON lines (default: the command's name).
    static var programName: String { get }
}

extension CDBProgram {
    public func configure(_ flags: inout Settings.Flags) {}
    public var settingsDirectory: String { FileManager.default.currentDirectoryPath }
    public func executeWithoutSettings(reporter: Reporter) throws -> ExitStatus? { nil }
    public func quietExit(settingsError: CDBError) -> ExitStatus? { nil }
    public static var pingsMonitor: Bool { true }
    public static var programName: String { configuration.commandName ?? "cdb" }

    public func run() throws {
        let reporter = common.reporter()
        let redaction = Redaction()
        let program = Self.programName
        JSONOutput.program = program
        let json = common.json
        let failed = { (status: ExitStatus, message: String) in
            // The error, or the last FAILED line when the program returned a failure itself.
            let text = message.isEmpty ? reporter.lastProblem ?? "" : message
            // --json: a run that failed before it described anything still writes its line.
            if json && JSONOutput.written == 0 {
                JSONOutput.emit(JSONRecord(kind: nil, path: nil, status: .failed, exit: status, message: text))
                fflush(stdout)
            }
            // From the resolved settings (environment, user config); before they resolved, the
            // environment only.
            let command = redaction.settings?.sources.lookup("CDB_ON_FAILURE")?.value ?? ProcessInfo.processInfo.environment["CDB_ON_FAILURE"]
            notifyFailure(command: command, program: program, status: status, message: text)
            if Self.pingsMonitor, let url = redaction.settings?.sources.lookup("CDB_PING_URL")?.value {
                HealthPing.send(url, .fail, body: "\(program): exit \(status.rawValue): \(Untrusted.escape(text))")
            }
        }
        try runReportingErrors(reporter, redact: { redaction.apply($0) }, failed: failed) {
            if let status = try executeWithoutSettings(reporter: reporter) { return status }
            var flags = Settings.Flags()
            flags.backupRoot = common.backupRoot
            configure(&flags)
            let settings: Settings
            do {
                settings = try Settings.resolve(flags: flags, directory: settingsDirectory)
            } catch let error as CDBError {
                if let status = quietExit(settingsError: error) { return status }
                throw error
            }
            redaction.settings = settings
            settings.warnings.forEach(reporter.warning)
            let ping = Self.pingsMonitor ? settings.sources.lookup("CDB_PING_URL")?.value : nil
            HealthPing.send(ping, .start)
            let status = try execute(settings: settings, reporter: reporter)
            if status == .success { HealthPing.send(ping, .success) }
            return status
        }
    }
}

/// Secrets the settings know (a password in a conninfo or URI) kept out of error messages,
/// once the settings are resolved.
private final class Redaction {
    var settings: Settings?
    func apply(_ text: String) -> String { settings?.database.redact(text) ?? text }
}

/// `--lock-wait`, checked once for every program that waits for a lock.
public struct LockOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Seconds to wait for the backup root's lock (and a dump's table locks) before giving up with exit 75 (default 30).", valueName: "seconds"))
    public var lockWait: Int?

    public init() {}

    public func validate() throws {
        if let lockWait, lockWait < 0 { throw ValidationError("--lock-wait must be 0 or more seconds (got \(lockWait))") }
    }

    public var seconds: Double { Double(lockWait ?? 30) }
}

extension CommonOptions {
    /// `--json` and `-o -` both want standard output.
    public func checkStandardOutput(_ output: String?) throws {
        if json && output == "-" { throw ValidationError("--json and -o - both use standard output; choose one") }
    }
}

/// `--encrypt`, `--recipient`, `--recipients-file`: what writers encrypt to (age).
public struct EncryptionOptions: ParsableArguments {
    @Flag(name: .long, help: "Encrypt the backup with age (NAME.age) to the configured recipients (also CDB_ENCRYPT=1).")
    public var encrypt = false

    @Option(name: .long, help: ArgumentHelp("An age recipient (age1…) to encrypt to (repeatable; default CDB_RECIPIENTS). Implies --encrypt.", valueName: "age1…"))
    public var recipient: [String] = []

    @Option(name: .long, help: ArgumentHelp("A file of age recipients, one per line, # comments (repeatable; default CDB_RECIPIENTS_FILE). Implies --encrypt.", valueName: "file"),
            completion: .file())
    public var recipientsFile: [String] = []

    public init() {}

    /// The recipients, or nil when this run does not encrypt (78 when it should but has none).
    public func recipients(_ settings: Settings) throws -> [AgeRecipient]? {
        try EncryptionSettings.recipients(encrypt: encrypt || !recipient.isEmpty || !recipientsFile.isEmpty,
                                          recipients: recipient, files: recipientsFile, sources: settings.sources)
    }
}

/// `--from DEST`: read backups from a copy destination (what cdb-copy wrote) instead of the
/// backup root.
public struct FromOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Read from a copy destination instead of the backup root: a folder (a USB disk) or an rclone remote, as given to cdb-copy --to.", valueName: "dest"),
            completion: .directory)
    public var from: String?

    public init() {}

    /// The destination's backups, or nil without --from.
    public func open(_ settings: Settings) throws -> RemoteBackups? {
        guard let from else { return nil }
        return try RemoteBackups(destination: from, rclone: settings.sources.lookup("CDB_RCLONE")?.value ?? "rclone")
    }
}

/// `--identity`, `--passphrase-file`: what readers decrypt with (age). No key on the command
/// line: only files (a passphrase from a terminal when a file needs one and none is given).
public struct IdentityOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("An age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes) for .age backups (repeatable; default CDB_IDENTITY).", valueName: "file"),
            completion: .file())
    public var identity: [String] = []

    @Option(name: .long, help: ArgumentHelp("A file holding the passphrase of passphrase-encrypted (age -p) backups; without it the passphrase is asked on the terminal.", valueName: "file"),
            completion: .file())
    public var passphraseFile: String?

    public init() {}

    /// The identities; a passphrase is asked on the terminal (lazily, by the reader) when none
    /// is given.
    public func keys(_ settings: Settings) throws -> DecryptionKeys {
        let identities = try EncryptionSettings.identities(files: identity, passphraseFile: passphraseFile, sources: settings.sources)
        var keys = DecryptionKeys(identities: identities)
        if passphraseFile == nil { keys.askPassphrase = { prompt in Terminal.askPassphrase(prompt) } }
        return keys
    }
}

/// Terminal input without echo.
public enum Terminal {
    /// Reads a passphrase from /dev/tty with echo off; nil when there is no terminal.
    public static func askPassphrase(_ prompt: String) -> [UInt8]? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(fd, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(fd, TCSAFLUSH, &saved)
            _ = write(fd, "\n", 1)
        }
        writeText(prompt, to: fd)
        var bytes = [UInt8]()
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != 0x0A, byte != 0x0D {
            bytes.append(byte)
            if bytes.count > 4096 { break }
        }
        return bytes.isEmpty ? nil : bytes
    }
}
