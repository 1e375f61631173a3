import Commands
import Engine
import Foundation
import Locks
import NIOCore
import Persistence
import Synchronization

/// Serving replicas: PSYNC and SYNC answered by a full sync from a forkless snapshot taken at
/// the exact stream offset announced in `+FULLRESYNC`, partial resync from the backlog under
/// the PSYNC2 rules, the stream, REPLCONF. It also holds what both roles share: the
/// replication IDs and the backlog, whose end is `master_repl_offset`.
///
/// As a master it builds the stream from the propagation sink; as a replica the stream is the
/// master's, proxied byte for byte by the link (`feed`), so sub-replicas share the top
/// master's IDs and offsets.
public final class ReplicationMaster: PropagationSink, @unchecked Sendable {
    struct Replica {
        let session: ClientSession
        /// Receiving the stream; before that, the bytes since the snapshot wait in `pending`.
        var online = false
        var pending: [UInt8] = []
        /// `pending` counts against the replica class's `client-output-buffer-limit`, as a
        /// replica's output buffer does in Redis while it syncs: since when it is over the soft
        /// limit (0: it is not), and whether it broke the limit (its connection is closing).
        var pendingOverSoftLimitSince: Int64 = 0
        var overLimit = false
        /// Waiting for the snapshot to begin (no stream is kept for it yet).
        var awaitingSnapshot = false
        /// After an `$EOF:` payload, the stream waits for the replica's first ACK, so no byte
        /// follows the end mark in the same read.
        var holdsStreamUntilAck = false
        var ackOffset: Int64 = 0
        var lastAck: Int64 = 0
        var announced: Announcement
        /// Framed (`capa resend`): the offset of the last stream byte sent to it, the ACK before
        /// the last (two equal ACKs below `sent` mean bytes were lost), and when bytes were last
        /// resent (ms).
        var sent: Int64 = 0
        var previousAck: Int64 = -1
        var lastResend: Int64 = 0
        /// Framed and online: the stream after `sent`, gathered until the connection's loop
        /// frames it (one header and checksum for what many commands propagated).
        var unframed: [UInt8] = []

        var framed: Bool { announced.resend }
    }

    /// What a replica told with REPLCONF before it asked for the stream.
    struct Announcement {
        var port = 0
        var ip = ""
        /// `capa psync2`: it understands `+CONTINUE <replid>`.
        var psync2 = false
        /// `capa eof`: it reads a payload in the `$EOF:<mark>` form.
        var eof = false
        /// `rdb-only 1` (`redis-cli --rdb`): no stream follows the payload.
        var rdbOnly = false
        /// It asked with SYNC, not PSYNC: it sends no ACKs, so it is never timed out by them.
        var preSync = false
        /// `capa resend`: a Needletail replica, which takes the stream in frames and asks for
        /// what a live link lost (see `StreamFrame`).
        var resend = false
    }

    struct State {
        /// `master_replid`; `master_replid2` and `second_repl_offset`: the history this one
        /// continues, accepted for PSYNC up to that offset.
        var id: String
        var id2 = String(repeating: "0", count: 40)
        var secondOffset: Int64 = -1
        /// Following a master: the stream comes from the link, not from the sink.
        var isReplica = false
        /// Created when the first replica attaches, as Redis creates it.
        var backlog: ReplicationBacklog?
        /// `master_repl_offset` while there is no backlog (it was freed: the next one goes on
        /// from here).
        var offsetWithoutBacklog: Int64 = 0
        /// Since when no replica is attached (ms; 0 while one is): `repl-backlog-ttl`.
        var noReplicasSince: Int64 = 0
        var encoder = StreamEncoder()
        var replicas: [Int: Replica] = [:]
        /// When the cron last put a PING into the stream (ms).
        var lastPing: Int64 = 0
        /// Where the last entry other than a heartbeat (PING, GETACK) ended: a replica that
        /// acknowledged this far holds every write (FAILOVER's check).
        var writesEndOffset: Int64 = 0
        /// Live-link repair: resends made, and the bytes they carried.
        var resends = 0
        var resentBytes = 0
        /// Where the stream's next bytes are encoded (its storage reused).
        var encoded: [UInt8] = []
        /// Clients blocked in WAIT.
        var waiters: [Waiter] = []
        /// Replicas waiting for a full sync's snapshot to begin, since when (ms), and when they
        /// last got a newline.
        var waiting: [WaitingReplica] = []
        var waitingSince: Int64 = 0
        var lastKeepalive: Int64 = 0

        /// `master_repl_offset`.
        var endOffset: Int64 { backlog?.endOffset ?? offsetWithoutBacklog }

        var replicasInOrder: [Replica] { replicas.values.sorted { $0.session.id < $1.session.id } }

        /// Changes every replica in place: iterating over copies while changing the dictionary
        /// would copy it, and the bytes each replica gathers, on every write.
        mutating func updateEachReplica(_ change: (inout Replica) -> Void) {
            var index = replicas.values.startIndex
            while index != replicas.values.endIndex {
                change(&replicas.values[index])
                replicas.values.formIndex(after: &index)
            }
        }

        /// A history of its own from here: `id`, and no other accepted.
        mutating func beginHistory(id: String = ServerState.randomReplicationID()) {
            self.id = id
            id2 = String(repeating: "0", count: 40)
            secondOffset = -1
        }

        /// The history goes on under `newID`; the current ID stays accepted up to here.
        mutating func continueHistory(under newID: String) {
            id2 = id
            secondOffset = endOffset + 1
            id = newID
        }
    }

    let state = Lock(State(id: ""))
    private(set) var server: ServerState!
    /// Held by the replica's link while it applies a batch of its master's stream and feeds it
    /// on, and by a full sync while it takes its snapshot: so a snapshot's instant falls
    /// between batches and the offset it names is exactly the data it holds.
    let applying = Lock(())
    /// Why a replica may not sync now (`-NOMASTERLINK …`), or nil: on a replica whose own link
    /// is down, or during a FAILOVER.
    var syncRefusal: @Sendable () -> String? = { nil }
    /// `PSYNC <replid> <offset> FAILOVER` from this replica's master: promote, so the old master
    /// can follow (returns false when this server follows no master).
    var promoteForFailover: @Sendable () -> Bool = { false }
    /// Whether this is one of the server's propagation sinks (from the first full sync on).
    private let sinkInstalled = Atomic<Bool>(false)
    /// A replica acknowledged an offset (FAILOVER hands over at once rather than at the next cron).
    var acknowledged: @Sendable (_ now: Int64) -> Void = { _ in }
    /// A `REPLCONF GETACK *` for the WAITs that began is about to go out.
    let getAckScheduled = Atomic<Bool>(false)

    init() {}

    func attach(to server: ServerState) {
        self.server = server
        state.withLock { $0.id = server.replicationID }
        server.onDisconnect { [unowned self] session in
            forgetWaiters(of: session)
            replicaGone(session)
        }
        for setting in ["min-replicas-to-write", "min-replicas-max-lag"] {
            server.config.observe(setting) { [unowned self] _ in refreshGoodReplicas(now: Clock.now()) }
        }
        server.config.observe("repl-backlog-size") { [unowned self] _ in
            let size = max(1, server.config.integer("repl-backlog-size"))
            state.withLock { state in
                guard var backlog = state.backlog else { return }
                backlog.resize(to: size)
                setBacklog(backlog, in: &state)
            }
        }
    }

    /// A replica's link closed: it leaves the list (the backlog stays, for its PSYNC), and
    /// stops counting as a good replica at once.
    private func replicaGone(_ session: ClientSession) {
        announcements.withLock { _ = $0.removeValue(forKey: session.id) }
        guard let replica = state.withLock({ state -> Replica? in
            let replica = state.replicas.removeValue(forKey: session.id)
            state.waiting.removeAll { $0.session === session }
            if replica != nil && state.replicas.isEmpty { state.noReplicasSince = Clock.now() }
            return replica
        }) else { return }
        server.log("Connection with replica \(name(of: replica)) lost.")
        refreshGoodReplicas(now: Clock.now())
    }

    /// `min-replicas-to-write` / `min-replicas-max-lag`: a good replica is online and
    /// acknowledged within the last max-lag seconds; with fewer good ones than required,
    /// writes get `-NOREPLICAS` (either setting 0 turns the check off).
    @discardableResult
    func refreshGoodReplicas(now: Int64) -> Int? {
        let required = server.config.integer("min-replicas-to-write"), maxLag = server.config.integer("min-replicas-max-lag")
        // A replica never refuses writes for want of its own replicas, as in Redis.
        guard required > 0 && maxLag > 0 && !state.withLock({ $0.isReplica }) else {
            server.set(.notEnoughReplicas, closed: false)
            return nil
        }
        let good = state.withLock { state in
            state.replicas.values.filter { $0.online && (now - $0.lastAck) / 1000 <= Int64(maxLag) }.count
        }
        server.set(.notEnoughReplicas, closed: good < required)
        return good
    }

    /// `ip:port` as Redis names a replica: the address it announced (else its own) and the
    /// port it announced.
    func name(of replica: Replica) -> String {
        "\(host(of: replica)):\(replica.announced.port)"
    }

    func host(of replica: Replica) -> String {
        if !replica.announced.ip.isEmpty { return replica.announced.ip }
        let address = replica.session.address
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }

    /// From the server's cron: a PING into the stream every `repl-ping-replica-period`
    /// seconds while replicas are attached, so they can tell a live master from a dead one.
    func cron(now: Int64) {
        refreshGoodReplicas(now: now)
        // repl-timeout: an online replica silent that long is disconnected.
        let timeout = Int64(server.config.integer("repl-timeout")) * 1000
        let silent = state.withLock { state in
            state.replicas.values.filter { $0.online && !$0.announced.preSync && now - $0.lastAck > timeout }
        }
        for replica in silent {
            server.warn("Disconnecting timedout replica (streaming sync): \(name(of: replica))")
            replica.session.connection?.close()
        }
        freeIdleBacklog(now: now)
        fullSyncCron(now: now)
        let period = Int64(max(1, server.config.integer("repl-ping-replica-period"))) * 1000
        let due = state.withLock { state -> Bool in
            guard !state.isReplica, !state.replicas.isEmpty, now - state.lastPing >= period else { return false }
            state.lastPing = now
            return true
        }
        // In the database the stream last selected, as Redis sends it: no SELECT for a PING.
        if due { _ = propagate([PropagatedCommand(db: selectedDB, "PING")], heartbeat: true) }
    }

    /// `repl-backlog-ttl`: a master's backlog is freed once no replica was attached for that
    /// long (0: never), and a new history begins, as in Redis.
    private func freeIdleBacklog(now: Int64) {
        let ttl = Int64(server.config.integer("repl-backlog-ttl"))
        guard ttl > 0 else { return }
        let freed = state.withLock { state -> Bool in
            guard !state.isReplica, let backlog = state.backlog, state.replicas.isEmpty, state.noReplicasSince > 0,
                  now - state.noReplicasSince > ttl * 1000 else { return false }
            state.offsetWithoutBacklog = backlog.endOffset
            setBacklog(nil, in: &state)
            state.beginHistory()
            return true
        }
        if freed { server.log("Replication backlog freed after \(ttl) seconds without connected replicas.") }
    }

    /// INFO replication's `connected_slaves`, `min_slaves_good_slaves` and `slaveN` lines.
    func replicaFields(now: Int64) -> [(String, String)] {
        let replicas = state.withLock { $0.replicasInOrder }
        var fields = [("connected_slaves", String(replicas.count))]
        if let good = refreshGoodReplicas(now: now) { fields.append(("min_slaves_good_slaves", String(good))) }
        for (index, replica) in replicas.enumerated() {
            let lag = replica.online ? (now - replica.lastAck) / 1000 : 0
            fields.append(("slave\(index)", "ip=\(host(of: replica)),port=\(replica.announced.port),"
                + "state=\(replica.online ? "online" : replica.awaitingSnapshot ? "wait_bgsave" : "send_bulk"),offset=\(replica.ackOffset),lag=\(lag)"))
        }
        return fields
    }

    /// INFO replication's closing fields, from `master_replid` on.
    func historyFields() -> [(String, String)] {
        let (id, id2, second, backlog, offset) = state.withLock { ($0.id, $0.id2, $0.secondOffset, $0.backlog, $0.endOffset) }
        return [
            ("master_replid", id), ("master_replid2", id2),
            ("master_repl_offset", String(offset)), ("second_repl_offset", String(second)),
            ("repl_backlog_active", backlog == nil ? "0" : "1"),
            ("repl_backlog_size", server.config["repl-backlog-size"]),
            ("repl_backlog_first_byte_offset", String(backlog?.firstOffset ?? 0)),
            ("repl_backlog_histlen", String(backlog?.count ?? 0)),
        ]
    }

    /// Live-link repair as a master: resends and the bytes they carried.
    func repairFields() -> [(String, String)] {
        state.withLock { [("repl_resends", String($0.resends)), ("repl_resent_bytes", String($0.resentBytes))] }
    }

    /// FAILOVER's target check: nil when no replica announced `host:port`, else whether it is online.
    func replicaIsOnline(host address: String, port: Int) -> Bool? {
        state.withLock { state in
            state.replicas.values.first { host(of: $0) == address && $0.announced.port == port }.map(\.online)
        }
    }

    /// FAILOVER: a replica (the target, if named) online that acknowledged every write. The
    /// heartbeats after the last write need not be: an ACK answering a GETACK counts the
    /// stream up to that GETACK.
    func caughtUpReplica(target: (host: String, port: Int)?) -> (host: String, port: Int)? {
        state.withLock { state in
            state.replicasInOrder.first { replica in
                replica.online && replica.ackOffset >= state.writesEndOffset
                    && (target == nil || (host(of: replica) == target!.host && replica.announced.port == target!.port))
            }.map { (host(of: $0), $0.announced.port) }
        }
    }

    /// How many replicas there are and, as a shutdown logs them, those that have not
    /// acknowledged every write (heartbeats after the last write need no acknowledgement).
    func shutdownReport(now: Int64) -> (replicas: Int, lagging: [String]) {
        state.withLock { state in
            let lagging = state.replicasInOrder.filter { $0.ackOffset < state.writesEndOffset }.map { replica in
                let lag = replica.online ? (now - replica.lastAck) / 1000 : 0
                let replicaState = replica.online ? "online" : replica.awaitingSnapshot ? "wait_bgsave" : "send_bulk"
                return "Lagging replica \(name(of: replica)) reported offset \(state.endOffset - replica.ackOffset) behind master, lag=\(lag), state=\(replicaState)."
            }
            return (state.replicas.count, lagging)
        }
    }

    /// Whether any replica is attached (FAILOVER needs one).
    var hasReplicas: Bool { state.withLock { !$0.replicas.isEmpty } }

    /// ROLE as a master: each online replica's address, port and acknowledged offset.
    func onlineReplicas() -> [(ip: String, port: Int, offset: Int64)] {
        state.withLock { state in
            state.replicasInOrder.filter(\.online).map { (host(of: $0), $0.announced.port, $0.ackOffset) }
        }
    }

    /// The database the stream last selected (0 before any).
    var streamDB: Int { max(0, selectedDB) }

    /// The database the stream last selected, -1 before any: a PING or GETACK goes out in it,
    /// with no SELECT before it, as Redis sends them.
    var selectedDB: Int { state.withLock { $0.encoder.selectedDB } }

    /// `master_repl_offset`: the last byte of the stream.
    public var offset: Int64 { state.withLock { $0.endOffset } }

    /// What links told with REPLCONF before they became replicas.
    let announcements = Lock<[Int: Announcement]>([:])

    /// The link answers `REPLCONF GETACK` from its master (the link is the master's client).
    var answerGetAck: (inout CommandContext) -> Void = { _ in }

    // MARK: The stream

    public func propagate(_ commands: [PropagatedCommand]) -> Int64 {
        propagate(commands, heartbeat: false)
    }

    /// `heartbeat`: a PING or GETACK of the master's own, not a write.
    func propagate(_ commands: [PropagatedCommand], heartbeat: Bool) -> Int64 {
        state.withLock { state in
            guard state.backlog != nil, !state.isReplica else { return 0 }
            // The encoding buffer is moved out and back: its storage serves every command.
            var bytes: [UInt8] = []
            swap(&bytes, &state.encoded)
            bytes.removeAll(keepingCapacity: true)
            let writesEnd = state.writesEndOffset
            state.encoder.encode(commands, into: &bytes)
            bytes.withUnsafeBytes { send($0, in: &state) }
            swap(&bytes, &state.encoded)
            if heartbeat { state.writesEndOffset = writesEnd }
            return state.backlog!.endOffset
        }
    }

    /// On a replica: the bytes of its master's stream it just applied, passed on unchanged.
    func feed(_ bytes: ByteBuffer) {
        state.withLock { state in
            guard state.backlog != nil else { return }
            bytes.withUnsafeReadableBytes { send($0, in: &state) }
        }
    }

    /// What a replica has not had yet since the snapshot (or since its PSYNC's offset), sent
    /// once it may have the stream: framed for a framed replica.
    static func flushPending(of replica: inout Replica) {
        guard !replica.pending.isEmpty else { return }
        if replica.framed {
            replica.session.connection?.deliver(StreamFrame.encodeInPieces(offset: replica.sent + 1, replica.pending))
            replica.sent += Int64(replica.pending.count)
        } else {
            replica.session.connection?.deliver(ByteBuffer(bytes: replica.pending))
        }
        replica.pending = []
    }

    /// Live-link repair: the stream after `offset` sent again, from the backlog, on the same
    /// connection; a range that has left the backlog drops the link (the replica's PSYNC then
    /// decides, as Redis would).
    func resend(to replica: inout Replica, after offset: Int64, in state: inout State, now: Int64) {
        replica.lastResend = now
        // Up to what was sent: what follows is still gathering and goes out in its own frame.
        let held = state.backlog?.bytes(from: offset + 1).map { Array($0.prefix(Int(replica.sent - offset))) }
        guard let bytes = held, !bytes.isEmpty else {
            server.warn("Replica \(name(of: replica)) lost stream bytes after offset \(offset) that left the backlog: disconnecting it")
            replica.session.connection?.close()
            return
        }
        replica.session.connection?.deliver(StreamFrame.encodeInPieces(offset: offset + 1, bytes))
        state.resends += 1
        state.resentBytes += bytes.count
        server.log("Resending \(bytes.count) bytes of the stream after offset \(offset) to replica \(name(of: replica)), lost on a live link")
    }

    /// Changes the backlog through `change`, keeping `notCounted` true to the memory it holds:
    /// the backlog is the replication buffer, which maxmemory does not count, as in Redis.
    private func changeBacklog(in state: inout State, _ change: (inout ReplicationBacklog?) -> Void) {
        let before = state.backlog?.allocatedBytes ?? 0
        change(&state.backlog)
        let after = state.backlog?.allocatedBytes ?? 0
        if after != before { server.memory.notCounted.add(after - before, ordering: .relaxed) }
    }

    func setBacklog(_ backlog: ReplicationBacklog?, in state: inout State) {
        changeBacklog(in: &state) { $0 = backlog }
        state.writesEndOffset = state.endOffset
    }

    private func send(_ bytes: UnsafeRawBufferPointer, in state: inout State) {
        changeBacklog(in: &state) { $0!.append(bytes) }
        state.writesEndOffset = state.backlog!.endOffset
        var plain: ByteBuffer?
        state.updateEachReplica { replica in
            if replica.online && !replica.holdsStreamUntilAck {
                if replica.framed {
                    if replica.unframed.isEmpty {
                        let id = replica.session.id
                        replica.session.connection?.execute { [self] in deliverFrames(to: id) }
                    }
                    replica.unframed.append(contentsOf: bytes)
                } else {
                    if plain == nil { plain = ByteBuffer(bytes: bytes) }
                    replica.session.connection?.deliver(plain!)
                }
            } else if !replica.awaitingSnapshot && !replica.overLimit {
                replica.pending.append(contentsOf: bytes)
                if server.outputBuffers.exceeded(by: replica.session, backlog: replica.pending.count,
                                                 overSoftLimitSince: &replica.pendingOverSoftLimitSince, now: Clock.now()) {
                    replica.overLimit = true
                    replica.pending = []
                    // Named and closed on its loop: describing it reads this state, held here.
                    let session = replica.session, server = server!
                    session.connection?.execute {
                        server.warn("Client \(server.describe(session)) scheduled to be closed ASAP for overcoming of output buffer limits.")
                        session.connection?.close()
                    }
                }
            }
        }
    }

    /// Frames what a framed replica's stream gathered and hands it to the connection.
    private func deliverFrames(to id: Int) {
        state.withLock { state in
            guard let replica = state.replicas[id], !replica.unframed.isEmpty else { return }
            var bytes: [UInt8] = []
            swap(&bytes, &state.replicas[id]!.unframed)
            replica.session.connection?.deliver(StreamFrame.encodeInPieces(offset: replica.sent + 1, bytes))
            state.replicas[id]!.sent += Int64(bytes.count)
            // The storage is kept for the next pass unless a large write grew it.
            if bytes.capacity <= 64 * 1024 {
                bytes.removeAll(keepingCapacity: true)
                state.replicas[id]!.unframed = bytes
            }
        }
    }

    // MARK: Changes of role

    /// Disconnects every replica (they come back with PSYNC and learn what changed).
    func disconnectReplicas() {
        for replica in state.withLock({ Array($0.replicas.values) }) { replica.session.connection?.close() }
    }

    /// Makes this one of the server's propagation sinks, once.
    func installSink() {
        if !sinkInstalled.exchange(true, ordering: .relaxed) { server.propagation.add(self) }
    }

    /// Following a master from now on: the sink stops (the link feeds the stream instead).
    func becomeReplica() {
        state.withLock { $0.isReplica = true }
        if sinkInstalled.exchange(false, ordering: .relaxed) { server.propagation.remove(self) }
    }

    /// `REPLICAOF NO ONE`: a new history begins where the master's ended (its ID stays
    /// accepted up to here), the stream starts with SELECT, and replicas reconnect to learn
    /// the new ID.
    func becomeMaster() {
        state.withLock { state in
            state.isReplica = false
            state.continueHistory(under: ServerState.randomReplicationID())
            state.encoder.reset()
            state.noReplicasSince = Clock.now()
        }
        if state.withLock({ $0.backlog != nil }) { installSink() }
        disconnectReplicas()
    }

    /// After a full sync from a master: its history, from `offset`, in a new backlog (a
    /// replica keeps one so it can serve PSYNC once promoted); old sub-replicas were
    /// disconnected when the load began.
    func adopt(id: String, offset: Int64) {
        let size = max(1, server.config.integer("repl-backlog-size"))
        state.withLock { state in
            state.beginHistory(id: id)
            setBacklog(ReplicationBacklog(capacity: size, endOffset: offset), in: &state)
        }
    }

    /// A master restarted from a file recording `id` up to `offset`: that history is accepted
    /// up to there, under a new ID, from a backlog that starts there.
    func continueAfterRestart(id: String, offset: Int64) {
        adopt(id: id, offset: offset)
        state.withLock { state in
            state.continueHistory(under: ServerState.randomReplicationID())
            state.noReplicasSince = Clock.now()
        }
        installSink()
    }

    /// A partial resync whose master named a new ID (it was promoted): our history continues
    /// under it, the old one accepted up to here; sub-replicas reconnect to learn it.
    func continueUnder(id: String) {
        let changed = state.withLock { state -> Bool in
            guard state.id != id else { return false }
            state.continueHistory(under: id)
            return true
        }
        if changed { disconnectReplicas() }
    }

    /// Where a PSYNC to a master continues: our ID and the next byte wanted, or nil when we
    /// hold no history to continue.
    var continuation: (id: String, offset: Int64)? {
        state.withLock { state in state.backlog.map { (state.id, $0.endOffset + 1) } }
    }
}
