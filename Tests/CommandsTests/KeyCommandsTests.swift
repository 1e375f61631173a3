import TestSupport
import Testing

@Suite struct KeyCommandsTests {
    @Test func deleteExistsTypeTouch() {
        let h = Harness()
        h.run("MSET", "a", "1", "b", "2")
        #expect(h.run("EXISTS", "a", "a", "zz") == .integer(2))
        #expect(h.run("TYPE", "a") == .simple("string"))
        #expect(h.run("TYPE", "zz") == .simple("none"))
        #expect(h.run("TOUCH", "a", "b", "zz") == .integer(2))
        #expect(h.run("DEL", "a", "zz") == .integer(1))
        #expect(h.run("UNLINK", "b") == .integer(1))
        #expect(h.run("DBSIZE") == .integer(0))
    }

    @Test func keysScanAndRandomKey() {
        let h = Harness()
        for index in 0 ..< 300 { h.run("SET", "user:\(index)", "x") }
        h.run("SET", "other", "x")
        #expect(h.run("KEYS", "user:1?").elements.count == 10)
        #expect(h.run("KEYS", "*").elements.count == 301)
        var cursor = "0"
        var seen = Set<String>()
        repeat {
            let reply = h.run("SCAN", cursor, "MATCH", "user:*", "COUNT", "7").elements
            cursor = reply[0].text!
            for key in reply[1].elements { seen.insert(key.text!) }
        } while cursor != "0"
        #expect(seen.count == 300)
        #expect(h.run("SCAN", "abc") == .error("ERR invalid cursor"))
        #expect(h.run("SCAN", "0", "COUNT", "0") == .error("ERR syntax error"))
        #expect(h.run("SCAN", "0", "TYPE", "list").elements[1] == .array([]) || h.run("SCAN", "0", "TYPE", "list").elements[1].elements.isEmpty)
        #expect(h.run("RANDOMKEY").text != nil)
        h.run("FLUSHDB")
        #expect(h.run("RANDOMKEY") == .null)
    }

    @Test func renameCopyMove() {
        let h = Harness()
        #expect(h.run("RENAME", "nokey", "x") == .error("ERR no such key"))
        h.run("SET", "a", "1", "EX", "100")
        #expect(h.run("RENAME", "a", "a") == .ok())
        #expect(h.run("RENAME", "a", "b") == .ok())
        #expect(h.run("TTL", "b") == .integer(100))
        h.run("SET", "c", "3")
        #expect(h.run("RENAMENX", "b", "c") == .integer(0))
        #expect(h.run("RENAMENX", "b", "d") == .integer(1))
        #expect(h.run("COPY", "d", "d") == .error("ERR source and destination objects are the same"))
        #expect(h.run("COPY", "d", "c") == .integer(0))
        #expect(h.run("COPY", "d", "c", "REPLACE") == .integer(1))
        #expect(h.run("COPY", "d", "e", "DB", "99") == .error("ERR DB index is out of range"))
        #expect(h.run("COPY", "d", "d", "DB", "1") == .integer(1))
        #expect(h.run("MOVE", "c", "0") == .error("ERR source and destination objects are the same"))
        #expect(h.run("MOVE", "c", "x") == .error("ERR value is not an integer or out of range"))
        #expect(h.run("MOVE", "c", "16") == .error("ERR DB index is out of range"))
        #expect(h.run("MOVE", "c", "2") == .integer(1))
        #expect(h.run("SELECT", "2") == .ok())
        #expect(h.run("GET", "c") == .bulk("1"))
        #expect(h.run("SELECT", "1") == .ok())
        #expect(h.run("TTL", "d") == .integer(100))
    }

    @Test func swapAndFlush() {
        let h = Harness()
        h.run("SET", "k", "zero")
        #expect(h.run("SWAPDB", "0", "1") == .ok())
        #expect(h.run("GET", "k") == .null)
        #expect(h.run("SWAPDB", "a", "1") == .error("ERR invalid first DB index"))
        #expect(h.run("SWAPDB", "0", "b") == .error("ERR invalid second DB index"))
        #expect(h.run("SWAPDB", "0", "16") == .error("ERR DB index is out of range"))
        #expect(h.run("FLUSHALL", "ASYNC") == .ok())
        #expect(h.run("SELECT", "1") == .ok())
        #expect(h.run("DBSIZE") == .integer(0))
        #expect(h.run("FLUSHALL", "foo") == .error("ERR syntax error"))
        #expect(h.run("FLUSHDB", "SYNC") == .ok())
    }

    @Test func objectSubcommands() {
        let h = Harness()
        h.run("SET", "k", "v")
        #expect(h.run("OBJECT", "REFCOUNT", "k") == .integer(1))
        h.clock.advance(milliseconds: 3000)
        #expect(h.run("OBJECT", "IDLETIME", "k") == .integer(3))
        #expect(h.run("OBJECT", "FREQ", "k") == .error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."))
        #expect(h.run("OBJECT", "ENCODING", "missing") == .null)
        #expect(h.run("OBJECT", "HELP").elements.first == .simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"))
        #expect(h.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu") == .ok())
    }
}

@Suite struct ExpiryCommandsTests {
    @Test func conditionsAndArithmetic() {
        let h = Harness()
        h.run("SET", "k", "v")
        #expect(h.run("EXPIRE", "k", "100", "XX") == .integer(0))
        #expect(h.run("EXPIRE", "k", "100", "NX") == .integer(1))
        #expect(h.run("EXPIRE", "k", "50", "GT") == .integer(0))
        #expect(h.run("EXPIRE", "k", "150", "GT") == .integer(1))
        #expect(h.run("EXPIRE", "k", "200", "LT") == .integer(0))
        #expect(h.run("PEXPIRE", "k", "1000", "LT") == .integer(1))
        #expect(h.run("PTTL", "k") == .integer(1000))
        #expect(h.run("EXPIRE", "k", "1", "NX", "XX") == .error("ERR NX and XX, GT or LT options at the same time are not compatible"))
        #expect(h.run("EXPIRE", "k", "1", "GT", "LT") == .error("ERR GT and LT options at the same time are not compatible"))
        #expect(h.run("EXPIRE", "k", "1", "FOO") == .error("ERR Unsupported option FOO"))
        #expect(h.run("EXPIRE", "k", "9223372036854775807") == .error("ERR invalid expire time in 'expire' command"))
        #expect(h.run("PERSIST", "k") == .integer(1))
        #expect(h.run("PERSIST", "k") == .integer(0))
        #expect(h.run("TTL", "k") == .integer(-1))
        #expect(h.run("TTL", "missing") == .integer(-2))
        #expect(h.run("EXPIRETIME", "k") == .integer(-1))
        let at = h.clock.milliseconds / 1000 + 30
        #expect(h.run("EXPIREAT", "k", String(at)) == .integer(1))
        #expect(h.run("EXPIRETIME", "k") == .integer(Int(at)))
        #expect(h.run("EXPIRE", "k", "-1") == .integer(1))
        #expect(h.run("EXISTS", "k") == .integer(0))
        #expect(h.run("EXPIRE", "missing", "10") == .integer(0))
    }

    @Test func ttlRoundsToNearestSecond() {
        let h = Harness()
        h.run("SET", "k", "v", "PX", "1499")
        #expect(h.run("TTL", "k") == .integer(1))
        h.run("SET", "k", "v", "PX", "1500")
        #expect(h.run("TTL", "k") == .integer(2))
    }

    @Test func activeCycleDeletesAndCounts() {
        let h = Harness()
        for index in 0 ..< 50 { h.run("SET", "t\(index)", "v", "PX", "10") }
        h.clock.advance(milliseconds: 20)
        h.server.cron(now: h.clock.milliseconds)
        #expect(h.run("DBSIZE") == .integer(0))
        #expect((h.run("INFO", "stats").text ?? "").contains("expired_keys:50"))
    }
}
