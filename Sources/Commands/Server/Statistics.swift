import Locks
import Synchronization

/// Counters for INFO stats and commandstats.
///
/// Each event loop has its own `LoopStatistics`, written only by that loop with plain relaxed
/// loads and stores (no locked instructions, no cache line shared between loops); INFO sums
/// the slabs. CONFIG RESETSTAT records a baseline instead of writing to counters it does not own.
public final class Statistics: Sendable {
    public let loops: [LoopStatistics]
    /// Counters touched by threads that own no slab (the listener, background work).
    public let shared: LoopStatistics
    public let connectionsReceived = Atomic<Int>(0)
    public let rejectedConnections = Atomic<Int>(0)
    private let errors = Lock<[String: Int]>([:])
    private let baseline = Lock<Totals?>(nil)
    private let memoryPeak = Atomic<Int>(0)

    private let commandCount: Int

    public init(loops: Int, commands: Int) {
        commandCount = commands
        self.loops = (0 ..< loops).map { _ in LoopStatistics(commands: commands) }
        shared = LoopStatistics(commands: commands)
    }

    /// Records `used` bytes if it is a new peak (INFO `used_memory_peak`); returns the peak.
    func recordMemoryPeak(_ used: Int) -> Int {
        var peak = memoryPeak.load(ordering: .relaxed)
        while used > peak {
            let (exchanged, original) = memoryPeak.compareExchange(expected: peak, desired: used, ordering: .relaxed)
            if exchanged { return used }
            peak = original
        }
        return peak
    }

    /// Counts an error reply by its code (the first word: `ERR`, `WRONGTYPE` …).
    public func countError(_ message: String) {
        let code = message.prefix { $0 != " " }
        errors.withLock { $0[String(code), default: 0] += 1 }
    }

    public struct Totals: Sendable {
        public var values: [LoopStatistics.Counter: Int] = [:]
        public var commands: [(calls: Int, microseconds: Int, rejected: Int, failed: Int)] = []
        public var connectionsReceived = 0
        public var rejectedConnections = 0
        public var errors: [String: Int] = [:]

        public subscript(counter: LoopStatistics.Counter) -> Int { values[counter] ?? 0 }
    }

    /// Everything counted since start or the last CONFIG RESETSTAT.
    public func totals() -> Totals {
        var totals = rawTotals()
        if let base = baseline.withLock({ $0 }) {
            for (counter, value) in base.values { totals.values[counter, default: 0] -= value }
            for index in totals.commands.indices where index < base.commands.count {
                let b = base.commands[index]
                totals.commands[index].calls -= b.calls
                totals.commands[index].microseconds -= b.microseconds
                totals.commands[index].rejected -= b.rejected
                totals.commands[index].failed -= b.failed
            }
            totals.connectionsReceived -= base.connectionsReceived
            totals.rejectedConnections -= base.rejectedConnections
        }
        return totals
    }

    public func reset() {
        let now = rawTotals()
        baseline.withLock { $0 = now }
        errors.withLock { $0.removeAll() }
    }

    private func rawTotals() -> Totals {
        var totals = Totals()
        let slabs = loops + [shared]
        for counter in LoopStatistics.Counter.allCases {
            totals.values[counter] = slabs.reduce(0) { $0 + $1.value(counter) }
        }
        totals.commands = (0 ..< commandCount).map { ordinal in
            var sums = (calls: 0, microseconds: 0, rejected: 0, failed: 0)
            for slab in slabs {
                sums.calls += slab.value(.calls, of: ordinal)
                sums.microseconds += slab.value(.microseconds, of: ordinal)
                sums.rejected += slab.value(.rejected, of: ordinal)
                sums.failed += slab.value(.failed, of: ordinal)
            }
            return sums
        }
        totals.connectionsReceived = connectionsReceived.load(ordering: .relaxed)
        totals.rejectedConnections = rejectedConnections.load(ordering: .relaxed)
        totals.errors = errors.withLock { $0 }
        return totals
    }
}

/// One event loop's counters. Written only by its loop (see `Statistics`).
public final class LoopStatistics: Sendable {
    public enum Counter: Int, CaseIterable, Sendable {
        case commandsProcessed, keyspaceHits, keyspaceMisses, netInputBytes, netOutputBytes
        case readsProcessed, writesProcessed, errorReplies, dirty
        /// Errors a replica met applying its master's stream (INFO `unexpected_error_replies`).
        case unexpectedErrorReplies
    }

    /// Per command: calls, microseconds, rejected calls, failed calls.
    public enum CommandCounter: Int, CaseIterable, Sendable {
        case calls, microseconds, rejected, failed
    }

    @usableFromInline let counters: AtomicCounters
    @usableFromInline let commands: AtomicCounters

    init(commands: Int) {
        counters = AtomicCounters(count: Counter.allCases.count)
        self.commands = AtomicCounters(count: commands * CommandCounter.allCases.count)
    }

    /// Adds to a counter. Only the owning loop calls this: a load and a store, no locked instruction.
    @inlinable
    public func count(_ counter: Counter, _ amount: Int = 1) {
        counters.add(counter.rawValue, amount)
    }

    @inlinable
    public func count(_ counter: CommandCounter, of ordinal: Int, _ amount: Int = 1) {
        commands.add(ordinal &* 4 &+ counter.rawValue, amount)
    }

    func value(_ counter: Counter) -> Int {
        counters.load(counter.rawValue)
    }

    func value(_ counter: CommandCounter, of ordinal: Int) -> Int {
        commands.load(ordinal * 4 + counter.rawValue)
    }
}

/// A fixed block of atomic integers in one allocation.
///
/// `@unchecked Sendable`: the memory is only ever reached through the `Atomic` operations
/// below, and is freed only when the last reference goes.
public final class AtomicCounters: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Atomic<Int>>
    let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        for index in 0 ..< count { (base + index).initialize(to: Atomic(0)) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    /// Single-writer add: only the owner writes, readers may read at any time.
    @inlinable
    func add(_ index: Int, _ amount: Int) {
        base[index].store(base[index].load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    func load(_ index: Int) -> Int {
        base[index].load(ordering: .relaxed)
    }
}
