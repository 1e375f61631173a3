import Engine

/// Redis's compact encodings as RDB carries them inside a string: ziplist, listpack, intset
/// and zipmap. Each is decoded to its items (integers as their decimal text), every offset
/// checked against the blob's size.
enum CompactEncodings {
    // Redis's words for a blob that fails its checks.
    static let listpackCorrupt = RDBError("Listpack integrity check failed.")
    static let ziplistCorrupt = RDBError("Ziplist integrity check failed.")
    static let zipmapCorrupt = RDBError("Zipmap integrity check failed.")

    // MARK: Listpack
    // Header: total bytes (u32 LE), item count (u16 LE); items; 0xFF. An item is its encoding
    // and data, then its own size backwards in 1–5 bytes.

    static func listpack(_ blob: [UInt8]) throws(RDBError) -> [Element] {
        var reader = RDBReader(blob)
        let total = try reader.littleEndian(UInt32.self)
        let count = try reader.littleEndian(UInt16.self)
        guard Int(total) == blob.count else { throw listpackCorrupt }
        var items: [Element] = []
        while true {
            let start = reader.position
            let first = try reader.byte()
            if first == 0xFF { break }
            if first & 0x80 == 0 {
                items.append(Element(Int(first)))
            } else if first & 0xC0 == 0x80 {
                items.append(Element(Array(try reader.take(Int(first & 0x3F)))))
            } else if first & 0xE0 == 0xC0 {
                let raw = Int(first & 0x1F) << 8 | Int(try reader.byte())
                items.append(Element(raw >= 1 << 12 ? raw - (1 << 13) : raw))
            } else if first & 0xF0 == 0xE0 {
                let length = Int(first & 0x0F) << 8 | Int(try reader.byte())
                items.append(Element(Array(try reader.take(length))))
            } else {
                switch first {
                case 0xF0: items.append(Element(Array(try reader.take(Int(try reader.littleEndian(UInt32.self))))))
                case 0xF1: items.append(Element(Int(Int16(bitPattern: try reader.littleEndian(UInt16.self)))))
                case 0xF2:
                    let raw = Int(try reader.littleEndian(UInt16.self)) | Int(try reader.byte()) << 16
                    items.append(Element(raw >= 1 << 23 ? raw - (1 << 24) : raw))
                case 0xF3: items.append(Element(Int(Int32(bitPattern: try reader.littleEndian(UInt32.self)))))
                case 0xF4: items.append(Element(Int(Int64(bitPattern: try reader.littleEndian(UInt64.self)))))
                default: throw listpackCorrupt
                }
            }
            let size = reader.position - start
            let backLength = size < 128 ? 1 : size < 16384 ? 2 : size < 2_097_152 ? 3 : size < 268_435_456 ? 4 : 5
            _ = try reader.take(backLength)
        }
        guard reader.isAtEnd else { throw listpackCorrupt }
        // 65535 means "count them": the header only holds smaller counts.
        guard count == UInt16.max || Int(count) == items.count else { throw listpackCorrupt }
        return items
    }

    // MARK: Ziplist
    // Header: total bytes (u32 LE), tail offset (u32 LE), item count (u16 LE); items; 0xFF.
    // An item is the previous item's size (1 byte, or 0xFE and 4 bytes), its encoding, its data.

    static func ziplist(_ blob: [UInt8]) throws(RDBError) -> [Element] {
        var reader = RDBReader(blob)
        let total = try reader.littleEndian(UInt32.self)
        let tail = try reader.littleEndian(UInt32.self)
        let count = try reader.littleEndian(UInt16.self)
        guard Int(total) == blob.count else { throw ziplistCorrupt }
        var items: [Element] = []
        // Each item records the size of the one before it; the header, where the last starts.
        var previousSize = 0
        var lastStart = 10
        while true {
            let start = reader.position
            let first = try reader.byte()
            if first == 0xFF { break }
            var recorded = Int(first)
            if first == 0xFE { recorded = Int(try reader.littleEndian(UInt32.self)) }
            guard recorded == previousSize else { throw ziplistCorrupt }
            lastStart = start
            let encoding = try reader.byte()
            switch encoding >> 6 {
            case 0:
                items.append(Element(Array(try reader.take(Int(encoding & 0x3F)))))
            case 1:
                let length = Int(encoding & 0x3F) << 8 | Int(try reader.byte())
                items.append(Element(Array(try reader.take(length))))
            case 2:
                guard encoding == 0x80 else { throw ziplistCorrupt }
                let length = UInt32(bigEndian: try reader.littleEndian(UInt32.self))
                items.append(Element(Array(try reader.take(Int(length)))))
            default:
                switch encoding {
                case 0xC0: items.append(Element(Int(Int16(bitPattern: try reader.littleEndian(UInt16.self)))))
                case 0xD0: items.append(Element(Int(Int32(bitPattern: try reader.littleEndian(UInt32.self)))))
                case 0xE0: items.append(Element(Int(Int64(bitPattern: try reader.littleEndian(UInt64.self)))))
                case 0xF0:
                    let raw = Int(try reader.littleEndian(UInt16.self)) | Int(try reader.byte()) << 16
                    items.append(Element(raw >= 1 << 23 ? raw - (1 << 24) : raw))
                case 0xFE: items.append(Element(Int(Int8(bitPattern: try reader.byte()))))
                case 0xF1 ... 0xFD: items.append(Element(Int(encoding & 0x0F) - 1))
                default: throw ziplistCorrupt
                }
            }
            previousSize = reader.position - start
        }
        guard reader.isAtEnd, Int(tail) == (items.isEmpty ? 10 : lastStart) else { throw ziplistCorrupt }
        guard count == UInt16.max || Int(count) == items.count else { throw ziplistCorrupt }
        return items
    }

    // MARK: Intset
    // Header: integer width in bytes (u32 LE: 2, 4 or 8), count (u32 LE); the integers, LE.

    static func intset(_ blob: [UInt8]) throws(RDBError) -> [Int64] {
        var reader = RDBReader(blob)
        let width = try reader.littleEndian(UInt32.self)
        let count = Int(try reader.littleEndian(UInt32.self))
        guard [2, 4, 8].contains(width), reader.remaining == count * Int(width) else { throw RDBError("Intset integrity check failed.") }
        var members: [Int64] = []
        members.reserveCapacity(count)
        for _ in 0 ..< count {
            switch width {
            case 2: members.append(Int64(Int16(bitPattern: try reader.littleEndian(UInt16.self))))
            case 4: members.append(Int64(Int32(bitPattern: try reader.littleEndian(UInt32.self))))
            default: members.append(Int64(bitPattern: try reader.littleEndian(UInt64.self)))
            }
        }
        return members
    }

    // MARK: Zipmap (hashes written before Redis 2.6)
    // A count byte; then pairs: key length, key, value length, a free-bytes count, value, the
    // free bytes; 0xFF. A length is one byte below 254, or 254 and 4 bytes LE.

    static func zipmap(_ blob: [UInt8]) throws(RDBError) -> [Element] {
        var reader = RDBReader(blob)
        _ = try reader.byte()
        var items: [Element] = []
        func length(_ reader: inout RDBReader) throws(RDBError) -> Int? {
            let first = try reader.byte()
            switch first {
            case 0xFF: return nil
            case 254: return Int(try reader.littleEndian(UInt32.self))
            default: return Int(first)
            }
        }
        while let keyLength = try length(&reader) {
            items.append(Element(Array(try reader.take(keyLength))))
            guard let valueLength = try length(&reader) else { throw zipmapCorrupt }
            let free = Int(try reader.byte())
            items.append(Element(Array(try reader.take(valueLength))))
            _ = try reader.take(free)
        }
        guard reader.isAtEnd else { throw zipmapCorrupt }
        return items
    }
}
