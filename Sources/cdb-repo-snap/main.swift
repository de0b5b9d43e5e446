import ArgumentParser
import CDBCommandLine
import CDBKit
import FoundationEssentials
import Glibc

struct RepoSnap: CDBProgram {
    static let configuration = CommandConfiguration(
        commandName: "cdb-repo-snap",
        abstract: "Zip snapshot of a git repository's HEAD through libgit2, with its metadata.",
        usage: """
            cdb-repo-snap [--repo DIR] [--include-env] [--incremental] [--encrypt] [-o FILE|-] [<options>]
            cdb-repo-snap --install-hook | --uninstall-hook
            """,
        discussion: """
            Writes Repository/claire_repo_YYYY-MM-DD_HHMM_<commit>.zip under the backup root (or -o FILE, or \
            -o - for standard output) with a .sha256 sidecar, and prints the path. The zip holds \
            git_metadata.txt and git_metadata.json, repository.zip (every file of HEAD's tree with its mode), \
            uncommitted.patch when the work tree differs from HEAD (untracked, not ignored files included as new \
            files, up to 10M each and 100M in all; never .env), .env.backup with --include-env, and \
            extra/ with --include. No git executable is needed.

            Exit codes: 0 ok, 64 usage, 66 not a repository or nothing committed, 73 cannot create output, \
            74 I/O error (disk full), 75 locked.

            EXAMPLES:
              cdb-repo-snap                      # HEAD and uncommitted work, here
              cdb-repo-snap --repo ~/trading --include-env --encrypt
              cdb-repo-snap --install-hook       # a snapshot after every commit
            """,
        version: CDBVersion.string
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("The repository (default: the one containing the current folder).", valueName: "dir"),
            completion: .directory)
    var repo: String?

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write to FILE instead, or '-' for standard output.", valueName: "file"),
            completion: .file(extensions: ["zip", "age"]))
    var output: String?

    @Flag(name: .long, help: "Add the repository's .env as .env.backup (secrets: the zip is 0600).")
    var includeEnv = false

    @Flag(name: .long, help: "Leave untracked files out of uncommitted.patch (by default untracked, not ignored files go in as new files).")
    var noUntracked = false

    @Flag(name: .long, help: .hidden)
    var includeUntracked = false  // the default now; kept so that old command lines still work

    @Option(name: .long, help: ArgumentHelp("Skip untracked files larger than this (default 10M, CDB_UNTRACKED_MAX_FILE).", valueName: "size"))
    var untrackedMaxFile: String?

    @Option(name: .long, help: ArgumentHelp("Capture at most this much untracked data in all (default 100M, CDB_UNTRACKED_MAX_TOTAL).", valueName: "size"))
    var untrackedMaxTotal: String?

    @Option(name: .long, help: ArgumentHelp("Add a file or folder under extra/ (repeatable).", valueName: "path"), completion: .file())
    var include: [String] = []

    @Option(name: .long, help: ArgumentHelp("Add a Docker named volume's files under volumes/NAME/ (repeatable; default CDB_DOCKER_VOLUMES; not in the post-commit hook's runs).", valueName: "name"))
    var includeDockerVolume: [String] = []

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Deflate level for repository.zip, 1 (fastest) to 12 (smallest) (default 4).", valueName: "1-12"))
    var compressionLevel: Int?

    @Flag(name: .long, help: "Do not warn about uncommitted changes.")
    var force = false

    @OptionGroup(title: "Encryption") var encryption: EncryptionOptions

    @OptionGroup var locking: LockOptions

    @Flag(name: .long, help: "Install the post-commit hook into this repository (keeps a foreign hook and calls it).")
    var installHook = false

    @Flag(name: .long, help: "Remove the post-commit hook and put back the hook it replaced.")
    var uninstallHook = false

    @Option(name: .long, help: ArgumentHelp("Snapshot this commit (a full hash) instead of HEAD; the work tree is captured only when it is HEAD.", valueName: "hash"))
    var commit: String?

    @Flag(name: .long, help: .hidden)
    var background = false

    @Flag(name: .long, help: "Store only what is new since this repository's newest full snapshot (an increment, .inc-<base>.zip), when there is one to build on; a full snapshot then carries the history (repository.bundle) for the next ones. The post-commit hook's and the session's runs do this.")
    var incremental = false

    func validate() throws {
        if installHook && uninstallHook { throw ValidationError("choose one of --install-hook and --uninstall-hook") }
        try common.checkStandardOutput(output)
        if let compressionLevel, !(1...12).contains(compressionLevel) { throw ValidationError("--compression-level takes 1 to 12") }
        for (flag, value) in [("--untracked-max-file", untrackedMaxFile), ("--untracked-max-total", untrackedMaxTotal)] {
            if let value, ByteSize.parse(value) == nil { throw ValidationError("\(flag) takes a size such as 10M or 512K") }
        }
    }

    var settingsDirectory: String { repo ?? FileManager.default.currentDirectoryPath }

    func configure(_ flags: inout Settings.Flags) {
        flags.untrackedMaxFile = untrackedMaxFile.flatMap(ByteSize.parse)
        flags.untrackedMaxTotal = untrackedMaxTotal.flatMap(ByteSize.parse)
    }

    /// The post-commit hook's run has nowhere to report bad settings: it stays silent.
    func quietExit(settingsError: CDBError) -> ExitStatus? { background ? .success : nil }

    func executeWithoutSettings(reporter: Reporter) throws -> ExitStatus? {
        let directory = settingsDirectory
        if installHook || uninstallHook {
            let repository = try GitRepository(discoveringFrom: directory)
            if installHook {
                let program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
                let (outcome, path) = try PostCommitHook.install(repository, program: program)
                if let tree = WorkTree.root(containing: directory), try UserConfig().enable(tree) {
                    reporter.info("enabled \(tree) for cdb backups (cdb-pre-session disable turns that off)")
                }
                switch outcome {
                case .alreadyInstalled: reporter.info("post-commit hook already installed at \(path)")
                case .installedKeepingLegacy: reporter.info("post-commit hook installed at \(path); the hook that was there runs first (post-commit.legacy)")
                default: reporter.info("post-commit hook installed at \(path)")
                }
                emit(path)
            } else {
                let (outcome, path) = try PostCommitHook.uninstall(repository)
                switch outcome {
                case .notInstalled: reporter.info("no cdb post-commit hook at \(path); nothing to do")
                case .removedRestoringLegacy: reporter.info("post-commit hook removed; the earlier hook is back at \(path)")
                default: reporter.info("post-commit hook removed from \(path)")
                }
            }
            return .success
        }
        return nil
    }

    func execute(settings: Settings, reporter: Reporter) throws -> ExitStatus {
        let directory = settingsDirectory
        // The post-commit hook snapshots only repositories the user enabled.
        if background && settings.enabledWorkTree == nil { return .success }
        var request = RepositorySnapshot.Request(settings: settings)
        request.commit = commit
        request.repository = directory
        request.includeEnv = includeEnv
        request.untracked = !noUntracked
        request.includes = include
        // The post-commit hook's runs leave volumes to the session's and the user's own.
        request.dockerVolumes = background ? [] : (includeDockerVolume.isEmpty ? DockerVolume.configured(settings.sources) : includeDockerVolume)
        request.lock = .wait(seconds: locking.seconds)
        request.level = Int32(compressionLevel ?? 4)
        request.incremental = incremental || background
        request.recipients = try encryption.recipients(settings)
        if request.recipients != nil, let output, output != "-", !output.hasSuffix(".age") {
            throw CDBError.usage("-o \(output): an encrypted snapshot's name must end in .age (verify, restore and prune know it by that)")
        }
        switch output {
        case nil: request.destination = .backupRoot
        case "-": request.destination = .standardOutput
        case let path?: request.destination = .file(path)
        }
        let outcome = RepositorySnapshotCommand.run(request: request, force: force, reporter: reporter)
        if common.json { JSONOutput.emit(outcome.record) } else if let path = outcome.result?.path { emit(path) }
        return outcome.status
    }
}

ProcessSetup.prepare(detached: CommandLine.arguments.contains("--background"))
RepoSnap.main()
