import Commands
import Engine
import Foundation
import Locks
import NIOCore
import Persistence
import Synchronization

/// The master side of replication (first cut): PSYNC and SYNC answered by a full sync from a
/// forkless snapshot taken at the exact stream offset announced in `+FULLRESYNC`, partial
/// resync from the backlog, the stream fed from the propagation sink, REPLCONF.
///
/// Not done yet: WAIT, diskless sync options, rdb-only, the backlog's TTL, the replica
/// side.
public final class ReplicationMaster: PropagationSink, @unchecked Sendable {
    struct Replica {
        let session: ClientSession
        /// Receiving the stream; before that, the bytes since the snapshot wait in `pending`.
        var online = false
        var pending: [UInt8] = []
        var ackOffset: Int64 = 0
        var lastAck: Int64 = 0
        var listeningPort = 0
    }

    struct State {
        /// Created when the first replica attaches, as Redis creates it.
        var backlog: ReplicationBacklog?
        var encoder = StreamEncoder()
        var replicas: [Int: Replica] = [:]
        /// When the cron last put a PING into the stream (ms).
        var lastPing: Int64 = 0
    }

    let state = Lock(State())
    private(set) var server: ServerState!
    /// Whether this is one of the server's propagation sinks (from the first full sync on).
    private let sinkInstalled = Atomic<Bool>(false)

    public init() {}

    public func attach(to server: ServerState) {
        self.server = server
        server.info.register(infoSection)
        server.onDisconnect { [unowned self] session in replicaGone(session) }
        for setting in ["min-replicas-to-write", "min-replicas-max-lag"] {
            server.config.observe(setting) { [unowned self] _ in refreshGoodReplicas(now: Clock.now()) }
        }
        server.config.observe("repl-backlog-size") { [unowned self] _ in
            let size = max(1, server.config.integer("repl-backlog-size"))
            state.withLock { $0.backlog?.resize(to: size) }
        }
    }

    /// A replica's link closed: it leaves the list (the backlog stays, for its PSYNC), and
    /// stops counting as a good replica at once.
    private func replicaGone(_ session: ClientSession) {
        listeningPorts.withLock { _ = $0.removeValue(forKey: session.id) }
        guard let replica = state.withLock({ $0.replicas.removeValue(forKey: session.id) }) else { return }
        server.log("Connection with replica \(name(of: replica)) lost.")
        refreshGoodReplicas(now: Clock.now())
    }

    /// `min-replicas-to-write` / `min-replicas-max-lag`: a good replica is online and
    /// acknowledged within the last max-lag seconds; with fewer good ones than required,
    /// writes get `-NOREPLICAS` (either setting 0 turns the check off).
    @discardableResult
    func refreshGoodReplicas(now: Int64) -> Int? {
        let required = server.config.integer("min-replicas-to-write"), maxLag = server.config.integer("min-replicas-max-lag")
        guard required > 0 && maxLag > 0 else {
            server.set(.notEnoughReplicas, closed: false)
            return nil
        }
        let good = state.withLock { state in
            state.replicas.values.filter { $0.online && (now - $0.lastAck) / 1000 <= Int64(maxLag) }.count
        }
        server.set(.notEnoughReplicas, closed: good < required)
        return good
    }

    /// `ip:port` as Redis names a replica: its address and the port it announced.
    private func name(of replica: Replica) -> String {
        "\(host(of: replica.session)):\(replica.listeningPort)"
    }

    private func host(of session: ClientSession) -> String {
        guard let colon = session.address.lastIndex(of: ":") else { return session.address }
        return String(session.address[..<colon])
    }

    /// From the server's cron: a PING into the stream every `repl-ping-replica-period`
    /// seconds while replicas are attached, so they can tell a live master from a dead one.
    public func cron(now: Int64) {
        refreshGoodReplicas(now: now)
        // repl-timeout: an online replica silent that long is disconnected.
        let timeout = Int64(server.config.integer("repl-timeout")) * 1000
        let silent = state.withLock { state in state.replicas.values.filter { $0.online && now - $0.lastAck > timeout } }
        for replica in silent {
            server.warn("Disconnecting timedout replica (streaming sync): \(name(of: replica))")
            replica.session.connection?.close()
        }
        let period = Int64(max(1, server.config.integer("repl-ping-replica-period"))) * 1000
        let due = state.withLock { state -> Bool in
            guard !state.replicas.isEmpty, now - state.lastPing >= period else { return false }
            state.lastPing = now
            return true
        }
        // In the database the stream last selected, as Redis sends it: no SELECT for a PING.
        if due { propagate([PropagatedCommand(db: state.withLock { max(0, $0.encoder.selectedDB) }, "PING")]) }
    }

    /// INFO replication, as a master: Redis's fields in Redis's order.
    var infoSection: InfoSection {
        InfoSection("replication", isDefault: true) { [unowned self] c in
            let now = c.now
            let (replicas, backlog) = state.withLock { state in
                (state.replicas.values.sorted { $0.session.id < $1.session.id }, state.backlog)
            }
            var fields: [(String, String)] = [("role", "master"), ("connected_slaves", String(replicas.count))]
            if let good = refreshGoodReplicas(now: now) { fields.append(("min_slaves_good_slaves", String(good))) }
            for (index, replica) in replicas.enumerated() {
                let lag = replica.lastAck == 0 ? 0 : (now - replica.lastAck) / 1000
                fields.append(("slave\(index)", "ip=\(host(of: replica.session)),port=\(replica.listeningPort),"
                    + "state=\(replica.online ? "online" : "wait_bgsave"),offset=\(replica.ackOffset),lag=\(lag)"))
            }
            fields += [
                ("master_failover_state", "no-failover"), ("master_replid", server.replicationID),
                ("master_replid2", String(repeating: "0", count: 40)),
                ("master_repl_offset", String(backlog?.endOffset ?? 0)), ("second_repl_offset", "-1"),
                ("repl_backlog_active", backlog == nil ? "0" : "1"),
                ("repl_backlog_size", server.config["repl-backlog-size"]),
                ("repl_backlog_first_byte_offset", String(backlog?.firstOffset ?? 0)),
                ("repl_backlog_histlen", String(backlog?.count ?? 0)),
            ]
            return fields
        }
    }

    public var commands: [Command] {
        [
            Command("psync", arity: -3, flags: [.admin, .noScript, .noAsyncLoading, .noMulti], group: "server", since: "2.8.0",
                    summary: "A replica asks for the stream from an offset.", handler: { [unowned self] c in sync(&c, partial: true) }),
            Command("sync", arity: 1, flags: [.admin, .noScript, .noAsyncLoading, .noMulti], group: "server", since: "1.0.0",
                    summary: "A replica asks for the whole dataset and the stream.", handler: { [unowned self] c in sync(&c, partial: false) }),
            Command("replconf", arity: -1, flags: [.admin, .noScript, .loading, .stale, .allowBusy], group: "server", since: "3.0.0",
                    summary: "A replica's settings and acknowledgements.", handler: { [unowned self] c in replconf(&c) }),
        ]
    }

    // MARK: The stream

    public func propagate(_ commands: [PropagatedCommand]) {
        state.withLock { state in
            guard state.backlog != nil else { return }
            var bytes: [UInt8] = []
            state.encoder.encode(commands, into: &bytes)
            state.backlog!.append(bytes)
            for (id, replica) in state.replicas {
                if replica.online {
                    replica.session.connection?.deliver(ByteBuffer(bytes: bytes))
                } else {
                    state.replicas[id]?.pending += bytes
                }
            }
        }
    }

    // MARK: Commands

    func replconf(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 1 else { return c.error(Errors.syntax) }
        var index = 1
        while index < c.argumentCount {
            let option = c.text(index).lowercased(), value = c.text(index + 1)
            switch option {
            case "listening-port":
                guard let port = Int(value) else { return c.error(Errors.notInteger) }
                let id = c.session.id
                state.withLock { $0.replicas[id]?.listeningPort = port }
                listeningPorts.withLock { $0[id] = port }
            case "ack":
                // No reply: the replica does not read one.
                guard let offset = Int64(value) else { return }
                let id = c.session.id, now = c.now
                state.withLock { state in
                    guard var replica = state.replicas[id] else { return }
                    replica.ackOffset = max(replica.ackOffset, offset)
                    replica.lastAck = now
                    state.replicas[id] = replica
                }
                return
            case "getack":
                return
            case "ip-address", "capa", "rdb-only", "rdb-filter-only":
                break
            default:
                return c.error("ERR Unrecognized REPLCONF option: \(c.text(index))")
            }
            index += 2
        }
        c.reply.ok()
    }

    /// Ports announced with REPLCONF before the link became a replica's.
    private let listeningPorts = Lock<[Int: Int]>([:])

    func sync(_ c: inout CommandContext, partial: Bool) {
        let session = c.session
        if session.flags.contains(.replica) { return }
        if partial && c.argumentCount > 3 {
            guard c.argumentCount == 4, c.argument(3, is: "FAILOVER") else { return c.error(Errors.syntax) }
            return c.error("ERR PSYNC FAILOVER can't be sent to a master.")
        }
        let counters = server.syncCounters
        if partial, let offset = Int64(c.text(2)), c.text(1) == server.replicationID,
           let missing = state.withLock({ $0.backlog?.bytes(from: offset) }) {
            counters.partialAccepted.add(1, ordering: .relaxed)
            becomeReplica(session)
            c.reply.simpleString("CONTINUE \(server.replicationID)")
            state.withLock { state in
                var replica = Replica(session: session)
                replica.online = true
                replica.lastAck = Clock.now()
                replica.listeningPort = listeningPorts.withLock { $0[session.id] ?? 0 }
                state.replicas[session.id] = replica
            }
            session.connection?.deliver(ByteBuffer(bytes: missing))
            server.log("Partial resynchronization request from replica accepted.")
            return
        }
        counters.full.add(1, ordering: .relaxed)
        if partial && c.text(1) != "?" { counters.partialRefused.add(1, ordering: .relaxed) }
        becomeReplica(session)
        var options = RDBSnapshot.Options()
        options.compress = server.config.bool("rdbcompression")
        options.checksum = server.config.bool("rdbchecksum")
        options.usedMemory = server.memory.used
        let backlogSize = server.config.integer("repl-backlog-size")
        var offset: Int64 = 0
        let replicationID = server.replicationID
        // The sink listens before the instant (it drops what comes before the backlog exists),
        // so no write between the instant and this command's end escapes the stream; once.
        if !sinkInstalled.exchange(true, ordering: .relaxed) { server.propagation.add(self) }
        let snapshot = RDBSnapshot.begin(server.keyspace, options: options, now: c.now) {
            // At the instant: every shard held, so the stream and the image meet exactly here.
            offset = state.withLock { state in
                if state.backlog == nil {
                    state.backlog = ReplicationBacklog(capacity: max(1, backlogSize))
                    state.encoder.reset()
                }
                var replica = Replica(session: session)
                replica.listeningPort = listeningPorts.withLock { $0[session.id] ?? 0 }
                state.replicas[session.id] = replica
                return state.backlog!.endOffset
            }
        }
        snapshot.setReplication(id: replicationID, offset: Int(offset), db: 0)
        if partial { c.reply.simpleString("FULLRESYNC \(replicationID) \(offset)") }
        server.log("Starting BGSAVE for SYNC with target: replicas sockets")
        Thread.detachNewThread { [self] in
            var file: [UInt8] = []
            do {
                try snapshot.write { file.append(contentsOf: $0) }
            } catch {
                server.warn("Full synchronization failed: \(error)")
                session.connection?.close()
                return
            }
            state.withLock { state in
                guard var replica = state.replicas[session.id] else { return }
                var transfer = ByteBuffer(string: "$\(file.count)\r\n")
                transfer.writeBytes(file)
                transfer.writeBytes(replica.pending)
                session.connection?.deliver(transfer)
                replica.pending = []
                replica.online = true
                replica.lastAck = Clock.now()
                state.replicas[session.id] = replica
            }
            server.log("Synchronization with replica succeeded")
        }
    }

    private func becomeReplica(_ session: ClientSession) {
        session.flags.insert(.replica)
        session.published.withLock { $0.flags.insert(.replica) }
    }
}
