/// Everything the dump needs from the catalogs, read once inside the snapshot. Every row is a
/// `Record` of its own query's columns (CatalogColumns.swift); objects in the pre-data order are
/// `PreDataObject`s under an `ObjectKey`.
struct Catalog {
    typealias C = CatalogColumns
    var schemas: [Record<C.Schema>] = []
    var extensions: [Record<C.Extension>] = []
    /// Types, routines, standalone sequences, relations and the other pre-data kinds.
    var objects: [ObjectKey: PreDataObject] = [:]
    var sequences: [String: Record<C.Sequence>] = [:]    // by OID, identity sequences too
    var relations: [String: Record<C.Relation>] = [:]    // by OID
    var foreignTables: [String: Record<C.ForeignTable>] = [:]   // by relation OID
    /// OPERATOR and FUNCTION items of each operator class and the loose ones of each family.
    var familyMembers: [ObjectKey: [String]] = [:]
    var columns: [String: [Record<C.Attribute>]] = [:]    // by relation OID
    var tableConstraints: [String: [Record<C.Constraint>]] = [:]
    var domainConstraints: [String: [Record<C.Constraint>]] = [:]
    var indexes: [Record<C.Index>] = []
    var triggers: [Record<C.Trigger>] = []
    var policies: [Record<C.Policy>] = []
    var rules: [Record<C.Rule>] = []
    var clonedTriggerStates: [Record<C.TriggerState>] = []
    var largeObjects: [Record<C.LargeObject>] = []
    var defaultPrivileges: [Record<C.DefaultPrivilege>] = []
    var eventTriggers: [Record<C.EventTrigger>] = []
    var publications: [Record<C.Publication>] = []
    var publicationTables: [String: [Record<C.PublicationTable>]] = [:]   // by publication OID
    var publicationSchemas: [String: [Record<C.PublicationSchema>]] = [:]
    var subscriptions: [Record<C.Subscription>] = []
    var securityLabels: [Record<C.SecurityLabel>] = []
    var statistics: [Record<C.Statistics>] = []
    var preDataOrder: [ObjectKey] = []
    /// Tables other tables inherit from, or partitioned into (OIDs).
    var hasChildren: Set<String> = []
    /// Defaults set after the pre-data objects (their function comes later).
    var laterDefaults: Set<ColumnRef> = []
    /// Views whose query is valid only because of a constraint (GROUP BY a primary key).
    var viewsNeedingConstraints: Set<String> = []
    /// Identity sequences by their column.
    var identitySequences: [ColumnRef: Record<C.Sequence>] = [:]

    /// An empty catalog (unit tests of the DDL rendering fill in what they need).
    init() {}

    init(connection c: PGConnection) throws {
        let v = c.serverVersion
        schemas = try c.records(CatalogQueries.schemas)
        extensions = try c.records(CatalogQueries.extensions)
        // Each pre-data object with its rank: pg_dump's order of kinds, then its name
        // (dependencies come first anyway; the rank breaks ties).
        var rank: [ObjectKey: (Int, String)] = [:]
        func add(_ key: ObjectKey, _ object: PreDataObject, _ order: Int, _ label: String) {
            objects[key] = object
            rank[key] = (order, label)
        }
        for t in try c.records(CatalogQueries.types(serverVersion: v)) {
            add(ObjectKey(.type, t.text(.oid)), .type(t), 10, t.text(.rawSchema) + "." + t.text(.rawName))
        }
        for f in try c.records(CatalogQueries.functions) {
            add(ObjectKey(.routine, f.text(.oid)), .function(f), 20, f.text(.rawSchema) + "." + f.text(.rawName) + "(" + f.text(.args))
        }
        for a in try c.records(CatalogQueries.aggregates(serverVersion: v)) {
            add(ObjectKey(.routine, a.text(.oid)), .aggregate(a), 20, a.text(.rawSchema) + "." + a.text(.rawName) + "(" + a.text(.args))
        }
        for r in try c.records(CatalogQueries.relations) where r.text(.relkind) != "c" {
            relations[r.text(.oid)] = r
            let order = ["r": 60, "p": 60, "f": 60, "v": 70, "m": 80][r.text(.relkind)] ?? 90
            add(ObjectKey(.relation, r.text(.oid)), .relation(r), order, r.text(.rawSchema) + "." + r.text(.rawName))
        }
        for r in relations.values { for parent in (r[.parentOids] ?? "").split(separator: ",") { hasChildren.insert(String(parent)) } }
        viewsNeedingConstraints = Set(try c.records(CatalogQueries.viewsNeedingConstraints).map { $0.text(.oid) })
        for s in try c.records(CatalogQueries.sequences) {
            sequences[s.text(.oid)] = s
            if s.text(.ownerDeptype) == "i" {
                // Identity sequences are created with their column, not on their own: no rank,
                // out of the order, but kept for setval.
                identitySequences[ColumnRef(table: s.text(.ownerTable), attnum: s.text(.ownerAttnum))] = s
            } else {
                add(ObjectKey(.sequence, s.text(.oid)), .sequence(s), 55, s.text(.rawSchema) + "." + s.text(.rawName))
            }
        }
        for col in try c.records(CatalogQueries.columns(serverVersion: v)) { columns[col.text(.attrelid), default: []].append(col) }
        for con in try c.records(CatalogQueries.constraints) {
            if con.text(.contypid) != "0" {
                domainConstraints[con.text(.contypid), default: []].append(con)
            } else {
                tableConstraints[con.text(.conrelid), default: []].append(con)
            }
        }
        indexes = try c.records(CatalogQueries.indexes)
        triggers = try c.records(CatalogQueries.triggers(serverVersion: v))
        policies = try c.records(CatalogQueries.policies)
        rules = try c.records(CatalogQueries.rules)
        if v >= 130000 { clonedTriggerStates = try c.records(CatalogQueries.clonedTriggerStates) }
        if try c.records(CatalogQueries.currentRole).first?.bool(.rolsuper) == true {
            subscriptions = try c.records(CatalogQueries.subscriptions(serverVersion: v))
        }
        securityLabels = try c.records(CatalogQueries.securityLabels)
        largeObjects = try c.records(CatalogQueries.largeObjects)
        defaultPrivileges = try c.records(CatalogQueries.defaultPrivileges)
        eventTriggers = try c.records(CatalogQueries.eventTriggers)
        publications = try c.records(CatalogQueries.publications(serverVersion: v))
        for t in try c.records(CatalogQueries.publicationTables(serverVersion: v)) {
            publicationTables[t.text(.prpubid), default: []].append(t)
        }
        if v >= 150000 {
            for n in try c.records(CatalogQueries.publicationSchemas) { publicationSchemas[n.text(.prpubid), default: []].append(n) }
        }
        statistics = try c.records(CatalogQueries.statistics)

        // The other pre-data kinds, in pg_dump's order of kinds.
        func others<R: ObjectColumns>(_ query: CatalogQuery<R>, _ kind: ObjectKey.Kind, _ order: Int, _ object: (Record<R>) -> PreDataObject) throws {
            for row in try c.records(query) {
                add(ObjectKey(kind, row.text(R.oid)), object(row), order, row.label)
            }
        }
        try others(CatalogQueries.languages, .language, 5, PreDataObject.language)
        try others(CatalogQueries.collations(serverVersion: v), .collation, 6, PreDataObject.collation)
        let baseTypes = try c.records(CatalogQueries.baseTypes(serverVersion: v))
        for t in baseTypes {
            // A base type is a shell first and its full definition after its functions.
            add(ObjectKey(.shellType, t.text(.oid)), .shellType(t), 9, t.label)
            add(ObjectKey(.baseType, t.text(.oid)), .baseType(t), 21, t.label)
        }
        try others(CatalogQueries.transforms, .transform, 22, PreDataObject.transform)
        try others(CatalogQueries.casts, .cast, 23, PreDataObject.cast)
        try others(CatalogQueries.accessMethods, .accessMethod, 25, PreDataObject.accessMethod)
        try others(CatalogQueries.operators, .operator, 30, PreDataObject.operator)
        try others(CatalogQueries.operatorFamilies, .operatorFamily, 35, PreDataObject.operatorFamily)
        let classes = try c.records(CatalogQueries.operatorClasses)
        for row in classes { add(ObjectKey(.operatorClass, row.text(.oid)), .operatorClass(row), 36, row.label) }
        try others(CatalogQueries.conversions, .conversion, 40, PreDataObject.conversion)
        try others(CatalogQueries.textSearchParsers, .textSearchParser, 45, PreDataObject.textSearchParser)
        try others(CatalogQueries.textSearchTemplates, .textSearchTemplate, 46, PreDataObject.textSearchTemplate)
        try others(CatalogQueries.textSearchDictionaries, .textSearchDictionary, 47, PreDataObject.textSearchDictionary)
        try others(CatalogQueries.textSearchConfigurations, .textSearchConfiguration, 48, PreDataObject.textSearchConfiguration)
        try others(CatalogQueries.foreignDataWrappers, .foreignDataWrapper, 50, PreDataObject.foreignDataWrapper)
        try others(CatalogQueries.foreignServers, .foreignServer, 51, PreDataObject.foreignServer)
        try others(CatalogQueries.userMappings, .userMapping, 52, PreDataObject.userMapping)
        for f in try c.records(CatalogQueries.foreignTables) { foreignTables[f.text(.ftrelid)] = f }
        if objects.keys.contains(where: { $0.kind == .operatorFamily }) {
            for m in try c.records(CatalogQueries.operatorFamilyMembers) {
                let owner = m[.class].map { ObjectKey(.operatorClass, $0) } ?? ObjectKey(.operatorFamily, m.text(.family))
                familyMembers[owner, default: []].append(m.text(.member))
            }
        }

        // pg_depend speaks of sequences as pg_class rows: a relation key of a sequence is its sequence key.
        func key(_ text: String) -> ObjectKey? {
            guard let k = ObjectKey(text) else { return nil }
            return k.kind == .relation && sequences[k.oid] != nil ? ObjectKey(.sequence, k.oid) : k
        }
        var edges = try c.records(CatalogQueries.dependencies(serverVersion: v)).compactMap { row -> (ObjectKey, ObjectKey)? in
            guard let a = row[.dependent].flatMap(key), let b = row[.referenced].flatMap(key) else { return nil }
            return (a, b)
        }
        if !baseTypes.isEmpty {
            // The functions a base type is made of need only its shell; the type's own
            // definition needs them; everything else that uses the type needs it whole.
            let baseOIDs = Set(baseTypes.map { $0.text(.oid) })
            func base(_ k: ObjectKey) -> String? { k.kind == .type && baseOIDs.contains(k.oid) ? k.oid : nil }
            let madeOf = Set(edges.compactMap { a, b in base(a).map { BaseTypePart(type: $0, part: b) } })
            edges = edges.map { a, b in
                var (a, b) = (a, b)
                if let oid = base(a) { a = ObjectKey(.baseType, oid) }
                if let oid = base(b) {
                    b = a.kind == .routine && madeOf.contains(BaseTypePart(type: oid, part: a)) ? ObjectKey(.shellType, oid) : ObjectKey(.baseType, oid)
                }
                return (a, b)
            }
            edges += baseOIDs.map { (ObjectKey(.baseType, $0), ObjectKey(.shellType, $0)) }
        }
        for row in classes { edges.append((ObjectKey(.operatorClass, row.text(.oid)), ObjectKey(.operatorFamily, row.text(.opcfamily)))) }
        preDataOrder = DependencyOrder.sort(Array(rank.keys), rank: rank, edges: edges)
        // A default whose function comes later (a loop through the function's body) is set
        // once the function exists, as pg_dump does.
        let position = Dictionary(uniqueKeysWithValues: preDataOrder.enumerated().map { ($1, $0) })
        for d in try c.records(CatalogQueries.defaultFunctions) {
            guard let function = position[ObjectKey(.routine, d.text(.function))], let table = position[ObjectKey(.relation, d.text(.adrelid))],
                  function > table else { continue }
            laterDefaults.insert(ColumnRef(table: d.text(.adrelid), attnum: d.text(.adnum)))
        }
    }

    func identitySequence(table: String, attnum: String) -> Record<C.Sequence>? {
        identitySequences[ColumnRef(table: table, attnum: attnum)]
    }
}

/// A function that a base type is made of (its input, output, … function).
private struct BaseTypePart: Hashable {
    let type: String
    let part: ObjectKey
}

/// A table's column: its table's OID and its number.
struct ColumnRef: Hashable {
    let table: String
    let attnum: String
}

/// A catalog object in the dump's pre-data order: its kind and its OID. Ordered as its text
/// "k:oid" is ordered (ties in the dump's order fall back to it: the dump stays byte-identical
/// to the one ordered by those texts).
struct ObjectKey: Hashable, Comparable, CustomStringConvertible {
    /// The letter of each kind, as the dependencies query writes it (`CatalogQueries.objectKey`).
    enum Kind: Character {
        case type = "t", routine = "p", sequence = "s", relation = "c"
        case language = "L", collation = "l", shellType = "b", baseType = "B", transform = "X", cast = "k"
        case accessMethod = "A", `operator` = "o", operatorFamily = "f", operatorClass = "q", conversion = "v"
        case textSearchParser = "P", textSearchTemplate = "T", textSearchDictionary = "D", textSearchConfiguration = "G"
        case foreignDataWrapper = "W", foreignServer = "S", userMapping = "U"
    }

    let kind: Kind
    let oid: String

    init(_ kind: Kind, _ oid: String) {
        self.kind = kind
        self.oid = oid
    }

    /// "c:16384", as the dependencies query returns it; nil for any other text.
    init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), text.distance(from: text.startIndex, to: colon) == 1,
              let kind = Kind(rawValue: text[text.startIndex]) else { return nil }
        let oid = text[text.index(after: colon)...]
        guard !oid.isEmpty, oid.allSatisfy(\.isASCII), oid.allSatisfy(\.isNumber) else { return nil }
        self.init(kind, String(oid))
    }

    var description: String { "\(kind.rawValue):\(oid)" }

    static func < (a: ObjectKey, b: ObjectKey) -> Bool {
        a.kind.rawValue != b.kind.rawValue ? a.kind.rawValue < b.kind.rawValue : a.oid < b.oid
    }
}

/// One object of the pre-data section, with the row of its own kind.
enum PreDataObject {
    typealias C = CatalogColumns
    case type(Record<C.DataType>)
    case function(Record<C.Function>)
    case aggregate(Record<C.Aggregate>)
    case sequence(Record<C.Sequence>)
    case relation(Record<C.Relation>)
    case language(Record<C.Language>)
    case collation(Record<C.Collation>)
    case shellType(Record<C.BaseType>)
    case baseType(Record<C.BaseType>)
    case transform(Record<C.Transform>)
    case cast(Record<C.Cast>)
    case accessMethod(Record<C.AccessMethod>)
    case `operator`(Record<C.Operator>)
    case operatorFamily(Record<C.OperatorFamily>)
    case operatorClass(Record<C.OperatorClass>)
    case conversion(Record<C.Conversion>)
    case textSearchParser(Record<C.TextSearchParser>)
    case textSearchTemplate(Record<C.TextSearchTemplate>)
    case textSearchDictionary(Record<C.TextSearchDictionary>)
    case textSearchConfiguration(Record<C.TextSearchConfiguration>)
    case foreignDataWrapper(Record<C.ForeignDataWrapper>)
    case foreignServer(Record<C.ForeignServer>)
    case userMapping(Record<C.UserMapping>)
}
