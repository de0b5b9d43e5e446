import Foundation
import Testing
@testable import CDBKit

/// A one-entry ZIP64 archive written by hand, with every field an attacker would lie in open to
/// change: the locator's offset of the ZIP64 end record, the entry count, the central
/// directory's offset, the entry's offset and compressed size.
struct CraftedZip {
    var locatorOffset: UInt64?
    var entryCount: UInt64 = 1
    var directoryOffset: UInt64?
    var entryOffset: UInt64 = 0
    var compressedSize: UInt64?
    var name = "a.txt"
    var content = Array("hello\n".utf8)

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16) { out += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) { u16(UInt16(v & 0xFFFF)); u16(UInt16(v >> 16)) }
        func u64(_ v: UInt64) { u32(UInt32(v & 0xFFFF_FFFF)); u32(UInt32(v >> 32)) }
        let crc = content.withUnsafeBytes { Deflate.compress($0, level: 0).crc }
        let size = UInt64(content.count)
        // Local header with a ZIP64 extra field.
        u32(0x04034B50); u16(45); u16(0); u16(0); u16(0); u16(0); u32(crc); u32(0xFFFF_FFFF); u32(0xFFFF_FFFF)
        u16(UInt16(name.utf8.count)); u16(20); out += Array(name.utf8)
        u16(1); u16(16); u64(size); u64(compressedSize ?? size)
        out += content
        let cdStart = UInt64(out.count)
        u32(0x02014B50); u16(45); u16(45); u16(0); u16(0); u16(0); u16(0); u32(crc); u32(0xFFFF_FFFF); u32(0xFFFF_FFFF)
        u16(UInt16(name.utf8.count)); u16(28); u16(0); u16(0); u16(0); u32(0o100644 << 16); u32(0xFFFF_FFFF)
        out += Array(name.utf8)
        u16(1); u16(24); u64(size); u64(compressedSize ?? size); u64(entryOffset)
        let cdSize = UInt64(out.count) - cdStart
        let z64 = UInt64(out.count)
        u32(0x06064B50); u64(44); u16(45); u16(45); u32(0); u32(0); u64(entryCount); u64(entryCount); u64(cdSize); u64(directoryOffset ?? cdStart)
        u32(0x07064B50); u32(0); u64(locatorOffset ?? z64); u32(1)
        u32(0x06054B50); u16(0); u16(0); u16(0xFFFF); u16(0xFFFF); u32(0xFFFF_FFFF); u32(0xFFFF_FFFF); u16(0)
        return out
    }
}

@Suite("attacks: hostile archives and damaged backups", .serialized)
struct HostileArchiveTests {
    static let lies: [(String, CraftedZip)] = [
        ("locator offset near 2^64", CraftedZip(locatorOffset: UInt64.max - 10)),
        ("central directory offset near 2^64", CraftedZip(directoryOffset: UInt64.max - 100)),
        ("entry offset at 2^63", CraftedZip(entryOffset: 1 << 63)),
        ("compressed size near 2^64", CraftedZip(compressedSize: UInt64.max - 5)),
        ("entry count 2^63", CraftedZip(entryCount: 1 << 63)),
    ]

    @Test("the crafted archive itself is sound, so that each lie is the only fault")
    func soundBaseline() throws {
        let dir = try Harness.temporaryDirectory("zip64")
        defer { Harness.remove(dir) }
        try Data(CraftedZip().bytes()).write(to: URL(fileURLWithPath: dir + "/ok.zip"))
        let out = try Harness.run("unzip", ["-p", dir + "/ok.zip", "a.txt"])
        #expect(out.status == 0 && out.stdout == "hello\n", "\(out.stderr)")
        let zip = try ZipReader(path: dir + "/ok.zip")
        #expect(zip.entries.map(\.name) == ["a.txt"])
    }

    @Test("ZIP64 fields that overflow: cdb-verify and cdb-restore exit 65 with a reason, never crash; a batch reports every file")
    func overflowingFields() throws {
        let dir = try Harness.temporaryDirectory("zip64")
        defer { Harness.remove(dir) }
        // A good snapshot to go with the bad ones in one batch.
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        let good = try Harness.cdb("cdb-repo-snap", ["--backup-root", dir + "/root"], directory: repo.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var bad: [String] = []
        for (index, (label, crafted)) in Self.lies.enumerated() {
            let path = dir + "/claire_repo_2025-01-0\(index + 1)_0000_0123456.zip"
            try Data(crafted.bytes()).write(to: URL(fileURLWithPath: path))
            bad.append(path)
            let verify = try Harness.cdb("cdb-verify", [path])
            #expect(verify.status == 65, "\(label): cdb-verify exited \(verify.status): \(verify.stderr)")
            let restore = try Harness.cdb("cdb-restore", [path, dir + "/out-\(index)"])
            #expect(restore.status == 65, "\(label): cdb-restore exited \(restore.status): \(restore.stderr)")
            #expect(!restore.stderr.contains("Fatal error") && !restore.stderr.contains("overflow"), "\(label): \(restore.stderr)")
            #expect(Harness.files(in: dir + "/out-\(index)").isEmpty)
        }
        let batch = try Harness.cdb("cdb-verify", ["--json"] + bad + [good])
        #expect(batch.status == 65, "\(batch.stderr)")
        let lines = batch.stdout.split(separator: "\n")
        #expect(lines.count == bad.count + 1, "every file reported: \(batch.stdout)")
        #expect(lines.last?.contains("\"status\":\"ok\"") == true)
        let stdin = try Harness.run(Harness.binDir + "/cdb-verify", ["-"], stdin: Data((bad + [good]).joined(separator: "\n").utf8))
        #expect(stdin.status == 65 && stdin.stderr.contains("OK  \(good)"), "\(stdin.stderr)")
    }

    /// A snapshot whose repository.zip holds `entries` (name, mode, content).
    static func snapshot(_ path: String, _ entries: [(String, UInt32, String)], outerExtra: [(String, String)] = [],
                         outerEntries: [(String, UInt32, String)] = [], patch: ((inout [UInt8]) -> Void)? = nil) throws {
        var inner: [UInt8] = []
        let zip = ZipWriter(output: ZipWriter.Output(write: { inner.append(contentsOf: $0) }, patch: nil), modified: Date())
        for (name, mode, content) in entries { try zip.add(name: name, mode: mode, bytes: Array(content.utf8), level: content.utf8.count > 1 << 20 ? 6 : 0) }
        try zip.finish()
        patch?(&inner)
        var outer: [UInt8] = []
        let outerZip = ZipWriter(output: ZipWriter.Output(write: { outer.append(contentsOf: $0) }, patch: nil), modified: Date())
        try outerZip.add(name: "git_metadata.txt", bytes: Array("Commit: 0123456789abcdef0123456789abcdef01234567\n".utf8))
        let crc = inner.withUnsafeBytes { Deflate.compress($0, level: 0).crc }
        try inner.withUnsafeBytes { try outerZip.add(name: "repository.zip", mode: 0o100644, method: .stored, crc: crc, uncompressed: UInt64(inner.count), data: $0) }
        for (name, content) in outerExtra { try outerZip.add(name: name, bytes: Array(content.utf8)) }
        for (name, mode, content) in outerEntries { try outerZip.add(name: name, mode: mode, bytes: Array(content.utf8), level: 0) }
        try outerZip.finish()
        try Data(outer).write(to: URL(fileURLWithPath: path))
    }

    @Test(".git in any case or disguise, duplicate names, files below a link, '..' and absolute names are refused before anything is written", arguments: [
        [("ok.txt", UInt32(0o100644), "fine"), (".git/config", 0o100644, "[core]\n\tfsmonitor = touch /tmp/cdb-pwned\n")],
        [(".GIT/hooks/post-checkout", 0o100755, "#!/bin/sh\n")],
        [("sub/.Git/config", 0o100644, "x")],
        [(".git./config", 0o100644, "x")],
        [("git~1/config", 0o100644, "x")],
        [(".g\u{200C}it/config", 0o100644, "x")],
        [(".git", 0o120777, "/tmp")],
        [("a.txt", 0o100644, "one"), ("a.txt", 0o100644, "two")],
        [("d/a.txt", 0o100644, "one"), ("d//./a.txt", 0o100644, "two")],
        [("link", 0o120777, "/tmp"), ("link/x", 0o100644, "evil")],
        [("ok.txt", 0o100644, "fine"), ("../escaped.txt", 0o100644, "evil")],
        [("a/../../escaped.txt", 0o100644, "evil")],
        [("/tmp/cdb-absolute-evil.txt", 0o100644, "evil")],
    ])
    func refusedNames(_ entries: [(String, UInt32, String)]) throws {
        let base = try Harness.temporaryDirectory("hostile")
        defer { Harness.remove(base) }
        let path = base + "/claire_repo_2025-01-01_0000_0123456.zip"
        try Self.snapshot(path, entries)
        let out = try Harness.cdb("cdb-restore", [path, base + "/dir"])
        #expect(out.status == 65 && out.stderr.contains("refusing entry"), "\(entries.map(\.0)): \(out.status) \(out.stderr)")
        #expect(Harness.files(in: base + "/dir").isEmpty, "nothing written")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/cdb-pwned"))
        #expect(!FileManager.default.fileExists(atPath: base + "/escaped.txt") && !FileManager.default.fileExists(atPath: "/tmp/cdb-absolute-evil.txt"))
    }

    @Test("the same names as Docker volumes (outer volumes/…) are refused the same way, before anything is written", arguments: [
        [("ok.txt", UInt32(0o100644), "fine"), (".git/config", 0o100644, "[core]\n\tfsmonitor = touch /tmp/cdb-pwned\n")],
        [(".GIT/hooks/post-checkout", 0o100755, "#!/bin/sh\n")],
        [("sub/.Git/config", 0o100644, "x")],
        [(".git./config", 0o100644, "x")],
        [("git~1/config", 0o100644, "x")],
        [(".g\u{200C}it/config", 0o100644, "x")],
        [(".git", 0o120777, "/tmp")],
        [("a.txt", 0o100644, "one"), ("a.txt", 0o100644, "two")],
        [("d/a.txt", 0o100644, "one"), ("d//./a.txt", 0o100644, "two")],
        [("link", 0o120777, "/tmp"), ("link/x", 0o100644, "evil")],
        [("ok.txt", 0o100644, "fine"), ("../escaped.txt", 0o100644, "evil")],
        [("a/../../escaped.txt", 0o100644, "evil")],
        [("/tmp/cdb-absolute-evil.txt", 0o100644, "evil")],
    ])
    func refusedVolumeNames(_ entries: [(String, UInt32, String)]) throws {
        let base = try Harness.temporaryDirectory("hostile-volume")
        defer { Harness.remove(base) }
        let path = base + "/claire_repo_2025-01-01_0000_0123456.zip"
        try Self.snapshot(path, [("a.txt", 0o100644, "x")], outerEntries: entries.map { ("volumes/" + $0.0, $0.1, $0.2) })
        let out = try Harness.cdb("cdb-restore", [path, base + "/dir"])
        #expect(out.status == 65 && out.stderr.contains("refusing entry"), "\(entries.map(\.0)): \(out.status) \(out.stderr)")
        #expect(Harness.files(in: base + "/dir").isEmpty, "nothing written")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/cdb-pwned"))
        #expect(!FileManager.default.fileExists(atPath: base + "/escaped.txt") && !FileManager.default.fileExists(atPath: base + "/dir/escaped.txt")
                && !FileManager.default.fileExists(atPath: "/tmp/cdb-absolute-evil.txt"))
    }

    @Test("archives made by Python's zipfile, not by cdb: hostile ones are refused with nothing written, a sound one restores")
    func pythonZips() throws {
        let base = try Harness.temporaryDirectory("pyzip")
        defer { Harness.remove(base) }
        let script = #"""
            import io, sys, zipfile
            def snapshot(path, entries):
                inner = io.BytesIO()
                with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
                    for name, mode, data in entries:
                        info = zipfile.ZipInfo(name)
                        info.external_attr = mode << 16
                        info.compress_type = zipfile.ZIP_DEFLATED
                        z.writestr(info, data)
                with zipfile.ZipFile(path, "w") as z:
                    z.writestr("git_metadata.txt", "Commit: 0123456789abcdef0123456789abcdef01234567\n")
                    z.writestr(zipfile.ZipInfo("repository.zip"), inner.getvalue())
            out = sys.argv[1]
            snapshot(out + "/git.zip", [("a.txt", 0o100644, "x"), (".git/hooks/post-checkout", 0o100755, "#!/bin/sh\ntouch /tmp/cdb-pwned-py\n")])
            snapshot(out + "/up.zip", [("a.txt", 0o100644, "x"), ("sub/../../escaped.txt", 0o100644, "evil")])
            snapshot(out + "/abs.zip", [("/tmp/cdb-py-absolute.txt", 0o100644, "evil")])
            snapshot(out + "/below.zip", [("l", 0o120777, "/tmp"), ("l/cdb-py-below.txt", 0o100644, "evil")])
            snapshot(out + "/dup.zip", [("a.txt", 0o100644, "one"), ("a.txt", 0o100644, "two")])
            snapshot(out + "/good.zip", [("a.txt", 0o100644, "alpha\n"), ("bin/run.sh", 0o100755, "#!/bin/sh\n"), ("link", 0o120777, "a.txt")])
            """#
        let made = try Harness.run("python3", ["-W", "ignore", "-c", script, base])
        #expect(made.status == 0, "\(made.stderr)")
        for name in ["git", "up", "abs", "below", "dup"] {
            let out = try Harness.cdb("cdb-restore", [base + "/\(name).zip", base + "/out-\(name)"])
            #expect(out.status == 65 && out.stderr.contains("refusing entry"), "\(name): \(out.status) \(out.stderr)")
            #expect(Harness.files(in: base + "/out-\(name)").isEmpty, "\(name): something was written")
        }
        for planted in ["/tmp/cdb-pwned-py", "/tmp/cdb-py-absolute.txt", "/tmp/cdb-py-below.txt", base + "/escaped.txt"] {
            #expect(!FileManager.default.fileExists(atPath: planted), "\(planted)")
        }
        let good = try Harness.cdb("cdb-restore", [base + "/good.zip", base + "/good"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect((try? String(contentsOfFile: base + "/good/a.txt", encoding: .utf8)) == "alpha\n")
        #expect(FileManager.default.isExecutableFile(atPath: base + "/good/bin/run.sh"))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: base + "/good/link")) == "a.txt")
    }

    @Test("links come back exactly as committed, absolute and outside ones too, with a warning naming those that point outside")
    func linksExactly() throws {
        let base = try Harness.temporaryDirectory("links")
        defer { Harness.remove(base) }
        let path = base + "/claire_repo_2025-01-01_0000_0123456.zip"
        try Self.snapshot(path, [
            ("file.txt", 0o100644, "data"), ("abs", 0o120777, "/etc/hostname"), ("up", 0o120777, "../../elsewhere"),
            ("s/l1", 0o120777, ".."), ("l2", 0o120777, "s/l1/.."), ("in", 0o120777, "file.txt"), ("s/back", 0o120777, "../file.txt"),
        ])
        let dir = base + "/dir"
        let out = try Harness.cdb("cdb-restore", [path, dir])
        #expect(out.status == 0, "\(out.stderr)")
        let fm = FileManager.default
        for (name, target) in [("abs", "/etc/hostname"), ("up", "../../elsewhere"), ("s/l1", ".."), ("l2", "s/l1/.."), ("in", "file.txt"), ("s/back", "../file.txt")] {
            #expect((try? fm.destinationOfSymbolicLink(atPath: dir + "/" + name)) == target, "\(name)")
        }
        let warning = out.stderr.split(separator: "\n").first { $0.contains("point outside") }.map(String.init) ?? ""
        #expect(warning.contains("3 links") && warning.contains("abs -> /etc/hostname") && warning.contains("up -> ../../elsewhere")
                && warning.contains("l2 -> s/l1/.."), "\(out.stderr)")
        #expect(!warning.contains("s/l1 -> ..,") && !warning.contains("in -> ") && !warning.contains("s/back"), "\(warning)")

        // A real repository with a committed absolute link snapshots and restores.
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "1\n")
        try repo.link("hosts", to: "/etc/hosts")
        try repo.commitAll("links")
        let zip = try Harness.cdb("cdb-repo-snap", ["--backup-root", base + "/root"], directory: repo.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let restored = try Harness.cdb("cdb-restore", [zip, base + "/repo"])
        #expect(restored.status == 0 && (try? fm.destinationOfSymbolicLink(atPath: base + "/repo/hosts")) == "/etc/hosts", "\(restored.stderr)")
    }

    @Test("a flipped byte, a size that lies, a bomb: exit 65 at the first lie, nothing left under the target")
    func lyingEntries() throws {
        let base = try Harness.temporaryDirectory("lies")
        defer { Harness.remove(base) }
        let big = String(repeating: "A", count: 50 << 20)
        // (label, entries, patch of repository.zip's bytes)
        let flip: (inout [UInt8]) -> Void = { bytes in
            // The stored content "second file" of b.txt: flip one byte of it.
            let needle = Array("second file".utf8)
            if let i = (0..<(bytes.count - needle.count)).first(where: { Array(bytes[$0..<($0 + needle.count)]) == needle }) { bytes[i + 3] ^= 0x20 }
        }
        let shrink: (inout [UInt8]) -> Void = { bytes in
            // The central directory's declared size of bomb.txt: 6 bytes.
            var i = bytes.count - 22
            while i > 0 && !(bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x01 && bytes[i + 3] == 0x02) { i -= 1 }
            bytes[i + 24] = 6; bytes[i + 25] = 0; bytes[i + 26] = 0; bytes[i + 27] = 0
        }
        let cases: [(String, [(String, UInt32, String)], (inout [UInt8]) -> Void, String)] = [
            ("flipped byte", [("a.txt", 0o100644, "first"), ("d/b.txt", 0o100644, "second file"), ("z.txt", 0o100644, "last")], flip, "CRC"),
            ("bomb", [("a.txt", 0o100644, "first"), ("bomb.txt", 0o100644, big)], shrink, "inflates past its declared size of 6 bytes"),
        ]
        for (label, entries, patch, needle) in cases {
            let path = base + "/claire_repo_2025-01-01_0000_0123456.zip"
            try Self.snapshot(path, entries, patch: patch)
            for target in [base + "/new", base + "/empty"] {
                if target.hasSuffix("empty") { try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true) }
                let out = try Harness.run("/usr/bin/time", ["-f", "maxrss=%M", Harness.binDir + "/cdb-restore", path, target])
                #expect(out.status == 65 && out.stderr.contains(needle), "\(label): \(out.status) \(out.stderr)")
                #expect(Harness.files(in: target).isEmpty, "\(label): left behind \(Harness.files(in: target))")
                let rss = Int(out.stderr.components(separatedBy: "maxrss=").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
                #expect(rss < 40_000, "\(label): \(rss) KiB: the excess was held in memory")
                Harness.remove(target)
            }
        }
    }

    @Test("the sidecar is checked before anything is restored; --no-verify restores a damaged backup on purpose, with a warning")
    func sidecarFirst() throws {
        let base = try Harness.temporaryDirectory("sidecar")
        defer { Harness.remove(base) }
        let repo = try TestRepo()
        defer { repo.remove() }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        let zip = try Harness.cdb("cdb-repo-snap", ["--backup-root", base + "/root"], directory: repo.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let text = try String(contentsOfFile: zip + ".sha256", encoding: .utf8)
        try (String(repeating: "0", count: 64) + text.dropFirst(64)).write(toFile: zip + ".sha256", atomically: false, encoding: .utf8)
        let refused = try Harness.cdb("cdb-restore", [zip, base + "/out"])
        #expect(refused.status == 65 && refused.stderr.contains("does not match its .sha256 sidecar"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: base + "/out"))
        let rescued = try Harness.cdb("cdb-restore", [zip, base + "/out", "--no-verify"])
        #expect(rescued.status == 0 && rescued.stderr.contains("--no-verify"), "\(rescued.stderr)")
        #expect(FileManager.default.fileExists(atPath: base + "/out/a.txt"))
    }

    @Test("--apply-uncommitted streams a large uncommitted.patch: cdb-restore's own memory stays below the patch's size")
    func largePatchStreams() throws {
        let repo = try TestRepo()
        let base = try Harness.temporaryDirectory("bigpatch")
        defer { repo.remove(); Harness.remove(base) }
        try repo.write("a.txt", "1\n")
        try repo.commitAll("first")
        // 64 MiB of new text: the patch is larger still; held whole (twice, as before) it would show.
        let line = String(repeating: "0123456789abcdef", count: 7) + "\n"
        FileManager.default.createFile(atPath: repo.path + "/big.txt", contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: repo.path + "/big.txt"))
        let block = Data(String(repeating: line, count: 1 << 14).utf8)
        for _ in 0..<(64 << 20) / block.count { handle.write(block) }
        try handle.close()
        let snap = try Harness.cdb("cdb-repo-snap", ["--backup-root", base + "/root", "--force", "--untracked-max-file", "1G", "--untracked-max-total", "1G"], directory: repo.path)
        #expect(snap.status == 0, "\(snap.stderr)")
        let zip = snap.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // cdb-restore's own high-water mark, sampled while it runs (git apply's memory is git's).
        let restore = Process()
        restore.executableURL = URL(fileURLWithPath: Harness.binDir + "/cdb-restore")
        restore.arguments = [zip, base + "/out", "--apply-uncommitted"]
        restore.standardOutput = FileHandle.nullDevice
        restore.standardError = FileHandle.nullDevice
        try Harness.startUnblocked(restore)
        var peak = 0
        while restore.isRunning {
            let status = (try? String(contentsOfFile: "/proc/\(restore.processIdentifier)/status", encoding: .utf8)) ?? ""
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") { peak = max(peak, kb) }
            usleep(5_000)
        }
        #expect(restore.terminationStatus == 0)
        #expect(try Harness.sha256(base + "/out/big.txt") == Harness.sha256(repo.path + "/big.txt"))
        #expect(peak > 0 && peak < 64 << 10, "cdb-restore peaked at \(peak) KiB for a 64 MiB patch")
    }

    @Test("a committed .env and .env.backup: .env.backup wins, with a warning")
    func envBoth() throws {
        let base = try Harness.temporaryDirectory("env")
        defer { Harness.remove(base) }
        let path = base + "/claire_repo_2025-01-01_0000_0123456.zip"
        try Self.snapshot(path, [(".env", 0o100644, "FROM=tree\n"), ("a.txt", 0o100644, "x")], outerExtra: [(".env.backup", "FROM=backup\n")])
        let out = try Harness.cdb("cdb-restore", [path, base + "/dir"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try String(contentsOfFile: base + "/dir/.env", encoding: .utf8) == "FROM=backup\n")
        #expect(out.stderr.contains(".env.backup wins"))
    }
}
