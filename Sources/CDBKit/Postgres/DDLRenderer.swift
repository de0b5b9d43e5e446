import FoundationEssentials
import Glibc

/// The DDL of every object kind, as pure functions of catalog rows and the options (owners,
/// privileges): no connection, no I/O — unit-tested with rows made by hand
/// (Tests/CDBKitTests/DDLTests.swift). The dumper decides the order and writes the text.
struct DDLRenderer {
    typealias C = CatalogColumns
    let options: DDL.Options
    var ddl: DDL.Options { options }

    func typeDDL(_ t: Record<C.DataType>, _ cat: Catalog) -> String {
        let name = "\(t.text(.schema)).\(t.text(.name))"
        var text: String
        var kind = "TYPE"
        switch t.text(.typtype) {
        case "e":
            text = DDL.header(name: t.text(.rawName), type: "TYPE", schema: t[.rawSchema], owner: t[.owner])
            text += "CREATE TYPE \(name) AS ENUM (\n    \(t.text(.enumLabels).replacingAll("', '", with: "',\n    '"))\n);\n"
        case "d":
            kind = "DOMAIN"
            text = DDL.header(name: t.text(.rawName), type: "DOMAIN", schema: t[.rawSchema], owner: t[.owner])
            text += "CREATE DOMAIN \(name) AS \(t.text(.baseType))"
            if let collation = t[.collation] { text += " COLLATE \(collation)" }
            if let expr = t[.defaultExpr] { text += " DEFAULT \(expr)" }
            if t.bool(.notNull) { text += " NOT NULL" }
            var later = ""
            for con in cat.domainConstraints[t.text(.oid)] ?? [] {
                if con.bool(.convalidated) {
                    text += "\n\tCONSTRAINT \(con.text(.name)) \(con.text(.def))"
                } else {
                    later += "ALTER DOMAIN \(name) ADD CONSTRAINT \(con.text(.name)) \(con.text(.def));\n"
                }
            }
            text += ";\n" + later
            for con in cat.domainConstraints[t.text(.oid)] ?? [] {
                text += DDL.commentStatement(kind: "CONSTRAINT \(con.text(.name)) ON DOMAIN", name: name, comment: con[.comment])
            }
        case "r":
            text = DDL.header(name: t.text(.rawName), type: "TYPE", schema: t[.rawSchema], owner: t[.owner])
            var parts = ["subtype = \(t.text(.rangeSubtype))"]
            if let v = t[.rangeOpclass] { parts.append("subtype_opclass = \(v)") }
            if let v = t[.rangeCollation] { parts.append("collation = \(v)") }
            if let v = t[.rangeCanonical] { parts.append("canonical = \(v)") }
            if let v = t[.rangeSubdiff] { parts.append("subtype_diff = \(v)") }
            if let v = t[.rangeMultirange] { parts.append("multirange_type_name = \(v)") }
            text += "CREATE TYPE \(name) AS RANGE (\n    \(parts.joined(separator: ",\n    "))\n);\n"
        default:  // composite
            text = DDL.header(name: t.text(.rawName), type: "TYPE", schema: t[.rawSchema], owner: t[.owner])
            let columns = (cat.columns[t.text(.typrelid)] ?? []).map { c -> String in
                var s = "\(c.text(.name)) \(c.text(.type))"
                if let collation = c[.collation] { s += " COLLATE \(collation)" }
                return s
            }
            text += "CREATE TYPE \(name) AS (\n    \(columns.joined(separator: ",\n    "))\n);\n"
            for c in cat.columns[t.text(.typrelid)] ?? [] {
                text += DDL.commentStatement(kind: "COLUMN", name: "\(name).\(c.text(.name))", comment: c[.comment])
            }
        }
        text += "\n" + DDL.ownerStatement(kind: kind, name: name, owner: t.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: kind, name: name, comment: t[.comment])
        text += DDL.grantStatements(kind: "TYPE", name: name, owner: t.text(.owner), grants: t[.grants], options: ddl)
        return text
    }

    func functionDDL(_ f: Record<C.Function>) -> String {
        let kind = f.text(.prokind) == "p" ? "PROCEDURE" : "FUNCTION"
        let signature = "\(f.text(.schema)).\(f.text(.name))(\(f.text(.args)))"
        var text = DDL.header(name: "\(f.text(.rawName))(\(f.text(.args)))", type: kind, schema: f[.rawSchema], owner: f[.owner])
        var def = f.text(.def)
        while def.last?.isWhitespace == true { def.removeLast() }
        text += def + ";\n\n"
        text += DDL.ownerStatement(kind: kind, name: signature, owner: f.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: kind, name: signature, comment: f[.comment])
        text += DDL.grantStatements(kind: kind, name: signature, owner: f.text(.owner), grants: f[.grants], options: ddl)
        return text
    }

    func aggregateDDL(_ a: Record<C.Aggregate>) -> String {
        // `(*)` for an aggregate without arguments; ordered-set ones say `… ORDER BY …`.
        let identity = a.text(.args).isEmpty ? "*" : a.text(.args)
        let signature = "\(a.text(.schema)).\(a.text(.name))(\(identity))"
        var text = DDL.header(name: "\(a.text(.rawName))(\(identity))", type: "AGGREGATE", schema: a[.rawSchema], owner: a[.owner])
        let orderedSet = a.text(.aggkind) != "n"
        var parts = ["SFUNC = \(a.text(.aggtransfn))", "STYPE = \(a.text(.stype))"]
        if a.text(.aggtransspace) != "0" { parts.append("SSPACE = \(a.text(.aggtransspace))") }
        if let v = a[.initval] { parts.append("INITCOND = \(v)") }
        let modify = ["r": "READ_ONLY", "s": "SHAREABLE", "w": "READ_WRITE"]
        if let v = a[.aggfinalfn] {
            parts.append("FINALFUNC = \(v)")
            if a.bool(.aggfinalextra) { parts.append("FINALFUNC_EXTRA") }
            if a.text(.aggfinalmodify) != (orderedSet ? "w" : "r"), let m = modify[a.text(.aggfinalmodify)] {
                parts.append("FINALFUNC_MODIFY = \(m)")
            }
        }
        if let v = a[.aggcombinefn] { parts.append("COMBINEFUNC = \(v)") }
        if let v = a[.aggserialfn] { parts.append("SERIALFUNC = \(v)") }
        if let v = a[.aggdeserialfn] { parts.append("DESERIALFUNC = \(v)") }
        if let v = a[.aggmtransfn] { parts.append("MSFUNC = \(v)") }
        if let v = a[.aggminvtransfn] { parts.append("MINVFUNC = \(v)") }
        if let v = a[.mstype] { parts.append("MSTYPE = \(v)") }
        if a.text(.aggmtransspace) != "0" { parts.append("MSSPACE = \(a.text(.aggmtransspace))") }
        if let v = a[.aggmfinalfn] {
            parts.append("MFINALFUNC = \(v)")
            if a.bool(.aggmfinalextra) { parts.append("MFINALFUNC_EXTRA") }
            if a.text(.aggmfinalmodify) != (orderedSet ? "w" : "r"), let m = modify[a.text(.aggmfinalmodify)] {
                parts.append("MFINALFUNC_MODIFY = \(m)")
            }
        }
        if let v = a[.minitval] { parts.append("MINITCOND = \(v)") }
        if let v = a[.sortop] { parts.append("SORTOP = \(v)") }
        if a.text(.aggkind) == "h" { parts.append("HYPOTHETICAL") }
        switch a.text(.proparallel) {
        case "s": parts.append("PARALLEL = safe")
        case "r": parts.append("PARALLEL = restricted")
        default: break
        }
        let arguments = a.text(.fullArgs).isEmpty ? "*" : a.text(.fullArgs)
        text += "CREATE AGGREGATE \(a.text(.schema)).\(a.text(.name))(\(arguments)) (\n    \(parts.joined(separator: ",\n    "))\n);\n\n"
        text += DDL.ownerStatement(kind: "AGGREGATE", name: signature, owner: a.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "AGGREGATE", name: signature, comment: a[.comment])
        // GRANT names an aggregate as a function of all its argument types.
        let asFunction = "\(a.text(.schema)).\(a.text(.name))(\(a.text(.argTypes)))"
        text += DDL.grantStatements(kind: "FUNCTION", name: asFunction, owner: a.text(.owner), grants: a[.grants], options: ddl)
        return text
    }

    func sequenceDDL(_ s: Record<C.Sequence>) -> String {
        let name = "\(s.text(.schema)).\(s.text(.name))"
        var text = DDL.header(name: s.text(.rawName), type: "SEQUENCE", schema: s[.rawSchema], owner: s[.owner])
        let unlogged = s.text(.relpersistence) == "u" ? "UNLOGGED " : ""
        text += "CREATE \(unlogged)SEQUENCE \(name)\n    \(DDL.sequenceOptions(s, includeType: true));\n\n"
        text += DDL.ownerStatement(kind: "SEQUENCE", name: name, owner: s.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "SEQUENCE", name: name, comment: s[.comment])
        text += DDL.grantStatements(kind: "SEQUENCE", name: name, owner: s.text(.owner), grants: s[.grants], options: ddl)
        return text
    }

    func relationDDL(_ r: Record<C.Relation>, _ cat: Catalog) -> String {
        let oid = r.text(.oid)
        let name = "\(r.text(.schema)).\(r.text(.name))"
        let columns = cat.columns[oid] ?? []
        var text: String
        let kind: String
        switch r.text(.relkind) {
        case "v", "m":
            kind = r.text(.relkind) == "v" ? "VIEW" : "MATERIALIZED VIEW"
            text = DDL.header(name: r.text(.rawName), type: kind, schema: r[.rawSchema], owner: r[.owner])
            var def = r.text(.viewDef)
            while def.last == ";" || def.last?.isWhitespace == true { def.removeLast() }
            let with = r[.options].map { $0.isEmpty ? "" : " WITH (\($0))" } ?? ""
            let using = kind == "MATERIALIZED VIEW" ? accessMethod(r) : ""
            if kind == "VIEW", cat.viewsNeedingConstraints.contains(oid) {
                // Valid only once a key exists (post-data): a stand-in with the same columns
                // now, replaced after the constraints, as pg_dump does.
                let placeholder = columns.map { c in
                    "NULL::\(c.text(.type))" + (c[.collation].map { " COLLATE \($0)" } ?? "") + " AS \(c.text(.name))"
                }
                text += "CREATE VIEW \(name) AS\n SELECT \(placeholder.joined(separator: ",\n    "));\n"
            } else {
                text += "CREATE \(kind) \(name)\(using)\(with) AS\n\(def)"
                text += kind == "VIEW" ? ";\n" : "\n  WITH NO DATA;\n"
            }
            for c in columns where c[.defaultExpr] != nil {
                text += "ALTER VIEW \(name) ALTER COLUMN \(c.text(.name)) SET DEFAULT \(c.text(.defaultExpr));\n"
            }
        case "f":
            kind = "FOREIGN TABLE"
            text = DDL.header(name: r.text(.rawName), type: "FOREIGN TABLE", schema: r[.rawSchema], owner: r[.owner])
            var items = columns.filter { $0.bool(.attislocal) }.map { "    " + DDL.column($0, identitySequence: nil, options: $0[.fdwOptions]) }
            items += (cat.tableConstraints[oid] ?? []).filter { $0.text(.contype) == "c" && $0.bool(.conislocal) }
                .map { "    CONSTRAINT \($0.text(.name)) \($0.text(.def))" }
            let foreign = cat.foreignTables[oid]
            text += "CREATE FOREIGN TABLE \(name) (\n\(items.joined(separator: ",\n"))\n)"
            if let parents = r[.parents], !r.bool(.relispartition) { text += "\nINHERITS (\(parents))" }
            text += "\nSERVER \(foreign?.text(.server) ?? "")"
            if let options = foreign?[.options] { text += "\nOPTIONS (\n    \(options)\n)" }
            text += ";\n"
        default:
            kind = "TABLE"
            text = DDL.header(name: r.text(.rawName), type: "TABLE", schema: r[.rawSchema], owner: r[.owner])
            let unlogged = r.text(.relpersistence) == "u" ? "UNLOGGED " : ""
            // A partition is written as a table of its own, all its columns in its own order and
            // the parent's CHECKs too, and attached after every table exists (as pg_dump does):
            // `PARTITION OF` would impose the parent's column order.
            let isPartition = r.bool(.relispartition)
            let checkRows = (cat.tableConstraints[oid] ?? []).filter {
                $0.text(.contype) == "c" && $0.bool(.convalidated) && (isPartition || $0.bool(.conislocal))
            }
            let checks = checkRows.map { "CONSTRAINT \($0.text(.name)) \($0.text(.def))" }
            let parentColumns = (r[.parentOids] ?? "").split(separator: ",").flatMap { cat.columns[String($0)] ?? [] }
            if let type = r[.ofType] {
                // A typed table takes its columns from the type; only their options are listed.
                var items: [String] = []
                for c in columns {
                    var extra = ""
                    if let expr = c[.defaultExpr], c.text(.attgenerated).isEmpty { extra += " DEFAULT \(expr)" }
                    if c.bool(.attnotnull) { extra += " NOT NULL" }
                    if !extra.isEmpty { items.append("\(c.text(.name)) WITH OPTIONS\(extra)") }
                }
                items += checks
                let body = items.isEmpty ? "" : " (\n    \(items.joined(separator: ",\n    "))\n)"
                text += "CREATE \(unlogged)TABLE \(name) OF \(type)\(body)"
            } else {
                var items = columns.filter { isPartition || $0.bool(.attislocal) }.map { c in
                    // A column the child declares and also inherits takes its generation
                    // expression from the parent (the server refuses one of the child's own).
                    let inheritedGenerated = !isPartition && c.text(.attinhcount) != "0" && !c.text(.attgenerated).isEmpty
                    return "    " + DDL.column(c, identitySequence: cat.identitySequence(table: oid, attnum: c.text(.attnum)),
                                           plainGenerated: inheritedGenerated,
                                           omitDefault: cat.laterDefaults.contains(ColumnRef(table: oid, attnum: c.text(.attnum))))
                }
                items += checks.map { "    " + $0 }
                text += "CREATE \(unlogged)TABLE \(name) (\n\(items.joined(separator: ",\n"))\n)"
                if let parents = r[.parents], !isPartition { text += "\nINHERITS (\(parents))" }
            }
            if let key = r[.partitionKey] { text += "\nPARTITION BY \(key)" }
            if r.text(.relkind) == "r" { text += accessMethod(r) }
            if let options = r[.options], !options.isEmpty { text += "\nWITH (\(options))" }
            text += ";\n"
            for c in columns where !c.bool(.attislocal) && !isPartition && r[.ofType] == nil {
                // Inherited columns that got a default of their own, or a NOT NULL only the child has.
                if let expr = c[.defaultExpr], c.text(.attgenerated).isEmpty {
                    text += "ALTER TABLE ONLY \(name) ALTER COLUMN \(c.text(.name)) SET DEFAULT \(expr);\n"
                }
                if c.bool(.attnotnull), !parentColumns.contains(where: { $0.text(.name) == c.text(.name) && $0.bool(.attnotnull) }) {
                    text += "ALTER TABLE ONLY \(name) ALTER COLUMN \(c.text(.name)) SET NOT NULL;\n"
                }
            }
            text += columnOptions(name, columns)
            switch r.text(.relreplident) {
            case "f": text += "ALTER TABLE ONLY \(name) REPLICA IDENTITY FULL;\n"
            case "n": text += "ALTER TABLE ONLY \(name) REPLICA IDENTITY NOTHING;\n"
            default: break  // "i" (an index) comes after the indexes
            }
            for c in columns {
                // An identity sequence made UNLOGGED or LOGGED apart from its table.
                if let seq = cat.identitySequence(table: oid, attnum: c.text(.attnum)), seq.text(.relpersistence) != r.text(.relpersistence) {
                    text += "ALTER SEQUENCE \(seq.text(.schema)).\(seq.text(.name)) SET \(seq.text(.relpersistence) == "u" ? "UNLOGGED" : "LOGGED");\n"
                }
            }
            for con in checkRows {
                text += DDL.commentStatement(kind: "CONSTRAINT \(con.text(.name)) ON", name: name, comment: con[.comment])
            }
        }
        if let tablespace = r[.tablespace] { text = PostgresDumper.inTablespace(tablespace, text) }
        text += "\n" + DDL.ownerStatement(kind: kind, name: name, owner: r.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: kind, name: name, comment: r[.comment])
        for c in columns {
            text += DDL.commentStatement(kind: "COLUMN", name: "\(name).\(c.text(.name))", comment: c[.comment])
        }
        text += DDL.grantStatements(kind: "TABLE", name: name, owner: r.text(.owner), grants: r[.grants], options: ddl)
        for c in columns where c[.grants] != nil {
            text += DDL.grantStatements(kind: "TABLE", name: name, owner: nil, grants: c[.grants], column: c.text(.name), options: ddl)
        }
        return text
    }

    /// Storage, compression, statistics target and options a column was given.
    func columnOptions(_ table: String, _ columns: [Record<C.Attribute>]) -> String {
        let storage = ["p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"]
        var text = ""
        for c in columns {
            let column = "ALTER TABLE ONLY \(table) ALTER COLUMN \(c.text(.name))"
            if c.text(.attstorage) != c.text(.typstorage), let s = storage[c.text(.attstorage)] { text += "\(column) SET STORAGE \(s);\n" }
            switch c.text(.attcompression) {
            case "p": text += "\(column) SET COMPRESSION pglz;\n"
            case "l": text += "\(column) SET COMPRESSION lz4;\n"
            default: break
            }
            if let target = c[.stattarget] { text += "\(column) SET STATISTICS \(target);\n" }
            if let options = c[.attoptions], !options.isEmpty { text += "\(column) SET (\(options));\n" }
        }
        return text
    }

    func accessMethod(_ r: Record<C.Relation>) -> String {
        guard let am = r[.accessMethod], am != "heap" else { return "" }
        return " USING \(am)"
    }


    /// The DDL of one pre-data object, by its kind.
    func ddl(of object: PreDataObject, _ cat: Catalog) -> String {
        switch object {
        case let .type(t): return typeDDL(t, cat)
        case let .function(f): return functionDDL(f)
        case let .aggregate(a): return aggregateDDL(a)
        case let .sequence(s): return sequenceDDL(s)
        case let .relation(r): return relationDDL(r, cat)
        case let .cast(r): return castDDL(r)
        case let .collation(r): return collationDDL(r)
        case let .operator(r): return operatorDDL(r)
        case let .textSearchParser(r): return textSearchParserDDL(r)
        case let .textSearchTemplate(r): return textSearchTemplateDDL(r)
        case let .textSearchDictionary(r): return textSearchDictionaryDDL(r)
        case let .textSearchConfiguration(r): return textSearchConfigurationDDL(r)
        case let .conversion(r): return conversionDDL(r)
        case let .operatorFamily(r): return operatorFamilyDDL(r, members: cat.familyMembers[ObjectKey(.operatorFamily, r.text(.oid))] ?? [])
        case let .operatorClass(r): return operatorClassDDL(r, members: cat.familyMembers[ObjectKey(.operatorClass, r.text(.oid))] ?? [])
        case let .accessMethod(r): return accessMethodDDL(r)
        case let .language(r): return languageDDL(r)
        case let .transform(r): return transformDDL(r)
        case let .foreignDataWrapper(r): return foreignDataWrapperDDL(r)
        case let .foreignServer(r): return foreignServerDDL(r)
        case let .userMapping(r): return userMappingDDL(r)
        case let .shellType(r): return shellTypeDDL(r)
        case let .baseType(r): return baseTypeDDL(r)
        }
    }

    func castDDL(_ c: Record<C.Cast>) -> String {
        let cast = "(\(c.text(.source)) AS \(c.text(.target)))"
        var text = DDL.header(name: "CAST \(cast)", type: "CAST", schema: nil, owner: nil)
        text += "CREATE CAST \(cast)"
        switch c.text(.castmethod) {
        case "i": text += " WITH INOUT"
        case "b": text += " WITHOUT FUNCTION"
        default: text += " WITH FUNCTION \(c.text(.function))"
        }
        switch c.text(.castcontext) {
        case "a": text += " AS ASSIGNMENT"
        case "i": text += " AS IMPLICIT"
        default: break
        }
        text += ";\n"
        text += DDL.commentStatement(kind: "CAST", name: cast, comment: c[.comment])
        return text
    }

    func collationDDL(_ c: Record<C.Collation>) -> String {
        let name = "\(c.text(.schema)).\(c.text(.name))"
        var text = DDL.header(name: c.text(.rawName), type: "COLLATION", schema: c[.rawSchema], owner: c[.owner])
        var parts: [String] = []
        switch c.text(.collprovider) {
        case "i":
            parts.append("provider = icu")
            if !c.bool(.collisdeterministic) { parts.append("deterministic = false") }
            // 15+ keep the ICU locale apart; before, it was collcollate.
            if let locale = c[.locale] ?? c[.collate] { parts.append("locale = \(locale)") }
            if let rules = c[.rules] { parts.append("rules = \(rules)") }
        case "b":
            parts.append("provider = builtin")
            if let locale = c[.locale] { parts.append("locale = \(locale)") }
        default:
            parts.append("provider = libc")
            if !c.bool(.collisdeterministic) { parts.append("deterministic = false") }
            if c[.collate] == c[.ctype], let locale = c[.collate] {
                parts.append("locale = \(locale)")
            } else {
                if let v = c[.collate] { parts.append("lc_collate = \(v)") }
                if let v = c[.ctype] { parts.append("lc_ctype = \(v)") }
            }
        }
        text += "CREATE COLLATION \(name) (\(parts.joined(separator: ", ")));\n\n"
        text += DDL.ownerStatement(kind: "COLLATION", name: name, owner: c.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "COLLATION", name: name, comment: c[.comment])
        return text
    }

    func operatorDDL(_ o: Record<C.Operator>) -> String {
        let name = "\(o.text(.schema)).\(o.text(.name))"
        let signature = "\(name)(\(o[.leftarg] ?? "NONE"), \(o[.rightarg] ?? "NONE"))"
        var text = DDL.header(name: "\(o.text(.name))(\(o[.leftarg] ?? "NONE"), \(o[.rightarg] ?? "NONE"))", type: "OPERATOR",
                              schema: o[.rawSchema], owner: o[.owner])
        var parts = ["FUNCTION = \(o.text(.function))"]
        if let v = o[.leftarg] { parts.append("LEFTARG = \(v)") }
        if let v = o[.rightarg] { parts.append("RIGHTARG = \(v)") }
        if let v = o[.commutator] { parts.append("COMMUTATOR = \(v)") }
        if let v = o[.negator] { parts.append("NEGATOR = \(v)") }
        if o.bool(.oprcanmerge) { parts.append("MERGES") }
        if o.bool(.oprcanhash) { parts.append("HASHES") }
        if let v = o[.restrict] { parts.append("RESTRICT = \(v)") }
        if let v = o[.join] { parts.append("JOIN = \(v)") }
        text += "CREATE OPERATOR \(name) (\n    \(parts.joined(separator: ",\n    "))\n);\n\n"
        text += DDL.ownerStatement(kind: "OPERATOR", name: signature, owner: o.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "OPERATOR", name: signature, comment: o[.comment])
        return text
    }

    func textSearchParserDDL(_ p: Record<C.TextSearchParser>) -> String {
        var text = DDL.header(name: p.text(.rawName), type: "TEXT SEARCH PARSER", schema: p[.rawSchema], owner: nil)
        var parts = ["START = \(p.text(.start))", "GETTOKEN = \(p.text(.gettoken))", "END = \(p.text(.end))", "LEXTYPES = \(p.text(.lextypes))"]
        if let v = p[.headline] { parts.append("HEADLINE = \(v)") }
        text += "CREATE TEXT SEARCH PARSER \(p.text(.qname)) (\n    \(parts.joined(separator: ",\n    "))\n);\n"
        text += DDL.commentStatement(kind: "TEXT SEARCH PARSER", name: p.text(.qname), comment: p[.comment])
        return text
    }

    func textSearchTemplateDDL(_ t: Record<C.TextSearchTemplate>) -> String {
        var text = DDL.header(name: t.text(.rawName), type: "TEXT SEARCH TEMPLATE", schema: t[.rawSchema], owner: nil)
        var parts: [String] = []
        if let v = t[.initFunction] { parts.append("INIT = \(v)") }
        parts.append("LEXIZE = \(t.text(.lexize))")
        text += "CREATE TEXT SEARCH TEMPLATE \(t.text(.qname)) (\n    \(parts.joined(separator: ",\n    "))\n);\n"
        text += DDL.commentStatement(kind: "TEXT SEARCH TEMPLATE", name: t.text(.qname), comment: t[.comment])
        return text
    }

    func textSearchDictionaryDDL(_ d: Record<C.TextSearchDictionary>) -> String {
        var text = DDL.header(name: d.text(.rawName), type: "TEXT SEARCH DICTIONARY", schema: d[.rawSchema], owner: d[.owner])
        var parts = ["TEMPLATE = \(d.text(.template))"]
        if let v = d[.initOptions], !v.isEmpty { parts.append(v) }
        text += "CREATE TEXT SEARCH DICTIONARY \(d.text(.qname)) (\n    \(parts.joined(separator: ",\n    "))\n);\n\n"
        text += DDL.ownerStatement(kind: "TEXT SEARCH DICTIONARY", name: d.text(.qname), owner: d.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "TEXT SEARCH DICTIONARY", name: d.text(.qname), comment: d[.comment])
        return text
    }

    func textSearchConfigurationDDL(_ c: Record<C.TextSearchConfiguration>) -> String {
        let name = c.text(.qname)
        var text = DDL.header(name: c.text(.rawName), type: "TEXT SEARCH CONFIGURATION", schema: c[.rawSchema], owner: c[.owner])
        text += "CREATE TEXT SEARCH CONFIGURATION \(name) (\n    PARSER = \(c.text(.parser)) );\n\n"
        for line in (c[.mappings] ?? "").split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            text += "ALTER TEXT SEARCH CONFIGURATION \(name)\n    ADD MAPPING FOR \(parts[0]) WITH \(parts[1]);\n\n"
        }
        text += DDL.ownerStatement(kind: "TEXT SEARCH CONFIGURATION", name: name, owner: c.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "TEXT SEARCH CONFIGURATION", name: name, comment: c[.comment])
        return text
    }

    func operatorFamilyDDL(_ f: Record<C.OperatorFamily>, members: [String]) -> String {
        let name = "\(f.text(.qname)) USING \(f.text(.am))"
        var text = DDL.header(name: f.text(.rawName), type: "OPERATOR FAMILY", schema: f[.rawSchema], owner: f[.owner])
        text += "CREATE OPERATOR FAMILY \(name);\n"
        if !members.isEmpty { text += "ALTER OPERATOR FAMILY \(name) ADD\n    \(members.joined(separator: ",\n    "));\n" }
        text += "\n" + DDL.ownerStatement(kind: "OPERATOR FAMILY", name: name, owner: f.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "OPERATOR FAMILY", name: name, comment: f[.comment])
        return text
    }

    func operatorClassDDL(_ c: Record<C.OperatorClass>, members: [String]) -> String {
        let name = "\(c.text(.qname)) USING \(c.text(.am))"
        var text = DDL.header(name: c.text(.rawName), type: "OPERATOR CLASS", schema: c[.rawSchema], owner: c[.owner])
        var items = members
        if let storage = c[.storage] { items.append("STORAGE \(storage)") }
        text += "CREATE OPERATOR CLASS \(c.text(.qname))\(c.bool(.opcdefault) ? " DEFAULT" : "") FOR TYPE \(c.text(.type)) USING \(c.text(.am))"
        text += " FAMILY \(c.text(.family)) AS\n    \(items.joined(separator: ",\n    "));\n\n"
        text += DDL.ownerStatement(kind: "OPERATOR CLASS", name: name, owner: c.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "OPERATOR CLASS", name: name, comment: c[.comment])
        return text
    }

    func conversionDDL(_ c: Record<C.Conversion>) -> String {
        let name = c.text(.qname)
        var text = DDL.header(name: c.text(.rawName), type: "CONVERSION", schema: c[.rawSchema], owner: c[.owner])
        text += "CREATE \(c.bool(.condefault) ? "DEFAULT " : "")CONVERSION \(name) FOR '\(c.text(.source))' TO '\(c.text(.target))' FROM \(c.text(.function));\n\n"
        text += DDL.ownerStatement(kind: "CONVERSION", name: name, owner: c.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "CONVERSION", name: name, comment: c[.comment])
        return text
    }

    func accessMethodDDL(_ a: Record<C.AccessMethod>) -> String {
        var text = DDL.header(name: a.text(.rawName), type: "ACCESS METHOD", schema: nil, owner: nil)
        text += "CREATE ACCESS METHOD \(a.text(.name)) TYPE \(a.text(.amtype) == "t" ? "TABLE" : "INDEX") HANDLER \(a.text(.handler));\n"
        text += DDL.commentStatement(kind: "ACCESS METHOD", name: a.text(.name), comment: a[.comment])
        return text
    }

    func languageDDL(_ l: Record<C.Language>) -> String {
        let name = l.text(.name)
        var text = DDL.header(name: l.text(.rawName), type: "PROCEDURAL LANGUAGE", schema: nil, owner: l[.owner])
        text += "CREATE \(l.bool(.lanpltrusted) ? "TRUSTED " : "")PROCEDURAL LANGUAGE \(name)"
        if let v = l[.handler] { text += " HANDLER \(v)" }
        if let v = l[.inline] { text += " INLINE \(v)" }
        if let v = l[.validator] { text += " VALIDATOR \(v)" }
        text += ";\n\n"
        text += DDL.ownerStatement(kind: "PROCEDURAL LANGUAGE", name: name, owner: l.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "LANGUAGE", name: name, comment: l[.comment])
        text += DDL.grantStatements(kind: "LANGUAGE", name: name, owner: l.text(.owner), grants: l[.grants], options: ddl)
        return text
    }

    func transformDDL(_ t: Record<C.Transform>) -> String {
        let name = "FOR \(t.text(.type)) LANGUAGE \(t.text(.language))"
        var text = DDL.header(name: name, type: "TRANSFORM", schema: nil, owner: nil)
        var parts: [String] = []
        if let v = t[.fromSql] { parts.append("FROM SQL WITH FUNCTION \(v)") }
        if let v = t[.toSql] { parts.append("TO SQL WITH FUNCTION \(v)") }
        text += "CREATE TRANSFORM \(name) (\(parts.joined(separator: ", ")));\n"
        text += DDL.commentStatement(kind: "TRANSFORM", name: name, comment: t[.comment])
        return text
    }

    func foreignDataWrapperDDL(_ w: Record<C.ForeignDataWrapper>) -> String {
        let name = w.text(.name)
        var text = DDL.header(name: w.text(.rawName), type: "FOREIGN DATA WRAPPER", schema: nil, owner: w[.owner])
        text += "CREATE FOREIGN DATA WRAPPER \(name)"
        if let v = w[.handler] { text += " HANDLER \(v)" }
        if let v = w[.validator] { text += " VALIDATOR \(v)" } else { text += " NO VALIDATOR" }
        if let v = w[.options] { text += " OPTIONS (\n    \(v)\n)" }
        text += ";\n\n"
        text += DDL.ownerStatement(kind: "FOREIGN DATA WRAPPER", name: name, owner: w.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "FOREIGN DATA WRAPPER", name: name, comment: w[.comment])
        text += DDL.grantStatements(kind: "FOREIGN DATA WRAPPER", name: name, owner: w.text(.owner), grants: w[.grants], options: ddl)
        return text
    }

    func foreignServerDDL(_ s: Record<C.ForeignServer>) -> String {
        let name = s.text(.name)
        var text = DDL.header(name: s.text(.rawName), type: "SERVER", schema: nil, owner: s[.owner])
        text += "CREATE SERVER \(name)"
        if let v = s[.type] { text += " TYPE \(v)" }
        if let v = s[.version] { text += " VERSION \(v)" }
        text += " FOREIGN DATA WRAPPER \(s.text(.wrapper))"
        if let v = s[.options] { text += " OPTIONS (\n    \(v)\n)" }
        text += ";\n\n"
        text += DDL.ownerStatement(kind: "SERVER", name: name, owner: s.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "SERVER", name: name, comment: s[.comment])
        text += DDL.grantStatements(kind: "FOREIGN SERVER", name: name, owner: s.text(.owner), grants: s[.grants], options: ddl)
        return text
    }

    func userMappingDDL(_ u: Record<C.UserMapping>) -> String {
        var text = DDL.header(name: "USER MAPPING \(u.text(.role)) SERVER \(u.text(.server))", type: "USER MAPPING", schema: nil, owner: nil)
        text += "CREATE USER MAPPING FOR \(u.text(.role)) SERVER \(u.text(.server))"
        if let v = u[.options] { text += " OPTIONS (\n    \(v)\n)" }
        return text + ";\n"
    }

    /// A base type starts as a shell, so that its input and output functions can name it.
    func shellTypeDDL(_ t: Record<C.BaseType>) -> String {
        var text = DDL.header(name: t.text(.rawName), type: "SHELL TYPE", schema: t[.rawSchema], owner: t[.owner])
        text += "CREATE TYPE \(t.text(.schema)).\(t.text(.name));\n"
        return text
    }

    func baseTypeDDL(_ t: Record<C.BaseType>) -> String {
        let name = "\(t.text(.schema)).\(t.text(.name))"
        var text = DDL.header(name: t.text(.rawName), type: "TYPE", schema: t[.rawSchema], owner: t[.owner])
        let length = t.text(.typlen) == "-1" ? "variable" : t.text(.typlen) == "-2" ? "variable" : t.text(.typlen)
        var parts = ["INTERNALLENGTH = \(length)", "INPUT = \(t.text(.input))", "OUTPUT = \(t.text(.output))"]
        let functions: [(String, C.BaseType)] = [("RECEIVE", .receive), ("SEND", .send), ("TYPMOD_IN", .typmodIn), ("TYPMOD_OUT", .typmodOut),
                                                 ("ANALYZE", .analyze), ("SUBSCRIPT", .subscript)]
        for (label, column) in functions {
            if let v = t[column] { parts.append("\(label) = \(v)") }
        }
        if let v = t[.defaultValue] { parts.append("DEFAULT = \(v)") }
        if t.bool(.typbyval) { parts.append("PASSEDBYVALUE") }
        parts.append("ALIGNMENT = " + (["c": "char", "s": "int2", "i": "int4", "d": "double"][t.text(.typalign)] ?? "int4"))
        parts.append("STORAGE = " + (["p": "plain", "e": "external", "m": "main", "x": "extended"][t.text(.typstorage)] ?? "plain"))
        if t.text(.typcategory) != "U" { parts.append("CATEGORY = '\(t.text(.typcategory))'") }
        if t.bool(.typispreferred) { parts.append("PREFERRED = true") }
        if let v = t[.element] { parts.append("ELEMENT = \(v)") }
        if t.text(.delimiter) != "','" { parts.append("DELIMITER = \(t.text(.delimiter))") }
        if t.bool(.collatable) { parts.append("COLLATABLE = true") }
        text += "CREATE TYPE \(name) (\n    \(parts.joined(separator: ",\n    "))\n);\n\n"
        text += DDL.ownerStatement(kind: "TYPE", name: name, owner: t.text(.owner), options: ddl)
        text += DDL.commentStatement(kind: "TYPE", name: name, comment: t[.comment])
        text += DDL.grantStatements(kind: "TYPE", name: name, owner: t.text(.owner), grants: t[.grants], options: ddl)
        return text
    }
}
