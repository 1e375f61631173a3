import Locks
import Engine
import NIOCore
import RESP
import Synchronization

/// Who listens to what. Publishing formats each message once per protocol version and hands
/// it to every receiver's connection while holding the hub's lock, so every subscriber sees
/// messages in one global publish order, whichever event loops publishers and subscribers
/// sit on.
public final class PubSubHub: Sendable {
    public enum Kind: Sendable {
        case channel, pattern, shard
    }

    private struct State {
        var channels: [Element: [ClientSession]] = [:]
        var patterns: [Element: [ClientSession]] = [:]
        var shardChannels: [Element: [ClientSession]] = [:]

        subscript(kind: Kind) -> [Element: [ClientSession]] {
            get {
                switch kind {
                case .channel: channels
                case .pattern: patterns
                case .shard: shardChannels
                }
            }
            set {
                switch kind {
                case .channel: channels = newValue
                case .pattern: patterns = newValue
                case .shard: shardChannels = newValue
                }
            }
        }
    }

    private let state = Lock(State())

    public init() {}

    /// Adds `session` to `name`'s listeners; returns false when it was already one.
    func subscribe(_ session: ClientSession, to name: Element, kind: Kind) -> Bool {
        state.withLock { state in
            var listeners = state[kind][name] ?? []
            guard !listeners.contains(where: { $0 === session }) else { return false }
            listeners.append(session)
            state[kind][name] = listeners
            return true
        }
    }

    /// Removes `session` from `name`'s listeners; returns false when it was not one.
    func unsubscribe(_ session: ClientSession, from name: Element, kind: Kind) -> Bool {
        state.withLock { state in
            guard var listeners = state[kind][name], let index = listeners.firstIndex(where: { $0 === session }) else { return false }
            listeners.remove(at: index)
            state[kind][name] = listeners.isEmpty ? nil : listeners
            return true
        }
    }

    /// Delivers a message; returns how many clients received it. A receiver that is the
    /// publishing client itself gets the message in `current` (before the PUBLISH reply, as
    /// Redis orders it); others through their connection.
    @discardableResult
    public func publish(_ channel: Element, _ message: Element, shard: Bool = false, current: inout ReplyWriter,
                        currentSession: ClientSession?) -> Int {
        func deliver(_ session: ClientSession, _ format: (inout ReplyWriter) -> Void) {
            if session === currentSession {
                current.push(format)
                return
            }
            let version = session.published.withLock { $0.protocolVersion } >= 3 ? 3 : 2
            var writer = ReplyWriter(buffer: ByteBuffer(), protocolVersion: version)
            format(&writer)
            session.connection?.deliver(writer.buffer)
        }
        return state.withLock { state in
            var receivers = 0
            if shard {
                for session in state.shardChannels[channel] ?? [] {
                    deliver(session) { Self.message(&$0, kind: "smessage", pattern: nil, channel, message) }
                    receivers += 1
                }
                return receivers
            }
            for session in state.channels[channel] ?? [] {
                deliver(session) { Self.message(&$0, kind: "message", pattern: nil, channel, message) }
                receivers += 1
            }
            for (pattern, sessions) in state.patterns {
                let matches = pattern.withBytes { p in channel.withBytes { Glob.matches(p, $0) } }
                guard matches else { continue }
                for session in sessions {
                    deliver(session) { Self.message(&$0, kind: "pmessage", pattern: pattern, channel, message) }
                    receivers += 1
                }
            }
            return receivers
        }
    }

    private static func message(_ writer: inout ReplyWriter, kind: String, pattern: Element?, _ channel: Element, _ message: Element) {
        writer.pushHeader(pattern == nil ? 3 : 4)
        writer.bulk(kind)
        if let pattern { pattern.withBytes { writer.bulk($0) } }
        channel.withBytes { writer.bulk($0) }
        message.withBytes { writer.bulk($0) }
    }

    // MARK: PUBSUB introspection

    /// Channels with at least one subscriber, optionally matching a glob pattern.
    func activeChannels(kind: Kind, matching pattern: Element?) -> [Element] {
        let names = state.withLock { Array($0[kind].keys) }
        guard let pattern else { return names }
        return names.filter { name in pattern.withBytes { p in name.withBytes { Glob.matches(p, $0) } } }
    }

    func subscriberCount(_ name: Element, kind: Kind) -> Int {
        state.withLock { $0[kind][name]?.count ?? 0 }
    }

    var patternCount: Int {
        state.withLock { $0.patterns.count }
    }

    /// INFO stats `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`.
    var counts: (channels: Int, patterns: Int, shardChannels: Int) {
        state.withLock { ($0.channels.count, $0.patterns.count, $0.shardChannels.count) }
    }
}
