import Commands
import Engine
import Foundation

/// How far the load at start-up has come, for INFO persistence.
struct LoadingProgress {
    /// Unix seconds.
    var started: Int64
    var totalBytes: Int
    var loadedBytes = 0
    /// The file's own `used-mem`, once read.
    var fileUsedMemory = 0
}

/// Loading `dbfilename`: at start-up (clients get `-LOADING` meanwhile, INFO reports the
/// progress) and for DEBUG RELOAD.
extension Persistence {
    /// True while the file loads at start-up (nothing may be saved then: the dataset is not
    /// all there).
    public var isLoading: Bool { state.withLock { $0.loading != nil } }

    /// Loads `dbfilename` at start-up, if it exists, with Redis's log lines. Returns false if
    /// the file exists but cannot be loaded: the reason is logged, and the server must not
    /// start with part of it.
    public func loadAtStartup() -> Bool {
        guard FileManager.default.fileExists(atPath: fileName) else { return true }
        server.set(.loading, closed: true)
        defer { server.set(.loading, closed: false) }
        let start = Clock.monotonicNanoseconds()
        do {
            let summary = try load()
            state.withLock { $0.startupAux = summary.aux }
            let seconds = Double(Clock.monotonicNanoseconds() - start) / 1e9
            if let version = summary.aux["redis-ver"] { server.log("Loading RDB produced by version \(version)") }
            if let created = summary.aux["ctime"].flatMap(Int64.init) { server.log("RDB age \(Clock.now() / 1000 - created) seconds") }
            if let used = summary.aux["used-mem"].flatMap(Double.init) {
                server.log("RDB memory usage when created \(String(format: "%.2f", used / 1024 / 1024)) Mb")
            }
            server.log("Done loading RDB, keys loaded: \(summary.keysLoaded), keys expired: \(summary.keysExpired), empty keys skipped: \(summary.emptyKeysSkipped.count).")
            server.log("DB loaded from disk: \(String(format: "%.3f", seconds)) seconds")
            return true
        } catch let failure as RDBLoader.Failure {
            server.warn("Internal error in RDB reading offset \(failure.offset) -> \(failure.error.reason)")
            let place = failure.key.map { " in the value of key '\(String(decoding: $0, as: UTF8.self))' (db \(failure.db))" } ?? ""
            server.warn("RDB file \(fileName) is damaged at offset \(failure.offset)\(place): \(failure.error.reason)")
            server.warn("Terminating server after rdb file reading failure.")
            return false
        } catch {
            server.warn("Fatal error loading the DB: \(error). Exiting.")
            return false
        }
    }

    /// The aux fields of the file loaded at start-up (a replica finds its master's stream
    /// position there: `repl-id`, `repl-offset`).
    public var startupAux: [String: String] { state.withLock { $0.startupAux } }

    /// A full sync's payload from this replica's master: kept as `dbfilename` (through a
    /// temporary file, as Redis keeps it), the old dataset emptied, then loaded with expired
    /// keys kept (the master's `DEL`s remove them). Clients get `-LOADING` meanwhile. On a
    /// failure the dataset is left empty, never partial.
    public func loadFromMaster(_ payload: [UInt8]) throws -> RDBLoader.Summary {
        abortBackgroundSave()
        waitForSave()
        server.set(.loading, closed: true)
        server.keyspace.hold(.loading)
        defer {
            server.keyspace.release(.loading)
            server.set(.loading, closed: false)
        }
        state.withLock { $0.loading = LoadingProgress(started: Clock.now() / 1000, totalBytes: payload.count) }
        defer { state.withLock { $0.loading = nil } }
        try keep(payload, temporary: "temp-\(Clock.now() / 1000).\(getpid()).rdb")
        server.log("Flushing old data")
        emptyDataset()
        server.log("Loading DB in memory")
        do {
            let summary = try RDBLoader.load(payload, into: server.keyspace, now: Clock.now(), skipExpired: false,
                                             keyDelayMicroseconds: config.integer("key-load-delay")) { [self] offset, usedMemory in
                state.withLock { state in
                    state.loading?.loadedBytes = offset
                    state.loading?.fileUsedMemory = usedMemory
                }
            }
            let changes = changeCount
            state.withLock { state in
                state.keysLoaded = summary.keysLoaded
                state.keysExpired = summary.keysExpired
                state.changesAtLastSave = changes
                state.lastSave = Clock.now() / 1000
            }
            return summary
        } catch {
            emptyDataset()
            throw error
        }
    }

    /// The replica's old data goes before the master's is loaded: freed here, or in the
    /// background under `replica-lazy-flush`.
    private func emptyDataset() {
        let old = server.keyspace.withAllShards {
            Database(keyspace: server.keyspace, index: 0, now: Clock.now(), holdsAllShards: true).flushAll()
        }
        if config.bool("replica-lazy-flush") { BackgroundRelease.shared.release(old) }
    }

    /// Writes `bytes` to `temporary`, syncs it and renames it over `dbfilename`.
    private func keep(_ bytes: [UInt8], temporary: String) throws(SaveError) {
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw .io("Opening the temp file needed for MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else {
                unlink(temporary)
                throw .io("Write error writing the temp RDB file: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        fsync(descriptor)
        guard fileRenames.withLock({ _ in rename(temporary, fileName) }) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io("Failed trying to rename the temp DB into \(fileName) in MASTER <-> REPLICA synchronization: \(reason)")
        }
    }

    /// DEBUG RELOAD, with every shard held by the caller: save (unless told not to), empty
    /// the dataset (unless told not to), load the file (MERGE: its keys replace those present).
    public func reload(save: Bool, flush: Bool, merge: Bool) -> String? {
        // DEBUG runs while the file loads at start-up: saving then would write over it.
        if isLoading { return Errors.loading }
        // A background save needs the shards the caller holds: it cannot be waited for here.
        if save && isSaving { return Errors.backgroundSaveInProgress }
        if save && !saveNow(holdingAllShards: true) { return Errors.saveFailed }
        if flush {
            let now = Clock.now()
            let old = Database(keyspace: server.keyspace, index: 0, now: now, holdsAllShards: true).flushAll()
            BackgroundRelease.shared.release(old)
        }
        do {
            _ = try load(holdingAllShards: true, replacing: merge)
            return nil
        } catch {
            server.warn("Error loading \(fileName): \(error)")
            return "ERR Error trying to load the RDB dump"
        }
    }

    /// Reads `dbfilename` into the keyspace (every shard held by the caller when
    /// `holdingAllShards`, else only while the keys are stored); a master skips expired keys.
    func load(holdingAllShards: Bool = false, replacing: Bool = false) throws -> RDBLoader.Summary {
        if !holdingAllShards {
            let size = (try? FileManager.default.attributesOfItem(atPath: fileName)[.size] as? Int) ?? 0
            state.withLock { $0.loading = LoadingProgress(started: Clock.now() / 1000, totalBytes: size) }
        }
        defer { state.withLock { $0.loading = nil } }
        guard let data = FileManager.default.contents(atPath: fileName) else {
            throw RDBError("cannot read \(fileName): \(String(cString: strerror(errno)))")
        }
        let bytes = [UInt8](data)
        let summary = try RDBLoader.load(bytes, into: server.keyspace, now: Clock.now(), skipExpired: !server.keyspace.isHeld(.replica),
                                         replacing: replacing, holdingAllShards: holdingAllShards,
                                         keyDelayMicroseconds: config.integer("key-load-delay")) { [self] offset, usedMemory in
            state.withLock { state in
                state.loading?.loadedBytes = offset
                state.loading?.fileUsedMemory = usedMemory
            }
        }
        for key in summary.emptyKeysSkipped { server.warn("RDB loading skipping empty key: \(String(decoding: key, as: UTF8.self))") }
        let changes = changeCount
        state.withLock { state in
            state.keysLoaded = summary.keysLoaded
            state.keysExpired = summary.keysExpired
            state.changesAtLastSave = changes
        }
        return summary
    }

    /// INFO persistence's `loading_*` fields, while loading (Redis's figures).
    func loadingFields(_ progress: LoadingProgress, now: Int64) -> [(String, String)] {
        let elapsed = now / 1000 - progress.started
        let remaining = max(1, progress.totalBytes - progress.loadedBytes)
        let percent = progress.totalBytes > 0 ? Double(progress.loadedBytes) / Double(progress.totalBytes) * 100 : 0
        let eta = elapsed == 0 ? 1 : elapsed * Int64(remaining) / Int64(progress.loadedBytes + 1)
        return [("loading_start_time", String(progress.started)), ("loading_total_bytes", String(progress.totalBytes)),
                ("loading_rdb_used_mem", String(progress.fileUsedMemory)), ("loading_loaded_bytes", String(progress.loadedBytes)),
                ("loading_loaded_perc", String(format: "%.2f", percent)), ("loading_eta_seconds", String(eta))]
    }
}
