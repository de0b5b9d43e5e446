import FoundationEssentials
import Glibc

/// `CDB_DB_START_COMMAND`: when the server is unreachable, the user's own command that starts it
/// (e.g. `docker compose -f ~/trading/docker-compose.yml up -d cdb_postgres`), then a wait until
/// libpq's ping says it accepts connections. Only from the environment or the user's config
/// file, never from a repository (a repository's .env is not a settings source for CDB_ keys).
public struct DatabaseStart: Sendable {
    public let command: String
    /// Where the command came from, for messages ("CDB_DB_START_COMMAND in ~/.config/cdb/config").
    public let source: String
    /// Seconds from starting the command until the server must answer (CDB_DB_START_WAIT).
    public let wait: Double
    /// The command's output (and that of a server it leaves attached: give pg_ctl -l), at the
    /// backup root, replaced at every start; the outcome goes to PostgreSQL/backup_log.txt.
    public static let outputFile = "db_start_output.txt"

    /// The configured start, or nil; a bad CDB_DB_START_WAIT is a configuration error (78).
    public static func configured(_ sources: SettingSources) throws -> DatabaseStart? {
        guard let (command, source) = sources.lookup("CDB_DB_START_COMMAND"), !command.trimmedSpaces().isEmpty else { return nil }
        let wait = try sources.integer("CDB_DB_START_WAIT", flag: nil, default: 30)
        return DatabaseStart(command: command, source: source, wait: Double(max(1, wait)))
    }

    /// What happened: how long until the server answered.
    public struct Started: Sendable {
        public var seconds: Double
    }

    /// Runs the command once through /bin/sh (its string only; stdin /dev/null; its output to
    /// `outputFile` in `root`, logged), then pings until the server is ready or `wait` runs out.
    /// Throws `.databaseUnreachable` (69) saying what happened; `.databaseConfig` (78) when
    /// libpq cannot use the settings at all.
    public func run(database: DatabaseSettings, root: String, reporter: Reporter) throws -> Started {
        let started = Date()
        let output = Path.join(root, Self.outputFile)
        let logFolder = BackupRoot(path: root).folder(.postgres)
        try? FileManager.default.createDirectory(atPath: logFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        unlink(output)
        reporter.progress("the database is down: starting it (\(source))…")
        let pid: pid_t
        do { pid = try ChildProcess.startDetached(["/bin/sh", "-c", command], output: output) } catch {
            throw failure("could not be run: \(describe(error))", started: started, root: root, log: logFolder)
        }
        var exit: Int32?
        while true {
            if exit == nil { exit = ChildProcess.exitStatus(of: pid) }
            if let code = exit, code != 0 {
                throw failure("exited with \(code)\(Self.lastLine(of: output).map { ": " + $0 } ?? "")", started: started, root: root, log: logFolder)
            }
            switch PGConnection.ping(settings: database) {
            case .ready:
                let seconds = Date().timeIntervalSince(started)
                BackupLog.append(folder: logFolder, title: "Database started", fields: [
                    ("Command", source), ("Answered after", Format.fixed(seconds) + " s"), ("Output", Self.outputFile),
                ], file: "backup_log.txt")
                return Started(seconds: seconds)
            case .badSettings:
                throw CDBError.configuration("the database settings cannot be used to reach a server (libpq refused them); \(source) was run but cdb cannot tell whether it worked")
            case .starting, .noResponse:
                break
            }
            let elapsed = Date().timeIntervalSince(started)
            if elapsed >= wait {
                let state = exit == nil ? "is still running" : "ended"
                throw failure("ran (it \(state)), but the server did not answer within \(Int(wait)) s (CDB_DB_START_WAIT)", started: started, root: root, log: logFolder)
            }
            reporter.progress("waiting for the database (started by CDB_DB_START_COMMAND)… \(Int(elapsed)) s of \(Int(wait))")
            usleep(250_000)
        }
    }

    /// The unreachable error, logged with the command's output's place.
    private func failure(_ what: String, started: Date, root: String, log: String) -> CDBError {
        let message = "CDB_DB_START_COMMAND \(what)"
        BackupLog.append(folder: log, title: "Database start FAILED", fields: [
            ("Command", source), ("Problem", message), ("Output", Self.outputFile), ("Duration", Format.fixed(Date().timeIntervalSince(started)) + " s"),
        ], file: "backup_log.txt")
        return .databaseStartFailed(message + " (its output: \(Path.join(root, Self.outputFile)))")
    }

    /// The last non-empty line of the command's output, escaped, at most 200 characters.
    static func lastLine(of path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        let tail = data.suffix(4096)
        let text = String(decoding: tail, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { !$0.trimmedSpaces().isEmpty }) else { return nil }
        return String(Untrusted.escape(String(line)).prefix(200))
    }
}
