/// The catalog queries of the dumper. Every name the server returns is already quoted with
/// `quote_ident` and every text value with `quote_literal`, so the dump never quotes by hand.
/// The session runs with `search_path = ''`, so `format_type`, `pg_get_*def` and regproc
/// output come schema-qualified.
///
/// Version notes (servers 12–17; only 15 can run here, the branches follow PostgreSQL's
/// documentation of each catalog): `pg_trigger.tgparentid` appeared in 13 (before it, cloned
/// partition triggers are `tgisinternal`); `pg_range.rngmultitypid` and multiranges in 14;
/// unlogged sequences in 15. Everything else used here exists unchanged from 12 to 17.
enum CatalogQueries {
    /// A namespace OID expression is a user schema.
    static func userSchema(_ expr: String) -> String {
        "\(expr) IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp_|toast_temp_)')"
    }

    /// The object is not a member of an extension, nor (outside pg_class, where identity
    /// sequences are internal to their column) made implicitly by another object, as a range
    /// type makes its multirange type, constructors and casts.
    static func notExtensionMember(catalog: String, oid: String) -> String {
        let kinds = catalog == "pg_class" ? "'e'" : "'e', 'i'"
        return "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.\(catalog)'::pg_catalog.regclass AND e.objid = \(oid) AND e.deptype IN (\(kinds)))"
    }

    static func qualified(schema: String, name: String) -> String {
        "pg_catalog.quote_ident(\(schema)) || '.' || pg_catalog.quote_ident(\(name))"
    }

    /// Tab-separated `grantee<TAB>privilege<TAB>grantable` lines of an ACL, in its own order.
    /// NULL when the ACL is NULL (the default privileges), the empty string when it is empty
    /// (everything revoked, the owner's own privileges too — that must come back as it was).
    static func grants(_ acl: String) -> String {
        """
        CASE WHEN \(acl) IS NOT NULL THEN COALESCE((SELECT pg_catalog.string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
                || E'\\t' || a.privilege_type || E'\\t' || a.is_grantable::text, E'\\n' ORDER BY a.ord)
           FROM (SELECT x.*, row_number() OVER () AS ord FROM pg_catalog.aclexplode(\(acl)) x) a), '') END
        """
    }

    /// The object's comment as a literal. Read from pg_description directly: obj_description()
    /// is a SQL function that looks its catalog up by name on every call, which costs more
    /// than the rest of a catalog query on a database with thousands of objects.
    static func comment(_ oid: String, _ catalog: String, subid: String = "0") -> String {
        """
        (SELECT pg_catalog.quote_literal(ds.description) FROM pg_catalog.pg_description ds
          WHERE ds.objoid = \(oid) AND ds.classoid = 'pg_catalog.\(catalog)'::pg_catalog.regclass AND ds.objsubid = \(subid))
        """
    }

    static func owner(_ roleOID: String) -> String {
        "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(\(roleOID)))"
    }

    /// The relations whose data and definitions are dumped.
    static let userRelations = """
        SELECT c.oid FROM pg_catalog.pg_class c
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c', 'S', 'f')
           AND \(userSchema("c.relnamespace"))
           AND \(notExtensionMember(catalog: "pg_class", oid: "c.oid"))
        """

    static let tablesToLock = CatalogQuery<CatalogColumns.TableToLock>("the tables to lock", """
        SELECT \(qualified(schema: "n.nspname", name: "c.relname")) AS qname
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND c.oid IN (\(userRelations))
         ORDER BY n.nspname, c.relname
        """)

    /// What cdb-pg-dump cannot dump, one line each: today only subscriptions, whose connection
    /// only a superuser can read (pg_dump leaves them out then too).
    static func unsupported(serverVersion: Int) -> CatalogQuery<CatalogColumns.Unsupported> {
        CatalogQuery("what cannot be dumped", """
        SELECT 'subscription ' || pg_catalog.quote_ident(subname) || ' (only a superuser can read its connection; pg_dump leaves it out too)' AS what
          FROM pg_catalog.pg_subscription
          WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
            AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
        ORDER BY 1
        """)
    }

    static let currentRole = CatalogQuery<CatalogColumns.CurrentRole>("the role", "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user")

    static let schemas = CatalogQuery<CatalogColumns.Schema>("schemas", """
        SELECT n.oid, pg_catalog.quote_ident(n.nspname) AS name, n.nspname AS raw_name,
               \(owner("n.nspowner")) AS owner, pg_catalog.pg_get_userbyid(n.nspowner) AS raw_owner,
               \(comment("n.oid", "pg_namespace")) AS comment, \(grants("n.nspacl")) AS grants
          FROM pg_catalog.pg_namespace n
         WHERE \(userSchema("n.oid")) AND \(notExtensionMember(catalog: "pg_namespace", oid: "n.oid"))
         ORDER BY n.nspname
        """)

    static let extensions = CatalogQuery<CatalogColumns.Extension>("extensions", """
        SELECT e.oid, pg_catalog.quote_ident(e.extname) AS name, pg_catalog.quote_ident(n.nspname) AS schema,
               CASE WHEN pg_catalog.obj_description(e.oid, 'pg_extension') IS DISTINCT FROM
                         (SELECT a.comment FROM pg_catalog.pg_available_extensions a WHERE a.name = e.extname)
                    THEN \(comment("e.oid", "pg_extension")) END AS comment
          FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname <> 'plpgsql'
         ORDER BY e.extname
        """)

    static func types(serverVersion: Int) -> CatalogQuery<CatalogColumns.DataType> {
        let multirange = serverVersion >= 140000
            ? "(SELECT \(qualified(schema: "mn.nspname", name: "mt.typname")) FROM pg_catalog.pg_type mt JOIN pg_catalog.pg_namespace mn ON mn.oid = mt.typnamespace WHERE mt.oid = r.rngmultitypid)"
            : "NULL"
        return CatalogQuery("types", """
        SELECT t.oid, t.typtype, pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(t.typname) AS name,
               n.nspname AS raw_schema, t.typname AS raw_name,
               \(owner("t.typowner")) AS owner, \(comment("t.oid", "pg_type")) AS comment, \(grants("t.typacl")) AS grants,
               (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                  FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) AS enum_labels,
               CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END AS base_type,
               t.typnotnull AS not_null, pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default_expr,
               CASE WHEN t.typcollation <> 0 AND t.typcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = t.typbasetype)
                    THEN (SELECT \(qualified(schema: "cn.nspname", name: "co.collname")) FROM pg_catalog.pg_collation co
                            JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) END AS collation,
               t.typrelid,
               pg_catalog.format_type(r.rngsubtype, NULL) AS range_subtype,
               CASE WHEN r.rngsubopc IS NOT NULL AND NOT (SELECT opcdefault FROM pg_catalog.pg_opclass WHERE oid = r.rngsubopc)
                    THEN (SELECT \(qualified(schema: "on_.nspname", name: "oc.opcname")) FROM pg_catalog.pg_opclass oc
                            JOIN pg_catalog.pg_namespace on_ ON on_.oid = oc.opcnamespace WHERE oc.oid = r.rngsubopc) END AS range_opclass,
               CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = r.rngsubtype)
                    THEN (SELECT \(qualified(schema: "cn.nspname", name: "co.collname")) FROM pg_catalog.pg_collation co
                            JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = r.rngcollation) END AS range_collation,
               CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::pg_catalog.regproc::text END AS range_canonical,
               CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::pg_catalog.regproc::text END AS range_subdiff,
               \(multirange) AS range_multirange
          FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
          LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid
         WHERE t.typtype IN ('e', 'd', 'r', 'c')
           AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c')
           AND \(userSchema("t.typnamespace")) AND \(notExtensionMember(catalog: "pg_type", oid: "t.oid"))
         ORDER BY n.nspname, t.typname
        """)
    }

    static let sequences = CatalogQuery<CatalogColumns.Sequence>("sequences", """
        SELECT c.oid, pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(c.relname) AS name,
               n.nspname AS raw_schema, c.relname AS raw_name, \(owner("c.relowner")) AS owner,
               \(comment("c.oid", "pg_class")) AS comment, \(grants("c.relacl")) AS grants,
               pg_catalog.format_type(s.seqtypid, NULL) AS type, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
               c.relpersistence, d.refobjid AS owner_table, d.deptype AS owner_deptype,
               (SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attribute a WHERE a.attrelid = d.refobjid AND a.attnum = d.refobjsubid) AS owner_column,
               d.refobjsubid AS owner_attnum
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
          LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
               AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
         WHERE c.relkind = 'S' AND c.oid IN (\(userRelations))
         ORDER BY n.nspname, c.relname
        """)

    static let functions = CatalogQuery<CatalogColumns.Function>("functions", """
        SELECT p.oid, p.prokind, pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(p.proname) AS name,
               n.nspname AS raw_schema, p.proname AS raw_name,
               pg_catalog.pg_get_function_identity_arguments(p.oid) AS args, pg_catalog.pg_get_functiondef(p.oid) AS def,
               \(owner("p.proowner")) AS owner, \(comment("p.oid", "pg_proc")) AS comment, \(grants("p.proacl")) AS grants
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE p.prokind IN ('f', 'p', 'w') AND \(userSchema("p.pronamespace")) AND \(notExtensionMember(catalog: "pg_proc", oid: "p.oid"))
         ORDER BY n.nspname, p.proname, 7
        """)

    /// Aggregates, as CREATE AGGREGATE needs them (no server function renders one). Each
    /// support function prints schema-qualified unless it lives in pg_catalog.
    static func aggregates(serverVersion: Int) -> CatalogQuery<CatalogColumns.Aggregate> {
        func proc(_ column: String) -> String { "CASE WHEN a.\(column) <> 0 THEN a.\(column)::pg_catalog.regproc::text END AS \(column)" }
        return CatalogQuery("aggregates", """
        SELECT p.oid, 'a' AS prokind, pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(p.proname) AS name,
               n.nspname AS raw_schema, p.proname AS raw_name,
               pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
               pg_catalog.pg_get_function_arguments(p.oid) AS full_args,
               pg_catalog.oidvectortypes(p.proargtypes) AS arg_types,
               a.aggkind, p.proparallel,
               \(proc("aggtransfn")), \(proc("aggfinalfn")), \(proc("aggcombinefn")), \(proc("aggserialfn")),
               \(proc("aggdeserialfn")), \(proc("aggmtransfn")), \(proc("aggminvtransfn")), \(proc("aggmfinalfn")),
               a.aggfinalextra, a.aggmfinalextra, a.aggfinalmodify, a.aggmfinalmodify,
               CASE WHEN a.aggsortop <> 0 THEN (SELECT 'OPERATOR(' || pg_catalog.quote_ident(son.nspname) || '.' || so.oprname || ')'
                    FROM pg_catalog.pg_operator so JOIN pg_catalog.pg_namespace son ON son.oid = so.oprnamespace WHERE so.oid = a.aggsortop) END AS sortop,
               pg_catalog.format_type(a.aggtranstype, NULL) AS stype, a.aggtransspace,
               CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END AS mstype, a.aggmtransspace,
               pg_catalog.quote_literal(a.agginitval) AS initval, pg_catalog.quote_literal(a.aggminitval) AS minitval,
               \(owner("p.proowner")) AS owner, \(comment("p.oid", "pg_proc")) AS comment, \(grants("p.proacl")) AS grants
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
         WHERE p.prokind = 'a' AND \(userSchema("p.pronamespace")) AND \(notExtensionMember(catalog: "pg_proc", oid: "p.oid"))
         ORDER BY n.nspname, p.proname, 7
        """)
    }

    /// Rules other than the `_RETURN` rule behind each view; the server renders each whole.
    static let rules = CatalogQuery<CatalogColumns.Rule>("rules", """
        SELECT r.oid, r.ev_class, pg_catalog.quote_ident(r.rulename) AS name, r.rulename AS raw_name,
               pg_catalog.pg_get_ruledef(r.oid) AS def, r.ev_enabled, \(comment("r.oid", "pg_rewrite")) AS comment
          FROM pg_catalog.pg_rewrite r
         WHERE r.rulename <> '_RETURN' AND r.ev_class IN (\(userRelations))
           AND \(notExtensionMember(catalog: "pg_rewrite", oid: "r.oid"))
         ORDER BY r.ev_class, r.rulename
        """)

    static let relations = CatalogQuery<CatalogColumns.Relation>("tables and views", """
        SELECT c.oid, c.relkind, pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(c.relname) AS name,
               n.nspname AS raw_schema, c.relname AS raw_name, \(owner("c.relowner")) AS owner,
               c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, c.relispartition, c.relispopulated, c.relreplident,
               CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END AS of_type,
               CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
               CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
               pg_catalog.array_to_string(c.reloptions, ', ') AS options,
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS view_def,
               (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = c.relam) AS access_method,
               (SELECT pg_catalog.quote_ident(t.spcname) FROM pg_catalog.pg_tablespace t WHERE t.oid = c.reltablespace) AS tablespace,
               (SELECT pg_catalog.string_agg(\(qualified(schema: "pn.nspname", name: "pc.relname")), ', ' ORDER BY i.inhseqno)
                  FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
                  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid) AS parents,
               (SELECT pg_catalog.string_agg(i.inhparent::text, ',' ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) AS parent_oids,
               \(comment("c.oid", "pg_class")) AS comment, \(grants("c.relacl")) AS grants
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c', 'f') AND c.oid IN (\(userRelations))
         ORDER BY n.nspname, c.relname
        """)

    static func columns(serverVersion: Int) -> CatalogQuery<CatalogColumns.Attribute> {
        let compression = serverVersion >= 140000 ? "a.attcompression::text" : "''::text"
        return CatalogQuery("columns", """
        SELECT a.attrelid, a.attnum, pg_catalog.quote_ident(a.attname) AS name,
               a.attstorage, t.typstorage, \(compression) AS attcompression,
               CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END AS stattarget,
               pg_catalog.array_to_string(a.attoptions, ', ') AS attoptions,
               CASE WHEN a.attfdwoptions IS NOT NULL THEN \(options("a.attfdwoptions")) END AS fdw_options,
               pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attidentity, a.attgenerated,
               a.attislocal, a.attinhcount,
               CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                    THEN (SELECT \(qualified(schema: "cn.nspname", name: "co.collname")) FROM pg_catalog.pg_collation co
                            JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
               pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_expr,
               \(comment("a.attrelid", "pg_class", subid: "a.attnum")) AS comment,
               \(grants("a.attacl")) AS grants,
               pg_catalog.quote_ident(nn.conname) AS notnull_name, nn.convalidated AS notnull_valid,
               nn.connoinherit AS notnull_noinherit,
               nn.conname = rc.relname || '_' || a.attname || '_not_null' AS notnull_default_name
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          JOIN pg_catalog.pg_class rc ON rc.oid = a.attrelid
          LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          -- PostgreSQL 18 keeps NOT NULL as named constraints (none before: the join finds nothing).
          LEFT JOIN pg_catalog.pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum
         WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid IN (\(userRelations))
         ORDER BY a.attrelid, a.attnum
        """)
    }

    static let constraints = CatalogQuery<CatalogColumns.Constraint>("constraints", """
        SELECT co.oid, co.conrelid, co.contypid, co.contype, pg_catalog.quote_ident(co.conname) AS name,
               pg_catalog.pg_get_constraintdef(co.oid) AS def, co.convalidated, co.conislocal, co.conparentid, co.conindid,
               \(comment("co.oid", "pg_constraint")) AS comment
          FROM pg_catalog.pg_constraint co
         WHERE co.contype IN ('c', 'p', 'u', 'f', 'x')
           AND (co.conrelid IN (\(userRelations))
                OR co.contypid IN (SELECT t.oid FROM pg_catalog.pg_type t WHERE \(userSchema("t.typnamespace"))
                                     AND \(notExtensionMember(catalog: "pg_type", oid: "t.oid"))))
         ORDER BY co.conrelid, co.contypid, co.conname
        """)

    static let indexes = CatalogQuery<CatalogColumns.Index>("indexes", """
        SELECT i.indexrelid, i.indrelid, pg_catalog.pg_get_indexdef(i.indexrelid) AS def, i.indisclustered, i.indisreplident,
               pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(ic.relname) AS name,
               EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
                         AND co.contype IN ('p', 'u', 'x')) AS is_constraint,
               (SELECT \(qualified(schema: "pn.nspname", name: "pc.relname")) FROM pg_catalog.pg_inherits h
                  JOIN pg_catalog.pg_class pc ON pc.oid = h.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
                 WHERE h.inhrelid = i.indexrelid) AS parent_index,
               (SELECT pg_catalog.quote_ident(t.spcname) FROM pg_catalog.pg_tablespace t WHERE t.oid = ic.reltablespace) AS tablespace,
               \(comment("i.indexrelid", "pg_class")) AS comment
          FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
         WHERE i.indrelid IN (\(userRelations))
         ORDER BY n.nspname, ic.relname
        """)

    static func triggers(serverVersion: Int) -> CatalogQuery<CatalogColumns.Trigger> {
        let notCloned = serverVersion >= 130000 ? "AND t.tgparentid = 0" : ""
        return CatalogQuery("triggers", """
        SELECT t.oid, t.tgrelid, pg_catalog.quote_ident(t.tgname) AS name, pg_catalog.pg_get_triggerdef(t.oid, false) AS def,
               t.tgenabled, \(comment("t.oid", "pg_trigger")) AS comment
          FROM pg_catalog.pg_trigger t
         WHERE NOT t.tgisinternal \(notCloned) AND t.tgrelid IN (\(userRelations))
         ORDER BY t.tgrelid, t.tgname
        """)
    }

    /// Triggers cloned onto partitions whose enable state is not the default.
    static let clonedTriggerStates = CatalogQuery<CatalogColumns.TriggerState>("trigger states", """
        SELECT t.tgrelid, pg_catalog.quote_ident(t.tgname) AS name, t.tgenabled
          FROM pg_catalog.pg_trigger t
         WHERE t.tgparentid <> 0 AND t.tgenabled <> 'O' AND t.tgrelid IN (\(userRelations))
         ORDER BY t.tgrelid, t.tgname
        """)

    /// Views whose `_RETURN` rule depends on a constraint.
    static let viewsNeedingConstraints = CatalogQuery<CatalogColumns.ViewDependency>("views' dependencies", """
        SELECT DISTINCT r.ev_class AS oid
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
           AND d.deptype = 'n' AND r.rulename = '_RETURN' AND r.ev_class IN (\(userRelations))
        """)

    static let policies = CatalogQuery<CatalogColumns.Policy>("policies", """
        SELECT p.oid, p.polrelid, pg_catalog.quote_ident(p.polname) AS name, p.polcmd, p.polpermissive,
               (SELECT pg_catalog.string_agg(CASE WHEN r.role = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.role)) END,
                                             ', ' ORDER BY r.ord)
                  FROM pg_catalog.unnest(p.polroles) WITH ORDINALITY AS r(role, ord)) AS roles,
               pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
               \(comment("p.oid", "pg_policy")) AS comment
          FROM pg_catalog.pg_policy p
         WHERE p.polrelid IN (\(userRelations))
         ORDER BY p.polrelid, p.polname
        """)

    static let statistics = CatalogQuery<CatalogColumns.Statistics>("statistics objects", """
        SELECT s.oid, s.stxrelid, pg_catalog.pg_get_statisticsobjdef(s.oid) AS def,
               \(qualified(schema: "n.nspname", name: "s.stxname")) AS name
          FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
         WHERE s.stxrelid IN (\(userRelations))
         ORDER BY n.nspname, s.stxname
        """)

    /// The object an OID of a catalog stands for in the dump's ordering: a table's row type is
    /// the table, an array type its element, a view's rule the view, a default or CHECK its table.
    static func objectKey(classid: String, objid: String, serverVersion: Int) -> String {
        let multirange = serverVersion >= 140000
            ? "WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_range r WHERE r.rngmultitypid = t.oid) THEN 't:' || (SELECT r.rngtypid FROM pg_catalog.pg_range r WHERE r.rngmultitypid = t.oid)"
            : ""
        return """
        CASE \(classid)
          WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
            (SELECT CASE WHEN c.relkind = 'c' THEN 't:' || c.reltype ELSE 'c:' || c.oid END FROM pg_catalog.pg_class c WHERE c.oid = \(objid))
          WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN
            (SELECT CASE WHEN t.typrelid <> 0 AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) <> 'c' THEN 'c:' || t.typrelid
                         WHEN t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid) THEN 't:' || t.typelem
                         \(multirange)
                         ELSE 't:' || t.oid END
               FROM pg_catalog.pg_type t WHERE t.oid = \(objid))
          WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN 'p:' || \(objid)
          \(simpleKeys(objid))
          WHEN 'pg_catalog.pg_amop'::pg_catalog.regclass THEN (SELECT 'f:' || a.amopfamily FROM pg_catalog.pg_amop a WHERE a.oid = \(objid))
          WHEN 'pg_catalog.pg_amproc'::pg_catalog.regclass THEN (SELECT 'f:' || a.amprocfamily FROM pg_catalog.pg_amproc a WHERE a.oid = \(objid))
          WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN (SELECT 'c:' || r.ev_class FROM pg_catalog.pg_rewrite r WHERE r.oid = \(objid))
          WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT 'c:' || a.adrelid FROM pg_catalog.pg_attrdef a WHERE a.oid = \(objid))
          WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
            (SELECT CASE WHEN co.contypid <> 0 THEN 't:' || co.contypid ELSE 'c:' || co.conrelid END
               FROM pg_catalog.pg_constraint co WHERE co.oid = \(objid) AND co.contype = 'c')
        END
        """
    }

    /// Catalogs whose objects are keyed by their own OID in the dump's order, with the kind
    /// of their key (`ObjectKey.Kind`: what `Catalog` ranks and `DDLRenderer` renders).
    static let simpleKeyKinds: [(catalog: String, kind: ObjectKey.Kind)] = [
        ("pg_operator", .operator), ("pg_opfamily", .operatorFamily), ("pg_opclass", .operatorClass), ("pg_collation", .collation),
        ("pg_cast", .cast), ("pg_ts_parser", .textSearchParser), ("pg_ts_template", .textSearchTemplate),
        ("pg_ts_dict", .textSearchDictionary), ("pg_ts_config", .textSearchConfiguration), ("pg_conversion", .conversion),
        ("pg_am", .accessMethod), ("pg_language", .language), ("pg_transform", .transform), ("pg_foreign_data_wrapper", .foreignDataWrapper),
        ("pg_foreign_server", .foreignServer), ("pg_user_mapping", .userMapping),
    ]

    static func simpleKeys(_ objid: String) -> String {
        simpleKeyKinds.map { "WHEN 'pg_catalog.\($0.catalog)'::pg_catalog.regclass THEN '\($0.kind.rawValue):' || \(objid)" }
            .joined(separator: "\n          ")
    }

    /// The catalogs whose objects have a key in the dump's order.
    static let keyedCatalogs = "'{" + (["pg_class", "pg_type", "pg_proc"] + simpleKeyKinds.map(\.catalog))
        .map { "pg_catalog." + $0 }.joined(separator: ",") + "}'::pg_catalog.regclass[]"

    static func dependencies(serverVersion: Int) -> CatalogQuery<CatalogColumns.Dependency> {
        CatalogQuery("dependencies", """
        SELECT DISTINCT dep.key AS dependent, ref.key AS referenced
          FROM pg_catalog.pg_depend d
          CROSS JOIN LATERAL (SELECT \(objectKey(classid: "d.classid", objid: "d.objid", serverVersion: serverVersion)) AS key) dep
          CROSS JOIN LATERAL (SELECT \(objectKey(classid: "d.refclassid", objid: "d.refobjid", serverVersion: serverVersion)) AS key) ref
         WHERE d.deptype = 'n'
           AND d.classid = ANY (\(keyedCatalogs) || '{pg_catalog.pg_rewrite,pg_catalog.pg_attrdef,pg_catalog.pg_constraint,pg_catalog.pg_amop,pg_catalog.pg_amproc}'::pg_catalog.regclass[])
           AND d.refclassid = ANY (\(keyedCatalogs))
           AND d.objid >= 16384 AND d.refobjid >= 16384
           -- A column default's use of a function is ordered apart (see defaultFunctions).
           AND NOT (d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass)
        UNION
        SELECT 'c:' || i.inhrelid, 'c:' || i.inhparent FROM pg_catalog.pg_inherits i
         WHERE i.inhrelid IN (\(userRelations))
        """)
    }

    /// Column defaults that call a user function: when the function comes after the table
    /// (its SQL-standard body reads the table, a loop), the default is set after the function.
    static let defaultFunctions = CatalogQuery<CatalogColumns.DefaultFunction>("defaults' functions", """
        SELECT DISTINCT ad.adrelid, ad.adnum, d.refobjid AS function
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attrdef ad ON ad.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
           AND d.deptype = 'n' AND d.refobjid >= 16384 AND ad.adrelid IN (\(userRelations))
        """)
}
