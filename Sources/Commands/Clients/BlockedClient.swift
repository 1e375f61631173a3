import Engine
import NIOCore
import RESP
import Synchronization

/// A client parked in a blocking command (BLPOP, BLMOVE, BZPOPMIN …) until one of its keys
/// gets data, its timeout passes, CLIENT UNBLOCK frees it, or it disconnects.
///
/// It waits in the FIFO queue of every key it named (in the engine, under each shard's lock).
/// Whoever makes a key ready serves the queue right after its own command, on its own loop:
/// it claims the first waiter, runs the waiter's command again in serving mode under the
/// usual key locks, and hands the reply to the waiter's connection. The state word decides
/// races between a server, the timeout timer and CLIENT UNBLOCK: only one of them moves a
/// client from `waiting` to `done`.
public final class BlockedClient: KeyWaiter, @unchecked Sendable {
    enum State: Int {
        case waiting, serving, done
    }

    private let state = Atomic<Int>(State.waiting.rawValue)
    public let session: ClientSession
    let command: Command
    let request: OwnedRequest
    let keys: [DatabaseKey]
    /// Unix milliseconds; 0 waits forever.
    public let deadline: Int64
    private let server: ServerState
    /// Parked on no key (WAIT): ends the wait with the reply its command gives at its timeout,
    /// which CLIENT UNBLOCK then sends rather than a null; false if the wait had already ended.
    let answerNow: (@Sendable (BlockedClient) -> Bool)?

    init(session: ClientSession, command: Command, request: OwnedRequest, keys: [DatabaseKey], deadline: Int64,
         server: ServerState, answerNow: (@Sendable (BlockedClient) -> Bool)? = nil) {
        self.session = session
        self.command = command
        self.request = request
        self.keys = keys
        self.deadline = deadline
        self.server = server
        self.answerNow = answerNow
    }

    public var isWaiting: Bool {
        state.load(ordering: .acquiring) != State.done.rawValue
    }

    /// Takes the client for serving; false when someone else has it or it is done.
    func claim() -> Bool {
        state.compareExchange(expected: State.waiting.rawValue, desired: State.serving.rawValue, ordering: .acquiringAndReleasing).exchanged
    }

    /// Gives a claimed client back when its keys had nothing for it after all.
    func release() {
        state.store(State.waiting.rawValue, ordering: .releasing)
    }

    /// Ends the wait if the client is in `from`; true for the one caller that ended it, which
    /// also takes the client out of its keys' queues unless it holds shard locks (then the
    /// queues drop it when next read).
    @discardableResult
    func finish(from: State, holdingLocks: Bool = false) -> Bool {
        guard state.compareExchange(expected: from.rawValue, desired: State.done.rawValue, ordering: .acquiringAndReleasing).exchanged else {
            return false
        }
        session.blocked.withLock { if $0 === self { $0 = nil } }
        server.blockedClients.subtract(1, ordering: .relaxed)
        guard !holdingLocks else { return true }
        let keyspace = server.keyspace
        for waited in keys {
            waited.key.withBytes { bytes in
                let key = Key(bytes)
                keyspace.withShard(of: key) { keyspace.withTable(of: key, db: waited.db) { shard, _ in shard.dequeue(self, from: waited) } }
            }
        }
        return true
    }

    /// The timeout timer (or CLIENT UNBLOCK, maybe inside EXEC): ends a client that is still waiting.
    @discardableResult
    public func expire(holdingLocks: Bool = false) -> Bool {
        finish(from: .waiting, holdingLocks: holdingLocks)
    }
}

/// How a blocked wait ended, as its connection learns it.
public enum BlockedOutcome: Sendable {
    /// Its command ran; these are the reply bytes.
    case served(ByteBuffer)
    case timedOut
    /// CLIENT UNBLOCK … ERROR.
    case unblockedWithError
    /// The pause gate opened: the client re-processes the requests it held back.
    case pauseLifted
}

/// How a blocking command may behave in the context it runs in.
public enum BlockingMode: Sendable {
    /// A client's own request: it blocks when its keys are empty.
    case mayBlock
    /// Inside EXEC: it replies as on a timeout instead of blocking.
    case never
    /// Run again because `key` got data: it takes only from that key, or stays blocked.
    case serving(DatabaseKey)
}

extension CommandContext {
    /// The value a blocking command takes from the key at argument `index`: nil when it is
    /// missing (or, when serving, is not the ready key or holds another kind, which leaves
    /// the client waiting as Redis 7.0 does); WRONGTYPE is replied otherwise.
    mutating func waitedValue<T>(_ index: Int, in db: Database, _ extract: (Value) -> T?) -> Fetched<T> {
        let serving: Bool
        if case .serving(let ready) = blocking {
            guard ready.key.withBytes({ $0.elementsEqual(arguments[index]) }) else { return .missing }
            serving = true
        } else {
            serving = false
        }
        guard let entry = db.lookup(key(index)) else { return .missing }
        guard let value = extract(entry.value) else {
            if serving { return .missing }
            error(Errors.wrongType)
            return .wrongType
        }
        return .found(value)
    }

    /// A blocking command found nothing at `keys` (argument positions): inside EXEC it replies
    /// null (a null array unless `nullBulkInTransaction`, as Redis does for BLMOVE); when
    /// serving it leaves the client waiting; otherwise it parks the client on the keys for its
    /// connection to wait. A wait that times out ends with a null array, whatever the command.
    mutating func block(onKeysAt keys: [Int], deadline: Int64, nullBulkInTransaction: Bool = false) {
        switch blocking {
        case .never:
            if nullBulkInTransaction { reply.null() } else { reply.nullArray() }
        case .serving:
            stillBlocked = true
        case .mayBlock:
            let db = session.database
            var waited: [DatabaseKey] = []
            for index in keys {
                let key = DatabaseKey(db: db, key: Element(arguments[index]))
                if !waited.contains(key) { waited.append(key) }
            }
            // The dispatcher set lastCommand to the running command before calling it.
            let client = BlockedClient(session: session, command: commandTable.command(ordinal: session.lastCommand), request: arguments.copied(),
                                       keys: waited, deadline: deadline, server: server)
            for (index, key) in zip(keys, waited) {
                keyspace.withTable(of: self.key(index), db: db) { shard, _ in shard.enqueue(client, on: key) }
            }
            server.blockedClients.add(1, ordering: .relaxed)
            session.blocked.withLock { $0 = client }
            parked = client
        }
    }

    /// Parks the client on no key: the caller keeps the returned wait and ends it itself with
    /// `expire()` then `session.connection?.resume(.served(reply))` (WAIT does, on replicas'
    /// acknowledgements or at its timeout); `answerNow` does that at once (CLIENT UNBLOCK).
    public mutating func parkUntilReleased(answerNow: @escaping @Sendable (BlockedClient) -> Bool) -> BlockedClient {
        let client = BlockedClient(session: session, command: commandTable.command(ordinal: session.lastCommand), request: arguments.copied(),
                                   keys: [], deadline: 0, server: server, answerNow: answerNow)
        server.blockedClients.add(1, ordering: .relaxed)
        session.blocked.withLock { $0 = client }
        parked = client
        return client
    }

    /// A blocking command's timeout argument in seconds (decimals allowed) as an absolute
    /// deadline in Unix milliseconds, 0 for none; nil after replying Redis's error.
    mutating func blockingDeadline(at index: Int) -> Int64? {
        guard let seconds = NumberFormat.parseLongDouble(arguments[index]) else {
            error(Errors.timeoutNotFloat)
            return nil
        }
        // Redis rounds up to whole milliseconds; a value past the 64-bit range wraps negative there.
        let milliseconds = (seconds * 1000).rounded(.up)
        guard milliseconds >= 0, milliseconds <= Float80(Int64.max) else {
            error(Errors.negativeTimeout)
            return nil
        }
        let delay = Int64(milliseconds)
        guard delay > 0 else { return 0 }
        let (deadline, overflow) = now.addingReportingOverflow(delay)
        return overflow ? Int64.max : deadline
    }
}

/// Serving the clients blocked on keys that got data.
enum BlockedClients {
    /// After a top-level command (or EXEC): serves every ready key, including those that
    /// serving itself makes ready (a BLMOVE feeding another list).
    static func serveReadyKeys(_ c: inout CommandContext) {
        let keyspace = c.keyspace
        while keyspace.readyKeyCount.load(ordering: .relaxed) > 0 {
            for ready in keyspace.takeReadyKeys() {
                serve(ready, &c)
            }
        }
    }

    /// Serves `ready`'s waiters in arrival order while the key has something for them.
    private static func serve(_ ready: DatabaseKey, _ c: inout CommandContext) {
        let keyspace = c.keyspace
        let waiters = ready.key.withBytes { bytes in
            let key = Key(bytes)
            return keyspace.withShard(of: key) { keyspace.withTable(of: key, db: ready.db) { shard, _ in shard.waiters(on: ready) } }
        }
        for case let client as BlockedClient in waiters where client.claim() {
            let session = client.session
            var context = CommandContext(reply: ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 64), protocolVersion: session.protocolVersion),
                                         session: session, server: c.server, statistics: c.statistics)
            context.blocking = .serving(ready)
            client.request.withArguments { arguments in
                context.arguments = arguments
                Dispatcher.call(client.command, &context)
            }
            guard !context.stillBlocked else {
                client.release()
                if client.deadline != 0 && client.deadline <= context.now && client.expire() {
                    session.connection?.resume(.timedOut)
                }
                if !keyExists(ready, keyspace: keyspace, now: context.now) { return }
                continue
            }
            if client.finish(from: .serving) {
                session.connection?.resume(.served(context.reply.buffer))
            }
        }
    }

    private static func keyExists(_ waited: DatabaseKey, keyspace: Keyspace, now: Int64) -> Bool {
        waited.key.withBytes { bytes in
            let key = Key(bytes)
            return keyspace.withShard(of: key) { Database(keyspace: keyspace, index: waited.db, now: now).exists(key) }
        }
    }
}
