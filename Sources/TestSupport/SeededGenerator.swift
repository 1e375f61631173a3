import Foundation

/// A reproducible random source for tests (SplitMix64). The seed comes from
/// `NEEDLETAIL_TEST_SEED` when set, else from the clock; it is printed, so a failing run can be
/// replayed with the same sequence.
public struct SeededGenerator: RandomNumberGenerator {
    public let seed: UInt64
    private var state: UInt64

    public init(_ test: String = #function) {
        let given = ProcessInfo.processInfo.environment["NEEDLETAIL_TEST_SEED"].flatMap { UInt64($0) }
        seed = given ?? UInt64(truncatingIfNeeded: DispatchTime.now().uptimeNanoseconds)
        state = seed
        print("\(test): seed \(seed) (replay with NEEDLETAIL_TEST_SEED=\(seed))")
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
