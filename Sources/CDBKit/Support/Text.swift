import FoundationEssentials
import Glibc

// The few path and text helpers the programs need from outside the standard library. CDBKit
// imports FoundationEssentials, not Foundation: full Foundation (with ICU) costs every program
// about 8 MB of memory and 3 ms at start-up, and the post-commit hook and cdb-pg-dump's memory
// target (README, "Performance") cannot afford it. Everything here is locale-free by design:
// backups, logs and sidecars must read the same on every machine.

/// Path arithmetic on strings, with the meaning of POSIX paths (no normalisation, no I/O).
public enum Path {
    /// `base` + "/" + `component`, with exactly one slash between them; an empty base gives
    /// `component`, an absolute `component` is still appended (as with NSString).
    public static func join(_ base: String, _ component: String) -> String {
        if base.isEmpty { return component }
        if component.isEmpty { return base }
        let left = base.hasSuffix("/") ? String(base.dropLast(base.reversed().prefix { $0 == "/" }.count)) : base
        let right = component.drop { $0 == "/" }
        return (left.isEmpty ? "/" : left + "/") + right
    }

    /// The last component: "/a/b/" → "b", "b" → "b", "/" → "/", "" → "".
    public static func name(of path: String) -> String {
        let trimmed = path.reversed().drop { $0 == "/" }
        if trimmed.isEmpty { return path.isEmpty ? "" : "/" }
        return String(trimmed.prefix { $0 != "/" }.reversed())
    }

    /// Everything before the last component: "/a/b" → "/a", "/a" → "/", "a" → "", "a/b/" → "a".
    public static func directory(of path: String) -> String {
        var chars = Substring(path)
        while chars.count > 1, chars.last == "/" { chars = chars.dropLast() }
        guard let slash = chars.lastIndex(of: "/") else { return "" }
        var head = chars[..<slash]
        while head.count > 1, head.last == "/" { head = head.dropLast() }
        return head.isEmpty ? "/" : String(head)
    }

    /// The user's home folder: $HOME, else the password database's entry.
    public static var home: String {
        if let home = getenv("HOME"), home.pointee != 0 { return String(cString: home) }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir { return String(cString: dir) }
        return "/"
    }
}

/// printf-like number formatting without a locale.
public enum Format {
    /// "1 file", "3 files", "0 rows": a count with its noun, plural when not one.
    public static func count<N: BinaryInteger>(_ n: N, _ noun: String) -> String {
        "\(n) " + (n == 1 ? noun : noun + "s")
    }

    /// `value` with `decimals` digits after the point, rounded half away from zero ("%.2f").
    public static func fixed(_ value: Double, decimals: Int = 2) -> String {
        guard value.isFinite else { return String(value) }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e18 else { return String(value) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let fraction = units % UInt64(scale)
        let sign = value < 0 && units != 0 ? "-" : ""
        if decimals == 0 { return sign + String(whole) }
        return sign + String(whole) + "." + zeroPadded(Int(fraction), width: decimals)
    }

    /// A non-negative integer left-padded with zeros to `width` digits ("%0Nd").
    public static func zeroPadded<T: BinaryInteger>(_ value: T, width: Int) -> String {
        zeroPadded(String(value), width: width)
    }

    /// Digits left-padded with zeros to `width`.
    public static func zeroPadded(_ digits: String, width: Int) -> String {
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// A short stable key for a text (64-bit FNV-1a, hexadecimal): names the per-repository
    /// marker files in the backup root.
    public static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3 }
        return String(hash, radix: 16)
    }

    /// Lower-case hexadecimal of some bytes, two digits each.
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace (spaces, tabs, newlines, any Unicode
    /// whitespace).
    public func trimmed() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    /// The text without leading and trailing spaces and tabs (newlines kept).
    public func trimmedSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// The text of an error for a message: what the error says about itself.
public func describe(_ error: Error) -> String {
    if let error = error as? CDBError { return error.errorDescription ?? "\(error)" }
    if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
    if let error = error as? CocoaError {
        let path = error.filePath.map { Untrusted.escape($0) + ": " } ?? ""
        if let posix = error.underlying as? POSIXError { return path + String(cString: strerror(posix.code.rawValue)) }
        switch error.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return path + "no such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: return path + "permission denied"
        case .fileWriteOutOfSpace: return path + "no space left on device"
        case .fileWriteFileExists: return path + "file exists"
        default: return path + "file error \(error.code.rawValue)"
        }
    }
    if let error = error as? LocalizedError, let text = error.errorDescription { return text }
    return String(describing: error)
}

extension StringProtocol {
    /// Every occurrence of `target` replaced by `replacement`, compared byte by byte (UTF-8),
    /// not Character by Character: a quote followed by a combining mark is still a quote, and
    /// the "\n" of a "\r\n" is still a newline. Quoting and escaping must use this.
    public func replacingAll(_ target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard let first = needle.first else { return String(self) }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count)
        var matched = false
        withContiguousUTF8 { hay in
            var i = 0
            while i < hay.count {
                if hay[i] == first, i + needle.count <= hay.count,
                   needle.indices.allSatisfy({ hay[i + $0] == needle[$0] }) {
                    out.append(contentsOf: replacement.utf8)
                    i += needle.count
                    matched = true
                } else {
                    out.append(hay[i])
                    i += 1
                }
            }
        }
        return matched ? String(decoding: out, as: UTF8.self) : String(self)
    }

    /// The first occurrence of `target`, compared byte by byte (UTF-8), as a range of this
    /// text's indices (on Unicode scalar boundaries; slice with `Substring(text.utf8[range])`
    /// to keep them exact).
    public func byteRange(of target: String) -> Range<Index>? {
        let needle = Array(target.utf8)
        guard !needle.isEmpty else { return nil }
        var start = utf8.startIndex
        while start != utf8.endIndex {
            var i = start, j = 0
            while j < needle.count, i != utf8.endIndex, utf8[i] == needle[j] {
                i = utf8.index(after: i)
                j += 1
            }
            if j == needle.count { return start..<i }
            start = utf8.index(after: start)
        }
        return nil
    }

    /// Whether `target` occurs, compared byte by byte (UTF-8).
    public func containsBytes(_ target: String) -> Bool { byteRange(of: target) != nil }

    private func withContiguousUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var copy = String(self)
        copy.withUTF8 { body($0) }
    }
}

/// ASCII character classes (locale-free).
public enum ASCII {
    public static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    public static func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
}

/// Dates as text, without a locale.
public enum Timestamp {
    /// RFC 3339 / ISO 8601 to the second: UTC with "Z", or (`local`) the machine's local time
    /// with its offset ("2026-11-27T10:31:11+01:00"; "Z" when the offset is zero).
    public static func iso8601(_ date: Date, local: Bool = false) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        if local { localtime_r(&t, &parts) } else { gmtime_r(&t, &parts) }
        let offset = local ? Int(parts.tm_gmtoff) / 60 : 0
        let zone = offset == 0 ? "Z"
            : (offset < 0 ? "-" : "+") + Format.zeroPadded(abs(offset) / 60, width: 2) + ":" + Format.zeroPadded(abs(offset) % 60, width: 2)
        return dateAndTime(parts, separator: "T") + zone
    }

    /// "YYYY-MM-DD HH:MM:SS" in local time (the logs' stamps); nil for anything else.
    public static func parseLocal(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 19, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x20, b[13] == 0x3A, b[16] == 0x3A else { return nil }
        func n(_ i: Int, _ c: Int) -> Int32? { Int32(String(decoding: b[i..<(i + c)], as: UTF8.self)) }
        guard let y = n(0, 4), let mo = n(5, 2), let d = n(8, 2), let h = n(11, 2), let mi = n(14, 2), let s = n(17, 2) else { return nil }
        var parts = tm()
        parts.tm_year = y - 1900; parts.tm_mon = mo - 1; parts.tm_mday = d
        parts.tm_hour = h; parts.tm_min = mi; parts.tm_sec = s; parts.tm_isdst = -1
        let t = mktime(&parts)
        return t == -1 ? nil : Date(timeIntervalSince1970: Double(t))
    }

    /// "YYYY-MM-DD" + separator + "HH:MM:SS" of broken-down time.
    public static func dateAndTime(_ parts: tm, separator: String = " ") -> String {
        date(parts) + separator + Format.zeroPadded(parts.tm_hour, width: 2) + ":" + Format.zeroPadded(parts.tm_min, width: 2)
            + ":" + Format.zeroPadded(parts.tm_sec, width: 2)
    }

    /// "YYYY-MM-DD" of broken-down time.
    public static func date(_ parts: tm) -> String {
        Format.zeroPadded(parts.tm_year + 1900, width: 4) + "-" + Format.zeroPadded(parts.tm_mon + 1, width: 2) + "-"
            + Format.zeroPadded(parts.tm_mday, width: 2)
    }

    /// Parses "YYYY-MM-DDTHH:MM:SS" followed by "Z" or "±HH:MM" (what `iso8601` writes); nil
    /// for anything else.
    public static func parseISO8601(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var n = 0
            for c in b[from..<(from + count)] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                n = n * 10 + Int(c - 0x30)
            }
            return n
        }
        guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x74, b[13] == 0x3A, b[16] == 0x3A,
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var offset = 0
        if b.count == 20, b[19] == 0x5A || b[19] == 0x7A {
            offset = 0
        } else if b.count == 25, b[19] == 0x2B || b[19] == 0x2D, b[22] == 0x3A, let h = number(20, 2), let m = number(23, 2) {
            offset = (h * 60 + m) * (b[19] == 0x2D ? -1 : 1)
        } else {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let utc = timegm(&parts)
        guard parts.tm_mday == Int32(day) else { return nil }  // 31 February and the like
        return Date(timeIntervalSince1970: Double(Int(utc) - offset * 60))
    }
}
