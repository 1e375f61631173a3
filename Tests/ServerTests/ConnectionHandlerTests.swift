import Commands
import Config
import Engine
import Logging
import NIOCore
import NIOEmbedded
@testable import Server
import Testing

/// The connection handler on an `EmbeddedChannel`: what reaches the socket, and when.
@Suite struct ConnectionHandlerTests {
    private let server = NeedletailServer(configuration: Configuration(), executable: "", logger: Logger(label: "test"))
    private let channel = EmbeddedChannel()

    init() throws {
        let link = ConnectionLink(channel: channel)
        let session = ClientSession(id: server.state.clients.makeID(), address: "127.0.0.1:5000", localAddress: "127.0.0.1:6379",
                                    fd: -1, createdAt: 0, authenticated: true, connection: link)
        let handler = ConnectionHandler(server: server, session: session, link: link, statistics: server.state.statistics.loops[0],
                                        pendingWrites: PendingWrites(eventLoop: channel.embeddedEventLoop),
                                        allocator: channel.allocator)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
    }

    /// Delivers `bytes` as one read, lets the loop run its queued tasks (the deferred write),
    /// and returns everything written to the socket since.
    private func read(_ bytes: String) throws -> String {
        try channel.writeInbound(ByteBuffer(string: bytes))
        channel.embeddedEventLoop.run()
        var written = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: buffer) }
        return written
    }

    @Test func aPipelineIsAnsweredInOneWrite() throws {
        try channel.writeInbound(ByteBuffer(string: "SET k v\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "replies wait for the end of the loop iteration")
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "+OK\r\n$1\r\nv\r\n+PONG\r\n")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test func aRequestSplitAcrossReadsRunsOnceWhole() throws {
        #expect(try read("*3\r\n$3\r\nSET\r\n$1\r\nk") == "")
        #expect(try read("\r\n$5\r\nhel") == "")
        #expect(try read("lo\r\nGET k\r") == "+OK\r\n")
        #expect(try read("\n") == "$5\r\nhello\r\n")
        #expect(channel.isActive)
    }

    @Test func aProtocolErrorAnswersEarlierRequestsThenCloses() throws {
        #expect(try read("PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n")
            == "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n")
        #expect(!channel.isActive)
    }

    @Test func quitClosesAfterItsReplyAndIgnoresTheRest() throws {
        #expect(try read("QUIT\r\nSET k v\r\n") == "+OK\r\n")
        #expect(!channel.isActive)
        #expect(Database(keyspace: server.state.keyspace, index: 0, now: 0).count().keys == 0, "the SET after QUIT never ran")
    }
}
