/// Glob-style matching as KEYS, SCAN MATCH, CONFIG GET and PSUBSCRIBE use it:
/// `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` and `\x` to take `x` literally.
public enum Glob {
    public static func matches(_ pattern: UnsafeRawBufferPointer, _ string: UnsafeRawBufferPointer, ignoringCase: Bool = false) -> Bool {
        var budget = 1000
        return match(pattern[...], string[...], ignoringCase, &budget)
    }

    public static func matches(_ pattern: String, _ string: String, ignoringCase: Bool = false) -> Bool {
        var pattern = pattern, string = string
        return pattern.withUTF8 { p in string.withUTF8 { s in matches(UnsafeRawBufferPointer(p), UnsafeRawBufferPointer(s), ignoringCase: ignoringCase) } }
    }

    /// `budget` bounds the backtracking of nested stars, as Redis bounds it, so a hostile
    /// pattern such as `a*a*a*a*…b` cannot stall the server.
    private static func match(_ pattern: Slice<UnsafeRawBufferPointer>, _ string: Slice<UnsafeRawBufferPointer>,
                              _ ignoringCase: Bool, _ budget: inout Int) -> Bool {
        var p = pattern.startIndex, s = string.startIndex
        budget -= 1
        if budget <= 0 { return false }
        while p < pattern.endIndex && (s < string.endIndex || pattern[p] == UInt8(ascii: "*")) {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                while p + 1 < pattern.endIndex && pattern[p + 1] == UInt8(ascii: "*") { p += 1 }
                if p + 1 == pattern.endIndex { return true }
                var start = s
                while start <= string.endIndex {
                    if match(pattern[(p + 1)...], string[start...], ignoringCase, &budget) { return true }
                    if budget <= 0 { return false }
                    start += 1
                }
                return false
            case UInt8(ascii: "?"):
                s += 1
            case UInt8(ascii: "["):
                p += 1
                let negate = p < pattern.endIndex && pattern[p] == UInt8(ascii: "^")
                if negate { p += 1 }
                var matched = false
                while p < pattern.endIndex && pattern[p] != UInt8(ascii: "]") {
                    if pattern[p] == UInt8(ascii: "\\") && p + 1 < pattern.endIndex {
                        p += 1
                        if equal(pattern[p], string[s], ignoringCase) { matched = true }
                    } else if p + 2 < pattern.endIndex && pattern[p + 1] == UInt8(ascii: "-") {
                        var low = pattern[p], high = pattern[p + 2]
                        if low > high { Swift.swap(&low, &high) }
                        var c = string[s]
                        if ignoringCase { low = lower(low); high = lower(high); c = lower(c) }
                        if c >= low && c <= high { matched = true }
                        p += 2
                    } else if equal(pattern[p], string[s], ignoringCase) {
                        matched = true
                    }
                    p += 1
                }
                // An unterminated class ends the pattern; keep p on its last byte.
                if p == pattern.endIndex { p -= 1 }
                if negate { matched.toggle() }
                if !matched { return false }
                s += 1
            case UInt8(ascii: "\\") where p + 1 < pattern.endIndex:
                p += 1
                if !equal(pattern[p], string[s], ignoringCase) { return false }
                s += 1
            default:
                if !equal(pattern[p], string[s], ignoringCase) { return false }
                s += 1
            }
            p += 1
            if s == string.endIndex {
                while p < pattern.endIndex && pattern[p] == UInt8(ascii: "*") { p += 1 }
                break
            }
        }
        return p == pattern.endIndex && s == string.endIndex
    }

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 65 && byte <= 90 ? byte + 32 : byte
    }

    @inline(__always)
    private static func equal(_ a: UInt8, _ b: UInt8, _ ignoringCase: Bool) -> Bool {
        ignoringCase ? lower(a) == lower(b) : a == b
    }
}
