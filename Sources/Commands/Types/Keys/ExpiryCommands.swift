import Engine

/// Time-to-live commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT, LT), TTL,
/// PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.
enum ExpiryCommands {
    static let table: [Command] = [
        Command("expire", arity: -3, flags: [.write, .fast], categories: [.keyspace], keys: [.key(1, "RW update")], group: "generic",
                summary: "Sets a key's time to live in seconds.", handler: expire),
        Command("pexpire", arity: -3, flags: [.write, .fast], categories: [.keyspace], keys: [.key(1, "RW update")], group: "generic",
                since: "2.6.0", summary: "Sets a key's time to live in milliseconds.", handler: pexpire),
        Command("expireat", arity: -3, flags: [.write, .fast], categories: [.keyspace], keys: [.key(1, "RW update")], group: "generic",
                since: "1.2.0", summary: "Sets a key's expiry as a Unix time in seconds.", handler: expireAt),
        Command("pexpireat", arity: -3, flags: [.write, .fast], categories: [.keyspace], keys: [.key(1, "RW update")], group: "generic",
                since: "2.6.0", summary: "Sets a key's expiry as a Unix time in milliseconds.", handler: pexpireAt),
        Command("ttl", arity: 2, flags: [.readonly, .fast], categories: [.keyspace], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "generic", summary: "A key's remaining time to live in seconds.", handler: ttl),
        Command("pttl", arity: 2, flags: [.readonly, .fast], categories: [.keyspace], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "generic", since: "2.6.0",
                summary: "A key's remaining time to live in milliseconds.", handler: pttl),
        Command("expiretime", arity: 2, flags: [.readonly, .fast], categories: [.keyspace], keys: [.key(1, "RO access")],
                group: "generic", since: "7.0.0", summary: "A key's expiry as a Unix time in seconds.", handler: expireTime),
        Command("pexpiretime", arity: 2, flags: [.readonly, .fast], categories: [.keyspace], keys: [.key(1, "RO access")],
                group: "generic", since: "7.0.0", summary: "A key's expiry as a Unix time in milliseconds.", handler: pexpireTime),
        Command("persist", arity: 2, flags: [.write, .fast], categories: [.keyspace], keys: [.key(1, "RW update")], group: "generic",
                since: "2.2.0", summary: "Removes a key's time to live.", handler: persist),
    ]

    static func expire(_ c: inout CommandContext) { setExpiry(&c, name: "expire", milliseconds: false, absolute: false) }
    static func pexpire(_ c: inout CommandContext) { setExpiry(&c, name: "pexpire", milliseconds: true, absolute: false) }
    static func expireAt(_ c: inout CommandContext) { setExpiry(&c, name: "expireat", milliseconds: false, absolute: true) }
    static func pexpireAt(_ c: inout CommandContext) { setExpiry(&c, name: "pexpireat", milliseconds: true, absolute: true) }

    private struct Condition: OptionSet {
        let rawValue: Int
        static let nx = Condition(rawValue: 1), xx = Condition(rawValue: 2), gt = Condition(rawValue: 4), lt = Condition(rawValue: 8)
    }

    private static func setExpiry(_ c: inout CommandContext, name: String, milliseconds: Bool, absolute: Bool) {
        var condition: Condition = []
        for index in 3 ..< c.argumentCount {
            if c.argument(index, is: "NX") { condition.insert(.nx) }
            else if c.argument(index, is: "XX") { condition.insert(.xx) }
            else if c.argument(index, is: "GT") { condition.insert(.gt) }
            else if c.argument(index, is: "LT") { condition.insert(.lt) }
            else {
                c.error(bytes: Errors.unsupportedOption(c.bytes(index)))
                return
            }
        }
        if condition.contains(.nx) && condition.contains(.xx) || condition.contains(.nx) && (condition.contains(.gt) || condition.contains(.lt)) {
            c.error(Errors.expireFlagsNXXX)
            return
        }
        if condition.contains(.gt) && condition.contains(.lt) {
            c.error(Errors.expireFlagsGTLT)
            return
        }
        guard var when = c.integerOrReply(2) else { return }
        if !milliseconds {
            guard when <= Int.max / 1000 && when >= Int.min / 1000 else {
                c.error(Errors.invalidExpireTime(name))
                return
            }
            when *= 1000
        }
        if !absolute {
            guard when <= Int.max - Int(c.now) else {
                c.error(Errors.invalidExpireTime(name))
                return
            }
            when += Int(c.now)
        }
        let db = c.database
        let key = c.key(1)
        guard let entry = db.lookup(key) else {
            c.reply.integer(0)
            return
        }
        let current = entry.expireAt
        if condition.contains(.nx) && current != 0 || condition.contains(.xx) && current == 0
            || condition.contains(.gt) && (current == 0 || when <= current)
            || condition.contains(.lt) && current != 0 && when >= current {
            c.reply.integer(0)
            return
        }
        if when <= c.now {
            db.discard(key, lazily: c.server.config.bool("lazyfree-lazy-expire"))
            c.notify(.generic, "del", key)
            c.propagate([c.expiryDeletion, c.bytes(1)])
        } else {
            db.setExpiry(key, at: Int64(when))
            c.notify(.generic, "expire", key)
            // As PEXPIREAT with an absolute time, the options kept (PEXPIREAT's own time as given).
            var words = (0 ..< c.argumentCount).map { c.bytes($0) }
            words[0] = Array("PEXPIREAT".utf8)
            if !(absolute && milliseconds) { words[2] = Array(String(when).utf8) }
            c.propagate(words)
        }
        c.dirty()
        c.reply.integer(1)
    }

    static func ttl(_ c: inout CommandContext) {
        replyExpiry(&c) { expireAt, now in (max(0, Int(expireAt - now)) + 500) / 1000 }
    }

    static func pttl(_ c: inout CommandContext) {
        replyExpiry(&c) { expireAt, now in max(0, Int(expireAt - now)) }
    }

    static func expireTime(_ c: inout CommandContext) { replyExpiry(&c) { expireAt, _ in Int(expireAt / 1000) } }
    static func pexpireTime(_ c: inout CommandContext) { replyExpiry(&c) { expireAt, _ in Int(expireAt) } }

    /// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 for one without a TTL, else
    /// `value(expireAt, now)`. Asking does not count as an access.
    private static func replyExpiry(_ c: inout CommandContext, _ value: (_ expireAt: Int64, _ now: Int64) -> Int) {
        var database = c.database
        database.touches = false
        guard let entry = c.read(c.key(1), in: database) else {
            c.reply.integer(-2)
            return
        }
        guard entry.expireAt != 0 else {
            c.reply.integer(-1)
            return
        }
        c.reply.integer(value(entry.expireAt, c.now))
    }

    static func persist(_ c: inout CommandContext) {
        let db = c.database
        let key = c.key(1)
        guard let entry = db.lookup(key), entry.expireAt != 0 else {
            c.reply.integer(0)
            return
        }
        db.setExpiry(key, at: 0)
        c.notify(.generic, "persist", key)
        c.dirty()
        c.reply.integer(1)
    }
}
