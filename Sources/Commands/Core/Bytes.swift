/// Byte-level helpers for arguments, which are never `String`s: two different byte strings can
/// be equal `String`s.
extension UnsafeRawBufferPointer {
    /// Case-insensitive comparison with an ASCII word (`EX`, `NX`, `WITHSCORES` …).
    @inlinable
    public func equalsIgnoringCase(_ word: StaticString) -> Bool {
        guard count == word.utf8CodeUnitCount else { return false }
        let other = word.utf8Start
        for index in 0 ..< count where !Self.sameLetter(self[index], other[index]) { return false }
        return true
    }

    @inlinable
    public func equalsIgnoringCase(_ word: [UInt8]) -> Bool {
        guard count == word.count else { return false }
        for index in 0 ..< count where !Self.sameLetter(self[index], word[index]) { return false }
        return true
    }

    @inlinable
    public func equalsIgnoringCase(_ word: UnsafeRawBufferPointer) -> Bool {
        guard count == word.count else { return false }
        for index in 0 ..< count where !Self.sameLetter(self[index], word[index]) { return false }
        return true
    }

    /// Equal bytes, or the same ASCII letter in either case.
    @inlinable @inline(__always)
    static func sameLetter(_ a: UInt8, _ b: UInt8) -> Bool {
        if a == b { return true }
        let folded = a | 0x20
        return folded >= 0x61 && folded <= 0x7a && folded == b | 0x20
    }

    /// The bytes as text (for names, messages and logs; never for keys or values).
    public var text: String { String(decoding: self, as: UTF8.self) }
}

extension Array where Element == UInt8 {
    public init(_ text: String) {
        self = Array(text.utf8)
    }
}
