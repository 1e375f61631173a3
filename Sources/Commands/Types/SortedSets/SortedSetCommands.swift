import Config
import Engine
import RESP

/// Sorted set commands. The table declares the whole family; range queries live in
/// SortedSetRange.swift, unions, intersections and differences in SortedSetAlgebra.swift, and
/// the blocking pops in BlockingPopCommands.swift.
enum SortedSetCommands {
    static let table: [Command] = [
        Command("zadd", arity: -4, flags: [.write, .denyOOM, .fast], categories: [.sortedSet], keys: [.key(1, "RW update")],
                group: "sorted_set", since: "1.2.0", summary: "Adds members or updates their scores.", handler: zadd),
        Command("zincrby", arity: 4, flags: [.write, .denyOOM, .fast], categories: [.sortedSet], keys: [.key(1, "RW access update")],
                group: "sorted_set", since: "1.2.0", summary: "Increments a member's score.", handler: zincrby),
        Command("zrem", arity: -3, flags: [.write, .fast], categories: [.sortedSet], keys: [.key(1, "RW delete")],
                group: "sorted_set", since: "1.2.0", summary: "Removes members.", handler: zrem),
        Command("zcard", arity: 2, flags: [.readonly, .fast], categories: [.sortedSet], keys: [.key(1, "RO")],
                group: "sorted_set", since: "1.2.0", summary: "How many members a sorted set has.", handler: zcard),
        Command("zcount", arity: 4, flags: [.readonly, .fast], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "2.0.0", summary: "How many members have scores in a range.", handler: zcount),
        Command("zlexcount", arity: 4, flags: [.readonly, .fast], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "2.8.9", summary: "How many members fall in a lexicographical range.", handler: zlexcount),
        Command("zscore", arity: 3, flags: [.readonly, .fast], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "1.2.0", summary: "A member's score.", handler: zscore),
        Command("zmscore", arity: -3, flags: [.readonly, .fast], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "6.2.0", summary: "Several members' scores.", handler: zmscore),
        Command("zrank", arity: 3, flags: [.readonly, .fast], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "2.0.0", summary: "A member's rank by ascending score.", handler: zrank),
        Command("zrevrank", arity: 3, flags: [.readonly, .fast], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "2.0.0", summary: "A member's rank by descending score.", handler: zrevrank),
        Command("zrange", arity: -4, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "1.2.0", summary: "Members in a range of ranks, scores or lexicographical order.", handler: zrange),
        Command("zrangestore", arity: -5, flags: [.write, .denyOOM], categories: [.sortedSet], keys: [.key(1, "OW update"), .key(2, "RO access")],
                group: "sorted_set", since: "6.2.0", summary: "Stores a range of members in another key.", handler: zrangestore),
        Command("zrevrange", arity: -4, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "1.2.0", summary: "Members in a range of ranks, highest first.", handler: zrevrange),
        Command("zrangebyscore", arity: -4, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "1.0.5", summary: "Members in a range of scores.", handler: zrangebyscore),
        Command("zrevrangebyscore", arity: -4, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "2.2.0", summary: "Members in a range of scores, highest first.", handler: zrevrangebyscore),
        Command("zrangebylex", arity: -4, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "2.8.9", summary: "Members in a lexicographical range.", handler: zrangebylex),
        Command("zrevrangebylex", arity: -4, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                group: "sorted_set", since: "2.8.9", summary: "Members in a lexicographical range, last first.", handler: zrevrangebylex),
        Command("zremrangebyrank", arity: 4, flags: [.write], categories: [.sortedSet], keys: [.key(1, "RW delete")],
                group: "sorted_set", since: "2.0.0", summary: "Removes members in a range of ranks.", handler: zremrangebyrank),
        Command("zremrangebyscore", arity: 4, flags: [.write], categories: [.sortedSet], keys: [.key(1, "RW delete")],
                group: "sorted_set", since: "1.2.0", summary: "Removes members in a range of scores.", handler: zremrangebyscore),
        Command("zremrangebylex", arity: 4, flags: [.write], categories: [.sortedSet], keys: [.key(1, "RW delete")],
                group: "sorted_set", since: "2.8.9", summary: "Removes members in a lexicographical range.", handler: zremrangebylex),
        Command("zpopmin", arity: -2, flags: [.write, .fast], categories: [.sortedSet], keys: [.key(1, "RW access delete")],
                group: "sorted_set", since: "5.0.0", summary: "Removes and returns the lowest-scored members.", handler: zpopmin),
        Command("zpopmax", arity: -2, flags: [.write, .fast], categories: [.sortedSet], keys: [.key(1, "RW access delete")],
                group: "sorted_set", since: "5.0.0", summary: "Removes and returns the highest-scored members.", handler: zpopmax),
        Command("zmpop", arity: -4, flags: [.write], categories: [.sortedSet],
                keys: [KeySpec("RW access delete", .index(1), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set", since: "7.0.0",
                summary: "Pops members from the first non-empty sorted set of several.", handler: zmpop),
        Command("zrandmember", arity: -2, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "sorted_set", since: "6.2.0", summary: "Random members of a sorted set.", handler: zrandmember),
        Command("zunion", arity: -3, flags: [.readonly], categories: [.sortedSet],
                keys: [KeySpec("RO access", .index(1), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set", since: "6.2.0",
                summary: "The union of sorted sets.", handler: SortedSetAlgebra.zunion),
        Command("zinter", arity: -3, flags: [.readonly], categories: [.sortedSet],
                keys: [KeySpec("RO access", .index(1), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set", since: "6.2.0",
                summary: "The intersection of sorted sets.", handler: SortedSetAlgebra.zinter),
        Command("zdiff", arity: -3, flags: [.readonly], categories: [.sortedSet],
                keys: [KeySpec("RO access", .index(1), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set", since: "6.2.0",
                summary: "The members of the first sorted set not in the others.", handler: SortedSetAlgebra.zdiff),
        Command("zunionstore", arity: -4, flags: [.write, .denyOOM], categories: [.sortedSet],
                keys: [.key(1, "OW update"), KeySpec("RO access", .index(2), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set",
                since: "2.0.0", summary: "Stores the union of sorted sets.", handler: SortedSetAlgebra.zunionstore),
        Command("zinterstore", arity: -4, flags: [.write, .denyOOM], categories: [.sortedSet],
                keys: [.key(1, "OW update"), KeySpec("RO access", .index(2), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set",
                since: "2.0.0", summary: "Stores the intersection of sorted sets.", handler: SortedSetAlgebra.zinterstore),
        Command("zdiffstore", arity: -4, flags: [.write, .denyOOM], categories: [.sortedSet],
                keys: [.key(1, "OW update"), KeySpec("RO access", .index(2), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set",
                since: "6.2.0", summary: "Stores the difference of sorted sets.", handler: SortedSetAlgebra.zdiffstore),
        Command("zintercard", arity: -3, flags: [.readonly], categories: [.sortedSet],
                keys: [KeySpec("RO access", .index(1), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set", since: "7.0.0",
                summary: "The size of the intersection of sorted sets.", handler: SortedSetAlgebra.zintercard),
        Command("zscan", arity: -3, flags: [.readonly], categories: [.sortedSet], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "sorted_set", since: "2.8.0", summary: "Iterates over members and scores.", handler: zscan),
    ]

    // MARK: Adding and removing

    static func zadd(_ c: inout CommandContext) { add(&c, incrementOnly: false) }
    static func zincrby(_ c: inout CommandContext) { add(&c, incrementOnly: true) }

    /// ZADD and ZINCRBY (which is ZADD INCR without the flags). Flags and scores are all
    /// checked before the key is touched, so a bad argument changes nothing.
    private static func add(_ c: inout CommandContext, incrementOnly: Bool) {
        var nx = false, xx = false, gt = false, lt = false, ch = false, incr = incrementOnly
        var index = 2
        while index < c.argumentCount {
            if c.argument(index, is: "NX") { nx = true }
            else if c.argument(index, is: "XX") { xx = true }
            else if c.argument(index, is: "GT") { gt = true }
            else if c.argument(index, is: "LT") { lt = true }
            else if c.argument(index, is: "CH") { ch = true }
            else if c.argument(index, is: "INCR") { incr = true }
            else { break }
            index += 1
        }
        let elements = c.argumentCount - index
        guard elements > 0, elements % 2 == 0 else { return c.error(Errors.syntax) }
        guard !incr || elements == 2 else { return c.error(Errors.zaddIncrPair) }
        guard !(nx && xx) else { return c.error(Errors.xxAndNX) }
        guard !(nx && (gt || lt)) && !(gt && lt) else { return c.error(Errors.gtLtNX) }
        var pairs: [(score: Double, member: Element)] = []
        pairs.reserveCapacity(elements / 2)
        for position in stride(from: index, to: c.argumentCount, by: 2) {
            guard let score = c.double(position) else { return c.error(Errors.notFloat) }
            pairs.append((score, Element(c.arguments[position + 1])))
        }

        let db = c.database
        let key = c.key(1)
        var added = 0, updated = 0, processed = 0
        var lastScore = 0.0
        if db.lookup(key) != nil || !xx {
            guard let set = c.fetchOrCreate(key, in: db, \.sortedSet, make: { .sortedSet(SortedSetValue()) }) else { return }
            for (score, member) in pairs {
                if let current = set.score(of: member) {
                    if nx { continue }
                    var newScore = score
                    if incr {
                        newScore += current
                        // Only one pair with INCR, so nothing has changed yet.
                        guard !newScore.isNaN else { return c.error(Errors.scoreNaN) }
                    }
                    if (lt && newScore >= current) || (gt && newScore <= current) { continue }
                    processed += 1
                    lastScore = newScore
                    if newScore != current {
                        set.set(member, score: newScore, limits: c.keyspace.encodingLimits)
                        updated += 1
                    }
                } else if !xx {
                    set.set(member, score: score, limits: c.keyspace.encodingLimits)
                    added += 1
                    processed += 1
                    lastScore = score
                }
            }
        }
        if added + updated > 0 {
            c.changed(key, .sortedSet, incr ? "zincr" : "zadd", in: db, dirty: added + updated)
        }
        if incr {
            if processed > 0 { c.reply.double(lastScore) } else { c.reply.null() }
        } else {
            c.reply.integer(ch ? added + updated : added)
        }
    }

    static func zrem(_ c: inout CommandContext) {
        c.removeMembers(\.sortedSet, event: (.sortedSet, "zrem"), remove: { $0.remove($1) }, count: \.count)
    }

    // MARK: Reading single members

    static func zcard(_ c: inout CommandContext) {
        c.replyInteger(\.sortedSet) { $0.count }
    }

    static func zscore(_ c: inout CommandContext) {
        switch c.fetch(c.key(1), in: c.database, \.sortedSet) {
        case .wrongType: return
        case .missing: c.reply.null()
        case .found(let set):
            if let score = set.score(of: Element(c.arguments[2])) { c.reply.double(score) } else { c.reply.null() }
        }
    }

    static func zmscore(_ c: inout CommandContext) {
        let fetched = c.fetch(c.key(1), in: c.database, \.sortedSet)
        if case .wrongType = fetched { return }
        c.reply.arrayHeader(c.argumentCount - 2)
        for index in 2 ..< c.argumentCount {
            if case .found(let set) = fetched, let score = set.score(of: Element(c.arguments[index])) {
                c.reply.double(score)
            } else {
                c.reply.null()
            }
        }
    }

    static func zrank(_ c: inout CommandContext) { rank(&c, reverse: false) }
    static func zrevrank(_ c: inout CommandContext) { rank(&c, reverse: true) }

    private static func rank(_ c: inout CommandContext, reverse: Bool) {
        switch c.fetch(c.key(1), in: c.database, \.sortedSet) {
        case .wrongType: return
        case .missing: c.reply.null()
        case .found(let set):
            guard let rank = set.rank(of: Element(c.arguments[2])) else { return c.reply.null() }
            c.reply.integer(reverse ? set.count - 1 - rank : rank)
        }
    }

    // MARK: Popping

    static func zpopmin(_ c: inout CommandContext) { pop(&c, highest: false) }
    static func zpopmax(_ c: inout CommandContext) { pop(&c, highest: true) }

    private static func pop(_ c: inout CommandContext, highest: Bool) {
        guard c.argumentCount <= 3 else { return c.error(Errors.syntax) }
        var count: Int?
        if c.argumentCount == 3 {
            guard let value = c.countOrReply(2) else { return }
            count = value
        }
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.sortedSet) {
        case .wrongType:
            return
        case .missing:
            c.reply.arrayHeader(0)
        case .found(let set):
            let popped = take(set, highest: highest, count: count ?? 1)
            // RESP3 nests [member, score] pairs only when a count was given.
            let pairs = count != nil && c.reply.isRESP3
            c.reply.arrayHeader(pairs ? popped.count : popped.count * 2)
            for (member, score) in popped {
                if pairs { c.reply.arrayHeader(2) }
                member.withBytes { c.reply.bulk($0) }
                c.reply.double(score)
            }
            if !popped.isEmpty {
                c.changed(key, .sortedSet, highest ? "zpopmax" : "zpopmin", in: db, dirty: popped.count, remaining: set.count)
            }
        }
    }

    /// Removes up to `count` members from the low (or high) end, in the order they come off.
    static func take(_ set: SortedSetValue, highest: Bool, count: Int) -> [(member: Element, score: Double)] {
        let taken = min(count, set.count)
        let ranks = highest ? set.count - taken ..< set.count : 0 ..< taken
        let popped = set.members(ranks: ranks, reverse: highest)
        for (member, _) in popped { set.remove(member) }
        return popped
    }

    static func zmpop(_ c: inout CommandContext) {
        guard let request = MultiPop.parse(&c, firstKey: 2, numkeysAt: 1, endWords: false) else { return }
        if !popSortedSet(&c, request) { c.reply.nullArray() }
    }

    /// ZMPOP's work, shared with BZMPOP: pops from the first non-empty sorted set, replies
    /// `[key, [[member, score], ...]]` and returns true; returns false with nothing replied
    /// when every set is empty.
    static func popSortedSet(_ c: inout CommandContext, _ request: MultiPop) -> Bool {
        let db = c.database
        for index in request.keys {
            let key = c.key(index)
            switch c.waitedValue(index, in: db, \.sortedSet) {
            case .wrongType: return true
            case .missing: continue
            case .found(let set):
                let highest = request.end == .tail
                let popped = take(set, highest: highest, count: request.count)
                c.reply.arrayHeader(2)
                c.reply.bulk(c.arguments[index])
                c.reply.arrayHeader(popped.count)
                for (member, score) in popped {
                    c.reply.arrayHeader(2)
                    member.withBytes { c.reply.bulk($0) }
                    c.reply.double(score)
                }
                c.changed(key, .sortedSet, highest ? "zpopmax" : "zpopmin", in: db, dirty: popped.count, remaining: set.count)
                // As Redis: ZPOPMIN|ZPOPMAX key <how many it took>.
                c.propagate([Array((highest ? "ZPOPMAX" : "ZPOPMIN").utf8), c.bytes(index), Array(String(popped.count).utf8)])
                return true
            }
        }
        return false
    }

    // MARK: Random members and scanning

    static func zrandmember(_ c: inout CommandContext) {
        guard let (count, withScores) = RandomPick.parse(&c, option: "WITHSCORES") else { return }
        switch c.fetch(c.key(1), in: c.database, \.sortedSet) {
        case .wrongType:
            return
        case .missing:
            if count == nil { c.reply.null() } else { c.reply.arrayHeader(0) }
        case .found(let set):
            guard let count else {
                set.member(atPosition: Int.random(in: 0 ..< set.count)).member.withBytes { c.reply.bulk($0) }
                return
            }
            let picks = RandomPick.positions(count: count, size: set.count).map { set.member(atPosition: $0) }
            c.replyMembers(picks, withScores: withScores)
        }
    }

    static func zscan(_ c: inout CommandContext) {
        ScanOptions.scanCollection(&c, \.sortedSet) { c, set, options in
            var found: [Element] = []
            let next = options.step(size: set.count, whole: set.encodingName == "listpack") { position in
                let (member, score) = set.member(atPosition: position)
                if options.matches(member) { found += [member, Element(ReplyWriter.formatDouble(score))] }
            }
            ScanOptions.reply(&c, cursor: next, found)
        }
    }
}
