import SystemShims

/// MEMORY USAGE: the bytes Needletail holds for one key — its entry, its slot in the key
/// table, and its value's structures. Allocations are measured where the allocator can tell
/// (the entry, a skip-list node); arrays count their capacity and header. The members of a
/// large collection are sampled, as Redis samples them: `samples` of them (0 = all) stand for
/// the rest.
public enum MemoryUsage {
    /// An array's storage: a 32-byte header before the elements (Swift's layout on 64 bits).
    public static let arrayHeader = 32
    /// A class instance with a few stored properties (ListValue, RawString …).
    static let objectBytes = 32

    public static func bytes(of entry: Entry, samples: Int) -> Int {
        // The key table's slot word, at its typical load.
        let slot = 8 * 4 / 3
        return allocationSize(entry) + slot + valueBytes(entry.value, samples: samples)
    }

    static func valueBytes(_ value: Value, samples: Int) -> Int {
        switch value {
        case .embedded, .integer: 0
        case .raw(let raw): objectBytes + arrayHeader + raw.bytes.capacity
        case .list(let list): objectBytes + arrayHeader + list.items.count * MemoryLayout<Element>.stride
            + sampled(list.items.count, samples) { list.items[$0].heapBytes }
        case .hash(let hash): objectBytes + hash.structureBytes + sampled(hash.count, samples) { position in
            let pair = hash.pair(at: position)
            return pair.field.heapBytes + pair.value.heapBytes
        }
        case .set(let set): objectBytes + set.structureBytes + (set.encodingName == "intset" ? 0 : sampled(set.count, samples) { set.member(at: $0).heapBytes })
        case .sortedSet(let sortedSet): objectBytes + sortedSet.structureBytes(samples: samples)
        }
    }

    /// The heap bytes of `count` members, from `samples` of them spread over the collection.
    static func sampled(_ count: Int, _ samples: Int, _ bytesAt: (Int) -> Int) -> Int {
        guard count > 0 else { return 0 }
        let taken = samples <= 0 || samples >= count ? count : samples
        var total = 0
        for step in 0 ..< taken { total += bytesAt(step * count / taken) }
        return taken == count ? total : total * count / taken
    }

    /// What the allocator reserved for an object (its usable size, at least the object).
    static func allocationSize(_ object: AnyObject) -> Int {
        Int(needletail_usable_size(Unmanaged.passUnretained(object).toOpaque()))
    }

    static func tableBytes<Entry>(_ table: DenseHashTable<Entry>) -> Int {
        2 * arrayHeader + table.entries.capacity * MemoryLayout<Entry>.stride + table.indexCapacity * MemoryLayout<UInt32>.stride
    }
}

extension HashValue {
    var structureBytes: Int {
        switch storage {
        case .packed(let pairs): MemoryUsage.arrayHeader + pairs.capacity * MemoryLayout<(field: Element, value: Element)>.stride
        case .table(let table): MemoryUsage.tableBytes(table.table)
        }
    }
}

extension SetValue {
    var structureBytes: Int {
        switch storage {
        case .integers(let values): MemoryUsage.arrayHeader + values.capacity * MemoryLayout<Int64>.stride
        case .table(let table): MemoryUsage.tableBytes(table.table)
        }
    }
}

extension SortedSetValue {
    func structureBytes(samples: Int) -> Int {
        switch storage {
        case .packed(let pairs):
            return MemoryUsage.arrayHeader + pairs.capacity * MemoryLayout<(member: Element, score: Double)>.stride
                + MemoryUsage.sampled(pairs.count, samples) { pairs[$0].member.heapBytes }
        case .skiplist(let list):
            let entries = list.members.entries
            return MemoryUsage.objectBytes + MemoryUsage.tableBytes(list.members)
                + MemoryUsage.sampled(entries.count, samples) { position in
                    entries[position].node._withUnsafeGuaranteedRef { MemoryUsage.allocationSize($0) + $0.member.heapBytes }
                }
        }
    }
}
