import FoundationEssentials
import Glibc

/// Git's commit-graph file (`objects/info/commit-graph`, written by `git gc` and
/// `git commit-graph write`): every commit's parents as indices into one sorted list, so that
/// counting a commit's ancestors needs no object read at all. libgit2 1.5 does not use it when
/// walking history; this reads it directly, for the commit count only.
///
/// The file is the repository's, so hostile: every offset and index is checked, and anything
/// unexpected (another version, SHA-256, a split chain, a parent out of range) makes `open`
/// return nil and the caller walk the history instead.
struct CommitGraph {
    private let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer
    private let length: Int
    /// Number of commits.
    let count: Int
    private let fanout: Int, oids: Int, data: Int
    private let edges: Int?, edgeCount: Int

    static let hashLength = 20
    static let noParent: UInt32 = 0x7000_0000

    /// The graph of the repository whose object folder is `objects`, or nil when there is none
    /// or it is not one this reader trusts.
    static func open(objects: String) -> CommitGraph? {
        let path = Path.join(objects, "info/commit-graph")
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size >= 8 + 12, info.st_size < (1 << 40) else { return nil }
        let length = Int(info.st_size)
        guard let mapping = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else { return nil }
        let graph = CommitGraph(mapping: mapping, length: length)
        if graph == nil { munmap(mapping, length) }
        return graph
    }

    private init?(mapping: UnsafeMutableRawPointer, length: Int) {
        self.mapping = mapping
        self.length = length
        let bytes = UnsafeRawBufferPointer(start: mapping, count: length)
        self.bytes = bytes
        // Header: "CGPH", version 1, hash version 1 (SHA-1), chunk count, base graph count 0.
        guard bytes[0] == 0x43, bytes[1] == 0x47, bytes[2] == 0x50, bytes[3] == 0x48,
              bytes[4] == 1, bytes[5] == 1, bytes[7] == 0 else { return nil }
        let chunks = Int(bytes[6])
        guard 8 + (chunks + 1) * 12 <= length else { return nil }
        var table: [UInt32: (start: Int, end: Int)] = [:]
        for i in 0..<chunks {
            let entry = 8 + i * 12
            let id = Self.be32(bytes, entry)
            let start = Self.be64(bytes, entry + 4), end = Self.be64(bytes, entry + 16)
            guard start <= end, end <= UInt64(length) else { return nil }
            table[id] = (Int(start), Int(end))
        }
        // OIDF (fanout), OIDL (sorted hashes), CDAT (tree, parents, generation and time); EDGE
        // for commits with more than two parents.
        guard let oidf = table[0x4F49_4446], let oidl = table[0x4F49_444C], let cdat = table[0x4344_4154],
              oidf.end - oidf.start == 256 * 4 else { return nil }
        let count = Int(Self.be32(bytes, oidf.start + 255 * 4))
        guard count > 0, oidl.end - oidl.start == count * Self.hashLength,
              cdat.end - cdat.start == count * (Self.hashLength + 16) else { return nil }
        // The fanout never decreases: a binary search on it cannot run off the list.
        var previous: UInt32 = 0
        for i in 0..<256 {
            let value = Self.be32(bytes, oidf.start + i * 4)
            guard value >= previous, Int(value) <= count else { return nil }
            previous = value
        }
        self.count = count
        fanout = oidf.start
        oids = oidl.start
        data = cdat.start
        if let edge = table[0x4544_4745] {
            guard (edge.end - edge.start) % 4 == 0 else { return nil }
            edges = edge.start
            edgeCount = (edge.end - edge.start) / 4
        } else {
            edges = nil
            edgeCount = 0
        }
    }

    /// Unmaps the file.
    func close() { munmap(mapping, length) }

    /// The index of a commit (its 20-byte hash), or nil when the graph does not hold it.
    func index(of oid: [UInt8]) -> Int? {
        guard oid.count == Self.hashLength else { return nil }
        var low = oid[0] == 0 ? 0 : Int(Self.be32(bytes, fanout + (Int(oid[0]) - 1) * 4))
        var high = Int(Self.be32(bytes, fanout + Int(oid[0]) * 4))
        while low < high {
            let middle = (low + high) / 2
            let at = oids + middle * Self.hashLength
            var order = 0
            for k in 0..<Self.hashLength where bytes[at + k] != oid[k] {
                order = bytes[at + k] < oid[k] ? -1 : 1
                break
            }
            if order == 0 { return middle }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// The parents of commit `index` (indices), or nil when the file says something impossible.
    func parents(of index: Int) -> [Int]? {
        let at = data + index * (Self.hashLength + 16) + Self.hashLength
        let first = Self.be32(bytes, at), second = Self.be32(bytes, at + 4)
        var out: [Int] = []
        if first != Self.noParent {
            guard Int(first) < count else { return nil }
            out.append(Int(first))
        }
        if second == Self.noParent { return out }
        if second & 0x8000_0000 == 0 {
            guard Int(second) < count else { return nil }
            out.append(Int(second))
            return out
        }
        // An octopus merge: its other parents are a run in EDGE, the last one flagged.
        guard let edges else { return nil }
        var position = Int(second & 0x7FFF_FFFF)
        while true {
            guard position < edgeCount, out.count <= 1 << 16 else { return nil }
            let value = Self.be32(bytes, edges + position * 4)
            guard Int(value & 0x7FFF_FFFF) < count else { return nil }
            out.append(Int(value & 0x7FFF_FFFF))
            if value & 0x8000_0000 != 0 { return out }
            position += 1
        }
    }

    /// How many distinct commits `starts` and their ancestors are, walking the graph only (a
    /// bit per commit); nil when the file contradicts itself.
    func ancestorCount(of starts: [Int]) -> Int? {
        var seen = [UInt64](repeating: 0, count: (count + 63) / 64)
        var stack: [Int] = []
        var total = 0
        func visit(_ i: Int) {
            let word = i >> 6, bit = UInt64(1) << UInt64(i & 63)
            if seen[word] & bit == 0 {
                seen[word] |= bit
                total += 1
                stack.append(i)
            }
        }
        starts.forEach(visit)
        while let i = stack.popLast() {
            guard let parents = parents(of: i) else { return nil }
            parents.forEach(visit)
        }
        return total
    }

    private static func be32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    private static func be64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(be32(b, at)) << 32 | UInt64(be32(b, at + 4))
    }
}
