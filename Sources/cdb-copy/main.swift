import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct Copy: CDBProgram {
    static let configuration = CommandConfiguration(
        commandName: "cdb-copy",
        abstract: "Copy backups off the machine, encrypted: to a folder (a USB disk) or any rclone remote.",
        usage: """
            cdb-copy [--to DEST]… [--no-delete] [--verify --identity FILE] [<options>] [FILE…]
            """,
        discussion: """
            Copies every backup under the backup root that DEST does not hold yet (or just the FILEs given), \
            into the same layout (PostgreSQL/, Repository/), encrypted with age to the configured recipients \
            as it streams (NAME.age; an encrypted backup goes as it is), each with a .sha256 sidecar of the \
            encrypted bytes. DEST is a folder, or an rclone remote such as b2:bucket/claire or \
            :sftp,host=vault:backups (rclone owns the credentials: rclone config, RCLONE_CONFIG_*). Objects \
            are uploaded under a temporary name and moved into place when complete; what DEST lists is the \
            state, so a deleted copy is copied again. Then DEST's own retention (keep-daily 14, keep-weekly 8, \
            keep-monthly 12; never the newest of each kind) deletes cdb's older copies there, and nothing \
            else; --no-delete deletes nothing (append-only buckets).

            Default destinations: CDB_COPY_TO (space-separated). stdout: the destination paths written. \
            Every run is logged in copy_log.txt at the backup root.

            Exit codes: 0 ok, 64 usage, 65 a local backup does not match its sidecar, 66 no such file, 69 \
            DEST unreachable, 74 DEST full, 75 locked, 78 configuration (no recipients, rclone \
            authentication).

            EXAMPLES:
              cdb-copy --to /media/usb/cdb       # a mounted USB disk
              cdb-copy --to b2:claire-backups     # any rclone remote
              cdb-copy                           # the destinations in CDB_COPY_TO
            """,
        version: CDBVersion.string
    )

    @Option(name: .long, help: ArgumentHelp("A destination: a folder, or an rclone remote name:path (repeatable; default CDB_COPY_TO).", valueName: "dest"),
            completion: .directory)
    var to: [String] = []

    @Flag(name: .long, help: "Copy without encrypting (for a destination you encrypt otherwise); warns.")
    var noEncryption = false

    @Flag(name: .long, help: "Delete nothing at the destination (append-only storage).")
    var noDelete = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Copies kept at DEST: the newest of each of the last N days (default 14, CDB_COPY_KEEP_DAILY).", valueName: "n"))
    var keepDaily: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("… of each of the last N ISO weeks (default 8, CDB_COPY_KEEP_WEEKLY).", valueName: "n"))
    var keepWeekly: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("… of each of the last N months (default 12, CDB_COPY_KEEP_MONTHLY).", valueName: "n"))
    var keepMonthly: Int?

    @Flag(name: .long, help: "After copying, fetch each copy back and check it decrypts and is complete (needs --identity or CDB_IDENTITY).")
    var verify = false

    @OptionGroup(title: "Encryption") var encryption: EncryptionOptions

    @OptionGroup(title: "Checking copies (--verify)") var identity: IdentityOptions

    @OptionGroup var locking: LockOptions

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("Backups to copy (default: every backup under the root that DEST lacks).", valueName: "file"),
              completion: .file(extensions: ["sql", "gz", "zst", "zip", "age"]))
    var files: [String] = []

    func validate() throws {
        for (flag, value) in [("--keep-daily", keepDaily), ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly)] {
            if let value, value < 0 { throw ValidationError("\(flag) takes 0 or more") }
        }
    }

    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        do {
            return try copyAll(settings: settings, reporter: reporter)
        } catch let error as CDBError {
            // A run that cannot start (no recipient, no destination, the lock) is logged too:
            // the next session's banner reads the log.
            BackupLog.append(folder: settings.backupRoot, title: "Copy FAILED", fields: [
                ("Destination", to.isEmpty ? (settings.sources.lookup("CDB_COPY_TO")?.value ?? "none") : to.joined(separator: " ")),
                ("Error", error.errorDescription ?? "\(error)"),
            ], file: "copy_log.txt")
            throw error
        }
    }

    func copyAll(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        var destinations = to
        if destinations.isEmpty, let (list, _) = settings.sources.lookup("CDB_COPY_TO") {
            destinations = list.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
        guard !destinations.isEmpty else {
            throw CDBError.configuration("no destination: give --to DEST (a folder or an rclone remote), or set CDB_COPY_TO in the config file")
        }
        var request = OffsiteCopy.Request(root: settings.backupRoot)
        request.files = files.isEmpty ? nil : files
        request.noDelete = noDelete
        if noEncryption {
            reporter.warning("--no-encryption: copies leave this machine in clear; encrypt the destination otherwise")
        } else {
            var keys = encryption
            keys.encrypt = true
            request.recipients = try keys.recipients(settings)
        }
        request.policy = RetentionPolicy(
            retentionDays: 0, keepLast: 1,
            keepDaily: try settings.sources.integer("CDB_COPY_KEEP_DAILY", flag: keepDaily, default: 14),
            keepWeekly: try settings.sources.integer("CDB_COPY_KEEP_WEEKLY", flag: keepWeekly, default: 8),
            keepMonthly: try settings.sources.integer("CDB_COPY_KEEP_MONTHLY", flag: keepMonthly, default: 12))
        var verifier: BackupVerifier?
        if verify {
            let keys = try identity.keys(settings)
            guard !keys.identities.isEmpty || identity.passphraseFile != nil else {
                throw CDBError.configuration("--verify decrypts each copy: give --identity FILE (or set CDB_IDENTITY)")
            }
            var checker = BackupVerifier(requiredTables: settings.requiredTables)
            checker.keys = keys
            verifier = checker
        }
        let rclone = settings.sources.lookup("CDB_RCLONE")?.value ?? "rclone"
        // Prune waits while backups are being read.
        let lock = try RootLock(root: settings.backupRoot, mode: .shared, wait: locking.seconds)
        var worst = ExitStatus.success
        try withExtendedLifetime(lock) {
            for destination in destinations {
                let started = Date()
                do {
                    let target = try copyTarget(destination, rclone: rclone)
                    let result = try OffsiteCopy(request: request, target: target, reporter: reporter).run()
                    if let verifier {
                        // Each copy as a restore would see it: fetched back, decrypted, checked.
                        let remote = RemoteBackups(target: target)
                        defer { remote.cleanup() }
                        for path in result.copied {
                            reporter.progress("verifying \(Path.name(of: path)) at \(target.display)…")
                            let report = verifier.verify(try remote.fetch(path))
                            guard report.ok else {
                                throw CDBError.validation(path: destinationPath(destination, path), reason: "the copy does not check: " + report.problems.joined(separator: "; "))
                            }
                        }
                    }
                    let counts = "\(result.copied.count) copied (\(ByteSize.format(result.bytes))), \(result.alreadyThere) already there"
                        + (result.notKept > 0 ? ", \(result.notKept) older than the destination keeps" : "") + ", \(result.deleted.count) deleted"
                    reporter.info("\(target.display): \(counts), \(Format.fixed(result.seconds)) s")
                    if common.json {
                        JSONOutput.emit(JSONRecord(kind: "destination", path: destination, status: .ok, bytes: result.bytes, seconds: result.seconds,
                                                   message: counts,
                                                   extra: ["copied": result.copied.map { destinationPath(destination, $0) }, "already": result.alreadyThere, "not_kept": result.notKept,
                                                           "deleted": result.deleted.map { destinationPath(destination, $0) }]))
                    } else {
                        for path in result.copied { emit(destinationPath(destination, path)) }
                    }
                    BackupLog.append(folder: settings.backupRoot, title: "Copy OK", fields: [
                        ("Destination", destination), ("Copied", "\(result.copied.count)"), ("Size", ByteSize.format(result.bytes)),
                        ("Already there", "\(result.alreadyThere)"), ("Deleted", "\(result.deleted.count)"), ("Duration", Format.fixed(result.seconds) + " s"),
                    ], file: "copy_log.txt")
                } catch let error as CDBError {
                    reporter.error(error.errorDescription ?? "\(error)")
                    worst = max(worst, error.exitStatus)
                    if common.json {
                        JSONOutput.emit(JSONRecord(kind: "destination", path: destination, status: .failed, exit: error.exitStatus,
                                                   seconds: Date().timeIntervalSince(started), message: error.errorDescription ?? "\(error)"))
                    }
                    BackupLog.append(folder: settings.backupRoot, title: "Copy FAILED", fields: [
                        ("Destination", destination), ("Error", error.errorDescription ?? "\(error)"), ("Duration", Format.fixed(Date().timeIntervalSince(started)) + " s"),
                    ], file: "copy_log.txt")
                }
            }
        }
        return worst
    }
}

ProcessSetup.prepare()
Copy.main()
