/// Catalog queries for the objects outside tables and routines: large objects, default
/// privileges, event triggers, publications, casts, collations, operators, text search.
/// Same conventions as `CatalogQueries`: names come quoted, text values quoted as literals.
extension CatalogQueries {
    static let largeObjects = """
        SELECT l.oid, \(owner("l.lomowner")) AS owner, pg_catalog.pg_get_userbyid(l.lomowner) AS raw_owner,
               \(comment("l.oid", "pg_largeobject")) AS comment, \(grants("l.lomacl")) AS grants
          FROM pg_catalog.pg_largeobject_metadata l
         ORDER BY l.oid
        """

    /// `ALTER DEFAULT PRIVILEGES` entries; `schema` NULL for the role-wide ones.
    static let defaultPrivileges = """
        SELECT d.oid, \(owner("d.defaclrole")) AS role, d.defaclobjtype AS objtype,
               (SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_namespace n WHERE n.oid = d.defaclnamespace) AS schema,
               \(grants("d.defaclacl")) AS grants
          FROM pg_catalog.pg_default_acl d
         ORDER BY pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclnamespace, d.defaclobjtype
        """

    static let eventTriggers = """
        SELECT t.oid, pg_catalog.quote_ident(t.evtname) AS name, t.evtname AS raw_name, t.evtevent AS event,
               \(owner("t.evtowner")) AS owner, t.evtfoid::pg_catalog.regproc::text AS function, t.evtenabled,
               (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(tag), ', ' ORDER BY ord)
                  FROM pg_catalog.unnest(t.evttags) WITH ORDINALITY AS x(tag, ord)) AS tags,
               \(comment("t.oid", "pg_event_trigger")) AS comment
          FROM pg_catalog.pg_event_trigger t
         WHERE \(notExtensionMember(catalog: "pg_event_trigger", oid: "t.oid"))
         ORDER BY t.evtname
        """

    static func publications(serverVersion: Int) -> String {
        let generated = serverVersion >= 180000 ? "p.pubgencols::text" : "NULL::text"
        return """
        SELECT p.oid, pg_catalog.quote_ident(p.pubname) AS name, p.pubname AS raw_name, \(owner("p.pubowner")) AS owner,
               p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, p.pubviaroot, \(generated) AS pubgencols,
               \(comment("p.oid", "pg_publication")) AS comment
          FROM pg_catalog.pg_publication p
         WHERE \(notExtensionMember(catalog: "pg_publication", oid: "p.oid"))
         ORDER BY p.pubname
        """
    }

    /// The tables of each publication, with their column lists and row filters (15+).
    static func publicationTables(serverVersion: Int) -> String {
        let columns = serverVersion >= 150000
            ? """
              (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
                 FROM pg_catalog.unnest(pr.prattrs) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.attnum)
              """
            : "NULL::text"
        let filter = serverVersion >= 150000 ? "pg_catalog.pg_get_expr(pr.prqual, pr.prrelid)" : "NULL::text"
        return """
        SELECT pr.prpubid, \(qualified(schema: "n.nspname", name: "c.relname")) AS tbl, n.nspname AS raw_schema, c.relname AS raw_table,
               \(columns) AS columns, \(filter) AS filter
          FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         ORDER BY pr.prpubid, n.nspname, c.relname
        """
    }

    /// Schemas published whole (`FOR TABLES IN SCHEMA`, 15+).
    static let publicationSchemas = """
        SELECT ps.pnpubid AS prpubid, pg_catalog.quote_ident(n.nspname) AS schema
          FROM pg_catalog.pg_publication_namespace ps JOIN pg_catalog.pg_namespace n ON n.oid = ps.pnnspid
         ORDER BY ps.pnpubid, n.nspname
        """
}
