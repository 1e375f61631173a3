/// The keys of one database inside one shard: an open-addressing table with linear probing.
///
/// - A parallel array of one-byte tags (7 hash bits + an occupied bit) lets a probe skip
///   non-matching slots without touching their entries.
/// - Deletion shifts the following entries back instead of leaving tombstones, so every entry
///   sits between its home bucket and the first empty slot after it. That invariant is what SCAN
///   relies on: all entries of a home bucket are found by walking from it to the next empty slot.
/// - A table is one shard's share of a database, so growing it rehashes a sliver of the keys:
///   no request waits for a whole-database rehash.
///
/// Not thread-safe: the owning shard's lock guards it.
public final class KeyTable {
    @usableFromInline var slots: ContiguousArray<Entry?> = []
    @usableFromInline var tags: ContiguousArray<UInt8> = []
    public private(set) var count = 0
    /// Keys with a TTL, for INFO keyspace and to let the expiry cycle skip tables without any.
    public internal(set) var volatileCount = 0
    /// Where the active expiry cycle resumes its sweep.
    var expiryCursor = 0

    static let minimumCapacity = 8

    public init() {}

    public var capacity: Int { slots.count }

    @inlinable @inline(__always)
    static func tag(_ hash: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: hash >> 48) | 0x80
    }

    @inlinable
    public func find(_ key: Key) -> Int? {
        if count == 0 { return nil }
        let mask = slots.count - 1
        let tag = Self.tag(key.hash)
        var index = Int(truncatingIfNeeded: key.hash) & mask
        while true {
            let slotTag = tags[index]
            if slotTag == 0 { return nil }
            if slotTag == tag, let entry = slots[index], entry.keyEquals(key.bytes) { return index }
            index = (index + 1) & mask
        }
    }

    @inlinable
    public func entry(at index: Int) -> Entry {
        slots[index]!
    }

    /// Puts a new entry in at `index` (found by `find`) in place of the one there.
    public func replace(at index: Int, with entry: Entry) {
        let old = slots[index]!
        if old.expireAt != 0 { volatileCount -= 1 }
        if entry.expireAt != 0 { volatileCount += 1 }
        slots[index] = entry
    }

    /// Inserts an entry whose key is not in the table.
    public func insert(_ entry: Entry, hash: UInt64) {
        if (count + 1) * 4 > slots.count * 3 { resize(to: max(Self.minimumCapacity, slots.count * 2)) }
        place(entry, hash: hash)
        count += 1
        if entry.expireAt != 0 { volatileCount += 1 }
    }

    private func place(_ entry: Entry, hash: UInt64) {
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while tags[index] != 0 { index = (index + 1) & mask }
        tags[index] = Self.tag(hash)
        slots[index] = entry
    }

    /// Removes the entry at `index`, shifting later entries of the same cluster back.
    @discardableResult
    public func remove(at index: Int) -> Entry {
        let removed = slots[index]!
        let mask = slots.count - 1
        var hole = index
        var next = (index + 1) & mask
        while tags[next] != 0 {
            let home = Int(truncatingIfNeeded: Self.hashOf(slots[next]!)) & mask
            // The entry at `next` may move into the hole unless its home lies cyclically in (hole, next].
            let homeAfterHole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !homeAfterHole {
                tags[hole] = tags[next]
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        tags[hole] = 0
        slots[hole] = nil
        count -= 1
        if removed.expireAt != 0 { volatileCount -= 1 }
        if count == 0 {
            slots = []
            tags = []
        } else if slots.count > Self.minimumCapacity && count * 8 < slots.count {
            resize(to: slots.count / 2)
        }
        return removed
    }

    /// Changes an entry's TTL in place, keeping the volatile count right.
    public func setExpiry(at index: Int, _ expireAt: Int64) {
        let entry = slots[index]!
        if entry.expireAt == 0 && expireAt != 0 { volatileCount += 1 }
        if entry.expireAt != 0 && expireAt == 0 { volatileCount -= 1 }
        entry.expireAt = expireAt
    }

    /// Empties the table and hands its slots to the caller (to be freed elsewhere).
    func detachSlots() -> ContiguousArray<Entry?> {
        let detached = slots
        slots = []
        tags = []
        count = 0
        volatileCount = 0
        return detached
    }

    private func resize(to capacity: Int) {
        let old = slots
        slots = ContiguousArray(repeating: nil, count: capacity)
        tags = ContiguousArray(repeating: 0, count: capacity)
        for case let entry? in old { place(entry, hash: Self.hashOf(entry)) }
    }

    @usableFromInline
    static func hashOf(_ entry: Entry) -> UInt64 {
        entry.withKey { KeyHash.hash($0) }
    }

    // MARK: Iteration

    /// Every entry, in slot order. The table must not change during the walk.
    public func forEach(_ body: (Entry) throws -> Void) rethrows {
        for case let entry? in slots { try body(entry) }
    }

    /// Removes every entry that `shouldRemove` selects.
    @discardableResult
    public func removeAll(where shouldRemove: (Entry) -> Bool) -> [Entry] {
        var doomed: [Entry] = []
        for case let entry? in slots where shouldRemove(entry) { doomed.append(entry) }
        for entry in doomed {
            let found = entry.withKey { find(Key($0)) }
            if let found { remove(at: found) }
        }
        return doomed
    }

    /// One step of a SCAN: every entry whose home bucket is `cursor & mask`, then the next cursor
    /// in reverse-binary order (0 once the table is covered). Reverse-binary order visits the
    /// buckets so that an entry present throughout is reported even if the table grows or
    /// shrinks between steps (it may be reported twice, never missed).
    public func scanStep(cursor: UInt64, _ body: (Entry) -> Void) -> UInt64 {
        guard !slots.isEmpty else { return 0 }
        let mask = slots.count - 1
        let bucket = Int(truncatingIfNeeded: cursor) & mask
        var index = bucket
        while tags[index] != 0 {
            let entry = slots[index]!
            if Int(truncatingIfNeeded: Self.hashOf(entry)) & mask == bucket { body(entry) }
            index = (index + 1) & mask
            if index == bucket { break }
        }
        // Increment the cursor's reversed bits above the mask.
        var next = cursor | ~UInt64(mask)
        next = next.bitReversed
        next &+= 1
        return next.bitReversed
    }

    /// A uniformly chosen occupied slot, or nil when empty.
    public func randomIndex<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard count > 0 else { return nil }
        let mask = slots.count - 1
        while true {
            let index = Int.random(in: 0 ... mask, using: &generator)
            if tags[index] != 0 { return index }
        }
    }

    /// The active expiry sweep: looks at up to `budget` slots from where the last sweep stopped,
    /// removes the entries whose TTL passed, and reports what it saw.
    func sweepExpired(now: Int64, budget: Int, removed: (Entry) -> Void) -> ExpirySweep {
        var sweep = ExpirySweep()
        while sweep.looked < budget && volatileCount > 0 && !slots.isEmpty {
            if expiryCursor >= slots.count { expiryCursor = 0 }
            sweep.looked += 1
            guard let entry = slots[expiryCursor], entry.expireAt != 0 else {
                expiryCursor += 1
                continue
            }
            sweep.volatile += 1
            if entry.expireAt <= now {
                // Removal shifts the cluster back into this slot: look at it again.
                remove(at: expiryCursor)
                removed(entry)
                sweep.expired += 1
            } else {
                sweep.remainingTTL += Int(entry.expireAt - now)
                expiryCursor += 1
            }
        }
        return sweep
    }
}

/// What one expiry sweep saw: slots, keys with a TTL among them, those removed, and the sum
/// of the remaining TTLs of the others (for INFO keyspace `avg_ttl`).
public struct ExpirySweep: Sendable {
    public var looked = 0
    public var volatile = 0
    public var expired = 0
    public var remainingTTL = 0

    public init() {}

    public mutating func add(_ other: ExpirySweep) {
        looked += other.looked
        volatile += other.volatile
        expired += other.expired
        remainingTTL += other.remainingTTL
    }
}

extension UInt64 {
    @inlinable
    var bitReversed: UInt64 {
        var value = self
        value = (value & 0x5555_5555_5555_5555) << 1 | (value >> 1) & 0x5555_5555_5555_5555
        value = (value & 0x3333_3333_3333_3333) << 2 | (value >> 2) & 0x3333_3333_3333_3333
        value = (value & 0x0f0f_0f0f_0f0f_0f0f) << 4 | (value >> 4) & 0x0f0f_0f0f_0f0f_0f0f
        return value.byteSwapped
    }
}
