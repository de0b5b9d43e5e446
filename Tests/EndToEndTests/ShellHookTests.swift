import Foundation
import Testing

/// The session hooks in real interactive bash, zsh and fish.
@Suite("shell hooks", .enabled(if: PG.enabled), .serialized)
struct ShellHookTests {
    enum Shell: String, CaseIterable {
        case bash, zsh, fish

        var hook: String { Harness.packageRoot + "/hooks/cdb." + rawValue }

        /// argv for an interactive shell without the user's startup files, running `script`.
        func interactive(_ script: String) -> [String] {
            switch self {
            case .bash: return ["bash", "--norc", "--noprofile", "-i", "-c", script]
            case .zsh: return ["zsh", "-f", "-i", "-c", script]
            case .fish: return ["fish", "--no-config", "-i", "-c", script]
            }
        }

        func source() -> String { "source '\(hook)'" }
        var status: String { self == .fish ? "$status" : "$?" }
    }

    func run(_ shell: Shell, _ script: String, _ f: SessionFixture, extra: [String: String?] = [:]) throws -> Harness.Output {
        let argv = shell.interactive(script)
        return try Harness.run(argv[0], Array(argv.dropFirst()), environment: f.environment.merging(extra) { $1 }, directory: f.repo.path)
    }

    @Test("the wrapped command runs after the backup, with its arguments, and returns its exit status", arguments: Shell.allCases)
    func wraps(_ shell: Shell) throws {
        let f = try SessionFixture()
        defer { f.remove() }
        let out = try run(shell, "\(shell.source()); claude one 'two words' ''; echo \"status=\(shell.status)\"", f)
        #expect(out.stdout.contains("status=7"), "\(shell): \(out.stdout) \(out.stderr)")
        #expect(f.calls == "backup-before\narg:one\narg:two words\narg:\n", "\(shell): \(f.calls)")
        #expect(out.stderr.contains("=== Pre-Session: Automatic Backups ==="))
        #expect(f.dumps.count == 1 && f.snapshots.count == 1)
    }

    @Test("sourcing twice wraps once, keeps the exit status, and CDB_HOOKS=0 turns it off", arguments: Shell.allCases)
    func idempotentAndSwitch(_ shell: Shell) throws {
        let f = try SessionFixture()
        defer { f.remove() }
        let keep = try run(shell, "false; \(shell.source()); echo \"kept=\(shell.status)\"", f)
        #expect(keep.stdout.contains("kept=1"), "\(shell): \(keep.stdout) \(keep.stderr)")
        let twice = try run(shell, "\(shell.source()); \(shell.source()); claude x; echo \"status=\(shell.status)\"", f)
        #expect(twice.stdout.contains("status=7"))
        #expect(f.dumps.count == 1, "one backup per session start, not two")
        #expect(twice.stderr.components(separatedBy: "=== Pre-Session").count == 2)
        f.resetLog()
        let off = try run(shell, "\(shell.source()); claude y; echo \"status=\(shell.status)\"", f, extra: ["CDB_HOOKS": "0"])
        #expect(off.stdout.contains("status=7") && f.calls == "backup-before\narg:y\n")
        #expect(f.dumps.count == 1, "CDB_HOOKS=0 makes no backup")
        #expect(!off.stderr.contains("Pre-Session"))
        // CDB_SESSION_COMMANDS names the wrapped commands: `codex` is, `claude` no longer is.
        try FileManager.default.copyItem(atPath: f.bin + "/claude", toPath: f.bin + "/codex")
        f.resetLog()
        let unwrapped = try run(shell, "\(shell.source()); claude z", f, extra: ["CDB_SESSION_COMMANDS": "aider codex"])
        #expect(!unwrapped.stderr.contains("Pre-Session") && f.dumps.count == 1, "\(shell): claude must not be wrapped")
        let wrapped = try run(shell, "\(shell.source()); codex w; echo \"status=\(shell.status)\"", f, extra: ["CDB_SESSION_COMMANDS": "aider codex"])
        #expect(wrapped.stdout.contains("status=7") && wrapped.stderr.contains("Pre-Session") && f.dumps.count == 2, "\(shell): codex must be wrapped")
    }

    @Test("the session starts even with the database down, unless CDB_BLOCK_ON_FAILURE=1", arguments: Shell.allCases)
    func databaseDown(_ shell: Shell) throws {
        let f = try SessionFixture(database: false)
        defer { f.remove() }
        let down: [String: String?] = ["PGHOST": "/nonexistent-socket-dir"]
        let out = try run(shell, "\(shell.source()); claude go; echo \"status=\(shell.status)\"", f, extra: down)
        #expect(out.stdout.contains("status=7"), "\(shell): \(out.stdout) \(out.stderr)")
        #expect(f.calls.contains("arg:go"))
        #expect(out.stderr.contains("[FAIL] PostgreSQL: database unreachable"))
        #expect(f.snapshots.count == 1)
        f.resetLog()
        let blocked = try run(shell, "\(shell.source()); claude go; echo \"status=\(shell.status)\"", f,
                              extra: down.merging(["CDB_BLOCK_ON_FAILURE": "1"]) { $1 })
        #expect(blocked.stdout.contains("status=69"), "\(shell): \(blocked.stdout) \(blocked.stderr)")
        #expect(f.calls.isEmpty, "the session must not start")
        #expect(blocked.stderr.contains("CDB_BLOCK_ON_FAILURE=1"))
    }

    @Test("with the user's alias of that name (none, with arguments, to an absolute path), the backup runs first and then exactly what the alias ran",
          arguments: Shell.allCases)
    func aliases(_ shell: Shell) throws {
        let f = try SessionFixture()
        defer { f.remove() }
        // The real program lives off PATH, as `~/.claude/local/claude` does.
        let hidden = f.bin + "/local"
        try FileManager.default.createDirectory(atPath: hidden, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: f.bin + "/claude", toPath: hidden + "/claude")
        let onPath = "PATH=\"\(hidden):$PATH\""
        let cases: [(String, String, String)] = [   // (alias line, what the alias adds, PATH setup)
            ("", "", onPath),
            (shell == .fish ? "alias claude 'claude --verbose'" : "alias claude='claude --verbose'", "arg:--verbose\n", onPath),
            (shell == .fish ? "alias claude '\(hidden)/claude'" : "alias claude='\(hidden)/claude'", "", ""),
            (shell == .fish ? "alias claude '\(hidden)/claude --model x'" : "alias claude=\"\(hidden)/claude --model x\"", "arg:--model\narg:x\n", ""),
        ]
        for (alias, added, path) in cases {
            f.resetLog()
            for file in f.dumps { unlink(f.root + "/PostgreSQL/" + file) }
            let setPath = path.isEmpty ? "" : (shell == .fish ? "set -gx PATH \(hidden) $PATH" : "export \(path)")
            // eval: zsh reads a whole -c script before running it, so an alias made by sourcing
            // applies to commands read afterwards, as at a prompt.
            let script = [setPath, alias, shell.source(), "eval \"claude one 'two words'\"", "echo \"status=\(shell.status)\""]
                .filter { !$0.isEmpty }.joined(separator: "\n")
            let out = try run(shell, script, f)
            #expect(out.stdout.contains("status=7"), "\(shell) [\(alias)]: \(out.stdout) \(out.stderr)")
            #expect(f.calls == "backup-before\n" + added + "arg:one\narg:two words\n", "\(shell) [\(alias)]: \(f.calls) \(out.stderr)")
            #expect(out.stderr.contains("=== Pre-Session") && f.dumps.count == 1, "\(shell) [\(alias)]: one backup first: \(out.stderr)")
            #expect(!out.stderr.contains("syntax error") && !out.stderr.contains("not found"), "\(shell) [\(alias)]: \(out.stderr)")
        }
        // Re-sourcing after removing the name from CDB_SESSION_COMMANDS gives the alias back as it was.
        f.resetLog()
        for file in f.dumps { unlink(f.root + "/PostgreSQL/" + file) }
        let alias = shell == .fish ? "alias claude 'claude --verbose'" : "alias claude='claude --verbose'"
        let set = shell == .fish ? "set -gx CDB_SESSION_COMMANDS other" : "CDB_SESSION_COMMANDS=other"
        let script = [shell == .fish ? "set -gx PATH \(hidden) $PATH" : "export \(onPath)", alias, shell.source(), set, shell.source(), "eval \"claude three\""].joined(separator: "\n")
        let out = try run(shell, script, f)
        #expect(f.calls == "arg:--verbose\narg:three\n", "\(shell): unwrapped: \(f.calls) \(out.stderr)")
        #expect(!out.stderr.contains("=== Pre-Session"))
    }

    @Test("outside an enabled repository the wrapped command starts no process besides itself", arguments: Shell.allCases)
    func noProcessOutsideEnabled(_ shell: Shell) throws {
        let f = try SessionFixture(database: false)
        defer { f.remove() }
        let outside = try Harness.temporaryDirectory("plain")
        defer { Harness.remove(outside) }
        func processes(_ script: String, in directory: String) throws -> Int {
            let trace = f.bin + "/trace"
            let argv = ["strace", "-f", "-qq", "-e", "trace=fork,vfork,clone,clone3,execve", "-o", trace] + shell.interactive(script)
            _ = try Harness.run(argv[0], Array(argv.dropFirst()), environment: f.environment, directory: directory)
            let text = try String(contentsOfFile: trace, encoding: .utf8)
            return text.split(separator: "\n").filter { ($0.contains("clone") || $0.contains("fork") || $0.contains("execve(")) && !$0.contains("resumed>") }.count  // strace -f splits a call that another process interrupts into two lines
        }
        // `; true`: a shell runs a last plain command with exec, without a fork; not so a function.
        // A shell may start a helper of its own now and then (fish does, under load): the
        // fewest of three runs is what the script itself starts.
        let plain = try (0..<3).map { _ in try processes("claude x; true", in: outside) }.min()!
        let wrapped = try (0..<3).map { _ in try processes("\(shell.source())\nclaude x; true", in: outside) }.min()!
        #expect(wrapped == plain, "\(shell): \(wrapped) process calls with the hook, \(plain) without")
        #expect(!f.calls.contains("backup-before") && f.dumps.isEmpty)
        // In the enabled repository the backup does run.
        let inside = try processes("\(shell.source())\nclaude x; true", in: f.repo.path)
        #expect(inside > plain, "\(shell): the backup should have run in the enabled repository")
    }

    @Test("sourcing the hook starts no process", arguments: Shell.allCases)
    func noProcessWhileSourcing(_ shell: Shell) throws {
        let f = try SessionFixture(database: false)
        defer { f.remove() }
        func forks(_ script: String) throws -> Int {
            let trace = f.bin + "/trace"
            let argv = ["strace", "-f", "-qq", "-e", "trace=fork,vfork,clone,clone3,execve", "-o", trace] + shell.interactive(script)
            _ = try Harness.run(argv[0], Array(argv.dropFirst()), environment: f.environment, directory: f.repo.path)
            let text = try String(contentsOfFile: trace, encoding: .utf8)
            return text.split(separator: "\n").filter { ($0.contains("clone") || $0.contains("fork") || $0.contains("execve(")) && !$0.contains("resumed>") }.count  // strace -f splits a call that another process interrupts into two lines
        }
        let baseline = try forks("true")
        let sourced = try forks("\(shell.source()); \(shell.source()); true")
        #expect(sourced == baseline, "\(shell): \(sourced) process calls when sourcing, \(baseline) without")
    }
}

/// TAB completion in real shells under tmux.
@Suite("completions in real shells", .serialized)
struct CompletionTests {
    /// The tmux server outlives the client and would hold its output pipes open: start it with
    /// none of ours (then capture-pane reads the screen).
    func tmux(_ args: [String]) throws -> Harness.Output {
        if args.first == "new-session" {
            // Close every inherited descriptor too: pipes of other tests running at the same time leak in.
            let script = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null; exec tmux "$@" </dev/null >/dev/null 2>&1"#
            return try Harness.run("bash", ["-c", script, "bash", "-L", socket] + args)
        }
        return try Harness.run("tmux", ["-L", socket] + args)
    }
    let socket = "cdb-test-\(UUID().uuidString.prefix(6))"

    @Test("cdb-prune --<TAB> offers the flags", arguments: ["bash", "zsh", "fish"])
    func tab(_ shell: String) throws {
        let completions = Harness.packageRoot + "/completions"
        let setup: String
        switch shell {
        case "bash": setup = "source \(completions)/bash/cdb-prune"
        case "zsh": setup = "fpath=(\(completions)/zsh $fpath); autoload -U compinit; compinit -u"
        default: setup = "source \(completions)/fish/cdb-prune.fish"
        }
        let command = ["bash": "bash --norc --noprofile", "zsh": "zsh -f", "fish": "fish --no-config"][shell]!
        let session = "s\(shell)"
        #expect(try tmux(["new-session", "-d", "-s", session, "-x", "200", "-y", "50",
                          "env PATH=\(Harness.binDir):\(Harness.environment["PATH"] ?? "") TERM=xterm \(command)"]).status == 0)
        defer { _ = try? tmux(["kill-server"]) }
        // Waits for what the screen shows, not for a time: the setup ran once "READY" is printed
        // (typed as READ""Y, so that the typed line itself does not match).
        _ = try tmux(["send-keys", "-t", session, setup + "; echo READ\"\"Y", "Enter"])
        try waitFor(seconds: 20) {
            try tmux(["capture-pane", "-p", "-t", session]).stdout.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == "READY" }
        }
        _ = try tmux(["send-keys", "-t", session, "clear", "Enter"])
        _ = try tmux(["send-keys", "-t", session, "cdb-prune --keep-", "Tab", "Tab"])
        var screen = ""
        for _ in 0..<30 {
            usleep(200_000)
            screen = try tmux(["capture-pane", "-p", "-t", session]).stdout
            if screen.contains("--keep-daily") && screen.contains("--keep-weekly") { break }
        }
        #expect(screen.contains("--keep-daily") && screen.contains("--keep-weekly") && screen.contains("--keep-monthly"),
                "\(shell) screen:\n\(screen)")
    }
}

/// Serialized: --uninstall drops the restore check's line from this user's crontab, which the
/// --schedule test reads (run side by side, one removed the other's line).
@Suite("install.sh", .serialized)
struct InstallTests {
    @Test("installs into a prefix and HOME, the programs run from there, --uninstall leaves nothing behind")
    func installAndUninstall() throws {
        let base = try Harness.temporaryDirectory("install")
        defer { Harness.remove(base) }
        let prefix = base + "/prefix", home = base + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let env: [String: String?] = ["HOME": home]
        for _ in 0..<2 {  // idempotent
            let out = try Harness.run(Harness.packageRoot + "/install.sh", ["--prefix", prefix, "--no-deps", "--from", Harness.binDir], environment: env)
            #expect(out.status == 0, "\(out.stderr)")
            #expect(out.stderr.contains("source \(prefix)/share/cdb/hooks/cdb.bash"))
        }
        for program in Harness.programs {
            let out = try Harness.run(prefix + "/bin/" + program, ["--version"])
            #expect(out.status == 0 && out.stdout.hasPrefix("0."))
        }
        let hook = try String(contentsOfFile: prefix + "/share/cdb/hooks/cdb.bash", encoding: .utf8)
        #expect(hook.contains("__cdb_pre_session=\"\(prefix)/bin/cdb-pre-session\""))
        #expect(FileManager.default.fileExists(atPath: prefix + "/share/bash-completion/completions/cdb-prune"))
        #expect(FileManager.default.fileExists(atPath: prefix + "/share/zsh/site-functions/_cdb-prune"))
        let uninstall = try Harness.run(Harness.packageRoot + "/install.sh", ["--uninstall", "--prefix", prefix], environment: env)
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        let left = try Harness.run("find", [base, "-mindepth", "1"]).stdout.split(separator: "\n").map(String.init)
        #expect(left == [home], "left behind: \(left)")
    }

    @Test("--schedule: the weekly restore check as systemd user units that systemd-analyze verify accepts, active through cron where no user manager runs; --uninstall removes both")
    func schedule() throws {
        let base = try Harness.temporaryDirectory("install-schedule")
        defer { Harness.remove(base) }
        let prefix = base + "/prefix", home = base + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let env: [String: String?] = ["HOME": home, "XDG_CONFIG_HOME": nil, "XDG_STATE_HOME": nil]
        // This user's real crontab is put back as it was.
        let before = try Harness.run("crontab", ["-l"])
        defer {
            if before.status == 0 { _ = try? Harness.run("crontab", ["-"], stdin: Data(before.stdout.utf8)) } else { _ = try? Harness.run("crontab", ["-r"]) }
        }
        let bad = try Harness.run(Harness.packageRoot + "/install.sh", ["--prefix", prefix, "--no-deps", "--from", Harness.binDir, "--schedule=hourly"], environment: env)
        #expect(bad.status == 64 && bad.stderr.contains("weekly"), "\(bad.stderr)")
        let out = try Harness.run(Harness.packageRoot + "/install.sh", ["--prefix", prefix, "--no-deps", "--from", Harness.binDir, "--schedule"], environment: env)
        #expect(out.status == 0, "\(out.stderr)")
        let units = home + "/.config/systemd/user/cdb-restore-check"
        let service = try String(contentsOfFile: units + ".service", encoding: .utf8)
        let timer = try String(contentsOfFile: units + ".timer", encoding: .utf8)
        #expect(service.contains("ExecStart=\(prefix)/bin/cdb-restore --check --latest"), "\(service)")
        #expect(timer.contains("OnCalendar=Sun *-*-* 03:00:00") && timer.contains("Persistent=true"), "\(timer)")
        let verified = try Harness.run("systemd-analyze", ["verify", units + ".timer", units + ".service"])
        #expect(verified.status == 0, "systemd-analyze verify: \(verified.stderr)")
        let crontab = try Harness.run("crontab", ["-l"]).stdout
        if out.stderr.contains("crontab entry") {
            #expect(crontab.contains("0 3 * * 0 PATH=\(prefix)/bin") && crontab.contains("cdb-restore --check --latest"), "\(crontab)")
            #expect(crontab.components(separatedBy: "cdb-restore-check").count == 2, "one line: \(crontab)")
        } else {
            #expect(out.stderr.contains("systemd user timer"), "\(out.stderr)")
        }
        let uninstall = try Harness.run(Harness.packageRoot + "/install.sh", ["--uninstall", "--prefix", prefix], environment: env)
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(!((try? Harness.run("crontab", ["-l"]))?.stdout ?? "").contains("cdb-restore-check"))
        let left = try Harness.run("find", [base, "-mindepth", "1"]).stdout.split(separator: "\n").map(String.init)
        #expect(left == [home], "left behind: \(left)")
    }
}
