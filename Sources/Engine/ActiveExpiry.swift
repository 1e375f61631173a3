import Locks
import Synchronization

/// The active expiry cycle: `hz` times a second it sweeps the tables for keys whose TTL
/// passed, for at most a quarter of the period, and keeps going while at least one in ten of
/// the keys with a TTL it meets has expired, as Redis's cycle does.
public final class ActiveExpiry: Sendable {
    private let keyspace: Keyspace
    /// The sweep's position and what INFO shows of it; touched by one cycle at a time.
    private let state = Lock(State())
    /// Microseconds spent sweeping (INFO `expire_cycle_cpu_milliseconds`).
    private let microseconds = Atomic<Int>(0)

    private struct State {
        var cursor = 0
        /// Running average of the share of keys with a TTL found expired (`expired_stale_perc`):
        /// each cycle weighs 5%, as in Redis.
        var staleShare = 0.0
        /// Cycles that stopped at their time limit (`expired_time_cap_reached_count`).
        var timeCapReached = 0
    }

    public init(keyspace: Keyspace) {
        self.keyspace = keyspace
    }

    /// One cycle at `now` (Unix ms) for a cron running `hz` times a second. `removed` is called
    /// for every key deleted, with its shard still locked, so the deletion can be propagated
    /// in order.
    public func run(now: Int64, hz: Int, removed: (_ db: Int, _ entry: Entry) -> Void) {
        let start = Clock.monotonicNanoseconds()
        let deadline = start + Int64(250_000_000 / max(1, hz))
        var seen = ExpirySweep()
        state.withLock { cycle in
            while true {
                let step = keyspace.expireStep(now: now, budget: 1024, cursor: &cycle.cursor, removed: removed)
                seen.add(step)
                if step.looked == 0 { break }
                if seen.volatile >= 200 {
                    // Enough keys with a TTL met to judge: go on while one in ten had expired.
                    if seen.expired * 10 < seen.volatile { break }
                } else if seen.looked >= keyspace.shards.count * 64 {
                    // Keys with a TTL are sparse here: not worth a longer sweep this time.
                    break
                }
                if Clock.monotonicNanoseconds() >= deadline {
                    cycle.timeCapReached += 1
                    break
                }
            }
            let share = seen.volatile > 0 ? Double(seen.expired) / Double(seen.volatile) : 0
            cycle.staleShare = share * 0.05 + cycle.staleShare * 0.95
        }
        microseconds.add(Int((Clock.monotonicNanoseconds() - start) / 1000), ordering: .relaxed)
    }

    /// INFO `expire_cycle_cpu_milliseconds`.
    public var milliseconds: Int { microseconds.load(ordering: .relaxed) / 1000 }

    /// INFO `expired_stale_perc` and `expired_time_cap_reached_count`.
    public var figures: (stalePercent: Double, timeCapReached: Int) {
        state.withLock { (100 * $0.staleShare, $0.timeCapReached) }
    }
}
