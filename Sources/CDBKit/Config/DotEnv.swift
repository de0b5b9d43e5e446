import FoundationEssentials
import Glibc

/// `KEY=value` files in docker compose's `.env` syntax: the repository's `.env` and the user's
/// config file. CRLF or LF line ends, a UTF-8 byte order mark, `export KEY=…`, comments,
/// `KEY=value # comment`, single quotes (literal), double quotes (escapes `\n \r \t \\ \"`,
/// interpolation), quoted values over several lines, and `$VAR`, `${VAR}`, `${VAR:-default}`,
/// `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?message}`, `${VAR?message}` and `$$`.
public enum DotEnv {
    /// A line that could not be read: its number and key (never its value).
    public struct Problem: Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var key: String?
        public var reason: String
        public var description: String { "\(file):\(line): \(key.map { "\($0): " } ?? "")\(reason); the line was ignored" }
    }

    public struct Parsed: Sendable {
        public var values: [String: String] = [:]
        /// The line each key was set on.
        public var lines: [String: Int] = [:]
        public var problems: [Problem] = []
    }

    /// The `.env` to read for a run in `directory`: the nearest one between it and the root of
    /// the work tree `root`.
    public static func locate(from directory: String, workTree root: String) -> String? {
        guard var current = WorkTree.physical(directory), current.hasPrefix(root) else { return nil }
        while true {
            let candidate = Path.join(current, ".env")
            var isDirectory = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory { return candidate }
            if current == root || current == "/" { return nil }
            current = Path.directory(of: current)
        }
    }

    /// Parses a file; a file that exists but cannot be read is a configuration error.
    public static func parse(fileAt path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Parsed {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CDBError.configuration("\(path) cannot be read (\(String(cString: strerror(errno)))) — fix its permissions")
        }
        return parse(String(decoding: data, as: UTF8.self), name: path, environment: environment)
    }

    /// Names whose values interpolation never copies into another value (they could end up in a
    /// host name or a message).
    static func isSecretName(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL"].contains { upper.contains($0) }
    }

    public static func parse(_ source: String, name: String = ".env", environment: [String: String] = [:]) -> Parsed {
        var text = Substring(source.replacingAll("\r\n", with: "\n"))
        if text.first == "\u{FEFF}" { text = text.dropFirst() }
        var result = Parsed()
        let chars = Array(text.unicodeScalars)
        var i = 0
        var lineNumber = 1

        func skipRestOfLine() {
            while i < chars.count, chars[i] != "\n" { i += 1 }
            if i < chars.count { i += 1; lineNumber += 1 }
        }
        func skipBlanks() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        func lookup(_ key: String) -> String? {
            if let value = result.values[key] { return value }
            if isSecretName(key) { return nil }
            return environment[key]
        }

        while i < chars.count {
            let startLine = lineNumber
            skipBlanks()
            if i >= chars.count { break }
            if chars[i] == "\n" { i += 1; lineNumber += 1; continue }
            if chars[i] == "#" { skipRestOfLine(); continue }
            // Key
            var key = ""
            while i < chars.count, chars[i] != "=", chars[i] != "\n" { key.unicodeScalars.append(chars[i]); i += 1 }
            key = key.trimmedSpaces()
            if key.hasPrefix("export ") { key = String(key.dropFirst(7)).trimmedSpaces() }
            guard i < chars.count, chars[i] == "=" else {
                result.problems.append(Problem(file: name, line: startLine, key: nil, reason: "not a KEY=value line"))
                skipRestOfLine()
                continue
            }
            i += 1
            guard let head = key.unicodeScalars.first, !ASCII.isDigit(head),
                  key.unicodeScalars.allSatisfy({ $0 == "_" || $0 == "." || $0 == "-" || ASCII.isLetter($0) || ASCII.isDigit($0) }) else {
                result.problems.append(Problem(file: name, line: startLine, key: nil, reason: "the name before '=' is not a valid variable name"))
                skipRestOfLine()
                continue
            }
            skipBlanks()
            var value = ""
            var failure: String?
            if i < chars.count, chars[i] == "'" || chars[i] == "\"" {
                let quote = chars[i]
                i += 1
                var raw: [Unicode.Scalar] = []
                var closed = false
                while i < chars.count {
                    let c = chars[i]
                    if c == "\\", quote == "\"", i + 1 < chars.count {
                        let next = chars[i + 1]
                        switch next {
                        case "n": raw.append("\n")
                        case "r": raw.append("\r")
                        case "t": raw.append("\t")
                        case "\\": raw.append("\\")
                        case "\"": raw.append("\"")
                        case "$": raw.append("\u{0}"); raw.append("$")  // an escaped dollar: no interpolation
                        default: raw.append("\\"); raw.append(next)
                        }
                        if next == "\n" { lineNumber += 1 }
                        i += 2
                        continue
                    }
                    if c == quote { closed = true; i += 1; break }
                    if c == "\n" { lineNumber += 1 }
                    raw.append(c)
                    i += 1
                }
                if !closed {
                    result.problems.append(Problem(file: name, line: startLine, key: key, reason: "the quote is never closed"))
                    continue
                }
                // After the closing quote: blanks, then nothing or a comment.
                skipBlanks()
                if i < chars.count, chars[i] != "\n", chars[i] != "#" {
                    failure = "text after the closing quote"
                }
                skipRestOfLine()
                if quote == "'" {
                    value = String(String.UnicodeScalarView(raw))
                } else if failure == nil {
                    switch interpolate(raw, lookup: lookup) {
                    case let .success(text): value = text
                    case let .failure(reason): failure = reason.message
                    }
                }
            } else {
                var raw: [Unicode.Scalar] = []
                while i < chars.count, chars[i] != "\n" {
                    // A comment starts at '#' after a blank.
                    if chars[i] == "#", let last = raw.last, last == " " || last == "\t" { break }
                    raw.append(chars[i])
                    i += 1
                }
                skipRestOfLine()
                while let last = raw.last, last == " " || last == "\t" { raw.removeLast() }
                switch interpolate(raw, lookup: lookup) {
                case let .success(text): value = text
                case let .failure(reason): failure = reason.message
                }
            }
            if let failure {
                result.problems.append(Problem(file: name, line: startLine, key: key, reason: failure))
                continue
            }
            result.values[key] = value
            result.lines[key] = startLine
        }
        return result
    }

    struct InterpolationError: Error { let message: String }

    /// Expands `$VAR`, `${…}` forms and `$$`. A `\0$` pair is a literal dollar (from `\$`).
    static func interpolate(_ raw: [Unicode.Scalar], lookup: (String) -> String?) -> Result<String, InterpolationError> {
        var out = String.UnicodeScalarView()
        var i = 0
        func isNameChar(_ c: Unicode.Scalar, first: Bool) -> Bool {
            c == "_" || ASCII.isLetter(c) || (!first && ASCII.isDigit(c))
        }
        while i < raw.count {
            let c = raw[i]
            if c == "\u{0}", i + 1 < raw.count, raw[i + 1] == "$" { out.append("$"); i += 2; continue }
            guard c == "$", i + 1 < raw.count else { out.append(c); i += 1; continue }
            let next = raw[i + 1]
            if next == "$" { out.append("$"); i += 2; continue }
            if next == "{" {
                guard let close = raw[(i + 2)...].firstIndex(of: "}") else {
                    return .failure(InterpolationError(message: "an unclosed ${"))
                }
                let inner = String(String.UnicodeScalarView(raw[(i + 2)..<close]))
                i = close + 1
                var name = inner, op = "", arg = ""
                for candidate in [":-", ":?", ":+", "-", "?", "+"] {
                    if let r = inner.byteRange(of: candidate), inner.utf8[..<r.lowerBound].allSatisfy({ isNameChar(Unicode.Scalar($0), first: false) }) {
                        name = String(Substring(inner.utf8[..<r.lowerBound])); op = candidate; arg = String(Substring(inner.utf8[r.upperBound...]))
                        break
                    }
                }
                guard let head = name.unicodeScalars.first, isNameChar(head, first: true),
                      name.unicodeScalars.allSatisfy({ isNameChar($0, first: false) }) else {
                    return .failure(InterpolationError(message: "${\(Untrusted.escape(inner))} is not a valid substitution"))
                }
                let value = lookup(name)
                switch op {
                case "": out.append(contentsOf: (value ?? "").unicodeScalars)
                case ":-": out.append(contentsOf: ((value?.isEmpty ?? true) ? arg : value!).unicodeScalars)
                case "-": out.append(contentsOf: (value ?? arg).unicodeScalars)
                case ":+": if !(value?.isEmpty ?? true) { out.append(contentsOf: arg.unicodeScalars) }
                case "+": if value != nil { out.append(contentsOf: arg.unicodeScalars) }
                case ":?", "?":
                    if value == nil || (op == ":?" && value!.isEmpty) {
                        return .failure(InterpolationError(message: "\(name) is required (\(Untrusted.escape(arg.isEmpty ? "not set" : arg)))"))
                    }
                    out.append(contentsOf: value!.unicodeScalars)
                default: break
                }
                continue
            }
            if isNameChar(next, first: true) {
                var j = i + 1
                while j < raw.count, isNameChar(raw[j], first: false) { j += 1 }
                let name = String(String.UnicodeScalarView(raw[(i + 1)..<j]))
                out.append(contentsOf: (lookup(name) ?? "").unicodeScalars)
                i = j
                continue
            }
            out.append(c)
            i += 1
        }
        return .success(String(out))
    }
}
