import Commands
import Engine
#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole RDB file into the keyspace: every record checked, the checksum verified, and
/// nothing stored unless the file is sound from header to checksum (a truncated or corrupt
/// file leaves the keyspace as it was, unless two of its keys collide).
public struct RDBLoader {
    public struct Summary: Sendable {
        public var version = 0
        public var aux: [String: String] = [:]
        public var keysLoaded = 0
        public var keysExpired = 0
        /// Empty collections in the file (Redis once wrote them): skipped, as Redis skips them.
        public var emptyKeysSkipped: [[UInt8]] = []
    }

    /// Where a load failed: the offset reached, and the key being read, if any.
    public struct Failure: Error, CustomStringConvertible {
        public let error: RDBError
        public let offset: Int
        public let key: [UInt8]?
        public let db: Int
        public var description: String { error.reason }
    }

    /// A key read from the file, waiting for the whole file to prove sound.
    private struct Pending {
        var db: Int
        var entry: Entry
    }

    /// Loads `bytes` into `keyspace`. The file is read without any lock (`progress` is told
    /// the offset reached now and then); its keys are stored once it proved sound, with every
    /// shard locked (by the caller when `holdingAllShards`). Keys whose TTL passed before
    /// `now` are skipped when `skipExpired` (a master; a replica keeps them for its master's
    /// DEL). `replacing`: a key already present takes the file's value (DEBUG RELOAD MERGE)
    /// instead of failing the load.
    public static func load(_ bytes: [UInt8], into keyspace: Keyspace, now: Int64, skipExpired: Bool,
                            replacing: Bool = false, holdingAllShards: Bool = false, keyDelayMicroseconds: Int = 0,
                            progress: (_ offset: Int, _ fileUsedMemory: Int) -> Void = { _, _ in }) throws(Failure) -> Summary {
        var reader = RDBReader(bytes)
        var db = 0
        var keyOffset: Int?
        do {
            let (summary, pending) = try read(&reader, keyspace: keyspace, now: now, db: &db, keyOffset: &keyOffset,
                                              keyDelay: UInt32(clamping: keyDelayMicroseconds), progress: progress)
            return try keyspace.withAllShards(locking: !holdingAllShards) {
                Result { () throws(RDBError) -> Summary in
                    var summary = summary
                    try store(pending, into: keyspace, now: now, skipExpired: skipExpired, replacing: replacing, summary: &summary)
                    return summary
                }
            }.get()
        } catch {
            var keyReader = RDBReader(bytes, position: keyOffset ?? bytes.count)
            throw Failure(error: error, offset: reader.position, key: keyOffset.flatMap { _ in try? keyReader.string() }, db: db)
        }
    }

    /// Reads every record into entries, checks the checksum and the end. `db` and
    /// `keyOffset` (the key whose value is being read) say where it is.
    private static func read(_ reader: inout RDBReader, keyspace: Keyspace, now: Int64, db: inout Int, keyOffset: inout Int?,
                             keyDelay: UInt32, progress: (Int, Int) -> Void) throws(RDBError) -> (Summary, [Pending]) {
        let bytes = reader.bytes
        let lfu = keyspace.usesLFU.load(ordering: .relaxed)
        var summary = Summary()
        let magic = Array(try reader.take(9))
        guard magic.starts(with: Array("REDIS".utf8)),
              let version = Int(String(decoding: magic[5...], as: UTF8.self)), (1 ... Int(RDBFormat.version)).contains(version) else {
            throw RDBError("wrong signature or unsupported RDB version")
        }
        summary.version = version
        var pending: [Pending] = []
        var usedMemory = 0
        var expireAt: Int64 = 0
        var idle: Int?, frequency: Int?
        loop: while true {
            let type = try reader.byte()
            switch RDBFormat.Opcode(rawValue: type) {
            case .end:
                break loop
            case .selectDB:
                db = try reader.length()
                guard db < keyspace.databaseCount else {
                    throw RDBError("FATAL: Data file was created with a Redis server configured to handle more than \(keyspace.databaseCount) databases. Exiting")
                }
            case .resizeDB:
                _ = try reader.length()
                _ = try reader.length()
            case .expireTimeMilliseconds:
                expireAt = Int64(bitPattern: try reader.littleEndian(UInt64.self))
            case .expireTimeSeconds:
                expireAt = Int64(Int32(bitPattern: try reader.littleEndian(UInt32.self))) * 1000
            case .idle:
                idle = try reader.length()
            case .frequency:
                frequency = Int(try reader.byte())
            case .aux:
                let name = String(decoding: try reader.string(), as: UTF8.self)
                summary.aux[name] = String(decoding: try reader.string(), as: UTF8.self)
                if name == "used-mem" { usedMemory = summary.aux[name].flatMap(Int.init) ?? 0 }
            case .moduleAux:
                throw RDBError("the file holds module data, which Needletail does not load")
            case .function, .function2:
                throw RDBError("the file holds function libraries, which Needletail does not load")
            case nil:
                keyOffset = reader.position
                let key = try reader.stringSlice()
                let access = AccessTracking.restoredStamp(now: now, lfu: lfu, idleSeconds: idle, frequency: frequency)
                let value = try reader.value(type: type, limits: keyspace.encodingLimits)
                keyOffset = nil
                let entry: Entry? = key.withUnsafeBytes { key in
                    switch value {
                    case .string(let bytes):
                        bytes.withUnsafeBytes { StringValues.entry(key: Key(key), value: $0, expireAt: expireAt, access: access) }
                    case .collection(let value):
                        Entry.make(key: key, value: value, expireAt: expireAt, access: access)
                    case .empty:
                        nil
                    }
                }
                if let entry {
                    pending.append(Pending(db: db, entry: entry))
                } else {
                    summary.emptyKeysSkipped.append(Array(key))
                }
                if keyDelay > 0 {
                    usleep(keyDelay)
                    progress(reader.position, usedMemory)
                } else if pending.count % 1024 == 0 {
                    progress(reader.position, usedMemory)
                }
                expireAt = 0
                idle = nil
                frequency = nil
            }
        }
        if version >= 5 {
            let stored = try reader.littleEndian(UInt64.self)
            if stored != 0 && stored != CRC64.checksum(bytes[..<(reader.position - 8)]) {
                throw RDBError("RDB CRC error")
            }
        }
        guard reader.isAtEnd else { throw RDBError("data after the end of the file") }
        progress(reader.position, usedMemory)
        return (summary, pending)
    }

    private static func store(_ pending: [Pending], into keyspace: Keyspace, now: Int64, skipExpired: Bool, replacing: Bool,
                              summary: inout Summary) throws(RDBError) {
        var perDatabase = [Int](repeating: 0, count: keyspace.databaseCount)
        for record in pending { perDatabase[record.db] += 1 }
        for (db, count) in perDatabase.enumerated() where count > 0 {
            Database(keyspace: keyspace, index: db, now: now, holdsAllShards: true).reserve(count)
        }
        for record in pending {
            let entry = record.entry
            if skipExpired && entry.expireAt != 0 && entry.expireAt < now {
                summary.keysExpired += 1
                continue
            }
            let database = Database(keyspace: keyspace, index: record.db, now: now, holdsAllShards: true)
            let stored = entry.withKey { bytes in
                let key = Key(bytes)
                guard replacing else { return database.storeIfAbsent(key, entry) }
                database.store(key, entry)
                return true
            }
            guard stored else { throw RDBError("Duplicate key '\(entry.withKey { String(decoding: $0, as: UTF8.self) })' found in RDB file") }
            summary.keysLoaded += 1
        }
    }
}
