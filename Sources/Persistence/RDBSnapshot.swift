import Engine
import Locks
#if canImport(Glibc)
import Glibc
#endif

/// A point-in-time RDB image of the keyspace, taken without stopping clients (DESIGN.md §6).
///
/// `begin` marks every shard at one instant. From then on each shard is serialized exactly
/// once, as it stood at that instant, by whoever locks it first: the writer walking the shards
/// in order, or a command about to change it (which pays for one shard's serialization, a few
/// thousand keys at most, before it runs). The writer streams the file database by database;
/// a shard serialized early waits in memory until the writer reaches it.
public final class RDBSnapshot: @unchecked Sendable {
    public struct Options: Sendable {
        public var compress = true
        public var checksum = true
        /// Access information per key, as Redis writes it under an LRU or an LFU policy.
        public var saveIdle = false
        public var saveFrequency = false
        /// `rdb-key-save-delay`: microseconds the writer waits per key it writes itself (not
        /// for shards a command captured), so tests can watch a save in progress.
        public var keyDelayMicroseconds = 0
        /// Aux fields: `used-mem` and, for replication, `repl-*`.
        public var usedMemory = 0
        public var replication: (id: String, offset: Int, db: Int)?
        public init() {}
    }

    let keyspace: Keyspace
    let options: Options
    /// The instant, Unix ms.
    public private(set) var instant: Int64 = 0
    /// Keys and keys with a TTL per database at the instant.
    private var counts: [(keys: Int, volatile: Int)] = []
    /// Serialized records per shard and database, until written. Guarded by its lock.
    private let chunks: Lock<[[[UInt8]?]]>

    init(keyspace: Keyspace, options: Options) {
        self.keyspace = keyspace
        self.options = options
        chunks = Lock(Array(repeating: Array(repeating: nil, count: keyspace.databaseCount), count: keyspace.shards.count))
    }

    /// Marks the instant; `atInstant` runs there too, with every shard locked (to note the
    /// replication offset or the change counter that the image matches).
    public static func begin(_ keyspace: Keyspace, options: Options, now: Int64, atInstant: () -> Void = {}) -> RDBSnapshot {
        let snapshot = RDBSnapshot(keyspace: keyspace, options: options)
        // The shards hold the snapshot until each is captured (or `cancel` clears them).
        let capture = ShardCapture { shard in snapshot.serialize(shard) }
        keyspace.beginCapture(capture) {
            snapshot.instant = now
            snapshot.counts = (0 ..< keyspace.databaseCount).map { db in
                keyspace.shards.reduce((keys: 0, volatile: 0)) { sum, shard in
                    let table = shard.table(db)
                    return (sum.keys + table.count, sum.volatile + table.volatileCount)
                }
            }
            atInstant()
        }
        return snapshot
    }

    public var keyCount: Int { counts.reduce(0) { $0 + $1.keys } }

    /// Stops capturing (after a failed write): what is still marked is left as it is.
    public func cancel() {
        keyspace.cancelCapture()
        chunks.withLock { $0 = [] }
    }

    /// Called once per shard, with it locked.
    private func serialize(_ shard: Shard) {
        let lfu = keyspace.usesLFU.load(ordering: .relaxed)
        let clock = Database.lruClock(instant)
        var serialized: [[UInt8]?] = Array(repeating: nil, count: keyspace.databaseCount)
        for db in 0 ..< keyspace.databaseCount {
            let table = shard.table(db)
            guard table.count > 0 else { continue }
            var writer = RDBWriter(compress: options.compress)
            table.forEach { entry in
                let idle = options.saveIdle && !lfu ? AccessTracking.idleSeconds(entry.access, clock: clock) : nil
                let frequency = options.saveFrequency && lfu
                    ? AccessTracking.decayedFrequency(entry.access, now: instant, keyspace: keyspace) : nil
                writer.record(entry, idle: idle, frequency: frequency)
            }
            serialized[db] = writer.bytes
        }
        chunks.withLock { chunks in
            if !chunks.isEmpty { chunks[shard.index] = serialized }  // empty: cancelled
        }
    }

    /// Streams the file through `sink`, ending with the checksum. Captures every shard not yet
    /// captured (locking each briefly, in order).
    public func write(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var checksum = CRC64()
        func emit(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { buffer in
                if options.checksum { checksum.update(buffer) }
                try sink(buffer)
            }
        }
        var header = RDBWriter(compress: false)
        header.bytes.append(contentsOf: Array("REDIS00\(RDBFormat.version)".utf8))
        header.aux("redis-ver", "7.0.15")
        header.aux("redis-bits", integer: Int64(Int.bitWidth))
        header.aux("ctime", integer: instant / 1000)
        header.aux("used-mem", integer: Int64(options.usedMemory))
        if let replication = options.replication {
            header.aux("repl-stream-db", integer: Int64(replication.db))
            header.aux("repl-id", replication.id)
            header.aux("repl-offset", integer: Int64(replication.offset))
        }
        header.aux("aof-base", integer: 0)
        try emit(header.bytes)
        for db in 0 ..< keyspace.databaseCount where counts[db].keys > 0 {
            var start = RDBWriter(compress: false)
            start.byte(RDBFormat.Opcode.selectDB.rawValue)
            start.length(db)
            start.byte(RDBFormat.Opcode.resizeDB.rawValue)
            start.length(counts[db].keys)
            start.length(counts[db].volatile)
            try emit(start.bytes)
            for shard in keyspace.shards {
                shard.withLock {}  // captures the shard if no command has yet
                let chunk = chunks.withLock { chunks in
                    defer { chunks[shard.index][db] = nil }
                    return chunks[shard.index][db]
                }
                if let chunk { try emit(chunk) }
                if options.keyDelayMicroseconds > 0 {
                    let keys = shard.withLock { shard.table(db).count }
                    usleep(UInt32(clamping: options.keyDelayMicroseconds * keys))
                }
            }
        }
        try emit([RDBFormat.Opcode.end.rawValue])
        // The checksum, little-endian; zero when `rdbchecksum no` (loaders then skip the check).
        try emit(withUnsafeBytes(of: (options.checksum ? checksum.value : 0).littleEndian) { Array($0) })
    }
}

extension RDBWriter {
    mutating func aux(_ name: String, _ value: String) {
        byte(RDBFormat.Opcode.aux.rawValue)
        string(name)
        string(value)
    }

    mutating func aux(_ name: String, integer value: Int64) {
        byte(RDBFormat.Opcode.aux.rawValue)
        string(name)
        string(integer: value)
    }
}
