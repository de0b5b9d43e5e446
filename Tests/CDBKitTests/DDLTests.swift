import Foundation
import Testing
@testable import CDBKit

/// The DDL cdb-pg-dump writes, rendered from catalog rows made by hand: no server needed.
@Suite("DDL rendering")
struct DDLTests {
    let options = DDL.Options(owners: true, privileges: true)

    @Test("grants: a NULL ACL writes nothing; an empty one revokes everything, the owner's own privileges too")
    func revokedToNothing() {
        #expect(DDL.grantStatements(kind: "FUNCTION", name: "s.f()", owner: "alice", grants: nil, options: options) == "")
        #expect(DDL.grantStatements(kind: "FUNCTION", name: "s.f()", owner: "alice", grants: "", options: options)
                == "\nREVOKE ALL ON FUNCTION s.f() FROM PUBLIC;\nREVOKE ALL ON FUNCTION s.f() FROM alice;\n")
        // A column ACL has no owner entry: empty means nothing to write.
        #expect(DDL.grantStatements(kind: "TABLE", name: "s.t", owner: nil, grants: "", column: "c", options: options) == "")
    }

    @Test("grants: privileges grouped per grantee and grant option, in the ACL's order; columns named; --no-privileges writes none")
    func grouped() {
        let acl = "alice\tSELECT\tfalse\nPUBLIC\tSELECT\tfalse\nalice\tINSERT\tfalse\nbob\tSELECT\ttrue"
        let text = DDL.grantStatements(kind: "TABLE", name: "s.t", owner: "alice", grants: acl, options: options)
        #expect(text.contains("GRANT SELECT,INSERT ON TABLE s.t TO alice;\nGRANT SELECT ON TABLE s.t TO PUBLIC;\nGRANT SELECT ON TABLE s.t TO bob WITH GRANT OPTION;\n"))
        let column = DDL.grantStatements(kind: "TABLE", name: "s.t", owner: nil, grants: "bob\tUPDATE\tfalse", column: "c", options: options)
        #expect(column == "\nGRANT UPDATE (c) ON TABLE s.t TO bob;\n")
        #expect(DDL.grantStatements(kind: "TABLE", name: "s.t", owner: "alice", grants: acl, options: DDL.Options(owners: true, privileges: false)) == "")
    }

    @Test("columns: generated (stored, virtual, inherited plain), defaults (kept or left for later), NOT NULL, collation, identity, foreign options")
    func columns() {
        let generated = Record<CatalogColumns.Attribute>([.name: "g", .type: "integer", .attgenerated: "s", .defaultExpr: "(x * 2)", .attnotnull: "f"])
        #expect(DDL.column(generated, identitySequence: nil) == "g integer GENERATED ALWAYS AS ((x * 2)) STORED")
        #expect(DDL.column(generated, identitySequence: nil, plainGenerated: true) == "g integer")
        let virtual = Record<CatalogColumns.Attribute>([.name: "v", .type: "integer", .attgenerated: "v", .defaultExpr: "(x + 1)"])
        #expect(DDL.column(virtual, identitySequence: nil) == "v integer GENERATED ALWAYS AS ((x + 1)) VIRTUAL")
        let plain = Record<CatalogColumns.Attribute>([.name: "\"Odd\"", .type: "text", .collation: "pg_catalog.\"C\"", .defaultExpr: "'x'::text", .attnotnull: "t", .attgenerated: ""])
        #expect(DDL.column(plain, identitySequence: nil) == "\"Odd\" text COLLATE pg_catalog.\"C\" DEFAULT 'x'::text NOT NULL")
        #expect(DDL.column(plain, identitySequence: nil, omitDefault: true) == "\"Odd\" text COLLATE pg_catalog.\"C\" NOT NULL")
        #expect(DDL.column(plain, identitySequence: nil, options: "column_name 'id'").hasPrefix("\"Odd\" text OPTIONS (\n    column_name 'id'\n) COLLATE"))
        let identity = Record<CatalogColumns.Attribute>([.name: "id", .type: "bigint", .attidentity: "a", .attnotnull: "t", .attgenerated: ""])
        let sequence = Record<CatalogColumns.Sequence>([.schema: "s", .name: "t_id_seq", .seqstart: "100", .seqincrement: "7", .seqmin: "1",
                            .seqmax: "9223372036854775807", .seqcache: "1", .seqcycle: "f"])
        #expect(DDL.column(identity, identitySequence: sequence) == """
            id bigint NOT NULL GENERATED ALWAYS AS IDENTITY (
                    SEQUENCE NAME s.t_id_seq
                    START WITH 100
                    INCREMENT BY 7
                    MINVALUE 1
                    MAXVALUE 9223372036854775807
                    CACHE 1
                    NO CYCLE
                )
            """)
    }

    @Test("PostgreSQL 18 NOT NULL constraints: named, NO INHERIT, and NOT VALID ones left for after the data")
    func notNullConstraints() {
        let named = Record<CatalogColumns.Attribute>([.name: "a", .type: "integer", .attnotnull: "t", .notnullName: "a_required", .notnullValid: "t",
                         .notnullDefaultName: "f", .notnullNoinherit: "t", .attgenerated: ""])
        #expect(DDL.column(named, identitySequence: nil) == "a integer CONSTRAINT a_required NOT NULL NO INHERIT")
        let later = Record<CatalogColumns.Attribute>([.name: "a", .type: "integer", .attnotnull: "t", .notnullName: "a_nn", .notnullValid: "f", .attgenerated: ""])
        #expect(DDL.column(later, identitySequence: nil) == "a integer")
    }

    @Test("headers keep names with line breaks on one comment line; trigger states and tablespaces wrap their statements")
    func headersAndWrappers() {
        #expect(DDL.header(name: "bad\nname", type: "TABLE", schema: "s\r", owner: nil)
                == "--\n-- Name: bad name; Type: TABLE; Schema: s ; Owner: -\n--\n\n")
        #expect(PostgresDumper.triggerState(table: "s.t", trigger: "tr", state: "D") == "ALTER TABLE ONLY s.t DISABLE TRIGGER tr;\n")
        #expect(PostgresDumper.triggerState(table: "s.t", trigger: "tr", state: "A") == "ALTER TABLE ONLY s.t ENABLE ALWAYS TRIGGER tr;\n")
        #expect(PostgresDumper.triggerState(table: "s.t", trigger: "tr", state: "O") == "")
        #expect(PostgresDumper.inTablespace(nil, "CREATE TABLE x ();\n") == "CREATE TABLE x ();\n")
        #expect(PostgresDumper.inTablespace("fast", "CREATE TABLE x ();\n")
                == "SET default_tablespace = fast;\n\nCREATE TABLE x ();\nSET default_tablespace = '';\n")
    }

    @Test("a script's own BEGIN/COMMIT are recognised, nothing else")
    func transactionControl() {
        for text in ["BEGIN;", "begin work;", "COMMIT;", "END TRANSACTION;", "START TRANSACTION;", "\n  COMMIT\n;"] {
            #expect(DumpRestore.isTransactionControl(text), "\(text)")
        }
        for text in ["BEGIN ISOLATION LEVEL SERIALIZABLE;", "SELECT 1;", "COMMIT PREPARED 'x';", "ENDX;", "CREATE FUNCTION f() BEGIN ATOMIC END;"] {
            #expect(!DumpRestore.isTransactionControl(text), "\(text)")
        }
    }
}

/// Every object kind's DDL from rows made by hand, as the catalog queries return them (names
/// already quoted, literals already quoted).
@Suite("DDL of each object kind")
struct DDLRendererTests {
    let render = DDLRenderer(options: DDL.Options(owners: true, privileges: true))

    @Test("an ordered-set aggregate: its arguments, FINALFUNC_EXTRA, the ordered-set default of FINALFUNC_MODIFY left out, parallel; GRANT names it as a function")
    func aggregate() {
        let a = Record<CatalogColumns.Aggregate>([.oid: "1", .prokind: "a", .schema: "shop", .name: "median_of", .rawSchema: "shop", .rawName: "median_of",
                     .args: "double precision ORDER BY double precision", .fullArgs: "double precision ORDER BY double precision",
                     .argTypes: "double precision, double precision", .aggkind: "o", .proparallel: "s",
                     .aggtransfn: "ordered_set_transition", .aggfinalfn: "percentile_disc_final", .aggfinalextra: "t",
                     .aggfinalmodify: "w", .stype: "internal", .aggtransspace: "0", .aggmtransspace: "0",
                     .owner: "alice", .grants: "", .comment: "'the median'"])
        let text = render.aggregateDDL(a)
        #expect(text.contains("""
            CREATE AGGREGATE shop.median_of(double precision ORDER BY double precision) (
                SFUNC = ordered_set_transition,
                STYPE = internal,
                FINALFUNC = percentile_disc_final,
                FINALFUNC_EXTRA,
                PARALLEL = safe
            );
            """), "\(text)")
        #expect(text.contains("ALTER AGGREGATE shop.median_of(double precision ORDER BY double precision) OWNER TO alice;"))
        #expect(text.contains("COMMENT ON AGGREGATE shop.median_of(double precision ORDER BY double precision) IS 'the median';"))
        #expect(text.contains("REVOKE ALL ON FUNCTION shop.median_of(double precision, double precision) FROM PUBLIC;"))
        let star = Record<CatalogColumns.Aggregate>([.prokind: "a", .schema: "s", .name: "n", .rawName: "n", .args: "", .fullArgs: "", .argTypes: "",
                        .aggkind: "n", .aggtransfn: "int8inc", .stype: "bigint", .aggtransspace: "0", .aggmtransspace: "0",
                        .initval: "'0'", .owner: "alice"])
        #expect(render.aggregateDDL(star).contains("CREATE AGGREGATE s.n(*) (\n    SFUNC = int8inc,\n    STYPE = bigint,\n    INITCOND = '0'\n);"))
    }

    @Test("operators, casts, collations of each provider")
    func operatorsCastsCollations() {
        let op = Record<CatalogColumns.Operator>([.oid: "2", .schema: "shop", .name: "~=", .rawSchema: "shop", .owner: "alice", .function: "shop.approx_eq",
                      .leftarg: "numeric", .rightarg: "numeric", .commutator: "OPERATOR(shop.~=)", .restrict: "eqsel",
                      .join: "eqjoinsel", .oprcanmerge: "f", .oprcanhash: "f"])
        let text = render.ddl(of: .operator(op), Catalog())
        #expect(text.contains("CREATE OPERATOR shop.~= (\n    FUNCTION = shop.approx_eq,\n    LEFTARG = numeric,\n    RIGHTARG = numeric,\n    COMMUTATOR = OPERATOR(shop.~=),\n    RESTRICT = eqsel,\n    JOIN = eqjoinsel\n);"), "\(text)")
        #expect(text.contains("ALTER OPERATOR shop.~=(numeric, numeric) OWNER TO alice;"))
        let prefix = Record<CatalogColumns.Operator>([.schema: "s", .name: "##", .owner: "", .function: "s.twice", .rightarg: "integer"])
        #expect(render.ddl(of: .operator(prefix), Catalog()).contains("CREATE OPERATOR s.## (\n    FUNCTION = s.twice,\n    RIGHTARG = integer\n);"))

        let cast = { (method: String, context: String) in
            render.ddl(of: .cast(Record([.source: "s.tag", .target: "text", .castmethod: method, .castcontext: context, .function: "s.f(s.tag)"])), Catalog())
        }
        #expect(cast("b", "i").contains("CREATE CAST (s.tag AS text) WITHOUT FUNCTION AS IMPLICIT;"))
        #expect(cast("i", "e").contains("CREATE CAST (s.tag AS text) WITH INOUT;"))
        #expect(cast("f", "a").contains("CREATE CAST (s.tag AS text) WITH FUNCTION s.f(s.tag) AS ASSIGNMENT;"))

        func collation(_ fields: KeyValuePairs<CatalogColumns.Collation, String?>) -> String { render.ddl(of: .collation(Record(fields)), Catalog()) }
        #expect(collation([.schema: "s", .name: "c", .owner: "", .collprovider: "c", .collisdeterministic: "t", .collate: "'C'", .ctype: "'C'"])
                .contains("CREATE COLLATION s.c (provider = libc, locale = 'C');"))
        #expect(collation([.schema: "s", .name: "m", .owner: "", .collprovider: "c", .collisdeterministic: "t", .collate: "'C'", .ctype: "'POSIX'"])
                .contains("CREATE COLLATION s.m (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');"))
        #expect(collation([.schema: "s", .name: "ci", .owner: "", .collprovider: "i", .collisdeterministic: "f", .locale: "'und-u-ks-level2'"])
                .contains("CREATE COLLATION s.ci (provider = icu, deterministic = false, locale = 'und-u-ks-level2');"))
        // Before 15 the ICU locale was collcollate.
        #expect(collation([.schema: "s", .name: "old", .owner: "", .collprovider: "i", .collisdeterministic: "t", .collate: "'de-DE'"])
                .contains("CREATE COLLATION s.old (provider = icu, locale = 'de-DE');"))
        #expect(collation([.schema: "s", .name: "b", .owner: "", .collprovider: "b", .collisdeterministic: "t", .locale: "'C.UTF-8'"])
                .contains("CREATE COLLATION s.b (provider = builtin, locale = 'C.UTF-8');"))
    }

    @Test("text search configurations with their mappings, operator classes with their family, base types, foreign servers and user mappings")
    func moreKinds() {
        let config = Record<CatalogColumns.TextSearchConfiguration>([.qname: "shop.docs", .rawName: "docs", .owner: "alice", .parser: "shop.words",
                          .mappings: "asciiword\tshop.keep_all, pg_catalog.english_stem\nint\tpg_catalog.simple"])
        let text = render.ddl(of: .textSearchConfiguration(config), Catalog())
        #expect(text.contains("CREATE TEXT SEARCH CONFIGURATION shop.docs (\n    PARSER = shop.words );"))
        #expect(text.contains("ALTER TEXT SEARCH CONFIGURATION shop.docs\n    ADD MAPPING FOR asciiword WITH shop.keep_all, pg_catalog.english_stem;"))
        #expect(text.contains("ADD MAPPING FOR int WITH pg_catalog.simple;"))

        var cat = Catalog()
        cat.familyMembers[ObjectKey(.operatorClass, "7")] = ["OPERATOR 1 shop.|<|(integer, integer)", "FUNCTION 1 (integer, integer) shop.abs_cmp(integer,integer)"]
        let opclass = Record<CatalogColumns.OperatorClass>([.oid: "7", .qname: "shop.abs_ops", .rawName: "abs_ops", .owner: "", .am: "btree", .opcdefault: "f",
                           .type: "integer", .family: "shop.abs_ops"])
        #expect(render.ddl(of: .operatorClass(opclass), cat).contains("""
            CREATE OPERATOR CLASS shop.abs_ops FOR TYPE integer USING btree FAMILY shop.abs_ops AS
                OPERATOR 1 shop.|<|(integer, integer),
                FUNCTION 1 (integer, integer) shop.abs_cmp(integer,integer);
            """))

        let base = Record<CatalogColumns.BaseType>([.schema: "s", .name: "tag", .rawSchema: "s", .rawName: "tag", .owner: "alice", .input: "s.tag_in", .output: "s.tag_out",
                        .typlen: "-1", .typbyval: "f", .typalign: "i", .typstorage: "x", .typcategory: "S", .typispreferred: "f",
                        .delimiter: "','", .collatable: "t"])
        #expect(render.ddl(of: .shellType(base), Catalog()) == "--\n-- Name: tag; Type: SHELL TYPE; Schema: s; Owner: alice\n--\n\nCREATE TYPE s.tag;\n")
        #expect(render.ddl(of: .baseType(base), Catalog()).contains("""
            CREATE TYPE s.tag (
                INTERNALLENGTH = variable,
                INPUT = s.tag_in,
                OUTPUT = s.tag_out,
                ALIGNMENT = int4,
                STORAGE = extended,
                CATEGORY = 'S',
                COLLATABLE = true
            );
            """))

        let server = Record<CatalogColumns.ForeignServer>([.name: "remote", .rawName: "remote", .owner: "alice", .wrapper: "w", .type: "'pg'",
                          .options: "host 'db.example', port '5432'"])
        #expect(render.ddl(of: .foreignServer(server), Catalog()).contains("CREATE SERVER remote TYPE 'pg' FOREIGN DATA WRAPPER w OPTIONS (\n    host 'db.example', port '5432'\n);"))
        let mapping = Record<CatalogColumns.UserMapping>([.server: "remote", .role: "PUBLIC"])
        #expect(render.ddl(of: .userMapping(mapping), Catalog()).hasSuffix("CREATE USER MAPPING FOR PUBLIC SERVER remote;\n"))
    }

    @Test("tables: a partition as a table of its own with the parent's CHECK, a typed table, a child with an inherited NOT NULL of its own, replica identity")
    func tables() {
        var cat = Catalog()
        cat.columns["20"] = [Record<CatalogColumns.Attribute>([.attnum: "1", .name: "b", .type: "text", .attislocal: "t", .attinhcount: "1", .attgenerated: "", .defaultExpr: "'old'::text"]),
                             Record<CatalogColumns.Attribute>([.attnum: "2", .name: "a", .type: "integer", .attislocal: "f", .attinhcount: "1", .attnotnull: "t", .attgenerated: ""])]
        cat.tableConstraints["20"] = [Record<CatalogColumns.Constraint>([.contype: "c", .convalidated: "t", .conislocal: "f", .name: "positive", .def: "CHECK ((a > 0))"])]
        let partition = Record<CatalogColumns.Relation>([.oid: "20", .relkind: "r", .schema: "s", .name: "p1", .rawSchema: "s", .rawName: "p1", .owner: "",
                             .relispartition: "t", .parents: "s.parent", .parentOids: "19", .partitionBound: "FOR VALUES IN (1)",
                             .relreplident: "f", .relpersistence: "p"])
        let text = render.relationDDL(partition, cat)
        #expect(text.contains("CREATE TABLE s.p1 (\n    b text DEFAULT 'old'::text,\n    a integer NOT NULL,\n    CONSTRAINT positive CHECK ((a > 0))\n);"), "\(text)")
        #expect(!text.contains("PARTITION OF") && !text.contains("INHERITS"))
        #expect(text.contains("ALTER TABLE ONLY s.p1 REPLICA IDENTITY FULL;"))

        cat.columns["21"] = [Record<CatalogColumns.Attribute>([.attnum: "1", .name: "city", .type: "text", .attislocal: "f", .attnotnull: "t", .attgenerated: "", .defaultExpr: "'Berlin'::text"])]
        let typed = Record<CatalogColumns.Relation>([.oid: "21", .relkind: "r", .schema: "s", .name: "addresses", .rawName: "addresses", .owner: "", .ofType: "s.address", .relpersistence: "p"])
        #expect(render.relationDDL(typed, cat).contains("CREATE TABLE s.addresses OF s.address (\n    city WITH OPTIONS DEFAULT 'Berlin'::text NOT NULL\n);"))

        cat.columns["18"] = [Record<CatalogColumns.Attribute>([.attnum: "1", .name: "x", .type: "integer", .attislocal: "t", .attgenerated: ""])]
        cat.columns["22"] = [Record<CatalogColumns.Attribute>([.attnum: "1", .name: "x", .type: "integer", .attislocal: "f", .attnotnull: "t", .attgenerated: ""]),
                             Record<CatalogColumns.Attribute>([.attnum: "2", .name: "y", .type: "integer", .attislocal: "t", .attgenerated: ""])]
        let child = Record<CatalogColumns.Relation>([.oid: "22", .relkind: "r", .schema: "s", .name: "derived", .rawName: "derived", .owner: "", .parents: "s.base",
                         .parentOids: "18", .relpersistence: "p"])
        let childText = render.relationDDL(child, cat)
        #expect(childText.contains("CREATE TABLE s.derived (\n    y integer\n)\nINHERITS (s.base);"))
        #expect(childText.contains("ALTER TABLE ONLY s.derived ALTER COLUMN x SET NOT NULL;"))
    }
}

@Suite("server errors")
struct ServerErrorTests {
    @Test("a server error's exit code follows its SQLSTATE, within the documented codes")
    func exitCodes() {
        let cases: [(String, CDBKit.ExitStatus)] = [
            ("42501", .config),       // a privilege missing: the wrong role
            ("55P03", .tempFail), ("57014", .tempFail), ("40001", .tempFail), ("40P01", .tempFail),
            ("08006", .unavailable), ("53100", .unavailable), ("57P01", .unavailable),
            ("42601", .failure), ("42703", .failure),   // a query cdb wrote: a bug to report
            ("XX000", .dataError), ("22P02", .dataError), ("P0001", .dataError),
        ]
        for (sqlstate, status) in cases {
            #expect(CDBError.query(context: "x", sqlstate: sqlstate, message: "m").exitStatus == status, "\(sqlstate)")
            #expect(CDBError.objectFailed(object: "view v", sqlstate: sqlstate, message: "m").exitStatus == status, "\(sqlstate)")
        }
        let failed = CDBError.objectFailed(object: "materialized view public.mv", sqlstate: "XX000", message: "unrecognized RTE kind: 7")
        #expect(failed.errorDescription?.contains("the server failed on materialized view public.mv") == true)
        #expect(failed.errorDescription?.contains("pg_dump cannot dump it either") == true)
    }
}

/// The typed keys of the pre-data order: parsed from the dependencies query's text, ordered
/// exactly as those texts (the dump's order of ties, so dumps stay byte-identical).
@Suite("catalog keys and the pre-data order")
struct ObjectKeyTests {
    @Test("a key parses from its text and back; anything else is no key")
    func parsing() {
        #expect(ObjectKey("c:16384") == ObjectKey(.relation, "16384"))
        #expect(ObjectKey("B:20001")?.kind == .baseType)
        #expect(ObjectKey("c:16384")?.description == "c:16384")
        for bad in ["", "c:", ":1", "cc:1", "z:1", "c:1a", "c:-1", "c: 1", "c:١"] { #expect(ObjectKey(bad) == nil, "\(bad)") }
    }

    @Test("keys order as their texts do")
    func ordering() {
        let texts = ["c:16384", "c:9", "c:100000", "B:1", "b:1", "t:2", "p:16384", "s:3", "U:7", "q:12", "f:12"]
        let keys = texts.compactMap(ObjectKey.init)
        #expect(keys.count == texts.count)
        #expect(keys.sorted().map(\.description) == texts.sorted())
    }

    @Test("what an object depends on comes first; ties go by rank, then name, then key; a cycle is broken, not lost")
    func dependencyOrder() {
        let table = ObjectKey(.relation, "30"), type = ObjectKey(.type, "20"), function = ObjectKey(.routine, "10")
        let rank: [ObjectKey: (Int, String)] = [type: (10, "s.t"), function: (20, "s.f("), table: (60, "s.a")]
        // The table uses the type, the function reads the table: the function goes last
        // although its kind comes before tables.
        let order = DependencyOrder.sort([table, function, type], rank: rank, edges: [(table, type), (function, table)])
        #expect(order == [type, table, function])
        #expect(DependencyOrder.sort([table, function, type], rank: rank, edges: []) == [type, function, table])
        let cycle = DependencyOrder.sort([table, function], rank: rank, edges: [(table, function), (function, table)])
        #expect(Set(cycle) == [table, function] && cycle.count == 2)
    }
}

/// What `cdb-restore --jobs` runs side by side, and what it keeps in order.
@Suite("parallel restore: which statements run side by side")
struct ParallelRestoreRulesTests {
    @Test("indexes and keys, unique, exclusion and check constraints run side by side; foreign keys and the rest do not")
    func independent() {
        #expect(ParallelRestore.isIndependentDDL("CREATE INDEX i ON ONLY s.t USING btree (a);"))
        #expect(ParallelRestore.isIndependentDDL("\n\nCREATE UNIQUE INDEX \"Odd\" ON s.t USING btree (a);"))
        #expect(ParallelRestore.isIndependentDDL("ALTER TABLE ONLY s.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);"))
        #expect(ParallelRestore.isIndependentDDL("ALTER TABLE s.t\n    ADD CONSTRAINT c CHECK ((a > 0)) NOT VALID;"))
        #expect(!ParallelRestore.isIndependentDDL("ALTER TABLE ONLY s.t\n    ADD CONSTRAINT t_fk FOREIGN KEY (o) REFERENCES s.o(id);"))
        #expect(!ParallelRestore.isIndependentDDL("ALTER INDEX s.p ATTACH PARTITION s.c;"))
        #expect(!ParallelRestore.isIndependentDDL("CREATE TRIGGER t AFTER INSERT ON s.t FOR EACH ROW EXECUTE FUNCTION s.f();"))
        #expect(!ParallelRestore.isIndependentDDL("ALTER TABLE ONLY s.t REPLICA IDENTITY USING INDEX i;"))
        // A hostile name that reads like a key must not make a foreign key jump the queue.
        #expect(!ParallelRestore.isIndependentDDL("ALTER TABLE s.\"x add constraint y primary key\"\n    ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.o(id);"))
        #expect(!ParallelRestore.isIndependentDDL("ALTER TABLE s.t ADD CONSTRAINT \"primary\" FOREIGN KEY (a) REFERENCES s.o(id);"))
        #expect(ParallelRestore.isIndependentDDL("ALTER TABLE s.\"add constraint\" ADD CONSTRAINT \"foreign key\" UNIQUE (a);"))
    }

    @Test("the table a statement locks, quoted names included; nil when it does not read plainly")
    func lockedTable() {
        #expect(ParallelRestore.lockedTable("CREATE INDEX i ON ONLY s.t USING btree (a);") == "s.t")
        #expect(ParallelRestore.lockedTable("CREATE UNIQUE INDEX \"a ON b\" ON \"My Schema\".\"T\" USING btree (a);") == "My Schema.T")
        #expect(ParallelRestore.lockedTable("ALTER TABLE ONLY s.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);") == "s.t")
        #expect(ParallelRestore.lockedTable("ALTER TABLE \"s\".\"x\"\"y\" ADD CONSTRAINT c CHECK (true);") == "s.x\"y")
        #expect(ParallelRestore.lockedTable("SELECT 1;") == nil)
    }

    @Test("session settings are named; SET LOCAL, ROLE, CONSTRAINTS and TRANSACTION are not the script's session")
    func settings() {
        #expect(ParallelRestore.sessionSetting("SET client_encoding = 'UTF8';") == "client_encoding")
        #expect(ParallelRestore.sessionSetting("\nSET default_tablespace = '';") == "default_tablespace")
        #expect(ParallelRestore.sessionSetting("SELECT pg_catalog.set_config('search_path', '', false);") == "set_config search_path")
        #expect(ParallelRestore.sessionSetting("SET LOCAL lock_timeout = 0;") == nil)
        #expect(ParallelRestore.sessionSetting("SET ROLE alice;") == nil)
        #expect(ParallelRestore.sessionSetting("SET CONSTRAINTS ALL DEFERRED;") == nil)
        #expect(ParallelRestore.sessionSetting("CREATE TABLE s.t (a integer);") == nil)
    }
}

extension ParallelRestoreRulesTests {
    @Test("a foreign key names both its tables (it locks both); anything else is no foreign key")
    func foreignKeys() {
        #expect(ParallelRestore.foreignKeyTables("ALTER TABLE ONLY public.trades\n    ADD CONSTRAINT trades_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id);") == ["public.trades", "public.orders"])
        #expect(ParallelRestore.foreignKeyTables("ALTER TABLE \"S\".\"a, b\" ADD CONSTRAINT \"x) REFERENCES y\" FOREIGN KEY (\"c)\", d) REFERENCES \"S\".\"T\"(e, f) NOT VALID;") == ["S.a, b", "S.T"])
        #expect(ParallelRestore.foreignKeyTables("ALTER TABLE ONLY s.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);") == nil)
        #expect(ParallelRestore.foreignKeyTables("CREATE INDEX i ON s.t USING btree (a);") == nil)
        #expect(ParallelRestore.lockedTable("CREATE INDEX only_idx ON ONLY s.t USING btree (a);") == "s.t")
    }
}

extension ParallelRestoreRulesTests {
    @Test("a plain foreign key is added NOT VALID and validated apart, its names written as they were; others stay whole")
    func validatedLater() {
        let plain = ParallelRestore.validatedLater("ALTER TABLE ONLY public.trades\n    ADD CONSTRAINT trades_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id);\n")
        #expect(plain?.add == "ALTER TABLE ONLY public.trades\n    ADD CONSTRAINT trades_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) NOT VALID;")
        #expect(plain?.validate == "ALTER TABLE ONLY public.trades VALIDATE CONSTRAINT trades_order_id_fkey;")
        // Quoted names keep their quotes (and doubled quotes); attributes stay before NOT VALID.
        let quoted = ParallelRestore.validatedLater("ALTER TABLE ONLY \"My S\".\"T\"\"x\" ADD CONSTRAINT \"Fk; DROP\" FOREIGN KEY (a) REFERENCES \"My S\".o(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;")
        #expect(quoted?.add.hasSuffix("DEFERRABLE INITIALLY DEFERRED NOT VALID;") == true)
        #expect(quoted?.validate == "ALTER TABLE ONLY \"My S\".\"T\"\"x\" VALIDATE CONSTRAINT \"Fk; DROP\";")
        // NOT VALID already: nothing to validate. No ONLY: a partitioned table's key (NOT VALID
        // refused before PostgreSQL 18). Not a foreign key at all.
        #expect(ParallelRestore.validatedLater("ALTER TABLE ONLY s.t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.o(id) NOT VALID;") == nil)
        #expect(ParallelRestore.validatedLater("ALTER TABLE ONLY s.t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.o(id) not\n valid ;") == nil)
        #expect(ParallelRestore.validatedLater("ALTER TABLE ONLY s.t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.o(id) NOT ENFORCED;") == nil)
        #expect(ParallelRestore.validatedLater("ALTER TABLE s.parted\n    ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.o(id);") == nil)
        #expect(ParallelRestore.validatedLater("ALTER TABLE ONLY s.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);") == nil)
        // A hostile name that reads like the clause is a name, not the clause.
        let named = ParallelRestore.validatedLater("ALTER TABLE ONLY s.t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES s.\"not valid\"(id);")
        #expect(named?.add.hasSuffix("REFERENCES s.\"not valid\"(id) NOT VALID;") == true)
    }
}

@Suite("cdb-pg-dump --jobs: the plan of COPYs")
struct ParallelDataPlanTests {
    /// The (from, to) pages of each range of `sql`s (to nil for the last, open-ended one).
    func bounds(_ sql: String) -> (Int64, Int64?)? {
        func page(after marker: String) -> Int64? {
            guard let at = sql.range(of: marker) else { return nil }
            return Int64(sql[at.upperBound...].prefix { $0.isNumber })
        }
        guard let from = page(after: "ctid >= '(") else { return nil }
        return (from, page(after: "ctid < '("))
    }

    @Test("a big table's page ranges cover it once, in order, and each fits the read-ahead budget of the workers ahead of the writer (else a worker waits for the writer and one connection reads at a time); small tables and servers before 14 read whole",
          arguments: [2, 4, 8])
    func ranges(jobs: Int) throws {
        let big: Int64 = 163_935  // pgbench scale 100: 1.3 GB
        let tables = [ParallelData.Table(name: "s.small", display: "s.small", columns: "", pages: 1000),
                      ParallelData.Table(name: "s.big", display: "s.big", columns: " (a, b)", pages: big),
                      ParallelData.Table(name: "s.mid", display: "s.mid", columns: "", pages: 1500)]
        let units = ParallelData.units(tables, serverVersion: 150_000, jobs: jobs)
        #expect(units.filter { $0.table == 0 }.map(\.sql) == ["COPY s.small TO STDOUT"])
        for table in [1, 2] {
            let mine = units.filter { $0.table == table }
            #expect(mine.count > 1)
            #expect(mine.map(\.lastOfTable) == Array(repeating: false, count: mine.count - 1) + [true])
            var next: Int64 = 0
            for unit in mine {
                let (from, to) = try #require(bounds(unit.sql))
                #expect(from == next)
                if let to {
                    #expect((to - from) * 8192 * Int64(jobs - 1) <= Int64(ParallelData.budget))
                    next = to
                } else {
                    #expect(unit.lastOfTable)
                    #expect(tables[table].pages - from <= ParallelData.rangePages(tables[table].pages, jobs: jobs))
                }
            }
        }
        #expect(units.filter { $0.table == 1 }.allSatisfy { $0.sql.hasPrefix("COPY (SELECT a, b FROM ONLY s.big WHERE ") })
        #expect(ParallelData.units(tables, serverVersion: 130_000, jobs: jobs).map(\.sql)
                == ["COPY s.small TO STDOUT", "COPY s.big (a, b) TO STDOUT", "COPY s.mid TO STDOUT"])
    }
}
