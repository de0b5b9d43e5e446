import Foundation
import Testing

/// CDB_DB_START_COMMAND: the first session after a reboot finds the database container down;
/// cdb starts it with the user's command, waits for it, and dumps.
@Suite("the database started when it is down", .enabled(if: PG.enabled), .serialized)
struct DatabaseStartTests {
    /// Runs `steps` (bash) against a throwaway cluster of its own (scripts/with-postgres.sh),
    /// with `$START` the pg_ctl command that starts it again and `$STOP` the one that stops it;
    /// each step's stdout, stderr and exit land in `$T/NAME.{out,err,status}` via `step NAME …`.
    static func run(_ steps: String) throws -> (String) -> (out: String, err: String, status: Int32?) {
        let dir = try Harness.temporaryDirectory("dbstart")
        let script = """
            set -u
            T='\(dir)'; B='\(Harness.binDir)'
            asdb=""; [ "$(id -u)" = 0 ] && asdb="runuser -u postgres --"
            START="$asdb '$CDB_TEST_PGBIN/pg_ctl' -D '$CDB_TEST_PGDATA' -l '$T/server.log' -w -o \\"-p $PGPORT -k $PGHOST -c listen_addresses=''\\" start"
            STOP="$asdb '$CDB_TEST_PGBIN/pg_ctl' -D '$CDB_TEST_PGDATA' -m fast -w stop"
            [ -n "$asdb" ] && touch "$T/server.log" && chown postgres "$T/server.log"
            export HOME="$T" XDG_CONFIG_HOME="$T/config" CDB_BACKUP_ROOT="$T/root" NO_COLOR=1
            unset CDB_DB_START_COMMAND CDB_DB_START_WAIT CDB_SESSION_COMMANDS CDB_HOOKS
            mkdir -p "$T/repo" && cd "$T/repo" && git init -q -b main && git config user.email t@e && git config user.name T
            echo "x = 1" > a.py && git add a.py && git commit -qm one
            "$B/cdb-pre-session" enable >/dev/null 2>&1
            step() { local name=$1; shift; "$@" >"$T/$name.out" 2>"$T/$name.err"; echo $? >"$T/$name.status"; }
            \(steps)
            """
        let out = try Harness.run(Harness.packageRoot + "/scripts/with-postgres.sh", ["--load-fixture", "bash", "-c", script],
                                  environment: ["CDB_TEST_PGPORT": "5497"])
        #expect(out.status == 0, "\(out.stdout) \(out.stderr)")
        return { name in
            func read(_ suffix: String) -> String { (try? String(contentsOfFile: "\(dir)/\(name).\(suffix)", encoding: .utf8)) ?? "" }
            return (read("out"), read("err"), Int32(read("status").trimmingCharacters(in: .whitespacesAndNewlines)))
        }
    }

    @Test("down: cdb-pre-session runs the start command, waits, dumps and says so; cdb-pg-dump too, from the config file, even while the command still runs")
    func startsAndDumps() throws {
        let result = try Self.run("""
            eval "$STOP" >/dev/null
            step session env CDB_DB_START_COMMAND="$START" "$B/cdb-pre-session"
            ls "$T/root/PostgreSQL" > "$T/dumps.out"
            eval "$STOP" >/dev/null
            mkdir -p "$T/config/cdb" && printf 'CDB_DB_START_COMMAND=%s; sleep 20\\n' "$START" > "$T/config/cdb/config"
            step dump "$B/cdb-pg-dump" --json
            psql -X -At -c 'SELECT 1' > "$T/up.out" 2>&1
            """)
        let session = result("session")
        #expect(session.status == 0, "\(session.err)")
        #expect(session.err.contains("PostgreSQL: the database was down: started it (CDB_DB_START_COMMAND); it answered after"), "\(session.err)")
        #expect(session.err.contains("[OK] PostgreSQL: ") && session.err.contains("[OK] Repository: "), "\(session.err)")
        #expect(result("dumps").out.contains("cdb_backup_") && result("dumps").out.contains("db_start") == false)
        let dump = result("dump")
        #expect(dump.status == 0 && dump.err.contains("started the database (CDB_DB_START_COMMAND in "), "\(dump.err)")
        #expect(dump.out.contains("\"server_started_after\":") && !dump.out.contains("\"server_started_after\":null"), "\(dump.out)")
        #expect(result("up").out.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
    }

    @Test("a start command that fails, or that starts nothing (2-second wait): 69 saying what happened, the snapshot still made; a repository's .env cannot set the command")
    func failures() throws {
        let result = try Self.run("""
            eval "$STOP" >/dev/null
            step failing env CDB_DB_START_COMMAND='echo "no such service: cdb_postgres" >&2; exit 3' "$B/cdb-pre-session"
            step nothing env CDB_DB_START_COMMAND='true' CDB_DB_START_WAIT=2 "$B/cdb-pre-session" --skip-repo
            printf 'CDB_DB_START_COMMAND=touch %s/pwned\\n' "$T" > "$T/repo/.env"
            step dotenv "$B/cdb-pre-session" --skip-repo
            [ -e "$T/pwned" ] && echo yes > "$T/pwned.out"
            cp "$T/root/PostgreSQL/backup_log.txt" "$T/log.out"
            """)
        let failing = result("failing")
        #expect(failing.status == 69, "\(failing.err)")
        #expect(failing.err.contains("[FAIL] PostgreSQL: the database was unreachable, and CDB_DB_START_COMMAND exited with 3: no such service: cdb_postgres"), "\(failing.err)")
        #expect(failing.err.contains("db_start_output.txt") && failing.err.contains("[OK] Repository: "), "\(failing.err)")
        let nothing = result("nothing")
        #expect(nothing.status == 69 && nothing.err.contains("the server did not answer within 2 s (CDB_DB_START_WAIT)"), "\(nothing.err)")
        let dotenv = result("dotenv")
        #expect(dotenv.status == 69, "\(dotenv.err)")
        #expect(dotenv.err.contains("CDB_DB_START_COMMAND is ignored in a repository's .env"), "\(dotenv.err)")
        #expect(result("pwned").out.isEmpty, "a repository's .env ran a command")
        #expect(result("log").out.contains("Database start FAILED"), "\(result("log").out)")
    }
}

/// Docker named volumes in the repository snapshot. No Docker daemon runs here: the volumes are
/// folders laid out as Docker's data root (`…/volumes/NAME/_data`), which cdb reads when
/// `docker volume inspect` cannot answer (CDB_DOCKER_DATA_ROOT points at it).
@Suite("Docker volumes in the snapshot", .serialized)
struct DockerVolumeTests {
    @Test("a volume's files, modes and links (stored as links) go under volumes/NAME/, a fifo is skipped with a warning; verify and restore; a live PostgreSQL data directory, a bad name and a missing volume are refused")
    func volumes() throws {
        let base = try Harness.temporaryDirectory("docker")
        defer { Harness.remove(base) }
        let data = base + "/docker/volumes/trading_data/_data"
        try FileManager.default.createDirectory(atPath: data + "/config", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: data + "/state/deep", withIntermediateDirectories: true)
        try "threshold: 0.7\n".write(toFile: data + "/config/app.yml", atomically: false, encoding: .utf8)
        chmod(data + "/config/app.yml", 0o640)
        try Data(repeating: 9, count: 300_000).write(to: URL(fileURLWithPath: data + "/state/deep/model.bin"))
        try FileManager.default.createSymbolicLink(atPath: data + "/escape", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: data + "/current", withDestinationPath: "config/app.yml")
        #expect(mkfifo(data + "/pipe", 0o600) == 0)
        let repo = try TestRepo("volumes")
        defer { repo.remove() }
        try repo.write("a.py", "x = 1\n")
        try repo.commitAll("one")
        let root = base + "/root"
        let env: [String: String?] = ["CDB_DOCKER_DATA_ROOT": base + "/docker", "CDB_DOCKER": base + "/no-docker-here", "CDB_BACKUP_ROOT": root]

        let snap = try Harness.cdb("cdb-repo-snap", ["--include-docker-volume", "trading_data"], environment: env, directory: repo.path)
        #expect(snap.status == 0, "\(snap.stderr)")
        #expect(snap.stderr.contains("\(data)/pipe is not a file, folder or link"), "\(snap.stderr)")
        let zip = snap.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let members = try Harness.run("unzip", ["-Z1", zip]).stdout.split(separator: "\n").map(String.init)
        for name in ["volumes/trading_data/config/app.yml", "volumes/trading_data/state/deep/model.bin", "volumes/trading_data/escape", "volumes/trading_data/current"] {
            #expect(members.contains(name), "\(name) in \(members)")
        }
        #expect(!members.contains { $0.contains("pipe") })
        let info = try Harness.run("zipinfo", [zip, "volumes/trading_data/escape"]).stdout
        #expect(info.hasPrefix("l"), "stored as a link: \(info)")
        #expect(try Harness.run("unzip", ["-p", zip, "volumes/trading_data/escape"]).stdout == "/etc/passwd", "the link's target, not what it points to")
        #expect(try Harness.run("unzip", ["-p", zip, "git_metadata.txt"]).stdout.contains("Docker volumes: trading_data"))
        #expect(try Harness.run("unzip", ["-tq", zip]).status == 0)
        let verify = try Harness.cdb("cdb-verify", [zip])
        #expect(verify.status == 0, "\(verify.stderr)")

        let out = base + "/restored"
        let restore = try Harness.cdb("cdb-restore", [zip, out])
        #expect(restore.status == 0, "\(restore.stderr)")
        let volume = out + "/volumes/trading_data"
        #expect(try String(contentsOfFile: volume + "/config/app.yml", encoding: .utf8) == "threshold: 0.7\n")
        #expect((try FileManager.default.attributesOfItem(atPath: volume + "/config/app.yml")[.posixPermissions] as? Int) == 0o640)
        #expect(try Harness.sha256(volume + "/state/deep/model.bin") == Harness.sha256(data + "/state/deep/model.bin"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: volume + "/escape") == "/etc/passwd")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: volume + "/current") == "config/app.yml")
        #expect(restore.stderr.contains("docker run --rm -v trading_data:/volume"), "\(restore.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/a.py"))

        // A running PostgreSQL's data directory: refused, nothing written.
        let pg = base + "/docker/volumes/pgdata/_data/pgdata"
        try FileManager.default.createDirectory(atPath: pg, withIntermediateDirectories: true)
        try "16\n".write(toFile: pg + "/PG_VERSION", atomically: false, encoding: .utf8)
        try "42\n".write(toFile: pg + "/postmaster.pid", atomically: false, encoding: .utf8)
        let before = Harness.files(in: root + "/Repository")
        let live = try Harness.cdb("cdb-repo-snap", ["--include-docker-volume", "pgdata"], environment: env, directory: repo.path)
        #expect(live.status == 78 && live.stderr.contains("the dump (cdb-pg-dump) already covers the database"), "\(live.stderr)")
        let bad = try Harness.cdb("cdb-repo-snap", ["--include-docker-volume", "../../etc"], environment: env, directory: repo.path)
        #expect(bad.status == 64 && bad.stderr.contains("not a Docker volume name"), "\(bad.stderr)")
        let missing = try Harness.cdb("cdb-repo-snap", ["--include-docker-volume", "nope"], environment: env, directory: repo.path)
        #expect(missing.status == 66 && missing.stderr.contains("no docker command") && missing.stderr.contains("volumes/nope/_data"), "\(missing.stderr)")
        #expect(Harness.files(in: root + "/Repository") == before, "refusals write nothing")

        // A Docker that answers (here a stand-in script, as CDB_DOCKER): its mountpoint wins over
        // the data root; an answer that is not an absolute path falls back to the data root.
        let elsewhere = base + "/elsewhere/_data"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try "from inspect\n".write(toFile: elsewhere + "/marker.txt", atomically: false, encoding: .utf8)
        let docker = base + "/docker-cli"
        try """
            #!/bin/sh
            [ "$1 $2" = "volume inspect" ] || exit 2
            case "$5" in trading_data) echo '\(elsewhere)' ;; odd) echo 'relative/path' ;; *) echo "Error: No such volume: $5" >&2; exit 1 ;; esac
            """.write(toFile: docker, atomically: false, encoding: .utf8)
        chmod(docker, 0o755)
        var answering = env
        answering["CDB_DOCKER"] = docker
        let inspected = try Harness.cdb("cdb-repo-snap", ["--force", "--include-docker-volume", "trading_data"], environment: answering, directory: repo.path)
        #expect(inspected.status == 0, "\(inspected.stderr)")
        let inspectedZip = inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let listed = try Harness.run("unzip", ["-Z1", inspectedZip]).stdout
        #expect(listed.contains("volumes/trading_data/marker.txt") && !listed.contains("config/app.yml"), "\(listed)")
        try FileManager.default.createDirectory(atPath: base + "/docker/volumes/odd/_data", withIntermediateDirectories: true)
        try "root\n".write(toFile: base + "/docker/volumes/odd/_data/r.txt", atomically: false, encoding: .utf8)
        let odd = try Harness.cdb("cdb-repo-snap", ["--force", "--include-docker-volume", "odd"], environment: answering, directory: repo.path)
        let oddListed = try Harness.run("unzip", ["-Z1", odd.stdout.trimmingCharacters(in: .whitespacesAndNewlines)]).stdout
        #expect(odd.status == 0 && oddListed.contains("volumes/odd/r.txt"), "\(odd.stderr)")

        // CDB_DOCKER_VOLUMES: the default, for cdb-repo-snap and the session alike.
        var configured = env
        configured["CDB_DOCKER_VOLUMES"] = "trading_data"
        let again = try Harness.cdb("cdb-repo-snap", ["--force"], environment: configured, directory: repo.path)
        #expect(again.status == 0, "\(again.stderr)")
        let second = again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try Harness.run("unzip", ["-Z1", second]).stdout.contains("volumes/trading_data/config/app.yml"))
    }
}
