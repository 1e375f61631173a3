/// What a snapshot does with a shard as it stood at the snapshot's instant: called once per
/// shard, with the shard locked, before any change to it after that instant.
public final class ShardCapture: @unchecked Sendable {
    // Immutable after init; called under the shard's lock.
    let capture: (Shard) -> Void

    public init(_ capture: @escaping (Shard) -> Void) {
        self.capture = capture
    }
}
