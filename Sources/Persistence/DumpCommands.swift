import Commands
import Engine

/// DUMP and RESTORE: a key's value in Redis's serialized form (its RDB encoding, the RDB
/// version and a CRC-64), so values move between Needletail and Redis in both directions.
public enum DumpCommands {
    public static let table: [Command] = [
        Command("dump", arity: 2, flags: [.readonly], categories: [.keyspace], keys: [.key(1, "RO access")],
                tips: ["nondeterministic_output"], group: "generic", since: "2.6.0",
                summary: "Serializes a key's value in Redis's DUMP format.", handler: dump),
        Command("restore", arity: -4, flags: [.write, .denyOOM], categories: [.keyspace, .dangerous], keys: [.key(1, "OW update")],
                group: "generic", since: "2.6.0", summary: "Creates a key from a DUMP payload.", handler: restore),
    ]

    static func dump(_ c: inout CommandContext) {
        guard let entry = c.read(c.key(1), in: c.database) else {
            c.reply.null()
            return
        }
        c.reply.bulk(RDBWriter.dumpPayload(of: entry, compress: c.server.config.bool("rdbcompression")))
    }

    /// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency], checked
    /// in Redis's order: options, an existing key, the TTL, the payload's footer, its contents.
    static func restore(_ c: inout CommandContext) {
        var replace = false, absoluteTTL = false
        var idleSeconds: Int?, frequency: Int?
        var index = 4
        while index < c.argumentCount {
            let hasValue = index + 1 < c.argumentCount
            if c.argument(index, is: "REPLACE") {
                replace = true
            } else if c.argument(index, is: "ABSTTL") {
                absoluteTTL = true
            } else if c.argument(index, is: "IDLETIME") && hasValue && frequency == nil {
                guard let value = c.integerOrReply(index + 1) else { return }
                guard value >= 0 else { return c.error(Errors.invalidIdleTime) }
                idleSeconds = value
                index += 1
            } else if c.argument(index, is: "FREQ") && hasValue && idleSeconds == nil {
                guard let value = c.integerOrReply(index + 1) else { return }
                guard (0 ... 255).contains(value) else { return c.error(Errors.invalidFrequency) }
                frequency = value
                index += 1
            } else {
                return c.error(Errors.syntax)
            }
            index += 1
        }
        let db = c.database
        let key = c.key(1)
        if !replace && db.lookup(key) != nil { return c.error(Errors.busyKey) }
        guard let ttl = c.integerOrReply(2) else { return }
        guard ttl >= 0 else { return c.error(Errors.invalidTTL) }
        let payload = c.bytes(3)
        let checksum = !c.server.skipsChecksumValidation.load(ordering: .relaxed)
        guard let body = verifiedBody(payload, checksum: checksum) else { return c.error(Errors.badDumpPayload) }
        var reader = RDBReader(body)
        let loaded: LoadedValue
        do {
            loaded = try reader.value(type: try reader.byte(), limits: c.keyspace.encodingLimits)
        } catch {
            c.server.warn("RESTORE refused a corrupt payload: \(error)")
            return c.error(Errors.badDataFormat)
        }
        if case .empty = loaded { return c.error(Errors.badDataFormat) }
        let deleted = replace && db.remove(key) != nil
        // Redis adds without an overflow check; the wrapped (negative) time reads as expired.
        let expireAt = ttl == 0 ? 0 : absoluteTTL ? Int64(ttl) : Int64(ttl) &+ c.now
        if expireAt != 0 && expireAt <= c.now && !c.session.flags.contains(.master) {
            if deleted {
                c.changed(key, .generic, "del", in: db)
                c.propagate([Array("DEL".utf8), Array(key.bytes)])
            }
            c.reply.ok()
            return
        }
        let access = AccessTracking.restoredStamp(now: c.now, lfu: c.keyspace.usesLFU.load(ordering: .relaxed),
                                                  idleSeconds: idleSeconds, frequency: frequency)
        let entry = switch loaded {
        case .string(let bytes): bytes.withUnsafeBytes { StringValues.entry(key: key, value: $0, expireAt: expireAt, access: access) }
        case .collection(let value): Entry.make(key: key.bytes, value: value, expireAt: expireAt, access: access)
        case .empty: preconditionFailure("refused above")
        }
        c.store(key, entry, in: db)
        c.changed(key, .generic, "restore", in: db)
        if expireAt != 0 && !absoluteTTL {
            // A replica gets the absolute time, as Redis propagates it.
            var words = (0 ..< c.argumentCount).map { c.bytes($0) }
            words[2] = Array(String(expireAt).utf8)
            words.append(Array("ABSTTL".utf8))
            c.propagate(words)
        }
        c.reply.ok()
    }

    /// The payload without its footer, if the footer's RDB version is one Needletail reads and
    /// its CRC-64 matches.
    static func verifiedBody(_ payload: [UInt8], checksum: Bool = true) -> [UInt8]? {
        guard payload.count >= 10 else { return nil }
        let footer = payload.count - 10
        var reader = RDBReader(payload, position: footer)
        guard let version = try? reader.littleEndian(UInt16.self), version <= RDBFormat.version,
              let stored = try? reader.littleEndian(UInt64.self) else { return nil }
        guard !checksum || CRC64.checksum(payload[..<(footer + 2)]) == stored else { return nil }
        return Array(payload[..<footer])
    }
}
