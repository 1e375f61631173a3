import Collections
import Engine

/// A value read from RDB: a string's bytes (the caller picks its encoding as it stores it), or
/// a collection.
public enum LoadedValue {
    case string([UInt8])
    case collection(Value)
}

/// Reads RDB records from bytes, checking every length against what is left: a truncated or
/// corrupt input throws `RDBError`, never traps and never allocates for a length it does not
/// hold.
public struct RDBReader {
    public let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() throws(RDBError) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func take(_ count: Int) throws(RDBError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw .truncated }
        defer { position += count }
        return bytes[position ..< position + count]
    }

    public mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws(RDBError) -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value: T = 0
        for (shift, byte) in slice.enumerated() { value |= T(truncatingIfNeeded: byte) << (8 * shift) }
        return value
    }

    /// A length, or (`encoded` true) the number of a special string encoding.
    public mutating func lengthOrEncoding() throws(RDBError) -> (value: Int, encoded: Bool) {
        let first = try byte()
        switch first >> 6 {
        case RDBFormat.length6Bit:
            return (Int(first & 0x3F), false)
        case RDBFormat.length14Bit:
            return (Int(first & 0x3F) << 8 | Int(try byte()), false)
        case RDBFormat.specialEncoding:
            return (Int(first & 0x3F), true)
        default:
            if first == RDBFormat.length32Bit {
                return (Int(UInt32(bigEndian: try littleEndian(UInt32.self))), false)
            }
            if first == RDBFormat.length64Bit {
                let value = UInt64(bigEndian: try littleEndian(UInt64.self))
                guard value <= UInt64(Int.max) else { throw RDBError("length out of range") }
                return (Int(value), false)
            }
            throw RDBError("unknown length encoding \(first)")
        }
    }

    public mutating func length() throws(RDBError) -> Int {
        let (value, encoded) = try lengthOrEncoding()
        guard !encoded else { throw RDBError("a string encoding where a length belongs") }
        return value
    }

    /// A count of items that each take at least `minimumBytes` bytes: refused when the input
    /// cannot hold that many.
    mutating func count(itemBytes minimumBytes: Int) throws(RDBError) -> Int {
        let value = try length()
        guard value <= remaining / max(1, minimumBytes) else { throw .truncated }
        return value
    }

    public mutating func string() throws(RDBError) -> [UInt8] {
        let (value, encoded) = try lengthOrEncoding()
        guard encoded else { return Array(try take(value)) }
        switch UInt8(value) {
        case RDBFormat.encodedInt8:
            return Array(String(Int8(bitPattern: try byte())).utf8)
        case RDBFormat.encodedInt16:
            return Array(String(Int16(bitPattern: try littleEndian(UInt16.self))).utf8)
        case RDBFormat.encodedInt32:
            return Array(String(Int32(bitPattern: try littleEndian(UInt32.self))).utf8)
        case RDBFormat.encodedLZF:
            let compressedLength = try length()
            let length = try length()
            // LZF expands at most ~264 bytes per 3 input bytes; refuse lengths beyond that.
            guard compressedLength <= remaining, length / 100 <= compressedLength + 1 else { throw RDBError("bad LZF string lengths") }
            let compressed = try take(compressedLength)
            do {
                return try compressed.withUnsafeBytes { input throws(LZF.Failure) in try LZF.decompress(input, length: length) }
            } catch {
                throw RDBError("invalid LZF compressed string")
            }
        default:
            throw RDBError("unknown string encoding \(value)")
        }
    }

    public mutating func binaryDouble() throws(RDBError) -> Double {
        Double(bitPattern: try littleEndian(UInt64.self))
    }

    /// The old text double of sorted sets (type 3): a length byte, or 253 NaN, 254 +inf, 255 -inf.
    public mutating func textDouble() throws(RDBError) -> Double {
        let length = try byte()
        switch length {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            guard let value = Double(String(decoding: try take(Int(length)), as: UTF8.self)) else {
                throw RDBError("invalid double")
            }
            return value
        }
    }

    /// A value of type `type` (what follows a key, or a DUMP payload's type byte).
    public mutating func value(type: UInt8, limits: EncodingLimits) throws(RDBError) -> LoadedValue {
        guard let known = RDBFormat.ValueType(rawValue: type) else { throw RDBError("unknown value type \(type)") }
        switch known {
        case .string:
            return .string(try string())
        case .list:
            let count = try count(itemBytes: 1)
            var items = Deque<Element>()
            for _ in 0 ..< count { items.append(Element(try string())) }
            return try list(items)
        case .set:
            let count = try count(itemBytes: 1)
            let set = SetValue()
            for _ in 0 ..< count {
                guard set.insert(Element(try string()), limits: limits) else { throw RDBError("duplicate set member") }
            }
            return try nonEmpty(.set(set), count: set.count)
        case .sortedSet, .sortedSet2:
            let count = try count(itemBytes: 2)
            let sortedSet = SortedSetValue()
            for _ in 0 ..< count {
                let member = Element(try string())
                let score = known == .sortedSet2 ? try binaryDouble() : try textDouble()
                guard !score.isNaN else { throw RDBError("sorted set score is NaN") }
                guard sortedSet.set(member, score: score, limits: limits) else { throw RDBError("duplicate sorted set member") }
            }
            return try nonEmpty(.sortedSet(sortedSet), count: sortedSet.count)
        case .hash:
            let count = try count(itemBytes: 2)
            let hash = HashValue()
            for _ in 0 ..< count {
                let field = Element(try string())
                guard hash.set(field, Element(try string()), limits: limits) else { throw RDBError("duplicate hash field") }
            }
            return try nonEmpty(.hash(hash), count: hash.count)
        case .listZiplist:
            return try list(Deque(try CompactEncodings.ziplist(try string())))
        case .listQuicklist, .listQuicklist2:
            let nodes = try count(itemBytes: 1)
            var items = Deque<Element>()
            for _ in 0 ..< nodes {
                var container = RDBFormat.containerPacked
                if known == .listQuicklist2 { container = try length() }
                let blob = try string()
                switch (known, container) {
                case (.listQuicklist, _): items.append(contentsOf: try CompactEncodings.ziplist(blob))
                case (_, RDBFormat.containerPlain): items.append(Element(blob))
                case (_, RDBFormat.containerPacked): items.append(contentsOf: try CompactEncodings.listpack(blob))
                default: throw RDBError("unknown quicklist container \(container)")
                }
            }
            return try list(items)
        case .setIntset:
            let set = SetValue()
            for member in try CompactEncodings.intset(try string()) {
                guard set.insert(Element(Array(String(member).utf8)), limits: limits) else { throw RDBError("duplicate intset member") }
            }
            return try nonEmpty(.set(set), count: set.count)
        case .sortedSetZiplist, .sortedSetListpack:
            let blob = try string()
            let items = known == .sortedSetZiplist ? try CompactEncodings.ziplist(blob) : try CompactEncodings.listpack(blob)
            guard items.count % 2 == 0 else { throw RDBError("sorted set with an odd number of items") }
            let sortedSet = SortedSetValue()
            for index in stride(from: 0, to: items.count, by: 2) {
                guard let score = items[index + 1].withBytes({ Double(String(decoding: $0, as: UTF8.self)) }), !score.isNaN else {
                    throw RDBError("invalid sorted set score")
                }
                guard sortedSet.set(items[index], score: score, limits: limits) else { throw RDBError("duplicate sorted set member") }
            }
            return try nonEmpty(.sortedSet(sortedSet), count: sortedSet.count)
        case .hashZiplist, .hashListpack, .hashZipmap:
            let blob = try string()
            let items = switch known {
            case .hashZiplist: try CompactEncodings.ziplist(blob)
            case .hashListpack: try CompactEncodings.listpack(blob)
            default: try CompactEncodings.zipmap(blob)
            }
            guard items.count % 2 == 0 else { throw RDBError("hash with an odd number of items") }
            let hash = HashValue()
            for index in stride(from: 0, to: items.count, by: 2) {
                guard hash.set(items[index], items[index + 1], limits: limits) else { throw RDBError("duplicate hash field") }
            }
            return try nonEmpty(.hash(hash), count: hash.count)
        case .streamListpacks, .streamListpacks2:
            throw RDBError("stream values are not supported")
        case .module, .module2:
            throw RDBError("module values are not supported")
        }
    }

    private func list(_ items: Deque<Element>) throws(RDBError) -> LoadedValue {
        try nonEmpty(.list(ListValue(items)), count: items.count)
    }

    /// Redis never writes an empty collection; one in the input is corrupt.
    private func nonEmpty(_ value: Value, count: Int) throws(RDBError) -> LoadedValue {
        guard count > 0 else { throw RDBError("empty collection") }
        return .collection(value)
    }
}
