/// The constants of the RDB format, version 10 (Redis 7.0).
public enum RDBFormat {
    public static let version: UInt16 = 10

    /// The value types a key's record starts with.
    public enum ValueType: UInt8, Sendable {
        case string = 0
        case list = 1
        case set = 2
        case sortedSet = 3
        case hash = 4
        case sortedSet2 = 5
        case module = 6
        case module2 = 7
        case hashZipmap = 9
        case listZiplist = 10
        case setIntset = 11
        case sortedSetZiplist = 12
        case hashZiplist = 13
        case listQuicklist = 14
        case streamListpacks = 15
        case hashListpack = 16
        case sortedSetListpack = 17
        case listQuicklist2 = 18
        case streamListpacks2 = 19
    }

    /// Records that are not keys.
    public enum Opcode: UInt8, Sendable {
        case function2 = 245
        case function = 246
        case moduleAux = 247
        case idle = 248
        case frequency = 249
        case aux = 250
        case resizeDB = 251
        case expireTimeMilliseconds = 252
        case expireTimeSeconds = 253
        case selectDB = 254
        case end = 255
    }

    /// The top two bits of a length byte.
    static let length6Bit: UInt8 = 0
    static let length14Bit: UInt8 = 1
    static let length32Bit: UInt8 = 0x80
    static let length64Bit: UInt8 = 0x81
    static let specialEncoding: UInt8 = 3

    /// Special string encodings (after the `11` length prefix).
    static let encodedInt8: UInt8 = 0
    static let encodedInt16: UInt8 = 1
    static let encodedInt32: UInt8 = 2
    static let encodedLZF: UInt8 = 3

    /// Quicklist 2 node containers.
    static let containerPlain = 1
    static let containerPacked = 2
}

/// Why an RDB file or a DUMP payload was refused.
public struct RDBError: Error, Equatable, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }

    static let truncated = RDBError("unexpected end of data")
    /// Inside a compact encoding's check, reported in the type's own words.
    static let malformed = RDBError("malformed value")
}
