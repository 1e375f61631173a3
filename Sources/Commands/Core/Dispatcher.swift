import Engine
import RESP

/// Runs one request: finds the command, checks everything Redis checks before a command runs
/// (existence, arity, the debug/auth gates), locks the shards of its keys, calls the handler
/// and counts it. Handlers never repeat these checks.
public enum Dispatcher {
    public static func execute(_ c: inout CommandContext, _ arguments: Arguments) {
        if c.sessionReference._withUnsafeGuaranteedRef({ $0.replyMode == .on }) {
            dispatch(&c, arguments)
        } else {
            executeWithoutReply(&c, arguments)
        }
        // A write that fed a key some client waits on serves that client now, before this
        // client's next request.
        if c.keyspaceReference._withUnsafeGuaranteedRef({ $0.readyKeyCount.load(ordering: .relaxed) > 0 }) {
            BlockedClients.serveReadyKeys(&c)
        }
    }

    private static func dispatch(_ c: inout CommandContext, _ arguments: Arguments) {
        c.arguments = arguments
        guard let found = c.commandTableReference._withUnsafeGuaranteedRef({ $0.find(arguments[0]) }) else {
            c.session.lastCommand = -1
            reject(&c, bytes: Errors.unknownCommand(arguments), command: nil)
            return
        }
        found._withUnsafeGuaranteedRef { command in
            if command.isContainer && !(arguments.count == 1 && command.handler != nil) {
                resolveSubcommand(of: command, &c)
            } else {
                check(command, &c)
            }
        }
    }

    /// CLIENT REPLY OFF or SKIP: the command runs and its reply is dropped, unless it turned
    /// replies back on (CLIENT REPLY ON).
    private static func executeWithoutReply(_ c: inout CommandContext, _ arguments: Arguments) {
        let session = c.session
        if session.replyMode == .skipNext { session.replyMode = .skipThis }
        let start = c.reply.buffer.writerIndex
        if session.replyMode != .on { c.reply.pushesKept = [] }
        dispatch(&c, arguments)
        if c.postponed {
            // Held by the pause gate: it runs again later, and its reply is the one to skip.
            if session.replyMode == .skipThis { session.replyMode = .skipNext }
            c.reply.pushesKept = nil
            return
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
    }

    /// CONFIG GET, CLIENT LIST …: the subcommand named by the second argument.
    private static func resolveSubcommand(of container: Command, _ c: inout CommandContext) {
        let arguments = c.arguments
        guard arguments.count >= 2 else {
            c.session.lastCommand = container.ordinal
            reject(&c, Errors.wrongArity(container.fullName), command: container)
            return
        }
        let name = arguments[1]
        guard let sub = container.subcommands.first(where: { name.equalsIgnoringCase(Array($0.name.utf8)) }) else {
            c.session.lastCommand = -1
            reject(&c, bytes: Errors.unknownSubcommand(name, of: container.name), command: nil)
            return
        }
        check(sub, &c)
    }

    /// The checks every command passes before it runs, in Redis's order.
    private static func check(_ command: Command, _ c: inout CommandContext) {
        // CLIENT LIST `cmd=`: the last command a request named (not those EXEC runs, nor a
        // blocked client's when another loop serves it).
        c.sessionReference._withUnsafeGuaranteedRef { session in
            if session.lastCommand != command.ordinal { session.lastCommand = command.ordinal }
        }
        guard command.arityAccepts(c.arguments.count) else {
            reject(&c, Errors.wrongArity(command.fullName), command: command)
            return
        }
        if command.flags.contains(.protectedDebug) && !debugAllowed(c) {
            reject(&c, Errors.debugNotAllowed, command: command)
            return
        }
        if !c.session.authenticated && !command.flags.contains(.noAuth) {
            reject(&c, Errors.noAuth, command: command)
            return
        }
        if c.session.protocolVersion == 2 && c.session.isSubscribed
            && !PubSubCommands.allowedWhileSubscribed.contains(command.fullName) {
            reject(&c, "ERR Can't execute '\(command.fullName)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                   command: command)
            return
        }
        if c.pause.mode != .none && c.pause.holds(command, c.session) && c.pause.postpone(c.session, command) {
            c.postponed = true
            return
        }
        if c.session.transaction != nil && !TransactionCommands.runImmediately.contains(command.fullName) {
            guard !command.flags.contains(.noMulti) else {
                reject(&c, "ERR Command not allowed inside a transaction", command: command)
                return
            }
            TransactionCommands.enqueue(command, &c)
            return
        }
        call(command, &c)
    }

    /// Executes a checked command with its keys' shards locked, and counts it.
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
        withKeysLocked(command, &c, handler)
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
    static func reject(_ c: inout CommandContext, _ message: String, command: Command?) {
        reject(&c, bytes: Array(message.utf8), command: command)
    }

    static func reject(_ c: inout CommandContext, bytes message: [UInt8], command: Command?) {
        c.session.transaction?.failed = true
        if let command, command.name == "exec" {
            c.session.transaction = nil
            TransactionCommands.unwatchAll(c.session, keyspace: c.keyspace, locking: true)
            let reason = message.starts(with: "ERR ".utf8) ? message.dropFirst(4) : message[...]
            c.error(bytes: Array("EXECABORT Transaction discarded because of: ".utf8) + reason)
        } else {
            c.error(bytes: message)
        }
        if let command { c.statistics.count(.rejected, of: command.ordinal) }
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
