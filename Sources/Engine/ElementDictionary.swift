/// A hash map from `Element` to `Value` (large hashes, sets): a `DenseHashTable` of pairs.
public struct ElementDictionary<Value> {
    public struct Pair: HashTableEntry {
        public let key: Element
        public var value: Value
    }

    public private(set) var table: DenseHashTable<Pair>

    public init(minimumCapacity: Int = 0) {
        table = DenseHashTable(minimumCapacity: minimumCapacity)
    }

    public var entries: ContiguousArray<Pair> { table.entries }
    public var count: Int { table.count }
    public var isEmpty: Bool { table.isEmpty }

    public func position(of key: Element) -> Int? {
        table.position(of: key)
    }

    public subscript(key: Element) -> Value? {
        position(of: key).map { table.entries[$0].value }
    }

    public func contains(_ key: Element) -> Bool {
        position(of: key) != nil
    }

    /// Sets `key` to `value`; returns the value it replaced.
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey key: Element) -> Value? {
        if let position = position(of: key) {
            let old = table.entries[position].value
            table.replace(at: position, with: Pair(key: key, value: value))
            return old
        }
        table.insert(Pair(key: key, value: value))
        return nil
    }

    /// Changes the value at an entry position in place.
    public mutating func setValue(_ value: Value, at position: Int) {
        table.replace(at: position, with: Pair(key: table.entries[position].key, value: value))
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: Element) -> Value? {
        guard let position = position(of: key) else { return nil }
        return table.remove(at: position).value
    }

    @discardableResult
    public mutating func remove(at position: Int) -> Pair {
        table.remove(at: position)
    }

    public mutating func removeAll() {
        table.removeAll()
    }

    public mutating func reserve(_ capacity: Int) {
        table.reserve(capacity)
    }
}
