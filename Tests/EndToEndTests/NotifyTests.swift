import CDBKit
import Foundation
import Testing

/// CDB_ON_FAILURE: a command the user configured, run after any program fails.
@Suite("notifications on failure")
struct NotifyTests {
    @Test("CDB_ON_FAILURE runs after a failure with CDB_PROGRAM, CDB_EXIT and a one-line CDB_MESSAGE; also from the config file; not after success")
    func onFailure() throws {
        let dir = try Harness.temporaryDirectory("notify")
        defer { Harness.remove(dir) }
        let record = dir + "/notified"
        let command = "printf '%s|%s|%s\\n' \"$CDB_PROGRAM\" \"$CDB_EXIT\" \"$CDB_MESSAGE\" >> '\(record)'"
        func notified() -> [String] {
            ((try? String(contentsOfFile: record, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        // A file name with a newline and an escape sequence: the message stays one line, escaped.
        let missing = dir + "/no\nsuch\u{1B}[31m.sql"
        let failed = try Harness.cdb("cdb-verify", [missing], environment: ["CDB_ON_FAILURE": command, "CDB_BACKUP_ROOT": dir])
        #expect(failed.status == 66, "\(failed.stderr)")
        try waitFor(seconds: 10) { !notified().isEmpty }
        let line = try #require(notified().first)
        #expect(line.hasPrefix("cdb-verify|66|") && line.contains("no"), "\(line)")
        #expect(!line.contains("\u{1B}") && notified().count == 1, "one line, no raw escape: \(notified())")

        // The user's config file works the same; a success notifies nothing.
        let config = dir + "/config/cdb"
        try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
        let script = dir + "/notify.sh"
        try "#!/bin/sh\n\(command)\n".write(toFile: script, atomically: false, encoding: .utf8)
        chmod(script, 0o755)
        try "CDB_ON_FAILURE=\(script)\n".write(toFile: config + "/config", atomically: false, encoding: .utf8)
        let empty = try Harness.cdb("cdb-list", ["--backup-root", dir], environment: ["XDG_CONFIG_HOME": dir + "/config"])
        #expect(empty.status == 0)
        let usage = try Harness.cdb("cdb-prune", ["--backup-root", dir + "/nothing-here/file", "--lock-wait", "-1"], environment: ["XDG_CONFIG_HOME": dir + "/config"])
        #expect(usage.status == 64)
        let broken = try Harness.cdb("cdb-restore", ["--backup-root", dir, "--check", dir + "/missing.sql"], environment: ["XDG_CONFIG_HOME": dir + "/config"])
        #expect(broken.status == 66, "\(broken.stderr)")
        try waitFor(seconds: 10) { notified().count == 2 }
        #expect(notified().last?.hasPrefix("cdb-restore|66|") == true, "\(notified())")
    }

    @Test("CDB_PING_URL (healthchecks protocol) against a local HTTP server: start then success, start then fail with the error as body; a monitor that is down neither delays nor fails a run")
    func ping() throws {
        let dir = try Harness.temporaryDirectory("ping")
        defer { Harness.remove(dir) }
        let log = dir + "/requests"
        // A loopback HTTP server that writes down each request: method, path, body.
        let server = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def handle_one(self):
                    n = int(self.headers.get('Content-Length') or 0)
                    body = self.rfile.read(n).decode() if n else ''
                    with open(sys.argv[2], 'a') as f: f.write(self.command + ' ' + self.path + ' ' + body.replace('\\n', ' ') + '\\n')
                    self.send_response(200); self.end_headers(); self.wfile.write(b'OK')
                do_GET = do_POST = do_HEAD = handle_one
                def log_message(self, *a): pass
            s = http.server.HTTPServer(('127.0.0.1', 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """
        try server.write(toFile: dir + "/server.py", atomically: false, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", dir + "/server.py", "unused", log]
        let out = Pipe()
        p.standardOutput = out
        try Harness.startUnblocked(p)
        defer { p.terminate(); p.waitUntilExit() }
        let portLine = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let port = try #require(Int(portLine), "the server's port: \(portLine)")
        let url = "http://127.0.0.1:\(port)/ping/5f2c"
        func requests() -> [String] { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

        let root = dir + "/root"
        for folder in ["PostgreSQL", "Repository"] { try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true) }
        let ok = try Harness.cdb("cdb-prune", ["--backup-root", root], environment: ["CDB_PING_URL": url])
        #expect(ok.status == 0, "\(ok.stderr)")
        try waitFor(seconds: 15) { requests().count == 2 }
        #expect(Set(requests().map { String($0.split(separator: " ").prefix(2).joined(separator: " ")) }) == ["GET /ping/5f2c/start", "GET /ping/5f2c"], "\(requests())")

        let bad = try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "--dbname", "no_such_database_\(port)"], environment: ["CDB_PING_URL": url])
        #expect(bad.status == 78, "\(bad.stderr)")
        try waitFor(seconds: 15) { requests().count == 4 }
        let fail = try #require(requests().first { $0.hasPrefix("POST /ping/5f2c/fail ") }, "\(requests())")
        #expect(fail.contains("cdb-pg-dump: exit 78") && fail.contains("no_such_database"), "\(fail)")

        // Only looking is not monitored.
        _ = try Harness.cdb("cdb-list", ["--backup-root", root], environment: ["CDB_PING_URL": url])
        usleep(500_000)
        #expect(requests().count == 4)

        // A monitor that is down: the run's outcome and time do not change.
        let started = Date()
        let down = try Harness.cdb("cdb-prune", ["--backup-root", root], environment: ["CDB_PING_URL": "http://127.0.0.1:9/ping"])
        #expect(down.status == 0 && Date().timeIntervalSince(started) < 5, "\(down.stderr)")
    }
}
