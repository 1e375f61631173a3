/// A large sorted set: a skip list ordered by (score, member), with the width of every link
/// kept so that ranks are found in O(log n), and a hash index from member to node for O(1)
/// scores and random picks.
///
/// Each node is one allocation (its levels are tail-allocated) and holds the only copy of its
/// member. Links are unmanaged: the list owns one reference per node, taken on insert and given
/// back on removal or deinit, so a walk touches no reference counts and freeing a million
/// nodes is a loop, not a recursion.
final class SkipList {
    static let maxLevel = 32

    /// The head sentinel; its levels start every chain.
    private let head: SkipNode
    private var tail: Unmanaged<SkipNode>?
    private var level = 1
    /// Member → node; every node of the list is in it.
    private(set) var members = DenseHashTable<NodeReference>()

    struct NodeReference: HashTableEntry {
        let node: Unmanaged<SkipNode>
        var key: Element { node._withUnsafeGuaranteedRef { $0.member } }
        var score: Double { node._withUnsafeGuaranteedRef { $0.score } }
    }

    var count: Int { members.count }

    init() {
        head = SkipNode.make(member: Element([UInt8]()), score: 0, levels: Self.maxLevel)
    }

    func score(of member: Element) -> Double? {
        members.position(of: member).map { members.entries[$0].score }
    }

    deinit {
        var next = head.forward(0)
        while let node = next {
            next = node._withUnsafeGuaranteedRef { $0.forward(0) }
            node.release()
        }
    }

    private static func randomLevel() -> Int {
        var level = 1
        var random = FastRandom()
        while level < maxLevel && UInt32.random(in: 0 ..< 4, using: &random) == 0 { level += 1 }
        return level
    }

    @inline(__always)
    static func precedes(_ score: Double, _ member: Element, _ otherScore: Double, _ otherMember: Element) -> Bool {
        score < otherScore || (score == otherScore && member < otherMember)
    }

    // MARK: Changes

    /// Inserts a member that is not in the list.
    func insert(_ member: Element, score: Double) {
        let count = self.count
        var update = [Unmanaged<SkipNode>](repeating: .passUnretained(head), count: Self.maxLevel)
        var rank = [Int](repeating: 0, count: Self.maxLevel)
        var node = Unmanaged.passUnretained(head)
        for current in stride(from: level - 1, through: 0, by: -1) {
            rank[current] = current == level - 1 ? 0 : rank[current + 1]
            while let next = node._withUnsafeGuaranteedRef({ $0.forward(current) }),
                  next._withUnsafeGuaranteedRef({ Self.precedes($0.score, $0.member, score, member) }) {
                rank[current] += node._withUnsafeGuaranteedRef { $0.span(current) }
                node = next
            }
            update[current] = node
        }
        let newLevel = Self.randomLevel()
        if newLevel > level {
            for current in level ..< newLevel {
                rank[current] = 0
                update[current] = .passUnretained(head)
                head.setSpan(current, count)
            }
            level = newLevel
        }
        let created = Unmanaged.passRetained(SkipNode.make(member: member, score: score, levels: newLevel))
        created._withUnsafeGuaranteedRef { new in
            for current in 0 ..< newLevel {
                update[current]._withUnsafeGuaranteedRef { previous in
                    new.setForward(current, previous.forward(current))
                    previous.setForward(current, created)
                    new.setSpan(current, previous.span(current) - (rank[0] - rank[current]))
                    previous.setSpan(current, rank[0] - rank[current] + 1)
                }
            }
            new.backward = update[0].toOpaque() == Unmanaged.passUnretained(head).toOpaque() ? nil : update[0]
        }
        for current in newLevel ..< level {
            update[current]._withUnsafeGuaranteedRef { $0.setSpan(current, $0.span(current) + 1) }
        }
        if let next = created._withUnsafeGuaranteedRef({ $0.forward(0) }) {
            next._withUnsafeGuaranteedRef { $0.backward = created }
        } else {
            tail = created
        }
        members.insert(NodeReference(node: created))
    }

    /// Removes a member; returns whether it was there.
    @discardableResult
    func remove(_ member: Element) -> Bool {
        guard let position = members.position(of: member) else { return false }
        let score = members.remove(at: position).score
        var update = [Unmanaged<SkipNode>](repeating: .passUnretained(head), count: Self.maxLevel)
        var node = Unmanaged.passUnretained(head)
        for current in stride(from: level - 1, through: 0, by: -1) {
            while let next = node._withUnsafeGuaranteedRef({ $0.forward(current) }),
                  next._withUnsafeGuaranteedRef({ Self.precedes($0.score, $0.member, score, member) }) {
                node = next
            }
            update[current] = node
        }
        guard let target = node._withUnsafeGuaranteedRef({ $0.forward(0) }),
              target._withUnsafeGuaranteedRef({ $0.score == score && $0.member == member }) else { return false }
        target._withUnsafeGuaranteedRef { removed in
            for current in 0 ..< level {
                update[current]._withUnsafeGuaranteedRef { previous in
                    if previous.forward(current)?.toOpaque() == target.toOpaque() {
                        previous.setSpan(current, previous.span(current) + removed.span(current) - 1)
                        previous.setForward(current, removed.forward(current))
                    } else {
                        previous.setSpan(current, previous.span(current) - 1)
                    }
                }
            }
            if let next = removed.forward(0) {
                next._withUnsafeGuaranteedRef { $0.backward = removed.backward }
            } else {
                tail = removed.backward
            }
        }
        while level > 1 && head.forward(level - 1) == nil { level -= 1 }
        target.release()
        return true
    }

    // MARK: Queries

    /// How many leading nodes satisfy `isBefore`, a predicate that holds for a prefix of the
    /// order (for example "score < min"). O(log n).
    func countPrefix(where isBefore: (Element, Double) -> Bool) -> Int {
        var rank = 0
        var node = Unmanaged.passUnretained(head)
        for current in stride(from: level - 1, through: 0, by: -1) {
            while let next = node._withUnsafeGuaranteedRef({ $0.forward(current) }),
                  next._withUnsafeGuaranteedRef({ isBefore($0.member, $0.score) }) {
                rank += node._withUnsafeGuaranteedRef { $0.span(current) }
                node = next
            }
        }
        return rank
    }

    /// The 0-based rank of (score, member), or nil.
    func rank(of member: Element, score: Double) -> Int? {
        let before = countPrefix { Self.precedes($1, $0, score, member) }
        guard before < count, let node = node(at: before),
              node._withUnsafeGuaranteedRef({ $0.member == member }) else { return nil }
        return before
    }

    /// The node at a 0-based rank.
    private func node(at rank: Int) -> Unmanaged<SkipNode>? {
        guard rank >= 0 && rank < count else { return nil }
        var traversed = 0
        var node = Unmanaged.passUnretained(head)
        for current in stride(from: level - 1, through: 0, by: -1) {
            while let next = node._withUnsafeGuaranteedRef({ $0.forward(current) }),
                  traversed + node._withUnsafeGuaranteedRef({ $0.span(current) }) <= rank + 1 {
                traversed += node._withUnsafeGuaranteedRef { $0.span(current) }
                node = next
            }
            if traversed == rank + 1 { return node }
        }
        return nil
    }

    /// Visits ranks `range` in ascending order, or descending when `reverse`; stops when `body`
    /// returns false.
    func forEach(ranks range: Range<Int>, reverse: Bool, _ body: (Element, Double) -> Bool) {
        guard !range.isEmpty, var node = self.node(at: reverse ? range.upperBound - 1 : range.lowerBound) else { return }
        for _ in 0 ..< range.count {
            let keepGoing = node._withUnsafeGuaranteedRef { body($0.member, $0.score) }
            guard keepGoing,
                  let next = node._withUnsafeGuaranteedRef({ reverse ? $0.backward : $0.forward(0) }) else { return }
            node = next
        }
    }
}

/// One skip-list node: member, score and the link back in the header; its levels after it.
final class SkipNode: ManagedBuffer<SkipNode.Header, SkipNode.Level> {
    struct Header {
        var member: Element
        var score: Double
        var backward: Unmanaged<SkipNode>?
    }

    struct Level {
        var forward: Unmanaged<SkipNode>?
        var span: Int
    }

    static func make(member: Element, score: Double, levels: Int) -> SkipNode {
        let object = SkipNode.create(minimumCapacity: levels) { _ in Header(member: member, score: score, backward: nil) }
        let node = unsafeDowncast(object, to: SkipNode.self)
        node.withUnsafeMutablePointerToElements { $0.initialize(repeating: Level(forward: nil, span: 0), count: levels) }
        return node
    }

    var member: Element { header.member }
    var score: Double { header.score }

    var backward: Unmanaged<SkipNode>? {
        get { header.backward }
        set { header.backward = newValue }
    }

    func forward(_ level: Int) -> Unmanaged<SkipNode>? {
        withUnsafeMutablePointerToElements { $0[level].forward }
    }

    func setForward(_ level: Int, _ node: Unmanaged<SkipNode>?) {
        withUnsafeMutablePointerToElements { $0[level].forward = node }
    }

    func span(_ level: Int) -> Int {
        withUnsafeMutablePointerToElements { $0[level].span }
    }

    func setSpan(_ level: Int, _ span: Int) {
        withUnsafeMutablePointerToElements { $0[level].span = span }
    }
}
