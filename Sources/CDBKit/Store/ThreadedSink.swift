import Glibc

/// Hands what is written to it to a thread of its own that writes it on to `next`, holding at
/// most `capacity` bytes in between: the producer (reading, encrypting, hashing) and the
/// consumer (hashing, a pipe to rclone) then work at the same time instead of taking turns.
/// An error of the consumer is thrown by the next `write` or by `finish`. Ending without
/// `finish` (the producer threw) stops the thread and waits for it, so nothing is written to
/// `next` after this object is gone.
final class ThreadedSink: ByteSink {
    private final class Shared: @unchecked Sendable {
        let condition = Condition()
        var queue: [[UInt8]] = []
        var queued = 0
        var ending = false      // no more blocks will come
        var stopped = false     // the thread has returned
        var failure: Error?
    }

    private let shared = Shared()
    private let next: ByteSink
    private let capacity: Int
    private var finished = false

    init(next: ByteSink, capacity: Int = 8 << 20) {
        self.capacity = capacity
        self.next = next
        let shared = self.shared
        detachThread {
            while true {
                shared.condition.lock()
                while shared.queue.isEmpty && !shared.ending { shared.condition.wait() }
                if shared.queue.isEmpty || shared.failure != nil {
                    shared.stopped = true
                    shared.condition.broadcast()
                    shared.condition.unlock()
                    return
                }
                let block = shared.queue.removeFirst()
                shared.condition.unlock()
                var failure: Error?
                do { try block.withUnsafeBytes { try next.write($0) } } catch { failure = error }
                shared.condition.lock()
                shared.queued -= block.count
                if let failure {
                    shared.failure = failure
                    shared.queue.removeAll()
                    shared.queued = 0
                }
                shared.condition.broadcast()
                shared.condition.unlock()
            }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        shared.condition.lock()
        defer { shared.condition.unlock() }
        while shared.failure == nil && shared.queued > 0 && shared.queued + bytes.count > capacity { shared.condition.wait() }
        if let failure = shared.failure { throw failure }
        shared.queue.append(Array(bytes))
        shared.queued += bytes.count
        shared.condition.broadcast()
    }

    /// Waits until everything was written on, then finishes `next` (on this thread).
    func finish() throws {
        guard !finished else { return }
        finished = true
        stop()
        if let failure = shared.failure { throw failure }
        try next.finish()
    }

    private func stop() {
        shared.condition.lock()
        shared.ending = true
        shared.condition.broadcast()
        while !shared.stopped { shared.condition.wait() }
        shared.condition.unlock()
    }

    deinit {
        if !finished {
            shared.condition.lock()
            shared.queue.removeAll()
            shared.queued = 0
            shared.condition.unlock()
            stop()
        }
    }
}
