@testable import CDBKit
import Foundation
import Testing

/// A throwaway SFTP server: Debian's sshd on a free loopback port, with its own host key and one
/// authorized key, reached through rclone's sftp backend (a remote named `t:` defined by
/// RCLONE_CONFIG_T_* variables; no rclone config file).
final class SFTPServer {
    let dir: String
    let port: Int
    let clientKey: String
    /// sshd's own pid (it daemonizes: Foundation's Process loses track of a child that closes
    /// every inherited descriptor, so it is not started as one).
    private(set) var pid: pid_t = 0

    init() throws {
        dir = try Harness.temporaryDirectory("sftp")
        for key in ["host", "client", "stranger"] {
            let made = try Harness.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", dir + "/" + key])
            if made.status != 0 { throw Failure("ssh-keygen: \(made.stderr)") }
        }
        clientKey = dir + "/client"
        try FileManager.default.copyItem(atPath: dir + "/client.pub", toPath: dir + "/authorized_keys")
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        var chosen = 0
        for _ in 0..<20 {
            let port = Int.random(in: 20_000...60_000)
            try """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(dir)/host
                AuthorizedKeysFile \(dir)/authorized_keys
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                StrictModes no
                PermitRootLogin yes
                PidFile \(dir)/sshd.pid
                Subsystem sftp internal-sftp

                """.write(toFile: dir + "/sshd_config", atomically: false, encoding: .utf8)
            let started = try Harness.run("/usr/sbin/sshd", ["-f", dir + "/sshd_config", "-E", dir + "/sshd.log"])
            guard started.status == 0 else { continue }
            let probe = "import socket\ntry:\n socket.create_connection(('127.0.0.1', \(port)), 1).close()\nexcept OSError:\n raise SystemExit(1)\n"
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: dir + "/sshd.pid", encoding: .utf8), let p = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                   try Harness.run("python3", ["-c", probe]).status == 0 {
                    pid = p
                    break
                }
                usleep(50_000)
            }
            if pid != 0 { chosen = port; break }
        }
        guard pid != 0 else { throw Failure("sshd did not start: \((try? String(contentsOfFile: dir + "/sshd.log", encoding: .utf8)) ?? "")") }
        port = chosen
    }

    /// The rclone remote `t:` for this server, with `key` (default: the authorized one).
    func environment(key: String? = nil) -> [String: String?] {
        ["RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_T_TYPE": "sftp", "RCLONE_CONFIG_T_HOST": "127.0.0.1",
         "RCLONE_CONFIG_T_PORT": "\(port)", "RCLONE_CONFIG_T_USER": "root", "RCLONE_CONFIG_T_KEY_FILE": key ?? clientKey,
         "RCLONE_CONFIG_T_SHELL_TYPE": "unix"]
    }

    /// Stops the server and every session it forked (at once: connections in use break).
    func halt() {
        if pid != 0 {
            var family = [pid], index = 0
            while index < family.count {
                let children = (try? Harness.run("ps", ["-o", "pid=", "--ppid", "\(family[index])"]))?.stdout ?? ""
                family += children.split(separator: "\n").compactMap { pid_t($0.trimmingCharacters(in: .whitespaces)) }
                index += 1
            }
            for member in family.reversed() { kill(member, SIGKILL) }
        }
        _ = try? Harness.run("pkill", ["-f", dir + "/sshd_config"])
    }

    func stop() {
        halt()
        Harness.remove(dir)
    }
}

/// A throwaway S3-compatible server: moto's standalone server (`moto_server`, from PATH or the
/// virtual environment scripts/install-deps.sh makes) on a free loopback port, with one bucket,
/// reached through rclone's s3 backend (a remote named `s:` defined by RCLONE_CONFIG_S_*).
final class S3Server {
    let port: Int
    let bucket = "cdb-copies"
    private let process: Process
    private let log: String

    static var program: String? {
        let venv = ProcessInfo.processInfo.environment["CDB_TEST_VENV"] ?? "/opt/cdb-test-venv"
        if FileManager.default.isExecutableFile(atPath: venv + "/bin/moto_server") { return venv + "/bin/moto_server" }
        let found = try? Harness.run("sh", ["-c", "command -v moto_server"])
        return found?.status == 0 ? found!.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    init() throws {
        guard let program = Self.program else {
            throw Failure("no moto_server: run scripts/install-deps.sh --with-shells (it installs moto[server] into a virtual environment)")
        }
        log = NSTemporaryDirectory() + "/moto-\(UUID().uuidString).log"
        var started: (Process, Int)?
        for _ in 0..<10 {
            let port = Int.random(in: 20_000...60_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: program)
            p.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
            FileManager.default.createFile(atPath: log, contents: nil)
            let out = FileHandle(forWritingAtPath: log)!
            p.standardOutput = out
            p.standardError = out
            p.standardInput = FileHandle.nullDevice
            try Harness.startUnblocked(p)
            let probe = "import socket\ntry:\n socket.create_connection(('127.0.0.1', \(port)), 1).close()\nexcept OSError:\n raise SystemExit(1)\n"
            let deadline = Date().addingTimeInterval(20)
            var up = false
            while Date() < deadline, p.isRunning {
                if try Harness.run("python3", ["-c", probe]).status == 0 { up = true; break }
                usleep(100_000)
            }
            if up { started = (p, port); break }
            p.terminate(); p.waitUntilExit()
        }
        guard let (p, port) = started else { throw Failure("moto_server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
        process = p
        self.port = port
        let made = try Harness.run("rclone", ["mkdir", "s:" + bucket], environment: environment())
        if made.status != 0 { stop(); throw Failure("cannot make the bucket: \(made.stderr)") }
    }

    /// The rclone remote `s:` for this server (moto takes any credentials).
    func environment() -> [String: String?] {
        ["RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_S_TYPE": "s3", "RCLONE_CONFIG_S_PROVIDER": "Other",
         "RCLONE_CONFIG_S_ENDPOINT": "http://127.0.0.1:\(port)", "RCLONE_CONFIG_S_ACCESS_KEY_ID": "cdbtest",
         "RCLONE_CONFIG_S_SECRET_ACCESS_KEY": "s3-secret-7f3a9c", "AWS_CA_BUNDLE": nil]
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: log)
    }
}

/// cdb-copy against a folder (the USB case), an SFTP server and an S3 server: the same tests
/// for all three.
@Suite("cdb-copy: encrypted copies to a folder, over SFTP and to S3", .serialized)
struct CopyTests {
    enum Kind: String, CaseIterable, CustomStringConvertible { case folder, sftp, s3; var description: String { rawValue } }

    /// A backup root with real backups (a dump made by hand is enough: names and sidecars), and
    /// a destination of one kind.
    struct Fixture {
        let root: String
        let dest: String          // what --to gets
        let local: String?        // where the destination's files are on this machine (not for S3)
        let scratch: String       // downloads from S3
        let key: (file: String, recipient: String)
        let server: SFTPServer?
        let s3: S3Server?
        var env: [String: String?] {
            var e: [String: String?] = ["CDB_BACKUP_ROOT": root]
            for (k, v) in server?.environment() ?? s3?.environment() ?? [:] { e[k] = v }
            return e
        }

        init(_ kind: Kind) throws {
            root = try Harness.temporaryDirectory("cdb-root")
            let dir = try Harness.temporaryDirectory("copy")
            scratch = dir + "/downloads"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            key = try EncryptionTests.keygen(dir)
            switch kind {
            case .folder:
                server = nil; s3 = nil
                local = dir + "/usb"
                try FileManager.default.createDirectory(atPath: local!, withIntermediateDirectories: true)
                dest = local!
            case .sftp:
                let s = try SFTPServer()
                server = s; s3 = nil
                local = s.dir + "/remote"
                try FileManager.default.createDirectory(atPath: local!, withIntermediateDirectories: true)
                dest = "t:" + local!
            case .s3:
                let s = try S3Server()
                server = nil; s3 = s
                local = nil
                dest = "s:\(s.bucket)/laptop"
            }
            for folder in ["PostgreSQL", "Repository"] {
                try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
            }
        }

        /// A local backup named for `daysAgo` with some content, and its sidecar.
        @discardableResult
        func backup(_ kind: String, daysAgo: Int, size: Int = 3000, seed: UInt64 = 1) throws -> String {
            let date = Date().addingTimeInterval(-Double(daysAgo) * 86_400)
            let f = DateFormatter()
            f.dateFormat = "yyyy-MM-dd_HHmm"
            let stamp = f.string(from: date)
            let name = kind == "db" ? "cdb_backup_\(stamp).sql" : "claire_repo_\(stamp)_abc1234.zip"
            let path = root + "/" + (kind == "db" ? "PostgreSQL/" : "Repository/") + name
            var random = SeededRandom(seed: seed &+ UInt64(daysAgo))
            try Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: URL(fileURLWithPath: path))
            try "\(try Harness.sha256(path))  \(name)\n".write(toFile: path + ".sha256", atomically: false, encoding: .utf8)
            return path
        }

        /// rclone on the destination's server, as the tests' own judge.
        func rclone(_ arguments: [String]) throws -> Harness.Output {
            let out = try Harness.run("rclone", arguments, environment: env)
            if out.status != 0 { throw Failure("rclone \(arguments.first ?? ""): \(out.stderr)") }
            return out
        }

        /// Every object under the layout's folders, "PostgreSQL/name", sorted.
        func remote() -> [String] {
            let names: [String]
            if let local {
                names = FileManager.default.enumerator(atPath: local)?.compactMap { $0 as? String } ?? []
            } else {
                names = ((try? rclone(["lsf", "-R", "--files-only", dest]))?.stdout ?? "").split(separator: "\n").map(String.init)
            }
            return names.filter { $0.hasPrefix("PostgreSQL/") || $0.hasPrefix("Repository/") }.sorted()
        }

        /// A path on this machine holding the object `name` (downloaded from S3).
        func fetch(_ name: String) throws -> String {
            if let local { return local + "/" + name }
            let path = scratch + "/" + name
            _ = try rclone(["copyto", dest + "/" + name, path])
            return path
        }

        func delete(_ name: String) throws {
            if let local { try FileManager.default.removeItem(atPath: local + "/" + name); return }
            _ = try rclone(["deletefile", dest + "/" + name])
        }

        /// Puts `data` at the destination as `name` (a file that is not cdb's, or a damaged copy).
        func put(_ name: String, _ data: Data) throws {
            if let local {
                try FileManager.default.createDirectory(atPath: Path.directory(of: local + "/" + name), withIntermediateDirectories: true)
                try data.write(to: URL(fileURLWithPath: local + "/" + name))
                return
            }
            let file = scratch + "/upload"
            try data.write(to: URL(fileURLWithPath: file))
            _ = try rclone(["copyto", file, dest + "/" + name])
        }

        func putForeign(_ name: String, _ text: String) throws { try put(name, Data(text.utf8)) }

        func copy(_ extra: [String] = [], environment: [String: String?] = [:]) throws -> Harness.Output {
            var e = env
            for (k, v) in environment { e[k] = v }
            return try Harness.cdb("cdb-copy", ["--to", dest, "--recipient", key.recipient] + extra, environment: e)
        }

        func remove() {
            server?.stop()
            s3?.stop()
            Harness.remove(root)
            Harness.remove(Path.directory(of: key.file))
        }
    }

    @Test("copy: encrypted, with sidecars; age -d gives the local bytes; a re-run copies nothing; a deleted copy is copied again", arguments: Kind.allCases)
    func copyAndRepair(_ kind: Kind) throws {
        let f = try Fixture(kind)
        defer { f.remove() }
        let dump = try f.backup("db", daysAgo: 0, size: 200_000)
        let snap = try f.backup("repo", daysAgo: 0, size: 50_000, seed: 9)
        let first = try f.copy()
        #expect(first.status == 0, "\(first.stderr)")
        let written = first.stdout.split(separator: "\n").map(String.init)
        #expect(written.count == 2 && written.allSatisfy { $0.hasSuffix(".age") }, "\(first.stdout)")
        #expect(f.remote().count == 4, "\(f.remote())")
        for local in [dump, snap] {
            let name = (local.contains("PostgreSQL") ? "PostgreSQL/" : "Repository/") + Path.name(of: local) + ".age"
            let copy = try f.fetch(name)
            _ = try f.fetch(name + ".sha256")
            #expect(try Harness.run("sha256sum", ["-c", Path.name(of: copy) + ".sha256"], directory: Path.directory(of: copy)).status == 0)
            let plain = try Harness.run("age", ["-d", "-i", f.key.file, copy])
            let same = try Harness.sha256Bytes(plain.stdoutData) == Harness.sha256(local)
            #expect(plain.status == 0 && same, "\(name)")
        }
        let again = try f.copy()
        #expect(again.status == 0 && again.stdout.isEmpty && again.stderr.contains("2 already there"), "\(again.stderr)")
        try f.delete("PostgreSQL/" + Path.name(of: dump) + ".age")
        let repaired = try f.copy()
        #expect(repaired.status == 0 && repaired.stdout.contains(Path.name(of: dump)), "\(repaired.stderr)")
        let log = try String(contentsOfFile: f.root + "/copy_log.txt", encoding: .utf8)
        #expect(log.components(separatedBy: "Copy OK").count == 4, "\(log)")

    }

    @Test("retention at the destination over 60 days: daily/weekly/monthly kept, the rest deleted, foreign files untouched, nothing copied only to be deleted; --no-delete deletes nothing", arguments: Kind.allCases)
    func retention(_ kind: Kind) throws {
        let f = try Fixture(kind)
        defer { f.remove() }
        for day in 0..<60 { try f.backup("db", daysAgo: day, size: 200) }
        try f.putForeign("PostgreSQL/notes.txt", "mine")
        let out = try f.copy(["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "3"])
        #expect(out.status == 0, "\(out.stderr)")
        let copies = f.remote().filter { $0.hasSuffix(".sql.age") }
        // 7 days, then the newest of 4 weeks and 3 months (some overlap): far fewer than 60.
        #expect(copies.count >= 7 && copies.count <= 14, "\(copies)")
        #expect(f.remote().contains("PostgreSQL/notes.txt"))
        let second = try f.copy(["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "3"])
        #expect(second.status == 0 && second.stdout.isEmpty && second.stderr.contains("0 deleted"), "nothing copied to be deleted: \(second.stderr)")
        // Tighter retention deletes; --no-delete does not.
        let kept = try f.copy(["--keep-daily", "2", "--keep-weekly", "0", "--keep-monthly", "0", "--no-delete"])
        #expect(kept.status == 0 && f.remote().filter { $0.hasSuffix(".sql.age") }.count == copies.count, "\(kept.stderr)")
        if kind == .folder, let local = f.local {
            // A listing that fails (here a file where the snapshots' folder should be: as root,
            // no permission can make a folder unreadable): nothing is deleted, not even where
            // the listing worked.
            try "not a folder".write(toFile: local + "/Repository", atomically: false, encoding: .utf8)
            let failed = try f.copy(["--keep-daily", "2", "--keep-weekly", "0", "--keep-monthly", "0"])
            #expect(failed.status == 74 && failed.stderr.contains("cannot be listed"), "\(failed.stderr)")
            #expect(f.remote().filter { $0.hasSuffix(".sql.age") }.count == copies.count, "deleted although the listing failed")
            unlink(local + "/Repository")
        }
        let tight = try f.copy(["--keep-daily", "2", "--keep-weekly", "0", "--keep-monthly", "0"])
        #expect(tight.status == 0 && f.remote().filter { $0.hasSuffix(".sql.age") }.count == 2, "\(f.remote())")
        #expect(f.remote().contains("PostgreSQL/notes.txt"))
    }

    @Test("kill -9 mid-upload never leaves a final name that does not decrypt; the next run repairs", arguments: Kind.allCases)
    func crash(_ kind: Kind) throws {
        let f = try Fixture(kind)
        defer { f.remove() }
        try f.backup("db", daysAgo: 0, size: 8 << 20)
        var random = SeededRandom(seed: 14)
        var env = Harness.environment
        env["XDG_CONFIG_HOME"] = Harness.configHome
        for (k, v) in f.env { env[k] = v }
        for _ in 0..<20 {
            let p = try spawn(Harness.binDir + "/cdb-copy", ["--to", f.dest, "--recipient", f.key.recipient], environment: env.compactMapValues { $0 },
                              unset: f.env.filter { $0.value == nil }.map(\.key))
            usleep(UInt32.random(in: 0...400_000, using: &random))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            for name in f.remote() where name.hasSuffix(".age") && !name.contains(".cdb-tmp-") {
                let opened = try Harness.run("age", ["-d", "-i", f.key.file, "-o", "/dev/null", try f.fetch(name)])
                #expect(opened.status == 0, "\(name) is under its final name but does not decrypt")
            }
        }
        // rclone dies with cdb-copy (no orphaned remote control or upload left running).
        do {
            try waitFor(seconds: 10) { try Harness.run("pgrep", ["-f", "rclone (rcd --rc-addr 127.0.0.1:0|rcat .*\(f.dest))"]).status != 0 }
        } catch {
            Issue.record("rclone outlived a killed cdb-copy: \((try? Harness.run("pgrep", ["-af", "rclone"]).stdout) ?? "")")
        }
        let repaired = try f.copy()
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(f.remote().filter { $0.hasSuffix(".age") }.count == 1 && !f.remote().contains { $0.contains(".cdb-tmp-") }, "\(f.remote())")
        // A run with nothing to copy: the upload it started while listing leaves nothing behind.
        let idle = try f.copy()
        #expect(idle.status == 0 && idle.stdout.isEmpty, "\(idle.stderr)")
        #expect(!f.remote().contains { $0.contains(".cdb-tmp-") }, "\(f.remote())")
    }

    @Test("after an upload: a copy the destination reports with another hash or size than was sent is deleted and reported; a right one stays")
    func checkedAfterUpload() throws {
        // rclone's local backend reports SHA-256: the same remote control and calls as for any
        // remote, on a folder this test can change behind cdb's back.
        let dir = try Harness.temporaryDirectory("copy-check")
        defer { Harness.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/PostgreSQL", withIntermediateDirectories: true)
        let name = "PostgreSQL/cdb_backup_2026-01-01_0000.sql.age"
        let bytes = Data("the copy as it arrived\n".utf8)
        let right = try Harness.sha256Bytes(bytes)
        let target = RcloneTarget(remote: ":local:" + dir, rclone: "rclone")
        let copy = OffsiteCopy(request: .init(root: dir), target: target, reporter: Reporter(level: .quiet))
        #expect(try target.reportedHash() == .sha256)
        func put() throws { try bytes.write(to: URL(fileURLWithPath: dir + "/" + name)) }
        try put()
        try copy.check(name, .init(bytes: Int64(bytes.count), sha256: right, reported: right), .sha256)
        #expect(FileManager.default.fileExists(atPath: dir + "/" + name), "a right copy stays")
        #expect { try copy.check(name, .init(bytes: Int64(bytes.count), sha256: right, reported: String(repeating: "0", count: 64)), .sha256) } throws: {
            "\($0)".contains("differs from what was sent")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/" + name), "a corrupted copy is deleted")
        try put()
        #expect { try copy.check(name, .init(bytes: Int64(bytes.count) + 1, sha256: right, reported: right), .sha256) } throws: {
            "\($0)".contains("bytes where")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/" + name))
    }

    @Test("round trip: the session's background copy restores with one command (cdb-restore --from DEST --latest --check), checks with cdb-verify --from, a snapshot restores by name; no download is left behind; a damaged copy fails", arguments: Kind.allCases)
    func roundTrip(_ kind: Kind) throws {
        let session = try SessionFixture()
        let f = try Fixture(kind)
        let scratch = try Harness.temporaryDirectory("from-tmp")
        defer { session.remove(); f.remove(); Harness.remove(scratch) }
        var env = session.environment
        for (k, v) in f.env where k != "CDB_BACKUP_ROOT" { env[k] = v }
        env["CDB_COPY_TO"] = f.dest
        env["CDB_RECIPIENTS"] = f.key.recipient
        env["TMPDIR"] = scratch
        let started = try Harness.cdb("cdb-pre-session", [], environment: env, directory: session.repo.path)
        #expect(started.status == 0, "\(started.stderr)")
        try waitFor(seconds: 60) { ((try? String(contentsOfFile: session.root + "/copy_log.txt", encoding: .utf8)) ?? "").contains("Copy OK") }
        let copies = f.remote()
        #expect(copies.contains { $0.hasPrefix("PostgreSQL/") && $0.hasSuffix(".age") } && copies.contains { $0.hasPrefix("Repository/") && $0.hasSuffix(".zip.age") }, "\(copies)")

        // Restoring needs the identity, and nothing of the backup root.
        env["CDB_BACKUP_ROOT"] = scratch + "/no-root-here"
        let check = try Harness.cdb("cdb-restore", ["--from", f.dest, "--latest", "--identity", f.key.file, "--check"], environment: env)
        #expect(check.status == 0 && check.stderr.contains("OK:"), "\(check.stderr)")
        let verified = try Harness.cdb("cdb-verify", ["--from", f.dest, "--latest", "--identity", f.key.file], environment: env)
        #expect(verified.status == 0 && verified.stderr.components(separatedBy: "OK  ").count == 3, "\(verified.stderr)")
        #expect(verified.stderr.contains(f.dest + "/PostgreSQL/"), "messages name the copy at its destination: \(verified.stderr)")
        // The scheduled check's second step: the newest copies at every CDB_COPY_TO destination;
        // one that cannot be reached is its exit code, the others are still checked.
        let scheduled = try Harness.cdb("cdb-verify", ["--latest", "--copies", "--identity", f.key.file], environment: env)
        #expect(scheduled.status == 0 && scheduled.stderr.components(separatedBy: "OK  ").count == 3, "\(scheduled.stderr)")
        let partly = try Harness.cdb("cdb-verify", ["--latest", "--copies", "--identity", f.key.file],
                                     environment: env.merging(["CDB_COPY_TO": scratch + "/unplugged " + f.dest]) { $1 })
        #expect(partly.status == 69 && partly.stderr.contains("unplugged") && partly.stderr.components(separatedBy: "OK  ").count == 3, "\(partly.stderr)")
        let none = try Harness.cdb("cdb-verify", ["--latest", "--copies"], environment: env.merging(["CDB_COPY_TO": nil]) { $1 })
        #expect(none.status == 0 && none.stderr.contains("nothing to check"), "\(none.stderr)")
        let snapshot = try #require(copies.first { $0.hasPrefix("Repository/") && $0.hasSuffix(".zip.age") })
        let restored = try Harness.cdb("cdb-restore", ["--from", f.dest, "--identity", f.key.file, Path.name(of: snapshot), scratch + "/files"], environment: env)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(FileManager.default.fileExists(atPath: scratch + "/files/strategy.py"))
        let noKey = try Harness.cdb("cdb-restore", ["--from", f.dest, "--latest", "--check"], environment: env.merging(["CDB_IDENTITY": nil]) { $1 })
        #expect(noKey.status != 0, "an encrypted copy without an identity does not restore: \(noKey.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).sorted() == ["files"], "downloads are removed")

        // cdb-copy --verify fetches each new copy back and decrypts and checks it; it needs the identity.
        try f.delete(snapshot)
        var copyEnv = env
        copyEnv["CDB_BACKUP_ROOT"] = session.root
        let noIdentity = try Harness.cdb("cdb-copy", ["--verify"], environment: copyEnv.merging(["CDB_IDENTITY": nil]) { $1 })
        #expect(noIdentity.status == 78 && noIdentity.stderr.contains("--identity"), "\(noIdentity.stderr)")
        let reverified = try Harness.cdb("cdb-copy", ["--verify", "--identity", f.key.file], environment: copyEnv)
        #expect(reverified.status == 0 && reverified.stdout.contains(Path.name(of: snapshot)), "\(reverified.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).sorted() == ["files"], "downloads are removed")

        // A copy damaged at the destination: cdb-verify says so; the restore refuses it.
        let dump = try #require(copies.first { $0.hasPrefix("PostgreSQL/") && $0.hasSuffix(".age") })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: try f.fetch(dump)))
        bytes[bytes.count / 2] ^= 0x40
        try f.put(dump, bytes)
        let damaged = try Harness.cdb("cdb-verify", ["--from", f.dest, "--identity", f.key.file, Path.name(of: dump)], environment: env)
        #expect(damaged.status != 0 && damaged.stderr.contains("FAILED"), "\(damaged.stderr)")
        let refused = try Harness.cdb("cdb-restore", ["--from", f.dest, "--latest", "--identity", f.key.file, "--check"], environment: env)
        #expect(refused.status != 0, "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).sorted() == ["files"], "downloads are removed after a failure too")
    }

    /// Runs cdb-copy on a thread of its own; `during` runs meanwhile; returns its output.
    static func copyWhile(_ f: Fixture, environment: [String: String?] = [:], _ during: () throws -> Void) throws -> Harness.Output {
        final class Box: @unchecked Sendable { var out: Harness.Output?; var error: Error? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { box.out = try f.copy(environment: environment) } catch { box.error = error }
            done.signal()
        }
        defer { done.wait() }
        try during()
        done.wait()
        done.signal()  // for the deferred wait
        if let error = box.error { throw error }
        return box.out!
    }

    @Test("the server stopped mid-upload: exit 69 naming the destination; nothing broken under a final name", arguments: [Kind.sftp, .s3])
    func serverStopped(_ kind: Kind) throws {
        let f = try Fixture(kind)
        defer { f.remove() }
        let dump = try f.backup("db", daysAgo: 0, size: 16 << 20)
        // rclone limited to 10 MB/s (its RCLONE_BWLIMIT): the upload surely runs when the server goes.
        let out = try Self.copyWhile(f, environment: ["RCLONE_BWLIMIT": "10M"]) {
            // As soon as the upload runs (its rclone rcat exists), the server goes away.
            try waitFor(seconds: 30) { try Harness.run("pgrep", ["-f", "rclone rcat .*" + Path.name(of: dump)]).status == 0 }
            if let server = f.server { server.halt() } else { f.s3!.stop() }
        }
        #expect(out.status == 69, "\(out.stderr)")
        #expect(out.stderr.contains("error:") && out.stderr.contains(f.dest), "\(out.stderr)")
        #expect(out.stdout.isEmpty, "nothing is reported written")
        if let local = f.local {
            let finals = (FileManager.default.enumerator(atPath: local)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".age") && !$0.contains(".cdb-tmp-") }
            #expect(finals.isEmpty, "no final name after an interrupted upload: \(finals)")
        }
    }

    @Test("the destination full (an SFTP server on a small tmpfs): exit 74 saying so; nothing under a final name")
    func destinationFull() throws {
        let f = try Fixture(.sftp)
        defer { f.remove() }
        let local = try #require(f.local)
        let mounted = try Harness.run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", local])
        defer { _ = try? Harness.run("umount", [local]) }
        try #require(mounted.status == 0, "this test needs to mount a tmpfs (root): \(mounted.stderr)")
        try f.backup("db", daysAgo: 0, size: 12 << 20)
        let out = try f.copy()
        #expect(out.status == 74, "\(out.stderr)")
        #expect(out.stderr.contains("the destination is full"), "\(out.stderr)")
        #expect(!f.remote().contains { $0.hasSuffix(".age") && !$0.contains(".cdb-tmp-") }, "\(f.remote())")
    }

    @Test("secrets: rclone's credentials and the remote control's password are on no command line, in no output and no log")
    func secretsStayOut() throws {
        let f = try Fixture(.s3)
        defer { f.remove() }
        try f.backup("db", daysAgo: 0, size: 24 << 20)
        var commandLines = Set<String>()
        var controlPassword: String?
        // The user's own rclone logging, as verbose as it goes, to a file: cdb still finds its
        // remote control, and the control's password reaches no log.
        let rcloneLog = f.root + "/rclone-debug.log"
        let out = try Self.copyWhile(f, environment: ["RCLONE_LOG_FILE": rcloneLog, "RCLONE_LOG_LEVEL": "DEBUG"]) {
            let deadline = Date().addingTimeInterval(60)
            var started = false
            while Date() < deadline {
                var sawCopy = false
                for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
                    guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !raw.isEmpty else { continue }
                    let line = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                    if line.contains("cdb-copy") { sawCopy = true }
                    if line.contains("rclone") || line.contains("/cdb-") { commandLines.insert(line) }
                    if controlPassword == nil, line.contains("rclone rcd"), let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") {
                        controlPassword = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                            .first { $0.hasPrefix("RCLONE_RC_PASS=") }.map { String($0.dropFirst("RCLONE_RC_PASS=".count)) }
                    }
                }
                if sawCopy { started = true } else if started { break }
                usleep(10_000)
            }
        }
        #expect(out.status == 0, "\(out.stderr)")
        let password = try #require(controlPassword, "the remote control was seen, with its password in its environment")
        #expect(commandLines.contains { $0.contains("rclone rcat") }, "the sample saw the upload: \(commandLines)")
        let log = (try? String(contentsOfFile: f.root + "/copy_log.txt", encoding: .utf8)) ?? ""
        for secret in ["s3-secret-7f3a9c", password] {
            #expect(!commandLines.contains { $0.contains(secret) }, "a secret on a command line")
            #expect(!out.stdout.contains(secret) && !out.stderr.contains(secret) && !log.contains(secret))
        }
        let debug = (try? String(contentsOfFile: rcloneLog, encoding: .utf8)) ?? ""
        #expect(debug.contains("rcat"), "the upload logged as the user asked: \(debug.prefix(300))")
        #expect(!debug.contains(password) && !debug.contains("rc-pass"), "the remote control's password in rclone's log")
    }

    @Test("cdb-pre-session with CDB_COPY_TO starts cdb-copy in the background after its backups and shows the last copy run's outcome")
    func fromSession() throws {
        let session = try SessionFixture(database: false)
        let f = try Fixture(.folder)
        defer { session.remove(); f.remove() }
        var env = session.environment
        env["CDB_COPY_TO"] = f.dest
        env["CDB_RECIPIENTS"] = f.key.recipient
        let first = try Harness.cdb("cdb-pre-session", ["--skip-db"], environment: env, directory: session.repo.path)
        #expect(first.status == 0 && first.stderr.contains("Off-site copy: started in the background → \(f.dest); first run"), "\(first.stderr)")
        do {
            try waitFor(seconds: 30) { f.remote().contains { $0.hasPrefix("Repository/") && $0.hasSuffix(".zip.age.sha256") } }
        } catch {
            Issue.record("no copy: \(f.remote()) log: \((try? String(contentsOfFile: session.root + "/copy_log.txt", encoding: .utf8)) ?? "none") root: \(Harness.files(in: session.root))")
            throw error
        }
        try waitFor(seconds: 30) { ((try? String(contentsOfFile: session.root + "/copy_log.txt", encoding: .utf8)) ?? "").contains("Copy OK") }
        let second = try Harness.cdb("cdb-pre-session", ["--skip-db"], environment: env, directory: session.repo.path)
        #expect(second.stderr.contains("last run OK 0 min ago") || second.stderr.contains("last run OK 1 min ago"), "\(second.stderr)")
        // The second session's background copy ends first (else its "Copy OK" could land after
        // the failure below and be the last run).
        try waitFor(seconds: 30) { ((try? String(contentsOfFile: session.root + "/copy_log.txt", encoding: .utf8)) ?? "").components(separatedBy: "Copy OK").count >= 3 }
        // A copy that cannot run (no recipient) is reported by the next session.
        env["CDB_RECIPIENTS"] = nil
        _ = try Harness.cdb("cdb-pre-session", ["--skip-db"], environment: env, directory: session.repo.path)
        try waitFor(seconds: 30) { ((try? String(contentsOfFile: session.root + "/copy_log.txt", encoding: .utf8)) ?? "").contains("Copy FAILED") }
        let third = try Harness.cdb("cdb-pre-session", ["--skip-db"], environment: env, directory: session.repo.path)
        #expect(third.stderr.contains("last run FAILED") && third.stderr.contains("no recipient"), "\(third.stderr)")
    }

    @Test("errors: an unmounted folder or a stopped server 69, a wrong SSH key 78, no recipient 78; nothing written")
    func errors() throws {
        let f = try Fixture(.sftp)
        defer { f.remove() }
        try f.backup("db", daysAgo: 0)
        let unmounted = try Harness.cdb("cdb-copy", ["--to", f.root + "/no-such-usb", "--recipient", f.key.recipient], environment: f.env)
        #expect(unmounted.status == 69 && unmounted.stderr.contains("is the disk mounted"), "\(unmounted.stderr)")
        let stranger = try f.copy(environment: ["RCLONE_CONFIG_T_KEY_FILE": f.server!.dir + "/stranger"])
        #expect(stranger.status == 78, "\(stranger.stderr)")
        let noKey = try Harness.cdb("cdb-copy", ["--to", f.dest], environment: f.env)
        #expect(noKey.status == 78 && noKey.stderr.contains("no recipient"), "\(noKey.stderr)")
        #expect(f.remote().isEmpty)
        f.server!.halt()
        try waitFor { try Harness.run("pgrep", ["-f", f.server!.dir + "/sshd_config"]).status != 0 }
        let down = try f.copy()
        #expect(down.status == 69, "\(down.stderr)")
        #expect(!down.stderr.contains(f.server!.clientKey), "the key file's path is not a secret, but rclone's arguments stay unprinted")
    }
}
