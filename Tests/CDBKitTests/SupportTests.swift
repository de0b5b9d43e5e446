import Foundation
import Testing
@testable import CDBKit

/// CDBKit's own path, number, date and JSON helpers (it does not load full Foundation), each
/// judged by the Foundation implementation it replaces, on ordinary and hostile input.
@Suite("Support: text without Foundation", .serialized)
struct SupportTests {
    @Test("Path.join / name / directory mean what NSString's path methods mean")
    func paths() {
        // NSString's own oddities are left out (the name of "//", a component with a leading
        // slash): known answers below.
        let samples = ["", "/", "a", "a/", "/a", "/a/", "/a/b", "/a/b/", "a/b", "a//b", "/a//b//", ".", "..", "./x", "a b/c\nd", "/ä/ö"]
        for path in samples {
            let ns = path as NSString
            #expect(Path.name(of: path) == ns.lastPathComponent, "name of \(path.debugDescription)")
            // Foundation 6.3 traps (illegal instruction) on the directory of some relative
            // paths ("a", "a/"), as cdb did before with `-o dump.sql`: relative ones are
            // checked below against known answers instead.
            if !path.contains("//") && path.hasPrefix("/") {
                #expect(Path.directory(of: path) == ns.deletingLastPathComponent, "directory of \(path.debugDescription)")
            }
            for component in ["x", "x/y", "x/"] where !path.isEmpty && !path.hasSuffix("//") {
                #expect(Path.join(path, component) == ns.appendingPathComponent(component)
                        || Path.join(path, component) + "/" == ns.appendingPathComponent(component),
                        "join \(path.debugDescription) + \(component.debugDescription)")
            }
        }
        #expect(Path.directory(of: "a") == "")
        #expect(Path.directory(of: "a/") == "")
        #expect(Path.directory(of: "a/b") == "a")
        #expect(Path.directory(of: "./x") == ".")
        #expect(Path.directory(of: "") == "")
        #expect(Path.directory(of: "a/b/") == "a")
        #expect(Path.join("", "x") == "x")
        #expect(Path.join("a", "/x") == "a/x")
        #expect(Path.join("/", "/x") == "/x")
        #expect(Path.join("/root/", "/.lock") == "/root/.lock")
    }

    @Test("Format.fixed rounds as printf's %.2f; zeroPadded and hex as %02d and %02x")
    func numbers() {
        for value in [0, 0.004, 0.005, 0.015, 0.125, 1.999, 2.5, -0.001, -1.5, 12345.678, 1e12 + 0.3, 0.1 + 0.2] {
            let printf = String(format: "%.2f", value)
            // printf rounds the binary value half to even; Format rounds it half away from zero:
            // they may differ only on exact binary halves.
            let ours = Format.fixed(value)
            #expect(ours == printf || abs(Double(ours)! - Double(printf)!) <= 0.0100001, "\(value): \(ours) vs \(printf)")
        }
        #expect(Format.fixed(0.004) == "0.00")
        #expect(Format.fixed(1.999) == "2.00")
        #expect(Format.fixed(-0.001) == "0.00")
        #expect(Format.fixed(3, decimals: 0) == "3")
        for n in [0, 7, 42, 123, 2026] {
            #expect(Format.zeroPadded(n, width: 2) == String(format: "%02d", n))
            #expect(Format.zeroPadded(n, width: 4) == String(format: "%04d", n))
        }
        let bytes: [UInt8] = [0, 1, 0x0f, 0x10, 0xab, 0xff]
        #expect(Format.hex(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
    }

    @Test("trimmed / trimmedSpaces as trimmingCharacters(in: .whitespacesAndNewlines / .whitespaces)")
    func trimming() {
        for text in ["", " ", "a", " a ", "\t a b \n", "\n\na\n", " \r\n x\r\n", "\u{2003}y\u{2003}"] {
            #expect(text.trimmed() == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(text.debugDescription)")
        }
        #expect(" \ta b\t ".trimmedSpaces() == "a b")
        #expect("\n a \n".trimmedSpaces() == "\n a \n")
    }

    @Test("replacingAll compares bytes: a quote before a combining mark is still doubled, \\n inside \\r\\n still found")
    func bytewiseReplace() {
        // Foundation's replacingOccurrences compares Characters here: it leaves this quote single,
        // which in an SQL literal ends the literal. replacingAll must not.
        let hostile = "a'\u{301}b"
        #expect(hostile.replacingOccurrences(of: "'", with: "''").utf8.filter { $0 == 0x27 }.count == 1)
        #expect(hostile.replacingAll("'", with: "''") == "a''\u{301}b")
        #expect("x\r\ny".replacingAll("\n", with: " ") == "x\r y")
        #expect("x\r\ny".replacingAll("\r\n", with: "\n") == "x\ny")
        #expect("\"\u{308}".replacingAll("\"", with: "\"\"") == "\"\"\u{308}")
        #expect("abc".replacingAll("", with: "x") == "abc")
        #expect("aaa".replacingAll("aa", with: "b") == "ba")
        let line = "-- Name: t; Type: TABLE; Schema: \u{301}s; Owner: o"
        let range = line.byteRange(of: "; Schema: ")!
        #expect(String(Substring(line.utf8[range.upperBound...])).hasPrefix("\u{301}s"))
        #expect(line.byteRange(of: "; Nope") == nil)
        #expect("a\r\nb".containsBytes("\n"))
    }

    @Test("Timestamp writes and reads ISO 8601 as ISO8601DateFormatter does; impossible dates are refused")
    func timestamps() {
        let formatter = ISO8601DateFormatter()
        for seconds in [0.0, 86399, 951_782_400, 1_764_072_000, 4_102_444_799] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Timestamp.iso8601(date) == formatter.string(from: date))
            formatter.timeZone = .current
            #expect(Timestamp.iso8601(date, local: true) == formatter.string(from: date))
            formatter.timeZone = TimeZone(identifier: "UTC")
        }
        for text in ["2025-11-25T12:00:00+01:00", "2025-11-25T11:00:00Z", "2024-02-29T23:59:59-09:30", "2000-01-01T00:00:00Z"] {
            #expect(Timestamp.parseISO8601(text) == ISO8601DateFormatter().date(from: text), "\(text)")
        }
        for bad in ["", "2025-11-25", "2025-11-25 12:00:00Z", "2025-02-31T12:00:00Z", "2025-13-01T00:00:00Z", "2025-11-25T12:00:00+0100",
                    "2025-11-25T12:00:00Zjunk", "２０２５-11-25T12:00:00Z"] {
            #expect(Timestamp.parseISO8601(bad) == nil, "\(bad)")
        }
    }

    @Test("JSON text parses back (JSONSerialization as judge) to the same values; control characters escaped")
    func json() throws {
        let nothing: String? = nil
        let object: [String: Any] = [
            "name": "x/y \u{1b}[31m\n\"q\"\\ \u{2028} ä", "none": nothing as Any, "yes": true, "no": false, "int": 3, "big": Int64(1) << 53,
            "half": 0.25, "seconds": 1.5, "whole": 2.0, "list": [["k": 1], ["k": 2]], "empty": [String](), "nested": ["b": 1, "a": [1, 2]],
        ]
        for pretty in [false, true] {
            let text = JSON(any: object).text(pretty: pretty)
            #expect(!text.unicodeScalars.contains { $0.value < 0x20 && !(pretty && $0 == "\n") }, "no raw control character")
            #expect(!text.contains("\\/"), "slashes unescaped")
            let parsed = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(parsed["name"] as? String == object["name"] as? String)
            #expect(parsed["none"] is NSNull)
            #expect(parsed["yes"] as? Bool == true && parsed["no"] as? Bool == false)
            #expect(parsed["int"] as? Int == 3 && parsed["big"] as? Int64 == Int64(1) << 53)
            #expect(parsed["half"] as? Double == 0.25 && parsed["seconds"] as? Double == 1.5 && parsed["whole"] as? Double == 2)
            #expect((parsed["list"] as? [[String: Int]])?.map { $0["k"] } == [1, 2])
            #expect((parsed["empty"] as? [Any])?.isEmpty == true)
            #expect(((parsed["nested"] as? [String: Any])?["a"] as? [Int]) == [1, 2])
        }
        let sorted = JSON(any: ["b": 1, "a": 2, "c": ["z": 1, "y": 2]] as [String: Any]).text()
        #expect(sorted == #"{"a":2,"b":1,"c":{"y":2,"z":1}}"#)
        #expect(JSON(any: ["k": [1]] as [String: Any]).text(pretty: true) == "{\n  \"k\" : [\n    1\n  ]\n}")
    }

    @Test("describe(error) names the file and the reason of a file error, never Foundation's raw dump")
    func errors() {
        do {
            _ = try FileManager.default.contentsOfDirectory(atPath: "/nonexistent-cdb/x")
            Issue.record("no error")
        } catch {
            #expect(describe(error).contains("/nonexistent-cdb/x"))
            #expect(describe(error).lowercased().contains("no such file"))
        }
        #expect(describe(POSIXError(.ENOSPC)) == String(cString: strerror(ENOSPC)))
        #expect(describe(CDBError.usage("bad flag")).contains("bad flag"))
    }

    @Test("ChildProcess: arguments reach the program as given, standard input and error are pipes, the exit code comes back")
    func childProcess() throws {
        let child = try ChildProcess(["sh", "-c", "cat >&2; exit 3", "x;$(echo no)"])
        let payload = "line one\nsecond 'line' $(rm -rf /)\n"
        writeText(payload, to: child.input)
        child.closeInput()
        let errors = child.readErrors()
        #expect(String(decoding: errors, as: UTF8.self) == payload)
        #expect(child.waitForExit() == 3)
        #expect(throws: (any Error).self) { try ChildProcess(["/nonexistent-cdb-program"]) }
        let killed = try ChildProcess(["sleep", "30"])
        killed.terminate()
        #expect(killed.waitForExit() == 128 + SIGTERM)
    }
}
