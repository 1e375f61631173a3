import Engine

/// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD. Inputs may be sorted sets or
/// plain sets (whose members score 1); a missing key is an empty input.
enum SortedSetAlgebra {
    enum Operation { case union, intersection, difference }
    enum Aggregate { case sum, min, max }

    /// One input with its weight.
    struct Source {
        enum Members { case empty, sorted(SortedSetValue), plain(SetValue) }
        var members: Members
        var weight = 1.0

        var count: Int {
            switch members {
            case .empty: 0
            case .sorted(let set): set.count
            case .plain(let set): set.count
            }
        }

        func score(of member: Element) -> Double? {
            switch members {
            case .empty: nil
            case .sorted(let set): set.score(of: member)
            case .plain(let set): set.contains(member) ? 1 : nil
            }
        }

        func forEach(_ body: (Element, Double) -> Void) {
            switch members {
            case .empty: break
            case .sorted(let set): set.forEach(ranks: 0 ..< set.count) { body($0, $1); return true }
            case .plain(let set): set.forEach { body($0, 1) }
            }
        }

        /// A weighted score; `inf * 0` counts as 0, as in Redis.
        func weighted(_ score: Double) -> Double {
            let value = weight * score
            return value.isNaN ? 0 : value
        }
    }

    static func zunion(_ c: inout CommandContext) { run(&c, .union, store: false, name: "zunion") }
    static func zinter(_ c: inout CommandContext) { run(&c, .intersection, store: false, name: "zinter") }
    static func zdiff(_ c: inout CommandContext) { run(&c, .difference, store: false, name: "zdiff") }
    static func zunionstore(_ c: inout CommandContext) { run(&c, .union, store: true, name: "zunionstore") }
    static func zinterstore(_ c: inout CommandContext) { run(&c, .intersection, store: true, name: "zinterstore") }
    static func zdiffstore(_ c: inout CommandContext) { run(&c, .difference, store: true, name: "zdiffstore") }

    private static func run(_ c: inout CommandContext, _ operation: Operation, store: Bool, name: String) {
        let numkeysAt = store ? 2 : 1
        guard var sources = self.sources(&c, numkeysAt: numkeysAt, command: name) else { return }
        var aggregate = Aggregate.sum
        var withScores = false
        var index = numkeysAt + 1 + sources.count
        while index < c.argumentCount {
            let remaining = c.argumentCount - index
            if operation != .difference && remaining > sources.count && c.argument(index, is: "WEIGHTS") {
                for source in sources.indices {
                    guard let weight = c.double(index + 1 + source) else { return c.error(Errors.weightNotFloat) }
                    sources[source].weight = weight
                }
                index += 1 + sources.count
            } else if operation != .difference && remaining >= 2 && c.argument(index, is: "AGGREGATE") {
                if c.argument(index + 1, is: "SUM") { aggregate = .sum }
                else if c.argument(index + 1, is: "MIN") { aggregate = .min }
                else if c.argument(index + 1, is: "MAX") { aggregate = .max }
                else { return c.error(Errors.syntax) }
                index += 2
            } else if !store && c.argument(index, is: "WITHSCORES") {
                withScores = true
                index += 1
            } else {
                return c.error(Errors.syntax)
            }
        }
        var members = combine(sources, operation, aggregate)
        members.sort { $0.score < $1.score || ($0.score == $1.score && $0.member < $1.member) }
        if store {
            let event = switch operation {
            case .union: "zunionstore"
            case .intersection: "zinterstore"
            case .difference: "zdiffstore"
            }
            c.storeSortedSet(c.key(1), members, event: event, in: c.database)
            c.reply.integer(members.count)
        } else {
            c.replyMembers(members, withScores: withScores)
        }
    }

    static func zintercard(_ c: inout CommandContext) {
        guard let sources = self.sources(&c, numkeysAt: 1, command: "zintercard") else { return }
        var limit = 0
        var index = 2 + sources.count
        while index < c.argumentCount {
            guard c.argument(index, is: "LIMIT"), index + 1 < c.argumentCount else { return c.error(Errors.syntax) }
            guard let value = c.integer(index + 1), value >= 0 else { return c.error(Errors.negativeLimit) }
            limit = value
            index += 2
        }
        c.reply.integer(intersectionCount(sources, limit: limit))
    }

    /// Reads `numkeys key [key ...]` at `numkeysAt` and looks the keys up, replying Redis's
    /// error (numkeys, then WRONGTYPE) and returning nil when that fails.
    private static func sources(_ c: inout CommandContext, numkeysAt: Int, command: String) -> [Source]? {
        guard let numkeys = c.integerOrReply(numkeysAt) else { return nil }
        guard numkeys >= 1 else {
            c.error(Errors.noInputKeys(command))
            return nil
        }
        guard numkeys <= c.argumentCount - numkeysAt - 1 else {
            c.error(Errors.syntax)
            return nil
        }
        let db = c.database
        var sources: [Source] = []
        sources.reserveCapacity(numkeys)
        for index in numkeysAt + 1 ... numkeysAt + numkeys {
            guard let entry = c.read(c.key(index), in: db) else {
                sources.append(Source(members: .empty))
                continue
            }
            switch entry.value {
            case .sortedSet(let set): sources.append(Source(members: .sorted(set)))
            case .set(let set): sources.append(Source(members: .plain(set)))
            default:
                c.error(Errors.wrongType)
                return nil
            }
        }
        return sources
    }

    static func combine(_ sources: [Source], _ operation: Operation, _ aggregate: Aggregate) -> [(member: Element, score: Double)] {
        switch operation {
        case .union:
            // Smallest inputs first, as Redis orders them, so sums round the same way.
            var scores = ElementDictionary<Double>(minimumCapacity: sources.map(\.count).max() ?? 0)
            for source in sources.sorted(by: { $0.count < $1.count }) {
                source.forEach { member, score in
                    let value = source.weighted(score)
                    if let current = scores[member] {
                        scores.updateValue(combine(current, value, aggregate), forKey: member)
                    } else {
                        scores.updateValue(value, forKey: member)
                    }
                }
            }
            return scores.entries.map { ($0.key, $0.value) }
        case .intersection:
            let ordered = sources.sorted { $0.count < $1.count }
            guard let smallest = ordered.first, smallest.count > 0 else { return [] }
            var result: [(member: Element, score: Double)] = []
            smallest.forEach { member, score in
                var total = smallest.weighted(score)
                for other in ordered.dropFirst() {
                    guard let found = other.score(of: member) else { return }
                    total = combine(total, other.weighted(found), aggregate)
                }
                result.append((member, total))
            }
            return result
        case .difference:
            var result: [(member: Element, score: Double)] = []
            sources[0].forEach { member, score in
                if !sources.dropFirst().contains(where: { $0.score(of: member) != nil }) { result.append((member, score)) }
            }
            return result
        }
    }

    /// ZINTERCARD: counts the intersection, stopping at `limit` when it is not 0.
    static func intersectionCount(_ sources: [Source], limit: Int) -> Int {
        let ordered = sources.sorted { $0.count < $1.count }
        var count = 0
        ordered[0].forEach { member, _ in
            guard limit == 0 || count < limit else { return }
            if ordered.dropFirst().allSatisfy({ $0.score(of: member) != nil }) { count += 1 }
        }
        return count
    }

    /// Redis's aggregation: a sum of +inf and -inf counts as 0.
    private static func combine(_ current: Double, _ value: Double, _ aggregate: Aggregate) -> Double {
        switch aggregate {
        case .sum:
            let sum = current + value
            return sum.isNaN ? 0 : sum
        case .min: return value < current ? value : current
        case .max: return value > current ? value : current
        }
    }
}
