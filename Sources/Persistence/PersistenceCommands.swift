import Commands
import Engine

/// SAVE, BGSAVE [SCHEDULE], LASTSAVE and the `persistence` INFO section, for one server's
/// `Persistence`.
extension Persistence {
    public var commands: [Command] {
        [
            Command("save", arity: 1, flags: [.admin, .noScript, .noAsyncLoading, .noMulti], group: "server", since: "1.0.0",
                    summary: "Saves the dataset to disk, waiting until it is written.", handler: { [unowned self] c in save(&c) }),
            Command("bgsave", arity: -1, flags: [.admin, .noScript, .noAsyncLoading], group: "server", since: "1.0.0",
                    summary: "Saves the dataset to disk in the background.", handler: { [unowned self] c in backgroundSave(&c) }),
            Command("lastsave", arity: 1, flags: [.loading, .stale, .fast], categories: [.admin, .dangerous],
                    tips: ["nondeterministic_output"], group: "server", since: "1.0.0",
                    summary: "The Unix time of the last successful save to disk.", handler: { [unowned self] c in
                c.reply.integer(Int(state.withLock { $0.lastSave }))
            }),
        ]
    }

    func save(_ c: inout CommandContext) {
        guard !isSaving else { return c.error(Errors.backgroundSaveInProgress) }
        if saveNow() { c.reply.ok() } else { c.error(Errors.saveFailed) }
    }

    func backgroundSave(_ c: inout CommandContext) {
        var schedule = false
        if c.argumentCount > 1 {
            guard c.argumentCount == 2, c.argument(1, is: "SCHEDULE") else { return c.error(Errors.syntax) }
            schedule = true
        }
        if c.runsInsideExec && !isSaving {
            // As Redis: the save starts from the cron once EXEC is over, so its image holds
            // the whole transaction (and EXEC's locks never meet the snapshot's).
            state.withLock { $0.scheduled = true }
            c.reply.simpleString("Background saving scheduled")
        } else if saveInBackground() {
            c.reply.simpleString("Background saving started")
        } else if schedule {
            state.withLock { $0.scheduled = true }
            c.reply.simpleString("Background saving scheduled")
        } else {
            c.error(Errors.backgroundSaveInProgress)
        }
    }

    /// Redis's fields, in Redis's order; a snapshot never forks, so the copy-on-write and
    /// fork figures are zero.
    public var infoSection: InfoSection {
        InfoSection("persistence", isDefault: true) { [unowned self] c in
            let now = Clock.now()
            let current = state.withLock { $0 }
            let changes = c.server.statistics.totals()[.dirty] - current.changesAtLastSave
            var fields: [(String, String)] = [
                ("loading", current.loading == nil ? "0" : "1"), ("async_loading", "0"), ("current_cow_peak", "0"), ("current_cow_size", "0"),
                ("current_cow_size_age", "0"), ("current_fork_perc", "0.00"), ("current_save_keys_processed", "0"),
                ("current_save_keys_total", "0"), ("rdb_changes_since_last_save", String(changes)),
                ("rdb_bgsave_in_progress", current.inProgress ? "1" : "0"), ("rdb_last_save_time", String(current.lastSave)),
                ("rdb_last_bgsave_status", current.lastSucceeded ? "ok" : "err"),
                ("rdb_last_bgsave_time_sec", String(current.lastDuration)),
                ("rdb_current_bgsave_time_sec", current.currentStart.map { String((now - $0) / 1000) } ?? "-1"),
                ("rdb_saves", String(current.saves)), ("rdb_last_cow_size", "0"),
                ("rdb_last_load_keys_expired", String(current.keysExpired)), ("rdb_last_load_keys_loaded", String(current.keysLoaded)),
                ("aof_enabled", "0"), ("aof_rewrite_in_progress", "0"), ("aof_rewrite_scheduled", "0"),
                ("aof_last_rewrite_time_sec", "-1"), ("aof_current_rewrite_time_sec", "-1"), ("aof_last_bgrewrite_status", "ok"),
                ("aof_rewrites", "0"), ("aof_rewrites_consecutive_failures", "0"), ("aof_last_write_status", "ok"),
                ("aof_last_cow_size", "0"), ("module_fork_in_progress", "0"), ("module_fork_last_cow_size", "0"),
            ]
            if let progress = current.loading { fields += loadingFields(progress, now: now) }
            return fields
        }
    }
}
