/// The keys of one database inside one shard: an open-addressing table with linear probing.
///
/// - Each slot is one word: the entry's address in the low 48 bits and 16 bits of the key's
///   hash above them (0 = empty). A probe compares those bits and touches an entry only when
///   they match, so a lookup costs one cache line of slots and one entry.
/// - The table owns one reference to each entry (taken on insert, given back on removal or
///   deinit). Probes borrow entries without reference counting; that is why the slots are raw
///   words and why nothing outside this file touches them.
/// - Deletion shifts the following entries back instead of leaving tombstones, so every entry
///   sits between its home bucket and the first empty slot after it. That invariant is what SCAN
///   relies on: all entries of a home bucket are found by walking from it to the next empty slot.
/// - A table is one shard's share of a database, so growing it rehashes a sliver of the keys:
///   no request waits for a whole-database rehash.
///
/// Not thread-safe: the owning shard's lock guards it.
public final class KeyTable {
    @usableFromInline var slots: ContiguousArray<UInt64> = []
    public private(set) var count = 0
    /// Keys with a TTL, for INFO keyspace and to let the expiry cycle skip tables without any.
    public internal(set) var volatileCount = 0
    /// Where the active expiry cycle resumes its sweep.
    var expiryCursor = 0

    static let minimumCapacity = 8
    @usableFromInline static let addressMask: UInt64 = (1 << 48) - 1

    public init() {}

    deinit {
        if borrowsEntries {
            // An image: its entries are the live table's; it keeps only what that let go of.
            for slots in keptSlots { Self.release(slots) }
        } else if let image {
            image.keptSlots.append(slots)
        } else {
            Self.release(slots)
        }
    }

    // MARK: Snapshot images
    // An image (`sharingEntries`) shares the live table's slot words, copy-on-write, and takes
    // no reference of its own to the entries: taking one per entry was a cache miss per key,
    // paid by the command that happened to reach the shard first. Instead, while the image is
    // attached, the live table hands the image the references of the entries the image holds
    // as it lets go of them (removal, replacement, the whole table dropped), and refuses to
    // change them in place.

    /// The image sharing this table's entries, until the snapshot is done with it.
    private var image: KeyTable?
    /// True for an image: the entries in `slots` are borrowed.
    private var borrowsEntries = false
    /// An image's own references: entries the live table let go of, and slot arrays of live
    /// tables dropped whole.
    private var keptEntries: [Entry] = []
    private var keptSlots: [ContiguousArray<UInt64>] = []

    /// Whether the attached image holds `entry` (the same object under the same key).
    private func imageHolds(_ entry: Entry) -> Bool {
        guard let image else { return false }
        return entry.withKey { bytes in
            image.find(Key(bytes)).map { image.slots[$0] & Self.addressMask == Self.addressOf(entry) } ?? false
        }
    }

    private static func addressOf(_ entry: Entry) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(entry).toOpaque()))
    }

    /// The entry at `slot` leaves this table: its reference goes to the image when the image
    /// holds it, else is given back.
    private func letGo(_ slot: UInt64) {
        let entry = Self.unmanaged(slot)
        if entry._withUnsafeGuaranteedRef({ imageHolds($0) }) {
            image.unsafelyUnwrapped.keptEntries.append(entry.takeRetainedValue())
        } else {
            entry.release()
        }
    }

    /// A table of the same entries for a snapshot's image, attached to this one until
    /// `detachImage`. Costs no work per entry: the slot words are shared until either table
    /// changes.
    public func sharingEntries() -> KeyTable {
        precondition(image == nil, "one image at a time")
        let copy = KeyTable()
        copy.slots = slots
        copy.count = count
        copy.volatileCount = volatileCount
        copy.borrowsEntries = true
        image = copy
        return copy
    }

    /// The snapshot is done with this table's image: entries are this table's alone again.
    public func detachImage() {
        image = nil
    }

    /// Makes the entry at `index` one only this table holds, replacing it with a deep copy
    /// when an image (or anyone else) holds it too, so a change in place reaches no one else.
    public func makeUnique(at index: Int, limits: EncodingLimits) {
        var entry = Self.unmanaged(slots[index]).takeRetainedValue()
        let unique = isKnownUniquelyReferenced(&entry) && !imageHolds(entry)
        _ = Unmanaged.passRetained(entry)
        guard !unique else { return }
        let copy = entry.withKey { entry.copied(as: $0, limits: limits) }
        replace(at: index, with: copy)
    }

    public var capacity: Int { slots.count }

    // MARK: Slots

    /// The hash bits kept in a slot beside the address.
    @inlinable @inline(__always)
    static func tag(_ hash: UInt64) -> UInt64 {
        (hash >> 32) << 48
    }

    @inlinable @inline(__always)
    static func unmanaged(_ slot: UInt64) -> Unmanaged<Entry> {
        Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: UInt(slot & addressMask)).unsafelyUnwrapped)
    }

    /// The address of `entry`, with a new reference to it taken for the table.
    static func address(retaining entry: Entry) -> UInt64 {
        let address = UInt64(UInt(bitPattern: Unmanaged.passRetained(entry).toOpaque()))
        precondition(address & ~addressMask == 0, "entry address above 48 bits")
        return address
    }

    /// Gives back the references held by `slots` (a detached or dropped table).
    static func release(_ slots: ContiguousArray<UInt64>) {
        for slot in slots where slot != 0 { unmanaged(slot).release() }
    }

    // MARK: Lookups and changes

    @inlinable
    public func find(_ key: Key) -> Int? {
        if count == 0 { return nil }
        let mask = slots.count - 1
        let tag = Self.tag(key.hash)
        var index = Int(truncatingIfNeeded: key.hash) & mask
        while true {
            let slot = slots[index]
            if slot == 0 { return nil }
            if slot & ~Self.addressMask == tag && Self.unmanaged(slot)._withUnsafeGuaranteedRef({ $0.keyEquals(key.bytes) }) {
                return index
            }
            index = (index + 1) & mask
        }
    }

    @inlinable
    public func entry(at index: Int) -> Entry {
        Self.unmanaged(slots[index]).takeUnretainedValue()
    }

    /// Lends `body` the entry at `index` without taking a reference to it.
    @inlinable
    public func withEntry<R>(at index: Int, _ body: (Entry) -> R) -> R {
        Self.unmanaged(slots[index])._withUnsafeGuaranteedRef(body)
    }

    /// Puts a new entry in at `index` (found by `find`) in place of the one there.
    public func replace(at index: Int, with entry: Entry) {
        let old = slots[index]
        if Self.unmanaged(old)._withUnsafeGuaranteedRef({ $0.expireAt != 0 }) { volatileCount -= 1 }
        if entry.expireAt != 0 { volatileCount += 1 }
        slots[index] = slots[index] & ~Self.addressMask | Self.address(retaining: entry)
        letGo(old)
    }

    /// Rewrites the entry at `index` in place (see `Entry.overwrite`) when the table holds the
    /// only reference to it: an entry someone else holds is never changed under them. False,
    /// changing nothing, when it cannot be done; the caller then replaces the entry.
    public func overwrite(at index: Int, with value: Value, embedding: UnsafeRawBufferPointer?, expireAt: Int64, access: UInt32) -> Bool {
        // The table's own reference, moved into a variable so its uniqueness can be asked.
        var entry = Self.unmanaged(slots[index]).takeRetainedValue()
        defer { _ = Unmanaged.passRetained(entry) }
        let hadTTL = entry.expireAt != 0
        guard isKnownUniquelyReferenced(&entry), !imageHolds(entry),
              entry.overwrite(with: value, embedding: embedding, expireAt: expireAt, access: access) else { return false }
        if hadTTL { volatileCount -= 1 }
        if expireAt != 0 { volatileCount += 1 }
        return true
    }

    /// Inserts `entry` unless its key is in the table already, in one probe (the first empty
    /// slot of the key's cluster is where an insert puts it). Returns whether it was inserted.
    public func insertIfAbsent(_ entry: Entry, key: Key) -> Bool {
        if (count + 1) * 4 > slots.count * 3 { resize(to: max(Self.minimumCapacity, slots.count * 2)) }
        let mask = slots.count - 1
        let tag = Self.tag(key.hash)
        var index = Int(truncatingIfNeeded: key.hash) & mask
        while slots[index] != 0 {
            let slot = slots[index]
            if slot & ~Self.addressMask == tag && Self.unmanaged(slot)._withUnsafeGuaranteedRef({ $0.keyEquals(key.bytes) }) {
                return false
            }
            index = (index + 1) & mask
        }
        slots[index] = tag | Self.address(retaining: entry)
        count += 1
        if entry.expireAt != 0 { volatileCount += 1 }
        return true
    }

    /// Inserts an entry whose key is not in the table.
    public func insert(_ entry: Entry, hash: UInt64) {
        if (count + 1) * 4 > slots.count * 3 { resize(to: max(Self.minimumCapacity, slots.count * 2)) }
        place(Self.tag(hash) | Self.address(retaining: entry), hash: hash)
        count += 1
        if entry.expireAt != 0 { volatileCount += 1 }
    }

    private func place(_ slot: UInt64, hash: UInt64) {
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = slot
    }

    /// Removes the entry at `index`, shifting later entries of the same cluster back, and hands
    /// the table's reference to the caller.
    @discardableResult
    public func remove(at index: Int) -> Entry {
        let removed = Self.unmanaged(slots[index]).takeRetainedValue()
        // The image keeps a reference of its own; the caller gets the table's.
        if imageHolds(removed) { image.unsafelyUnwrapped.keptEntries.append(removed) }
        let mask = slots.count - 1
        var hole = index
        var next = (index + 1) & mask
        while slots[next] != 0 {
            let home = Int(truncatingIfNeeded: Self.hashOf(slots[next])) & mask
            // The entry at `next` may move into the hole unless its home lies cyclically in (hole, next].
            let homeAfterHole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !homeAfterHole {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = 0
        count -= 1
        if removed.expireAt != 0 { volatileCount -= 1 }
        if count == 0 {
            slots = []
        } else if slots.count > Self.minimumCapacity && count * 8 < slots.count {
            resize(to: slots.count / 2)
        }
        return removed
    }

    /// Changes an entry's TTL in place, keeping the volatile count right.
    public func setExpiry(at index: Int, _ expireAt: Int64) {
        Self.unmanaged(slots[index])._withUnsafeGuaranteedRef { entry in
            if entry.expireAt == 0 && expireAt != 0 { volatileCount += 1 }
            if entry.expireAt != 0 && expireAt == 0 { volatileCount -= 1 }
            entry.expireAt = expireAt
        }
    }

    /// Empties the table and hands its slots, with the references they hold, to the caller
    /// (to be given back elsewhere with `release`).
    func detachSlots() -> ContiguousArray<UInt64> {
        var detached = slots
        if let image {
            // The image holds these entries: their references go to it.
            image.keptSlots.append(detached)
            detached = []
        }
        slots = []
        count = 0
        volatileCount = 0
        return detached
    }

    /// Grows the table (never shrinks it) to hold `count` entries without resizing.
    public func reserve(_ count: Int) {
        var capacity = max(Self.minimumCapacity, slots.count)
        while count * 4 > capacity * 3 { capacity *= 2 }
        if capacity > slots.count { resize(to: capacity) }
    }

    private func resize(to capacity: Int) {
        let old = slots
        slots = ContiguousArray(repeating: 0, count: capacity)
        for slot in old where slot != 0 { place(slot, hash: Self.hashOf(slot)) }
    }

    /// The full hash of the key of the entry in `slot`.
    static func hashOf(_ slot: UInt64) -> UInt64 {
        unmanaged(slot)._withUnsafeGuaranteedRef { entry in entry.withKey { KeyHash.hash($0) } }
    }

    // MARK: Iteration

    /// Every entry, in slot order. The table must not change during the walk.
    public func forEach(_ body: (Entry) throws -> Void) rethrows {
        for slot in slots where slot != 0 { try body(Self.unmanaged(slot).takeUnretainedValue()) }
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
        while slots[index] != 0 {
            if Int(truncatingIfNeeded: Self.hashOf(slots[index])) & mask == bucket { body(entry(at: index)) }
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
            if slots[index] != 0 { return index }
        }
    }

    /// Up to `count` entries from consecutive slots starting at a random one (those with a TTL
    /// only, when `volatileOnly`), as Redis samples a dictionary for eviction: looks at every
    /// slot at most once.
    func sample<G: RandomNumberGenerator>(_ count: Int, volatileOnly: Bool, using generator: inout G, _ body: (Entry) -> Void) {
        guard self.count > 0, !volatileOnly || volatileCount > 0 else { return }
        let mask = slots.count - 1
        var index = Int.random(in: 0 ... mask, using: &generator)
        var found = 0
        for _ in 0 ... mask {
            if found == count { break }
            let slot = slots[index]
            if slot != 0 {
                Self.unmanaged(slot)._withUnsafeGuaranteedRef { entry in
                    guard !volatileOnly || entry.expireAt != 0 else { return }
                    body(entry)
                    found += 1
                }
            }
            index = (index + 1) & mask
        }
    }

    /// The active expiry sweep: looks at up to `budget` slots from where the last sweep stopped,
    /// removes the entries whose TTL passed, and reports what it saw.
    func sweepExpired(now: Int64, budget: Int, removed: (Entry) -> Void) -> ExpirySweep {
        var sweep = ExpirySweep()
        // At most one pass over the table: a small table swept again within one step would
        // count its live keys twice and keep the step from the other tables.
        let limit = min(budget, slots.count)
        while sweep.looked < limit && volatileCount > 0 {
            if expiryCursor >= slots.count { expiryCursor = 0 }
            sweep.looked += 1
            let slot = slots[expiryCursor]
            let expireAt = slot == 0 ? 0 : Self.unmanaged(slot)._withUnsafeGuaranteedRef { $0.expireAt }
            guard expireAt != 0 else {
                expiryCursor += 1
                continue
            }
            sweep.volatile += 1
            if expireAt <= now {
                // Removal shifts the cluster back into this slot: look at it again.
                removed(remove(at: expiryCursor))
                sweep.expired += 1
            } else {
                sweep.addRemainingTTL(Int(expireAt - now))
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
        addRemainingTTL(other.remainingTTL)
    }

    /// TTLs reach up to Int64.max milliseconds (PEXPIREAT accepts any time): the sum saturates.
    mutating func addRemainingTTL(_ milliseconds: Int) {
        let (sum, overflow) = remainingTTL.addingReportingOverflow(milliseconds)
        remainingTTL = overflow ? Int.max : sum
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
