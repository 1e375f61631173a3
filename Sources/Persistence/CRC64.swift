/// The CRC-64 that RDB files and DUMP payloads end with: the Jones polynomial, reflected, no
/// final XOR (check value for "123456789": 0xe9c6d914c4b8d9ca).
public struct CRC64: Sendable {
    public private(set) var value: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = value
        CRC64.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
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

    private static let table: [UInt64] = (0 ..< 256).map { index in
        var crc = UInt64(index)
        for _ in 0 ..< 8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1
        }
        return crc
    }
}
