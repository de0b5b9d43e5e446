/// Catalog queries for the objects outside tables and routines: large objects, default
/// privileges, event triggers, publications, casts, collations, operators, text search.
/// Same conventions as `CatalogQueries`: names come quoted, text values quoted as literals.
extension CatalogQueries {
    static let largeObjects = CatalogQuery<CatalogColumns.LargeObject>("large objects", """
        SELECT l.oid, \(owner("l.lomowner")) AS owner, pg_catalog.pg_get_userbyid(l.lomowner) AS raw_owner,
               \(comment("l.oid", "pg_largeobject")) AS comment, \(grants("l.lomacl")) AS grants
          FROM pg_catalog.pg_largeobject_metadata l
         ORDER BY l.oid
        """)

    /// `ALTER DEFAULT PRIVILEGES` entries; `schema` NULL for the role-wide ones.
    static let defaultPrivileges = CatalogQuery<CatalogColumns.DefaultPrivilege>("default privileges", """
        SELECT d.oid, \(owner("d.defaclrole")) AS role, d.defaclobjtype AS objtype,
               (SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_namespace n WHERE n.oid = d.defaclnamespace) AS schema,
               \(grants("d.defaclacl")) AS grants
          FROM pg_catalog.pg_default_acl d
         ORDER BY pg_catalog.pg_get_userbyid(d.defaclrole), d.defaclnamespace, d.defaclobjtype
        """)

    static let eventTriggers = CatalogQuery<CatalogColumns.EventTrigger>("event triggers", """
        SELECT t.oid, pg_catalog.quote_ident(t.evtname) AS name, t.evtname AS raw_name, t.evtevent AS event,
               \(owner("t.evtowner")) AS owner, t.evtfoid::pg_catalog.regproc::text AS function, t.evtenabled,
               (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(tag), ', ' ORDER BY ord)
                  FROM pg_catalog.unnest(t.evttags) WITH ORDINALITY AS x(tag, ord)) AS tags,
               \(comment("t.oid", "pg_event_trigger")) AS comment
          FROM pg_catalog.pg_event_trigger t
         WHERE \(notExtensionMember(catalog: "pg_event_trigger", oid: "t.oid"))
         ORDER BY t.evtname
        """)

    static func publications(serverVersion: Int) -> CatalogQuery<CatalogColumns.Publication> {
        let generated = serverVersion >= 180000 ? "p.pubgencols::text" : "NULL::text"
        return CatalogQuery("publications", """
        SELECT p.oid, pg_catalog.quote_ident(p.pubname) AS name, p.pubname AS raw_name, \(owner("p.pubowner")) AS owner,
               p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, p.pubviaroot, \(generated) AS pubgencols,
               \(comment("p.oid", "pg_publication")) AS comment
          FROM pg_catalog.pg_publication p
         WHERE \(notExtensionMember(catalog: "pg_publication", oid: "p.oid"))
         ORDER BY p.pubname
        """)
    }

    /// The tables of each publication, with their column lists and row filters (15+).
    static func publicationTables(serverVersion: Int) -> CatalogQuery<CatalogColumns.PublicationTable> {
        let columns = serverVersion >= 150000
            ? """
              (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
                 FROM pg_catalog.unnest(pr.prattrs) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.attnum)
              """
            : "NULL::text"
        let filter = serverVersion >= 150000 ? "pg_catalog.pg_get_expr(pr.prqual, pr.prrelid)" : "NULL::text"
        return CatalogQuery("publication tables", """
        SELECT pr.prpubid, \(qualified(schema: "n.nspname", name: "c.relname")) AS tbl, n.nspname AS raw_schema, c.relname AS raw_table,
               \(columns) AS columns, \(filter) AS filter
          FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         ORDER BY pr.prpubid, n.nspname, c.relname
        """)
    }

    /// Schemas published whole (`FOR TABLES IN SCHEMA`, 15+).
    static let publicationSchemas = CatalogQuery<CatalogColumns.PublicationSchema>("publication schemas", """
        SELECT ps.pnpubid AS prpubid, pg_catalog.quote_ident(n.nspname) AS schema
          FROM pg_catalog.pg_publication_namespace ps JOIN pg_catalog.pg_namespace n ON n.oid = ps.pnnspid
         ORDER BY ps.pnpubid, n.nspname
        """)

    // MARK: - Pre-data objects beside types and routines (keyed for the dependency order)

    static func regproc(_ column: String, as name: String) -> String {
        "CASE WHEN \(column) <> 0 THEN \(column)::pg_catalog.regproc::text END AS \(name)"
    }

    static func regprocedure(_ column: String, as name: String) -> String {
        "CASE WHEN \(column) <> 0 THEN \(column)::pg_catalog.regprocedure::text END AS \(name)"
    }

    /// `name 'value', …` of an options array (FDWs, servers, user mappings, foreign tables).
    static func options(_ array: String) -> String {
        "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) || ' ' || pg_catalog.quote_literal(o.option_value), ', ' ORDER BY o.ord) FROM pg_catalog.pg_options_to_table(\(array)) WITH ORDINALITY AS o(option_name, option_value, ord))"
    }

    static let casts = CatalogQuery<CatalogColumns.Cast>("casts", """
        SELECT c.oid, pg_catalog.format_type(c.castsource, NULL) AS source, pg_catalog.format_type(c.casttarget, NULL) AS target,
               c.castmethod, c.castcontext, \(regprocedure("c.castfunc", as: "function")), \(comment("c.oid", "pg_cast")) AS comment
          FROM pg_catalog.pg_cast c
         WHERE c.oid >= 16384 AND \(notExtensionMember(catalog: "pg_cast", oid: "c.oid"))
         ORDER BY 2, 3
        """)

    static func collations(serverVersion: Int) -> CatalogQuery<CatalogColumns.Collation> {
        let locale = serverVersion >= 170000 ? "c.colllocale" : serverVersion >= 150000 ? "c.colliculocale" : "NULL::text"
        let rules = serverVersion >= 160000 ? "c.collicurules" : "NULL::text"
        return CatalogQuery("collations", """
        SELECT c.oid, pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(c.collname) AS name,
               n.nspname AS raw_schema, c.collname AS raw_name, \(owner("c.collowner")) AS owner,
               c.collprovider, c.collisdeterministic, pg_catalog.quote_literal(c.collcollate) AS collate,
               pg_catalog.quote_literal(c.collctype) AS ctype, pg_catalog.quote_literal(\(locale)) AS locale,
               pg_catalog.quote_literal(\(rules)) AS rules, \(comment("c.oid", "pg_collation")) AS comment
          FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
         WHERE \(userSchema("c.collnamespace")) AND \(notExtensionMember(catalog: "pg_collation", oid: "c.oid"))
         ORDER BY n.nspname, c.collname
        """)
    }

    static let operators = CatalogQuery<CatalogColumns.Operator>("operators", """
        SELECT o.oid, pg_catalog.quote_ident(n.nspname) AS schema, o.oprname AS name, n.nspname AS raw_schema,
               \(owner("o.oprowner")) AS owner, o.oprkind, o.oprcode::pg_catalog.regproc::text AS function,
               CASE WHEN o.oprleft <> 0 THEN pg_catalog.format_type(o.oprleft, NULL) END AS leftarg,
               CASE WHEN o.oprright <> 0 THEN pg_catalog.format_type(o.oprright, NULL) END AS rightarg,
               (SELECT 'OPERATOR(' || pg_catalog.quote_ident(cn.nspname) || '.' || co.oprname || ')' FROM pg_catalog.pg_operator co
                  JOIN pg_catalog.pg_namespace cn ON cn.oid = co.oprnamespace WHERE co.oid = o.oprcom) AS commutator,
               (SELECT 'OPERATOR(' || pg_catalog.quote_ident(cn.nspname) || '.' || co.oprname || ')' FROM pg_catalog.pg_operator co
                  JOIN pg_catalog.pg_namespace cn ON cn.oid = co.oprnamespace WHERE co.oid = o.oprnegate) AS negator,
               \(regproc("o.oprrest", as: "restrict")), \(regproc("o.oprjoin", as: "join")), o.oprcanmerge, o.oprcanhash,
               \(comment("o.oid", "pg_operator")) AS comment
          FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
         WHERE \(userSchema("o.oprnamespace")) AND \(notExtensionMember(catalog: "pg_operator", oid: "o.oid"))
         ORDER BY n.nspname, o.oprname, 8, 9
        """)

    static let textSearchParsers = CatalogQuery<CatalogColumns.TextSearchParser>("text search parsers", """
        SELECT p.oid, \(qualified(schema: "n.nspname", name: "p.prsname")) AS qname, n.nspname AS raw_schema, p.prsname AS raw_name,
               \(regproc("p.prsstart", as: "start")), \(regproc("p.prstoken", as: "gettoken")), \(regproc("p.prsend", as: "end_")),
               \(regproc("p.prslextype", as: "lextypes")), \(regproc("p.prsheadline", as: "headline")),
               \(comment("p.oid", "pg_ts_parser")) AS comment
          FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
         WHERE \(userSchema("p.prsnamespace")) AND \(notExtensionMember(catalog: "pg_ts_parser", oid: "p.oid"))
         ORDER BY n.nspname, p.prsname
        """)

    static let textSearchTemplates = CatalogQuery<CatalogColumns.TextSearchTemplate>("text search templates", """
        SELECT t.oid, \(qualified(schema: "n.nspname", name: "t.tmplname")) AS qname, n.nspname AS raw_schema, t.tmplname AS raw_name,
               \(regproc("t.tmplinit", as: "init")), \(regproc("t.tmpllexize", as: "lexize")),
               \(comment("t.oid", "pg_ts_template")) AS comment
          FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
         WHERE \(userSchema("t.tmplnamespace")) AND \(notExtensionMember(catalog: "pg_ts_template", oid: "t.oid"))
         ORDER BY n.nspname, t.tmplname
        """)

    static let textSearchDictionaries = CatalogQuery<CatalogColumns.TextSearchDictionary>("text search dictionaries", """
        SELECT d.oid, \(qualified(schema: "n.nspname", name: "d.dictname")) AS qname, n.nspname AS raw_schema, d.dictname AS raw_name,
               \(owner("d.dictowner")) AS owner, d.dictinitoption AS init_options,
               (SELECT \(qualified(schema: "tn.nspname", name: "t.tmplname")) FROM pg_catalog.pg_ts_template t
                  JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate) AS template,
               \(comment("d.oid", "pg_ts_dict")) AS comment
          FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
         WHERE \(userSchema("d.dictnamespace")) AND \(notExtensionMember(catalog: "pg_ts_dict", oid: "d.oid"))
         ORDER BY n.nspname, d.dictname
        """)

    /// Configurations with their token mappings, one `token<TAB>dict, dict` line per token type.
    static let textSearchConfigurations = CatalogQuery<CatalogColumns.TextSearchConfiguration>("text search configurations", """
        SELECT c.oid, \(qualified(schema: "n.nspname", name: "c.cfgname")) AS qname, n.nspname AS raw_schema, c.cfgname AS raw_name,
               \(owner("c.cfgowner")) AS owner,
               (SELECT \(qualified(schema: "pn.nspname", name: "p.prsname")) FROM pg_catalog.pg_ts_parser p
                  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser) AS parser,
               (SELECT pg_catalog.string_agg(m.token || E'\\t' || m.dicts, E'\\n' ORDER BY m.maptokentype)
                  FROM (SELECT mm.maptokentype,
                               (SELECT tt.alias FROM pg_catalog.ts_token_type(c.cfgparser) tt WHERE tt.tokid = mm.maptokentype) AS token,
                               pg_catalog.string_agg(\(qualified(schema: "dn.nspname", name: "dd.dictname")), ', ' ORDER BY mm.mapseqno) AS dicts
                          FROM pg_catalog.pg_ts_config_map mm JOIN pg_catalog.pg_ts_dict dd ON dd.oid = mm.mapdict
                          JOIN pg_catalog.pg_namespace dn ON dn.oid = dd.dictnamespace
                         WHERE mm.mapcfg = c.oid GROUP BY mm.maptokentype) m) AS mappings,
               \(comment("c.oid", "pg_ts_config")) AS comment
          FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
         WHERE \(userSchema("c.cfgnamespace")) AND \(notExtensionMember(catalog: "pg_ts_config", oid: "c.oid"))
         ORDER BY n.nspname, c.cfgname
        """)

    static let conversions = CatalogQuery<CatalogColumns.Conversion>("conversions", """
        SELECT c.oid, \(qualified(schema: "n.nspname", name: "c.conname")) AS qname, n.nspname AS raw_schema, c.conname AS raw_name,
               \(owner("c.conowner")) AS owner, c.condefault, pg_catalog.pg_encoding_to_char(c.conforencoding) AS source,
               pg_catalog.pg_encoding_to_char(c.contoencoding) AS target, c.conproc::pg_catalog.regproc::text AS function,
               \(comment("c.oid", "pg_conversion")) AS comment
          FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
         WHERE \(userSchema("c.connamespace")) AND \(notExtensionMember(catalog: "pg_conversion", oid: "c.oid"))
         ORDER BY n.nspname, c.conname
        """)

    static let accessMethods = CatalogQuery<CatalogColumns.AccessMethod>("access methods", """
        SELECT a.oid, pg_catalog.quote_ident(a.amname) AS name, a.amname AS raw_name, a.amtype,
               a.amhandler::pg_catalog.regproc::text AS handler, \(comment("a.oid", "pg_am")) AS comment
          FROM pg_catalog.pg_am a
         WHERE a.oid >= 16384 AND \(notExtensionMember(catalog: "pg_am", oid: "a.oid"))
         ORDER BY a.amname
        """)

    static let languages = CatalogQuery<CatalogColumns.Language>("languages", """
        SELECT l.oid, pg_catalog.quote_ident(l.lanname) AS name, l.lanname AS raw_name, \(owner("l.lanowner")) AS owner,
               l.lanpltrusted, \(regproc("l.lanplcallfoid", as: "handler")), \(regproc("l.laninline", as: "inline")),
               \(regproc("l.lanvalidator", as: "validator")), \(comment("l.oid", "pg_language")) AS comment, \(grants("l.lanacl")) AS grants
          FROM pg_catalog.pg_language l
         WHERE l.oid >= 16384 AND \(notExtensionMember(catalog: "pg_language", oid: "l.oid"))
         ORDER BY l.lanname
        """)

    static let transforms = CatalogQuery<CatalogColumns.Transform>("transforms", """
        SELECT t.oid, pg_catalog.format_type(t.trftype, NULL) AS type,
               (SELECT pg_catalog.quote_ident(l.lanname) FROM pg_catalog.pg_language l WHERE l.oid = t.trflang) AS language,
               \(regprocedure("t.trffromsql", as: "from_sql")), \(regprocedure("t.trftosql", as: "to_sql")),
               \(comment("t.oid", "pg_transform")) AS comment
          FROM pg_catalog.pg_transform t
         WHERE \(notExtensionMember(catalog: "pg_transform", oid: "t.oid"))
         ORDER BY 2, 3
        """)

    static let foreignDataWrappers = CatalogQuery<CatalogColumns.ForeignDataWrapper>("foreign-data wrappers", """
        SELECT w.oid, pg_catalog.quote_ident(w.fdwname) AS name, w.fdwname AS raw_name, \(owner("w.fdwowner")) AS owner,
               \(regproc("w.fdwhandler", as: "handler")), \(regproc("w.fdwvalidator", as: "validator")),
               \(options("w.fdwoptions")) AS options, \(comment("w.oid", "pg_foreign_data_wrapper")) AS comment, \(grants("w.fdwacl")) AS grants
          FROM pg_catalog.pg_foreign_data_wrapper w
         WHERE \(notExtensionMember(catalog: "pg_foreign_data_wrapper", oid: "w.oid"))
         ORDER BY w.fdwname
        """)

    static let foreignServers = CatalogQuery<CatalogColumns.ForeignServer>("foreign servers", """
        SELECT s.oid, pg_catalog.quote_ident(s.srvname) AS name, s.srvname AS raw_name, \(owner("s.srvowner")) AS owner,
               (SELECT pg_catalog.quote_ident(w.fdwname) FROM pg_catalog.pg_foreign_data_wrapper w WHERE w.oid = s.srvfdw) AS wrapper,
               pg_catalog.quote_literal(s.srvtype) AS type, pg_catalog.quote_literal(s.srvversion) AS version,
               \(options("s.srvoptions")) AS options, \(comment("s.oid", "pg_foreign_server")) AS comment, \(grants("s.srvacl")) AS grants
          FROM pg_catalog.pg_foreign_server s
         WHERE \(notExtensionMember(catalog: "pg_foreign_server", oid: "s.oid"))
         ORDER BY s.srvname
        """)

    /// User mappings; their options can hold passwords (they go into the dump as pg_dump
    /// writes them, and nowhere else).
    static let userMappings = CatalogQuery<CatalogColumns.UserMapping>("user mappings", """
        SELECT u.umid AS oid, u.srvid, pg_catalog.quote_ident(u.srvname) AS server,
               CASE WHEN u.umuser = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(u.usename) END AS role,
               \(options("u.umoptions")) AS options
          FROM pg_catalog.pg_user_mappings u
         ORDER BY u.srvname, u.usename
        """)

    /// A foreign table's server and options (its columns come with the other relations').
    static let foreignTables = CatalogQuery<CatalogColumns.ForeignTable>("foreign tables", """
        SELECT f.ftrelid, (SELECT pg_catalog.quote_ident(s.srvname) FROM pg_catalog.pg_foreign_server s WHERE s.oid = f.ftserver) AS server,
               \(options("f.ftoptions")) AS options
          FROM pg_catalog.pg_foreign_table f
         WHERE f.ftrelid IN (\(userRelations))
        """)

    /// Base types (made with input/output functions), apart from the arrays the server makes.
    static func baseTypes(serverVersion: Int) -> CatalogQuery<CatalogColumns.BaseType> {
        let subscriptFunction = serverVersion >= 140000 ? regproc("t.typsubscript", as: "subscript") : "NULL::text AS subscript"
        return CatalogQuery("base types", """
        SELECT t.oid, pg_catalog.quote_ident(n.nspname) AS schema, pg_catalog.quote_ident(t.typname) AS name,
               n.nspname AS raw_schema, t.typname AS raw_name, \(owner("t.typowner")) AS owner,
               \(regproc("t.typinput", as: "input")), \(regproc("t.typoutput", as: "output")), \(regproc("t.typreceive", as: "receive")),
               \(regproc("t.typsend", as: "send")), \(regproc("t.typmodin", as: "typmod_in")), \(regproc("t.typmodout", as: "typmod_out")),
               \(regproc("t.typanalyze", as: "analyze")), \(subscriptFunction),
               t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory, t.typispreferred,
               pg_catalog.quote_literal(t.typdefault) AS default_value,
               CASE WHEN t.typelem <> 0 THEN pg_catalog.format_type(t.typelem, NULL) END AS element,
               pg_catalog.quote_literal(t.typdelim::text) AS delimiter, t.typcollation <> 0 AS collatable,
               \(comment("t.oid", "pg_type")) AS comment, \(grants("t.typacl")) AS grants
          FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         WHERE t.typtype = 'b' AND \(userSchema("t.typnamespace")) AND \(notExtensionMember(catalog: "pg_type", oid: "t.oid"))
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
         ORDER BY n.nspname, t.typname
        """)
    }

    static let operatorFamilies = CatalogQuery<CatalogColumns.OperatorFamily>("operator families", """
        SELECT f.oid, \(qualified(schema: "n.nspname", name: "f.opfname")) AS qname, n.nspname AS raw_schema, f.opfname AS raw_name,
               \(owner("f.opfowner")) AS owner, (SELECT pg_catalog.quote_ident(a.amname) FROM pg_catalog.pg_am a WHERE a.oid = f.opfmethod) AS am,
               \(comment("f.oid", "pg_opfamily")) AS comment
          FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace
         WHERE \(userSchema("f.opfnamespace")) AND \(notExtensionMember(catalog: "pg_opfamily", oid: "f.oid"))
         ORDER BY n.nspname, f.opfname
        """)

    static let operatorClasses = CatalogQuery<CatalogColumns.OperatorClass>("operator classes", """
        SELECT c.oid, \(qualified(schema: "n.nspname", name: "c.opcname")) AS qname, n.nspname AS raw_schema, c.opcname AS raw_name,
               \(owner("c.opcowner")) AS owner, (SELECT pg_catalog.quote_ident(a.amname) FROM pg_catalog.pg_am a WHERE a.oid = c.opcmethod) AS am,
               c.opcdefault, pg_catalog.format_type(c.opcintype, NULL) AS type, c.opcfamily,
               (SELECT \(qualified(schema: "fn.nspname", name: "f.opfname")) FROM pg_catalog.pg_opfamily f
                  JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace WHERE f.oid = c.opcfamily) AS family,
               CASE WHEN c.opckeytype <> 0 THEN pg_catalog.format_type(c.opckeytype, NULL) END AS storage,
               \(comment("c.oid", "pg_opclass")) AS comment
          FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace
         WHERE \(userSchema("c.opcnamespace")) AND \(notExtensionMember(catalog: "pg_opclass", oid: "c.oid"))
         ORDER BY n.nspname, c.opcname
        """)

    /// The operators and support functions of user operator families; `class` is the
    /// operator class a member belongs to (NULL for a family's loose members).
    static let operatorFamilyMembers = CatalogQuery<CatalogColumns.FamilyMember>("operator family members", """
        SELECT ao.amopfamily AS family, dep.refobjid AS class, 1 AS kind, ao.amopstrategy AS number,
               'OPERATOR ' || ao.amopstrategy || ' ' || pg_catalog.quote_ident(n.nspname) || '.' || o.oprname
                 || '(' || pg_catalog.format_type(ao.amoplefttype, NULL) || ', ' || pg_catalog.format_type(ao.amoprighttype, NULL) || ')'
                 || CASE WHEN ao.amoppurpose = 'o' THEN ' FOR ORDER BY ' || (SELECT \(qualified(schema: "sn.nspname", name: "sf.opfname"))
                      FROM pg_catalog.pg_opfamily sf JOIN pg_catalog.pg_namespace sn ON sn.oid = sf.opfnamespace WHERE sf.oid = ao.amopsortfamily)
                    ELSE '' END AS member
          FROM pg_catalog.pg_amop ao JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr
          JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
          LEFT JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_amop'::pg_catalog.regclass AND dep.objid = ao.oid
               AND dep.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass
         WHERE ao.amopfamily IN (SELECT f.oid FROM pg_catalog.pg_opfamily f WHERE \(userSchema("f.opfnamespace")))
        UNION ALL
        SELECT ap.amprocfamily, dep.refobjid, 2, ap.amprocnum,
               'FUNCTION ' || ap.amprocnum || ' (' || pg_catalog.format_type(ap.amproclefttype, NULL) || ', '
                 || pg_catalog.format_type(ap.amprocrighttype, NULL) || ') ' || ap.amproc::pg_catalog.regprocedure::text
          FROM pg_catalog.pg_amproc ap
          LEFT JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_amproc'::pg_catalog.regclass AND dep.objid = ap.oid
               AND dep.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass
         WHERE ap.amprocfamily IN (SELECT f.oid FROM pg_catalog.pg_opfamily f WHERE \(userSchema("f.opfnamespace")))
         ORDER BY 1, 3, 4, 5
        """)

    /// Subscriptions of this database (reading the connection string needs a superuser; the
    /// caller checks). Every option the server version has, spelled out.
    static func subscriptions(serverVersion v: Int) -> CatalogQuery<CatalogColumns.Subscription> {
        let column = { (minimum: Int, expr: String, name: String) in v >= minimum ? "\(expr) AS \(name)" : "NULL::text AS \(name)" }
        return CatalogQuery("subscriptions", """
        SELECT s.oid, pg_catalog.quote_ident(s.subname) AS name, s.subname AS raw_name, \(owner("s.subowner")) AS owner,
               pg_catalog.quote_literal(s.subconninfo) AS conninfo, pg_catalog.quote_literal(s.subslotname) AS slot,
               (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p), ', ' ORDER BY o) FROM pg_catalog.unnest(s.subpublications) WITH ORDINALITY AS x(p, o)) AS publications,
               pg_catalog.quote_literal(s.subsynccommit) AS synchronous_commit,
               \(column(140000, "s.subbinary::text", "binary")), \(column(140000, "s.substream::text", "streaming")),
               \(column(150000, "s.subtwophasestate::text", "two_phase")), \(column(150000, "s.subdisableonerr::text", "disable_on_error")),
               \(column(160000, "pg_catalog.quote_literal(s.suborigin)", "origin")), \(column(160000, "s.subpasswordrequired::text", "password_required")),
               \(column(160000, "s.subrunasowner::text", "run_as_owner")), \(column(170000, "s.subfailover::text", "failover")),
               \(comment("s.oid", "pg_subscription")) AS comment
          FROM pg_catalog.pg_subscription s
         WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
         ORDER BY s.subname
        """)
    }

    /// Security labels on this database's objects, as the server names them.
    static let securityLabels = CatalogQuery<CatalogColumns.SecurityLabel>("security labels", """
        SELECT pg_catalog.upper(l.objtype) AS objtype, l.objname, pg_catalog.quote_ident(l.provider) AS provider,
               pg_catalog.quote_literal(l.label) AS label
          FROM pg_catalog.pg_seclabels l
         WHERE l.objtype NOT IN ('role', 'database', 'tablespace')
           AND (l.objnamespace IS NULL OR \(userSchema("l.objnamespace")))
         ORDER BY l.objtype, l.objname, l.provider
        """)
}
