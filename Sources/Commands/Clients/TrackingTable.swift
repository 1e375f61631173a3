import Locks
import Engine
import NIOCore
import RESP
import Synchronization

/// Server-assisted client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO).
///
/// In the default mode the server remembers which client read which key (after each
/// read-only command) and, when the key changes or expires, sends each such client one
/// `invalidate` message and forgets the pair. In BCAST mode a client instead hears of every
/// change to keys under its prefixes. Messages are RESP3 pushes, or, for a client that
/// redirects them to a RESP2 connection in Pub/Sub mode, `__redis__:invalidate` messages.
/// As in Redis, the key table ignores databases.
public final class TrackingTable: Sendable {
    public struct Options: Sendable, Equatable {
        /// The client id messages go to instead, 0 for none.
        public var redirect = 0
        public var broadcast = false
        public var optIn = false
        public var optOut = false
        public var noLoop = false
        public var prefixes: [Element] = []
        /// The redirect target went away (CLIENT LIST flag `R`).
        public var brokenRedirect = false
    }

    private struct State {
        var clients: [Int: (session: ClientSession, options: Options)] = [:]
        /// Key → the ids of the clients that read it since its last change.
        var readers: [Element: Set<Int>] = [:]
        /// The (key, reader) pairs in `readers` (INFO `tracking_total_items`).
        var pairs = 0
        /// Calls in a row of `enforceLimit` that left the table over the limit.
        var roundsOverLimit = 0

        /// Forgets `keys` and returns the invalidation each of their readers is owed: one per
        /// key, for readers still tracking outside BCAST mode, except a NOLOOP reader's own change.
        mutating func forget(_ keys: some Sequence<Element>, modifier: ClientSession?) -> [(target: ClientSession, keys: [Element])] {
            var messages: [(target: ClientSession, keys: [Element])] = []
            for key in keys {
                guard let ids = readers.removeValue(forKey: key) else { continue }
                pairs -= ids.count
                for id in ids.sorted() {
                    guard let entry = clients[id], !entry.options.broadcast,
                          !(entry.options.noLoop && entry.session === modifier) else { continue }
                    messages.append((entry.session, [key]))
                }
            }
            return messages
        }
    }

    private let state = Lock(State())
    /// How many clients track: every command pays one load of this, nothing more, when 0.
    let active = Atomic<Int>(0)
    /// `readers.count`, readable without the lock (the limit check before every command).
    private let keyCount = Atomic<Int>(0)
    /// `tracking-table-max-keys`: how many keys the table remembers readers of (0: no limit).
    let maxKeys = Atomic<Int>(1_000_000)
    private let clients: ClientRegistry

    init(clients: ClientRegistry) {
        self.clients = clients
    }

    public func options(of session: ClientSession) -> Options? {
        state.withLock { $0.clients[session.id]?.options }
    }

    func enable(_ session: ClientSession, _ options: Options) {
        state.withLock { state in
            var merged = options
            // A BCAST client turning tracking on again adds prefixes to those it has.
            if let old = state.clients[session.id]?.options, old.broadcast { merged.prefixes = old.prefixes + options.prefixes }
            if merged.broadcast && merged.prefixes.isEmpty { merged.prefixes = [Element([UInt8]())] }
            state.clients[session.id] = (session, merged)
            active.store(state.clients.count, ordering: .relaxed)
        }
    }

    func disable(_ session: ClientSession) {
        state.withLock { state in
            guard state.clients.removeValue(forKey: session.id) != nil else { return }
            active.store(state.clients.count, ordering: .relaxed)
        }
    }

    /// Remembers that `session` read `keys`.
    func remember(_ keys: [Element], by session: ClientSession) {
        state.withLock { state in
            for key in keys where state.readers[key, default: []].insert(session.id).inserted { state.pairs += 1 }
            keyCount.store(state.readers.count, ordering: .relaxed)
        }
    }

    /// Keeps the key table within `maxKeys`, as Redis does before every command and in its
    /// cron: keys beyond the limit are forgotten, in the table's (hash) order, and their readers
    /// told as if the keys had changed. A call forgets at most 100 keys, 100 more for every call
    /// before it in a row that could not get under the limit.
    func enforceLimit(by modifier: ClientSession?, reply: inout ReplyWriter) {
        let limit = maxKeys.load(ordering: .relaxed)
        guard limit > 0, keyCount.load(ordering: .relaxed) > limit else { return }
        let messages = state.withLock { state -> [(target: ClientSession, keys: [Element])] in
            let excess = state.readers.count - limit
            guard excess > 0 else { return [] }
            let effort = 100 * (state.roundsOverLimit + 1)
            let messages = state.forget(Array(state.readers.keys.prefix(min(excess, effort))), modifier: modifier)
            state.roundsOverLimit = state.readers.count > limit ? state.roundsOverLimit + 1 : 0
            keyCount.store(state.readers.count, ordering: .relaxed)
            return messages
        }
        for (target, keys) in messages { send(.keys(keys), to: target, modifier: modifier, reply: &reply) }
    }

    /// INFO stats `tracking_total_keys`, `tracking_total_items` and `tracking_total_prefixes`
    /// (the distinct prefixes of the clients in BCAST mode).
    public var totals: (keys: Int, items: Int, prefixes: Int) {
        state.withLock { state in
            var prefixes = Set<Element>()
            for entry in state.clients.values where entry.options.broadcast { prefixes.formUnion(entry.options.prefixes) }
            return (state.readers.count, state.pairs, prefixes.count)
        }
    }

    /// Tells the clients concerned that `keys` changed. `modifier` ran the command that changed
    /// them: messages for itself are appended to `reply`, after the command's own reply.
    ///
    /// A reader hears of each key in its own message; a BCAST client gets one message per
    /// prefix with every matching key the command changed.
    func invalidate(_ keys: [Element], by modifier: ClientSession?, reply: inout ReplyWriter) {
        let messages = state.withLock { state in
            var messages = state.forget(keys, modifier: modifier)
            keyCount.store(state.readers.count, ordering: .relaxed)
            for entry in state.clients.values.sorted(by: { $0.session.id < $1.session.id }) where entry.options.broadcast {
                guard !(entry.options.noLoop && entry.session === modifier) else { continue }
                for prefix in entry.options.prefixes.sorted() {
                    let matching = keys.filter { $0.hasPrefix(prefix) }
                    if !matching.isEmpty { messages.append((entry.session, matching)) }
                }
            }
            return messages
        }
        for (target, keys) in messages { send(.keys(keys), to: target, modifier: modifier, reply: &reply) }
    }

    /// FLUSHDB / FLUSHALL: every tracking client drops its whole cache (a null invalidation).
    func flushed(by modifier: ClientSession, reply: inout ReplyWriter) {
        let targets = state.withLock { state -> [ClientSession] in
            state.readers = [:]
            state.pairs = 0
            keyCount.store(0, ordering: .relaxed)
            return state.clients.values.map(\.session)
        }
        for target in targets { send(.everything, to: target, modifier: modifier, reply: &reply) }
    }

    enum Invalidation {
        case keys([Element])
        case everything
    }

    private func send(_ invalidation: Invalidation, to client: ClientSession, modifier: ClientSession?, reply: inout ReplyWriter) {
        guard let options = options(of: client) else { return }
        let clientProtocol = client === modifier ? reply.protocolVersion : client.published.withLock { $0.protocolVersion }
        var target = client
        var redirected = false
        if options.redirect != 0 {
            guard let found = clients.client(id: options.redirect) else {
                markBroken(client, protocolVersion: clientProtocol, modifier: modifier, reply: &reply, redirect: options.redirect)
                return
            }
            target = found
            redirected = true
        }
        let targetProtocol = redirected ? target.published.withLock { $0.protocolVersion } : clientProtocol
        let targetSubscribed = target.published.withLock { $0.subscriptions + $0.patternSubscriptions + $0.shardSubscriptions > 0 }
        guard targetProtocol >= 3 || (redirected && (targetSubscribed || (target === modifier && target.isSubscribed))) else { return }
        var writer = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 64), protocolVersion: targetProtocol)
        if targetProtocol >= 3 {
            writer.pushHeader(2)
            writer.bulk("invalidate")
        } else {
            writer.arrayHeader(3)
            writer.bulk("message")
            writer.bulk("__redis__:invalidate")
        }
        switch invalidation {
        case .keys(let keys):
            writer.arrayHeader(keys.count)
            for key in keys { key.withBytes { writer.bulk($0) } }
        case .everything:
            // The null of the tracking client's own protocol, as Redis writes it.
            writer.buffer.writeString(clientProtocol >= 3 ? "_\r\n" : "$-1\r\n")
        }
        deliver(writer.buffer, to: target, modifier: modifier, reply: &reply)
    }

    /// The redirect target is gone: the client gets the flag, and a RESP3 client one
    /// `tracking-redir-broken` push.
    private func markBroken(_ client: ClientSession, protocolVersion version: Int, modifier: ClientSession?, reply: inout ReplyWriter, redirect: Int) {
        let first = state.withLock { state -> Bool in
            guard var entry = state.clients[client.id], !entry.options.brokenRedirect else { return false }
            entry.options.brokenRedirect = true
            state.clients[client.id] = entry
            return true
        }
        guard first, version >= 3 else { return }
        var writer = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: 48), protocolVersion: version)
        writer.pushHeader(2)
        writer.bulk("tracking-redir-broken")
        writer.integer(redirect)
        deliver(writer.buffer, to: client, modifier: modifier, reply: &reply)
    }

    private func deliver(_ bytes: ByteBuffer, to target: ClientSession, modifier: ClientSession?, reply: inout ReplyWriter) {
        if target === modifier {
            reply.push { reply in
                var bytes = bytes
                reply.buffer.writeBuffer(&bytes)
            }
        } else {
            target.connection?.deliver(bytes)
        }
    }
}

extension Element {
    func hasPrefix(_ prefix: Element) -> Bool {
        withBytes { bytes in prefix.withBytes { bytes.starts(with: $0) } }
    }
}
