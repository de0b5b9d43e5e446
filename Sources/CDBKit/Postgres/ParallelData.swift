import FoundationEssentials
import Glibc

/// The data section read over several connections that share the dump's snapshot, written in
/// the order one connection would write it: the same bytes as `--jobs 1`.
///
/// - The dump's own connection exports its snapshot; each worker connection joins it
///   (`SET TRANSACTION SNAPSHOT`, REPEATABLE READ, READ ONLY) with the same session settings.
/// - The work is a list of units in output order: a whole table, or — on PostgreSQL 14 and
///   later, for a table larger than `splitPages` pages (8 MiB) — consecutive ranges of its pages read
///   with `COPY (SELECT … WHERE ctid >= '(a,0)' AND ctid < '(b,0)')` (TID range scans). Ranges
///   are small enough that the workers ahead of the writer can each read a whole one into their
///   share of the budget (`rangePages`): a worker whose range did not fit would wait for the
///   writer to reach it, and a big table would be read by one connection at a time. A heap
///   is read in page order either way, so the ranges joined are the table's COPY. The last
///   range has no upper bound (a page added after the size was read holds no row the snapshot
///   sees, but the range costs nothing).
/// - Workers take units in order. Blocks of the unit being written wait for the writer up to
///   `headBudget` (4 MiB); the later units' blocks wait in memory up to `budget` (32 MiB) in
///   all. A worker over its budget stops reading (back-pressure: its COPY waits in the
///   server) until the writer catches up. Memory is bounded by the two budgets plus one block
///   per worker and 16 written blocks kept for reuse (4 MiB), never by a table; the unit being
///   written always has room, so the writer never waits for a worker that waits for room.
/// - Any failure stops every worker (their queries are cancelled) and is thrown by the writer;
///   the dump's caller then removes the unfinished file as for any failure.
final class ParallelData {
    struct Table {
        let name: String        // quoted schema.table
        let display: String     // unquoted, for messages
        let columns: String     // " (a, b)" or ""
        let pages: Int64
    }

    /// One COPY: a table or a range of its pages.
    struct Unit {
        let table: Int
        let sql: String
        let lastOfTable: Bool
    }

    /// Bytes a worker collects before handing them on.
    static let blockSize = 256 * 1024
    /// Bytes waiting for the writer from the units after the one being written, in all.
    static let budget = 32 * 1024 * 1024
    /// Bytes of the unit being written that may wait for a slow writer (a pipe, a disk).
    static let headBudget = 4 * 1024 * 1024
    /// Tables larger than this many pages (8 MiB) are split.
    static let splitPages: Int64 = 1024

    /// The pages of one range of a table of `pages` with `jobs` workers: about four ranges per
    /// worker, but none larger than half of the budget's share of each worker ahead of the
    /// writer (in heap pages, which a COPY's text is about the size of: 16 MiB at --jobs 2, 5 MiB
    /// at 4, 2 MiB at 8), and none smaller than 8 MiB unless that bound is (nor than 1 MiB).
    static func rangePages(_ pages: Int64, jobs: Int) -> Int64 {
        let most = max(128, Int64(budget / 8192) / Int64(2 * max(1, jobs - 1)))
        return max(min(pages / Int64(jobs * 4), most), min(splitPages, most))
    }

    /// The units for `tables`, in output order.
    static func units(_ tables: [Table], serverVersion: Int, jobs: Int) -> [Unit] {
        var units: [Unit] = []
        for (i, t) in tables.enumerated() {
            let whole = "COPY \(t.name)\(t.columns) TO STDOUT"
            guard serverVersion >= 140000, t.pages > splitPages, jobs > 1 else {
                units.append(Unit(table: i, sql: whole, lastOfTable: true))
                continue
            }
            let select = t.columns.isEmpty ? "*" : String(t.columns.dropFirst(2).dropLast())
            let size = rangePages(t.pages, jobs: jobs)
            var start: Int64 = 0
            while start < t.pages {
                let end = start + size
                let upper = end < t.pages ? " AND ctid < '(\(end),0)'::pg_catalog.tid" : ""
                units.append(Unit(table: i, sql: "COPY (SELECT \(select) FROM ONLY \(t.name) WHERE ctid >= '(\(start),0)'::pg_catalog.tid\(upper)) TO STDOUT",
                                  lastOfTable: end >= t.pages))
                start = end
            }
        }
        return units
    }

    private let units: [Unit]
    private let condition = Condition()
    private var nextUnit = 0
    private var head = 0
    private var pending: [Int: [[UInt8]]] = [:]
    private var finished: [Int: Int64] = [:]
    private var buffered = 0
    private var pendingBytes: [Int: Int] = [:]
    private var failure: Error?
    private var running = 0
    private var workers: [PGConnection] = []
    /// Blocks the writer has written, for the workers to fill again: a fresh 256 KiB block is
    /// a fresh mapping, and the kernel clears each of its pages on first touch.
    private var spare: [[UInt8]] = []
    private static let spareLimit = 16

    init(units: [Unit]) { self.units = units }

    /// Runs `connections` as workers and calls `write` for every block in order and `tableDone`
    /// after each table's last unit with its rows. Returns when all is written or throws the
    /// first failure, after every worker has stopped.
    func run(connections: [PGConnection], tables: [Table],
             tableStarts: (Int) throws -> Void,
             write: (UnsafeRawBufferPointer) throws -> Void,
             tableDone: (Int, Int64) throws -> Void) throws {
        workers = connections
        running = connections.count
        for (index, connection) in connections.enumerated() {
            detachThread { [self] in self.work(connection, worker: index, tables: tables) }
        }
        var completed = false
        defer { stopAndWait(completed: completed) }
        var rows: Int64 = 0
        var lastTable = -1
        for (index, unit) in units.enumerated() {
            if unit.table != lastTable {
                try tableStarts(unit.table)
                lastTable = unit.table
                rows = 0
            }
            while let block = try nextBlock(index) {
                try block.withUnsafeBytes { try write($0) }
                recycle(block)
            }
            rows += finishedRows(index)
            if unit.lastOfTable { try tableDone(unit.table, rows) }
        }
        completed = true
    }

    // MARK: - The writer's side

    private func nextBlock(_ index: Int) throws -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        head = index
        condition.broadcast()
        while true {
            if let failure { throw failure }
            if var blocks = pending[index], !blocks.isEmpty {
                let block = blocks.removeFirst()
                pending[index] = blocks
                buffered -= block.count
                pendingBytes[index, default: 0] -= block.count
                condition.broadcast()
                return block
            }
            if finished[index] != nil { return nil }
            condition.wait()
        }
    }

    private func recycle(_ block: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        if spare.count < Self.spareLimit { spare.append(block) }
    }

    /// An empty block with room for `blockSize` bytes (a written one when there is).
    private func emptyBlock() -> [UInt8] {
        condition.lock()
        var block = spare.popLast() ?? []
        condition.unlock()
        block.removeAll(keepingCapacity: true)
        block.reserveCapacity(Self.blockSize)
        return block
    }

    private func finishedRows(_ index: Int) -> Int64 {
        condition.lock()
        defer { condition.unlock() }
        pending[index] = nil
        pendingBytes[index] = nil
        return finished.removeValue(forKey: index) ?? 0
    }

    private func fail(_ error: Error) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the workers (a failure, or the end) and waits until none is running.
    private func stopAndWait(completed: Bool) {
        condition.lock()
        let stopping = !completed
        // The writer failed (or a worker did): whatever a worker is still doing is not needed.
        if failure == nil && stopping { failure = CDBError.connectionLost(context: "dumping the data", message: "stopped") }
        condition.broadcast()
        condition.unlock()
        if stopping { for w in workers { w.cancel() } }
        condition.lock()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    // MARK: - The workers' side

    private func work(_ connection: PGConnection, worker: Int, tables: [Table]) {
        defer {
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        var locked: Set<Int> = []
        while true {
            condition.lock()
            if failure != nil || nextUnit >= units.count {
                condition.unlock()
                return
            }
            let index = nextUnit
            nextUnit += 1
            condition.unlock()
            let unit = units[index]
            let table = tables[unit.table]
            do {
                if locked.insert(unit.table).inserted {
                    // NOWAIT, as pg_dump's workers: an exclusive lock queued behind the dump's
                    // own would otherwise wait for the dump, and the dump for this worker.
                    do {
                        try connection.execute("LOCK TABLE \(table.name) IN ACCESS SHARE MODE NOWAIT", context: "locking \(table.display) for a worker")
                    } catch let CDBError.query(_, sqlstate, message) where sqlstate == "55P03" {
                        throw CDBError.locked(path: "table \(table.display)",
                                              holder: "another session is waiting for an exclusive lock on it (\(message)); try again, or use --jobs 1")
                    }
                }
                var block = emptyBlock()
                let rows = try connection.copyOut(unit.sql, context: "dumping \(table.display)") { chunk in
                    block.append(contentsOf: chunk)
                    if block.count >= Self.blockSize {
                        try put(index, block)
                        block = emptyBlock()
                    }
                }
                if !block.isEmpty { try put(index, block) }
                condition.lock()
                finished[index] = rows
                condition.broadcast()
                condition.unlock()
            } catch {
                fail(error)
                return
            }
        }
    }

    /// Hands a block to the writer; waits while its budget is spent: the unit being written
    /// has its own (so that it always moves, whatever the others hold), the others share one.
    private func put(_ index: Int, _ block: [UInt8]) throws {
        condition.lock()
        defer { condition.unlock() }
        while failure == nil {
            let own = pendingBytes[index] ?? 0
            if index == head {
                if own < Self.headBudget { break }
            } else {
                let others = buffered - (pendingBytes[head] ?? 0)
                if others == 0 || others + block.count <= Self.budget { break }
            }
            condition.wait()
        }
        if let failure { throw failure }
        pending[index, default: []].append(block)
        pendingBytes[index, default: 0] += block.count
        buffered += block.count
        condition.broadcast()
    }
}
