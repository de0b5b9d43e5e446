import Crypto
import Dispatch
import FoundationEssentials
import Glibc

// age's payload: a 16-byte nonce, then STREAM — ChaCha20-Poly1305 chunks of 64 KiB of
// plaintext, each with a 12-byte nonce of an 11-byte big-endian counter and a last-chunk flag.
// Chunks are independent once the payload key is known, so both directions work on batches of
// chunks on all cores, and a reader can decrypt any chunk alone (random access for zips).

enum AgePayload {
    static let chunkSize = 64 * 1024
    static let sealedChunkSize = chunkSize + 16
    /// Chunks sealed or opened together on all cores (2 MiB of plaintext).
    static let batch = 32

    static func payloadKey(fileKey: SymmetricKey, nonce: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: fileKey, salt: nonce, info: Array("payload".utf8), outputByteCount: 32)
    }

    static func nonce(_ counter: UInt64, last: Bool) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        bytes[11] = last ? 1 : 0
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}

/// Encrypts everything written through it to age recipients, streaming: header and nonce
/// first, then each 64 KiB chunk as soon as the next byte shows it is not the last. Memory is
/// one batch of chunks, whatever the file's size.
public final class AgeSink: ByteSink {
    private let next: ByteSink
    private let key: SymmetricKey
    /// The file key, so that the writer can check its own file before naming it (never stored).
    let fileKey: SymmetricKey
    private var pending = [UInt8]()      // whole chunks waiting to be sealed, then the partial one
    private var counter: UInt64 = 0
    private var finished = false

    /// Starts the file: writes the header (one stanza per recipient) and the payload nonce.
    public init(next: ByteSink, recipients: [AgeRecipient], passphrase: [UInt8]? = nil) throws {
        precondition(!recipients.isEmpty || passphrase != nil)
        self.next = next
        let fileKey = SymmetricKey(size: .bits128)
        self.fileKey = fileKey
        let header = try AgeHeader.make(fileKey: fileKey, recipients: recipients, passphrase: passphrase)
        var nonce = [UInt8](repeating: 0, count: 16)
        fillRandom(&nonce)
        key = AgePayload.payloadKey(fileKey: fileKey, nonce: nonce)
        let start = header.bytes + nonce
        try start.withUnsafeBytes { try next.write($0) }
        pending.reserveCapacity(AgePayload.chunkSize * AgePayload.batch + 1)
    }

    /// The size of the age file that `plaintext` bytes encrypted to `recipients` make: header,
    /// nonce, and every chunk with its 16-byte tag (the last chunk may be full; only an empty
    /// file has an empty one). The header's length depends only on the recipients.
    public static func encryptedSize(plaintext: Int64, recipients: [AgeRecipient]) throws -> Int64 {
        let header = try AgeHeader.make(fileKey: SymmetricKey(size: .bits128), recipients: recipients)
        let chunks = max(1, (plaintext + Int64(AgePayload.chunkSize) - 1) / Int64(AgePayload.chunkSize))
        return Int64(header.bytes.count) + 16 + plaintext + 16 * chunks
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var input = bytes[...]
        while !input.isEmpty {
            let room = AgePayload.chunkSize * AgePayload.batch - pending.count
            if room == 0 {
                // A full batch and more to come: none of it is the last chunk.
                try seal(chunks: AgePayload.batch, lastIsFinal: false)
                continue
            }
            let take = min(room, input.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: input.prefix(take)))
            input = input.dropFirst(take)
        }
    }

    public func finish() throws {
        guard !finished else { return }
        finished = true
        let chunks = max(1, (pending.count + AgePayload.chunkSize - 1) / AgePayload.chunkSize)
        try seal(chunks: chunks, lastIsFinal: true)
        try next.finish()
    }

    /// Seals the first `chunks` chunks of `pending` in parallel and writes them in order.
    private func seal(chunks: Int, lastIsFinal: Bool) throws {
        let total = pending.count
        var sealed = [[UInt8]](repeating: [], count: chunks)
        var failure: Error?
        let lock = Lock()
        let base = counter
        let key = self.key
        pending.withUnsafeBytes { plain in
            sealed.withUnsafeMutableBufferPointer { out in
                let out = out
                DispatchQueue.concurrentPerform(iterations: chunks) { i in
                    let start = i * AgePayload.chunkSize
                    let end = min(start + AgePayload.chunkSize, total)
                    do {
                        let box = try ChaChaPoly.seal(UnsafeRawBufferPointer(rebasing: plain[start..<end]), using: key,
                                                      nonce: AgePayload.nonce(base + UInt64(i), last: lastIsFinal && i == chunks - 1))
                        out[i] = Array(box.ciphertext) + Array(box.tag)
                    } catch {
                        lock.withLock { failure = error }
                    }
                }
            }
        }
        if let failure { throw failure }
        for chunk in sealed { try chunk.withUnsafeBytes { try next.write($0) } }
        counter += UInt64(chunks)
        pending.removeFirst(min(total, chunks * AgePayload.chunkSize))
    }
}

/// Decrypts an age file with random access to its plaintext: the header is parsed and the file
/// key unwrapped up front; each chunk is opened (authenticated) when first read. The layout
/// follows from the file's length, so a truncated file, a missing or early last chunk, or
/// bytes after the last one fail as `AgeError.payload` naming the chunk.
public final class AgeReader {
    public let name: String
    /// The plaintext's length.
    public let length: UInt64
    private let read: (UInt64, Int) throws -> [UInt8]
    private let key: SymmetricKey
    private let payloadStart: UInt64
    private let chunkCount: UInt64
    /// Why the layout is impossible (checked when the last chunk is reached).
    private let layoutProblem: String?
    private var cache: (first: UInt64, chunks: [[UInt8]])?

    /// Opens the age file at `path` (read with pread).
    public convenience init(path: String, keys: DecryptionKeys) throws {
        try self.init(path: path) { header, name in
            var identities = keys.identities
            if header.stanzas.contains(where: { $0.type == "scrypt" }), !identities.contains(where: \.isPassphrase),
               let passphrase = keys.askPassphrase?("Passphrase for \(Untrusted.escape(name)): ") {
                identities.append(AgeIdentity(passphrase: passphrase))
            }
            return try header.unwrap(with: identities)
        }
    }

    /// Opens a file cdb is writing with the file key it holds (the MAC is still checked).
    convenience init(path: String, fileKey: SymmetricKey) throws {
        try self.init(path: path) { header, _ in
            guard AgeHeader.mac(fileKey: fileKey, over: header.macInput).elementsEqual(header.mac) else { throw AgeError.mac }
            return fileKey
        }
    }

    private convenience init(path: String, unwrap: @escaping (AgeHeader, String) throws -> SymmetricKey) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CDBError.inputMissing(path: path, reason: String(cString: strerror(errno))) }
        let handle = FileDescriptor(fd: fd)
        var info = stat()
        fstat(fd, &info)
        try self.init(name: path, length: UInt64(max(0, info.st_size)), unwrap: unwrap) { offset, count in
            var bytes = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let n = try bytes.withUnsafeMutableBytes {
                    try FileIO.read(handle.fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: off_t(offset) + off_t(filled), path: path)
                }
                if n == 0 { break }
                filled += n
            }
            return Array(bytes[0..<filled])
        }
    }

    /// Opens age data of `length` bytes that `read(offset, count)` hands out (fewer at the end).
    public convenience init(name: String, length: UInt64, identities: [AgeIdentity], read: @escaping (UInt64, Int) throws -> [UInt8]) throws {
        try self.init(name: name, length: length, unwrap: { header, _ in try header.unwrap(with: identities) }, read: read)
    }

    init(name: String, length fileLength: UInt64, unwrap: (AgeHeader, String) throws -> SymmetricKey,
         read: @escaping (UInt64, Int) throws -> [UInt8]) throws {
        self.name = name
        self.read = read
        let header = try AgeHeader.parse { offset, count in
            guard UInt64(offset) < fileLength else { return [] }
            return try read(UInt64(offset), count)
        }
        let nonce = try read(UInt64(header.length), 16)
        guard nonce.count == 16 else { throw AgeError.header("the payload nonce is missing or short") }
        let fileKey = try unwrap(header, name)
        key = AgePayload.payloadKey(fileKey: fileKey, nonce: nonce)
        payloadStart = UInt64(header.length) + 16
        let payload = fileLength - payloadStart
        let sealed = UInt64(AgePayload.sealedChunkSize)
        let full = payload / sealed, rest = payload % sealed
        if payload == 0 {
            chunkCount = 0
            length = 0
            layoutProblem = "there is no chunk at all (the file is truncated after its header)"
        } else if rest == 0 {
            chunkCount = full
            length = full * UInt64(AgePayload.chunkSize)
            layoutProblem = nil
        } else if rest < 16 {
            chunkCount = full + 1
            length = full * UInt64(AgePayload.chunkSize)
            layoutProblem = "the last chunk is shorter than its 16-byte tag (the file is truncated)"
        } else if rest == 16 && full > 0 {
            chunkCount = full + 1
            length = full * UInt64(AgePayload.chunkSize)
            layoutProblem = "the last chunk is empty after a full one"
        } else {
            chunkCount = full + 1
            length = full * UInt64(AgePayload.chunkSize) + rest - 16
            layoutProblem = nil
        }
    }

    /// `count` plaintext bytes from `offset` (fewer at the end).
    public func read(_ offset: UInt64, _ count: Int) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        var position = offset
        let end = min(length, offset + UInt64(count))
        while position < end {
            let index = position / UInt64(AgePayload.chunkSize)
            let chunk = try self.chunk(index)
            let from = Int(position % UInt64(AgePayload.chunkSize))
            let take = min(chunk.count - from, Int(end - position))
            guard take > 0 else { break }
            out += chunk[from..<(from + take)]
            position += UInt64(take)
        }
        return out
    }

    /// Chunk `index`'s plaintext; opening it (and the next ones of its batch, in parallel) when
    /// not cached.
    func chunk(_ index: UInt64) throws -> [UInt8] {
        if let cache, index >= cache.first, index < cache.first + UInt64(cache.chunks.count) {
            return cache.chunks[Int(index - cache.first)]
        }
        let count = Int(min(UInt64(AgePayload.batch), chunkCount - index))
        guard count > 0 else { throw AgeError.payload(chunk: index, reason: layoutProblem ?? "beyond the end") }
        let start = payloadStart + index * UInt64(AgePayload.sealedChunkSize)
        let sealed = try read(start, count * AgePayload.sealedChunkSize)
        var ranges = [Range<Int>]()
        for i in 0..<count { ranges.append((i * AgePayload.sealedChunkSize)..<min((i + 1) * AgePayload.sealedChunkSize, sealed.count)) }
        let lastIndex = index + UInt64(count) == chunkCount ? count - 1 : -1
        let opened = Self.open(sealed, ranges, first: index, key: key, lastIndex: lastIndex)
        // The layout is known from the file's length: a last chunk it rules out fails as such.
        let firstBad = opened.indices.first { opened[$0] == nil || ($0 == lastIndex && layoutProblem != nil) }
        guard let firstBad else {
            let plain = opened.map { $0! }
            cache = (index, plain)
            return plain[0]
        }
        if firstBad == 0 {
            let reason = firstBad == lastIndex
                ? layoutProblem ?? "it does not authenticate as the last chunk (altered, truncated, or data after the end)"
                : "it does not authenticate (altered, or the last-chunk flag is wrong)"
            throw AgeError.payload(chunk: index, reason: reason)
        }
        // What came before the damaged chunk is still handed out; the damaged one fails when read.
        let good = opened[0..<firstBad].map { $0! }
        cache = (index, good)
        return good[0]
    }

    /// Every chunk opened in order, handed to `body` (the whole file authenticated when it
    /// returns). As age's own reader does, a chunk that opens is handed out before a later
    /// problem is found (data after the last chunk, no last chunk): callers must treat the data
    /// as bad when this throws.
    public func forEachChunk(_ body: ([UInt8]) throws -> Void) throws {
        let chunks = sequence()
        while let chunk = try chunks.next() { try body(chunk) }
    }

    /// The chunks front to back, pulled one at a time (read and opened in batches on all cores).
    public func sequence() -> Chunks { Chunks(self) }

    /// Reads the file front to back in batches, opening each batch's chunks in parallel.
    public final class Chunks {
        private let reader: AgeReader
        private var queue: [[UInt8]] = []
        private var head = 0
        private var failure: Error?
        private var done = false
        private var number: UInt64 = 0
        private var position: UInt64

        init(_ reader: AgeReader) {
            self.reader = reader
            position = reader.payloadStart
        }

        /// The next chunk's plaintext; nil after the last. Throws `AgeError.payload` where the
        /// file is damaged (after handing out every chunk before it).
        public func next() throws -> [UInt8]? {
            while head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
                if let failure { throw failure }
                if done { return nil }
                loadBatch()
            }
            head += 1
            return queue[head - 1]
        }

        /// One batch decoded: its chunks, and what ends the file there (a failure, or the end).
        struct Batch {
            var chunks: [[UInt8]] = []
            var failure: Error?
            var done = false
            var count = 0
            var bytes = 0
        }

        /// The batch being decoded in the background while the caller works on the current one.
        private var ahead: (group: DispatchGroup, box: BatchBox)?
        final class BatchBox: @unchecked Sendable { var batch = Batch() }

        private func loadBatch() {
            let batch: Batch
            if let ahead {
                ahead.group.wait()
                batch = ahead.box.batch
                self.ahead = nil
            } else {
                batch = Self.decode(reader, position: position, number: number)
            }
            queue = batch.chunks
            failure = batch.failure
            done = batch.done
            number += UInt64(batch.count)
            position += UInt64(batch.bytes)
            if failure == nil && !done {
                // Decrypt the next batch while this one is consumed (validation, restore).
                let group = DispatchGroup(), box = BatchBox()
                let reader = self.reader, position = self.position, number = self.number
                group.enter()
                DispatchQueue.global().async {
                    box.batch = Self.decode(reader, position: position, number: number)
                    group.leave()
                }
                ahead = (group, box)
            }
        }

        deinit { ahead?.group.wait() }

        private static func decode(_ reader: AgeReader, position: UInt64, number: UInt64) -> Batch {
            var batch = Batch()
            let sealedSize = AgePayload.sealedChunkSize
            let bytes: [UInt8]
            do { bytes = try reader.read(position, AgePayload.batch * sealedSize + 1) } catch {
                batch.failure = error
                return batch
            }
            let more = bytes.count > AgePayload.batch * sealedSize
            let usable = more ? AgePayload.batch * sealedSize : bytes.count
            if usable == 0 {
                batch.failure = AgeError.payload(chunk: number, reason: number == 0 ? "there is no chunk at all (the file is truncated after its header)"
                                                                                    : "the last chunk is missing (the file is truncated)")
                return batch
            }
            var ranges = [Range<Int>]()
            var start = 0
            while start < usable {
                ranges.append(start..<min(start + sealedSize, usable))
                start += sealedSize
            }
            // The last chunk of this batch is the file's last unless more follows.
            let finalIndex = more ? -1 : ranges.count - 1
            let opened = AgeReader.open(bytes, ranges, first: number, key: reader.key, lastIndex: finalIndex)
            for (i, plain) in opened.enumerated() {
                let chunk = number + UInt64(i)
                let isFinal = i == finalIndex
                if let plain {
                    if isFinal && plain.isEmpty && chunk > 0 {
                        batch.failure = AgeError.payload(chunk: chunk, reason: "the last chunk is empty after a full one")
                        return batch
                    }
                    batch.chunks.append(plain)
                    if isFinal { batch.done = true; return batch }
                    continue
                }
                let sealed = bytes[ranges[i]]
                if sealed.count < 16 {
                    batch.failure = AgeError.payload(chunk: chunk, reason: "the chunk is shorter than its 16-byte tag (the file is truncated)")
                } else if !isFinal, let plain = AgeReader.open(sealed, number: chunk, key: reader.key, last: true) {
                    batch.chunks.append(plain)
                    batch.failure = AgeError.payload(chunk: chunk + 1, reason: "there is data after the last chunk")
                } else if isFinal, sealed.count == sealedSize, let plain = AgeReader.open(sealed, number: chunk, key: reader.key, last: false) {
                    batch.chunks.append(plain)
                    batch.failure = AgeError.payload(chunk: chunk + 1, reason: "the last chunk is missing (the file is truncated)")
                } else {
                    batch.failure = AgeError.payload(chunk: chunk, reason: isFinal ? "it does not authenticate as the last chunk (altered or truncated)"
                                                                                    : "it does not authenticate (altered, or the last-chunk flag is wrong)")
                }
                return batch
            }
            batch.count = ranges.count
            batch.bytes = usable
            return batch
        }
    }

    /// Opens the chunks at `ranges` of `bytes` in parallel; nil where one does not authenticate.
    fileprivate static func open(_ bytes: [UInt8], _ ranges: [Range<Int>], first: UInt64, key: SymmetricKey, lastIndex: Int) -> [[UInt8]?] {
        var opened = [[UInt8]?](repeating: nil, count: ranges.count)
        opened.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: ranges.count) { i in
                out[i] = open(bytes[ranges[i]], number: first + UInt64(i), key: key, last: i == lastIndex)
            }
        }
        return opened
    }

    fileprivate static func open(_ sealed: ArraySlice<UInt8>, number: UInt64, key: SymmetricKey, last: Bool) -> [UInt8]? {
        guard sealed.count >= 16,
              let box = try? ChaChaPoly.SealedBox(nonce: AgePayload.nonce(number, last: last), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16)),
              let plain = try? ChaChaPoly.open(box, using: key) else { return nil }
        return plain.withUnsafeBytes { Array($0) }
    }
}

/// Recognising age files by their content.
public enum AgeFile {
    static let magic = Array("age-encryption.org/v1\n".utf8)

    /// Whether the file open at `fd` starts like an age file (read with pread: the position is
    /// left alone).
    public static func isEncrypted(fd: Int32) -> Bool {
        var head = [UInt8](repeating: 0, count: magic.count)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return n == magic.count && head == magic
    }

    /// Whether the file at `path` starts like an age file.
    public static func isEncrypted(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return isEncrypted(fd: fd)
    }
}
