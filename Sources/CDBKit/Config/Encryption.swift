import FoundationEssentials
import Glibc

/// Which keys encrypt new backups and which open existing ones (README, "Encryption"). Keys
/// come from flags, the environment or the user's config file, never from a repository.
public enum EncryptionSettings {
    /// The recipients new backups are encrypted to, or nil when not encrypting: `--encrypt` or
    /// CDB_ENCRYPT=1 turns it on; recipients are `--recipient`, `--recipients-file`, then
    /// CDB_RECIPIENTS (space-separated) and CDB_RECIPIENTS_FILE. Encrypting with none is 78.
    public static func recipients(encrypt: Bool, recipients: [String], files: [String], sources: SettingSources) throws -> [AgeRecipient]? {
        var on = encrypt
        if !on, let (value, source) = sources.lookup("CDB_ENCRYPT") {
            switch value.trimmedSpaces().lowercased() {
            case "1", "yes", "true", "on": on = true
            case "0", "no", "false", "off": on = false
            default: throw CDBError.configuration("\(source) is neither 1 nor 0")
            }
        }
        guard on else { return nil }
        var keys = [AgeRecipient]()
        do {
            keys += try recipients.map { try AgeRecipient($0) }
            for file in files { keys += try AgeRecipient.parseFile(try readKeyFile(file), name: file) }
            if recipients.isEmpty && files.isEmpty {
                if let (list, source) = sources.lookup("CDB_RECIPIENTS") {
                    for word in list.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
                        do { keys.append(try AgeRecipient(String(word))) } catch { throw AgeError.key("\(source): \(error)") }
                    }
                }
                if let (file, _) = sources.lookup("CDB_RECIPIENTS_FILE") {
                    keys += try AgeRecipient.parseFile(try readKeyFile(file), name: file)
                }
            }
        } catch let error as AgeError {
            throw CDBError.configuration(error.description)
        }
        guard !keys.isEmpty else {
            throw CDBError.configuration("encryption is on but no recipient is configured: give --recipient age1… or --recipients-file FILE, or set CDB_RECIPIENTS in the config file (age-keygen -y KEY prints a key's recipient)")
        }
        return keys
    }

    /// The identities that open encrypted backups: `--identity` files, else CDB_IDENTITY (a
    /// file); a passphrase from `--passphrase-file` joins them. Malformed files are 78, naming
    /// the line and never its text.
    public static func identities(files: [String], passphraseFile: String?, sources: SettingSources) throws -> [AgeIdentity] {
        var paths = files
        if paths.isEmpty, let (file, _) = sources.lookup("CDB_IDENTITY") { paths = [file] }
        var out = [AgeIdentity]()
        do {
            for path in paths { out += try AgeIdentity.parseFile(try readKeyFile(path), name: path) }
        } catch let error as AgeError {
            throw CDBError.configuration(error.description)
        }
        if let passphraseFile {
            var text = try readKeyFile(passphraseFile)
            if text.hasSuffix("\n") { text.removeLast() }
            guard !text.isEmpty else { throw CDBError.configuration("\(Untrusted.escape(passphraseFile)) is empty: it must hold the passphrase") }
            out.append(AgeIdentity(passphrase: Array(text.utf8)))
        }
        return out
    }

    /// A key file's text (`~` expanded). Missing is 66; unreadable 78.
    static func readKeyFile(_ path: String) throws -> String {
        let expanded = path == "~" || path.hasPrefix("~/") ? Path.home + path.dropFirst() : path
        let fd = open(expanded, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw CDBError.inputMissing(path: expanded, reason: "no such key file") }
            throw CDBError.configuration("\(Untrusted.escape(expanded)): cannot be read (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        let bytes = try FileIO.readAll(fd, path: expanded)
        guard bytes.count < 1 << 20, let text = String(validating: bytes, as: UTF8.self) else {
            throw CDBError.configuration("\(Untrusted.escape(expanded)) is not a key file (too large, or not text)")
        }
        return text
    }
}

/// What opens encrypted backups: identities (and perhaps a passphrase), and a way to ask for a
/// passphrase when a file needs one and none was given.
public struct DecryptionKeys: Sendable {
    public var identities: [AgeIdentity]
    public var askPassphrase: (@Sendable (String) -> [UInt8]?)?

    public init(identities: [AgeIdentity] = [], askPassphrase: (@Sendable (String) -> [UInt8]?)? = nil) {
        self.identities = identities
        self.askPassphrase = askPassphrase
    }

    /// The keys for one file: when it is a passphrase (scrypt) age file and no passphrase is
    /// at hand, the passphrase is asked once here, not on every pass over the file.
    public func prepared(for path: String) -> DecryptionKeys {
        guard let askPassphrase, !identities.contains(where: \.isPassphrase), AgeFile.isEncrypted(path: path),
              let header = try? AgeHeader.parse({ offset, count in try FileIO.readRange(path: path, offset: UInt64(offset), count: count) }),
              header.stanzas.contains(where: { $0.type == "scrypt" }) else { return self }
        var keys = DecryptionKeys(identities: identities)
        if let passphrase = askPassphrase("Passphrase for \(Untrusted.escape(path)): ") { keys.identities.append(AgeIdentity(passphrase: passphrase)) }
        return keys
    }
}
