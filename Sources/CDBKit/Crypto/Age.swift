import Crypto
import CryptoExtras
import FoundationEssentials
import Glibc

// The age file format, version 1 (age-encryption.org/v1, specified at c2sp.org/age), on
// swift-crypto's primitives only: X25519, ChaCha20-Poly1305, HKDF-SHA-256, HMAC-SHA-256 and
// scrypt. Files cdb writes decrypt with `age -d`; files `age` writes decrypt with cdb. The
// header is parsed strictly (the C2SP test vectors in Tests/Data/age-testkit are the judge);
// the payload is in AgeStream.swift.

/// What can go wrong reading or writing age data. The classes follow the C2SP test vectors.
public enum AgeError: Error, Equatable, CustomStringConvertible {
    /// The header does not parse (or a stanza of a known type is malformed).
    case header(String)
    /// No identity unwraps any recipient stanza.
    case noMatch
    /// A file key was unwrapped but the header MAC does not match it.
    case mac
    /// The payload does not decrypt to the end (a chunk numbered from 0).
    case payload(chunk: UInt64, reason: String)
    /// A recipient, identity or passphrase given to cdb is malformed.
    case key(String)

    public var description: String {
        switch self {
        case let .header(reason): return "not a valid age file: \(reason)"
        case .noMatch: return "no identity matches this file's recipients"
        case .mac: return "the age header's MAC does not match (the header was altered, or the file is damaged)"
        case let .payload(chunk, reason): return "the encrypted data is damaged at chunk \(chunk) (64 KiB each): \(reason)"
        case let .key(reason): return reason
        }
    }
}

/// Bech32 (BIP 173) as age uses it: no length limit, one case per string.
enum Bech32 {
    private static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var chk: UInt32 = 1
        for v in values {
            let top = chk >> 25
            chk = (chk & 0x1ff_ffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> i) & 1 == 1 { chk ^= generator[i] }
        }
        return chk
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// Regroups bits (8 → 5 with padding, or 5 → 8 refusing non-zero padding).
    private static func convert(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0, bits = 0
        var out = [UInt8]()
        let maxv = (1 << to) - 1
        for value in data {
            guard Int(value) >> from == 0 else { return nil }
            acc = (acc << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((acc >> bits) & maxv))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxv)) }
        } else if bits >= from || ((acc << (to - bits)) & maxv) != 0 {
            return nil
        }
        return out
    }

    static func encode(hrp: String, data: [UInt8]) -> String {
        let h = Array(hrp.lowercased().utf8)
        let values = convert(data, from: 8, to: 5, pad: true)!
        let checksum = polymod(expand(h) + values + [0, 0, 0, 0, 0, 0]) ^ 1
        let check = (0..<6).map { UInt8((checksum >> (5 * (5 - $0))) & 31) }
        return String(decoding: h + [UInt8(ascii: "1")] + (values + check).map { alphabet[Int($0)] }, as: UTF8.self)
    }

    /// The human-readable part (lower case) and the data; nil for anything malformed.
    static func decode(_ text: String) -> (hrp: String, data: [UInt8])? {
        let bytes = Array(text.utf8)
        guard bytes.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return nil }
        let lower = bytes.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
        let upper = bytes.map { ($0 >= 97 && $0 <= 122) ? $0 - 32 : $0 }
        guard bytes == lower || bytes == upper else { return nil }  // mixed case
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), separator >= 1, lower.count - separator >= 7 else { return nil }
        let hrp = Array(lower[..<separator])
        var values = [UInt8]()
        for c in lower[(separator + 1)...] {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            values.append(UInt8(v))
        }
        guard polymod(expand(hrp) + values) == 1, let data = convert(Array(values.dropLast(6)), from: 5, to: 8, pad: false) else { return nil }
        return (String(decoding: hrp, as: UTF8.self), data)
    }
}

/// Canonical base64 without padding, as age's header uses it.
enum AgeBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    static func encode(_ data: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((data.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= data.count {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = data.count - i
        if rest == 1 {
            let n = UInt32(data[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)]]
        } else if rest == 2 {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes, or nil when a character is outside the alphabet (padding included), the
    /// length is impossible or the unused low bits are not zero (not canonical).
    static func decode<S: Collection>(_ text: S) -> [UInt8]? where S.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(text.count * 3 / 4)
        var acc: UInt32 = 0, count = 0
        for c in text {
            let v = values[Int(c)]
            guard v >= 0 else { return nil }
            acc = acc << 6 | UInt32(v)
            count += 1
            if count == 4 {
                out += [UInt8(acc >> 16 & 0xFF), UInt8(acc >> 8 & 0xFF), UInt8(acc & 0xFF)]
                acc = 0
                count = 0
            }
        }
        switch count {
        case 0: break
        case 2:
            guard acc & 0xF == 0 else { return nil }
            out.append(UInt8(acc >> 4 & 0xFF))
        case 3:
            guard acc & 0x3 == 0 else { return nil }
            out += [UInt8(acc >> 10 & 0xFF), UInt8(acc >> 2 & 0xFF)]
        default: return nil
        }
        return out
    }
}

/// A public key files are encrypted to: `age1…` (X25519).
public struct AgeRecipient: Sendable, Equatable {
    let publicKey: [UInt8]

    /// Parses `age1…`; throws `AgeError.key` naming what is wrong (never echoing more than the
    /// text it was given, which is public).
    public init(_ text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age", data.count == 32, text == text.lowercased() else {
            throw AgeError.key("not an age recipient (expected age1… as age-keygen prints it): \(Untrusted.escape(text))")
        }
        publicKey = data
    }

    init(publicKey: [UInt8]) { self.publicKey = publicKey }

    /// `age1…`.
    public var text: String { Bech32.encode(hrp: "age", data: publicKey) }

    /// Recipients from age's recipients-file format: one per line, `#` comments, blank lines.
    public static func parseFile(_ contents: String, name: String) throws -> [AgeRecipient] {
        var out = [AgeRecipient]()
        for (number, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmed()
            if text.isEmpty || text.hasPrefix("#") { continue }
            do { out.append(try AgeRecipient(text)) } catch {
                throw AgeError.key("\(Untrusted.escape(name)) line \(number + 1): not an age recipient (age1…)")
            }
        }
        return out
    }
}

/// A private key or passphrase that opens files.
public struct AgeIdentity: Sendable {
    enum Kind: Sendable {
        case x25519(Curve25519.KeyAgreement.PrivateKey)
        case passphrase([UInt8])
    }
    let kind: Kind

    /// Parses `AGE-SECRET-KEY-1…`. The message never repeats the text (it is a secret).
    public init(secretKey text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age-secret-key-", data.count == 32, text == text.uppercased(),
              let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: data) else {
            throw AgeError.key("not an age identity (expected AGE-SECRET-KEY-1… as age-keygen writes it)")
        }
        kind = .x25519(key)
    }

    var isPassphrase: Bool { if case .passphrase = kind { return true } else { return false } }

    /// A passphrase (scrypt stanzas).
    public init(passphrase: [UInt8]) { kind = .passphrase(passphrase) }

    /// A new random X25519 identity.
    public static func generate() -> AgeIdentity { AgeIdentity(kind: .x25519(Curve25519.KeyAgreement.PrivateKey())) }

    private init(kind: Kind) { self.kind = kind }

    /// `AGE-SECRET-KEY-1…` (an X25519 identity only).
    public var secretKeyText: String? {
        guard case let .x25519(key) = kind else { return nil }
        return Bech32.encode(hrp: "AGE-SECRET-KEY-", data: Array(key.rawRepresentation)).uppercased()
    }

    /// The recipient that encrypts to this identity (X25519 only).
    public var recipient: AgeRecipient? {
        guard case let .x25519(key) = kind else { return nil }
        return AgeRecipient(publicKey: Array(key.publicKey.rawRepresentation))
    }

    /// Identities from age's identity-file format: `AGE-SECRET-KEY-1…` lines, `#` comments,
    /// blank lines. Errors name the line, never its text.
    public static func parseFile(_ contents: String, name: String) throws -> [AgeIdentity] {
        var out = [AgeIdentity]()
        for (number, line) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmed()
            if text.isEmpty || text.hasPrefix("#") { continue }
            do { out.append(try AgeIdentity(secretKey: text)) } catch {
                throw AgeError.key("\(Untrusted.escape(name)) line \(number + 1): not an age identity (AGE-SECRET-KEY-1…)")
            }
        }
        guard !out.isEmpty else { throw AgeError.key("\(Untrusted.escape(name)) holds no age identity (AGE-SECRET-KEY-1…)") }
        return out
    }
}

/// One recipient stanza: `-> TYPE ARG…` and its body.
struct AgeStanza: Equatable {
    var type: String
    var arguments: [String]
    var body: [UInt8]

    /// The stanza's text: arguments on the first line, the body in base64 lines of 64 columns,
    /// always ending with a short (possibly empty) line.
    var text: String {
        var out = "-> " + ([type] + arguments).joined(separator: " ") + "\n"
        let encoded = Array(AgeBase64.encode(body).utf8)
        var i = 0
        while encoded.count - i >= 64 {
            out += String(decoding: encoded[i..<(i + 64)], as: UTF8.self) + "\n"
            i += 64
        }
        out += String(decoding: encoded[i...], as: UTF8.self) + "\n"
        return out
    }
}

/// An age header: the recipient stanzas and the MAC, as read or about to be written.
struct AgeHeader {
    static let version = "age-encryption.org/v1"
    static let x25519Label = Array("age-encryption.org/v1/X25519".utf8)
    static let scryptLabel = Array("age-encryption.org/v1/scrypt".utf8)
    /// The highest scrypt work factor (log2 N) cdb accepts when decrypting, as age does.
    static let maxScryptWorkFactor = 22
    /// The work factor cdb writes (age's default: about a second).
    static let scryptWorkFactor = 18

    var stanzas: [AgeStanza]
    /// The header bytes the MAC covers: from the version line through "---".
    var macInput: [UInt8]
    var mac: [UInt8]
    /// The header's length in bytes, MAC line included (the payload nonce follows).
    var length: Int

    // MARK: Writing

    /// A new header that wraps `fileKey` to each recipient (or to one passphrase), MAC included.
    static func make(fileKey: SymmetricKey, recipients: [AgeRecipient], passphrase: [UInt8]? = nil) throws -> AgeHeader {
        var stanzas = [AgeStanza]()
        for recipient in recipients {
            let ephemeral = Curve25519.KeyAgreement.PrivateKey()
            let share = Array(ephemeral.publicKey.rawRepresentation)
            let theirs = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: recipient.publicKey)
            let shared = try ephemeral.sharedSecretFromKeyAgreement(with: theirs)
            let wrapKey = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: share + recipient.publicKey,
                                                         sharedInfo: x25519Label, outputByteCount: 32)
            let body = try seal(fileKey, with: wrapKey)
            stanzas.append(AgeStanza(type: "X25519", arguments: [AgeBase64.encode(share)], body: body))
        }
        if let passphrase {
            var salt = [UInt8](repeating: 0, count: 16)
            fillRandom(&salt)
            let wrapKey = try KDF.Scrypt.deriveKey(from: passphrase, salt: scryptLabel + salt, outputByteCount: 32,
                                                   rounds: 1 << scryptWorkFactor, blockSize: 8, parallelism: 1)
            stanzas.append(AgeStanza(type: "scrypt", arguments: [AgeBase64.encode(salt), String(scryptWorkFactor)],
                                     body: try seal(fileKey, with: wrapKey)))
        }
        var text = version + "\n"
        for stanza in stanzas { text += stanza.text }
        text += "---"
        let macInput = Array(text.utf8)
        let mac = Self.mac(fileKey: fileKey, over: macInput)
        return AgeHeader(stanzas: stanzas, macInput: macInput, mac: mac, length: macInput.count + 1 + 43 + 1)
    }

    /// The header's bytes: what the MAC covers, then " " + MAC + "\n".
    var bytes: [UInt8] { macInput + Array((" " + AgeBase64.encode(mac) + "\n").utf8) }

    private static func seal(_ fileKey: SymmetricKey, with key: SymmetricKey) throws -> [UInt8] {
        let box = try ChaChaPoly.seal(fileKey.withUnsafeBytes { Array($0) }, using: key, nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
        return Array(box.ciphertext) + Array(box.tag)
    }

    static func mac(fileKey: SymmetricKey, over bytes: [UInt8]) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: fileKey, salt: [UInt8](), info: Array("header".utf8), outputByteCount: 32)
        return Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key))
    }

    // MARK: Reading

    /// Parses a header from the start of `read` (which hands out the file's bytes from an
    /// offset). Strict: a malformed line is `AgeError.header`.
    static func parse(_ read: (Int, Int) throws -> [UInt8]) throws -> AgeHeader {
        var offset = 0
        var buffered = [UInt8]()
        let bufferStart = 0
        // One line without its "\n"; nil at the end of the file. Lines are capped: a header is small.
        func line() throws -> [UInt8]? {
            while true {
                if let newline = buffered[(offset - bufferStart)...].firstIndex(of: 0x0A) {
                    let text = Array(buffered[(offset - bufferStart)..<newline])
                    offset = bufferStart + newline + 1
                    return text
                }
                guard buffered.count - (offset - bufferStart) < 16 * 1024 else { throw AgeError.header("a header line is too long") }
                let more = try read(bufferStart + buffered.count, 4096)
                if more.isEmpty { return nil }
                buffered += more
            }
        }
        guard let first = try line() else { throw AgeError.header("the file is empty or has no version line") }
        guard first == Array(version.utf8) else { throw AgeError.header("the first line is not \(version)") }
        var stanzas = [AgeStanza]()
        var macInput = Array((version + "\n").utf8)
        while true {
            guard let text = try line() else { throw AgeError.header("the header ends before its MAC line") }
            if text.starts(with: Array("---".utf8)) {
                guard text.count == 4 + 43, text[3] == 0x20, let mac = AgeBase64.decode(text[4...]), mac.count == 32 else {
                    throw AgeError.header("the MAC line is malformed")
                }
                guard !stanzas.isEmpty else { throw AgeError.header("the header has no recipient stanza") }
                macInput += Array("---".utf8)
                try checkKnownStanzas(stanzas)
                return AgeHeader(stanzas: stanzas, macInput: macInput, mac: mac, length: offset)
            }
            guard text.starts(with: Array("-> ".utf8)) else { throw AgeError.header("a line is neither a stanza (->) nor the MAC (---)") }
            let arguments = text[3...].split(separator: 0x20, omittingEmptySubsequences: false)
            guard !arguments.isEmpty, arguments.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 0x21 && $0 <= 0x7E } }) else {
                throw AgeError.header("a stanza has an empty argument or a character outside printable ASCII")
            }
            macInput += text + [0x0A]
            var body = [UInt8]()
            while true {
                guard let bodyLine = try line() else { throw AgeError.header("a stanza's body does not end with a short line") }
                guard bodyLine.count <= 64 else { throw AgeError.header("a stanza's body line is longer than 64 columns") }
                macInput += bodyLine + [0x0A]
                body += bodyLine
                if bodyLine.count < 64 { break }
            }
            guard let decoded = AgeBase64.decode(body) else { throw AgeError.header("a stanza's body is not canonical base64") }
            let words = arguments.map { String(decoding: $0, as: UTF8.self) }
            stanzas.append(AgeStanza(type: words[0], arguments: Array(words.dropFirst()), body: decoded))
        }
    }

    /// The stanza types cdb knows are checked in full whatever identities are at hand (a
    /// malformed one is a broken file, not a mismatch); others are skipped when unwrapping.
    private static func checkKnownStanzas(_ stanzas: [AgeStanza]) throws {
        for stanza in stanzas {
            switch stanza.type {
            case "X25519":
                guard stanza.arguments.count == 1, let share = AgeBase64.decode(Array(stanza.arguments[0].utf8)), share.count == 32 else {
                    throw AgeError.header("an X25519 stanza's share is malformed")
                }
                guard stanza.body.count == 32 else { throw AgeError.header("an X25519 stanza's wrapped file key is not 32 bytes") }
            case "scrypt":
                guard stanzas.count == 1 else { throw AgeError.header("a passphrase (scrypt) stanza must be the only one") }
                guard stanza.arguments.count == 2, let salt = AgeBase64.decode(Array(stanza.arguments[0].utf8)), salt.count == 16 else {
                    throw AgeError.header("a scrypt stanza's salt is malformed")
                }
                let factor = Array(stanza.arguments[1].utf8)
                guard !factor.isEmpty, factor.count <= 2, factor.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), factor[0] != 0x30,
                      let logN = Int(stanza.arguments[1]), logN >= 1 else {
                    throw AgeError.header("a scrypt stanza's work factor is malformed")
                }
                guard logN <= maxScryptWorkFactor else {
                    throw AgeError.header("a scrypt stanza's work factor \(logN) is above \(maxScryptWorkFactor) (it would take very long)")
                }
                guard stanza.body.count == 32 else { throw AgeError.header("a scrypt stanza's wrapped file key is not 32 bytes") }
            default: continue
            }
        }
    }

    /// The file key: the first stanza an identity unwraps, checked against the MAC.
    func unwrap(with identities: [AgeIdentity]) throws -> SymmetricKey {
        for stanza in stanzas {
            for identity in identities {
                guard let fileKey = try unwrap(stanza, identity) else { continue }
                guard Self.mac(fileKey: fileKey, over: macInput).elementsEqual(mac) else { throw AgeError.mac }
                return fileKey
            }
        }
        throw AgeError.noMatch
    }

    private func unwrap(_ stanza: AgeStanza, _ identity: AgeIdentity) throws -> SymmetricKey? {
        let wrapKey: SymmetricKey
        switch (stanza.type, identity.kind) {
        case let ("X25519", .x25519(key)):
            let share = AgeBase64.decode(Array(stanza.arguments[0].utf8))!
            let ours = Array(key.publicKey.rawRepresentation)
            guard let theirs = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: share),
                  let shared = try? key.sharedSecretFromKeyAgreement(with: theirs) else {
                throw AgeError.header("an X25519 stanza's share is not a valid point")
            }
            guard shared.withUnsafeBytes({ $0.contains { $0 != 0 } }) else {
                throw AgeError.header("an X25519 stanza's share is a low-order point (all-zero shared secret)")
            }
            wrapKey = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: share + ours, sharedInfo: Self.x25519Label, outputByteCount: 32)
        case let ("scrypt", .passphrase(passphrase)):
            let salt = AgeBase64.decode(Array(stanza.arguments[0].utf8))!
            let logN = Int(stanza.arguments[1])!
            wrapKey = try KDF.Scrypt.deriveKey(from: passphrase, salt: Self.scryptLabel + salt, outputByteCount: 32,
                                               rounds: 1 << logN, blockSize: 8, parallelism: 1)
        default:
            return nil
        }
        guard let box = try? ChaChaPoly.SealedBox(combined: [UInt8](repeating: 0, count: 12) + stanza.body),
              let fileKey = try? ChaChaPoly.open(box, using: wrapKey) else { return nil }
        guard fileKey.count == 16 else { throw AgeError.header("the wrapped file key is not 16 bytes") }
        return SymmetricKey(data: fileKey)
    }
}

/// Random bytes from the kernel (getrandom), for file keys, nonces and salts.
func fillRandom(_ bytes: inout [UInt8]) {
    var rng = SystemRandomNumberGenerator()
    for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
}
