import Commands
import Engine
import NIOCore

/// The commands a replica sends its master, as a master answers them: REPLCONF (its port,
/// address and capabilities before the sync, its ACKs and resend requests after), and PSYNC
/// or SYNC, answered with `+CONTINUE` and the missing bytes from the backlog, or a full sync.
extension ReplicationMaster {
    var commands: [Command] {
        [
            Command("psync", arity: -3, flags: [.admin, .noScript, .noAsyncLoading, .noMulti], group: "server", since: "2.8.0",
                    summary: "A replica asks for the stream from an offset.", handler: { [unowned self] c in sync(&c, partial: true) }),
            Command("sync", arity: 1, flags: [.admin, .noScript, .noAsyncLoading, .noMulti], group: "server", since: "1.0.0",
                    summary: "A replica asks for the whole dataset and the stream.", handler: { [unowned self] c in sync(&c, partial: false) }),
            Command("replconf", arity: -1, flags: [.admin, .noScript, .loading, .stale, .allowBusy], group: "server", since: "3.0.0",
                    summary: "A replica's settings and acknowledgements.", handler: { [unowned self] c in replconf(&c) }),
        ]
    }

    func replconf(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 1 else { return c.error(Errors.syntax) }
        var index = 1
        while index < c.argumentCount {
            let option = c.text(index).lowercased(), value = c.text(index + 1)
            switch option {
            case "listening-port":
                guard let port = c.integer(index + 1) else { return c.error(Errors.notInteger) }
                let id = c.session.id
                state.withLock { $0.replicas[id]?.announced.port = port }
                announcements.withLock { $0[id, default: Announcement()].port = port }
            case "ip-address":
                guard value.utf8.count < 46 else { return c.error("ERR REPLCONF ip-address provided by replica instance is too long: \(value.utf8.count) bytes") }
                let id = c.session.id
                state.withLock { $0.replicas[id]?.announced.ip = value }
                announcements.withLock { $0[id, default: Announcement()].ip = value }
            case "capa":
                let capability = value.lowercased()
                announcements.withLock { announced in
                    if capability == "psync2" { announced[c.session.id, default: Announcement()].psync2 = true }
                    if capability == "eof" { announced[c.session.id, default: Announcement()].eof = true }
                    if capability == "resend" { announced[c.session.id, default: Announcement()].resend = true }
                }
            case "ack":
                // No reply: the replica does not read one.
                guard let offset = c.integer(index + 1).map(Int64.init) else { return }
                let id = c.session.id, now = c.now
                state.withLock { state in
                    guard var replica = state.replicas[id] else { return }
                    replica.ackOffset = max(replica.ackOffset, offset)
                    replica.lastAck = now
                    if replica.holdsStreamUntilAck {
                        replica.holdsStreamUntilAck = false
                        Self.flushPending(of: &replica)
                    } else if replica.framed && offset < replica.sent && offset == replica.previousAck && now - replica.lastResend >= 1000 {
                        // Two ACKs below what was sent and not moving: the bytes after were lost.
                        resend(to: &replica, after: offset, in: &state, now: now)
                    }
                    replica.previousAck = offset
                    state.replicas[id] = replica
                }
                releaseSatisfiedWaiters()
                acknowledged(now)
                return
            case "resend":
                // A framed replica found a hole or a damaged frame after `offset`. No reply.
                guard let offset = c.integer(index + 1).map(Int64.init) else { return }
                let id = c.session.id, now = c.now
                state.withLock { state in
                    guard var replica = state.replicas[id], replica.framed, replica.online, offset < replica.sent else { return }
                    resend(to: &replica, after: offset, in: &state, now: now)
                    state.replicas[id] = replica
                }
                return
            case "getack":
                if c.session.flags.contains(.master) { answerGetAck(&c) }
                return
            case "rdb-only":
                guard value == "0" || value == "1" else { return c.error(Errors.syntax) }
                announcements.withLock { $0[c.session.id, default: Announcement()].rdbOnly = value == "1" }
            case "rdb-filter-only":
                break
            default:
                return c.error(bytes: Errors.unrecognizedReplconfOption(c.bytes(index)))
            }
            index += 2
        }
        c.reply.ok()
    }

    func sync(_ c: inout CommandContext, partial: Bool) {
        let session = c.session
        if session.flags.contains(.replica) { return }
        if partial && c.argumentCount > 3 {
            guard c.argumentCount == 4, c.argument(3, is: "FAILOVER") else { return c.error(Errors.syntax) }
            guard c.text(1) == state.withLock({ $0.id }) else {
                if !state.withLock({ $0.isReplica }) { return c.error("ERR PSYNC FAILOVER can't be sent to a master.") }
                return c.error("ERR PSYNC FAILOVER replid must match my replid.")
            }
            server.log("Failover request received for replid \(c.text(1)).")
            guard promoteForFailover() else { return c.error("ERR PSYNC FAILOVER can't be sent to a master.") }
        }
        if let refusal = syncRefusal() { return c.error(refusal) }
        // The stream must be the first thing the replica reads after the reply.
        guard c.reply.buffer.readableBytes == 0 else { return c.error("ERR SYNC and PSYNC are invalid with pending output") }
        let announced = announcements.withLock { $0[session.id] ?? Announcement() }
        let counters = server.syncCounters
        if partial, let offset = c.integer(2).map(Int64.init) {
            // Checked, answered and joined to the stream under one lock: no write falls between.
            let sent = state.withLock { state -> Int? in
                guard let (id, missing) = continuation(for: c.text(1), from: offset, in: state) else { return nil }
                let framed = announced.resend ? " FRAMED" : ""
                c.reply.simpleString(announced.psync2 ? "CONTINUE \(id)\(framed)" : "CONTINUE\(framed)")
                var replica = Replica(session: session, announced: announced)
                replica.online = true
                replica.lastAck = Clock.now()
                replica.sent = offset - 1
                replica.pending = missing
                Self.flushPending(of: &replica)
                state.replicas[session.id] = replica
                state.noReplicasSince = 0
                return missing.count
            }
            if let sent {
                counters.partialAccepted.add(1, ordering: .relaxed)
                becomeReplica(session)
                server.log("Partial resynchronization request from \(name(of: Replica(session: session, announced: announced))) accepted. Sending \(sent) bytes of backlog starting from offset \(offset).")
                return
            }
        }
        counters.full.add(1, ordering: .relaxed)
        if partial && c.text(1) != "?" { counters.partialRefused.add(1, ordering: .relaxed) }
        becomeReplica(session)
        var asked = announced
        asked.preSync = !partial
        requestFullSync(session, announced: asked, psync: partial, now: c.now)
    }

    /// PSYNC2's rule: the history asked for is ours (or the one we continue, up to where we
    /// left it), and the bytes from `offset` on are all in the backlog. Our ID and those bytes.
    private func continuation(for id: String, from offset: Int64, in state: State) -> (String, [UInt8])? {
        guard id == state.id || (id == state.id2 && offset <= state.secondOffset),
              let missing = state.backlog?.bytes(from: offset) else { return nil }
        return (state.id, missing)
    }

    private func becomeReplica(_ session: ClientSession) {
        session.flags.insert(.replica)
        session.published.withLock { $0.flags.insert(.replica) }
    }
}
