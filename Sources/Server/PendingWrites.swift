internal import NIOCore

/// The connections of one event loop with replies waiting to be written.
///
/// Replies are written once per loop iteration, after every connection the iteration found
/// readable has run its requests, as Redis writes its clients' replies just before it sleeps:
/// the writes then come in one burst, and the load generator on the other end is woken once
/// for the burst rather than once per connection.
final class PendingWrites: @unchecked Sendable {
    // Only touched on `eventLoop`: unchecked Sendable so it can travel into the loop's task.
    private let eventLoop: EventLoop
    private var connections: [ConnectionHandler] = []

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Queues `connection`, whose replies then go out when the loop has handled its other I/O.
    func add(_ connection: ConnectionHandler) {
        connections.append(connection)
        guard connections.count == 1 else { return }
        eventLoop.execute { self.writeAll() }
    }

    private func writeAll() {
        var queued: [ConnectionHandler] = []
        swap(&queued, &connections)
        for connection in queued { connection.writePendingReplies() }
        queued.removeAll(keepingCapacity: true)
        if connections.isEmpty { swap(&queued, &connections) }
    }
}
