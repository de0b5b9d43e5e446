import FoundationEssentials
import Glibc

/// Settings shared by every program, resolved once: flags, then the environment, then the user's
/// config file (`${XDG_CONFIG_HOME:-~/.config}/cdb/config`), then defaults. Never from a
/// repository: an enabled repository's `.env` supplies only the database connection.
public struct Settings: Sendable {
    public var backupRoot: String
    public var retentionDays: Int
    public var keepLast: Int
    public var requiredTables: [String]
    /// Untracked files a snapshot captures: none larger than `untrackedMaxFile`, at most `untrackedMaxTotal` bytes in all.
    public var untrackedMaxFile: Int64 = 10 << 20
    public var untrackedMaxTotal: Int64 = 100 << 20
    public var database: DatabaseSettings
    /// How dumps are compressed when no --compress is given (CDB_COMPRESS: none, zstd, gzip).
    public var compression: Compression = .none
    /// The enabled work tree the run is in (its `.env` was read), if any.
    public var enabledWorkTree: String?
    /// The environment and config file the settings came from, for settings a program reads itself.
    public var sources: SettingSources
    /// Problems found while reading `.env` or the config file (line numbers, never values).
    public var warnings: [String] = []

    public static let defaultRequiredTables = ["signals", "orders", "trades", "positions", "portfolio_snapshots"]

    /// The `.env` keys cdb reads, and only from an enabled repository.
    public static let connectionKeys = ["POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_HOST", "POSTGRES_PORT"]

    /// The values given on the command line; nil means "not given".
    public struct Flags: Sendable {
        public var backupRoot: String?
        public var retentionDays: Int?
        public var keepLast: Int?
        public var requiredTables: [String] = []
        public var untrackedMaxFile: Int64?
        public var untrackedMaxTotal: Int64?
        public var dbname: String?
        public var host: String?
        public var port: String?
        public var username: String?
        public init() {}
    }

    /// Resolves the settings for a run started in `directory`.
    public static func resolve(
        flags: Flags,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = FileManager.default.currentDirectoryPath
    ) throws -> Settings {
        var warnings: [String] = []
        let user = UserConfig(environment: environment)
        let config = try user.settings()
        let configName = user.configPath

        // The repository's .env: only in an enabled repository, only the connection.
        var dotenv: [String: String] = [:]
        let workTree = WorkTree.root(containing: directory).flatMap { user.isEnabled($0) ? $0 : nil }
        if let workTree, let path = DotEnv.locate(from: directory, workTree: workTree) {
            let parsed = try DotEnv.parse(fileAt: path, environment: environment)
            for problem in parsed.problems {
                if let key = problem.key, connectionKeys.contains(key) {
                    throw CDBError.configuration("\(problem.file):\(problem.line): \(key) cannot be read (\(problem.reason)) — fix that line; cdb will not fall back to another database")
                }
                warnings.append(problem.description)
            }
            for key in parsed.values.keys.sorted() where key.hasPrefix("CDB_") {
                warnings.append("\(path):\(parsed.lines[key] ?? 0): \(key) is ignored in a repository's .env; cdb's own settings come from flags, the environment or \(configName) — move it there")
            }
            dotenv = parsed.values.filter { connectionKeys.contains($0.key) }
        }

        func nonEmpty(_ value: String?) -> String? {
            guard let value, !value.isEmpty else { return nil }
            return value
        }
        let sources = SettingSources(environment: environment, config: config, configPath: configName)
        let home = nonEmpty(environment["HOME"]) ?? Path.home
        var (root, rootSource) = nonEmpty(flags.backupRoot).map { ($0, "--backup-root") } ?? sources.lookup("CDB_BACKUP_ROOT")
            ?? ("~/Claire_Backups", "the default backup root")
        if root == "~" || root.hasPrefix("~/") { root = home + root.dropFirst() }
        try BackupRoot.validate(root, setting: rootSource, home: home)

        let retention = try sources.integer("CDB_RETENTION_DAYS", flag: flags.retentionDays, default: 14)
        let keepLast = try sources.integer("CDB_KEEP_LAST", flag: flags.keepLast, default: 3)

        var tables = flags.requiredTables
        if tables.isEmpty, let (list, _) = sources.lookup("CDB_REQUIRED_TABLES") {
            tables = list.split(separator: ",").map { $0.trimmedSpaces() }.filter { !$0.isEmpty }
        }
        if tables.isEmpty { tables = defaultRequiredTables }
        let maxFile = try sources.size("CDB_UNTRACKED_MAX_FILE", flag: flags.untrackedMaxFile, default: 10 << 20)
        let maxTotal = try sources.size("CDB_UNTRACKED_MAX_TOTAL", flag: flags.untrackedMaxTotal, default: 100 << 20)

        let database = DatabaseSettings(flags: flags, environment: environment, dotenv: dotenv)
        var settings = Settings(
            backupRoot: root, retentionDays: retention, keepLast: keepLast,
            requiredTables: tables, database: database, enabledWorkTree: workTree, sources: sources, warnings: warnings
        )
        settings.untrackedMaxFile = maxFile
        settings.untrackedMaxTotal = maxTotal
        if let (text, source) = sources.lookup("CDB_COMPRESS") {
            guard let value = Compression(rawValue: text.trimmedSpaces().lowercased()) else {
                throw CDBError.configuration("\(source) is not one of none, zstd, gzip")
            }
            settings.compression = value
        }
        return settings
    }
}

/// Where cdb's own settings come from after the flags: the environment, then the user's config
/// file. Every setting is read, and every bad value reported, the same way.
public struct SettingSources: Sendable {
    public var environment: [String: String]
    public var config: [String: String]
    public var configPath: String

    /// The value of `key` and where it came from (for messages), or nil when it is not set.
    public func lookup(_ key: String) -> (value: String, source: String)? {
        if let value = environment[key], !value.isEmpty { return (value, "environment variable \(key)") }
        if let value = config[key], !value.isEmpty { return (value, "\(key) in \(configPath)") }
        return nil
    }

    /// A whole number of 0 or more: the flag, else `key`, else `value`; anything else is 78.
    public func integer(_ key: String, flag: Int?, default value: Int) throws -> Int {
        if let flag { return flag }
        guard let (text, source) = lookup(key) else { return value }
        guard let number = Int(text.trimmedSpaces()), number >= 0 else {
            throw CDBError.configuration("\(source) is not a whole number of 0 or more; set it to e.g. \(value)")
        }
        return number
    }

    /// A size such as 10M: the flag, else `key`, else `value`; anything else is 78.
    public func size(_ key: String, flag: Int64?, default value: Int64) throws -> Int64 {
        if let flag { return flag }
        guard let (text, source) = lookup(key) else { return value }
        guard let bytes = ByteSize.parse(text) else {
            throw CDBError.configuration("\(source) is not a size; set it to e.g. 10M (K, M and G are 1024-based)")
        }
        return bytes
    }
}

/// Connection parameters handed to libpq. Empty means "libpq decides" (PG* variables, defaults).
public struct DatabaseSettings: Sendable {
    /// libpq keyword/value pairs, in order; `dbname` may hold a conninfo string or URI.
    public var parameters: [(String, String)]
    /// Every secret that must never be printed (passwords, from any source).
    public var secrets: [String]
    /// Where each connection parameter came from ("--host", "PGHOST", "POSTGRES_HOST in the
    /// repository's .env"), for messages that say what to fix.
    public var origins: [String: String] = [:]

    init(flags: Settings.Flags, environment: [String: String], dotenv: [String: String]) {
        var parameters: [(String, String)] = []
        var secrets: [String] = []
        var origins: [String: String] = [:]
        func pick(_ keyword: String, flag: String?, flagName: String, pgVariable: String, dotenvKey: String) {
            if let flag, !flag.isEmpty {
                parameters.append((keyword, flag))
                origins[keyword] = flagName
            } else if let value = environment[pgVariable], !value.isEmpty {
                origins[keyword] = pgVariable  // libpq reads PG* variables itself
            } else if let value = dotenv[dotenvKey], !value.isEmpty {
                parameters.append((keyword, value))
                origins[keyword] = "\(dotenvKey) in the repository's .env"
            }
        }
        pick("host", flag: flags.host, flagName: "--host", pgVariable: "PGHOST", dotenvKey: "POSTGRES_HOST")
        pick("port", flag: flags.port, flagName: "--port", pgVariable: "PGPORT", dotenvKey: "POSTGRES_PORT")
        pick("user", flag: flags.username, flagName: "--username", pgVariable: "PGUSER", dotenvKey: "POSTGRES_USER")
        if environment["PGPASSWORD"] == nil, let password = dotenv["POSTGRES_PASSWORD"], !password.isEmpty {
            parameters.append(("password", password))
        }
        // dbname goes last: with expand_dbname a conninfo or URI in it overrides the pairs before.
        pick("dbname", flag: flags.dbname, flagName: "--dbname", pgVariable: "PGDATABASE", dotenvKey: "POSTGRES_DB")
        for value in [environment["PGPASSWORD"], dotenv["POSTGRES_PASSWORD"]] {
            if let value, !value.isEmpty { secrets.append(value) }
        }
        if let dbname = flags.dbname {
            if let password = ConnectionString.password(in: dbname) { secrets.append(password) }
            // As written, percent-encoding and all: libpq quotes it so when it cannot decode it.
            if let raw = ConnectionString.rawURIPassword(in: dbname) { secrets.append(raw) }
        }
        self.parameters = parameters
        self.secrets = secrets
        self.origins = origins
    }

    /// Removes credentials from a message: the password of every conninfo `password=…` pair and
    /// every URI's `user:password@` part. Not blind text replacement: a password like `t` or
    /// `failed` leaves every other word alone.
    public func redact(_ text: String) -> String {
        var text = ConnectionString.redactURLs(in: ConnectionString.redactConninfo(in: text))
        // libpq quotes a token it cannot read ("invalid percent-encoded token: \"…\""): a known
        // secret is replaced where it stands quoted, and nowhere else.
        for secret in Set(secrets) where !secret.isEmpty && text.containsBytes("\"\(secret)\"") {
            text = text.replacingAll("\"\(secret)\"", with: "\"***\"")
        }
        return text
    }
}

/// Helpers for conninfo strings and URLs that may carry credentials.
public enum ConnectionString {
    /// The password inside a `postgresql://user:pw@host/db` URI or a `password=…` conninfo.
    public static func password(in text: String) -> String? {
        if text.contains("://"), let url = URLComponents(string: text), let password = url.percentEncodedPassword, !password.isEmpty {
            return percentDecoded(password) ?? password
        }
        if let match = text.firstMatch(of: passwordSetting) {
            var value = String(match.output[2].substring ?? "").trimmedSpaces()
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// The password of a `scheme://user:password@…` URI exactly as written (still percent-encoded).
    public static func rawURIPassword(in text: String) -> String? {
        guard let scheme = text.byteRange(of: "://") else { return nil }
        let authority = text[scheme.upperBound...].prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        let password = authority[authority.index(after: colon)..<at]
        return password.isEmpty ? nil : String(password)
    }

    /// Replaces the value of every `password=…` conninfo pair with `***`.
    public static func redactConninfo(in text: String) -> String {
        text.replacing(passwordPair) { match in (match.output[1].substring ?? "") + "***" }
    }

    /// Replaces the `user:password@` part of every URL in `text` with `user@`… or removes it.
    public static func redactURLs(in text: String) -> String {
        text.replacing(urlCredentials) { match in
            (match.output[1].substring ?? "") + (match.output[2].substring ?? "") + "@"
        }
    }

    /// A conninfo `password=` pair: the key and the value, quoted or up to whitespace (compared
    /// by Unicode scalars, not Characters, so that a combining mark cannot hide a quote).
    private static let passwordPair = try! Regex(#"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)"#)
        .ignoresCase().matchingSemantics(.unicodeScalar)
    /// The same pair as libpq reads it, the unquoted value running to whitespace.
    private static let passwordSetting = try! Regex(#"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)"#)
        .ignoresCase().matchingSemantics(.unicodeScalar)
    /// `scheme://user:password@` in a URL.
    private static let urlCredentials = try! Regex(#"([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s:]*):[^/@\s]*@"#)
        .matchingSemantics(.unicodeScalar)

    /// `%XX` sequences decoded; nil when one is malformed or the result is not UTF-8.
    static func percentDecoded(_ text: String) -> String? {
        var bytes = [UInt8]()
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
