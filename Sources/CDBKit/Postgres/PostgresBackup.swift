import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// One database backup run: connect, dump into a temporary file, validate, name, checksum, log.
public struct PostgresBackup {
    public typealias Destination = BackupDestination

    public struct Request: Sendable {
        public var settings: Settings
        public var destination: Destination = .backupRoot
        public var compression: Compression = .none
        /// Encrypt to these recipients (age; the name gains `.age`), or nil.
        public var recipients: [AgeRecipient]?
        public var dump = DumpOptions()
        public var lock: RootLockPolicy = .wait(seconds: 30)
        public init(settings: Settings) { self.settings = settings }
    }

    public struct Result: Sendable {
        public var path: String?
        public var bytes: Int64 = 0
        public var tables: [(name: String, rows: Int64)] = []
        public var requiredFound = 0
        public var requiredTotal = 0
        public var missingTables: [String] = []
        public var skipped: [String] = []
        public var seconds: Double = 0
        public var sha256: String?
        /// Seconds the server took to answer after CDB_DB_START_COMMAND started it (it was down).
        public var serverStarted: Double?
    }

    public let request: Request
    public let reporter: Reporter

    public init(request: Request, reporter: Reporter) {
        self.request = request
        self.reporter = reporter
    }

    /// Runs the backup. Throws a `CDBError`. A required table missing from the database is not
    /// thrown: the otherwise complete file is kept and `missingTables` names the tables.
    public func run() throws -> Result {
        let started = Date()
        let root = BackupRoot(path: request.settings.backupRoot)
        var job = BackupJob(root: root, kind: .postgres, destination: request.destination, lock: request.lock, reporter: reporter)
        job.redact = request.settings.database.redact
        return try job.run(failureTitle: "PostgreSQL backup FAILED", entry: logEntry) {
            try dump(root: root, started: started)
        }
    }

    /// The name's suffix: `.sql`, the compression's, then `.age` when encrypted.
    private var suffix: String { ".sql" + request.compression.suffix + (request.recipients == nil ? "" : ".age") }

    private func dump(root: BackupRoot, started: Date) throws -> Result {
        let settings = request.settings
        var serverStarted: Double?
        let connection: PGConnection
        do {
            connection = try PGConnection(settings: settings.database, applicationName: "cdb-pg-dump")
        } catch let error as CDBError {
            // Down, and the user said how to start it: once, then wait for it, then dump.
            guard case .databaseUnreachable = error, let start = try DatabaseStart.configured(settings.sources) else { throw error }
            let started = try start.run(database: settings.database, root: settings.backupRoot, reporter: reporter)
            reporter.info("started the database (\(start.source)); it answered after \(Format.fixed(started.seconds)) s")
            serverStarted = started.seconds
            connection = try PGConnection(settings: settings.database, applicationName: "cdb-pg-dump")
        }
        reporter.detail("connected to \(connection.target) (server \(connection.serverVersion))")

        let validator = DumpValidator()
        var result = Result()
        result.serverStarted = serverStarted
        let opened = try request.destination.open(folder: root.folder(.postgres), stem: "cdb_backup\(suffix)")
        let file = opened.file, base = opened.sink
        // Plaintext → validator (observer) → compression → encryption → the file, whose bytes the
        // sidecar hashes: no plaintext reaches the disk when encrypting.
        let encrypted: ByteSink = try request.recipients.map { try AgeSink(next: base, recipients: $0) } ?? base
        let writer = BufferedWriter(sink: try request.compression.wrap(encrypted), observer: { validator.consume($0) })
        let dumper = PostgresDumper(connection: connection, options: request.dump)
        dumper.connect = { try PGConnection(settings: settings.database, applicationName: "cdb-pg-dump") }
        var tableStarted = Date()
        var announced = false
        dumper.progress = { [reporter] table, rows in
            if rows == nil {
                tableStarted = Date()
                if announced || Date().timeIntervalSince(started) > 1 {
                    announced = true
                    reporter.progress("dumping \(table)…")
                }
            } else if let rows {
                reporter.detail("  \(table): \(Format.count(rows, "row")) (\(Format.fixed(Date().timeIntervalSince(tableStarted))) s)")
            }
        }
        let summary = try dumper.dump(to: writer)
        if let note = dumper.dataNote { reporter.detail(note) }
        try writer.finish()
        if let file { try file.sync() }

        let report = validator.finish()
        if !report.problems.isEmpty {
            let first = BackupRoot.candidateNames(prefix: "cdb_backup", stamp: .init(started), suffix: suffix)
                .first { _ in true } ?? "cdb_backup.sql"
            let shown = request.destination.displayName(folder: root.folder(.postgres), first: first)
            throw CDBError.validation(path: shown + (file == nil ? "" : " (not written)"), reason: report.problems.joined(separator: "; "))
        }
        result.tables = summary.tables
        result.skipped = summary.skipped
        result.bytes = base.bytesWritten
        let required = settings.requiredTables
        result.missingTables = report.missing(required: required)
        result.requiredTotal = required.count
        result.requiredFound = required.count - result.missingTables.count
        result.sha256 = base.digest()

        result.path = try request.destination.commit(
            opened, candidates: BackupRoot.candidateNames(prefix: "cdb_backup", stamp: .init(started), suffix: suffix),
            digest: result.sha256!)
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    private func logEntry(_ result: Result) -> (title: String, fields: [(String, String)]) {
        var fields: [(String, String)] = []
        fields.append(("File", (result.path.map { Path.name(of: $0) }) ?? "-"))
        fields.append(("Size", ByteSize.format(result.bytes)))
        fields.append(("Tables", "\(result.requiredFound) / \(result.requiredTotal)"))
        fields.append(("Rows", "\(result.tables.reduce(0) { $0 + $1.rows })"))
        if !result.missingTables.isEmpty { fields.append(("Missing", result.missingTables.joined(separator: ", "))) }
        if !result.skipped.isEmpty { fields.append(("Skipped", result.skipped.joined(separator: "; "))) }
        fields.append(("Duration", Format.fixed(result.seconds) + " s"))
        return (result.missingTables.isEmpty ? "PostgreSQL backup OK" : "PostgreSQL backup INCOMPLETE", fields)
    }
}
