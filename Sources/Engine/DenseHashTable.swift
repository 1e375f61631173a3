/// What a `DenseHashTable` holds: anything found by an `Element` key.
public protocol HashTableEntry {
    var key: Element { get }
}

/// The hash table behind large hashes, sets and sorted sets:
///
/// - entries sit in one dense array, so a random entry (HRANDFIELD, SPOP) costs O(1) and
///   iteration is a linear walk;
/// - the index is an open-addressing table of 32-bit entry positions (linear probing,
///   backward-shift deletion), so an entry costs itself plus ~6 bytes of index;
/// - removal moves the last entry into the hole, so positions stay dense.
public struct DenseHashTable<Entry: HashTableEntry> {
    public private(set) var entries: ContiguousArray<Entry> = []
    /// Entry position + 1; 0 marks an empty slot.
    private var index: ContiguousArray<UInt32> = []

    public init(minimumCapacity: Int = 0) {
        if minimumCapacity > 0 { reserve(minimumCapacity) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// Slots in the index (memory accounting).
    public var indexCapacity: Int { index.count }

    private static func hash(_ key: Element) -> Int {
        key.withBytes { Int(truncatingIfNeeded: KeyHash.hash($0)) }
    }

    /// The entry position of `key`, or nil.
    public func position(of key: Element) -> Int? {
        guard !entries.isEmpty else { return nil }
        let mask = index.count - 1
        var slot = Self.hash(key) & mask
        while true {
            let stored = index[slot]
            if stored == 0 { return nil }
            if entries[Int(stored) - 1].key == key { return Int(stored) - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// Adds an entry whose key is not in the table.
    public mutating func insert(_ entry: Entry) {
        if (entries.count + 1) * 4 > index.count * 3 { resize(to: max(8, index.count * 2)) }
        entries.append(entry)
        place(UInt32(entries.count), hash: Self.hash(entry.key))
    }

    /// Replaces the entry at `position` with one of the same key.
    public mutating func replace(at position: Int, with entry: Entry) {
        entries[position] = entry
    }

    /// Removes the entry at `position`, moving the last entry into its place.
    @discardableResult
    public mutating func remove(at position: Int) -> Entry {
        let removed = entries[position]
        unindex(slot: slot(of: position, hash: Self.hash(removed.key)))
        let last = entries.count - 1
        if position != last {
            let moved = entries[last]
            index[slot(of: last, hash: Self.hash(moved.key))] = UInt32(position + 1)
            entries[position] = moved
        }
        entries.removeLast()
        if entries.isEmpty {
            index = []
        } else if index.count > 64 && entries.count * 8 < index.count {
            resize(to: index.count / 2)
        }
        return removed
    }

    public mutating func removeAll() {
        entries = []
        index = []
    }

    public mutating func reserve(_ capacity: Int) {
        entries.reserveCapacity(capacity)
        var size = 8
        while size * 3 < capacity * 4 { size *= 2 }
        if size > index.count { resize(to: size) }
    }

    // MARK: Index maintenance

    private mutating func place(_ stored: UInt32, hash: Int) {
        let mask = index.count - 1
        var slot = hash & mask
        while index[slot] != 0 { slot = (slot + 1) & mask }
        index[slot] = stored
    }

    /// The slot holding entry `position`.
    private func slot(of position: Int, hash: Int) -> Int {
        let mask = index.count - 1
        var slot = hash & mask
        while index[slot] != UInt32(position + 1) { slot = (slot + 1) & mask }
        return slot
    }

    /// Empties a slot, shifting back the entries of its cluster that may move.
    private mutating func unindex(slot: Int) {
        let mask = index.count - 1
        var hole = slot
        var next = (slot + 1) & mask
        while index[next] != 0 {
            let home = Self.hash(entries[Int(index[next]) - 1].key) & mask
            let homeAfterHole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !homeAfterHole {
                index[hole] = index[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        index[hole] = 0
    }

    private mutating func resize(to size: Int) {
        index = ContiguousArray(repeating: 0, count: size)
        for (position, entry) in entries.enumerated() { place(UInt32(position + 1), hash: Self.hash(entry.key)) }
    }
}
