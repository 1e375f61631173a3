import Commands
import Config
import Engine
import NIOCore
import RESP
import Synchronization
import TestSupport

extension ClockSource {
    var milliseconds: Int64 { nanoseconds() / 1_000_000 }
}

/// Runs commands in process, through the real dispatcher, and parses their replies.
final class Harness {
    let clock = ClockSource.manual(startingAt: 1_700_000_000_000 * 1_000_000)
    let server: ServerState
    let session: ClientSession
    private var context: CommandContext

    init(_ directives: [String: String] = [:], families: [[Command]] = []) {
        let config = Configuration()
        try! ConfigFile.load(ConfigFile.commandLine(directives.flatMap { ["--" + $0.key, $0.value] }), into: config)
        server = ServerState(config: config, eventLoops: 1, clock: clock, families: families)
        session = ClientSession(id: server.clients.makeID(), address: "127.0.0.1:5000", localAddress: "127.0.0.1:6379", fd: 9,
                                createdAt: clock.milliseconds, authenticated: !server.requiresPassword)
        server.clients.register(session)
        context = CommandContext(reply: ReplyWriter(buffer: ByteBuffer()), session: session, server: server,
                                 statistics: server.statistics.loops[0])
    }

    /// Runs one command and returns its reply.
    @discardableResult
    func run(_ arguments: String...) -> RESPValue {
        run(arguments.map { Array($0.utf8) })
    }

    @discardableResult
    func run(_ arguments: [[UInt8]]) -> RESPValue {
        let request = OwnedRequest(arguments)
        context.beginBatch()
        request.withArguments { _ = Dispatcher.execute(&context, $0) }
        let bytes = Array(context.reply.buffer.readableBytesView)
        context.reply.buffer.clear()
        guard let (value, used) = parseReply(bytes[...]), used == bytes.count else {
            fatalError("not exactly one reply: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        return value
    }

    /// The raw bytes of the reply, for byte-exact checks.
    func raw(_ arguments: String...) -> String {
        context.beginBatch()
        OwnedRequest(arguments.map { Array($0.utf8) }).withArguments { _ = Dispatcher.execute(&context, $0) }
        defer { context.reply.buffer.clear() }
        return String(buffer: context.reply.buffer)
    }
}

extension RESPValue {
    static func ok() -> RESPValue { .simple("OK") }
    static func strings(_ values: String...) -> RESPValue { .array(values.map { .bulk($0) }) }
}
