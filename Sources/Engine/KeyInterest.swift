import DequeModule
import Synchronization

/// A key of one database, as a dictionary key.
public struct DatabaseKey: Hashable, Sendable {
    public let db: Int
    public let key: Element

    public init(db: Int, key: Element) {
        self.db = db
        self.key = key
    }
}

/// One WATCH: set when any watched key changes, read by EXEC.
public final class WatchToken: Sendable {
    public let dirty = Atomic<Bool>(false)

    public init() {}
}

/// A client blocked on keys (BLPOP …). The engine keeps waiters in FIFO order per key; the
/// command layer decides what serving one means.
public protocol KeyWaiter: AnyObject, Sendable {
    /// False once the waiter was served, timed out or went away: it is then skipped and dropped.
    var isWaiting: Bool { get }
}

/// What clients wait for on the keys of one shard. Guarded by the shard's lock, like its tables.
@usableFromInline
final class KeyInterest {
    var watchers: [DatabaseKey: [WatchToken]] = [:]
    var waiters: [DatabaseKey: Deque<any KeyWaiter>] = [:]

    var isEmpty: Bool { watchers.isEmpty && waiters.isEmpty }

    /// Marks every WATCH of the key dirty.
    @usableFromInline
    func touch(_ key: DatabaseKey) {
        guard let tokens = watchers[key] else { return }
        for token in tokens { token.dirty.store(true, ordering: .relaxed) }
    }

    func hasWaiters(_ key: DatabaseKey) -> Bool {
        guard var queue = waiters[key] else { return false }
        while let first = queue.first, !first.isWaiting { queue.removeFirst() }
        waiters[key] = queue.isEmpty ? nil : queue
        return !queue.isEmpty
    }
}

extension Shard {
    private var interestCreated: KeyInterest {
        if let interest { return interest }
        let created = KeyInterest()
        interest = created
        return created
    }

    /// FLUSHDB, FLUSHALL, SWAPDB are about to replace database `db` (with `replacement`'s
    /// contents for SWAPDB): WATCHes of its keys that exist there, or in the replacement,
    /// become dirty. As in Redis, a WATCH of a missing key survives a flush.
    func touchExisting(db: Int, replacement: Int? = nil) {
        guard let interest else { return }
        for (watched, tokens) in interest.watchers where watched.db == db {
            let exists = watched.key.withBytes { bytes in
                let key = Key(bytes)
                return table(db).find(key) != nil || replacement.map { table($0).find(key) != nil } == true
            }
            if exists { for token in tokens { token.dirty.store(true, ordering: .relaxed) } }
        }
    }

    /// After SWAPDB: keys of the swapped databases that now hold a list or sorted set, with
    /// clients waiting on them, are ready.
    func keysReadyAfterSwap(_ databases: [Int]) -> [DatabaseKey] {
        guard let interest else { return [] }
        return interest.waiters.keys.filter { waited in
            guard databases.contains(waited.db) else { return false }
            return waited.key.withBytes { bytes in
                guard let slot = table(waited.db).find(Key(bytes)) else { return false }
                switch table(waited.db).entry(at: slot).value {
                case .list, .sortedSet: return true
                default: return false
                }
            }
        }
    }

    /// Records a WATCH of `key`.
    public func watch(_ key: DatabaseKey, _ token: WatchToken) {
        interestCreated.watchers[key, default: []].append(token)
    }

    public func unwatch(_ key: DatabaseKey, _ token: WatchToken) {
        guard let interest, var tokens = interest.watchers[key] else { return }
        tokens.removeAll { $0 === token }
        interest.watchers[key] = tokens.isEmpty ? nil : tokens
    }

    /// Queues a blocked client on `key`, behind those already waiting.
    public func enqueue(_ waiter: any KeyWaiter, on key: DatabaseKey) {
        interestCreated.waiters[key, default: []].append(waiter)
    }

    /// Takes a client that stopped waiting out of `key`'s queue.
    public func dequeue(_ waiter: any KeyWaiter, from key: DatabaseKey) {
        guard let interest, var queue = interest.waiters[key] else { return }
        queue.removeAll { $0 === waiter }
        interest.waiters[key] = queue.isEmpty ? nil : queue
    }

    /// The clients still waiting on `key`, oldest first.
    public func waiters(on key: DatabaseKey) -> [any KeyWaiter] {
        guard let interest, let queue = interest.waiters[key] else { return [] }
        let live = Array(queue.filter(\.isWaiting))
        interest.waiters[key] = live.isEmpty ? nil : Deque(live)
        return live
    }
}
