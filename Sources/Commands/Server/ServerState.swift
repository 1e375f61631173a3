import Locks
import Config
import Engine
import NIOCore
import RESP
import Synchronization

/// What the server layer does on behalf of commands (SHUTDOWN …). The server implements it;
/// commands never see how.
public protocol ServerControl: AnyObject, Sendable {
    /// Starts a shutdown (SHUTDOWN, a signal). The server exits, or `client`, parked, is told
    /// that it could not (a failed save, SHUTDOWN ABORT while it waited for replicas).
    func shutdown(_ request: ShutdownRequest, waiting client: BlockedClient?)
    /// SHUTDOWN ABORT: false when no shutdown is waiting for replicas.
    func abortShutdown() -> Bool
    /// Unix ms at which a shutdown waiting for replicas goes ahead anyway; nil when none waits.
    var shutdownDeadline: Int64? { get }
    /// Writes a line to the server log at notice level (DEBUG LOG).
    func log(_ message: String)
    /// Writes a line to the server log at warning level.
    func warn(_ message: String)
    /// Runs `work` once, about `milliseconds` from now, on one of the server's threads.
    func schedule(afterMilliseconds milliseconds: Int64, _ work: @escaping @Sendable () -> Void)
}

public struct ShutdownRequest: Sendable, Equatable {
    public enum Save: Sendable, Equatable { case configured, save, noSave }
    public var save: Save = .configured
    public var now = false
    public var force = false

    public init(save: Save = .configured, now: Bool = false, force: Bool = false) {
        self.save = save
        self.now = now
        self.force = force
    }
}

/// Where the server layer's `ServerControl` is kept once it exists (it is created after the
/// state), shared with the parts that need it.
/// What commands ask of the persistence layer (registered from above). Called with every
/// shard held by the caller.
public protocol PersistenceControl: AnyObject, Sendable {
    /// DEBUG RELOAD: an error message, or nil when done.
    func reload(save: Bool, flush: Bool, merge: Bool) -> String?
    /// FLUSHALL: a background save in progress stops, its file not written; with save points
    /// set, the emptied dataset is saved.
    func flushedAll(holdingAllShards: Bool)
}

final class PersistenceSlot: Sendable {
    private let reference = Lock<(any PersistenceControl)?>(nil)

    var persistence: (any PersistenceControl)? {
        get { reference.withLock { $0 } }
        set { reference.withLock { $0 = newValue } }
    }
}

final class ControlSlot: Sendable {
    private let reference = Lock<(any ServerControl)?>(nil)

    var control: (any ServerControl)? {
        get { reference.withLock { $0 } }
        set { reference.withLock { $0 = newValue } }
    }
}

/// Everything shared by all connections: the keyspace, the configuration, the command table,
/// the client registry and the counters.
public final class ServerState: Sendable {
    public let keyspace: Keyspace
    public let config: Configuration
    public let commands: CommandTable
    public let clients = ClientRegistry()
    /// Clients in a blocking command (BLPOP …); INFO `blocked_clients` adds those at the pause gate.
    public let blockedClients = Atomic<Int>(0)
    public let pause: PauseGate
    public let monitors = Monitors()
    public let tracking: TrackingTable
    public let outputBuffers: OutputBufferPolicy
    public let pubsub = PubSubHub()
    /// INFO stats `sync_full`, `sync_partial_ok`, `sync_partial_err`, counted by replication.
    public let syncCounters = SyncCounters()
    /// INFO's sections; the layers above register theirs.
    public let info = InfoSections(BuiltInInfo.sections)
    /// Where writes' effects go (replication, later an append-only log).
    public let propagation = Propagation()
    /// The `AdmissionGates` closed now.
    let gates = Atomic<Int>(0)
    let keyspaceEvents: KeyspaceEvents
    public let statistics: Statistics
    /// 40 random hex characters, new at every start (INFO `run_id`).
    public let runID: String
    /// Unix milliseconds at start.
    public let startedAt: Int64
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE takes payloads whatever their CRC-64 (the
    /// corrupt-payload tests feed it damaged ones on purpose).
    public let skipsChecksumValidation = Atomic<Bool>(false)
    public let executable: String
    public let eventLoops: Int
    /// The dispatcher reads it once per command. Tests inject a manual one.
    public let clock: ClockSource
    /// The replication ID the server starts with (INFO `master_replid` until the
    /// replication layer begins another history).
    public let replicationID: String
    /// Allocated bytes once the server was ready (INFO `used_memory_startup`): measured when
    /// the state is made, and again by the server layer once it listens (`recordStartupMemory`).
    private let startupBytes = Atomic<Int>(0)
    public var startupMemory: Int { startupBytes.load(ordering: .relaxed) }
    let metrics = InstantaneousMetrics()
    private let controlSlot = ControlSlot()
    private let persistenceSlot = PersistenceSlot()

    /// The persistence layer, when one is attached.
    public var persistence: (any PersistenceControl)? {
        get { persistenceSlot.persistence }
        set { persistenceSlot.persistence = newValue }
    }
    public let activeExpiry: ActiveExpiry
    public let memory: MemoryLimit
    /// How many times a second the cron runs now (INFO `hz`): `hz`, raised under `dynamic-hz`
    /// as Redis raises it, doubling while more than 200 clients would share a tick, up to 500.
    public let currentHz = Atomic<Int>(10)

    /// `families`: the command families of the layers above, registered beside this module's.
    public init(config: Configuration, eventLoops: Int, executable: String = "",
                clock: ClockSource = .system, families: [[Command]] = []) {
        self.config = config
        self.clock = clock
        self.eventLoops = eventLoops
        self.executable = executable
        let events = KeyspaceEvents(hub: pubsub)
        keyspaceEvents = events
        let tracking = TrackingTable(clients: clients)
        self.tracking = tracking
        // A key no client deleted (expired or evicted): its event, and the clients caching it.
        let keyGone: @Sendable (KeyspaceEventFlags, String, Int, UnsafeRawBufferPointer) -> Void = { type, event, db, key in
            events.notify(type, event, key: key, db: db)
            if tracking.active.load(ordering: .relaxed) > 0 {
                var unused = ReplyWriter(buffer: ByteBuffer())
                tracking.invalidate([Element(key)], by: nil, reply: &unused)
            }
        }
        keyspace = Keyspace(databases: config.integer("databases")) { db, key in keyGone(.expired, "expired", db, key) }
        pause = PauseGate(keyspace: keyspace)
        activeExpiry = ActiveExpiry(keyspace: keyspace)
        let propagation = propagation, controlSlot = controlSlot
        memory = MemoryLimit(config: config, keyspace: keyspace, clock: clock, schedule: { work in
            controlSlot.control?.schedule(afterMilliseconds: 0, work)
        }, evicted: { db, entry, lazy in
            entry.withKey { key in
                keyGone(.evicted, "evicted", db, key)
                if propagation.isActive { propagation.send([PropagatedCommand(db: db, [Array((lazy ? "UNLINK" : "DEL").utf8), Array(key)])]) }
            }
            if lazy { BackgroundRelease.shared.release(entry) }
        })
        outputBuffers = OutputBufferPolicy(config: config)
        commands = CommandTable(adding: families)
        statistics = Statistics(loops: eventLoops, commands: commands.ordinalLimit)
        runID = Self.randomHex()
        replicationID = Self.randomHex()
        startedAt = clock.nanoseconds() / 1_000_000
        startupBytes.store(ProcessMetrics.allocatedBytes(), ordering: .relaxed)
        followKeyspaceSettings()
        let memory = memory
        config.observe("maxmemory") { _ in
            let used = memory.used
            if memory.maxmemory > 0 && memory.maxmemory < used {
                controlSlot.control?.warn("WARNING: the new maxmemory value set via CONFIG SET (\(memory.maxmemory)) is smaller than the current memory usage (\(used)). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.")
                memory.continueInBackground()
            }
        }
    }

    /// Keeps the keyspace's tunables (LFU, encoding limits) and the tracking table's size limit
    /// in step with the configuration.
    private func followKeyspaceSettings() {
        let keyspace = keyspace, tracking = tracking
        let limits = keyspace.encodingLimits
        let integers: [(String, @Sendable (Int) -> Void)] = [
            ("lfu-log-factor", { keyspace.lfuLogFactor.store($0, ordering: .relaxed) }),
            ("lfu-decay-time", { keyspace.lfuDecayMinutes.store($0, ordering: .relaxed) }),
            ("hash-max-listpack-entries", { limits.hashEntries.store($0, ordering: .relaxed) }),
            ("hash-max-listpack-value", { limits.hashValue.store($0, ordering: .relaxed) }),
            ("set-max-intset-entries", { limits.setIntegers.store($0, ordering: .relaxed) }),
            ("zset-max-listpack-entries", { limits.sortedSetEntries.store($0, ordering: .relaxed) }),
            ("zset-max-listpack-value", { limits.sortedSetValue.store($0, ordering: .relaxed) }),
            ("tracking-table-max-keys", { tracking.maxKeys.store($0, ordering: .relaxed) }),
        ]
        for (name, apply) in integers {
            apply(config.integer(name))
            config.observe(name) { value in apply(Int(value) ?? 0) }
        }
        let events = keyspaceEvents
        events.configure(config["notify-keyspace-events"])
        config.observe("notify-keyspace-events") { events.configure($0) }
        let usesLFU: @Sendable (String) -> Void = { keyspace.usesLFU.store($0.hasSuffix("-lfu"), ordering: .relaxed) }
        usesLFU(config["maxmemory-policy"])
        config.observe("maxmemory-policy") { usesLFU($0) }
        keyspace.freesReplacedLazily.store(config.bool("lazyfree-lazy-server-del"), ordering: .relaxed)
        config.observe("lazyfree-lazy-server-del") { keyspace.freesReplacedLazily.store($0 == "yes", ordering: .relaxed) }
    }

    public var control: (any ServerControl)? {
        get { controlSlot.control }
        set { controlSlot.control = newValue }
    }

    /// A new replication ID: 40 random hex characters.
    public static func randomReplicationID() -> String { randomHex() }

    static func randomHex() -> String {
        (0 ..< 40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    }

    /// A client as the log names it: its CLIENT LIST line.
    public func describe(_ session: ClientSession) -> String {
        ClientList.line(for: session, now: Clock.now(), current: session, server: self)
    }

    /// The server is ready: what it holds now is its start-up footprint.
    public func recordStartupMemory() {
        startupBytes.store(ProcessMetrics.allocatedBytes(), ordering: .relaxed)
    }

    /// Writes a line to the server log (notice level).
    public func log(_ message: String) {
        control?.log(message)
    }

    /// Writes a line to the server log (warning level).
    public func warn(_ message: String) {
        control?.warn(message)
    }

    /// Called for every client that goes away, by the layers above (a replica link ends).
    private let disconnectObservers = Lock<[@Sendable (ClientSession) -> Void]>([])

    public func onDisconnect(_ observer: @escaping @Sendable (ClientSession) -> Void) {
        disconnectObservers.withLock { $0.append(observer) }
    }

    /// A client went away: it leaves the registry and every channel it listened to.
    public func disconnected(_ session: ClientSession) {
        for observer in disconnectObservers.withLock({ $0 }) { observer(session) }
        clients.unregister(session)
        PubSubCommands.unsubscribeAll(session, hub: pubsub)
        TransactionCommands.unwatchAll(session, keyspace: keyspace, locking: true)
        session.blocked.withLock { $0 }?.expire()
        pause.forget(session)
        monitors.remove(session)
        tracking.disable(session)
    }

    /// Periodic work, `hz` times a second on one event loop: samples the rates, keeps the
    /// tracking table within its limit, and runs the active expiry cycle (each deletion
    /// propagated as `DEL`, its shard still locked). Eviction is not here: as in Redis it runs
    /// before each command and in timed rounds of its own while a run is unfinished
    /// (`MemoryLimit.continueInBackground`); from the cron it would also evict for replies
    /// still waiting in output buffers, which Redis does not.
    public func cron(now: Int64) {
        let totals = statistics.totals()
        metrics.sample(now: now, values: [totals[.commandsProcessed], totals[.netInputBytes], totals[.netOutputBytes]])
        _ = statistics.recordMemoryPeak(ProcessMetrics.allocatedBytes())
        // Also before every command; here too, so a limit lowered by CONFIG SET applies on an idle server.
        if tracking.active.load(ordering: .relaxed) > 0 {
            var unused = ReplyWriter(buffer: ByteBuffer())
            tracking.enforceLimit(by: nil, reply: &unused)
        }
        expireOwnKeys(now: now)
        let propagation = propagation
        let lazy = config.bool("lazyfree-lazy-expire")
        let deletion = Array((lazy ? "UNLINK" : "DEL").utf8)
        activeExpiry.run(now: now, hz: currentHz.load(ordering: .relaxed), effort: config.integer("active-expire-effort")) { db, entry in
            if propagation.isActive { propagation.send([PropagatedCommand(db: db, [deletion, entry.keyBytes])]) }
            if lazy { BackgroundRelease.shared.release(entry) }
        }
    }

    /// A writable replica deletes the keys its own clients gave a TTL once it passed (while
    /// active expiry runs and nothing else holds expiry back); a master forgets the list.
    private func expireOwnKeys(now: Int64) {
        let owned = keyspace.ownKeysWithExpiry.withLock { $0 }
        guard !owned.isEmpty else { return }
        guard keyspace.isHeld(.replica) else { return keyspace.ownKeysWithExpiry.withLock { $0.removeAll() } }
        guard !keyspace.isHeld(.paused), !keyspace.isHeld(.loading), keyspace.activeExpiryEnabled.load(ordering: .relaxed) else { return }
        var settled: [DatabaseKey] = []
        for owned in owned {
            let gone = owned.key.withBytes { bytes in
                let key = Key(bytes)
                return keyspace.withShard(of: key) { Database(keyspace: keyspace, index: owned.db, now: now).expireOwnKey(key) }
            }
            if gone != false { settled.append(owned) }
        }
        keyspace.ownKeysWithExpiry.withLock { $0.subtract(settled) }
    }

    /// Sets `currentHz` for the next tick and returns it.
    public func adaptHz() -> Int {
        var hz = max(1, config.integer("hz"))
        if config.bool("dynamic-hz") {
            let clients = clients.count
            while clients / hz > 200 && hz < 500 { hz = min(hz * 2, 500) }
        }
        currentHz.store(hz, ordering: .relaxed)
        return hz
    }

    // MARK: The pause gate

    /// CLIENT PAUSE (and later FAILOVER): pauses, and opens the gate again at the deadline.
    public func pauseClients(_ purpose: PauseGate.Purpose, _ mode: PauseGate.Mode, until deadline: Int64) {
        let until = pause.pause(purpose, mode, until: deadline)
        control?.schedule(afterMilliseconds: max(0, until - Clock.now())) { [self] in
            resume(pause.expire(now: Clock.now()))
        }
    }

    public func unpauseClients(_ purpose: PauseGate.Purpose) {
        resume(pause.unpause(purpose))
    }

    /// Sends clients the gate released back to their pending requests.
    func resume(_ sessions: [ClientSession]) {
        for session in sessions { session.connection?.resume(.pauseLifted) }
    }

    /// Whether the client must still AUTH before anything but the `no_auth` commands.
    public var requiresPassword: Bool {
        !config["requirepass"].isEmpty
    }
}

/// How many replica synchronizations this master served, and how.
public final class SyncCounters: Sendable {
    public let full = Atomic<Int>(0)
    public let partialAccepted = Atomic<Int>(0)
    public let partialRefused = Atomic<Int>(0)
    public init() {}
}
