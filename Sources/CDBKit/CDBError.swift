import FoundationEssentials
import Glibc

/// Exit codes of every cdb program (sysexits.h).
public enum ExitStatus: Int32, Comparable, Sendable {
    case success = 0
    case failure = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case unavailable = 69
    case cantCreate = 73
    case ioError = 74
    case tempFail = 75
    case noPermission = 77
    case config = 78

    public static func < (a: ExitStatus, b: ExitStatus) -> Bool {
        // "Worst" ordering: any failure beats success; among failures the higher code wins.
        a.rawValue < b.rawValue
    }
}

/// Every failure CDBKit reports. Each case carries its context and knows its exit code.
public enum CDBError: LocalizedError, Equatable {
    /// The database server could not be reached.
    case databaseUnreachable(target: String, reason: String)
    /// The server was unreachable and CDB_DB_START_COMMAND did not bring it up (exit 69).
    case databaseStartFailed(String)
    /// The server refused the credentials, or no database was configured.
    case databaseConfig(target: String, reason: String, fix: String)
    /// A query failed on the server.
    case query(context: String, sqlstate: String, message: String)
    /// The connection broke while a backup was being written.
    case connectionLost(context: String, message: String)
    /// The database holds objects that cannot be dumped faithfully.
    case unsupportedObjects([String])
    /// A written backup failed validation.
    case validation(path: String, reason: String)
    /// Required tables are missing from the database.
    case missingTables(path: String, tables: [String])
    /// An input file or directory does not exist.
    case inputMissing(path: String, reason: String)
    /// An output file or directory cannot be created.
    case cannotCreate(path: String, reason: String)
    /// A restore's target database already holds tables (exit 73, as a file that exists).
    case targetNotEmpty(database: String, objects: Int)
    /// A read or write failed (disk full, I/O error).
    case io(path: String, reason: String)
    /// Another run holds the backup root's lock.
    case locked(path: String, holder: String)
    /// A setting is invalid.
    case configuration(String)
    /// A command-line value is invalid.
    case usage(String)
    /// A restore stopped at a statement the server refused.
    case restoreFailed(path: String, line: Int, message: String)
    /// The server failed on one object while the dump read it (e.g. `pg_get_viewdef` cannot
    /// render it); `object` names it ("view public.mv").
    case objectFailed(object: String, sqlstate: String, message: String)
    /// A copy destination cannot be reached (a disk not mounted, a server down): 69.
    case destinationUnreachable(destination: String, reason: String)
    /// An encrypted file cannot be opened: no identity matches (77), or it is damaged (65).
    case encrypted(path: String, problem: AgeError)

    /// The exit code of a server error, by its SQLSTATE: a privilege missing is 78 (the
    /// configured role is the wrong one for a backup: a configuration error); a lock,
    /// a cancel, a serialization failure or a deadlock 75 (try again); a server going away or
    /// out of resources 69; an error in a query cdb wrote (class 42) 1, a bug to report;
    /// anything else the server could not do with the database's contents 65.
    static func status(sqlstate: String) -> ExitStatus {
        switch sqlstate {
        case "42501": return .config
        case "55P03", "57014", "40001", "40P01": return .tempFail
        default: break
        }
        if sqlstate.hasPrefix("08") || sqlstate.hasPrefix("53") || sqlstate.hasPrefix("57P") { return .unavailable }
        if sqlstate.hasPrefix("42") { return .failure }
        return .dataError
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .databaseUnreachable, .databaseStartFailed: return .unavailable
        case .databaseConfig: return .config
        case let .query(_, sqlstate, _): return Self.status(sqlstate: sqlstate)
        case let .objectFailed(_, sqlstate, _): return Self.status(sqlstate: sqlstate)
        case .connectionLost, .destinationUnreachable: return .unavailable
        case .unsupportedObjects, .validation, .missingTables, .restoreFailed: return .dataError
        case .inputMissing: return .noInput
        case .cannotCreate, .targetNotEmpty: return .cantCreate
        case .io: return .ioError
        case .locked: return .tempFail
        case .configuration: return .config
        case .usage: return .usage
        case let .encrypted(_, problem):
            switch problem {
            case .noMatch: return .noPermission
            case .key: return .config
            case .header, .mac, .payload: return .dataError
            }
        }
    }

    public var errorDescription: String? {
        switch self {
        case let .databaseStartFailed(what):
            return "the database was unreachable, and \(what)"
        case let .databaseUnreachable(target, reason):
            // libpq's own words often ask already.
            return "database unreachable at \(target) (\(reason))" + (reason.lowercased().contains("server running") ? "" : " — is the server running?")
        case let .databaseConfig(target, reason, fix):
            return "cannot connect to \(target): \(reason) — \(fix)"
        case let .query(context, sqlstate, message):
            return "\(context) failed: \(message) (SQLSTATE \(sqlstate))"
        case let .connectionLost(context, message):
            return "connection to the database lost while \(context): \(message) — no backup was written; run again when the server is back"
        case let .unsupportedObjects(objects):
            return "the database holds \(objects.count) object(s) cdb-pg-dump cannot dump faithfully:\n"
                + objects.map { "  - \($0)" }.joined(separator: "\n")
                + "\nuse pg_dump for this database, or --allow-unsupported to dump everything else (those objects are then skipped)"
        case let .validation(path, reason):
            return "\(path) failed validation: \(reason)"
        case let .missingTables(path, tables):
            return "required table(s) missing from the database: \(tables.joined(separator: ", ")) — the dump was kept at \(path); check the database, or the required tables (--require-table, CDB_REQUIRED_TABLES)"
        case let .inputMissing(path, reason):
            return "\(path): \(reason)"
        case let .cannotCreate(path, reason):
            return "cannot create \(path): \(reason)"
        case let .targetNotEmpty(database, objects):
            return "database \(database) already has \(objects == 1 ? "a table or view" : "\(objects) tables or views"); nothing was restored — use --clean to drop what the dump creates first, or --create with a new name (-d NEW --create)"
        case let .io(path, reason):
            return "writing \(path) failed: \(reason)"
        case let .locked(path, holder):
            return "another cdb run holds \(path) (\(holder)); try again when it has finished"
        case let .configuration(message):
            return message
        case let .usage(message):
            return message
        case let .restoreFailed(path, line, message):
            return "restoring \(path) failed at line \(line): \(message)"
        case let .objectFailed(object, sqlstate, message):
            let fix = sqlstate == "42501"
                ? "dump as the object's owner or a superuser (--username, PGUSER)"
                : "pg_dump cannot dump it either; drop or recreate that object, then run again"
            return "the server failed on \(object): \(message) (SQLSTATE \(sqlstate)) — no backup was written; \(fix)"
        case let .destinationUnreachable(destination, reason):
            return "cannot reach the copy destination \(Untrusted.escape(destination)): \(reason) — is the disk mounted, the server up?"
        case let .encrypted(path, problem):
            switch problem {
            case .noMatch:
                return "\(Untrusted.escape(path)): \(problem) — give the identity file of one of its recipients (--identity FILE, or CDB_IDENTITY)"
            default:
                return "\(Untrusted.escape(path)): \(problem)"
            }
        }
    }
}

extension CDBError {
    /// Maps an errno from a write to the matching error: disk full and quota are I/O errors.
    static func fromWrite(errno code: Int32, path: String) -> CDBError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT, EFBIG:
            return .io(path: path, reason: "\(reason) — free some space (cdb-prune) or choose another --backup-root")
        default:
            return .io(path: path, reason: reason)
        }
    }
}
