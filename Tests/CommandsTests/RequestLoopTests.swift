import Commands
import NIOCore
import RESP
import TestSupport
import Testing

/// The parse-and-dispatch loop without a socket: what it consumes, what it replies, and why it stops.
@Suite struct RequestLoopTests {
    private let harness = Harness()
    private var loop: RequestLoop

    init() {
        let command = CommandContext(reply: ReplyWriter(buffer: ByteBuffer()), session: harness.session,
                                     server: harness.server, statistics: harness.server.statistics.loops[0])
        loop = RequestLoop(command: command, limits: RequestParser.Limits())
    }

    /// Feeds `input` and returns the stop, the replies written and the bytes left unconsumed.
    private mutating func feed(_ input: String, after left: String = "") -> (RequestLoop.Stop, String, String) {
        var buffer = ByteBuffer(string: left + input)
        let stop = loop.run(&buffer)
        defer { loop.command.reply.buffer.clear() }
        return (stop, String(buffer: loop.command.reply.buffer), String(buffer: buffer))
    }

    @Test mutating func runsAPipelineAndKeepsAPartialRequest() {
        let (stop, replies, left) = feed("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nGET k\r\n*2\r\n$3\r\nGET\r\n$1")
        #expect(stop.needsMoreBytes)
        #expect(replies == "+OK\r\n$1\r\nv\r\n")
        #expect(left == "*2\r\n$3\r\nGET\r\n$1")
        let (next, more, rest) = feed("\r\nk\r\n", after: left)
        #expect(next.needsMoreBytes)
        #expect(more == "$1\r\nv\r\n")
        #expect(rest == "")
    }

    @Test mutating func emptyLinesAreSkipped() {
        let (stop, replies, left) = feed("\r\n\r\nPING\r\n")
        #expect(stop.needsMoreBytes && replies == "+PONG\r\n" && left == "")
    }

    @Test mutating func aProtocolErrorRepliesAndStops() {
        let (stop, replies, left) = feed("PING\r\n*1\r\n+PING\r\nPING\r\n")
        guard case .protocolError(let error) = stop else {
            Issue.record("stopped with \(stop)")
            return
        }
        #expect(error == .expectedDollar(got: UInt8(ascii: "+")))
        #expect(replies == "+PONG\r\n-ERR Protocol error: expected '$', got '+'\r\n")
        #expect(left == "*1\r\n+PING\r\nPING\r\n")
    }

    @Test mutating func quitStopsAfterItsReply() {
        let (stop, replies, left) = feed("QUIT\r\nPING\r\n")
        guard case .close = stop else {
            Issue.record("stopped with \(stop)")
            return
        }
        #expect(replies == "+OK\r\n" && left == "PING\r\n")
    }

    @Test mutating func aBlockingPopParksTheClientAndLeavesTheRest() {
        let (stop, replies, left) = feed("BLPOP list 0\r\nPING\r\n")
        guard case .parked(let client) = stop else {
            Issue.record("stopped with \(stop)")
            return
        }
        #expect(client.deadline == 0)
        #expect(replies == "" && left == "PING\r\n")
        #expect(client.expire())
    }

    @Test mutating func aPausedWriteIsLeftUnconsumed() {
        let (paused, _, _) = feed("CLIENT PAUSE 100000 WRITE\r\n")
        #expect(paused.needsMoreBytes)
        let (stop, replies, left) = feed("GET k\r\nSET k v\r\nPING\r\n")
        guard case .postponed = stop else {
            Issue.record("stopped with \(stop)")
            return
        }
        #expect(replies == "$-1\r\n" && left == "SET k v\r\nPING\r\n")
        let (resumed, more, rest) = feed("CLIENT UNPAUSE\r\n")
        #expect(resumed.needsMoreBytes && more == "+OK\r\n" && rest == "")
    }
}

extension RequestLoop.Stop {
    var needsMoreBytes: Bool {
        if case .needsMoreBytes = self { return true }
        return false
    }
}
