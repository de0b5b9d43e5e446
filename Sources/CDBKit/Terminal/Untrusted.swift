import FoundationEssentials
import Glibc

/// Text that came from a repository, a database, a file name or a server: branch names, commit
/// messages, object names, paths, error messages. Before it reaches a terminal, a log, the banner,
/// metadata or a message it is escaped, so that it can neither move the cursor, recolour, retitle
/// the terminal, nor start a line of its own.
public enum Untrusted {
    /// Control characters (C0, DEL, C1), line and paragraph separators and bidirectional
    /// overrides become visible escapes: `\n`, `\r`, `\t`, `\x1b`, `\u{202e}`.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else { out.unicodeScalars.append(scalar); continue }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                out += scalar.value < 0x100 ? "\\x" + Format.zeroPadded(String(scalar.value, radix: 16), width: 2)
                    : "\\u{" + Format.zeroPadded(String(scalar.value, radix: 16), width: 4) + "}"
            }
        }
        return out
    }

    /// Like `escape`, but keeps line breaks: for multi-line text cdb wrote itself around
    /// untrusted parts that were escaped already (a last guard before the terminal).
    public static func escapeKeepingLines(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 != "\n" && needsEscape($0) && !(0xE000...0xE003).contains($0.value) }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar == "\n" || (0xE000...0xE003).contains(scalar.value) || !needsEscape(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += escape(String(scalar))
            }
        }
        return out
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
            || (0xE000...0xE003).contains(v)  // the reporter's colour placeholders
    }
}
