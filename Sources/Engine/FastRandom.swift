import Synchronization

/// Random numbers for choices that need no secrecy (sampling keys to evict, skip-list levels,
/// the LFU counter's increments), without the system call the system generator makes for each
/// draw: SplitMix64 over one process-wide counter, so any thread may draw.
public struct FastRandom: RandomNumberGenerator, Sendable {
    private static let counter = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    public init() {}

    @inlinable
    public mutating func next() -> UInt64 {
        Self.mix(Self.advance())
    }

    @usableFromInline
    static func advance() -> UInt64 {
        counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
    }

    @inlinable
    static func mix(_ value: UInt64) -> UInt64 {
        var mixed = value
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
