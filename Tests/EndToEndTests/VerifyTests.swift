import Foundation
import Testing

/// cdb-verify against real backups and damaged copies of them.
@Suite("cdb-verify", .enabled(if: PG.enabled), .serialized)
struct VerifyTests {
    struct Backups {
        let root: String
        let dump: String
        let zstd: String
        let snapshot: String
        let database: String
        let repo: TestRepo

        init() throws {
            database = try PG.tradingDatabase()
            root = try Harness.temporaryDirectory("cdb-root")
            repo = try TestRepo()
            try repo.populateAwkward()
            try repo.commitAll("files")
            func path(_ out: Harness.Output) -> String { out.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
            dump = path(try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "--dbname", database]))
            zstd = path(try Harness.cdb("cdb-pg-dump", ["--backup-root", root, "--dbname", database, "--compress", "zstd"]))
            snapshot = path(try Harness.cdb("cdb-repo-snap", ["--backup-root", root], directory: repo.path))
        }

        func remove() { Harness.remove(root); repo.remove(); PG.dropDatabase(database) }

        /// A damaged copy next to the originals, with a sidecar that matches the damage when
        /// `resign` (so that only the structural checks can catch it).
        func damaged(_ original: String, name: String, resign: Bool, _ change: (inout [UInt8]) -> Void) throws -> String {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original)))
            change(&bytes)
            let folder = (original as NSString).deletingLastPathComponent
            let path = folder + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let digest = resign ? try Harness.sha256(path) : String(try String(contentsOfFile: original + ".sha256", encoding: .utf8).prefix(64))
            try "\(digest)  \(name)\n".write(toFile: path + ".sha256", atomically: false, encoding: .utf8)
            return path
        }
    }

    func verify(_ paths: [String], _ extra: [String] = []) throws -> Harness.Output {
        try Harness.cdb("cdb-verify", extra + paths)
    }

    @Test("untouched dumps (plain and zstd) and snapshots pass; --latest and paths on stdin work")
    func untouched() throws {
        let b = try Backups()
        defer { b.remove() }
        let out = try verify([b.dump, b.zstd, b.snapshot])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.isEmpty)
        #expect(out.stderr.split(separator: "\n").filter { $0.hasPrefix("OK  ") }.count == 3)
        let latest = try Harness.cdb("cdb-verify", ["--latest", "--backup-root", b.root])
        #expect(latest.status == 0 && latest.stderr.split(separator: "\n").count == 2, "\(latest.stderr)")
        let stdin = try Harness.run(Harness.binDir + "/cdb-verify", ["-"], stdin: Data("\(b.dump)\n\(b.snapshot)\n".utf8))
        #expect(stdin.status == 0 && stdin.stderr.contains("OK  \(b.snapshot)"))
    }

    @Test("a flipped byte, a truncated file, a removed COPY terminator, a missing sidecar and a bad CRC all fail")
    func damage() throws {
        let b = try Backups()
        defer { b.remove() }
        let text = [UInt8](try Data(contentsOf: URL(fileURLWithPath: b.dump)))
        let copyLine = Array("\n\\.\n-- Rows: 880\n".utf8)
        func indexOf(_ needle: [UInt8], in hay: [UInt8]) -> Int {
            (0...(hay.count - needle.count)).first { hay[$0..<($0 + needle.count)].elementsEqual(needle) }!
        }
        var cases: [(path: String, reason: String)] = []
        // Caught by the sidecar alone.
        cases.append((try b.damaged(b.dump, name: "cdb_backup_2020-01-01_0001.sql", resign: false) { $0[$0.count / 2] ^= 0x01 }, "checksum mismatch"))
        // Caught by the structure, with a sidecar that matches the damage.
        cases.append((try b.damaged(b.dump, name: "cdb_backup_2020-01-01_0002.sql", resign: true) { $0.removeLast($0.count / 3) }, "truncated"))
        let at = indexOf(copyLine, in: text)
        cases.append((try b.damaged(b.dump, name: "cdb_backup_2020-01-01_0003.sql", resign: true) { $0.removeSubrange((at + 1)..<(at + 4)) }, "recorded"))
        cases.append((try b.damaged(b.zstd, name: "cdb_backup_2020-01-01_0004.sql.zst", resign: true) { $0.removeLast(100) }, "zstd"))
        let rowAt = indexOf(Array("MX-".utf8), in: text)
        cases.append((try b.damaged(b.dump, name: "cdb_backup_2020-01-01_0005.sql", resign: true) { $0.insert(contentsOf: Array("X\n".utf8), at: rowAt) }, "rows but its dump recorded"))
        let zip = [UInt8](try Data(contentsOf: URL(fileURLWithPath: b.snapshot)))
        cases.append((try b.damaged(b.snapshot, name: "claire_repo_2020-01-01_0006_\(String(b.snapshot.suffix(11).prefix(7))).zip", resign: true) {
            // Inside repository.zip (which the history bundle now follows): past its local header.
            $0[indexOf(Array("repository.zip".utf8), in: zip) + 14 + 120] ^= 0x40
        }, "repository.zip"))
        cases.append((try b.damaged(b.snapshot, name: "claire_repo_2020-01-01_0007_abcdef0.zip", resign: true) { _ in }, "file name says commit abcdef0"))
        let noSidecar = b.root + "/PostgreSQL/cdb_backup_2020-01-01_0008.sql"
        try FileManager.default.copyItem(atPath: b.dump, toPath: noSidecar)
        cases.append((noSidecar, "no .sha256 sidecar"))

        let out = try verify([b.dump] + cases.map(\.path))
        #expect(out.status == 65, "\(out.stderr)")
        #expect(out.stdout.split(separator: "\n").map(String.init) == cases.map(\.path), "stdout lists exactly the failing paths")
        for c in cases {
            let line = out.stderr.split(separator: "\n").first { $0.hasPrefix("FAILED  \(c.path)  (") } ?? ""
            #expect(line.hasPrefix("FAILED  \(c.path)  (") && line.contains(c.reason), "\(c.path): \(line)")
        }
        #expect(out.stderr.contains("OK  \(b.dump)"))
    }
}
