import Collections
import Engine

/// A value read from RDB: a string's bytes (the caller picks its encoding as it stores it), a
/// collection, or a collection with nothing in it, which Redis never writes: loading a file
/// skips such a key, RESTORE refuses it.
public enum LoadedValue {
    /// Plain strings are slices of the input, not copies.
    case string(ArraySlice<UInt8>)
    case collection(Value)
    case empty
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
        Array(try stringSlice())
    }

    /// A string: a plain one is a slice of the input (no copy), an encoded one is decoded.
    public mutating func stringSlice() throws(RDBError) -> ArraySlice<UInt8> {
        let (value, encoded) = try lengthOrEncoding()
        guard encoded else { return try take(value) }
        return try decodedString(encoding: value)[...]
    }

    private mutating func decodedString(encoding value: Int) throws(RDBError) -> [UInt8] {
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

    /// A value of type `type` (what follows a key, or a DUMP payload's type byte). Every value
    /// is checked whole, whatever `sanitize-dump-payload` says; a failure is reported in
    /// Redis's words for the type.
    public mutating func value(type: UInt8, limits: EncodingLimits) throws(RDBError) -> LoadedValue {
        guard let known = RDBFormat.ValueType(rawValue: type) else { throw RDBError("Unknown RDB encoding type \(type)") }
        switch known {
        case .string:
            return .string(try stringSlice())
        case .list:
            let count = try count(itemBytes: 1)
            var items = Deque<Element>()
            for _ in 0 ..< count { items.append(Element(try string())) }
            return list(items)
        case .set:
            let count = try count(itemBytes: 1)
            let set = SetValue()
            for _ in 0 ..< count {
                guard set.insert(Element(try string()), limits: limits) else { throw RDBError("Duplicate set members detected") }
            }
            return collection(.set(set), count: set.count)
        case .sortedSet, .sortedSet2:
            let count = try count(itemBytes: 2)
            let sortedSet = SortedSetValue()
            for _ in 0 ..< count {
                let member = Element(try string())
                let score = known == .sortedSet2 ? try binaryDouble() : try textDouble()
                guard !score.isNaN else { throw RDBError("Zset with NAN score detected") }
                guard sortedSet.set(member, score: score, limits: limits) else { throw RDBError("Duplicate zset fields detected") }
            }
            return collection(.sortedSet(sortedSet), count: sortedSet.count)
        case .hash:
            let count = try count(itemBytes: 2)
            let hash = HashValue()
            for _ in 0 ..< count {
                let field = Element(try string())
                guard hash.set(field, Element(try string()), limits: limits) else { throw RDBError("Duplicate hash fields detected") }
            }
            return collection(.hash(hash), count: hash.count)
        case .listZiplist:
            let blob = try string()
            return list(Deque(try Self.checked("List ziplist integrity check failed.") { () throws(RDBError) in try CompactEncodings.ziplist(blob) }))
        case .listQuicklist, .listQuicklist2:
            let nodes = try count(itemBytes: 1)
            var items = Deque<Element>()
            for _ in 0 ..< nodes {
                var container = RDBFormat.containerPacked
                if known == .listQuicklist2 { container = try length() }
                guard container == RDBFormat.containerPacked || container == RDBFormat.containerPlain else {
                    throw RDBError("Quicklist integrity check failed.")
                }
                let blob = try string()
                guard !blob.isEmpty else { throw RDBError("Quicklist node of no bytes") }
                // An empty node is dropped, as Redis drops it.
                switch (known, container) {
                case (.listQuicklist, _):
                    items.append(contentsOf: try Self.checked("Ziplist integrity check failed.") { () throws(RDBError) in try CompactEncodings.ziplist(blob) })
                case (_, RDBFormat.containerPlain):
                    items.append(Element(blob))
                default:
                    items.append(contentsOf: try Self.checked("Listpack integrity check failed.") { () throws(RDBError) in try CompactEncodings.listpack(blob) })
                }
            }
            return list(items)
        case .setIntset:
            let blob = try string()
            return try Self.checked("Intset integrity check failed.") { () throws(RDBError) in
                let set = SetValue()
                let members = try CompactEncodings.intset(blob)
                for member in members where !set.insert(Element(Array(String(member).utf8)), limits: limits) { throw .malformed }
                guard set.count > 0 else { throw .malformed }
                return .collection(.set(set))
            }
        case .sortedSetZiplist, .sortedSetListpack:
            let blob = try string()
            let ziplist = known == .sortedSetZiplist
            return try Self.checked(ziplist ? "Zset ziplist integrity check failed." : "Zset listpack integrity check failed.") { () throws(RDBError) in
                let items = ziplist ? try CompactEncodings.ziplist(blob) : try CompactEncodings.listpack(blob)
                guard items.count % 2 == 0 else { throw .malformed }
                let sortedSet = SortedSetValue()
                for index in stride(from: 0, to: items.count, by: 2) {
                    guard let score = items[index + 1].withBytes({ Double(String(decoding: $0, as: UTF8.self)) }), !score.isNaN,
                          sortedSet.set(items[index], score: score, limits: limits) else { throw .malformed }
                }
                return collection(.sortedSet(sortedSet), count: sortedSet.count)
            }
        case .hashZiplist, .hashListpack:
            let blob = try string()
            let ziplist = known == .hashZiplist
            return try Self.checked(ziplist ? "Hash ziplist integrity check failed." : "Hash listpack integrity check failed.") { () throws(RDBError) in
                let items = ziplist ? try CompactEncodings.ziplist(blob) : try CompactEncodings.listpack(blob)
                guard items.count % 2 == 0 else { throw .malformed }
                return try hash(items, limits: limits, duplicate: .malformed)
            }
        case .hashZipmap:
            let blob = try string()
            let items = try Self.checked("Zipmap integrity check failed.") { () throws(RDBError) in try CompactEncodings.zipmap(blob) }
            guard !items.isEmpty else { throw RDBError("Zipmap integrity check failed.") }
            return try hash(items, limits: limits, duplicate: RDBError("Hash zipmap with dup elements"))
        case .streamListpacks, .streamListpacks2:
            throw RDBError("stream values are not supported")
        case .module, .module2:
            throw RDBError("module values are not supported")
        }
    }

    /// Runs `decode`, any failure in it reported as `words`.
    private static func checked<T>(_ words: String, _ decode: () throws(RDBError) -> T) throws(RDBError) -> T {
        do { return try decode() } catch { throw RDBError(words) }
    }

    /// A hash from alternating fields and values; `duplicate` is thrown for a repeated field.
    private func hash(_ items: [Element], limits: EncodingLimits, duplicate: RDBError) throws(RDBError) -> LoadedValue {
        let hash = HashValue()
        for index in stride(from: 0, to: items.count, by: 2) where !hash.set(items[index], items[index + 1], limits: limits) {
            throw duplicate
        }
        return collection(.hash(hash), count: hash.count)
    }

    private func list(_ items: Deque<Element>) -> LoadedValue {
        collection(.list(ListValue(items)), count: items.count)
    }

    private func collection(_ value: Value, count: Int) -> LoadedValue {
        count > 0 ? .collection(value) : .empty
    }
}
