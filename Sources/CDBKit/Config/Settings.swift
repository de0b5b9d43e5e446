import Foundation

/// Settings shared by every program, resolved once: flags, then environment, then the
/// repository's `.env`, then defaults.
public struct Settings: Sendable {
    public var backupRoot: String
    public var retentionDays: Int
    public var keepLast: Int
    public var requiredTables: [String]
    public var database: DatabaseSettings
    /// Problems found while reading `.env` (line numbers, never values).
    public var warnings: [String] = []

    public static let defaultRequiredTables = ["signals", "orders", "trades", "positions", "portfolio_snapshots"]

    /// The values given on the command line; nil means "not given".
    public struct Flags: Sendable {
        public var backupRoot: String?
        public var retentionDays: Int?
        public var keepLast: Int?
        public var requiredTables: [String] = []
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
        var dotenv: [String: String] = [:]
        if let path = DotEnv.locate(from: directory) {
            let parsed = DotEnv.parse(fileAt: path)
            dotenv = parsed.values
            warnings += parsed.problems
        }
        func nonEmpty(_ value: String?) -> String? {
            guard let value, !value.isEmpty else { return nil }
            return value
        }
        let home = nonEmpty(environment["HOME"]) ?? NSHomeDirectory()
        var root = nonEmpty(flags.backupRoot) ?? nonEmpty(environment["CDB_BACKUP_ROOT"])
            ?? nonEmpty(dotenv["CDB_BACKUP_ROOT"]) ?? "~/Claire_Backups"
        if root == "~" || root.hasPrefix("~/") { root = home + root.dropFirst() }

        func integer(_ flag: Int?, _ key: String, default value: Int) throws -> Int {
            if let flag { return flag }
            for (source, text) in [("environment variable", environment[key]), (".env entry", dotenv[key])] {
                guard let text = nonEmpty(text) else { continue }
                guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                    throw CDBError.configuration("\(source) \(key) is not a whole number; set it to e.g. \(value)")
                }
                return number
            }
            return value
        }
        let retention = try integer(flags.retentionDays, "CDB_RETENTION_DAYS", default: 14)
        let keepLast = try integer(flags.keepLast, "CDB_KEEP_LAST", default: 3)

        var tables = flags.requiredTables
        if tables.isEmpty, let list = nonEmpty(environment["CDB_REQUIRED_TABLES"]) ?? nonEmpty(dotenv["CDB_REQUIRED_TABLES"]) {
            tables = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if tables.isEmpty { tables = defaultRequiredTables }

        let database = DatabaseSettings(flags: flags, environment: environment, dotenv: dotenv)
        return Settings(
            backupRoot: root, retentionDays: retention, keepLast: keepLast,
            requiredTables: tables, database: database, warnings: warnings
        )
    }
}

/// Connection parameters handed to libpq. Empty means "libpq decides" (PG* variables, defaults).
public struct DatabaseSettings: Sendable {
    /// libpq keyword/value pairs, in order; `dbname` may hold a conninfo string or URI.
    public var parameters: [(String, String)]
    /// Every secret that must never be printed (passwords, from any source).
    public var secrets: [String]

    init(flags: Settings.Flags, environment: [String: String], dotenv: [String: String]) {
        var parameters: [(String, String)] = []
        var secrets: [String] = []
        func pick(_ keyword: String, flag: String?, pgVariable: String, dotenvKey: String) {
            if let flag, !flag.isEmpty {
                parameters.append((keyword, flag))
            } else if let value = environment[pgVariable], !value.isEmpty {
                _ = value  // libpq reads PG* variables itself
            } else if let value = dotenv[dotenvKey], !value.isEmpty {
                parameters.append((keyword, value))
            }
        }
        pick("host", flag: flags.host, pgVariable: "PGHOST", dotenvKey: "POSTGRES_HOST")
        pick("port", flag: flags.port, pgVariable: "PGPORT", dotenvKey: "POSTGRES_PORT")
        pick("user", flag: flags.username, pgVariable: "PGUSER", dotenvKey: "POSTGRES_USER")
        if environment["PGPASSWORD"] == nil, let password = dotenv["POSTGRES_PASSWORD"], !password.isEmpty {
            parameters.append(("password", password))
        }
        // dbname goes last: with expand_dbname a conninfo or URI in it overrides the pairs before.
        pick("dbname", flag: flags.dbname, pgVariable: "PGDATABASE", dotenvKey: "POSTGRES_DB")
        for value in [environment["PGPASSWORD"], dotenv["POSTGRES_PASSWORD"]] {
            if let value, !value.isEmpty { secrets.append(value) }
        }
        if let dbname = flags.dbname, let password = ConnectionString.password(in: dbname) {
            secrets.append(password)
        }
        self.parameters = parameters
        self.secrets = secrets
    }

    /// Removes every known secret from a message.
    public func redact(_ text: String) -> String {
        var text = text
        for secret in secrets where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return ConnectionString.redactURLs(in: text)
    }
}

/// Helpers for conninfo strings and URLs that may carry credentials.
public enum ConnectionString {
    /// The password inside a `postgresql://user:pw@host/db` URI or a `password=…` conninfo.
    public static func password(in text: String) -> String? {
        if text.contains("://"), let url = URLComponents(string: text), let password = url.percentEncodedPassword, !password.isEmpty {
            return password.removingPercentEncoding ?? password
        }
        if let range = text.range(of: #"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)"#, options: .regularExpression) {
            var value = String(text[range].drop(while: { $0 != "=" }).dropFirst()).trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// Replaces the `user:password@` part of every URL in `text` with `user@`… or removes it.
    public static func redactURLs(in text: String) -> String {
        text.replacingOccurrences(
            of: #"([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s:]*):[^/@\s]*@"#,
            with: "$1$2@", options: .regularExpression
        )
    }
}
