import FoundationEssentials
import Glibc

/// The keys and indexes of a plain dump, read from its end before the restore reads it from
/// the start, so that `cdb-restore --jobs N` can build each table's as soon as that table's
/// data is loaded, as pg_restore does from a directory dump's table of contents (a script names
/// them only after all data). Everything after the last COPY block is read — a few KiB to a few
/// MiB — through the same script reader, from that block's `\.` line: a statement boundary, so
/// it splits into the very statements the restore will meet there.
///
/// Only for a file that can be read from anywhere: not compressed, not encrypted (those are
/// read once, from the start, as before).
struct PostDataTail {
    struct Statement {
        let text: String
        /// Counted from `start` (its first line is 1).
        let line: Int
        /// The session settings the statements before it in the tail make (name, statement).
        let settings: [(name: String, sql: String)]
    }

    let path: String
    /// The byte offset of the first byte after the last `\.` line.
    let start: Int64
    /// The keys and indexes (`ParallelRestore.isIndependentDDL`) after it, in order.
    let statements: [Statement]

    /// How much of a file's end is searched for its last COPY block.
    static let window = 16 << 20

    /// Nil when `path` is compressed or encrypted, has no COPY block in its last 16 MiB, or its
    /// end does not read as statements.
    static func read(path: String) -> PostDataTail? {
        guard Compression.of(path: path) == .none, !AgeFile.isEncrypted(path: path) else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int64(info.st_size)
        let length = Int(min(size, Int64(window)))
        let from = size - Int64(length)
        var bytes = [UInt8](repeating: 0, count: length)
        var got = 0
        while got < length {
            let n = bytes.withUnsafeMutableBytes { (try? FileIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[got...]), at: off_t(from) + off_t(got), path: path)) ?? 0 }
            if n <= 0 { return nil }
            got += n
        }
        // The last "\n\\.\n" (or one at the window's very start).
        let terminator: [UInt8] = [0x0A, 0x5C, 0x2E, 0x0A]
        var end: Int?
        var i = length - terminator.count
        while i >= 0 {
            if bytes[i + 1] == 0x5C, bytes[i] == 0x0A, bytes[i + 2] == 0x2E, bytes[i + 3] == 0x0A { end = i + 4; break }
            i -= 1
        }
        guard let end else { return nil }
        let start = from + Int64(end)
        guard let reader = try? DecompressingReader(path: path, from: start) else { return nil }
        let script = ScriptReader(reader: reader)
        var settings: [(name: String, sql: String)] = []
        var statements: [Statement] = []
        while true {
            let next: ScriptReader.Item?
            do { next = try script.next() } catch { return nil }
            guard let item = next else { break }
            switch item {
            case let .statement(text, line):
                if let name = ParallelRestore.sessionSetting(text) {
                    settings.removeAll { $0.name == name }
                    settings.append((name, text))
                } else if ParallelRestore.isIndependentDDL(text), ParallelRestore.lockedTable(text) != nil {
                    statements.append(Statement(text: text, line: line, settings: settings))
                }
            case .meta:
                continue
            case .copyData, .copyEnd:
                return nil  // not past the last COPY after all
            }
        }
        return statements.isEmpty ? nil : PostDataTail(path: path, start: start, statements: statements)
    }

    /// The line in the whole file of the tail's line `line` (counts the lines before it; for a
    /// message only).
    func lineInFile(_ line: Int) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return line }
        defer { close(fd) }
        var before = 0, position: Int64 = 0
        try? FileIO.forEachChunk(fd, path: path, from: 0) { chunk in
            let take = Int(min(Int64(chunk.count), start - position))
            if take > 0 { before += chunk[0..<take].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
            position += Int64(chunk.count)
        }
        return before + line
    }
}
