/// One database as a command sees it: lookups that apply expiry, stores, and whole-database
/// operations. Valid only while the shards of the keys it touches are locked (the dispatcher
/// takes them before a handler runs). Whole-database operations lock shard by shard
/// themselves, unless `holdsAllShards` says the caller already holds every lock (EXEC).
public struct Database {
    /// Unmanaged: the keyspace lives as long as the server, and a `Database` only for one
    /// command. Lookups borrow it with `_withUnsafeGuaranteedRef`; a method called through a
    /// strong or `unowned(unsafe)` reference costs a retain and a release per call.
    @usableFromInline let keyspaceReference: Unmanaged<Keyspace>
    public var keyspace: Keyspace { keyspaceReference.takeUnretainedValue() }
    public let index: Int
    /// The time the command runs at, Unix milliseconds: one clock read per command.
    public let now: Int64
    /// The access stamp for entries created or touched now (see `AccessTracking`).
    public let access: UInt32
    public let holdsAllShards: Bool
    /// CLIENT NO-TOUCH: reads leave the access time alone.
    public var touches = true
    /// The command may change what it looks up: an entry a snapshot still holds is copied
    /// for it first (see `Shard.sharedWithSnapshot`).
    public var writes = false
    /// When set, every key this database changes is written down (client-side caching
    /// invalidates them after the command).
    public var changes: ChangeLog?
    /// When set, every key deleted because its TTL passed is written down (a replica gets
    /// those deletions from the master).
    public var expirations: ExpirationLog?

    // `borrowing`: an initializer would otherwise take (retain) the keyspace on every command.
    public init(keyspace: borrowing Keyspace, index: Int, now: Int64, holdsAllShards: Bool = false) {
        keyspaceReference = Unmanaged.passUnretained(keyspace)
        self.index = index
        self.now = now
        self.access = AccessTracking.initialStamp(now: now, lfu: keyspace.usesLFU.load(ordering: .relaxed))
        self.holdsAllShards = holdsAllShards
    }

    @inlinable
    public static func lruClock(_ now: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: now / 1000) & 0xFF_FFFF
    }

    public func with(index: Int) -> Database {
        var other = Database(keyspace: keyspace, index: index, now: now, holdsAllShards: holdsAllShards)
        other.touches = touches
        other.writes = writes
        other.changes = changes
        other.expirations = expirations
        return other
    }

    // MARK: Keys (shard locked by the caller)

    /// The live entry for `key`. An entry whose TTL passed counts as missing; it is deleted
    /// where this node may delete (a master, not paused), and kept hidden otherwise.
    @inlinable
    public func lookup(_ key: Key) -> Entry? {
        withLiveEntry(key) { $0 }
    }

    /// `lookup` lending the entry to `body` instead of returning it: a read that only looks
    /// spares the reference counting.
    @inlinable
    public func withLiveEntry<R>(_ key: Key, _ body: (Entry?) -> R) -> R {
        keyspaceReference._withUnsafeGuaranteedRef { keyspace in
            keyspace.withTable(of: key, db: index) { shard, table in
                guard let slot = table.find(key) else { return body(nil) }
                let expired = table.withEntry(at: slot) { entry in
                    if entry.expireAt != 0 && entry.expireAt <= now { return true }
                    if touches { AccessTracking.touch(entry, stamp: access, now: now, keyspace: keyspace) }
                    return false
                }
                if expired {
                    expire(shard, table, slot)
                    return body(nil)
                }
                if writes && shard.sharedWithSnapshot { table.makeUnique(at: slot, limits: keyspace.encodingLimits) }
                return table.withEntry(at: slot) { body($0) }
            }
        }
    }

    @usableFromInline
    func expire(_ shard: Shard, _ table: KeyTable, _ slot: Int) {
        guard keyspace.deletesExpiredKeys else { return }
        removeExpired(shard, table, slot)
    }

    /// A writable replica's own key with a TTL (`Keyspace.ownKeysWithExpiry`): deleted once
    /// its TTL passed, as Redis's replica deletes the keys its clients gave a TTL (its master's
    /// DELs delete the others). Nil when the key is gone or has no TTL any more: no longer
    /// worth watching. Called with the key's shard locked.
    public func expireOwnKey(_ key: Key) -> Bool? {
        keyspace.withTable(of: key, db: index) { shard, table in
            guard let slot = table.find(key) else { return nil }
            let expireAt = table.withEntry(at: slot) { $0.expireAt }
            guard expireAt != 0 else { return nil }
            guard expireAt <= now else { return false }
            removeExpired(shard, table, slot)
            return true
        }
    }

    @usableFromInline
    func removeExpired(_ shard: Shard, _ table: KeyTable, _ slot: Int) {
        let entry = table.remove(at: slot)
        keyspace.expiredKeys.add(1, ordering: .relaxed)
        entry.withKey { bytes in
            shard.touch(Key(bytes), db: index)
            changes?.record(bytes)
            expirations?.record(db: index, bytes)
            keyspace.expiredObserver(index, bytes)
        }
    }

    /// The entry stored under `key`, also one past its TTL that is not deleted yet (MEMORY
    /// USAGE and DEBUG look at what is stored).
    public func storedEntry(_ key: Key) -> Entry? {
        keyspace.withTable(of: key, db: index) { _, table in table.find(key).map { table.entry(at: $0) } }
    }

    public func exists(_ key: Key) -> Bool {
        lookup(key) != nil
    }

    /// Stores `entry` under its key unless the key is there already (loading a file: one
    /// probe, where a lookup and then a store take two). Returns whether it was stored.
    public func storeIfAbsent(_ key: Key, _ entry: Entry) -> Bool {
        keyspace.withTable(of: key, db: index) { shard, table in
            guard table.insertIfAbsent(entry, key: key) else { return false }
            shard.touch(key, db: index)
            changes?.record(key.bytes)
            if shard.interest != nil { noteNewKey(shard, key, entry) }
            return true
        }
    }

    /// Makes room for `count` more keys, spread over the shards, so loading them does not
    /// grow each table step by step. The caller holds every shard.
    public func reserve(_ count: Int) {
        let perShard = count / keyspace.shards.count
        for shard in keyspace.shards {
            shard.withTable(index) { $0.reserve($0.count + perShard) }
        }
    }

    /// Stores `entry` under its key, replacing what was there; returns true when the key is new.
    /// Marks the key's WATCHes dirty, and the key ready when clients wait for a list or sorted
    /// set to appear there.
    @inlinable @discardableResult
    public func store(_ key: Key, _ entry: Entry) -> Bool {
        keyspace.withTable(of: key, db: index) { shard, table in
            shard.touch(key, db: index)
            changes?.record(key.bytes)
            if let slot = table.find(key) {
                let old = table.entry(at: slot)
                entry.touch(stampOverwriting(old, keyspace: keyspace))
                table.replace(at: slot, with: entry)
                releaseReplaced(old)
                return false
            }
            table.insert(entry, hash: key.hash)
            if shard.interest != nil { noteNewKey(shard, key, entry) }
            return true
        }
    }

    /// Stores a string (SET, MSET): an entry already under `key` takes the value in place when
    /// it can, so overwriting a key costs one lookup and no allocation. A key whose TTL passed is
    /// deleted first, as a lookup would. Returns whether the key is new. A string never serves a
    /// blocked client, so no waiter is told.
    public func storeString(_ key: Key, _ value: Value, embedding: UnsafeRawBufferPointer?, expireAt: Int64) -> Bool {
        keyspaceReference._withUnsafeGuaranteedRef { keyspace in
            keyspace.withTable(of: key, db: index) { shard, table in
                var slot = table.find(key)
                if let found = slot, keyspace.deletesExpiredKeys,
                   table.withEntry(at: found, { $0.expireAt != 0 && $0.expireAt <= now }) {
                    expire(shard, table, found)
                    slot = nil
                }
                shard.touch(key, db: index)
                changes?.record(key.bytes)
                guard let slot else {
                    table.insert(Entry.make(key: key.bytes, value: value, embedding: embedding, expireAt: expireAt, access: access),
                                 hash: key.hash)
                    return true
                }
                let (stamp, freesLater) = table.withEntry(at: slot) { old in
                    // A value costly to free leaves with its entry, for the background to free.
                    (stampOverwriting(old, keyspace: keyspace), keyspace.freesReplacedLazily.load(ordering: .relaxed)
                        && old.value.freeEffort > BackgroundRelease.effortThreshold)
                }
                let old = freesLater ? table.entry(at: slot) : nil
                if freesLater || !table.overwrite(at: slot, with: value, embedding: embedding, expireAt: expireAt, access: stamp) {
                    table.replace(at: slot, with: Entry.make(key: key.bytes, value: value, embedding: embedding,
                                                             expireAt: expireAt, access: stamp))
                }
                if let old { BackgroundRelease.shared.release(old) }
                return false
            }
        }
    }

    /// An entry a write replaced: freed in the background under `lazyfree-lazy-server-del` when
    /// costly to free, else when its last reference goes.
    @usableFromInline
    func releaseReplaced(_ old: Entry) {
        if keyspace.freesReplacedLazily.load(ordering: .relaxed) { BackgroundRelease.shared.release(old) }
    }

    /// The access stamp of a value that replaces `old`: under an LFU policy the key keeps its
    /// access counter (counting this access), as Redis carries it over; otherwise it is now.
    @usableFromInline
    func stampOverwriting(_ old: Entry, keyspace: Keyspace) -> UInt32 {
        guard keyspace.usesLFU.load(ordering: .relaxed) else { return access }
        AccessTracking.touch(old, stamp: access, now: now, keyspace: keyspace)
        return old.access
    }

    /// A new key appeared in a shard where clients wait: a list or sorted set there may serve them.
    @usableFromInline
    func noteNewKey(_ shard: Shard, _ key: Key, _ entry: Entry) {
        guard let interest = shard.interest, !interest.waiters.isEmpty else { return }
        switch entry.value {
        case .list, .sortedSet:
            let waited = DatabaseKey(db: index, key: Element(key.bytes))
            if interest.hasWaiters(waited) { keyspace.markReady(waited) }
        default:
            break
        }
    }

    /// An entry's value changed in place (a collection grew or shrank): its WATCHes become dirty.
    public func modified(_ key: Key) {
        keyspace.withTable(of: key, db: index) { shard, _ in shard.touch(key, db: index) }
        changes?.record(key.bytes)
    }

    /// Deletes `key`; returns the live entry it held (nil when missing or already expired).
    @discardableResult
    public func remove(_ key: Key) -> Entry? {
        keyspace.withTable(of: key, db: index) { shard, table in
            guard let slot = table.find(key) else { return nil }
            let entry = table.remove(at: slot)
            shard.touch(key, db: index)
            changes?.record(key.bytes)
            if entry.expireAt != 0 && entry.expireAt <= now {
                keyspace.expiredKeys.add(1, ordering: .relaxed)
                entry.withKey { bytes in
                    expirations?.record(db: index, bytes)
                    keyspace.expiredObserver(index, bytes)
                }
                return nil
            }
            return entry
        }
    }

    /// Deletes `key` for the server's own reasons (a destination a write replaces, a collection
    /// left empty, a TTL set in the past): the value is freed in the background when `lazily`
    /// (by default under `lazyfree-lazy-server-del`) and costly to free. Whether a live key went.
    @discardableResult
    public func discard(_ key: Key, lazily: Bool? = nil) -> Bool {
        guard let entry = remove(key) else { return false }
        if lazily ?? keyspace.freesReplacedLazily.load(ordering: .relaxed) { BackgroundRelease.shared.release(entry) }
        return true
    }

    /// Sets or clears (0) the TTL of a live key.
    public func setExpiry(_ key: Key, at expireAt: Int64) {
        keyspace.withTable(of: key, db: index) { shard, table in
            guard let slot = table.find(key) else { return }
            shard.touch(key, db: index)
            changes?.record(key.bytes)
            if shard.sharedWithSnapshot { table.makeUnique(at: slot, limits: keyspace.encodingLimits) }
            table.setExpiry(at: slot, expireAt)
        }
    }

    // MARK: Whole database (takes its own locks)

    public func count() -> (keys: Int, volatile: Int) {
        var keys = 0, volatile = 0
        for shard in keyspace.shards {
            keyspace.withLock(shard, locking: !holdsAllShards) {
                keys += shard.table(index).count
                volatile += shard.table(index).volatileCount
            }
        }
        return (keys, volatile)
    }

    /// The bytes of the database's key tables themselves (their slot arrays), not of the
    /// entries in them: MEMORY STATS `overhead.hashtable.main`.
    public func tableBytes() -> Int {
        var bytes = 0
        for shard in keyspace.shards {
            keyspace.withLock(shard, locking: !holdsAllShards) {
                let capacity = shard.table(index).capacity
                if capacity > 0 { bytes += MemoryUsage.arrayHeader + capacity * MemoryLayout<UInt64>.stride }
            }
        }
        return bytes
    }

    /// Empties the database at one instant; returns the old tables, to be freed off the lock.
    @discardableResult
    public func flush() -> [KeyTable] {
        keyspace.withAllShards(locking: !holdsAllShards) {
            keyspace.shards.map { shard in shard.replaceTable(index, now: now) }
        }
    }

    /// Empties every database at one instant.
    @discardableResult
    public func flushAll() -> [KeyTable] {
        keyspace.withAllShards(locking: !holdsAllShards) {
            var old: [KeyTable] = []
            for shard in keyspace.shards {
                for db in 0 ..< keyspace.databaseCount { old.append(shard.replaceTable(db, now: now)) }
            }
            return old
        }
    }

    /// SWAPDB: two databases trade contents at one instant.
    public func swap(_ a: Int, _ b: Int) {
        keyspace.withAllShards(locking: !holdsAllShards) {
            for shard in keyspace.shards {
                shard.swapTables(a, b, now: now)
                for ready in shard.keysReadyAfterSwap([a, b]) { keyspace.markReady(ready) }
            }
        }
    }

    /// Every live entry, one shard locked at a time.
    public func forEachLive(_ body: (Entry) -> Void) {
        for shard in keyspace.shards {
            keyspace.withLock(shard, locking: !holdsAllShards) {
                shard.table(index).forEach { entry in
                    if entry.expireAt == 0 || entry.expireAt > now { body(entry) }
                }
            }
        }
    }

    /// One SCAN step. The cursor keeps the shard in its low bits and that shard's reverse-binary
    /// bucket cursor above them; it is 0 again once every shard is covered. Looks at roughly
    /// `count` entries unless the scan ends first.
    public func scan(cursor: UInt64, count: Int, _ body: (Entry) -> Void) -> UInt64 {
        let shardMask = UInt64(Keyspace.shardCount - 1)
        var shardIndex = Int(cursor & shardMask)
        var bucketCursor = cursor >> UInt64(Keyspace.shardBits)
        var visited = 0
        var steps = 0
        let maximumSteps = count.multipliedReportingOverflow(by: 10).overflow ? Int.max : count * 10
        // Empty tables cost no step, so a small database is covered in one call, as in Redis.
        while visited < count && steps < maximumSteps {
            let shard = keyspace.shards[shardIndex]
            bucketCursor = keyspace.withLock(shard, locking: !holdsAllShards) {
                let table = shard.table(index)
                guard table.count > 0 else { return 0 }
                steps += 1
                return table.scanStep(cursor: bucketCursor) { entry in
                    visited += 1
                    body(entry)
                }
            }
            if bucketCursor == 0 {
                shardIndex += 1
                if shardIndex == Keyspace.shardCount { return 0 }
            }
        }
        return bucketCursor << UInt64(Keyspace.shardBits) | UInt64(shardIndex)
    }

    /// A random live key (nil when none), each about equally likely. Expired keys met on the way
    /// are handled as a lookup would handle them.
    public func randomKey() -> [UInt8]? {
        var generator = SystemRandomNumberGenerator()
        for _ in 0 ..< 100 {
            let counts = keyspace.shards.map { shard in keyspace.withLock(shard, locking: !holdsAllShards) { shard.table(index).count } }
            let total = counts.reduce(0, +)
            guard total > 0 else { return nil }
            var pick = Int.random(in: 0 ..< total, using: &generator)
            guard let shardIndex = counts.firstIndex(where: { count in
                if pick < count { return true }
                pick -= count
                return false
            }) else { continue }
            let shard = keyspace.shards[shardIndex]
            let found: [UInt8]?? = keyspace.withLock(shard, locking: !holdsAllShards) {
                let table = shard.table(index)
                guard let slot = table.randomIndex(using: &generator) else { return .some(nil) }
                let entry = table.entry(at: slot)
                if entry.expireAt != 0 && entry.expireAt <= now {
                    // Deleting it changes the counts; when this node may not delete, try another.
                    expire(shard, table, slot)
                    return nil
                }
                return .some(entry.keyBytes)
            }
            if let found { return found }
        }
        return nil
    }
}

/// The keys one command changed, in order (see `Database.changes`).
public final class ChangeLog {
    public private(set) var keys: [Element] = []

    public init() {}

    public var isEmpty: Bool { keys.isEmpty }

    @usableFromInline
    func record(_ key: UnsafeRawBufferPointer) {
        keys.append(Element(key))
    }

    /// The keys so far; the log starts empty again.
    public func take() -> [Element] {
        defer { keys = [] }
        return keys
    }
}

/// The keys one command found expired and deleted, in order (see `Database.expirations`).
public final class ExpirationLog {
    public private(set) var keys: [(db: Int, key: Element)] = []

    public init() {}

    public var isEmpty: Bool { keys.isEmpty }

    func record(db: Int, _ key: UnsafeRawBufferPointer) {
        keys.append((db, Element(key)))
    }

    /// The keys so far; the log starts empty again.
    public func take() -> [(db: Int, key: Element)] {
        defer { keys.removeAll(keepingCapacity: true) }
        return keys
    }
}
