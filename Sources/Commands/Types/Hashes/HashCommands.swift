import Config
import Engine
import RESP

/// Hash commands: HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS,
/// HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
enum HashCommands {
    static let table: [Command] = [
        Command("hset", arity: -4, flags: [.write, .denyOOM, .fast], categories: [.hash], keys: [.key(1, "RW update")], group: "hash",
                since: "2.0.0", summary: "Sets fields of a hash.", handler: hset),
        Command("hsetnx", arity: 4, flags: [.write, .denyOOM, .fast], categories: [.hash], keys: [.key(1, "RW insert")], group: "hash",
                since: "2.0.0", summary: "Sets a field of a hash unless it exists.", handler: hsetnx),
        Command("hmset", arity: -4, flags: [.write, .denyOOM, .fast], categories: [.hash], keys: [.key(1, "RW update")], group: "hash",
                since: "2.0.0", summary: "Sets fields of a hash (replies OK).", handler: hmset),
        Command("hget", arity: 3, flags: [.readonly, .fast], categories: [.hash], keys: [.key(1, "RO access")], group: "hash",
                since: "2.0.0", summary: "The value of a field.", handler: hget),
        Command("hmget", arity: -3, flags: [.readonly, .fast], categories: [.hash], keys: [.key(1, "RO access")], group: "hash",
                since: "2.0.0", summary: "The values of several fields.", handler: hmget),
        Command("hdel", arity: -3, flags: [.write, .fast], categories: [.hash], keys: [.key(1, "RW delete")], group: "hash",
                since: "2.0.0", summary: "Removes fields.", handler: hdel),
        Command("hlen", arity: 2, flags: [.readonly, .fast], categories: [.hash], keys: [.key(1, "RO")], group: "hash",
                since: "2.0.0", summary: "How many fields a hash has.", handler: hlen),
        Command("hstrlen", arity: 3, flags: [.readonly, .fast], categories: [.hash], keys: [.key(1, "RO")], group: "hash",
                since: "3.2.0", summary: "The length of a field's value.", handler: hstrlen),
        Command("hexists", arity: 3, flags: [.readonly, .fast], categories: [.hash], keys: [.key(1, "RO")], group: "hash",
                since: "2.0.0", summary: "Whether a field exists.", handler: hexists),
        Command("hkeys", arity: 2, flags: [.readonly], categories: [.hash], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output_order"], group: "hash", since: "2.0.0", summary: "Every field of a hash.", handler: hkeys),
        Command("hvals", arity: 2, flags: [.readonly], categories: [.hash], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output_order"], group: "hash", since: "2.0.0", summary: "Every value of a hash.", handler: hvals),
        Command("hgetall", arity: 2, flags: [.readonly], categories: [.hash], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output_order"], group: "hash", since: "2.0.0", summary: "Every field and value.", handler: hgetall),
        Command("hincrby", arity: 4, flags: [.write, .denyOOM, .fast], categories: [.hash], keys: [.key(1, "RW access update")],
                group: "hash", since: "2.0.0", summary: "Adds to a field's integer value.", handler: hincrby),
        Command("hincrbyfloat", arity: 4, flags: [.write, .denyOOM, .fast], categories: [.hash], keys: [.key(1, "RW access update")],
                group: "hash", since: "2.6.0", summary: "Adds a floating-point number to a field's value.", handler: hincrbyfloat),
        Command("hrandfield", arity: -2, flags: [.readonly], categories: [.hash], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "hash", since: "6.2.0", summary: "Random fields of a hash.", handler: hrandfield),
        Command("hscan", arity: -3, flags: [.readonly], categories: [.hash], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "hash", since: "2.8.0", summary: "Iterates over a hash's fields.", handler: hscan),
    ]

    static func hset(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 0 else {
            c.error(Errors.wrongArity("hset"))
            return
        }
        if let added = setFields(&c) { c.reply.integer(added) }
    }

    static func hmset(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 0 else {
            c.error(Errors.wrongArity("hmset"))
            return
        }
        if setFields(&c) != nil { c.reply.ok() }
    }

    /// Sets the field/value pairs from argument 2 on; returns how many fields are new, or nil
    /// after a WRONGTYPE reply.
    private static func setFields(_ c: inout CommandContext) -> Int? {
        let db = c.database
        let key = c.key(1)
        guard let hash = c.fetchOrCreate(key, in: db, \.hash, make: { .hash(HashValue()) }) else { return nil }
        var added = 0
        for index in stride(from: 2, to: c.argumentCount, by: 2)
            where hash.set(Element(c.arguments[index]), Element(c.arguments[index + 1]), limits: c.keyspace.encodingLimits) {
            added += 1
        }
        c.changed(key, .hash, "hset", in: db, dirty: (c.argumentCount - 2) / 2)
        return added
    }

    static func hsetnx(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        let field = Element(c.arguments[2])
        guard let hash = c.fetchOrCreate(key, in: db, \.hash, make: { .hash(HashValue()) }) else { return }
        guard hash[field] == nil else {
            c.reply.integer(0)
            return
        }
        hash.set(field, Element(c.arguments[3]), limits: c.keyspace.encodingLimits)
        c.changed(key, .hash, "hset", in: db)
        c.reply.integer(1)
    }

    static func hget(_ c: inout CommandContext) {
        switch c.fetch(c.key(1), in: c.database, \.hash) {
        case .wrongType: return
        case .missing: c.reply.null()
        case .found(let hash):
            if let value = hash[Element(c.arguments[2])] { value.withBytes { c.reply.bulk($0) } } else { c.reply.null() }
        }
    }

    static func hmget(_ c: inout CommandContext) {
        let fetched = c.fetch(c.key(1), in: c.database, \.hash)
        if case .wrongType = fetched { return }
        c.reply.arrayHeader(c.argumentCount - 2)
        for index in 2 ..< c.argumentCount {
            if case .found(let hash) = fetched, let value = hash[Element(c.arguments[index])] {
                value.withBytes { c.reply.bulk($0) }
            } else {
                c.reply.null()
            }
        }
    }

    static func hdel(_ c: inout CommandContext) {
        c.removeMembers(\.hash, event: (.hash, "hdel"), remove: { $0.remove($1) }, count: \.count)
    }

    static func hlen(_ c: inout CommandContext) {
        c.replyInteger(\.hash) { $0.count }
    }

    static func hstrlen(_ c: inout CommandContext) {
        let field = Element(c.arguments[2])
        c.replyInteger(\.hash) { $0[field]?.count ?? 0 }
    }

    static func hexists(_ c: inout CommandContext) {
        let field = Element(c.arguments[2])
        c.replyInteger(\.hash) { $0[field] == nil ? 0 : 1 }
    }

    static func hkeys(_ c: inout CommandContext) { all(&c, fields: true, values: false) }
    static func hvals(_ c: inout CommandContext) { all(&c, fields: false, values: true) }
    static func hgetall(_ c: inout CommandContext) { all(&c, fields: true, values: true) }

    private static func all(_ c: inout CommandContext, fields: Bool, values: Bool) {
        switch c.fetch(c.key(1), in: c.database, \.hash) {
        case .wrongType: return
        case .missing:
            if fields && values { c.reply.mapHeader(0) } else { c.reply.arrayHeader(0) }
        case .found(let hash):
            if fields && values { c.reply.mapHeader(hash.count) } else { c.reply.arrayHeader(hash.count) }
            hash.forEach { field, value in
                if fields { field.withBytes { c.reply.bulk($0) } }
                if values { value.withBytes { c.reply.bulk($0) } }
            }
        }
    }

    static func hincrby(_ c: inout CommandContext) {
        guard let increment = c.integerOrReply(3) else { return }
        let db = c.database
        let key = c.key(1)
        let field = Element(c.arguments[2])
        var current = 0
        switch c.fetch(key, in: db, \.hash) {
        case .wrongType:
            return
        case .found(let hash):
            if let value = hash[field] {
                guard let parsed = value.withBytes({ StrictInteger.parse($0) }) else {
                    c.error(Errors.hashValueNotInteger)
                    return
                }
                current = parsed
            }
        case .missing:
            break
        }
        let (result, overflow) = current.addingReportingOverflow(increment)
        guard !overflow else {
            c.error(Errors.overflow)
            return
        }
        guard let hash = c.fetchOrCreate(key, in: db, \.hash, make: { .hash(HashValue()) }) else { return }
        hash.set(field, Element(result), limits: c.keyspace.encodingLimits)
        c.changed(key, .hash, "hincrby", in: db)
        c.reply.integer(result)
    }

    static func hincrbyfloat(_ c: inout CommandContext) {
        guard let increment = NumberFormat.parseLongDouble(c.arguments[3]) else {
            c.error(Errors.notFloat)
            return
        }
        guard increment.isFinite else {
            c.error(Errors.nanOrInfinity)
            return
        }
        let db = c.database
        let key = c.key(1)
        let field = Element(c.arguments[2])
        var current: Float80 = 0
        switch c.fetch(key, in: db, \.hash) {
        case .wrongType:
            return
        case .found(let hash):
            if let value = hash[field] {
                guard let parsed = value.withBytes({ NumberFormat.parseLongDouble($0) }) else {
                    c.error(Errors.hashValueNotFloat)
                    return
                }
                current = parsed
            }
        case .missing:
            break
        }
        let result = current + increment
        guard result.isFinite else {
            c.error(Errors.floatOverflow)
            return
        }
        let text = NumberFormat.formatLongDouble(result)
        guard let hash = c.fetchOrCreate(key, in: db, \.hash, make: { .hash(HashValue()) }) else { return }
        hash.set(field, Element(text), limits: c.keyspace.encodingLimits)
        c.changed(key, .hash, "hincrbyfloat", in: db)
        c.reply.bulk(text)
        // The result, not the increment: a replica must not redo the float arithmetic.
        c.propagate([Array("HSET".utf8), c.bytes(1), c.bytes(2), Array(text.utf8)])
    }

    static func hrandfield(_ c: inout CommandContext) {
        guard let (count, withValues) = RandomPick.parse(&c, option: "WITHVALUES") else { return }
        let hash: HashValue
        switch c.fetch(c.key(1), in: c.database, \.hash) {
        case .wrongType: return
        case .missing:
            if count == nil { c.reply.null() } else { c.reply.arrayHeader(0) }
            return
        case .found(let found): hash = found
        }
        guard let count else {
            hash.pair(at: Int.random(in: 0 ..< hash.count)).field.withBytes { c.reply.bulk($0) }
            return
        }
        let positions = RandomPick.positions(count: count, size: hash.count)
        c.reply.arrayHeader(withValues && !c.reply.isRESP3 ? positions.count * 2 : positions.count)
        for position in positions {
            let pair = hash.pair(at: position)
            if withValues && c.reply.isRESP3 { c.reply.arrayHeader(2) }
            pair.field.withBytes { c.reply.bulk($0) }
            if withValues { pair.value.withBytes { c.reply.bulk($0) } }
        }
    }

    static func hscan(_ c: inout CommandContext) {
        ScanOptions.scanCollection(&c, \.hash) { c, hash, options in
            var found: [Element] = []
            let next = options.step(size: hash.count, whole: hash.encodingName == "listpack") { position in
                let pair = hash.pair(at: position)
                if options.matches(pair.field) { found += [pair.field, pair.value] }
            }
            ScanOptions.reply(&c, cursor: next, found)
        }
    }
}
