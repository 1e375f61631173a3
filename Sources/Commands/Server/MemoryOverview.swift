import Engine

/// Where the memory in use goes, as INFO memory, MEMORY STATS and MEMORY DOCTOR report it.
/// Needletail's allocator figures are glibc's: "allocated" is what Needletail counts itself
/// (AllocationCounter.c), "active" what malloc holds in its arenas, "resident" the process RSS.
struct MemoryOverview {
    var used: Int
    var peak: Int
    var startup: Int
    var rss: Int
    var allocatorActive: Int
    var clientsNormal: Int
    var clientsReplicas: Int
    /// Per database with keys: its number, key count and the bytes of its key tables.
    var databases: [(db: Int, keys: Int, tableBytes: Int)]

    init(_ server: ServerState, now: Int64, holdsAllShards: Bool) {
        used = ProcessMetrics.allocatedBytes()
        peak = server.statistics.recordMemoryPeak(used)
        startup = server.startupMemory
        rss = ProcessMetrics.residentBytes()
        allocatorActive = ProcessMetrics.allocatorActiveBytes()
        let clients = server.clients.all().map { $0.published.withLock { ($0.flags.contains(.replica), $0.memory.total) } }
        clientsNormal = clients.filter { !$0.0 }.reduce(0) { $0 + $1.1 }
        clientsReplicas = clients.filter { $0.0 }.reduce(0) { $0 + $1.1 }
        databases = (0 ..< server.keyspace.databaseCount).compactMap { index in
            let db = Database(keyspace: server.keyspace, index: index, now: now, holdsAllShards: holdsAllShards)
            let keys = db.count().keys
            return keys > 0 ? (index, keys, db.tableBytes()) : nil
        }
    }

    var keys: Int { databases.reduce(0) { $0 + $1.keys } }
    /// Memory that is not the data: the start-up footprint, clients' buffers, the key tables.
    var overhead: Int { startup + clientsNormal + clientsReplicas + databases.reduce(0) { $0 + $1.tableBytes } }
    var dataset: Int { max(0, used - overhead) }
    /// What the data added since start-up.
    var netUsage: Int { max(0, used - startup) }

    static func ratio(_ part: Int, _ whole: Int) -> Double {
        whole > 0 ? Double(part) / Double(whole) : 0
    }
}
