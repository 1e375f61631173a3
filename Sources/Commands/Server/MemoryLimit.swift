import Config
import Engine
import Locks
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `maxmemory`: before each command, while the memory in use is over the limit, keys are
/// evicted by `maxmemory-policy`, as Redis's `performEvictions` does. A run stops at a time
/// limit set by `maxmemory-eviction-tenacity`; if memory is still over the limit then, eviction
/// goes on in short rounds on an event loop, and commands meanwhile run. Only when nothing can
/// be evicted are the commands that may grow memory (`denyoom`) refused.
public final class MemoryLimit: Sendable {
    public enum State: Equatable {
        /// Within the limit, or eviction may not run now (a pause, a loading snapshot).
        case withinLimit
        /// Over the limit, and eviction goes on in rounds.
        case evicting
        /// Over the limit with nothing left to evict: `denyoom` commands get `-OOM`.
        case exceeded
    }

    /// `maxmemory` in bytes (0: no limit) and the policy, mirrored from the configuration for
    /// the request path.
    private let limit = Atomic<Int>(0)
    private let policy = Atomic<Int>(0)
    /// `maxmemory-samples`, `maxmemory-eviction-tenacity`, `lazyfree-lazy-eviction`.
    private let samples = Atomic<Int>(5)
    private let tenacity = Atomic<Int>(10)
    private let lazy = Atomic<Bool>(false)
    private let config: Configuration
    private let keyspace: Keyspace
    /// The server's clock: access stamps are taken from it.
    private let clock: ClockSource
    public let eviction: Eviction
    /// Bytes in use that the limit does not count: replicas' output buffers and the AOF buffer,
    /// added by the layers that own them.
    public let notCounted = Atomic<Int>(0)
    /// Called for each evicted key, its shard still locked (the keyspace event, client caches
    /// and propagation live above this class), and whether to free it in the background.
    private let evicted: @Sendable (_ db: Int, _ entry: Entry, _ lazy: Bool) -> Void
    /// Runs `work` soon on an event loop.
    private let schedule: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// One eviction run at a time.
    private let running = Lock<Void>(())
    /// Whether a background round is scheduled.
    private let continuing = Atomic<Bool>(false)
    /// Since when memory has stayed over the limit (monotonic ns, 0: it is not), and the total
    /// of the spans that ended (INFO `current_`/`total_eviction_exceeded_time`).
    private let exceededSince = Atomic<Int64>(0)
    private let exceededTotal = Atomic<Int64>(0)

    init(config: Configuration, keyspace: Keyspace, clock: ClockSource,
         schedule: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void,
         evicted: @escaping @Sendable (_ db: Int, _ entry: Entry, _ lazy: Bool) -> Void) {
        self.config = config
        self.keyspace = keyspace
        self.clock = clock
        self.schedule = schedule
        self.evicted = evicted
        eviction = Eviction(keyspace: keyspace)
        setLimit(config["maxmemory"])
        setPolicy(config["maxmemory-policy"])
        samples.store(config.integer("maxmemory-samples"), ordering: .relaxed)
        tenacity.store(config.integer("maxmemory-eviction-tenacity"), ordering: .relaxed)
        lazy.store(config.bool("lazyfree-lazy-eviction"), ordering: .relaxed)
        // The state lives as long as the server, and with it this object.
        config.observe("maxmemory") { [unowned self] in setLimit($0) }
        config.observe("maxmemory-policy") { [unowned self] in setPolicy($0) }
        config.observe("maxmemory-samples") { [unowned self] in samples.store(Int($0) ?? 5, ordering: .relaxed) }
        config.observe("maxmemory-eviction-tenacity") { [unowned self] in tenacity.store(Int($0) ?? 10, ordering: .relaxed) }
        config.observe("lazyfree-lazy-eviction") { [unowned self] in lazy.store($0 == "yes", ordering: .relaxed) }
    }

    private func setLimit(_ value: String) {
        // Above Int.max (the directive takes any 64-bit value) is as good as no limit.
        limit.store(Int(value) ?? (value.isEmpty ? 0 : Int.max), ordering: .relaxed)
    }

    private func setPolicy(_ value: String) {
        policy.store(EvictionPolicy.allCases.firstIndex { $0.rawValue == value } ?? 0, ordering: .relaxed)
    }

    public var maxmemory: Int { limit.load(ordering: .relaxed) }

    /// Bytes in use as the limit counts them.
    public var used: Int {
        max(0, ProcessMetrics.allocatedBytes() - notCounted.load(ordering: .relaxed))
    }

    var currentPolicy: EvictionPolicy { EvictionPolicy.allCases[policy.load(ordering: .relaxed)] }

    /// Before a command. Costs one load when there is no limit.
    @inline(__always)
    func admit() -> State {
        guard limit.load(ordering: .relaxed) > 0 else { return .withinLimit }
        return enforce()
    }

    /// Evicts until the memory that was over the limit at the start is freed, or the run's
    /// time limit passes (then rounds go on in the background).
    public func enforce() -> State {
        let limit = limit.load(ordering: .relaxed)
        guard limit > 0, used > limit, mayEvict else { return record(.withinLimit) }
        let now = clock.nanoseconds() / 1_000_000
        let state = running.withLock { _ -> State in
            var over = used - limit
            guard over > 0 else { return .withinLimit }
            let policy = currentPolicy
            guard policy != .noEviction else { return .exceeded }
            let samples = samples.load(ordering: .relaxed)
            let lazy = lazy.load(ordering: .relaxed)
            let deadline = timeLimit.map { Clock.monotonicNanoseconds() + $0 }
            var keys = 0
            while over > 0 {
                let freed = eviction.evictOne(policy: policy, samples: samples, now: now) { db, entry in
                    evicted(db, entry, lazy)
                }
                guard let freed else { return waitForBackgroundRelease(limit: limit, deadline: deadline) }
                // Only what deleting the key freed: counting what telling others took
                // (invalidation messages, the propagated DEL) would feed the loop until the
                // keyspace is empty.
                over -= freed
                keys += 1
                if keys % 16 == 0 {
                    // Values freed in the background do not show in the line above.
                    if lazy && used <= limit { break }
                    if let deadline, Clock.monotonicNanoseconds() > deadline {
                        continueInBackground()
                        return .evicting
                    }
                }
            }
            return .withinLimit
        }
        return record(state)
    }

    /// Nothing left to evict: values being freed in the background may still bring memory
    /// under the limit, so wait for them a little (up to the run's time limit).
    private func waitForBackgroundRelease(limit: Int, deadline: Int64?) -> State {
        while BackgroundRelease.shared.pendingObjects.load(ordering: .relaxed) > 0 && used > limit {
            if let deadline, Clock.monotonicNanoseconds() > deadline { break }
            usleep(1000)
        }
        return used <= limit ? .withinLimit : .exceeded
    }

    /// Redis's limit for one run: 50 µs per step of tenacity up to 10, then 15% more per step;
    /// none at 100. Nanoseconds.
    private var timeLimit: Int64? {
        let tenacity = tenacity.load(ordering: .relaxed)
        if tenacity <= 10 { return Int64(50_000 * tenacity) }
        if tenacity < 100 { return Int64(500_000 * pow(1.15, Double(tenacity - 10))) }
        return nil
    }

    /// Evictions stop while clients are paused (the dataset must stay as it is), while a
    /// snapshot loads, and on a replica that leaves eviction to its master.
    private var mayEvict: Bool {
        if keyspace.isHeld(.paused) || keyspace.isHeld(.loading) { return false }
        return !keyspace.isHeld(.replica) || !config.bool("replica-ignore-maxmemory")
    }

    /// Evicts in rounds on an event loop (each a run of its own) until memory is within the
    /// limit or nothing is left to evict. Also what a lowered `maxmemory` starts.
    public func continueInBackground() {
        guard !continuing.exchange(true, ordering: .relaxed) else { return }
        schedule { [self] in
            continuing.store(false, ordering: .relaxed)
            _ = enforce()
        }
    }

    private func record(_ state: State) -> State {
        let since = exceededSince.load(ordering: .relaxed)
        if state == .withinLimit {
            if since != 0 && exceededSince.compareExchange(expected: since, desired: 0, ordering: .relaxed).exchanged {
                exceededTotal.add(Clock.monotonicNanoseconds() - since, ordering: .relaxed)
            }
        } else if since == 0 {
            _ = exceededSince.compareExchange(expected: 0, desired: Clock.monotonicNanoseconds(), ordering: .relaxed)
        }
        return state
    }

    /// INFO stats `total_eviction_exceeded_time` and `current_eviction_exceeded_time`, ms.
    public var exceededTime: (total: Int, current: Int) {
        let since = exceededSince.load(ordering: .relaxed)
        let current = since == 0 ? 0 : Clock.monotonicNanoseconds() - since
        return (Int((exceededTotal.load(ordering: .relaxed) + current) / 1_000_000), Int(current / 1_000_000))
    }
}
