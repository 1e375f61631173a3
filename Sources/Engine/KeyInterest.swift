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

/// One client's WATCH: set when any watched key changes, read by EXEC.
public final class WatchToken: Sendable {
    public let dirty = Atomic<Bool>(false)

    public init() {}
}

/// One watched key of one client. `expired` is Redis's flag for a key that was already past
/// its TTL (but not yet deleted) when WATCH ran: its deletion is no change, and EXEC does not
/// count it as expired since WATCH. Guarded by the shard's lock.
final class Watch {
    let token: WatchToken
    var expired: Bool

    init(_ token: WatchToken, expired: Bool) {
        self.token = token
        self.expired = expired
    }
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
    var watchers: [DatabaseKey: [Watch]] = [:]
    var waiters: [DatabaseKey: Deque<any KeyWaiter>] = [:]

    var isEmpty: Bool { watchers.isEmpty && waiters.isEmpty }

    /// The key changed (called once the change is made): its WATCHes become dirty, except
    /// those of a key that was already expired at WATCH and is now gone (no logical change).
    @usableFromInline
    func touch(_ key: DatabaseKey, isStored: () -> Bool) {
        guard let watches = watchers[key] else { return }
        for watch in watches {
            if watch.expired && !isStored() {
                watch.expired = false
                continue
            }
            watch.token.dirty.store(true, ordering: .relaxed)
        }
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
    /// become dirty, as in Redis: a WATCH of a missing key survives a flush, and a key that
    /// stays missing or expired (an expired one replacing a missing one) is no change.
    func touchExisting(db: Int, replacement: Int? = nil, now: Int64) {
        guard let interest else { return }
        for (watched, watches) in interest.watchers where watched.db == db {
            watched.key.withBytes { bytes in
                let key = Key(bytes)
                let existsHere = table(db).find(key) != nil
                let replacingEntry = replacement.flatMap { other in table(other).find(key).map { table(other).entry(at: $0) } }
                guard existsHere || replacingEntry != nil else { return }
                let replacingExpired = replacingEntry.map { $0.expireAt != 0 && $0.expireAt <= now } ?? false
                for watch in watches {
                    if watch.expired {
                        if replacingEntry == nil {
                            watch.expired = false
                            continue
                        }
                        if replacingExpired { continue }
                    } else if !existsHere && replacingExpired {
                        watch.expired = true
                        continue
                    }
                    watch.token.dirty.store(true, ordering: .relaxed)
                }
            }
        }
    }

    /// Whether the WATCH of `key` by `token` sees the key expired since WATCH (EXEC then
    /// aborts): it is stored, past its TTL, and was not already expired at WATCH.
    public func watchSeesExpiry(_ key: DatabaseKey, _ token: WatchToken, now: Int64) -> Bool {
        guard let watch = interest?.watchers[key]?.first(where: { $0.token === token }), !watch.expired else { return false }
        return key.key.withBytes { bytes in
            guard let slot = table(key.db).find(Key(bytes)) else { return false }
            let expireAt = table(key.db).entry(at: slot).expireAt
            return expireAt != 0 && expireAt <= now
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

    /// Records a WATCH of `key`, noting whether the key is stored but already expired.
    public func watch(_ key: DatabaseKey, _ token: WatchToken, now: Int64) {
        let expired = key.key.withBytes { bytes in
            table(key.db).find(Key(bytes)).map { slot in
                let expireAt = table(key.db).entry(at: slot).expireAt
                return expireAt != 0 && expireAt <= now
            } ?? false
        }
        interestCreated.watchers[key, default: []].append(Watch(token, expired: expired))
    }

    public func unwatch(_ key: DatabaseKey, _ token: WatchToken) {
        guard let interest, var watches = interest.watchers[key] else { return }
        watches.removeAll { $0.token === token }
        interest.watchers[key] = watches.isEmpty ? nil : watches
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
