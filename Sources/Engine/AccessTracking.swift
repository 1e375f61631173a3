import Synchronization

/// The 24 bits of access information each entry keeps, interpreted as Redis does:
/// - under an LRU (or no) eviction policy, the LRU clock of the last access, in seconds;
/// - under an LFU policy, 16 bits of minutes of the last decrement and an 8-bit logarithmic
///   access counter that starts at 5, grows more slowly the higher it is, and decays by one
///   every `lfu-decay-time` minutes.
public enum AccessTracking {
    static let initialFrequency: UInt32 = 5

    public static func initialStamp(now: Int64, lfu: Bool) -> UInt32 {
        lfu ? minutes(now) << 8 | initialFrequency : Database.lruClock(now)
    }

    static func minutes(_ now: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: now / 60_000) & 0xFFFF
    }

    public static func touch(_ entry: Entry, stamp: UInt32, now: Int64, keyspace: Keyspace) {
        guard keyspace.usesLFU.load(ordering: .relaxed) else {
            entry.touch(stamp)
            return
        }
        var counter = decayedFrequency(entry.access, now: now, keyspace: keyspace)
        if counter < 255 {
            let base = Double(max(0, Int(counter) - Int(initialFrequency)))
            let probability = 1.0 / (base * Double(keyspace.lfuLogFactor.load(ordering: .relaxed)) + 1)
            var random = FastRandom()
            if probability >= 1 || Double.random(in: 0 ..< 1, using: &random) < probability { counter += 1 }
        }
        entry.touch(minutes(now) << 8 | UInt32(counter))
    }

    /// OBJECT FREQ: the counter after the decay owed since its last update.
    public static func decayedFrequency(_ stamp: UInt32, now: Int64, keyspace: Keyspace) -> Int {
        let last = stamp >> 8
        let counter = Int(stamp & 0xFF)
        let current = minutes(now)
        let elapsed = Int(current >= last ? current - last : 65535 - last + current)
        let period = keyspace.lfuDecayMinutes.load(ordering: .relaxed)
        let periods = period > 0 ? elapsed / period : 0
        return periods > counter ? 0 : counter - periods
    }

    /// The stamp of a key restored or loaded with its access information, as Redis applies it:
    /// the frequency under an LFU policy, the idle time under any other, else a fresh stamp.
    /// An idle time longer than the clock has run lands half the clock's range back.
    public static func restoredStamp(now: Int64, lfu: Bool, idleSeconds: Int?, frequency: Int?) -> UInt32 {
        let fresh = initialStamp(now: now, lfu: lfu)
        if lfu, let frequency { return fresh & ~0xFF | UInt32(clamping: frequency) }
        if !lfu, let idleSeconds {
            let clock = Int(fresh), range = 1 << 24
            return UInt32(idleSeconds <= clock ? clock - idleSeconds : (clock + range / 2) % range)
        }
        return fresh
    }

    /// OBJECT IDLETIME: seconds between the entry's LRU stamp and the clock, across wrap-around.
    public static func idleSeconds(_ stamp: UInt32, clock: UInt32) -> Int {
        clock >= stamp ? Int(clock - stamp) : Int(clock + (0xFF_FFFF - stamp))
    }
}
