import FoundationEssentials
import Glibc

/// The objects a dump writes around the tables: large objects (definitions before the data,
/// contents after it), and at the end publications, default privileges and event triggers —
/// last, so that nothing the restore creates fires a trigger or picks up a default ACL.
extension PostgresDumper {
    /// Bytes of large-object data read (and written as one `lo_put`) at a time.
    static let largeObjectChunk = 256 * 1024

    func writeLargeObjectDefinitions(_ out: BufferedWriter, _ cat: Catalog) throws {
        for lo in cat.largeObjects {
            let oid = lo.text(.oid)
            var text = DDL.header(name: oid, type: "BLOB", schema: nil, owner: lo[.rawOwner])
            text += "SELECT pg_catalog.lo_create('\(oid)');\n\n"
            text += DDL.ownerStatement(kind: "LARGE OBJECT", name: oid, owner: lo.text(.owner), options: ddl)
            text += DDL.commentStatement(kind: "LARGE OBJECT", name: oid, comment: lo[.comment])
            text += DDL.grantStatements(kind: "LARGE OBJECT", name: oid, owner: lo.text(.owner), grants: lo[.grants], options: ddl)
            try out.write(text + "\n")
        }
    }

    /// Each large object's bytes as `lo_put` calls of hex literals, read in chunks inside the
    /// snapshot (`lo_get` reads the transaction's snapshot), so memory stays flat.
    func writeLargeObjectData(_ out: BufferedWriter, _ cat: Catalog, summary: inout DumpSummary) throws {
        guard !cat.largeObjects.isEmpty else { return }
        try out.write(DumpFormat.header(name: "BLOBS", type: "BLOBS", schema: nil, owner: nil, data: true))
        for lo in cat.largeObjects {
            let oid = lo.text(.oid)
            var offset: Int64 = 0
            while true {
                let hex = try connection.query(
                    "SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::pg_catalog.int8, \(Self.largeObjectChunk)) AS data",
                    [oid, String(offset)], context: "reading large object \(oid)").scalar ?? ""
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
            try out.write("SECURITY LABEL FOR \(label.text(.provider)) ON \(label.text(.objtype)) \(label.text(.objname)) IS \(label.text(.label));\n\n")
        }
        if options.privileges { try writeDefaultPrivileges(out, cat) }
        try writeEventTriggers(out, cat)
    }

    private func writePublications(_ out: BufferedWriter, _ cat: Catalog) throws {
        for p in cat.publications {
            let name = p.text(.name)
            var text = DDL.header(name: p.text(.rawName), type: "PUBLICATION", schema: nil, owner: p[.owner])
            var actions: [String] = []
            if p.bool(.pubinsert) { actions.append("insert") }
            if p.bool(.pubupdate) { actions.append("update") }
            if p.bool(.pubdelete) { actions.append("delete") }
            if p.bool(.pubtruncate) { actions.append("truncate") }
            var with = ["publish = '\(actions.joined(separator: ", "))'"]
            if p.bool(.pubviaroot) { with.append("publish_via_partition_root = true") }
            if p[.pubgencols] == "s" { with.append("publish_generated_columns = stored") }
            text += "CREATE PUBLICATION \(name)\(p.bool(.puballtables) ? " FOR ALL TABLES" : "") WITH (\(with.joined(separator: ", ")));\n\n"
            text += DDL.ownerStatement(kind: "PUBLICATION", name: name, owner: p.text(.owner), options: ddl)
            text += DDL.commentStatement(kind: "PUBLICATION", name: name, comment: p[.comment])
            for schema in cat.publicationSchemas[p.text(.oid)] ?? [] {
                text += "\nALTER PUBLICATION \(name) ADD TABLES IN SCHEMA \(schema.text(.schema));\n"
            }
            for table in cat.publicationTables[p.text(.oid)] ?? [] {
                var item = "ONLY \(table.text(.tbl))"
                if let columns = table[.columns] { item += " (\(columns))" }
                if let filter = table[.filter] { item += " WHERE (\(filter))" }
                text += "\nALTER PUBLICATION \(name) ADD TABLE \(item);\n"
            }
            try out.write(text + "\n")
        }
    }

    /// As pg_dump writes them: not connected, so the restore neither reaches the publisher nor
    /// creates a slot; the subscription comes back disabled.
    private func writeSubscriptions(_ out: BufferedWriter, _ cat: Catalog) throws {
        for s in cat.subscriptions {
            let name = s.text(.name)
            var text = DDL.header(name: s.text(.rawName), type: "SUBSCRIPTION", schema: nil, owner: s[.owner])
            var with = ["connect = false", "slot_name = \(s[.slot] ?? "NONE")"]
            if let v = s[.binary] { with.append("binary = \(v == "true")") }
            if let v = s[.streaming] {
                with.append("streaming = " + (["t": "on", "true": "on", "p": "parallel"][v] ?? "off"))
            }
            if let v = s[.twoPhase], v != "d" { with.append("two_phase = on") }
            if let v = s[.disableOnError] { with.append("disable_on_error = \(v == "true")") }
            if let v = s[.origin] { with.append("origin = \(v)") }
            if let v = s[.passwordRequired] { with.append("password_required = \(v == "true")") }
            if let v = s[.runAsOwner] { with.append("run_as_owner = \(v == "true")") }
            if let v = s[.failover] { with.append("failover = \(v == "true")") }
            if let v = s[.synchronousCommit], v != "'off'" { with.append("synchronous_commit = \(v)") }
            text += "CREATE SUBSCRIPTION \(name) CONNECTION \(s.text(.conninfo)) PUBLICATION \(s.text(.publications)) WITH (\(with.joined(separator: ", ")));\n\n"
            text += DDL.ownerStatement(kind: "SUBSCRIPTION", name: name, owner: s.text(.owner), options: ddl)
            text += DDL.commentStatement(kind: "SUBSCRIPTION", name: name, comment: s[.comment])
            try out.write(text + "\n")
        }
    }

    private func writeDefaultPrivileges(_ out: BufferedWriter, _ cat: Catalog) throws {
        let kinds = ["r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS", "L": "LARGE OBJECTS"]
        for d in cat.defaultPrivileges {
            guard let kind = kinds[d.text(.objtype)] else { continue }
            let role = d.text(.role)
            let scope = "FOR ROLE \(role)" + (d[.schema].map { " IN SCHEMA \($0)" } ?? "")
            var text = DDL.header(name: "DEFAULT PRIVILEGES FOR \(kind)", type: "DEFAULT ACL", schema: d[.schema], owner: role)
            // A role-wide entry replaces the built-in defaults: start from nothing. One for a
            // schema only adds to them.
            if d[.schema] == nil {
                text += "ALTER DEFAULT PRIVILEGES \(scope) REVOKE ALL ON \(kind) FROM PUBLIC;\n"
                text += "ALTER DEFAULT PRIVILEGES \(scope) REVOKE ALL ON \(kind) FROM \(role);\n"
            }
            for (grantee, privileges, grantable) in DDL.groupedGrants(d[.grants] ?? "") {
                text += "ALTER DEFAULT PRIVILEGES \(scope) GRANT \(privileges.joined(separator: ",")) ON \(kind) TO \(grantee)\(grantable ? " WITH GRANT OPTION" : "");\n"
            }
            try out.write(text + "\n")
        }
    }

    private func writeEventTriggers(_ out: BufferedWriter, _ cat: Catalog) throws {
        for t in cat.eventTriggers {
            let name = t.text(.name)
            var text = DDL.header(name: t.text(.rawName), type: "EVENT TRIGGER", schema: nil, owner: t[.owner])
            text += "CREATE EVENT TRIGGER \(name) ON \(t.text(.event))"
            if let tags = t[.tags] { text += "\n         WHEN TAG IN (\(tags))" }
            text += "\n   EXECUTE FUNCTION \(t.text(.function))();\n"
            switch t.text(.evtenabled) {
            case "D": text += "\nALTER EVENT TRIGGER \(name) DISABLE;\n"
            case "R": text += "\nALTER EVENT TRIGGER \(name) ENABLE REPLICA;\n"
            case "A": text += "\nALTER EVENT TRIGGER \(name) ENABLE ALWAYS;\n"
            default: break
            }
            text += "\n" + DDL.ownerStatement(kind: "EVENT TRIGGER", name: name, owner: t.text(.owner), options: ddl)
            text += DDL.commentStatement(kind: "EVENT TRIGGER", name: name, comment: t[.comment])
            try out.write(text + "\n")
        }
    }
}
