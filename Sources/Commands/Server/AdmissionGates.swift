/// Server states that refuse some commands before they run, as Redis's `processCommand` does.
/// Each is set and cleared by the layer that owns its state (the memory limit, the loading of a
/// snapshot, replication); the dispatcher reads them all with one atomic load per command.
public struct AdmissionGates: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Used memory stays over `maxmemory`: commands flagged `denyoom` get `-OOM`.
    public static let outOfMemory = AdmissionGates(rawValue: 1 << 0)
    /// A snapshot is being loaded: commands without the `loading` flag get `-LOADING`.
    public static let loading = AdmissionGates(rawValue: 1 << 1)
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
