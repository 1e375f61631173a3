/// A set. A set of integers is a sorted array of them (Redis's `intset`) up to
/// `set-max-intset-entries` members; any other set is a hash table.
public final class SetValue {
    enum Storage {
        case integers(ContiguousArray<Int64>)
        case table(ElementDictionary<Void>)
    }

    var storage: Storage = .integers([])

    public init() {}

    public var count: Int {
        switch storage {
        case .integers(let values): values.count
        case .table(let table): table.count
        }
    }

    public var encodingName: String {
        if case .integers = storage { return "intset" }
        return "hashtable"
    }

    /// The member as an intset integer: Redis's canonical decimal form of a 64-bit integer.
    static func integer(_ member: Element) -> Int64? {
        member.withBytes { bytes -> Int64? in
            guard bytes.count > 0 && bytes.count <= 20 else { return nil }
            let text = String(decoding: bytes, as: UTF8.self)
            guard let value = Int64(text), String(value) == text else { return nil }
            return value
        }
    }

    public func contains(_ member: Element) -> Bool {
        switch storage {
        case .integers(let values):
            guard let value = Self.integer(member) else { return false }
            return Self.search(values, value).found
        case .table(let table):
            return table.contains(member)
        }
    }

    private static func search(_ values: ContiguousArray<Int64>, _ value: Int64) -> (index: Int, found: Bool) {
        var low = 0, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < value { low = middle + 1 } else { high = middle }
        }
        return (low, low < values.count && values[low] == value)
    }

    /// Adds a member; returns true when it was not there.
    @discardableResult
    public func insert(_ member: Element, limits: EncodingLimits) -> Bool {
        if case .integers(var values) = storage {
            if let value = Self.integer(member) {
                let (index, found) = Self.search(values, value)
                if found { return false }
                if values.count < limits.setIntegers.load(ordering: .relaxed) {
                    storage = .integers([])
                    values.insert(value, at: index)
                    storage = .integers(values)
                    return true
                }
            }
            convertToTable()
        }
        guard case .table(var table) = storage else { return false }
        storage = .integers([])
        let isNew = table.updateValue((), forKey: member) == nil
        storage = .table(table)
        return isNew
    }

    /// Removes a member; returns whether it was there.
    @discardableResult
    public func remove(_ member: Element) -> Bool {
        switch storage {
        case .integers(var values):
            guard let value = Self.integer(member) else { return false }
            let (index, found) = Self.search(values, value)
            guard found else { return false }
            storage = .integers([])
            values.remove(at: index)
            storage = .integers(values)
            return true
        case .table(var table):
            storage = .integers([])
            let removed = table.removeValue(forKey: member) != nil
            storage = .table(table)
            return removed
        }
    }

    /// The member at a position of the set's order (for random picks).
    public func member(at position: Int) -> Element {
        switch storage {
        case .integers(let values): Element(Int(values[position]))
        case .table(let table): table.entries[position].key
        }
    }

    public func forEach(_ body: (Element) -> Void) {
        switch storage {
        case .integers(let values): for value in values { body(Element(Int(value))) }
        case .table(let table): for entry in table.entries { body(entry.key) }
        }
    }

    public var members: [Element] {
        var all: [Element] = []
        all.reserveCapacity(count)
        forEach { all.append($0) }
        return all
    }

    private func convertToTable() {
        guard case .integers(let values) = storage else { return }
        var table = ElementDictionary<Void>(minimumCapacity: values.count + 1)
        for value in values { table.updateValue((), forKey: Element(Int(value))) }
        storage = .table(table)
    }

    public func copy() -> SetValue {
        let copy = SetValue()
        copy.storage = storage
        return copy
    }
}
