import Foundation

/// Collects small writes into large ones before they reach the sink; lets an observer (the
/// dump validator) see every byte in order.
public final class BufferedWriter {
    private let sink: ByteSink
    private let observer: ((UnsafeRawBufferPointer) -> Void)?
    private let buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    public private(set) var bytesIn: Int64 = 0

    public init(sink: ByteSink, capacity: Int = 1 << 20, observer: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        self.sink = sink
        self.observer = observer
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { buffer.deallocate() }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesIn += Int64(bytes.count)
        if bytes.count > buffer.count - used {
            try flush()
            if bytes.count >= buffer.count {
                observer?(bytes)
                try sink.write(bytes)
                return
            }
        }
        UnsafeMutableRawBufferPointer(rebasing: buffer[used..<(used + bytes.count)]).copyMemory(from: bytes)
        used += bytes.count
    }

    public func flush() throws {
        guard used > 0 else { return }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<used])
        observer?(chunk)
        try sink.write(chunk)
        used = 0
    }

    /// Flushes and finishes the sink chain (compressors write their trailers).
    public func finish() throws {
        try flush()
        try sink.finish()
    }
}
