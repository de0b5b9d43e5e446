import FoundationEssentials
import Glibc

/// Runs a plain SQL dump (ours, or pg_dump's plain format from 12 to 17) into a database
/// through libpq: statements, COPY data, and the psql meta-lines pg_dump writes. No psql needed.
public struct DumpRestore {
    public struct Request: Sendable {
        public var settings: Settings
        public var dump: String
        /// The target database (a name, conninfo or URI); nil: the configured database.
        public var target: String?
        public var singleTransaction = true
        /// Drop what the dump creates before restoring (a target that already has tables).
        public var clean = false
        /// Create the target database first.
        public var create = false
        /// Check the dump against its `.sha256` sidecar first (off: --no-verify, or a caller that did).
        public var verifySidecar = true
        public var noVerify = false
        /// Keys for an encrypted (.age) dump, decrypted as it is read.
        public var keys: DecryptionKeys?
        /// Connections loading data and building indexes at once (ParallelRestore); 1: the
        /// whole restore on one connection, in one transaction unless `singleTransaction` is off.
        public var jobs = 1
        public init(settings: Settings, dump: String) {
            self.settings = settings
            self.dump = dump
        }
    }

    public struct Result: Sendable {
        public var database = ""
        public var statements = 0
        public var tables: [(name: String, rows: Int64)] = []
        public var seconds: Double = 0
    }

    public let request: Request
    public let reporter: Reporter

    public init(request: Request, reporter: Reporter) {
        self.request = request
        self.reporter = reporter
    }

    /// Connection settings for `database` on the configured server.
    static func settings(_ base: DatabaseSettings, database: String?) -> DatabaseSettings {
        var copy = base
        if let database {
            copy.parameters.removeAll { $0.0 == "dbname" }
            copy.parameters.append(("dbname", database))
            copy.origins["dbname"] = nil  // named by the restore itself (its --dbname, or "postgres")
        }
        return copy
    }

    static func quoteIdentifier(_ name: String) -> String { "\"" + name.replacingAll("\"", with: "\"\"") + "\"" }

    public func run() throws -> Result {
        let started = Date()
        guard FileManager.default.fileExists(atPath: request.dump) else {
            throw CDBError.inputMissing(path: request.dump, reason: "no such dump")
        }
        if request.verifySidecar {
            try BackupIntegrity.checkSidecar(of: request.dump, skip: request.noVerify, reporter: reporter)
        }
        guard request.create else { return try restore(started: started) }
        guard let name = request.target, !name.contains("="), !name.contains("://") else {
            throw CDBError.usage("--create needs a plain database name in --dbname")
        }
        let maintenance = try PGConnection(settings: Self.settings(request.settings.database, database: "postgres"), applicationName: "cdb-restore")
        do {
            try maintenance.execute("CREATE DATABASE \(Self.quoteIdentifier(name))", context: "creating database \(name)")
        } catch let CDBError.query(_, sqlstate, message) {
            throw CDBError.cannotCreate(path: "database \(Untrusted.escape(name))", reason: "\(message) (SQLSTATE \(sqlstate))")
        }
        // A restore that fails takes the database it created with it.
        let drop = "DROP DATABASE IF EXISTS \(Self.quoteIdentifier(name))" + (maintenance.serverVersion >= 130000 ? " WITH (FORCE)" : "")
        let database = request.settings.database
        let cleanup = Interruption.register {
            if let c = try? PGConnection(settings: Self.settings(database, database: "postgres"), applicationName: "cdb-restore") {
                _ = try? c.execute(drop, context: "dropping the database")
            }
        }
        defer { Interruption.unregister(cleanup) }
        do {
            return try restore(started: started)
        } catch {
            do { try maintenance.execute(drop, context: "dropping database \(name)") } catch {
                reporter.warning("could not drop the database \(name) this restore created: \(describe(error))")
            }
            throw error
        }
    }

    private func restore(started: Date) throws -> Result {
        let connection: PGConnection
        do {
            connection = try PGConnection(settings: Self.settings(request.settings.database, database: request.target), applicationName: "cdb-restore")
        } catch let CDBError.databaseConfig(target, reason, _) where !request.create && reason.contains("does not exist") && reason.contains("database") {
            // The target of a restore may well not exist yet: say how to make it.
            throw CDBError.databaseConfig(target: target, reason: reason, fix: "add --create to create it, or name an existing database with --dbname")
        }
        // NOTICEs (DROP … CASCADE, IF EXISTS) are not for people here.
        try connection.execute("SET client_min_messages = warning", context: "setting up the session")
        var result = Result()
        result.database = try connection.query("SELECT pg_catalog.current_database() AS db", context: "connecting").scalar ?? ""
        let existing = Int(try connection.query("""
            SELECT count(*) AS n FROM pg_catalog.pg_class c
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND \(CatalogQueries.userSchema("c.relnamespace"))
               AND \(CatalogQueries.notExtensionMember(catalog: "pg_class", oid: "c.oid"))
            """, context: "looking at the target").scalar ?? "") ?? 0
        if existing > 0 && !request.clean {
            throw CDBError.targetNotEmpty(database: Untrusted.escape(result.database), objects: existing)
        }
        var inTransaction = request.singleTransaction || request.jobs > 1
        if inTransaction { try connection.execute("BEGIN", context: "starting the transaction") }
        if request.clean && existing > 0 { try clean(connection) }
        try replay(connection, into: &result, inTransaction: &inTransaction)
        if inTransaction { try connection.execute("COMMIT", context: "committing the restore") }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// Drops, newest first, every object the dump's `-- Name: …; Type: …; Schema: …` headers name.
    private func clean(_ connection: PGConnection) throws {
        let reader = try DecompressingReader(path: request.dump, keys: request.keys)
        var drops: [String] = []
        var pending = Data()
        func scan(_ line: Substring) throws {
            let parsed: (name: String, type: String, schema: String)?
            do { parsed = try DumpFormat.parseHeader(line) } catch let ambiguous as DumpFormat.AmbiguousHeader {
                throw CDBError.validation(path: request.dump, reason: "--clean cannot tell which object this header names, so it drops nothing: \(Untrusted.escape(ambiguous.line)) — restore into a new database with --create instead")
            }
            guard let (name, type, schema) = parsed else { return }
            let qualified = schema == "-" ? Self.quoteIdentifier(name) : Self.quoteIdentifier(schema) + "." + Self.quoteIdentifier(name)
            switch type {
            case "TABLE", "VIEW", "MATERIALIZED VIEW", "SEQUENCE", "TYPE", "DOMAIN":
                drops.append("DROP \(type) IF EXISTS \(qualified) CASCADE")
            case "BLOB":
                if !name.isEmpty, name.allSatisfy({ $0 >= "0" && $0 <= "9" }) {
                    drops.append("SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '\(name)'")
                }
            case "PUBLICATION", "EVENT TRIGGER", "ACCESS METHOD", "FOREIGN DATA WRAPPER", "SERVER":
                // A server's user mappings go with it (CASCADE).
                drops.append("DROP \(type) IF EXISTS \(Self.quoteIdentifier(name)) CASCADE")
            case "PROCEDURAL LANGUAGE":
                drops.append("DROP LANGUAGE IF EXISTS \(Self.quoteIdentifier(name)) CASCADE")
            case "SUBSCRIPTION":
                // Only a subscription of this database, detached from its slot first (a dump's
                // subscriptions are never connected; dropping one must not reach its publisher).
                let found = try connection.query("""
                    SELECT pg_catalog.quote_ident(subname) FROM pg_catalog.pg_subscription
                     WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
                    """, [name], context: "--clean: finding subscription \(Untrusted.escape(name))").firstColumn
                for quoted in found {
                    drops.append("ALTER SUBSCRIPTION \(quoted) DISABLE; ALTER SUBSCRIPTION \(quoted) SET (slot_name = NONE); DROP SUBSCRIPTION \(quoted)")
                }
            case "CAST", "TRANSFORM":
                // "CAST (source AS target)" / "FOR type LANGUAGE lang": matched against the
                // server's own rendering, never pasted into SQL.
                let lookup = type == "CAST"
                    ? "SELECT 'CAST (' || pg_catalog.format_type(castsource, NULL) || ' AS ' || pg_catalog.format_type(casttarget, NULL) || ')' AS rendered FROM pg_catalog.pg_cast WHERE oid >= 16384"
                    : "SELECT 'FOR ' || pg_catalog.format_type(trftype, NULL) || ' LANGUAGE ' || pg_catalog.quote_ident(l.lanname) AS rendered FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang"
                for rendered in try connection.query(lookup, context: "--clean: finding \(type.lowercased())s").firstColumn where rendered == name {
                    drops.append(type == "CAST" ? "DROP \(rendered) CASCADE" : "DROP TRANSFORM IF EXISTS \(rendered) CASCADE")
                }
            case "FUNCTION", "PROCEDURE", "AGGREGATE":
                // "name(arguments)": the argument list is text from the dumped database, never
                // pasted into SQL; the routine is looked up by it and dropped by the server's own
                // rendering of its signature.
                guard schema != "-", let paren = name.firstIndex(of: "("), name.hasSuffix(")") else { return }
                var arguments = String(name[name.index(after: paren)..<name.index(before: name.endIndex)])
                if arguments == "*" { arguments = "" }  // an aggregate of no arguments
                let found = try connection.query("""
                    SELECT p.oid::pg_catalog.regprocedure::text AS signature FROM pg_catalog.pg_proc p
                      JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = $1 AND p.proname = $2 AND pg_catalog.pg_get_function_identity_arguments(p.oid) = $3
                    """, [schema, String(name[..<paren]), arguments], context: "--clean: finding \(Untrusted.escape(name))").firstColumn
                for signature in found { drops.append("DROP ROUTINE IF EXISTS \(signature) CASCADE") }
            case "SCHEMA":
                if name != "public" { drops.append("DROP SCHEMA IF EXISTS \(Self.quoteIdentifier(name)) CASCADE") }
            default:
                break
            }
        }
        while true {
            let chunk = try reader.next()
            if chunk.isEmpty { break }
            pending.append(contentsOf: chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                let lineData = pending[pending.startIndex..<newline]
                if lineData.starts(with: Array(DumpFormat.namePrefix.utf8)) { try scan(Substring(String(decoding: lineData, as: UTF8.self))) }
                pending.removeSubrange(pending.startIndex...newline)
            }
            if pending.count > 1 << 16 && !pending.starts(with: Array("--".utf8)) { pending.removeAll() }
        }
        for statement in drops.reversed() {
            try connection.execute(statement, context: "--clean: \(statement)")
        }
        reporter.detail("--clean dropped \(Format.count(drops.count, "object"))")
    }

    private func replay(_ connection: PGConnection, into result: inout Result, inTransaction: inout Bool) throws {
        let reader = ScriptReader(reader: try DecompressingReader(path: request.dump, keys: request.keys))
        var copyLine = 0
        var copyTable = ""
        var inCopy = false
        // --jobs: the pool starts at the first COPY, once the schema is committed.
        var pool: ParallelRestore?
        var poolSize = 0
        defer { pool?.stop() }
        var settings: [(name: String, sql: String)] = []
        var open: ParallelRestore.Work?
        var openBytes = 0
        func fail(_ line: Int, _ message: String) -> CDBError {
            if inTransaction { _ = try? connection.execute("ROLLBACK", context: "rolling back") }
            let undone = inTransaction ? " — nothing was restored (one transaction)"
                : pool != nil ? " — the schema and what loaded before it stay restored (--jobs \(poolSize + 1) restores in parallel, not in one transaction)"
                : " — the objects before it stay restored (--no-single-transaction)"
            return .restoreFailed(path: request.dump, line: line, message: message + undone)
        }
        func parallel(_ body: () throws -> Void) throws {
            do { try body() } catch let failed as ParallelRestore.Failed { throw fail(failed.line, failed.message) }
        }
        // Foreign keys of the batch being read, to be added NOT VALID and then validated by the
        // workers (ParallelRestore.validatedLater): all are added before any validation starts,
        // as adding one waits for a validation on either of its tables.
        var keysToValidate: [(add: String, validate: String, line: Int, settings: [String])] = []
        func validateKeys() throws {
            guard let pool, !keysToValidate.isEmpty else { return }
            try parallel { try pool.barrier() }  // the keys they reference are built
            for key in keysToValidate {
                if case let .failed(message) = connection.run(key.add) { throw fail(key.line, message) }
            }
            for key in keysToValidate {
                let work = ParallelRestore.Work(sql: key.validate, line: key.line, table: nil, settings: key.settings)
                try parallel { try pool.submit(work, kind: .foreignKeys) }
            }
            keysToValidate.removeAll()
        }
        while let item = try reader.next() {
            switch item {
            case let .statement(text, line):
                if connection.serverVersion < 170000, text.contains("transaction_timeout"),
                   text.trimmed().hasPrefix("SET transaction_timeout") {
                    continue  // pg_dump 17 writes it; older servers do not know it.
                }
                if inTransaction, Self.isTransactionControl(text) {
                    continue  // pg_dump wraps large objects in BEGIN/COMMIT; here all is one transaction already
                }
                if request.jobs > 1 {
                    if pool != nil, let key = ParallelRestore.validatedLater(text) {
                        result.statements += 1
                        keysToValidate.append((key.add, key.validate, line, settings.map(\.sql)))
                        continue
                    }
                    try validateKeys()
                    if let name = ParallelRestore.sessionSetting(text) {
                        settings.removeAll { $0.name == name }
                        settings.append((name, text))
                    }
                    if pool == nil, ScriptReader.isCopyFromStdin(text) {
                        // The schema is in: commit it, then load over the workers.
                        if inTransaction { try connection.execute("COMMIT", context: "committing the schema") }
                        inTransaction = false
                        var workers: [PGConnection] = []
                        for _ in 0..<request.jobs {
                            guard let w = try? PGConnection(settings: Self.settings(request.settings.database, database: request.target), applicationName: "cdb-restore"),
                                  (try? w.execute("SET client_min_messages = warning", context: "setting up a worker")) != nil else { break }
                            workers.append(w)
                        }
                        if !workers.isEmpty {
                            pool = ParallelRestore(workers: workers)
                            poolSize = workers.count
                            reporter.detail("loading the data over \(Format.count(workers.count, "connection"))")
                        }
                    }
                    if let pool {
                        let kind: ParallelRestore.Kind? = ScriptReader.isCopyFromStdin(text) ? .copy
                            : ParallelRestore.isIndependentDDL(text) ? .ddl
                            : ParallelRestore.foreignKeyTables(text) != nil ? .foreignKeys : nil
                        if let kind {
                            result.statements += 1
                            let work = ParallelRestore.Work(sql: text, line: line, table: kind == .copy ? Self.copyTarget(text) : nil, settings: settings.map(\.sql))
                            try parallel { try pool.submit(work, kind: kind) }
                            if kind == .copy {
                                open = work
                                openBytes = 0
                                reporter.progress("restoring \(work.table ?? "?")…")
                            }
                            continue
                        }
                        // A session setting changes the restore's own connection now and each
                        // worker's before its next work; anything else waits for the batch.
                        if ParallelRestore.sessionSetting(text) == nil { try parallel { try pool.barrier() } }
                    }
                }
                result.statements += 1
                switch connection.run(text) {
                case .done:
                    break
                case .copyIn:
                    inCopy = true
                    copyLine = line
                    copyTable = Self.copyTarget(text)
                    reporter.progress("restoring \(copyTable)…")
                case let .failed(message):
                    throw fail(line, message)
                }
            case let .copyData(bytes):
                if let pool, let work = open {
                    var bytes = bytes
                    // A big table is cut at a line end into several COPYs, one per free worker.
                    if openBytes >= ParallelRestore.splitBytes, let newline = bytes.firstIndex(of: 0x0A) {
                        try parallel { try pool.append(work, UnsafeRawBufferPointer(rebasing: bytes[...newline])) }
                        pool.close(work)
                        let next = ParallelRestore.Work(sql: work.sql, line: work.line, table: work.table, settings: work.settings)
                        try parallel { try pool.submit(next, kind: .copy) }
                        open = next
                        openBytes = 0
                        bytes = UnsafeRawBufferPointer(rebasing: bytes[(newline + 1)...])
                    }
                    if !bytes.isEmpty, let work = open { try parallel { try pool.append(work, bytes) } }
                    openBytes += bytes.count
                    continue
                }
                guard inCopy else { continue }
                if let message = connection.sendCopyData(bytes) { throw fail(copyLine, message) }
            case .copyEnd:
                if let pool, let work = open {
                    pool.close(work)
                    open = nil
                    continue
                }
                guard inCopy else { continue }
                inCopy = false
                switch connection.endCopyIn() {
                case let .success(rows):
                    result.tables.append((copyTable, rows))
                    reporter.detail("  \(copyTable): \(Format.count(rows, "row"))")
                case let .failure(message):
                    throw fail(copyLine, message.text)
                }
            case let .meta(text, line):
                try validateKeys()
                if let pool { try parallel { try pool.barrier() } }
                let command = text.split(separator: " ").first.map(String.init) ?? text
                switch command {
                case "\\restrict", "\\unrestrict":
                    continue  // pg_dump 15.14+/16.10+/17.6+ (CVE-2025-8714): nothing to do over libpq
                case "\\connect", "\\c":
                    reporter.warning("line \(line): ignoring \(command): the dump is restored into \(result.database)")
                default:
                    throw fail(line, "unsupported psql meta-command \(command)")
                }
            }
        }
        if inCopy || open != nil { throw fail(open?.line ?? copyLine, "the dump ends inside COPY data") }
        try validateKeys()
        if let pool {
            try parallel { try pool.barrier() }
            pool.stop()
            result.tables += pool.rows.map { ($0.table, $0.rows) }
            for (table, rows, copies) in pool.rows {
                reporter.detail("  \(table): \(Format.count(rows, "row"))" + (copies > 1 ? " (in \(copies) COPYs)" : ""))
            }
        }
    }

    /// A bare `BEGIN`, `START TRANSACTION`, `COMMIT` or `END` (with optional WORK/TRANSACTION).
    static func isTransactionControl(_ text: String) -> Bool {
        var t = text.trimmed()
        if t.hasSuffix(";") { t.removeLast() }
        let words = t.lowercased().split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
        guard let first = words.first, words.count <= 2 else { return false }
        let rest = words.dropFirst().first.map(String.init)
        switch first {
        case "begin", "commit", "end": return rest == nil || rest == "work" || rest == "transaction"
        case "start": return rest == "transaction"
        default: return false
        }
    }

    /// "schema.table" of a `COPY schema.table (…) FROM stdin` statement, unquoted.
    static func copyTarget(_ text: String) -> String {
        var rest = Substring(text.trimmed().dropFirst(5))
        return DumpValidator.parseQualifiedName(&rest) ?? "?"
    }
}

/// `cdb-restore --check`: restore into a scratch database on the same server, compare every
/// table's rows with the dump, and always drop the scratch database.
public struct RestoreCheck {
    public struct Result: Sendable {
        public var scratch = ""
        public var tables: [(name: String, rows: Int64)] = []
        public var seconds: Double = 0
    }

    public let settings: Settings
    public let dump: String
    public let reporter: Reporter
    /// Skip the `.sha256` check (--no-verify).
    public var noVerify = false
    /// Keys for an encrypted (.age) dump.
    public var keys: DecryptionKeys?
    /// Connections restoring at once (the scratch database is dropped whatever happens).
    public var jobs = 1

    public init(settings: Settings, dump: String, reporter: Reporter) {
        self.settings = settings
        self.dump = dump
        self.reporter = reporter
    }

    public func run() throws -> Result {
        let started = Date()
        // The sidecar, then the dump's own record of every table's rows, checked offline first.
        try BackupIntegrity.checkSidecar(of: dump, skip: noVerify, reporter: reporter)
        let report = try DumpValidator.validate(fileAt: dump, keys: keys)
        if report.countedBlocks < report.copyBlocks {
            reporter.info("note: the dump records no row counts (-- Rows: lines; pg_dump writes none): the restored rows are compared with the rows in its COPY data")
        }

        let maintenance = try PGConnection(settings: DumpRestore.settings(settings.database, database: "postgres"), applicationName: "cdb-restore")
        try maintenance.execute("SET client_min_messages = warning", context: "setting up the session")
        let scratch = "cdb_check_\(getpid())_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        try maintenance.execute("CREATE DATABASE \(DumpRestore.quoteIdentifier(scratch))", context: "creating the scratch database \(scratch)")
        reporter.info("checking in the scratch database \(scratch) (dropped afterwards, also on failure)")
        let dropSQL = "DROP DATABASE IF EXISTS \(DumpRestore.quoteIdentifier(scratch))" + (maintenance.serverVersion >= 130000 ? " WITH (FORCE)" : "")
        let database = settings.database
        let cleanup = Interruption.register {
            if let c = try? PGConnection(settings: DumpRestore.settings(database, database: "postgres"), applicationName: "cdb-restore") {
                _ = try? c.execute(dropSQL, context: "dropping the scratch database")
            }
        }
        defer {
            Interruption.unregister(cleanup)
            do { try maintenance.execute(dropSQL, context: "dropping the scratch database \(scratch)") } catch {
                reporter.warning("could not drop the scratch database \(scratch): \(describe(error))")
            }
        }
        var request = DumpRestore.Request(settings: settings, dump: dump)
        request.target = scratch
        request.verifySidecar = false
        request.keys = keys
        request.jobs = jobs
        let restored = try DumpRestore(request: request, reporter: reporter).run()

        let connection = try PGConnection(settings: DumpRestore.settings(settings.database, database: scratch), applicationName: "cdb-restore")
        var mismatches: [String] = []
        var result = Result(scratch: scratch)
        for (table, expected) in report.copiedRows.sorted(by: { $0.key < $1.key }) {
            let parts = table.split(separator: ".", maxSplits: 1).map(String.init)
            let name = parts.map(DumpRestore.quoteIdentifier).joined(separator: ".")
            let counted = Int64(try connection.query("SELECT count(*) AS n FROM ONLY \(name)", context: "counting \(table)").scalar ?? "") ?? -1
            if counted != expected { mismatches.append("\(table): \(Format.count(counted, "row")) restored, the dump holds \(expected)") }
            result.tables.append((table, counted))
        }
        _ = restored
        if !mismatches.isEmpty { throw CDBError.validation(path: dump, reason: mismatches.joined(separator: "; ")) }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }
}
