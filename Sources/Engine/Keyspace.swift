import Locks
import Synchronization

/// All databases' keys, split into shards by key hash (DESIGN.md §4).
///
/// A shard holds one `KeyTable` per database and one lock for all of them, so a key keeps its
/// shard across databases (MOVE locks one shard) and "lock everything" means locking each shard
/// once. A command locks the shards of its keys in ascending order, runs, and unlocks.
public final class Keyspace: Sendable {
    public static let shardBits = 8
    public static let shardCount = 1 << shardBits

    public let shards: [Shard]
    public let databaseCount: Int
    /// The same shards, unretained, for the request path: borrowing one costs no reference
    /// count traffic (`shards` keeps them alive as long as the keyspace).
    @usableFromInline let shardReferences: ContiguousArray<Unmanaged<Shard>>

    /// Why expired keys may not be deleted now (see `ExpiryHold`); none: they may.
    private let expiryHolds = Atomic<Int>(0)

    /// Whether reads and the expiry cycle may delete keys whose TTL passed. Expired keys are
    /// hidden either way.
    @inlinable
    public var deletesExpiredKeys: Bool { expiryHoldBits == 0 }

    @usableFromInline var expiryHoldBits: Int { expiryHolds.load(ordering: .relaxed) }

    /// Stops expired keys from being deleted for `reason`, until `release(reason)`; each
    /// reason is set and cleared by its owner alone, so one lifting cannot end another's.
    public func hold(_ reason: ExpiryHold) {
        expiryHolds.bitwiseOr(reason.rawValue, ordering: .relaxed)
    }

    public func release(_ reason: ExpiryHold) {
        expiryHolds.bitwiseAnd(~reason.rawValue, ordering: .relaxed)
    }

    public func isHeld(_ reason: ExpiryHold) -> Bool {
        expiryHoldBits & reason.rawValue != 0
    }
    /// On a writable replica, the keys its own clients gave a TTL: its master's DELs will never
    /// delete them, so its cron does (`Database.expireOwnKey`).
    public let ownKeysWithExpiry = Lock<Set<DatabaseKey>>([])
    /// `DEBUG SET-ACTIVE-EXPIRE`: whether the periodic expiry cycle runs.
    public let activeExpiryEnabled = Atomic<Bool>(true)
    /// Keys deleted because their TTL passed, for INFO stats `expired_keys`.
    public let expiredKeys = Atomic<Int>(0)
    /// Whether an LFU `maxmemory-policy` is set: entries then keep an access frequency instead
    /// of a last-access time (see `AccessTracking`).
    public let usesLFU = Atomic<Bool>(false)
    /// `lazyfree-lazy-server-del`: a value a write replaces is freed in the background when it
    /// is costly to free (see `BackgroundRelease`).
    public let freesReplacedLazily = Atomic<Bool>(false)
    /// When small collections leave their compact encodings.
    public let encodingLimits = EncodingLimits()
    /// `lfu-log-factor` and `lfu-decay-time`.
    public let lfuLogFactor = Atomic<Int>(10)
    public let lfuDecayMinutes = Atomic<Int>(1)

    /// Called, with the key's shard locked, for every key deleted because its TTL passed.
    let expiredObserver: @Sendable (_ db: Int, _ key: UnsafeRawBufferPointer) -> Void

    public init(databases: Int, expired: @escaping @Sendable (_ db: Int, _ key: UnsafeRawBufferPointer) -> Void = { _, _ in }) {
        databaseCount = databases
        expiredObserver = expired
        averageTTLs = Lock([Int](repeating: 0, count: databases))
        shards = (0 ..< Self.shardCount).map { Shard(index: $0, databases: databases) }
        shardReferences = ContiguousArray(shards.map { Unmanaged.passUnretained($0) })
    }

    @inlinable
    public static func shardIndex(of hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash >> UInt64(64 - shardBits))
    }

    // MARK: Locking

    /// Runs `body` with the shard of `key` locked.
    @inlinable
    public func withShard<R>(of key: Key, _ body: () -> R) -> R {
        shardReferences[Self.shardIndex(of: key.hash)]._withUnsafeGuaranteedRef { $0.withLock(body) }
    }

    /// Lends `body` the shard of `key` and its table for database `db` (locked by the caller).
    @inlinable
    public func withTable<R>(of key: Key, db: Int, _ body: (Shard, KeyTable) -> R) -> R {
        shardReferences[Self.shardIndex(of: key.hash)]._withUnsafeGuaranteedRef { shard in shard.withTable(db) { body(shard, $0) } }
    }

    // MARK: Blocked clients

    /// Keys that gained a list or sorted set while clients wait on them, to be served after the
    /// command that created them.
    private let readyKeys = Lock<[DatabaseKey]>([])
    /// How many entries `readyKeys` holds: the dispatcher's cheap check after each command.
    public let readyKeyCount = Atomic<Int>(0)

    func markReady(_ key: DatabaseKey) {
        readyKeys.withLock { keys in
            if !keys.contains(key) { keys.append(key) }
            readyKeyCount.store(keys.count, ordering: .relaxed)
        }
    }

    /// Hands the ready keys to whoever serves their waiters.
    public func takeReadyKeys() -> [DatabaseKey] {
        readyKeys.withLock { keys in
            defer {
                keys = []
                readyKeyCount.store(0, ordering: .relaxed)
            }
            return keys
        }
    }

    /// Runs `body` with the given shards locked. `indices` may hold repeats in any order: it
    /// is sorted and deduplicated in place, and the locks are taken in ascending order so that
    /// two multi-key commands can never wait for each other.
    public func withShards<R>(_ indices: UnsafeMutableBufferPointer<Int>, _ body: () -> R) -> R {
        var indices = indices
        indices.sort()
        var unique = 0
        for index in indices where unique == 0 || indices[unique - 1] != index {
            indices[unique] = index
            unique += 1
        }
        return withSortedShards(UnsafeBufferPointer(rebasing: indices[..<unique]), from: 0, body)
    }

    /// Runs `body` with every shard locked: the whole keyspace at one instant.
    public func withAllShards<R>(_ body: () -> R) -> R {
        let all = Array(0 ..< shards.count)
        return all.withUnsafeBufferPointer { withSortedShards($0, from: 0, body) }
    }

    private func withSortedShards<R>(_ indices: UnsafeBufferPointer<Int>, from position: Int, _ body: () -> R) -> R {
        guard position < indices.count else { return body() }
        return shardReferences[indices[position]]._withUnsafeGuaranteedRef { shard in
            shard.withLock { withSortedShards(indices, from: position + 1, body) }
        }
    }

    /// Runs `body` with `shard` locked, unless the caller already holds every shard.
    @inlinable
    func withLock<R>(_ shard: Shard, locking: Bool, _ body: () -> R) -> R {
        locking ? shard.withLock(body) : body()
    }

    /// Begins a point-in-time capture: at one instant (every shard locked, `atInstant` run
    /// there), every shard is marked; each is then captured by whoever locks it first, the
    /// capturer's own walk or a command about to change it (DESIGN.md §6).
    ///
    /// One capture at a time (a table keeps one image): false, and nothing done, while another
    /// is unfinished (a BGSAVE and a replica's full sync meet here).
    public func beginCapture(_ capture: ShardCapture, atInstant: () -> Void) -> Bool {
        guard capturing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return false }
        withAllShards {
            for shard in shards { shard.pendingCapture = capture }
            atInstant()
        }
        return true
    }

    /// The capture's writer is done with every shard: another capture may begin.
    public func endCapture() {
        capturing.store(false, ordering: .releasing)
    }

    private let capturing = Atomic<Bool>(false)

    /// Ends a capture early (a failed save): shards not captured yet are left alone.
    public func cancelCapture() {
        for shard in shards {
            shard.lock.withLock { _ in
                shard.pendingCapture = nil
                shard.endSharing()
            }
        }
        endCapture()
    }

    /// Runs `body` with every shard locked, unless the caller already holds them.
    public func withAllShards<R>(locking: Bool, _ body: () -> R) -> R {
        locking ? withAllShards(body) : body()
    }

    // MARK: Active expiry

    /// INFO keyspace `avg_ttl` per database: a moving average of the TTLs the sweeps sample.
    private let averageTTLs: Lock<[Int]>

    public func averageTTL(db: Int) -> Int {
        averageTTLs.withLock { $0[db] }
    }

    /// One step of the active expiry cycle: sweeps up to `budget` slots, moving from shard to
    /// shard, and deletes the keys whose TTL passed. `removed` is called with the shard still
    /// locked, so a deletion can be propagated in order.
    @discardableResult
    public func expireStep(now: Int64, budget: Int, cursor: inout Int,
                           removed: (_ db: Int, _ entry: Entry) -> Void = { _, _ in }) -> ExpirySweep {
        var total = ExpirySweep()
        guard activeExpiryEnabled.load(ordering: .relaxed), deletesExpiredKeys else { return total }
        var perDatabase = [ExpirySweep](repeating: ExpirySweep(), count: databaseCount)
        var visitedShards = 0
        while total.looked < budget && visitedShards < shards.count {
            let shard = shards[cursor % shards.count]
            shard.withLock {
                for db in 0 ..< databaseCount where total.looked < budget {
                    let sweep = shard.table(db).sweepExpired(now: now, budget: budget - total.looked) { entry in
                        entry.withKey { bytes in
                            shard.touch(Key(bytes), db: db)
                            expiredObserver(db, bytes)
                        }
                        removed(db, entry)
                    }
                    perDatabase[db].add(sweep)
                    total.add(sweep)
                }
            }
            if total.looked < budget { cursor = (cursor + 1) % shards.count }
            visitedShards += 1
        }
        if total.expired > 0 { expiredKeys.add(total.expired, ordering: .relaxed) }
        averageTTLs.withLock { averages in
            for (db, sweep) in perDatabase.enumerated() where sweep.volatile > sweep.expired {
                let sample = sweep.remainingTTL / (sweep.volatile - sweep.expired)
                averages[db] = averages[db] == 0 ? sample : averages[db] / 50 * 49 + sample / 50
            }
        }
        return total
    }
}

/// Why expired keys are kept rather than deleted: a client pause (deletions wait for its end),
/// a replica (its master's `DEL` deletes them), a snapshot being loaded.
public struct ExpiryHold: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let paused = ExpiryHold(rawValue: 1 << 0)
    public static let replica = ExpiryHold(rawValue: 1 << 1)
    public static let loading = ExpiryHold(rawValue: 1 << 2)
}

/// One shard: a table per database and the lock that guards them.
public final class Shard: @unchecked Sendable {
    /// Guards the tables and every entry in them. Held only for the duration of one command.
    @usableFromInline let lock = Lock<Void>(())
    /// Index = database number; the shard holds one reference to each table. Touch only with
    /// `lock` held.
    @usableFromInline var tables: ContiguousArray<Unmanaged<KeyTable>>
    /// WATCHes and blocked clients on this shard's keys, created on first use. Guarded by `lock`.
    @usableFromInline var interest: KeyInterest?
    /// A snapshot that has not captured this shard yet (see `ShardCapture`). Guarded by `lock`.
    @usableFromInline var pendingCapture: ShardCapture?
    /// A snapshot holds this shard's entries as they were at its instant: a command changing
    /// an entry in place first makes it its own (`Database`). Guarded by `lock`.
    public var sharedWithSnapshot = false
    /// The shard's place in `Keyspace.shards`.
    public let index: Int

    init(index: Int, databases: Int) {
        self.index = index
        tables = ContiguousArray((0 ..< databases).map { _ in Unmanaged.passRetained(KeyTable()) })
    }

    deinit {
        for table in tables { table.release() }
    }

    /// Runs `body` with the shard locked. Whoever locks a shard first after a snapshot began
    /// lets the snapshot capture it before anything can change it.
    @inlinable
    public func withLock<R>(_ body: () -> R) -> R {
        var result: R?
        lock.withLock { _ in
            if pendingCapture != nil { capturePending() }
            result = body()
        }
        return result.unsafelyUnwrapped
    }

    @usableFromInline func capturePending() {
        guard let capture = pendingCapture else { return }
        pendingCapture = nil
        capture.capture(self)
    }

    /// The snapshot is done with this shard (written, or cancelled): its tables' images are
    /// detached and entries change in place again. The caller holds the lock.
    public func endSharing() {
        sharedWithSnapshot = false
        for table in tables { table._withUnsafeGuaranteedRef { $0.detachImage() } }
    }

    public func table(_ db: Int) -> KeyTable {
        tables[db].takeUnretainedValue()
    }

    @inlinable
    func withTable<R>(_ db: Int, _ body: (KeyTable) -> R) -> R {
        tables[db]._withUnsafeGuaranteedRef(body)
    }

    /// Puts a new, empty table in place of database `db`'s and returns the old one.
    public func replaceTable(_ db: Int, now: Int64) -> KeyTable {
        touchExisting(db: db, now: now)
        let old = tables[db].takeRetainedValue()
        tables[db] = Unmanaged.passRetained(KeyTable())
        return old
    }

    public func swapTables(_ a: Int, _ b: Int, now: Int64) {
        touchExisting(db: a, replacement: b, now: now)
        touchExisting(db: b, replacement: a, now: now)
        tables.swapAt(a, b)
    }

    /// A write to `key` happened: its WATCHes become dirty.
    @inlinable
    public func touch(_ key: Key, db: Int) {
        guard let interest else { return }
        interest.touch(DatabaseKey(db: db, key: Element(key.bytes))) { tables[db]._withUnsafeGuaranteedRef { $0.find(key) != nil } }
    }
}
