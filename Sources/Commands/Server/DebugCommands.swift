import Engine
import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// DEBUG SLEEP, SET-ACTIVE-EXPIRE, DIGEST, DIGEST-VALUE, OBJECT, POPULATE, LOG, ERROR,
/// PROTOCOL, RELOAD (with a persistence layer), SET-SKIP-CHECKSUM-VALIDATION, HELP. Refused unless `enable-debug-command` allows it, as in Redis 7.
///
/// DEBUG OBJECT's `serializedlength` is the length of the value in the RDB format's plain
/// (uncompressed, non-compact) encodings.
enum DebugCommands {
    static let table: [Command] = [
        Command("debug", arity: -2, flags: [.admin, .noScript, .loading, .stale, .protectedDebug, .keyspaceWide], group: "server",
                summary: "Inspects and exercises the server, for tests.", handler: debug),
    ]

    static func debug(_ c: inout CommandContext) {
        let count = c.argumentCount
        switch true {
        case c.argument(1, is: "HELP") && count == 2: help(&c)
        case c.argument(1, is: "SLEEP") && count == 3: sleep(&c)
        case c.argument(1, is: "SET-ACTIVE-EXPIRE") && count == 3:
            c.server.keyspace.activeExpiryEnabled.store(c.integer(2) != 0, ordering: .relaxed)
            c.reply.ok()
        case c.argument(1, is: "DIGEST") && count == 2:
            c.reply.simpleString(Digest.hex(Digest.dataset(c.server.keyspace, holdsAllShards: c.holdsAllShards)))
        case c.argument(1, is: "DIGEST-VALUE") && count >= 2: digestValue(&c)
        case c.argument(1, is: "OBJECT") && count == 3: object(&c)
        case c.argument(1, is: "POPULATE") && count >= 3 && count <= 5: populate(&c)
        case c.argument(1, is: "LOG") && count == 3:
            c.server.control?.log("DEBUG LOG: " + c.text(2))
            c.reply.ok()
        case c.argument(1, is: "ERROR") && count == 3:
            // As Redis: the text up to a NUL, after the error's '-'.
            c.error(bytes: Errors.formatted(c.arguments[2], limit: Int.max))
        case c.argument(1, is: "PROTOCOL") && count == 3:
            sampleReply(&c)
        case c.argument(1, is: "SET-SKIP-CHECKSUM-VALIDATION") && count == 3:
            c.server.skipsChecksumValidation.store(c.integer(2).map { $0 != 0 } ?? false, ordering: .relaxed)
            c.reply.ok()
        case c.argument(1, is: "RELOAD") && c.server.persistence != nil:
            reload(&c)
        default:
            c.error(bytes: Errors.subcommandSyntax(c.arguments[1], of: "debug"))
        }
    }

    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset, load the file again
    /// (MERGE: loaded keys replace those present).
    private static func reload(_ c: inout CommandContext) {
        var save = true, flush = true, merge = false
        for index in 2 ..< c.argumentCount {
            if c.argument(index, is: "MERGE") {
                merge = true
            } else if c.argument(index, is: "NOFLUSH") {
                flush = false
            } else if c.argument(index, is: "NOSAVE") {
                save = false
            } else {
                return c.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
            }
        }
        if let failure = c.server.persistence?.reload(save: save, flush: flush, merge: merge) { return c.error(failure) }
        c.server.warn("DB reloaded by DEBUG RELOAD")
        c.reply.ok()
    }

    /// DEBUG PROTOCOL <type>: a sample reply of each RESP type, as client libraries' tests use.
    private static func sampleReply(_ c: inout CommandContext) {
        switch c.text(2).lowercased() {
        case "string": c.reply.bulk("Hello World")
        case "integer": c.reply.integer(12345)
        case "double": c.reply.double(3.141)
        case "bignum": c.reply.bigNumber("1234567999999999999999999999999999999")
        case "null": c.reply.null()
        case "array", "set":
            if c.text(2).lowercased() == "set" { c.reply.setHeader(3) } else { c.reply.arrayHeader(3) }
            for number in 0 ..< 3 { c.reply.integer(number) }
        case "map":
            c.reply.mapHeader(3)
            for number in 0 ..< 3 {
                c.reply.integer(number)
                c.reply.boolean(number == 1)
            }
        case "attrib":
            if c.reply.isRESP3 {
                c.reply.attributeHeader(1)
                c.reply.bulk("key-popularity")
                c.reply.arrayHeader(2)
                c.reply.bulk("key:123")
                c.reply.integer(90)
            }
            // Attributes are no reply of their own: a real one follows.
            c.reply.bulk("Some real reply following the attribute")
        case "push":
            guard c.reply.isRESP3 else { return c.error(Errors.resp2NotSupported) }
            c.reply.push { reply in
                reply.pushHeader(2)
                reply.bulk("server-cpu-usage")
                reply.integer(42)
            }
            c.reply.bulk("Some real reply following the push reply")
        case "verbatim": c.reply.verbatim("This is a verbatim\nstring")
        case "true": c.reply.boolean(true)
        case "false": c.reply.boolean(false)
        default:
            c.error(Errors.debugProtocolType)
        }
    }

    private static func sleep(_ c: inout CommandContext) {
        // Redis converts to 64-bit microseconds: a time that does not fit sleeps not at all
        // there, and so here; Needletail also caps a sleep at an hour.
        let microseconds = (c.double(2) ?? 0) * 1_000_000
        if microseconds > 0 && microseconds < Double(Int64.max) {
            usleep(useconds_t(min(microseconds, 3_600_000_000)))
        }
        c.reply.ok()
    }

    /// Runs `body` with the shard of `key` locked (DEBUG names keys the dispatcher cannot see).
    private static func withKey<R>(_ c: CommandContext, _ key: Key, _ body: () -> R) -> R {
        c.holdsAllShards ? body() : c.server.keyspace.withShard(of: key, body)
    }

    private static func digestValue(_ c: inout CommandContext) {
        let db = c.database
        c.reply.arrayHeader(c.argumentCount - 2)
        for index in 2 ..< c.argumentCount {
            let key = c.key(index)
            let digest = withKey(c, key) { db.lookup(key).map(Digest.value) } ?? [UInt8](repeating: 0, count: 20)
            c.reply.simpleString(Digest.hex(digest))
        }
    }

    private static func object(_ c: inout CommandContext) {
        var db = c.database
        db.touches = false
        let key = c.key(2)
        let description: String? = withKey(c, key) {
            guard let entry = db.lookup(key) else { return nil }
            let address = String(UInt(bitPattern: ObjectIdentifier(entry).hashValue), radix: 16)
            let idle = AccessTracking.idleSeconds(entry.access, clock: Database.lruClock(c.now))
            return "Value at:0x\(address) refcount:1 encoding:\(entry.value.encodingName)"
                + " serializedlength:\(serializedLength(entry)) lru:\(entry.access) lru_seconds_idle:\(idle)"
        }
        if let description { c.reply.simpleString(description) } else { c.error(Errors.noSuchKey) }
    }

    /// The length of the value in the RDB format: a string in its integer or length-prefixed
    /// form; a collection as its member count then its members (a sorted set's scores as
    /// 8-byte doubles).
    static func serializedLength(_ entry: Entry) -> Int {
        switch entry.value {
        case .embedded, .integer, .raw:
            return StringValues.withBytes(entry, stringLength)
        case .list(let list):
            return lengthPrefix(list.count) + list.items.reduce(0) { $0 + $1.withBytes(stringLength) }
        case .hash(let hash):
            var total = lengthPrefix(hash.count)
            hash.forEach { field, value in total += field.withBytes(stringLength) + value.withBytes(stringLength) }
            return total
        case .set(let set):
            return lengthPrefix(set.count) + (0 ..< set.count).reduce(0) { $0 + set.member(at: $1).withBytes(stringLength) }
        case .sortedSet(let sortedSet):
            var total = lengthPrefix(sortedSet.count)
            sortedSet.forEach(ranks: 0 ..< sortedSet.count) { member, _ in
                total += member.withBytes(stringLength) + 8
                return true
            }
            return total
        }
    }

    /// An RDB string: small integers in their integer form, anything else length-prefixed.
    private static func stringLength(_ bytes: UnsafeRawBufferPointer) -> Int {
        if bytes.count <= 11, let value = StrictInteger.parse(bytes) {
            if Int(Int8.min) ... Int(Int8.max) ~= value { return 2 }
            if Int(Int16.min) ... Int(Int16.max) ~= value { return 3 }
            if Int(Int32.min) ... Int(Int32.max) ~= value { return 5 }
        }
        return lengthPrefix(bytes.count) + bytes.count
    }

    private static func lengthPrefix(_ count: Int) -> Int {
        count < 64 ? 1 : count < 16384 ? 2 : count <= Int(UInt32.max) ? 5 : 9
    }

    /// DEBUG POPULATE count [prefix] [size]: keys `prefix:N` holding `value:N` (padded with
    /// zeros or cut to `size`); existing keys are left alone.
    private static func populate(_ c: inout CommandContext) {
        guard let count = c.countOrReply(2) else { return }
        // Redis sizes its table for `count` keys first and replies this when it cannot.
        guard count <= 1 << 32 else { return c.error(Errors.populateTooLarge) }
        let prefix = c.argumentCount >= 4 ? c.bytes(3) : Array("key".utf8)
        var size = 0
        if c.argumentCount == 5 {
            guard let value = c.countOrReply(4) else { return }
            guard value <= c.server.config.integer("proto-max-bulk-len") else { return c.error(Errors.stringTooLong) }
            size = value
        }
        let db = c.database
        for number in 0 ..< count {
            let keyBytes = prefix + Array(":\(number)".utf8)
            var value = Array("value:\(number)".utf8)
            if size > 0 {
                value = value.count >= size ? Array(value.prefix(size)) : value + [UInt8](repeating: 0, count: size - value.count)
            }
            keyBytes.withUnsafeBytes { raw in
                let key = Key(raw)
                withKey(c, key) {
                    if db.lookup(key) == nil {
                        db.store(key, StringValues.entry(key: key, value: value, expireAt: 0, access: db.access))
                    }
                }
            }
        }
        c.dirty(count)
        c.reply.ok()
    }

    private static func help(_ c: inout CommandContext) {
        Help.reply(&c, command: "DEBUG", lines: [
            "DIGEST", "    A digest of the whole dataset, equal for equal data (and equal to Redis's).",
            "DIGEST-VALUE <key> [<key> ...]", "    The digest of each key's value.",
            "ERROR <string>", "    Replies with <string> as an error.",
            "LOG <message>", "    Writes the message to the server log.",
            "OBJECT <key>", "    How the key's value is stored.",
            "POPULATE <count> [<prefix>] [<size>]", "    Creates <count> keys prefix:N holding value:N (of <size> bytes if given).",
            "PROTOCOL <type>", "    A sample reply of a RESP type: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false.",
            "SET-ACTIVE-EXPIRE <0|1>", "    Stops or restarts the periodic deletion of expired keys.",
            "SLEEP <seconds>", "    Blocks this connection's event loop for the given (decimal) seconds.",
        ])
    }
}
