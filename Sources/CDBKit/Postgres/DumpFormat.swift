/// The marker lines of a plain dump — pg_dump's layout plus cdb's `-- Rows: N` after each COPY
/// block — in one place: the dumper writes them, the validator and `cdb-restore --clean` read
/// them, so the three cannot drift apart.
enum DumpFormat {
    static let banner = "-- PostgreSQL database dump"
    static let completion = "-- PostgreSQL database dump complete"
    static let rowsPrefix = "-- Rows: "
    static let namePrefix = "-- Name: "

    /// The comment block that ends a dump.
    static let completionBlock = "--\n\(completion)\n--\n\n"

    /// The line after a COPY block's `\.`, with the rows the server sent.
    static func rowsLine(_ rows: Int64) -> String { "\(rowsPrefix)\(rows)\n" }

    /// The rows a `-- Rows: N` line records, or nil for another line.
    static func rows(inLine text: String) -> Int64? {
        guard text.hasPrefix(rowsPrefix) else { return nil }
        return Int64(text.dropFirst(rowsPrefix.count).trimmedSpaces()) ?? -1
    }

    /// pg_dump's object header comment. A name never breaks the comment line (as pg_dump).
    static func header(name: String, type: String, schema: String?, owner: String?, data: Bool = false) -> String {
        let clean = { (s: String) in
            s.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D })
                ? s.replacingAll("\n", with: " ").replacingAll("\r", with: " ") : s
        }
        return "--\n-- \(data ? "Data for " : "")Name: \(clean(name)); Type: \(type); Schema: \(schema.map(clean) ?? "-"); Owner: \(owner.map(clean) ?? "-")\n--\n\n"
    }

    /// A header whose names hold the separators themselves (an object named `t; Type: TABLE;
    /// Schema: public`): which part is the name cannot be told, so nothing may act on it.
    struct AmbiguousHeader: Error { let line: String }

    /// Name, type and schema of a `-- Name: …; Type: …; Schema: …; Owner: …` line. The names
    /// come from the dumped database: a line with more than one separator is refused.
    static func parseHeader(_ line: Substring) throws -> (name: String, type: String, schema: String)? {
        guard line.hasPrefix(namePrefix) else { return nil }
        if line.components(separatedBy: "; Type: ").count > 2 || line.components(separatedBy: "; Schema: ").count > 2 {
            throw AmbiguousHeader(line: String(line))
        }
        guard let typeRange = line.byteRange(of: "; Type: "), let schemaRange = line.byteRange(of: "; Schema: ") else { return nil }
        let name = String(line[line.index(line.startIndex, offsetBy: namePrefix.count)..<typeRange.lowerBound])
        let type = String(line[typeRange.upperBound..<schemaRange.lowerBound])
        let schemaEnd = line.byteRange(of: "; Owner:")?.lowerBound ?? line.endIndex
        return (name, type, String(line[schemaRange.upperBound..<schemaEnd]))
    }
}
