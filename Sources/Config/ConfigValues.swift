/// Readers for the value syntaxes that several directives share.
public enum ConfigValues {
    /// `1024`, `1k` (1000), `1kb` (1024), `5m`, `5mb`, `2g`, `2gb`, `10b`; case-insensitive; no sign, no fractions.
    public static func memory(_ text: String) -> UInt64? {
        let lower = text.lowercased()
        let units: [(String, UInt64)] = [("kb", 1024), ("mb", 1024 * 1024), ("gb", 1024 * 1024 * 1024),
                                         ("k", 1000), ("m", 1_000_000), ("g", 1_000_000_000), ("b", 1)]
        var digits = Substring(lower)
        var multiplier: UInt64 = 1
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            digits = lower.dropLast(suffix.count)
            multiplier = factor
            break
        }
        // No digits at all reads as 0, as Redis's strtoull-based parse reads it.
        if digits.isEmpty { return 0 }
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt64(digits) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// `save <seconds> <changes> [<seconds> <changes> ...]`, or `save ""` for none.
    static let save = CustomDirective { arguments, previous throws(ConfigError) in
        let words = arguments.flatMap { $0.split(separator: " ").map(String.init) }
        if words.isEmpty { return "" }
        guard words.count % 2 == 0, words.allSatisfy({ Int(strict: $0).map { $0 >= 0 } ?? false }) else {
            throw .invalid("Invalid save parameters")
        }
        return words.joined(separator: " ")
    }

    /// `bind <address> ...`; a `-` prefix marks an address that may be unavailable.
    static let bind = CustomDirective { arguments, _ throws(ConfigError) in
        let words = arguments.flatMap { $0.split(separator: " ").map(String.init) }
        guard !words.isEmpty, words.count <= 16 else { throw .invalid("Too many bind addresses specified.") }
        return words.joined(separator: " ")
    }

    /// `client-output-buffer-limit <class> <hard> <soft> <seconds>` — per class, so lines combine;
    /// CONFIG GET shows all three classes.
    static let clientOutputBufferLimit = CustomDirective { arguments, previous throws(ConfigError) in
        let words = arguments.flatMap { $0.split(separator: " ").map(String.init) }
        guard words.count % 4 == 0 else {
            throw .invalid("Wrong number of arguments in buffer limit configuration.")
        }
        var limits = OutputBufferLimits(previous)
        for start in stride(from: 0, to: words.count, by: 4) {
            guard let kind = OutputBufferLimits.Class(name: words[start]),
                  let hard = memory(words[start + 1]), let soft = memory(words[start + 2]),
                  let seconds = Int(strict: words[start + 3]), seconds >= 0 else {
                throw .invalid("Wrong number of arguments in buffer limit configuration.")
            }
            limits[kind] = .init(hard: Int(clamping: hard), soft: Int(clamping: soft), seconds: seconds)
        }
        return limits.description
    }

    /// `notify-keyspace-events` flags: stored without loss, shown as Redis shows them.
    static let notifyKeyspaceEvents = CustomDirective(parse: { arguments, _ throws(ConfigError) in
        guard arguments.count == 1, let events = KeyspaceEventFlags(arguments[0]) else {
            throw .invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        }
        return events.canonical
    }, display: { KeyspaceEventFlags($0)?.description ?? $0 })

    static let oomScoreAdjustValues = CustomDirective { arguments, _ throws(ConfigError) in
        let words = arguments.flatMap { $0.split(separator: " ").map(String.init) }
        guard words.count == 3 else { throw .invalid("wrong number of arguments") }
        guard words.allSatisfy({ Int(strict: $0).map { (-2000 ... 2000).contains($0) } ?? false }) else {
            throw .invalid("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        }
        return words.joined(separator: " ")
    }

    static let percentiles = CustomDirective { arguments, _ throws(ConfigError) in
        let words = arguments.flatMap { $0.split(separator: " ").map(String.init) }
        let values = words.map { Double($0).flatMap { $0.isNaN ? nil : $0 } }
        guard !values.contains(nil) else { throw .invalid("Invalid latency-tracking-info-percentiles parameters") }
        guard values.allSatisfy({ (0 ... 100).contains($0!) }) else {
            throw .invalid("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        }
        return words.joined(separator: " ")
    }

    /// `replicaof <host> <port>` or `replicaof no one`.
    static let replicaOf = CustomDirective { arguments, _ throws(ConfigError) in
        let words = arguments.flatMap { $0.split(separator: " ").map(String.init) }
        if words.isEmpty { return "" }
        guard words.count == 2 else { throw .wrongArgumentCount }
        if words[0].lowercased() == "no" && words[1].lowercased() == "one" { return "" }
        guard let port = Int(strict: words[1]), (0 ... 65535).contains(port) else { throw .invalid("Invalid master port") }
        return "\(words[0]) \(port)"
    }

    /// `maxmemory-clients`: bytes, or a percentage of maxmemory.
    static let memoryOrPercent = CustomDirective { arguments, _ throws(ConfigError) in
        guard arguments.count == 1 else { throw .wrongArgumentCount }
        let text = arguments[0]
        if text.hasSuffix("%"), let percent = Int(strict: String(text.dropLast())), percent >= 0 { return "\(percent)%" }
        guard let bytes = memory(text) else { throw .invalid("argument must be a memory or percent value") }
        // Redis keeps percentages as negative numbers: a byte count past Int64 reads as one.
        guard bytes <= UInt64(Int.max) else { throw .invalid("percentage argument must be less or equal to 100") }
        return String(bytes)
    }

    /// `shutdown-on-sigint` / `shutdown-on-sigterm`: SHUTDOWN's flags, any of `save nosave now
    /// force`, or `default` for none, shown in that order.
    static let shutdownFlags = ["save", "nosave", "now", "force"]
    static let shutdownOnSignal = CustomDirective { arguments, _ throws(ConfigError) in
        let words = arguments.flatMap { $0.split(separator: " ") }.map { $0.lowercased() }
        guard !words.isEmpty, words.allSatisfy({ $0 == "default" || shutdownFlags.contains($0) }) else {
            throw .invalid("argument(s) must be one of the following: default, " + shutdownFlags.joined(separator: ", "))
        }
        if words.contains("save") && words.contains("nosave") {
            throw .invalid("shutdown options SAVE and NOSAVE can't be used simultaneously")
        }
        let flags = shutdownFlags.filter(words.contains)
        return flags.isEmpty ? "default" : flags.joined(separator: " ")
    }

    /// `proc-title-template`: valid when it expands, and not to nothing with an empty title.
    static let processTitleTemplate = CustomDirective { arguments, _ throws(ConfigError) in
        guard arguments.count == 1 else { throw .wrongArgumentCount }
        let placeholders = ["title": "", "server-mode": "", "unixsocket": ""]
        guard let expanded = ProcessTitle.expand(arguments[0], { placeholders[$0] ?? "x" }), !expanded.isEmpty else {
            throw .invalid("template format is invalid or contains unknown variables")
        }
        return arguments[0]
    }

    static let octal = CustomDirective { arguments, _ throws(ConfigError) in
        guard arguments.count == 1, let value = Int(arguments[0], radix: 8), value >= 0, value <= 0o777 else {
            throw .invalid("Invalid socket file permissions")
        }
        return String(value, radix: 8)
    }
}

/// The process title `set-proc-title` shows: `proc-title-template` with its `{variables}`
/// (Redis's: title, listen-addr, server-mode, config-file, port, tls-port, unixsocket) replaced
/// and `{{` read as `{`, trimmed of spaces.
public enum ProcessTitle {
    static let variables: Set<String> = ["title", "listen-addr", "server-mode", "config-file", "port", "tls-port", "unixsocket"]

    /// Nil for an unknown variable or an unclosed `{`.
    public static func expand(_ template: String, _ value: (String) -> String) -> String? {
        var result = "", rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            rest = rest[rest.index(after: open)...]
            if rest.first == "{" {
                result += "{"
                rest = rest.dropFirst()
                continue
            }
            guard let close = rest.firstIndex(of: "}"), variables.contains(String(rest[..<close])) else { return nil }
            result += value(String(rest[..<close]))
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return String(result.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// The three `client-output-buffer-limit` classes and their limits.
public struct OutputBufferLimits: Sendable, Equatable, CustomStringConvertible {
    public enum Class: Int, CaseIterable, Sendable {
        case normal, replica, pubsub

        init?(name: String) {
            switch name.lowercased() {
            case "normal": self = .normal
            case "replica", "slave": self = .replica
            case "pubsub": self = .pubsub
            default: return nil
            }
        }

        var configName: String { ["normal", "slave", "pubsub"][rawValue] }
    }

    public struct Limit: Sendable, Equatable {
        public var hard: Int
        public var soft: Int
        public var seconds: Int
    }

    private var limits: [Limit] = [
        Limit(hard: 0, soft: 0, seconds: 0),
        Limit(hard: 256 << 20, soft: 64 << 20, seconds: 60),
        Limit(hard: 32 << 20, soft: 8 << 20, seconds: 60),
    ]

    public init(_ text: String) {
        let words = text.split(separator: " ").map(String.init)
        guard words.count == 12 else { return }
        for start in stride(from: 0, to: 12, by: 4) {
            if let kind = Class(name: words[start]), let hard = Int(words[start + 1]), let soft = Int(words[start + 2]),
               let seconds = Int(words[start + 3]) {
                limits[kind.rawValue] = Limit(hard: hard, soft: soft, seconds: seconds)
            }
        }
    }

    public subscript(kind: Class) -> Limit {
        get { limits[kind.rawValue] }
        set { limits[kind.rawValue] = newValue }
    }

    public var description: String {
        Class.allCases.map { "\($0.configName) \(self[$0].hard) \(self[$0].soft) \(self[$0].seconds)" }.joined(separator: " ")
    }
}

/// Which keyspace notifications are enabled (`notify-keyspace-events`).
public struct KeyspaceEventFlags: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let keyspace = KeyspaceEventFlags(rawValue: 1 << 0)   // K
    public static let keyevent = KeyspaceEventFlags(rawValue: 1 << 1)   // E
    public static let generic = KeyspaceEventFlags(rawValue: 1 << 2)    // g
    public static let string = KeyspaceEventFlags(rawValue: 1 << 3)     // $
    public static let list = KeyspaceEventFlags(rawValue: 1 << 4)       // l
    public static let set = KeyspaceEventFlags(rawValue: 1 << 5)        // s
    public static let hash = KeyspaceEventFlags(rawValue: 1 << 6)       // h
    public static let sortedSet = KeyspaceEventFlags(rawValue: 1 << 7)  // z
    public static let expired = KeyspaceEventFlags(rawValue: 1 << 8)    // x
    public static let evicted = KeyspaceEventFlags(rawValue: 1 << 9)    // e
    public static let stream = KeyspaceEventFlags(rawValue: 1 << 10)    // t
    public static let keyMiss = KeyspaceEventFlags(rawValue: 1 << 11)   // m
    public static let module = KeyspaceEventFlags(rawValue: 1 << 12)    // d
    public static let newKey = KeyspaceEventFlags(rawValue: 1 << 13)    // n
    /// `A`: every class except key-miss and new-key.
    public static let all: KeyspaceEventFlags = [.generic, .string, .list, .set, .hash, .sortedSet, .expired, .evicted, .stream, .module]

    /// In the order CONFIG GET prints them.
    private static let letters: [(Character, KeyspaceEventFlags)] = [
        ("g", .generic), ("$", .string), ("l", .list), ("s", .set), ("h", .hash), ("z", .sortedSet),
        ("x", .expired), ("e", .evicted), ("t", .stream), ("d", .module), ("n", .newKey),
        ("K", .keyspace), ("E", .keyevent), ("m", .keyMiss),
    ]

    public init?(_ text: String) {
        var flags: KeyspaceEventFlags = []
        for character in text {
            if character == "A" { flags.formUnion(.all); continue }
            guard let flag = Self.letters.first(where: { $0.0 == character })?.1 else { return nil }
            flags.formUnion(flag)
        }
        self = flags
    }

    /// Every flag, `A` standing for the whole class set: what the configuration stores.
    public var canonical: String {
        isSuperset(of: [.all, .newKey]) ? "An" + description.dropFirst() : description
    }

    /// The form CONFIG GET shows, as Redis 7.0 prints it: `A` stands for the whole class set
    /// (and, as in Redis, then hides `n` although it stays enabled), followed by `K`, `E` and `m`.
    public var description: String {
        var text = ""
        let classes = Self.letters.prefix(11)
        if isSuperset(of: .all) {
            text = "A"
        } else {
            for (letter, flag) in classes where contains(flag) { text.append(letter) }
        }
        for (letter, flag) in Self.letters.suffix(3) where contains(flag) { text.append(letter) }
        return text
    }
}
