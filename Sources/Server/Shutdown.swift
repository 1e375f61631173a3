import Commands
internal import Dispatch
import Engine
import Locks
internal import NIOCore
import RESP

/// Where a shutdown stands. Unless NOW, a master whose replicas have not acknowledged every
/// write pauses writes and waits for them, up to `shutdown-timeout` seconds, so that a replica
/// taking over holds everything clients were told was written.
enum ShutdownProgress {
    case running
    case waitingForReplicas(PendingShutdown)
    case exiting
}

struct PendingShutdown {
    let request: ShutdownRequest
    /// Unix ms: the shutdown goes ahead then, caught up or not.
    let deadline: Int64
    /// SHUTDOWN callers, told if the shutdown fails or is aborted.
    var clients: [BlockedClient]
}

extension NeedletailServer {
    public func shutdown(_ request: ShutdownRequest, waiting client: BlockedClient?) {
        let now = Clock.now()
        let waits = shutdownProgress.withLock { progress -> Bool? in
            switch progress {
            case .exiting:
                return nil
            case .waitingForReplicas(var pending):
                if let client { pending.clients.append(client) }
                progress = .waitingForReplicas(pending)
                return nil
            case .running:
                let timeout = Int64(state.config.integer("shutdown-timeout"))
                guard !request.now, timeout > 0, !replication.shutdownReport(now: now).lagging.isEmpty else {
                    progress = .exiting
                    return false
                }
                progress = .waitingForReplicas(PendingShutdown(request: request, deadline: now + timeout * 1000,
                                                               clients: client.map { [$0] } ?? []))
                return true
            }
        }
        guard let waits else { return }
        logger.warning("User requested shutdown...")
        if waits {
            state.pauseClients(.shutdown, .write, until: now + PauseGate.indefinitely)
            replication.requestAcknowledgements()
            logger.notice("Waiting for replicas before shutting down.")
        } else {
            finishShutdown(request, clients: client.map { [$0] } ?? [])
        }
    }

    public func abortShutdown() -> Bool {
        guard let pending = endWaiting(into: .running) else { return false }
        cancelShutdown(pending.clients)
        logger.notice("Shutdown manually aborted.")
        return true
    }

    public var shutdownDeadline: Int64? {
        guard case .waitingForReplicas(let pending) = shutdownProgress.withLock({ $0 }) else { return nil }
        return pending.deadline
    }

    /// From the cron: a waiting shutdown goes ahead once every replica caught up, or at its deadline.
    func shutdownCron(now: Int64) {
        guard let deadline = shutdownDeadline,
              now >= deadline || replication.shutdownReport(now: now).lagging.isEmpty,
              let pending = endWaiting(into: .exiting) else { return }
        finishShutdown(pending.request, clients: pending.clients)
    }

    /// The waiting shutdown, now moved on to `next`; nil if none was waiting.
    private func endWaiting(into next: ShutdownProgress) -> PendingShutdown? {
        shutdownProgress.withLock { progress in
            guard case .waitingForReplicas(let pending) = progress else { return nil }
            progress = next
            return pending
        }
    }

    /// Saves first when asked to or when save points are set (unless NOSAVE); a failed save
    /// keeps the server running unless FORCE.
    private func finishShutdown(_ request: ShutdownRequest, clients: [BlockedClient]) {
        let (replicas, lagging) = replication.shutdownReport(now: Clock.now())
        for line in lagging { logger.warning("\(line)") }
        if replicas > 0 { logger.notice("\(replicas - lagging.count) of \(replicas) replicas are in sync when shutting down.") }
        // As Redis: never while the file loads at start-up, so a partial dataset is not saved
        // over the file it comes from.
        let save = !persistence.isLoading && (request.save == .save || (request.save == .configured && state.config["save"] != ""))
        // As Redis kills its saving child: a background save in progress is abandoned.
        persistence.abortBackgroundSave()
        persistence.waitForSave()
        if save {
            logger.notice("Saving the final RDB snapshot before exiting.")
            if !persistence.saveNow() {
                if request.force {
                    logger.warning("Error trying to save the DB. Exit anyway.")
                } else {
                    logger.warning("Error trying to save the DB, can't exit.")
                    logger.warning("Errors trying to shut down the server. Check the logs for more information.")
                    shutdownProgress.withLock { $0 = .running }
                    cancelShutdown(clients)
                    return
                }
            }
        }
        DispatchQueue.global().async { [self] in stop() }
    }

    /// Writes go on again, and the SHUTDOWN callers hear that it did not happen.
    private func cancelShutdown(_ clients: [BlockedClient]) {
        state.unpauseClients(.shutdown)
        for client in clients where client.expire() {
            var reply = ReplyWriter(buffer: ByteBuffer(), protocolVersion: 2)
            reply.error(Errors.shutdownFailed)
            client.session.connection?.resume(.served(reply.buffer))
        }
    }
}
