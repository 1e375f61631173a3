/// The replication backlog: the newest `capacity` bytes of the replication stream, addressed
/// by stream offset (Redis's `repl-backlog-size`). Offsets count from 1, the stream's first
/// byte, as Redis counts them: `endOffset` is `master_repl_offset`, the last byte written, and
/// a replica asks with PSYNC for the byte after the last one it has.
public struct ReplicationBacklog {
    private var ring: [UInt8]
    /// Where the next byte goes in `ring`.
    private var head = 0
    /// Bytes held (`repl_backlog_histlen`).
    public private(set) var count = 0
    /// The offset of the last byte written (`master_repl_offset`).
    public private(set) var endOffset: Int64

    /// An empty backlog whose stream continues after `endOffset`.
    public init(capacity: Int, endOffset: Int64 = 0) {
        precondition(capacity > 0)
        ring = [UInt8](repeating: 0, count: capacity)
        self.endOffset = endOffset
    }

    public var capacity: Int { ring.count }

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
        ring.withUnsafeMutableBytes { ring in
            var written = 0
            while written < kept.count {
                let run = min(kept.count - written, ring.count - head)
                ring.baseAddress!.advanced(by: head).copyMemory(from: kept.baseAddress!.advanced(by: written), byteCount: run)
                head = (head + run) % ring.count
                written += run
            }
        }
        count = min(capacity, count + bytes.count)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The bytes from `offset` to the end, or nil when they are not all held.
    public func bytes(from offset: Int64) -> [UInt8]? {
        guard holds(from: offset) else { return nil }
        let length = Int(endOffset - offset + 1)
        var result = [UInt8]()
        result.reserveCapacity(length)
        var position = (head - length + capacity) % capacity
        var remaining = length
        while remaining > 0 {
            let run = min(remaining, capacity - position)
            result.append(contentsOf: ring[position ..< position + run])
            position = (position + run) % capacity
            remaining -= run
        }
        return result
    }

    /// A new size (`CONFIG SET repl-backlog-size`): the newest bytes that fit are kept.
    public mutating func resize(to capacity: Int) {
        let kept = bytes(from: endOffset - Int64(min(count, capacity)) + 1) ?? []
        let end = endOffset
        self = ReplicationBacklog(capacity: capacity, endOffset: end - Int64(kept.count))
        append(kept)
    }
}
