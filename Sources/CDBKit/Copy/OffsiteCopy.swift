import Crypto
import FoundationEssentials
import Glibc

/// One `cdb-copy` run to one destination: list it (the truth about what it holds), copy every
/// local backup it lacks — encrypted as it streams, under a temporary name, then its sidecar —,
/// check what arrived, then apply the destination's retention. README, "Copies off the machine".
public struct OffsiteCopy {
    public struct Request: Sendable {
        public var root: String
        /// Local backups to copy (paths); nil: every backup under the root that the destination
        /// lacks.
        public var files: [String]?
        /// Encrypt to these; nil only with --no-encryption (already encrypted files go as they are).
        public var recipients: [AgeRecipient]?
        public var policy = RetentionPolicy(retentionDays: 0, keepLast: 1, keepDaily: 14, keepWeekly: 8, keepMonthly: 12)
        public var noDelete = false
        public var now = Date()
        public init(root: String) { self.root = root }
    }

    public struct Result: Sendable {
        public var destination: String
        /// Destination paths written ("PostgreSQL/name.age").
        public var copied: [String] = []
        public var bytes: Int64 = 0
        public var alreadyThere = 0
        /// Local backups DEST's retention would not keep (older than what it keeps): not copied.
        public var notKept = 0
        public var deleted: [String] = []
        public var seconds: Double = 0
    }

    public let request: Request
    public let target: CopyTarget
    public let reporter: Reporter

    public init(request: Request, target: CopyTarget, reporter: Reporter) {
        self.request = request
        self.target = target
        self.reporter = reporter
    }

    public func run() throws -> Result {
        let started = Date()
        var result = Result(destination: target.display)
        var candidates: [(local: String, remote: String, encrypt: Bool)] = []
        for local in try localBackups() {
            let name = Path.name(of: local)
            // The copy mirrors the root: the kind decides the folder, wherever the file lies.
            let kind = BackupName.parse(name)?.kind == .postgres ? BackupRoot.Kind.postgres.rawValue : BackupRoot.Kind.repository.rawValue
            let encryptedAlready = AgeFile.isEncrypted(path: local)
            candidates.append((local, kind + "/" + name + (encryptedAlready || request.recipients == nil ? "" : ".age"), !encryptedAlready))
        }
        // The newest backup is the one most likely missing at DEST (the session just made it):
        // its upload may start connecting while the listing runs.
        defer { target.cancelPrepared() }
        if let newest = candidates.max(by: { Self.newer($1.local, than: $0.local) }), let size = try? uploadSize(newest.local, encrypt: newest.encrypt) {
            target.prepareUpload(newest.remote, size: size)
        }
        // The destination's listing is the state; without it nothing is copied or deleted.
        var present = try target.list()
        // Leftovers of interrupted runs: temporary names, never final ones (nor this run's own).
        let own = copyTemporaryPrefix + "\(getpid())-"
        for name in present.keys where Path.name(of: name).hasPrefix(copyTemporaryPrefix) {
            present[name] = nil
            if !Path.name(of: name).hasPrefix(own) { try? target.remove(name) }
        }
        // What DEST should hold: its retention decided over what it has and what would come, so
        // that nothing is copied only to be deleted (and copied again next time).
        let keep = keptAtDestination(Array(present.keys) + candidates.map(\.remote))
        // Asked while the listing ran (prepareUpload): by now it has mostly been answered.
        // Waiting for it costs less than hashing every kind it could be on the way (measured:
        // an extra MD5 of every byte slows a 2-core machine's upload more than the wait).
        let checked = try target.reportedHash()
        for (local, remoteName, encrypt) in candidates {
            if present[remoteName] != nil && present[remoteName + ".sha256"] != nil {
                result.alreadyThere += 1
                continue
            }
            guard keep.contains(remoteName) || request.files != nil else {
                result.notKept += 1
                continue
            }
            let name = Path.name(of: local)
            reporter.progress("copying \(name) to \(target.display)…")
            let sent = try copy(local, to: remoteName, encrypt: encrypt, checked: checked)
            try check(remoteName, sent, checked)
            let sidecar = Array("\(sent.sha256)  \(Path.name(of: remoteName))\n".utf8)
            _ = try target.upload(remoteName + ".sha256", size: Int64(sidecar.count)) { sink in try sidecar.withUnsafeBytes { try sink.write($0) } }
            present[remoteName] = sent.bytes
            present[remoteName + ".sha256"] = Int64(sidecar.count)
            result.copied.append(remoteName)
            result.bytes += sent.bytes
        }
        if !request.noDelete { result.deleted = try applyRetention(present, keep: keptAtDestination(Array(present.keys))) }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// The backups to copy: the given files, or every backup name of ours under the root.
    func localBackups() throws -> [String] {
        if let files = request.files {
            return try files.map { file in
                guard BackupName.parse(Path.name(of: file)) != nil else {
                    throw CDBError.usage("\(Untrusted.escape(file)) is not a backup name cdb knows")
                }
                var info = stat()
                guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                    throw CDBError.inputMissing(path: file, reason: "no such file")
                }
                return file
            }
        }
        let root = BackupRoot(path: request.root)
        var out: [String] = []
        for kind in BackupRoot.Kind.allCases {
            let folder = root.folder(kind)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            for name in names where BackupName.parse(name).map({ ($0.kind == .postgres) == (kind == .postgres) }) == true {
                var info = stat()
                guard lstat(Path.join(folder, name), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                out.append(Path.join(folder, name))
            }
        }
        return out
    }

    /// What one upload sent: its size, its SHA-256 (for the sidecar) and the hash the
    /// destination reports, when it reports one.
    struct Sent {
        var bytes: Int64 = 0
        var sha256 = ""
        var reported: String?
    }

    /// Streams `local` to the destination (through age unless it is encrypted already),
    /// checking it against its own sidecar on the way.
    func copy(_ local: String, to remoteName: String, encrypt: Bool, checked: CopyHash?) throws -> Sent {
        let fd = open(local, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw CDBError.inputMissing(path: local, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let recipients = encrypt ? request.recipients : nil
        let size = try uploadSize(local, encrypt: encrypt)
        let expected = (try? String(contentsOfFile: Checksum.sidecarPath(for: local), encoding: .utf8))
            .map { String($0.prefix { !$0.isWhitespace }).lowercased() }
        var localHash = SHA256()
        var sent = Sent()
        let progress = ProgressSink(reporter: reporter, what: Path.name(of: local), total: size)
        sent.bytes = try target.upload(remoteName, size: size) { sink in
            progress.next = sink
            let counted = HashingSink(next: progress, also: checked == .sha256 ? nil : checked)
            // Reading, checking and encrypting here; hashing what is sent and sending it on a
            // thread of its own, at the same time.
            let handOff = ThreadedSink(next: counted)
            let first: ByteSink = try recipients.map { try AgeSink(next: handOff, recipients: $0) } ?? handOff
            try FileIO.forEachChunk(fd, path: local) { chunk in
                localHash.update(bufferPointer: chunk)
                try first.write(chunk)
            }
            // A local backup that no longer matches its sidecar is not copied over a good one:
            // failing here leaves the upload under its temporary name only.
            if let expected, Format.hex(localHash.finalize()) != expected {
                throw CDBError.validation(path: local, reason: "it does not match its .sha256 sidecar; not copied (cdb-verify tells more)")
            }
            try first.finish()
            sent.sha256 = Format.hex(counted.hash.finalize())
            sent.reported = checked == .sha256 ? sent.sha256 : counted.alsoHex()
        }
        return sent
    }

    /// The bytes `local` makes at the destination (its encrypted size when it is encrypted on the way).
    func uploadSize(_ local: String, encrypt: Bool) throws -> Int64 {
        var info = Glibc.stat()
        guard stat(local, &info) == 0 else { throw CDBError.inputMissing(path: local, reason: String(cString: strerror(errno))) }
        guard encrypt, let recipients = request.recipients else { return Int64(info.st_size) }
        return try AgeSink.encryptedSize(plaintext: Int64(info.st_size), recipients: recipients)
    }

    /// Whether backup `a` is newer than `b` by the time in their names.
    static func newer(_ a: String, than b: String) -> Bool {
        guard let x = BackupName.parse(Path.name(of: a)), let y = BackupName.parse(Path.name(of: b)) else { return false }
        return y.isOlder(than: x)
    }

    /// The destination's own size and hash of what was just put in place must be what was
    /// sent; a copy that is not is deleted again (it is cdb's own, just written).
    func check(_ remoteName: String, _ sent: Sent, _ hash: CopyHash?) throws {
        let there = try target.inspect(remoteName, hash: hash)
        var problem: String?
        if let there {
            if there.size != sent.bytes {
                problem = "the copy holds \(there.size) bytes where \(sent.bytes) were sent"
            } else if let hash, let reported = there.hash, let expected = sent.reported, reported != expected {
                problem = "its \(hash.rawValue) at the destination differs from what was sent (corrupted on the way)"
            }
        } else {
            problem = "the copy is not there after the upload"
        }
        if let problem {
            try? target.remove(remoteName)
            throw CDBError.io(path: target.display + "/" + remoteName, reason: problem + "; it was removed, run cdb-copy again")
        }
    }

    /// The paths among `paths` that DEST's policy keeps (never fewer than the newest of each
    /// kind; an increment's base as long as the increment). Names not of cdb's are not in it
    /// and never touched.
    func keptAtDestination(_ paths: [String]) -> Set<String> {
        var backups: [(BackupName, Date)] = []
        var byName: [String: String] = [:]
        for path in Set(paths) {
            let name = Path.name(of: path)
            guard let parsed = BackupName.parse(name), let stamp = parsed.stamp else { continue }
            backups.append((parsed, stamp))
            byName[name] = path
        }
        var policy = request.policy
        policy.keepLast = max(1, policy.keepLast)
        return Set(policy.plan(backups, now: request.now).filter(\.keep).compactMap { byName[$0.backup.name] })
    }

    /// Deletes what DEST's policy no longer keeps: cdb's names only (objects and their
    /// sidecars).
    func applyRetention(_ present: [String: Int64], keep: Set<String>) throws -> [String] {
        var deleted: [String] = []
        for path in present.keys.sorted() where BackupName.parse(Path.name(of: path))?.stamp != nil && !keep.contains(path) {
            try target.remove(path)
            deleted.append(path)
            if present[path + ".sha256"] != nil { try target.remove(path + ".sha256") }
        }
        return deleted
    }
}

/// Hashes what passes to the next sink (the bytes the destination receives): SHA-256, and
/// `also` one more kind when the destination reports that one instead.
final class HashingSink: ByteSink {
    let next: ByteSink
    var hash = SHA256()
    private var other: (any HashFunction)?
    init(next: ByteSink, also: CopyHash? = nil) {
        self.next = next
        other = also?.start()
    }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hash.update(bufferPointer: bytes)
        other?.update(bufferPointer: bytes)
        try next.write(bytes)
    }
    func finish() throws { try next.finish() }
    /// The other hash, hex (once, at the end).
    func alsoHex() -> String? {
        guard let other else { return nil }
        return Format.hex(Array(other.finalize()))
    }
}

/// Shows "copying NAME: 120 MB of 250 MB, 80 MB/s" on a terminal, at most twice a second.
final class ProgressSink: ByteSink {
    var next: ByteSink?
    let reporter: Reporter
    let what: String
    let total: Int64
    private var done: Int64 = 0
    private let started = Date()
    private var shown = Date.distantPast
    init(reporter: Reporter, what: String, total: Int64) {
        self.reporter = reporter
        self.what = what
        self.total = total
    }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try next?.write(bytes)
        done += Int64(bytes.count)
        let now = Date()
        guard reporter.isTerminal, now.timeIntervalSince(shown) >= 0.5 else { return }
        shown = now
        let rate = Double(done) / max(0.001, now.timeIntervalSince(started))
        reporter.progress("copying \(what): \(ByteSize.format(done)) of \(ByteSize.format(total)), \(ByteSize.format(Int64(rate)))/s")
    }
    func finish() throws { try next?.finish() }
}
