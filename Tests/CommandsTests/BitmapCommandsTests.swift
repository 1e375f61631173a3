import TestSupport
import Testing

@Suite struct BitmapCommandsTests {
    @Test func setAndGetBits() {
        let h = Harness()
        #expect(h.run("SETBIT", "b", "7", "1") == .integer(0))
        #expect(h.run("SETBIT", "b", "7", "0") == .integer(1))
        #expect(h.run("GETBIT", "b", "100") == .integer(0))
        #expect(h.run("SETBIT", "b", "-1", "1") == .error("ERR bit offset is not an integer or out of range"))
        #expect(h.run("SETBIT", "b", "4294967296", "1") == .error("ERR bit offset is not an integer or out of range"))
        #expect(h.run("SETBIT", "b", "1", "2") == .error("ERR bit is not an integer or out of range"))
    }

    @Test func countAndPosition() {
        let h = Harness()
        h.run("SET", "s", "foobar")
        #expect(h.run("BITCOUNT", "s") == .integer(26))
        #expect(h.run("BITCOUNT", "s", "1", "1") == .integer(6))
        #expect(h.run("BITCOUNT", "s", "5", "30", "BIT") == .integer(17))
        #expect(h.run("BITCOUNT", "s", "0") == .error("ERR syntax error"))
        #expect(h.run("BITCOUNT", "nokey", "0") == .integer(0))
        #expect(h.run("BITPOS", "s", "1") == .integer(1))
        #expect(h.run("BITPOS", "s", "0", "2", "-1", "BIT") == .integer(3))
        #expect(h.run("BITPOS", "nokey", "0") == .integer(0))
        #expect(h.run("BITPOS", "nokey", "1") == .integer(-1))
        #expect(h.run("BITPOS", "s", "2") == .error("ERR The bit argument must be 1 or 0."))
        h.run("SET", "ones", "\u{7f}")
        #expect(h.run("SETRANGE", "ones", "0", "\u{7f}") == .integer(1))
    }

    @Test func operations() {
        let h = Harness()
        h.run("MSET", "a", "abc", "b", "a")
        #expect(h.run("BITOP", "AND", "d", "a", "b") == .integer(3))
        #expect(h.run("GET", "d") == .bulk([0x61, 0, 0]))
        #expect(h.run("BITOP", "NOT", "d", "a", "b") == .error("ERR BITOP NOT must be called with a single source key."))
        #expect(h.run("BITOP", "XOR", "d", "nokey") == .integer(0))
        #expect(h.run("EXISTS", "d") == .integer(0))
        #expect(h.run("BITOP", "FOO", "d", "a") == .error("ERR syntax error"))
    }

    @Test func bitfields() {
        let h = Harness()
        #expect(h.run("BITFIELD", "x", "SET", "i8", "0", "-1", "GET", "u8", "0", "GET", "i4", "#1") == .array([.integer(0), .integer(255), .integer(-1)]))
        #expect(h.run("BITFIELD", "y", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1") == .array([.integer(1), .integer(1)]))
        #expect(h.run("BITFIELD", "z", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "200") == .array([.null]))
        #expect(h.run("BITFIELD", "z", "INCRBY", "i8", "0", "-300") == .array([.integer(-44)]))
        #expect(h.run("BITFIELD", "w", "OVERFLOW", "WRAP", "INCRBY", "i4", "0", "7", "INCRBY", "i4", "0", "1") == .array([.integer(7), .integer(-8)]))
        #expect(h.run("BITFIELD", "v", "SET", "u8", "0", "300", "OVERFLOW", "SAT", "SET", "u8", "8", "300") == .array([.integer(0), .integer(0)]))
        #expect(h.run("BITFIELD", "v", "GET", "u8", "0", "GET", "u8", "8") == .array([.integer(44), .integer(255)]))
        #expect(h.run("BITFIELD", "x", "GET", "u64", "0") == .error("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."))
        #expect(h.run("BITFIELD", "x", "OVERFLOW", "foo") == .error("ERR Invalid OVERFLOW type specified"))
        #expect(h.run("BITFIELD", "x", "SET", "u8", "-1", "1") == .error("ERR bit offset is not an integer or out of range"))
        #expect(h.run("BITFIELD_RO", "x", "SET", "i8", "0", "1") == .error("ERR BITFIELD_RO only supports the GET subcommand"))
        #expect(h.run("BITFIELD_RO", "x", "GET", "i8", "0") == .array([.integer(-1)]))
        #expect(h.run("BITFIELD", "x") == .array([]))
    }
}
