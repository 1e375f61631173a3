import Locks
import Commands
import Engine
internal import NIOCore
import Synchronization

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

    private static let coalescedSize = 16 * 1024

    /// Bytes other clients' commands produced for this one, oldest first, not yet written.
    private let mailbox = Lock<[ByteBuffer]>([])

    /// Queues bytes for the connection's loop, which writes them behind what it already wrote
    /// and applies the output buffer limits. The loop empties the mailbox in a task and also
    /// before it runs newly read requests: a message produced before a request arrived is
    /// written before that request's reply, as in a single-threaded server.
    func deliver(_ bytes: ByteBuffer) {
        let wasEmpty = mailbox.withLock { queued in
            // Small messages join the last one queued (a replica's stream comes a command at a
            // time): one buffer and one socket write for many.
            if var last = queued.popLast() {
                if last.readableBytes + bytes.readableBytes <= Self.coalescedSize {
                    var bytes = bytes
                    last.writeBuffer(&bytes)
                    queued.append(last)
                    return false
                }
                queued.append(last)
            }
            queued.append(bytes)
            return queued.count == 1
        }
        guard wasEmpty else { return }
        let channel = channel
        let loop = channel.eventLoop
        guard loop.inEventLoop else {
            loop.execute { channel.pipeline.fireUserInboundEventTriggered(Delivery()) }
            return
        }
        // Produced by a request this loop is running: written after the replies the loop
        // writes once its reads are done (a replica's stream, a subscriber's message), so the
        // client that wrote waits for its own reply only, as Redis writes replies and the
        // stream in one pass before it sleeps.
        loop.execute { loop.execute { channel.pipeline.fireUserInboundEventTriggered(Delivery()) } }
    }

    /// Takes the queued bytes (on the connection's loop).
    func takeDeliveries() -> [ByteBuffer] {
        mailbox.withLock { queued in
            defer { queued = [] }
            return queued
        }
    }
}

/// Tells the connection's loop that its mailbox holds bytes for the client that are not a
/// reply to its own request (Pub/Sub messages, invalidations, MONITOR lines).
struct Delivery: Sendable {}
