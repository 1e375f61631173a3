@testable import Commands
import Testing

/// Eviction as a write effect: what a replica receives for each evicted key, the counters, and
/// -OOM once nothing evictable is left. (maxmemory 1 byte: the process is always over it.)
@Suite struct EvictionTests {
    private func filled(_ directives: [String: String]) -> (Harness, RecordingSink) {
        let h = Harness(directives)
        for key in ["a", "b", "c"] { h.run("SET", key, "value") }
        h.run("SET", "t", "value", "EX", "100")
        let sink = RecordingSink()
        h.server.propagation.add(sink)
        return (h, sink)
    }

    @Test func evictedKeysPropagateAsDelAndThenWritesAreRefused() {
        let (h, sink) = filled(["maxmemory-policy": "allkeys-lru"])
        h.run("CONFIG", "SET", "maxmemory", "1")
        #expect(h.run("SET", "x", "1") == .error("OOM command not allowed when used memory > 'maxmemory'."))
        #expect(h.run("DBSIZE") == .integer(0))
        #expect(Set(sink.take().flatMap { $0 }) == ["0: DEL a", "0: DEL b", "0: DEL c", "0: DEL t"])
        #expect(h.run("INFO", "stats").text?.contains("evicted_keys:4\r\n") == true)
        // Reads and deletes are still served.
        #expect(h.run("GET", "a") == .null)
        #expect(h.run("DEL", "a") == .integer(0))
    }

    @Test func lazyEvictionPropagatesUnlink() {
        let (h, sink) = filled(["maxmemory-policy": "allkeys-random", "lazyfree-lazy-eviction": "yes"])
        h.run("CONFIG", "SET", "maxmemory", "1")
        #expect(h.run("SET", "x", "1").errorMessage?.hasPrefix("OOM ") == true)
        #expect(Set(sink.take().flatMap { $0 }) == ["0: UNLINK a", "0: UNLINK b", "0: UNLINK c", "0: UNLINK t"])
    }

    @Test("volatile policies take only keys with a TTL", arguments: ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
    func volatilePolicies(policy: String) {
        let (h, sink) = filled(["maxmemory-policy": policy])
        h.run("CONFIG", "SET", "maxmemory", "1")
        #expect(h.run("SET", "x", "1").errorMessage?.hasPrefix("OOM ") == true)
        #expect(h.run("DBSIZE") == .integer(3))
        #expect(sink.take() == [["0: DEL t"]])
    }

    @Test func noevictionRefusesWritesAndKeepsKeys() {
        let (h, sink) = filled(["maxmemory-policy": "noeviction"])
        h.run("CONFIG", "SET", "maxmemory", "1")
        #expect(h.run("SET", "x", "1") == .error("OOM command not allowed when used memory > 'maxmemory'."))
        #expect(h.run("DBSIZE") == .integer(4))
        #expect(sink.take().isEmpty)
        // A transaction with a refused command is aborted at EXEC, as in Redis.
        #expect(h.run("MULTI") == .ok())
        #expect(h.run("SET", "x", "1") == .error("OOM command not allowed when used memory > 'maxmemory'."))
        #expect(h.run("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
    }
}
