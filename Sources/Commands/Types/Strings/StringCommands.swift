import Engine
import RESP

/// String commands: GET, SET, SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX,
/// APPEND, STRLEN, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, GETRANGE, SUBSTR, SETRANGE, LCS.
enum StringCommands {
    static let table: [Command] = [
        Command("get", arity: 2, flags: [.readonly, .fast], categories: [.string], keys: [.key(1, "RO access")], group: "string",
                summary: "Returns a key's string value.", handler: get),
        Command("set", arity: -3, flags: [.write, .denyOOM], categories: [.string], keys: [.key(1, "RW access update variable_flags")],
                group: "string", summary: "Sets a key's string value, optionally with a TTL or a condition.",
                variableKeyFlags: { arguments in
                    (3 ..< arguments.count).contains { arguments[$0].equalsIgnoringCase("GET") } ? ["RW", "access", "update"] : ["OW", "update"]
                }, handler: set),
        Command("setnx", arity: 3, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "OW insert")], group: "string",
                summary: "Sets a key's value unless the key exists.", handler: setNX),
        Command("setex", arity: 4, flags: [.write, .denyOOM], categories: [.string], keys: [.key(1, "OW update")], group: "string",
                since: "2.0.0", summary: "Sets a key's value and its TTL in seconds.", handler: setEX),
        Command("psetex", arity: 4, flags: [.write, .denyOOM], categories: [.string], keys: [.key(1, "OW update")], group: "string",
                since: "2.6.0", summary: "Sets a key's value and its TTL in milliseconds.", handler: psetEX),
        Command("getset", arity: 3, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "RW access update")],
                group: "string", summary: "Sets a key's value and returns the previous one.", handler: getSet),
        Command("getdel", arity: 2, flags: [.write, .fast], categories: [.string], keys: [.key(1, "RW access delete")], group: "string",
                since: "6.2.0", summary: "Returns a key's value and deletes the key.", handler: getDel),
        Command("getex", arity: -2, flags: [.write, .fast], categories: [.string], keys: [.key(1, "RW access update")], group: "string",
                since: "6.2.0", summary: "Returns a key's value, optionally changing its TTL.", handler: getEX),
        Command("mget", arity: -2, flags: [.readonly, .fast], categories: [.string], keys: [.keys(from: 1, "RO access")],
                tips: ["request_policy:multi_shard"], group: "string", summary: "Returns the values of several keys.", handler: mget),
        Command("mset", arity: -3, flags: [.write, .denyOOM], categories: [.string], keys: [.keys(from: 1, step: 2, "OW update")],
                tips: ["request_policy:multi_shard", "response_policy:all_succeeded"], group: "string", since: "1.0.1",
                summary: "Sets several keys at once.", handler: mset),
        Command("msetnx", arity: -3, flags: [.write, .denyOOM], categories: [.string], keys: [.keys(from: 1, step: 2, "OW insert")],
                tips: ["request_policy:multi_shard", "response_policy:agg_min"], group: "string", since: "1.0.1",
                summary: "Sets several keys at once, only if none of them exists.", handler: msetNX),
        Command("append", arity: 3, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "RW insert")], group: "string",
                since: "2.0.0", summary: "Appends to a key's value.", handler: append),
        Command("strlen", arity: 2, flags: [.readonly, .fast], categories: [.string], keys: [.key(1, "RO")], group: "string",
                since: "2.2.0", summary: "The length of a key's value.", handler: strlen),
        Command("incr", arity: 2, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "RW access update")],
                group: "string", summary: "Adds one to a key's integer value.", handler: incr),
        Command("decr", arity: 2, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "RW access update")],
                group: "string", summary: "Subtracts one from a key's integer value.", handler: decr),
        Command("incrby", arity: 3, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "RW access update")],
                group: "string", summary: "Adds to a key's integer value.", handler: incrBy),
        Command("decrby", arity: 3, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "RW access update")],
                group: "string", summary: "Subtracts from a key's integer value.", handler: decrBy),
        Command("incrbyfloat", arity: 3, flags: [.write, .denyOOM, .fast], categories: [.string], keys: [.key(1, "RW access update")],
                group: "string", since: "2.6.0", summary: "Adds a floating-point number to a key's value.", handler: incrByFloat),
        Command("getrange", arity: 4, flags: [.readonly], categories: [.string], keys: [.key(1, "RO access")], group: "string",
                since: "2.4.0", summary: "Returns a substring of a key's value.", handler: getRange),
        Command("substr", arity: 4, flags: [.readonly], categories: [.string], keys: [.key(1, "RO access")], group: "string",
                summary: "Returns a substring of a key's value (old name of GETRANGE).", handler: getRange),
        Command("setrange", arity: 4, flags: [.write, .denyOOM], categories: [.string], keys: [.key(1, "RW update")], group: "string",
                since: "2.2.0", summary: "Overwrites part of a key's value at an offset.", handler: setRange),
        Command("lcs", arity: -3, flags: [.readonly], categories: [.string], keys: [.keys(from: 1, last: 1, "RO access")], group: "string",
                since: "7.0.0", summary: "The longest common subsequence of two keys' values.", handler: lcs),
    ]

    static func get(_ c: inout CommandContext) {
        c.read(c.key(1), in: c.database) { c, entry in c.replyStringValue(entry) }
    }

    // MARK: SET and friends

    /// SET's options, parsed. `expireAt` is absolute milliseconds (0 = none), set from `expiry`
    /// by `resolveExpiry` (Redis validates the time after the syntax, and GETEX only once the
    /// key was found).
    struct SetOptions {
        var onlyIfMissing = false
        var onlyIfPresent = false
        var returnOld = false
        var keepTTL = false
        var expireAt: Int64 = 0
        /// EX/PX/EXAT/PXAT: the argument holding the time, its unit in milliseconds, and
        /// whether it is a Unix time.
        var expiry: (argument: Int, unit: Int, absolute: Bool)?
        /// GETSET: a replica gets it as SET.
        var propagatesAsSet = false

        /// Whether the key's current entry decides anything (NX, XX, GET, KEEPTTL).
        var needsOldEntry: Bool { onlyIfMissing || onlyIfPresent || returnOld || keepTTL }
    }

    static func set(_ c: inout CommandContext) {
        guard var options = parseSetOptions(&c, from: 3, allowConditions: true),
              resolveExpiry(&c, &options, command: "set") else { return }
        store(&c, value: 2, options)
    }

    /// Parses `[NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL]` (GETEX takes the TTL part and PERSIST).
    /// Replies with the error and returns nil on bad input.
    static func parseSetOptions(_ c: inout CommandContext, from start: Int, allowConditions: Bool) -> SetOptions? {
        var options = SetOptions()
        var expirySeen = false
        var index = start
        while index < c.argumentCount {
            let hasValue = index + 1 < c.argumentCount
            if allowConditions && c.argument(index, is: "NX") && !options.onlyIfPresent {
                options.onlyIfMissing = true
            } else if allowConditions && c.argument(index, is: "XX") && !options.onlyIfMissing {
                options.onlyIfPresent = true
            } else if allowConditions && c.argument(index, is: "GET") {
                options.returnOld = true
            } else if allowConditions && c.argument(index, is: "KEEPTTL") && !expirySeen {
                options.keepTTL = true
                expirySeen = true
            } else if !expirySeen && hasValue,
                      let unit = [("EX", 1000, false), ("PX", 1, false), ("EXAT", 1000, true), ("PXAT", 1, true)].first(where: { c.arguments[index].equalsIgnoringCase(Array($0.0.utf8)) }) {
                options.expiry = (index + 1, unit.1, unit.2)
                expirySeen = true
                index += 1
            } else {
                c.error(Errors.syntax)
                return nil
            }
            index += 1
        }
        return options
    }

    /// Checks the EX/PX/EXAT/PXAT time and sets `expireAt` from it; false after the error.
    static func resolveExpiry(_ c: inout CommandContext, _ options: inout SetOptions, command: String) -> Bool {
        guard let expiry = options.expiry else { return true }
        guard let amount = c.integerOrReply(expiry.argument) else { return false }
        guard amount > 0, amount <= Int.max / expiry.unit else {
            c.error(Errors.invalidExpireTime(command))
            return false
        }
        var milliseconds = amount * expiry.unit
        if !expiry.absolute {
            guard milliseconds <= Int.max - Int(c.now) else {
                c.error(Errors.invalidExpireTime(command))
                return false
            }
            milliseconds += Int(c.now)
        }
        options.expireAt = Int64(milliseconds)
        return true
    }

    /// Stores argument `value` under argument 1 following `options`, and replies.
    private static func store(_ c: inout CommandContext, value: Int, _ options: SetOptions) {
        let db = c.database
        let key = c.key(1)
        // A deadline already past is stored as it is and expires on the next access, as in Redis.
        var expireAt = options.expireAt
        if options.needsOldEntry {
            // The old entry is only looked at (borrowed): whether it exists and, for GET and
            // KEEPTTL, its value and TTL. Nil after a WRONGTYPE error.
            let old: (exists: Bool, expireAt: Int64)? = db.withLiveEntry(key) { existing in
                guard options.returnOld else { return (existing != nil, existing?.expireAt ?? 0) }
                guard let existing else {
                    c.reply.null()
                    return (false, 0)
                }
                guard existing.value.isString else {
                    c.error(Errors.wrongType)
                    return nil
                }
                c.replyString(existing)
                return (true, existing.expireAt)
            }
            guard let old else { return }
            if options.onlyIfMissing && old.exists || options.onlyIfPresent && !old.exists {
                if !options.returnOld { c.reply.null() }
                return
            }
            if options.keepTTL { expireAt = old.expireAt }
        }
        c.storeString(key, argument: value, expireAt: expireAt, in: db)
        c.notify(.string, "set", key)
        if options.expireAt != 0 { c.notify(.generic, "expire", key) }
        c.dirty()
        if !options.returnOld { c.reply.ok() }
        // A replica gets an absolute time and no GET: SET key value PXAT <ms>, as Redis sends it.
        if options.expireAt != 0 {
            c.propagate([Array("SET".utf8), c.bytes(1), c.bytes(value), Array("PXAT".utf8), Array(String(options.expireAt).utf8)])
        } else if options.returnOld {
            var words = (0 ..< c.argumentCount).filter { $0 < 3 || !c.argument($0, is: "GET") }.map { c.bytes($0) }
            if options.propagatesAsSet { words[0] = Array("SET".utf8) }
            c.propagate(words)
        }
    }

    static func setNX(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        guard db.lookup(key) == nil else {
            c.reply.integer(0)
            return
        }
        c.storeString(key, argument: 2, expireAt: 0, in: db)
        c.notify(.string, "set", key)
        c.dirty()
        c.reply.integer(1)
    }

    static func setEX(_ c: inout CommandContext) { setWithTTL(&c, command: "setex", unit: 1000) }
    static func psetEX(_ c: inout CommandContext) { setWithTTL(&c, command: "psetex", unit: 1) }

    private static func setWithTTL(_ c: inout CommandContext, command: String, unit: Int) {
        guard let amount = c.integerOrReply(2) else { return }
        guard amount > 0, amount <= Int.max / unit, amount * unit <= Int.max - Int(c.now) else {
            c.error(Errors.invalidExpireTime(command))
            return
        }
        var options = SetOptions()
        options.expireAt = c.now + Int64(amount * unit)
        store(&c, value: 3, options)
    }

    static func getSet(_ c: inout CommandContext) {
        var options = SetOptions()
        options.returnOld = true
        options.propagatesAsSet = true
        store(&c, value: 2, options)
    }

    static func getDel(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        guard c.replyStringValue(c.read(key, in: db)) else { return }
        db.remove(key)
        c.notify(.generic, "del", key)
        c.dirty()
        c.propagate([c.userDeletion, c.bytes(1)])
    }

    static func getEX(_ c: inout CommandContext) {
        var persist = false
        if c.argumentCount == 3 && c.argument(2, is: "PERSIST") {
            persist = true
        }
        var options = SetOptions()
        if !persist {
            guard let parsed = parseSetOptions(&c, from: 2, allowConditions: false) else { return }
            options = parsed
        }
        let db = c.database
        let key = c.key(1)
        let entry = c.read(key, in: db)
        // The time is checked once the key is known to hold a string, as Redis does.
        if entry?.value.isString == true && !resolveExpiry(&c, &options, command: "getex") { return }
        guard c.replyStringValue(entry), let entry else { return }
        if options.expireAt != 0 && options.expireAt <= c.now {
            db.remove(key)
            c.notify(.generic, "del", key)
            c.dirty()
            c.propagate([c.expiryDeletion, c.bytes(1)])
        } else if options.expireAt != 0 || (persist && entry.expireAt != 0) {
            db.setExpiry(key, at: options.expireAt)
            c.notify(.generic, persist ? "persist" : "expire", key)
            c.dirty()
            c.propagate(persist ? [Array("PERSIST".utf8), c.bytes(1)]
                                : [Array("PEXPIREAT".utf8), c.bytes(1), Array(String(options.expireAt).utf8)])
        }
    }

    static func mget(_ c: inout CommandContext) {
        let db = c.database
        c.reply.arrayHeader(c.argumentCount - 1)
        for index in 1 ..< c.argumentCount {
            if let entry = c.read(c.key(index), in: db), entry.value.isString {
                c.replyString(entry)
            } else {
                c.reply.null()
            }
        }
    }

    static func mset(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 1 else {
            c.error(Errors.wrongArity("mset"))
            return
        }
        storeAll(&c)
        c.reply.ok()
    }

    static func msetNX(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 1 else {
            c.error(Errors.wrongArity("msetnx"))
            return
        }
        let db = c.database
        for index in stride(from: 1, to: c.argumentCount, by: 2) where db.lookup(c.key(index)) != nil {
            c.reply.integer(0)
            return
        }
        storeAll(&c)
        c.reply.integer(1)
    }

    private static func storeAll(_ c: inout CommandContext) {
        let db = c.database
        for index in stride(from: 1, to: c.argumentCount, by: 2) {
            let key = c.key(index)
            c.storeString(key, argument: index + 1, expireAt: 0, in: db)
            c.notify(.string, "set", key)
        }
        c.dirty((c.argumentCount - 1) / 2)
    }

    // MARK: In-place changes

    static func append(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        let addition = c.arguments[2]
        guard let entry = db.lookup(key) else {
            c.store(key, StringValues.entry(key: key, value: addition, expireAt: 0, access: db.access), in: db)
            c.notify(.string, "append", key)
            c.dirty()
            c.reply.integer(addition.count)
            return
        }
        guard entry.value.isString else {
            c.error(Errors.wrongType)
            return
        }
        guard StringValues.length(entry) + addition.count <= c.server.config.integer("proto-max-bulk-len") else {
            c.error(Errors.stringTooLong)
            return
        }
        let raw = rawString(entry, in: db, key: key)
        raw.bytes.append(contentsOf: addition)
        c.changed(key, .string, "append", in: db)
        c.reply.integer(raw.bytes.count)
    }

    /// The entry's value as a growable buffer, converting it in place (APPEND, SETRANGE, SETBIT
    /// leave a `raw` string, as in Redis).
    static func rawString(_ entry: Entry, in db: Database, key: Key) -> RawString {
        if case .raw(let raw) = entry.value { return raw }
        let raw = RawString(StringValues.bytes(entry))
        // An embedded value lives inside the entry: move to an entry without it.
        db.store(key, entry.replacingValue(.raw(raw), expireAt: entry.expireAt))
        return raw
    }

    static func strlen(_ c: inout CommandContext) {
        guard let entry = c.read(c.key(1), in: c.database) else {
            c.reply.integer(0)
            return
        }
        guard entry.value.isString else {
            c.error(Errors.wrongType)
            return
        }
        c.reply.integer(StringValues.length(entry))
    }

    static func incr(_ c: inout CommandContext) { add(&c, 1) }
    static func decr(_ c: inout CommandContext) { add(&c, -1) }

    static func incrBy(_ c: inout CommandContext) {
        guard let amount = c.integerOrReply(2) else { return }
        add(&c, amount)
    }

    static func decrBy(_ c: inout CommandContext) {
        guard let amount = c.integerOrReply(2) else { return }
        guard amount != Int.min else {
            c.error(Errors.decrementOverflow)
            return
        }
        add(&c, -amount)
    }

    private static func add(_ c: inout CommandContext, _ amount: Int) {
        let db = c.database
        let key = c.key(1)
        // The entry is borrowed: an integer is updated in place, a string replaced by one.
        let outcome: IncrementOutcome = db.withLiveEntry(key) { entry in
            var current = 0
            if let entry {
                switch entry.value {
                case .integer(let value):
                    current = Int(value)
                case .embedded, .raw:
                    guard let parsed = StringValues.withBytes(entry, { StrictInteger.parse($0) }) else {
                        c.error(Errors.notInteger)
                        return .failed
                    }
                    current = parsed
                default:
                    c.error(Errors.wrongType)
                    return .failed
                }
            }
            let (result, overflow) = current.addingReportingOverflow(amount)
            guard !overflow else {
                c.error(Errors.overflow)
                return .failed
            }
            if let entry, case .integer = entry.value {
                entry.value = .integer(Int64(result))
                return .updatedInPlace(result)
            }
            return .replace(result, expireAt: entry?.expireAt ?? 0)
        }
        let result: Int
        switch outcome {
        case .failed:
            return
        case .updatedInPlace(let value):
            result = value
            db.modified(key)
        case .replace(let value, let expireAt):
            result = value
            c.store(key, Entry.make(key: key.bytes, value: .integer(Int64(value)), expireAt: expireAt, access: db.access), in: db)
        }
        c.notify(.string, "incrby", key)
        c.dirty()
        c.reply.integer(result)
    }

    private enum IncrementOutcome {
        case failed
        case updatedInPlace(Int)
        case replace(Int, expireAt: Int64)
    }

    static func incrByFloat(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        let entry = db.lookup(key)
        var current: Float80 = 0
        if let entry {
            guard entry.value.isString else {
                c.error(Errors.wrongType)
                return
            }
            guard let parsed = StringValues.withBytes(entry, { NumberFormat.parseLongDouble($0) }) else {
                c.error(Errors.notFloat)
                return
            }
            current = parsed
        }
        guard let increment = NumberFormat.parseLongDouble(c.arguments[2]) else {
            c.error(Errors.notFloat)
            return
        }
        let result = current + increment
        guard result.isFinite else {
            c.error(Errors.floatOverflow)
            return
        }
        let text = Array(NumberFormat.formatLongDouble(result).utf8)
        let stored: Entry = text.withUnsafeBytes { bytes in
            bytes.count <= Entry.embeddedLimit
                ? Entry.make(key: key.bytes, value: .embedded(UInt32(bytes.count)), embedding: bytes, expireAt: entry?.expireAt ?? 0, access: db.access)
                : Entry.make(key: key.bytes, value: .raw(RawString(text)), expireAt: entry?.expireAt ?? 0, access: db.access)
        }
        c.store(key, stored, in: db)
        c.notify(.string, "incrbyfloat", key)
        c.dirty()
        c.reply.bulk(text)
        // The result, not the increment: a replica must not redo the float arithmetic.
        c.propagate([Array("SET".utf8), c.bytes(1), text, Array("KEEPTTL".utf8)])
    }

    // MARK: Ranges

    static func getRange(_ c: inout CommandContext) {
        guard var start = c.integerOrReply(2), var end = c.integerOrReply(3) else { return }
        guard let entry = c.read(c.key(1), in: c.database) else {
            c.reply.bulk("")
            return
        }
        guard entry.value.isString else {
            c.error(Errors.wrongType)
            return
        }
        StringValues.withBytes(entry) { bytes in
            let length = bytes.count
            if start < 0 && end < 0 && start > end {
                c.reply.bulk("")
                return
            }
            if start < 0 { start += length }
            if end < 0 { end += length }
            start = max(start, 0)
            end = max(end, 0)
            if end >= length { end = length - 1 }
            if start > end || length == 0 {
                c.reply.bulk("")
            } else {
                c.reply.bulk(UnsafeRawBufferPointer(rebasing: bytes[start ... end]))
            }
        }
    }

    static func setRange(_ c: inout CommandContext) {
        guard let offset = c.integerOrReply(2) else { return }
        guard offset >= 0 else {
            c.error(Errors.offsetOutOfRange)
            return
        }
        let db = c.database
        let key = c.key(1)
        let value = c.arguments[3]
        let entry = db.lookup(key)
        if let entry, !entry.value.isString {
            c.error(Errors.wrongType)
            return
        }
        if value.isEmpty {
            c.reply.integer(entry.map(StringValues.length) ?? 0)
            return
        }
        guard offset <= c.server.config.integer("proto-max-bulk-len") - value.count else {
            c.error(Errors.stringTooLong)
            return
        }
        let raw: RawString
        if let entry {
            raw = rawString(entry, in: db, key: key)
        } else {
            raw = RawString([])
            c.store(key, Entry.make(key: key.bytes, value: .raw(raw), expireAt: 0, access: db.access), in: db)
        }
        if raw.bytes.count < offset + value.count {
            raw.bytes.append(contentsOf: repeatElement(0, count: offset + value.count - raw.bytes.count))
        }
        raw.bytes.withUnsafeMutableBytes { target in
            UnsafeMutableRawBufferPointer(rebasing: target[offset ..< offset + value.count]).copyMemory(from: value)
        }
        c.changed(key, .string, "setrange", in: db)
        c.reply.integer(raw.bytes.count)
    }
}
