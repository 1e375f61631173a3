import Engine
import Locks
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A point-in-time RDB image of the keyspace, taken without stopping clients (DESIGN.md §6).
///
/// `begin` marks every shard at one instant. The first to lock a shard after it, the writer
/// walking the shards or a command, takes the shard's image: its tables' slot words, shared
/// copy-on-write (no work per entry), after which the live table keeps alive what the image
/// holds and a command that changes an entry in place first makes its own copy of it
/// (`Database`, `KeyTable.makeUnique`). The writer serializes the images on its own thread,
/// outside every lock, streams the file database by database, and lets each shard go when
/// done with it.
public final class RDBSnapshot: @unchecked Sendable {
    public struct Options: Sendable {
        public var compress = true
        public var checksum = true
        /// Access information per key, as Redis writes it under an LRU or an LFU policy.
        public var saveIdle = false
        public var saveFrequency = false
        /// `rdb-key-save-delay`: microseconds the writer waits per key it writes, so tests can
        /// watch a save in progress.
        public var keyDelayMicroseconds = 0
        /// Aux fields: `used-mem` and, for replication, `repl-*`.
        public var usedMemory = 0
        public var replication: (id: String, offset: Int, db: Int)?
        public init() {}
    }

    /// One shard's image: per database, its table as it stood at the instant, and (when the
    /// file records them) the access stamps of its entries in the table's order, read under
    /// the lock because reads change them in place.
    struct Image: @unchecked Sendable {  // its tables are read by the writer only
        var tables: [KeyTable?]
        var stamps: [[UInt32]?]
    }

    let keyspace: Keyspace
    private(set) var options: Options
    /// The instant, Unix ms.
    private(set) var instant: Int64 = 0
    /// Keys and keys with a TTL per database at the instant.
    private var counts: [(keys: Int, volatile: Int)] = []
    /// Each shard's image, from its capture until the writer is done with it. Guarded by its lock.
    private let images: Lock<[Image?]>

    init(keyspace: Keyspace, options: Options) {
        self.keyspace = keyspace
        self.options = options
        images = Lock(Array(repeating: nil, count: keyspace.shards.count))
    }

    /// Marks the instant; `atInstant` runs there too, with every shard locked (to note the
    /// replication offset or the change counter that the image matches).
    /// Nil while another snapshot is being written (one at a time): try again once it is done.
    public static func begin(_ keyspace: Keyspace, options: Options, now: Int64, atInstant: () -> Void = {}) -> RDBSnapshot? {
        let snapshot = RDBSnapshot(keyspace: keyspace, options: options)
        // The shards hold the snapshot until each is captured (or `cancel` clears them).
        let capture = ShardCapture { shard in snapshot.takeImage(of: shard) }
        let begun = keyspace.beginCapture(capture) {
            snapshot.instant = now
            snapshot.counts = snapshot.countKeys()
            atInstant()
        }
        return begun ? snapshot : nil
    }

    /// An image of a keyspace whose every shard the caller holds for the whole save (SAVE
    /// inside DEBUG RELOAD): nothing can change under it, so it reads the live tables.
    /// The `repl-*` aux fields, once the offset at the instant is known (before `write`).
    public func setReplication(id: String, offset: Int, db: Int) {
        options.replication = (id, offset, db)
    }

    public static func frozen(_ keyspace: Keyspace, options: Options, now: Int64) -> RDBSnapshot {
        let snapshot = RDBSnapshot(keyspace: keyspace, options: options)
        snapshot.isFrozen = true
        snapshot.instant = now
        snapshot.counts = snapshot.countKeys()
        return snapshot
    }

    private var isFrozen = false

    private func countKeys() -> [(keys: Int, volatile: Int)] {
        (0 ..< keyspace.databaseCount).map { db in
            keyspace.shards.reduce((keys: 0, volatile: 0)) { sum, shard in
                let table = shard.table(db)
                return (sum.keys + table.count, sum.volatile + table.volatileCount)
            }
        }
    }

    /// The last database with keys at the instant: after it, a shard's image is done with.
    private var lastDatabase: Int { counts.lastIndex { $0.keys > 0 } ?? -1 }

    /// The writer is done with `shard`: changes in place need no copy any more.
    private func release(_ shard: Shard) {
        shard.withLock { shard.endSharing() }
        images.withLock { if !$0.isEmpty { $0[shard.index] = nil } }
    }

    public enum Abandoned: Error { case abandoned }

    private let abandoned = Atomic<Bool>(false)

    /// Makes `write` stop at the next shard, throwing `Abandoned.abandoned`.
    public func abandon() {
        abandoned.store(true, ordering: .relaxed)
    }

    public var isAbandoned: Bool { abandoned.load(ordering: .relaxed) }

    /// `rdb-key-save-delay`'s wait, cut short when the save is abandoned.
    private func pause(microseconds: Int) throws {
        let deadline = Clock.monotonicNanoseconds() + Int64(min(microseconds, Int(Int32.max))) * 1000
        while Clock.monotonicNanoseconds() < deadline {
            if abandoned.load(ordering: .relaxed) { throw Abandoned.abandoned }
            usleep(1000)
        }
    }

    /// Stops capturing (after a failed write): every shard is let go. Once per snapshot: a
    /// second call must not end the capture of a snapshot begun since.
    public func cancel() {
        guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
        keyspace.cancelCapture()
        images.withLock { $0 = [] }
    }

    private let ended = Atomic<Bool>(false)

    /// Called once per shard, with it locked.
    private func takeImage(of shard: Shard) {
        let recordsAccess = options.saveIdle || options.saveFrequency
        var image = Image(tables: Array(repeating: nil, count: keyspace.databaseCount), stamps: Array(repeating: nil, count: keyspace.databaseCount))
        for db in 0 ..< keyspace.databaseCount {
            let table = shard.table(db)
            guard table.count > 0 else { continue }
            image.tables[db] = table.sharingEntries()
            if recordsAccess {
                var stamps: [UInt32] = []
                stamps.reserveCapacity(table.count)
                table.forEach { stamps.append($0.access) }
                image.stamps[db] = stamps
            }
        }
        shard.sharedWithSnapshot = true
        images.withLock { images in
            if !images.isEmpty { images[shard.index] = image }  // empty: cancelled
        }
    }

    /// The records of one table of an image, serialized on the writer's thread.
    private func serialize(_ table: KeyTable, stamps: [UInt32]?) -> [UInt8] {
        let lfu = keyspace.usesLFU.load(ordering: .relaxed)
        let clock = Database.lruClock(instant)
        var writer = RDBWriter(compress: options.compress)
        var index = 0
        table.forEach { entry in
            let stamp = stamps?[index] ?? (isFrozen ? entry.access : nil)
            index += 1
            let idle = options.saveIdle && !lfu ? stamp.map { AccessTracking.idleSeconds($0, clock: clock) } : nil
            let frequency = options.saveFrequency && lfu
                ? stamp.map { AccessTracking.decayedFrequency($0, now: instant, keyspace: keyspace) } : nil
            writer.record(entry, idle: idle, frequency: frequency)
        }
        return writer.bytes
    }

    /// Streams the file through `sink`, ending with the checksum. Captures every shard not yet
    /// captured (locking each briefly, in order).
    /// Writes the image to `sink`. Once it returns or throws, the capture is over and another
    /// snapshot may begin.
    public func write(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        do {
            try writeImage(sink)
            if !isFrozen && !ended.exchange(true, ordering: .acquiringAndReleasing) { keyspace.endCapture() }
        } catch {
            if !isFrozen { cancel() }
            throw error
        }
    }

    private func writeImage(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
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
                if isFrozen {
                    if shard.table(db).count > 0 { try emit(serialize(shard.table(db), stamps: nil)) }
                    continue
                }
                if abandoned.load(ordering: .relaxed) { throw Abandoned.abandoned }
                shard.withLock {}  // takes the shard's image if no command has yet
                let table = images.withLock { images in
                    defer { images[shard.index]?.tables[db] = nil }
                    return images[shard.index]?.tables[db]
                }
                guard let table else { continue }
                let stamps = images.withLock { $0[shard.index]?.stamps[db] }
                try emit(serialize(table, stamps: stamps))
                if options.keyDelayMicroseconds > 0 { try pause(microseconds: options.keyDelayMicroseconds.multipliedReportingOverflow(by: table.count).partialValue) }
                if db == lastDatabase { release(shard) }
            }
        }
        // Shards whose databases were all empty at the instant.
        if !isFrozen { for shard in keyspace.shards { release(shard) } }
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
