/// The columns of every catalog query, one enum per query: a catalog row is read through a case
/// of its own query's enum, never by free text, so a misspelt or foreign column does not compile.
/// `PGConnection.records` checks that the server returned exactly these columns in this order,
/// so the SQL and its enum cannot drift apart unnoticed (every dump test would fail at once).

/// The column names of one query's result, in the order the query returns them.
protocol QueryColumns: RawRepresentable, CaseIterable where RawValue == String, AllCases == [Self] {}

/// The columns of a query that returns catalog objects, with their OID.
protocol ObjectColumns: QueryColumns {
    static var oid: Self { get }
}

/// The columns of a query whose rows have a name.
protocol NamedColumns: QueryColumns {
    static var name: Self { get }
}

/// The columns of a query whose rows have an unquoted schema and name (ordering by name).
protocol SchemaObjectColumns: QueryColumns {
    static var rawSchema: Self { get }
    static var rawName: Self { get }
}

extension CatalogColumns.Relation: SchemaObjectColumns, NamedColumns {}
extension CatalogColumns.Sequence: SchemaObjectColumns {}
extension CatalogColumns.Trigger: NamedColumns {}
extension CatalogColumns.TriggerState: NamedColumns {}
extension CatalogColumns.Rule: NamedColumns {}
extension CatalogColumns.Policy: NamedColumns {}

/// A catalog query and what it reads (for messages: "reading tables and views").
struct CatalogQuery<Columns: QueryColumns> {
    let what: String
    let sql: String
    init(_ what: String, _ sql: String) {
        self.what = what
        self.sql = sql
    }
}

extension PGConnection {
    /// The rows of a catalog query, read through its columns' enum. The server must return
    /// exactly those columns, in that order: anything else is a defect in cdb, reported as one.
    func records<C>(_ q: CatalogQuery<C>) throws -> [Record<C>] {
        let context = "reading \(q.what)"
        let result = try query(q.sql, context: context)
        let names = result.columnNames
        let expected = C.allCases.map(\.rawValue)
        guard names == expected else {
            throw CDBError.query(context: context, sqlstate: "XX000", message: "cdb's query returned the columns \(names.joined(separator: ", ")) where it reads \(expected.joined(separator: ", ")) — this is a defect in cdb; please report it")
        }
        // The names are kept once per result, the values as an array per row: a database with
        // thousands of objects holds tens of thousands of rows while it is dumped.
        let columns = Row.Columns(Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a }))
        return (0..<result.count).map { r in
            Record(row: Row(columns: columns, values: (0..<names.count).map { result.value(r, $0) }))
        }
    }
}

/// The values of one row and where each column is. Read only through `Record`, by a case of
/// its query's columns: nothing outside this file can read a catalog row by free text.
private struct Row {
    /// Column name → position, shared by every row of a result.
    final class Columns: @unchecked Sendable {
        let index: [String: Int]
        init(_ index: [String: Int]) { self.index = index }
    }

    let columns: Columns
    let values: [String?]

    subscript(_ name: String) -> String? {
        guard let i = columns.index[name] else { return nil }
        return values[i]
    }
}

/// One row of a query whose columns are `Columns`. NULL reads as nil.
struct Record<Columns: QueryColumns> {
    private let row: Row

    subscript(_ column: Columns) -> String? { row[column.rawValue] }
    /// A non-NULL text column ("" when NULL).
    func text(_ column: Columns) -> String { row[column.rawValue] ?? "" }
    func bool(_ column: Columns) -> Bool { row[column.rawValue] == "t" }
    func int(_ column: Columns) -> Int { Int(row[column.rawValue] ?? "") ?? 0 }

    /// A row made by hand (unit tests of the DDL rendering, which need no server).
    init(_ fields: KeyValuePairs<Columns, String?>) {
        var index: [String: Int] = [:]
        for (i, field) in fields.enumerated() { index[field.key.rawValue] = i }
        row = Row(columns: Row.Columns(index), values: fields.map(\.value))
    }

    fileprivate init(row: Row) { self.row = row }

    /// The name an object is ranked by among the objects of its kind (pg_dump's order of ties):
    /// "schema.name", or for the kinds without a name what they are made of ("source"/"target"
    /// for casts and conversions, "type" for transforms). Reads only the columns its query has.
    var label: String {
        func column(_ name: String) -> String? { Columns(rawValue: name).flatMap { self[$0] } }
        return (column("raw_schema") ?? "") + "." + (column("raw_name") ?? column("name") ?? column("type") ?? column("source") ?? "")
            + (column("target") ?? "")
    }
}

enum CatalogColumns {
    /// access methods
    enum AccessMethod: String, ObjectColumns {
        case oid, name, rawName = "raw_name", amtype, handler, comment
    }
    /// aggregates
    enum Aggregate: String, ObjectColumns {
        case oid, prokind, schema, name, rawSchema = "raw_schema", rawName = "raw_name", args
        case fullArgs = "full_args", argTypes = "arg_types", aggkind, proparallel, aggtransfn, aggfinalfn
        case aggcombinefn, aggserialfn, aggdeserialfn, aggmtransfn, aggminvtransfn, aggmfinalfn, aggfinalextra
        case aggmfinalextra, aggfinalmodify, aggmfinalmodify, sortop, stype, aggtransspace, mstype, aggmtransspace
        case initval, minitval, owner, comment, grants
    }
    /// columns
    enum Attribute: String, QueryColumns {
        case attrelid, attnum, name, attstorage, typstorage, attcompression, stattarget, attoptions
        case fdwOptions = "fdw_options", `type`, attnotnull, attidentity, attgenerated, attislocal, attinhcount
        case collation, defaultExpr = "default_expr", comment, grants, notnullName = "notnull_name"
        case notnullValid = "notnull_valid", notnullNoinherit = "notnull_noinherit"
        case notnullDefaultName = "notnull_default_name"
    }
    /// base types
    enum BaseType: String, ObjectColumns {
        case oid, schema, name, rawSchema = "raw_schema", rawName = "raw_name", owner, input, output, receive, send
        case typmodIn = "typmod_in", typmodOut = "typmod_out", analyze, `subscript`, typlen, typbyval, typalign
        case typstorage, typcategory, typispreferred, defaultValue = "default_value", element, delimiter, collatable
        case comment, grants
    }
    /// casts
    enum Cast: String, ObjectColumns {
        case oid, source, target, castmethod, castcontext, function, comment
    }
    /// collations
    enum Collation: String, ObjectColumns {
        case oid, schema, name, rawSchema = "raw_schema", rawName = "raw_name", owner, collprovider
        case collisdeterministic, collate, ctype, locale, rules, comment
    }
    /// constraints
    enum Constraint: String, ObjectColumns {
        case oid, conrelid, contypid, contype, name, def, convalidated, conislocal, conparentid, conindid, comment
    }
    /// conversions
    enum Conversion: String, ObjectColumns {
        case oid, qname, rawSchema = "raw_schema", rawName = "raw_name", owner, condefault, source, target, function
        case comment
    }
    /// the server settings (the dump's session)
    enum Session: String, QueryColumns {
        case encoding, version, serverVersion = "server_version", db
    }
    /// the tables to lock
    enum TableToLock: String, QueryColumns {
        case qname
    }
    /// what cannot be dumped
    enum Unsupported: String, QueryColumns {
        case what
    }
    /// sequence values: of the sequences already used
    enum SequenceUsed: String, QueryColumns {
        case oid, lastValue = "last_value"
    }
    /// sequence values: of the others, one by one
    enum SequenceState: String, QueryColumns {
        case oid, lastValue = "last_value", isCalled = "is_called"
    }
    /// objects to probe (FailureProbe: which one the server cannot render)
    enum ProbeCandidate: String, QueryColumns {
        case oid, what
    }
    /// table sizes (the parallel data section)
    enum TableSize: String, QueryColumns {
        case oid, pages
    }
    /// the role
    enum CurrentRole: String, QueryColumns {
        case rolsuper
    }
    /// types
    enum DataType: String, ObjectColumns {
        case oid, typtype, schema, name, rawSchema = "raw_schema", rawName = "raw_name", owner, comment, grants
        case enumLabels = "enum_labels", baseType = "base_type", notNull = "not_null", defaultExpr = "default_expr"
        case collation, typrelid, rangeSubtype = "range_subtype", rangeOpclass = "range_opclass"
        case rangeCollation = "range_collation", rangeCanonical = "range_canonical", rangeSubdiff = "range_subdiff"
        case rangeMultirange = "range_multirange"
    }
    /// defaults' functions
    enum DefaultFunction: String, QueryColumns {
        case adrelid, adnum, function
    }
    /// default privileges
    enum DefaultPrivilege: String, ObjectColumns {
        case oid, role, objtype, schema, grants
    }
    /// dependencies
    enum Dependency: String, QueryColumns {
        case dependent, referenced
    }
    /// event triggers
    enum EventTrigger: String, ObjectColumns {
        case oid, name, rawName = "raw_name", event, owner, function, evtenabled, tags, comment
    }
    /// extensions
    enum Extension: String, ObjectColumns {
        case oid, name, schema, comment
    }
    /// operator family members
    enum FamilyMember: String, QueryColumns {
        case family, `class`, kind, number, member
    }
    /// foreign-data wrappers
    enum ForeignDataWrapper: String, ObjectColumns {
        case oid, name, rawName = "raw_name", owner, handler, validator, options, comment, grants
    }
    /// foreign servers
    enum ForeignServer: String, ObjectColumns {
        case oid, name, rawName = "raw_name", owner, wrapper, `type`, version, options, comment, grants
    }
    /// foreign tables
    enum ForeignTable: String, QueryColumns {
        case ftrelid, server, options
    }
    /// functions
    enum Function: String, ObjectColumns {
        case oid, prokind, schema, name, rawSchema = "raw_schema", rawName = "raw_name", args, def, owner, comment
        case grants
    }
    /// indexes
    enum Index: String, QueryColumns {
        case indexrelid, indrelid, def, indisclustered, indisreplident, schema, name, isConstraint = "is_constraint"
        case parentIndex = "parent_index", tablespace, comment
    }
    /// languages
    enum Language: String, ObjectColumns {
        case oid, name, rawName = "raw_name", owner, lanpltrusted, handler, inline, validator, comment, grants
    }
    /// large objects
    enum LargeObject: String, ObjectColumns {
        case oid, owner, rawOwner = "raw_owner", comment, grants
    }
    /// operators
    enum Operator: String, ObjectColumns {
        case oid, schema, name, rawSchema = "raw_schema", owner, oprkind, function, leftarg, rightarg, commutator
        case negator, restrict, join, oprcanmerge, oprcanhash, comment
    }
    /// operator classes
    enum OperatorClass: String, ObjectColumns {
        case oid, qname, rawSchema = "raw_schema", rawName = "raw_name", owner, am, opcdefault, `type`, opcfamily
        case family, storage, comment
    }
    /// operator families
    enum OperatorFamily: String, ObjectColumns {
        case oid, qname, rawSchema = "raw_schema", rawName = "raw_name", owner, am, comment
    }
    /// policies
    enum Policy: String, ObjectColumns {
        case oid, polrelid, name, polcmd, polpermissive, roles, qual, withCheck = "with_check", comment
    }
    /// publications
    enum Publication: String, ObjectColumns {
        case oid, name, rawName = "raw_name", owner, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate
        case pubviaroot, pubgencols, comment
    }
    /// publication schemas
    enum PublicationSchema: String, QueryColumns {
        case prpubid, schema
    }
    /// publication tables
    enum PublicationTable: String, QueryColumns {
        case prpubid, tbl, rawSchema = "raw_schema", rawTable = "raw_table", columns, filter
    }
    /// tables and views
    enum Relation: String, ObjectColumns {
        case oid, relkind, schema, name, rawSchema = "raw_schema", rawName = "raw_name", owner, relpersistence
        case relrowsecurity, relforcerowsecurity, relispartition, relispopulated, relreplident, ofType = "of_type"
        case partitionBound = "partition_bound", partitionKey = "partition_key", options, viewDef = "view_def"
        case accessMethod = "access_method", tablespace, parents, parentOids = "parent_oids", comment, grants
    }
    /// rules
    enum Rule: String, ObjectColumns {
        case oid, evClass = "ev_class", name, rawName = "raw_name", def, evEnabled = "ev_enabled", comment
    }
    /// schemas
    enum Schema: String, ObjectColumns {
        case oid, name, rawName = "raw_name", owner, rawOwner = "raw_owner", comment, grants
    }
    /// security labels
    enum SecurityLabel: String, QueryColumns {
        case objtype, objname, provider, label
    }
    /// sequences
    enum Sequence: String, ObjectColumns {
        case oid, schema, name, rawSchema = "raw_schema", rawName = "raw_name", owner, comment, grants, `type`
        case seqstart, seqincrement, seqmin, seqmax, seqcache, seqcycle, relpersistence, ownerTable = "owner_table"
        case ownerDeptype = "owner_deptype", ownerColumn = "owner_column", ownerAttnum = "owner_attnum"
    }
    /// statistics objects
    enum Statistics: String, ObjectColumns {
        case oid, stxrelid, def, name
    }
    /// subscriptions
    enum Subscription: String, ObjectColumns {
        case oid, name, rawName = "raw_name", owner, conninfo, slot, publications
        case synchronousCommit = "synchronous_commit", binary, streaming, twoPhase = "two_phase"
        case disableOnError = "disable_on_error", origin, passwordRequired = "password_required"
        case runAsOwner = "run_as_owner", failover, comment
    }
    /// text search configurations
    enum TextSearchConfiguration: String, ObjectColumns {
        case oid, qname, rawSchema = "raw_schema", rawName = "raw_name", owner, parser, mappings, comment
    }
    /// text search dictionaries
    enum TextSearchDictionary: String, ObjectColumns {
        case oid, qname, rawSchema = "raw_schema", rawName = "raw_name", owner, initOptions = "init_options"
        case template, comment
    }
    /// text search parsers
    enum TextSearchParser: String, ObjectColumns {
        case oid, qname, rawSchema = "raw_schema", rawName = "raw_name", start, gettoken, end = "end_", lextypes
        case headline, comment
    }
    /// text search templates
    enum TextSearchTemplate: String, ObjectColumns {
        case oid, qname, rawSchema = "raw_schema", rawName = "raw_name", initFunction = "init", lexize, comment
    }
    /// transforms
    enum Transform: String, ObjectColumns {
        case oid, `type`, language, fromSql = "from_sql", toSql = "to_sql", comment
    }
    /// triggers
    enum Trigger: String, ObjectColumns {
        case oid, tgrelid, name, def, tgenabled, comment
    }
    /// trigger states
    enum TriggerState: String, QueryColumns {
        case tgrelid, name, tgenabled
    }
    /// user mappings
    enum UserMapping: String, ObjectColumns {
        case oid, srvid, server, role, options
    }
    /// views' dependencies
    enum ViewDependency: String, ObjectColumns {
        case oid
    }
}
