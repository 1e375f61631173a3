import Engine
import RESP

/// Score and lex bounds, and the range query behind ZRANGE and its older forms
/// (ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZRANGESTORE) and
/// the ZCOUNT / ZLEXCOUNT / ZREMRANGEBY* commands.
struct ScoreBound {
    var value: Double
    var exclusive: Bool

    /// `1.5`, `(1.5`, `-inf`, `+inf`.
    init?(_ bytes: UnsafeRawBufferPointer) {
        exclusive = bytes.first == UInt8(ascii: "(")
        let number = exclusive ? UnsafeRawBufferPointer(rebasing: bytes.dropFirst()) : bytes
        guard let parsed = NumberFormat.parseLenientDouble(number, refusingOverflow: false) else { return nil }
        value = parsed
    }
}

enum LexBound {
    case minusInfinity, plusInfinity
    case inclusive(Element), exclusive(Element)

    /// `-`, `+`, `[member`, `(member`.
    init?(_ bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else { return nil }
        let rest = Element(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()))
        switch first {
        case UInt8(ascii: "-") where bytes.count == 1: self = .minusInfinity
        case UInt8(ascii: "+") where bytes.count == 1: self = .plusInfinity
        case UInt8(ascii: "["): self = .inclusive(rest)
        case UInt8(ascii: "("): self = .exclusive(rest)
        default: return nil
        }
    }
}

struct SortedSetRange {
    enum Kind {
        case rank(start: Int, stop: Int)
        case score(min: ScoreBound, max: ScoreBound)
        case lex(min: LexBound, max: LexBound)
    }

    var kind: Kind
    var reverse = false
    var offset = 0
    /// A negative count means no limit.
    var count = -1

    /// Ascending ranks whose members fall inside the bounds (before LIMIT).
    func ranks(in set: SortedSetValue) -> Range<Int> {
        switch kind {
        case .rank(let start, let stop):
            guard let range = ListCommands.clampedRange(start: start, stop: stop, count: set.count) else { return 0 ..< 0 }
            return reverse ? (set.count - 1 - range.upperBound) ..< (set.count - range.lowerBound) : range.lowerBound ..< range.upperBound + 1
        case .score(let min, let max):
            return Self.scoreRanks(min, max, in: set)
        case .lex(let min, let max):
            return Self.lexRanks(min, max, in: set)
        }
    }

    static func scoreRanks(_ min: ScoreBound, _ max: ScoreBound, in set: SortedSetValue) -> Range<Int> {
        let low = set.countPrefix { _, score in score < min.value || (min.exclusive && score == min.value) }
        let high = set.countPrefix { _, score in score < max.value || (!max.exclusive && score == max.value) }
        return low < high ? low ..< high : low ..< low
    }

    static func lexRanks(_ min: LexBound, _ max: LexBound, in set: SortedSetValue) -> Range<Int> {
        let low = set.countPrefix { member, _ in
            switch min {
            case .minusInfinity: false
            case .plusInfinity: true
            case .inclusive(let bound): member < bound
            case .exclusive(let bound): member <= bound
            }
        }
        let high = set.countPrefix { member, _ in
            switch max {
            case .minusInfinity: false
            case .plusInfinity: true
            case .inclusive(let bound): member <= bound
            case .exclusive(let bound): member < bound
            }
        }
        return low < high ? low ..< high : low ..< low
    }

    /// The ranks of the members to reply, after LIMIT (which only score and lex ranges take).
    func limitedRanks(in set: SortedSetValue) -> Range<Int> {
        let ranks = ranks(in: set)
        if case .rank = kind { return ranks }
        // Redis skips a negative offset's worth of members forever: nothing is left.
        guard offset >= 0 else { return 0 ..< 0 }
        let skip = min(offset, ranks.count)
        let take = count < 0 ? ranks.count - skip : min(count, ranks.count - skip)
        return reverse
            ? ranks.upperBound - skip - take ..< ranks.upperBound - skip
            : ranks.lowerBound + skip ..< ranks.lowerBound + skip + take
    }

    /// The members in reply order, after LIMIT.
    func members(of set: SortedSetValue) -> [(member: Element, score: Double)] {
        set.members(ranks: limitedRanks(in: set), reverse: reverse)
    }

    enum By { case rank, score, lex }

    /// Parses `min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]` from `minAt`, as
    /// ZRANGE does; the older forms fix `by` and `reverse` (then those words are errors).
    /// Replies Redis's error and returns nil on bad input.
    static func parse(_ c: inout CommandContext, minAt: Int, by fixedBy: By?, reverse fixedReverse: Bool?, store: Bool)
        -> (range: SortedSetRange, withScores: Bool)? {
        var by = fixedBy, reverse = fixedReverse
        var withScores = false
        var offset = 0, count = -1
        var index = minAt + 2
        while index < c.argumentCount {
            let left = c.argumentCount - index - 1
            if !store && c.argument(index, is: "WITHSCORES") {
                withScores = true
            } else if c.argument(index, is: "LIMIT") && left >= 2 {
                guard let parsedOffset = c.integerOrReply(index + 1), let parsedCount = c.integerOrReply(index + 2) else { return nil }
                offset = parsedOffset
                count = parsedCount
                index += 2
            } else if reverse == nil && c.argument(index, is: "REV") {
                reverse = true
            } else if by == nil && c.argument(index, is: "BYLEX") {
                by = .lex
            } else if by == nil && c.argument(index, is: "BYSCORE") {
                by = .score
            } else {
                c.error(Errors.syntax)
                return nil
            }
            index += 1
        }
        let kind = by ?? .rank
        let isReverse = reverse ?? false
        if count != -1 && kind == .rank {
            c.error(Errors.limitWithoutBy)
            return nil
        }
        if withScores && kind == .lex {
            c.error(Errors.withScoresByLex)
            return nil
        }
        // Score and lex ranges are written `max min` when reversed.
        let (lower, upper) = isReverse && kind != .rank ? (minAt + 1, minAt) : (minAt, minAt + 1)
        let bounds: Kind
        switch kind {
        case .rank:
            guard let start = c.integerOrReply(lower), let stop = c.integerOrReply(upper) else { return nil }
            bounds = .rank(start: start, stop: stop)
            offset = 0
            count = -1
        case .score:
            guard let min = ScoreBound(c.arguments[lower]), let max = ScoreBound(c.arguments[upper]) else {
                c.error(Errors.invalidScoreRange)
                return nil
            }
            bounds = .score(min: min, max: max)
        case .lex:
            guard let min = LexBound(c.arguments[lower]), let max = LexBound(c.arguments[upper]) else {
                c.error(Errors.invalidLexRange)
                return nil
            }
            bounds = .lex(min: min, max: max)
        }
        return (SortedSetRange(kind: bounds, reverse: isReverse, offset: offset, count: count), withScores)
    }
}

extension SortedSetCommands {
    static func zrange(_ c: inout CommandContext) { range(&c, by: nil, reverse: nil) }
    static func zrevrange(_ c: inout CommandContext) { range(&c, by: .rank, reverse: true) }
    static func zrangebyscore(_ c: inout CommandContext) { range(&c, by: .score, reverse: false) }
    static func zrevrangebyscore(_ c: inout CommandContext) { range(&c, by: .score, reverse: true) }
    static func zrangebylex(_ c: inout CommandContext) { range(&c, by: .lex, reverse: false) }
    static func zrevrangebylex(_ c: inout CommandContext) { range(&c, by: .lex, reverse: true) }

    private static func range(_ c: inout CommandContext, by: SortedSetRange.By?, reverse: Bool?) {
        guard let (range, withScores) = SortedSetRange.parse(&c, minAt: 2, by: by, reverse: reverse, store: false) else { return }
        switch c.fetch(c.key(1), in: c.database, \.sortedSet) {
        case .wrongType: return
        case .missing: c.reply.arrayHeader(0)
        case .found(let set): c.replyMembers(range.members(of: set), withScores: withScores)
        }
    }

    static func zrangestore(_ c: inout CommandContext) {
        guard let (range, _) = SortedSetRange.parse(&c, minAt: 3, by: nil, reverse: nil, store: true) else { return }
        let db = c.database
        let members: [(member: Element, score: Double)]
        switch c.fetch(c.key(2), in: db, \.sortedSet) {
        case .wrongType: return
        case .missing: members = []
        case .found(let set): members = range.members(of: set)
        }
        c.storeSortedSet(c.key(1), members, event: "zrangestore", in: db)
        c.reply.integer(members.count)
    }

    static func zcount(_ c: inout CommandContext) {
        guard let min = ScoreBound(c.arguments[2]), let max = ScoreBound(c.arguments[3]) else {
            return c.error(Errors.invalidScoreRange)
        }
        count(&c, .score(min: min, max: max))
    }

    static func zlexcount(_ c: inout CommandContext) {
        guard let min = LexBound(c.arguments[2]), let max = LexBound(c.arguments[3]) else {
            return c.error(Errors.invalidLexRange)
        }
        count(&c, .lex(min: min, max: max))
    }

    private static func count(_ c: inout CommandContext, _ kind: SortedSetRange.Kind) {
        let range = SortedSetRange(kind: kind)
        c.replyInteger(\.sortedSet) { range.ranks(in: $0).count }
    }

    static func zremrangebyrank(_ c: inout CommandContext) {
        guard let start = c.integerOrReply(2), let stop = c.integerOrReply(3) else { return }
        removeRange(&c, .rank(start: start, stop: stop), event: "zremrangebyrank")
    }

    static func zremrangebyscore(_ c: inout CommandContext) {
        guard let min = ScoreBound(c.arguments[2]), let max = ScoreBound(c.arguments[3]) else {
            return c.error(Errors.invalidScoreRange)
        }
        removeRange(&c, .score(min: min, max: max), event: "zremrangebyscore")
    }

    static func zremrangebylex(_ c: inout CommandContext) {
        guard let min = LexBound(c.arguments[2]), let max = LexBound(c.arguments[3]) else {
            return c.error(Errors.invalidLexRange)
        }
        removeRange(&c, .lex(min: min, max: max), event: "zremrangebylex")
    }

    private static func removeRange(_ c: inout CommandContext, _ kind: SortedSetRange.Kind, event: String) {
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.sortedSet) {
        case .wrongType: return
        case .missing: c.reply.integer(0)
        case .found(let set):
            let doomed = set.members(ranks: SortedSetRange(kind: kind).ranks(in: set))
            for (member, _) in doomed { set.remove(member) }
            if !doomed.isEmpty {
                c.changed(key, .sortedSet, event, in: db, dirty: doomed.count, remaining: set.count)
            }
            c.reply.integer(doomed.count)
        }
    }
}

extension CommandContext {
    /// Replies members, with their scores when asked: flat in RESP2, [member, score] pairs in RESP3.
    mutating func replyMembers(_ members: [(member: Element, score: Double)], withScores: Bool) {
        let pairs = withScores && reply.isRESP3
        reply.arrayHeader(withScores && !pairs ? members.count * 2 : members.count)
        for (member, score) in members {
            if pairs { reply.arrayHeader(2) }
            member.withBytes { reply.bulk($0) }
            if withScores { reply.double(score) }
        }
    }

    /// Replaces `key` with a sorted set of `members` (ZRANGESTORE, ZUNIONSTORE, ...): an empty
    /// result deletes the key instead.
    mutating func storeSortedSet(_ key: Key, _ members: [(member: Element, score: Double)], event: String, in db: Database) {
        if members.isEmpty {
            if db.discard(key) { notify(.generic, "del", key) }
        } else {
            let set = SortedSetValue()
            for (member, score) in members { set.set(member, score: score, limits: keyspace.encodingLimits) }
            store(key, Entry.make(key: key.bytes, value: .sortedSet(set), expireAt: 0, access: db.access), in: db)
            notify(.sortedSet, event, key)
        }
        dirty()
    }
}
