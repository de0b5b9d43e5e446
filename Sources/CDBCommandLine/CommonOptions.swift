import ArgumentParser
import CDBKit
import FoundationEssentials
import Glibc

/// Flags every cdb program shares: where the backups live and how much to say.
public struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Backup root (default ~/Claire_Backups, CDB_BACKUP_ROOT).", valueName: "dir"),
            completion: .directory)
    public var backupRoot: String?

    @Flag(name: .long, help: "One JSON object per result on standard output.")
    public var json = false

    @Flag(name: .shortAndLong, help: "Only errors on standard error.")
    public var quiet = false

    @Flag(name: .shortAndLong, help: "More detail on standard error.")
    public var verbose = false

    public init() {}

    public func reporter() -> Reporter {
        Reporter(level: quiet ? .quiet : (verbose ? .verbose : .normal))
    }
}

/// Runs a program body: a `CDBError` becomes its message on stderr and its exit code.
public func runReportingErrors(_ reporter: Reporter, redact: (String) -> String = { $0 },
                               failed: (ExitStatus, String) -> Void = { _, _ in }, _ body: () throws -> ExitStatus) throws {
    let status: ExitStatus
    var message = ""
    do {
        status = try body()
    } catch let error as CDBError {
        message = redact(error.errorDescription ?? "\(error)")
        status = error.exitStatus
    } catch let error as CocoaError {
        // Foundation's file errors: a missing file is 66, anything else an I/O error, never exit 1.
        message = redact(describe(error))
        status = [.fileNoSuchFile, .fileReadNoSuchFile].contains(error.code) ? .noInput : .ioError
    } catch let exit as ExitCode {
        throw exit
    } catch let error as POSIXError {
        message = redact(describe(error))
        status = error.code == .ENOENT ? .noInput : .ioError
    } catch {
        // Anything else is a bug of cdb's: say so, with exit 1, never a raw crash.
        message = redact("unexpected error: \(describe(error)) — please report it")
        status = .failure
    }
    if !message.isEmpty { reporter.error(message) }
    fflush(stdout)
    if status != .success {
        failed(status, message)
        throw ExitCode(status.rawValue)
    }
}

/// Prints a line on standard output (data only).
public func emit(_ line: String) {
    print(line)
}

/// JSON text of an object, keys sorted, slashes unescaped.
public func jsonLine(_ object: [String: Any]) -> String {
    JSON(any: object).text()
}

/// `--compress zstd|gzip`.
public struct CompressionArgument: ExpressibleByArgument {
    public let value: Compression

    public init?(argument: String) {
        guard let value = Compression(rawValue: argument), value != .none else { return nil }
        self.value = value
    }

    public static var allValueStrings: [String] { ["zstd", "gzip"] }
    public static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

/// Where the database is: the connection flags of every program that talks to PostgreSQL.
/// (No password flag: passwords come from PGPASSWORD, ~/.pgpass or the repository's .env.)
public struct DatabaseOptions: ParsableArguments {
    // pg_dump's short flags (-d -h -p -U); the programs that take them keep help on --help only.
    @Option(name: [.customShort("d"), .long], help: ArgumentHelp("Database name, conninfo string or postgresql:// URI.", valueName: "conninfo"))
    public var dbname: String?

    @Option(name: [.customShort("h"), .long], help: "Server host or socket folder.")
    public var host: String?

    @Option(name: [.customShort("p"), .long], help: "Server port.")
    public var port: String?

    @Option(name: [.customShort("U"), .long], help: "Database user.")
    public var username: String?

    public init() {}

    /// Copies the flags given into the settings' flags.
    public func apply(to flags: inout Settings.Flags) {
        flags.dbname = dbname
        flags.host = host
        flags.port = port
        flags.username = username
    }
}
