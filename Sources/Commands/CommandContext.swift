import Engine
import RESP

/// What a command handler works with: its arguments, the reply writer, the client, the server.
///
/// One context lives as long as its connection and is reused for every request, so the reply
/// buffer stays uniquely referenced and nothing is allocated per command.
public struct CommandContext {
    public var reply: ReplyWriter
    // The connection owns its session, and the server's shared objects outlive every
    // connection: holding them unowned keeps the request path free of reference counting (on
    // cache lines all loops share, for the server's).
    public unowned(unsafe) let session: ClientSession
    public unowned(unsafe) let server: ServerState
    public unowned(unsafe) let keyspace: Keyspace
    public unowned(unsafe) let statistics: LoopStatistics
    unowned(unsafe) let commandTable: CommandTable
    unowned(unsafe) let clock: ClockSource
    unowned(unsafe) let events: KeyspaceEvents
    unowned(unsafe) let pause: PauseGate
    unowned(unsafe) let tracking: Tracking
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
    /// Whether a blocking command may block here (see `BlockingMode`).
    public internal(set) var blocking = BlockingMode.mayBlock
    /// Set by a blocking command that parked the client: the connection then waits.
    public var parked: BlockedClient?
    /// Set when the pause gate held the request: it was not run, and runs again from scratch
    /// when the gate opens.
    public var postponed = false
    /// Set when a client being served still has nothing to take.
    var stillBlocked = false
    /// The clock reading that ended the last command of the current read batch (0 at its start).
    var lastClockReading: Int64 = 0

    public init(reply: ReplyWriter, session: ClientSession, server: ServerState, statistics: LoopStatistics) {
        self.reply = reply
        self.session = session
        self.server = server
        self.keyspace = server.keyspace
        self.statistics = statistics
        self.commandTable = server.commands
        self.clock = server.clock
        self.events = server.keyspaceEvents
        self.pause = server.pause
        self.tracking = server.tracking
        self.arguments = Arguments(base: UnsafeRawBufferPointer(start: nil, count: 0), spans: UnsafeBufferPointer(start: nil, count: 0))
    }

    /// Called by the connection before each read batch: the next command reads the clock afresh.
    public mutating func beginBatch() {
        lastClockReading = 0
    }

    // MARK: Keys and the keyspace

    /// The client's selected database, at this command's time.
    public var database: Database {
        var database = Database(keyspace: keyspace, index: session.database, now: now, holdsAllShards: holdsAllShards)
        database.touches = !session.flags.contains(.noTouch)
        if tracking.active.load(ordering: .relaxed) > 0 { database.changes = changeLog }
        return database
    }

    @inlinable
    public func key(_ index: Int) -> Key {
        Key(arguments[index])
    }

    /// A lookup for reading: counts a keyspace hit or miss, and publishes `keymiss` on a miss.
    public mutating func read(_ key: Key, in database: Database) -> Entry? {
        let entry = database.lookup(key)
        statistics.count(entry == nil ? .keyspaceMisses : .keyspaceHits)
        if entry == nil { notify(.keyMiss, "keymiss", key.bytes, db: database.index) }
        return entry
    }

    /// Counts changes to the dataset (INFO `rdb_changes_since_last_save`).
    public func dirty(_ changes: Int = 1) {
        statistics.count(.dirty, changes)
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
        reply.error(message)
    }

    /// Replies with a string value, whatever its encoding.
    @inlinable
    public mutating func replyString(_ entry: Entry) {
        switch entry.value {
        case .embedded:
            entry.withEmbedded { reply.bulk($0) }
        case .integer(let value):
            reply.bulkDecimal(Int(value))
        case .raw(let raw):
            raw.bytes.withUnsafeBytes { reply.bulk($0) }
        default:
            preconditionFailure("callers check isString first")
        }
    }
}
