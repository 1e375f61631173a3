import Commands
import Engine
internal import NIOCore
import Synchronization

/// The server side of a client's connection, as the command layer sees it.
final class ConnectionLink: ClientConnection {
    private let channel: Channel
    private let state: ServerState
    /// Delivered bytes not yet written to the socket, and since when they exceed the soft limit.
    private let backlog = Mutex<(bytes: Int, overSoftSince: Int64)>((0, 0))

    init(channel: Channel, state: ServerState) {
        self.channel = channel
        self.state = state
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

    /// Queues bytes behind what the connection already wrote (the loop's task queue keeps the
    /// order), and enforces `client-output-buffer-limit pubsub`: a subscriber that falls
    /// behind by the hard limit, or by the soft limit for its whole period, is disconnected.
    func deliver(_ bytes: ByteBuffer) {
        let size = bytes.readableBytes
        let limit = state.outputBufferLimits[.pubsub]
        let now = Clock.now()
        let overLimit = backlog.withLock { backlog -> Bool in
            backlog.bytes += size
            if limit.hard > 0 && backlog.bytes > limit.hard { return true }
            if limit.soft > 0 && backlog.bytes > limit.soft {
                if backlog.overSoftSince == 0 { backlog.overSoftSince = now }
                return now - backlog.overSoftSince > Int64(limit.seconds) * 1000
            }
            backlog.overSoftSince = 0
            return false
        }
        if overLimit {
            state.log("Client \(channel.remoteAddress.map(NeedletailServer.describe) ?? "") scheduled to be closed ASAP for overcoming of output buffer limits.")
            channel.close(promise: nil)
            return
        }
        channel.writeAndFlush(bytes).whenComplete { [self] _ in backlog.withLock { $0.bytes -= size } }
    }
}
