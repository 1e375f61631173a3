import Locks
import Synchronization

/// The server's configuration: every directive's current value in canonical form, shared by all
/// threads. Parts of the server that must react to a change (the listener to `port`, the logger
/// to `loglevel`) register an observer; CONFIG SET applies several values atomically and rolls
/// them all back if one cannot be applied.
public final class Configuration: Sendable {
    public typealias Observer = @Sendable (_ value: String) throws(ConfigError) -> Void

    public let directives: [Directive]
    /// Lower-cased name or alias → index into `directives`.
    private let index: [String: Int]
    /// The file the configuration was read from (absolute), for CONFIG REWRITE and INFO.
    public let file: String?

    private struct State {
        var values: [String]
        var observers: [Int: [Observer]] = [:]
    }
    private let state: Lock<State>

    public init(file: String? = nil, directives: [Directive] = Directives.all) {
        self.directives = directives
        var index: [String: Int] = [:]
        for (position, directive) in directives.enumerated() {
            index[directive.name] = position
            for alias in directive.aliases { index[alias] = position }
        }
        self.index = index
        self.file = file
        state = Lock(State(values: directives.map(\.defaultValue)))
    }

    public func directive(named name: String) -> Directive? {
        index[name.lowercased()].map { directives[$0] }
    }

    // MARK: Reading

    public subscript(name: String) -> String {
        guard let position = index[name] else { preconditionFailure("unknown directive \(name)") }
        return state.withLock { $0.values[position] }
    }

    public func integer(_ name: String) -> Int {
        Int(self[name]) ?? 0
    }

    public func bool(_ name: String) -> Bool {
        self[name] == "yes"
    }

    /// CONFIG GET: every name and alias that `selects`, with its directive and value.
    public func matching(_ selects: (_ name: String, _ directive: Directive) -> Bool) -> [(name: String, directive: Directive, value: String)] {
        let values = state.withLock { $0.values }
        var result: [(String, Directive, String)] = []
        for (position, directive) in directives.enumerated() {
            for name in [directive.name] + directive.aliases where selects(name, directive) {
                result.append((name, directive, values[position]))
            }
        }
        return result
    }

    // MARK: Changing

    /// Sets a value while loading, before anything observes it (no observers run).
    public func load(_ name: String, _ arguments: [String], appending: Bool) throws(ConfigError) {
        guard let position = index[name.lowercased()] else { throw .unknownDirective }
        let directive = directives[position]
        try state.withLock { (state: inout State) throws(ConfigError) in
            let previous = state.values[position]
            var value = try directive.canonical(arguments, previous: previous)
            if appending && directive.accumulates && !value.isEmpty && !previous.isEmpty { value = previous + " " + value }
            state.values[position] = value
        }
    }

    public func observe(_ name: String, _ observer: @escaping Observer) {
        guard let position = index[name] else { preconditionFailure("unknown directive \(name)") }
        state.withLock { $0.observers[position, default: []].append(observer) }
    }

    public struct SetFailure: Error, Equatable {
        public enum Cause: Equatable, Sendable { case unknown, duplicate, rejected(ConfigError) }
        public let name: String
        public let cause: Cause

        public init(name: String, cause: Cause) {
            self.name = name
            self.cause = cause
        }
    }

    /// CONFIG SET: validates every pair, stores them, then applies them through the observers.
    /// If one cannot be applied, every value is restored and re-applied, and the failure names
    /// the directive that failed.
    public func set(_ pairs: [(name: String, value: String)], allowProtected: Bool = false) throws(SetFailure) {
        var positions: [Int] = []
        var newValues: [String] = []
        for (name, value) in pairs {
            guard let position = index[name.lowercased()] else { throw SetFailure(name: name, cause: .unknown) }
            if positions.contains(position) { throw SetFailure(name: name, cause: .duplicate) }
            let directive = directives[position]
            if !directive.mutable { throw SetFailure(name: name, cause: .rejected(.immutable)) }
            if directive.protected && !allowProtected { throw SetFailure(name: name, cause: .rejected(.protected)) }
            let previous = self[directive.name]
            let canonical: String
            do {
                canonical = try directive.canonical([value], previous: previous)
            } catch {
                throw SetFailure(name: name, cause: .rejected(error))
            }
            if let reason = Directives.refusal(of: canonical, for: directive) {
                throw SetFailure(name: name, cause: .rejected(.invalid(reason)))
            }
            newValues.append(canonical)
            positions.append(position)
        }
        let (oldValues, observers) = state.withLock { state in
            let old = positions.map { state.values[$0] }
            for (position, value) in zip(positions, newValues) { state.values[position] = value }
            return (old, positions.map { state.observers[$0] ?? [] })
        }
        for (offset, position) in positions.enumerated() where oldValues[offset] != newValues[offset] {
            do {
                for observer in observers[offset] { try observer(newValues[offset]) }
            } catch {
                state.withLock { state in
                    for (position, value) in zip(positions, oldValues) { state.values[position] = value }
                }
                for undo in 0 ... offset where oldValues[undo] != newValues[undo] {
                    for observer in observers[undo] { try? observer(oldValues[undo]) }
                }
                throw SetFailure(name: directives[position].name, cause: .rejected(error))
            }
        }
    }

    /// Every directive's value, for CONFIG REWRITE.
    public func snapshot() -> [(Directive, String)] {
        let values = state.withLock { $0.values }
        return Array(zip(directives, values))
    }
}
