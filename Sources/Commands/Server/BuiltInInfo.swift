import Config
import Engine
import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Redis's INFO sections as this module knows them, with Redis's field names and formats. Every
/// value is measured; fields for features Needletail does not have (Lua, AOF rewrites, forks)
/// report their idle state. Persistence and replication report their idle state here until the
/// layers that own them register their own sections.
enum BuiltInInfo {
    static let sections: [InfoSection] = [
        InfoSection("server", isDefault: true, fields: server),
        InfoSection("clients", isDefault: true, fields: clients),
        InfoSection("memory", isDefault: true, fields: memory),
        InfoSection("persistence", isDefault: true, fields: persistence),
        InfoSection("stats", isDefault: true, fields: stats),
        InfoSection("replication", isDefault: true, fields: replication),
        InfoSection("cpu", isDefault: true, fields: cpu),
        InfoSection("modules", isDefault: true) { _ in [] },
        InfoSection("commandstats", isDefault: false, fields: commandStats),
        InfoSection("errorstats", isDefault: true, fields: errorStats),
        InfoSection("cluster", isDefault: true, fields: cluster),
        InfoSection("keyspace", isDefault: true, fields: keyspace),
    ]

    private static func server(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let config = c.server.config
        let now = c.now
        let uptime = (now - server.startedAt) / 1000
        let fields = [
            ("redis_version", redisCompatibilityVersion), ("needletail_version", needletailVersion),
            ("redis_git_sha1", "00000000"), ("redis_git_dirty", "0"), ("redis_build_id", server.runID.prefix(16).description),
            ("redis_mode", "standalone"), ("os", ProcessMetrics.operatingSystem()), ("arch_bits", String(Int.bitWidth)),
            ("monotonic_clock", "POSIX clock_gettime"), ("multiplexing_api", "epoll"), ("atomicvar_api", "c11-builtin"),
            ("gcc_version", "0.0.0"), ("process_id", String(getpid())), ("process_supervised", "no"),
            ("run_id", server.runID), ("tcp_port", config["port"]), ("server_time_usec", String(now * 1000)),
            ("uptime_in_seconds", String(uptime)), ("uptime_in_days", String(uptime / 86400)),
            ("hz", String(server.currentHz.load(ordering: .relaxed))), ("configured_hz", config["hz"]), ("lru_clock", String(Database.lruClock(now))),
            ("executable", server.executable), ("config_file", config.file ?? ""),
            ("io_threads_active", server.eventLoops > 1 ? "1" : "0"),
        ]
        guard let deadline = server.control?.shutdownDeadline else { return fields }
        return fields + [("shutdown_in_milliseconds", String(deadline - now))]
    }

    private static func clients(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let config = c.server.config
        let clients = server.clients.all()
        let published = clients.map { $0.published.withLock { $0 } }
        return [
            ("connected_clients", String(clients.count)), ("cluster_connections", "0"), ("maxclients", config["maxclients"]),
            ("client_recent_max_input_buffer", String(published.map(\.memory.queryBuffer).max() ?? 0)),
            ("client_recent_max_output_buffer", String(published.map(\.memory.outputMemory).max() ?? 0)),
            ("blocked_clients", String(server.blockedClients.load(ordering: .relaxed) + server.pause.waitingCount)),
            ("pubsub_clients", String(published.filter { $0.subscriptions + $0.patternSubscriptions + $0.shardSubscriptions > 0 }.count)),
            ("tracking_clients", String(server.tracking.active.load(ordering: .relaxed))),
            ("clients_in_timeout_table", String(clients.filter { $0.blocked.withLock { $0?.deadline ?? 0 } != 0 }.count)),
        ]
    }

    private static func memory(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let config = c.server.config
        let overview = MemoryOverview(server, now: c.now, holdsAllShards: c.holdsAllShards)
        let used = overview.used, rss = overview.rss, peak = overview.peak
        let maxmemory = server.memory.maxmemory
        let total = ProcessMetrics.totalSystemMemory()
        return [
            ("used_memory", String(used)), ("used_memory_human", ProcessMetrics.human(used)),
            ("used_memory_rss", String(rss)), ("used_memory_rss_human", ProcessMetrics.human(rss)),
            ("used_memory_peak", String(peak)), ("used_memory_peak_human", ProcessMetrics.human(peak)),
            ("used_memory_peak_perc", percent(used, peak)), ("used_memory_overhead", String(overview.overhead)),
            ("used_memory_startup", String(overview.startup)), ("used_memory_dataset", String(overview.dataset)),
            ("used_memory_dataset_perc", percent(overview.dataset, overview.netUsage)),
            ("allocator_allocated", String(used)), ("allocator_active", String(overview.allocatorActive)),
            ("allocator_resident", String(rss)), ("total_system_memory", String(total)),
            ("total_system_memory_human", ProcessMetrics.human(total)),
            ("used_memory_lua", "0"), ("used_memory_vm_eval", "0"), ("used_memory_lua_human", "0B"),
            ("used_memory_scripts_eval", "0"), ("number_of_cached_scripts", "0"), ("number_of_functions", "0"),
            ("number_of_libraries", "0"), ("used_memory_vm_functions", "0"), ("used_memory_vm_total", "0"),
            ("used_memory_vm_total_human", "0B"), ("used_memory_functions", "0"), ("used_memory_scripts", "0"),
            ("used_memory_scripts_human", "0B"),
            ("maxmemory", String(maxmemory)), ("maxmemory_human", ProcessMetrics.human(maxmemory)),
            ("maxmemory_policy", config["maxmemory-policy"]),
            ("mem_fragmentation_ratio", used > 0 ? ReplyWriter.formatC("%.2f", Double(rss) / Double(used)) : "0.00"),
            ("mem_fragmentation_bytes", String(rss - used)),
            ("mem_not_counted_for_evict", String(server.memory.notCounted.load(ordering: .relaxed))),
            ("mem_replication_backlog", "0"), ("mem_total_replication_buffers", "0"),
            ("mem_clients_slaves", String(overview.clientsReplicas)), ("mem_clients_normal", String(overview.clientsNormal)),
            ("mem_cluster_links", "0"), ("mem_aof_buffer", "0"), ("mem_allocator", "libc"),
            ("active_defrag_running", "0"),
            ("lazyfree_pending_objects", String(BackgroundRelease.shared.pendingObjects.load(ordering: .relaxed))),
            ("lazyfreed_objects", String(BackgroundRelease.shared.freedObjects.load(ordering: .relaxed))),
        ]
    }

    private static func persistence(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let totals = server.statistics.totals()
        return [
            ("loading", "0"), ("async_loading", "0"), ("current_cow_peak", "0"), ("current_cow_size", "0"),
            ("current_cow_size_age", "0"), ("current_fork_perc", "0.00"), ("current_save_keys_processed", "0"),
            ("current_save_keys_total", "0"), ("rdb_changes_since_last_save", String(totals[.dirty])),
            ("rdb_bgsave_in_progress", "0"), ("rdb_last_save_time", String(server.startedAt / 1000)),
            ("rdb_last_bgsave_status", "ok"), ("rdb_last_bgsave_time_sec", "-1"), ("rdb_current_bgsave_time_sec", "-1"),
            ("rdb_saves", "0"), ("rdb_last_cow_size", "0"), ("rdb_last_load_keys_expired", "0"),
            ("rdb_last_load_keys_loaded", "0"), ("aof_enabled", "0"), ("aof_rewrite_in_progress", "0"),
            ("aof_rewrite_scheduled", "0"), ("aof_last_rewrite_time_sec", "-1"), ("aof_current_rewrite_time_sec", "-1"),
            ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", "0"), ("aof_rewrites_consecutive_failures", "0"),
            ("aof_last_write_status", "ok"), ("aof_last_cow_size", "0"), ("module_fork_in_progress", "0"),
            ("module_fork_last_cow_size", "0"),
        ]
    }

    private static func stats(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let totals = server.statistics.totals()
        let metrics = server.metrics
        let tracking = server.tracking.totals
        let expiry = server.activeExpiry.figures
        let exceeded = server.memory.exceededTime
        return [
            ("total_connections_received", String(totals.connectionsReceived)),
            ("total_commands_processed", String(totals[.commandsProcessed])),
            ("instantaneous_ops_per_sec", String(Int(metrics.rate(.commands)))),
            ("total_net_input_bytes", String(totals[.netInputBytes])), ("total_net_output_bytes", String(totals[.netOutputBytes])),
            ("total_net_repl_input_bytes", "0"), ("total_net_repl_output_bytes", "0"),
            ("instantaneous_input_kbps", ReplyWriter.formatC("%.2f", metrics.rate(.inputBytes) / 1024)),
            ("instantaneous_output_kbps", ReplyWriter.formatC("%.2f", metrics.rate(.outputBytes) / 1024)),
            ("instantaneous_input_repl_kbps", "0.00"), ("instantaneous_output_repl_kbps", "0.00"),
            ("rejected_connections", String(totals.rejectedConnections)), ("sync_full", String(server.syncCounters.full.load(ordering: .relaxed))),
            ("sync_partial_ok", String(server.syncCounters.partialAccepted.load(ordering: .relaxed))),
            ("sync_partial_err", String(server.syncCounters.partialRefused.load(ordering: .relaxed))), ("expired_keys", String(server.keyspace.expiredKeys.load(ordering: .relaxed))),
            ("expired_stale_perc", ReplyWriter.formatC("%.2f", expiry.stalePercent)),
            ("expired_time_cap_reached_count", String(expiry.timeCapReached)),
            ("expire_cycle_cpu_milliseconds", String(server.activeExpiry.milliseconds)),
            ("evicted_keys", String(server.memory.eviction.evictedKeys.load(ordering: .relaxed))), ("evicted_clients", "0"),
            ("total_eviction_exceeded_time", String(exceeded.total)), ("current_eviction_exceeded_time", String(exceeded.current)),
            ("keyspace_hits", String(totals[.keyspaceHits])),
            ("keyspace_misses", String(totals[.keyspaceMisses])), ("pubsub_channels", String(server.pubsub.counts.channels)),
            ("pubsub_patterns", String(server.pubsub.counts.patterns)), ("pubsubshard_channels", String(server.pubsub.counts.shardChannels)), ("latest_fork_usec", "0"), ("total_forks", "0"), ("migrate_cached_sockets", "0"),
            ("slave_expires_tracked_keys", String(server.keyspace.ownKeysWithExpiry.withLock { $0.count })), ("active_defrag_hits", "0"), ("active_defrag_misses", "0"),
            ("active_defrag_key_hits", "0"), ("active_defrag_key_misses", "0"), ("total_active_defrag_time", "0"),
            ("current_active_defrag_time", "0"), ("tracking_total_keys", String(tracking.keys)),
            ("tracking_total_items", String(tracking.items)), ("tracking_total_prefixes", String(tracking.prefixes)), ("unexpected_error_replies", String(totals[.unexpectedErrorReplies])),
            ("total_error_replies", String(totals[.errorReplies])), ("dump_payload_sanitizations", "0"),
            ("total_reads_processed", String(totals[.readsProcessed])), ("total_writes_processed", String(totals[.writesProcessed])),
            ("io_threaded_reads_processed", "0"), ("io_threaded_writes_processed", "0"),
            ("reply_buffer_shrinks", "0"), ("reply_buffer_expands", "0"),
        ]
    }

    private static func replication(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let config = c.server.config
        return [
            ("role", "master"), ("connected_slaves", "0"), ("master_failover_state", "no-failover"),
            ("master_replid", server.replicationID), ("master_replid2", String(repeating: "0", count: 40)),
            ("master_repl_offset", "0"), ("second_repl_offset", "-1"), ("repl_backlog_active", "0"),
            ("repl_backlog_size", config["repl-backlog-size"]), ("repl_backlog_first_byte_offset", "0"),
            ("repl_backlog_histlen", "0"),
        ]
    }

    private static func cpu(_ c: CommandContext) -> [(String, String)] {
        let process = ProcessMetrics.cpuSeconds()
        let thread = ProcessMetrics.cpuSeconds(thread: true)
        return [
            ("used_cpu_sys", ReplyWriter.formatC("%.6f", process.system)), ("used_cpu_user", ReplyWriter.formatC("%.6f", process.user)),
            ("used_cpu_sys_children", "0.000000"), ("used_cpu_user_children", "0.000000"),
            ("used_cpu_sys_main_thread", ReplyWriter.formatC("%.6f", thread.system)),
            ("used_cpu_user_main_thread", ReplyWriter.formatC("%.6f", thread.user)),
        ]
    }

    private static func commandStats(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let totals = server.statistics.totals()
        return server.commands.all.compactMap { command in
            let stats = totals.commands[command.ordinal]
            guard stats.calls > 0 || stats.rejected > 0 || stats.failed > 0 else { return nil }
            let perCall = stats.calls > 0 ? Double(stats.microseconds) / Double(stats.calls) : 0
            return ("cmdstat_" + command.fullName,
                    "calls=\(stats.calls),usec=\(stats.microseconds),usec_per_call=\(ReplyWriter.formatC("%.2f", perCall)),rejected_calls=\(stats.rejected),failed_calls=\(stats.failed)")
        }
    }

    private static func errorStats(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        return server.statistics.totals().errors.sorted { $0.key < $1.key }.map { ("errorstat_" + $0.key, "count=\($0.value)") }
    }

    private static func cluster(_ c: CommandContext) -> [(String, String)] {
        return [("cluster_enabled", "0")]
    }

    private static func keyspace(_ c: CommandContext) -> [(String, String)] {
        let server = c.server
        let now = c.now
        return (0 ..< server.keyspace.databaseCount).compactMap { db in
            let count = Database(keyspace: server.keyspace, index: db, now: now, holdsAllShards: c.holdsAllShards).count()
            guard count.keys > 0 else { return nil }
            return ("db\(db)", "keys=\(count.keys),expires=\(count.volatile),avg_ttl=\(server.keyspace.averageTTL(db: db))")
        }
    }

    private static func percent(_ part: Int, _ whole: Int) -> String {
        ReplyWriter.formatC("%.2f", whole > 0 ? Double(part) * 100 / Double(whole) : 0) + "%"
    }
}
