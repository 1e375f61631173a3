import Synchronization

/// When a small collection leaves its compact encoding (`hash-max-listpack-entries` and
/// friends). The configuration keeps these current; commands read them without a lock.
public final class EncodingLimits: Sendable {
    public let hashEntries = Atomic<Int>(512)
    public let hashValue = Atomic<Int>(64)
    public let setIntegers = Atomic<Int>(512)
    public let sortedSetEntries = Atomic<Int>(128)
    public let sortedSetValue = Atomic<Int>(64)

    public init() {}
}
