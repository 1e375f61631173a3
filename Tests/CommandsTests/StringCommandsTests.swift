import TestSupport
import Testing

@Suite struct StringCommandsTests {
    @Test func setAndGetWithEncodings() {
        let h = Harness()
        #expect(h.run("SET", "n", "123") == .ok())
        #expect(h.run("OBJECT", "ENCODING", "n") == .bulk("int"))
        #expect(h.run("GET", "n") == .bulk("123"))
        #expect(h.run("SET", "s", String(repeating: "x", count: 44)) == .ok())
        #expect(h.run("OBJECT", "ENCODING", "s") == .bulk("embstr"))
        #expect(h.run("SET", "s", String(repeating: "x", count: 45)) == .ok())
        #expect(h.run("OBJECT", "ENCODING", "s") == .bulk("raw"))
        #expect(h.run("SET", "z", "01") == .ok())
        #expect(h.run("OBJECT", "ENCODING", "z") == .bulk("embstr"))
        #expect(h.run("GET", "missing") == .null)
    }

    @Test func setOptions() {
        let h = Harness()
        #expect(h.run("SET", "k", "v", "NX") == .ok())
        #expect(h.run("SET", "k", "w", "NX") == .null)
        #expect(h.run("SET", "k", "w", "XX", "GET") == .bulk("v"))
        #expect(h.run("SET", "other", "w", "XX") == .null)
        #expect(h.run("SET", "k", "v", "NX", "XX") == .error("ERR syntax error"))
        #expect(h.run("SET", "k", "v", "EX", "10", "PX", "10") == .error("ERR syntax error"))
        #expect(h.run("SET", "k", "v", "EX") == .error("ERR syntax error"))
        #expect(h.run("SET", "k", "v", "EX", "0") == .error("ERR invalid expire time in 'set' command"))
        #expect(h.run("SET", "k", "v", "EX", "abc") == .error("ERR value is not an integer or out of range"))
        #expect(h.run("SET", "k", "v", "EX", "9223372036854775807") == .error("ERR invalid expire time in 'set' command"))
        #expect(h.run("SET", "k", "v", "PX", "1000") == .ok())
        #expect(h.run("PTTL", "k") == .integer(1000))
        #expect(h.run("SET", "k", "w", "KEEPTTL") == .ok())
        #expect(h.run("PTTL", "k") == .integer(1000))
        #expect(h.run("SET", "k", "w") == .ok())
        #expect(h.run("TTL", "k") == .integer(-1))
        let at = String(h.clock.milliseconds + 5000)
        #expect(h.run("SET", "k", "v", "PXAT", at) == .ok())
        #expect(h.run("PEXPIRETIME", "k") == .integer(Int(at)!))
        #expect(h.run("SET", "k", "v", "EXAT", "1") == .ok())
        #expect(h.run("EXISTS", "k") == .integer(0))
    }

    @Test func expiryFollowsTheInjectedClock() {
        let h = Harness()
        h.run("SET", "k", "v", "PX", "100")
        h.clock.advance(milliseconds: 99)
        #expect(h.run("GET", "k") == .bulk("v"))
        h.clock.advance(milliseconds: 1)
        #expect(h.run("GET", "k") == .null)
        #expect(h.run("DBSIZE") == .integer(0))
    }

    @Test func getSetDelEx() {
        let h = Harness()
        #expect(h.run("GETSET", "k", "1") == .null)
        #expect(h.run("GETSET", "k", "2") == .bulk("1"))
        #expect(h.run("GETEX", "k", "EX", "100") == .bulk("2"))
        #expect(h.run("TTL", "k") == .integer(100))
        #expect(h.run("GETEX", "k", "PERSIST") == .bulk("2"))
        #expect(h.run("TTL", "k") == .integer(-1))
        #expect(h.run("GETEX", "k", "PERSIST", "EX", "10") == .error("ERR syntax error"))
        #expect(h.run("GETDEL", "k") == .bulk("2"))
        #expect(h.run("GETDEL", "k") == .null)
    }

    @Test func multiKey() {
        let h = Harness()
        #expect(h.run("MSET", "a", "1", "b", "2") == .ok())
        #expect(h.run("MSET", "a", "1", "b") == .error("ERR wrong number of arguments for 'mset' command"))
        #expect(h.run("MGET", "a", "b", "c") == .array([.bulk("1"), .bulk("2"), .null]))
        #expect(h.run("MSETNX", "c", "3", "a", "9") == .integer(0))
        #expect(h.run("GET", "c") == .null)
        #expect(h.run("MSETNX", "c", "3", "d", "4") == .integer(1))
    }

    @Test func counters() {
        let h = Harness()
        #expect(h.run("INCR", "n") == .integer(1))
        #expect(h.run("INCRBY", "n", "-11") == .integer(-10))
        #expect(h.run("DECRBY", "n", "5") == .integer(-15))
        #expect(h.run("DECR", "n") == .integer(-16))
        h.run("SET", "n", "9223372036854775807")
        #expect(h.run("INCR", "n") == .error("ERR increment or decrement would overflow"))
        #expect(h.run("DECRBY", "n", "-9223372036854775808") == .error("ERR decrement would overflow"))
        h.run("SET", "s", "abc")
        #expect(h.run("INCR", "s") == .error("ERR value is not an integer or out of range"))
        h.run("SET", "s", " 1")
        #expect(h.run("INCR", "s") == .error("ERR value is not an integer or out of range"))
        #expect(h.run("INCRBY", "n", "x") == .error("ERR value is not an integer or out of range"))
    }

    @Test func incrByFloatFormatsAsRedis() {
        let h = Harness()
        h.run("SET", "f", "10.5")
        #expect(h.run("INCRBYFLOAT", "f", "0.1") == .bulk("10.6"))
        #expect(h.run("INCRBYFLOAT", "f", "1e3") == .bulk("1010.59999999999999998"))
        #expect(h.run("INCRBYFLOAT", "f", "-1010.6") == .bulk("0"))
        #expect(h.run("OBJECT", "ENCODING", "f") == .bulk("embstr"))
        h.run("SET", "g", "3.0e3")
        #expect(h.run("INCRBYFLOAT", "g", "0") == .bulk("3000"))
        #expect(h.run("INCRBYFLOAT", "g", "abc") == .error("ERR value is not a valid float"))
        #expect(h.run("INCRBYFLOAT", "g", "nan") == .error("ERR value is not a valid float"))
        #expect(h.run("INCRBYFLOAT", "g", "inf") == .error("ERR increment would produce NaN or Infinity"))
    }

    @Test func appendStrlenRanges() {
        let h = Harness()
        #expect(h.run("APPEND", "s", "Hello") == .integer(5))
        #expect(h.run("APPEND", "s", " World") == .integer(11))
        #expect(h.run("OBJECT", "ENCODING", "s") == .bulk("raw"))
        #expect(h.run("STRLEN", "s") == .integer(11))
        #expect(h.run("GETRANGE", "s", "0", "4") == .bulk("Hello"))
        #expect(h.run("GETRANGE", "s", "-5", "-1") == .bulk("World"))
        #expect(h.run("GETRANGE", "s", "0", "-100") == .bulk("H"))
        #expect(h.run("GETRANGE", "s", "-1", "-5") == .bulk(""))
        #expect(h.run("SUBSTR", "s", "6", "100") == .bulk("World"))
        #expect(h.run("GETRANGE", "missing", "0", "1") == .bulk(""))
        #expect(h.run("SETRANGE", "s", "6", "Redis") == .integer(11))
        #expect(h.run("GET", "s") == .bulk("Hello Redis"))
        #expect(h.run("SETRANGE", "pad", "3", "x") == .integer(4))
        #expect(h.run("GET", "pad") == .bulk([0, 0, 0, UInt8(ascii: "x")]))
        #expect(h.run("SETRANGE", "empty", "0", "") == .integer(0))
        #expect(h.run("EXISTS", "empty") == .integer(0))
        #expect(h.run("SETRANGE", "s", "-1", "x") == .error("ERR offset is out of range"))
        #expect(h.run("SETRANGE", "s", "536870912", "x") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
    }

    @Test func longestCommonSubsequence() {
        let h = Harness()
        h.run("MSET", "a", "ohmytext", "b", "mynewtext")
        #expect(h.run("LCS", "a", "b") == .bulk("mytext"))
        #expect(h.run("LCS", "a", "b", "LEN") == .integer(6))
        #expect(h.run("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
            == .array([.bulk("matches"), .array([.array([.array([.integer(4), .integer(7)]), .array([.integer(5), .integer(8)]), .integer(4)])]),
                       .bulk("len"), .integer(6)]))
        #expect(h.run("LCS", "a", "b", "LEN", "IDX") == .error("ERR If you want both the length and indexes, please just use IDX."))
    }

    @Test func bitmapsAreStrings() {
        let h = Harness()
        h.run("SETBIT", "b", "1", "1")
        #expect(h.run("GET", "b") == .bulk([0x40]))
        #expect(h.run("APPEND", "b", "A") == .integer(2))
        #expect(h.run("GETBIT", "b", "9") == .integer(1))
    }
}
