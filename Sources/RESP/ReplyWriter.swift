import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes replies in RESP2 or RESP3 into a connection's outbound buffer. Every reply a client
/// sees goes through here, so the protocol version is decided in one place: a RESP3 map is a
/// flat array under RESP2, a RESP3 null is `$-1` or `*-1`, a double is a bulk string.
public struct ReplyWriter {
    public var buffer: ByteBuffer
    /// 2 or 3, as chosen by `HELLO`.
    public var protocolVersion: Int

    /// Set when a string would take the buffer past `maximumSize`: the reply cannot be held (a
    /// ByteBuffer holds at most 4 GiB), its strings are dropped from then on, and the
    /// connection closes the client instead of sending it (`RequestLoop`).
    public internal(set) var overflowed = false
    public static let maximumSize = 3 << 30

    public init(buffer: ByteBuffer, protocolVersion: Int = 2) {
        self.buffer = buffer
        self.protocolVersion = protocolVersion
    }

    /// False, marking the writer overflowed, when `count` more bytes would not fit.
    @inlinable
    mutating func fits(_ count: Int) -> Bool {
        if !overflowed && buffer.writerIndex &+ count <= Self.maximumSize { return true }
        markOverflowed()
        return false
    }

    @usableFromInline
    mutating func markOverflowed() {
        overflowed = true
    }

    public var isRESP3: Bool { protocolVersion >= 3 }

    // MARK: Scalars

    @inlinable
    public mutating func ok() {
        buffer.writeStaticString("+OK\r\n")
    }

    public mutating func simpleString(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "+"))
        writeSanitized(text.utf8)
        buffer.writeStaticString("\r\n")
    }

    /// An error reply. `message` starts with its code (`ERR ...`, `WRONGTYPE ...`); CR and LF
    /// inside it become spaces, as Redis does, so the reply stays one line.
    public mutating func error(_ message: String) {
        error(bytes: message.utf8)
    }

    /// An error reply holding a client's bytes as they came (Redis copies them unchanged).
    public mutating func error<Bytes: Sequence<UInt8>>(bytes message: Bytes) {
        buffer.writeInteger(UInt8(ascii: "-"))
        writeSanitized(message)
        buffer.writeStaticString("\r\n")
    }

    @inlinable
    public mutating func integer(_ value: Int) {
        buffer.writeInteger(UInt8(ascii: ":"))
        writeDecimal(value)
        buffer.writeStaticString("\r\n")
    }

    /// `$<count>\r\n<bytes>\r\n`, written with one capacity check.
    @inlinable
    public mutating func bulk(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        let digits = Self.decimalDigits(count)
        let total = 1 + digits + 2 + count + 2
        guard fits(total) else { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { raw in
            let out = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            out[0] = UInt8(ascii: "$")
            var value = count
            var index = digits
            repeat {
                out[index] = UInt8(truncatingIfNeeded: 48 + value % 10)
                value /= 10
                index -= 1
            } while value > 0
            out[digits + 1] = 13
            out[digits + 2] = 10
            if count > 0 { (out + digits + 3).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count) }
            out[total - 2] = 13
            out[total - 1] = 10
            return total
        }
    }

    @inlinable
    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 { rest /= 10; digits += 1 }
        return digits
    }

    @inlinable
    public mutating func bulk<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        guard fits(bytes.count + 24) else { return }
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(bytes.count)
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }

    public mutating func bulk(_ text: String) {
        bulk(text.utf8)
    }

    /// An integer as a bulk string (`$3\r\n123\r\n`), as GET replies for an integer-encoded value.
    @inlinable
    public mutating func bulkDecimal(_ value: Int) {
        var digits = 1
        var rest = value.magnitude
        while rest >= 10 { rest /= 10; digits += 1 }
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(value < 0 ? digits + 1 : digits)
        buffer.writeStaticString("\r\n")
        writeDecimal(value)
        buffer.writeStaticString("\r\n")
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    @inlinable
    public mutating func null() {
        if protocolVersion >= 3 { buffer.writeStaticString("_\r\n") } else { buffer.writeStaticString("$-1\r\n") }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    public mutating func nullArray() {
        if protocolVersion >= 3 { buffer.writeStaticString("_\r\n") } else { buffer.writeStaticString("*-1\r\n") }
    }

    /// A double: RESP3 `,<value>`, RESP2 a bulk string. Formatted as Redis 7.0 does (`%.17g`, `inf`, `-inf`).
    public mutating func double(_ value: Double) {
        let text = Self.formatDouble(value)
        if protocolVersion >= 3 {
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeString(text)
            buffer.writeStaticString("\r\n")
        } else {
            bulk(text)
        }
    }

    /// A number too large for an integer reply: RESP3 `(<digits>`, RESP2 a bulk string.
    public mutating func bigNumber(_ digits: String) {
        if protocolVersion >= 3 {
            buffer.writeInteger(UInt8(ascii: "("))
            buffer.writeString(digits)
            buffer.writeStaticString("\r\n")
        } else {
            bulk(digits)
        }
    }

    /// A boolean: RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
    public mutating func boolean(_ value: Bool) {
        if protocolVersion >= 3 {
            buffer.writeStaticString(value ? "#t\r\n" : "#f\r\n")
        } else {
            buffer.writeStaticString(value ? ":1\r\n" : ":0\r\n")
        }
    }

    /// Text meant for humans: RESP3 verbatim string `=<len>\r\ntxt:...`, RESP2 a bulk string.
    public mutating func verbatim(_ text: String, format: String = "txt") {
        if protocolVersion >= 3 {
            let utf8 = text.utf8
            buffer.writeInteger(UInt8(ascii: "="))
            writeDecimal(utf8.count + 4)
            buffer.writeStaticString("\r\n")
            buffer.writeString(format)
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeBytes(utf8)
            buffer.writeStaticString("\r\n")
        } else {
            bulk(text)
        }
    }

    // MARK: Aggregates

    @inlinable
    public mutating func arrayHeader(_ count: Int) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(count)
        buffer.writeStaticString("\r\n")
    }

    /// A map of `count` pairs: RESP3 `%`, RESP2 a flat array of 2×count elements.
    public mutating func mapHeader(_ count: Int) {
        if protocolVersion >= 3 {
            buffer.writeInteger(UInt8(ascii: "%"))
            writeDecimal(count)
        } else {
            buffer.writeInteger(UInt8(ascii: "*"))
            writeDecimal(count * 2)
        }
        buffer.writeStaticString("\r\n")
    }

    /// A set: RESP3 `~`, RESP2 an array.
    public mutating func setHeader(_ count: Int) {
        buffer.writeInteger(UInt8(ascii: protocolVersion >= 3 ? "~" : "*"))
        writeDecimal(count)
        buffer.writeStaticString("\r\n")
    }

    /// RESP3 attributes (`|<count>`), metadata before the reply they describe; RESP3 only.
    public mutating func attributeHeader(_ count: Int) {
        buffer.writeInteger(UInt8(ascii: "|"))
        writeDecimal(count)
        buffer.writeStaticString("\r\n")
    }

    /// An out-of-band message (Pub/Sub, invalidations): RESP3 `>`, RESP2 an array.
    public mutating func pushHeader(_ count: Int) {
        buffer.writeInteger(UInt8(ascii: protocolVersion >= 3 ? ">" : "*"))
        writeDecimal(count)
        buffer.writeStaticString("\r\n")
    }

    /// An array whose length is only known after its elements are written.
    public mutating func beginDeferredArray() -> DeferredLength {
        let marker = DeferredLength(headerIndex: buffer.writerIndex, kind: UInt8(ascii: "*"))
        // Room for the largest header; shifted down once the length is known.
        buffer.writeStaticString("*00000000000000000000\r\n")
        return marker
    }

    public mutating func beginDeferredMap() -> DeferredLength {
        var marker = beginDeferredArray()
        if protocolVersion >= 3 { marker.kind = UInt8(ascii: "%") } else { marker.pairs = true }
        return marker
    }

    public mutating func beginDeferredSet() -> DeferredLength {
        var marker = beginDeferredArray()
        if protocolVersion >= 3 { marker.kind = UInt8(ascii: "~") }
        return marker
    }

    public mutating func end(_ marker: DeferredLength, count: Int) {
        var header = [marker.kind]
        header.append(contentsOf: String(marker.pairs ? count * 2 : count).utf8)
        header.append(contentsOf: [0x0d, 0x0a])
        let reserved = 23
        let bodyStart = marker.headerIndex + reserved
        let bodyLength = buffer.writerIndex - bodyStart
        let shift = reserved - header.count
        let headerOffset = marker.headerIndex - buffer.readerIndex
        buffer.withUnsafeMutableReadableBytes { raw in
            let base = raw.baseAddress! + headerOffset
            // Move the body down over the unused part of the reserved header.
            (base + header.count).copyMemory(from: base + reserved, byteCount: bodyLength)
            header.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: header.count) }
        }
        buffer.moveWriterIndex(to: buffer.writerIndex - shift)
    }

    public struct DeferredLength {
        let headerIndex: Int
        var kind: UInt8
        var pairs = false
    }

    /// Writes an out-of-band message (a Pub/Sub message or confirmation, an invalidation):
    /// CLIENT REPLY OFF and SKIP silence replies, not these, as in Redis.
    public mutating func push(_ body: (inout ReplyWriter) -> Void) {
        guard pushesKept != nil else { return body(&self) }
        let start = buffer.writerIndex
        body(&self)
        pushesKept!.append(start ..< buffer.writerIndex)
    }

    /// Set (to an empty list) while a command's replies are to be dropped: the ranges of the
    /// pushes written meanwhile, which `discardReplies` keeps.
    public var pushesKept: [Range<Int>]?

    /// Drops what was written from `start` on, except the pushes.
    public mutating func discardReplies(from start: Int) {
        let kept = pushesKept ?? []
        pushesKept = nil
        var end = start
        for range in kept {
            if range.lowerBound != end {
                let bytes = buffer.getSlice(at: range.lowerBound, length: range.count)!
                buffer.setBuffer(bytes, at: end)
            }
            end += range.count
        }
        buffer.moveWriterIndex(to: end)
    }

    // MARK: Formatting

    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        if value >= 0 && value < 10 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: 48 + value))
            return
        }
        var magnitude = value.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; digits += 1 }
        let length = digits + (value < 0 ? 1 : 0)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
            var index = length - 1
            repeat {
                raw[index] = UInt8(truncatingIfNeeded: 48 + magnitude % 10)
                magnitude /= 10
                index -= 1
            } while magnitude > 0
            if value < 0 { raw[0] = UInt8(ascii: "-") }
            return length
        }
    }

    private mutating func writeSanitized<Bytes: Sequence<UInt8>>(_ text: Bytes) {
        for byte in text {
            buffer.writeInteger(byte == 0x0d || byte == 0x0a ? UInt8(ascii: " ") : byte)
        }
    }

    /// `%.17g`, the format Redis 7.0 replies doubles with; infinities as `inf` / `-inf`.
    public static func formatDouble(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value.isNaN { return "nan" }
        return formatC("%.17g", value)
    }

    /// Formats one double with a C format string.
    public static func formatC(_ format: String, _ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress!, 400, format, $0) }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(min(count, 399))), as: UTF8.self)
        }
    }
}
