import Foundation

/// The repository's `.env` file: `KEY=value` lines as docker compose writes them.
public enum DotEnv {
    /// The `.env` to read for a run in `directory`: the nearest one between it and the root of
    /// the git work tree that contains it (only `directory` itself outside a work tree).
    public static func locate(from directory: String) -> String? {
        let fm = FileManager.default
        var current = URL(fileURLWithPath: directory).standardizedFileURL
        while true {
            let candidate = current.appendingPathComponent(".env").path
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue { return candidate }
            if fm.fileExists(atPath: current.appendingPathComponent(".git").path) { return nil }
            let parent = current.deletingLastPathComponent()
            if parent.path == current.path { return nil }
            current = parent
        }
    }

    /// Parses a `.env` file. Problems name the line, never its value.
    public static func parse(fileAt path: String) -> (values: [String: String], problems: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return ([:], ["\(path): cannot be read; it was ignored"])
        }
        return parse(String(decoding: data, as: UTF8.self), name: path)
    }

    public static func parse(_ text: String, name: String = ".env") -> (values: [String: String], problems: [String]) {
        var values: [String: String] = [:]
        var problems: [String] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                problems.append("\(name):\(index + 1): not a KEY=value line; it was ignored")
                continue
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard let head = key.first, !head.isNumber, key.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                problems.append("\(name):\(index + 1): the name before '=' is not a valid variable name; the line was ignored")
                continue
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let quote = value.first, quote == "\"" || quote == "'" {
                if value.count >= 2, value.last == quote {
                    value = String(value.dropFirst().dropLast())
                    if quote == "\"" {
                        value = value.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\"", with: "\"")
                    }
                } else {
                    problems.append("\(name):\(index + 1): \(key) has an unterminated quote; the line was ignored")
                    continue
                }
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            values[key] = value
        }
        return (values, problems)
    }
}
