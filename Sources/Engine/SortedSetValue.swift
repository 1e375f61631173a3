/// A sorted set, ordered by score then by member bytes.
///
/// Up to `zset-max-listpack-entries` members of at most `zset-max-listpack-value` bytes it is
/// one sorted array (Redis's `listpack` encoding and limits); beyond, a skip list for order and
/// ranks with a member → node index (`skiplist`). Every query is expressed over ranks: a score
/// or lex bound becomes "how many leading members fall before it", found by binary search or a
/// skip-list descent in O(log n).
public final class SortedSetValue {
    enum Storage {
        case packed(ContiguousArray<(member: Element, score: Double)>)
        case skiplist(SkipList)
    }

    var storage: Storage = .packed([])

    public init() {}

    public var count: Int {
        switch storage {
        case .packed(let pairs): pairs.count
        case .skiplist(let list): list.count
        }
    }

    public var encodingName: String {
        if case .packed = storage { return "listpack" }
        return "skiplist"
    }

    public func score(of member: Element) -> Double? {
        switch storage {
        case .packed(let pairs): pairs.first { $0.member == member }?.score
        case .skiplist(let list): list.score(of: member)
        }
    }

    /// Adds a member or moves it to a new score; returns true when the member is new.
    @discardableResult
    public func set(_ member: Element, score: Double, limits: EncodingLimits) -> Bool {
        let existing = self.score(of: member)
        if existing == score { return false }
        if existing != nil { remove(member) }
        if case .packed(var pairs) = storage {
            if pairs.count < limits.sortedSetEntries.load(ordering: .relaxed) && member.count <= limits.sortedSetValue.load(ordering: .relaxed) {
                let position = Self.lowerBound(pairs) { SkipList.precedes($1, $0, score, member) }
                storage = .packed([])
                // Redis's listpack keeps a score as text and reads "-0" back as 0; its skip list
                // keeps the sign.
                pairs.insert((member, score == 0 ? 0 : score), at: position)
                storage = .packed(pairs)
                return existing == nil
            }
            convertToSkipList()
        }
        if case .skiplist(let list) = storage {
            list.insert(member, score: score)
        }
        return existing == nil
    }

    /// Removes a member; returns whether it was there.
    @discardableResult
    public func remove(_ member: Element) -> Bool {
        switch storage {
        case .packed(var pairs):
            guard let index = pairs.firstIndex(where: { $0.member == member }) else { return false }
            storage = .packed([])
            pairs.remove(at: index)
            storage = .packed(pairs)
            return true
        case .skiplist(let list):
            return list.remove(member)
        }
    }

    /// How many leading members (in order) satisfy `isBefore`, a predicate true for a prefix
    /// of the order and false after it.
    public func countPrefix(where isBefore: (Element, Double) -> Bool) -> Int {
        switch storage {
        case .packed(let pairs): Self.lowerBound(pairs, isBefore)
        case .skiplist(let list): list.countPrefix(where: isBefore)
        }
    }

    /// The 0-based rank of a member in ascending order, or nil.
    public func rank(of member: Element) -> Int? {
        switch storage {
        case .packed(let pairs): return pairs.firstIndex { $0.member == member }
        case .skiplist(let list):
            guard let score = list.score(of: member) else { return nil }
            return list.rank(of: member, score: score)
        }
    }

    /// Visits the members at `ranks` (ascending ranks), in descending order when `reverse`;
    /// stops when `body` returns false.
    public func forEach(ranks: Range<Int>, reverse: Bool = false, _ body: (Element, Double) -> Bool) {
        let clamped = ranks.clamped(to: 0 ..< count)
        guard !clamped.isEmpty else { return }
        switch storage {
        case .packed(let pairs):
            for index in (reverse ? Array(clamped.reversed()) : Array(clamped)) where !body(pairs[index].member, pairs[index].score) { return }
        case .skiplist(let list):
            list.forEach(ranks: clamped, reverse: reverse, body)
        }
    }

    /// The members at `ranks`, in ascending order or descending when `reverse`.
    public func members(ranks: Range<Int>, reverse: Bool = false) -> [(member: Element, score: Double)] {
        var result: [(Element, Double)] = []
        result.reserveCapacity(min(ranks.count, count))
        forEach(ranks: ranks, reverse: reverse) { result.append(($0, $1)); return true }
        return result
    }

    /// A member by position in an unordered walk (random picks): O(1) in both encodings.
    public func member(atPosition position: Int) -> (member: Element, score: Double) {
        switch storage {
        case .packed(let pairs): return pairs[position]
        case .skiplist(let list):
            let found = list.members.entries[position]
            return (found.key, found.score)
        }
    }

    public func copy(limits: EncodingLimits) -> SortedSetValue {
        let copy = SortedSetValue()
        switch storage {
        case .packed(let pairs): copy.storage = .packed(pairs)
        case .skiplist: forEach(ranks: 0 ..< count) { copy.set($0, score: $1, limits: limits); return true }
        }
        return copy
    }

    private static func lowerBound(_ pairs: ContiguousArray<(member: Element, score: Double)>, _ isBefore: (Element, Double) -> Bool) -> Int {
        var low = 0, high = pairs.count
        while low < high {
            let middle = (low + high) / 2
            if isBefore(pairs[middle].member, pairs[middle].score) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func convertToSkipList() {
        guard case .packed(let pairs) = storage else { return }
        let list = SkipList()
        for pair in pairs { list.insert(pair.member, score: pair.score) }
        storage = .skiplist(list)
    }
}
