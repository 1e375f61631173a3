import Config
import Engine
import RESP

/// What a command handler works with: its arguments, the reply writer, the client, the server.
///
/// One context lives as long as its connection and is reused for every request, so the reply
/// buffer stays uniquely referenced and nothing is allocated per command.
public struct CommandContext {
    public var reply: ReplyWriter
    // The connection owns its session, and the server's shared objects outlive every
    // connection, so the context holds them as unmanaged references. The request path borrows
    // them with `_withUnsafeGuaranteedRef`: a method called through a strong or
    // `unowned(unsafe)` reference costs a retain and a release each time (measured: a fifth of
    // the CPU of a pipelined GET). The computed properties below are for everything else.
    @usableFromInline let sessionReference: Unmanaged<ClientSession>
    @usableFromInline let serverReference: Unmanaged<ServerState>
    @usableFromInline let keyspaceReference: Unmanaged<Keyspace>
    @usableFromInline let statisticsReference: Unmanaged<LoopStatistics>
    let clockReference: Unmanaged<ClockSource>
    let eventsReference: Unmanaged<KeyspaceEvents>
    let pauseReference: Unmanaged<PauseGate>
    let trackingReference: Unmanaged<TrackingTable>
    let commandTableReference: Unmanaged<CommandTable>
    let propagationReference: Unmanaged<Propagation>

    public var session: ClientSession { sessionReference.takeUnretainedValue() }
    public var server: ServerState { serverReference.takeUnretainedValue() }
    public var keyspace: Keyspace { keyspaceReference.takeUnretainedValue() }
    public var statistics: LoopStatistics { statisticsReference.takeUnretainedValue() }
    var events: KeyspaceEvents { eventsReference.takeUnretainedValue() }
    var pause: PauseGate { pauseReference.takeUnretainedValue() }
    var tracking: TrackingTable { trackingReference.takeUnretainedValue() }
    var commandTable: CommandTable { commandTableReference.takeUnretainedValue() }
    var propagation: Propagation { propagationReference.takeUnretainedValue() }
    /// Whether a sink listens (asked after every command: borrowed, no reference counting).
    var propagating: Bool { propagationReference._withUnsafeGuaranteedRef { $0.isActive } }

    /// What this client's commands changed, written down while some client tracks keys.
    let changeLog = ChangeLog()
    /// The request being executed; its bytes are valid only during the call.
    public internal(set) var arguments: Arguments
    /// Unix milliseconds, read once per command.
    public internal(set) var now: Int64 = 0
    /// Set when the handler replied with an error (INFO commandstats `failed_calls`).
    public internal(set) var failed = false
    /// Whether the running command is a write: its collection lookups then count no keyspace
    /// hits or misses (Redis's `lookupKeyWrite`).
    var commandWrites = false
    /// True while every shard is locked (EXEC of a keyspace-wide command, SORT with patterns).
    public internal(set) var holdsAllShards = false
    /// True while EXEC holds the shards of every key its commands name.
    var holdsKeyLocks = false
    /// Whether the command runs from EXEC's queue: the client stays in MULTI while it runs
    /// (anywhere else a command of a client in MULTI is queued, not run).
    public var runsInsideExec: Bool { session.transaction != nil }
    /// Whether a blocking command may block here (see `BlockingMode`).
    public internal(set) var blocking = BlockingMode.mayBlock
    /// Set by a blocking command that parked the client (the dispatcher returns `.parked`).
    var parked: BlockedClient?
    /// Changes to the dataset the client's commands made (`dirty`), to tell whether a write
    /// changed anything.
    var changes = 0
    /// What the running command will propagate (see `Propagation`).
    var pendingPropagation = PendingPropagation()
    /// Keys the running command found expired and deleted, while a sink listens.
    let expirations = ExpirationLog()
    /// Set when a client being served still has nothing to take.
    var stillBlocked = false
    /// The clock reading that ended the last command of the current read batch (0 at its start).
    var lastClockReading: Int64 = 0
    /// Bytes of the current `RequestLoop.run` consumed before the running request: on a
    /// replica's link, where its master's stream stood when the request began.
    public internal(set) var requestStart = 0

    public init(reply: ReplyWriter, session: ClientSession, server: ServerState, statistics: LoopStatistics) {
        self.reply = reply
        sessionReference = .passUnretained(session)
        serverReference = .passUnretained(server)
        keyspaceReference = .passUnretained(server.keyspace)
        statisticsReference = .passUnretained(statistics)
        clockReference = .passUnretained(server.clock)
        eventsReference = .passUnretained(server.keyspaceEvents)
        pauseReference = .passUnretained(server.pause)
        trackingReference = .passUnretained(server.tracking)
        commandTableReference = .passUnretained(server.commands)
        propagationReference = .passUnretained(server.propagation)
        self.arguments = Arguments(base: UnsafeRawBufferPointer(start: nil, count: 0), spans: UnsafeBufferPointer(start: nil, count: 0))
    }

    /// Called by the connection before each read batch: the next command reads the clock afresh.
    public mutating func beginBatch() {
        lastClockReading = 0
    }

    // MARK: Keys and the keyspace

    /// The client's selected database, at this command's time.
    public var database: Database {
        let (index, touches) = sessionReference._withUnsafeGuaranteedRef { ($0.database, !$0.flags.contains(.noTouch)) }
        var database = keyspaceReference._withUnsafeGuaranteedRef { Database(keyspace: $0, index: index, now: now, holdsAllShards: holdsAllShards) }
        database.touches = touches
        database.writes = commandWrites
        if trackingReference._withUnsafeGuaranteedRef({ $0.active.load(ordering: .relaxed) > 0 }) { database.changes = changeLog }
        if propagationReference._withUnsafeGuaranteedRef({ $0.isActive }) { database.expirations = expirations }
        return database
    }

    @inlinable
    public func key(_ index: Int) -> Key {
        Key(arguments[index])
    }

    /// A lookup for reading: counts a keyspace hit or miss, and publishes `keymiss` on a miss.
    public mutating func read(_ key: Key, in database: Database) -> Entry? {
        read(key, in: database) { _, entry in entry }
    }

    /// `read` lending the entry to `body` (see `Database.withLiveEntry`).
    @discardableResult
    public mutating func read<R>(_ key: Key, in database: Database, _ body: (inout CommandContext, Entry?) -> R) -> R {
        database.withLiveEntry(key) { entry in
            statisticsReference._withUnsafeGuaranteedRef { $0.count(entry == nil ? .keyspaceMisses : .keyspaceHits) }
            if entry == nil { notify(.keyMiss, "keymiss", key.bytes, db: database.index) }
            return body(&self, entry)
        }
    }

    /// Counts changes to the dataset (INFO `rdb_changes_since_last_save`); a write command
    /// that counted none propagates nothing.
    public mutating func dirty(_ changes: Int = 1) {
        self.changes &+= changes
        statisticsReference._withUnsafeGuaranteedRef { $0.count(.dirty, changes) }
    }

    /// What a write did to `key`, stated once: the keyspace event goes out, WATCHes and
    /// client-side caches see the change, and it counts `dirty` changes. A collection left with
    /// `remaining` 0 members is deleted, with a `del` event (Redis keeps no empty collections).
    /// (A store through `store` or `storeString` is seen by WATCH already; it states only the
    /// event and the count.)
    public mutating func changed(_ key: Key, _ type: KeyspaceEventFlags, _ event: String, in db: Database, dirty changes: Int = 1,
                                 remaining: Int? = nil) {
        notify(type, event, key.bytes, db: db.index)
        if remaining == 0 {
            db.discard(key)
            notify(.generic, "del", key.bytes, db: db.index)
        } else {
            db.modified(key)
        }
        dirty(changes)
    }

    // MARK: Arguments

    public var argumentCount: Int { arguments.count }

    public func bytes(_ index: Int) -> [UInt8] {
        Array(arguments[index])
    }

    public func text(_ index: Int) -> String {
        arguments[index].text
    }

    @inlinable
    public func argument(_ index: Int, is word: StaticString) -> Bool {
        arguments[index].equalsIgnoringCase(word)
    }

    /// The argument as an integer in Redis's strict syntax, or nil.
    public func integer(_ index: Int) -> Int? {
        StrictInteger.parse(arguments[index])
    }

    /// The argument as an integer; on failure replies `ERR value is not an integer or out of range`.
    public mutating func integerOrReply(_ index: Int) -> Int? {
        guard let value = integer(index) else {
            error(Errors.notInteger)
            return nil
        }
        return value
    }

    /// The argument as a count: an integer of at least 0, or nil after Redis's range error
    /// (which says "positive" for 0 too).
    public mutating func countOrReply(_ index: Int) -> Int? {
        guard let value = integer(index), value >= 0 else {
            error(Errors.notPositive)
            return nil
        }
        return value
    }

    /// The argument as a C int, as Redis's `getIntFromObjectOrReply` reads it: `message`
    /// replies for anything else when given, Redis's own errors otherwise.
    public mutating func int32OrReply(_ index: Int, message: String? = nil) -> Int? {
        guard let value = integer(index) else {
            error(message ?? Errors.notInteger)
            return nil
        }
        guard Int(Int32.min) ... Int(Int32.max) ~= value else {
            error(message ?? Errors.outOfIntRange)
            return nil
        }
        return value
    }

    /// A database number (SELECT, MOVE, COPY … DB): a C int, then within `databases`.
    public mutating func databaseIndexOrReply(_ index: Int) -> Int? {
        guard let value = int32OrReply(index) else { return nil }
        guard isDatabase(value) else {
            error(Errors.dbIndexOutOfRange)
            return nil
        }
        return value
    }

    public func isDatabase(_ index: Int) -> Bool {
        index >= 0 && index < keyspaceReference._withUnsafeGuaranteedRef { $0.databaseCount }
    }

    /// The argument as a double (`inf`, `-inf` and exponents allowed, NaN refused), or nil.
    public func double(_ index: Int) -> Double? {
        NumberFormat.parseDouble(arguments[index])
    }

    // MARK: Replies

    /// Replies with an error and counts it for INFO errorstats / commandstats.
    public mutating func error(_ message: String) {
        failed = true
        server.statistics.countError(message)
        statistics.count(.errorReplies)
        if session.flags.contains(.master) { errorToMaster(message) }
        reply.error(message)
    }

    /// An error holding a client's bytes unchanged (see `Errors.formatted`).
    public mutating func error(bytes message: [UInt8]) {
        failed = true
        server.statistics.countError(String(decoding: message.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self))
        statistics.count(.errorReplies)
        if session.flags.contains(.master) { errorToMaster(String(decoding: message, as: UTF8.self)) }
        reply.error(bytes: message)
    }

    /// An error applying the master's stream means this replica is drifting from its master:
    /// logged as critical and counted (`unexpected_error_replies`), as Redis does; under
    /// `propagation-error-behavior panic` or `panic-on-replicas`, a read-only replica stops.
    private mutating func errorToMaster(_ message: String) {
        statistics.count(.unexpectedErrorReplies)
        let name = session.lastCommand >= 0 ? commandTable.command(ordinal: session.lastCommand).fullName : "<unknown>"
        server.control?.warn("== CRITICAL == This replica is sending an error to its master: '\(message.prefix(4096))' after processing the command '\(name)'")
        if server.config["propagation-error-behavior"] != "ignore" && server.config.bool("replica-read-only") {
            fatalError("This replica panicked sending an error to its master after processing the command '\(name)'")
        }
    }

    /// GET's reply for `entry`: its string, a null when the key is missing, WRONGTYPE for a
    /// value of another type. Returns whether a string was replied. The entry is only reached
    /// through optional chaining: binding it (`guard let`) would retain it.
    @discardableResult @inline(__always)
    public mutating func replyStringValue(_ entry: Entry?) -> Bool {
        guard let isString = entry?.value.isString else {
            reply.null()
            return false
        }
        guard isString else {
            error(Errors.wrongType)
            return false
        }
        entry?.replyString(into: &reply)
        return true
    }

    /// Replies with a string value, whatever its encoding.
    @inlinable
    public mutating func replyString(_ entry: Entry) {
        entry.replyString(into: &reply)
    }
}

extension Entry {
    /// Writes the string value as a bulk string, whatever its encoding.
    @inlinable
    public func replyString(into reply: inout ReplyWriter) {
        switch value {
        case .embedded:
            withEmbedded { reply.bulk($0) }
        case .integer(let value):
            reply.bulkDecimal(Int(value))
        case .raw(let raw):
            raw.bytes.withUnsafeBytes { reply.bulk($0) }
        default:
            preconditionFailure("callers check isString first")
        }
    }
}
