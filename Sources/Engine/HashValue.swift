/// A hash. Small hashes are a flat list of field/value pairs searched linearly (Redis's
/// `listpack` encoding, with its limits); past `hash-max-listpack-entries` fields or a field or
/// value longer than `hash-max-listpack-value` bytes they become a hash table, for good.
public final class HashValue {
    enum Storage {
        case packed(ContiguousArray<(field: Element, value: Element)>)
        case table(ElementDictionary<Element>)
    }

    var storage: Storage = .packed([])

    public init() {}

    public var count: Int {
        switch storage {
        case .packed(let pairs): pairs.count
        case .table(let table): table.count
        }
    }

    public var encodingName: String {
        if case .packed = storage { return "listpack" }
        return "hashtable"
    }

    public subscript(field: Element) -> Element? {
        switch storage {
        case .packed(let pairs): pairs.first { $0.field == field }?.value
        case .table(let table): table[field]
        }
    }

    /// Sets a field; returns true when the field is new.
    @discardableResult
    public func set(_ field: Element, _ value: Element, limits: EncodingLimits) -> Bool {
        if case .packed(var pairs) = storage {
            if let index = pairs.firstIndex(where: { $0.field == field }) {
                storage = .packed([])
                pairs[index].value = value
                storage = .packed(pairs)
                if value.count <= limits.hashValue.load(ordering: .relaxed) { return false }
                convertToTable()
                return false
            }
            if pairs.count < limits.hashEntries.load(ordering: .relaxed),
               field.count <= limits.hashValue.load(ordering: .relaxed), value.count <= limits.hashValue.load(ordering: .relaxed) {
                storage = .packed([])
                pairs.append((field, value))
                storage = .packed(pairs)
                return true
            }
            convertToTable()
        }
        guard case .table(var table) = storage else { return false }
        storage = .packed([])
        let old = table.updateValue(value, forKey: field)
        storage = .table(table)
        return old == nil
    }

    /// Removes a field; returns whether it was there.
    @discardableResult
    public func remove(_ field: Element) -> Bool {
        switch storage {
        case .packed(var pairs):
            guard let index = pairs.firstIndex(where: { $0.field == field }) else { return false }
            storage = .packed([])
            pairs.remove(at: index)
            storage = .packed(pairs)
            return true
        case .table(var table):
            storage = .packed([])
            let removed = table.removeValue(forKey: field) != nil
            storage = .table(table)
            return removed
        }
    }

    /// Every field and value, in the hash's order.
    public func forEach(_ body: (Element, Element) -> Void) {
        switch storage {
        case .packed(let pairs): for pair in pairs { body(pair.field, pair.value) }
        case .table(let table): for entry in table.entries { body(entry.key, entry.value) }
        }
    }

    /// The pair at a position in the hash's order (for random picks).
    public func pair(at position: Int) -> (field: Element, value: Element) {
        switch storage {
        case .packed(let pairs): return pairs[position]
        case .table(let table): return (table.entries[position].key, table.entries[position].value)
        }
    }

    private func convertToTable() {
        guard case .packed(let pairs) = storage else { return }
        var table = ElementDictionary<Element>(minimumCapacity: pairs.count + 1)
        for pair in pairs { table.updateValue(pair.value, forKey: pair.field) }
        storage = .table(table)
    }

    public func copy() -> HashValue {
        let copy = HashValue()
        copy.storage = storage
        return copy
    }
}
