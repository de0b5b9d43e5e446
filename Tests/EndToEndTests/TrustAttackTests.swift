import Foundation
import Testing

/// A user's home with backups of its own, and a cloned repository written by an attacker: its
/// `.env` redirects the backup root into the work tree and sets retention to nothing, a
/// committed link `backups/Repository/backup_log.txt` points at the user's `.bashrc`, and its
/// branch is named to run a command if anything ever appends it to a shell file.
struct HostileClone {
    let home: String
    let repo: TestRepo
    let bin: String
    let database: String
    let userRoot: String
    let bashrc: String
    let evil: String
    let bashrcText = "# the user's own bashrc\nexport PS1='$ '\n"
    let branch = "x;$(touch${IFS}PWNED)"

    init() throws {
        home = try Harness.temporaryDirectory("home")
        userRoot = home + "/Claire_Backups"
        bashrc = home + "/.bashrc"
        try bashrcText.write(toFile: bashrc, atomically: false, encoding: .utf8)
        evil = try Harness.temporaryDirectory("evil")
        repo = try TestRepo("clone")
        try repo.write("strategy.py", "BUY = True\n")
        try repo.write(".env", "CDB_BACKUP_ROOT=backups\nCDB_RETENTION_DAYS=0\nCDB_KEEP_LAST=0\nCDB_REQUIRED_TABLES=nothing\n")
        try FileManager.default.createDirectory(atPath: repo.path + "/backups/Repository", withIntermediateDirectories: true)
        try repo.link("backups/Repository/backup_log.txt", to: bashrc)
        try repo.link("backups/PostgreSQL", to: evil)
        try repo.commitAll("innocent")
        try repo.git("checkout", "-q", "-b", branch)
        database = try PG.tradingDatabase()
        bin = try Harness.temporaryDirectory("fakebin")
        try "#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; done\nexit 7\n".write(toFile: bin + "/claude", atomically: false, encoding: .utf8)
        chmod(bin + "/claude", 0o755)
        // The user's own backups, made in the last days (retention 0 would delete them).
        try FileManager.default.createDirectory(atPath: userRoot + "/PostgreSQL", withIntermediateDirectories: true)
        for day in 1...3 {
            let date = Date().addingTimeInterval(Double(-day) * 86_400)
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd_HHmm"
            let path = userRoot + "/PostgreSQL/cdb_backup_\(f.string(from: date)).sql"
            try "-- the user's backup \(day)\n".write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    var environment: [String: String?] {
        ["HOME": home, "CDB_BACKUP_ROOT": nil, "CDB_RETENTION_DAYS": nil, "CDB_KEEP_LAST": nil, "PGDATABASE": database,
         "PATH": bin + ":" + Harness.binDir + ":" + (Harness.environment["PATH"] ?? ""), "NO_COLOR": "1",
         "CDB_SESSION_COMMANDS": nil, "CDB_HOOKS": nil, "XDG_CONFIG_HOME": home + "/.config"]
    }

    var userBackups: [String] { Harness.files(in: userRoot + "/PostgreSQL").filter { $0.hasSuffix(".sql") } }

    /// Everything under a folder, links included, as relative paths.
    func tree(_ folder: String) -> [String] {
        var out: [String] = []
        if let e = FileManager.default.enumerator(atPath: folder) { for case let p as String in e where !p.hasPrefix(".git/") && p != ".git" { out.append(p) } }
        return out.sorted()
    }

    func remove() {
        repo.remove()
        Harness.remove(home)
        Harness.remove(bin)
        Harness.remove(evil)
        PG.dropDatabase(database)
    }
}

@Suite("attacks: a repository is not the user", .enabled(if: PG.enabled), .serialized)
struct TrustAttackTests {
    @Test("a cloned repository that is not enabled: the hook starts the command and cdb does nothing at all", arguments: ["bash", "zsh", "fish"])
    func notEnabled(_ shell: String) throws {
        let h = try HostileClone()
        defer { h.remove() }
        let before = h.tree(h.repo.path)
        let hook = Harness.packageRoot + "/hooks/cdb." + shell
        let argv: [String] = switch shell {
        case "bash": ["bash", "--norc", "--noprofile", "-i", "-c", "source '\(hook)'\nclaude go; echo \"status=$?\""]
        case "zsh": ["zsh", "-f", "-i", "-c", "source '\(hook)'\nclaude go; echo \"status=$?\""]
        default: ["fish", "--no-config", "-i", "-c", "source '\(hook)'\nclaude go; echo \"status=$status\""]
        }
        let out = try Harness.run(argv[0], Array(argv.dropFirst()), environment: h.environment, directory: h.repo.path)
        #expect(out.stdout.contains("arg:go") && out.stdout.contains("status=7"), "\(shell): \(out.stdout) \(out.stderr)")
        #expect(!out.stderr.contains("Pre-Session") && !out.stderr.contains("cdb"), "\(shell) printed: \(out.stderr)")
        #expect(h.tree(h.repo.path) == before, "nothing may appear in the work tree")
        #expect(Harness.files(in: h.evil).isEmpty)
        #expect(try String(contentsOfFile: h.bashrc, encoding: .utf8) == h.bashrcText)
        #expect(h.userBackups.count == 3, "the user's backups are untouched")
        #expect(!FileManager.default.fileExists(atPath: h.userRoot + "/Repository"))

        // Run by hand there, cdb-pre-session refuses and says how to enable.
        let direct = try Harness.cdb("cdb-pre-session", [], environment: h.environment, directory: h.repo.path)
        #expect(direct.status == 78, "\(direct.stderr)")
        #expect(direct.stderr.contains("not enabled") && direct.stderr.contains("cdb-pre-session enable"))
        #expect(h.tree(h.repo.path) == before && h.userBackups.count == 3)
        let status = try Harness.cdb("cdb-pre-session", ["status"], environment: h.environment, directory: h.repo.path)
        #expect(status.status == 1 && status.stdout.hasPrefix("not enabled "), "\(status.stdout)")
    }

    @Test("enabled, the repository still cannot steer cdb: its CDB_* lines are ignored with a warning, links in it are never followed, its branch name reaches no file raw")
    func enabledButUntrusted() throws {
        let h = try HostileClone()
        defer { h.remove() }
        try Harness.enable(h.repo.path, environment: h.environment)
        let status = try Harness.cdb("cdb-pre-session", ["status"], environment: h.environment, directory: h.repo.path)
        #expect(status.status == 0 && status.stdout.hasPrefix("enabled "), "\(status.stdout) \(status.stderr)")
        let before = h.tree(h.repo.path)
        let out = try Harness.cdb("cdb-pre-session", [], environment: h.environment, directory: h.repo.path)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("CDB_BACKUP_ROOT is ignored in a repository's .env") && out.stderr.contains(h.home + "/.config/cdb/config"))
        #expect(out.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix(h.userRoot + "/") }, "backups go to the user's root: \(out.stdout)")
        #expect(h.userBackups.count == 4, "three old ones kept (retention from the .env ignored), one new")
        #expect(h.tree(h.repo.path) == before, "nothing written into the work tree")
        #expect(Harness.files(in: h.evil).isEmpty)
        #expect(try String(contentsOfFile: h.bashrc, encoding: .utf8) == h.bashrcText)
        // The branch name is recorded, but as text: no line of any log, metadata or message runs.
        let log = try String(contentsOfFile: h.userRoot + "/Repository/backup_log.txt", encoding: .utf8)
        #expect(log.contains("Branch: \(h.branch)"))
        let zip = h.userRoot + "/Repository/" + Harness.files(in: h.userRoot + "/Repository").first { $0.hasSuffix(".zip") }!
        let metadata = try Harness.run("unzip", ["-p", zip, "git_metadata.txt"]).stdout
        #expect(metadata.contains("Branch: \(h.branch)\n"))
        #expect(!FileManager.default.fileExists(atPath: h.repo.path + "/PWNED") && !FileManager.default.fileExists(atPath: h.home + "/PWNED"))
    }

    @Test("the backup root must be absolute, outside every work tree, and not /, $HOME or a system folder: 78 naming the setting")
    func backupRootRefusals() throws {
        let h = try HostileClone()
        defer { h.remove() }
        try Harness.enable(h.repo.path, environment: h.environment)
        let cases: [(String, String)] = [
            ("backups", "not an absolute path"), (h.repo.path + "/backups", "inside the git work tree"),
            (h.repo.path + "/deeper/new/folder", "inside the git work tree"), (h.home, "home folder"),
            ("/etc", "system folder"), ("/usr/local/backups", "inside a system folder"), ("/", "system folder"),
        ]
        let before = h.tree(h.repo.path)
        for program in ["cdb-pre-session", "cdb-pg-dump", "cdb-repo-snap", "cdb-prune"] {
            for (root, why) in cases {
                for (args, env) in [(["--backup-root", root], [String: String?]()), ([], ["CDB_BACKUP_ROOT": root])] {
                    let out = try Harness.cdb(program, args, environment: h.environment.merging(env) { $1 }, directory: h.repo.path)
                    let setting = args.isEmpty ? "environment variable CDB_BACKUP_ROOT" : "--backup-root"
                    #expect(out.status == 78 && out.stderr.contains(why) && out.stderr.contains(setting),
                            "\(program) \(root) via \(setting): \(out.status) \(out.stderr)")
                }
            }
        }
        // The same from the user's config file names the file.
        try FileManager.default.createDirectory(atPath: h.home + "/.config/cdb", withIntermediateDirectories: true)
        try "CDB_BACKUP_ROOT=\(h.repo.path)/b\n".write(toFile: h.home + "/.config/cdb/config", atomically: false, encoding: .utf8)
        let config = try Harness.cdb("cdb-pg-dump", [], environment: h.environment, directory: h.repo.path)
        #expect(config.status == 78 && config.stderr.contains("CDB_BACKUP_ROOT in \(h.home)/.config/cdb/config"), "\(config.stderr)")
        #expect(h.tree(h.repo.path) == before && h.userBackups.count == 3)
    }

    @Test("a link where cdb appends, locks or marks is never followed: the log, the lock and the session marker")
    func linksAreNotFollowed() throws {
        let h = try HostileClone()
        defer { h.remove() }
        try Harness.enable(h.repo.path, environment: h.environment)
        let victim = h.home + "/victim"
        let text = "do not touch\n"
        try text.write(toFile: victim, atomically: false, encoding: .utf8)
        // The log: the backup is still made, the log is not written through the link.
        try FileManager.default.createSymbolicLink(atPath: h.userRoot + "/PostgreSQL/backup_log.txt", withDestinationPath: victim)
        let dump = try Harness.cdb("cdb-pg-dump", [], environment: h.environment, directory: h.repo.path)
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stderr.contains("could not write the backup log") && dump.stderr.contains("symbolic link"), "\(dump.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == text)
        // The lock: 73, nothing written.
        unlink(h.userRoot + "/.lock")
        try FileManager.default.createSymbolicLink(atPath: h.userRoot + "/.lock", withDestinationPath: victim)
        for program in ["cdb-pg-dump", "cdb-repo-snap", "cdb-prune", "cdb-pre-session"] {
            let out = try Harness.cdb(program, [], environment: h.environment, directory: h.repo.path)
            let expected: Int32 = 73
            #expect(out.status == expected && out.stderr.contains(".lock") && out.stderr.contains("symbolic link"), "\(program): \(out.status) \(out.stderr)")
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == text)
        // The session marker: a planted link is not touched through.
        unlink(h.userRoot + "/.lock")
        let old = Date(timeIntervalSince1970: 1_000_000_000)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: victim)
        let markers = Harness.files(in: h.userRoot).filter { $0.hasPrefix(".last-session-") }
        #expect(markers.isEmpty)
        let first = try Harness.cdb("cdb-pre-session", ["--skip-db"], environment: h.environment, directory: h.repo.path)
        #expect(first.status == 0, "\(first.stderr)")
        let marker = Harness.files(in: h.userRoot).first { $0.hasPrefix(".last-session-") }!
        unlink(h.userRoot + "/" + marker)
        try FileManager.default.createSymbolicLink(atPath: h.userRoot + "/" + marker, withDestinationPath: victim)
        _ = try Harness.cdb("cdb-pre-session", ["--skip-db"], environment: h.environment, directory: h.repo.path)
        let modified = try FileManager.default.attributesOfItem(atPath: victim)[.modificationDate] as! Date
        #expect(modified == old, "the marker link was followed")
    }

    @Test("a committed .env that links to the user's secret file is never followed by --include-env")
    func envLinkIsNotFollowed() throws {
        let h = try HostileClone()
        defer { h.remove() }
        let secret = "-----BEGIN OPENSSH PRIVATE KEY----- \(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: h.home + "/.ssh", withIntermediateDirectories: true)
        try secret.write(toFile: h.home + "/.ssh/id_ed25519", atomically: false, encoding: .utf8)
        unlink(h.repo.path + "/.env")
        try h.repo.link(".env", to: h.home + "/.ssh/id_ed25519")
        try h.repo.commitAll("a link named .env")
        let out = try Harness.cdb("cdb-repo-snap", ["--include-env", "--force"], environment: h.environment, directory: h.repo.path)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("--include-env: the repository's .env was not added: it is a symbolic link"), "\(out.stderr)")
        let zip = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!(try Harness.run("unzip", ["-l", zip]).stdout.contains(".env.backup")))
        // The link itself is in the committed tree (as git keeps it); the key's bytes are nowhere.
        let all = try Harness.run("sh", ["-c", "unzip -p \"$1\" repository.zip > \"$1.inner\" && unzip -p \"$1\"; unzip -p \"$1.inner\"", "sh", zip]).stdoutData
        #expect(all.range(of: Data(secret.utf8)) == nil, "the key's content is in the snapshot")
        unlink(zip + ".inner")
    }

    @Test("escape sequences and newlines from a repository reach no terminal, log or metadata raw")
    func escapes() throws {
        let h = try HostileClone()
        defer { h.remove() }
        try Harness.enable(h.repo.path, environment: h.environment)
        let message = "fix\u{1B}]0;owned\u{07}\u{1B}[2J\nCommit: 0000000000000000000000000000000000000000"
        try h.repo.write("strategy.py", "BUY = False\n")
        try h.repo.gitArgs(["commit", "-q", "-am", message, "--author", "Mallory\u{1B}[31m <m@example.com>"])
        let out = try Harness.cdb("cdb-repo-snap", ["--verbose"], environment: h.environment, directory: h.repo.path)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(!out.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "raw control characters on stderr")
        let log = try Data(contentsOf: URL(fileURLWithPath: h.userRoot + "/Repository/backup_log.txt"))
        #expect(!log.contains(0x1B) && !log.contains(0x07))
        let zip = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let metadata = try Harness.run("unzip", ["-p", zip, "git_metadata.txt"]).stdoutData
        #expect(!metadata.contains(0x1B) && !metadata.contains(0x07))
        let lines = String(decoding: metadata, as: UTF8.self).split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("Commit: ") }.count == 1, "a forged Commit line: \(lines)")
        #expect(lines.contains { $0.hasPrefix("Message: fix\\x1b]0;owned\\x07") })
        // JSON keeps the exact text (JSON escapes it).
        let json = try Harness.run("unzip", ["-p", zip, "git_metadata.json"]).stdoutData
        let object = try JSONSerialization.jsonObject(with: json) as! [String: Any]
        #expect((object["subject"] as? String)?.hasPrefix("fix\u{1B}]0;owned\u{07}") == true, "JSON keeps the exact text")
    }

    @Test("a password that is a short common word never mangles a message or the exit code")
    func wordPasswords() throws {
        let role = try PasswordRole(password: "correct-\(UUID().uuidString.prefix(6))")
        let database = try PG.tradingDatabase()
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { PG.dropDatabase(database); Harness.remove(root) }
        for wrong in ["t", "e", "failed", "password", "user", "authentication"] {
            let out = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "-d", database, "-U", role.name],
                                      environment: ["PGPASSWORD": wrong])
            #expect(out.status == 78, "password \(wrong): \(out.status) \(out.stderr)")
            #expect(out.stderr.contains("password authentication failed for user \"\(role.name)\""), "password \(wrong): \(out.stderr)")
            #expect(!out.stderr.contains("***"), "password \(wrong): nothing was blindly replaced: \(out.stderr)")
        }
    }
}
