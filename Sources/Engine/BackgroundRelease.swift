import Dispatch
import Locks
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frees, on one background thread, what a command should not wait for, as Redis's lazyfree
/// does: the tables a FLUSHALL ASYNC drops, and values that take many deallocations to free
/// when a key is deleted lazily (UNLINK, `lazyfree-lazy-*`). A value cheaper to free than
/// `effortThreshold` deallocations is freed at once, as in Redis.
public final class BackgroundRelease: Sendable {
    public static let shared = BackgroundRelease()
    public static let effortThreshold = 64

    /// Objects handed over and not freed yet (INFO `lazyfree_pending_objects`), and freed in
    /// the background since start (`lazyfreed_objects`). A dropped table counts its keys.
    public let pendingObjects = Atomic<Int>(0)
    public let freedObjects = Atomic<Int>(0)

    /// What waits to be freed. Nothing else references it any more: a detached table's slots
    /// or an entry removed from its table, so handing it to another thread is safe.
    private struct Work: @unchecked Sendable {
        let tables: [ContiguousArray<UInt64>]
        let entry: Entry?
        let objects: Int
    }

    private let queue = Lock<[Work]>([])
    private let wakeup = DispatchSemaphore(value: 0)

    private init() {
        let unmanaged = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<BackgroundRelease>.fromOpaque(argument!).takeUnretainedValue().run()
            return nil
        }, unmanaged)
        precondition(created == 0, "cannot start the background release thread")
        pthread_detach(thread)
    }

    /// Moves the tables' entries out (leaving the tables empty) and frees them in the background.
    public func release(_ tables: [KeyTable]) {
        let dropped = tables.filter { $0.count > 0 }
        guard !dropped.isEmpty else { return }
        let objects = dropped.reduce(0) { $0 + $1.count }
        enqueue(Work(tables: dropped.map { $0.detachSlots() }, entry: nil, objects: objects))
    }

    /// Frees a deleted entry: in the background when its value is costly to free, else now
    /// (when the caller drops its last reference).
    public func release(_ entry: Entry) {
        guard entry.value.freeEffort > Self.effortThreshold else { return }
        enqueue(Work(tables: [], entry: entry, objects: 1))
    }

    private func enqueue(_ work: Work) {
        pendingObjects.add(work.objects, ordering: .relaxed)
        queue.withLock { $0.append(work) }
        wakeup.signal()
    }

    private func run() -> Never {
        while true {
            wakeup.wait()
            let objects: Int
            do {
                // The entry's last reference goes at the end of this scope, on this thread.
                guard let work = queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
                for slots in work.tables { KeyTable.release(slots) }
                objects = work.objects
            }
            pendingObjects.subtract(objects, ordering: .relaxed)
            freedObjects.add(objects, ordering: .relaxed)
        }
    }
}

extension Value {
    /// About how many deallocations freeing the value takes, as Redis estimates it: one for a
    /// string or a compact encoding, the element count for a table or a list.
    public var freeEffort: Int {
        switch self {
        case .embedded, .integer, .raw: 1
        case .list(let list): list.count
        case .hash(let hash): hash.encodingName == "hashtable" ? hash.count : 1
        case .set(let set): set.encodingName == "hashtable" ? set.count : 1
        case .sortedSet(let sortedSet): sortedSet.encodingName == "skiplist" ? sortedSet.count : 1
        }
    }
}
