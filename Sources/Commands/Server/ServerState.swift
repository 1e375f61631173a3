import Locks
import Config
import Engine
import NIOCore
import RESP
import Synchronization

/// What the server layer does on behalf of commands (SHUTDOWN …). The server implements it;
/// commands never see how.
public protocol ServerControl: AnyObject, Sendable {
    /// Starts a shutdown; returns an error message if it is refused.
    func shutdown(_ request: ShutdownRequest) -> String?
    /// Writes a line to the server log at notice level (DEBUG LOG).
    func log(_ message: String)
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
    private let outputBufferLimitsCache = Lock(OutputBufferLimits(""))
    public let pubsub = PubSubHub()
    let keyspaceEvents: KeyspaceEvents
    public let statistics: Statistics
    /// 40 random hex characters, new at every start (INFO `run_id`).
    public let runID: String
    /// Unix milliseconds at start.
    public let startedAt: Int64
    public let executable: String
    public let eventLoops: Int
    /// The dispatcher reads it once per command. Tests inject a manual one.
    public let clock: ClockSource
    /// INFO replication `master_replid`.
    public let replicationID: String
    /// Allocated bytes once the server was ready (INFO `used_memory_startup`).
    public let startupMemory: Int
    let metrics = InstantaneousMetrics()
    private let controlReference = Lock<(any ServerControl)?>(nil)
    private let memoryPeak = Atomic<Int>(0)
    /// Microseconds spent in the active expiry cycle.
    private let expiryCPU = Atomic<Int>(0)
    /// The active expiry cycle's position (touched only by the cron) and what INFO shows of it.
    private let expiryCycle = Lock(ExpiryCycle())

    private struct ExpiryCycle {
        var cursor = 0
        /// Running average of the share of keys with a TTL the cycle found expired
        /// (`expired_stale_perc`): each cycle weighs 5%, as in Redis.
        var staleShare = 0.0
        /// Cycles that stopped at their time limit (`expired_time_cap_reached_count`).
        var timeCapReached = 0
    }

    public init(config: Configuration, eventLoops: Int, executable: String = "",
                clock: ClockSource = .system) {
        self.config = config
        self.clock = clock
        self.eventLoops = eventLoops
        self.executable = executable
        let events = KeyspaceEvents(hub: pubsub)
        keyspaceEvents = events
        let tracking = TrackingTable(clients: clients)
        self.tracking = tracking
        keyspace = Keyspace(databases: config.integer("databases")) { db, key in
            events.notify(.expired, "expired", key: key, db: db)
            if tracking.active.load(ordering: .relaxed) > 0 {
                var unused = ReplyWriter(buffer: ByteBuffer())
                tracking.invalidate([Element(key)], by: nil, reply: &unused)
            }
        }
        pause = PauseGate(keyspace: keyspace)
        commands = CommandTable()
        statistics = Statistics(loops: eventLoops, commands: commands.ordinalLimit)
        runID = Self.randomHex()
        replicationID = Self.randomHex()
        startedAt = clock.nanoseconds() / 1_000_000
        startupMemory = ProcessMetrics.allocatedBytes()
        followKeyspaceSettings()
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
        outputBufferLimitsCache.withLock { $0 = OutputBufferLimits(config["client-output-buffer-limit"]) }
        config.observe("client-output-buffer-limit") { [self] value in outputBufferLimitsCache.withLock { $0 = OutputBufferLimits(value) } }
        let events = keyspaceEvents
        events.configure(config["notify-keyspace-events"])
        config.observe("notify-keyspace-events") { events.configure($0) }
        let usesLFU: @Sendable (String) -> Void = { keyspace.usesLFU.store($0.hasSuffix("-lfu"), ordering: .relaxed) }
        usesLFU(config["maxmemory-policy"])
        config.observe("maxmemory-policy") { usesLFU($0) }
    }

    public var control: (any ServerControl)? {
        get { controlReference.withLock { $0 } }
        set { controlReference.withLock { $0 = newValue } }
    }

    static func randomHex() -> String {
        (0 ..< 40).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    }

    /// Records `used` if it is a new peak; returns the peak.
    func recordMemoryPeak(_ used: Int) -> Int {
        var peak = memoryPeak.load(ordering: .relaxed)
        while used > peak {
            let (exchanged, original) = memoryPeak.compareExchange(expected: peak, desired: used, ordering: .relaxed)
            if exchanged { return used }
            peak = original
        }
        return peak
    }

    /// `client-output-buffer-limit`, parsed once per change.
    public var outputBufferLimits: OutputBufferLimits {
        outputBufferLimitsCache.withLock { $0 }
    }

    /// Whether `backlog` unsent bytes break the session's class limit (pubsub, replica or
    /// normal): above the hard limit, or above the soft one for longer than its period, counted
    /// from `overSoftLimitSince` (0 when under it; kept up to date here).
    public func exceedsOutputLimit(_ session: ClientSession, backlog: Int, overSoftLimitSince: inout Int64, now: Int64) -> Bool {
        let flags = session.currentFlags
        let kind: OutputBufferLimits.Class = flags.contains(.pubsub) ? .pubsub : flags.typeName == "replica" ? .replica : .normal
        let limit = outputBufferLimits[kind]
        guard limit.soft > 0 && backlog > limit.soft else {
            overSoftLimitSince = 0
            return limit.hard > 0 && backlog > limit.hard
        }
        if overSoftLimitSince == 0 { overSoftLimitSince = now }
        return (limit.hard > 0 && backlog > limit.hard) || now - overSoftLimitSince > Int64(limit.seconds) * 1000
    }

    /// A client as the log names it: its CLIENT LIST line.
    public func describe(_ session: ClientSession) -> String {
        ClientList.line(for: session, now: Clock.now(), current: session, server: self)
    }

    /// Writes a line to the server log (notice level).
    public func log(_ message: String) {
        control?.log(message)
    }

    /// A client went away: it leaves the registry and every channel it listened to.
    public func disconnected(_ session: ClientSession) {
        clients.unregister(session)
        PubSubCommands.unsubscribeAll(session, hub: pubsub)
        TransactionCommands.unwatchAll(session, keyspace: keyspace, locking: true)
        session.blocked.withLock { $0 }?.expire()
        pause.forget(session)
        monitors.remove(session)
        tracking.disable(session)
    }

    /// INFO `expire_cycle_cpu_milliseconds`.
    var expireCycleMilliseconds: Int { expiryCPU.load(ordering: .relaxed) / 1000 }

    /// INFO `expired_stale_perc` and `expired_time_cap_reached_count`.
    var expiryCycleFigures: (stalePercent: Double, timeCapReached: Int) {
        expiryCycle.withLock { (100 * $0.staleShare, $0.timeCapReached) }
    }

    /// Periodic work, `hz` times a second on one event loop: samples the rates and runs the
    /// active expiry cycle for at most a quarter of the period, stopping early once fewer
    /// than one in ten of the keys with a TTL it meets have expired, as Redis's does.
    public func cron(now: Int64) {
        let totals = statistics.totals()
        metrics.sample(now: now, values: [totals[.commandsProcessed], totals[.netInputBytes], totals[.netOutputBytes]])
        _ = recordMemoryPeak(ProcessMetrics.allocatedBytes())
        // Also before every command; here too, so a limit lowered by CONFIG SET applies on an idle server.
        if tracking.active.load(ordering: .relaxed) > 0 {
            var unused = ReplyWriter(buffer: ByteBuffer())
            tracking.enforceLimit(by: nil, reply: &unused)
        }

        let start = Clock.monotonicNanoseconds()
        let hz = max(1, config.integer("hz"))
        let deadline = start + Int64(250_000_000 / hz)
        var seen = ExpirySweep()
        expiryCycle.withLock { cycle in
            while true {
                let step = keyspace.expireStep(now: now, budget: 1024, cursor: &cycle.cursor)
                seen.add(step)
                if step.looked == 0 { break }
                if seen.volatile >= 200 {
                    // Enough keys with a TTL met to judge: go on while one in ten had expired.
                    if seen.expired * 10 < seen.volatile { break }
                } else if seen.looked >= keyspace.shards.count * 64 {
                    // Keys with a TTL are sparse here: not worth a longer sweep this time.
                    break
                }
                if Clock.monotonicNanoseconds() >= deadline {
                    cycle.timeCapReached += 1
                    break
                }
            }
            let share = seen.volatile > 0 ? Double(seen.expired) / Double(seen.volatile) : 0
            cycle.staleShare = share * 0.05 + cycle.staleShare * 0.95
        }
        expiryCPU.add(Int((Clock.monotonicNanoseconds() - start) / 1000), ordering: .relaxed)
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
