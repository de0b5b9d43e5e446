import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct Verify: CDBProgram {
    static let configuration = CommandConfiguration(
        commandName: "cdb-verify",
        abstract: "Check backups offline: checksum, structure, completeness.",
        usage: """
            cdb-verify [--no-checksum] [--identity FILE] [--from DEST] [<options>] FILE… | - | --latest [--copies]
            """,
        discussion: """
            For every file: the .sha256 sidecar matches; a dump (.sql, .sql.gz, .sql.zst) is complete — banner, \
            completion line, every COPY block terminated with the row count it recorded, every required table \
            present; a snapshot (.zip) has sound zips with matching CRCs inside and out, and git_metadata.txt \
            naming the commit in the file name. Reads any size in flat memory.

            A dump without cdb's "-- Rows:" lines (pg_dump's) is checked for structure and the OK line says that \
            row counts were not recorded; --no-checksum accepts a file without a sidecar.

            An encrypted backup (.age) is checked against its sidecar without any key; with --identity \
            (or CDB_IDENTITY, or --passphrase-file) it is decrypted as it is read — header MAC, every \
            chunk, truncation — and then checked like any other. No plaintext is written.

            --from DEST checks copies that cdb-copy made (NAME…, or --latest: the newest dump and snapshot \
            there), each fetched as stored into a private temporary folder that is removed afterwards; \
            --latest --copies does that at every destination in CDB_COPY_TO (the scheduled check runs it).

            stderr: one line per file, OK PATH (what was checked) or FAILED PATH (why). stdout: the failing paths. Exit 65 when any failed, \
            66 when a file is missing, 77 when no identity given opens an encrypted one.

            EXAMPLES:
              cdb-verify --latest                # the newest dump and snapshot
              cdb-verify ~/Claire_Backups/PostgreSQL/*.sql.zst
              cdb-list --json | jq -r .path | cdb-verify -
            """,
        version: CDBVersion.string
    )

    static var pingsMonitor: Bool { false }  // it only looks

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Check the newest backup of each kind in the backup root.")
    var latest = false

    @Flag(name: .long, help: "Do not require a .sha256 sidecar (files not written by cdb, e.g. pg_dump's); one that exists is still checked.")
    var noChecksum = false

    @Option(name: .long, help: ArgumentHelp("A table a dump must hold (repeatable; default the five trading tables, CDB_REQUIRED_TABLES).", valueName: "table"))
    var requireTable: [String] = []

    @OptionGroup(title: "Encrypted backups") var identity: IdentityOptions

    @OptionGroup(title: "Copies") var source: FromOptions

    @Flag(name: .long, help: "With --latest: check the newest copies at every destination in CDB_COPY_TO (none configured: nothing to check, exit 0).")
    var copies = false

    @Argument(help: ArgumentHelp("Backups to check; '-' reads paths from standard input, one per line.", valueName: "file"),
              completion: .file(extensions: ["sql", "gz", "zst", "zip", "age"]))
    var files: [String] = []

    func validate() throws {
        if files.isEmpty && !latest { throw ValidationError("name the backups to check, '-' to read their paths from standard input, or --latest") }
        if copies && (!latest || !files.isEmpty || source.from != nil) { throw ValidationError("--copies checks the newest copies at each destination: use it with --latest only") }
    }

    func configure(_ flags: inout Settings.Flags) {
        flags.requiredTables = requireTable
    }

    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        var paths: [String] = []
        for file in files {
            if file == "-" {
                var read = 0
                while let line = readLine() { if !line.isEmpty { paths.append(line); read += 1 } }
                // An empty list is a mistake upstream (a glob or a query that found nothing), not a pass.
                if read == 0 { throw CDBError.inputMissing(path: "standard input", reason: "no paths to check ('-' reads one path per line); nothing was checked") }
            } else {
                paths.append(file)
            }
        }
        var verifier = BackupVerifier(requiredTables: settings.requiredTables)
        verifier.requireSidecar = !noChecksum
        let keys = try identity.keys(settings)
        if !keys.identities.isEmpty { verifier.keys = keys }
        if copies {
            // Each destination's newest copies, fetched and checked; one unreachable is its exit
            // code, the others are still checked.
            guard let (list, _) = settings.sources.lookup("CDB_COPY_TO") else {
                reporter.info("no copy destinations configured (CDB_COPY_TO); nothing to check")
                return .success
            }
            var worst = ExitStatus.success
            for destination in list.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) {
                do {
                    let remote = try RemoteBackups(destination: destination, rclone: settings.sources.lookup("CDB_RCLONE")?.value ?? "rclone")
                    defer { remote.cleanup() }
                    let found = try remote.latest()
                    if found.isEmpty { throw CDBError.inputMissing(path: remote.target.display, reason: "no copies found") }
                    worst = max(worst, try check(found, remote: remote, verifier: verifier, settings: settings, reporter: reporter))
                } catch let error as CDBError {
                    reporter.error(error.errorDescription ?? "\(error)")
                    CheckLog.recordVerify(root: settings.backupRoot, file: destination, ok: false, details: [("Problems", error.errorDescription ?? "\(error)")])
                    if common.json {
                        JSONOutput.emit(JSONRecord(kind: "destination", path: destination, status: .failed, exit: error.exitStatus, message: error.errorDescription))
                    }
                    worst = max(worst, error.exitStatus)
                }
            }
            return worst
        }
        let remote = try source.open(settings)
        defer { remote?.cleanup() }
        if latest {
            let found = try remote?.latest() ?? BackupVerifier.latest(root: settings.backupRoot)
            if found.isEmpty { throw CDBError.inputMissing(path: remote?.target.display ?? settings.backupRoot, reason: "no backups found") }
            paths += found
        }
        return try check(paths, remote: remote, verifier: verifier, settings: settings, reporter: reporter)
    }

    /// Checks each path (at `remote` when given: fetched as stored, then checked like a local
    /// backup); one line per file, a record in check_log.txt.
    func check(_ paths: [String], remote: RemoteBackups?, verifier: BackupVerifier, settings: Settings, reporter: Reporter) throws -> ExitStatus {
        var worst = ExitStatus.success
        for shown in paths {
            // At a destination: each copy is fetched as stored (encrypted, with its sidecar) and
            // checked like a local backup; messages name it at the destination.
            var path = shown
            let started = Date()
            let report: BackupVerifier.Report
            if let remote {
                let relative = try remote.relative(shown)
                path = destinationPath(remote.target.display, relative)
                reporter.progress("fetching \(Path.name(of: relative)) from \(remote.target.display)…")
                report = verifier.verify(try remote.fetch(relative))
            } else {
                report = verifier.verify(path)
            }
            if report.ok {
                reporter.info("OK  \(path)\(report.detail.isEmpty ? "" : "  (\(report.detail))")")
            } else {
                reporter.always("FAILED  \(path)  (\(report.problems.joined(separator: "; ")))")
                worst = max(worst, report.status)
            }
            // The record of checks at the backup root (check_log.txt; skipped when it cannot be written).
            CheckLog.recordVerify(root: settings.backupRoot, file: path, ok: report.ok,
                                  details: [report.ok ? ("Detail", report.detail) : ("Problems", report.problems.joined(separator: "; ")),
                                            ("Duration", Format.fixed(Date().timeIntervalSince(started)) + " s")])
            if common.json {
                let kind = BackupName.parse(Path.name(of: path)).map { JSONRecord.kind($0.kind) }
                JSONOutput.emit(JSONRecord(kind: kind, path: path, status: report.ok ? .ok : .failed, exit: report.status,
                                           bytes: report.bytes, seconds: Date().timeIntervalSince(started),
                                           message: report.ok ? report.detail : report.problems.joined(separator: "; "),
                                           extra: ["problems": report.problems, "detail": report.detail]))
            } else if !report.ok {
                emit(path)
            }
        }
        return worst
    }
}

ProcessSetup.prepare()
Verify.main()
