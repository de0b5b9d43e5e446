/// Finds the object a failed catalog read choked on. The catalog queries read every object of
/// a kind in one round trip, so the server's error ("unrecognized RTE kind: 7") names none;
/// on that failure path only, each object is rendered alone, in a savepoint, until one fails.
enum FailureProbe {
    /// (what lists the candidates as `oid, what`; how renders one, given its OID as $1)
    static let probes: [(list: String, render: String)] = {
        let rel = CatalogQueries.qualified(schema: "n.nspname", name: "c.relname")
        let user = CatalogQueries.userRelations
        return [
            ("""
             SELECT c.oid, CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END || \(rel) AS what
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('v', 'm') AND c.oid IN (\(user))
             """, "SELECT pg_catalog.pg_get_viewdef($1::pg_catalog.oid)"),
            ("""
             SELECT p.oid, 'function ' || p.oid::pg_catalog.regprocedure AS what FROM pg_catalog.pg_proc p
              WHERE p.prokind <> 'a' AND \(CatalogQueries.userSchema("p.pronamespace"))
             """, "SELECT pg_catalog.pg_get_functiondef($1::pg_catalog.oid)"),
            ("""
             SELECT i.indexrelid AS oid, 'index ' || i.indexrelid::pg_catalog.regclass AS what FROM pg_catalog.pg_index i
              WHERE i.indrelid IN (\(user))
             """, "SELECT pg_catalog.pg_get_indexdef($1::pg_catalog.oid)"),
            ("""
             SELECT co.oid, 'constraint ' || pg_catalog.quote_ident(co.conname) || ' on ' || co.conrelid::pg_catalog.regclass AS what
               FROM pg_catalog.pg_constraint co WHERE co.conrelid IN (\(user))
             """, "SELECT pg_catalog.pg_get_constraintdef($1::pg_catalog.oid)"),
            ("""
             SELECT d.oid, 'the default of column ' || pg_catalog.quote_ident(a.attname) || ' of ' || d.adrelid::pg_catalog.regclass AS what
               FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
              WHERE d.adrelid IN (\(user))
             """, "SELECT pg_catalog.pg_get_expr(adbin, adrelid) FROM pg_catalog.pg_attrdef WHERE oid = $1::pg_catalog.oid"),
            ("""
             SELECT t.oid, 'trigger ' || pg_catalog.quote_ident(t.tgname) || ' on ' || t.tgrelid::pg_catalog.regclass AS what
               FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal AND t.tgrelid IN (\(user))
             """, "SELECT pg_catalog.pg_get_triggerdef($1::pg_catalog.oid, false)"),
            ("""
             SELECT r.oid, 'rule ' || pg_catalog.quote_ident(r.rulename) || ' on ' || r.ev_class::pg_catalog.regclass AS what
               FROM pg_catalog.pg_rewrite r WHERE r.rulename <> '_RETURN' AND r.ev_class IN (\(user))
             """, "SELECT pg_catalog.pg_get_ruledef($1::pg_catalog.oid)"),
            ("""
             SELECT p.oid, 'policy ' || pg_catalog.quote_ident(p.polname) || ' on ' || p.polrelid::pg_catalog.regclass AS what
               FROM pg_catalog.pg_policy p WHERE p.polrelid IN (\(user))
             """, "SELECT pg_catalog.pg_get_expr(polqual, polrelid), pg_catalog.pg_get_expr(polwithcheck, polrelid) FROM pg_catalog.pg_policy WHERE oid = $1::pg_catalog.oid"),
            ("""
             SELECT s.oid, 'statistics object ' || pg_catalog.quote_ident(s.stxname) AS what
               FROM pg_catalog.pg_statistic_ext s WHERE s.stxrelid IN (\(user))
             """, "SELECT pg_catalog.pg_get_statisticsobjdef($1::pg_catalog.oid)"),
        ]
    }()

    /// The failed read aborted the transaction: start a fresh snapshot and render each object
    /// alone. Returns the first that fails, or nil.
    static func culprit(_ c: PGConnection) -> String? {
        _ = try? c.execute("ROLLBACK", context: "ending the failed snapshot")
        guard (try? c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", context: "starting a probe")) != nil else { return nil }
        defer { _ = try? c.execute("ROLLBACK", context: "ending the probe") }
        for probe in probes {
            guard let candidates = try? c.records(CatalogQuery<CatalogColumns.ProbeCandidate>("objects to probe", probe.list)) else { continue }
            for candidate in candidates {
                _ = try? c.execute("SAVEPOINT cdb_probe", context: "probing")
                if (try? c.query(probe.render, [candidate.text(.oid)], context: "probing")) == nil {
                    return candidate.text(.what)
                }
                _ = try? c.execute("RELEASE SAVEPOINT cdb_probe", context: "probing")
            }
        }
        return nil
    }
}
