@testable import Commands
import Engine
import Locks
import Testing

/// What a replica receives for each write command: the sequence a propagation sink sees, as
/// Redis 7.0 propagates it (its own arguments, or Redis's deterministic rewrite).
final class RecordingSink: PropagationSink, @unchecked Sendable {
    private let received = Lock<[[String]]>([])

    func propagate(_ commands: [PropagatedCommand]) -> Int64 {
        let lines = commands.map(\.description)
        received.withLock { $0.append(lines) }
        return 0
    }

    /// Everything received since the last call, one list per propagated command or transaction.
    func take() -> [[String]] {
        received.withLock { all in
            defer { all = [] }
            return all
        }
    }
}

private let now = 1_700_000_000_000

/// (setup run first, the command, what the sink must receive: one inner list per delivery).
private let cases: [(setup: [[String]], command: [String], expected: [[String]])] = [
    ([["SET", "k", "a"]], ["APPEND", "k", "b"], [["0: APPEND k b"]]),
    ([], ["BITFIELD", "k", "SET", "u8", "0", "1"], [["0: BITFIELD k SET u8 0 1"]]),
    ([["SET", "a", "x"]], ["BITOP", "AND", "d", "a"], [["0: BITOP AND d a"]]),
    ([["RPUSH", "s", "1"]], ["BLMOVE", "s", "d", "LEFT", "RIGHT", "0"], [["0: LMOVE s d LEFT RIGHT"]]),
    ([["RPUSH", "l", "1", "2"]], ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "5"], [["0: LPOP l 2"]]),
    ([["RPUSH", "l", "1"]], ["BLPOP", "l", "0"], [["0: LPOP l"]]),
    ([["RPUSH", "l", "1"]], ["BRPOP", "l", "0"], [["0: RPOP l"]]),
    ([["RPUSH", "s", "1"]], ["BRPOPLPUSH", "s", "d", "0"], [["0: RPOPLPUSH s d"]]),
    ([["ZADD", "z", "1", "a"]], ["BZMPOP", "0", "1", "z", "MAX", "COUNT", "3"], [["0: ZPOPMAX z 1"]]),
    ([["ZADD", "z", "1", "a"]], ["BZPOPMAX", "z", "0"], [["0: ZPOPMAX z"]]),
    ([["ZADD", "z", "1", "a"]], ["BZPOPMIN", "z", "0"], [["0: ZPOPMIN z"]]),
    ([["SET", "a", "x"]], ["COPY", "a", "b"], [["0: COPY a b"]]),
    ([["SET", "n", "1"]], ["DECR", "n"], [["0: DECR n"]]),
    ([["SET", "n", "1"]], ["DECRBY", "n", "5"], [["0: DECRBY n 5"]]),
    ([["SET", "a", "x"]], ["DEL", "a", "missing"], [["0: DEL a missing"]]),
    ([], ["DEL", "missing"], []),
    ([["SET", "k", "v"]], ["EXPIRE", "k", "100"], [["0: PEXPIREAT k \(now + 100_000)"]]),
    ([["SET", "k", "v"]], ["EXPIRE", "k", "100", "NX"], [["0: PEXPIREAT k \(now + 100_000) NX"]]),
    ([["SET", "k", "v"]], ["EXPIRE", "k", "-1"], [["0: DEL k"]]),
    ([["SET", "k", "v"]], ["EXPIREAT", "k", "1800000000"], [["0: PEXPIREAT k 1800000000000"]]),
    ([], ["FLUSHALL"], [["0: FLUSHALL"]]),
    ([], ["FLUSHDB"], [["0: FLUSHDB"]]),
    ([], ["FUNCTION", "FLUSH"], [["0: FUNCTION FLUSH"]]),
    ([["SET", "k", "v"]], ["GETDEL", "k"], [["0: DEL k"]]),
    ([["SET", "k", "v"]], ["GETEX", "k", "EX", "10"], [["0: PEXPIREAT k \(now + 10_000)"]]),
    ([["SET", "k", "v", "EX", "10"]], ["GETEX", "k", "PERSIST"], [["0: PERSIST k"]]),
    ([["SET", "k", "v"]], ["GETEX", "k", "PXAT", "1"], [["0: DEL k"]]),
    ([["SET", "k", "v"]], ["GETEX", "k"], []),
    ([["SET", "k", "v"]], ["GETSET", "k", "w"], [["0: SET k w"]]),
    ([["HSET", "h", "f", "1"]], ["HDEL", "h", "f"], [["0: HDEL h f"]]),
    ([], ["HINCRBY", "h", "f", "2"], [["0: HINCRBY h f 2"]]),
    ([["HSET", "h", "f", "1"]], ["HINCRBYFLOAT", "h", "f", "0.5"], [["0: HSET h f 1.5"]]),
    ([], ["HMSET", "h", "f", "1"], [["0: HMSET h f 1"]]),
    ([], ["HSET", "h", "f", "1"], [["0: HSET h f 1"]]),
    ([], ["HSETNX", "h", "f", "1"], [["0: HSETNX h f 1"]]),
    ([["HSET", "h", "f", "1"]], ["HSETNX", "h", "f", "2"], []),
    ([], ["INCR", "n"], [["0: INCR n"]]),
    ([], ["INCRBY", "n", "3"], [["0: INCRBY n 3"]]),
    ([["SET", "n", "10", "EX", "100"]], ["INCRBYFLOAT", "n", "1.5"], [["0: SET n 11.5 KEEPTTL"]]),
    ([["RPUSH", "l", "a"]], ["LINSERT", "l", "BEFORE", "a", "b"], [["0: LINSERT l BEFORE a b"]]),
    ([["RPUSH", "l", "a"]], ["LMOVE", "l", "m", "LEFT", "LEFT"], [["0: LMOVE l m LEFT LEFT"]]),
    ([["RPUSH", "l", "1", "2"]], ["LMPOP", "1", "l", "RIGHT", "COUNT", "9"], [["0: RPOP l 2"]]),
    ([["RPUSH", "l", "1"]], ["LPOP", "l"], [["0: LPOP l"]]),
    ([], ["LPUSH", "l", "a"], [["0: LPUSH l a"]]),
    ([["RPUSH", "l", "a"]], ["LPUSHX", "l", "b"], [["0: LPUSHX l b"]]),
    ([], ["LPUSHX", "l", "b"], []),
    ([["RPUSH", "l", "a", "a"]], ["LREM", "l", "0", "a"], [["0: LREM l 0 a"]]),
    ([["RPUSH", "l", "a"]], ["LSET", "l", "0", "b"], [["0: LSET l 0 b"]]),
    ([["RPUSH", "l", "a", "b"]], ["LTRIM", "l", "0", "0"], [["0: LTRIM l 0 0"]]),
    ([["SET", "k", "v"]], ["MOVE", "k", "1"], [["0: MOVE k 1"]]),
    ([], ["MSET", "a", "1", "b", "2"], [["0: MSET a 1 b 2"]]),
    ([], ["MSETNX", "a", "1"], [["0: MSETNX a 1"]]),
    ([["SET", "k", "v", "EX", "10"]], ["PERSIST", "k"], [["0: PERSIST k"]]),
    ([["SET", "k", "v"]], ["PEXPIRE", "k", "500"], [["0: PEXPIREAT k \(now + 500)"]]),
    ([["SET", "k", "v"]], ["PEXPIREAT", "k", "1800000000000"], [["0: PEXPIREAT k 1800000000000"]]),
    ([], ["PSETEX", "k", "500", "v"], [["0: SET k v PXAT \(now + 500)"]]),
    ([], ["PUBLISH", "ch", "m"], [["0: PUBLISH ch m"]]),
    ([["SET", "a", "x"]], ["RENAME", "a", "b"], [["0: RENAME a b"]]),
    ([["SET", "a", "x"]], ["RENAMENX", "a", "b"], [["0: RENAMENX a b"]]),
    ([["RPUSH", "l", "1"]], ["RPOP", "l"], [["0: RPOP l"]]),
    ([["RPUSH", "l", "1"]], ["RPOPLPUSH", "l", "m"], [["0: RPOPLPUSH l m"]]),
    ([], ["RPUSH", "l", "a"], [["0: RPUSH l a"]]),
    ([["RPUSH", "l", "a"]], ["RPUSHX", "l", "b"], [["0: RPUSHX l b"]]),
    ([], ["SADD", "s", "a"], [["0: SADD s a"]]),
    ([["SADD", "s", "a"]], ["SADD", "s", "a"], []),
    ([["SADD", "a", "x"]], ["SDIFFSTORE", "d", "a"], [["0: SDIFFSTORE d a"]]),
    ([], ["SET", "k", "v"], [["0: SET k v"]]),
    ([], ["SET", "k", "v", "EX", "10", "NX"], [["0: SET k v PXAT \(now + 10_000)"]]),
    ([["SET", "k", "v"]], ["SET", "k", "w", "GET"], [["0: SET k w"]]),
    ([["SET", "k", "v"]], ["SET", "k", "w", "NX"], []),
    ([], ["SETBIT", "b", "7", "1"], [["0: SETBIT b 7 1"]]),
    ([], ["SETEX", "k", "10", "v"], [["0: SET k v PXAT \(now + 10_000)"]]),
    ([], ["SETNX", "k", "v"], [["0: SETNX k v"]]),
    ([], ["SETRANGE", "k", "2", "x"], [["0: SETRANGE k 2 x"]]),
    ([["SADD", "a", "x"]], ["SINTERSTORE", "d", "a"], [["0: SINTERSTORE d a"]]),
    ([["SADD", "a", "x"]], ["SMOVE", "a", "b", "x"], [["0: SMOVE a b x"]]),
    ([["RPUSH", "l", "2", "1"]], ["SORT", "l", "STORE", "d"], [["0: SORT l STORE d"]]),
    ([["RPUSH", "l", "2", "1"]], ["SORT", "l"], []),
    ([["SADD", "s", "only"]], ["SPOP", "s"], [["0: SREM s only"]]),
    ([["SADD", "s", "a", "b"]], ["SPOP", "s", "5"], [["0: DEL s"]]),
    ([], ["SPUBLISH", "ch", "m"], [["0: SPUBLISH ch m"]]),
    ([["SADD", "s", "a"]], ["SREM", "s", "a"], [["0: SREM s a"]]),
    ([["SADD", "a", "x"]], ["SUNIONSTORE", "d", "a"], [["0: SUNIONSTORE d a"]]),
    ([], ["SWAPDB", "0", "1"], [["0: SWAPDB 0 1"]]),
    ([["SET", "a", "x"]], ["UNLINK", "a"], [["0: UNLINK a"]]),
    ([], ["ZADD", "z", "1", "a"], [["0: ZADD z 1 a"]]),
    ([["ZADD", "a", "1", "x"]], ["ZDIFFSTORE", "d", "1", "a"], [["0: ZDIFFSTORE d 1 a"]]),
    ([], ["ZINCRBY", "z", "2", "a"], [["0: ZINCRBY z 2 a"]]),
    ([["ZADD", "a", "1", "x"]], ["ZINTERSTORE", "d", "1", "a"], [["0: ZINTERSTORE d 1 a"]]),
    ([["ZADD", "z", "1", "a", "2", "b"]], ["ZMPOP", "1", "z", "MIN", "COUNT", "5"], [["0: ZPOPMIN z 2"]]),
    ([["ZADD", "z", "1", "a"]], ["ZPOPMAX", "z"], [["0: ZPOPMAX z"]]),
    ([["ZADD", "z", "1", "a"]], ["ZPOPMIN", "z"], [["0: ZPOPMIN z"]]),
    ([["ZADD", "a", "1", "x"]], ["ZRANGESTORE", "d", "a", "0", "-1"], [["0: ZRANGESTORE d a 0 -1"]]),
    ([["ZADD", "z", "1", "a"]], ["ZREM", "z", "a"], [["0: ZREM z a"]]),
    ([["ZADD", "z", "1", "a"]], ["ZREMRANGEBYLEX", "z", "-", "+"], [["0: ZREMRANGEBYLEX z - +"]]),
    ([["ZADD", "z", "1", "a"]], ["ZREMRANGEBYRANK", "z", "0", "-1"], [["0: ZREMRANGEBYRANK z 0 -1"]]),
    ([["ZADD", "z", "1", "a"]], ["ZREMRANGEBYSCORE", "z", "-inf", "+inf"], [["0: ZREMRANGEBYSCORE z -inf +inf"]]),
    ([["ZADD", "a", "1", "x"]], ["ZUNIONSTORE", "d", "1", "a"], [["0: ZUNIONSTORE d 1 a"]]),
]

@Suite struct PropagationTests {
    private func harness() -> (Harness, RecordingSink) {
        let h = Harness()
        let sink = RecordingSink()
        h.server.propagation.add(sink)
        return (h, sink)
    }

    @Test("Each write propagates as Redis propagates it", arguments: cases.indices)
    func writeCommand(index: Int) {
        let (h, sink) = harness()
        for setup in cases[index].setup { h.run(setup.map { Array($0.utf8) }) }
        _ = sink.take()
        h.run(cases[index].command.map { Array($0.utf8) })
        #expect(sink.take() == cases[index].expected, "\(cases[index].command)")
    }

    @Test func everyWriteCommandIsCovered() {
        let covered = Set(cases.map { $0.command.prefix(2).joined(separator: "|").lowercased() } + cases.map { $0.command[0].lowercased() })
        let table = CommandTable()
        let writes = table.all.filter { $0.flags.contains(.write) || $0.flags.contains(.alwaysPropagated) }.map(\.fullName)
        #expect(writes.filter { !covered.contains($0) } == [])
    }

    @Test func transactionsTravelWholeAndSingleWritesAlone() {
        let (h, sink) = harness()
        for request in [["MULTI"], ["SET", "a", "1"], ["GET", "a"], ["INCR", "n"], ["EXEC"]] { h.run(request.map { Array($0.utf8) }) }
        #expect(sink.take() == [["0: MULTI", "0: SET a 1", "0: INCR n", "0: EXEC"]])
        for request in [["MULTI"], ["SET", "a", "2"], ["GET", "a"], ["EXEC"]] { h.run(request.map { Array($0.utf8) }) }
        #expect(sink.take() == [["0: SET a 2"]])
        for request in [["MULTI"], ["GET", "a"], ["EXEC"]] { h.run(request.map { Array($0.utf8) }) }
        #expect(sink.take() == [])
    }

    @Test func lazilyExpiredKeysGoFirstAndScanSendsThemAlone() {
        let (h, sink) = harness()
        h.run("SET", "k", "v", "PX", "100")
        h.run("SET", "j", "v", "PX", "100")
        h.run("SELECT", "1")
        h.run("SET", "x", "v", "PX", "100")
        h.run("SELECT", "0")
        h.clock.advance(milliseconds: 200)
        _ = sink.take()
        h.run("SET", "k", "w")
        #expect(sink.take() == [["0: MULTI", "0: DEL k", "0: SET k w", "0: EXEC"]])
        h.run("GET", "j")
        #expect(sink.take() == [["0: DEL j"]])
        h.run("SELECT", "1")
        h.run("SCAN", "0")
        #expect(sink.take() == [["1: DEL x"]])
    }

    @Test func theExpiryCycleSendsDeletions() {
        let (h, sink) = harness()
        h.run("SET", "k", "v", "PX", "100")
        h.clock.advance(milliseconds: 200)
        _ = sink.take()
        h.server.cron(now: h.clock.milliseconds)
        #expect(sink.take() == [["0: DEL k"]])
    }

    @Test func lazyfreeDirectivesChooseUnlink() {
        let h = Harness(["lazyfree-lazy-expire": "yes", "lazyfree-lazy-user-del": "yes"])
        let sink = RecordingSink()
        h.server.propagation.add(sink)
        h.run("SET", "k", "v")
        h.run("SET", "j", "v")
        _ = sink.take()
        h.run("GETDEL", "k")
        h.run("EXPIRE", "j", "0")
        #expect(sink.take() == [["0: UNLINK k"], ["0: UNLINK j"]])
    }

    @Test func nothingIsBuiltWithoutASink() {
        let h = Harness()
        h.run("SET", "k", "v")
        #expect(!h.server.propagation.isActive)
    }
}
