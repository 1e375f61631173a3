import Commands
import Engine
import Foundation
import NIOCore
import Persistence

/// Full synchronization: one forkless snapshot for every replica waiting, taken at the exact
/// stream offset its `+FULLRESYNC` announces, the stream since that instant kept for each
/// replica until its payload has gone out.
///
/// With `repl-diskless-sync yes` the snapshot waits `repl-diskless-sync-delay` seconds (or
/// until `repl-diskless-sync-max-replicas` replicas wait) so replicas arriving together share
/// it, and the payload goes in the `$EOF:<mark>` form to replicas that all announced
/// `capa eof`. Otherwise it begins at once and goes as `$<length>`. The snapshot is never
/// written to disk: the replica sees the same bytes either way.
extension ReplicationMaster {
    /// A replica that asked for a full sync, until the snapshot it will get begins.
    struct WaitingReplica {
        let session: ClientSession
        /// PSYNC (not SYNC): it expects the `+FULLRESYNC` line.
        let psync: Bool
    }

    func requestFullSync(_ session: ClientSession, announced: Announcement, psync: Bool, now: Int64) {
        server.log("Replica \(name(of: Replica(session: session, announced: announced))) asks for synchronization")
        state.withLock { state in
            var replica = Replica(session: session, announced: announced)
            replica.awaitingSnapshot = true
            state.replicas[session.id] = replica
            state.noReplicasSince = 0
            if state.waiting.isEmpty { state.waitingSince = now }
            state.waiting.append(WaitingReplica(session: session, psync: psync))
        }
        if fullSyncIsDue(now: now) {
            startFullSync()
        } else {
            server.log("Delay next BGSAVE for diskless SYNC")
        }
    }

    /// Whether the replicas waiting get their snapshot now: at once on disk-style sync, else
    /// once the delay has passed or enough of them wait.
    private func fullSyncIsDue(now: Int64) -> Bool {
        let config = server.config
        let delay = Int64(config.integer("repl-diskless-sync-delay")) * 1000
        let enough = config.integer("repl-diskless-sync-max-replicas")
        return state.withLock { state in
            guard !state.waiting.isEmpty else { return false }
            return !config.bool("repl-diskless-sync") || delay == 0 || now - state.waitingSince >= delay
                || (enough > 0 && state.waiting.count >= enough)
        }
    }

    /// From the cron: the delayed snapshot when due; meanwhile a newline each second to the
    /// replicas waiting, which they take as a sign of life (it counts toward no offset).
    func fullSyncCron(now: Int64) {
        if fullSyncIsDue(now: now) { return startFullSync() }
        let waiting = state.withLock { state -> [ClientSession] in
            guard !state.waiting.isEmpty, now - state.lastKeepalive >= 1000 else { return [] }
            state.lastKeepalive = now
            return state.waiting.map(\.session)
        }
        for session in waiting { session.connection?.deliver(ByteBuffer(string: "\n")) }
    }

    /// Takes one snapshot for every replica waiting and sends it to each on a background
    /// thread, followed by the stream since its instant.
    private func startFullSync() {
        var options = RDBSnapshot.Options()
        options.compress = server.config.bool("rdbcompression")
        options.checksum = server.config.bool("rdbchecksum")
        options.usedMemory = server.memory.used
        let backlogSize = max(1, server.config.integer("repl-backlog-size"))
        let diskless = server.config.bool("repl-diskless-sync")
        var replicas: [WaitingReplica] = []
        var offset: Int64 = 0, replicationID = "", streamDB = 0
        // The sink listens before the instant (it drops what comes before the backlog exists),
        // so no write between the instant and the end of the command that caused it escapes.
        if !state.withLock({ $0.isReplica }) { installSink() }
        let begun = applying.withLock { _ in
            RDBSnapshot.begin(server.keyspace, options: options, now: Clock.now()) {
                // At the instant: every shard held, so the stream and the image meet exactly here.
                (replicas, offset, replicationID, streamDB) = state.withLock { state in
                    if state.backlog == nil {
                        // The first replica: a new history begins with the backlog, as in Redis.
                        setBacklog(ReplicationBacklog(capacity: backlogSize, endOffset: state.offsetWithoutBacklog), in: &state)
                        state.beginHistory()
                    }
                    // The stream after a snapshot starts with SELECT: its database is not in the image.
                    state.encoder.reset()
                    let taken = state.waiting
                    state.waiting = []
                    for replica in taken {
                        state.replicas[replica.session.id]?.awaitingSnapshot = false
                        state.replicas[replica.session.id]?.sent = state.backlog!.endOffset
                    }
                    return (taken, state.backlog!.endOffset, state.id, max(0, state.encoder.selectedDB))
                }
            }
        }
        // Another snapshot (a BGSAVE, or the previous full sync) is being written: the replicas
        // keep waiting, and the cron tries again.
        guard let snapshot = begun else { return }
        guard !replicas.isEmpty else { return snapshot.cancel() }
        snapshot.setReplication(id: replicationID, offset: Int(offset), db: streamDB)
        let withMark = diskless && state.withLock { state in
            replicas.allSatisfy { state.replicas[$0.session.id]?.announced.eof ?? true }
        }
        let framedSessions = state.withLock { state in Set(replicas.filter { state.replicas[$0.session.id]?.framed ?? false }.map(\.session.id)) }
        for replica in replicas where replica.psync {
            let framed = framedSessions.contains(replica.session.id) ? " FRAMED" : ""
            replica.session.connection?.deliver(ByteBuffer(string: "+FULLRESYNC \(replicationID) \(offset)\(framed)\r\n"))
        }
        server.log("Starting BGSAVE for SYNC with target: \(diskless ? "replicas sockets" : "disk")")
        let sessions = replicas.map(\.session)
        Thread.detachNewThread { [self] in
            var file: [UInt8] = []
            do {
                try snapshot.write { file.append(contentsOf: $0) }
            } catch {
                server.warn("Full synchronization failed: \(error)")
                for session in sessions { session.connection?.close() }
                return
            }
            let mark = withMark ? Array(ServerState.randomReplicationID().utf8) : []
            var payload = ByteBuffer(string: withMark ? "$EOF:" : "$\(file.count)\r\n")
            if withMark { payload.writeBytes(mark + [13, 10]) }
            payload.writeBytes(file)
            payload.writeBytes(mark)
            for session in sessions { send(payload, to: session, holdingStream: withMark) }
        }
    }

    /// The payload, then (unless the replica must ACK first) the stream kept since the instant.
    private func send(_ payload: ByteBuffer, to session: ClientSession, holdingStream: Bool) {
        let sent = state.withLock { state -> Replica? in
            guard var replica = state.replicas[session.id] else { return nil }
            session.connection?.deliver(payload)
            if replica.announced.rdbOnly {
                // Only the snapshot was asked for (`redis-cli --rdb`, which then hangs up): no
                // stream follows it.
                state.replicas[session.id] = nil
                return nil
            }
            replica.online = true
            replica.lastAck = Clock.now()
            replica.holdsStreamUntilAck = holdingStream
            if !holdingStream { Self.flushPending(of: &replica) }
            state.replicas[session.id] = replica
            return replica
        }
        if let sent { server.log("Synchronization with replica \(name(of: sent)) succeeded") }
    }
}
