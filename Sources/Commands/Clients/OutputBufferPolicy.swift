import Config
import Locks
import Synchronization

/// `client-output-buffer-limit`: when a client's unsent output gets it disconnected. Parsed
/// once per change of the directive, read by every connection.
public final class OutputBufferPolicy: Sendable {
    private let limits: Lock<OutputBufferLimits>

    init(config: Configuration) {
        limits = Lock(OutputBufferLimits(config["client-output-buffer-limit"]))
        config.observe("client-output-buffer-limit") { [self] value in limits.withLock { $0 = OutputBufferLimits(value) } }
    }

    public var current: OutputBufferLimits { limits.withLock { $0 } }

    /// Whether `backlog` unsent bytes break the session's class limit (pubsub, replica or
    /// normal): above the hard limit, or above the soft one for longer than its period, counted
    /// from `overSoftLimitSince` (0 when under it; kept up to date here).
    public func exceeded(by session: ClientSession, backlog: Int, overSoftLimitSince: inout Int64, now: Int64) -> Bool {
        let flags = session.currentFlags
        let kind: OutputBufferLimits.Class = flags.contains(.pubsub) ? .pubsub : flags.typeName == "replica" ? .replica : .normal
        let limit = current[kind]
        guard limit.soft > 0 && backlog > limit.soft else {
            overSoftLimitSince = 0
            return limit.hard > 0 && backlog > limit.hard
        }
        if overSoftLimitSince == 0 { overSoftLimitSince = now }
        return (limit.hard > 0 && backlog > limit.hard) || now - overSoftLimitSince > Int64(limit.seconds) * 1000
    }
}
