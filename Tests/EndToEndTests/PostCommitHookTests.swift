import Foundation
import Testing

@Suite("the post-commit hook", .serialized)
struct PostCommitHookTests {
    func snapshots(_ root: String) -> [String] {
        Harness.files(in: root + "/Repository").filter { $0.hasSuffix(".zip") }
    }

    @Test("git commit returns before the snapshot exists; the snapshot then appears; CDB_HOOKS=0 turns it off")
    func backgroundSnapshot() throws {
        let repo = try TestRepo()
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { repo.remove(); Harness.remove(root) }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        let install = try Harness.cdb("cdb-repo-snap", ["--install-hook"], directory: repo.path)
        #expect(install.status == 0, "\(install.stderr)")

        // Hold the backup root's lock: the background snapshot must wait, the commit must not.
        let holder = try holdRootLock(root, shared: false, seconds: 60)
        try repo.write("a.txt", "2\n")
        try repo.gitArgs(["commit", "-q", "-am", "second"], environment: ["CDB_BACKUP_ROOT": root])
        // Had the commit waited for the hook, it would not have returned while the lock is held.
        #expect(snapshots(root).isEmpty, "the snapshot should not exist yet when git commit returns")
        holder.terminate()
        holder.waitUntilExit()
        let hash = try repo.git("rev-parse", "--short=7", "HEAD")
        try waitFor(seconds: 20) { snapshots(root).contains { $0.contains("_\(hash).") } }

        try repo.write("a.txt", "3\n")
        try repo.gitArgs(["commit", "-q", "-am", "third"], environment: ["CDB_BACKUP_ROOT": root, "CDB_HOOKS": "0"])
        let third = try repo.git("rev-parse", "--short=7", "HEAD")
        // A fourth commit with the hook on: once its snapshot is there and no snapshot runs any
        // more, a snapshot of the third would have been there too.
        try repo.write("a.txt", "4\n")
        try repo.gitArgs(["commit", "-q", "-am", "fourth"], environment: ["CDB_BACKUP_ROOT": root])
        let fourth = try repo.git("rev-parse", "--short=7", "HEAD")
        try waitFor(seconds: 20) { snapshots(root).contains { $0.contains("_\(fourth).") } }  // an increment on the second's snapshot
        let full = [try repo.git("rev-parse", "HEAD~1"), try repo.git("rev-parse", "HEAD")]
        try waitFor(seconds: 20) { try Harness.run("pgrep", ["-f", "--", "--commit (\(full.joined(separator: "|")))"]).status != 0 }
        #expect(!snapshots(root).contains { $0.contains("_\(third).") }, "CDB_HOOKS=0 should turn the hook off")
    }

    @Test("a foreign hook is kept, still runs, and comes back byte for byte; install and uninstall are idempotent")
    func chaining() throws {
        let repo = try TestRepo()
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { repo.remove(); Harness.remove(root) }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        let hooks = repo.path + "/.git/hooks"
        // It notes whether a snapshot of this commit had started before it ran (a process, or its file).
        let foreign = """
            #!/bin/sh
            # someone else's hook
            head=$(git rev-parse HEAD)
            if pgrep -f -- "--commit $head" >/dev/null || ls "$CDB_BACKUP_ROOT"/Repository/*_$(git rev-parse --short=7 HEAD).zip >/dev/null 2>&1; then
              echo "ran after the snapshot started" >> "$(git rev-parse --git-dir)/foreign-ran"
            else
              echo ran >> "$(git rev-parse --git-dir)/foreign-ran"
            fi

            """
        try foreign.write(toFile: hooks + "/post-commit", atomically: false, encoding: .utf8)
        chmod(hooks + "/post-commit", 0o751)
        let before = try Harness.sha256(hooks + "/post-commit")

        for _ in 0..<2 {
            let out = try Harness.cdb("cdb-repo-snap", ["--install-hook"], directory: repo.path)
            #expect(out.status == 0, "\(out.stderr)")
        }
        let installed = try String(contentsOfFile: hooks + "/post-commit", encoding: .utf8)
        #expect(installed.contains("cdb-managed-hook"))
        #expect(try Harness.sha256(hooks + "/post-commit.legacy") == before)

        try repo.write("a.txt", "2\n")
        try repo.gitArgs(["commit", "-q", "-am", "second"], environment: ["CDB_BACKUP_ROOT": root])
        #expect(try String(contentsOfFile: repo.path + "/.git/foreign-ran", encoding: .utf8) == "ran\n", "the foreign hook runs first")
        try waitFor(seconds: 20) { !snapshots(root).isEmpty }

        for _ in 0..<2 {
            let out = try Harness.cdb("cdb-repo-snap", ["--uninstall-hook"], directory: repo.path)
            #expect(out.status == 0, "\(out.stderr)")
        }
        #expect(try Harness.sha256(hooks + "/post-commit") == before)
        var info = stat()
        stat(hooks + "/post-commit", &info)
        #expect(info.st_mode & 0o777 == 0o751)
        #expect(!FileManager.default.fileExists(atPath: hooks + "/post-commit.legacy"))
    }

    @Test("the hook goes where git looks: core.hooksPath, and the common folder of a linked worktree")
    func hooksFolder() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        try repo.git("config", "core.hooksPath", "githooks")
        let out = try Harness.cdb("cdb-repo-snap", ["--install-hook"], directory: repo.path)
        #expect(out.status == 0)
        #expect(FileManager.default.fileExists(atPath: repo.path + "/githooks/post-commit"))
        try repo.git("config", "--unset", "core.hooksPath")

        let wt = try Harness.temporaryDirectory("wt")
        defer { Harness.remove(wt) }
        try repo.git("worktree", "add", "-q", "-b", "side", wt + "/w")
        let fromWorktree = try Harness.cdb("cdb-repo-snap", ["--install-hook"], directory: wt + "/w")
        #expect(fromWorktree.status == 0)
        #expect(FileManager.default.fileExists(atPath: repo.path + "/.git/hooks/post-commit"))
    }

    @Test("hooks/post-commit in the source tree is the hook the program installs")
    func committedHookIsCurrent() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        _ = try Harness.cdb("cdb-repo-snap", ["--install-hook"], directory: repo.path)
        let installed = try String(contentsOfFile: repo.path + "/.git/hooks/post-commit", encoding: .utf8)
        let source = try String(contentsOfFile: Harness.packageRoot + "/hooks/post-commit", encoding: .utf8)
        let program = URL(fileURLWithPath: Harness.binDir + "/cdb-repo-snap").resolvingSymlinksInPath().path
        let baked = installed.replacingOccurrences(of: program, with: "@CDB_REPO_SNAP@")
        #expect(baked == source, "regenerate Sources/CDBKit/Git/PostCommitHook.swift from hooks/post-commit")
    }
}
