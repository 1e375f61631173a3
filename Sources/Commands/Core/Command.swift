import RESP
import Synchronization

/// One entry of the command table: everything the dispatcher checks before a handler runs, and
/// everything COMMAND INFO / DOCS / GETKEYS report. Families declare their commands in a table of
/// these (see `StringCommands.table`), so a command's rules are read in one place.
///
/// A class, so the dispatcher passes a reference instead of copying a dozen fields per request.
/// Nothing changes after construction, except a subcommand's `fullName`, which its container's
/// initializer sets before the command can be reached from anywhere else.
public final class Command: @unchecked Sendable {
    public typealias Handler = @Sendable (inout CommandContext) -> Void

    public let name: String
    /// Redis's convention: N means exactly N arguments (the name included), -N at least N.
    public let arity: Int
    public let flags: CommandFlags
    /// Categories beyond those the flags imply (@string, @keyspace, @dangerous, …).
    public let categories: ACLCategories
    public let keySpecs: [KeySpec]
    /// Hints for cluster clients (`request_policy:…`, `nondeterministic_output`, …).
    public let tips: [String]
    public let group: String
    public let since: String
    public let summary: String
    public let handler: Handler?
    public let subcommands: [Command]
    /// Finds the keys where the key specs cannot (SORT's STORE, ZUNIONSTORE's numkeys …).
    public let keyFinder: (@Sendable (Arguments) -> [Int])?
    /// True for a call that reaches keys its arguments do not name (SORT with a BY or GET
    /// pattern): the dispatcher then locks every shard.
    public let locksWholeKeyspace: (@Sendable (Arguments) -> Bool)?
    /// The access flags of a `variable_flags` key spec for one request (SET with or without GET).
    public let variableKeyFlags: (@Sendable (Arguments) -> [String])?
    /// A number unique to this command in the process, the index of its statistics (see
    /// `CommandTable.ordinalLimit`).
    public let ordinal: Int
    private static let nextOrdinal = Atomic<Int>(0)
    /// `container|sub` for a subcommand.
    public private(set) var fullName: String
    /// True when the command has exactly one key, always at position 1 (GET, SET, INCR …): the
    /// dispatcher's allocation-free path.
    public let hasSingleFirstKey: Bool

    public init(_ name: String, arity: Int, flags: CommandFlags = [], categories: ACLCategories = [],
                keys: [KeySpec] = [], tips: [String] = [], group: String = "", since: String = "1.0.0",
                summary: String, keyFinder: (@Sendable (Arguments) -> [Int])? = nil,
                locksWholeKeyspace: (@Sendable (Arguments) -> Bool)? = nil,
                variableKeyFlags: (@Sendable (Arguments) -> [String])? = nil,
                subcommands: [Command] = [], handler: Handler? = nil) {
        self.name = name
        self.fullName = name
        ordinal = Self.nextOrdinal.wrappingAdd(1, ordering: .relaxed).oldValue
        self.arity = arity
        self.flags = flags
        self.categories = categories
        self.keySpecs = keys
        self.tips = tips
        self.group = group
        self.since = since
        self.summary = summary
        self.handler = handler
        self.subcommands = subcommands
        self.isContainer = !subcommands.isEmpty
        self.keyFinder = keyFinder
        self.locksWholeKeyspace = locksWholeKeyspace
        self.variableKeyFlags = variableKeyFlags
        hasSingleFirstKey = keyFinder == nil && keys.count == 1 && keys[0].begin == .index(1)
            && keys[0].find == .range(lastKey: 0, step: 1, limit: 0)
        keySpecsNamingKeys = keys.filter { !$0.flags.contains("not_key") }
        hasKeys = keyFinder != nil || !keySpecsNamingKeys.isEmpty
        for sub in subcommands { sub.fullName = name + "|" + sub.name }
    }

    /// The key specs that name keys: shard channels (SPUBLISH …) have specs flagged `not_key`,
    /// for cluster routing, and no key in the keyspace.
    public let keySpecsNamingKeys: [KeySpec]

    /// Whether the command can name keys at all (COMMAND GETKEYS: "no key arguments" if not).
    public let hasKeys: Bool

    /// A command with subcommands (CONFIG, CLIENT …); stored, as the dispatcher asks every time.
    public let isContainer: Bool

    public func arityAccepts(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// The categories COMMAND INFO reports: the declared ones plus those Redis derives from flags.
    public var allCategories: ACLCategories {
        var all = categories
        if flags.contains(.write) { all.insert(.write) }
        if flags.contains(.readonly) && !categories.contains(.scripting) { all.insert(.read) }
        if flags.contains(.admin) { all.formUnion([.admin, .dangerous]) }
        if flags.contains(.pubsub) { all.insert(.pubsub) }
        if flags.contains(.fast) { all.insert(.fast) }
        if flags.contains(.blocking) { all.insert(.blocking) }
        if !flags.contains(.fast) { all.insert(.slow) }
        return all
    }

    /// The legacy (first, last, step) triple and whether the keys are "movable", derived from the
    /// key specs the way Redis derives them: contiguous index/range specs merge into one range,
    /// anything else makes the keys movable.
    public var legacyKeyRange: (first: Int, last: Int, step: Int, movable: Bool) {
        var first = 0, last = 0, step = 0
        var movable = keyFinder != nil
        for spec in keySpecs {
            guard case .index(let position) = spec.begin, case .range(let lastKey, let keyStep, let limit) = spec.find, limit == 0 else {
                movable = true
                continue
            }
            let specLast = lastKey < 0 ? lastKey : position + lastKey
            if first == 0 {
                (first, last, step) = (position, specLast, keyStep)
            } else if last >= 0 && position == last + step && keyStep == step {
                last = specLast
            } else {
                movable = true
            }
        }
        return (first, last, step, movable)
    }

    /// Calls `body` with the position of every key argument, without building arrays when the
    /// specs are plain index ranges (the common case).
    func forEachKeyPosition(_ arguments: Arguments, _ body: (Int) -> Void) {
        guard keyFinder == nil else {
            for position in keyFinder!(arguments) { body(position) }
            return
        }
        for spec in keySpecsNamingKeys {
            if case .index(let start) = spec.begin, case .range(let lastKey, let step, _) = spec.find {
                let last = lastKey >= 0 ? start + lastKey : arguments.count + lastKey
                guard start < arguments.count, last < arguments.count, last >= start else { continue }
                for position in stride(from: start, through: last, by: step) { body(position) }
            } else {
                for position in spec.positions(in: arguments) ?? [] { body(position) }
            }
        }
    }

    /// The positions of the key arguments in a request (COMMAND GETKEYS, and the shards the
    /// dispatcher locks). Nil when the arguments do not fit the specs.
    public func keyPositions(_ arguments: Arguments) -> [Int]? {
        if let keyFinder { return keyFinder(arguments) }
        var positions: [Int] = []
        for spec in keySpecsNamingKeys {
            guard let found = spec.positions(in: arguments) else { return nil }
            positions += found
        }
        return positions
    }
}

/// Command flags. The ones COMMAND INFO shows come first, in the order Redis prints them.
public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    public static let module = CommandFlags(rawValue: 1 << 3)
    public static let admin = CommandFlags(rawValue: 1 << 4)
    public static let pubsub = CommandFlags(rawValue: 1 << 5)
    public static let noScript = CommandFlags(rawValue: 1 << 6)
    public static let blocking = CommandFlags(rawValue: 1 << 7)
    public static let loading = CommandFlags(rawValue: 1 << 8)
    public static let stale = CommandFlags(rawValue: 1 << 9)
    public static let skipMonitor = CommandFlags(rawValue: 1 << 10)
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 11)
    public static let asking = CommandFlags(rawValue: 1 << 12)
    public static let fast = CommandFlags(rawValue: 1 << 13)
    public static let noAuth = CommandFlags(rawValue: 1 << 14)
    public static let noMandatoryKeys = CommandFlags(rawValue: 1 << 15)
    public static let noAsyncLoading = CommandFlags(rawValue: 1 << 16)
    public static let noMulti = CommandFlags(rawValue: 1 << 17)
    public static let allowBusy = CommandFlags(rawValue: 1 << 18)

    // Not shown by COMMAND INFO in Redis 7.0.
    /// Reaches replicas although it writes no key (PUBLISH); held by CLIENT PAUSE WRITE.
    public static let mayReplicate = CommandFlags(rawValue: 1 << 32)
    /// Refused unless `enable-debug-command` allows it (DEBUG).
    public static let protectedDebug = CommandFlags(rawValue: 1 << 34)
    /// Touches keys it cannot name up front (KEYS, SCAN, FLUSHALL …): it takes its own shard
    /// locks, and a transaction holding it locks every shard.
    public static let keyspaceWide = CommandFlags(rawValue: 1 << 33)

    // Traits Redis decides by the command's name; here they are declared in the table.
    /// Runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
    public static let skipsQueue = CommandFlags(rawValue: 1 << 35)
    /// Allowed to a RESP2 client in Pub/Sub mode ((P|S)(UN)SUBSCRIBE, PING, QUIT, RESET).
    public static let allowedWhileSubscribed = CommandFlags(rawValue: 1 << 36)
    /// EXEC: runs the queued commands, so it writes, may replicate and uses memory when they do,
    /// and a refusal discards them (EXECABORT).
    public static let runsQueue = CommandFlags(rawValue: 1 << 37)
    /// Never held by the pause gate: CLIENT UNPAUSE (Needletail's deliberate difference).
    public static let passesPause = CommandFlags(rawValue: 1 << 38)
    /// Propagated to replicas even when it changed nothing (FLUSHALL, FLUSHDB, PUBLISH).
    public static let alwaysPropagated = CommandFlags(rawValue: 1 << 39)
    /// May reach any key (SCAN, RANDOMKEY): the expirations it causes are propagated alone,
    /// not in a MULTI (Redis's `touches-arbitrary-keys`).
    public static let touchesArbitraryKeys = CommandFlags(rawValue: 1 << 40)
    /// Leaves a CLIENT CACHING mark for the next command (CLIENT CACHING itself).
    public static let keepsCachingMark = CommandFlags(rawValue: 1 << 41)
    /// Refused like a write while snapshots fail (PING: a health check then reports the error).
    public static let reportsDiskError = CommandFlags(rawValue: 1 << 42)

    static let reported: [(CommandFlags, String)] = [
        (.write, "write"), (.readonly, "readonly"), (.denyOOM, "denyoom"), (.module, "module"), (.admin, "admin"),
        (.pubsub, "pubsub"), (.noScript, "noscript"), (.blocking, "blocking"), (.loading, "loading"), (.stale, "stale"),
        (.skipMonitor, "skip_monitor"), (.skipSlowlog, "skip_slowlog"), (.asking, "asking"), (.fast, "fast"),
        (.noAuth, "no_auth"), (.noMandatoryKeys, "no_mandatory_keys"), (.noAsyncLoading, "no_async_loading"),
        (.noMulti, "no_multi"),
    ]
}

/// ACL categories, in the order Redis lists them.
public struct ACLCategories: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let keyspace = ACLCategories(rawValue: 1 << 0)
    public static let read = ACLCategories(rawValue: 1 << 1)
    public static let write = ACLCategories(rawValue: 1 << 2)
    public static let set = ACLCategories(rawValue: 1 << 3)
    public static let sortedSet = ACLCategories(rawValue: 1 << 4)
    public static let list = ACLCategories(rawValue: 1 << 5)
    public static let hash = ACLCategories(rawValue: 1 << 6)
    public static let string = ACLCategories(rawValue: 1 << 7)
    public static let bitmap = ACLCategories(rawValue: 1 << 8)
    public static let hyperloglog = ACLCategories(rawValue: 1 << 9)
    public static let geo = ACLCategories(rawValue: 1 << 10)
    public static let stream = ACLCategories(rawValue: 1 << 11)
    public static let pubsub = ACLCategories(rawValue: 1 << 12)
    public static let admin = ACLCategories(rawValue: 1 << 13)
    public static let fast = ACLCategories(rawValue: 1 << 14)
    public static let slow = ACLCategories(rawValue: 1 << 15)
    public static let blocking = ACLCategories(rawValue: 1 << 16)
    public static let dangerous = ACLCategories(rawValue: 1 << 17)
    public static let connection = ACLCategories(rawValue: 1 << 18)
    public static let transaction = ACLCategories(rawValue: 1 << 19)
    public static let scripting = ACLCategories(rawValue: 1 << 20)

    static let names = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
                        "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
                        "dangerous", "connection", "transaction", "scripting"]

    var reportedNames: [String] {
        Self.names.enumerated().filter { rawValue & (1 << UInt32($0.offset)) != 0 }.map { "@" + $0.element }
    }
}

/// Where a command's keys are, as Redis 7's key specifications describe it.
public struct KeySpec: Sendable, Equatable {
    public enum BeginSearch: Sendable, Equatable {
        case index(Int)
        case keyword(String, startFrom: Int)
        case unknown
    }

    public enum FindKeys: Sendable, Equatable {
        /// `lastKey` relative to the first key (negative: from the end), every `step`-th argument.
        case range(lastKey: Int, step: Int, limit: Int)
        /// The argument at `index` (relative to the first) says how many keys follow from `firstKey`.
        case keynum(index: Int, firstKey: Int, step: Int)
        case unknown
    }

    public let flags: [String]
    public let begin: BeginSearch
    public let find: FindKeys

    public init(_ flags: String, _ begin: BeginSearch, _ find: FindKeys) {
        self.flags = flags.split(separator: " ").map(String.init)
        self.begin = begin
        self.find = find
    }

    /// One key at `position`.
    public static func key(_ position: Int, _ flags: String) -> KeySpec {
        KeySpec(flags, .index(position), .range(lastKey: 0, step: 1, limit: 0))
    }

    /// Keys from `position` to `last` (negative: counted from the end), every `step`-th.
    public static func keys(from position: Int, last: Int = -1, step: Int = 1, _ flags: String) -> KeySpec {
        KeySpec(flags, .index(position), .range(lastKey: last, step: step, limit: 0))
    }

    func positions(in arguments: Arguments) -> [Int]? {
        let count = arguments.count
        var start: Int
        switch begin {
        case .index(let index):
            start = index
        case .keyword(let keyword, let startFrom):
            let utf8 = Array(keyword.utf8)
            let candidates = startFrom >= 0 ? Array(startFrom ..< count) : Array(stride(from: count + startFrom, to: 0, by: -1))
            guard let found = candidates.first(where: { arguments[$0].equalsIgnoringCase(utf8) }) else { return [] }
            start = found + 1
        case .unknown:
            return []
        }
        guard start < count else { return start == count && find == .range(lastKey: -1, step: 1, limit: 0) ? [] : nil }
        switch find {
        case .range(let lastKey, let step, _):
            let last = lastKey >= 0 ? start + lastKey : count + lastKey
            guard last < count, last >= start else { return nil }
            return Array(stride(from: start, through: last, by: step))
        case .keynum(let index, let firstKey, let step):
            guard start + index < count, let number = StrictInteger.parse(arguments[start + index]), number >= 0 else { return nil }
            let first = start + firstKey
            // A count from the client: bounded by the arguments before any arithmetic.
            guard number <= count, first + (number - 1) * step < count else { return nil }
            return (0 ..< number).map { first + $0 * step }
        case .unknown:
            return []
        }
    }
}
