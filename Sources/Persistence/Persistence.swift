import Commands
import Config
import Engine
import Foundation
import Locks

/// A replication stream's position: its ID, the offset of its last byte, the database it
/// last selected.
public struct StreamPosition: Sendable {
    public let id: String
    public let offset: Int64
    public let db: Int

    public init(id: String, offset: Int64, db: Int) {
        self.id = id
        self.offset = offset
        self.db = db
    }
}

/// The replication layer, as a save sees it.
public protocol StreamPositionSource: AnyObject, Sendable {
    /// Runs `body` where the data and the stream's offset agree (between a replica link's
    /// batches of its master's stream).
    func betweenBatches<T>(_ body: () -> T) -> T
    /// The position now; nil when there is no stream.
    func position() -> StreamPosition?
}

/// RDB persistence for one server: SAVE, BGSAVE, LASTSAVE, the `save` schedule, the file at
/// start-up and at shutdown, and the `persistence` INFO section. Registered from above: the
/// server builds it and adds its commands and its INFO section.
public final class Persistence: PersistenceControl, @unchecked Sendable {
    /// Set once by `attach`, before the server serves anyone (its command table holds this
    /// object's commands, so the two are built in turn).
    private(set) var server: ServerState!
    let state = Lock(State(lastSave: Clock.now() / 1000))

    struct State {
        var inProgress = false
        var scheduled = false
        /// Unix seconds of the last successful save, and of the last attempt.
        var lastSave: Int64
        var lastAttempt: Int64 = 0
        var lastSucceeded = true
        var lastDuration = -1
        var currentStart: Int64?
        var saves = 0
        /// The change counter (INFO `rdb_changes_since_last_save` is the difference) at the last
        /// save, and at the instant of the save in progress.
        var changesAtLastSave = 0
        var changesAtSnapshot = 0
        var keysLoaded = 0
        var keysExpired = 0
        /// The load in progress at start-up (INFO's `loading_*` fields).
        var loading: LoadingProgress?
        var startupAux: [String: String] = [:]
    }

    public init() {}

    /// Joins the server: its INFO section, its start-up time as the last save's.
    public func attach(to server: ServerState) {
        self.server = server
        state.withLock { $0.lastSave = server.startedAt / 1000 }
        server.info.register(infoSection)
        server.persistence = self
        for setting in ["save", "stop-writes-on-bgsave-error"] {
            server.config.observe(setting) { [unowned self] _ in updateDiskErrorGate() }
        }
    }

    var config: Configuration { server.config }
    var fileName: String { config["dbfilename"] }

    // MARK: Saving

    public enum SaveError: Error, CustomStringConvertible {
        case io(String)
        /// FLUSHALL abandoned the save.
        case abandoned
        public var description: String { if case .io(let reason) = self { reason } else { "abandoned" } }
    }

    var changeCount: Int { server.statistics.totals()[.dirty] }

    private var options: RDBSnapshot.Options {
        var options = RDBSnapshot.Options()
        options.compress = config.bool("rdbcompression")
        options.checksum = config.bool("rdbchecksum")
        let policy = config["maxmemory-policy"]
        options.saveIdle = policy.hasSuffix("-lru")
        options.saveFrequency = policy.hasSuffix("-lfu")
        options.usedMemory = server.memory.used
        options.keyDelayMicroseconds = max(0, config.integer("rdb-key-save-delay"))
        return options
    }

    /// Where the replication stream stands, for a save's `repl-*` aux fields (set by the
    /// replication layer before the server serves anyone).
    public var streamPosition: (any StreamPositionSource)?

    /// Takes the snapshot, noting the change counter and the stream's position at its instant;
    /// nil while another snapshot (a replica's full sync) is being written.
    private func beginSnapshot() -> RDBSnapshot? {
        guard let source = streamPosition else {
            return RDBSnapshot.begin(server.keyspace, options: options, now: Clock.now()) { noteChangesAtSnapshot() }
        }
        var position: StreamPosition?
        let snapshot = source.betweenBatches {
            RDBSnapshot.begin(server.keyspace, options: options, now: Clock.now()) {
                noteChangesAtSnapshot()
                position = source.position()
            }
        }
        if let position { snapshot?.setReplication(id: position.id, offset: Int(position.offset), db: position.db) }
        return snapshot
    }

    private func noteChangesAtSnapshot() {
        let changes = changeCount
        state.withLock { $0.changesAtSnapshot = changes }
    }

    /// Marks a save as running (one at a time): its start time, or nil if one already is.
    private func beginSaving(background: Bool) -> Int64? {
        let start = Clock.now()
        return state.withLock { state in
            guard !state.inProgress else { return nil }
            state.inProgress = true
            state.currentStart = start
            if background { state.scheduled = false }
            return start
        }
    }

    /// Writes `snapshot` to a temporary file, syncs it, and renames it over `dbfilename`, so
    /// the previous file stays whole until the new one is. An abandoned save never renames
    /// (`fileRenames` orders the check against FLUSHALL's abandoning).
    func write(_ snapshot: RDBSnapshot, temporary: String = "temp-\(getpid()).rdb") throws(SaveError) {
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            snapshot.cancel()
            throw .io("Failed opening the temp RDB file \(temporary) (in server root dir \(FileManager.default.currentDirectoryPath)) for saving: \(String(cString: strerror(errno)))")
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        // `rdb-save-incremental-fsync`: synced every 4 MB as Redis syncs, so the kernel never
        // holds a large dirty file to write back at once.
        let syncEvery = config.bool("rdb-save-incremental-fsync") ? 4 << 20 : Int.max
        var unsynced = 0
        func writeError() -> SaveError { .io("Write error saving DB on disk: \(String(cString: strerror(errno)))") }
        func flush() throws {
            var offset = 0
            while offset < buffer.count {
                let written = buffer[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
                guard written > 0 else { throw writeError() }
                offset += written
            }
            unsynced += buffer.count
            if unsynced >= syncEvery {
                guard fsync(descriptor) == 0 else { throw writeError() }
                unsynced = 0
            }
            buffer.removeAll(keepingCapacity: true)
        }
        do {
            try snapshot.write { bytes in
                buffer.append(contentsOf: bytes)
                if buffer.count >= 1 << 20 { try flush() }
            }
            try flush()
            guard fsync(descriptor) == 0 else { throw writeError() }
        } catch {
            close(descriptor)
            unlink(temporary)
            snapshot.cancel()
            if error is RDBSnapshot.Abandoned { throw .abandoned }
            throw error as? SaveError ?? .io("\(error)")
        }
        close(descriptor)
        let renamed = fileRenames.withLock { _ in snapshot.isAbandoned ? nil : rename(temporary, fileName) }
        guard let renamed else {
            unlink(temporary)
            throw .abandoned
        }
        guard renamed == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io("Error moving temp DB file \(temporary) on the final destination \(fileName) (in server root dir \(FileManager.default.currentDirectoryPath)): \(reason)")
        }
        let directory = open(".", O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// SAVE, and saves at shutdown: on the calling thread (clients of other loops go on).
    /// `holdingAllShards`: the caller holds every shard for the whole save (DEBUG RELOAD).
    public func saveNow(holdingAllShards: Bool = false) -> Bool {
        guard let start = beginSaving(background: false) else { return false }
        let snapshot: RDBSnapshot
        if holdingAllShards {
            snapshot = RDBSnapshot.frozen(server.keyspace, options: options, now: start)
            noteChangesAtSnapshot()
        } else {
            // SAVE waits for a replica's full sync being written (it finishes on its own thread).
            var begun = beginSnapshot()
            while begun == nil {
                usleep(1000)
                begun = beginSnapshot()
            }
            snapshot = begun!
        }
        do {
            try write(snapshot)
            server.log("DB saved on disk")
            finish(succeeded: true, background: false, start: start)
            return true
        } catch {
            server.warn("\(error)")
            finish(succeeded: false, background: false, start: start)
            return false
        }
    }

    /// BGSAVE: the snapshot's instant now, the file written on a background thread. False if a
    /// save is already in progress.
    @discardableResult
    public func saveInBackground() -> Bool {
        guard let start = beginSaving(background: true) else { return false }
        guard let snapshot = beginSnapshot() else {
            // A replica's full sync is being written: as Redis with its child busy.
            state.withLock { $0.inProgress = false }
            return false
        }
        running.withLock { $0 = snapshot }
        server.log("Background saving started")
        Thread.detachNewThread { [self] in
            defer { running.withLock { $0 = nil } }
            do {
                // Its own temporary file: FLUSHALL may save while an abandoned one unwinds.
                try write(snapshot, temporary: "temp-bgsave-\(getpid()).rdb")
                server.log("DB saved on disk")
                server.log("Background saving terminated with success")
                finish(succeeded: true, background: true, start: start)
            } catch SaveError.abandoned {
                server.warn("Background saving abandoned")
                finish(succeeded: nil, background: true, start: start)
            } catch {
                server.warn("\(error)")
                server.warn("Background saving error")
                finish(succeeded: false, background: true, start: start)
            }
        }
        return true
    }

    /// As Redis counts them: any success clears the error state, only a failed background
    /// save sets it (and with it `-MISCONF`); BGSAVE figures come from background saves.
    /// `succeeded` nil: abandoned (FLUSHALL), which, as a save Redis kills itself, counts as
    /// neither success nor failure.
    private func finish(succeeded: Bool?, background: Bool, start: Int64) {
        let now = Clock.now()
        state.withLock { state in
            state.inProgress = false
            state.currentStart = nil
            guard let succeeded else { return }
            if background {
                state.lastAttempt = now / 1000
                state.lastDuration = Int((now - start) / 1000)
            }
            if succeeded || background { state.lastSucceeded = succeeded }
            if succeeded {
                state.lastSave = now / 1000
                state.saves += 1
                state.changesAtLastSave = state.changesAtSnapshot
            }
        }
        updateDiskErrorGate()
    }

    /// `-MISCONF` while the last save failed, save points are set and
    /// `stop-writes-on-bgsave-error` is on.
    func updateDiskErrorGate() {
        let failed = state.withLock { !$0.lastSucceeded }
        server.set(.diskWriteError, closed: failed && !saveParameters.isEmpty && config.bool("stop-writes-on-bgsave-error"))
    }

    /// The `save` directive's pairs: after `seconds`, if at least `changes` changes.
    var saveParameters: [(seconds: Int, changes: Int)] {
        let numbers = config["save"].split(separator: " ").compactMap { Int($0) }
        return stride(from: 0, to: numbers.count - 1, by: 2).map { (numbers[$0], numbers[$0 + 1]) }
    }

    /// From the server's cron: a scheduled BGSAVE, or one a save point calls for (after a
    /// failure, not again for 5 seconds).
    public func cron(now: Int64) {
        let seconds = now / 1000
        let (busy, scheduled, lastSave, mayRetry, changes) = state.withLock { state in
            (state.inProgress, state.scheduled, state.lastSave, state.lastSucceeded || seconds - state.lastAttempt > 5,
             changeCount - state.changesAtLastSave)
        }
        guard !busy, mayRetry, !isLoading else { return }
        if scheduled {
            saveInBackground()
            return
        }
        for point in saveParameters where changes >= point.changes && seconds - lastSave > Int64(point.seconds) {
            server.log("\(point.changes) changes in \(point.seconds) seconds. Saving...")
            saveInBackground()
            return
        }
    }

    /// Whether a save is running now (FLUSHALL, SHUTDOWN and DEBUG RELOAD wait for it).
    public var isSaving: Bool { state.withLock { $0.inProgress } }

    public func waitForSave() {
        while isSaving { usleep(1000) }
    }

    /// The background save in progress, so FLUSHALL can abandon it.
    private let running = Lock<RDBSnapshot?>(nil)

    /// Held to abandon a background save, and by a save checking it was not abandoned as it
    /// renames its file over `dbfilename`.
    let fileRenames = Lock(())

    public func abortBackgroundSave() {
        fileRenames.withLock { _ in running.withLock { $0?.abandon() } }
    }

    /// FLUSHALL: a background save of what was emptied is abandoned, and with save points
    /// set the dataset is saved at once (every shard held, by the caller when
    /// `holdingAllShards`), as Redis does, so a restart does not bring the flushed keys back.
    public func flushedAll(holdingAllShards: Bool) {
        abortBackgroundSave()
        guard !saveParameters.isEmpty else { return }
        server.keyspace.withAllShards(locking: !holdingAllShards) { saveFlushed() }
    }

    private func saveFlushed() {
        let snapshot = RDBSnapshot.frozen(server.keyspace, options: options, now: Clock.now())
        let changes = changeCount
        do {
            try write(snapshot, temporary: "temp-flushall-\(getpid()).rdb")
            server.log("DB saved on disk")
            state.withLock { state in
                state.lastSucceeded = true
                state.lastSave = Clock.now() / 1000
                state.saves += 1
                state.changesAtLastSave = changes
            }
            updateDiskErrorGate()
        } catch {
            server.warn("\(error)")
        }
    }
}
