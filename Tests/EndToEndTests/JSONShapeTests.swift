import Foundation
import Testing

/// `--json`: every program writes JSON Lines with the same core keys (README, "JSON output").
@Suite("one JSON shape", .enabled(if: PG.enabled), .serialized)
struct JSONShapeTests {
    static let core = ["program", "kind", "path", "status", "exit", "bytes", "seconds", "message"]

    /// Parses every line of `out` and checks the documented core keys and their types.
    @discardableResult
    func records(_ out: Harness.Output, program: String, _ label: String) throws -> [[String: Any]] {
        let lines = out.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(!lines.isEmpty, "\(label): no JSON line; stderr: \(out.stderr)")
        var objects: [[String: Any]] = []
        for line in lines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]) as? [String: Any] else {
                Issue.record("\(label): not one JSON object per line: \(line)")
                continue
            }
            objects.append(object)
            for key in Self.core where object[key] == nil { Issue.record("\(label): no \(key) in \(line)") }
            #expect(object["program"] as? String == program, "\(label): \(line)")
            let status = object["status"] as? String
            #expect(["ok", "failed", "skipped"].contains(status ?? ""), "\(label): \(line)")
            let exit = object["exit"] as? Int
            #expect(exit != nil && (status == "failed") == (exit != 0), "\(label): status and exit agree: \(line)")
            for key in ["kind", "path", "message"] {
                #expect(object[key] is String || object[key] is NSNull, "\(label): \(key) is a string or null: \(line)")
            }
            #expect(object["bytes"] is NSNull || (object["bytes"] as? NSNumber).map { $0.int64Value >= 0 } == true, "\(label): \(line)")
            #expect(object["seconds"] is NSNull || object["seconds"] is NSNumber, "\(label): \(line)")
        }
        return objects
    }

    @Test("every program's --json lines have program, kind, path, status, exit, bytes, seconds, message — success, failure and skipped runs")
    func everyProgram() throws {
        let f = try SessionFixture()
        defer { f.remove() }
        let env = f.environment
        let dir = f.repo.path

        let dump = try Harness.cdb("cdb-pg-dump", ["--json"], environment: env, directory: dir)
        #expect(dump.status == 0, "\(dump.stderr)")
        let dumpLine = try #require(try records(dump, program: "cdb-pg-dump", "dump").first)
        let dumpPath = try #require(dumpLine["path"] as? String)
        #expect(dumpLine["kind"] as? String == "db" && (dumpLine["bytes"] as? Int ?? 0) > 0)
        #expect((try FileManager.default.attributesOfItem(atPath: dumpPath)[.size] as? Int) == dumpLine["bytes"] as? Int)

        let snap = try Harness.cdb("cdb-repo-snap", ["--json"], environment: env, directory: dir)
        #expect(snap.status == 0, "\(snap.stderr)")
        let snapLine = try #require(try records(snap, program: "cdb-repo-snap", "snapshot").first)
        let snapPath = try #require(snapLine["path"] as? String)
        #expect(snapLine["kind"] as? String == "repo" && FileManager.default.fileExists(atPath: snapPath))

        let session = try Harness.cdb("cdb-pre-session", ["--json", "--min-interval", "60"], environment: env, directory: dir)
        #expect(session.status == 0, "\(session.stderr)")
        let steps = try records(session, program: "cdb-pre-session", "session")
        #expect(steps.compactMap { $0["kind"] as? String } == ["db", "repo", "prune"], "\(session.stdout)")
        let skipped = try Harness.cdb("cdb-pre-session", ["--json", "--min-interval", "60"], environment: env, directory: dir)
        let skip = try records(skipped, program: "cdb-pre-session", "skipped session")
        #expect(skipped.status == 0 && skip.count == 1 && skip.first?["status"] as? String == "skipped"
                && skip.first?["kind"] as? String == "session", "\(skipped.stdout)")

        let verify = try Harness.cdb("cdb-verify", ["--json", dumpPath, snapPath, dir + "/missing.sql"], environment: env)
        #expect(verify.status == 66, "\(verify.stderr)")
        let checked = try records(verify, program: "cdb-verify", "verify")
        #expect(checked.map { $0["status"] as? String } == ["ok", "ok", "failed"] && checked.last?["exit"] as? Int == 66, "\(verify.stdout)")

        let check = try Harness.cdb("cdb-restore", ["--json", "--check", "--latest"], environment: env)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(try records(check, program: "cdb-restore", "restore check").first?["kind"] as? String == "db")
        let target = try Harness.temporaryDirectory("json-restore")
        defer { Harness.remove(target) }
        let restored = try Harness.cdb("cdb-restore", ["--json", snapPath, target + "/tree"], environment: env)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try records(restored, program: "cdb-restore", "restore").first?["path"] as? String == snapPath)

        let list = try Harness.cdb("cdb-list", ["--json"], environment: env)
        let listed = try records(list, program: "cdb-list", "list")
        #expect(listed.count == 4 && Set(listed.compactMap { $0["kind"] as? String }) == ["db", "repo"], "\(list.stdout)")

        let prune = try Harness.cdb("cdb-prune", ["--json", "--dry-run"], environment: env)
        #expect(try !records(prune, program: "cdb-prune", "prune").isEmpty)

        try FileManager.default.createDirectory(atPath: target + "/usb", withIntermediateDirectories: true)
        let copy = try Harness.cdb("cdb-copy", ["--json", "--no-encryption", "--to", target + "/usb"], environment: env)
        #expect(copy.status == 0, "\(copy.stderr)")
        let copied = try #require(try records(copy, program: "cdb-copy", "copy").first)
        // Same day: the destination's policy (one a day) takes the newest of each kind.
        #expect((copied["copied"] as? [String])?.count == 2 && copied["not_kept"] as? Int == 2 && copied["kind"] as? String == "destination", "\(copy.stdout)")

        // Failures before anything was described still write their line: the database is gone,
        // a lock is busy, a file is missing.
        let gone = try Harness.cdb("cdb-pg-dump", ["--json", "--dbname", "no_such_database_json"], environment: env, directory: dir)
        let goneLine = try #require(try records(gone, program: "cdb-pg-dump", "missing database").first)
        #expect(gone.status != 0 && goneLine["status"] as? String == "failed" && goneLine["exit"] as? Int == Int(gone.status), "\(gone.stdout)")
        #expect((goneLine["message"] as? String)?.contains("no_such_database_json") == true, "\(gone.stdout)")
        let missing = try Harness.cdb("cdb-restore", ["--json", "--check", dir + "/missing.sql"], environment: env)
        let missingLine = try #require(try records(missing, program: "cdb-restore", "missing dump").first)
        #expect(missing.status == 66 && missingLine["exit"] as? Int == 66, "\(missing.stdout)")
    }
}
