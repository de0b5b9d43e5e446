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
}

extension CDBProgram {
    public func configure(_ flags: inout Settings.Flags) {}
    public var settingsDirectory: String { FileManager.default.currentDirectoryPath }
    public func executeWithoutSettings(reporter: Reporter) throws -> ExitStatus? { nil }
    public func quietExit(settingsError: CDBError) -> ExitStatus? { nil }

    public func run() throws {
        let reporter = common.reporter()
        let redaction = Redaction()
        try runReportingErrors(reporter, redact: { redaction.apply($0) }) {
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
            return try execute(settings: settings, reporter: reporter)
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
    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the backup root's lock (and a dump's table locks) before giving up with exit 75.", valueName: "seconds"))
    public var lockWait: Int = 30

    public init() {}

    public func validate() throws {
        if lockWait < 0 { throw ValidationError("--lock-wait must be 0 or more seconds") }
    }

    public var seconds: Double { Double(lockWait) }
}

extension CommonOptions {
    /// `--json` and `-o -` both want standard output.
    public func checkStandardOutput(_ output: String?) throws {
        if json && output == "-" { throw ValidationError("--json and -o - both use standard output; choose one") }
    }
}
