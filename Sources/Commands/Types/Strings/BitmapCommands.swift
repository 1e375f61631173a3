import Engine
import RESP

/// Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
/// BITFIELD_RO. Bit 0 is the most significant bit of the first byte, as in Redis.
enum BitmapCommands {
    static let table: [Command] = [
        Command("setbit", arity: 4, flags: [.write, .denyOOM], categories: [.bitmap], keys: [.key(1, "RW access update")],
                group: "bitmap", since: "2.2.0", summary: "Sets or clears one bit of a key's value.", handler: setBit),
        Command("getbit", arity: 3, flags: [.readonly, .fast], categories: [.bitmap], keys: [.key(1, "RO access")],
                group: "bitmap", since: "2.2.0", summary: "Returns one bit of a key's value.", handler: getBit),
        Command("bitcount", arity: -2, flags: [.readonly], categories: [.bitmap], keys: [.key(1, "RO access")],
                group: "bitmap", since: "2.6.0", summary: "Counts the set bits of a key's value, or of a range of it.", handler: bitCount),
        Command("bitpos", arity: -3, flags: [.readonly], categories: [.bitmap], keys: [.key(1, "RO access")],
                group: "bitmap", since: "2.8.7", summary: "Finds the first set or clear bit.", handler: bitPosition),
        Command("bitop", arity: -4, flags: [.write, .denyOOM], categories: [.bitmap], keys: [.key(2, "OW update"), .keys(from: 3, "RO access")],
                group: "bitmap", since: "2.6.0", summary: "Combines keys bitwise into a destination key.", handler: bitOperation),
        Command("bitfield", arity: -2, flags: [.write, .denyOOM], categories: [.bitmap], keys: [.key(1, "RW access update variable_flags")],
                group: "bitmap", since: "3.2.0", summary: "Reads and writes integer fields of arbitrary width in a key's value.",
                variableKeyFlags: { arguments in
                    (2 ..< arguments.count).contains { arguments[$0].equalsIgnoringCase("SET") || arguments[$0].equalsIgnoringCase("INCRBY") }
                        ? ["RW", "access", "update"] : ["RO", "access"]
                }, handler: bitField),
        Command("bitfield_ro", arity: -2, flags: [.readonly, .fast], categories: [.bitmap], keys: [.key(1, "RO access")],
                group: "bitmap", since: "6.0.0", summary: "Reads integer fields of arbitrary width in a key's value.", handler: bitFieldReadOnly),
    ]

    /// The largest bit offset: one inside a string of `proto-max-bulk-len` bytes.
    static func maxBitOffset(_ c: CommandContext) -> Int {
        c.server.config.integer("proto-max-bulk-len") * 8 - 1
    }

    static func bitOffset(_ c: inout CommandContext, _ index: Int) -> Int? {
        guard let offset = c.integer(index), offset >= 0, offset <= maxBitOffset(c) else {
            c.error(Errors.bitOffset)
            return nil
        }
        return offset
    }

    static func setBit(_ c: inout CommandContext) {
        guard let offset = bitOffset(&c, 2) else { return }
        guard let bit = c.integer(3), bit == 0 || bit == 1 else {
            c.error(Errors.bitValue)
            return
        }
        guard let (raw, grew) = writableString(&c, minimumLength: offset / 8 + 1) else { return }
        let byte = offset / 8, mask = UInt8(0x80) >> UInt8(offset % 8)
        let old = raw.bytes[byte] & mask != 0
        if bit == 1 { raw.bytes[byte] |= mask } else { raw.bytes[byte] &= ~mask }
        if grew || old != (bit == 1) {
            c.changed(c.key(1), .string, "setbit", in: c.database)
        }
        c.reply.integer(old ? 1 : 0)
    }

    /// The key's value as a growable buffer of at least `minimumLength` bytes (zero-padded),
    /// created when missing; `grew` tells whether that changed it. Replies WRONGTYPE and
    /// returns nil for a non-string.
    static func writableString(_ c: inout CommandContext, minimumLength: Int) -> (raw: RawString, grew: Bool)? {
        let db = c.database
        let key = c.key(1)
        let raw: RawString
        if let entry = db.lookup(key) {
            guard entry.value.isString else {
                c.error(Errors.wrongType)
                return nil
            }
            raw = StringCommands.rawString(entry, in: db, key: key)
        } else {
            raw = RawString([])
            c.store(key, Entry.make(key: key.bytes, value: .raw(raw), expireAt: 0, access: db.access), in: db)
        }
        let grew = raw.bytes.count < minimumLength
        if grew {
            raw.bytes.append(contentsOf: repeatElement(0, count: minimumLength - raw.bytes.count))
        }
        return (raw, grew)
    }

    static func getBit(_ c: inout CommandContext) {
        guard let offset = bitOffset(&c, 2) else { return }
        guard let entry = c.read(c.key(1), in: c.database) else {
            c.reply.integer(0)
            return
        }
        guard entry.value.isString else {
            c.error(Errors.wrongType)
            return
        }
        let bit = StringValues.withBytes(entry) { bytes in
            offset / 8 < bytes.count && bytes[offset / 8] & (UInt8(0x80) >> UInt8(offset % 8)) != 0
        }
        c.reply.integer(bit ? 1 : 0)
    }

    /// Resolves a `start end [BYTE|BIT]` range against `length` bytes the way Redis does.
    /// Returns the bit range (inclusive), or nil when it is empty.
    static func bitRange(start: Int, end: Int, length: Int, inBits: Bool) -> ClosedRange<Int>? {
        let total = inBits ? length * 8 : length
        var start = start, end = end
        if start < 0 { start += total }
        if end < 0 { end += total }
        start = max(start, 0)
        end = max(end, 0)
        if end >= total { end = total - 1 }
        guard start <= end else { return nil }
        return inBits ? start ... end : start * 8 ... end * 8 + 7
    }

    static func bitCount(_ c: inout CommandContext) {
        guard let entry = c.read(c.key(1), in: c.database) else {
            c.reply.integer(0)
            return
        }
        guard entry.value.isString else {
            c.error(Errors.wrongType)
            return
        }
        var range: (start: Int, end: Int, bits: Bool)?
        if c.argumentCount == 4 || c.argumentCount == 5 {
            guard let start = c.integerOrReply(2), let end = c.integerOrReply(3) else { return }
            var bits = false
            if c.argumentCount == 5 {
                if c.argument(4, is: "BIT") { bits = true } else if !c.argument(4, is: "BYTE") {
                    c.error(Errors.syntax)
                    return
                }
            }
            range = (start, end, bits)
        } else if c.argumentCount != 2 {
            c.error(Errors.syntax)
            return
        }
        let count = StringValues.withBytes(entry) { bytes -> Int in
            let bitsRange: ClosedRange<Int>?
            if let range, range.start < 0 && range.end < 0 && range.start > range.end {
                // BITCOUNT's own rule (BITPOS has none): two negative ends out of order count nothing.
                bitsRange = nil
            } else if let range {
                bitsRange = bitRange(start: range.start, end: range.end, length: bytes.count, inBits: range.bits)
            } else {
                bitsRange = bytes.isEmpty ? nil : 0 ... bytes.count * 8 - 1
            }
            guard let bitsRange else { return 0 }
            return countBits(bytes, bitsRange)
        }
        c.reply.integer(count)
    }

    static func countBits(_ bytes: UnsafeRawBufferPointer, _ range: ClosedRange<Int>) -> Int {
        var count = 0
        var bit = range.lowerBound
        while bit <= range.upperBound && bit % 8 != 0 {
            if bytes[bit / 8] & (UInt8(0x80) >> UInt8(bit % 8)) != 0 { count += 1 }
            bit += 1
        }
        while bit + 63 <= range.upperBound {
            count += bytes.loadUnaligned(fromByteOffset: bit / 8, as: UInt64.self).nonzeroBitCount
            bit += 64
        }
        while bit + 7 <= range.upperBound {
            count += bytes[bit / 8].nonzeroBitCount
            bit += 8
        }
        while bit <= range.upperBound {
            if bytes[bit / 8] & (UInt8(0x80) >> UInt8(bit % 8)) != 0 { count += 1 }
            bit += 1
        }
        return count
    }

    static func bitPosition(_ c: inout CommandContext) {
        guard let wanted = c.integerOrReply(2) else { return }
        guard wanted == 0 || wanted == 1 else {
            c.error(Errors.bitposBit)
            return
        }
        guard let entry = c.read(c.key(1), in: c.database) else {
            c.reply.integer(wanted == 1 ? -1 : 0)
            return
        }
        guard entry.value.isString else {
            c.error(Errors.wrongType)
            return
        }
        guard c.argumentCount <= 6 else {
            c.error(Errors.syntax)
            return
        }
        var start = 0, end = -1, bits = false
        let endGiven = c.argumentCount >= 5
        if c.argumentCount >= 4 {
            guard let value = c.integerOrReply(3) else { return }
            start = value
        }
        if endGiven {
            guard let value = c.integerOrReply(4) else { return }
            end = value
            if c.argumentCount == 6 {
                if c.argument(5, is: "BIT") { bits = true } else if !c.argument(5, is: "BYTE") {
                    c.error(Errors.syntax)
                    return
                }
            }
        }
        let position = StringValues.withBytes(entry) { bytes -> Int in
            guard let range = bitRange(start: start, end: end, length: bytes.count, inBits: bits) else { return -1 }
            for bit in range where (bytes[bit / 8] & (UInt8(0x80) >> UInt8(bit % 8)) != 0) == (wanted == 1) {
                return bit
            }
            // Without an explicit end, the string counts as followed by clear bits.
            return wanted == 0 && !endGiven ? range.upperBound + 1 : -1
        }
        c.reply.integer(position)
    }

    static func bitOperation(_ c: inout CommandContext) {
        enum Operation { case and, or, xor, not }
        let operation: Operation
        if c.argument(1, is: "AND") { operation = .and }
        else if c.argument(1, is: "OR") { operation = .or }
        else if c.argument(1, is: "XOR") { operation = .xor }
        else if c.argument(1, is: "NOT") { operation = .not }
        else {
            c.error(Errors.syntax)
            return
        }
        if operation == .not && c.argumentCount != 4 {
            c.error(Errors.bitopNot)
            return
        }
        let db = c.database
        var sources: [[UInt8]] = []
        for index in 3 ..< c.argumentCount {
            guard let entry = c.read(c.key(index), in: db) else {
                sources.append([])
                continue
            }
            guard entry.value.isString else {
                c.error(Errors.wrongType)
                return
            }
            sources.append(StringValues.bytes(entry))
        }
        let length = sources.map(\.count).max() ?? 0
        var result = [UInt8](repeating: 0, count: length)
        for index in 0 ..< length {
            func byte(_ source: [UInt8]) -> UInt8 { index < source.count ? source[index] : 0 }
            switch operation {
            case .not: result[index] = ~byte(sources[0])
            case .and: result[index] = sources.reduce(0xFF) { $0 & byte($1) }
            case .or: result[index] = sources.reduce(0) { $0 | byte($1) }
            case .xor: result[index] = sources.reduce(0) { $0 ^ byte($1) }
            }
        }
        let destination = c.key(2)
        if result.isEmpty {
            if db.discard(destination) {
                c.notify(.generic, "del", destination)
                c.dirty()
            }
        } else {
            c.store(destination, Entry.make(key: destination.bytes, value: .raw(RawString(result)), expireAt: 0, access: db.access), in: db)
            c.notify(.string, "set", destination)
            c.dirty()
        }
        c.reply.integer(length)
    }

    // MARK: BITFIELD

    static func bitField(_ c: inout CommandContext) { runBitField(&c, readOnly: false) }
    static func bitFieldReadOnly(_ c: inout CommandContext) { runBitField(&c, readOnly: true) }

    private enum Overflow { case wrap, saturate, fail }

    private struct FieldOperation {
        enum Kind { case get, set(Int), incrementBy(Int) }
        var kind: Kind
        var signed: Bool
        var bits: Int
        var offset: Int
        var overflow: Overflow

        var isGet: Bool { if case .get = kind { true } else { false } }
    }

    private static func runBitField(_ c: inout CommandContext, readOnly: Bool) {
        var operations: [FieldOperation] = []
        var overflow = Overflow.wrap
        var index = 2
        while index < c.argumentCount {
            let remaining = c.argumentCount - index - 1
            if c.argument(index, is: "OVERFLOW") && remaining >= 1 {
                if c.argument(index + 1, is: "WRAP") { overflow = .wrap }
                else if c.argument(index + 1, is: "SAT") { overflow = .saturate }
                else if c.argument(index + 1, is: "FAIL") { overflow = .fail }
                else {
                    c.error(Errors.bitfieldOverflow)
                    return
                }
                index += 2
                continue
            }
            let isGet = c.argument(index, is: "GET") && remaining >= 2
            let isSet = c.argument(index, is: "SET") && remaining >= 3
            let isIncrement = c.argument(index, is: "INCRBY") && remaining >= 3
            guard isGet || isSet || isIncrement else {
                c.error(Errors.syntax)
                return
            }
            guard let (signed, bits) = fieldType(c.arguments[index + 1]) else {
                c.error(Errors.bitfieldType)
                return
            }
            guard let offset = fieldOffset(c.arguments[index + 2], bits: bits, limit: maxBitOffset(c)) else {
                c.error(Errors.bitOffset)
                return
            }
            var kind = FieldOperation.Kind.get
            if !isGet {
                if readOnly {
                    c.error(Errors.bitfieldReadOnly)
                    return
                }
                guard let value = c.integerOrReply(index + 3) else { return }
                kind = isSet ? .set(value) : .incrementBy(value)
            }
            operations.append(FieldOperation(kind: kind, signed: signed, bits: bits, offset: offset, overflow: overflow))
            index += isGet ? 3 : 4
        }
        let writes = operations.contains { !$0.isGet }
        if writes {
            let needed = operations.map { ($0.offset + $0.bits + 7) / 8 }.max() ?? 0
            guard let (raw, grew) = writableString(&c, minimumLength: needed) else { return }
            c.reply.arrayHeader(operations.count)
            // As in Redis, every write counts as a change once the string was created or grew.
            var changed = 0
            for operation in operations {
                raw.bytes.withUnsafeMutableBytes { bytes in
                    if let result = apply(operation, to: bytes) {
                        c.reply.integer(result.reply)
                        if result.changed || (grew && !operation.isGet) { changed += 1 }
                    } else {
                        c.reply.null()
                    }
                }
            }
            if changed > 0 {
                c.changed(c.key(1), .string, "setbit", in: c.database, dirty: changed)
            }
        } else {
            let entry = c.read(c.key(1), in: c.database)
            if let entry, !entry.value.isString {
                c.error(Errors.wrongType)
                return
            }
            let bytes = entry.map(StringValues.bytes) ?? []
            c.reply.arrayHeader(operations.count)
            for operation in operations {
                c.reply.integer(readField(bytes, operation))
            }
        }
    }

    /// `i1`…`i64` or `u1`…`u63`.
    private static func fieldType(_ bytes: UnsafeRawBufferPointer) -> (Bool, Int)? {
        guard bytes.count >= 2, let bits = Int(String(decoding: bytes.dropFirst(), as: UTF8.self)) else { return nil }
        switch bytes[0] | 0x20 {
        case UInt8(ascii: "i"): return (1 ... 64).contains(bits) ? (true, bits) : nil
        case UInt8(ascii: "u"): return (1 ... 63).contains(bits) ? (false, bits) : nil
        default: return nil
        }
    }

    /// A bit offset, or `#n` meaning n fields of this width; the field must start at most at `limit`.
    private static func fieldOffset(_ bytes: UnsafeRawBufferPointer, bits: Int, limit: Int) -> Int? {
        let multiplied = bytes.first == UInt8(ascii: "#")
        guard let value = StrictInteger.parse(multiplied ? UnsafeRawBufferPointer(rebasing: bytes.dropFirst()) : bytes), value >= 0 else {
            return nil
        }
        let (offset, overflow) = multiplied ? value.multipliedReportingOverflow(by: bits) : (value, false)
        guard !overflow, offset <= limit else { return nil }
        return offset
    }

    private static func readBits<Bytes: Collection>(_ bytes: Bytes, offset: Int, bits: Int) -> UInt64 where Bytes.Element == UInt8, Bytes.Index == Int {
        var value: UInt64 = 0
        for bit in offset ..< offset + bits {
            let byte = bit / 8 < bytes.count ? bytes[bytes.startIndex + bit / 8] : 0
            value = value << 1 | UInt64((byte >> (7 - UInt8(bit % 8))) & 1)
        }
        return value
    }

    private static func readField(_ bytes: [UInt8], _ operation: FieldOperation) -> Int {
        signedValue(readBits(bytes, offset: operation.offset, bits: operation.bits), operation)
    }

    private static func signedValue(_ raw: UInt64, _ operation: FieldOperation) -> Int {
        guard operation.signed else { return Int(raw) }
        if operation.bits == 64 { return Int(bitPattern: UInt(raw)) }
        let signBit: UInt64 = 1 << UInt64(operation.bits - 1)
        return raw & signBit != 0 ? Int(bitPattern: UInt(raw | ~((signBit << 1) - 1))) : Int(raw)
    }

    /// Applies SET or INCRBY (or GET) in place. Nil when OVERFLOW FAIL refused it.
    private static func apply(_ operation: FieldOperation, to bytes: UnsafeMutableRawBufferPointer) -> (reply: Int, changed: Bool)? {
        let old = signedValue(readBits(UnsafeRawBufferPointer(bytes), offset: operation.offset, bits: operation.bits), operation)
        let target: Int
        switch operation.kind {
        case .get:
            return (old, false)
        case .set(let value):
            guard let fitted = fit(value, operation) else { return nil }
            target = fitted
        case .incrementBy(let increment):
            guard let fitted = fitSum(old, increment, operation) else { return nil }
            target = fitted
        }
        var value = UInt64(bitPattern: Int64(target))
        for bit in stride(from: operation.offset + operation.bits - 1, through: operation.offset, by: -1) {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if value & 1 == 1 { bytes[bit / 8] |= mask } else { bytes[bit / 8] &= ~mask }
            value >>= 1
        }
        if case .set = operation.kind { return (old, old != target) }
        return (target, old != target)
    }

    private static func bounds(_ operation: FieldOperation) -> (min: Int, max: Int) {
        if operation.signed {
            return operation.bits == 64 ? (Int.min, Int.max) : (-(1 << (operation.bits - 1)), (1 << (operation.bits - 1)) - 1)
        }
        return (0, Int(truncatingIfNeeded: (UInt64(1) << UInt64(operation.bits)) &- 1))
    }

    /// A value brought into the field's range by the overflow rule; nil for FAIL.
    private static func fit(_ value: Int, _ operation: FieldOperation) -> Int? {
        let (low, high) = bounds(operation)
        if value >= low && value <= high { return value }
        switch operation.overflow {
        case .fail: return nil
        case .saturate: return value < low ? low : high
        case .wrap: return wrap(UInt64(bitPattern: Int64(value)), operation)
        }
    }

    private static func fitSum(_ old: Int, _ increment: Int, _ operation: FieldOperation) -> Int? {
        let (sum, overflowed) = old.addingReportingOverflow(increment)
        let (low, high) = bounds(operation)
        if !overflowed && sum >= low && sum <= high { return sum }
        switch operation.overflow {
        case .fail: return nil
        case .saturate: return increment > 0 ? high : low
        case .wrap: return wrap(UInt64(bitPattern: Int64(old)) &+ UInt64(bitPattern: Int64(increment)), operation)
        }
    }

    private static func wrap(_ value: UInt64, _ operation: FieldOperation) -> Int {
        let masked = operation.bits == 64 ? value : value & ((1 << UInt64(operation.bits)) - 1)
        return signedValue(masked, operation)
    }
}
