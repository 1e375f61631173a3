import Engine
import RESP

/// Generic key commands: DEL, UNLINK, EXISTS, TYPE, TOUCH, KEYS, SCAN, RANDOMKEY, RENAME,
/// RENAMENX, COPY, MOVE, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, OBJECT.
///
/// OBJECT REFCOUNT is always 1: Needletail shares no value objects between keys.
enum KeyCommands {
    static let table: [Command] = [
        Command("del", arity: -2, flags: [.write], categories: [.keyspace], keys: [.keys(from: 1, "RM delete")],
                tips: ["request_policy:multi_shard", "response_policy:agg_sum"], group: "generic",
                summary: "Deletes keys.", handler: del),
        Command("unlink", arity: -2, flags: [.write, .fast], categories: [.keyspace], keys: [.keys(from: 1, "RM delete")],
                tips: ["request_policy:multi_shard", "response_policy:agg_sum"], group: "generic", since: "4.0.0",
                summary: "Deletes keys, freeing large values in the background.", handler: unlink),
        Command("exists", arity: -2, flags: [.readonly, .fast], categories: [.keyspace], keys: [.keys(from: 1, "RO")],
                tips: ["request_policy:multi_shard", "response_policy:agg_sum"], group: "generic",
                summary: "Counts how many of the given keys exist.", handler: exists),
        Command("type", arity: 2, flags: [.readonly, .fast], categories: [.keyspace], keys: [.key(1, "RO")], group: "generic",
                summary: "Names the type of a key's value.", handler: type),
        Command("touch", arity: -2, flags: [.readonly, .fast], categories: [.keyspace], keys: [.keys(from: 1, "RO")],
                tips: ["request_policy:multi_shard", "response_policy:agg_sum"], group: "generic", since: "3.2.1",
                summary: "Updates the access time of keys; counts those that exist.", handler: touch),
        Command("keys", arity: 2, flags: [.readonly, .keyspaceWide], categories: [.keyspace, .dangerous],
                tips: ["request_policy:all_shards", "nondeterministic_output_order"], group: "generic",
                summary: "Lists the keys matching a pattern.", handler: keys),
        Command("scan", arity: -2, flags: [.readonly, .keyspaceWide, .touchesArbitraryKeys], categories: [.keyspace],
                tips: ["nondeterministic_output", "request_policy:special"], group: "generic", since: "2.8.0",
                summary: "Iterates over the keys with a cursor.", handler: scan),
        Command("randomkey", arity: 1, flags: [.readonly, .keyspaceWide, .touchesArbitraryKeys], categories: [.keyspace],
                tips: ["request_policy:all_shards", "nondeterministic_output"], group: "generic",
                summary: "Returns a random key.", handler: randomKey),
        Command("rename", arity: 3, flags: [.write], categories: [.keyspace], keys: [.key(1, "RW access delete"), .key(2, "OW update")],
                group: "generic", summary: "Renames a key, replacing the destination.", handler: rename),
        Command("renamenx", arity: 3, flags: [.write, .fast], categories: [.keyspace], keys: [.key(1, "RW access delete"), .key(2, "OW insert")],
                group: "generic", summary: "Renames a key unless the destination exists.", handler: renameNX),
        Command("copy", arity: -3, flags: [.write, .denyOOM], categories: [.keyspace], keys: [.key(1, "RO access"), .key(2, "OW update")],
                group: "generic", since: "6.2.0", summary: "Copies a key's value to another key.", handler: copy),
        Command("move", arity: 3, flags: [.write, .fast], categories: [.keyspace], keys: [.key(1, "RW access update")], group: "generic",
                summary: "Moves a key to another database.", handler: move),
        Command("swapdb", arity: 3, flags: [.write, .fast, .keyspaceWide], categories: [.keyspace, .dangerous], group: "server",
                since: "4.0.0", summary: "Exchanges the contents of two databases.", handler: swapDB),
        Command("dbsize", arity: 1, flags: [.readonly, .fast, .keyspaceWide], categories: [.keyspace],
                tips: ["request_policy:all_shards", "response_policy:agg_sum"], group: "server",
                summary: "Counts the keys of the selected database.", handler: dbSize),
        Command("flushdb", arity: -1, flags: [.write, .keyspaceWide, .alwaysPropagated], categories: [.keyspace, .dangerous],
                tips: ["request_policy:all_shards", "response_policy:all_succeeded"], group: "server",
                summary: "Deletes every key of the selected database.", handler: flushDB),
        Command("flushall", arity: -1, flags: [.write, .keyspaceWide, .alwaysPropagated], categories: [.keyspace, .dangerous],
                tips: ["request_policy:all_shards", "response_policy:all_succeeded"], group: "server",
                summary: "Deletes every key of every database.", handler: flushAll),
        Command("object", arity: -2, group: "generic", since: "2.2.3", summary: "Inspects how a key's value is stored.", subcommands: [
            Command("encoding", arity: 3, flags: [.readonly], categories: [.keyspace], keys: [.key(2, "RO")],
                    tips: ["nondeterministic_output"], group: "generic", since: "2.2.3",
                    summary: "Names the encoding of a key's value.", handler: objectEncoding),
            Command("refcount", arity: 3, flags: [.readonly], categories: [.keyspace], keys: [.key(2, "RO")],
                    tips: ["nondeterministic_output"], group: "generic", since: "2.2.3",
                    summary: "Counts references to a key's value.", handler: objectRefcount),
            Command("idletime", arity: 3, flags: [.readonly], categories: [.keyspace], keys: [.key(2, "RO")],
                    tips: ["nondeterministic_output"], group: "generic", since: "2.2.3",
                    summary: "Seconds since a key was last read or written.", handler: objectIdleTime),
            Command("freq", arity: 3, flags: [.readonly], categories: [.keyspace], keys: [.key(2, "RO")],
                    tips: ["nondeterministic_output"], group: "generic", since: "4.0.0",
                    summary: "The access frequency counter of a key (LFU policies).", handler: objectFreq),
            Command("help", arity: 2, flags: [.loading, .stale], categories: [.keyspace], group: "generic", since: "6.2.0",
                    summary: "Lists the OBJECT subcommands.", handler: objectHelp),
        ]),
    ]

    /// DEL frees what it deletes at once, unless `lazyfree-lazy-user-del` makes it UNLINK.
    static func del(_ c: inout CommandContext) {
        delete(&c, lazily: c.server.config.bool("lazyfree-lazy-user-del"))
    }

    /// UNLINK frees large values in the background.
    static func unlink(_ c: inout CommandContext) {
        delete(&c, lazily: true)
    }

    private static func delete(_ c: inout CommandContext, lazily lazy: Bool) {
        let db = c.database
        var removed = 0
        for index in 1 ..< c.argumentCount {
            guard let entry = db.remove(c.key(index)) else { continue }
            if lazy { BackgroundRelease.shared.release(entry) }
            c.notify(.generic, "del", c.key(index))
            removed += 1
        }
        c.dirty(removed)
        c.reply.integer(removed)
    }

    static func exists(_ c: inout CommandContext) {
        var database = c.database
        database.touches = false
        var found = 0
        for index in 1 ..< c.argumentCount where c.read(c.key(index), in: database) != nil {
            found += 1
        }
        c.reply.integer(found)
    }

    static func type(_ c: inout CommandContext) {
        var database = c.database
        database.touches = false
        c.reply.simpleString(c.read(c.key(1), in: database)?.value.typeName ?? "none")
    }

    static func touch(_ c: inout CommandContext) {
        let db = c.database
        var found = 0
        for index in 1 ..< c.argumentCount where c.read(c.key(index), in: db) != nil {
            found += 1
        }
        c.reply.integer(found)
    }

    static func keys(_ c: inout CommandContext) {
        let pattern = c.arguments[1]
        let matchAll = pattern.count == 1 && pattern[0] == UInt8(ascii: "*")
        var matched: [[UInt8]] = []
        c.database.forEachLive { entry in
            entry.withKey { key in
                if matchAll || Glob.matches(pattern, key) { matched.append(Array(key)) }
            }
        }
        c.reply.arrayHeader(matched.count)
        for key in matched { c.reply.bulk(key) }
    }

    static func scan(_ c: inout CommandContext) {
        guard let options = ScanOptions.parse(&c, cursorAt: 1, allowType: true) else { return }
        let db = c.database
        var found: [Element] = []
        var expired: [Element] = []
        let next = db.scan(cursor: options.cursor, count: options.count) { entry in
            if entry.expireAt != 0 && entry.expireAt <= db.now {
                expired.append(entry.withKey { Element($0) })
                return
            }
            if let type = options.type, entry.value.typeName != type { return }
            let key = entry.withKey { Element($0) }
            if options.matches(key) { found.append(key) }
        }
        // Keys met past their TTL are deleted, as a lookup deletes them (once the walk is over).
        for key in expired {
            key.withBytes { bytes in
                let key = Key(bytes)
                if c.holdsAllShards { _ = db.lookup(key) } else { c.keyspace.withShard(of: key) { _ = db.lookup(key) } }
            }
        }
        ScanOptions.reply(&c, cursor: next, found)
    }

    /// SCAN cursors are read as C's `strtoul` reads them, as Redis does: an optional sign
    /// (`-1` is 2^64 - 1), decimal digits, nothing else, within 64 bits.
    static func parseCursor(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        // strtoul reads nothing from an empty string and reports no error: cursor 0.
        if bytes.isEmpty { return 0 }
        var digits = bytes[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let value = UInt64(String(decoding: digits, as: UTF8.self)) else { return nil }
        return negative ? 0 &- value : value
    }

    static func randomKey(_ c: inout CommandContext) {
        if let key = c.database.randomKey() { c.reply.bulk(key) } else { c.reply.null() }
    }

    static func rename(_ c: inout CommandContext) {
        renameKey(&c, replacing: true)
    }

    static func renameNX(_ c: inout CommandContext) {
        renameKey(&c, replacing: false)
    }

    private static func renameKey(_ c: inout CommandContext, replacing: Bool) {
        let db = c.database
        let source = c.key(1), destination = c.key(2)
        guard let entry = db.lookup(source) else {
            c.error(Errors.noSuchKey)
            return
        }
        if c.arguments[1].elementsEqual(c.arguments[2]) {
            if replacing { c.reply.ok() } else { c.reply.integer(0) }
            return
        }
        if !replacing && db.lookup(destination) != nil {
            c.reply.integer(0)
            return
        }
        // The destination is deleted first, so it always counts as a new key (the `new` event).
        db.discard(destination)
        db.remove(source)
        c.store(destination, entry.rekeyed(destination.bytes), in: db)
        c.notify(.generic, "rename_from", source)
        c.notify(.generic, "rename_to", destination)
        c.dirty()
        if replacing { c.reply.ok() } else { c.reply.integer(1) }
    }

    static func copy(_ c: inout CommandContext) {
        var target = c.session.database
        var replace = false
        var index = 3
        while index < c.argumentCount {
            if c.argument(index, is: "REPLACE") {
                replace = true
                index += 1
            } else if c.argument(index, is: "DB") && index + 1 < c.argumentCount {
                guard let value = c.databaseIndexOrReply(index + 1) else { return }
                target = value
                index += 2
            } else {
                c.error(Errors.syntax)
                return
            }
        }
        if target == c.session.database && c.arguments[1].elementsEqual(c.arguments[2]) {
            c.error(Errors.sameObject)
            return
        }
        let db = c.database
        let destinationDB = db.with(index: target)
        let destination = c.key(2)
        guard let entry = db.lookup(c.key(1)) else {
            c.reply.integer(0)
            return
        }
        if destinationDB.lookup(destination) != nil {
            guard replace else {
                c.reply.integer(0)
                return
            }
        }
        destinationDB.discard(destination)
        c.store(destination, entry.copied(as: destination.bytes, limits: c.keyspace.encodingLimits), in: destinationDB)
        c.notify(.generic, "copy_to", destination.bytes, db: target)
        c.dirty()
        c.reply.integer(1)
    }

    static func move(_ c: inout CommandContext) {
        guard let target = c.databaseIndexOrReply(2) else { return }
        guard target != c.session.database else {
            c.error(Errors.sameObject)
            return
        }
        let db = c.database
        let key = c.key(1)
        let destination = db.with(index: target)
        guard let entry = db.lookup(key), destination.lookup(key) == nil else {
            c.reply.integer(0)
            return
        }
        db.remove(key)
        c.store(key, entry, in: destination)
        c.notify(.generic, "move_from", key.bytes, db: db.index)
        c.notify(.generic, "move_to", key.bytes, db: target)
        c.dirty()
        c.reply.integer(1)
    }

    static func swapDB(_ c: inout CommandContext) {
        guard let first = c.int32OrReply(1, message: Errors.invalidFirstDB),
              let second = c.int32OrReply(2, message: Errors.invalidSecondDB) else { return }
        guard c.isDatabase(first) && c.isDatabase(second) else { return c.error(Errors.dbIndexOutOfRange) }
        if first != second {
            c.database.swap(first, second)
            c.dirty()
        }
        c.reply.ok()
    }

    static func dbSize(_ c: inout CommandContext) {
        c.reply.integer(c.database.count().keys)
    }

    static func flushDB(_ c: inout CommandContext) {
        guard let async = flushMode(&c) else { return }
        let removed = c.database.flush()
        finishFlush(&c, removed, async: async)
    }

    static func flushAll(_ c: inout CommandContext) {
        guard let async = flushMode(&c) else { return }
        let removed = c.database.flushAll()
        finishFlush(&c, removed, async: async)
        // As Redis: a background save of what was emptied is abandoned, and the empty
        // dataset saved when save points are set.
        c.server.persistence?.flushedAll(holdingAllShards: c.holdsAllShards)
    }

    /// `[ASYNC|SYNC]`, defaulting to `lazyfree-lazy-user-flush`. Nil after a syntax error reply.
    private static func flushMode(_ c: inout CommandContext) -> Bool? {
        if c.argumentCount == 1 { return c.server.config.bool("lazyfree-lazy-user-flush") }
        if c.argumentCount == 2 && c.argument(1, is: "ASYNC") { return true }
        if c.argumentCount == 2 && c.argument(1, is: "SYNC") { return false }
        c.error(Errors.syntax)
        return nil
    }

    /// Frees the removed tables — on a background thread for ASYNC, so a flush of millions of
    /// keys returns at once.
    private static func finishFlush(_ c: inout CommandContext, _ removed: [KeyTable], async: Bool) {
        c.dirty(removed.reduce(0) { $0 + $1.count })
        if async { BackgroundRelease.shared.release(removed) }
        c.reply.ok()
        if c.tracking.active.load(ordering: .relaxed) > 0 { c.tracking.flushed(by: c.session, reply: &c.reply) }
    }

    // MARK: OBJECT

    static func objectEncoding(_ c: inout CommandContext) {
        guard let entry = objectEntry(&c) else { return }
        c.reply.bulk(entry.value.encodingName)
    }

    /// Needletail shares no values; what Redis reports is mirrored: integers 0–9999 are its
    /// shared objects (count INT_MAX) unless an LRU/LFU policy with a memory limit keeps them
    /// apart, every other value is referenced once.
    static func objectRefcount(_ c: inout CommandContext) {
        guard let entry = objectEntry(&c) else { return }
        let policy = c.server.config["maxmemory-policy"]
        let sharesIntegers = c.server.config.integer("maxmemory") == 0 || !(policy.hasSuffix("-lru") || policy.hasSuffix("-lfu"))
        if sharesIntegers, case .integer(let value) = entry.value, 0 ..< 10_000 ~= value {
            c.reply.integer(Int(Int32.max))
        } else {
            c.reply.integer(1)
        }
    }

    static func objectIdleTime(_ c: inout CommandContext) {
        guard let entry = objectEntry(&c) else { return }
        if c.server.keyspace.usesLFU.load(ordering: .relaxed) {
            c.error(Errors.idleTimeUnderLFU)
            return
        }
        c.reply.integer(AccessTracking.idleSeconds(entry.access, clock: Database.lruClock(c.now)))
    }

    static func objectFreq(_ c: inout CommandContext) {
        guard let entry = objectEntry(&c) else { return }
        guard c.server.keyspace.usesLFU.load(ordering: .relaxed) else {
            c.error(Errors.frequencyWithoutLFU)
            return
        }
        c.reply.integer(AccessTracking.decayedFrequency(entry.access, now: c.now, keyspace: c.server.keyspace))
    }

    /// The entry OBJECT inspects, without touching its access time; replies null when missing.
    private static func objectEntry(_ c: inout CommandContext) -> Entry? {
        var database = c.database
        database.touches = false
        guard let entry = database.lookup(c.key(2)) else {
            c.reply.null()
            return nil
        }
        return entry
    }

    static func objectHelp(_ c: inout CommandContext) {
        Help.reply(&c, command: "OBJECT", lines: [
            "ENCODING <key>", "    The encoding Needletail stores the key's value in.",
            "FREQ <key>", "    The key's logarithmic access counter (only under an LFU maxmemory-policy).",
            "IDLETIME <key>", "    Seconds since the key was last read or written (not under an LFU policy).",
            "REFCOUNT <key>", "    How many references the value has (always 1 in Needletail).",
        ])
    }
}
