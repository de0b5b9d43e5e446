import Dispatch
import Foundation

/// Collects small writes into large buffers and hands each full buffer to a worker thread,
/// which shows it to the observer (the dump validator) and writes it through the sink chain
/// (compression, hashing, the file). The caller's thread only copies bytes, so reading from
/// the database overlaps with validating, compressing, hashing and writing.
public final class BufferedWriter {
    private let sink: ByteSink
    private let observer: ((UnsafeRawBufferPointer) -> Void)?
    private let capacity: Int
    private var current: UnsafeMutableRawBufferPointer
    private var used = 0
    private var free: [UnsafeMutableRawBufferPointer] = []
    private var all: [UnsafeMutableRawBufferPointer] = []
    private let freeLock = NSLock()
    private let available: DispatchSemaphore
    private let worker = DispatchQueue(label: "cdb.writer")
    private let errorLock = NSLock()
    private var failure: Error?
    public private(set) var bytesIn: Int64 = 0

    public init(sink: ByteSink, capacity: Int = 1 << 20, buffers: Int = 4,
                observer: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        self.sink = sink
        self.observer = observer
        self.capacity = capacity
        for _ in 0..<max(2, buffers) {
            all.append(.allocate(byteCount: capacity, alignment: 64))
        }
        current = all[0]
        free = Array(all.dropFirst())
        available = DispatchSemaphore(value: free.count)
    }

    deinit {
        worker.sync {}
        all.forEach { $0.deallocate() }
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
        try checkFailure()
        guard used > 0 else { return }
        let full = current
        let length = used
        available.wait()
        freeLock.lock()
        current = free.removeLast()
        freeLock.unlock()
        used = 0
        worker.async { [self] in
            errorLock.lock()
            let failed = failure != nil
            errorLock.unlock()
            if !failed {
                let chunk = UnsafeRawBufferPointer(rebasing: full[0..<length])
                observer?(chunk)
                do { try sink.write(chunk) } catch {
                    errorLock.lock(); failure = error; errorLock.unlock()
                }
            }
            freeLock.lock()
            free.append(full)
            freeLock.unlock()
            available.signal()
        }
    }

    private func checkFailure() throws {
        errorLock.lock()
        let error = failure
        errorLock.unlock()
        if let error { throw error }
    }

    /// Flushes, waits for the worker, and finishes the sink chain (compressors write their trailers).
    public func finish() throws {
        try flush()
        worker.sync {}
        try checkFailure()
        try sink.finish()
    }
}
