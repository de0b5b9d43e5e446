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
}
