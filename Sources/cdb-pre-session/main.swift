import ArgumentParser
import CDBCommandLine
import CDBKit
import Foundation

struct PreSessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdb-pre-session",
        abstract: "Back up the database and the repository before a work session, then prune.",
        discussion: """
            Runs the database dump, the repository snapshot and pruning of both folders, for the repository it \
            is run in, under the backup root's lock, and prints the session banner on standard error. The created \
            paths go to standard output. A failing step never stops the others; the exit code is the worst step's.
            The shell hooks (cdb-pre-session init bash|zsh|fish) run it before the commands in CDB_SESSION_COMMANDS.

            Options of a run (--skip-db, --skip-repo, --json, --quiet, --min-interval, --lock-wait, --compress, \
            --repo, --backup-root): cdb-pre-session run --help.
            """,
        version: CDBVersion.string,
        subcommands: [Run.self, Init.self],
        defaultSubcommand: Run.self
    )
}

extension PreSessionCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the backups (the default when no subcommand is given)."
        )

        @OptionGroup var common: CommonOptions

        @Flag(name: .long, help: "Skip the database dump.")
        var skipDb = false

        @Flag(name: .long, help: "Skip the repository snapshot.")
        var skipRepo = false

        @Option(name: .long, help: ArgumentHelp("Seconds to wait for another run's lock before giving up (exit 75).", valueName: "seconds"))
        var lockWait: Int = 30

        @Option(name: .long, help: ArgumentHelp("Skip when this repository's last successful run is younger (default 0, CDB_SESSION_INTERVAL).", valueName: "minutes"))
        var minInterval: Int?

        @Option(name: .long, help: ArgumentHelp("Compress the dump.", valueName: "zstd|gzip"))
        var compress: CompressionArgument?

        @Option(name: .long, help: ArgumentHelp("The repository (default: the one containing the current folder).", valueName: "dir"),
                completion: .directory)
        var repo: String?

        func validate() throws {
            if lockWait < 0 { throw ValidationError("--lock-wait must be 0 or more seconds") }
            if let minInterval, minInterval < 0 { throw ValidationError("--min-interval must be 0 or more minutes") }
        }

        func run() throws {
            let reporter = common.reporter()
            try runReportingErrors(reporter) {
                let directory = repo ?? FileManager.default.currentDirectoryPath
                var flags = Settings.Flags()
                flags.backupRoot = common.backupRoot
                let settings = try Settings.resolve(flags: flags, directory: directory)
                settings.warnings.forEach(reporter.warning)
                var request = PreSession.Request(settings: settings)
                request.repository = directory
                request.skipDatabase = skipDb
                request.skipRepository = skipRepo
                request.lockWait = Double(lockWait)
                request.compression = compress?.value ?? .none
                let interval = minInterval ?? ProcessInfo.processInfo.environment["CDB_SESSION_INTERVAL"].flatMap { Int($0) } ?? 0
                request.minInterval = max(0, interval)
                let outcome = PreSession(request: request, reporter: reporter).run()
                if common.json {
                    for step in outcome.steps { emit(jsonLine(step.json)) }
                } else {
                    outcome.paths.forEach(emit)
                }
                return outcome.status
            }
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Print the shell hook, for eval \"$(cdb-pre-session init bash)\" users."
        )

        @Argument(help: ArgumentHelp("The shell.", valueName: "bash|zsh|fish"))
        var shell: Shell

        enum Shell: String, ExpressibleByArgument, CaseIterable { case bash, zsh, fish }

        func run() throws {
            let program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let text: String
            switch shell {
            case .bash: text = EmbeddedFiles.bash
            case .zsh: text = EmbeddedFiles.zsh
            case .fish: text = EmbeddedFiles.fish
            }
            print(text.replacingOccurrences(of: "@CDB_PRE_SESSION@", with: program), terminator: "")
        }
    }
}


ProcessSetup.prepare()
PreSessionCommand.main()
