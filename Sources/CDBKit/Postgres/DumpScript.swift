import FoundationEssentials
import Glibc

/// Renders the DDL pieces of a dump from catalog rows. Pure functions of the rows: no I/O.
enum DDL {
    struct Options {
        var owners = true
        var privileges = true
    }

    /// pg_dump-style object header comment (DumpFormat owns its layout).
    static func header(name: String, type: String, schema: String?, owner: String?) -> String {
        DumpFormat.header(name: name, type: type, schema: schema, owner: owner)
    }

    static func ownerStatement(kind: String, name: String, owner: String, options: Options) -> String {
        options.owners && !owner.isEmpty ? "ALTER \(kind) \(name) OWNER TO \(owner);\n" : ""
    }

    static func commentStatement(kind: String, name: String, comment: String?) -> String {
        guard let comment, !comment.isEmpty else { return "" }
        return "\nCOMMENT ON \(kind) \(name) IS \(comment);\n"
    }

    /// REVOKE/GRANT statements that recreate an ACL exactly, from `grantee\tprivilege\tgrantable` lines.
    /// `owner` nil means a column ACL (no implicit owner entry to revoke).
    static func grantStatements(kind: String, name: String, owner: String?, grants: String?, column: String? = nil,
                                options: Options) -> String {
        guard options.privileges, let grants, !(grants.isEmpty && owner == nil) else { return "" }
        var text = "\n"
        if let owner {
            text += "REVOKE ALL ON \(kind) \(name) FROM PUBLIC;\n"
            if !owner.isEmpty { text += "REVOKE ALL ON \(kind) \(name) FROM \(owner);\n" }
        }
        for (grantee, privileges, grantable) in groupedGrants(grants) {
            let list = column.map { c in privileges.map { "\($0) (\(c))" } } ?? privileges
            text += "GRANT \(list.joined(separator: ",")) ON \(kind) \(name) TO \(grantee)\(grantable ? " WITH GRANT OPTION" : "");\n"
        }
        return text
    }

    /// `grantee\tprivilege\tgrantable` lines grouped per grantee and grant option, in the ACL's order.
    static func groupedGrants(_ grants: String) -> [(grantee: String, privileges: [String], grantable: Bool)] {
        var order: [String] = []
        var privileges: [String: [String]] = [:]
        for line in grants.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { continue }
            let key = parts[0] + "\t" + parts[2]
            if privileges[key] == nil { order.append(key) }
            privileges[key, default: []].append(parts[1])
        }
        return order.map { key in
            let parts = key.split(separator: "\t").map(String.init)
            return (parts[0], privileges[key]!, parts[1] == "true")
        }
    }

    static func sequenceOptions(_ row: Record<CatalogColumns.Sequence>, includeType: Bool) -> String {
        var parts: [String] = []
        if includeType { parts.append("AS \(row.text(.type))") }
        parts.append("START WITH \(row.text(.seqstart))")
        parts.append("INCREMENT BY \(row.text(.seqincrement))")
        parts.append("MINVALUE \(row.text(.seqmin))")
        parts.append("MAXVALUE \(row.text(.seqmax))")
        parts.append("CACHE \(row.text(.seqcache))")
        parts.append(row.bool(.seqcycle) ? "CYCLE" : "NO CYCLE")
        return parts.joined(separator: "\n    ")
    }

    /// One column of CREATE TABLE; `plainGenerated` leaves out a generation expression.
    static func column(_ c: Record<CatalogColumns.Attribute>, identitySequence: Record<CatalogColumns.Sequence>?, plainGenerated: Bool = false, omitDefault: Bool = false, options: String? = nil) -> String {
        var text = "\(c.text(.name)) \(c.text(.type))"
        if let options { text += " OPTIONS (\n    \(options)\n)" }
        if let collation = c[.collation] { text += " COLLATE \(collation)" }
        let generated = c.text(.attgenerated)  // "s" stored, "v" virtual (PostgreSQL 18)
        if !generated.isEmpty, plainGenerated {
            // nothing: the parent's expression applies
        } else if !generated.isEmpty, let expr = c[.defaultExpr] {
            text += " GENERATED ALWAYS AS (\(expr)) \(generated == "v" ? "VIRTUAL" : "STORED")"
        } else if let expr = c[.defaultExpr], !omitDefault {
            text += " DEFAULT \(expr)"
        }
        if c.bool(.attnotnull) {
            if let name = c[.notnullName] {
                // PostgreSQL 18: a named constraint; one added NOT VALID comes after the data.
                if c.bool(.notnullValid) {
                    if !c.bool(.notnullDefaultName) { text += " CONSTRAINT \(name)" }
                    text += " NOT NULL"
                    if c.bool(.notnullNoinherit) { text += " NO INHERIT" }
                }
            } else {
                text += " NOT NULL"
            }
        }
        let identity = c.text(.attidentity)
        if identity == "a" || identity == "d", let seq = identitySequence {
            text += " GENERATED \(identity == "a" ? "ALWAYS" : "BY DEFAULT") AS IDENTITY (\n        SEQUENCE NAME \(seq.text(.schema)).\(seq.text(.name))\n        "
                + sequenceOptions(seq, includeType: false).replacingAll("\n    ", with: "\n        ") + "\n    )"
        }
        return text
    }
}

/// Orders objects so that each comes after what it depends on; ties by kind, then name.
struct DependencyOrder {
    /// Returns `keys` sorted; `rank` breaks ties. Cycles are broken at the lowest-ranked object.
    static func sort<Key: Hashable & Comparable & CustomStringConvertible>(_ keys: [Key], rank: [Key: (Int, String)], edges: [(Key, Key)]) -> [Key] {
        let present = Set(keys)
        var incoming: [Key: Set<Key>] = [:]
        var outgoing: [Key: [Key]] = [:]
        for (dependent, referenced) in edges where dependent != referenced && present.contains(dependent) && present.contains(referenced) {
            if incoming[dependent, default: []].insert(referenced).inserted {
                outgoing[referenced, default: []].append(dependent)
            }
        }
        func less(_ a: Key, _ b: Key) -> Bool {
            let ra = rank[a] ?? (99, a.description), rb = rank[b] ?? (99, b.description)
            return ra.0 != rb.0 ? ra.0 < rb.0 : (ra.1 != rb.1 ? ra.1 < rb.1 : a < b)
        }
        var ready = keys.filter { (incoming[$0]?.isEmpty ?? true) }.sorted(by: less)
        var waiting = Set(keys.filter { !(incoming[$0]?.isEmpty ?? true) })
        var result: [Key] = []
        result.reserveCapacity(keys.count)
        while !ready.isEmpty || !waiting.isEmpty {
            if ready.isEmpty {
                // A cycle: release the first waiting object in rank order.
                let next = waiting.sorted(by: less)[0]
                waiting.remove(next)
                ready.append(next)
            }
            let next = ready.removeFirst()
            result.append(next)
            for dependent in outgoing[next] ?? [] {
                incoming[dependent]?.remove(next)
                if incoming[dependent]?.isEmpty == true, waiting.remove(dependent) != nil {
                    let index = ready.firstIndex(where: { less(dependent, $0) }) ?? ready.endIndex
                    ready.insert(dependent, at: index)
                }
            }
        }
        return result
    }
}
