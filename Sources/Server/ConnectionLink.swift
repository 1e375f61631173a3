import Commands
import Engine
internal import NIOCore

/// The server side of a client's connection, as the command layer sees it.
final class ConnectionLink: ClientConnection {
    private let channel: Channel

    init(channel: Channel) {
        self.channel = channel
    }

    func close() {
        channel.close(promise: nil)
    }

    func execute(_ work: @escaping @Sendable () -> Void) {
        channel.eventLoop.execute(work)
    }

    /// Reaches the connection's handler on its loop, as an inbound user event.
    func resume(_ outcome: BlockedOutcome) {
        let channel = channel
        channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(outcome) }
    }

    /// Hands bytes to the connection's loop, which writes them behind what it already wrote
    /// (the loop's task queue keeps the order) and applies the output buffer limits.
    func deliver(_ bytes: ByteBuffer) {
        let channel = channel
        channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(Delivery(bytes: bytes)) }
    }
}

/// Bytes for the client that are not a reply to its own request (Pub/Sub messages, MONITOR lines).
struct Delivery: Sendable {
    let bytes: ByteBuffer
}
