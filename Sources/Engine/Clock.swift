#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import Synchronization

/// Where the server reads the time: the system clock, or a manual clock a test moves.
public final class ClockSource: Sendable {
    @usableFromInline let isManual: Bool
    @usableFromInline let manualNanoseconds: Atomic<Int64>

    public static let system = ClockSource(manual: nil)

    private init(manual: Int64?) {
        isManual = manual != nil
        manualNanoseconds = Atomic(manual ?? 0)
    }

    /// A clock that stands still at `nanoseconds` until `advance` moves it.
    public static func manual(startingAt nanoseconds: Int64) -> ClockSource {
        ClockSource(manual: nanoseconds)
    }

    /// Unix time in nanoseconds.
    @inlinable
    public func nanoseconds() -> Int64 {
        isManual ? manualNanoseconds.load(ordering: .relaxed) : Clock.nowNanoseconds()
    }

    public func advance(milliseconds: Int64) {
        manualNanoseconds.add(milliseconds * 1_000_000, ordering: .relaxed)
    }
}

/// Wall-clock and monotonic time. Engine code never reads a clock itself: it is handed `now`,
/// so tests choose the time.
public enum Clock {
    /// Unix time in milliseconds.
    public static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// Unix time in nanoseconds: one read serves both a command's time and its duration.
    public static func nowNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// A monotonic reading in nanoseconds, for measuring durations.
    public static func monotonicNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
