import Engine
import RESP

/// The commands a client queued after MULTI, and whether one was refused while queueing
/// (then EXEC discards them all).
public final class Transaction {
    public internal(set) var commands: [(command: Command, request: OwnedRequest)] = []
    public internal(set) var failed = false
    /// Every flag of the queued commands: EXEC counts as a write, as using memory … when they do.
    public internal(set) var flags: CommandFlags = []
    /// Every flag some queued command lacks: EXEC may not run while loading when one may not.
    public internal(set) var missingFlags: CommandFlags = []

    init() {}
}

/// MULTI, EXEC, DISCARD, WATCH, UNWATCH.
///
/// EXEC runs its queue under one lock set, the union of the shards of every queued key and
/// every watched key (all shards when a queued command reaches the whole keyspace), so no
/// client on any loop sees part of a transaction; blocking commands inside it do not block.
enum TransactionCommands {
    static let table: [Command] = [
        Command("multi", arity: 1, flags: [.noScript, .loading, .stale, .fast, .allowBusy, .skipsQueue], categories: [.transaction],
                group: "transactions", since: "1.2.0", summary: "Starts a transaction.", handler: multi),
        Command("exec", arity: 1, flags: [.noScript, .loading, .stale, .skipSlowlog, .skipsQueue, .runsQueue], categories: [.transaction],
                group: "transactions", since: "1.2.0", summary: "Runs the queued commands of a transaction.", handler: exec),
        Command("discard", arity: 1, flags: [.noScript, .loading, .stale, .fast, .allowBusy, .skipsQueue], categories: [.transaction],
                group: "transactions", since: "2.0.0", summary: "Discards a transaction.", handler: discard),
        Command("watch", arity: -2, flags: [.noScript, .loading, .stale, .fast, .allowBusy, .skipsQueue], categories: [.transaction],
                keys: [.keys(from: 1, "RO")], group: "transactions", since: "2.2.0",
                summary: "Makes the next EXEC conditional on keys staying unchanged.", handler: watch),
        Command("unwatch", arity: 1, flags: [.noScript, .loading, .stale, .fast, .allowBusy], categories: [.transaction],
                group: "transactions", since: "2.2.0", summary: "Forgets every watched key.", handler: unwatch),
    ]

    static func multi(_ c: inout CommandContext) {
        guard c.session.transaction == nil else { return c.error(Errors.nestedMulti) }
        c.session.transaction = Transaction()
        c.reply.ok()
    }

    static func discard(_ c: inout CommandContext) {
        guard c.session.transaction != nil else { return c.error(Errors.discardWithoutMulti) }
        c.session.transaction = nil
        unwatchAll(c.session, keyspace: c.keyspace, locking: true)
        c.reply.ok()
    }

    /// Queues a copy of the request for EXEC.
    static func enqueue(_ command: Command, _ c: inout CommandContext) {
        c.session.transaction?.commands.append((command, c.arguments.copied()))
        c.session.transaction?.flags.formUnion(command.flags)
        c.session.transaction?.missingFlags.formUnion(CommandFlags(rawValue: ~command.flags.rawValue))
        c.reply.simpleString("QUEUED")
    }

    static func exec(_ c: inout CommandContext) {
        guard let transaction = c.session.transaction else { return c.error(Errors.execWithoutMulti) }
        let session = c.session
        guard !transaction.failed else {
            session.transaction = nil
            unwatchAll(session, keyspace: c.keyspace, locking: true)
            return c.error(Errors.execAborted)
        }
        // The client stays in MULTI while its commands run, as in Redis (CLIENT LIST inside
        // the transaction shows flag `x` and the queue's length).
        defer { session.transaction = nil }
        withTransactionLocks(transaction, &c) { c in
            // A watched key whose TTL passed since WATCH counts as changed, deleted or not.
            let now = c.now
            let expired = session.watchedKeys.contains { watched in
                watched.key.withBytes { bytes in
                    c.keyspace.withTable(of: Key(bytes), db: watched.db) { shard, _ in
                        shard.watchSeesExpiry(watched, session.watchToken, now: now)
                    }
                }
            }
            let aborted = expired || session.watchToken.dirty.load(ordering: .relaxed)
            unwatchAll(session, keyspace: c.keyspace, locking: false)
            if aborted { return c.reply.nullArray() }
            c.reply.arrayHeader(transaction.commands.count)
            let blocking = c.blocking, arguments = c.arguments
            c.blocking = .never
            for (command, request) in transaction.commands {
                request.withArguments { queued in
                    c.arguments = queued
                    Dispatcher.call(command, &c)
                }
            }
            // The queue's effects go out whole, before its locks are released.
            c.sendPropagation(wrapping: true)
            // EXEC's own request again: the queued ones' bytes are gone.
            c.arguments = arguments
            c.blocking = blocking
            c.failed = false
        }
    }

    /// Runs `body` holding the locks of every shard the queued commands and the watched keys
    /// touch, or of all shards when a queued command may reach keys it does not name. A
    /// command naming no keys counts as such (BGSAVE, MEMORY STATS and CONFIG SET lock shards
    /// of their own), so nothing inside EXEC ever locks a shard EXEC already holds.
    private static func withTransactionLocks(_ transaction: Transaction, _ c: inout CommandContext, _ body: (inout CommandContext) -> Void) {
        let keyspace = c.keyspace
        let wholeKeyspace = transaction.commands.contains { command, request in
            !command.hasKeys || command.flags.contains(.keyspaceWide)
                || (command.locksWholeKeyspace.map { wide in request.withArguments(wide) } ?? false)
        }
        if wholeKeyspace {
            keyspace.withAllShards {
                c.holdsAllShards = true
                body(&c)
                c.holdsAllShards = false
            }
            return
        }
        var shards: [Int] = c.session.watchedKeys.map { watched in watched.key.withBytes { Keyspace.shardIndex(of: KeyHash.hash($0)) } }
        for (command, request) in transaction.commands {
            request.withArguments { arguments in
                command.forEachKeyPosition(arguments) { position in
                    shards.append(Keyspace.shardIndex(of: KeyHash.hash(arguments[position])))
                }
            }
        }
        shards.withUnsafeMutableBufferPointer { indices in
            keyspace.withShards(indices) {
                c.holdsKeyLocks = true
                body(&c)
                c.holdsKeyLocks = false
            }
        }
    }

    static func watch(_ c: inout CommandContext) {
        guard c.session.transaction == nil else { return c.error(Errors.watchInMulti) }
        let session = c.session
        let now = c.now
        for index in 1 ..< c.argumentCount {
            let watched = DatabaseKey(db: session.database, key: Element(c.arguments[index]))
            guard !session.watchedKeys.contains(watched) else { continue }
            c.keyspace.withTable(of: c.key(index), db: session.database) { shard, _ in shard.watch(watched, session.watchToken, now: now) }
            session.watchedKeys.append(watched)
        }
        c.reply.ok()
    }

    static func unwatch(_ c: inout CommandContext) {
        unwatchAll(c.session, keyspace: c.keyspace, locking: !c.holdsAllShards && !c.holdsKeyLocks)
        c.reply.ok()
    }

    /// Forgets the client's WATCHes. `locking` is false when the caller already holds the
    /// shards of every watched key.
    static func unwatchAll(_ session: ClientSession, keyspace: Keyspace, locking: Bool) {
        for watched in session.watchedKeys {
            watched.key.withBytes { bytes in
                let key = Key(bytes)
                let forget = { keyspace.withTable(of: key, db: watched.db) { shard, _ in shard.unwatch(watched, session.watchToken) } }
                if locking { keyspace.withShard(of: key, forget) } else { forget() }
            }
        }
        session.watchedKeys = []
        session.watchToken.dirty.store(false, ordering: .relaxed)
    }
}
