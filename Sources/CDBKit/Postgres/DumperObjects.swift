import Foundation

/// The objects a dump writes around the tables: large objects (definitions before the data,
/// contents after it), and at the end publications, default privileges and event triggers —
/// last, so that nothing the restore creates fires a trigger or picks up a default ACL.
extension PostgresDumper {
    /// Bytes of large-object data read (and written as one `lo_put`) at a time.
    static let largeObjectChunk = 256 * 1024

    func writeLargeObjectDefinitions(_ out: BufferedWriter, _ cat: Catalog) throws {
        for lo in cat.largeObjects {
            let oid = lo.text("oid")
            var text = DDL.header(name: oid, type: "BLOB", schema: nil, owner: lo["raw_owner"])
            text += "SELECT pg_catalog.lo_create('\(oid)');\n\n"
            text += DDL.ownerStatement(kind: "LARGE OBJECT", name: oid, owner: lo.text("owner"), options: ddl)
            text += DDL.commentStatement(kind: "LARGE OBJECT", name: oid, comment: lo["comment"])
            text += DDL.grantStatements(kind: "LARGE OBJECT", name: oid, owner: lo.text("owner"), grants: lo["grants"], options: ddl)
            try out.write(text + "\n")
        }
    }

    /// Each large object's bytes as `lo_put` calls of hex literals, read in chunks inside the
    /// snapshot (`lo_get` reads the transaction's snapshot), so memory stays flat.
    func writeLargeObjectData(_ out: BufferedWriter, _ cat: Catalog, summary: inout DumpSummary) throws {
        guard !cat.largeObjects.isEmpty else { return }
        try out.write(DumpFormat.header(name: "BLOBS", type: "BLOBS", schema: nil, owner: nil, data: true))
        for lo in cat.largeObjects {
            let oid = lo.text("oid")
            var offset: Int64 = 0
            while true {
                let rows = try connection.query(
                    "SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::pg_catalog.int8, \(Self.largeObjectChunk)) AS data",
                    [oid, String(offset)], context: "reading large object \(oid)").rows()
                let hex = rows.first?.text("data") ?? ""
                // "\x" and two digits per byte.
                let bytes = max(0, (hex.utf8.count - 2) / 2)
                if bytes == 0 { break }
                try out.write("SELECT pg_catalog.lo_put('\(oid)', \(offset), '\(hex)');\n")
                offset += Int64(bytes)
                if bytes < Self.largeObjectChunk { break }
            }
            summary.largeObjects += 1
            summary.largeObjectBytes += offset
        }
        try out.write("\n")
    }

    func writeTrailingObjects(_ out: BufferedWriter, _ cat: Catalog) throws {
        try writePublications(out, cat)
        try writeSubscriptions(out, cat)
        for label in cat.securityLabels {
            try out.write("SECURITY LABEL FOR \(label.text("provider")) ON \(label.text("objtype")) \(label.text("objname")) IS \(label.text("label"));\n\n")
        }
        if options.privileges { try writeDefaultPrivileges(out, cat) }
        try writeEventTriggers(out, cat)
    }

    private func writePublications(_ out: BufferedWriter, _ cat: Catalog) throws {
        for p in cat.publications {
            let name = p.text("name")
            var text = DDL.header(name: p.text("raw_name"), type: "PUBLICATION", schema: nil, owner: p["owner"])
            var actions: [String] = []
            if p.bool("pubinsert") { actions.append("insert") }
            if p.bool("pubupdate") { actions.append("update") }
            if p.bool("pubdelete") { actions.append("delete") }
            if p.bool("pubtruncate") { actions.append("truncate") }
            var with = ["publish = '\(actions.joined(separator: ", "))'"]
            if p.bool("pubviaroot") { with.append("publish_via_partition_root = true") }
            if p["pubgencols"] == "s" { with.append("publish_generated_columns = stored") }
            text += "CREATE PUBLICATION \(name)\(p.bool("puballtables") ? " FOR ALL TABLES" : "") WITH (\(with.joined(separator: ", ")));\n\n"
            text += DDL.ownerStatement(kind: "PUBLICATION", name: name, owner: p.text("owner"), options: ddl)
            text += DDL.commentStatement(kind: "PUBLICATION", name: name, comment: p["comment"])
            for schema in cat.publicationSchemas[p.text("oid")] ?? [] {
                text += "\nALTER PUBLICATION \(name) ADD TABLES IN SCHEMA \(schema.text("schema"));\n"
            }
            for table in cat.publicationTables[p.text("oid")] ?? [] {
                var item = "ONLY \(table.text("tbl"))"
                if let columns = table["columns"] { item += " (\(columns))" }
                if let filter = table["filter"] { item += " WHERE (\(filter))" }
                text += "\nALTER PUBLICATION \(name) ADD TABLE \(item);\n"
            }
            try out.write(text + "\n")
        }
    }

    /// As pg_dump writes them: not connected, so the restore neither reaches the publisher nor
    /// creates a slot; the subscription comes back disabled.
    private func writeSubscriptions(_ out: BufferedWriter, _ cat: Catalog) throws {
        for s in cat.subscriptions {
            let name = s.text("name")
            var text = DDL.header(name: s.text("raw_name"), type: "SUBSCRIPTION", schema: nil, owner: s["owner"])
            var with = ["connect = false", "slot_name = \(s["slot"] ?? "NONE")"]
            if let v = s["binary"] { with.append("binary = \(v == "true")") }
            if let v = s["streaming"] {
                with.append("streaming = " + (["t": "on", "true": "on", "p": "parallel"][v] ?? "off"))
            }
            if let v = s["two_phase"], v != "d" { with.append("two_phase = on") }
            if let v = s["disable_on_error"] { with.append("disable_on_error = \(v == "true")") }
            if let v = s["origin"] { with.append("origin = \(v)") }
            if let v = s["password_required"] { with.append("password_required = \(v == "true")") }
            if let v = s["run_as_owner"] { with.append("run_as_owner = \(v == "true")") }
            if let v = s["failover"] { with.append("failover = \(v == "true")") }
            if let v = s["synchronous_commit"], v != "'off'" { with.append("synchronous_commit = \(v)") }
            text += "CREATE SUBSCRIPTION \(name) CONNECTION \(s.text("conninfo")) PUBLICATION \(s.text("publications")) WITH (\(with.joined(separator: ", ")));\n\n"
            text += DDL.ownerStatement(kind: "SUBSCRIPTION", name: name, owner: s.text("owner"), options: ddl)
            text += DDL.commentStatement(kind: "SUBSCRIPTION", name: name, comment: s["comment"])
            try out.write(text + "\n")
        }
    }

    private func writeDefaultPrivileges(_ out: BufferedWriter, _ cat: Catalog) throws {
        let kinds = ["r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS", "L": "LARGE OBJECTS"]
        for d in cat.defaultPrivileges {
            guard let kind = kinds[d.text("objtype")] else { continue }
            let role = d.text("role")
            let scope = "FOR ROLE \(role)" + (d["schema"].map { " IN SCHEMA \($0)" } ?? "")
            var text = DDL.header(name: "DEFAULT PRIVILEGES FOR \(kind)", type: "DEFAULT ACL", schema: d["schema"], owner: role)
            // A role-wide entry replaces the built-in defaults: start from nothing. One for a
            // schema only adds to them.
            if d["schema"] == nil {
                text += "ALTER DEFAULT PRIVILEGES \(scope) REVOKE ALL ON \(kind) FROM PUBLIC;\n"
                text += "ALTER DEFAULT PRIVILEGES \(scope) REVOKE ALL ON \(kind) FROM \(role);\n"
            }
            for (grantee, privileges, grantable) in DDL.groupedGrants(d["grants"] ?? "") {
                text += "ALTER DEFAULT PRIVILEGES \(scope) GRANT \(privileges.joined(separator: ",")) ON \(kind) TO \(grantee)\(grantable ? " WITH GRANT OPTION" : "");\n"
            }
            try out.write(text + "\n")
        }
    }

    private func writeEventTriggers(_ out: BufferedWriter, _ cat: Catalog) throws {
        for t in cat.eventTriggers {
            let name = t.text("name")
            var text = DDL.header(name: t.text("raw_name"), type: "EVENT TRIGGER", schema: nil, owner: t["owner"])
            text += "CREATE EVENT TRIGGER \(name) ON \(t.text("event"))"
            if let tags = t["tags"] { text += "\n         WHEN TAG IN (\(tags))" }
            text += "\n   EXECUTE FUNCTION \(t.text("function"))();\n"
            switch t.text("evtenabled") {
            case "D": text += "\nALTER EVENT TRIGGER \(name) DISABLE;\n"
            case "R": text += "\nALTER EVENT TRIGGER \(name) ENABLE REPLICA;\n"
            case "A": text += "\nALTER EVENT TRIGGER \(name) ENABLE ALWAYS;\n"
            default: break
            }
            text += "\n" + DDL.ownerStatement(kind: "EVENT TRIGGER", name: name, owner: t.text("owner"), options: ddl)
            text += DDL.commentStatement(kind: "EVENT TRIGGER", name: name, comment: t["comment"])
            try out.write(text + "\n")
        }
    }
}

// MARK: - Pre-data objects beside types and routines

extension PostgresDumper {
    /// The DDL of one of the other pre-data objects, by its key's kind letter.
    func otherDDL(_ key: String, _ r: Row, _ cat: Catalog) -> String {
        switch key.first {
        case "k": return castDDL(r)
        case "l": return collationDDL(r)
        case "o": return operatorDDL(r)
        case "P": return textSearchParserDDL(r)
        case "T": return textSearchTemplateDDL(r)
        case "D": return textSearchDictionaryDDL(r)
        case "G": return textSearchConfigurationDDL(r)
        case "v": return conversionDDL(r)
        case "f": return operatorFamilyDDL(r, members: cat.familyMembers["f:" + r.text("oid")] ?? [])
        case "q": return operatorClassDDL(r, members: cat.familyMembers["q:" + r.text("oid")] ?? [])
        case "A": return accessMethodDDL(r)
        case "L": return languageDDL(r)
        case "X": return transformDDL(r)
        case "W": return foreignDataWrapperDDL(r)
        case "S": return foreignServerDDL(r)
        case "U": return userMappingDDL(r)
        case "b": return shellTypeDDL(r)
        case "B": return baseTypeDDL(r)
        default: return ""
        }
    }

    private func castDDL(_ c: Row) -> String {
        let cast = "(\(c.text("source")) AS \(c.text("target")))"
        var text = DDL.header(name: "CAST \(cast)", type: "CAST", schema: nil, owner: nil)
        text += "CREATE CAST \(cast)"
        switch c.text("castmethod") {
        case "i": text += " WITH INOUT"
        case "b": text += " WITHOUT FUNCTION"
        default: text += " WITH FUNCTION \(c.text("function"))"
        }
        switch c.text("castcontext") {
        case "a": text += " AS ASSIGNMENT"
        case "i": text += " AS IMPLICIT"
        default: break
        }
        text += ";\n"
        text += DDL.commentStatement(kind: "CAST", name: cast, comment: c["comment"])
        return text
    }

    private func collationDDL(_ c: Row) -> String {
        let name = "\(c.text("schema")).\(c.text("name"))"
        var text = DDL.header(name: c.text("raw_name"), type: "COLLATION", schema: c["raw_schema"], owner: c["owner"])
        var parts: [String] = []
        switch c.text("collprovider") {
        case "i":
            parts.append("provider = icu")
            if !c.bool("collisdeterministic") { parts.append("deterministic = false") }
            // 15+ keep the ICU locale apart; before, it was collcollate.
            if let locale = c["locale"] ?? c["collate"] { parts.append("locale = \(locale)") }
            if let rules = c["rules"] { parts.append("rules = \(rules)") }
        case "b":
            parts.append("provider = builtin")
            if let locale = c["locale"] { parts.append("locale = \(locale)") }
        default:
            parts.append("provider = libc")
            if !c.bool("collisdeterministic") { parts.append("deterministic = false") }
            if c["collate"] == c["ctype"], let locale = c["collate"] {
                parts.append("locale = \(locale)")
            } else {
                if let v = c["collate"] { parts.append("lc_collate = \(v)") }
                if let v = c["ctype"] { parts.append("lc_ctype = \(v)") }
            }
        }
        text += "CREATE COLLATION \(name) (\(parts.joined(separator: ", ")));\n\n"
        text += DDL.ownerStatement(kind: "COLLATION", name: name, owner: c.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "COLLATION", name: name, comment: c["comment"])
        return text
    }

    private func operatorDDL(_ o: Row) -> String {
        let name = "\(o.text("schema")).\(o.text("name"))"
        let signature = "\(name)(\(o["leftarg"] ?? "NONE"), \(o["rightarg"] ?? "NONE"))"
        var text = DDL.header(name: "\(o.text("name"))(\(o["leftarg"] ?? "NONE"), \(o["rightarg"] ?? "NONE"))", type: "OPERATOR",
                              schema: o["raw_schema"], owner: o["owner"])
        var parts = ["FUNCTION = \(o.text("function"))"]
        if let v = o["leftarg"] { parts.append("LEFTARG = \(v)") }
        if let v = o["rightarg"] { parts.append("RIGHTARG = \(v)") }
        if let v = o["commutator"] { parts.append("COMMUTATOR = \(v)") }
        if let v = o["negator"] { parts.append("NEGATOR = \(v)") }
        if o.bool("oprcanmerge") { parts.append("MERGES") }
        if o.bool("oprcanhash") { parts.append("HASHES") }
        if let v = o["restrict"] { parts.append("RESTRICT = \(v)") }
        if let v = o["join"] { parts.append("JOIN = \(v)") }
        text += "CREATE OPERATOR \(name) (\n    \(parts.joined(separator: ",\n    "))\n);\n\n"
        text += DDL.ownerStatement(kind: "OPERATOR", name: signature, owner: o.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "OPERATOR", name: signature, comment: o["comment"])
        return text
    }

    private func textSearchParserDDL(_ p: Row) -> String {
        var text = DDL.header(name: p.text("raw_name"), type: "TEXT SEARCH PARSER", schema: p["raw_schema"], owner: nil)
        var parts = ["START = \(p.text("start"))", "GETTOKEN = \(p.text("gettoken"))", "END = \(p.text("end_"))", "LEXTYPES = \(p.text("lextypes"))"]
        if let v = p["headline"] { parts.append("HEADLINE = \(v)") }
        text += "CREATE TEXT SEARCH PARSER \(p.text("qname")) (\n    \(parts.joined(separator: ",\n    "))\n);\n"
        text += DDL.commentStatement(kind: "TEXT SEARCH PARSER", name: p.text("qname"), comment: p["comment"])
        return text
    }

    private func textSearchTemplateDDL(_ t: Row) -> String {
        var text = DDL.header(name: t.text("raw_name"), type: "TEXT SEARCH TEMPLATE", schema: t["raw_schema"], owner: nil)
        var parts: [String] = []
        if let v = t["init"] { parts.append("INIT = \(v)") }
        parts.append("LEXIZE = \(t.text("lexize"))")
        text += "CREATE TEXT SEARCH TEMPLATE \(t.text("qname")) (\n    \(parts.joined(separator: ",\n    "))\n);\n"
        text += DDL.commentStatement(kind: "TEXT SEARCH TEMPLATE", name: t.text("qname"), comment: t["comment"])
        return text
    }

    private func textSearchDictionaryDDL(_ d: Row) -> String {
        var text = DDL.header(name: d.text("raw_name"), type: "TEXT SEARCH DICTIONARY", schema: d["raw_schema"], owner: d["owner"])
        var parts = ["TEMPLATE = \(d.text("template"))"]
        if let v = d["init_options"], !v.isEmpty { parts.append(v) }
        text += "CREATE TEXT SEARCH DICTIONARY \(d.text("qname")) (\n    \(parts.joined(separator: ",\n    "))\n);\n\n"
        text += DDL.ownerStatement(kind: "TEXT SEARCH DICTIONARY", name: d.text("qname"), owner: d.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "TEXT SEARCH DICTIONARY", name: d.text("qname"), comment: d["comment"])
        return text
    }

    private func textSearchConfigurationDDL(_ c: Row) -> String {
        let name = c.text("qname")
        var text = DDL.header(name: c.text("raw_name"), type: "TEXT SEARCH CONFIGURATION", schema: c["raw_schema"], owner: c["owner"])
        text += "CREATE TEXT SEARCH CONFIGURATION \(name) (\n    PARSER = \(c.text("parser")) );\n\n"
        for line in (c["mappings"] ?? "").split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            text += "ALTER TEXT SEARCH CONFIGURATION \(name)\n    ADD MAPPING FOR \(parts[0]) WITH \(parts[1]);\n\n"
        }
        text += DDL.ownerStatement(kind: "TEXT SEARCH CONFIGURATION", name: name, owner: c.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "TEXT SEARCH CONFIGURATION", name: name, comment: c["comment"])
        return text
    }

    private func operatorFamilyDDL(_ f: Row, members: [String]) -> String {
        let name = "\(f.text("qname")) USING \(f.text("am"))"
        var text = DDL.header(name: f.text("raw_name"), type: "OPERATOR FAMILY", schema: f["raw_schema"], owner: f["owner"])
        text += "CREATE OPERATOR FAMILY \(name);\n"
        if !members.isEmpty { text += "ALTER OPERATOR FAMILY \(name) ADD\n    \(members.joined(separator: ",\n    "));\n" }
        text += "\n" + DDL.ownerStatement(kind: "OPERATOR FAMILY", name: name, owner: f.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "OPERATOR FAMILY", name: name, comment: f["comment"])
        return text
    }

    private func operatorClassDDL(_ c: Row, members: [String]) -> String {
        let name = "\(c.text("qname")) USING \(c.text("am"))"
        var text = DDL.header(name: c.text("raw_name"), type: "OPERATOR CLASS", schema: c["raw_schema"], owner: c["owner"])
        var items = members
        if let storage = c["storage"] { items.append("STORAGE \(storage)") }
        text += "CREATE OPERATOR CLASS \(c.text("qname"))\(c.bool("opcdefault") ? " DEFAULT" : "") FOR TYPE \(c.text("type")) USING \(c.text("am"))"
        text += " FAMILY \(c.text("family")) AS\n    \(items.joined(separator: ",\n    "));\n\n"
        text += DDL.ownerStatement(kind: "OPERATOR CLASS", name: name, owner: c.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "OPERATOR CLASS", name: name, comment: c["comment"])
        return text
    }

    private func conversionDDL(_ c: Row) -> String {
        let name = c.text("qname")
        var text = DDL.header(name: c.text("raw_name"), type: "CONVERSION", schema: c["raw_schema"], owner: c["owner"])
        text += "CREATE \(c.bool("condefault") ? "DEFAULT " : "")CONVERSION \(name) FOR '\(c.text("source"))' TO '\(c.text("target"))' FROM \(c.text("function"));\n\n"
        text += DDL.ownerStatement(kind: "CONVERSION", name: name, owner: c.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "CONVERSION", name: name, comment: c["comment"])
        return text
    }

    private func accessMethodDDL(_ a: Row) -> String {
        var text = DDL.header(name: a.text("raw_name"), type: "ACCESS METHOD", schema: nil, owner: nil)
        text += "CREATE ACCESS METHOD \(a.text("name")) TYPE \(a.text("amtype") == "t" ? "TABLE" : "INDEX") HANDLER \(a.text("handler"));\n"
        text += DDL.commentStatement(kind: "ACCESS METHOD", name: a.text("name"), comment: a["comment"])
        return text
    }

    private func languageDDL(_ l: Row) -> String {
        let name = l.text("name")
        var text = DDL.header(name: l.text("raw_name"), type: "PROCEDURAL LANGUAGE", schema: nil, owner: l["owner"])
        text += "CREATE \(l.bool("lanpltrusted") ? "TRUSTED " : "")PROCEDURAL LANGUAGE \(name)"
        if let v = l["handler"] { text += " HANDLER \(v)" }
        if let v = l["inline"] { text += " INLINE \(v)" }
        if let v = l["validator"] { text += " VALIDATOR \(v)" }
        text += ";\n\n"
        text += DDL.ownerStatement(kind: "PROCEDURAL LANGUAGE", name: name, owner: l.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "LANGUAGE", name: name, comment: l["comment"])
        text += DDL.grantStatements(kind: "LANGUAGE", name: name, owner: l.text("owner"), grants: l["grants"], options: ddl)
        return text
    }

    private func transformDDL(_ t: Row) -> String {
        let name = "FOR \(t.text("type")) LANGUAGE \(t.text("language"))"
        var text = DDL.header(name: name, type: "TRANSFORM", schema: nil, owner: nil)
        var parts: [String] = []
        if let v = t["from_sql"] { parts.append("FROM SQL WITH FUNCTION \(v)") }
        if let v = t["to_sql"] { parts.append("TO SQL WITH FUNCTION \(v)") }
        text += "CREATE TRANSFORM \(name) (\(parts.joined(separator: ", ")));\n"
        text += DDL.commentStatement(kind: "TRANSFORM", name: name, comment: t["comment"])
        return text
    }

    private func foreignDataWrapperDDL(_ w: Row) -> String {
        let name = w.text("name")
        var text = DDL.header(name: w.text("raw_name"), type: "FOREIGN DATA WRAPPER", schema: nil, owner: w["owner"])
        text += "CREATE FOREIGN DATA WRAPPER \(name)"
        if let v = w["handler"] { text += " HANDLER \(v)" }
        if let v = w["validator"] { text += " VALIDATOR \(v)" } else { text += " NO VALIDATOR" }
        if let v = w["options"] { text += " OPTIONS (\n    \(v)\n)" }
        text += ";\n\n"
        text += DDL.ownerStatement(kind: "FOREIGN DATA WRAPPER", name: name, owner: w.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "FOREIGN DATA WRAPPER", name: name, comment: w["comment"])
        text += DDL.grantStatements(kind: "FOREIGN DATA WRAPPER", name: name, owner: w.text("owner"), grants: w["grants"], options: ddl)
        return text
    }

    private func foreignServerDDL(_ s: Row) -> String {
        let name = s.text("name")
        var text = DDL.header(name: s.text("raw_name"), type: "SERVER", schema: nil, owner: s["owner"])
        text += "CREATE SERVER \(name)"
        if let v = s["type"] { text += " TYPE \(v)" }
        if let v = s["version"] { text += " VERSION \(v)" }
        text += " FOREIGN DATA WRAPPER \(s.text("wrapper"))"
        if let v = s["options"] { text += " OPTIONS (\n    \(v)\n)" }
        text += ";\n\n"
        text += DDL.ownerStatement(kind: "SERVER", name: name, owner: s.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "SERVER", name: name, comment: s["comment"])
        text += DDL.grantStatements(kind: "FOREIGN SERVER", name: name, owner: s.text("owner"), grants: s["grants"], options: ddl)
        return text
    }

    private func userMappingDDL(_ u: Row) -> String {
        var text = DDL.header(name: "USER MAPPING \(u.text("role")) SERVER \(u.text("server"))", type: "USER MAPPING", schema: nil, owner: nil)
        text += "CREATE USER MAPPING FOR \(u.text("role")) SERVER \(u.text("server"))"
        if let v = u["options"] { text += " OPTIONS (\n    \(v)\n)" }
        return text + ";\n"
    }

    /// A base type starts as a shell, so that its input and output functions can name it.
    private func shellTypeDDL(_ t: Row) -> String {
        var text = DDL.header(name: t.text("raw_name"), type: "SHELL TYPE", schema: t["raw_schema"], owner: t["owner"])
        text += "CREATE TYPE \(t.text("schema")).\(t.text("name"));\n"
        return text
    }

    private func baseTypeDDL(_ t: Row) -> String {
        let name = "\(t.text("schema")).\(t.text("name"))"
        var text = DDL.header(name: t.text("raw_name"), type: "TYPE", schema: t["raw_schema"], owner: t["owner"])
        let length = t.text("typlen") == "-1" ? "variable" : t.text("typlen") == "-2" ? "variable" : t.text("typlen")
        var parts = ["INTERNALLENGTH = \(length)", "INPUT = \(t.text("input"))", "OUTPUT = \(t.text("output"))"]
        for (label, column) in [("RECEIVE", "receive"), ("SEND", "send"), ("TYPMOD_IN", "typmod_in"), ("TYPMOD_OUT", "typmod_out"),
                                ("ANALYZE", "analyze"), ("SUBSCRIPT", "subscript")] {
            if let v = t[column] { parts.append("\(label) = \(v)") }
        }
        if let v = t["default_value"] { parts.append("DEFAULT = \(v)") }
        if t.bool("typbyval") { parts.append("PASSEDBYVALUE") }
        parts.append("ALIGNMENT = " + (["c": "char", "s": "int2", "i": "int4", "d": "double"][t.text("typalign")] ?? "int4"))
        parts.append("STORAGE = " + (["p": "plain", "e": "external", "m": "main", "x": "extended"][t.text("typstorage")] ?? "plain"))
        if t.text("typcategory") != "U" { parts.append("CATEGORY = '\(t.text("typcategory"))'") }
        if t.bool("typispreferred") { parts.append("PREFERRED = true") }
        if let v = t["element"] { parts.append("ELEMENT = \(v)") }
        if t.text("delimiter") != "','" { parts.append("DELIMITER = \(t.text("delimiter"))") }
        if t.bool("collatable") { parts.append("COLLATABLE = true") }
        text += "CREATE TYPE \(name) (\n    \(parts.joined(separator: ",\n    "))\n);\n\n"
        text += DDL.ownerStatement(kind: "TYPE", name: name, owner: t.text("owner"), options: ddl)
        text += DDL.commentStatement(kind: "TYPE", name: name, comment: t["comment"])
        text += DDL.grantStatements(kind: "TYPE", name: name, owner: t.text("owner"), grants: t["grants"], options: ddl)
        return text
    }
}
