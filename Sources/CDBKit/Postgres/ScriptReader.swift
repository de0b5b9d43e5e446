import FoundationEssentials
import Glibc

/// Splits a plain SQL script (ours, or pg_dump's plain format) into statements, psql
/// meta-commands and COPY data, as a stream in flat memory. It knows quotes, E'' strings,
/// quoted identifiers, dollar quoting, line and nested block comments.
public final class ScriptReader {
    public enum Item {
        /// One SQL statement (ending in `;`) and the line it starts on.
        case statement(String, line: Int)
        /// A psql meta-command line (`\connect …`, `\restrict …`), without its newline.
        case meta(String, line: Int)
        /// Raw COPY data lines (each ending in "\n"), in chunks; `nil` closes the block.
        case copyData(UnsafeRawBufferPointer)
        case copyEnd(line: Int)
    }

    private let reader: DecompressingReader
    private var chunk = UnsafeRawBufferPointer(start: nil, count: 0)
    private var position = 0
    private var line = 1
    private var done = false

    // Statement state.
    private var statement: [UInt8] = []
    private var statementLine = 1
    private var atLineStart = true
    private var inCopy = false
    private var copyStart = -1

    public init(reader: DecompressingReader) { self.reader = reader }

    private func refill() throws -> Bool {
        if position < chunk.count { return true }
        if done { return false }
        chunk = try reader.next()
        position = 0
        if chunk.isEmpty { done = true; return false }
        return true
    }

    /// The next item, or nil at the end. Throws on a statement left open at the end.
    public func next() throws -> Item? {
        if inCopy { return try nextCopy() }
        var quote: UInt8 = 0          // ' or " while inside one
        var escapeString = false      // inside E'…'
        var dollarTag: [UInt8]?       // inside $tag$…$tag$
        var lineComment = false
        var blockDepth = 0
        var metaLine: [UInt8]?
        // As psql does: in CREATE [OR REPLACE] FUNCTION|PROCEDURE, outside parentheses, BEGIN
        // opens a block (BEGIN ATOMIC … END, a SQL-standard body), CASE inside one opens another,
        // END closes one; a `;` inside a block does not end the statement.
        var beginDepth = 0
        var parenDepth = 0
        var identifiers = 0
        var leading: [Character] = []  // first letters of the leading create/or/replace/function/procedure words
        while try refill() {
            let byte = chunk[position]
            position += 1
            if let meta = metaLine {
                if byte == 0x0A {
                    line += 1
                    atLineStart = true
                    metaLine = nil
                    return .meta(String(decoding: meta, as: UTF8.self), line: line - 1)
                }
                metaLine!.append(byte)
                continue
            }
            let onlySpace = statement.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            if atLineStart && onlySpace && quote == 0 && dollarTag == nil && blockDepth == 0 && !lineComment && byte == 0x5C {
                statement.removeAll(keepingCapacity: true)
                metaLine = [byte]
                atLineStart = false
                continue
            }
            // A statement starts on the line of its first visible byte.
            if onlySpace && !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D) { statementLine = line }
            if byte == 0x0A { line += 1; atLineStart = true } else { atLineStart = false }
            if lineComment {
                if byte == 0x0A { lineComment = false }
                if onlySpace { statement.removeAll(keepingCapacity: true) } else { statement.append(byte) }
                continue
            }
            statement.append(byte)
            let n = statement.count
            if blockDepth > 0 {
                if byte == 0x2F && n >= 2 && statement[n - 2] == 0x2A { blockDepth -= 1 }            // */
                else if byte == 0x2A && n >= 2 && statement[n - 2] == 0x2F { blockDepth += 1 }       // /*
                continue
            }
            if let tag = dollarTag {
                // The closing tag, not overlapping the opening one.
                if byte == 0x24, n - tag.count >= (lastDollarOpen ?? 0), statement[(n - tag.count)..<n].elementsEqual(tag) {
                    dollarTag = nil
                }
                continue
            }
            if quote != 0 {
                if escapeString && byte == 0x5C && quote == 0x27 {
                    // A backslash escape: take the next byte literally.
                    if try refill() {
                        let next = chunk[position]; position += 1
                        statement.append(next)
                        if next == 0x0A { line += 1 }
                    }
                    continue
                }
                if byte == quote { quote = 0; escapeString = false }   // '' and "" reopen on the next byte
                continue
            }
            // A word just ended (this byte is not part of it): count it.
            if !Self.isIdentByte(byte), n >= 2, Self.isIdentByte(statement[n - 2]) {
                var i = n - 2
                while i > 0 && Self.isIdentByte(statement[i - 1]) { i -= 1 }
                let first = statement[i]
                if !(first >= 0x30 && first <= 0x39) && first != 0x24 {
                    let word = String(decoding: statement[i..<(n - 1)], as: UTF8.self).lowercased()
                    if identifiers == leading.count, identifiers < 4, ["create", "function", "procedure", "or", "replace"].contains(word) {
                        leading.append(word.first!)
                    }
                    identifiers += 1
                    let routine = leading.count >= 2 && leading[0] == "c"
                        && (leading[1] == "f" || leading[1] == "p"
                            || (leading.count >= 4 && leading[1] == "o" && leading[2] == "r" && (leading[3] == "f" || leading[3] == "p")))
                    if routine && parenDepth == 0 {
                        if word == "begin" { beginDepth += 1 }
                        else if word == "case" { if beginDepth >= 1 { beginDepth += 1 } }
                        else if word == "end", beginDepth > 0 { beginDepth -= 1 }
                    }
                }
            }
            if byte == 0x28 { parenDepth += 1 } else if byte == 0x29, parenDepth > 0 { parenDepth -= 1 }
            switch byte {
            case 0x27, 0x22:
                quote = byte
                escapeString = byte == 0x27 && n >= 2 && (statement[n - 2] == 0x45 || statement[n - 2] == 0x65)
                    && (n < 3 || !Self.isIdentByte(statement[n - 3]))
            case 0x2D where n >= 2 && statement[n - 2] == 0x2D:
                lineComment = true
                statement.removeLast(2)
            case 0x2A where n >= 2 && statement[n - 2] == 0x2F:
                blockDepth = 1
            case 0x24:
                // $tag$ or $$, not $1 (a parameter) and not inside an identifier.
                if let tag = dollarTagEnding(at: n) { dollarTag = tag; lastDollarOpen = n }
            case 0x3B where beginDepth == 0 && parenDepth == 0:
                let text = String(decoding: statement, as: UTF8.self)
                statement.removeAll(keepingCapacity: true)
                if Self.isCopyFromStdin(text) { inCopy = true; copyStart = line; skipRestOfLine = true }
                return .statement(text, line: statementLine)
            default:
                break
            }
        }
        if metaLine != nil { metaLine = nil }
        let rest = String(decoding: statement, as: UTF8.self).trimmed()
        statement.removeAll()
        if quote != 0 || dollarTag != nil || blockDepth > 0 || !rest.isEmpty {
            throw CDBError.validation(path: "script", reason: "line \(statementLine): the script ends inside a statement (truncated?)")
        }
        return nil
    }

    private var lastDollarOpen: Int?

    /// When the statement ends with `$tag$` opening a dollar quote, the tag.
    private func dollarTagEnding(at n: Int) -> [UInt8]? {
        var i = n - 2
        while i >= 0 && Self.isTagByte(statement[i]) { i -= 1 }
        guard i >= 0, statement[i] == 0x24 else { return nil }
        let tag = Array(statement[i..<n])
        if tag.count > 2, let first = tag.dropFirst().first, first >= 0x30 && first <= 0x39 { return nil }  // $1$
        if i > 0 && Self.isIdentByte(statement[i - 1]) { return nil }
        return tag
    }

    static func isTagByte(_ b: UInt8) -> Bool { b == 0x5F || (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b >= 0x80 }
    static func isIdentByte(_ b: UInt8) -> Bool { isTagByte(b) || b == 0x24 }

    static func isCopyFromStdin(_ text: String) -> Bool {
        let t = text.trimmed()
        guard t.uppercased().hasPrefix("COPY ") else { return false }
        return t.firstMatch(of: copyFromStdin) != nil
    }

    private static let copyFromStdin = try! Regex(#"FROM\s+stdin\s*;?$"#).ignoresCase().matchingSemantics(.unicodeScalar)

    /// COPY data up to (not including) the `\.` line, in chunks that end at a line break.
    private var copyLineStart = true
    private var copyLinePrefix: [UInt8] = []

    private var skipRestOfLine = false

    private func nextCopy() throws -> Item? {
        // The data starts on the line after `COPY … FROM stdin;`.
        while skipRestOfLine, try refill() {
            let byte = chunk[position]
            position += 1
            if byte == 0x0A { line += 1; skipRestOfLine = false; copyLineStart = true }
        }
        guard try refill() else {
            throw CDBError.validation(path: "script", reason: "line \(copyStart): the COPY data has no \\. terminator (truncated?)")
        }
        let base = chunk.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let start = position
        var p = position
        while p < chunk.count {
            if copyLineStart {
                // Is this line "\."? Look ahead within the chunk (or across the boundary).
                let available = chunk.count - p
                if available >= 3 {
                    if base[p] == 0x5C && base[p + 1] == 0x2E && base[p + 2] == 0x0A {
                        if p > start {
                            position = p
                            return .copyData(UnsafeRawBufferPointer(rebasing: chunk[start..<p]))
                        }
                        position = p + 3
                        line += 1
                        inCopy = false
                        copyLineStart = true
                        return .copyEnd(line: line - 1)
                    }
                } else if base[p] == 0x5C && (available == 1 || base[p + 1] == 0x2E) {
                    // A possible terminator split across chunks: hand over what we have first.
                    if p > start {
                        position = p
                        return .copyData(UnsafeRawBufferPointer(rebasing: chunk[start..<p]))
                    }
                    return try copyBoundary()
                }
            }
            guard let found = memchr(base + p, 0x0A, chunk.count - p) else {
                copyLineStart = false
                p = chunk.count
                break
            }
            p = UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base + 1
            line += 1
            copyLineStart = true
        }
        position = p
        return .copyData(UnsafeRawBufferPointer(rebasing: chunk[start..<p]))
    }

    /// The rare case of "\." split across two chunks: read byte by byte.
    private let boundary = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
    deinit { boundary.deallocate() }

    private func copyBoundary() throws -> Item? {
        var count = 0
        while count < 3, try refill() {
            boundary[count] = chunk[position]
            position += 1
            count += 1
            if boundary[count - 1] == 0x0A { break }
        }
        let bytes = Array(boundary[0..<count])
        let atEnd = try !refill()
        if bytes == [0x5C, 0x2E, 0x0A] || (bytes == [0x5C, 0x2E] && atEnd) {
            line += 1
            inCopy = false
            copyLineStart = true
            return .copyEnd(line: line - 1)
        }
        copyLineStart = bytes.last == 0x0A
        if copyLineStart { line += 1 }
        return .copyData(UnsafeRawBufferPointer(rebasing: boundary[0..<count]))
    }
}
