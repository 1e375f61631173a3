import Config
import DequeModule
import Engine

/// List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET, LINSERT,
/// LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP. (The blocking forms are in BlockingPopCommands.)
///
/// Needletail keeps a list as one double-ended queue of elements (short elements inline);
/// OBJECT ENCODING reports `quicklist`, as Redis 7.0 does for every list.
enum ListCommands {
    static let table: [Command] = [
        Command("lpush", arity: -3, flags: [.write, .denyOOM, .fast], categories: [.list], keys: [.key(1, "RW insert")], group: "list",
                summary: "Prepends elements to a list.", handler: lpush),
        Command("rpush", arity: -3, flags: [.write, .denyOOM, .fast], categories: [.list], keys: [.key(1, "RW insert")], group: "list",
                summary: "Appends elements to a list.", handler: rpush),
        Command("lpushx", arity: -3, flags: [.write, .denyOOM, .fast], categories: [.list], keys: [.key(1, "RW insert")], group: "list",
                since: "2.2.0", summary: "Prepends elements to an existing list.", handler: lpushx),
        Command("rpushx", arity: -3, flags: [.write, .denyOOM, .fast], categories: [.list], keys: [.key(1, "RW insert")], group: "list",
                since: "2.2.0", summary: "Appends elements to an existing list.", handler: rpushx),
        Command("lpop", arity: -2, flags: [.write, .fast], categories: [.list], keys: [.key(1, "RW access delete")], group: "list",
                summary: "Removes and returns elements from the head of a list.", handler: lpop),
        Command("rpop", arity: -2, flags: [.write, .fast], categories: [.list], keys: [.key(1, "RW access delete")], group: "list",
                summary: "Removes and returns elements from the tail of a list.", handler: rpop),
        Command("llen", arity: 2, flags: [.readonly, .fast], categories: [.list], keys: [.key(1, "RO")], group: "list",
                summary: "The length of a list.", handler: llen),
        Command("lrange", arity: 4, flags: [.readonly], categories: [.list], keys: [.key(1, "RO access")], group: "list",
                summary: "A range of a list's elements.", handler: lrange),
        Command("lindex", arity: 3, flags: [.readonly], categories: [.list], keys: [.key(1, "RO access")], group: "list",
                summary: "The element at an index of a list.", handler: lindex),
        Command("lset", arity: 4, flags: [.write, .denyOOM], categories: [.list], keys: [.key(1, "RW update")], group: "list",
                summary: "Replaces the element at an index of a list.", handler: lset),
        Command("linsert", arity: 5, flags: [.write, .denyOOM], categories: [.list], keys: [.key(1, "RW insert")], group: "list",
                since: "2.2.0", summary: "Inserts an element before or after another.", handler: linsert),
        Command("lrem", arity: 4, flags: [.write], categories: [.list], keys: [.key(1, "RW delete")], group: "list",
                summary: "Removes occurrences of an element.", handler: lrem),
        Command("ltrim", arity: 4, flags: [.write], categories: [.list], keys: [.key(1, "RW delete")], group: "list",
                summary: "Keeps only a range of a list.", handler: ltrim),
        Command("lpos", arity: -3, flags: [.readonly], categories: [.list], keys: [.key(1, "RO access")], group: "list",
                since: "6.0.6", summary: "The indexes of an element in a list.", handler: lpos),
        Command("lmove", arity: 5, flags: [.write, .denyOOM], categories: [.list], keys: [.key(1, "RW access delete"), .key(2, "RW insert")],
                group: "list", since: "6.2.0", summary: "Moves an element from one end of a list to an end of another.", handler: lmove),
        Command("rpoplpush", arity: 3, flags: [.write, .denyOOM], categories: [.list], keys: [.key(1, "RW access delete"), .key(2, "RW insert")],
                group: "list", since: "1.2.0", summary: "Moves the last element of a list to the head of another.", handler: rpoplpush),
        Command("lmpop", arity: -4, flags: [.write], categories: [.list],
                keys: [KeySpec("RW access delete", .index(1), .keynum(index: 0, firstKey: 1, step: 1))], group: "list", since: "7.0.0",
                summary: "Pops elements from the first non-empty list of several.", handler: lmpop),
    ]

    enum End {
        case head, tail

        init?(_ word: UnsafeRawBufferPointer) {
            if word.equalsIgnoringCase("LEFT") { self = .head } else if word.equalsIgnoringCase("RIGHT") { self = .tail } else { return nil }
        }

        var pushEvent: String { self == .head ? "lpush" : "rpush" }
        var popEvent: String { self == .head ? "lpop" : "rpop" }
    }

    static func lpush(_ c: inout CommandContext) { push(&c, .head, onlyIfExists: false) }
    static func rpush(_ c: inout CommandContext) { push(&c, .tail, onlyIfExists: false) }
    static func lpushx(_ c: inout CommandContext) { push(&c, .head, onlyIfExists: true) }
    static func rpushx(_ c: inout CommandContext) { push(&c, .tail, onlyIfExists: true) }

    private static func push(_ c: inout CommandContext, _ end: End, onlyIfExists: Bool) {
        let db = c.database
        let key = c.key(1)
        let list: ListValue
        if onlyIfExists {
            switch c.fetch(key, in: db, \.list) {
            case .wrongType: return
            case .missing:
                c.reply.integer(0)
                return
            case .found(let found): list = found
            }
        } else {
            guard let found = c.fetchOrCreate(key, in: db, \.list, make: { .list(ListValue()) }) else { return }
            list = found
        }
        for index in 2 ..< c.argumentCount {
            let element = Element(c.arguments[index])
            if end == .head { list.items.prepend(element) } else { list.items.append(element) }
        }
        c.changed(key, .list, end.pushEvent, in: db, dirty: c.argumentCount - 2)
        c.reply.integer(list.count)
    }

    static func lpop(_ c: inout CommandContext) { pop(&c, .head) }
    static func rpop(_ c: inout CommandContext) { pop(&c, .tail) }

    private static func pop(_ c: inout CommandContext, _ end: End) {
        guard c.argumentCount <= 3 else {
            c.error(Errors.wrongArity(end.popEvent))
            return
        }
        var count: Int?
        if c.argumentCount == 3 {
            guard let value = c.countOrReply(2) else { return }
            count = value
        }
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.list) {
        case .wrongType:
            return
        case .missing:
            if count == nil { c.reply.null() } else { c.reply.nullArray() }
        case .found(let list):
            let popped = take(list, from: end, count: count ?? 1)
            if count == nil {
                popped[0].withBytes { c.reply.bulk($0) }
            } else {
                c.reply.arrayHeader(popped.count)
                for element in popped { element.withBytes { c.reply.bulk($0) } }
            }
            if !popped.isEmpty {
                c.changed(key, .list, end.popEvent, in: db, dirty: popped.count, remaining: list.count)
            }
        }
    }

    /// Removes up to `count` elements from one end, in the order they come off.
    static func take(_ list: ListValue, from end: End, count: Int) -> [Element] {
        let taken = min(count, list.count)
        var popped: [Element] = []
        popped.reserveCapacity(taken)
        for _ in 0 ..< taken {
            popped.append(end == .head ? list.items.removeFirst() : list.items.removeLast())
        }
        return popped
    }

    static func llen(_ c: inout CommandContext) {
        c.replyInteger(\.list) { $0.count }
    }

    /// Redis's range arithmetic: negative indexes from the end, clamped; nil when empty.
    static func clampedRange(start: Int, stop: Int, count: Int) -> ClosedRange<Int>? {
        var start = start < 0 ? count + start : start
        var stop = stop < 0 ? count + stop : stop
        if start < 0 { start = 0 }
        guard start <= stop, start < count else { return nil }
        if stop >= count { stop = count - 1 }
        return start ... stop
    }

    static func lrange(_ c: inout CommandContext) {
        guard let start = c.integerOrReply(2), let stop = c.integerOrReply(3) else { return }
        switch c.fetch(c.key(1), in: c.database, \.list) {
        case .wrongType: return
        case .missing: c.reply.arrayHeader(0)
        case .found(let list):
            guard let range = clampedRange(start: start, stop: stop, count: list.count) else {
                c.reply.arrayHeader(0)
                return
            }
            c.reply.arrayHeader(range.count)
            for index in range { list.items[index].withBytes { c.reply.bulk($0) } }
        }
    }

    static func lindex(_ c: inout CommandContext) {
        switch c.fetch(c.key(1), in: c.database, \.list) {
        case .wrongType: return
        case .missing: c.reply.null()
        case .found(let list):
            guard let index = c.integerOrReply(2) else { return }
            if let position = list.position(index) { list.items[position].withBytes { c.reply.bulk($0) } } else { c.reply.null() }
        }
    }

    static func lset(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.list) {
        case .wrongType: return
        case .missing: c.error(Errors.noSuchKey)
        case .found(let list):
            guard let index = c.integerOrReply(2) else { return }
            guard let position = list.position(index) else {
                c.error(Errors.indexOutOfRange)
                return
            }
            list.items[position] = Element(c.arguments[3])
            c.changed(key, .list, "lset", in: db)
            c.reply.ok()
        }
    }

    static func linsert(_ c: inout CommandContext) {
        let after: Bool
        if c.argument(2, is: "BEFORE") { after = false } else if c.argument(2, is: "AFTER") { after = true } else {
            c.error(Errors.syntax)
            return
        }
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.list) {
        case .wrongType: return
        case .missing: c.reply.integer(0)
        case .found(let list):
            let pivot = Element(c.arguments[3])
            guard let position = list.items.firstIndex(of: pivot) else {
                c.reply.integer(-1)
                return
            }
            list.items.insert(Element(c.arguments[4]), at: after ? position + 1 : position)
            c.changed(key, .list, "linsert", in: db)
            c.reply.integer(list.count)
        }
    }

    static func lrem(_ c: inout CommandContext) {
        guard let count = c.integerOrReply(2) else { return }
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.list) {
        case .wrongType: return
        case .missing: c.reply.integer(0)
        case .found(let list):
            let target = Element(c.arguments[3])
            let limit = count == 0 ? Int.max : count.magnitude > UInt(Int.max) ? Int.max : Int(count.magnitude)
            var removed = 0
            var kept = Deque<Element>()
            kept.reserveCapacity(list.count)
            if count >= 0 {
                for element in list.items {
                    if removed < limit && element == target { removed += 1 } else { kept.append(element) }
                }
            } else {
                for element in list.items.reversed() {
                    if removed < limit && element == target { removed += 1 } else { kept.prepend(element) }
                }
            }
            if removed > 0 {
                list.items = kept
                c.changed(key, .list, "lrem", in: db, dirty: removed, remaining: list.count)
            }
            c.reply.integer(removed)
        }
    }

    static func ltrim(_ c: inout CommandContext) {
        guard let start = c.integerOrReply(2), let stop = c.integerOrReply(3) else { return }
        let db = c.database
        let key = c.key(1)
        switch c.fetch(key, in: db, \.list) {
        case .wrongType: return
        case .missing: c.reply.ok()
        case .found(let list):
            let before = list.count
            if let range = clampedRange(start: start, stop: stop, count: list.count) {
                list.items.removeLast(list.count - 1 - range.upperBound)
                list.items.removeFirst(range.lowerBound)
            } else {
                list.items.removeAll()
            }
            c.changed(key, .list, "ltrim", in: db, dirty: before - list.count, remaining: list.count)
            c.reply.ok()
        }
    }

    static func lpos(_ c: inout CommandContext) {
        var rank = 1, count: Int?, maxLength = 0
        var index = 3
        while index < c.argumentCount {
            guard index + 1 < c.argumentCount else {
                c.error(Errors.syntax)
                return
            }
            if c.argument(index, is: "RANK") {
                guard let value = c.integerOrReply(index + 1) else { return }
                guard value != 0 else {
                    c.error(Errors.rankZero)
                    return
                }
                rank = value
            } else if c.argument(index, is: "COUNT") {
                // Redis gives the same error for a negative number and for no number at all.
                guard let value = c.integer(index + 1), value >= 0 else {
                    c.error(Errors.negativeCount)
                    return
                }
                count = value
            } else if c.argument(index, is: "MAXLEN") {
                guard let value = c.integer(index + 1), value >= 0 else {
                    c.error(Errors.negativeMaxLength)
                    return
                }
                maxLength = value
            } else {
                c.error(Errors.syntax)
                return
            }
            index += 2
        }
        switch c.fetch(c.key(1), in: c.database, \.list) {
        case .wrongType: return
        case .missing:
            if count == nil { c.reply.null() } else { c.reply.arrayHeader(0) }
        case .found(let list):
            let target = Element(c.arguments[2])
            let fromTail = rank < 0
            // Matches to skip before reporting: |rank| - 1 (Int.min behaves as -1, as in Redis).
            let skip = rank == Int.min ? 0 : Int(rank.magnitude) - 1
            var matches: [Int] = []
            var seen = 0, compared = 0
            let wanted = count.map { $0 == 0 ? Int.max : $0 } ?? 1
            var position = fromTail ? list.count - 1 : 0
            while position >= 0 && position < list.count && (maxLength == 0 || compared < maxLength) && matches.count < wanted {
                if list.items[position] == target {
                    if seen >= skip { matches.append(position) }
                    seen += 1
                }
                compared += 1
                position += fromTail ? -1 : 1
            }
            if count == nil {
                if let first = matches.first { c.reply.integer(first) } else { c.reply.null() }
            } else {
                c.reply.arrayHeader(matches.count)
                for match in matches { c.reply.integer(match) }
            }
        }
    }

    static func lmove(_ c: inout CommandContext) {
        guard let from = End(c.arguments[3]), let to = End(c.arguments[4]) else {
            c.error(Errors.syntax)
            return
        }
        move(&c, from: from, to: to)
    }

    static func rpoplpush(_ c: inout CommandContext) {
        move(&c, from: .tail, to: .head)
    }

    /// LMOVE's work, shared with BLMOVE and BRPOPLPUSH: one element from the source's `from`
    /// end to the destination's `to` end. Returns false (after replying null) when the source
    /// is missing.
    @discardableResult
    static func move(_ c: inout CommandContext, from: End, to: End) -> Bool {
        let db = c.database
        let source = c.key(1), destination = c.key(2)
        guard case .found(let list) = c.fetch(source, in: db, \.list) else {
            if db.lookup(source) == nil { c.reply.null() }
            return false
        }
        if let existing = db.lookup(destination), existing.value.list == nil {
            c.error(Errors.wrongType)
            return false
        }
        let element = take(list, from: from, count: 1)[0]
        guard let target = c.fetchOrCreate(destination, in: db, \.list, make: { .list(ListValue()) }) else { return false }
        if to == .head { target.items.prepend(element) } else { target.items.append(element) }
        db.modified(destination)
        c.notify(.list, to.pushEvent, destination)
        c.changed(source, .list, from.popEvent, in: db, remaining: list.count)
        element.withBytes { c.reply.bulk($0) }
        return true
    }

    static func lmpop(_ c: inout CommandContext) {
        guard let request = MultiPop.parse(&c, firstKey: 2, numkeysAt: 1, endWords: true) else { return }
        if !MultiPop.popList(&c, request) { c.reply.nullArray() }
    }
}

/// LMPOP / BLMPOP / ZMPOP / BZMPOP arguments: `numkeys key [key ...] <where> [COUNT count]`.
struct MultiPop {
    var keys: [Int]
    var end: ListCommands.End
    var count: Int

    /// Parses the arguments from `numkeysAt`; replies Redis's error and returns nil on bad input.
    /// `endWords` selects LEFT/RIGHT (lists) rather than MIN/MAX (sorted sets).
    static func parse(_ c: inout CommandContext, firstKey: Int, numkeysAt: Int, endWords: Bool) -> MultiPop? {
        guard let numkeys = c.integer(numkeysAt), numkeys > 0 else {
            c.error(Errors.numkeysNotPositive)
            return nil
        }
        guard numkeys <= c.argumentCount - firstKey - 1 else {
            c.error(Errors.syntax)
            return nil
        }
        let whereIndex = firstKey + numkeys
        let end: ListCommands.End
        if endWords, let parsed = ListCommands.End(c.arguments[whereIndex]) {
            end = parsed
        } else if !endWords && c.argument(whereIndex, is: "MIN") {
            end = .head
        } else if !endWords && c.argument(whereIndex, is: "MAX") {
            end = .tail
        } else {
            c.error(Errors.syntax)
            return nil
        }
        var count = 1
        var index = whereIndex + 1
        var countSeen = false
        while index < c.argumentCount {
            guard c.argument(index, is: "COUNT"), index + 1 < c.argumentCount, !countSeen else {
                c.error(Errors.syntax)
                return nil
            }
            guard let value = c.integer(index + 1), value > 0 else {
                c.error(Errors.countNotPositive)
                return nil
            }
            count = value
            countSeen = true
            index += 2
        }
        return MultiPop(keys: Array(firstKey ..< whereIndex), end: end, count: count)
    }

    /// Pops from the first non-empty list; replies `[key, [elements]]` and returns true, or
    /// returns false with nothing replied when every list is empty.
    static func popList(_ c: inout CommandContext, _ request: MultiPop) -> Bool {
        let db = c.database
        for index in request.keys {
            let key = c.key(index)
            switch c.waitedValue(index, in: db, \.list) {
            case .wrongType: return true
            case .missing: continue
            case .found(let list):
                let popped = ListCommands.take(list, from: request.end, count: request.count)
                c.reply.arrayHeader(2)
                c.reply.bulk(c.arguments[index])
                c.reply.arrayHeader(popped.count)
                for element in popped { element.withBytes { c.reply.bulk($0) } }
                c.changed(key, .list, request.end.popEvent, in: db, dirty: popped.count, remaining: list.count)
                // As Redis: [LR]POP key <how many it took>.
                c.propagate([Array(request.end.popEvent.uppercased().utf8), c.bytes(index), Array(String(popped.count).utf8)])
                return true
            }
        }
        return false
    }
}
