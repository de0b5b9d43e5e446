// JSON text for --json output and git_metadata.json: keys sorted, slashes unescaped, control
// characters escaped (a name from a repository or a database never reaches a terminal raw).
// Written here rather than with JSONSerialization, which needs full Foundation (see Text.swift).

/// A JSON value.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    /// A value built from Swift values as `[String: Any]` dictionaries hold them: strings,
    /// booleans, integers, doubles, arrays, dictionaries, optionals (nil is null) and JSON.
    public init(any value: Any) {
        switch value {
        case let v as JSON: self = v
        case let v as String: self = .string(v)
        case let v as Substring: self = .string(String(v))
        case let v as Bool: self = .bool(v)
        case let v as Int: self = .int(Int64(v))
        case let v as Int32: self = .int(Int64(v))
        case let v as Int64: self = .int(v)
        case let v as UInt64: self = v <= UInt64(Int64.max) ? .int(Int64(v)) : .double(Double(v))
        case let v as Double: self = .double(v)
        case let v as [String: Any]: self = .object(v.mapValues { JSON(any: $0) })
        case let v as [Any]: self = .array(v.map { JSON(any: $0) })
        default:
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional {
                self = mirror.children.first.map { JSON(any: $0.value) } ?? .null
            } else {
                self = .string(String(describing: value))
            }
        }
    }

    /// The text: one line, or `pretty` with two-space indentation as JSONSerialization writes it.
    public func text(pretty: Bool = false) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(into out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let v): out += v ? "true" : "false"
        case .int(let v): out += String(v)
        case .double(let v):
            if v.isFinite, v == v.rounded(), abs(v) < 1e15 { out += String(Int64(v)) } else if v.isFinite { out += String(v) } else { out += "null" }
        case .string(let v): JSON.quote(v, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: " ", count: indent + 2) }
                item.write(into: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { out += "\n" + String(repeating: " ", count: indent) }
            out += "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (i, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: " ", count: indent + 2) }
                JSON.quote(key, into: &out)
                out += pretty ? " : " : ":"
                members[key]!.write(into: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { out += "\n" + String(repeating: " ", count: indent) }
            out += "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += "\\u" + Format.zeroPadded(String(scalar.value, radix: 16), width: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
