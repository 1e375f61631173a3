import Locks
import Synchronization

/// The active expiry cycle: `hz` times a second it sweeps the tables for keys whose TTL
/// passed, for at most a quarter of the period, and keeps going while at least one in ten of
/// the keys with a TTL it meets has expired, as Redis's cycle does. `active-expire-effort`
/// (1–10) widens each of these as in Redis: per step of effort, a quarter more keys per step,
/// 2% more of the period, one point less of expired keys tolerated.
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
    public func run(now: Int64, hz: Int, effort: Int = 1, removed: (_ db: Int, _ entry: Entry) -> Void) {
        let extra = min(max(effort, 1), 10) - 1
        let budget = 1024 + 256 * extra, timePercent = 25 + 2 * extra, tolerated = 10 - extra
        let start = Clock.monotonicNanoseconds()
        let deadline = start + Int64(10_000_000 * timePercent / max(1, hz))
        var seen = ExpirySweep()
        state.withLock { cycle in
            while true {
                let step = keyspace.expireStep(now: now, budget: budget, cursor: &cycle.cursor, removed: removed)
                seen.add(step)
                if step.looked == 0 { break }
                if seen.volatile >= 200 {
                    // Enough keys with a TTL met to judge: go on while more than the tolerated
                    // share (10% at the least effort) had expired.
                    if seen.expired * 100 <= seen.volatile * tolerated { break }
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
