import Engine
import RESP

/// SORT and SORT_RO over lists, sets and sorted sets: numeric or ALPHA order, BY and GET
/// patterns (`weight_*`, `data_*->field`, `#`), LIMIT, and STORE into a list.
///
/// A `BY`/`GET` pattern names keys that come from the data, so a call using one runs with
/// every shard locked; other calls lock only the source and the STORE destination.
enum SortCommands {
    static let table: [Command] = [
        Command("sort", arity: -2, flags: [.write, .denyOOM], categories: [.set, .sortedSet, .list, .dangerous],
                keys: [.key(1, "RO access"), KeySpec("RO access", .unknown, .unknown), KeySpec("OW update", .unknown, .unknown)],
                group: "generic", summary: "Sorts the elements of a list, set or sorted set, optionally storing the result.",
                keyFinder: { keyPositions($0, readOnly: false) }, locksWholeKeyspace: usesPatterns, handler: sort),
        Command("sort_ro", arity: -2, flags: [.readonly], categories: [.set, .sortedSet, .list, .dangerous],
                keys: [.key(1, "RO access"), KeySpec("RO access", .unknown, .unknown)], group: "generic", since: "7.0.0",
                summary: "Sorts the elements of a list, set or sorted set.",
                keyFinder: { keyPositions($0, readOnly: true) }, locksWholeKeyspace: usesPatterns, handler: sortReadOnly),
    ]

    /// The source key and, for SORT, the last STORE destination (skipping LIMIT/GET/BY operands).
    static func keyPositions(_ arguments: Arguments, readOnly: Bool) -> [Int] {
        var positions = [1]
        var store: Int?
        var index = 2
        while index < arguments.count {
            let word = arguments[index]
            if word.equalsIgnoringCase("LIMIT") { index += 2 }
            else if word.equalsIgnoringCase("GET") || word.equalsIgnoringCase("BY") { index += 1 }
            else if !readOnly && word.equalsIgnoringCase("STORE") && index + 1 < arguments.count { store = index + 1 }
            index += 1
        }
        if let store { positions.append(store) }
        return positions
    }

    /// Whether a BY or GET operand is a pattern that reads other keys.
    static func usesPatterns(_ arguments: Arguments) -> Bool {
        var index = 2
        while index + 1 < arguments.count {
            if arguments[index].equalsIgnoringCase("BY") || arguments[index].equalsIgnoringCase("GET") {
                let operand = arguments[index + 1]
                if operand.contains(UInt8(ascii: "*")) { return true }
                index += 1
            } else if arguments[index].equalsIgnoringCase("LIMIT") {
                index += 2
            }
            index += 1
        }
        return false
    }

    static func sort(_ c: inout CommandContext) { run(&c, readOnly: false) }
    static func sortReadOnly(_ c: inout CommandContext) { run(&c, readOnly: true) }

    /// One element being sorted, with what it is compared by.
    private struct Item {
        var element: Element
        var score = 0.0
        /// The BY value for ALPHA with a pattern; nil when the pattern finds nothing.
        var alphaKey: Element?
    }

    private static func run(_ c: inout CommandContext, readOnly: Bool) {
        var descending = false, alpha = false
        var offset = -1, count = -1
        var by: [UInt8]?
        var sorts = true
        var gets: [[UInt8]] = []
        var store: Int?
        var index = 2
        while index < c.argumentCount {
            let left = c.argumentCount - index - 1
            if c.argument(index, is: "ASC") { descending = false }
            else if c.argument(index, is: "DESC") { descending = true }
            else if c.argument(index, is: "ALPHA") { alpha = true }
            else if c.argument(index, is: "LIMIT") && left >= 2 {
                guard let start = c.integerOrReply(index + 1), let limit = c.integerOrReply(index + 2) else { return }
                offset = start
                count = limit
                index += 2
            } else if !readOnly && c.argument(index, is: "STORE") && left >= 1 {
                store = index + 1
                index += 1
            } else if c.argument(index, is: "BY") && left >= 1 {
                let pattern = c.bytes(index + 1)
                by = pattern
                // A BY without `*` (`BY nosort`) means "do not sort".
                if !pattern.contains(UInt8(ascii: "*")) { sorts = false }
                index += 1
            } else if c.argument(index, is: "GET") && left >= 1 {
                gets.append(c.bytes(index + 1))
                index += 1
            } else {
                return c.error(Errors.syntax)
            }
            index += 1
        }

        let db = c.database
        var items: [Item] = []
        var sourceIsSet = false
        if let entry = c.read(c.key(1), in: db) {
            switch entry.value {
            case .list(let list): items = list.items.map { Item(element: $0) }
            case .set(let set):
                items = set.members.map { Item(element: $0) }
                sourceIsSet = true
            case .sortedSet(let set):
                items = set.members(ranks: 0 ..< set.count).map { Item(element: $0.member) }
            default:
                return c.error(Errors.wrongType)
            }
        }
        // A stored result must not depend on a set's internal order: sort it anyway.
        if !sorts && sourceIsSet && store != nil {
            sorts = true
            alpha = true
            by = nil
        }
        if !sorts && descending { items.reverse() }

        if sorts {
            for position in items.indices {
                let value = by.flatMap { lookup(&c, pattern: $0, element: items[position].element, in: db) }
                if alpha {
                    if by != nil { items[position].alphaKey = value }
                    continue
                }
                if by != nil && value == nil { continue }
                guard let score = (value ?? items[position].element).withBytes({ NumberFormat.parseLenientDouble($0, refusingOverflow: true) }) else {
                    return c.error(Errors.sortScoreNotDouble)
                }
                items[position].score = score
            }
            let byPattern = by != nil
            items.sort { a, b in
                let order = compare(a, b, alpha: alpha, byPattern: byPattern)
                return descending ? order > 0 : order < 0
            }
        }

        // LIMIT comes from the client: clamped to the items before any arithmetic.
        let start = min(max(offset, 0), items.count)
        var end = count < 0 ? items.count - 1 : start + min(count, items.count) - 1
        let selected: ArraySlice<Item>
        if start >= items.count || end < start {
            selected = []
        } else {
            end = min(end, items.count - 1)
            selected = items[start ... end]
        }

        if let store {
            let list = ListValue()
            for item in selected {
                if gets.isEmpty {
                    list.items.append(item.element)
                } else {
                    for pattern in gets { list.items.append(lookup(&c, pattern: pattern, element: item.element, in: db) ?? Element([])) }
                }
            }
            let destination = c.key(store)
            if list.count > 0 {
                c.store(destination, Entry.make(key: destination.bytes, value: .list(list), expireAt: 0, access: db.access), in: db)
                c.notify(.list, "sortstore", destination)
            } else if db.discard(destination) {
                c.notify(.generic, "del", destination)
            }
            c.dirty(list.count)
            c.reply.integer(list.count)
            return
        }
        c.reply.arrayHeader(selected.count * max(gets.count, 1))
        for item in selected {
            if gets.isEmpty {
                item.element.withBytes { c.reply.bulk($0) }
            }
            for pattern in gets {
                if let value = lookup(&c, pattern: pattern, element: item.element, in: db) {
                    value.withBytes { c.reply.bulk($0) }
                } else {
                    c.reply.null()
                }
            }
        }
    }

    /// Redis's comparison: numbers by score then by the elements' bytes; ALPHA by the BY value
    /// (a missing one first) or the elements themselves.
    private static func compare(_ a: Item, _ b: Item, alpha: Bool, byPattern: Bool) -> Int {
        if !alpha {
            if a.score != b.score { return a.score < b.score ? -1 : 1 }
            return a.element == b.element ? 0 : (a.element < b.element ? -1 : 1)
        }
        if byPattern {
            switch (a.alphaKey, b.alphaKey) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?): return x == y ? 0 : (x < y ? -1 : 1)
            }
        }
        return a.element == b.element ? 0 : (a.element < b.element ? -1 : 1)
    }

    /// The value a pattern names for an element: `#` is the element itself; otherwise the
    /// first `*` is replaced by the element, and a `->field` suffix reads a hash field. Nil
    /// when there is no `*`, the key is missing or holds the wrong kind of value.
    static func lookup(_ c: inout CommandContext, pattern: [UInt8], element: Element, in db: Database) -> Element? {
        if pattern == [UInt8(ascii: "#")] { return element }
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var keyEnd = pattern.count
        var field: Element?
        if let arrow = findArrow(pattern, after: star), arrow + 2 < pattern.count {
            keyEnd = arrow
            field = Element(Array(pattern[(arrow + 2)...]))
        }
        let name = Array(pattern[..<star]) + element.bytes + Array(pattern[(star + 1) ..< keyEnd])
        return name.withUnsafeBytes { bytes -> Element? in
            guard let entry = c.read(Key(bytes), in: db) else { return nil }
            if let field {
                return entry.value.hash?[field]
            }
            guard entry.value.isString else { return nil }
            return StringValues.withBytes(entry) { Element($0) }
        }
    }

    private static func findArrow(_ pattern: [UInt8], after star: Int) -> Int? {
        var index = star + 1
        while index + 1 < pattern.count {
            if pattern[index] == UInt8(ascii: "-") && pattern[index + 1] == UInt8(ascii: ">") { return index }
            index += 1
        }
        return nil
    }
}
