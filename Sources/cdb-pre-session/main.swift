import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct PreSessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdb-pre-session",
        abstract: "Back up the database and the repository before a work session, then prune.",
        usage: """
            cdb-pre-session [run] [--skip-db] [--skip-repo] [-d DB] [--encrypt] [--min-interval MIN] [<options>]
            cdb-pre-session enable | disable | status [--repo DIR]
            cdb-pre-session init bash|zsh|fish
            """,
        discussion: """
            Runs the database dump, the repository snapshot and pruning of both folders, for the repository it \
            is run in, under the backup root's lock, and prints the session banner on standard error. The created \
            paths go to standard output. A failing step never stops the others; the exit code is the worst step's.
            It runs only in repositories you enabled (cdb-pre-session enable; like direnv allow): a repository \
            you cloned cannot make cdb run, and its .env is read only for the database connection.
            The shell hooks (cdb-pre-session init bash|zsh|fish) run it before the commands in CDB_SESSION_COMMANDS.

            Options of a run (--skip-db, --skip-repo, --json, --quiet, --min-interval, --lock-wait, --compress, \
            --encrypt, --recipient, --dbname/-d, --host, --port, --username, --require-table, --include-env, \
            --no-untracked, --repo, --backup-root): cdb-pre-session run --help.

            EXAMPLES:
              cdb-pre-session enable             # trust the repository you are in
              cdb-pre-session                    # back it up now, with the banner
              cdb-pre-session --skip-repo -d trading --json
              eval "$(cdb-pre-session init bash)"   # ~/.bashrc (install.sh does it)
            """,
        version: CDBVersion.string,
        subcommands: [Run.self, Enable.self, Disable.self, Status.self, Init.self],
        defaultSubcommand: Run.self
    )
}

extension PreSessionCommand {
    struct Run: CDBProgram {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the backups (the default when no subcommand is given).",
            usage: "cdb-pre-session [run] [--skip-db] [--skip-repo] [-d DB] [--encrypt] [--min-interval MIN] [<options>]",
            helpNames: [.long]
        )

        static var programName: String { "cdb-pre-session" }

        @OptionGroup var common: CommonOptions

        @Flag(name: .long, help: "Skip the database dump.")
        var skipDb = false

        @Flag(name: .long, help: "Skip the repository snapshot.")
        var skipRepo = false

        @OptionGroup var locking: LockOptions

        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Skip when this repository's last successful run is younger (default 0, CDB_SESSION_INTERVAL).", valueName: "minutes"))
        var minInterval: Int?

        @Option(name: .long, help: ArgumentHelp("Compress the dump.", valueName: "zstd|gzip"))
        var compress: CompressionArgument?

        @Option(name: .long, help: ArgumentHelp("The repository (default: the one containing the current folder).", valueName: "dir"),
                completion: .directory)
        var repo: String?

        @OptionGroup(title: "Encryption") var encryption: EncryptionOptions

        @OptionGroup(title: "Database (default: PGDATABASE…, or the repository's .env)") var database: DatabaseOptions

        @Option(name: .long, help: ArgumentHelp("A table the dump must hold (repeatable; default the five trading tables, CDB_REQUIRED_TABLES).", valueName: "table"))
        var requireTable: [String] = []

        @Flag(name: .long, help: "Add the repository's .env to the snapshot as .env.backup (secrets: the zip is 0600; with --encrypt, encrypted).")
        var includeEnv = false

        @Flag(name: .long, help: "Leave untracked files out of the snapshot's uncommitted.patch.")
        var noUntracked = false

        func configure(_ flags: inout Settings.Flags) {
            database.apply(to: &flags)
            flags.requiredTables = requireTable
        }

        func validate() throws {
            if let minInterval, minInterval < 0 { throw ValidationError("--min-interval must be 0 or more minutes") }
        }

        var settingsDirectory: String { repo ?? FileManager.default.currentDirectoryPath }

        func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
            let directory = settingsDirectory
            var request = PreSession.Request(settings: settings)
            request.repository = directory
            request.skipDatabase = skipDb
            request.skipRepository = skipRepo
            request.lockWait = locking.seconds
            request.compression = compress?.value ?? settings.compression
            request.recipients = try encryption.recipients(settings)
            request.includeEnv = includeEnv
            request.untracked = !noUntracked
            if let (list, _) = settings.sources.lookup("CDB_COPY_TO") {
                request.copyTo = list.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                // cdb-copy lives beside this program (install.sh puts them together).
                let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
                request.copyProgram = Path.join(Path.directory(of: own), "cdb-copy")
            }
            request.progress = Reporter(level: reporter.level, onlyProgress: true)
            request.minInterval = try settings.sources.integer("CDB_SESSION_INTERVAL", flag: minInterval, default: 0)
            let outcome = PreSession(request: request, events: SessionBanner(reporter: reporter).show).run()
            if common.json {
                SessionReport.records(outcome).forEach(JSONOutput.emit)
            } else {
                outcome.paths.forEach(emit)
            }
            return outcome.status
        }
    }

    /// `enable`, `disable`, `status`: the repository's entry in the user's list.
    struct RepositoryArgument: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("The repository (default: the one containing the current folder).", valueName: "dir"),
                completion: .directory)
        var repo: String?

        /// Runs `body` with the repository's work-tree root and the user's config folder.
        func run(_ body: (_ tree: String, _ config: UserConfig, _ reporter: Reporter) throws -> ExitStatus) throws {
            let reporter = Reporter()
            try runReportingErrors(reporter) {
                let directory = repo ?? FileManager.default.currentDirectoryPath
                guard let tree = WorkTree.root(containing: directory) else {
                    throw CDBError.inputMissing(path: directory, reason: "not inside a git work tree")
                }
                return try body(tree, UserConfig(), reporter)
            }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let cdb back up this repository (the session hook and the post-commit hook run only in enabled ones).")

        @OptionGroup var target: RepositoryArgument

        func run() throws {
            try target.run { tree, config, reporter in
                let added = try config.enable(tree)
                reporter.info(added ? "cdb: enabled \(tree) (listed in \(config.enabledPath))" : "cdb: \(tree) was enabled already")
                emit(tree)
                return .success
            }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop cdb backing up this repository.")

        @OptionGroup var target: RepositoryArgument

        func run() throws {
            try target.run { tree, config, reporter in
                reporter.info(try config.disable(tree) ? "cdb: disabled \(tree)" : "cdb: \(tree) was not enabled")
                return .success
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether this repository is enabled (exit 0) or not (exit 1), and where the settings live.")

        @OptionGroup var target: RepositoryArgument

        func run() throws {
            try target.run { tree, config, reporter in
                let enabled = config.isEnabled(tree)
                emit("\(enabled ? "enabled" : "not enabled") \(tree)")
                reporter.info("settings: \(config.configPath)\(FileManager.default.fileExists(atPath: config.configPath) ? "" : " (none yet)")")
                reporter.info("enabled repositories: \(config.enabledPath) (\(config.enabledRepositories().count))")
                if !enabled { reporter.info("to enable it: cdb-pre-session enable") }
                return enabled ? .success : .failure
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
            print(text.replacingAll("@CDB_PRE_SESSION@", with: program), terminator: "")
        }
    }
}


ProcessSetup.prepare()
PreSessionCommand.main()
