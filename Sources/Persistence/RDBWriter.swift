import Engine

/// Writes RDB records into a growing byte buffer: lengths, strings (as integers or LZF
/// compressed when that is shorter), doubles, and values. Collections are written in the plain
/// encodings (list, set, sorted set 2, hash) every Redis since 4.0 loads.
public struct RDBWriter {
    public var bytes: [UInt8] = []
    /// `rdbcompression`: strings over 20 bytes are LZF-compressed when that saves space.
    public var compress: Bool
    /// Made at the first string worth compressing, then reused.
    private var compressor: LZF.Compressor?

    public init(compress: Bool = true) {
        self.compress = compress
    }

    public mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    public mutating func length(_ value: Int) {
        precondition(value >= 0)
        if value < 1 << 6 {
            bytes.append(UInt8(value))
        } else if value < 1 << 14 {
            bytes.append(0x40 | UInt8(value >> 8))
            bytes.append(UInt8(truncatingIfNeeded: value))
        } else if value <= Int(UInt32.max) {
            bytes.append(RDBFormat.length32Bit)
            withUnsafeBytes(of: UInt32(value).bigEndian) { bytes.append(contentsOf: $0) }
        } else {
            bytes.append(RDBFormat.length64Bit)
            withUnsafeBytes(of: UInt64(value).bigEndian) { bytes.append(contentsOf: $0) }
        }
    }

    public mutating func string(_ value: UnsafeRawBufferPointer) {
        if value.count <= 11, let integer = Self.canonicalInteger(value), let encoded = Self.encodedInteger(integer) {
            bytes.append(contentsOf: encoded)
            return
        }
        if compress && value.count > 20 {
            if compressor == nil { compressor = LZF.Compressor() }
            if let compressed = compressor.unsafelyUnwrapped.compress(value, limit: value.count - 3) {
                bytes.append(RDBFormat.specialEncoding << 6 | RDBFormat.encodedLZF)
                length(compressed.count)
                length(value.count)
                bytes.append(contentsOf: compressed)
                return
            }
        }
        length(value.count)
        bytes.append(contentsOf: value)
    }

    public mutating func string(_ value: [UInt8]) {
        value.withUnsafeBytes { string($0) }
    }

    public mutating func string(_ value: String) {
        string(Array(value.utf8))
    }

    /// An integer as a string: the special integer encodings when it fits 32 bits.
    public mutating func string(integer value: Int64) {
        if let encoded = Self.encodedInteger(value) {
            bytes.append(contentsOf: encoded)
        } else {
            string(String(value))
        }
    }

    public mutating func element(_ element: Element) {
        element.withBytes { string($0) }
    }

    /// A double as 8 little-endian bytes (sorted set 2 scores).
    public mutating func binaryDouble(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func littleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The type byte and the value of a key (what DUMP serializes).
    public mutating func value(of entry: Entry) {
        byte(Self.type(of: entry.value).rawValue)
        body(of: entry)
    }

    /// A key's record in an RDB file: its expiry, its access information (`idle` seconds under
    /// an LRU policy, `frequency` under an LFU one), type, key and value.
    public mutating func record(_ entry: Entry, idle: Int?, frequency: Int?) {
        if entry.expireAt != 0 {
            byte(RDBFormat.Opcode.expireTimeMilliseconds.rawValue)
            littleEndian(entry.expireAt)
        }
        if let idle {
            byte(RDBFormat.Opcode.idle.rawValue)
            length(idle)
        }
        if let frequency {
            byte(RDBFormat.Opcode.frequency.rawValue)
            byte(UInt8(clamping: frequency))
        }
        byte(Self.type(of: entry.value).rawValue)
        entry.withKey { string($0) }
        body(of: entry)
    }

    static func type(of value: Value) -> RDBFormat.ValueType {
        switch value {
        case .embedded, .integer, .raw: .string
        case .list: .list
        case .set: .set
        case .sortedSet: .sortedSet2
        case .hash: .hash
        }
    }

    private mutating func body(of entry: Entry) {
        switch entry.value {
        case .embedded:
            entry.withEmbedded { string($0) }
        case .integer(let integer):
            string(integer: integer)
        case .raw(let raw):
            raw.bytes.withUnsafeBytes { string($0) }
        case .list(let list):
            length(list.count)
            for item in list.items { element(item) }
        case .set(let set):
            length(set.count)
            set.forEach { element($0) }
        case .sortedSet(let sortedSet):
            length(sortedSet.count)
            // Highest score first, as Redis writes them (loading then appends at the head cheaply).
            sortedSet.forEach(ranks: 0 ..< sortedSet.count, reverse: true) { member, score in
                element(member)
                binaryDouble(score)
                return true
            }
        case .hash(let hash):
            length(hash.count)
            hash.forEach { field, value in
                element(field)
                element(value)
            }
        }
    }

    /// DUMP's payload: the value, the RDB version (2 bytes) and a CRC-64 of all before it.
    public static func dumpPayload(of entry: Entry, compress: Bool = true) -> [UInt8] {
        var writer = RDBWriter(compress: compress)
        writer.value(of: entry)
        writer.littleEndian(RDBFormat.version)
        writer.littleEndian(CRC64.checksum(writer.bytes))
        return writer.bytes
    }

    static func canonicalInteger(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard !bytes.isEmpty else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let value = Int64(text), String(value) == text else { return nil }
        return value
    }

    static func encodedInteger(_ value: Int64) -> [UInt8]? {
        let prefix = RDBFormat.specialEncoding << 6
        if let small = Int8(exactly: value) {
            return [prefix | RDBFormat.encodedInt8, UInt8(bitPattern: small)]
        }
        if let medium = Int16(exactly: value) {
            return [prefix | RDBFormat.encodedInt16] + withUnsafeBytes(of: medium.littleEndian) { Array($0) }
        }
        if let large = Int32(exactly: value) {
            return [prefix | RDBFormat.encodedInt32] + withUnsafeBytes(of: large.littleEndian) { Array($0) }
        }
        return nil
    }
}
