import Config
import Engine

/// Set commands: SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SPOP, SRANDMEMBER, SMOVE,
/// SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.
enum SetCommands {
    static let table: [Command] = [
        Command("sadd", arity: -3, flags: [.write, .denyOOM, .fast], categories: [.set], keys: [.key(1, "RW insert")], group: "set",
                summary: "Adds members to a set.", handler: sadd),
        Command("srem", arity: -3, flags: [.write, .fast], categories: [.set], keys: [.key(1, "RW delete")], group: "set",
                summary: "Removes members from a set.", handler: srem),
        Command("scard", arity: 2, flags: [.readonly, .fast], categories: [.set], keys: [.key(1, "RO")], group: "set",
                summary: "How many members a set has.", handler: scard),
        Command("sismember", arity: 3, flags: [.readonly, .fast], categories: [.set], keys: [.key(1, "RO")], group: "set",
                summary: "Whether a value is a member.", handler: sismember),
        Command("smismember", arity: -3, flags: [.readonly, .fast], categories: [.set], keys: [.key(1, "RO access")], group: "set",
                since: "6.2.0", summary: "Whether each value is a member.", handler: smismember),
        Command("smembers", arity: 2, flags: [.readonly], categories: [.set], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output_order"], group: "set", summary: "Every member of a set.", handler: smembers),
        Command("spop", arity: -2, flags: [.write, .fast], categories: [.set], keys: [.key(1, "RW access delete")],
                tips: ["nondeterministic_output"], group: "set", summary: "Removes and returns random members.", handler: spop),
        Command("srandmember", arity: -2, flags: [.readonly], categories: [.set], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "set", summary: "Random members of a set.", handler: srandmember),
        Command("smove", arity: 4, flags: [.write, .fast], categories: [.set], keys: [.key(1, "RW access delete"), .key(2, "RW insert")],
                group: "set", summary: "Moves a member from one set to another.", handler: smove),
        Command("sinter", arity: -2, flags: [.readonly], categories: [.set], keys: [.keys(from: 1, "RO access")],
                tips: ["nondeterministic_output_order"], group: "set", summary: "The intersection of sets.", handler: sinter),
        Command("sintercard", arity: -3, flags: [.readonly], categories: [.set],
                keys: [KeySpec("RO access", .index(1), .keynum(index: 0, firstKey: 1, step: 1))], group: "set", since: "7.0.0",
                summary: "The size of the intersection of sets.", handler: sintercard),
        Command("sinterstore", arity: -3, flags: [.write, .denyOOM], categories: [.set], keys: [.key(1, "RW update"), .keys(from: 2, "RO access")],
                group: "set", summary: "Stores the intersection of sets.", handler: sinterstore),
        Command("sunion", arity: -2, flags: [.readonly], categories: [.set], keys: [.keys(from: 1, "RO access")],
                tips: ["nondeterministic_output_order"], group: "set", summary: "The union of sets.", handler: sunion),
        Command("sunionstore", arity: -3, flags: [.write, .denyOOM], categories: [.set], keys: [.key(1, "OW update"), .keys(from: 2, "RO access")],
                group: "set", summary: "Stores the union of sets.", handler: sunionstore),
        Command("sdiff", arity: -2, flags: [.readonly], categories: [.set], keys: [.keys(from: 1, "RO access")],
                tips: ["nondeterministic_output_order"], group: "set", summary: "The members of the first set not in the others.", handler: sdiff),
        Command("sdiffstore", arity: -3, flags: [.write, .denyOOM], categories: [.set], keys: [.key(1, "OW update"), .keys(from: 2, "RO access")],
                group: "set", summary: "Stores the difference of sets.", handler: sdiffstore),
        Command("sscan", arity: -3, flags: [.readonly], categories: [.set], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "set", since: "2.8.0", summary: "Iterates over a set's members.", handler: sscan),
    ]

    static func sadd(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        guard let set = c.fetchOrCreate(key, in: db, \.set, make: { .set(SetValue()) }) else { return }
        var added = 0
        for index in 2 ..< c.argumentCount where set.insert(Element(c.arguments[index]), limits: c.keyspace.encodingLimits) {
            added += 1
        }
        if added > 0 {
            c.changed(key, .set, "sadd", in: db, dirty: added)
        }
        c.reply.integer(added)
    }

    static func srem(_ c: inout CommandContext) {
        c.removeMembers(\.set, event: (.set, "srem"), remove: { $0.remove($1) }, count: \.count)
    }

    static func scard(_ c: inout CommandContext) {
        c.replyInteger(\.set) { $0.count }
    }

    static func sismember(_ c: inout CommandContext) {
        let member = Element(c.arguments[2])
        c.replyInteger(\.set) { $0.contains(member) ? 1 : 0 }
    }

    static func smismember(_ c: inout CommandContext) {
        let fetched = c.fetch(c.key(1), in: c.database, \.set)
        if case .wrongType = fetched { return }
        c.reply.arrayHeader(c.argumentCount - 2)
        for index in 2 ..< c.argumentCount {
            if case .found(let set) = fetched, set.contains(Element(c.arguments[index])) { c.reply.integer(1) } else { c.reply.integer(0) }
        }
    }

    static func smembers(_ c: inout CommandContext) {
        switch c.fetch(c.key(1), in: c.database, \.set) {
        case .wrongType: return
        case .missing: c.reply.setHeader(0)
        case .found(let set): replySet(&c, set.members)
        }
    }

    static func replySet(_ c: inout CommandContext, _ members: [Element]) {
        c.reply.setHeader(members.count)
        for member in members { member.withBytes { c.reply.bulk($0) } }
    }

    static func spop(_ c: inout CommandContext) {
        var count: Int?
        if c.argumentCount == 3 {
            guard let value = c.countOrReply(2) else { return }
            count = value
        } else if c.argumentCount > 3 {
            c.error(Errors.syntax)
            return
        }
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.set) {
        case .wrongType:
            return
        case .missing:
            if count == nil { c.reply.null() } else { c.reply.setHeader(0) }
        case .found(let set):
            let wanted = min(count ?? 1, set.count)
            let emptied = wanted == set.count
            var popped: [Element] = []
            for _ in 0 ..< wanted {
                let member = set.member(at: Int.random(in: 0 ..< set.count))
                set.remove(member)
                popped.append(member)
            }
            if count == nil { popped[0].withBytes { c.reply.bulk($0) } } else { replySet(&c, popped) }
            if !popped.isEmpty {
                c.changed(key, .set, "spop", in: db, dirty: popped.count, remaining: set.count)
            }
            // A replica removes the very members popped: SREM each, or DEL for them all.
            if count != nil && emptied && !popped.isEmpty {
                c.propagate([Array("DEL".utf8), c.bytes(1)])
            } else {
                for member in popped { c.propagate([Array("SREM".utf8), c.bytes(1), member.bytes]) }
                if popped.isEmpty { c.propagateNothing() }
            }
        }
    }

    static func srandmember(_ c: inout CommandContext) {
        guard let (count, _) = RandomPick.parse(&c, option: nil) else { return }
        switch c.fetch(c.key(1), in: c.database, \.set) {
        case .wrongType:
            return
        case .missing:
            if count == nil { c.reply.null() } else { c.reply.arrayHeader(0) }
        case .found(let set):
            guard let count else {
                set.member(at: Int.random(in: 0 ..< set.count)).withBytes { c.reply.bulk($0) }
                return
            }
            let positions = RandomPick.positions(count: count, size: set.count)
            c.reply.arrayHeader(positions.count)
            for position in positions { set.member(at: position).withBytes { c.reply.bulk($0) } }
        }
    }

    static func smove(_ c: inout CommandContext) {
        let db = c.database
        let source = c.key(1), destination = c.key(2)
        let member = Element(c.arguments[3])
        let sourceSet: SetValue
        switch c.fetch(source, in: db, \.set) {
        case .wrongType: return
        case .missing:
            c.reply.integer(0)
            return
        case .found(let found): sourceSet = found
        }
        if let existing = db.lookup(destination), existing.value.set == nil {
            c.error(Errors.wrongType)
            return
        }
        if c.arguments[1].elementsEqual(c.arguments[2]) {
            c.reply.integer(sourceSet.contains(member) ? 1 : 0)
            return
        }
        guard sourceSet.remove(member) else {
            c.reply.integer(0)
            return
        }
        c.changed(source, .set, "srem", in: db, dirty: 0, remaining: sourceSet.count)
        guard let target = c.fetchOrCreate(destination, in: db, \.set, make: { .set(SetValue()) }) else { return }
        if target.insert(member, limits: c.keyspace.encodingLimits) {
            db.modified(destination)
            c.notify(.set, "sadd", destination)
        }
        c.dirty()
        c.reply.integer(1)
    }

    // MARK: Algebra

    enum Operation { case intersection, union, difference }

    /// The sets at argument positions `keys` (missing keys count as empty, and are read
    /// misses even for the STORE forms); nil after WRONGTYPE.
    private static func sets(_ c: inout CommandContext, _ keys: Range<Int>) -> [SetValue?]? {
        let db = c.database
        var sets: [SetValue?] = []
        for index in keys {
            guard let entry = c.read(c.key(index), in: db) else {
                sets.append(nil)
                continue
            }
            guard let set = entry.value.set else {
                c.error(Errors.wrongType)
                return nil
            }
            sets.append(set)
        }
        return sets
    }

    static func combine(_ sets: [SetValue?], _ operation: Operation) -> [Element] {
        switch operation {
        case .intersection:
            guard !sets.contains(where: { $0 == nil }) else { return [] }
            let ordered = sets.compactMap { $0 }.sorted { $0.count < $1.count }
            guard let smallest = ordered.first else { return [] }
            return smallest.members.filter { member in ordered.dropFirst().allSatisfy { $0.contains(member) } }
        case .union:
            var seen = Set<Element>()
            var result: [Element] = []
            for set in sets.compactMap({ $0 }) {
                set.forEach { if seen.insert($0).inserted { result.append($0) } }
            }
            return result
        case .difference:
            guard let first = sets.first, let base = first else { return [] }
            let others = sets.dropFirst().compactMap { $0 }
            return base.members.filter { member in !others.contains { $0.contains(member) } }
        }
    }

    static func sinter(_ c: inout CommandContext) { reply(&c, .intersection) }
    static func sunion(_ c: inout CommandContext) { reply(&c, .union) }
    static func sdiff(_ c: inout CommandContext) { reply(&c, .difference) }

    private static func reply(_ c: inout CommandContext, _ operation: Operation) {
        guard let sets = sets(&c, 1 ..< c.argumentCount) else { return }
        replySet(&c, combine(sets, operation))
    }

    static func sinterstore(_ c: inout CommandContext) { store(&c, .intersection, event: "sinterstore") }
    static func sunionstore(_ c: inout CommandContext) { store(&c, .union, event: "sunionstore") }
    static func sdiffstore(_ c: inout CommandContext) { store(&c, .difference, event: "sdiffstore") }

    private static func store(_ c: inout CommandContext, _ operation: Operation, event: String) {
        guard let sets = sets(&c, 2 ..< c.argumentCount) else { return }
        let members = combine(sets, operation)
        let db = c.database
        let destination = c.key(1)
        if members.isEmpty {
            if db.discard(destination) { c.notify(.generic, "del", destination) }
        } else {
            let result = SetValue()
            for member in members { result.insert(member, limits: c.keyspace.encodingLimits) }
            c.store(destination, Entry.make(key: destination.bytes, value: .set(result), expireAt: 0, access: db.access), in: db)
            c.notify(.set, event, destination)
        }
        c.dirty()
        c.reply.integer(members.count)
    }

    static func sintercard(_ c: inout CommandContext) {
        guard let numkeys = c.integer(1), numkeys > 0 else {
            c.error(Errors.numkeysNotPositive)
            return
        }
        guard numkeys <= c.argumentCount - 2 else {
            c.error(Errors.tooManyKeys)
            return
        }
        var limit = 0
        var index = 2 + numkeys
        while index < c.argumentCount {
            guard c.argument(index, is: "LIMIT"), index + 1 < c.argumentCount else {
                c.error(Errors.syntax)
                return
            }
            guard let value = c.integer(index + 1), value >= 0 else {
                c.error(Errors.negativeLimit)
                return
            }
            limit = value
            index += 2
        }
        guard let sets = sets(&c, 2 ..< 2 + numkeys) else { return }
        let count = combine(sets, .intersection).count
        c.reply.integer(limit > 0 ? min(limit, count) : count)
    }

    static func sscan(_ c: inout CommandContext) {
        ScanOptions.scanCollection(&c, \.set) { c, set, options in
            var found: [Element] = []
            let next = options.step(size: set.count, whole: set.encodingName == "intset") { position in
                let member = set.member(at: position)
                if options.matches(member) { found.append(member) }
            }
            ScanOptions.reply(&c, cursor: next, found)
        }
    }
}
