import Commands
import Engine
import NIOCore
import RESP
import Synchronization

/// WAIT numreplicas timeout: blocks the client until that many replicas acknowledged the
/// stream up to its last write (or the timeout passes), then replies how many did.
extension ReplicationMaster {
    struct Waiter {
        let client: BlockedClient
        let offset: Int64
        let needed: Int
        let protocolVersion: Int
    }

    func wait(_ c: inout CommandContext, following: Bool) {
        if following {
            return c.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
        }
        guard let needed = c.integer(1) else { return c.error(Errors.notInteger) }
        guard let timeout = c.integer(2).map(Int64.init) else { return c.error(Errors.timeoutNotInteger) }
        guard timeout >= 0 else { return c.error(Errors.negativeTimeout) }
        let offset = c.session.writeOffset.load(ordering: .relaxed)
        let acknowledged = acknowledgements(reaching: offset)
        guard acknowledged < needed, case .mayBlock = c.blocking else { return c.reply.integer(acknowledged) }
        let client = c.parkUntilReleased { [self] client in release(client) }
        state.withLock { $0.waiters.append(Waiter(client: client, offset: offset, needed: needed, protocolVersion: c.session.protocolVersion)) }
        if timeout > 0 {
            server.control?.schedule(afterMilliseconds: timeout) { [self] in release(client) }
        }
        requestAcknowledgements()
    }

    /// Replicas online whose acknowledged offset reached `offset`.
    func acknowledgements(reaching offset: Int64) -> Int {
        state.withLock { state in state.replicas.values.count { $0.online && $0.ackOffset >= offset } }
    }

    /// After an ACK: the waiters now satisfied are answered.
    func releaseSatisfiedWaiters() {
        let satisfied = state.withLock { state -> [Waiter] in
            guard !state.waiters.isEmpty else { return [] }
            let done = state.waiters.filter { waiter in
                state.replicas.values.count { $0.online && $0.ackOffset >= waiter.offset } >= waiter.needed
            }
            return done
        }
        for waiter in satisfied { release(waiter.client) }
    }

    /// Ends `client`'s wait (satisfied, timed out or unblocked) with the count of replicas that
    /// acknowledged its offset; false if it already ended (disconnected, or released).
    @discardableResult
    private func release(_ client: BlockedClient) -> Bool {
        guard let waiter = state.withLock({ state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.client === client }) else { return nil }
            return state.waiters.remove(at: index)
        }), client.expire() else { return false }
        var reply = ReplyWriter(buffer: ByteBuffer(), protocolVersion: waiter.protocolVersion)
        reply.integer(acknowledgements(reaching: waiter.offset))
        client.session.connection?.resume(.served(reply.buffer))
        return true
    }

    /// One `REPLCONF GETACK *` in the stream for however many WAITs began meanwhile, so
    /// replicas answer at once rather than at their next periodic ACK.
    func requestAcknowledgements() {
        guard !getAckScheduled.exchange(true, ordering: .relaxed) else { return }
        server.control?.schedule(afterMilliseconds: 0) { [self] in
            getAckScheduled.store(false, ordering: .relaxed)
            _ = propagate([PropagatedCommand(db: selectedDB, "REPLCONF", "GETACK", "*")], heartbeat: true)
        }
    }

    /// Waiters whose client went away.
    func forgetWaiters(of session: ClientSession) {
        state.withLock { $0.waiters.removeAll { $0.client.session === session } }
    }
}
