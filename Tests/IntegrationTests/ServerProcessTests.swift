import Foundation
import TestSupport
import Testing

/// The real binary over TCP: startup, the protocol edge cases, limits and shutdown.
@Suite(.serialized) struct ServerProcessTests {
    @Test func startsAnswersAndLogsInRedisFormat() throws {
        let server = try ServerProcess()
        let client = try server.client()
        #expect(try client.send("PING") == .simple("PONG"))
        let log = server.log
        #expect(log.contains(" PID: "))
        #expect(log.contains(" * Ready to accept connections\n"))
        let line = log.split(separator: "\n").first { $0.contains("Ready to accept") } ?? ""
        // pid:M dd Mon yyyy hh:mm:ss.mmm * message
        #expect(line.range(of: #"^\d+:M \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} \* "#, options: .regularExpression) != nil)
    }

    @Test func pipelineAndInlineInOneWrite() throws {
        let server = try ServerProcess()
        let client = try server.client()
        var batch = RESPClient.encode([Array("SET".utf8), Array("k".utf8), Array("v".utf8)])
        batch += Array("GET k\r\nPING\r\n".utf8)
        for index in 0 ..< 100 { batch += RESPClient.encode([Array("INCR".utf8), Array("n".utf8)]) + (index == 50 ? [] : []) }
        try client.write(batch)
        #expect(try client.read() == .simple("OK"))
        #expect(try client.read() == .bulk("v"))
        #expect(try client.read() == .simple("PONG"))
        for index in 1 ... 100 { #expect(try client.read() == .integer(index)) }
    }

    @Test("Protocol errors reply and close the connection", arguments: [
        ("*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
        ("*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        ("*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"),
        ("SET \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"),
        ("*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
    ])
    func protocolErrorsClose(input: String, reply: String) throws {
        let server = try ServerProcess()
        let client = try server.client()
        try client.write(input)
        #expect(String(decoding: try client.readUntilClosed(), as: UTF8.self) == reply)
        #expect(try server.client().send("PING") == .simple("PONG"))
    }

    @Test func garbageNeverCrashesTheServer() throws {
        let server = try ServerProcess()
        var generator = SeededGenerator()
        for _ in 0 ..< 50 {
            let client = try server.client()
            let garbage = (0 ..< Int.random(in: 1 ..< 400, using: &generator)).map { _ in
                [UInt8(ascii: "*"), UInt8(ascii: "$"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: "1"), UInt8(ascii: "-"),
                 UInt8(ascii: "\""), 0, 0xff, UInt8(ascii: " ")].randomElement(using: &generator)!
            }
            try? client.write(garbage)
        }
        #expect(try server.client().send("PING") == .simple("PONG"))
        #expect(server.isRunning)
    }

    @Test func unauthenticatedClientsAreLimited() throws {
        let server = try ServerProcess(["--requirepass", "pw"])
        let client = try server.client()
        try client.write("*11\r\n")
        #expect(String(decoding: try client.readUntilClosed(), as: UTF8.self) == "-ERR Protocol error: unauthenticated multibulk length\r\n")
        let other = try server.client()
        #expect(try other.send("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(try other.send("AUTH", "pw") == .simple("OK"))
        #expect(try other.send("GET", "k") == .null)
    }

    @Test func quitClosesAfterTheReply() throws {
        let server = try ServerProcess()
        let client = try server.client()
        try client.write("PING\r\nQUIT\r\nPING\r\n")
        #expect(String(decoding: try client.readUntilClosed(), as: UTF8.self) == "+PONG\r\n+OK\r\n")
    }

    @Test func largeValuesRoundTrip() throws {
        let server = try ServerProcess()
        let client = try server.client()
        let value = [UInt8]((0 ..< 5_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        #expect(try client.send([Array("SET".utf8), Array("big".utf8), value]) == .simple("OK"))
        #expect(try client.send("GET", "big") == .bulk(value))
        #expect(try client.send("STRLEN", "big") == .integer(5_000_000))
    }

    @Test func maxClientsRefusesExtraConnections() throws {
        let server = try ServerProcess(["--maxclients", "2"])
        let first = try server.client(), second = try server.client()
        #expect(try first.send("PING") == .simple("PONG"))
        #expect(try second.send("PING") == .simple("PONG"))
        let third = try server.client()
        #expect(String(decoding: try third.readUntilClosed(), as: UTF8.self) == "-ERR max number of clients reached\r\n")
        #expect(try first.send("INFO", "stats").text?.contains("rejected_connections:1") == true)
    }

    @Test func idleClientsAreClosedAfterTimeout() throws {
        let server = try ServerProcess(["--timeout", "1"])
        let idle = try server.client()
        #expect(try idle.send("PING") == .simple("PONG"))
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try idle.readUntilClosed().isEmpty)
    }

    @Test func queryBufferLimitClosesTheClient() throws {
        let server = try ServerProcess(["--client-query-buffer-limit", "1mb"])
        let client = try server.client()
        try? client.write("*1\r\n$100000000\r\n" + String(repeating: "x", count: 1_200_000))
        _ = try? client.readUntilClosed()
        #expect(try server.client().send("PING") == .simple("PONG"))
        #expect(server.log.contains("Closing client that reached max query buffer length"))
    }

    @Test func badConfigurationStopsStartupWithFileAndLine() throws {
        let path = NSTemporaryDirectory() + "needletail-bad-\(UUID().uuidString).conf"
        try "port 6390\nmaxclients lots\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try ServerProcess.run(ServerProcess.binary, [path])
        #expect(result.status == 1)
        #expect(result.output.contains("\(path), at line 2"))
        #expect(result.output.contains(">>> 'maxclients lots'"))
        #expect(result.output.contains("argument couldn't be parsed into an integer"))
        let unknown = try ServerProcess.run(ServerProcess.binary, ["--no-such-directive", "1"])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("Bad directive or wrong number of arguments"))
    }

    @Test func takenPortFailsWithRedisMessage() throws {
        let server = try ServerProcess()
        let result = try ServerProcess.run(ServerProcess.binary, ["--port", String(server.port)])
        #expect(result.status == 1)
        #expect(result.output.contains("Failed listening on port \(server.port)"))
    }

    @Test func versionAndHelp() throws {
        #expect(try ServerProcess.run(ServerProcess.binary, ["--version"]).output.contains("Needletail server v="))
        #expect(try ServerProcess.run(ServerProcess.binary, ["-v"]).output.contains("Needletail server v="))
        let help = try ServerProcess.run(ServerProcess.binary, ["--help"])
        #expect(help.status == 0 && help.output.contains("USAGE"))
    }

    @Test func sigtermAndShutdownStopCleanly() throws {
        let server = try ServerProcess(["--pidfile", NSTemporaryDirectory() + "needletail-\(UUID().uuidString).pid"])
        server.stop()
        #expect(server.log.contains("Received SIGTERM scheduling shutdown"))
        #expect(server.log.contains("ready to exit, bye bye"))
        let second = try ServerProcess()
        let client = try second.client()
        try client.write("SHUTDOWN NOSAVE\r\n")
        _ = try? client.readUntilClosed()
        #expect(second.waitForExit() == 0)
        let third = try ServerProcess()
        #expect(try third.client().send("SHUTDOWN", "ABORT") == .error("ERR No shutdown in progress."))
        // SHUTDOWN SAVE writes the dataset before exiting, save points or not.
        let saving = try third.client()
        #expect(try saving.send("SET", "kept", "1") == .simple("OK"))
        try saving.write("SHUTDOWN SAVE\r\n")
        _ = try? saving.readUntilClosed()
        #expect(third.waitForExit() == 0)
        #expect(third.log.contains("Saving the final RDB snapshot before exiting."))
        #expect(FileManager.default.fileExists(atPath: third.directory + "/dump.rdb"))
    }

    @Test func configSetPortRebinds() throws {
        let server = try ServerProcess()
        let newPort = ServerProcess.freePort()
        #expect(try server.client().send("CONFIG", "SET", "port", String(newPort)) == .simple("OK"))
        #expect(try RESPClient(port: newPort).send("PING") == .simple("PONG"))
        #expect((try? RESPClient(port: server.port)) == nil)
    }

    @Test func redisCliWorksUnchanged() throws {
        let server = try ServerProcess()
        let cli = "/usr/bin/redis-cli"
        guard FileManager.default.isExecutableFile(atPath: cli) else { return }
        #expect(try ServerProcess.run(cli, ["-p", String(server.port), "SET", "greeting", "hello world"]).output == "OK\n")
        #expect(try ServerProcess.run(cli, ["-p", String(server.port), "GET", "greeting"]).output == "hello world\n")
        let piped = try ServerProcess.run(cli, ["-p", String(server.port), "--pipe"],
                                          input: (0 ..< 1000).map { "SET k\($0) v\($0)\r\n" }.joined())
        #expect(piped.output.contains("errors: 0, replies: 1000"))
        #expect(try ServerProcess.run(cli, ["-p", String(server.port), "DBSIZE"]).output == "1001\n")
    }
}
