import TestSupport
import Testing

/// Collection commands and transactions in process, with the injected clock where time matters.
@Suite struct CollectionCommandsTests {
    @Test func emptiedCollectionsStopExisting() {
        let h = Harness()
        h.run("RPUSH", "l", "a")
        h.run("HSET", "h", "f", "v")
        h.run("SADD", "s", "m")
        h.run("ZADD", "z", "1", "m")
        h.run("LPOP", "l")
        h.run("HDEL", "h", "f")
        h.run("SREM", "s", "m")
        h.run("ZREM", "z", "m")
        #expect(h.run("EXISTS", "l", "h", "s", "z") == .integer(0))
        #expect(h.run("DBSIZE") == .integer(0))
    }

    @Test func wrongTypeEverywhere() {
        let h = Harness()
        h.run("SET", "str", "x")
        let wrongType = RESPValue.error("WRONGTYPE Operation against a key holding the wrong kind of value")
        for command in [["LPUSH", "str", "a"], ["HGET", "str", "f"], ["SADD", "str", "m"], ["ZADD", "str", "1", "m"],
                        ["ZRANGE", "str", "0", "-1"], ["SORT", "str"], ["BLPOP", "str", "0"], ["BZPOPMIN", "str", "0"]] {
            #expect(h.run(command.map { Array($0.utf8) }) == wrongType, "\(command)")
        }
    }

    @Test func sortedSetRangesAndScores() {
        let h = Harness()
        h.run("ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d")
        #expect(h.run("ZRANGE", "z", "(1", "3", "BYSCORE", "LIMIT", "1", "5") == .strings("c", "d"))
        #expect(h.run("ZRANGE", "z", "3", "-inf", "BYSCORE", "REV") == .strings("d", "c", "b", "a"))
        #expect(h.run("ZRANK", "z", "c") == .integer(2))
        #expect(h.run("ZREVRANK", "z", "a") == .integer(3))
        #expect(h.run("ZADD", "z", "INCR", "0.5", "a") == .bulk("1.5"))
        #expect(h.run("ZADD", "z", "GT", "CH", "1", "a", "9", "b") == .integer(1))
        #expect(h.run("ZSCORE", "z", "b") == .bulk("9"))
        #expect(h.run("ZADD", "z", "NX", "XX", "1", "a") == .error("ERR XX and NX options at the same time are not compatible"))
        #expect(h.run("ZCOUNT", "z", "x", "1") == .error("ERR min or max is not a float"))
        #expect(h.run("ZUNIONSTORE", "u", "2", "z", "z", "WEIGHTS", "1", "2") == .integer(4))
        #expect(h.run("ZSCORE", "u", "b") == .bulk("27"))
    }

    @Test func blockingCommandsInsideMultiDoNotBlock() {
        let h = Harness()
        h.run("MULTI")
        #expect(h.run("BLPOP", "none", "0") == .simple("QUEUED"))
        #expect(h.run("BLMOVE", "none", "d", "LEFT", "LEFT", "0") == .simple("QUEUED"))
        #expect(h.run("BZPOPMIN", "none", "0") == .simple("QUEUED"))
        #expect(h.run("EXEC") == .array([.nullArray, .null, .nullArray]))
    }

    @Test func watchedKeyExpiringAbortsTheTransaction() {
        let h = Harness()
        h.run("SET", "k", "v", "PX", "100")
        h.run("WATCH", "k")
        h.clock.advance(milliseconds: 200)
        h.run("MULTI")
        h.run("GET", "k")
        #expect(h.run("EXEC") == .nullArray)

        h.run("SET", "k", "v", "PX", "100")
        h.run("WATCH", "k")
        h.clock.advance(milliseconds: 50)
        h.run("MULTI")
        h.run("GET", "k")
        #expect(h.run("EXEC") == .array([.bulk("v")]))
    }

    @Test func execRunsTheQueueAndRuntimeErrorsDoNotAbortIt() {
        let h = Harness()
        #expect(h.run("MULTI") == .ok())
        #expect(h.run("SET", "a", "1") == .simple("QUEUED"))
        #expect(h.run("LPUSH", "a", "x") == .simple("QUEUED"))
        #expect(h.run("INCR", "a") == .simple("QUEUED"))
        #expect(h.run("EXEC") == .array([.ok(), .error("WRONGTYPE Operation against a key holding the wrong kind of value"), .integer(2)]))
        h.run("MULTI")
        h.run("SET", "a")
        #expect(h.run("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        #expect(h.run("GET", "a") == .bulk("2"))
        #expect(h.run("EXEC", "x") == .error("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"))
    }

    @Test func sortByPatternsAndStore() {
        let h = Harness()
        h.run("RPUSH", "ids", "3", "1", "2")
        h.run("MSET", "w_1", "30", "w_2", "20", "w_3", "10", "name_1", "one", "name_2", "two", "name_3", "three")
        #expect(h.run("SORT", "ids") == .strings("1", "2", "3"))
        #expect(h.run("SORT", "ids", "BY", "w_*", "GET", "name_*") == .strings("three", "two", "one"))
        #expect(h.run("SORT", "ids", "BY", "w_*", "GET", "#", "STORE", "out") == .integer(3))
        #expect(h.run("LRANGE", "out", "0", "-1") == .strings("3", "2", "1"))
        #expect(h.run("SORT_RO", "ids", "STORE", "out") == .error("ERR syntax error"))
        h.run("RPUSH", "bad", "x")
        #expect(h.run("SORT", "bad") == .error("ERR One or more scores can't be converted into double"))
    }
}
