import Dispatch
import FoundationEssentials
import Glibc

/// Collects small writes into large buffers and hands each full buffer to a worker thread,
/// which shows it to the observer (the dump validator) and writes it through the sink chain
/// (compression, hashing, the file). The caller's thread only copies bytes, so reading from
/// the database overlaps with validating, compressing, hashing and writing.
public final class BufferedWriter {
    /// What the worker needs; blocks hold it, never the writer, so the writer can go away on
    /// any thread (an error mid-dump) while a block is still finishing.
    private final class State: @unchecked Sendable {
        let sink: ByteSink
        let observer: ((UnsafeRawBufferPointer) -> Void)?
        let all: [UnsafeMutableRawBufferPointer]
        var free: [UnsafeMutableRawBufferPointer]
        let lock = Lock()
        let available: DispatchSemaphore
        var failure: Error?

        init(sink: ByteSink, observer: ((UnsafeRawBufferPointer) -> Void)?, capacity: Int, buffers: Int) {
            self.sink = sink
            self.observer = observer
            all = (0..<max(2, buffers)).map { _ in .allocate(byteCount: capacity, alignment: 64) }
            free = Array(all.dropFirst())
            available = DispatchSemaphore(value: free.count)
        }

        deinit { all.forEach { $0.deallocate() } }

        var error: Error? {
            lock.lock(); defer { lock.unlock() }
            return failure
        }

        func process(_ buffer: UnsafeMutableRawBufferPointer, length: Int) {
            if error == nil {
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
                observer?(chunk)
                do { try sink.write(chunk) } catch {
                    lock.lock(); failure = error; lock.unlock()
                }
            }
            lock.lock()
            free.append(buffer)
            lock.unlock()
            available.signal()
        }
    }

    private let state: State
    private let capacity: Int
    private var current: UnsafeMutableRawBufferPointer
    private var used = 0
    private let worker = DispatchQueue(label: "cdb.writer")
    public private(set) var bytesIn: Int64 = 0

    public init(sink: ByteSink, capacity: Int = 1 << 20, buffers: Int = 4,
                observer: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        state = State(sink: sink, observer: observer, capacity: capacity, buffers: buffers)
        self.capacity = capacity
        current = state.all[0]
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesIn += Int64(bytes.count)
        var rest = bytes
        while rest.count > capacity - used {
            let take = capacity - used
            if take > 0 {
                UnsafeMutableRawBufferPointer(rebasing: current[used..<capacity]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
                used = capacity
                rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            }
            try flush()
        }
        if rest.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: current[used..<(used + rest.count)]).copyMemory(from: rest)
            used += rest.count
        }
    }

    /// Hands the current buffer to the worker and takes a free one.
    public func flush() throws {
        if let error = state.error { throw error }
        guard used > 0 else { return }
        let full = current, length = used
        state.available.wait()
        state.lock.lock()
        current = state.free.removeLast()
        state.lock.unlock()
        used = 0
        let state = self.state
        worker.async { state.process(full, length: length) }
    }

    /// Flushes, waits for the worker, and finishes the sink chain (compressors write their trailers).
    public func finish() throws {
        try flush()
        worker.sync {}
        if let error = state.error { throw error }
        try state.sink.finish()
    }
}
