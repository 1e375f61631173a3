import Foundation
import TestSupport
import Testing

/// Two event loops: the server hands connections to its loops in turn, so two consecutive
/// connections sit on different loops, and everything below crosses loops.
@Suite(.serialized) struct CrossLoopTests {
    func blockedClients(_ client: RESPClient) throws -> Int {
        guard case .bulk(let bytes) = try client.send("INFO", "clients"),
              let line = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").first(where: { $0.hasPrefix("blocked_clients:") }),
              let count = Int(line.dropFirst("blocked_clients:".count)) else { return -1 }
        return count
    }

    func waitUntilBlocked(_ count: Int, _ control: RESPClient) throws {
        let deadline = Date().addingTimeInterval(5)
        while try blockedClients(control) != count {
            #expect(Date() < deadline)
            if Date() >= deadline { return }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    @Test func blockedPopIsWokenByAPushOnTheOtherLoop() throws {
        let server = try ServerProcess(["--threads", "2"])
        let waiter = try server.client()
        let pusher = try server.client()
        try waiter.write(RESPClient.encode(["BLPOP", "queue", "0"].map { Array($0.utf8) }))
        try waitUntilBlocked(1, pusher)
        #expect(try pusher.send("LPUSH", "queue", "job") == .integer(1))
        #expect(try waiter.read() == .array([.bulk("queue"), .bulk("job")]))
        #expect(try pusher.send("LLEN", "queue") == .integer(0))
        #expect(try blockedClients(pusher) == 0)
    }

    @Test func watchAbortsOnAChangeFromTheOtherLoop() throws {
        let server = try ServerProcess(["--threads", "2"])
        let watcher = try server.client()
        let writer = try server.client()
        #expect(try watcher.send("SET", "balance", "10") == .simple("OK"))
        #expect(try watcher.send("WATCH", "balance") == .simple("OK"))
        #expect(try writer.send("INCRBY", "balance", "5") == .integer(15))
        #expect(try watcher.send("MULTI") == .simple("OK"))
        #expect(try watcher.send("SET", "balance", "0") == .simple("QUEUED"))
        #expect(try watcher.send("EXEC") == .nullArray)
        #expect(try writer.send("GET", "balance") == .bulk("15"))
    }

    /// Many clients on both loops increment through WATCH/MULTI/EXEC retries: no update is
    /// lost, so every EXEC was isolated from the others.
    @Test func optimisticLockingLosesNoIncrement() throws {
        let server = try ServerProcess(["--threads", "2"])
        let port = server.port, clients = 4, rounds = 200
        DispatchQueue.concurrentPerform(iterations: clients) { _ in
            guard let client = try? RESPClient(port: port) else { return }
            for _ in 0 ..< rounds {
                while true {
                    _ = try? client.send("WATCH", "counter")
                    let current = (try? client.send("GET", "counter")).flatMap { $0.text }.flatMap { Int($0) } ?? 0
                    _ = try? client.send("MULTI")
                    _ = try? client.send("SET", "counter", String(current + 1))
                    if case .array = try? client.send("EXEC") { break }
                }
            }
        }
        #expect(try server.client().send("GET", "counter") == .bulk(String(clients * rounds)))
    }

    /// The copy-on-write trap (DESIGN.md §5): a million single pushes, alternating ends, stay
    /// O(1) each. A copy per push would take hours, not seconds.
    @Test func aMillionPushesOneByOne() throws {
        let server = try ServerProcess()
        let client = try server.client()
        let started = Date()
        let batch = 10_000
        for round in 0 ..< 100 {
            var bytes: [UInt8] = []
            for index in 0 ..< batch {
                bytes += RESPClient.encode([Array((index % 2 == 0 ? "LPUSH" : "RPUSH").utf8), Array("big".utf8), Array("\(round)-\(index)".utf8)])
            }
            try client.write(bytes)
            var last = RESPValue.null
            for _ in 0 ..< batch { last = try client.read() }
            #expect(last == .integer((round + 1) * batch))
        }
        #expect(try client.send("LLEN", "big") == .integer(1_000_000))
        #expect(Date().timeIntervalSince(started) < 60)
    }
}
