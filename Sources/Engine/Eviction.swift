import Locks
import SystemShims
import Synchronization

/// Redis's `maxmemory-policy` values.
public enum EvictionPolicy: String, Sendable, CaseIterable {
    case noEviction = "noeviction"
    case allKeysLRU = "allkeys-lru"
    case allKeysLFU = "allkeys-lfu"
    case allKeysRandom = "allkeys-random"
    case volatileLRU = "volatile-lru"
    case volatileLFU = "volatile-lfu"
    case volatileRandom = "volatile-random"
    case volatileTTL = "volatile-ttl"

    /// Only keys with a TTL may be evicted.
    var volatileOnly: Bool { self == .volatileLRU || self == .volatileLFU || self == .volatileRandom || self == .volatileTTL }
    var isRandom: Bool { self == .allKeysRandom || self == .volatileRandom }
    public var usesLFU: Bool { self == .allKeysLFU || self == .volatileLFU }
}

/// Chooses the keys to evict, as Redis approximates LRU, LFU and nearest-TTL: each round
/// samples `maxmemory-samples` keys of every database into a pool of the 16 best candidates
/// seen so far, and evicts the best one still as it was when sampled. The random policies
/// take a random key, visiting the databases in turn.
///
/// Needletail's keys are spread over shards: a database is sampled in one shard chosen at
/// random (each holds a random share of its keys). A candidate accessed, or given another TTL,
/// since it was sampled is dropped rather than evicted: its score is no longer what it was.
public final class Eviction: Sendable {
    public static let poolSize = 16

    private let keyspace: Keyspace
    private let state = Lock(State())
    /// Keys evicted (INFO stats `evicted_keys`).
    public let evictedKeys = Atomic<Int>(0)

    struct Candidate {
        /// Higher is evicted first: idle seconds, 255 minus the LFU counter, or the nearness of
        /// the expiry time.
        var score: UInt64
        var db: Int
        var key: [UInt8]
        /// The entry's access stamp and expiry time when sampled.
        var access: UInt32
        var expireAt: Int64
    }

    struct State {
        /// Ascending by score: the best candidate is last.
        var pool: [Candidate] = []
        /// The databases that held keys, and those that held keys with a TTL, when last looked
        /// at, and when that was (Unix ms).
        var populated: [Int] = []
        var populatedVolatile: [Int] = []
        var populatedAt: Int64 = 0
        var nextDatabase = 0
        var random = FastRandom()
        /// What the last eviction freed (see `evictOne`).
        var lastFreed = 0
    }

    public init(keyspace: Keyspace) {
        self.keyspace = keyspace
    }

    /// Evicts one key chosen by `policy`, calling `removed` with its shard still locked (so the
    /// deletion can be propagated in order). Returns the bytes deleting the key freed, as
    /// Redis counts them: not the sampling before it nor what `removed` allocates or frees
    /// (invalidation messages, the propagated DEL); nil when no key may be evicted.
    public func evictOne(policy: EvictionPolicy, samples: Int, now: Int64,
                         removed: (_ db: Int, _ entry: Entry) -> Void) -> Int? {
        guard policy != .noEviction else { return nil }
        return state.withLock { state in
            if now - state.populatedAt > 100 { refreshPopulated(&state, now: now) }
            if evict(policy, samples, now, &state, removed) { return state.lastFreed }
            // The databases that seemed empty may have filled since: look again before giving
            // up, but not on every command while nothing can be evicted.
            guard now - state.populatedAt > 10 else { return nil }
            refreshPopulated(&state, now: now)
            return evict(policy, samples, now, &state, removed) ? state.lastFreed : nil
        }
    }

    private func evict(_ policy: EvictionPolicy, _ samples: Int, _ now: Int64, _ state: inout State,
                       _ removed: (_ db: Int, _ entry: Entry) -> Void) -> Bool {
        let databases = policy.volatileOnly ? state.populatedVolatile : state.populated
        guard !databases.isEmpty else { return false }
        if policy.isRandom { return evictRandom(policy, databases, &state, removed) }
        // A few rounds at most: a round's candidates may all have changed since their sampling.
        for _ in 0 ..< 4 {
            var sampled = 0
            for db in databases { sampled += populate(&state, db: db, policy: policy, samples: samples, now: now) }
            guard sampled > 0 || !state.pool.isEmpty else { return false }
            while let candidate = state.pool.popLast() {
                if remove(candidate, policy: policy, &state, removed) { return true }
            }
        }
        return false
    }

    /// Samples database `db` in one shard that has keys of the policy's class, and puts the
    /// keys that beat the pool's worst into it. Returns how many keys it sampled.
    private func populate(_ state: inout State, db: Int, policy: EvictionPolicy, samples: Int, now: Int64) -> Int {
        let clock = Database.lruClock(now)
        var sampled = 0
        let start = Int.random(in: 0 ..< keyspace.shards.count, using: &state.random)
        for step in 0 ..< keyspace.shards.count {
            if sampled > 0 { break }
            let shard = keyspace.shards[(start + step) % keyspace.shards.count]
            shard.withLock {
                shard.table(db).sample(samples, volatileOnly: policy.volatileOnly, using: &state.random) { entry in
                    sampled += 1
                    let score: UInt64
                    switch policy {
                    case .volatileTTL:
                        score = UInt64.max - UInt64(max(0, entry.expireAt))
                    case .allKeysLFU, .volatileLFU:
                        score = UInt64(255 - AccessTracking.decayedFrequency(entry.access, now: now, keyspace: keyspace))
                    default:
                        score = UInt64(AccessTracking.idleSeconds(entry.access, clock: clock))
                    }
                    // The key is copied only when it enters the pool.
                    guard state.pool.count < Self.poolSize || score > state.pool[0].score else { return }
                    insert(Candidate(score: score, db: db, key: entry.keyBytes, access: entry.access, expireAt: entry.expireAt),
                           into: &state.pool)
                }
            }
        }
        return sampled
    }

    /// Keeps the pool sorted and at most `poolSize` long, dropping its worst when full. A key
    /// sampled twice may stand in it twice: its second pick finds it gone, as in Redis.
    func insert(_ candidate: Candidate, into pool: inout [Candidate]) {
        let position = pool.firstIndex { $0.score >= candidate.score } ?? pool.count
        if pool.count == Self.poolSize {
            guard position > 0 else { return }
            pool.remove(at: 0)
            pool.insert(candidate, at: position - 1)
        } else {
            pool.insert(candidate, at: position)
        }
    }

    /// Evicts the candidate if its key still holds the entry as sampled.
    private func remove(_ candidate: Candidate, policy: EvictionPolicy, _ state: inout State,
                        _ removed: (_ db: Int, _ entry: Entry) -> Void) -> Bool {
        candidate.key.withUnsafeBytes { bytes in
            let key = Key(bytes)
            return keyspace.withShard(of: key) {
                keyspace.withTable(of: key, db: candidate.db) { shard, table in
                    guard let slot = table.find(key),
                          table.withEntry(at: slot, { $0.access == candidate.access && $0.expireAt == candidate.expireAt }) else {
                        return false
                    }
                    evict(shard, table, slot, db: candidate.db, &state, removed)
                    return true
                }
            }
        }
    }

    private func evictRandom(_ policy: EvictionPolicy, _ databases: [Int], _ state: inout State,
                             _ removed: (_ db: Int, _ entry: Entry) -> Void) -> Bool {
        for _ in databases {
            state.nextDatabase = (state.nextDatabase + 1) % databases.count
            let db = databases[state.nextDatabase]
            let start = Int.random(in: 0 ..< keyspace.shards.count, using: &state.random)
            for step in 0 ..< keyspace.shards.count {
                let shard = keyspace.shards[(start + step) % keyspace.shards.count]
                let evicted = shard.withLock {
                    let table = shard.table(db)
                    guard policy == .allKeysRandom ? table.count > 0 : table.volatileCount > 0 else { return false }
                    var chosen: Int?
                    if policy == .allKeysRandom {
                        chosen = table.randomIndex(using: &state.random)
                    } else {
                        table.sample(1, volatileOnly: true, using: &state.random) { entry in
                            chosen = entry.withKey { table.find(Key($0)) }
                        }
                    }
                    guard let slot = chosen else { return false }
                    evict(shard, table, slot, db: db, &state, removed)
                    return true
                }
                if evicted { return true }
            }
        }
        return false
    }

    private func evict(_ shard: Shard, _ table: KeyTable, _ slot: Int, db: Int, _ state: inout State,
                       _ removed: (_ db: Int, _ entry: Entry) -> Void) {
        let before = Int(needletail_allocated_bytes())
        var told = 0
        do {
            let entry = table.remove(at: slot)
            entry.withKey { shard.touch(Key($0), db: db) }
            evictedKeys.add(1, ordering: .relaxed)
            let start = Int(needletail_allocated_bytes())
            removed(db, entry)
            told = Int(needletail_allocated_bytes()) - start
        }
        state.lastFreed = before - Int(needletail_allocated_bytes()) + told
    }

    /// The databases holding keys, and keys with a TTL, now (each shard locked in turn).
    private func refreshPopulated(_ state: inout State, now: Int64) {
        state.populated = []
        state.populatedVolatile = []
        for db in 0 ..< keyspace.databaseCount {
            var keys = false, volatile = false
            for shard in keyspace.shards where !volatile {
                shard.withLock {
                    let table = shard.table(db)
                    keys = keys || table.count > 0
                    volatile = table.volatileCount > 0
                }
            }
            if keys { state.populated.append(db) }
            if volatile { state.populatedVolatile.append(db) }
        }
        state.populatedAt = now
    }
}
