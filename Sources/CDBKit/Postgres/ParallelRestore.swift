import FoundationEssentials
import Glibc

/// The work of `cdb-restore --jobs N` after the schema: COPY blocks and independent post-data
/// statements handed to N worker connections, everything else in the dump's order.
///
/// The script is read once, by one reader. What it holds runs in batches:
/// - consecutive COPY blocks are one batch: each block goes to a free worker while the reader
///   goes on; a block over `splitBytes` (8 MiB) is cut at a line end into several COPYs of the same
///   table, so a big table loads over every connection;
/// - consecutive `CREATE INDEX` and `ALTER TABLE … ADD CONSTRAINT` (keys, unique, exclusion,
///   checks — not foreign keys) follow the data without waiting for all of it: a statement on a
///   table the batch loaded starts as soon as that table's last COPY is done (while other tables
///   still load), one on any other table once all data is in; never two on one table at once;
/// - consecutive foreign keys start once every COPY and key before them is done, two never at
///   once when they share a table (each locks both of its tables; with no shared table none waits
///   for another, so none deadlocks). The reader adds a plain `ALTER TABLE ONLY` foreign key as
///   `NOT VALID` itself (no scan, milliseconds), all of the batch first, and hands the workers
///   `VALIDATE CONSTRAINT`, which locks only its own table against another validation (and the
///   referenced one only against writers): keys sharing a table (`orders` references `signals`,
///   `trades` references `orders`) are checked side by side instead of one after the other;
/// - anything else ends the batch: the reader waits until every worker is done, then runs it on
///   the restore's own connection. Triggers and the rest come after the indexes and keys, all in
///   the dump's order.
/// Statements within a batch are independent of each other (rows of different blocks; indexes
/// and constraints of tables that exist and are loaded — an index built before the last rows of
/// its table would still be right, as rows added later are indexed), so their order does not
/// matter. Session settings the script makes (`SET …`, `set_config`) are repeated on each worker
/// before its next work. Memory: the data read ahead of the workers is at most `budget` bytes.
final class ParallelRestore {
    /// One piece of work: a COPY (with its data, appended while it is read) or one statement.
    final class Work {
        let sql: String
        let line: Int
        let table: String?
        let settings: [String]
        /// The tables a DDL statement locks: two statements sharing one do not run at once.
        let locks: [String]
        var chunks: [[UInt8]] = []
        var closed = false
        /// Set by `submit`.
        fileprivate var kind = Kind.copy
        init(sql: String, line: Int, table: String?, settings: [String]) {
            self.sql = sql
            self.line = line
            self.table = table
            self.settings = settings
            locks = table == nil ? ParallelRestore.foreignKeyTables(sql) ?? ParallelRestore.lockedTable(sql).map { [$0] } ?? [] : []
        }
    }

    enum Kind { case copy, ddl, foreignKeys }

    static let budget = 48 * 1024 * 1024
    static let splitBytes = 8 * 1024 * 1024

    private let condition = Condition()
    private var queue: [Work] = []
    private var busy = 0
    private var lockedTables: Set<String> = []
    private var buffered = 0
    private var running = 0
    private var failure: (line: Int, message: String)?
    private var stopping = false
    private var workers: [PGConnection] = []
    /// Rows loaded per table and the COPYs that loaded them, in the order the tables finished.
    private(set) var rows: [(table: String, rows: Int64, copies: Int)] = []
    private var current: Kind?
    /// COPYs queued or running, per table and in all; the tables this pool loaded; DDL queued or
    /// running (what a DDL statement or a foreign key waits for).
    private var copiesLeft: [String: Int] = [:]
    private var copiesLeftInAll = 0
    private var loaded: Set<String> = []
    private var ddlLeft = 0

    init(workers: [PGConnection]) {
        self.workers = workers
        running = workers.count
        for w in workers { detachThread { [self] in self.work(w) } }
    }

    // MARK: - The reader's side

    /// Starts `work` of `kind`. Keys and indexes after data, and foreign keys after either, wait
    /// only for what they need (see the type's comment); any other change of kind waits for the
    /// batch before.
    func submit(_ work: Work, kind: Kind) throws {
        if let current, current != kind, !(current == .copy || (current == .ddl && kind == .foreignKeys)) { try barrier() }
        current = kind
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw Failed(line: failure.line, message: failure.message) }
        work.kind = kind
        switch kind {
        case .copy:
            let table = work.table ?? ""
            copiesLeft[table, default: 0] += 1
            copiesLeftInAll += 1
            loaded.insert(table)
        case .ddl:
            ddlLeft += 1
        case .foreignKeys:
            break
        }
        queue.append(work)
        condition.broadcast()
    }

    /// Whether `work` may start now (under the lock).
    private func isReady(_ work: Work) -> Bool {
        guard work.locks.allSatisfy({ !lockedTables.contains($0) }) else { return false }
        switch work.kind {
        case .copy:
            return true
        case .ddl:
            if copiesLeftInAll == 0 { return true }
            guard let table = work.locks.first, loaded.contains(table) else { return false }
            return copiesLeft[table, default: 0] == 0
        case .foreignKeys:
            return copiesLeftInAll == 0 && ddlLeft == 0
        }
    }

    /// Appends COPY data to `work` (the open COPY); waits while the read-ahead is over budget.
    func append(_ work: Work, _ bytes: UnsafeRawBufferPointer) throws {
        condition.lock()
        defer { condition.unlock() }
        while failure == nil && buffered > Self.budget { condition.wait() }
        if let failure { throw Failed(line: failure.line, message: failure.message) }
        work.chunks.append(Array(bytes))
        buffered += bytes.count
        condition.broadcast()
    }

    func close(_ work: Work) {
        condition.lock()
        work.closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until every submitted work is done; throws the first failure.
    func barrier() throws {
        condition.lock()
        defer { condition.unlock() }
        while failure == nil && (!queue.isEmpty || busy > 0) { condition.wait() }
        current = nil
        if let failure { throw Failed(line: failure.line, message: failure.message) }
    }

    /// Stops the workers (cancelling what they run after a failure) and waits for them.
    func stop() {
        condition.lock()
        stopping = true
        let cancel = failure != nil || !queue.isEmpty || busy > 0
        if failure == nil && cancel { failure = (0, "stopped") }
        condition.broadcast()
        condition.unlock()
        if cancel { for w in workers { w.cancel() } }
        condition.lock()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    struct Failed: Error {
        let line: Int
        let message: String
    }

    // MARK: - The workers' side

    private func work(_ connection: PGConnection) {
        defer {
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        var applied: [String] = []
        while true {
            condition.lock()
            // The first work that may start, whose table no other worker is changing (a worker
            // that waited for another's lock would sit idle while other tables wait).
            var next: Int?
            while !stopping && failure == nil {
                next = queue.firstIndex { isReady($0) }
                if next != nil { break }
                condition.wait()
            }
            guard let index = next, !stopping, failure == nil else {
                condition.unlock()
                return
            }
            let work = queue.remove(at: index)
            lockedTables.formUnion(work.locks)
            busy += 1
            condition.unlock()
            var message: String?
            if work.settings != applied {
                for setting in work.settings {
                    if case let .failed(m) = connection.run(setting) { message = m; break }
                }
                applied = work.settings
            }
            if message == nil {
                message = work.table == nil ? runStatement(connection, work) : runCopy(connection, work)
            }
            condition.lock()
            busy -= 1
            lockedTables.subtract(work.locks)
            switch work.kind {
            case .copy:
                copiesLeft[work.table ?? "", default: 1] -= 1
                copiesLeftInAll -= 1
            case .ddl:
                ddlLeft -= 1
            case .foreignKeys:
                break
            }
            if let message, failure == nil { failure = (work.line, message) }
            condition.broadcast()
            condition.unlock()
            if message != nil { return }
        }
    }

    private func runStatement(_ connection: PGConnection, _ work: Work) -> String? {
        switch connection.run(work.sql) {
        case .done: return nil
        case .copyIn: return "a statement started COPY unexpectedly"
        case let .failed(message): return message
        }
    }

    private func runCopy(_ connection: PGConnection, _ work: Work) -> String? {
        switch connection.run(work.sql) {
        case .done: return "COPY did not start"
        case let .failed(message): return message
        case .copyIn: break
        }
        while true {
            condition.lock()
            while failure == nil && work.chunks.isEmpty && !work.closed { condition.wait() }
            if failure != nil {
                condition.unlock()
                connection.abortCopyIn()
                return nil
            }
            if work.chunks.isEmpty {
                condition.unlock()
                break
            }
            let chunk = work.chunks.removeFirst()
            buffered -= chunk.count
            condition.broadcast()
            condition.unlock()
            if let message = chunk.withUnsafeBytes({ connection.sendCopyData($0) }) { return message }
        }
        switch connection.endCopyIn() {
        case let .success(count):
            condition.lock()
            if let i = rows.firstIndex(where: { $0.table == work.table }) {
                rows[i].rows += count
                rows[i].copies += 1
            } else {
                rows.append((work.table ?? "?", count, 1))
            }
            condition.unlock()
            return nil
        case let .failure(message):
            return message.text
        }
    }

    // MARK: - What may run in parallel

    /// A statement that builds an index or a key, unique, exclusion or check constraint of one
    /// table: independent of the others of its batch.
    static func isIndependentDDL(_ text: String) -> Bool {
        var words = Words(text)
        if words.take("create") {
            _ = words.take("unique")
            return words.take("index")
        }
        // Read as names, not as words: a quoted name may hold "add constraint x primary".
        guard words.take("alter"), words.take("table") else { return false }
        _ = words.take("only")
        guard words.name() != nil, words.take("add"), words.take("constraint"), words.name() != nil else { return false }
        return words.take("primary") || words.take("unique") || words.take("exclude") || words.take("check")
    }

    /// The two tables of `ALTER TABLE [ONLY] t ADD CONSTRAINT c FOREIGN KEY (…) REFERENCES r(…)`
    /// (it locks both); nil for any other statement or one that does not read plainly so.
    /// Foreign keys run side by side only when they share no table: none waits for another's
    /// lock, so none can deadlock; all come after the keys they reference (another batch).
    static func foreignKeyTables(_ text: String) -> [String]? {
        var words = Words(text)
        guard words.take("alter"), words.take("table") else { return nil }
        _ = words.take("only")
        guard let table = words.name(), words.take("add"), words.take("constraint"), words.name() != nil,
              words.take("foreign"), words.take("key"), words.take("(") else { return nil }
        repeat {
            guard words.name() != nil else { return nil }
        } while words.take(",")
        guard words.take(")"), words.take("references"), let referenced = words.name() else { return nil }
        return [table, referenced]
    }

    /// A plain foreign key, `ALTER TABLE ONLY t ADD CONSTRAINT c FOREIGN KEY … ;`, as two
    /// statements: adding it `NOT VALID` (no scan) and `ALTER TABLE ONLY t VALIDATE CONSTRAINT c`
    /// (the scan, under a lock that lets other validations run; see the type's comment). Nil for
    /// anything else: a key that is `NOT VALID` already, one that is `NOT ENFORCED` (PostgreSQL
    /// 18: never validated), or one without `ONLY` (a partitioned table's, which cannot be added
    /// `NOT VALID` before PostgreSQL 18).
    static func validatedLater(_ text: String) -> (add: String, validate: String)? {
        guard foreignKeyTables(text) != nil else { return nil }
        var words = Words(text)
        guard words.take("alter"), words.take("table"), words.take("only"), let table = words.rawName(),
              words.take("add"), words.take("constraint"), let constraint = words.rawName() else { return nil }
        var body = Substring(text)
        while let last = body.last, last == ";" || last == " " || last == "\n" || last == "\t" || last == "\r" { body = body.dropLast() }
        let tail = body.suffix(12).lowercased().split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        if tail.suffix(2) == ["not", "valid"] || tail.suffix(2) == ["not", "enforced"] { return nil }
        return (body + " NOT VALID;", "ALTER TABLE ONLY \(table) VALIDATE CONSTRAINT \(constraint);")
    }

    /// Reads a statement word by word: keywords (any case) and names (quoted or not).
    struct Words {
        var rest: Substring
        init(_ text: String) { rest = Substring(text) }

        mutating func skipSpace() { rest = rest.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" } }

        /// Takes `word` (or a single punctuation character) when it comes next.
        mutating func take(_ word: String) -> Bool {
            skipSpace()
            guard rest.count >= word.count, rest.prefix(word.count).lowercased() == word else { return false }
            let after = rest.dropFirst(word.count).first
            if word.first?.isLetter == true, let after, after.isLetter || after.isNumber || after == "_" { return false }
            rest = rest.dropFirst(word.count)
            return true
        }

        /// A name, `a`, `"A b"` or `s.t`, unquoted.
        mutating func name() -> String? {
            skipSpace()
            return DumpValidator.parseQualifiedName(&rest)
        }

        /// A name as it is written (quotes kept), to be written into another statement.
        mutating func rawName() -> Substring? {
            skipSpace()
            let start = rest.startIndex
            guard name() != nil else { return nil }
            return rest.base[start..<rest.startIndex]
        }
    }

    /// The table `CREATE [UNIQUE] INDEX name ON [ONLY] table …` or `ALTER TABLE [ONLY] table …`
    /// locks; nil when the text does not read plainly so (it then runs whenever a worker is free).
    static func lockedTable(_ text: String) -> String? {
        var words = Words(text)
        if words.take("alter") {
            guard words.take("table") else { return nil }
            _ = words.take("only")
            return words.name()
        }
        guard words.take("create") else { return nil }
        _ = words.take("unique")
        guard words.take("index"), words.name() != nil, words.take("on") else { return nil }
        _ = words.take("only")
        return words.name()
    }

    /// A session setting: `SET name …` (not LOCAL, CONSTRAINTS, TRANSACTION, ROLE or SESSION
    /// AUTHORIZATION, which are not the script's session settings) or `SELECT
    /// pg_catalog.set_config(…, false)`; returns its name.
    static func sessionSetting(_ text: String) -> String? {
        let t = text.trimmed()
        let lower = t.lowercased()
        if lower.hasPrefix("select pg_catalog.set_config('") {
            let rest = lower.dropFirst("select pg_catalog.set_config('".count)
            return rest.firstIndex(of: "'").map { "set_config " + rest[..<$0] }
        }
        guard lower.hasPrefix("set ") else { return nil }
        let words = lower.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "=" })
        guard words.count >= 2 else { return nil }
        let name = String(words[1])
        if ["local", "constraints", "transaction", "role", "session"].contains(name) { return nil }
        return name
    }
}
