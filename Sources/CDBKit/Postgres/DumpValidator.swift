import FoundationEssentials
import Glibc

/// Checks a plain SQL dump as a stream of bytes, in flat memory: the banner, the completion
/// line, every COPY block terminated, and each block's row count against the `-- Rows: N`
/// line cdb-pg-dump writes right after it. Used on the bytes cdb-pg-dump writes and by
/// cdb-verify and cdb-restore --check, on cdb's dumps and on pg_dump's plain dumps.
///
/// It trusts only lines the writer controls: a small SQL lexer (quotes, quoted names, dollar
/// quotes, comments) tracks where statements are, so a name or a function body holding a
/// newline and "-- Rows: 5" or "COPY …" is just text inside a statement.
public final class DumpValidator {
    public struct Report: Sendable {
        /// Structural problems: a file with any of these is not a complete dump.
        public var problems: [String] = []
        /// COPY blocks whose row count was compared with a `-- Rows:` line (none in pg_dump's dumps).
        public var countedBlocks = 0
        public var copyBlocks = 0
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
    private var lastCopy: (table: String, rows: Int64)?   // set only on the line right after `\.`
    private var afterCompletion = false                  // only a trailer may follow the completion line
    private var pendingStatement: String?                // a COPY or CREATE TABLE begun at top level
    private let maxLine = 8192

    // The lexer, fed every byte outside COPY data.
    private enum Lex { case normal, dash, slash, lineComment, single, escapeString, escapeNext, ident, dollarOpen, dollar, block, blockStar, blockSlash }
    private var lex = Lex.normal
    private var previous: (UInt8, UInt8) = (0x20, 0x20)  // the last two bytes seen in `normal`
    private var tag: [UInt8] = []                        // "$tag$" of the open dollar quote
    private var tagMatch = 0
    private var blockDepth = 0
    private var lineStartedAtTop = true

    public init() {}

    /// Reads a dump file (plain, .gz or .zst) through a validator; throws on the first
    /// structural problem, returns the report otherwise.
    public static func validate(fileAt path: String, keys: DecryptionKeys? = nil) throws -> Report {
        let reader = try DecompressingReader(path: path, keys: keys)
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
        if inCopy == nil {
            for i in 0..<n { lexByte(start[i]) }
        }
    }

    private static func isIdentifier(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x24 || b >= 0x80
    }

    /// One byte of SQL text outside COPY data.
    private func lexByte(_ b: UInt8) {
        switch lex {
        case .normal:
            switch b {
            case 0x27:  // '
                let e = previous.1 == 0x45 || previous.1 == 0x65
                lex = e && !Self.isIdentifier(previous.0) ? .escapeString : .single
            case 0x22: lex = .ident
            case 0x24 where !Self.isIdentifier(previous.1): lex = .dollarOpen; tag = [0x24]
            case 0x2D: lex = .dash
            case 0x2F: lex = .slash
            default: break
            }
            previous = (previous.1, b)
        case .dash:
            if b == 0x2D { lex = .lineComment } else { lex = .normal; lexByte(b) }
        case .slash:
            if b == 0x2A { lex = .block; blockDepth = 1 } else { lex = .normal; lexByte(b) }
        case .lineComment: break
        case .single: if b == 0x27 { lex = .normal; previous = (0x20, 0x27) }
        case .escapeString:
            if b == 0x5C { lex = .escapeNext } else if b == 0x27 { lex = .normal; previous = (0x20, 0x27) }
        case .escapeNext: lex = .escapeString
        case .ident: if b == 0x22 { lex = .normal; previous = (0x20, 0x22) }
        case .dollarOpen:
            if b == 0x24 {
                tag.append(b); lex = .dollar; tagMatch = 0
            } else if Self.isIdentifier(b) && !(tag.count == 1 && b >= 0x30 && b <= 0x39) && b != 0x24 {
                tag.append(b)
            } else {
                lex = .normal; previous = (0x20, 0x24); lexByte(b)  // "$1" and the like: no quote
            }
        case .dollar:
            if b == tag[tagMatch] {
                tagMatch += 1
                if tagMatch == tag.count { lex = .normal; previous = (0x20, 0x24) }
            } else {
                tagMatch = b == 0x24 ? 1 : 0
            }
        case .block:
            if b == 0x2A { lex = .blockStar } else if b == 0x2F { lex = .blockSlash }
        case .blockStar:
            if b == 0x2F { blockDepth -= 1; lex = blockDepth == 0 ? .normal : .block } else if b != 0x2A { lex = .block }
            if lex == .normal { previous = (0x20, 0x20) }
        case .blockSlash:
            if b == 0x2A { blockDepth += 1; lex = .block } else if b != 0x2F { lex = .block }
        }
    }

    private var atTop: Bool { lex == .normal || lex == .dash || lex == .slash || lex == .lineComment }

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
        // The line's end: a line comment ends; a pending '-' or '/' was just a character.
        if lex == .lineComment || lex == .dash || lex == .slash { lex = .normal }
        previous = (previous.1, 0x0A)
        let startedAtTop = lineStartedAtTop
        lineStartedAtTop = atTop
        let rowsLine = lastCopy
        lastCopy = nil
        // Most lines are statements that matter to none of the checks below: only comment lines,
        // COPY and CREATE lines, and anything after the completion line do. Skip the rest
        // without making a String of them.
        if pendingStatement == nil && !afterCompletion {
            guard startedAtTop, let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
            if first != 0x2D && first != 0x43 { return }
        }
        var text = String(decoding: line, as: UTF8.self)

        if let start = pendingStatement {
            // A COPY or CREATE TABLE whose quoted name spans lines: joined until the quote closes.
            text = start.utf8.count < 65_536 ? start + "\n" + text : start
            pendingStatement = nil
        } else if !startedAtTop {
            return  // inside a literal, a quoted name, a dollar quote or a block comment
        }
        let isCopy = text.hasPrefix("COPY "), isCreate = text.hasPrefix("CREATE TABLE ") || text.hasPrefix("CREATE UNLOGGED TABLE ")
        if (isCopy || isCreate) && !atTop {
            pendingStatement = text
            return
        }
        if text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) || text == "--" { return }
        if text == DumpFormat.banner { report.sawBanner = true; return }
        if text == DumpFormat.completion { report.sawCompletion = true; afterCompletion = true; return }
        if text.hasPrefix("--") {
            // cdb-pg-dump writes the row count on the line right after a block's terminator.
            if let last = rowsLine, let expected = DumpFormat.rows(inLine: text) {
                report.countedBlocks += 1
                if last.rows != expected {
                    report.problems.append("line \(lineNumber): table \(Untrusted.escape(last.table)) has \(Format.count(last.rows, "row")) but its dump recorded \(expected)")
                }
            }
            return
        }
        // After the completion line pg_dump may write `\unrestrict KEY`; anything else means the
        // completion line was not the end.
        if afterCompletion {
            if text.hasPrefix("\\unrestrict ") { return }
            afterCompletion = false
            report.sawCompletion = false
        }
        if isCopy, text.hasSuffix(" FROM stdin;") {
            var rest = Substring(text.dropFirst(5))
            let name = Self.parseQualifiedName(&rest) ?? "?"
            inCopy = name
            copyRows = 0
            report.copyBlocks += 1
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
            report.problems.append("the COPY block of \(Untrusted.escape(table)) is not terminated (the dump is truncated)")
        }
        if !report.sawBanner { report.problems.append("no '\(DumpFormat.banner)' banner") }
        if !report.sawCompletion {
            report.problems.append("no '\(DumpFormat.completion)' line at the end (the dump is truncated)")
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
