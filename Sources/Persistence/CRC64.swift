/// The CRC-64 that RDB files and DUMP payloads end with: the Jones polynomial, reflected, no
/// final XOR (check value for "123456789": 0xe9c6d914c4b8d9ca). Eight bytes at a time
/// ("slicing by 8": one table per byte position), so a save or a load of a large file spends
/// little on it.
public struct CRC64: Sendable {
    public private(set) var value: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        var position = 0
        CRC64.tables.withUnsafeBufferPointer { tables in
            @inline(__always) func entry(_ table: Int, _ byte: UInt64) -> UInt64 {
                tables[table << 8 | Int(byte & 0xFF)]
            }
            while position + 8 <= bytes.count {
                crc ^= UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                crc = entry(7, crc) ^ entry(6, crc >> 8) ^ entry(5, crc >> 16) ^ entry(4, crc >> 24)
                    ^ entry(3, crc >> 32) ^ entry(2, crc >> 40) ^ entry(1, crc >> 48) ^ entry(0, crc >> 56)
                position += 8
            }
            while position < bytes.count {
                crc = entry(0, crc ^ UInt64(bytes[position])) ^ (crc >> 8)
                position += 1
            }
        }
        value = crc
    }

    public mutating func update(_ bytes: some Collection<UInt8>) {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) { return done }
        Array(bytes).withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: some Collection<UInt8>) -> UInt64 {
        var crc = CRC64()
        crc.update(bytes)
        return crc.value
    }

    /// Table k gives the CRC of a byte followed by k zero bytes.
    private static let tables: [UInt64] = {
        var tables = (0 ..< 256).map { index in
            var crc = UInt64(index)
            for _ in 0 ..< 8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1
            }
            return crc
        }
        for table in 1 ..< 8 {
            for index in 0 ..< 256 {
                let previous = tables[(table - 1) << 8 | index]
                tables.append((previous >> 8) ^ tables[Int(previous & 0xFF)])
            }
        }
        return tables
    }()
}
