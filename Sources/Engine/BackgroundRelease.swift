#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frees the entries of dropped tables on a background thread (FLUSHALL ASYNC), so the command
/// replies without waiting for millions of deallocations.
public enum BackgroundRelease {
    private final class Payload {
        let storage: [ContiguousArray<UInt64>]
        init(_ storage: [ContiguousArray<UInt64>]) { self.storage = storage }
        deinit { for slots in storage { KeyTable.release(slots) } }
    }

    /// Moves the tables' slots out (leaving them empty) and gives their references back on a new
    /// thread, so the deallocations happen there.
    public static func release(_ tables: [KeyTable]) {
        let storage = tables.filter { $0.count > 0 }.map { $0.detachSlots() }
        guard !storage.isEmpty else { return }
        let payload = Unmanaged.passRetained(Payload(storage)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            Unmanaged<Payload>.fromOpaque(argument!).release()
            return nil
        }, payload)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Payload>.fromOpaque(payload).release()
        }
    }
}
