#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Number parsing and printing with Redis's exact rules, so replies match byte for byte.
public enum NumberFormat {
    /// Redis's `getDoubleFromObject`: the whole argument must be a C double (`1.5`, `1e3`,
    /// `inf`, `-inf`, hex floats); leading spaces, NaN and overflow are refused.
    public static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard !bytes.isEmpty, bytes.count < 4096, !isSpace(bytes[0]) else { return nil }
        return withCString(bytes) { text in
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtod(text, &end)
            guard let end, end - UnsafeMutablePointer(mutating: text) == bytes.count, !value.isNaN else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            return value
        }
    }

    /// A double read by plain `strtod` over the whole argument, as Redis reads score-range
    /// bounds (ZRANGEBYSCORE) and SORT scores: leading spaces pass and an empty string is 0;
    /// NaN and trailing garbage are refused, and overflow is refused only when asked (SORT),
    /// otherwise it reads as ±inf.
    public static func parseLenientDouble(_ bytes: UnsafeRawBufferPointer, refusingOverflow: Bool) -> Double? {
        guard !bytes.isEmpty else { return 0 }
        return withCString(bytes) { text in
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtod(text, &end)
            guard let end, end - UnsafeMutablePointer(mutating: text) == bytes.count, !value.isNaN else { return nil }
            if refusingOverflow && errno == ERANGE { return nil }
            return value
        }
    }

    /// Redis's `getLongDoubleFromObject` (INCRBYFLOAT, HINCRBYFLOAT): like `parseDouble`, in
    /// the x87 80-bit precision Redis computes with.
    public static func parseLongDouble(_ bytes: UnsafeRawBufferPointer) -> Float80? {
        guard !bytes.isEmpty, bytes.count < 4096, !isSpace(bytes[0]) else { return nil }
        return withCString(bytes) { text in
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtold(text, &end)
            guard let end, end - UnsafeMutablePointer(mutating: text) == bytes.count, !value.isNaN else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            return value
        }
    }

    /// Redis's human-friendly long double (`ld2string` mode HUMAN): `%.17Lf` with trailing
    /// zeros and a trailing dot removed; the exponent form for values too wide for that.
    public static func formatLongDouble(_ value: Float80) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        var buffer = [CChar](repeating: 0, count: 5600)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            withVaList([value]) { vsnprintf(pointer.baseAddress!, 5600, "%.17Lf", $0) }
        }
        var text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if count > 5598 { return text }
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if text == "-0" { text = "0" }
        return text
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0d)
    }

    private static func withCString<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<CChar>) -> R?) -> R? {
        // A NUL inside the argument would end the C string early: such an argument is not a number.
        guard !bytes.contains(0) else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
            buffer[bytes.count] = 0
            return body(buffer.baseAddress!)
        }
    }
}
