/// Server states that refuse some commands before they run, as Redis's `processCommand` does.
/// Each is set and cleared by the layer that owns its state (the loading of a snapshot,
/// persistence, replication); the dispatcher reads them all with one atomic load per command.
public struct AdmissionGates: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// A snapshot is being loaded: commands without the `loading` flag get `-LOADING`.
    public static let loading = AdmissionGates(rawValue: 1 << 1)
    /// The last snapshot failed and `stop-writes-on-bgsave-error` is on: writes (and PING)
    /// from clients get `-MISCONF`.
    public static let diskWriteError = AdmissionGates(rawValue: 1 << 2)
    /// Fewer replicas than `min-replicas-to-write` acknowledged within `min-replicas-max-lag`:
    /// writes get `-NOREPLICAS`.
    public static let notEnoughReplicas = AdmissionGates(rawValue: 1 << 3)
    /// A replica with `replica-read-only yes`: writes from clients get `-READONLY`.
    public static let readOnlyReplica = AdmissionGates(rawValue: 1 << 4)
    /// A replica whose link is down, with `replica-serve-stale-data no`: commands without the
    /// `stale` flag get `-MASTERDOWN`.
    public static let masterDown = AdmissionGates(rawValue: 1 << 5)
}

extension ServerState {
    /// The gates closed now (read on every command).
    @inline(__always)
    var closedGates: AdmissionGates { AdmissionGates(rawValue: gates.load(ordering: .relaxed)) }

    /// Closes (`true`) or opens a gate.
    public func set(_ gate: AdmissionGates, closed: Bool) {
        if closed { gates.bitwiseOr(gate.rawValue, ordering: .relaxed) } else { gates.bitwiseAnd(~gate.rawValue, ordering: .relaxed) }
    }
}
