import FoundationEssentials
import Dispatch
import Glibc

/// Runs `produce` for indices 0..<count on `workers` threads and hands each result to
/// `consume` on the calling thread, in index order. At most `window` results wait at once, so
/// memory stays bounded whatever `count` is. Workers claim indices in increasing order, so
/// the smallest unconsumed index is always being worked on (no deadlock).
func orderedParallel<T>(count: Int, workers: Int, window: Int,
                        makeContext: @escaping (Int) throws -> Any,
                        produce: @escaping (Any, Int) throws -> T,
                        consume: (Int, T) throws -> Void) throws {
    guard count > 0 else { return }
    let state = OrderedParallelState<T>()
    let slots = DispatchSemaphore(value: max(1, window))
    let group = DispatchGroup()
    for worker in 0..<max(1, workers) {
        group.enter()
        detachThread {
            defer { group.leave() }
            let context: Any
            do { context = try makeContext(worker) } catch {
                state.condition.lock()
                // Fail the next index so that the consumer stops.
                state.results[state.next] = .failure(error)
                state.stop = true
                state.condition.broadcast()
                state.condition.unlock()
                return
            }
            while true {
                slots.wait()
                state.condition.lock()
                if state.stop || state.next >= count {
                    state.condition.unlock()
                    slots.signal()
                    return
                }
                let index = state.next
                state.next += 1
                state.condition.unlock()
                let result = Result { try produce(context, index) }
                state.condition.lock()
                state.results[index] = result
                if case .failure = result { state.stop = true }
                state.condition.broadcast()
                state.condition.unlock()
            }
        }
    }
    defer {
        state.condition.lock()
        state.stop = true
        state.condition.unlock()
        // Wake workers blocked on a slot so that they can see `stop`.
        for _ in 0..<max(1, workers) { slots.signal() }
        group.wait()
    }
    for index in 0..<count {
        state.condition.lock()
        while state.results[index] == nil {
            if state.stop, let failure = state.results.values.first(where: { if case .failure = $0 { return true } else { return false } }) {
                state.condition.unlock()
                _ = try failure.get()
            }
            state.condition.wait()
        }
        let result = state.results.removeValue(forKey: index)!
        state.condition.unlock()
        slots.signal()
        try consume(index, try result.get())
    }
}

final class OrderedParallelState<T>: @unchecked Sendable {
    let condition = Condition()
    var next = 0
    var results: [Int: Result<T, Error>] = [:]
    var stop = false
}
