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
///   checks — not foreign keys) are one batch, each statement on a free worker;
/// - consecutive foreign keys are one batch, two never at once when they share a table (each
///   locks both of its tables; with no shared table none waits for another, so none deadlocks);
/// - anything else ends the batch: the reader waits until every worker is done, then runs it on
///   the restore's own connection. Batches never overlap, so foreign keys come after every key
///   they reference, triggers and the rest after the indexes, all in the dump's order.
/// Statements within a batch are independent of each other (rows of different blocks; indexes
/// and constraints of tables that exist and are loaded), so their order does not matter.
/// Session settings the script makes (`SET …`, `set_config`) are repeated on each worker before
/// its next work. Memory: the data read ahead of the workers is at most `budget` bytes.
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

    init(workers: [PGConnection]) {
        self.workers = workers
        running = workers.count
        for w in workers { detachThread { [self] in self.work(w) } }
    }

    // MARK: - The reader's side

    /// Starts `work` of `kind`; a change of kind waits for the batch before.
    func submit(_ work: Work, kind: Kind) throws {
        if current != kind { try barrier() }
        current = kind
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw Failed(line: failure.line, message: failure.message) }
        queue.append(work)
        condition.broadcast()
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
            // The first work whose table no other worker is changing (a worker that waited
            // for another's lock would sit idle while other tables wait).
            var next: Int?
            while !stopping && failure == nil {
                next = queue.firstIndex { $0.locks.allSatisfy { !lockedTables.contains($0) } }
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
