import CDBKit
import Foundation
import Testing

/// Post-commit snapshots that store only what the commit added (increments on the newest full
/// snapshot's history bundle), judged by git itself.
@Suite("increments: post-commit snapshots with history")
struct IncrementTests {
    struct Setup {
        let repo: TestRepo
        let root: String
        var env: [String: String?] { ["CDB_BACKUP_ROOT": root] }

        init() throws {
            repo = try TestRepo("inc")
            for i in 0..<30 { try repo.write("src/module\(i).py", String(repeating: "value_\(i) = \(i)\n", count: 40)) }
            try repo.write("README.md", "trading\n")
            // Some incompressible weight, so that a full snapshot outweighs ten small increments
            // as a real repository does.
            var random = SeededRandom(seed: 1)
            try Data((0..<150_000).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: URL(fileURLWithPath: repo.path + "/model.bin"))
            try repo.commitAll("first")
            root = try Harness.temporaryDirectory("cdb-root")
        }

        @discardableResult
        func snap(_ extra: [String] = [], commit: String? = nil) throws -> String {
            let args = ["--force", "--incremental"] + (commit.map { ["--commit", $0] } ?? []) + extra
            let out = try Harness.cdb("cdb-repo-snap", args, environment: env, directory: repo.path)
            #expect(out.status == 0, "\(out.stderr)")
            return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// A change of a few lines, committed.
        func change(_ i: Int) throws -> String {
            try repo.write("src/module\(i % 30).py", String(repeating: "value = \(i)\n", count: 3) + "changed \(i)\n")
            try repo.write("notes/\(i).txt", "note \(i)\n")
            try repo.commitAll("change \(i)")
            return try repo.git("rev-parse", "HEAD")
        }

        /// `git archive` of `commit` in `repository`, as sha256.
        func archive(_ repository: String, _ commit: String) throws -> String {
            let out = try Harness.run("git", ["-C", repository, "archive", "--format=tar", commit])
            #expect(out.status == 0, "\(out.stderr)")
            return try Harness.sha256Bytes(out.stdoutData)
        }
    }

    @Test("a full snapshot, then ten commits as increments: each increment is small and verifies, and each of the ten commits restores from base + increment as git archive has it")
    func tenCommits() throws {
        let s = try Setup()
        defer { Harness.remove(s.repo.path); Harness.remove(s.root) }
        let full = try s.snap()
        #expect(!full.contains(".inc-") && full.hasSuffix(".zip"), "\(full)")
        let verified = try Harness.cdb("cdb-verify", [full], environment: s.env)
        #expect(verified.status == 0 && verified.stderr.contains("history of"), "\(verified.stderr)")
        // The history bundle opens with plain git.
        let dir = try Harness.temporaryDirectory("inc-check")
        defer { Harness.remove(dir) }
        _ = try Harness.run("unzip", ["-q", "-o", full, "repository.bundle", "-d", dir])
        let gitVerify = try Harness.run("git", ["bundle", "list-heads", dir + "/repository.bundle"])
        #expect(gitVerify.status == 0 && gitVerify.stdout.contains("HEAD"), "\(gitVerify.stderr)")
        let cloned = try Harness.run("git", ["clone", "-q", dir + "/repository.bundle", dir + "/clone"])
        #expect(cloned.status == 0, "\(cloned.stderr)")

        var commits: [String] = []
        for i in 0..<10 {
            let commit = try s.change(i)
            commits.append(commit)
            let path = try s.snap(commit: commit)
            #expect(path.contains(".inc-" + full.split(separator: "_").last!.prefix(7)), "commit \(i): \(path)")
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size < 20_000, "increment \(i) is \(size) bytes")
            let check = try Harness.cdb("cdb-verify", [path], environment: s.env)
            #expect(check.status == 0 && check.stderr.contains("increment"), "\(check.stderr)")
        }
        for (i, commit) in commits.enumerated() {
            let target = dir + "/restored-\(i)"
            let restored = try Harness.cdb("cdb-restore", ["--commit", String(commit.prefix(9)), target], environment: s.env)
            #expect(restored.status == 0, "commit \(i): \(restored.stderr)")
            #expect(try Harness.run("git", ["-C", target, "rev-parse", "HEAD"]).stdout.hasPrefix(commit), "commit \(i)")
            #expect(try s.archive(target, "HEAD") == s.archive(s.repo.path, commit), "commit \(i): the restored tree differs")
            #expect(try Harness.run("git", ["-C", target, "status", "--porcelain"]).stdout.isEmpty)
            #expect(try Harness.run("git", ["-C", target, "branch", "--show-current"]).stdout.hasPrefix("main"))
        }
    }

    @Test("history rewritten (an amended commit, a rebase) forces a full snapshot; so does a missing base")
    func rewrittenHistory() throws {
        let s = try Setup()
        defer { Harness.remove(s.repo.path); Harness.remove(s.root) }
        let full = try s.snap()
        _ = try s.change(1)
        #expect(try s.snap().contains(".inc-"))
        // Rewrite: amend the first commit's successor and rebase everything onto a new root.
        try s.repo.git("reset", "-q", "--hard", "HEAD~1")
        try s.repo.write("README.md", "rewritten\n")
        try s.repo.git("commit", "-q", "-a", "--amend", "-m", "first, rewritten")
        let rewritten = try s.snap()
        #expect(!rewritten.contains(".inc-"), "after a rewrite: \(rewritten)")
        _ = try s.change(2)
        let next = try s.snap()
        #expect(next.contains(".inc-" + rewritten.split(separator: "_").last!.prefix(7)), "builds on the new full snapshot: \(next)")
        // The base gone: the next commit is full again, and the orphaned increment fails verify.
        try FileManager.default.removeItem(atPath: rewritten)
        let orphan = try Harness.cdb("cdb-verify", [next], environment: s.env)
        #expect(orphan.status == 65 && orphan.stderr.contains("the full snapshot this increment builds on is missing"), "\(orphan.stderr)")
        let cannot = try Harness.cdb("cdb-restore", [next, s.root + "/nowhere"], environment: s.env)
        #expect(cannot.status == 66 && !FileManager.default.fileExists(atPath: s.root + "/nowhere"), "\(cannot.stderr)")
        _ = try s.change(3)
        #expect(!(try s.snap()).contains(".inc-"))
        _ = full
    }

    @Test("increments hold every commit since their base: once one grows past half the full snapshot, the next snapshot is full")
    func growthForcesFull() throws {
        let s = try Setup()
        defer { Harness.remove(s.repo.path); Harness.remove(s.root) }
        let full = try s.snap()
        let fullSize = (try FileManager.default.attributesOfItem(atPath: full)[.size] as? Int) ?? 0
        // Incompressible data worth most of the full snapshot.
        var random = SeededRandom(seed: 7)
        let noise = (0..<(fullSize * 2 / 3)).map { _ in UInt8.random(in: 0...255, using: &random) }
        try Data(noise).write(to: URL(fileURLWithPath: s.repo.path + "/data.bin"))
        try s.repo.commitAll("big data")
        let big = try s.snap()
        #expect(big.contains(".inc-"), "the first big change is still an increment: \(big)")
        _ = try s.change(1)
        let next = try s.snap()
        #expect(!next.contains(".inc-"), "after an increment past half the base: \(next)")
        _ = try s.change(2)
        #expect(try s.snap().contains(".inc-" + next.split(separator: "_").last!.prefix(7)))
    }

    @Test("attack: a branch named like an option (-x, made with update-ref) never reaches git's command line as one; the history restores detached")
    func optionLikeBranch() throws {
        let s = try Setup()
        defer { Harness.remove(s.repo.path); Harness.remove(s.root) }
        try s.repo.git("update-ref", "refs/heads/--upload-pack=touch%20pwned", "HEAD")
        try s.repo.git("update-ref", "refs/heads/-x", "HEAD")
        try s.repo.git("symbolic-ref", "HEAD", "refs/heads/-x")
        let full = try s.snap()
        let target = s.root + "/restored"
        let restored = try Harness.cdb("cdb-restore", ["--history", full, target], environment: s.env)
        #expect(restored.status == 0 && restored.stderr.contains("detached at"), "\(restored.stderr)")
        #expect(try Harness.run("git", ["-C", target, "rev-parse", "HEAD"]).stdout.hasPrefix(try s.repo.git("rev-parse", "HEAD")))
        #expect(!GitRepository.isValidBranchName("-x") && !GitRepository.isValidBranchName("--upload-pack=x") && GitRepository.isValidBranchName("main"))
    }

    @Test("prune keeps the full snapshot a kept increment needs, and deletes both when both are old")
    func retentionKeepsBase() throws {
        let s = try Setup()
        defer { Harness.remove(s.repo.path); Harness.remove(s.root) }
        let full = try s.snap()
        _ = try s.change(1)
        let increment = try s.snap()
        // Age the full snapshot by renaming it into the past, and make three newer full ones of
        // another repository so that keep-last does not hold it.
        let folder = s.root + "/Repository"
        let oldName = "claire_repo_2020-01-01_0000_" + full.split(separator: "_").last!
        try FileManager.default.moveItem(atPath: full, toPath: folder + "/" + oldName)
        try FileManager.default.moveItem(atPath: full + ".sha256", toPath: folder + "/" + oldName + ".sha256")
        let dry = try Harness.cdb("cdb-prune", ["--dry-run", "--json", "--keep-last", "0", "--retention-days", "14"], environment: s.env)
        #expect(dry.status == 0, "\(dry.stderr)")
        let kept = dry.stdout.split(separator: "\n").filter { $0.contains(oldName) && $0.contains("\"kept\"") }
        #expect(kept.count >= 1 && kept.contains { $0.contains("base of a kept increment") }, "\(dry.stdout)")
        _ = increment
    }

    @Test("kill -9 during an increment leaves only complete, verifiable files")
    func crashDuringIncrement() throws {
        let s = try Setup()
        defer { Harness.remove(s.repo.path); Harness.remove(s.root) }
        try s.snap()
        var random = SeededRandom(seed: 18)
        for trial in 0..<15 {
            let commit = try s.change(trial)
            let p = try spawn(Harness.binDir + "/cdb-repo-snap", ["--force", "--incremental", "--commit", commit],
                              directory: s.repo.path, environment: ["CDB_BACKUP_ROOT": s.root, "XDG_CONFIG_HOME": Harness.configHome])
            usleep(UInt32.random(in: 0...60_000, using: &random))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let folder = s.root + "/Repository"
        for name in Harness.files(in: folder) where BackupName.parse(name) != nil {
            let check = try Harness.cdb("cdb-verify", [folder + "/" + name], environment: s.env)
            #expect(check.status == 0, "\(name): \(check.stderr)")
        }
        // The next run succeeds and builds on the full snapshot.
        _ = try s.change(99)
        #expect(try s.snap().contains(".inc-"))
    }
}
