import Engine
import RESP

/// What became of one request, for the connection to act on.
public enum Outcome {
    /// It ran, or was refused; its reply is written.
    case done
    /// The pause gate holds it: it is not consumed, and runs again from scratch when the gate
    /// opens (the connection resumes on `BlockedOutcome.pauseLifted`).
    case postponed
    /// A blocking command parked the client: the connection waits for a `BlockedOutcome`.
    case parked(BlockedClient)
    /// Its reply is the connection's last (QUIT, a CLIENT KILL of itself, an HTTP request).
    case close
}

/// Runs one request: finds the command, makes every check Redis's `processCommand` makes, in
/// its order, in one place (`admit`), then calls the handler with its keys' shards locked,
/// counts it and propagates its effects. Handlers never repeat these checks.
public enum Dispatcher {
    public static func execute(_ c: inout CommandContext, _ arguments: Arguments) -> Outcome {
        c.arguments = arguments
        var outcome: Outcome
        if c.sessionReference._withUnsafeGuaranteedRef({ $0.replyMode == .on }) {
            outcome = dispatch(&c)
        } else {
            outcome = executeWithoutReply(&c)
        }
        if let client = c.parked {
            c.parked = nil
            outcome = .parked(client)
        } else if c.sessionReference._withUnsafeGuaranteedRef({ $0.closeAfterReply }) {
            outcome = .close
        }
        // A write that fed a key some client waits on serves that client now, before this
        // client's next request.
        if c.keyspaceReference._withUnsafeGuaranteedRef({ $0.readyKeyCount.load(ordering: .relaxed) > 0 }) {
            BlockedClients.serveReadyKeys(&c)
        }
        return outcome
    }

    private static func dispatch(_ c: inout CommandContext) -> Outcome {
        let arguments = c.arguments
        guard let found = c.commandTableReference._withUnsafeGuaranteedRef({ $0.find(arguments[0]) }) else {
            // An HTTP request (a browser, or a cross-protocol attack): Redis closes the
            // connection without a word.
            if arguments[0].equalsIgnoringCase("post") || arguments[0].equalsIgnoringCase("host:") {
                c.server.log("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.")
                return .close
            }
            c.session.lastCommand = -1
            reject(&c, bytes: Errors.unknownCommand(arguments), command: nil)
            return .done
        }
        return found._withUnsafeGuaranteedRef { command in
            if command.isContainer && !(arguments.count == 1 && command.handler != nil) {
                return resolveSubcommand(of: command, &c)
            }
            return admit(command, &c)
        }
    }

    /// CLIENT REPLY OFF or SKIP: the command runs and its reply is dropped (its pushes are
    /// kept), unless it turned replies back on (CLIENT REPLY ON).
    private static func executeWithoutReply(_ c: inout CommandContext) -> Outcome {
        let session = c.session
        if session.replyMode == .skipNext { session.replyMode = .skipThis }
        let start = c.reply.buffer.writerIndex
        c.reply.pushesKept = []
        let outcome = dispatch(&c)
        if case .postponed = outcome {
            // Held by the pause gate: it runs again later, and its reply is the one to skip.
            if session.replyMode == .skipThis { session.replyMode = .skipNext }
            c.reply.pushesKept = nil
            return outcome
        }
        switch session.replyMode {
        case .on, .skipNext:
            c.reply.pushesKept = nil
        case .off:
            c.reply.discardReplies(from: start)
        case .skipThis:
            c.reply.discardReplies(from: start)
            session.replyMode = .on
        }
        return outcome
    }

    /// CONFIG GET, CLIENT LIST …: the subcommand named by the second argument.
    private static func resolveSubcommand(of container: Command, _ c: inout CommandContext) -> Outcome {
        let arguments = c.arguments
        guard arguments.count >= 2 else {
            c.session.lastCommand = container.ordinal
            reject(&c, Errors.wrongArity(container.fullName), command: container)
            return .done
        }
        let name = arguments[1]
        guard let sub = container.subcommands.first(where: { name.equalsIgnoringCase(Array($0.name.utf8)) }) else {
            c.session.lastCommand = -1
            reject(&c, bytes: Errors.unknownSubcommand(name, of: container.name), command: nil)
            return .done
        }
        return admit(sub, &c)
    }

    /// Every check a command passes before it runs, in the order of Redis's `processCommand`;
    /// then the command runs, is queued in MULTI, or waits at the pause gate.
    private static func admit(_ command: Command, _ c: inout CommandContext) -> Outcome {
        let session = c.session
        // CLIENT LIST `cmd=`: the last command a request named (not those EXEC runs, nor a
        // blocked client's when another loop serves it).
        if session.lastCommand != command.ordinal { session.lastCommand = command.ordinal }
        guard command.arityAccepts(c.arguments.count) else {
            return reject(&c, Errors.wrongArity(command.fullName), command: command)
        }
        if command.flags.contains(.protectedDebug) && !debugAllowed(c) {
            return reject(&c, Errors.debugNotAllowed, command: command)
        }
        if !session.authenticated && !command.flags.contains(.noAuth) {
            return reject(&c, Errors.noAuth, command: command)
        }
        if session.transaction != nil && command.flags.contains(.noMulti) {
            return reject(&c, Errors.notInTransaction, command: command)
        }
        // EXEC is a write, may replicate and may use memory when a queued command is or does,
        // and may not run while loading or stale when a queued command may not.
        var flags = command.flags
        if command.flags.contains(.runsQueue), let transaction = session.transaction {
            flags.formUnion(transaction.flags)
            flags.subtract(transaction.missingFlags.intersection([.loading, .stale]))
        }
        // Over `maxmemory`, keys are evicted before any command runs; only when nothing could be
        // are the commands that may grow memory refused, and so is queueing in MULTI.
        if c.serverReference._withUnsafeGuaranteedRef({ $0.memory.admit() }) == .exceeded
            && (flags.contains(.denyOOM) || (session.transaction != nil && !command.flags.contains(.skipsQueue))) {
            return reject(&c, Errors.outOfMemory, command: command)
        }
        let gates = c.serverReference._withUnsafeGuaranteedRef { $0.closedGates }
        // The master's stream is applied whatever this server's own state (Redis's "obey client").
        let fromMaster = session.flags.contains(.master)
        if gates.contains(.diskWriteError) && !fromMaster && !flags.isDisjoint(with: [.write, .reportsDiskError]) {
            return reject(&c, Errors.diskWriteError, command: command)
        }
        if gates.contains(.notEnoughReplicas) && flags.contains(.write) {
            return reject(&c, Errors.notEnoughReplicas, command: command)
        }
        if gates.contains(.readOnlyReplica) && !fromMaster && flags.contains(.write) {
            return reject(&c, Errors.readOnlyReplica, command: command)
        }
        if session.protocolVersion == 2 && session.isSubscribed && !command.flags.contains(.allowedWhileSubscribed) {
            return reject(&c, Errors.onlySubscribeCommands(command.fullName), command: command)
        }
        if gates.contains(.masterDown) && !flags.contains(.stale) {
            return reject(&c, Errors.masterDown, command: command)
        }
        if gates.contains(.loading) && !flags.contains(.loading) {
            return reject(&c, Errors.loading, command: command)
        }
        // A replica link may only acknowledge and configure, never reach the keyspace.
        if session.flags.contains(.replica) && (flags.contains(.write) || flags.contains(.readonly) || flags.contains(.mayReplicate)) {
            return reject(&c, Errors.replicaTouchesKeyspace, command: command)
        }
        if c.pause.mode != .none && c.pause.holds(command, flags: flags, session) && c.pause.postpone(session, command, flags: flags) {
            return .postponed
        }
        if session.transaction != nil && !command.flags.contains(.skipsQueue) {
            TransactionCommands.enqueue(command, &c)
            return .done
        }
        call(command, &c)
        return .done
    }

    /// Executes an admitted command with its keys' shards locked, counts it, and — at the
    /// outermost call — hands its effects to the propagation sinks before the locks go.
    static func call(_ command: Command, _ c: inout CommandContext) {
        guard let handler = command.handler else { return }
        let clock = c.clockReference
        // Within one read batch the reading that ended the previous command starts this one:
        // one clock read per command.
        let start = c.lastClockReading != 0 ? c.lastClockReading : clock._withUnsafeGuaranteedRef { $0.nanoseconds() }
        c.failed = false
        c.commandWrites = command.flags.contains(.write)
        c.now = start / 1_000_000
        if c.trackingReference._withUnsafeGuaranteedRef({ $0.active.load(ordering: .relaxed) > 0 }) {
            c.tracking.enforceLimit(by: c.session, reply: &c.reply)
        }
        withKeysLocked(command, &c) { c in
            let clientWrite = command.flags.contains(.write)
                && !c.sessionReference._withUnsafeGuaranteedRef { $0.flags.contains(.master) }
            // Admitted on a master that then handed its role over (FAILOVER, with more than one
            // event loop): the replica's gate, closed under every shard's lock, is seen here.
            if clientWrite && c.serverReference._withUnsafeGuaranteedRef({ $0.closedGates.contains(.readOnlyReplica) }) {
                return c.error(Errors.readOnlyReplica)
            }
            defer {
                // A writable replica's client wrote: the keys it left with a TTL are its own to expire.
                if clientWrite && c.keyspaceReference._withUnsafeGuaranteedRef({ $0.isHeld(.replica) }) {
                    rememberOwnKeysWithExpiry(command, &c)
                }
            }
            guard c.propagating else { return handler(&c) }
            let changesBefore = c.changes
            let stated = c.pendingPropagation.stated
            c.pendingPropagation.stated = false
            c.pendingPropagation.depth += 1
            handler(&c)
            c.recordPropagation(of: command, changed: c.changes > changesBefore)
            c.pendingPropagation.stated = stated
            c.pendingPropagation.depth -= 1
            if c.pendingPropagation.depth == 0 { c.sendPropagation(wrapping: !command.flags.contains(.touchesArbitraryKeys)) }
        }
        let end = clock._withUnsafeGuaranteedRef { $0.nanoseconds() }
        c.lastClockReading = end
        if c.trackingReference._withUnsafeGuaranteedRef({ $0.active.load(ordering: .relaxed) > 0 }) {
            c.afterCommandForTracking(command)
        }
        if c.serverReference._withUnsafeGuaranteedRef({ $0.monitors.count.load(ordering: .relaxed) > 0 })
            && !command.flags.contains(.admin) && !command.flags.contains(.skipMonitor) {
            c.server.monitors.feed(command, c, microseconds: end / 1000)
        }
        let elapsed = Int((end - start) / 1000), failed = c.failed
        c.statisticsReference._withUnsafeGuaranteedRef { statistics in
            statistics.count(.calls, of: command.ordinal)
            statistics.count(.microseconds, of: command.ordinal, elapsed)
            if failed { statistics.count(.failed, of: command.ordinal) }
            statistics.count(.commandsProcessed)
        }
    }

    /// The command's keys that now have a TTL, remembered for the replica's cron (its locks held).
    static func rememberOwnKeysWithExpiry(_ command: Command, _ c: inout CommandContext) {
        let db = c.database, arguments = c.arguments
        var owned: [DatabaseKey] = []
        command.forEachKeyPosition(arguments) { position in
            if let entry = db.storedEntry(Key(arguments[position])), entry.expireAt != 0 {
                owned.append(DatabaseKey(db: db.index, key: Element(arguments[position])))
            }
        }
        if !owned.isEmpty { c.keyspace.ownKeysWithExpiry.withLock { $0.formUnion(owned) } }
    }

    /// Locks the shards of the command's keys (in ascending order) around `body`. Commands
    /// without fixed keys take their own locks (`keyspaceWide`), or need none.
    static func withKeysLocked(_ command: Command, _ c: inout CommandContext, _ body: (inout CommandContext) -> Void) {
        let keyspace = c.keyspaceReference
        if c.holdsAllShards || c.holdsKeyLocks {
            body(&c)
        } else if command.hasSingleFirstKey {
            let key = Key(c.arguments[1])
            keyspace._withUnsafeGuaranteedRef { $0.withShard(of: key) { body(&c) } }
        } else if !command.hasKeys {
            body(&c)
        } else if let wide = command.locksWholeKeyspace, wide(c.arguments) {
            keyspace.takeUnretainedValue().withAllShards {
                c.holdsAllShards = true
                body(&c)
                c.holdsAllShards = false
            }
        } else {
            let arguments = c.arguments
            withUnsafeTemporaryAllocation(of: Int.self, capacity: arguments.count) { shards in
                var count = 0
                command.forEachKeyPosition(arguments) { position in
                    shards[count] = Keyspace.shardIndex(of: KeyHash.hash(arguments[position]))
                    count += 1
                }
                if count == 0 {
                    body(&c)
                } else {
                    keyspace.takeUnretainedValue().withShards(UnsafeMutableBufferPointer(rebasing: shards[..<count])) { body(&c) }
                }
            }
        }
    }

    /// Refuses a request before it runs. In MULTI the refusal dooms the transaction; a refused
    /// EXEC discards it, naming the reason.
    @discardableResult
    static func reject(_ c: inout CommandContext, _ message: String, command: Command?) -> Outcome {
        reject(&c, bytes: Array(message.utf8), command: command)
    }

    @discardableResult
    static func reject(_ c: inout CommandContext, bytes message: [UInt8], command: Command?) -> Outcome {
        c.session.transaction?.failed = true
        if let command, command.flags.contains(.runsQueue) {
            c.session.transaction = nil
            TransactionCommands.unwatchAll(c.session, keyspace: c.keyspace, locking: true)
            let reason = message.starts(with: "ERR ".utf8) ? message.dropFirst(4) : message[...]
            c.error(bytes: Array("EXECABORT Transaction discarded because of: ".utf8) + reason)
        } else {
            c.error(bytes: message)
        }
        if let command { c.statistics.count(.rejected, of: command.ordinal) }
        return .done
    }

    /// `enable-debug-command`: `yes`, or `local` for connections from the loopback interface.
    static func debugAllowed(_ c: CommandContext) -> Bool {
        switch c.server.config["enable-debug-command"] {
        case "yes": return true
        case "local": return c.session.isLocal
        default: return false
        }
    }
}

extension CommandContext {
    /// After a command ran (inside its locks): its lazily expired keys, then its own arguments
    /// when it is a write that changed something (or always propagates) and stated nothing else.
    mutating func recordPropagation(of command: Command, changed: Bool) {
        takeExpirations()
        guard !pendingPropagation.stated else { return }
        if (command.flags.contains(.write) && changed) || command.flags.contains(.alwaysPropagated) {
            pendingPropagation.commands.append(PropagatedCommand(db: session.database, request: arguments))
        }
    }

    /// Hands what the outermost command gathered to the sinks: more than one command travels
    /// in MULTI … EXEC, as Redis propagates it, unless the command touches arbitrary keys
    /// (SCAN, RANDOMKEY: their expirations go alone).
    mutating func sendPropagation(wrapping: Bool) {
        // Moved out and back, not copied: the list's storage is reused command after command.
        var commands: [PropagatedCommand] = []
        swap(&commands, &pendingPropagation.commands)
        defer {
            commands.removeAll(keepingCapacity: true)
            swap(&commands, &pendingPropagation.commands)
        }
        guard !commands.isEmpty else { return }
        if commands.count > 1 && wrapping {
            commands.insert(PropagatedCommand(db: commands[0].db, "MULTI"), at: 0)
            commands.append(PropagatedCommand(db: commands[commands.count - 1].db, "EXEC"))
        }
        let offset = propagation.send(commands)
        if offset > 0 { session.writeOffset.store(offset, ordering: .relaxed) }
    }
}
