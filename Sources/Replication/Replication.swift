import Commands
import Engine
import Locks
import NIOCore
import NIOPosix
import Persistence
import RESP

/// Replication for one server: its role (master, or replica of `host:port`), the link to its
/// master when it has one, and the serving of its own replicas (`ReplicationMaster`).
/// REPLICAOF, ROLE, INFO replication and the replication cron live here.
public final class Replication: @unchecked Sendable {
    let master = ReplicationMaster()
    private(set) var server: ServerState!
    private var persistence: Persistence!
    /// The loop the link to a master runs on, and that loop's statistics.
    private var linkLoop: (any EventLoop)!
    private var linkStatistics: LoopStatistics!

    struct Role {
        /// The master followed; nil: this server is a master.
        var following: (host: String, port: Int)?
        var link: ReplicaLink?
        /// Unix milliseconds the link went down; 0 while up or never up.
        var downSince: Int64 = 0
        /// The database the stream had selected when the last link closed: a partial resync
        /// continues in it.
        var streamDB = 0
        var lastAttempt: Int64 = 0
        var lastHeartbeat: Int64 = 0
        /// Live-link repair counts of the links that closed (the open one adds its own).
        var holes = 0
        var corruptFrames = 0
        var failover = Failover()
    }

    let role = Lock(Role())

    public init() {}

    public func attach(to server: ServerState, persistence: Persistence, linkLoop: any EventLoop, statistics: LoopStatistics) {
        self.server = server
        self.persistence = persistence
        self.linkLoop = linkLoop
        linkStatistics = statistics
        master.attach(to: server)
        master.syncRefusal = { [unowned self] in
            role.withLock { role in
                if role.failover.state != .none { return "NOMASTERLINK Can't SYNC while failing over" }
                if role.following != nil && role.link?.state != .connected { return "NOMASTERLINK Can't SYNC while not connected with my master" }
                return nil
            }
        }
        master.promoteForFailover = { [unowned self] in
            guard role.withLock({ $0.following != nil }) else { return false }
            stopFollowing()
            remember(["no", "one"])
            server.control?.log("MASTER MODE enabled (failover request from my master)")
            return true
        }
        master.acknowledged = { [unowned self] now in
            if role.withLock({ $0.failover.state == .waitingForSync }) { failoverCron(now: now) }
        }
        master.answerGetAck = { [unowned self] c in
            // The offset before this GETACK's own bytes, as Redis reports it.
            let offset = master.offset + Int64(c.requestStart)
            role.withLock { $0.link }?.acknowledge(offset)
        }
        server.info.register(infoSection)
        persistence.streamPosition = self
        for setting in ["replica-read-only", "replica-serve-stale-data"] {
            server.config.observe(setting) { [unowned self] _ in updateGates() }
        }
    }

    public var commands: [Command] {
        master.commands + [
            Command("replicaof", arity: 3, flags: [.admin, .noScript, .stale, .noAsyncLoading], group: "server", since: "5.0.0",
                    summary: "Follows a master, or (NO ONE) becomes one.", handler: { [unowned self] c in replicaof(&c) }),
            Command("slaveof", arity: 3, flags: [.admin, .noScript, .stale, .noAsyncLoading], group: "server", since: "1.0.0",
                    summary: "Follows a master, or (NO ONE) becomes one.", handler: { [unowned self] c in replicaof(&c) }),
            Command("wait", arity: 3, flags: [.noScript], categories: [.connection],
                    tips: ["request_policy:all_shards", "response_policy:agg_min"], group: "generic", since: "3.0.0",
                    summary: "Waits until replicas acknowledged this client's writes.", handler: { [unowned self] c in
                        master.wait(&c, following: role.withLock { $0.following != nil })
                    }),
            Command("failover", arity: -1, flags: [.admin, .noScript, .stale], group: "server", since: "6.2.0",
                    summary: "Hands the master role to a replica.", handler: { [unowned self] c in failover(&c) }),
            Command("role", arity: 1, flags: [.noScript, .loading, .stale, .fast], categories: [.admin, .dangerous], group: "server", since: "2.8.12",
                    summary: "This server's role in replication.", handler: { [unowned self] c in roleCommand(&c) }),
        ]
    }

    /// At start-up, before the file loads: the `replicaof` directive makes this server a
    /// replica from the start (so the load keeps expired keys, for its master's DELs).
    public func takeConfiguredRole() {
        let words = server.config["replicaof"].split(separator: " ")
        guard words.count == 2, let port = Int(words[1]) else { return }
        becomeReplica(of: String(words[0]), port: port)
    }

    /// At start-up, once the file is loaded: a replica connects to its master. The stream
    /// position the file recorded lets its first sync be a partial one.
    ///
    /// A master that restarts from a file with a stream position continues that history under
    /// a new ID (the old one accepted up to there), so its replicas resync partially.
    public func start() {
        let aux = persistence.startupAux
        let recorded = aux["repl-id"].flatMap { id in aux["repl-offset"].flatMap(Int64.init).map { (id, $0) } }
        guard role.withLock({ $0.following != nil }) else {
            if let (id, offset) = recorded, id.utf8.count == 40 { master.continueAfterRestart(id: id, offset: offset) }
            return
        }
        if let (id, offset) = recorded, id.utf8.count == 40 {
            master.adopt(id: id, offset: offset)
            let db = recordedStreamDB(aux, databases: server.keyspace.databaseCount)
            role.withLock { $0.streamDB = db }
        }
        connect()
    }

    // MARK: Changing role

    func replicaof(_ c: inout CommandContext) {
        if role.withLock({ $0.failover.state != .none }) { return c.error("ERR REPLICAOF not allowed while failing over.") }
        if c.argument(1, is: "no") && c.argument(2, is: "one") {
            if role.withLock({ $0.following != nil }) {
                stopFollowing()
                remember(["no", "one"])
                server.control?.log("MASTER MODE enabled (user request from '\(server.describe(c.session))')")
            }
            return c.reply.ok()
        }
        if c.session.flags.contains(.replica) { return c.error("ERR Command is not valid when client is a replica.") }
        guard let port = c.integer(2), (0 ... 65535).contains(port) else { return c.error("ERR Invalid master port") }
        let host = c.text(1)
        if let current = role.withLock({ $0.following }), current.host.lowercased() == host.lowercased(), current.port == port {
            server.control?.log("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
            return c.reply.simpleString("OK Already connected to specified master")
        }
        follow(host: host, port: port)
        remember(["\(host)", "\(port)"])
        server.control?.log("REPLICAOF \(host):\(port) enabled (user request from '\(server.describe(c.session))')")
        c.reply.ok()
    }

    /// The role as the `replicaof` directive, so CONFIG REWRITE keeps it for a restart.
    func remember(_ words: [String]) {
        try? server.config.load("replicaof", words, appending: false)
    }

    /// Follows `host:port`: a master stops building its own stream, and the link connects.
    func follow(host: String, port: Int) {
        becomeReplica(of: host, port: port)
        connect()
    }

    func becomeReplica(of host: String, port: Int) {
        let (old, wasMaster) = role.withLock { role in
            defer {
                role.following = (host, port)
                role.link = nil
            }
            return (role.link, role.following == nil)
        }
        old?.close()
        if wasMaster {
            master.becomeReplica()
            // A replica deletes no expired key itself: its master's DELs do.
            server.keyspace.hold(.replica)
        }
        master.refreshGoodReplicas(now: Clock.now())
        updateGates()
    }

    /// REPLICAOF NO ONE: the link closes, and this server begins its own history.
    func stopFollowing() {
        let old = role.withLock { role in
            defer {
                role.following = nil
                role.link = nil
                role.downSince = 0
            }
            return role.link
        }
        old?.close()
        master.becomeMaster()
        server.keyspace.release(.replica)
        updateGates()
    }

    /// `READONLY` for writes on a read-only replica, `MASTERDOWN` while the link is down and
    /// stale data may not be served.
    private func updateGates() {
        let (following, state) = role.withLock { ($0.following != nil, $0.link?.state) }
        let config = server.config
        server.set(.readOnlyReplica, closed: following && config.bool("replica-read-only"))
        server.set(.masterDown, closed: following && state != .connected && !config.bool("replica-serve-stale-data"))
    }

    // MARK: The link

    func connect() {
        let now = Clock.now()
        let made = role.withLock { role -> ReplicaLink? in
            guard let (host, port) = role.following, role.link == nil else { return nil }
            role.lastAttempt = now
            let link = ReplicaLink(host: host, port: port, eventLoop: linkLoop, server: server, master: master, persistence: persistence,
                                   statistics: linkStatistics, streamDB: role.streamDB,
                                   handingOver: role.failover.state == .inProgress) { [unowned self] link, event in
                linkChanged(link, event)
            }
            role.link = link
            return link
        }
        guard let link = made else { return }
        server.control?.log("Connecting to MASTER \(link.host):\(link.port)")
        let timeout = Int64(server.config.integer("repl-timeout"))
        var bootstrap = ClientBootstrap(group: linkLoop)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: server.config.bool("repl-disable-tcp-nodelay") ? 0 : 1)
            .connectTimeout(.seconds(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(link) }
            }
        // `bind-source-addr`: the link leaves from that address (an unparsable one is ignored).
        if let source = try? SocketAddress(ipAddress: server.config["bind-source-addr"], port: 0) {
            bootstrap = bootstrap.bind(to: source)
        }
        bootstrap
            .connect(host: link.host, port: link.port)
            .whenFailure { [unowned self] error in
                server.control?.warn("Error condition on socket for SYNC: \(error)")
                linkChanged(link, .closed)
            }
    }

    private func linkChanged(_ link: ReplicaLink, _ event: ReplicaLink.Event) {
        switch event {
        case .connected:
            role.withLock { $0.downSince = 0 }
            failoverHandedOver()
        case .closed:
            let wasUp = link.state == .connected
            let counts = link.repairCounts
            let current = role.withLock { role -> Bool in
                role.holes += counts.holes
                role.corruptFrames += counts.corrupt
                guard role.link === link else { return false }
                role.link = nil
                if wasUp {
                    role.downSince = Clock.now()
                    role.streamDB = link.session.database
                } else if role.downSince == 0 {
                    role.downSince = Clock.now()
                }
                return true
            }
            guard current else { return }
            if !wasUp && role.withLock({ $0.failover.state == .inProgress }) {
                return abortFailover("Failover target rejected psync request")
            }
            if wasUp {
                server.control?.log("Connection with master lost.")
                server.control?.log("Caching the disconnected master state.")
                // At once, not a second later: the backlog may move on meanwhile.
                connect()
            }
        }
        updateGates()
    }

    /// For a shutdown that waits for replicas: how many there are, and a log line for each
    /// that lags.
    public func shutdownReport(now: Int64) -> (replicas: Int, lagging: [String]) {
        master.shutdownReport(now: now)
    }

    /// `REPLCONF GETACK *` to every replica, so they acknowledge now.
    public func requestAcknowledgements() {
        master.requestAcknowledgements()
    }

    /// From the server's cron: serving replicas; following a master, the retries, the ACK
    /// every second and the timeouts.
    public func cron(now: Int64) {
        master.cron(now: now)
        failoverCron(now: now)
        let (following, link, lastAttempt, lastHeartbeat) = role.withLock { ($0.following != nil, $0.link, $0.lastAttempt, $0.lastHeartbeat) }
        guard following else { return }
        guard let link else {
            if now - lastAttempt >= 1000 { connect() }
            return
        }
        let timeout = Int64(server.config.integer("repl-timeout")) * 1000
        let status = link.status.withLock { $0 }
        if now - status.lastIO > timeout {
            switch status.state {
            case .connecting, .handshake:
                server.control?.warn("Timeout connecting to the MASTER...")
                link.close()
            case .sync where status.transferRead < status.transferSize || status.transferSize < 0:
                server.control?.warn("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.")
                link.close()
            case .connected:
                server.control?.warn("MASTER timeout: no data nor PING received...")
                link.close()
            default:
                break
            }
        }
        if now - lastHeartbeat >= 1000 {
            role.withLock { $0.lastHeartbeat = now }
            link.heartbeat()
        }
    }

    // MARK: ROLE and INFO

    func roleCommand(_ c: inout CommandContext) {
        let (following, link) = role.withLock { ($0.following, $0.link) }
        guard let following else {
            let replicas = master.onlineReplicas()
            c.reply.arrayHeader(3)
            c.reply.bulk("master")
            c.reply.integer(Int(master.offset))
            c.reply.arrayHeader(replicas.count)
            for replica in replicas {
                c.reply.arrayHeader(3)
                c.reply.bulk(replica.ip)
                c.reply.bulk(String(replica.port))
                c.reply.bulk(String(replica.offset))
            }
            return
        }
        let state = link?.state ?? .connect
        c.reply.arrayHeader(5)
        c.reply.bulk("slave")
        c.reply.bulk(following.host)
        c.reply.integer(following.port)
        c.reply.bulk(state == .handshake ? "handshake" : state.rawValue)
        c.reply.integer(state == .connected ? Int(link!.status.withLock { $0.appliedOffset }) : -1)
    }

    var infoSection: InfoSection {
        InfoSection("replication", isDefault: true) { [unowned self] c in
            let now = c.now
            let (following, link, downSince) = role.withLock { ($0.following, $0.link, $0.downSince) }
            var fields: [(String, String)] = [("role", following == nil ? "master" : "slave")]
            if let following {
                fields += replicaFields(following, link: link, downSince: downSince, now: now)
            }
            fields += master.replicaFields(now: now)
            fields.append(("master_failover_state", role.withLock { $0.failover.state.rawValue }))
            fields += master.historyFields()
            // Live-link repair, Needletail's own: after Redis's fields, never inside a slaveN line.
            fields += master.repairFields()
            if following != nil {
                let (holes, corrupt) = link?.repairCounts ?? (0, 0)
                let (closedHoles, closedCorrupt) = role.withLock { ($0.holes, $0.corruptFrames) }
                fields += [("repl_holes_detected", String(holes + closedHoles)),
                           ("repl_corrupt_frames_dropped", String(corrupt + closedCorrupt))]
            }
            return fields
        }
    }

    private func replicaFields(_ following: (host: String, port: Int), link: ReplicaLink?, downSince: Int64, now: Int64) -> [(String, String)] {
        let status = link?.status.withLock { $0 }
        let state = status?.state ?? .connect
        let cached = master.continuation.map { $0.offset - 1 } ?? 1
        let applied = state == .connected ? status!.appliedOffset : cached
        let read = state == .connected ? status!.readOffset : cached
        var fields: [(String, String)] = [
            ("master_host", following.host), ("master_port", String(following.port)),
            ("master_link_status", state == .connected ? "up" : "down"),
            ("master_last_io_seconds_ago", state == .connected ? String((now - status!.lastIO) / 1000) : "-1"),
            ("master_sync_in_progress", state == .sync ? "1" : "0"),
            ("slave_read_repl_offset", String(read)), ("slave_repl_offset", String(applied)),
        ]
        if state == .sync, let status {
            let percent = status.transferSize > 0 ? Double(status.transferRead) / Double(status.transferSize) * 100 : 0
            fields += [
                ("master_sync_total_bytes", String(status.transferSize)), ("master_sync_read_bytes", String(status.transferRead)),
                ("master_sync_left_bytes", String(status.transferSize - status.transferRead)),
                ("master_sync_perc", ReplyWriter.formatC("%.2f", percent)),
                ("master_sync_last_io_seconds_ago", String((now - status.lastIO) / 1000)),
            ]
        }
        if state != .connected {
            fields.append(("master_link_down_since_seconds", downSince == 0 ? "-1" : String((now - downSince) / 1000)))
        }
        let config = server.config
        fields += [
            ("slave_priority", config["replica-priority"]), ("slave_read_only", config.bool("replica-read-only") ? "1" : "0"),
            ("replica_announced", config.bool("replica-announced") ? "1" : "0"),
        ]
        return fields
    }
}

/// The database a file or a master's payload says the stream had selected (`repl-stream-db`);
/// 0 when it names none that exists here (Redis then leaves its master client in 0 too).
func recordedStreamDB(_ aux: [String: String], databases: Int) -> Int {
    guard let db = aux["repl-stream-db"].flatMap(Int.init), (0 ..< databases).contains(db) else { return 0 }
    return db
}

extension Replication: StreamPositionSource {
    public func betweenBatches<T>(_ body: () -> T) -> T {
        master.applying.withLock { _ in body() }
    }

    /// As a replica, the master's stream applied so far, in the database its client selected;
    /// as a master with a backlog, its own.
    public func position() -> StreamPosition? {
        let (following, link) = role.withLock { ($0.following != nil, $0.link) }
        guard let (id, next) = master.continuation else { return nil }
        let db = following ? (link?.state == .connected ? link!.session.database : role.withLock { $0.streamDB }) : master.streamDB
        return StreamPosition(id: id, offset: next - 1, db: db)
    }
}
