import Locks
import Engine
import NIOCore
import Synchronization

/// What the server layer provides for one client connection: the only way command code reaches
/// a socket, and only to close it or to run work on the connection's event loop.
public protocol ClientConnection: AnyObject, Sendable {
    /// Closes the connection once pending replies are written (CLIENT KILL, QUIT, timeout).
    func close()
    /// Runs `work` on the connection's event loop.
    func execute(_ work: @escaping @Sendable () -> Void)
    /// Sends bytes that are not a reply to the client's own request (Pub/Sub messages),
    /// from any thread; they go out after the replies already written, in `deliver` order.
    func deliver(_ bytes: ByteBuffer)
    /// Ends a blocking command's wait (from any thread): the connection writes the outcome
    /// and goes on with the requests it held back.
    func resume(_ outcome: BlockedOutcome)
}

/// One client's state as commands see it.
///
/// Thread discipline: the `var`s below `// Loop-confined` are touched only on the connection's
/// event loop (every command of this client runs there). What other clients may read (CLIENT
/// LIST, CLIENT KILL, INFO) is either immutable or in `published`, behind its lock.
public final class ClientSession: @unchecked Sendable {
    public let id: Int
    public let address: String
    public let localAddress: String
    public let fd: Int
    public let createdAt: Int64
    public let isUnixSocket: Bool
    /// How to reach the connection from other threads (CLIENT KILL, wake-ups).
    public let connection: (any ClientConnection)?

    /// The fields other threads read, refreshed by the connection after every read batch.
    public let published: Lock<Published>

    public struct Published: Sendable {
        public var name = ""
        public var libraryName = ""
        public var libraryVersion = ""
        public var user = "default"
        public var database = 0
        public var protocolVersion = 2
        public var flags: ClientFlags = []
        public var lastInteraction: Int64
        public var lastCommand = -1
        public var multiCount = -1
        public var subscriptions = 0
        public var patternSubscriptions = 0
        public var shardSubscriptions = 0
        public var memory = ClientMemory()
    }

    // Loop-confined.
    public var database = 0
    public var protocolVersion = 2
    public var authenticated: Bool
    public var flags: ClientFlags = []
    /// The ordinal of the last command executed (-1 for none), for CLIENT LIST `cmd=`.
    public var lastCommand = -1
    /// Set by QUIT: the connection closes once the reply is written.
    public var closeAfterReply = false
    /// CLIENT CACHING was given for the next command (OPTIN: track it; OPTOUT: do not).
    public var trackingCaching = false
    /// The replication stream's offset after this client's last propagated write: WAIT waits
    /// for replicas to acknowledge it. Atomic: a blocked client's command may run on the loop
    /// that served it.
    public let writeOffset = Atomic<Int64>(0)
    /// CLIENT REPLY: whether this client's replies are sent.
    public var replyMode = ReplyMode.on

    public enum ReplyMode: Sendable {
        case on, off
        /// CLIENT REPLY SKIP ran: the next command's reply is dropped.
        case skipNext
        /// The command running now has its reply dropped.
        case skipThis
    }
    /// Pub/Sub subscriptions: channels, patterns, shard channels.
    public var channels: Set<Element> = [] { didSet { updateSubscribed() } }
    public var patterns: Set<Element> = [] { didSet { updateSubscribed() } }
    public var shardChannels: Set<Element> = [] { didSet { updateSubscribed() } }

    /// MULTI: the commands queued for EXEC; nil outside a transaction.
    public var transaction: Transaction?
    /// WATCHed keys. Each is registered with its shard under `watchToken`, which any change
    /// to one of them marks dirty.
    public var watchedKeys: [DatabaseKey] = []
    public let watchToken = WatchToken()

    /// The blocking command (BLPOP …) this client waits in, if any. Shared: CLIENT UNBLOCK and
    /// CLIENT LIST read it from other loops.
    public let blocked = Lock<BlockedClient?>(nil)

    /// The flags CLIENT LIST shows, from the live state (loop-confined).
    public var currentFlags: ClientFlags {
        var flags = flags
        if isSubscribed { flags.insert(.pubsub) }
        if transaction != nil { flags.insert(.multi) }
        if watchToken.dirty.load(ordering: .relaxed) { flags.insert(.dirtyCAS) }
        return flags
    }

    /// In RESP2 a subscribed client may only (un)subscribe, PING, QUIT or RESET.
    /// Kept as a flag (the dispatcher tests it on every RESP2 command).
    public private(set) var isSubscribed = false

    private func updateSubscribed() {
        isSubscribed = !channels.isEmpty || !patterns.isEmpty || !shardChannels.isEmpty
    }

    public init(id: Int, address: String, localAddress: String, fd: Int, createdAt: Int64,
                authenticated: Bool, isUnixSocket: Bool = false, connection: (any ClientConnection)? = nil) {
        self.id = id
        self.connection = connection
        self.address = address
        self.localAddress = localAddress
        self.fd = fd
        self.createdAt = createdAt
        self.authenticated = authenticated
        self.isUnixSocket = isUnixSocket
        published = Lock(Published(lastInteraction: createdAt))
    }

    /// `127.0.0.1:6379` or `[::1]:6379`, as CLIENT LIST prints addresses.
    public static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else { return "" }
        if case .v6 = address { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }

    /// Whether the client connects from 127.0.0.1, ::1 or a Unix socket, as Redis judges it
    /// (`protected-mode`, `enable-debug-command local`): another 127.x address is not local.
    public var isLocal: Bool {
        isUnixSocket || address.hasPrefix("127.0.0.1:") || address.hasPrefix("[::1]:")
    }

    /// Copies the loop-confined state that CLIENT LIST shows into `published`.
    public func publish(now: Int64, memory: ClientMemory) {
        let database = database, protocolVersion = protocolVersion, lastCommand = lastCommand
        let flags = currentFlags
        let multiCount = transaction?.commands.count ?? -1
        let counts = (channels.count, patterns.count, shardChannels.count)
        published.withLock {
            $0.database = database
            $0.protocolVersion = protocolVersion
            $0.flags = flags
            $0.lastCommand = lastCommand
            $0.multiCount = multiCount
            $0.lastInteraction = now
            $0.memory = memory
            ($0.subscriptions, $0.patternSubscriptions, $0.shardSubscriptions) = counts
        }
    }

    public var name: String {
        get { published.withLock { $0.name } }
        set { published.withLock { $0.name = newValue } }
    }
}

/// Buffer sizes shown by CLIENT LIST (`qbuf`, `omem` …), measured by the connection.
public struct ClientMemory: Sendable, Equatable {
    public var queryBuffer = 0
    public var queryBufferFree = 0
    public var argumentsMemory = 0
    public var multiMemory = 0
    public var replyBufferSize = 0
    public var replyBufferPeak = 0
    public var outputBufferLength = 0
    public var outputListLength = 0
    public var outputMemory = 0

    public init() {}

    /// `tot-mem`: everything the client holds.
    public var total: Int {
        queryBuffer + queryBufferFree + argumentsMemory + multiMemory + replyBufferSize + outputMemory
    }
}

/// Client states that CLIENT LIST shows as flag letters.
public struct ClientFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let replica = ClientFlags(rawValue: 1 << 0)
    public static let monitor = ClientFlags(rawValue: 1 << 1)
    public static let master = ClientFlags(rawValue: 1 << 2)
    public static let pubsub = ClientFlags(rawValue: 1 << 3)
    public static let multi = ClientFlags(rawValue: 1 << 4)
    public static let blocked = ClientFlags(rawValue: 1 << 5)
    public static let tracking = ClientFlags(rawValue: 1 << 6)
    public static let trackingBrokenRedirect = ClientFlags(rawValue: 1 << 7)
    public static let trackingBroadcast = ClientFlags(rawValue: 1 << 8)
    public static let dirtyCAS = ClientFlags(rawValue: 1 << 9)
    public static let closeAfterReply = ClientFlags(rawValue: 1 << 10)
    public static let unblocked = ClientFlags(rawValue: 1 << 11)
    public static let closeASAP = ClientFlags(rawValue: 1 << 12)
    public static let unixSocket = ClientFlags(rawValue: 1 << 13)
    public static let readonly = ClientFlags(rawValue: 1 << 14)
    public static let noEvict = ClientFlags(rawValue: 1 << 15)
    public static let noTouch = ClientFlags(rawValue: 1 << 16)

    /// The letters, in the order CLIENT LIST prints them; `N` when none applies.
    public var letters: String {
        var text = ""
        if contains(.monitor) { text += "O" } else if contains(.replica) { text += "S" }
        let rest: [(ClientFlags, String)] = [
            (.master, "M"), (.pubsub, "P"), (.multi, "x"), (.blocked, "b"), (.tracking, "t"),
            (.trackingBrokenRedirect, "R"), (.trackingBroadcast, "B"), (.dirtyCAS, "d"), (.closeAfterReply, "c"),
            (.unblocked, "u"), (.closeASAP, "A"), (.unixSocket, "U"), (.readonly, "r"), (.noEvict, "e"), (.noTouch, "T"),
        ]
        for (flag, letter) in rest where contains(flag) { text += letter }
        return text.isEmpty ? "N" : text
    }

    /// CLIENT LIST / CLIENT KILL `TYPE`.
    public var typeName: String {
        if contains(.master) { return "master" }
        if contains(.replica) && !contains(.monitor) { return "replica" }
        if contains(.pubsub) { return "pubsub" }
        return "normal"
    }
}
