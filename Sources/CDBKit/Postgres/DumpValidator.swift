import Foundation

/// Checks a plain SQL dump as a stream of bytes, in flat memory: the banner, the completion
/// line, every COPY block terminated, and each block's row count against the `-- Rows: N`
/// line cdb-pg-dump writes after it. Used on the bytes cdb-pg-dump writes and by cdb-verify.
public final class DumpValidator {
    public struct Report: Sendable {
        /// Structural problems: a file with any of these is not a complete dump.
        public var problems: [String] = []
        /// Tables created (`schema.table`, unquoted).
        public var createdTables: Set<String> = []
        /// Rows per table with a COPY block (`schema.table`, unquoted).
        public var copiedRows: [String: Int64] = [:]
        public var sawBanner = false
        public var sawCompletion = false

        /// Required names ("table" or "schema.table") without a CREATE TABLE or a COPY block.
        public func missing(required: [String]) -> [String] {
            required.filter { name in
                let matches = { (set: [String]) in
                    set.contains { $0 == name || (!name.contains(".") && $0.hasSuffix("." + name)) }
                }
                return !matches(Array(createdTables)) || !matches(Array(copiedRows.keys))
            }
        }
    }

    public private(set) var report = Report()
    private var line: [UInt8] = []        // the current line, at most `maxLine` bytes kept
    private var lineLength = 0            // its real length
    private var lineNumber = 0
    private var inCopy: String?           // the table whose COPY data is being read
    private var copyRows: Int64 = 0
    private var lastCopy: (table: String, rows: Int64)?
    private var lastNonBlank = ""
    private var pendingStatement: String?
    private let maxLine = 8192

    public init() {}

    /// Reads a dump file (plain, .gz or .zst) through a validator; throws on the first
    /// structural problem, returns the report otherwise.
    public static func validate(fileAt path: String) throws -> Report {
        let reader = try DecompressingReader(path: path)
        let validator = DumpValidator()
        while true {
            let chunk = try reader.next()
            if chunk.isEmpty { break }
            validator.consume(chunk)
        }
        let report = validator.finish()
        if let first = report.problems.first { throw CDBError.validation(path: path, reason: first) }
        return report
    }

    /// Feeds the next bytes of the dump.
    public func consume(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var position = 0
        let count = bytes.count
        while position < count {
            if inCopy != nil {
                position = consumeCopyData(base, position, count)
                continue
            }
            let remaining = count - position
            guard let found = memchr(base + position, 0x0A, remaining) else {
                append(base + position, remaining)
                return
            }
            let end = UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base
            append(base + position, end - position)
            endLine()
            position = end + 1
        }
    }

    /// The hot path: COPY data, one row per line. Counts rows and looks for the `\.` line
    /// without copying bytes; returns where it stopped (after the terminator, or at `count`).
    private func consumeCopyData(_ base: UnsafePointer<UInt8>, _ start: Int, _ count: Int) -> Int {
        var position = start
        while position < count {
            guard let found = memchr(base + position, 0x0A, count - position) else {
                append(base + position, count - position)
                return count
            }
            let end = UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base
            if lineLength == 0 {
                // The whole line is in this chunk.
                let length = end - position
                lineNumber += 1
                if length == 2 && base[position] == 0x5C && base[position + 1] == 0x2E {
                    endCopy()
                    return end + 1
                }
                copyRows += 1
            } else {
                append(base + position, end - position)
                let wasCopy = inCopy
                endLine()
                if wasCopy != nil && inCopy == nil { return end + 1 }
            }
            position = end + 1
        }
        return position
    }

    private func endCopy() {
        guard let table = inCopy else { return }
        report.copiedRows[table, default: 0] += copyRows
        lastCopy = (table, copyRows)
        inCopy = nil
    }

    private func append(_ start: UnsafePointer<UInt8>, _ n: Int) {
        guard n > 0 else { return }
        // In COPY data only the first bytes matter (is it "\."?); elsewhere keep a prefix.
        let keep = inCopy != nil ? 3 : maxLine
        if line.count < keep {
            let take = min(n, keep - line.count)
            line.append(contentsOf: UnsafeBufferPointer(start: start, count: take))
        }
        lineLength += n
    }

    private func endLine() {
        lineNumber += 1
        defer { line.removeAll(keepingCapacity: true); lineLength = 0 }
        if inCopy != nil {
            if lineLength == 2 && line[0] == 0x5C && line[1] == 0x2E {  // "\."
                endCopy()
            } else {
                copyRows += 1
            }
            return
        }
        var text = String(decoding: line, as: UTF8.self)
        if let start = pendingStatement {
            text = start + "\n" + text
            pendingStatement = nil
        }
        // A quoted name may hold a newline: join the lines of a COPY or CREATE TABLE statement
        // until its quotes balance.
        if text.hasPrefix("COPY ") || text.hasPrefix("CREATE TABLE ") || text.hasPrefix("CREATE UNLOGGED TABLE "),
           text.utf8.count < 65_536, text.utf8.reduce(0, { $0 + ($1 == 0x22 ? 1 : 0) }) % 2 == 1 {
            pendingStatement = text
            return
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty || text == "--" { return }
        lastNonBlank = text
        if text == "-- PostgreSQL database dump" { report.sawBanner = true; return }
        if text == "-- PostgreSQL database dump complete" { report.sawCompletion = true; return }
        if text.hasPrefix("-- Rows: ") {
            let expected = Int64(text.dropFirst(9).trimmingCharacters(in: .whitespaces)) ?? -1
            if let last = lastCopy {
                if last.rows != expected {
                    report.problems.append("line \(lineNumber): table \(last.table) has \(last.rows) rows but its dump recorded \(expected)")
                }
            } else {
                report.problems.append("line \(lineNumber): a row count without a COPY block before it")
            }
            lastCopy = nil
            return
        }
        if text.hasPrefix("COPY "), text.hasSuffix(" FROM stdin;") {
            var rest = Substring(text.dropFirst(5))
            let name = Self.parseQualifiedName(&rest) ?? "?"
            inCopy = name
            copyRows = 0
            lastCopy = nil
            return
        }
        for prefix in ["CREATE TABLE ", "CREATE UNLOGGED TABLE "] where text.hasPrefix(prefix) {
            var rest = Substring(text.dropFirst(prefix.count))
            if let name = Self.parseQualifiedName(&rest) { report.createdTables.insert(name) }
        }
    }

    /// Ends the stream and returns the report.
    public func finish() -> Report {
        if lineLength > 0 || !line.isEmpty { endLine() }
        if let table = inCopy {
            report.problems.append("the COPY block of \(table) is not terminated (the dump is truncated)")
        }
        if !report.sawBanner { report.problems.append("no '-- PostgreSQL database dump' banner") }
        if !report.sawCompletion || lastNonBlank != "-- PostgreSQL database dump complete" {
            report.problems.append("no '-- PostgreSQL database dump complete' line at the end (the dump is truncated)")
        }
        return report
    }

    /// Parses `ident.ident` or `ident` (quoted or bare) into "schema.name" without quotes.
    static func parseQualifiedName(_ text: inout Substring) -> String? {
        guard let first = parseIdentifier(&text) else { return nil }
        if text.first == "." {
            text = text.dropFirst()
            guard let second = parseIdentifier(&text) else { return nil }
            return "\(first).\(second)"
        }
        return "public.\(first)"
    }

    static func parseIdentifier(_ text: inout Substring) -> String? {
        if text.first == "\"" {
            var result = ""
            var index = text.index(after: text.startIndex)
            while index < text.endIndex {
                let ch = text[index]
                if ch == "\"" {
                    let next = text.index(after: index)
                    if next < text.endIndex, text[next] == "\"" {
                        result.append("\"")
                        index = text.index(after: next)
                        continue
                    }
                    text = text[next...]
                    return result
                }
                result.append(ch)
                index = text.index(after: index)
            }
            return nil
        }
        let end = text.firstIndex(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "$") }) ?? text.endIndex
        guard end > text.startIndex else { return nil }
        let name = String(text[..<end]).lowercased()
        text = text[end...]
        return name
    }
}
