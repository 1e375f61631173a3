import Engine

/// The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
///
/// Each does its non-blocking work when a key has data; otherwise it parks the client (see
/// `BlockedClient`) and runs again, in serving mode, when a write feeds one of its keys.
enum BlockingPopCommands {
    static let table: [Command] = [
        Command("blpop", arity: -3, flags: [.write, .noScript, .blocking], categories: [.list],
                keys: [.keys(from: 1, last: -2, "RW access delete")], group: "list", since: "2.0.0",
                summary: "Pops the first element of the first non-empty list, waiting for one.", handler: blpop),
        Command("brpop", arity: -3, flags: [.write, .noScript, .blocking], categories: [.list],
                keys: [.keys(from: 1, last: -2, "RW access delete")], group: "list", since: "2.0.0",
                summary: "Pops the last element of the first non-empty list, waiting for one.", handler: brpop),
        Command("blmove", arity: 6, flags: [.write, .denyOOM, .noScript, .blocking], categories: [.list],
                keys: [.key(1, "RW access delete"), .key(2, "RW insert")], group: "list", since: "6.2.0",
                summary: "Moves an element between lists, waiting for the source to have one.", handler: blmove),
        Command("brpoplpush", arity: 4, flags: [.write, .denyOOM, .noScript, .blocking], categories: [.list],
                keys: [.key(1, "RW access delete"), .key(2, "RW insert")], group: "list", since: "2.2.0",
                summary: "Moves the last element of a list to the head of another, waiting for one.", handler: brpoplpush),
        Command("blmpop", arity: -5, flags: [.write, .blocking], categories: [.list],
                keys: [KeySpec("RW access delete", .index(2), .keynum(index: 0, firstKey: 1, step: 1))], group: "list", since: "7.0.0",
                summary: "Pops elements from the first non-empty list of several, waiting for one.", handler: blmpop),
        Command("bzpopmin", arity: -3, flags: [.write, .noScript, .blocking, .fast], categories: [.sortedSet],
                keys: [.keys(from: 1, last: -2, "RW access delete")], group: "sorted_set", since: "5.0.0",
                summary: "Pops the lowest-scored member of the first non-empty sorted set, waiting for one.", handler: bzpopmin),
        Command("bzpopmax", arity: -3, flags: [.write, .noScript, .blocking, .fast], categories: [.sortedSet],
                keys: [.keys(from: 1, last: -2, "RW access delete")], group: "sorted_set", since: "5.0.0",
                summary: "Pops the highest-scored member of the first non-empty sorted set, waiting for one.", handler: bzpopmax),
        Command("bzmpop", arity: -5, flags: [.write, .blocking], categories: [.sortedSet],
                keys: [KeySpec("RW access delete", .index(2), .keynum(index: 0, firstKey: 1, step: 1))], group: "sorted_set",
                since: "7.0.0", summary: "Pops members from the first non-empty sorted set of several, waiting for one.", handler: bzmpop),
    ]

    static func blpop(_ c: inout CommandContext) { popFirstList(&c, .head) }
    static func brpop(_ c: inout CommandContext) { popFirstList(&c, .tail) }

    /// `key [key ...] timeout`: replies `[key, element]` from the first non-empty list.
    private static func popFirstList(_ c: inout CommandContext, _ end: ListCommands.End) {
        guard let deadline = c.blockingDeadline(at: c.argumentCount - 1) else { return }
        let db = c.database
        let keys = Array(1 ..< c.argumentCount - 1)
        for index in keys {
            switch c.waitedValue(index, in: db, \.list) {
            case .wrongType: return
            case .missing: continue
            case .found(let list):
                let key = c.key(index)
                let element = ListCommands.take(list, from: end, count: 1)[0]
                c.reply.arrayHeader(2)
                c.reply.bulk(c.arguments[index])
                element.withBytes { c.reply.bulk($0) }
                c.changed(key, .list, end.popEvent, in: db, remaining: list.count)
                c.propagate([Array(end.popEvent.uppercased().utf8), c.bytes(index)])
                return
            }
        }
        c.block(onKeysAt: keys, deadline: deadline)
    }

    static func blmove(_ c: inout CommandContext) {
        guard let from = ListCommands.End(c.arguments[3]), let to = ListCommands.End(c.arguments[4]) else {
            return c.error(Errors.syntax)
        }
        guard let deadline = c.blockingDeadline(at: 5) else { return }
        guard moveOrBlock(&c, from: from, to: to, deadline: deadline) else { return }
        // As LMOVE: with the client's words, or Redis's own when the move served a waiting client.
        let ends: [[UInt8]]
        if case .serving = c.blocking { ends = [from, to].map { Array(($0 == .head ? "left" : "right").utf8) } } else { ends = [c.bytes(3), c.bytes(4)] }
        c.propagate([Array("LMOVE".utf8), c.bytes(1), c.bytes(2)] + ends)
    }

    static func brpoplpush(_ c: inout CommandContext) {
        guard let deadline = c.blockingDeadline(at: 3) else { return }
        guard moveOrBlock(&c, from: .tail, to: .head, deadline: deadline) else { return }
        c.propagate([Array("RPOPLPUSH".utf8), c.bytes(1), c.bytes(2)])
    }

    /// Moves when the source has an element, else blocks; true when it moved.
    private static func moveOrBlock(_ c: inout CommandContext, from: ListCommands.End, to: ListCommands.End, deadline: Int64) -> Bool {
        switch c.waitedValue(1, in: c.database, \.list) {
        case .wrongType: return false
        case .missing:
            c.block(onKeysAt: [1], deadline: deadline, nullBulkInTransaction: true)
            return false
        case .found: return ListCommands.move(&c, from: from, to: to)
        }
    }

    static func blmpop(_ c: inout CommandContext) {
        guard let deadline = c.blockingDeadline(at: 1),
              let request = MultiPop.parse(&c, firstKey: 3, numkeysAt: 2, endWords: true) else { return }
        if !MultiPop.popList(&c, request) {
            c.block(onKeysAt: request.keys, deadline: deadline)
        }
    }

    static func bzpopmin(_ c: inout CommandContext) { popFirstSortedSet(&c, highest: false) }
    static func bzpopmax(_ c: inout CommandContext) { popFirstSortedSet(&c, highest: true) }

    /// `key [key ...] timeout`: replies `[key, member, score]` from the first non-empty sorted set.
    private static func popFirstSortedSet(_ c: inout CommandContext, highest: Bool) {
        guard let deadline = c.blockingDeadline(at: c.argumentCount - 1) else { return }
        let db = c.database
        let keys = Array(1 ..< c.argumentCount - 1)
        for index in keys {
            switch c.waitedValue(index, in: db, \.sortedSet) {
            case .wrongType: return
            case .missing: continue
            case .found(let set):
                let key = c.key(index)
                let (member, score) = SortedSetCommands.take(set, highest: highest, count: 1)[0]
                c.reply.arrayHeader(3)
                c.reply.bulk(c.arguments[index])
                member.withBytes { c.reply.bulk($0) }
                c.reply.double(score)
                c.changed(key, .sortedSet, highest ? "zpopmax" : "zpopmin", in: db, remaining: set.count)
                c.propagate([Array((highest ? "ZPOPMAX" : "ZPOPMIN").utf8), c.bytes(index)])
                return
            }
        }
        c.block(onKeysAt: keys, deadline: deadline)
    }

    static func bzmpop(_ c: inout CommandContext) {
        guard let deadline = c.blockingDeadline(at: 1),
              let request = MultiPop.parse(&c, firstKey: 3, numkeysAt: 2, endWords: false) else { return }
        if !SortedSetCommands.popSortedSet(&c, request) {
            c.block(onKeysAt: request.keys, deadline: deadline)
        }
    }
}
