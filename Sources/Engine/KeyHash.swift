/// A key's bytes as borrowed from the request, with their hash computed once.
///
/// The bytes belong to someone else (usually the connection's receive buffer) and are valid only
/// while the command runs; the table copies them when it stores a new key.
public struct Key {
    public let bytes: UnsafeRawBufferPointer
    public let hash: UInt64

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.hash = KeyHash.hash(bytes)
    }
}

/// A fast seeded 64-bit hash of byte strings (multiply-fold mixing of 8-byte words).
///
/// The seed is random per process, so a client cannot pick keys that all land in one bucket.
/// Different bit ranges of the result pick the shard (top bits), the tag (bits 48–54) and the
/// home bucket inside a shard's table (low bits).
public enum KeyHash {
    @usableFromInline
    static let seed: UInt64 = UInt64.random(in: 1 ... .max)

    @usableFromInline static let k0: UInt64 = 0xa076_1d64_78bd_642f
    @usableFromInline static let k1: UInt64 = 0xe703_7ed1_a0b4_28db
    @usableFromInline static let k2: UInt64 = 0x8ebc_6af0_9c88_c6e3

    @inlinable @inline(__always)
    static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        hash(bytes, seed: seed)
    }

    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        var state = seed ^ k0
        var a: UInt64 = 0
        var b: UInt64 = 0
        if count <= 16 {
            if count >= 8 {
                a = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                b = bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            } else if count >= 4 {
                a = UInt64(bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                b = UInt64(bytes.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            } else if count > 0 {
                a = UInt64(bytes[0]) << 16 | UInt64(bytes[count >> 1]) << 8 | UInt64(bytes[count - 1])
            }
        } else {
            var offset = 0
            var other = state
            while count - offset > 32 {
                state = fold(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ k1,
                             bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) ^ state)
                other = fold(bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self) ^ k2,
                             bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self) ^ other)
                offset += 32
            }
            state ^= other
            if count - offset > 16 {
                state = fold(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ k1,
                             bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self) ^ state)
            }
            a = bytes.loadUnaligned(fromByteOffset: count - 16, as: UInt64.self)
            b = bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        return fold(k1 ^ UInt64(truncatingIfNeeded: count), fold(a ^ k1, b ^ state))
    }
}
