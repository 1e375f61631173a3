import Engine

import SystemShims

/// MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP.
///
/// MEMORY USAGE answers with Needletail's own measured bytes for the key (`MemoryUsage`), not
/// Redis's figure for the same value: the layouts differ. The allocator is glibc's: MALLOC-STATS
/// is its `malloc_info` report, PURGE its `malloc_trim`.
enum MemoryCommands {
    static let table: [Command] = [
        Command("memory", arity: -2, group: "server", since: "4.0.0", summary: "Reports on the server's memory.", subcommands: [
            Command("usage", arity: -3, flags: [.readonly], keys: [.key(2, "RO")], group: "server", since: "4.0.0",
                    summary: "The bytes a key and its value take.", handler: usage),
            Command("stats", arity: 2, tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
                    group: "server", since: "4.0.0", summary: "Reports where the memory in use goes.", handler: stats),
            Command("doctor", arity: 2, tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
                    group: "server", since: "4.0.0", summary: "Reports memory problems, if any.", handler: doctor),
            Command("malloc-stats", arity: 2, tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
                    group: "server", since: "4.0.0", summary: "The allocator's own statistics.", handler: mallocStats),
            Command("purge", arity: 2, tips: ["request_policy:all_shards", "response_policy:all_succeeded"], group: "server",
                    since: "4.0.0", summary: "Gives the allocator's free pages back to the system.", handler: purge),
            Command("help", arity: 2, flags: [.loading, .stale], group: "server", since: "4.0.0",
                    summary: "Lists the MEMORY subcommands.", handler: help),
        ]),
    ]

    /// Elements sampled in a large collection when SAMPLES is not given (Redis's default).
    static let defaultSamples = 5

    static func usage(_ c: inout CommandContext) {
        var samples = defaultSamples
        var index = 3
        while index < c.argumentCount {
            guard c.argument(index, is: "SAMPLES"), index + 1 < c.argumentCount else { return c.error(Errors.syntax) }
            guard let value = c.integerOrReply(index + 1) else { return }
            guard value >= 0 else { return c.error(Errors.syntax) }
            samples = value
            index += 2
        }
        guard let entry = c.database.storedEntry(c.key(2)) else { return c.reply.null() }
        c.reply.integer(MemoryUsage.bytes(of: entry, samples: samples))
    }

    static func stats(_ c: inout CommandContext) {
        let overview = MemoryOverview(c.server, now: c.now, holdsAllShards: c.holdsAllShards)
        let resident = overview.rss
        c.reply.mapHeader(27 + overview.databases.count)
        func field(_ name: String, _ value: Int) {
            c.reply.bulk(name)
            c.reply.integer(value)
        }
        func field(_ name: String, _ value: Double) {
            c.reply.bulk(name)
            c.reply.double(value)
        }
        field("peak.allocated", overview.peak)
        field("total.allocated", overview.used)
        field("startup.allocated", overview.startup)
        field("replication.backlog", 0)
        field("clients.slaves", overview.clientsReplicas)
        field("clients.normal", overview.clientsNormal)
        field("cluster.links", 0)
        field("aof.buffer", 0)
        field("lua.caches", 0)
        field("functions.caches", 0)
        for database in overview.databases {
            c.reply.bulk("db.\(database.db)")
            c.reply.mapHeader(3)
            field("overhead.hashtable.main", database.tableBytes)
            // Keys with a TTL keep it in their entry: there is no second table.
            field("overhead.hashtable.expires", 0)
            field("overhead.hashtable.slot-to-keys", 0)
        }
        field("overhead.total", overview.overhead)
        field("keys.count", overview.keys)
        field("keys.bytes-per-key", overview.keys > 0 ? overview.netUsage / overview.keys : 0)
        field("dataset.bytes", overview.dataset)
        field("dataset.percentage", 100 * MemoryOverview.ratio(overview.dataset, overview.netUsage))
        field("peak.percentage", 100 * MemoryOverview.ratio(overview.used, overview.peak))
        field("allocator.allocated", overview.used)
        field("allocator.active", overview.allocatorActive)
        field("allocator.resident", resident)
        field("allocator-fragmentation.ratio", MemoryOverview.ratio(overview.allocatorActive, overview.used))
        field("allocator-fragmentation.bytes", overview.allocatorActive - overview.used)
        field("allocator-rss.ratio", MemoryOverview.ratio(resident, overview.allocatorActive))
        field("allocator-rss.bytes", resident - overview.allocatorActive)
        field("rss-overhead.ratio", 1.0)
        field("rss-overhead.bytes", 0)
        field("fragmentation", MemoryOverview.ratio(resident, overview.used))
        field("fragmentation.bytes", resident - overview.used)
    }

    /// Redis's checks, in Needletail's words: too little data to judge, or each problem found.
    static func doctor(_ c: inout CommandContext) {
        let overview = MemoryOverview(c.server, now: c.now, holdsAllShards: c.holdsAllShards)
        let megabytes10 = 10 << 20
        guard overview.used >= 5 << 20 else {
            return c.reply.verbatim("This instance holds too little data (under 5 MB) for a memory diagnosis to mean anything. Fill it, then ask again.\n")
        }
        let clients = c.server.clients.count
        var findings: [String] = []
        if MemoryOverview.ratio(overview.peak, overview.used) > 1.5 {
            findings.append("Peak memory: this instance once used more than 150% of what it uses now. The allocator keeps much of what it was given, so the resident size stays high; the memory is reused as data grows again. MEMORY PURGE gives free pages back to the system.")
        }
        if MemoryOverview.ratio(overview.rss, overview.used) > 1.4 && overview.rss - overview.used > megabytes10 {
            findings.append("High total RSS: the resident size is more than 1.4 times what is allocated. A past peak (see above) is the usual cause; otherwise the workload fragments the allocator's arenas (the allocator is glibc malloc).")
        }
        if MemoryOverview.ratio(overview.allocatorActive, overview.used) > 1.1 && overview.allocatorActive - overview.used > megabytes10 {
            findings.append("High allocator fragmentation: malloc's arenas hold more than 1.1 times what is allocated in them, usually after a peak. MEMORY PURGE may give some back.")
        }
        if clients > 0 && overview.clientsNormal / clients > 200 * 1024 {
            findings.append("Big client buffers: clients hold more than 200 KB of buffers each on average: slow Pub/Sub readers, large replies or long pipelines. CLIENT LIST shows which (qbuf, omem).")
        }
        guard !findings.isEmpty else {
            return c.reply.verbatim("No memory problem found in this instance.\n")
        }
        c.reply.verbatim("Memory problems found:\n\n" + findings.map { " * " + $0 + "\n\n" }.joined())
    }

    static func mallocStats(_ c: inout CommandContext) {
        c.reply.verbatim(String(cString: needletail_malloc_info_report()))
    }

    static func purge(_ c: inout CommandContext) {
        needletail_malloc_trim()
        c.reply.ok()
    }

    static func help(_ c: inout CommandContext) {
        Help.reply(&c, command: "MEMORY", lines: [
            "DOCTOR",
            "    Reports memory problems, if any.",
            "MALLOC-STATS",
            "    The allocator's own statistics (glibc malloc_info).",
            "PURGE",
            "    Gives the allocator's free pages back to the system.",
            "STATS",
            "    Where the memory in use goes.",
            "USAGE <key> [SAMPLES <count>]",
            "    The bytes <key> and its value take; a large collection is estimated from <count>",
            "    of its members (5 by default, 0 for all of them).",
        ])
    }
}
