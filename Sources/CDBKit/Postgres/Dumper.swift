import FoundationEssentials
import Glibc

/// What to leave out of a dump and how long to wait for locks.
public struct DumpOptions: Sendable {
    public var owners = true
    public var privileges = true
    public var allowUnsupported = false
    public var lockTimeoutSeconds = 30
    /// Connections reading table data at once (1: the dump's own connection alone).
    public var jobs = DumpOptions.defaultJobs
    public init() {}

    /// The default for `jobs`: the cores, at most 8.
    public static var defaultJobs: Int { max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }
}

/// What a finished dump held.
public struct DumpSummary: Sendable {
    /// `schema.table` (unquoted) and the rows dumped, in dump order.
    public var tables: [(name: String, rows: Int64)] = []
    /// Objects left out because of --allow-unsupported.
    public var skipped: [String] = []
    public var largeObjects = 0
    public var largeObjectBytes: Int64 = 0
    public var serverVersion = ""
    public var database = ""
}

/// A logical dump of one database, as a plain SQL script in pg_dump's layout, read in one
/// REPEATABLE READ snapshot.
public final class PostgresDumper {
    typealias Columns = CatalogColumns
    let connection: PGConnection
    let options: DumpOptions
    /// Called before each table's data with its name, and after with its row count.
    public var progress: ((String, Int64?) -> Void)?
    /// Opens one more connection to the same database (workers for `jobs` > 1).
    public var connect: (() throws -> PGConnection)?
    /// How the data of the last dump was read, when more than one connection was tried.
    public private(set) var dataNote: String?

    public init(connection: PGConnection, options: DumpOptions) {
        self.connection = connection
        self.options = options
    }

    var ddl: DDL.Options { DDL.Options(owners: options.owners, privileges: options.privileges) }
    var renderer: DDLRenderer { DDLRenderer(options: ddl) }

    public func dump(to out: BufferedWriter) throws -> DumpSummary {
        let c = connection
        let version = c.serverVersion
        guard version >= 120000 else {
            throw CDBError.configuration("the server at \(c.target) runs PostgreSQL \(version / 10000); cdb-pg-dump supports 12 to 17")
        }
        // Pass the database's bytes through unchanged; SQL_ASCII stays SQL_ASCII. No JIT: the
        // catalog queries are short, but once the catalogs are analyzed their estimates pass
        // jit_above_cost, and compiling them took longer (80 ms of 90) than running them.
        let session = try c.records(CatalogQuery<Columns.Session>("the server settings", """
            SELECT pg_catalog.current_setting('server_encoding') AS encoding, pg_catalog.version() AS version,
                   pg_catalog.current_setting('server_version') AS server_version, pg_catalog.current_database() AS db
            """))[0]
        let encoding = session.text(.encoding)
        sessionSetup = """
            SET client_encoding = '\(encoding.replacingAll("'", with: ""))';
            SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3;
            SET synchronize_seqscans = off; SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0;
            SET row_security = off; SELECT pg_catalog.set_config('search_path', '', false);
            SET jit = off;
            """
        try c.execute(sessionSetup, context: "setting up the session")
        try c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", context: "starting the snapshot")

        // Lock what we dump, so that no definition changes under the snapshot.
        let lockList = try c.records(CatalogQueries.tablesToLock).map { $0.text(.qname) }
        if !lockList.isEmpty {
            try c.execute("SET LOCAL lock_timeout = '\(options.lockTimeoutSeconds)s'", context: "setting the lock timeout")
            do {
                try c.execute("LOCK TABLE \(lockList.joined(separator: ", ")) IN ACCESS SHARE MODE", context: "locking the tables")
            } catch let CDBError.query(_, sqlstate, message) where sqlstate == "55P03" {
                throw CDBError.locked(path: "tables of \(session.text(.db))",
                                      holder: "another session holds an exclusive lock (\(message)); waited \(options.lockTimeoutSeconds) s")
            }
            try c.execute("SET LOCAL lock_timeout = 0", context: "resetting the lock timeout")
        }

        var summary = DumpSummary()
        summary.serverVersion = session.text(.serverVersion)
        summary.database = session.text(.db)
        let unsupported = try c.records(CatalogQueries.unsupported(serverVersion: version)).map { $0.text(.what) }
        if !unsupported.isEmpty {
            if !options.allowUnsupported { throw CDBError.unsupportedObjects(unsupported) }
            summary.skipped = unsupported
        }

        let catalog: Catalog
        do {
            catalog = try Catalog(connection: c)
        } catch let CDBError.query(context, sqlstate, message) where !sqlstate.hasPrefix("08") {
            // Name the object the server choked on, when one alone fails.
            if let object = FailureProbe.culprit(c) {
                throw CDBError.objectFailed(object: object, sqlstate: sqlstate, message: message)
            }
            throw CDBError.query(context: context, sqlstate: sqlstate, message: message)
        }
        try writeHeader(out, serverVersion: summary.serverVersion, encoding: encoding, skipped: summary.skipped)
        try writePreData(out, catalog)
        try writeLargeObjectDefinitions(out, catalog)
        try writeData(out, catalog, summary: &summary)
        try writeLargeObjectData(out, catalog, summary: &summary)
        try writeSequenceValues(out, catalog)
        try writePostData(out, catalog)
        try writeTrailingObjects(out, catalog)
        try out.write(DumpFormat.completionBlock)
        try c.execute("COMMIT", context: "ending the snapshot")
        return summary
    }

    // MARK: - Sections

    private func writeHeader(_ out: BufferedWriter, serverVersion: String, encoding: String, skipped: [String]) throws {
        var text = """
            --
            \(DumpFormat.banner)
            --

            -- Dumped from database version \(serverVersion)
            -- Dumped by cdb-pg-dump \(CDBVersion.string)

            """
        for object in skipped { text += "-- Skipped (--allow-unsupported): \(object.replacingAll("\n", with: " ").replacingAll("\r", with: " "))\n" }
        text += """

            SET statement_timeout = 0;
            SET lock_timeout = 0;
            SET idle_in_transaction_session_timeout = 0;
            SET client_encoding = '\(encoding)';
            SET standard_conforming_strings = on;
            SELECT pg_catalog.set_config('search_path', '', false);
            SET check_function_bodies = false;
            SET xmloption = content;
            SET client_min_messages = warning;
            SET row_security = off;


            """
        try out.write(text)
    }

    private func writePreData(_ out: BufferedWriter, _ cat: Catalog) throws {
        for s in cat.schemas {
            let name = s.text(.name)
            var text = ""
            if s.text(.rawName) != "public" {
                text += DDL.header(name: s.text(.rawName), type: "SCHEMA", schema: nil, owner: s[.rawOwner])
                text += "CREATE SCHEMA \(name);\n\n"
                text += DDL.ownerStatement(kind: "SCHEMA", name: name, owner: s.text(.owner), options: ddl)
            } else if s.text(.rawOwner) != "pg_database_owner" && connection.serverVersion >= 150000 {
                text += DDL.ownerStatement(kind: "SCHEMA", name: name, owner: s.text(.owner), options: ddl)
            }
            text += DDL.commentStatement(kind: "SCHEMA", name: name, comment: s[.comment])
            text += DDL.grantStatements(kind: "SCHEMA", name: name, owner: s.text(.owner), grants: s[.grants], options: ddl)
            if !text.isEmpty { try out.write(text + "\n") }
        }
        for e in cat.extensions {
            var text = DDL.header(name: e.text(.name), type: "EXTENSION", schema: nil, owner: nil)
            text += "CREATE EXTENSION IF NOT EXISTS \(e.text(.name)) WITH SCHEMA \(e.text(.schema));\n"
            text += DDL.commentStatement(kind: "EXTENSION", name: e.text(.name), comment: e[.comment])
            try out.write(text + "\n")
        }
        for key in cat.preDataOrder {
            guard let object = cat.objects[key] else { continue }
            try out.write(renderer.ddl(of: object, cat) + "\n")
        }
        for rel in cat.relations.values.sorted(by: { Self.sortKey($0) < Self.sortKey($1) }) {
            for c in cat.columns[rel.text(.oid)] ?? [] where cat.laterDefaults.contains(ColumnRef(table: rel.text(.oid), attnum: c.text(.attnum))) {
                var text = DDL.header(name: "\(rel.text(.rawName)) \(c.text(.name))", type: "DEFAULT", schema: rel[.rawSchema], owner: rel[.owner])
                text += "ALTER TABLE ONLY \(rel.text(.schema)).\(rel.text(.name)) ALTER COLUMN \(c.text(.name)) SET DEFAULT \(c.text(.defaultExpr));\n"
                try out.write(text + "\n")
            }
        }
        // Partitions join their parents once every table exists.
        for rel in cat.relations.values.sorted(by: { Self.sortKey($0) < Self.sortKey($1) })
        where rel.bool(.relispartition) {
            guard let parent = rel[.parents], let bound = rel[.partitionBound] else { continue }
            var text = DDL.header(name: rel.text(.rawName), type: "TABLE ATTACH", schema: rel[.rawSchema], owner: rel[.owner])
            text += "ALTER TABLE ONLY \(parent) ATTACH PARTITION \(rel.text(.schema)).\(rel.text(.name)) \(bound);\n"
            try out.write(text + "\n")
        }
        // Serial sequences belong to their columns once both exist.
        for seq in cat.sequences.values.sorted(by: { Self.sortKey($0) < Self.sortKey($1) })
        where seq.text(.ownerDeptype) == "a" {
            guard let table = cat.relations[seq.text(.ownerTable)], let column = seq[.ownerColumn] else { continue }
            try out.write("ALTER SEQUENCE \(seq.text(.schema)).\(seq.text(.name)) OWNED BY \(table.text(.schema)).\(table.text(.name)).\(column);\n\n")
        }
    }

    private func writeData(_ out: BufferedWriter, _ cat: Catalog, summary: inout DumpSummary) throws {
        let tables = cat.relations.values.filter { $0.text(.relkind) == "r" }
            .sorted { ($0.text(.rawSchema), $0.text(.rawName)) < ($1.text(.rawSchema), $1.text(.rawName)) }
        if options.jobs > 1, let connect, try writeDataInParallel(out, cat, tables, connect: connect, summary: &summary) { return }
        for t in tables {
            let name = "\(t.text(.schema)).\(t.text(.name))"
            let display = "\(t.text(.rawSchema)).\(t.text(.rawName))"
            let columns = (cat.columns[t.text(.oid)] ?? []).filter { $0.text(.attgenerated).isEmpty }.map { $0.text(.name) }  // generated columns are computed, not copied
            let list = columns.isEmpty ? "" : " (\(columns.joined(separator: ", ")))"
            try out.write(DumpFormat.header(name: t.text(.rawName), type: "TABLE DATA", schema: t[.rawSchema], owner: t[.owner], data: true))
            try out.write("COPY \(name)\(list) FROM stdin;\n")
            progress?(display, nil)
            let rows = try connection.copyOut("COPY \(name)\(list) TO STDOUT", context: "dumping \(display)") { chunk in
                try out.write(chunk)
            }
            try out.write("\\.\n" + DumpFormat.rowsLine(rows) + "\n")
            summary.tables.append((display, rows))
            progress?(display, rows)
        }
    }

    /// The session settings of the dump's connection, which its workers repeat.
    private var sessionSetup = ""

    /// The data over `options.jobs` worker connections in the dump's snapshot (ParallelData);
    /// false (nothing written) when it is not worth it (less than 8 MiB of data) or no worker
    /// could connect — the dump's own connection then reads it alone.
    private func writeDataInParallel(_ out: BufferedWriter, _ cat: Catalog, _ relations: [Record<Columns.Relation>],
                                     connect: () throws -> PGConnection, summary: inout DumpSummary) throws -> Bool {
        guard !relations.isEmpty else { return false }
        let c = connection
        let list = relations.map { $0.text(.oid) }.joined(separator: ",")
        var pages: [String: Int64] = [:]
        for row in try c.records(CatalogQuery<Columns.TableSize>("table sizes", """
            SELECT t.oid, pg_catalog.pg_relation_size(t.oid::pg_catalog.regclass) / pg_catalog.current_setting('block_size')::pg_catalog.int8 AS pages
              FROM pg_catalog.unnest('{\(list)}'::pg_catalog.oid[]) AS t(oid)
            """)) {
            pages[row.text(.oid)] = Int64(row.text(.pages)) ?? 0
        }
        guard pages.values.reduce(0, +) >= 1024 else { return false }
        let tables = relations.map { t in
            let columns = (cat.columns[t.text(.oid)] ?? []).filter { $0.text(.attgenerated).isEmpty }.map { $0.text(.name) }
            return ParallelData.Table(name: "\(t.text(.schema)).\(t.text(.name))", display: "\(t.text(.rawSchema)).\(t.text(.rawName))",
                                      columns: columns.isEmpty ? "" : " (\(columns.joined(separator: ", ")))", pages: pages[t.text(.oid)] ?? 0)
        }
        let units = ParallelData.units(tables, serverVersion: c.serverVersion, jobs: options.jobs)
        // (A failed export aborts the dump's transaction: it cannot be tried and passed over.)
        guard let snapshot = try c.query("SELECT pg_catalog.pg_export_snapshot()", context: "exporting the snapshot").scalar,
              !snapshot.isEmpty, snapshot.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x41...0x46).contains($0) })
        else { return false }
        // Workers that cannot connect (a role's connection limit, max_connections) or join the
        // snapshot (a pooler that sends them to another server) are left out.
        var workers: [PGConnection] = []
        var refused: String?
        for _ in 0..<min(options.jobs, units.count) {
            do {
                let w = try connect()
                try w.execute(sessionSetup + "\nSET max_parallel_workers_per_gather = 0;", context: "setting up a worker")
                try w.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", context: "starting a worker's snapshot")
                try w.execute("SET TRANSACTION SNAPSHOT '\(snapshot)'", context: "joining the dump's snapshot")
                workers.append(w)
            } catch {
                refused = (error as? CDBError)?.errorDescription ?? "\(error)"
                break
            }
        }
        guard !workers.isEmpty else {
            dataNote = "table data read with the dump's own connection: no worker could connect (\(refused ?? "?"))"
            return false
        }
        let ranges = units.count - Set(units.map(\.table)).count
        dataNote = "table data read over \(workers.count) connections in one snapshot"
            + (ranges > 0 ? " (\(Format.count(tables.count, "table")), big ones in page ranges: \(Format.count(units.count, "COPY")))" : "")
        let data = ParallelData(units: units)
        var results: [(String, Int64)] = []
        try data.run(connections: workers, tables: tables, tableStarts: { i in
            let t = relations[i]
            try out.write(DumpFormat.header(name: t.text(.rawName), type: "TABLE DATA", schema: t[.rawSchema], owner: t[.owner], data: true))
            try out.write("COPY \(tables[i].name)\(tables[i].columns) FROM stdin;\n")
            progress?(tables[i].display, nil)
        }, write: { try out.write($0) }, tableDone: { i, rows in
            try out.write("\\.\n" + DumpFormat.rowsLine(rows) + "\n")
            results.append((tables[i].display, rows))
            progress?(tables[i].display, rows)
        })
        for w in workers { _ = try? w.execute("COMMIT", context: "ending a worker's snapshot") }
        summary.tables += results
        return true
    }

    private func writeSequenceValues(_ out: BufferedWriter, _ cat: Catalog) throws {
        let sequences = cat.sequences.values.sorted { ($0.text(.rawSchema), $0.text(.rawName)) < ($1.text(.rawSchema), $1.text(.rawName)) }
        guard !sequences.isEmpty else { return }
        // Every sequence already used, in one query (pg_sequence_last_value is NULL until then);
        // the others (whose last_value may have been set with is_called false) read one by one
        // in a single UNION — planning hundreds of those branches costs more than the reading.
        var states: [String: (value: String, called: Bool)] = [:]
        let list = sequences.map { $0.text(.oid) }.joined(separator: ",")
        for row in try connection.records(CatalogQuery<Columns.SequenceUsed>("sequence values", """
            SELECT s.oid, pg_catalog.pg_sequence_last_value(s.oid::pg_catalog.regclass)::text AS last_value
              FROM pg_catalog.unnest('{\(list)}'::pg_catalog.oid[]) AS s(oid)
            """)) {
            if let value = row[.lastValue] { states[row.text(.oid)] = (value, true) }
        }
        let unused = sequences.filter { states[$0.text(.oid)] == nil }
        if !unused.isEmpty {
            let query = unused.map { s in
                "SELECT \(s.text(.oid))::oid AS oid, last_value::text AS last_value, is_called FROM \(s.text(.schema)).\(s.text(.name))"
            }.joined(separator: "\nUNION ALL ")
            for row in try connection.records(CatalogQuery<Columns.SequenceState>("sequence values", query)) {
                states[row.text(.oid)] = (row.text(.lastValue), row.bool(.isCalled))
            }
        }
        for s in sequences {
            guard let state = states[s.text(.oid)] else { continue }
            let name = "\(s.text(.schema)).\(s.text(.name))"
            try out.write(DDL.header(name: s.text(.rawName), type: "SEQUENCE SET", schema: s[.rawSchema], owner: s[.owner]))
            try out.write("SELECT pg_catalog.setval(\(Self.literal(name)), \(state.value), \(state.called ? "true" : "false"));\n\n")
        }
    }

    private func writePostData(_ out: BufferedWriter, _ cat: Catalog) throws {
        func tableName(_ oid: String) -> (String, Record<Columns.Relation>)? {
            guard let r = cat.relations[oid] else { return nil }
            return ("\(r.text(.schema)).\(r.text(.name))", r)
        }
        let byName = { (a: Record<Columns.Constraint>, b: Record<Columns.Constraint>) in a.text(.name) < b.text(.name) }
        // Post-data objects go in table-name order (never OID order), so a dump of a restored
        // copy reads the same as the original's.
        let tablesInOrder: [(String, [Record<Columns.Constraint>])] = cat.tableConstraints.compactMap { oid, rows in
            cat.relations[oid].map { (Self.sortKey($0), rows) }
        }.sorted { $0.0 < $1.0 }
        func relationOrder<R: NamedColumns>(_ a: Record<R>, _ b: Record<R>, _ column: R) -> Bool {
            let ka = cat.relations[a.text(column)].map(Self.sortKey) ?? ""
            let kb = cat.relations[b.text(column)].map(Self.sortKey) ?? ""
            return ka != kb ? ka < kb : a.text(.name) < b.text(.name)
        }
        let indexSpaces = Dictionary(cat.indexes.map { ($0.text(.indexrelid), $0[.tablespace]) }, uniquingKeysWith: { a, _ in a })
        // Keys, unique and exclusion constraints, and CHECKs added NOT VALID.
        for (_, constraints) in tablesInOrder {
            for con in constraints.sorted(by: byName) {
                guard let (table, rel) = tableName(con.text(.conrelid)) else { continue }
                let type = con.text(.contype)
                let isKey = ["p", "u", "x"].contains(type)
                let isLateCheck = type == "c" && !con.bool(.convalidated) && con.bool(.conislocal)
                guard isKey || isLateCheck else { continue }
                var text = DDL.header(name: "\(rel.text(.rawName)) \(con.text(.name))", type: "CONSTRAINT", schema: rel[.rawSchema], owner: rel[.owner])
                // A CHECK added later reaches the children too (the server refuses it ONLY on a parent).
                let only = isLateCheck && cat.hasChildren.contains(rel.text(.oid)) ? "" : "ONLY "
                // A key's index lands in default_tablespace (the definition does not name it).
                let space = isKey ? indexSpaces[con.text(.conindid)] ?? nil : nil
                text += Self.inTablespace(space, "ALTER TABLE \(only)\(table)\n    ADD CONSTRAINT \(con.text(.name)) \(con.text(.def));\n")
                text += DDL.commentStatement(kind: "CONSTRAINT \(con.text(.name)) ON", name: table, comment: con[.comment])
                try out.write(text + "\n")
            }
        }
        // Views that needed a key: their real definition, now that the keys exist.
        for key in cat.preDataOrder where key.kind == .relation {
            guard let rel = cat.relations[key.oid], cat.viewsNeedingConstraints.contains(rel.text(.oid)) else { continue }
            var def = rel.text(.viewDef)
            while def.last == ";" || def.last?.isWhitespace == true { def.removeLast() }
            let with = rel[.options].map { $0.isEmpty ? "" : " WITH (\($0))" } ?? ""
            var text = DDL.header(name: rel.text(.rawName), type: "VIEW", schema: rel[.rawSchema], owner: rel[.owner])
            text += "CREATE OR REPLACE VIEW \(rel.text(.schema)).\(rel.text(.name))\(with) AS\n\(def);\n"
            try out.write(text + "\n")
        }
        // PostgreSQL 18's NOT NULL constraints added NOT VALID: after the data, which may break them.
        let relationsInOrder = cat.relations.values.filter { ["r", "p"].contains($0.text(.relkind)) }.sorted { Self.sortKey($0) < Self.sortKey($1) }
        for rel in relationsInOrder {
            for c in cat.columns[rel.text(.oid)] ?? [] where c.bool(.attnotnull) && c[.notnullName] != nil && !c.bool(.notnullValid) {
                let table = "\(rel.text(.schema)).\(rel.text(.name))"
                var text = DDL.header(name: "\(rel.text(.rawName)) \(c.text(.notnullName))", type: "CONSTRAINT", schema: rel[.rawSchema], owner: rel[.owner])
                text += "ALTER TABLE \(table)\n    ADD CONSTRAINT \(c.text(.notnullName)) NOT NULL \(c.text(.name)) NOT VALID;\n"
                try out.write(text + "\n")
            }
        }
        for index in cat.indexes where !index.bool(.isConstraint) {
            guard let (_, rel) = tableName(index.text(.indrelid)) else { continue }
            var text = DDL.header(name: index.text(.name), type: "INDEX", schema: rel[.rawSchema], owner: rel[.owner])
            text += Self.inTablespace(index[.tablespace], index.text(.def) + ";\n")
            try out.write(text + "\n")
        }
        for index in cat.indexes {
            let name = "\(index.text(.schema)).\(index.text(.name))"
            var text = ""
            if let parent = index[.parentIndex] { text += "ALTER INDEX \(parent) ATTACH PARTITION \(name);\n" }
            if index.bool(.indisclustered), let (table, _) = tableName(index.text(.indrelid)) {
                text += "ALTER TABLE \(table) CLUSTER ON \(index.text(.name));\n"
            }
            text += DDL.commentStatement(kind: "INDEX", name: name, comment: index[.comment])
            if !text.isEmpty { try out.write(text + "\n") }
        }
        for index in cat.indexes where index.bool(.indisreplident) {
            guard let (table, _) = tableName(index.text(.indrelid)) else { continue }
            try out.write("ALTER TABLE ONLY \(table) REPLICA IDENTITY USING INDEX \(index.text(.name));\n\n")
        }
        for stat in cat.statistics {
            try out.write(stat.text(.def) + ";\n\n")
        }
        for trigger in cat.triggers.sorted(by: { relationOrder($0, $1, .tgrelid) }) {
            guard let (table, rel) = tableName(trigger.text(.tgrelid)) else { continue }
            var text = DDL.header(name: "\(rel.text(.rawName)) \(trigger.text(.name))", type: "TRIGGER", schema: rel[.rawSchema], owner: rel[.owner])
            text += trigger.text(.def) + ";\n"
            text += Self.triggerState(table: table, trigger: trigger.text(.name), state: trigger.text(.tgenabled))
            text += DDL.commentStatement(kind: "TRIGGER \(trigger.text(.name)) ON", name: table, comment: trigger[.comment])
            try out.write(text + "\n")
        }
        // A partition's copy of its parent's trigger can be switched on its own.
        for state in cat.clonedTriggerStates.sorted(by: { relationOrder($0, $1, .tgrelid) }) {
            guard let (table, _) = tableName(state.text(.tgrelid)) else { continue }
            try out.write(Self.triggerState(table: table, trigger: state.text(.name), state: state.text(.tgenabled)) + "\n")
        }
        for rule in cat.rules.sorted(by: { relationOrder($0, $1, .evClass) }) {
            guard let (table, rel) = tableName(rule.text(.evClass)) else { continue }
            var text = DDL.header(name: "\(rel.text(.rawName)) \(rule.text(.rawName))", type: "RULE", schema: rel[.rawSchema], owner: rel[.owner])
            text += rule.text(.def) + "\n"
            let kind = rel.text(.relkind) == "v" ? "VIEW" : "TABLE"
            switch rule.text(.evEnabled) {
            case "D": text += "ALTER \(kind) \(table) DISABLE RULE \(rule.text(.name));\n"
            case "R": text += "ALTER \(kind) \(table) ENABLE REPLICA RULE \(rule.text(.name));\n"
            case "A": text += "ALTER \(kind) \(table) ENABLE ALWAYS RULE \(rule.text(.name));\n"
            default: break
            }
            text += DDL.commentStatement(kind: "RULE \(rule.text(.name)) ON", name: table, comment: rule[.comment])
            try out.write(text + "\n")
        }
        // Foreign keys last, so that data in any order and self-references load.
        for (_, constraints) in tablesInOrder {
            for con in constraints.sorted(by: byName) where con.text(.contype) == "f" && con.text(.conparentid) == "0" {
                guard let (table, rel) = tableName(con.text(.conrelid)) else { continue }
                var text = DDL.header(name: "\(rel.text(.rawName)) \(con.text(.name))", type: "FK CONSTRAINT", schema: rel[.rawSchema], owner: rel[.owner])
                let only = rel.text(.relkind) == "p" ? "" : "ONLY "
                text += "ALTER TABLE \(only)\(table)\n    ADD CONSTRAINT \(con.text(.name)) \(con.text(.def));\n"
                text += DDL.commentStatement(kind: "CONSTRAINT \(con.text(.name)) ON", name: table, comment: con[.comment])
                try out.write(text + "\n")
            }
        }
        // Row-level security and policies.
        for rel in cat.relations.values.sorted(by: { Self.sortKey($0) < Self.sortKey($1) })
        where rel.bool(.relrowsecurity) || rel.bool(.relforcerowsecurity) {
            let table = "\(rel.text(.schema)).\(rel.text(.name))"
            var text = ""
            if rel.bool(.relrowsecurity) { text += "ALTER TABLE \(table) ENABLE ROW LEVEL SECURITY;\n" }
            if rel.bool(.relforcerowsecurity) { text += "ALTER TABLE \(table) FORCE ROW LEVEL SECURITY;\n" }
            try out.write(text + "\n")
        }
        for policy in cat.policies.sorted(by: { relationOrder($0, $1, .polrelid) }) {
            guard let (table, rel) = tableName(policy.text(.polrelid)) else { continue }
            var text = DDL.header(name: "\(rel.text(.rawName)) \(policy.text(.name))", type: "POLICY", schema: rel[.rawSchema], owner: rel[.owner])
            let command = ["r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"][policy.text(.polcmd)] ?? "ALL"
            text += "CREATE POLICY \(policy.text(.name)) ON \(table)"
            if !policy.bool(.polpermissive) { text += " AS RESTRICTIVE" }
            text += " FOR \(command) TO \(policy[.roles] ?? "PUBLIC")"
            if let qual = policy[.qual] { text += "\n  USING (\(qual))" }
            if let check = policy[.withCheck] { text += "\n  WITH CHECK (\(check))" }
            text += ";\n"
            text += DDL.commentStatement(kind: "POLICY \(policy.text(.name)) ON", name: table, comment: policy[.comment])
            try out.write(text + "\n")
        }
        // Materialized views are filled last, in dependency order.
        for key in cat.preDataOrder where key.kind == .relation {
            guard let rel = cat.relations[key.oid], rel.text(.relkind) == "m", rel.bool(.relispopulated) else { continue }
            var text = DDL.header(name: rel.text(.rawName), type: "MATERIALIZED VIEW DATA", schema: rel[.rawSchema], owner: rel[.owner])
            text += "REFRESH MATERIALIZED VIEW \(rel.text(.schema)).\(rel.text(.name));\n"
            try out.write(text + "\n")
        }
    }

    /// `ALTER TABLE ONLY … DISABLE|ENABLE REPLICA|ENABLE ALWAYS TRIGGER` for a state other than
    /// the default; ONLY, so that a partitioned table's state does not spill onto its partitions.
    static func triggerState(table: String, trigger: String, state: String) -> String {
        switch state {
        case "D": return "ALTER TABLE ONLY \(table) DISABLE TRIGGER \(trigger);\n"
        case "R": return "ALTER TABLE ONLY \(table) ENABLE REPLICA TRIGGER \(trigger);\n"
        case "A": return "ALTER TABLE ONLY \(table) ENABLE ALWAYS TRIGGER \(trigger);\n"
        default: return ""
        }
    }

    /// `text` created in `tablespace` (as pg_dump does: through default_tablespace, reset after).
    static func inTablespace(_ tablespace: String?, _ text: String) -> String {
        guard let tablespace else { return text }
        return "SET default_tablespace = \(tablespace);\n\n" + text + "SET default_tablespace = '';\n"
    }

    /// Schema and name, unquoted, for ordering.
    static func sortKey<R: SchemaObjectColumns>(_ row: Record<R>) -> String { row.text(.rawSchema) + "\u{0}" + row.text(.rawName) }

    static func literal(_ text: String) -> String {
        "'" + text.replacingAll("'", with: "''") + "'"
    }
}
