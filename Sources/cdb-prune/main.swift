import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct Prune: CDBProgram {
    static let configuration = CommandConfiguration(
        commandName: "cdb-prune",
        abstract: "Apply the retention policy to the backup folders.",
        usage: """
            cdb-prune [--retention-days N] [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--dry-run] [<options>]
            """,
        discussion: """
            Deletes backups older than --retention-days, but always keeps the newest --keep-last of each kind \
            (database dumps, repository snapshots); --keep-daily/--keep-weekly/--keep-monthly N also keep the newest \
            backup of each of the last N days, ISO weeks or months that have one. A backup is kept if any rule keeps it. \
            Age comes from the time in the file name (local time).

            Touches only cdb's own names and their .sha256 sidecars (deleted together), orphan sidecars, and \
            cdb's temporary files older than a day. Anything else is left alone; symbolic links are never followed \
            or deleted. stdout: the deleted paths (with --dry-run, those that would be deleted).

            EXAMPLES:
              cdb-prune --dry-run                # what the policy would delete
              cdb-prune --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --json
            """,
        version: CDBVersion.string
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Delete backups older than this many days (default 14, CDB_RETENTION_DAYS).", valueName: "days"))
    var retentionDays: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Always keep the newest N of each kind (default 3, CDB_KEEP_LAST).", valueName: "n"))
    var keepLast: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N days that have one (default 0).", valueName: "n"))
    var keepDaily: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N ISO weeks that have one (default 0).", valueName: "n"))
    var keepWeekly: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Keep the newest backup of each of the last N months that have one (default 0).", valueName: "n"))
    var keepMonthly: Int?

    @Flag(name: .long, help: "Change nothing; print what would be deleted.")
    var dryRun = false

    @OptionGroup var locking: LockOptions

    @Option(name: .long, help: .hidden)
    var now: String?

    // An option, not a positional: swift-argument-parser's zsh script breaks on a root command
    // with a variadic positional ("doubled rest argument definition").
    @Option(name: .customLong("folder"), help: ArgumentHelp("A backup folder to prune (repeatable; default: the root's PostgreSQL and Repository).", valueName: "dir"),
            completion: .directory)
    var folders: [String] = []

    func validate() throws {
        for (flag, value) in [("--keep-daily", keepDaily), ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly)] {
            if let value, value < 0 { throw ValidationError("\(flag) must be 0 or more (got \(value))") }
        }
    }

    func configure(_ flags: inout Settings.Flags) {
        flags.retentionDays = retentionDays
        flags.keepLast = keepLast
    }

    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        var request = Pruner.Request(root: settings.backupRoot, policy: RetentionPolicy(
            retentionDays: settings.retentionDays, keepLast: settings.keepLast,
            keepDaily: keepDaily ?? 0, keepWeekly: keepWeekly ?? 0, keepMonthly: keepMonthly ?? 0))
        request.folders = folders
        request.dryRun = dryRun
        request.lock = .wait(seconds: locking.seconds)
        if let now {
            // "As of" another time, for tests and what-if runs: ISO 8601, e.g. 2025-11-25T12:00:00+01:00.
            guard let date = Timestamp.parseISO8601(now) else {
                throw CDBError.usage("--now takes an ISO 8601 time such as 2025-11-25T12:00:00+01:00")
            }
            request.now = date
        }
        let result = try Pruner(request: request).run()
        PruneReport.print(result, dryRun: dryRun, json: common.json, reporter: reporter)
        return .success
    }
}

ProcessSetup.prepare()
Prune.main()
