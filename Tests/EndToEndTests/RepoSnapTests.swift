import Foundation
import Testing

@Suite("cdb-repo-snap saves HEAD exactly", .serialized)
struct RepoSnapTests {
    /// Snapshots `repo` into a fresh root; returns the zip path and the root.
    func snapshot(_ repo: String, _ extra: [String] = [], directory: String? = nil, environment: [String: String?] = [:]) throws -> (zip: String, root: String, out: Harness.Output) {
        let root = try Harness.temporaryDirectory("cdb-root")
        let out = try Harness.cdb("cdb-repo-snap", ["--backup-root", root] + extra, environment: environment, directory: directory ?? repo)
        #expect(out.status == 0, "cdb-repo-snap failed: \(out.stderr)")
        return (out.stdout.trimmingCharacters(in: .whitespacesAndNewlines), root, out)
    }

    /// Unpacks the snapshot (outer and inner zip) with unzip; returns the folder.
    func unpack(_ zip: String) throws -> String {
        let dir = try Harness.temporaryDirectory("cdb-unpacked")
        let outer = try Harness.run("unzip", ["-q", zip, "-d", dir + "/outer"])
        #expect(outer.status == 0, "unzip failed: \(outer.stderr)")
        let test = try Harness.run("unzip", ["-tq", dir + "/outer/repository.zip"])
        #expect(test.status == 0, "unzip -t repository.zip: \(test.stdout) \(test.stderr)")
        // -^ keeps control characters (a newline) in names, as git archive | tar does.
        let inner = try Harness.run("unzip", ["-q", "-^", dir + "/outer/repository.zip", "-d", dir + "/tree"])
        #expect(inner.status == 0 || inner.status == 1, "unzip of repository.zip failed: \(inner.stderr)")
        try? FileManager.default.createDirectory(atPath: dir + "/tree", withIntermediateDirectories: true)
        return dir
    }

    func gitArchive(_ repo: TestRepo, _ rev: String = "HEAD") throws -> String {
        let dir = try Harness.temporaryDirectory("cdb-archive")
        let out = try Harness.run("sh", ["-c", "git -C '\(repo.path)' archive \(rev) | tar -x -C '\(dir)'"])
        #expect(out.status == 0, "\(out.stderr)")
        return dir
    }

    func metadata(_ dir: String) throws -> [String: String] {
        let text = try String(contentsOfFile: dir + "/outer/git_metadata.txt", encoding: .utf8)
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("  ") {
            if let colon = line.firstIndex(of: ":") {
                result[String(line[..<colon])] = String(line[line.index(colon, offsetBy: 2)...])
            }
        }
        return result
    }

    @Test("repository.zip equals git archive of HEAD: files, bytes, modes and link targets, awkward names included")
    func equalsGitArchive() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.populateAwkward()
        try repo.commitAll("awkward files")
        let (zip, root, out) = try snapshot(repo.path)
        defer { Harness.remove(root) }
        let dir = try unpack(zip)
        let archive = try gitArchive(repo)
        defer { Harness.remove(dir); Harness.remove(archive) }
        let ours = try treeFingerprint(dir + "/tree")
        let theirs = try treeFingerprint(archive)
        #expect(ours == theirs, "differs: only ours \(Set(ours.keys).subtracting(theirs.keys)), only git's \(Set(theirs.keys).subtracting(ours.keys))")
        #expect(ours.count == 12)
        let hash = try repo.git("rev-parse", "--short=7", "HEAD")
        #expect(zip.hasSuffix("_\(hash).zip"))
        #expect(out.stderr.contains("Repository: ") && out.stderr.contains("| \(hash)"))
        let check = try Harness.run("sha256sum", ["-c", (zip as NSString).lastPathComponent + ".sha256"], directory: (zip as NSString).deletingLastPathComponent)
        #expect(check.status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/outer/uncommitted.patch"), "a clean tree has no patch")
    }

    @Test("every tracked file is saved whatever .gitattributes says; submodules are named, not descended into")
    func exportIgnoreAndSubmodules() throws {
        let sub = try TestRepo("sub")
        defer { sub.remove() }
        try sub.write("inside.txt", "inside\n")
        try sub.commitAll("sub")
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write(".gitattributes", "secret.txt export-ignore\n")
        try repo.write("secret.txt", "kept anyway\n")
        try repo.gitArgs(["-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.path, "vendor/sub"])
        try repo.commitAll("attributes and a submodule")
        let (zip, root, _) = try snapshot(repo.path)
        defer { Harness.remove(root) }
        let dir = try unpack(zip)
        defer { Harness.remove(dir) }
        #expect(FileManager.default.fileExists(atPath: dir + "/tree/secret.txt"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/tree/vendor/sub/inside.txt"))
        let text = try String(contentsOfFile: dir + "/outer/git_metadata.txt", encoding: .utf8)
        let subCommit = try sub.git("rev-parse", "HEAD")
        #expect(text.contains("Submodules: 1\n  vendor/sub \(subCommit)"), "\(text)")
    }

    @Test("metadata fields equal what the git CLI says; credentials in remote URLs never appear")
    func metadataMatchesGit() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "one\n")
        try repo.commitAll("first")
        try repo.write("a.txt", "two\n")
        try repo.gitArgs(["commit", "-q", "-am", "second: with a subject line\n\nand a body"],
                         environment: ["GIT_AUTHOR_DATE": "2025-03-30T01:30:00+05:30"])
        try repo.git("remote", "add", "origin", "https://trader:gh-token-SECRET123@github.com/claire/trading.git")
        try repo.git("remote", "add", "backup", "ssh://git@backup.example.com/trading.git")
        try repo.write("a.txt", "three\n")        // modified
        try repo.write("untracked.txt", "new\n")  // untracked
        try repo.write("newdir/x.txt", "x\n")     // untracked folder, one porcelain line
        let (zip, root, out) = try snapshot(repo.path)
        defer { Harness.remove(root) }
        let dir = try unpack(zip)
        defer { Harness.remove(dir) }
        let m = try metadata(dir)
        #expect(m["Branch"] == (try repo.git("rev-parse", "--abbrev-ref", "HEAD")))
        #expect(m["Commit"] == (try repo.git("rev-parse", "HEAD")))
        #expect(m["Message"] == (try repo.git("log", "-1", "--format=%s")))
        #expect(m["Author"] == (try repo.git("log", "-1", "--format=%an <%ae>")))
        #expect(m["Date"] == (try repo.git("log", "-1", "--format=%aI")))
        #expect(m["Commit count"] == (try repo.git("rev-list", "--count", "HEAD")))
        let porcelain = try repo.git("status", "--porcelain").split(separator: "\n").count
        #expect(m["Uncommitted changes"] == "\(porcelain)")
        #expect(porcelain == 3)
        let text = try String(contentsOfFile: dir + "/outer/git_metadata.txt", encoding: .utf8)
        #expect(text.contains("  origin https://trader@github.com/claire/trading.git"))
        #expect(text.contains("  backup ssh://git@backup.example.com/trading.git"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/outer/git_metadata.json"))) as! [String: Any]
        #expect(json["commit"] as? String == m["Commit"])
        #expect(json["uncommitted_changes"] as? Int == porcelain)
        // The token appears in nothing written: zip (all members), sidecar, log, stdout, stderr.
        for path in Harness.files(in: dir + "/outer").map({ dir + "/outer/" + $0 }) + [zip + ".sha256", root + "/Repository/backup_log.txt"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
            #expect(bytes.range(of: Data("gh-token-SECRET123".utf8)) == nil, "\(path) holds the token")
        }
        #expect(!out.stdout.contains("SECRET123") && !out.stderr.contains("SECRET123"))
        #expect(out.stderr.contains("3 uncommitted changes captured (2 untracked files included), in uncommitted.patch"), "\(out.stderr)")
        let forced = try snapshot(repo.path, ["--force"])
        defer { Harness.remove(forced.root) }
        #expect(!forced.out.stderr.contains("uncommitted"))
    }

    @Test("uncommitted.patch applied with git apply to a clean checkout reproduces the work tree")
    func patchReproducesWorkTree() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.populateAwkward()
        try repo.write("gone.txt", "to be deleted\n")
        try repo.write("mode.sh", "#!/bin/sh\n")
        try repo.write("staged.txt", "before\n")
        try repo.commitAll("base")
        // Every kind of change: edits (text and binary), deletion, mode change, staged and unstaged.
        try repo.write("src/engine.py", "print('changed')\n")
        try repo.writeBytes("data/all-bytes.bin", (0..<4096).map { UInt8(255 - $0 % 256) })
        try FileManager.default.removeItem(atPath: repo.path + "/gone.txt")
        chmod(repo.path + "/mode.sh", 0o755)
        try repo.write("staged.txt", "after, staged\n")
        try repo.git("add", "staged.txt")
        try repo.write("staged.txt", "after, staged, then edited again\n")
        try repo.write("ünïcødé/日本語.txt", "unicode changed\n")
        try repo.write("brand new.txt", "untracked\n")
        try repo.writeBytes("new.bin", [0, 1, 2, 255, 0, 10])
        for untracked in [false, true] {
            let (zip, root, _) = try snapshot(repo.path, untracked ? [] : ["--no-untracked"])
            defer { Harness.remove(root) }
            let dir = try unpack(zip)
            defer { Harness.remove(dir) }
            let clean = try Harness.temporaryDirectory("clean")
            defer { Harness.remove(clean) }
            try Harness.run("git", ["clone", "-q", repo.path, clean + "/c"])
            let apply = try Harness.run("git", ["-C", clean + "/c", "apply", dir + "/outer/uncommitted.patch"])
            #expect(apply.status == 0, "git apply failed: \(apply.stderr)")
            var expected = try treeFingerprint(repo.path)
            if !untracked {
                expected["brand new.txt"] = nil
                expected["new.bin"] = nil
            }
            let got = try treeFingerprint(clean + "/c")
            #expect(got == expected, "untracked=\(untracked): only in copy \(Set(got.keys).subtracting(expected.keys)), only in work tree \(Set(expected.keys).subtracting(got.keys)), differing \(expected.keys.filter { got[$0] != nil && got[$0] != expected[$0] })")
        }
    }

    @Test("untracked files are captured by default, within the caps; .env never; every skipped file is named with its reason")
    func untrackedCapture() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write(".gitignore", "*.log\n")
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        try repo.write("notes/idea.md", "buy low\n")           // new, captured
        try repo.write("session.log", "ignored\n")             // ignored, not even counted
        try repo.write(".env", "POSTGRES_PASSWORD=hunter2\n")   // untracked and not ignored: never captured
        try repo.writeBytes("big.bin", [UInt8](repeating: 7, count: 4096))  // over a 2K per-file cap
        try repo.write("z1.txt", String(repeating: "z", count: 1500) + "\n")
        try repo.write("z2.txt", String(repeating: "y", count: 1500) + "\n")  // passes a 2K total cap after z1
        try repo.write("evil\n\u{1B}[31mname.txt", "x\n")                   // a hostile name: captured, never shown raw
        try repo.write("evil\n\u{1B}]0;big.bin", String(repeating: "b", count: 3000))  // and skipped: named escaped
        let (zip, root, out) = try snapshot(repo.path, ["--untracked-max-file", "2K", "--untracked-max-total", "2K"])
        defer { Harness.remove(root) }
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("7 uncommitted changes captured (3 untracked files included; 4 untracked files skipped)"), "\(out.stderr)")
        #expect(out.stderr.contains("untracked evil\\n\\x1b]0;big.bin not captured"), "\(out.stderr)")
        #expect(!out.stderr.unicodeScalars.contains { $0.value == 0x1B }, "raw escape on stderr")
        #expect(out.stderr.contains("untracked .env not captured: may hold secrets"))
        #expect(out.stderr.contains("untracked big.bin not captured: 4.00 KB, over the per-file cap of 2.00 KB"))
        #expect(out.stderr.contains("untracked z2.txt not captured: over the total cap of 2.00 KB"))
        let dir = try unpack(zip)
        defer { Harness.remove(dir) }
        let patch = try String(contentsOfFile: dir + "/outer/uncommitted.patch", encoding: .utf8)
        #expect(patch.contains("notes/idea.md") && patch.contains("z1.txt"))
        #expect(!patch.contains("hunter2") && !patch.contains("big.bin") && !patch.contains("z2.txt") && !patch.contains("session.log"))
        let m = try metadata(dir)
        #expect(m["Untracked files captured"] == "3" && m["Untracked files skipped"] == "4")
        #expect(!(try Data(contentsOf: URL(fileURLWithPath: dir + "/outer/git_metadata.txt"))).contains(0x1B))
        // Restored with --apply-uncommitted, the captured new files come back.
        let target = try Harness.temporaryDirectory("restored") + "/t"
        defer { Harness.remove((target as NSString).deletingLastPathComponent) }
        let restored = try Harness.cdb("cdb-restore", [zip, target, "--apply-uncommitted"])
        #expect(restored.status == 0 && (try? String(contentsOfFile: target + "/notes/idea.md", encoding: .utf8)) == "buy low\n", "\(restored.stderr)")
        #expect((try? String(contentsOfFile: target + "/evil\n\u{1B}[31mname.txt", encoding: .utf8)) == "x\n", "the hostile name comes back as itself")
        // --no-untracked: nothing untracked in the patch, and the message says so.
        let (zip2, root2, out2) = try snapshot(repo.path, ["--no-untracked"])
        defer { Harness.remove(root2) }
        #expect(out2.stderr.contains("untracked notes/idea.md not captured: --no-untracked"), "\(out2.stderr)")
        let dir2 = try unpack(zip2)
        defer { Harness.remove(dir2) }
        #expect(!FileManager.default.fileExists(atPath: dir2 + "/outer/uncommitted.patch"), "only untracked changes: no patch")
    }

    @Test("not a repository and nothing committed yet: exit 66 with the reason, nothing written")
    func notARepository() throws {
        let plain = try Harness.temporaryDirectory("plain")
        let root = try Harness.temporaryDirectory("cdb-root")
        defer { Harness.remove(plain); Harness.remove(root) }
        let out = try Harness.cdb("cdb-repo-snap", ["--backup-root", root], environment: ["GIT_CEILING_DIRECTORIES": NSTemporaryDirectory()], directory: plain)
        #expect(out.status == 66)
        #expect(out.stderr.contains("not a git repository"), "\(out.stderr)")
        let empty = try TestRepo("empty")
        defer { empty.remove() }
        let unborn = try Harness.cdb("cdb-repo-snap", ["--backup-root", root], directory: empty.path)
        #expect(unborn.status == 66)
        #expect(unborn.stderr.contains("nothing committed yet"), "\(unborn.stderr)")
        #expect(Harness.files(in: root + "/Repository").allSatisfy { $0 == "backup_log.txt" })
    }

    @Test("detached HEAD, shallow clone, linked worktree and bare repository each get a clear snapshot")
    func repositoryShapes() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("one")
        try repo.write("a.txt", "2\n")
        try repo.commitAll("two")
        let first = try repo.git("rev-parse", "HEAD~1")

        try repo.git("checkout", "-q", "--detach", "HEAD~1")
        let detached = try snapshot(repo.path)
        defer { Harness.remove(detached.root) }
        let d = try unpack(detached.zip)
        defer { Harness.remove(d) }
        #expect(try metadata(d)["Branch"] == "detached at \(first.prefix(7))")
        #expect(try metadata(d)["Commit"] == first)
        try repo.git("checkout", "-q", "main")

        let clones = try Harness.temporaryDirectory("clones")
        defer { Harness.remove(clones) }
        try Harness.run("git", ["clone", "-q", "--depth", "1", "file://" + repo.path, clones + "/shallow"])
        let shallow = try snapshot(clones + "/shallow")
        defer { Harness.remove(shallow.root) }
        let s = try unpack(shallow.zip)
        defer { Harness.remove(s) }
        #expect(try metadata(s)["Shallow"] == "yes")
        #expect(try metadata(s)["Commit count"] == "1")
        #expect(try metadata(s)["Remotes"] == "1")

        try repo.git("worktree", "add", "-q", "-b", "feature", clones + "/wt")
        try TestRepo(existing: clones + "/wt").write("a.txt", "worktree edit\n")
        let worktree = try snapshot(clones + "/wt")
        defer { Harness.remove(worktree.root) }
        let w = try unpack(worktree.zip)
        defer { Harness.remove(w) }
        #expect(try metadata(w)["Branch"] == "feature")
        #expect(try metadata(w)["Worktree"] == "yes")
        #expect(FileManager.default.fileExists(atPath: w + "/outer/uncommitted.patch"))

        try Harness.run("git", ["clone", "-q", "--bare", repo.path, clones + "/bare.git"])
        let bare = try snapshot(clones, ["--repo", clones + "/bare.git"])
        defer { Harness.remove(bare.root) }
        let b = try unpack(bare.zip)
        defer { Harness.remove(b) }
        #expect(try metadata(b)["Bare"] == "yes")
        #expect(try metadata(b)["Uncommitted changes"] == "0")
        #expect(!FileManager.default.fileExists(atPath: b + "/outer/uncommitted.patch"))
        #expect(try String(contentsOfFile: b + "/tree/a.txt", encoding: .utf8) == "2\n")
    }

    @Test("GIT_DIR and GIT_WORK_TREE are honoured, from any folder")
    func gitEnvironment() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "env\n")
        try repo.commitAll("one")
        try repo.write("a.txt", "changed\n")
        let elsewhere = try Harness.temporaryDirectory("elsewhere")
        defer { Harness.remove(elsewhere) }
        let (zip, root, out) = try snapshot(elsewhere, [], environment: ["GIT_DIR": repo.path + "/.git", "GIT_WORK_TREE": repo.path])
        defer { Harness.remove(root) }
        #expect(out.status == 0)
        let dir = try unpack(zip)
        defer { Harness.remove(dir) }
        #expect(try metadata(dir)["Commit"] == (try repo.git("rev-parse", "HEAD")))
        #expect(try metadata(dir)["Uncommitted changes"] == "1")
    }

    @Test("--include-env adds .env.backup (the zip is 0600 and stderr warns); --include adds extra/; -o - streams")
    func envExtrasAndStreaming() throws {
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write(".gitignore", ".env\n")
        try repo.write("a.txt", "a\n")
        try repo.commitAll("one")
        try repo.write(".env", "POSTGRES_PASSWORD=hunter2\n")
        let volume = try Harness.temporaryDirectory("volume")
        defer { Harness.remove(volume) }
        try "pgdata\n".write(toFile: volume + "/PG_VERSION", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: volume + "/base", withIntermediateDirectories: true)
        try "x\n".write(toFile: volume + "/base/1", atomically: false, encoding: .utf8)
        let (zip, root, out) = try snapshot(repo.path, ["--include-env", "--include", volume])
        defer { Harness.remove(root) }
        #expect(out.stderr.contains(".env") && out.stderr.contains("secrets"))
        var info = stat()
        stat(zip, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        let dir = try unpack(zip)
        defer { Harness.remove(dir) }
        #expect(try String(contentsOfFile: dir + "/outer/.env.backup", encoding: .utf8) == "POSTGRES_PASSWORD=hunter2\n")
        let name = (volume as NSString).lastPathComponent
        #expect(try String(contentsOfFile: dir + "/outer/extra/\(name)/base/1", encoding: .utf8) == "x\n")
        #expect(try metadata(dir)["Env included"] == "yes")
        let log = try String(contentsOfFile: root + "/Repository/backup_log.txt", encoding: .utf8)
        #expect(!log.contains("hunter2") && log.contains(".env included: yes"))

        // Without the flag there is no .env.backup.
        let plain = try snapshot(repo.path)
        defer { Harness.remove(plain.root) }
        let listing = try Harness.run("unzip", ["-Z1", plain.zip])
        #expect(!listing.stdout.contains(".env.backup"))

        // Streaming to stdout: data descriptors instead of patched headers; unzip still reads it.
        let streamed = try Harness.cdb("cdb-repo-snap", ["-o", "-"], directory: repo.path)
        #expect(streamed.status == 0, "\(streamed.stderr)")
        let file = root + "/streamed.zip"
        try streamed.stdoutData.write(to: URL(fileURLWithPath: file))
        let test = try Harness.run("unzip", ["-tq", file])
        #expect(test.status == 0, "\(test.stdout) \(test.stderr)")
        let s = try unpack(file)
        defer { Harness.remove(s) }
        #expect(try String(contentsOfFile: s + "/tree/a.txt", encoding: .utf8) == "a\n")
    }

    @Test("a file over the streaming threshold comes back intact, loose and packed")
    func largeFile() throws {
        let repo = try TestRepo("large")
        defer { repo.remove() }
        #expect(try Harness.run("sh", ["-c", "head -c 41943040 /dev/urandom > '\(repo.path)/big.bin'"]).status == 0)
        try repo.commitAll("a 40 MiB file")
        let expected = try Harness.sha256(repo.path + "/big.bin")
        for packed in [false, true] {
            if packed { try repo.git("gc", "-q") }
            let (zip, root, _) = try snapshot(repo.path)
            defer { Harness.remove(root) }
            let got = try Harness.run("sh", ["-c", "unzip -p '\(zip)' repository.zip > '\(root)/r.zip' && unzip -p '\(root)/r.zip' big.bin | sha256sum"])
            #expect(got.stdout.hasPrefix(expected), "packed=\(packed)")
            #expect(try Harness.cdb("cdb-verify", [zip]).status == 0)
        }
    }

    @Test("a tree of more than 65,535 files round-trips through ZIP64")
    func manyFiles() throws {
        // Built with git plumbing in a bare repository: 70,000 index entries without 70,000
        // files on disk (creating those is slow on some file systems).
        let dir = try Harness.temporaryDirectory("many")
        defer { Harness.remove(dir) }
        let make = try Harness.run("sh", ["-c", """
            set -e
            git init -q --bare '\(dir)/many.git'
            export GIT_DIR='\(dir)/many.git' GIT_INDEX_FILE='\(dir)/index'
            empty=$(git hash-object -w --stdin </dev/null)
            hi=$(echo hi | git hash-object -w --stdin)
            awk -v e="$empty" -v h="$hi" 'BEGIN { for (d = 0; d < 70; d++) for (f = 0; f < 1000; f++) printf "100644 %s\\td%d/f%d\\n", (d == 0 && f == 0) ? h : e, d, f }' \\
              | git update-index --add --index-info
            tree=$(git write-tree)
            commit=$(git -c user.name=T -c user.email=t@e commit-tree -m many "$tree")
            git update-ref refs/heads/main "$commit"
            git symbolic-ref HEAD refs/heads/main
            """])
        #expect(make.status == 0, "\(make.stderr)")
        let (zip, root, _) = try snapshot(dir, ["--repo", dir + "/many.git"])
        defer { Harness.remove(root) }
        // Listing and testing, not extracting: creating 70,000 files is the slow part here.
        let outer = try Harness.temporaryDirectory("outer")
        defer { Harness.remove(outer) }
        #expect(try Harness.run("unzip", ["-q", zip, "repository.zip", "-d", outer]).status == 0)
        let test = try Harness.run("unzip", ["-tq", outer + "/repository.zip"])
        #expect(test.status == 0, "\(test.stdout)")
        #expect(try Harness.run("unzip", ["-p", outer + "/repository.zip", "d0/f0"]).stdout == "hi\n")
        let listing = try Harness.run("unzip", ["-Z1", outer + "/repository.zip"])
        #expect(Set(listing.stdout.split(separator: "\n").filter { !$0.hasSuffix("/") }).count == 70_000)
        #expect(listing.stdout.split(separator: "\n").count == 70_070, "70,000 files and 70 folders")
    }

    @Test("the commit count equals git rev-list --count HEAD counted every way: a full walk, since the last count, after a rebase, with a commit-graph")
    func commitCounts() throws {
        let repo = try TestRepo("counts")
        defer { repo.remove() }
        func sh(_ script: String) throws {
            let out = try Harness.run("sh", ["-c", script])
            #expect(out.status == 0, "\(script): \(out.stderr)")
        }
        // A history with branches and merges.
        try sh("""
            cd '\(repo.path)' && for i in $(seq 1 60); do echo $i > f$((i % 7)).txt; git add -A; git commit -qm c$i; done
            git checkout -qb side HEAD~20 && for i in $(seq 1 15); do echo s$i > side$((i % 3)).txt; git add -A; git commit -qm s$i; done
            git checkout -q main && git merge -q --no-edit side && for i in $(seq 1 5); do echo m$i > m.txt; git add -A; git commit -qm m$i; done
            """)
        let root = try Harness.temporaryDirectory("counts-root")
        defer { Harness.remove(root) }
        func check(_ label: String, way: String) throws {
            let snap = try Harness.cdb("cdb-repo-snap", ["--backup-root", root, "--force", "--verbose", "--repo", repo.path])
            #expect(snap.status == 0, "\(label): \(snap.stderr)")
            let zip = snap.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let meta = try Harness.run("unzip", ["-p", zip, "git_metadata.txt"]).stdout
            let expected = try repo.git("-c", "core.commitGraph=false", "rev-list", "--count", "HEAD")
            #expect(meta.contains("Commit count: \(expected)\n"), "\(label): git says \(expected), the snapshot \(meta)")
            #expect(snap.stderr.contains(way), "\(label): counted \(way)? \(snap.stderr)")
        }
        try check("full walk", way: "walked the whole history")
        try sh("cd '\(repo.path)' && git checkout -qb more && echo x > x.txt && git add -A && git commit -qm x && git checkout -q main && echo y > y.txt && git add -A && git commit -qm y && git merge -q --no-edit more")
        try check("since the last count", way: "plus the commits since")
        // A rebase: the counted commit is no longer an ancestor; everything is walked again.
        try repo.git("reset", "-q", "--hard", "HEAD~3")
        try repo.write("r.txt", "rebased\n")
        try repo.commitAll("rewritten")
        try check("after a rebase", way: "walked the whole history")
        // With a commit-graph file, and no earlier count to build on.
        try repo.git("commit-graph", "write", "--reachable")
        #expect(FileManager.default.fileExists(atPath: repo.path + "/.git/objects/info/commit-graph"))
        for file in Harness.files(in: root) where file.hasPrefix(".commit-count-") { unlink(root + "/" + file) }
        try repo.write("g.txt", "graph\n")
        try repo.commitAll("with a graph")
        try check("commit-graph and a commit made after it", way: "from the commit-graph file")
        try repo.write("h.txt", "again\n")
        try repo.commitAll("and one more")
        try check("commit-graph, since the last count", way: "plus the commits since")
        // A commit-graph that lies (a parent index out of range) or is cut short: walked instead.
        let graphPath = repo.path + "/.git/objects/info/commit-graph"
        var graph = try Data(contentsOf: URL(fileURLWithPath: graphPath))
        let cdat = try #require(graph.range(of: Data("CDAT".utf8)))
        let offset = graph[(cdat.upperBound)..<(cdat.upperBound + 8)].reduce(0) { $0 << 8 | Int($1) }
        graph.replaceSubrange((offset + 20)..<(offset + 24), with: [0x0F, 0xFF, 0xFF, 0xFE])
        chmod(graphPath, 0o644)
        try graph.write(to: URL(fileURLWithPath: graphPath))
        for file in Harness.files(in: root) where file.hasPrefix(".commit-count-") { unlink(root + "/" + file) }
        try check("a lying commit-graph", way: "walked the whole history")
        try graph.prefix(100).write(to: URL(fileURLWithPath: graphPath))
        for file in Harness.files(in: root) where file.hasPrefix(".commit-count-") { unlink(root + "/" + file) }
        try check("a cut commit-graph", way: "walked the whole history")
    }
}
