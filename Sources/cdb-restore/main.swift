import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct Restore: CDBProgram {
    static let configuration = CommandConfiguration(
        commandName: "cdb-restore",
        abstract: "Restore a dump into a database, prove it restores, or unpack a repository snapshot.",
        usage: """
            cdb-restore [-d DB] [--create | --clean] DUMP | --latest
            cdb-restore --check DUMP | --latest
            cdb-restore SNAPSHOT DIR | --commit HASH DIR
            """,
        discussion: """
            cdb-restore DUMP --dbname TARGET
              Runs a plain SQL dump (cdb's or pg_dump's; .sql, .sql.gz, .sql.zst) through libpq, in one \
            transaction, stopping at the first error with its line; no psql needed. A target that already has \
            tables is refused unless --clean or --create.

            cdb-restore --check DUMP
              Restores into a scratch database on the same server, compares every table's rows with the dump \
            and prints the time; the scratch database is always dropped.

            cdb-restore SNAPSHOT.zip DIR
              Unpacks the snapshot's files (modes, links), git_metadata.txt and .env (0600) into an empty DIR; \
            --apply-uncommitted replays uncommitted.patch (with git).

            cdb-restore INCREMENT.inc-BASE.zip DIR | cdb-restore --commit HASH DIR | cdb-restore --history SNAPSHOT.zip DIR
              Makes DIR a git repository with that commit checked out, from the full snapshot's history \
            (repository.bundle) plus the increment's commits; --commit finds the newest snapshot of HASH in \
            the backup root. Needs git.

            cdb-restore --from DEST --latest --identity KEY --check | cdb-restore --from DEST NAME …
              Reads a copy that cdb-copy made (a folder, or an rclone remote): fetched as stored, encrypted, \
            into a private temporary folder that is removed afterwards, then restored or checked as above.

            Every restore first checks the backup against its .sha256 sidecar (when there is one) and refuses \
            a mismatch (--no-verify restores it anyway, with a warning). A snapshot's every file is checked \
            against its CRC and size as it is written; a lie stops the restore and nothing it wrote is left.

            Encrypted backups (NAME.age) are decrypted as they are read, with --identity KEY (or \
            CDB_IDENTITY); a passphrase file (age -p) asks for the passphrase on the terminal, or reads \
            --passphrase-file. No plaintext is written to disk.

            Exit codes: 0 ok, 64 usage, 65 a statement failed, rows differ, a damaged or hostile backup, 66 no \
            such file, 69 database unreachable, 73 target not empty or cannot be created, 77 no identity opens \
            an encrypted backup, 78 configuration, 130 interrupted.

            EXAMPLES:
              cdb-restore --check --latest       # prove the newest dump restores
              cdb-restore -d trading_copy --create --latest
              cdb-restore --commit ab12cd3 ~/restored   # that commit, as a git repository
              cdb-restore --from /media/usb/cdb --latest --identity key.txt --check
            """,
        version: CDBVersion.string,
        helpNames: [.long]
    )

    @OptionGroup var common: CommonOptions

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Restore into a scratch database, compare row counts, drop it.")
    var check = false

    @Flag(name: .long, help: "Drop the objects the dump creates before restoring.")
    var clean = false

    @Flag(name: .long, help: "Create the target database first.")
    var create = false

    @Flag(name: .long, help: "Run statement by statement instead of in one transaction.")
    var noSingleTransaction = false

    @Option(name: [.short, .long], parsing: .unconditional,
            help: ArgumentHelp("Connections restoring at once: the schema in one transaction, then the data (big tables in several COPYs) and the indexes and keys over N connections; not one transaction, so a failure leaves what was restored, unless --create (which drops its database) or --check. (default the cores, at most 8, with --create and --check; else 1)", valueName: "n"))
    var jobs: Int?

    @Flag(name: .long, help: "Write into a folder that is not empty (snapshots).")
    var force = false

    @Flag(name: .long, help: "Apply uncommitted.patch after unpacking a snapshot (needs git).")
    var applyUncommitted = false

    @Option(name: .long, help: ArgumentHelp("Restore this commit as a git repository, from the newest snapshot or increment of it in the backup root: cdb-restore --commit HASH DIR.", valueName: "hash"))
    var commit: String?

    @Flag(name: .long, help: "Restore a full snapshot as a git repository with its history (from repository.bundle) instead of its files.")
    var history = false

    @Flag(name: .long, help: "Restore even when the backup does not match its .sha256 sidecar (to rescue a damaged backup; warns).")
    var noVerify = false

    @Flag(name: .long, help: "Restore (or --check) the newest dump in the backup root (or at --from DEST), by the time in its name.")
    var latest = false

    @Argument(help: ArgumentHelp("The dump or snapshot to restore (or, with --commit, the folder).", valueName: "backup"), completion: .file(extensions: ["sql", "gz", "zst", "zip", "age"]))
    var given: String?

    @OptionGroup(title: "Encrypted backups") var identity: IdentityOptions

    @OptionGroup(title: "Copies") var source: FromOptions

    @Argument(help: ArgumentHelp("For a snapshot: the folder to unpack into.", valueName: "dir"), completion: .directory)
    var directory: String?

    var backup: String { given ?? "" }
    /// The copy destination a fetched backup came from (for the check record).
    var checkedFrom: String?

    enum CodingKeys: CodingKey {  // (checkedFrom is no option)
        case common, database, check, clean, create, noSingleTransaction, jobs, force, applyUncommitted, commit, history, noVerify, latest, given, identity, source, directory
    }
    var isSnapshot: Bool { backup.hasSuffix(".zip") || backup.hasSuffix(".zip.age") }
    var isIncrement: Bool { BackupName.parse(Path.name(of: backup))?.isIncrement == true }

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be 1 or more (got \(jobs))") }
        if latest {
            if given != nil || commit != nil { throw ValidationError("--latest picks the dump itself: leave out the file (and --commit)") }
            if clean && create { throw ValidationError("choose one of --clean and --create") }
            if check && (clean || create || database.dbname != nil) { throw ValidationError("--check restores into its own scratch database; leave out --dbname, --clean and --create") }
            if !check && database.dbname == nil && ProcessInfo.processInfo.environment["PGDATABASE"] == nil {
                throw ValidationError("name the target database with --dbname (or PGDATABASE), or use --check")
            }
            return
        }
        if given == nil { throw ValidationError("name the backup to restore, or use --latest (the newest dump) or --commit HASH DIR") }
        if commit != nil {
            if source.from != nil { throw ValidationError("--commit finds its snapshots in the backup root; restore a copy's snapshot by name with --from") }
            if directory != nil { throw ValidationError("--commit HASH takes one folder: cdb-restore --commit HASH DIR") }
            if check || clean || create || applyUncommitted { throw ValidationError("--commit restores a git repository; --check, --clean, --create and --apply-uncommitted do not apply") }
            return
        }
        if history && !isSnapshot { throw ValidationError("--history is for snapshots (.zip)") }
        if isSnapshot {
            if directory == nil { throw ValidationError("a snapshot needs a folder to unpack into: cdb-restore SNAPSHOT.zip DIR") }
            if check || clean || create || jobs != nil { throw ValidationError("--check, --clean, --create and --jobs are for dumps, not snapshots") }
        } else {
            if directory != nil { throw ValidationError("a dump restores into a database (--dbname), not a folder") }
            if clean && create { throw ValidationError("choose one of --clean and --create") }
            if check && (clean || create || database.dbname != nil) { throw ValidationError("--check restores into its own scratch database; leave out --dbname, --clean and --create") }
            if !check && database.dbname == nil && ProcessInfo.processInfo.environment["PGDATABASE"] == nil {
                throw ValidationError("name the target database with --dbname (or PGDATABASE), or use --check")
            }
        }
    }

    func configure(_ flags: inout Settings.Flags) {
        database.apply(to: &flags)
        flags.dbname = nil  // the target is --dbname itself, resolved below
    }

    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        if let remote = try source.open(settings) {
            // The copy is fetched as it is stored (encrypted) into a private temporary folder,
            // removed at the end; from there it restores as a local backup would.
            defer { remote.cleanup() }
            let relative: String
            if latest {
                guard let newest = try remote.latest().first(where: { $0.hasPrefix(BackupRoot.Kind.postgres.rawValue + "/") }) else {
                    throw CDBError.inputMissing(path: remote.target.display, reason: "no dump at this destination (cdb-copy puts them there)")
                }
                reporter.info("the newest dump at \(remote.target.display): \(Path.name(of: newest))")
                relative = newest
            } else {
                relative = try remote.relative(backup)
            }
            reporter.progress("fetching \(Path.name(of: relative)) from \(remote.target.display)…")
            var resolved = self
            resolved.latest = false
            resolved.source.from = nil
            resolved.checkedFrom = remote.target.display
            resolved.given = try remote.fetch(relative)
            return try resolved.execute(settings: settings, reporter: reporter)
        }
        if latest {
            let folder = BackupRoot(path: settings.backupRoot).folder(.postgres)
            guard let newest = BackupVerifier.latest(root: settings.backupRoot).first(where: { Path.directory(of: $0) == folder }) else {
                throw CDBError.inputMissing(path: folder, reason: "no dump here (cdb-pg-dump or cdb-pre-session makes one)")
            }
            reporter.info("the newest dump: \(Path.name(of: newest))")
            var resolved = self
            resolved.latest = false
            resolved.given = newest
            return try resolved.execute(settings: settings, reporter: reporter)
        }
        if let commit {
            let found = try HistoryRestore.find(commit: commit, in: BackupRoot(path: settings.backupRoot).folder(.repository))
            return try restoreHistory(found, into: backup, settings: settings, reporter: reporter)
        }
        if isSnapshot && (isIncrement || history) {
            return try restoreHistory(backup, into: directory!, settings: settings, reporter: reporter)
        }
        let keys = try identity.keys(settings).prepared(for: backup)
        if isSnapshot {
            var request = SnapshotRestore.Request(snapshot: backup, directory: directory!)
            request.force = force
            request.applyUncommitted = applyUncommitted
            request.noVerify = noVerify
            request.keys = keys
            let result = try SnapshotRestore(request: request, reporter: reporter).run()
            reporter.info("Restored commit \(result.commit.prefix(7)): \(Format.count(result.files, "file")), \(Format.count(result.links, "link"))\(result.env ? ", .env (0600)" : "")\(result.patchApplied ? ", uncommitted changes applied" : "") into \(directory!)")
            for volume in result.volumes {
                reporter.info("Docker volume \(volume.name): its files are in \(volume.path); to put them back (with its container stopped): "
                              + "docker run --rm -v \(volume.name):/volume -v '\(volume.path)':/saved:ro alpine cp -a /saved/. /volume/")
            }
            if common.json {
                JSONOutput.emit(JSONRecord(kind: "repo", path: backup, status: .ok, message: "restored into \(directory!)",
                                           extra: ["directory": directory!, "files": result.files, "links": result.links, "env": result.env,
                                                   "patch_applied": result.patchApplied, "commit": result.commit,
                                                   "volumes": result.volumes.map { ["name": $0.name, "path": $0.path] }]))
            } else {
                emit(directory!)
            }
            return .success
        }
        if check {
            var checker = RestoreCheck(settings: settings, dump: backup, reporter: reporter)
            checker.noVerify = noVerify
            checker.keys = keys
            checker.jobs = jobs ?? DumpOptions.defaultJobs
            let result: RestoreCheck.Result
            let checkStarted = Date()
            do { result = try checker.run() } catch {
                let message = (error as? CDBError)?.errorDescription ?? "\(error)"
                CheckLog.record(root: settings.backupRoot, dump: Path.name(of: backup), from: checkedFrom, ok: false,
                                details: [("Error", settings.database.redact(message)), ("Duration", Format.fixed(Date().timeIntervalSince(checkStarted)) + " s")])
                if common.json {
                    JSONOutput.emit(JSONRecord(kind: "db", path: backup, status: .failed, exit: (error as? CDBError)?.exitStatus ?? .failure,
                                               message: settings.database.redact(message), extra: ["check": true]))
                }
                throw error
            }
            let rows = result.tables.reduce(0) { $0 + $1.rows }
            CheckLog.record(root: settings.backupRoot, dump: Path.name(of: backup), from: checkedFrom, ok: true,
                            details: [("Tables", "\(result.tables.count)"), ("Rows", "\(rows)"), ("Duration", Format.fixed(result.seconds) + " s")])
            reporter.info("OK: \(Format.count(result.tables.count, "table")), \(Format.count(rows, "row")) restored and matching the dump in \(Format.fixed(result.seconds)) s (scratch database dropped)")
            if common.json {
                JSONOutput.emit(JSONRecord(kind: "db", path: backup, status: .ok, seconds: result.seconds,
                                           message: "restore check OK: \(Format.count(result.tables.count, "table")), \(Format.count(rows, "row"))",
                                           extra: ["check": true, "tables": result.tables.map { ["name": $0.name, "rows": $0.rows] }]))
            }
            return .success
        }
        var request = DumpRestore.Request(settings: settings, dump: backup)
        request.target = database.dbname
        request.clean = clean
        request.create = create
        request.singleTransaction = !noSingleTransaction
        // Into a database that existed, one transaction stays the default: all or nothing.
        request.jobs = jobs ?? (create ? DumpOptions.defaultJobs : 1)
        request.noVerify = noVerify
        request.keys = keys
        let result = try DumpRestore(request: request, reporter: reporter).run()
        let rows = result.tables.reduce(0) { $0 + $1.rows }
        reporter.info("Restored \(Path.name(of: backup)) into \(result.database): \(Format.count(result.statements, "statement")), \(Format.count(result.tables.count, "table")), \(Format.count(rows, "row")) in \(Format.fixed(result.seconds)) s")
        if common.json {
            JSONOutput.emit(JSONRecord(kind: "db", path: backup, status: .ok, seconds: result.seconds,
                                       message: "restored into \(result.database)",
                                       extra: ["database": result.database, "statements": result.statements,
                                               "tables": result.tables.map { ["name": $0.name, "rows": $0.rows] }]))
        } else {
            emit(result.database)
        }
        return .success
    }
}

extension Restore {
    /// A snapshot's or an increment's history as a git repository in `directory`.
    func restoreHistory(_ snapshot: String, into directory: String, settings: Settings, reporter: Reporter) throws -> ExitStatus {
        var request = HistoryRestore.Request(snapshot: snapshot, directory: directory)
        request.noVerify = noVerify
        request.keys = try identity.keys(settings).prepared(for: snapshot)
        let result = try HistoryRestore(request: request, reporter: reporter).run()
        let on = result.branch.map { "branch \($0) at " } ?? "detached at "
        reporter.info("Restored \(Path.name(of: snapshot))\(result.base.map { " on " + Path.name(of: $0) } ?? "") as a git repository: \(on)\(result.commit.prefix(7)) in \(directory)")
        if common.json {
            JSONOutput.emit(JSONRecord(kind: "repo", path: snapshot, status: .ok, message: "restored as a git repository in \(directory)",
                                       extra: ["directory": directory, "commit": result.commit, "branch": result.branch as Any, "base": result.base as Any]))
        } else {
            emit(directory)
        }
        return .success
    }
}

ProcessSetup.prepare()
Restore.main()
