import RESP

/// One configuration directive: how its arguments are read, what CONFIG GET shows, whether
/// CONFIG SET may change it at run time.
public struct Directive: Sendable {
    public enum Kind: Sendable {
        case bool
        case integer(ClosedRange<Int>)
        /// Bytes, written with an optional unit (`k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`).
        case memory(ClosedRange<Int>)
        /// Like `.memory` but over the whole unsigned 64-bit range (maxmemory).
        case unsignedMemory
        case enumeration([String])
        case string
        /// Parsed and printed by its own functions (save, bind, client-output-buffer-limit, …).
        case custom(CustomDirective)
    }

    public let name: String
    public let aliases: [String]
    public let kind: Kind
    public let defaultValue: String
    /// False for directives CONFIG SET refuses ("can't set immutable config").
    public let mutable: Bool
    /// Refused by CONFIG SET unless `enable-protected-configs` allows it.
    public let protected: Bool
    /// Lines that repeat add to the value instead of replacing it (`save 900 1` + `save 300 10`).
    public let accumulates: Bool
    /// An accepted integer is brought into this range (`hz` 1000 becomes 500).
    public var clamp: ClosedRange<Int>?
    /// A test and debugging setting Redis leaves out of `CONFIG GET` patterns: only its exact
    /// name shows it.
    public var hidden = false

    public init(_ name: String, _ kind: Kind, default defaultValue: String, aliases: [String] = [],
                mutable: Bool = true, protected: Bool = false, accumulates: Bool = false) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.aliases = aliases
        self.mutable = mutable
        self.protected = protected
        self.accumulates = accumulates
    }

    public static func bool(_ name: String, _ value: Bool, aliases: [String] = [], mutable: Bool = true) -> Directive {
        Directive(name, .bool, default: value ? "yes" : "no", aliases: aliases, mutable: mutable)
    }

    public static func integer(_ name: String, _ value: Int, _ range: ClosedRange<Int>, aliases: [String] = [], mutable: Bool = true) -> Directive {
        Directive(name, .integer(range), default: String(value), aliases: aliases, mutable: mutable)
    }

    /// The same directive, left out of `CONFIG GET` patterns.
    public func hiddenFromPatterns() -> Directive {
        var copy = self
        copy.hidden = true
        return copy
    }

    /// The same directive with accepted values brought into `range`.
    public func clamped(to range: ClosedRange<Int>) -> Directive {
        var copy = self
        copy.clamp = range
        return copy
    }

    public static func memory(_ name: String, _ value: Int, _ range: ClosedRange<Int>, aliases: [String] = [], mutable: Bool = true) -> Directive {
        Directive(name, .memory(range), default: String(value), aliases: aliases, mutable: mutable)
    }

    public static func memory(_ name: String, _ value: Int, unsigned: Bool) -> Directive {
        Directive(name, .unsignedMemory, default: String(value))
    }

    public static func enumeration(_ name: String, _ value: String, _ values: [String], aliases: [String] = [], mutable: Bool = true) -> Directive {
        Directive(name, .enumeration(values), default: value, aliases: aliases, mutable: mutable)
    }

    public static func string(_ name: String, _ value: String, aliases: [String] = [], mutable: Bool = true, protected: Bool = false) -> Directive {
        Directive(name, .string, default: value, aliases: aliases, mutable: mutable, protected: protected)
    }

    /// The value as CONFIG GET and CONFIG REWRITE show it.
    public func displayed(_ value: String) -> String {
        if case .custom(let custom) = kind, let display = custom.display { return display(value) }
        return value
    }

    /// Reads the arguments of one config line or CONFIG SET value into the canonical form that
    /// CONFIG GET prints, or throws the reason Redis gives.
    public func canonical(_ arguments: [String], previous: String) throws(ConfigError) -> String {
        switch kind {
        case .custom(let custom):
            return try custom.parse(arguments, previous)
        default:
            break
        }
        guard arguments.count == 1 else { throw .wrongArgumentCount }
        let text = arguments[0]
        switch kind {
        case .bool:
            switch text.lowercased() {
            case "yes": return "yes"
            case "no": return "no"
            default: throw .invalid("argument must be 'yes' or 'no'")
            }
        case .integer(let range):
            guard let value = Int(strict: text) else { throw .invalid("argument couldn't be parsed into an integer") }
            guard range.contains(value) else { throw .outOfRange(range) }
            if let clamp { return String(Swift.min(Swift.max(value, clamp.lowerBound), clamp.upperBound)) }
            return String(value)
        case .memory(let range):
            guard let value = ConfigValues.memory(text), value <= UInt64(Int.max) else {
                if ConfigValues.memory(text) != nil { throw .outOfRange(range) }
                throw .invalid("argument must be a memory value")
            }
            guard range.contains(Int(value)) else { throw .outOfRange(range) }
            return String(value)
        case .unsignedMemory:
            guard let value = ConfigValues.memory(text) else { throw .invalid("argument must be a memory value") }
            return String(value)
        case .enumeration(let values):
            guard let match = values.first(where: { $0.caseInsensitiveEquals(text) }) else {
                throw .invalid("argument(s) must be one of the following: " + values.joined(separator: ", "))
            }
            return match
        case .string:
            return text
        case .custom:
            fatalError("handled above")
        }
    }
}

/// A directive whose syntax is its own.
public struct CustomDirective: Sendable {
    /// Arguments and the previous canonical value (for accumulating lines) → canonical value.
    public let parse: @Sendable ([String], String) throws(ConfigError) -> String
    /// How CONFIG GET and CONFIG REWRITE show the canonical value, when that differs from it.
    public let display: (@Sendable (String) -> String)?

    public init(parse: @escaping @Sendable ([String], String) throws(ConfigError) -> String,
                display: (@Sendable (String) -> String)? = nil) {
        self.parse = parse
        self.display = display
    }
}

public enum ConfigError: Error, Equatable, Sendable {
    case invalid(String)
    case outOfRange(ClosedRange<Int>)
    case wrongArgumentCount
    case unknownDirective
    case immutable
    case protected

    /// The reason, as Redis words it after "CONFIG SET failed (...) - ".
    public var reason: String {
        switch self {
        case .invalid(let reason): reason
        case .outOfRange(let range): "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive"
        case .wrongArgumentCount: "wrong number of arguments"
        case .unknownDirective: "Bad directive or wrong number of arguments"
        case .immutable: "can't set immutable config"
        case .protected: "can't set protected config"
        }
    }
}

extension Int {
    /// Redis's strict integer syntax: optional '-', digits, no leading zeros or spaces.
    init?(strict text: String) {
        guard let value = StrictInteger.parse(text) else { return nil }
        self = value
    }
}

extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        lowercased() == other.lowercased()
    }
}
