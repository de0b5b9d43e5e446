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
        let generated = Row(["name": "g", "type": "integer", "attgenerated": "s", "default_expr": "(x * 2)", "attnotnull": "f"])
        #expect(DDL.column(generated, identitySequence: nil) == "g integer GENERATED ALWAYS AS ((x * 2)) STORED")
        #expect(DDL.column(generated, identitySequence: nil, plainGenerated: true) == "g integer")
        let virtual = Row(["name": "v", "type": "integer", "attgenerated": "v", "default_expr": "(x + 1)"])
        #expect(DDL.column(virtual, identitySequence: nil) == "v integer GENERATED ALWAYS AS ((x + 1)) VIRTUAL")
        let plain = Row(["name": "\"Odd\"", "type": "text", "collation": "pg_catalog.\"C\"", "default_expr": "'x'::text", "attnotnull": "t", "attgenerated": ""])
        #expect(DDL.column(plain, identitySequence: nil) == "\"Odd\" text COLLATE pg_catalog.\"C\" DEFAULT 'x'::text NOT NULL")
        #expect(DDL.column(plain, identitySequence: nil, omitDefault: true) == "\"Odd\" text COLLATE pg_catalog.\"C\" NOT NULL")
        #expect(DDL.column(plain, identitySequence: nil, options: "column_name 'id'").hasPrefix("\"Odd\" text OPTIONS (\n    column_name 'id'\n) COLLATE"))
        let identity = Row(["name": "id", "type": "bigint", "attidentity": "a", "attnotnull": "t", "attgenerated": ""])
        let sequence = Row(["schema": "s", "name": "t_id_seq", "seqstart": "100", "seqincrement": "7", "seqmin": "1",
                            "seqmax": "9223372036854775807", "seqcache": "1", "seqcycle": "f"])
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
        let named = Row(["name": "a", "type": "integer", "attnotnull": "t", "notnull_name": "a_required", "notnull_valid": "t",
                         "notnull_default_name": "f", "notnull_noinherit": "t", "attgenerated": ""])
        #expect(DDL.column(named, identitySequence: nil) == "a integer CONSTRAINT a_required NOT NULL NO INHERIT")
        let later = Row(["name": "a", "type": "integer", "attnotnull": "t", "notnull_name": "a_nn", "notnull_valid": "f", "attgenerated": ""])
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
