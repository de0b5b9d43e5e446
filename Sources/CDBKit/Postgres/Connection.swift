import CLibPQ
import FoundationEssentials
import Glibc

/// One libpq connection. Owns its PGconn and frees it in `deinit`.
public final class PGConnection {
    let handle: OpaquePointer
    /// "host:port" (or "socket-folder:port") as libpq resolved it; used in messages.
    public let target: String
    public let serverVersion: Int
    private let redact: (String) -> String

    /// Connects with the resolved settings. Throws `.databaseUnreachable` (exit 69) when the
    /// server cannot be reached and `.databaseConfig` (exit 78) for credentials or a missing database.
    public init(settings: DatabaseSettings, applicationName: String) throws {
        var pairs = settings.parameters
        pairs.append(("fallback_application_name", applicationName))
        if ProcessInfo.processInfo.environment["PGCONNECT_TIMEOUT"] == nil, !pairs.contains(where: { $0.0 == "connect_timeout" }) {
            pairs.insert(("connect_timeout", "10"), at: 0)
        }
        let conn: OpaquePointer? = Self.withParameters(pairs) { PQconnectdbParams($0, $1, 1) }
        guard let conn else { throw CDBError.databaseUnreachable(target: "?", reason: "out of memory") }
        let redact = settings.redact
        let host = PQhost(conn).map { String(cString: $0) } ?? ""
        let port = PQport(conn).map { String(cString: $0) } ?? ""
        let target = (host.isEmpty ? "the default socket" : Untrusted.escape(host)) + (port.isEmpty ? "" : ":\(port)")
        if PQstatus(conn) != CONNECTION_OK {
            // Classify the server's own words first; redact only what is shown.
            let raw = Self.clean(PQerrorMessage(conn))
            PQfinish(conn)
            throw Self.classify(message: raw, target: target, redact: redact, origins: settings.origins)
        }
        self.handle = conn
        self.target = target
        self.redact = redact
        self.serverVersion = Int(PQserverVersion(conn))
        self.cancelHandle = PQgetCancel(conn)
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        PQfinish(handle)
    }

    private let cancelHandle: OpaquePointer?

    /// Asks the server to stop what this connection is running. Safe from another thread
    /// (libpq's PQcancel, on a handle made when the connection was opened).
    func cancel() {
        guard let cancelHandle else { return }
        var message = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancelHandle, &message, Int32(message.count))
    }

    /// libpq's keyword and value arrays (NULL-terminated C strings) for `pairs`, for the
    /// duration of `body`.
    private static func withParameters<T>(_ pairs: [(String, String)],
                                          _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        let keywords = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        return keywords.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in body(k.baseAddress, v.baseAddress) }
        }
    }

    /// What libpq's ping says of the server these settings name (no password needed, nothing
    /// logged on the server): accepting connections, up but refusing them (starting up,
    /// shutting down), not answering, or settings libpq cannot use.
    public enum Ping: Sendable { case ready, starting, noResponse, badSettings }

    public static func ping(settings: DatabaseSettings) -> Ping {
        var pairs = settings.parameters.filter { $0.0 != "password" }
        pairs.insert(("connect_timeout", "2"), at: 0)
        let answer = withParameters(pairs) { PQpingParams($0, $1, 1) }
        switch answer {
        case PQPING_OK: return .ready
        case PQPING_REJECT: return .starting
        case PQPING_NO_ATTEMPT: return .badSettings
        default: return .noResponse
        }
    }

    static func clean(_ message: UnsafeMutablePointer<CChar>?) -> String {
        guard let message else { return "unknown error" }
        let text = String(cString: message).trimmed()
        // libpq prefixes "connection to server at … failed: "; keep the reason, the target is ours.
        let lines = text.split(separator: "\n").map { line -> String in
            let reason = line.byteRange(of: "failed: ").map { line[$0.upperBound...] } ?? line[...]
            return reason.trimmedSpaces()
        }
        return lines.joined(separator: "; ")
    }

    static func classify(message raw: String, target: String, redact: (String) -> String = { $0 },
                         origins: [String: String] = [:]) -> CDBError {
        let lower = raw.lowercased()
        let message = redact(raw)
        // "(from PGHOST)": where the value libpq used came from, when it came from somewhere.
        func from(_ keyword: String) -> String { origins[keyword].map { " (from \($0))" } ?? "" }
        if lower.contains("password authentication failed") || lower.contains("no password supplied")
            || lower.contains("authentication failed") || lower.contains("peer authentication") {
            return .databaseConfig(target: target, reason: message,
                                   fix: "set the password in PGPASSWORD, ~/.pgpass (PGPASSFILE) or POSTGRES_PASSWORD in the repository's .env, and the user with --username, PGUSER or POSTGRES_USER")
        }
        if lower.contains("database") && lower.contains("does not exist") {
            return .databaseConfig(target: target, reason: message + from("dbname"),
                                   fix: "name an existing database with --dbname, PGDATABASE or POSTGRES_DB in the repository's .env")
        }
        if lower.contains("role") && lower.contains("does not exist") {
            return .databaseConfig(target: target, reason: message + from("user"),
                                   fix: "name an existing user with --username, PGUSER or POSTGRES_USER in the repository's .env")
        }
        if lower.contains("invalid") || lower.contains("missing") && lower.contains("=") || lower.contains("unrecognized") {
            // The value libpq could not read: a port, a host, or a conninfo string or URI.
            let keyword = lower.contains("port") ? "port" : lower.contains("host") ? "host" : "dbname"
            let what = keyword == "dbname" ? "a conninfo string or postgresql:// URI" : "the server's \(keyword)"
            return .databaseConfig(target: target, reason: message, fix: "fix \(origins[keyword] ?? "--" + keyword) (\(what))")
        }
        let place = ["host", "port"].compactMap { k in origins[k].map { "\(k) from \($0)" } }
        return .databaseUnreachable(target: target, reason: message + (place.isEmpty ? "" : "; " + place.joined(separator: ", ")))
    }

    /// The last error of this connection, with secrets removed.
    public var lastError: String { redact(Self.clean(PQerrorMessage(handle))) }

    public var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// Runs one or more statements; throws unless they succeed.
    @discardableResult
    public func execute(_ sql: String, context: String) throws -> PGResult {
        let result = PGResult(PQexec(handle, sql))
        try check(result, context: context)
        return result
    }

    /// Runs a query with text parameters ($1, $2, …).
    public func query(_ sql: String, _ parameters: [String?] = [], context: String) throws -> PGResult {
        let cStrings = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { cStrings.forEach { free($0) } }
        let result = cStrings.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
            PGResult(PQexecParams(handle, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0))
        }
        try check(result, context: context)
        return result
    }

    func check(_ result: PGResult, context: String) throws {
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_COPY_OUT, PGRES_COPY_IN:
            return
        default:
            if isBroken {
                throw CDBError.connectionLost(context: context, message: lastError)
            }
            throw CDBError.query(context: context, sqlstate: result.sqlstate ?? "?????",
                                 message: redact(result.errorMessage ?? lastError))
        }
    }

    /// What one statement of a restored script did.
    public enum Outcome {
        case done
        /// A `COPY … FROM stdin` started: send its data, then `endCopyIn()`.
        case copyIn
        case failed(String)
    }

    /// A failure message (a type, so that it can travel in a `Result`).
    public struct Message: Error { public let text: String }

    /// Runs one statement of a script as written (a restore replays statements it has not
    /// written itself); never throws: the caller reports the line.
    public func run(_ sql: String) -> Outcome {
        let result = PGResult(PQexec(handle, sql))
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return .done
        case PGRES_COPY_IN: return .copyIn
        default: return .failed(isBroken ? lastError : redact(result.errorMessage ?? lastError))
        }
    }

    /// Sends a chunk of COPY data; returns a message when the connection refused it.
    public func sendCopyData(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        return PQputCopyData(handle, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count)) == 1 ? nil : lastError
    }

    /// Abandons COPY FROM stdin: the server discards the rows of this COPY.
    func abortCopyIn() {
        _ = PQputCopyEnd(handle, "abandoned by cdb-restore")
        while let next = PQgetResult(handle) { PQclear(next) }
    }

    /// Ends COPY FROM stdin; the rows the server stored, or its message.
    public func endCopyIn() -> Result<Int64, Message> {
        if PQputCopyEnd(handle, nil) != 1 { return .failure(Message(text: lastError)) }
        var rows: Int64 = 0
        var failure: String?
        while let next = PQgetResult(handle) {
            let r = PGResult(next)
            if r.status == PGRES_COMMAND_OK { rows = Int64(r.commandTuples) ?? 0 } else { failure = redact(r.errorMessage ?? lastError) }
        }
        return failure.map { .failure(Message(text: $0)) } ?? .success(rows)
    }

    /// Runs `COPY … TO STDOUT` and hands every chunk libpq returns to `body` as raw bytes,
    /// without turning rows into strings. Returns the row count the server reported.
    public func copyOut(_ sql: String, context: String, body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        let start = PGResult(PQexec(handle, sql))
        try check(start, context: context)
        guard start.status == PGRES_COPY_OUT else {
            throw CDBError.query(context: context, sqlstate: "?????", message: "the server did not start COPY OUT")
        }
        var buffer: UnsafeMutablePointer<CChar>?
        var failure: Error?
        while true {
            let n = PQgetCopyData(handle, &buffer, 0)
            if n > 0, let chunk = buffer {
                defer { PQfreemem(chunk) }
                if failure == nil {
                    do { try body(UnsafeRawBufferPointer(start: chunk, count: Int(n))) } catch { failure = error }
                }
                continue
            }
            if n == -1 { break }  // COPY done; the final result follows
            throw CDBError.connectionLost(context: context, message: lastError)
        }
        // Drain the results: one for the COPY command, then nil.
        var rows: Int64 = 0
        while let raw = PQgetResult(handle) {
            let result = PGResult(raw)
            if failure == nil {
                try check(result, context: context)
                rows = Int64(result.commandTuples) ?? 0
            }
        }
        if isBroken { throw CDBError.connectionLost(context: context, message: lastError) }
        if let failure { throw failure }
        return rows
    }
}

/// One PGresult, cleared in `deinit`.
public final class PGResult {
    let handle: OpaquePointer?

    init(_ handle: OpaquePointer?) { self.handle = handle }
    deinit { if let handle { PQclear(handle) } }

    var status: ExecStatusType { handle.map { PQresultStatus($0) } ?? PGRES_FATAL_ERROR }
    // PG_DIAG_SQLSTATE is a char macro Swift does not import.
    var sqlstate: String? { handle.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } }
    var errorMessage: String? {
        guard let handle, let text = PQresultErrorMessage(handle), text.pointee != 0 else { return nil }
        return String(cString: text).trimmed()
            .replacingAll("ERROR:  ", with: "")
    }
    var commandTuples: String { handle.map { String(cString: PQcmdTuples($0)) } ?? "" }

    public var count: Int { handle.map { Int(PQntuples($0)) } ?? 0 }

    /// The text value at `row`, `column`; nil for NULL.
    public func value(_ row: Int, _ column: Int) -> String? {
        guard let handle, PQgetisnull(handle, Int32(row), Int32(column)) == 0 else { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    /// The first column of the first row: the answer of a one-value query (nil for none or NULL).
    public var scalar: String? { count > 0 ? value(0, 0) : nil }

    /// The non-NULL values of the first column: the answer of a one-column query.
    public var firstColumn: [String] { (0..<count).compactMap { value($0, 0) } }

    /// The result's column names, in order.
    public var columnNames: [String] {
        guard let handle else { return [] }
        return (0..<PQnfields(handle)).map { String(cString: PQfname(handle, $0)) }
    }
}
