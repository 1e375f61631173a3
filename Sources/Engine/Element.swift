/// One member of a collection (a list item, a hash field or value, a set or sorted-set member).
///
/// 24 bytes. Up to 22 bytes live inline in the value itself — no allocation, which is what
/// most members are; longer ones are a byte array. Equality and hashing look at the bytes
/// only, so the same bytes compare equal whichever way they are stored.
public struct Element: Hashable, Comparable, Sendable {
    @usableFromInline enum Storage: Sendable {
        /// The bytes in order, zero-padded, then the length: 23 bytes, so that with the enum's
        /// tag the element takes exactly three words.
        case inline(UInt64, UInt64, UInt32, UInt16, UInt8)
        case heap([UInt8])
    }

    @usableFromInline typealias InlineBytes = (UInt64, UInt64, UInt32, UInt16, UInt8)

    @usableFromInline var storage: Storage

    public static let inlineCapacity = 22

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count <= Self.inlineCapacity {
            var words: InlineBytes = (0, 0, 0, 0, UInt8(bytes.count))
            withUnsafeMutableBytes(of: &words) { raw in
                if let base = bytes.baseAddress { raw.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
            }
            storage = .inline(words.0, words.1, words.2, words.3, words.4)
        } else {
            storage = .heap(Array(bytes))
        }
    }

    public init(_ bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { Element($0) }
    }

    public init(_ text: String) {
        self.init(Array(text.utf8))
    }

    /// The decimal form of an integer (scores, INCRBY results).
    public init(_ integer: Int) {
        self.init(String(integer))
    }

    @inlinable
    public var count: Int {
        switch storage {
        case .inline(_, _, _, _, let count): Int(count)
        case .heap(let bytes): bytes.count
        }
    }

    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .inline(let a, let b, let c, let d, let count):
            var words: InlineBytes = (a, b, c, d, count)
            return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0 ..< Int(count)])) }
        case .heap(let bytes):
            return try bytes.withUnsafeBytes(body)
        }
    }

    public var bytes: [UInt8] { withBytes { Array($0) } }

    /// Bytes held outside the value (0 for inline elements), for memory accounting.
    public var heapBytes: Int {
        if case .heap(let bytes) = storage { return 32 + bytes.capacity }
        return 0
    }

    public static func == (lhs: Element, rhs: Element) -> Bool {
        switch (lhs.storage, rhs.storage) {
        case (.inline(let a0, let a1, let a2, let a3, let a4), .inline(let b0, let b1, let b2, let b3, let b4)):
            return a0 == b0 && a1 == b1 && a2 == b2 && a3 == b3 && a4 == b4
        case (.heap(let a), .heap(let b)): return a == b
        default: return false // lengths differ: one fits inline, the other does not
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch storage {
        case .inline(let a, let b, let c, let d, let count):
            hasher.combine(a)
            hasher.combine(b)
            hasher.combine(UInt64(c) | UInt64(d) << 32 | UInt64(count) << 48)
        case .heap(let bytes):
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    /// Byte-wise order, shorter first on a common prefix (as memcmp-then-length, Redis's order).
    public static func < (lhs: Element, rhs: Element) -> Bool {
        lhs.withBytes { a in rhs.withBytes { b in Element.compare(a, b) < 0 } }
    }

    public static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let shared = min(a.count, b.count)
        for index in 0 ..< shared where a[index] != b[index] {
            return a[index] < b[index] ? -1 : 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
