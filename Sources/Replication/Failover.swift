import Commands
import Engine

/// `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]`: a master hands its role to a
/// replica without losing a write. Writes are paused; once a replica (the target, if named)
/// has acknowledged the whole stream, this master follows it and asks `PSYNC <replid> <offset>
/// FAILOVER`, which makes the replica promote itself and continue this master's history; the
/// pause then ends and the writes it held meet `-READONLY`.
struct Failover {
    enum State: String {
        case none = "no-failover"
        case waitingForSync = "waiting-for-sync"
        case inProgress = "failover-in-progress"
    }

    var state = State.none
    var target: (host: String, port: Int)?
    /// Unix ms; 0 for none.
    var deadline: Int64 = 0
    var force = false
}

extension Replication {
    func failover(_ c: inout CommandContext) {
        if c.argumentCount == 2 && c.argument(1, is: "abort") {
            guard role.withLock({ $0.failover.state != .none }) else { return c.error("ERR No failover in progress.") }
            abortFailover("Failover manually aborted")
            return c.reply.ok()
        }
        var request = Failover()
        var timeout = 0
        var index = 1
        while index < c.argumentCount {
            if c.argument(index, is: "timeout") && index + 1 < c.argumentCount && timeout == 0 {
                guard let value = c.integer(index + 1) else { return c.error(Errors.notInteger) }
                guard value > 0 else { return c.error("ERR FAILOVER timeout must be greater than 0") }
                timeout = value
                index += 2
            } else if c.argument(index, is: "to") && index + 2 < c.argumentCount && request.target == nil {
                guard let port = c.integer(index + 2) else { return c.error(Errors.notInteger) }
                request.target = (c.text(index + 1), port)
                index += 3
            } else if c.argument(index, is: "force") && !request.force {
                request.force = true
                index += 1
            } else {
                return c.error(Errors.syntax)
            }
        }
        let (state, following) = role.withLock { ($0.failover.state, $0.following != nil) }
        if state != .none { return c.error("ERR FAILOVER already in progress.") }
        if following { return c.error("ERR FAILOVER is not valid when server is a replica.") }
        guard master.hasReplicas else { return c.error("ERR FAILOVER requires connected replicas.") }
        if request.force && (timeout == 0 || request.target == nil) {
            return c.error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
        }
        if let target = request.target {
            guard let online = master.replicaIsOnline(host: target.host, port: target.port) else {
                return c.error("ERR FAILOVER target HOST and PORT is not a replica.")
            }
            guard online else { return c.error("ERR FAILOVER target replica is not online.") }
            server.control?.log("FAILOVER requested to \(target.host):\(target.port).")
        } else {
            server.control?.log("FAILOVER requested to any replica.")
        }
        if timeout > 0 {
            let (deadline, overflow) = c.now.addingReportingOverflow(Int64(timeout))
            request.deadline = overflow ? .max : deadline
        }
        request.state = .waitingForSync
        role.withLock { $0.failover = request }
        // Writes wait (postponed, not refused) until the role has moved; no deadline of its own.
        server.pauseClients(.failover, .write, until: c.now + PauseGate.indefinitely)
        // Replicas answer at once instead of at their next ACK (Redis waits for that one).
        master.requestAcknowledgements()
        c.reply.ok()
    }

    /// From the cron: hands over once a replica caught up; gives up (or, with FORCE, goes on)
    /// at the deadline.
    func failoverCron(now: Int64) {
        let failover = role.withLock { $0.failover }
        guard failover.state == .waitingForSync else {
            if failover.state == .inProgress && failover.deadline != 0 && now > failover.deadline {
                abortFailover("Failover target reached timeout")
            }
            return
        }
        var chosen = master.caughtUpReplica(target: failover.target)
        let forced = chosen == nil && failover.deadline != 0 && now > failover.deadline
        if forced {
            guard failover.force, let target = failover.target else { return abortFailover("Replica never caught up before timeout") }
            chosen = target
        }
        guard let chosen else { return }
        // Under every shard's lock no write is between its admission and its end. With more
        // than one event loop, a write can pass the pause gate just before the pause and take
        // its locks later: here it has either ended (and the catch-up check, repeated, counts
        // it) or it will meet the replica's gate, closed here, under its lock (`Dispatcher.call`).
        let claimed = server.keyspace.withAllShards { () -> Bool in
            guard forced || master.caughtUpReplica(target: chosen) != nil else { return false }
            // The cron and an ACK may both get here: one hands over.
            let claimed = role.withLock { role -> Bool in
                guard role.failover.state == .waitingForSync else { return false }
                role.failover.state = .inProgress
                role.failover.target = chosen
                return true
            }
            if claimed { becomeReplica(of: chosen.host, port: chosen.port) }
            return claimed
        }
        guard claimed else { return }
        server.control?.log(forced ? "FAILOVER to \(chosen.host):\(chosen.port) time out exceeded, failing over."
                                   : "Failover target \(chosen.host):\(chosen.port) is synced, failing over.")
        connect()
        remember([chosen.host, String(chosen.port)])
    }

    /// The target accepted this server's PSYNC: the failover is done, the paused writes go on
    /// (and meet -READONLY).
    func failoverHandedOver() {
        let done = role.withLock { role -> Bool in
            guard role.failover.state == .inProgress else { return false }
            role.failover = Failover()
            return true
        }
        guard done else { return }
        server.control?.log("Failover target accepted the handover: this server is now its replica.")
        server.unpauseClients(.failover)
    }

    func abortFailover(_ reason: String) {
        let ended = role.withLock { role -> Failover in
            defer { role.failover = Failover() }
            return role.failover
        }
        let state = ended.state
        guard state != .none else { return }
        let target = ended.target.map { "\($0.host):\($0.port)" } ?? "any replica"
        server.control?.log("FAILOVER to \(target) aborted: \(reason)")
        if state == .inProgress {
            // Back to master, under a new ID (the target may have been promoted meanwhile).
            stopFollowing()
            remember(["no", "one"])
        }
        server.unpauseClients(.failover)
    }
}
