import FoundationEssentials
import Glibc

/// Everything the dump needs from the catalogs, read once inside the snapshot.
struct Catalog {
    var schemas: [Row] = []
    var extensions: [Row] = []
    var types: [String: Row] = [:]        // "t:oid"
    var functions: [String: Row] = [:]    // "p:oid"
    var sequences: [String: Row] = [:]    // "s:oid" (sequences are keyed apart from tables)
    var relations: [String: Row] = [:]    // "c:oid"
    /// Casts, collations, operators, text search objects, conversions, access methods,
    /// languages, transforms, foreign-data wrappers, servers, user mappings and base types,
    /// keyed by a letter of their kind (see `otherRanks`) and their OID.
    var others: [String: Row] = [:]
    var foreignTables: [String: Row] = [:]   // by relation oid
    /// OPERATOR and FUNCTION items of each operator class ("q:oid") and the loose ones of each family ("f:oid").
    var familyMembers: [String: [String]] = [:]
    var columns: [String: [Row]] = [:]    // by relation oid
    var tableConstraints: [String: [Row]] = [:]
    var domainConstraints: [String: [Row]] = [:]
    var indexes: [Row] = []
    var triggers: [Row] = []
    var policies: [Row] = []
    var rules: [Row] = []
    var clonedTriggerStates: [Row] = []
    var largeObjects: [Row] = []
    var defaultPrivileges: [Row] = []
    var eventTriggers: [Row] = []
    var publications: [Row] = []
    var publicationTables: [String: [Row]] = [:]   // by publication oid
    var publicationSchemas: [String: [Row]] = [:]
    var subscriptions: [Row] = []
    var securityLabels: [Row] = []
    var statistics: [Row] = []
    var preDataOrder: [String] = []
    /// Tables other tables inherit from, or partitioned into.
    var hasChildren: Set<String> = []
    /// "table oid:attnum" of defaults set after the pre-data objects (their function comes later).
    var laterDefaults: Set<String> = []
    /// Views whose query is valid only because of a constraint (GROUP BY a primary key).
    var viewsNeedingConstraints: Set<String> = []

    /// An empty catalog (unit tests of the DDL rendering fill in what they need).
    init() {}

    init(connection c: PGConnection) throws {
        let v = c.serverVersion
        func rows(_ sql: String, _ what: String) throws -> [Row] {
            try c.query(sql, context: "reading \(what)").rows()
        }
        schemas = try rows(CatalogQueries.schemas, "schemas")
        extensions = try rows(CatalogQueries.extensions, "extensions")
        for t in try rows(CatalogQueries.types(serverVersion: v), "types") { types["t:" + t.text("oid")] = t }
        for f in try rows(CatalogQueries.functions, "functions") { functions["p:" + f.text("oid")] = f }
        for a in try rows(CatalogQueries.aggregates(serverVersion: v), "aggregates") { functions["p:" + a.text("oid")] = a }
        for r in try rows(CatalogQueries.relations, "tables and views") where r.text("relkind") != "c" {
            relations["c:" + r.text("oid")] = r
        }
        for r in relations.values { for parent in (r["parent_oids"] ?? "").split(separator: ",") { hasChildren.insert(String(parent)) } }
        viewsNeedingConstraints = Set(try rows(CatalogQueries.viewsNeedingConstraints, "views' dependencies").map { $0.text("oid") })
        for s in try rows(CatalogQueries.sequences, "sequences") {
            sequences["s:" + s.text("oid")] = s
            if s.text("owner_deptype") == "i" { identitySequences[s.text("owner_table") + ":" + s.text("owner_attnum")] = s }
        }
        for col in try rows(CatalogQueries.columns(serverVersion: v), "columns") { columns[col.text("attrelid"), default: []].append(col) }
        for con in try rows(CatalogQueries.constraints, "constraints") {
            if con.text("contypid") != "0" {
                domainConstraints[con.text("contypid"), default: []].append(con)
            } else {
                tableConstraints[con.text("conrelid"), default: []].append(con)
            }
        }
        indexes = try rows(CatalogQueries.indexes, "indexes")
        triggers = try rows(CatalogQueries.triggers(serverVersion: v), "triggers")
        policies = try rows(CatalogQueries.policies, "policies")
        rules = try rows(CatalogQueries.rules, "rules")
        if v >= 130000 { clonedTriggerStates = try rows(CatalogQueries.clonedTriggerStates, "trigger states") }
        if try c.query("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user", context: "reading the role").rows().first?.bool("rolsuper") == true {
            subscriptions = try rows(CatalogQueries.subscriptions(serverVersion: v), "subscriptions")
        }
        securityLabels = try rows(CatalogQueries.securityLabels, "security labels")
        largeObjects = try rows(CatalogQueries.largeObjects, "large objects")
        defaultPrivileges = try rows(CatalogQueries.defaultPrivileges, "default privileges")
        eventTriggers = try rows(CatalogQueries.eventTriggers, "event triggers")
        publications = try rows(CatalogQueries.publications(serverVersion: v), "publications")
        for t in try rows(CatalogQueries.publicationTables(serverVersion: v), "publication tables") {
            publicationTables[t.text("prpubid"), default: []].append(t)
        }
        if v >= 150000 {
            for n in try rows(CatalogQueries.publicationSchemas, "publication schemas") { publicationSchemas[n.text("prpubid"), default: []].append(n) }
        }
        statistics = try rows(CatalogQueries.statistics, "statistics objects")

        // The other pre-data kinds, in pg_dump's order of kinds (dependencies come first anyway).
        var rank: [String: (Int, String)] = [:]
        let kinds: [(String, Int, String, String)] = [
            ("L", 5, CatalogQueries.languages, "languages"),
            ("l", 6, CatalogQueries.collations(serverVersion: v), "collations"),
            ("b", 9, CatalogQueries.baseTypes(serverVersion: v), "base types"),
            ("X", 22, CatalogQueries.transforms, "transforms"),
            ("k", 23, CatalogQueries.casts, "casts"),
            ("A", 25, CatalogQueries.accessMethods, "access methods"),
            ("o", 30, CatalogQueries.operators, "operators"),
            ("f", 35, CatalogQueries.operatorFamilies, "operator families"),
            ("q", 36, CatalogQueries.operatorClasses, "operator classes"),
            ("v", 40, CatalogQueries.conversions, "conversions"),
            ("P", 45, CatalogQueries.textSearchParsers, "text search parsers"),
            ("T", 46, CatalogQueries.textSearchTemplates, "text search templates"),
            ("D", 47, CatalogQueries.textSearchDictionaries, "text search dictionaries"),
            ("G", 48, CatalogQueries.textSearchConfigurations, "text search configurations"),
            ("W", 50, CatalogQueries.foreignDataWrappers, "foreign-data wrappers"),
            ("S", 51, CatalogQueries.foreignServers, "foreign servers"),
            ("U", 52, CatalogQueries.userMappings, "user mappings"),
        ]
        var baseTypes: Set<String> = []
        for (letter, order, sql, what) in kinds {
            for row in try rows(sql, what) {
                let oid = row.text("oid")
                let label = (row["raw_schema"] ?? "") + "." + (row["raw_name"] ?? row["name"] ?? row["type"] ?? row["source"] ?? "") + (row["target"] ?? "")
                others[letter + ":" + oid] = row
                rank[letter + ":" + oid] = (order, label)
                if letter == "b" {
                    // A base type is a shell first and its full definition after its functions.
                    others["B:" + oid] = row
                    rank["B:" + oid] = (21, label)
                    baseTypes.insert(oid)
                }
            }
        }
        for f in try rows(CatalogQueries.foreignTables, "foreign tables") { foreignTables[f.text("ftrelid")] = f }
        if others.keys.contains(where: { $0.hasPrefix("f:") }) {
            for m in try rows(CatalogQueries.operatorFamilyMembers, "operator family members") {
                familyMembers[m["class"].map { "q:" + $0 } ?? "f:" + m.text("family"), default: []].append(m.text("member"))
            }
        }

        // Identity sequences are created with their column, not on their own.
        let standalone = sequences.filter { $0.value.text("owner_deptype") != "i" }
        for (key, t) in types { rank[key] = (10, t.text("raw_schema") + "." + t.text("raw_name")) }
        for (key, f) in functions { rank[key] = (20, f.text("raw_schema") + "." + f.text("raw_name") + "(" + f.text("args")) }
        for (key, s) in standalone { rank[key] = (55, s.text("raw_schema") + "." + s.text("raw_name")) }
        for (key, r) in relations {
            let order = ["r": 60, "p": 60, "f": 60, "v": 70, "m": 80][r.text("relkind")] ?? 90
            rank[key] = (order, r.text("raw_schema") + "." + r.text("raw_name"))
        }
        // pg_depend speaks of sequences as pg_class rows: map "c:oid" of a sequence to "s:oid".
        let sequenceKeys = Set(sequences.keys.map { "c:" + $0.dropFirst(2) })
        func key(_ k: String) -> String { sequenceKeys.contains(k) ? "s:" + k.dropFirst(2) : k }
        var edges = try rows(CatalogQueries.dependencies(serverVersion: v), "dependencies").compactMap { row -> (String, String)? in
            guard let a = row["dependent"], let b = row["referenced"] else { return nil }
            return (key(a), key(b))
        }
        if !baseTypes.isEmpty {
            // The functions a base type is made of need only its shell ("b:"); the type's own
            // definition ("B:") needs them; everything else that uses the type needs it whole.
            func base(_ k: String) -> String? { k.hasPrefix("t:") && baseTypes.contains(String(k.dropFirst(2))) ? String(k.dropFirst(2)) : nil }
            let madeOf = Set(edges.compactMap { a, b in base(a).map { "\($0)|\(b)" } })
            edges = edges.map { a, b in
                var (a, b) = (a, b)
                if let oid = base(a) { a = "B:" + oid }
                if let oid = base(b) { b = (a.hasPrefix("p:") && madeOf.contains("\(oid)|\(a)")) ? "b:" + oid : "B:" + oid }
                return (a, b)
            }
            edges += baseTypes.map { ("B:" + $0, "b:" + $0) }
        }
        for (key, row) in others where key.hasPrefix("q:") { edges.append((key, "f:" + row.text("opcfamily"))) }
        // Identity sequences have no rank: they stay out of the order but in `sequences` for setval.
        preDataOrder = DependencyOrder.sort(Array(rank.keys), rank: rank, edges: edges)
        // A default whose function comes later (a loop through the function's body) is set
        // once the function exists, as pg_dump does.
        let position = Dictionary(uniqueKeysWithValues: preDataOrder.enumerated().map { ($1, $0) })
        for d in try rows(CatalogQueries.defaultFunctions, "defaults' functions") {
            guard let function = position[d.text("function")], let table = position["c:" + d.text("adrelid")], function > table else { continue }
            laterDefaults.insert(d.text("adrelid") + ":" + d.text("adnum"))
        }
    }

    /// Identity sequences by "table oid:attnum".
    var identitySequences: [String: Row] = [:]

    func identitySequence(table: String, attnum: String) -> Row? {
        identitySequences[table + ":" + attnum]
    }
}
