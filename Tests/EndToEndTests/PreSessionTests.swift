import CDBKit
import Foundation
import Testing

@Suite("cdb-pre-session", .enabled(if: PG.enabled), .serialized)
struct PreSessionTests {
    @Test("dumps, snapshots and prunes with the banner; stdout gets the paths")
    func banner() throws {
        let f = try SessionFixture()
        defer { f.remove() }
        let out = try Harness.cdb("cdb-pre-session", [], environment: f.environment, directory: f.repo.path)
        #expect(out.status == 0, "\(out.stderr)")
        for needle in ["=== Pre-Session: Automatic Backups ===", "[1/2] PostgreSQL Backup...", "[OK] PostgreSQL: ",
                       "[2/2] Repository Backup...", "[OK] Repository: ", "=== Backups Complete ===", "Saved: \(f.root)/"] {
            #expect(out.stderr.contains(needle), "missing \(needle) in:\n\(out.stderr)")
        }
        let paths = out.stdout.split(separator: "\n").map(String.init)
        #expect(paths.count == 2 && paths.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        let json = try Harness.cdb("cdb-pre-session", ["--json", "--skip-repo"], environment: f.environment, directory: f.repo.path)
        #expect(json.status == 0)
        #expect(json.stdout.split(separator: "\n").count == 2, "postgres and prune: \(json.stdout)")
        #expect(json.stderr.contains("[1/1] PostgreSQL Backup..."))
    }

    @Test("the banner tells the last restore check: a warning when it never ran, failed or is older than 8 days")
    func lastRestoreCheck() throws {
        let f = try SessionFixture()
        defer { f.remove() }
        func session() throws -> String {
            let out = try Harness.cdb("cdb-pre-session", ["--skip-repo"], environment: f.environment, directory: f.repo.path)
            #expect(out.status == 0, "\(out.stderr)")
            return out.stderr
        }
        #expect(try session().contains("[WARN] Last restore check: never"))
        // A real check, then the banner says OK without a warning.
        let check = try Harness.cdb("cdb-restore", ["--check", "--latest"], environment: f.environment)
        #expect(check.status == 0, "\(check.stderr)")
        let fresh = try session()
        #expect(fresh.contains("Last restore check: OK 0 h ago") && !fresh.contains("[WARN] Last restore check"), "\(fresh)")
        // The last check of each kind is also in check_state.txt: a verify adds its own entry and
        // leaves the restore check's.
        let verify = try Harness.cdb("cdb-verify", ["--latest"], environment: f.environment)
        #expect(verify.status == 0, "\(verify.stderr)")
        let state = try String(contentsOfFile: f.root + "/check_state.txt", encoding: .utf8)
        #expect(state.components(separatedBy: "] Restore check OK\n  Dump: cdb_backup_").count == 2 && state.components(separatedBy: "] Verify OK\n").count == 2
                && state.contains("  Duration: "), "\(state)")
        let log = try String(contentsOfFile: f.root + "/check_log.txt", encoding: .utf8)
        #expect(log.components(separatedBy: "] Verify OK").count == 2 && log.contains("] Restore check OK"), "\(log)")
        // Older entries, as cdb-restore writes them: stale, then failed.
        func entry(daysAgo: Int, _ title: String) -> String {
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd HH:mm:ss"
            return "[\(f.string(from: Date().addingTimeInterval(-Double(daysAgo) * 86_400)))] \(title)\n  Dump: cdb_backup_2026-01-01_0000.sql\n"
        }
        try entry(daysAgo: 10, "Restore check OK").write(toFile: f.root + "/check_state.txt", atomically: false, encoding: .utf8)
        let stale = try session()
        #expect(stale.contains("[WARN] Last restore check: OK 10 days ago — older than a week"), "\(stale)")
        try entry(daysAgo: 3, "Restore check FAILED").write(toFile: f.root + "/check_state.txt", atomically: false, encoding: .utf8)
        let failed = try session()
        #expect(failed.contains("[WARN] Last restore check: FAILED 3 days ago (cdb_backup_2026-01-01_0000.sql)"), "\(failed)")
        // Without the state file (an older root), the log tells.
        unlink(f.root + "/check_state.txt")
        try entry(daysAgo: 10, "Restore check OK").write(toFile: f.root + "/check_log.txt", atomically: false, encoding: .utf8)
        #expect(try session().contains("[WARN] Last restore check: OK 10 days ago"))
    }

    @Test("database down: the snapshot is still made, a failure line, exit 69")
    func databaseDown() throws {
        let f = try SessionFixture(database: false)
        defer { f.remove() }
        var env = f.environment
        env["PGHOST"] = "/nonexistent-socket-dir"
        let out = try Harness.cdb("cdb-pre-session", [], environment: env, directory: f.repo.path)
        #expect(out.status == 69)
        #expect(out.stderr.contains("[FAIL] PostgreSQL: database unreachable at /nonexistent-socket-dir"), "\(out.stderr)")
        #expect(out.stderr.contains("[OK] Repository: "))
        #expect(out.stderr.contains("=== Backups Finished With Errors ==="))
        #expect(f.snapshots.count == 1)
        // On a terminal the glyphs are ✓ and ✗.
        let tty = try Harness.run("script", ["-qec", "\(Harness.binDir)/cdb-pre-session", "/dev/null"],
                                  environment: env.merging(["NO_COLOR": nil, "TERM": "xterm"]) { $1 }, directory: f.repo.path)
        #expect(tty.stdout.contains("✗") && tty.stdout.contains("✓"), "\(tty.stdout)")
    }

    @Test("a second run waits for the lock, then exits 75 naming the holder; --min-interval skips recent runs")
    func lockAndInterval() throws {
        let f = try SessionFixture()
        defer { f.remove() }
        let holder = try holdRootLock(f.root, shared: false, seconds: 3)
        defer { holder.terminate(); holder.waitUntilExit() }
        let blocked = try Harness.cdb("cdb-pre-session", ["--lock-wait", "1"], environment: f.environment, directory: f.repo.path)
        #expect(blocked.status == 75, "\(blocked.stderr)")
        #expect(blocked.stderr.contains("another cdb run holds"))
        holder.waitUntilExit()

        let first = try Harness.cdb("cdb-pre-session", ["--min-interval", "60"], environment: f.environment, directory: f.repo.path)
        #expect(first.status == 0)
        let second = try Harness.cdb("cdb-pre-session", ["--min-interval", "60"], environment: f.environment, directory: f.repo.path)
        #expect(second.status == 0)
        #expect(second.stderr.contains("skipping") && second.stdout.isEmpty, "\(second.stderr)")
        #expect(f.dumps.count == 1)
        var env = f.environment
        env["CDB_SESSION_INTERVAL"] = "0"
        let third = try Harness.cdb("cdb-pre-session", [], environment: env, directory: f.repo.path)
        #expect(third.status == 0 && f.dumps.count == 2)
    }

    @Test("the steps' options per run: --dbname/-d over PGDATABASE, --require-table, --include-env, --no-untracked")
    func perRunOptions() throws {
        let f = try SessionFixture()
        defer { f.remove() }
        var env = f.environment
        env["PGDATABASE"] = "no_such_database_presession"
        try f.repo.write(".env", "API_KEY=s3cr3t\n")
        try f.repo.write(".gitignore", ".env\n")
        try f.repo.commitAll("ignore .env")
        try f.repo.write("notes.txt", "untracked work\n")
        let out = try Harness.cdb("cdb-pre-session", ["-d", f.database!, "--include-env", "--no-untracked", "--require-table", "trades"],
                                  environment: env, directory: f.repo.path)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("[WARN] Repository: the snapshot holds the repository's .env (secrets) in clear"), "\(out.stderr)")
        let zip = f.root + "/Repository/" + (try #require(f.snapshots.first))
        let members = try Harness.run("unzip", ["-Z1", zip]).stdout
        #expect(members.contains(".env.backup"), "\(members)")
        let patch = try Harness.run("unzip", ["-p", zip, "uncommitted.patch"]).stdout
        #expect(!patch.contains("untracked work"), "--no-untracked: \(patch)")
        let dump = f.root + "/PostgreSQL/" + (try #require(f.dumps.first))
        #expect(try String(contentsOfFile: dump, encoding: .utf8).contains("CREATE TABLE public.trades"))

        // --require-table names a table the database lacks: 65, the dump kept, the snapshot made.
        let missing = try Harness.cdb("cdb-pre-session", ["--dbname", f.database!, "--require-table", "no_such_table", "--skip-repo"],
                                      environment: env, directory: f.repo.path)
        #expect(missing.status == 65 && missing.stderr.contains("no_such_table"), "\(missing.stderr)")
        // Without --dbname the environment's database counts: it does not exist.
        let wrong = try Harness.cdb("cdb-pre-session", ["--skip-repo"], environment: env, directory: f.repo.path)
        #expect(wrong.status != 0 && wrong.stderr.contains("no_such_database_presession"), "\(wrong.stderr)")
    }

    @Test("init prints the hook files with the program's path")
    func initPrintsHooks() throws {
        for (shell, file) in [("bash", "cdb.bash"), ("zsh", "cdb.zsh"), ("fish", "cdb.fish")] {
            let out = try Harness.cdb("cdb-pre-session", ["init", shell])
            #expect(out.status == 0)
            let source = try String(contentsOfFile: Harness.packageRoot + "/hooks/" + file, encoding: .utf8)
            let program = URL(fileURLWithPath: Harness.binDir + "/cdb-pre-session").resolvingSymlinksInPath().path
            #expect(out.stdout.replacingOccurrences(of: program, with: "@CDB_PRE_SESSION@") == source)
        }
    }
}

@Suite("generated files are fresh")
struct GeneratedFilesTests {
    @Test("the embedded hook texts equal hooks/ (run scripts/generate.sh)")
    func embedded() throws {
        for (text, file) in [(EmbeddedFiles.postCommit, "post-commit"), (EmbeddedFiles.bash, "cdb.bash"),
                             (EmbeddedFiles.zsh, "cdb.zsh"), (EmbeddedFiles.fish, "cdb.fish")] {
            #expect(text == (try String(contentsOfFile: Harness.packageRoot + "/hooks/" + file, encoding: .utf8)), "\(file) is stale")
        }
    }

    @Test("every mutation in scripts/mutants.sh still finds its original text exactly once (the code it guards moved otherwise)")
    func mutationsFollowTheCode() throws {
        let script = try String(contentsOfFile: Harness.packageRoot + "/scripts/mutants.sh", encoding: .utf8)
        guard let start = script.range(of: "cat >\"$work/mutations.txt\" <<'EOF'\n"),
              let end = script.range(of: "\nEOF\n", range: start.upperBound..<script.endIndex) else {
            Issue.record("no mutation list in scripts/mutants.sh")
            return
        }
        var count = 0
        for line in script[start.upperBound..<end.lowerBound].split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.replacingOccurrences(of: "\\|", with: "\u{0}").split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.replacingOccurrences(of: "\u{0}", with: "|").replacingOccurrences(of: "\\&", with: "&").replacingOccurrences(of: "\\n", with: "\n") }
            guard fields.count == 5 else { Issue.record("malformed mutation: \(line)"); continue }
            let source = try String(contentsOfFile: Harness.packageRoot + "/" + fields[1], encoding: .utf8)
            #expect(source.components(separatedBy: fields[2]).count - 1 == 1, "mutation \(fields[0]): \(fields[1]) must hold its original text once")
            count += 1
        }
        #expect(count >= 30)
    }

    @Test("completions/ equals what the built programs generate (run scripts/generate.sh)")
    func completions() throws {
        for program in Harness.programs {
            for (shell, path) in [("bash", "bash/\(program)"), ("zsh", "zsh/_\(program)"), ("fish", "fish/\(program).fish")] {
                let generated = try Harness.cdb(program, ["--generate-completion-script", shell])
                let committed = try String(contentsOfFile: Harness.packageRoot + "/completions/" + path, encoding: .utf8)
                #expect(generated.stdout == committed, "completions/\(path) is stale")
            }
        }
        // Path-valued flags complete paths, enumerations their values.
        let fish = try String(contentsOfFile: Harness.packageRoot + "/completions/fish/cdb-pg-dump.fish", encoding: .utf8)
        #expect(fish.contains("zstd") && fish.contains("gzip"))
        let bash = try String(contentsOfFile: Harness.packageRoot + "/completions/bash/cdb-prune", encoding: .utf8)
        #expect(bash.contains("--backup-root"))
    }
}
