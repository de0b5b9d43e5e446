import Foundation
import Testing

/// Runs the built programs and the real clients (psql, pg_dump, git, unzip, sha256sum).
enum Harness {
    static let environment = ProcessInfo.processInfo.environment
    /// Under CI, or under scripts/test.sh (which starts the server): tests that need PostgreSQL fail without it.
    static let underCI = environment["CI"] == "true" || environment["CDB_REQUIRE_PG"] == "1"

    /// The folder holding the built programs: CDB_BIN_DIR, else next to the test bundle.
    static let binDir: String = {
        if let dir = environment["CDB_BIN_DIR"], !dir.isEmpty { return dir }
        var url = Bundle.main.bundleURL
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("cdb-pg-dump").path) { return url.path }
            url.deleteLastPathComponent()
        }
        // .build/debug relative to the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug").path
    }()

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutData: Data
    }

    /// Runs an executable (a path, or a name looked up on PATH) and waits for it.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], environment extra: [String: String?] = [:],
                    directory: String? = nil, stdin: Data? = nil) throws -> Output {
        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + arguments
        }
        var env = Self.environment
        env["NO_COLOR"] = nil
        // The user's own config folder is never touched: each test run has its own.
        env["XDG_CONFIG_HOME"] = configHome
        for (key, value) in extra { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try startUnblocked(process)
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so that neither fills up. The blocking read gets a thread
        // of its own: the global queue has one thread per core, and on a 2-core CI machine two
        // long runs (a dump waiting 240 s for a lock) took both, so a concurrent psql in the same
        // test never got its stderr read and hung until they ended.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }

    /// Every program: the folders Sources/cdb-* (as Package.swift and install.sh list them).
    static let programs: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: packageRoot + "/Sources")) ?? [])
        .filter { $0.hasPrefix("cdb-") }.sorted()

    /// Runs one of our programs.
    @discardableResult
    static func cdb(_ name: String, _ arguments: [String], environment: [String: String?] = [:], directory: String? = nil) throws -> Output {
        try run(binDir + "/" + name, arguments, environment: environment, directory: directory)
    }

    /// Starts `process` as a terminal would: no signal blocked. The test runner's threads block
    /// SIGHUP, SIGINT and SIGTERM, and a child inherits the mask of the thread that starts it
    /// (then `terminate()` and Ctrl-C would do nothing).
    static func startUnblocked(_ process: Process) throws {
        var none = sigset_t(), old = sigset_t()
        sigfillset(&none)
        pthread_sigmask(SIG_UNBLOCK, &none, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        try process.run()
    }

    /// `XDG_CONFIG_HOME` of every program the tests run (enabled repositories, settings file).
    static let configHome: String = {
        let path = NSTemporaryDirectory() + "cdb-test-config-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// `cdb-pre-session enable` for the repository holding `directory`, as a user would.
    static func enable(_ directory: String, environment: [String: String?] = [:]) throws {
        let out = try cdb("cdb-pre-session", ["enable", "--repo", directory], environment: environment)
        if out.status != 0 { throw Failure("cdb-pre-session enable failed: \(out.stderr)") }
    }

    /// A fresh temporary folder, removed by the caller with `remove`.
    static func temporaryDirectory(_ label: String = "cdb-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func files(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func sha256Bytes(_ data: Data) throws -> String {
        String(try run("sha256sum", [], stdin: data).stdout.prefix(64))
    }

    static func sha256(_ path: String) throws -> String {
        // Through stdin: sha256sum escapes names with newlines in its output.
        let out = try run("sh", ["-c", "sha256sum < \"$1\"", "sh", path])
        return String(out.stdout.prefix(64))
    }
}

/// A PostgreSQL server the tests can use, with its own client programs as judges.
struct Server: Sendable, CustomStringConvertible {
    var major: String
    /// The folder of its psql and pg_dump; empty for the ones on PATH.
    var bindir: String
    var host: String?
    var port: String?

    /// The server scripts/with-postgres.sh started first (PGHOST, PGPORT; Debian's PostgreSQL).
    static let main = Server(major: "main", bindir: "", host: nil, port: nil)

    /// The other majors `with-postgres.sh --matrix` started: `CDB_TEST_MATRIX` holds
    /// `major:bindir:socketdir:port` entries separated by spaces.
    static let matrix: [Server] = (Harness.environment["CDB_TEST_MATRIX"] ?? "").split(separator: " ").compactMap { entry in
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4 else { return nil }
        return Server(major: parts[0], bindir: parts[1], host: parts[2], port: parts[3])
    }

    var description: String { major == "main" ? "PostgreSQL (Debian's)" : "PostgreSQL \(major)" }

    func tool(_ name: String) -> String { bindir.isEmpty ? name : bindir + "/" + name }

    /// The environment that points libpq (and cdb) at this server.
    var environment: [String: String?] {
        guard let host, let port else { return [:] }
        return ["PGHOST": host, "PGPORT": port, "PGUSER": "postgres"]
    }
}

/// The throwaway PostgreSQL server that scripts/with-postgres.sh started (PGHOST, PGPORT, PGUSER).
enum PG {
    static let available: Bool = {
        guard Harness.environment["PGHOST"] != nil else { return false }
        return (try? Harness.run("psql", ["-X", "-At", "-d", "postgres", "-c", "SELECT 1"]).status) == 0
    }()

    /// Tests that need the server run when it is there, and under CI always (so that they fail).
    static var enabled: Bool { available || Harness.underCI }

    static func psql(_ database: String, _ sql: String, file: String? = nil, on server: Server = .main) throws -> String {
        var args = ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database]
        if let file { args += ["-f", file] } else { args += ["-c", sql] }
        let out = try Harness.run(server.tool("psql"), args, environment: server.environment)
        if out.status != 0 { throw Failure("psql on \(database) failed: \(out.stderr)") }
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func createDatabase(_ prefix: String, on server: Server = .main) throws -> String {
        let name = uniqueName(prefix)
        _ = try psql("postgres", "CREATE DATABASE \(name)", on: server)
        return name
    }

    static func dropDatabase(_ name: String, on server: Server = .main) {
        // A database with subscriptions cannot be dropped: drop them first (they own no slot).
        let subscriptions = (try? psql("postgres", """
            SELECT quote_ident(s.subname) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = '\(name)'
            """, on: server)) ?? ""
        for subscription in subscriptions.split(separator: "\n") {
            _ = try? psql(name, "ALTER SUBSCRIPTION \(subscription) SET (slot_name = NONE); DROP SUBSCRIPTION \(subscription)", on: server)
        }
        _ = try? psql("postgres", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)", on: server)
    }

    /// A database holding the trading fixture at `scale`.
    static func tradingDatabase(scale: Int = 1, on server: Server = .main) throws -> String {
        let name = try createDatabase("trading", on: server)
        _ = try psql(name, "", file: Harness.packageRoot + "/fixtures/trading_schema.sql", on: server)
        let out = try Harness.run(server.tool("psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "scale=\(scale)", "-d", name,
                                                        "-f", Harness.packageRoot + "/fixtures/trading_data.sql"], environment: server.environment)
        if out.status != 0 { throw Failure("loading the trading data failed: \(out.stderr)") }
        return name
    }

    /// Roles are cluster-wide: two tests creating them at once would collide.
    private static let roleLock = NSLock()

    /// A new database loaded from `fixtures/FILE`, after creating the cluster-wide `roles` it
    /// needs (when missing).
    static func fixtureDatabase(_ prefix: String, file: String, roles: [String], on server: Server) throws -> String {
        roleLock.lock()
        defer { roleLock.unlock() }
        let creates = roles.map { role in
            "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)') THEN CREATE ROLE \"\(role)\"; END IF;"
        }
        _ = try psql("postgres", "DO $$ BEGIN \(creates.joined(separator: " ")) END $$", on: server)
        let name = try createDatabase(prefix, on: server)
        _ = try psql(name, "", file: Harness.packageRoot + "/fixtures/" + file, on: server)
        return name
    }

    /// A database holding fixtures/awkward_schema.sql (and the roles it needs).
    static func awkwardDatabase(on server: Server = .main) throws -> String {
        try fixtureDatabase("awkward", file: "awkward_schema.sql", roles: ["cdb_reader", "Mixed Role"], on: server)
    }

    /// A database holding fixtures/objects_schema.sql: the object kinds real databases hold
    /// beyond tables (aggregates, rules, large objects, …) and the corner cases of each.
    static func objectsDatabase(on server: Server = .main) throws -> String {
        try fixtureDatabase("objects", file: "objects_schema.sql", roles: ["cdb_reader", "cdb_owner"], on: server)
    }

    /// A psql session holding ACCESS EXCLUSIVE on `table` for `seconds`; returns once it holds it.
    static func holdExclusiveLock(_ database: String, table: String, seconds: Int) throws -> Process {
        let holder = try spawn("/usr/bin/env", ["psql", "-X", "-q", "-d", database, "-c",
                                                "BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(\(seconds)); COMMIT;"])
        try waitFor {
            try psql(database, "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = '\(table)'::regclass") == "1"
        }
        return holder
    }

    /// `pg_dump --schema-only`, without the `\restrict` lines whose key changes every run.
    static func schema(_ database: String, on server: Server = .main) throws -> String {
        let out = try Harness.run(server.tool("pg_dump"), ["--schema-only", "-d", database], environment: server.environment)
        if out.status != 0 { throw Failure("pg_dump failed: \(out.stderr)") }
        return out.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
    }

    /// An md5 of every table's rows (sorted text form), and every sequence's state. Relations
    /// are listed by OID, so names with newlines are no trouble.
    static func contentDigest(_ database: String, on server: Server = .main) throws -> [String: String] {
        func psql(_ database: String, _ sql: String) throws -> String { try PG.psql(database, sql, on: server) }
        let oids = try psql(database, """
            SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            """).split(separator: "\n").map(String.init)
        var digests: [String: String] = [:]
        for oid in oids {
            let info = try psql(database, "SELECT c.relkind || c.relispopulated::int FROM pg_class c WHERE c.oid = \(oid)")
            let name = try psql(database, "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = \(oid)")
            switch (info.first!, info.last == "1") {
            case ("S", _):
                digests[name] = try psql(database, "SELECT last_value || ',' || is_called FROM \(name)")
            case ("m", false):
                digests[name] = "not populated"
            case (let kind, _):
                let only = kind == "r" ? "ONLY " : ""
                digests[name] = try psql(database, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM \(only)\(name) t")
            }
        }
        return digests
    }
}

/// Holds the backup root's `.lock` with flock(1) for `seconds`, as another cdb run would.
func holdRootLock(_ root: String, shared: Bool, seconds: Int) throws -> Process {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    // --no-fork: the holder is the process itself, so terminate() ends the hold.
    let holder = try spawn("/usr/bin/flock", ["--no-fork", shared ? "--shared" : "--exclusive", root + "/.lock", "sleep", "\(seconds)"])
    // Held once an exclusive attempt of our own fails.
    try waitFor(seconds: 10) { try Harness.run("/usr/bin/flock", ["--nonblock", "--exclusive", root + "/.lock", "true"]).status != 0 }
    return holder
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Fixtures and helpers shared by the suites

/// A real git repository in a temporary folder, driven by the git CLI.
struct TestRepo {
    let path: String

    init(_ label: String = "repo") throws {
        path = try Harness.temporaryDirectory(label)
        try git("init", "-q", "-b", "main")
        try git("config", "user.email", "trader@example.com")
        try git("config", "user.name", "Trader Joe")
        try git("config", "commit.gpgsign", "false")
    }

    init(existing path: String) { self.path = path }

    @discardableResult
    func git(_ args: String...) throws -> String { try gitArgs(args) }

    @discardableResult
    func gitArgs(_ args: [String], environment: [String: String?] = [:]) throws -> String {
        let out = try Harness.run("git", ["-C", path] + args, environment: environment)
        if out.status != 0 { throw Failure("git \(args.joined(separator: " ")) failed: \(out.stderr)") }
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(_ relative: String, _ text: String, mode: Int? = nil) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: false, encoding: .utf8)
        if let mode { chmod(full, mode_t(mode)) }
    }

    func writeBytes(_ relative: String, _ bytes: [UInt8]) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
    }

    func link(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path + "/" + relative, withDestinationPath: target)
    }

    func commitAll(_ message: String) throws {
        try git("add", "-A")
        try git("commit", "-q", "-m", message)
    }

    /// Files with awkward names and kinds: spaces, unicode, leading dashes, newlines, an
    /// executable, links, binary data with every byte value.
    func populateAwkward() throws {
        try write("README.md", "# trading\n")
        try write("src/engine.py", "print('hi')\n")
        try write("bin/run.sh", "#!/bin/sh\necho run\n", mode: 0o755)
        try write("dir with space/file with space.txt", "spaces\n")
        try write("ünïcødé/日本語.txt", "unicode\n")
        try write("-leading-dash.txt", "dash\n")
        try write("new\nline.txt", "newline in name\n")
        try writeBytes("data/all-bytes.bin", (0..<4096).map { UInt8($0 % 256) })
        try writeBytes("data/empty.bin", [])
        try link("link-to-readme", to: "README.md")
        try link("dir with space/link up", to: "../src/engine.py")
        try link("dangling", to: "does/not/exist")
    }

    func remove() { Harness.remove(path) }
}

/// What a folder holds: for each path its kind, exec bit and bytes or link target.
func treeFingerprint(_ root: String) throws -> [String: String] {
    var result: [String: String] = [:]
    let fm = FileManager.default
    func visit(_ relative: String) throws {
        let full = relative.isEmpty ? root : root + "/" + relative
        for name in try fm.contentsOfDirectory(atPath: full) {
            let rel = relative.isEmpty ? name : relative + "/" + name
            if rel == ".git" { continue }
            var info = stat()
            lstat(root + "/" + rel, &info)
            switch info.st_mode & S_IFMT {
            case S_IFDIR: try visit(rel)
            case S_IFLNK: result[rel] = "link:" + (try fm.destinationOfSymbolicLink(atPath: root + "/" + rel))
            default:
                let exec = info.st_mode & 0o100 != 0 ? "x" : "-"
                result[rel] = "file:\(exec):" + (try Harness.sha256(root + "/" + rel))
            }
        }
    }
    try visit("")
    return result
}

/// A git repository and a trading database to run sessions against.
struct SessionFixture {
    let repo: TestRepo
    let root: String
    let database: String?
    let bin: String      // holds the fake `claude`
    let log: String

    init(database: Bool = true) throws {
        repo = try TestRepo("session")
        try repo.write("strategy.py", "BUY = True\n")
        try repo.commitAll("strategy")
        root = try Harness.temporaryDirectory("cdb-root")
        self.database = database ? try PG.tradingDatabase() : nil
        bin = try Harness.temporaryDirectory("fakebin")
        log = bin + "/claude.log"
        // The session command: notes whether a dump existed when it started, its arguments, exits 7.
        try """
            #!/bin/sh
            if ls "$CDB_BACKUP_ROOT"/PostgreSQL/cdb_backup_*.sql >/dev/null 2>&1; then echo "backup-before" >> '\(log)'; fi
            for a in "$@"; do echo "arg:$a" >> '\(log)'; done
            exit 7
            """.write(toFile: bin + "/claude", atomically: false, encoding: .utf8)
        chmod(bin + "/claude", 0o755)
        try Harness.enable(repo.path)
    }

    var environment: [String: String?] {
        ["CDB_BACKUP_ROOT": root, "PGDATABASE": database, "PATH": bin + ":" + Harness.binDir + ":" + (Harness.environment["PATH"] ?? ""),
         "NO_COLOR": "1", "HOME": bin, "CDB_SESSION_COMMANDS": nil, "CDB_HOOKS": nil, "CDB_BLOCK_ON_FAILURE": nil]
    }

    var calls: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    func resetLog() { unlink(log) }
    var dumps: [String] { Harness.files(in: root + "/PostgreSQL").filter { $0.hasSuffix(".sql") } }
    var snapshots: [String] { Harness.files(in: root + "/Repository").filter { $0.hasSuffix(".zip") } }

    func remove() {
        repo.remove()
        Harness.remove(root)
        Harness.remove(bin)
        if let database { PG.dropDatabase(database) }
    }
}

/// Polls `condition` every 50 ms for up to `seconds`.
func waitFor(seconds: Double = 15, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw Failure("timed out waiting")
}

/// A short unified-looking diff for failure messages.
func lineDiff(_ a: String, _ b: String, limit: Int = 40) -> String {
    let left = a.split(separator: "\n", omittingEmptySubsequences: false)
    let right = b.split(separator: "\n", omittingEmptySubsequences: false)
    let diff = right.difference(from: left)
    var lines: [String] = []
    for change in diff {
        switch change {
        case let .remove(offset, element, _): lines.append("- [\(offset + 1)] \(element)")
        case let .insert(offset, element, _): lines.append("+ [\(offset + 1)] \(element)")
        }
        if lines.count >= limit { lines.append("…"); break }
    }
    return lines.joined(separator: "\n")
}

/// One of cdb's promises (README), checked over trials; prints `promise NAME: N trials, F failures`.
final class PromiseTally: @unchecked Sendable {
    let name: String
    private(set) var trials = 0
    private(set) var failures: [String] = []
    init(_ name: String) { self.name = name }

    func trial(_ ok: Bool, _ why: @autoclosure () -> String) {
        trials += 1
        if !ok { failures.append(why()) }
    }

    func report() {
        print("promise \(name): \(trials) trials, \(failures.count) failures")
        #expect(failures.isEmpty, "\(name): \(failures.prefix(5).joined(separator: " | "))")
    }
}

/// Starts a program with no pipes of ours (so a SIGKILL leaves nothing waiting on them).
func spawn(_ path: String, _ args: [String], directory: String? = nil, environment: [String: String] = [:], unset: [String] = []) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    var all = Harness.environment.merging(["XDG_CONFIG_HOME": Harness.configHome]) { $1 }.merging(environment) { $1 }
    for key in unset { all[key] = nil }
    p.environment = all
    try Harness.startUnblocked(p)
    return p
}

/// Files (name → sha256) in a folder.
func digests(_ folder: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for name in Harness.files(in: folder) where !name.hasPrefix(".") && name != "backup_log.txt" {
        result[name] = try Harness.sha256(folder + "/" + name)
    }
    return result
}

/// A login role that must authenticate with a password (scram), for the credential tests.
/// A login role with a password, of its own for each test (roles are cluster-wide: two tests
/// setting one role's password at once would break each other). pg_hba asks every member of
/// `cdb_pw_users` for its password.
struct PasswordRole {
    let name: String
    private static let lock = NSLock()

    init(password: String) throws {
        name = PG.uniqueName("cdb_pw")
        let escaped = password.replacingOccurrences(of: "'", with: "''")
        Self.lock.lock()
        defer { Self.lock.unlock() }
        _ = try PG.psql("postgres", """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdb_pw_users') THEN CREATE ROLE cdb_pw_users NOLOGIN; END IF;
            END $$;
            CREATE ROLE \(name) LOGIN SUPERUSER PASSWORD '\(escaped)' IN ROLE cdb_pw_users;
            """)
        guard let data = Harness.environment["CDB_TEST_PGDATA"] else { throw Failure("CDB_TEST_PGDATA is not set (run under scripts/with-postgres.sh)") }
        let hba = data + "/pg_hba.conf"
        let current = try String(contentsOfFile: hba, encoding: .utf8)
        let line = "local all +cdb_pw_users scram-sha-256\nhost all +cdb_pw_users 127.0.0.1/32 scram-sha-256\n"
        if !current.hasPrefix(line) {
            try (line + current).write(toFile: hba, atomically: false, encoding: .utf8)
            _ = try PG.psql("postgres", "SELECT pg_reload_conf()")
        }
        // The reload is asynchronous: wait until the server asks this role for its password.
        let role = name
        try waitFor(seconds: 10) {
            let out = try Harness.run("psql", ["-X", "-At", "-U", role, "-d", "postgres", "-c", "SELECT 1"], environment: ["PGPASSWORD": "not-" + password])
            return out.status != 0 && out.stderr.contains("password authentication failed")
        }
    }
}
