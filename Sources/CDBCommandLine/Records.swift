import CDBKit
import FoundationEssentials
import Glibc

/// One line of `--json` output. Every program writes JSON Lines with the same core keys, always
/// present (null where they do not apply), so one script can read any program's output:
///
/// - `program`: the program that wrote the line (`cdb-pg-dump`, …)
/// - `kind`: what the line is about: `db` (a database dump), `repo` (a repository snapshot), or
///   for lines about something else `sidecar`, `temporary`, `foreign`, `folder` (cdb-prune),
///   `prune`, `copy`, `session` (cdb-pre-session's steps), `destination` (cdb-copy)
/// - `path`: the file (or folder, or destination) the line is about
/// - `status`: `ok`, `failed` or `skipped`
/// - `exit`: the exit code this part alone would have (0 when ok)
/// - `bytes`: its size, `seconds`: how long it took (null when not measured)
/// - `message`: what a person would be told (the error, the summary, or why it was skipped)
///
/// Program-specific keys come beside them (the README lists them per program).
public struct JSONRecord {
    public enum Status: String { case ok, failed, skipped }

    public var program: String
    public var kind: String?
    public var path: String?
    public var status: Status
    public var exit: ExitStatus
    public var bytes: Int64?
    public var seconds: Double?
    public var message: String?
    public var extra: [String: Any]

    public init(kind: String?, path: String?, status: Status, exit: ExitStatus? = nil, bytes: Int64? = nil,
                seconds: Double? = nil, message: String? = nil, extra: [String: Any] = [:]) {
        self.program = JSONOutput.program
        self.kind = kind
        self.path = path
        self.status = status
        self.exit = exit ?? (status == .failed ? .failure : .success)
        self.bytes = bytes
        self.seconds = seconds
        self.message = message
        self.extra = extra
    }

    public var line: String {
        var object = extra
        object["program"] = program
        object["kind"] = kind ?? JSON.null
        object["path"] = path ?? JSON.null
        object["status"] = status.rawValue
        object["exit"] = Int(exit.rawValue)
        object["bytes"] = bytes.map { JSON.int($0) } ?? JSON.null
        object["seconds"] = seconds.map { JSON.double(($0 * 1000).rounded() / 1000) } ?? JSON.null
        object["message"] = message ?? JSON.null
        return jsonLine(object)
    }

    /// `db` or `repo`: the short kind names cdb-list's --kind takes.
    public static func kind(_ kind: BackupName.Kind) -> String {
        kind == .postgres ? "db" : "repo"
    }
}

/// Where `--json` lines go: standard output, counted, so a run that failed before it wrote any
/// line still writes one (the program skeleton does that).
public enum JSONOutput {
    /// The running program's name (set by the program skeleton).
    nonisolated(unsafe) public static var program = "cdb"
    nonisolated(unsafe) static var written = 0

    public static func emit(_ record: JSONRecord) {
        CDBCommandLine.emit(text(record))
    }

    /// The record's line, counted as written (for output gathered and written at once).
    public static func text(_ record: JSONRecord) -> String {
        written += 1
        return record.line
    }
}
