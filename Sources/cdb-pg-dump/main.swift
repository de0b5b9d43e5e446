import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct PGDump: CDBProgram {
    static let configuration = CommandConfiguration(
        commandName: "cdb-pg-dump",
        abstract: "Logical dump of one PostgreSQL database through libpq, validated and written atomically.",
        usage: """
            cdb-pg-dump [-d DB] [-h HOST] [-p PORT] [-U USER] [--compress zstd|gzip] [--encrypt] [-o FILE|-] [<options>]
            """,
        discussion: """
            Writes PostgreSQL/cdb_backup_YYYY-MM-DD_HHMM.sql under the backup root (or -o FILE, or -o - for \
            standard output) with a .sha256 sidecar, and prints the path. Restore with \
            psql -X -v ON_ERROR_STOP=1 -f FILE into an empty database.

            With --encrypt (or CDB_ENCRYPT=1) the dump is encrypted with age to the configured \
            recipients as it is written (no plaintext on disk): NAME.sql[.zst].age; the sidecar is of \
            the encrypted file. Decrypt with cdb-restore --identity KEY, or age -d -i KEY.

            Connection settings: flags, then libpq's PG* variables, then POSTGRES_DB, POSTGRES_USER, \
            POSTGRES_PASSWORD, POSTGRES_HOST and POSTGRES_PORT from the repository's .env. Passwords come \
            from PGPASSWORD, ~/.pgpass or .env; there is no password flag.

            Exit codes: 0 ok, 64 usage, 65 validation failed, a required table missing, or the server failed \
            on an object (named), 69 database unreachable, 73 cannot create output, 74 I/O error (disk full), \
            75 locked, 78 configuration (also: the role lacks a privilege; the object named).

            EXAMPLES:
              cdb-pg-dump                        # PGDATABASE or the .env, into the root
              cdb-pg-dump -d trading --compress zstd --encrypt
              cdb-pg-dump -d trading -o - | gzip > trading.sql.gz
            """,
        version: CDBVersion.string,
        helpNames: [.long]
    )

    @Option(name: [.short, .customShort("f"), .customLong("output"), .customLong("file")],
            help: ArgumentHelp("Write to FILE (which must not exist; see --force) instead, or '-' for standard output.", valueName: "file"),
            completion: .file(extensions: ["sql", "gz", "zst", "age"]))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Compress the dump.", valueName: "zstd|gzip"))
    var compress: CompressionArgument?

    @Option(name: .long, help: ArgumentHelp("A table the dump must hold (repeatable; default the five trading tables, CDB_REQUIRED_TABLES).", valueName: "table"))
    var requireTable: [String] = []

    @Flag(name: .long, help: "Leave out ownership (to restore as another role).")
    var noOwner = false

    @Flag(name: .long, help: "Leave out GRANT/REVOKE statements.")
    var noPrivileges = false

    @Flag(name: .long, help: "Dump everything else when the database holds objects cdb-pg-dump cannot dump, naming each skipped one.")
    var allowUnsupported = false

    @Flag(name: .long, help: "With -o FILE: replace FILE when it exists.")
    var force = false

    @Option(name: [.short, .long], parsing: .unconditional,
            help: ArgumentHelp("Connections reading table data at once, in one snapshot; big tables are split into page ranges (PostgreSQL 14+). The file is the same bytes whatever N is; 1 reads with the dump's own connection alone (default the cores, at most 8).", valueName: "n"))
    var jobs: Int?

    @OptionGroup(title: "Encryption") var encryption: EncryptionOptions

    @OptionGroup var locking: LockOptions

    @OptionGroup var common: CommonOptions

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        try common.checkStandardOutput(output)
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be 1 or more (got \(jobs))") }
        if force && (output == nil || output == "-") { throw ValidationError("--force replaces the file named by -o FILE; give -o FILE") }
    }

    func configure(_ flags: inout Settings.Flags) {
        flags.requiredTables = requireTable
        database.apply(to: &flags)
    }

    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        var request = PostgresBackup.Request(settings: settings)
        request.compression = compress?.value ?? (output == nil ? settings.compression : .none)
        request.recipients = try encryption.recipients(settings)
        if request.recipients != nil, let output, output != "-", !output.hasSuffix(".age") {
            throw CDBError.usage("-o \(output): an encrypted dump's name must end in .age (verify, restore and prune know it by that)")
        }
        request.dump.owners = !noOwner
        request.dump.privileges = !noPrivileges
        request.dump.allowUnsupported = allowUnsupported
        request.dump.lockTimeoutSeconds = locking.lockWait ?? 30
        request.dump.jobs = jobs ?? DumpOptions.defaultJobs
        request.lock = .wait(seconds: locking.seconds)
        switch output {
        case nil: request.destination = .backupRoot
        case "-": request.destination = .standardOutput
        case let path?: request.destination = force ? .fileReplacing(path) : .file(path)
        }
        let outcome = PostgresBackupCommand.run(request: request, reporter: reporter)
        if common.json { JSONOutput.emit(outcome.record) } else if let path = outcome.result?.path { emit(path) }
        return outcome.status
    }
}

ProcessSetup.prepare()
PGDump.main()
