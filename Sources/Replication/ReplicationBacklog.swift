/// The replication backlog: the newest `capacity` bytes of the replication stream, addressed
/// by stream offset (Redis's `repl-backlog-size`). Offsets count from 1, the stream's first
/// byte, as Redis counts them: `endOffset` is `master_repl_offset`, the last byte written, and
/// a replica asks with PSYNC for the byte after the last one it has. Memory grows with what
/// the stream holds, never beyond `capacity`, so a large setting costs nothing until used.
public struct ReplicationBacklog {
    /// The held bytes, oldest at `start`, wrapping around; grows until it reaches `capacity`.
    private var ring: [UInt8] = []
    private var start = 0
    /// Bytes held (`repl_backlog_histlen`).
    public private(set) var count = 0
    /// The offset of the last byte written (`master_repl_offset`).
    public private(set) var endOffset: Int64
    public private(set) var capacity: Int

    /// An empty backlog whose stream continues after `endOffset`.
    public init(capacity: Int, endOffset: Int64 = 0) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.endOffset = endOffset
    }

    /// Bytes allocated for the ring.
    public var allocatedBytes: Int { ring.count }

    /// The offset of the oldest byte held (`repl_backlog_first_byte_offset`); `endOffset + 1`
    /// when empty.
    public var firstOffset: Int64 { endOffset - Int64(count) + 1 }

    /// Whether a replica asking for `offset` onwards can be served from here: the bytes from
    /// it to the end are all held (asking for `endOffset + 1` means "nothing missing").
    public func holds(from offset: Int64) -> Bool {
        offset >= firstOffset && offset <= endOffset + 1
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        endOffset += Int64(bytes.count)
        // Only the newest `capacity` bytes can stay.
        let kept = bytes.count > capacity ? UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - capacity)...]) : bytes
        guard !kept.isEmpty else { return }
        if count + kept.count > ring.count && ring.count < capacity {
            grow(toHold: count + kept.count)
        }
        ring.withUnsafeMutableBytes { ring in
            var position = (start + count) % ring.count
            var written = 0
            while written < kept.count {
                let run = min(kept.count - written, ring.count - position)
                ring.baseAddress!.advanced(by: position).copyMemory(from: kept.baseAddress!.advanced(by: written), byteCount: run)
                position = (position + run) % ring.count
                written += run
            }
        }
        let total = count + kept.count
        if total > ring.count { start = (start + total - ring.count) % ring.count }
        count = min(ring.count, total)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Room for `needed` bytes (at most `capacity`), the held bytes moved to the front.
    private mutating func grow(toHold needed: Int) {
        let size = min(capacity, max(needed, ring.count * 2, 4096))
        var grown = [UInt8](repeating: 0, count: size)
        let held = tail(count)
        grown.replaceSubrange(0 ..< held.count, with: held)
        ring = grown
        start = 0
    }

    /// The newest `length` bytes held.
    private func tail(_ length: Int) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(length)
        guard length > 0 else { return result }
        var position = (start + count - length) % ring.count
        var remaining = length
        while remaining > 0 {
            let run = min(remaining, ring.count - position)
            result.append(contentsOf: ring[position ..< position + run])
            position = (position + run) % ring.count
            remaining -= run
        }
        return result
    }

    /// The bytes from `offset` to the end, or nil when they are not all held.
    public func bytes(from offset: Int64) -> [UInt8]? {
        guard holds(from: offset) else { return nil }
        return tail(Int(endOffset - offset + 1))
    }

    /// A new size (`CONFIG SET repl-backlog-size`): the newest bytes that fit are kept.
    public mutating func resize(to capacity: Int) {
        let kept = tail(min(count, capacity))
        self = ReplicationBacklog(capacity: capacity, endOffset: endOffset - Int64(kept.count))
        append(kept)
    }
}
