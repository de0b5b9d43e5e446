import Crypto
import Foundation
import Testing
@testable import CDBKit

/// The age implementation against the C2SP conformance vectors (fixtures/age-testkit, copied
/// from c2sp.org/CCTV/age) and against itself: every vector that cdb's features cover, none
/// skipped silently.
@Suite("age: C2SP vectors and round trips")
struct AgeTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/age-testkit").path

    struct Vector {
        var name: String
        var expect: String
        var payload: String?
        var identities: [String] = []
        var passphrases: [String] = []
        var armored = false
        var compressed = false
        var file: [UInt8]
    }

    static func vectors() throws -> [Vector] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0 != "README.md" }.sorted().map { name in
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            let split = bytes.firstRange(of: [0x0A, 0x0A])!
            var vector = Vector(name: name, expect: "", file: Array(bytes[split.upperBound...]))
            for line in String(decoding: bytes[..<split.lowerBound], as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                switch parts[0] {
                case "expect": vector.expect = parts[1]
                case "payload": vector.payload = parts[1]
                case "identity": vector.identities.append(parts[1])
                case "passphrase": vector.passphrases.append(parts[1])
                case "armored": vector.armored = parts[1] == "yes"
                case "compressed": vector.compressed = parts[1] == "zlib"
                default: break
                }
            }
            if vector.compressed { vector.file = try inflate(vector.file) }
            return vector
        }
    }

    /// zlib-wrapped deflate, through CDBKit's own Inflater (which reads zlib and gzip).
    static func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var out = [UInt8]()
        let inflater = try Inflater(.gzip)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        while true {
            let step = try bytes.withUnsafeBytes { input in
                try buffer.withUnsafeMutableBytes { try inflater.step(UnsafeRawBufferPointer(rebasing: input[offset...]), into: $0) }
            }
            offset += step.consumed
            out += buffer[0..<step.produced]
            if step.ended { return out }
            if step.stalled && step.produced == 0 { throw CDBError.validation(path: "vector", reason: "truncated zlib") }
        }
    }

    /// What cdb does not implement, and so skips: ASCII armor, and the post-quantum hybrid
    /// (ML-KEM) recipient type.
    static func skipped(_ vector: Vector) -> String? {
        if vector.armored || vector.name.hasPrefix("armor") { return "armor" }
        if vector.identities.contains(where: { $0.hasPrefix("AGE-SECRET-KEY-PQ") }) || vector.name.hasPrefix("hybrid") { return "hybrid" }
        return nil
    }

    @Test("every C2SP vector: success decrypts to the payload's SHA-256; each failure is its class; the skipped ones are listed")
    func vectors() throws {
        let all = try Self.vectors()
        #expect(all.count >= 140)
        var skipped: [String: [String]] = [:]
        var checked = 0
        for vector in all {
            if let reason = Self.skipped(vector) { skipped[reason, default: []].append(vector.name); continue }
            checked += 1
            let identities = try vector.identities.map { try AgeIdentity(secretKey: $0) } + vector.passphrases.map { AgeIdentity(passphrase: Array($0.utf8)) }
            var released = [UInt8]()
            var outcome = "success"
            do {
                let reader = try AgeReader(name: vector.name, length: UInt64(vector.file.count), identities: identities) { offset, count in
                    Array(vector.file[Int(min(offset, UInt64(vector.file.count)))..<min(vector.file.count, Int(offset) + count)])
                }
                try reader.forEachChunk { released += $0 }
            } catch let error as AgeError {
                switch error {
                case .header: outcome = "header failure"
                case .noMatch: outcome = "no match"
                case .mac: outcome = "HMAC failure"
                case .payload: outcome = "payload failure"
                case .key: outcome = "key"
                }
            }
            #expect(outcome == vector.expect, "\(vector.name): \(outcome), expected \(vector.expect)")
            if let payload = vector.payload, outcome == "success" || outcome == "payload failure" {
                #expect(Format.hex(SHA256.hash(data: released)) == payload, "\(vector.name): released plaintext differs")
            }
        }
        print("age vectors: \(checked) checked; skipped \(skipped.mapValues(\.count)) — \(skipped.values.joined().sorted().joined(separator: " "))")
        #expect(checked >= 80)
        #expect(Set(skipped.keys).isSubset(of: ["armor", "hybrid"]))
    }

    @Test("round trips at the chunk edges (0, 1, 64 KiB - 1, 64 KiB, 64 KiB + 1, 33 chunks), several recipients, each identity opens it")
    func roundTrips() throws {
        let alice = AgeIdentity.generate(), bob = AgeIdentity.generate()
        for size in [0, 1, 65_535, 65_536, 65_537, 33 * 65_536 + 7] {
            let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            let file = try Self.encrypt(plain, to: [alice.recipient!, bob.recipient!])
            for identity in [alice, bob] {
                let reader = try Self.reader(file, [identity])
                var out = [UInt8]()
                try reader.forEachChunk { out += $0 }
                #expect(out == plain, "size \(size)")
                #expect(reader.length == UInt64(size))
                if size > 70_000 { #expect(try reader.read(65_530, 20) == Array(plain[65_530..<65_550])) }
            }
            #expect(throws: AgeError.noMatch) { try Self.reader(file, [AgeIdentity.generate()]) }
        }
    }

    @Test("tampering: a flipped bit in the header, a middle chunk or the last chunk, a cut, an appended chunk — all refused, naming the chunk")
    func tampering() throws {
        let identity = AgeIdentity.generate()
        let plain = [UInt8](repeating: 7, count: 3 * 65_536 + 100)
        let file = try Self.encrypt(plain, to: [identity.recipient!])
        let headerEnd = file.firstRange(of: Array("\n---".utf8))!.upperBound + 45
        func outcome(_ bytes: [UInt8]) -> AgeError? {
            do {
                try Self.reader(bytes, [identity]).forEachChunk { _ in }
                return nil
            } catch { return error as? AgeError }
        }
        var header = file; header[40] ^= 1
        #expect(outcome(header) != nil)
        var middle = file; middle[headerEnd + 16 + 65_536 + 16 + 100] ^= 1
        #expect(outcome(middle) == .payload(chunk: 1, reason: "it does not authenticate (altered, or the last-chunk flag is wrong)"))
        var last = file; last[file.count - 5] ^= 1
        if case .payload(chunk: 3, _)? = outcome(last) {} else { Issue.record("last chunk: \(String(describing: outcome(last)))") }
        if case .payload? = outcome(Array(file.dropLast(1))) {} else { Issue.record("cut by one byte") }
        if case .payload? = outcome(Array(file.dropLast(116))) {} else { Issue.record("cut at a chunk boundary") }
        let extra = try Self.encrypt([UInt8](repeating: 1, count: 10), to: [identity.recipient!])
        if case .payload? = outcome(file + extra.suffix(26)) {} else { Issue.record("a chunk appended") }
        #expect(outcome(file) == nil)
    }

    @Test("passphrase (scrypt) files round-trip; a wrong passphrase is no match")
    func passphrase() throws {
        let sink = Collect()
        let age = try AgeSink(next: sink, recipients: [], passphrase: Array("correct horse".utf8))
        try [UInt8]("secret".utf8).withUnsafeBytes { try age.write($0) }
        try age.finish()
        var out = [UInt8]()
        try Self.reader(sink.bytes, [AgeIdentity(passphrase: Array("correct horse".utf8))]).forEachChunk { out += $0 }
        #expect(out == Array("secret".utf8))
        #expect(throws: AgeError.noMatch) { try Self.reader(sink.bytes, [AgeIdentity(passphrase: Array("wrong".utf8))]) }
    }

    @Test("keys: age1… and AGE-SECRET-KEY-1… round-trip through Bech32; bad ones are refused without echoing a secret")
    func keys() throws {
        let identity = AgeIdentity.generate()
        let text = identity.secretKeyText!
        #expect(text.hasPrefix("AGE-SECRET-KEY-1"))
        #expect(try AgeIdentity(secretKey: text).recipient == identity.recipient)
        let recipient = identity.recipient!.text
        #expect(recipient.hasPrefix("age1") && recipient.count == 62)
        #expect(try AgeRecipient(recipient) == identity.recipient)
        var broken = Array(text); broken[20] = broken[20] == "Q" ? "P" : "Q"
        do { _ = try AgeIdentity(secretKey: String(broken)); Issue.record("accepted") } catch {
            #expect(!"\(error)".contains(String(broken)), "the message repeats the secret")
        }
        #expect(throws: AgeError.self) { try AgeRecipient(recipient.uppercased()) }
        #expect(throws: AgeError.self) { try AgeRecipient("age1" + recipient.dropFirst(5)) }
        let file = "# created: now\n# public key: \(recipient)\n\(text)\n"
        #expect(try AgeIdentity.parseFile(file, name: "key.txt").count == 1)
        #expect(try AgeRecipient.parseFile("# team\n\(recipient)\n\n\(AgeIdentity.generate().recipient!.text)\n", name: "r").count == 2)
        do { _ = try AgeIdentity.parseFile("# x\nAGE-SECRET-KEY-1NOPE\n", name: "key.txt"); Issue.record("accepted") } catch {
            #expect("\(error)".contains("line 2") && !"\(error)".contains("NOPE"))
        }
    }

    final class Collect: ByteSink {
        var bytes = [UInt8]()
        func write(_ b: UnsafeRawBufferPointer) throws { bytes += b }
        func finish() throws {}
    }

    static func encrypt(_ plain: [UInt8], to recipients: [AgeRecipient]) throws -> [UInt8] {
        let sink = Collect()
        let age = try AgeSink(next: sink, recipients: recipients)
        // Written in odd pieces, to cross chunk and batch edges.
        var i = 0
        while i < plain.count {
            let n = min(plain.count - i, 40_000)
            try plain[i..<(i + n)].withUnsafeBytes { try age.write($0) }
            i += n
        }
        try age.finish()
        return sink.bytes
    }

    static func reader(_ file: [UInt8], _ identities: [AgeIdentity]) throws -> AgeReader {
        try AgeReader(name: "test", length: UInt64(file.count), identities: identities) { offset, count in
            Array(file[Int(min(offset, UInt64(file.count)))..<min(file.count, Int(offset) + count)])
        }
    }
}
