import Commands
import Engine
internal import NIOCore
import RESP
import Synchronization

/// One client connection: parses every complete request in what the socket delivered, runs
/// each through the dispatcher, and writes the replies once the event loop has handled its
/// other readable connections (`PendingWrites`), so a pipeline of N requests costs one write.
///
/// Concrete and final on purpose: NIO calls it through an existential once per read, and
/// everything below that is statically dispatched.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: NeedletailServer
    private let session: ClientSession
    /// Where other clients' commands leave messages for this one (see `writeDeliveries`).
    private let link: ConnectionLink
    private let statistics: LoopStatistics
    private let pendingWrites: PendingWrites
    /// A replica's stream held while its socket is not writable, in blocks of `heldBlockSize` (large, so their allocation overhead is negligible).
    private var heldStream: [ByteBuffer] = []
    private var heldBytes = 0
    private static let heldBlockSize = 64 * 1024
    private var replicaWatermarks = false
    /// Set while the connection waits in `pendingWrites`.
    private var awaitingWrite = false
    private var context: ChannelHandlerContext?
    /// Parses and runs the client's requests; the replies wait in `requests.requests.command.reply`.
    private var requests: RequestLoop
    /// Bytes received but not yet parsed into a whole request.
    private var pending: ByteBuffer?
    private var closing = false
    private var replyBufferPeak = 0
    /// The blocking command the client waits in; requests that arrive meanwhile stay in `pending`.
    private var blocked: BlockedClient?
    private var blockTimeout: Scheduled<Void>?
    /// True while the pause gate holds the client's next request (kept, unconsumed, in `pending`).
    private var waitingAtGate = false
    /// Output the socket has not taken yet (CLIENT LIST `omem`), and since when it has stayed
    /// above the soft limit of `client-output-buffer-limit`.
    private var outputBacklog = 0
    private var overSoftLimitSince: Int64 = 0
    /// Bytes written since the backlog was last measured. Measuring costs a channel option
    /// lookup, so a client without a backlog is measured once per `outputMeasureInterval` bytes:
    /// like Redis's `omem`, which leaves out the first 16 KiB buffered, a smaller backlog
    /// neither shows nor counts against a limit.
    private var unmeasuredOutput = 0
    private static let outputMeasureInterval = 16 * 1024

    /// Whether requests are run now, or kept until a blocking command or the pause gate lets go.
    private var isWaiting: Bool { blocked != nil || waitingAtGate }

    /// Reply buffers above this capacity are given back after a flush instead of being kept.
    private static let keptReplyCapacity = 64 * 1024

    init(server: NeedletailServer, session: ClientSession, link: ConnectionLink, statistics: LoopStatistics, pendingWrites: PendingWrites,
         allocator: ByteBufferAllocator) {
        self.server = server
        self.session = session
        self.link = link
        self.statistics = statistics
        self.pendingWrites = pendingWrites
        let command = CommandContext(reply: ReplyWriter(buffer: allocator.buffer(capacity: 16 * 1024)), session: session,
                                     server: server.state, statistics: statistics)
        requests = RequestLoop(command: command, limits: server.requestLimits())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        server.state.clients.register(session)
        if let refusal = refusal() {
            server.state.statistics.rejectedConnections.add(1, ordering: .relaxed)
            requests.command.reply.error(refusal)
            closeAfterFlush(context)
        } else {
            server.state.statistics.connectionsReceived.add(1, ordering: .relaxed)
        }
        context.fireChannelActive()
    }

    /// Why a new connection is turned away: the client limit, or `protected-mode` when the
    /// default user has no password and the client is not on this host.
    private func refusal() -> String? {
        let state = server.state
        if state.clients.count > state.config.integer("maxclients") { return Errors.maxClients }
        if state.config.bool("protected-mode"), !state.requiresPassword, !session.isLocal { return Errors.protectedMode }
        return nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        blockTimeout?.cancel()
        if session.flags.contains(.replica) { countReplicaOutput(0) }
        server.state.disconnected(session)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        statistics.count(.netInputBytes, incoming.readableBytes)
        statistics.count(.readsProcessed)
        guard !closing else { return }
        if var buffered = pending {
            pending = nil
            buffered.writeBuffer(&incoming)
            incoming = buffered
        }
        if !isWaiting {
            writeDeliveries(context)
            process(&incoming, context: context)
        }
        keep(incoming)
    }

    /// Keeps the unparsed rest of a read for the next one.
    private func keep(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0, !closing else { return }
        if buffer.readableBytes > server.state.config.integer("client-query-buffer-limit") {
            server.logger.warning("Closing client that reached max query buffer length: id=\(session.id) addr=\(session.address)")
            closing = true
            pending = nil
            session.connection?.close()
            return
        }
        pending = buffer
    }

    /// Runs the complete requests at the front of `buffer` (consumed) until one waits.
    private func process(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        switch requests.run(&buffer) {
        case .needsMoreBytes:
            break
        case .replyFull:
            publishAndFlush(context)
            // An output buffer limit may have closed the client meanwhile.
            if !closing { process(&buffer, context: context) }
        case .postponed:
            // Not consumed: the request runs again, from scratch, when the gate opens.
            waitingAtGate = true
        case .parked(let client):
            park(client, context: context)
        case .close:
            closeAfterFlush(context)
        case .protocolError(let error):
            server.logger.info("Protocol error (\(error.message.dropFirst(20))) from client: id=\(session.id) addr=\(session.address)")
            closeAfterFlush(context)
        }
    }

    // MARK: Blocking commands

    /// Waits for the blocking command `client` parked in: until a write serves it, its
    /// deadline passes, or CLIENT UNBLOCK (all arrive through `resume`).
    private func park(_ client: BlockedClient, context: ChannelHandlerContext) {
        blocked = client
        guard client.deadline != 0 else { return }
        let delay = max(0, client.deadline - Clock.now())
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        blockTimeout = context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
            let (handler, context) = bound.value
            if client.expire() { handler.resume(.timedOut, context: context) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let outcome = event as? BlockedOutcome {
            resume(outcome, context: context)
        } else if event is Delivery {
            writeDeliveries(context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Writes what other clients' commands queued for this one.
    private func writeDeliveries(_ context: ChannelHandlerContext) {
        let deliveries = link.takeDeliveries()
        // Messages are pushes: CLIENT REPLY OFF does not silence them (as in Redis).
        guard !deliveries.isEmpty, !closing else { return }
        // Replies still waiting for the end of the loop iteration answer earlier requests.
        if requests.command.reply.buffer.readableBytes > 0 { publishAndFlush(context) }
        var written = 0
        // A replica whose socket is full: its stream waits here, packed (it gets no replies
        // that could overtake it).
        if session.flags.contains(.replica) && !replicaWatermarks {
            // Not writable past 16 KiB of small writes: beyond them the stream is held, packed.
            replicaWatermarks = true
            let marks = ChannelOptions.Types.WriteBufferWaterMark(low: 8 * 1024, high: 16 * 1024)
            context.channel.setOption(ChannelOptions.writeBufferWaterMark, value: marks).whenComplete { _ in }
        }
        if session.flags.contains(.replica) && (!heldStream.isEmpty || !context.channel.isWritable) {
            for var bytes in deliveries {
                written += bytes.readableBytes
                hold(&bytes, allocator: context.channel.allocator)
            }
        } else {
            for bytes in deliveries {
                written += bytes.readableBytes
                context.write(wrapOutboundOut(bytes), promise: nil)
            }
            context.flush()
        }
        statistics.count(.netOutputBytes, written)
        enforceOutputLimit(context, written: written)
    }

    /// Appends to the held stream, filling 64 KiB blocks to the brim: a stalled replica's
    /// backlog then costs its bytes, where a write queued per command would cost several times that.
    private func hold(_ bytes: inout ByteBuffer, allocator: ByteBufferAllocator) {
        heldBytes += bytes.readableBytes
        while bytes.readableBytes > 0 {
            var block = heldStream.popLast() ?? allocator.buffer(capacity: Self.heldBlockSize)
            if block.writableBytes == 0 {
                heldStream.append(block)
                block = allocator.buffer(capacity: Self.heldBlockSize)
            }
            var part = bytes.readSlice(length: min(block.writableBytes, bytes.readableBytes))!
            block.writeBuffer(&part)
            heldStream.append(block)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && !heldStream.isEmpty && !closing {
            for block in heldStream { context.write(wrapOutboundOut(block), promise: nil) }
            heldStream = []
            heldBytes = 0
            context.flush()
        }
        context.fireChannelWritabilityChanged()
    }

    /// `client-output-buffer-limit`: a client whose unsent output passes its class's hard
    /// limit, or stays above the soft limit for longer than the limit's period, is disconnected.
    private func enforceOutputLimit(_ context: ChannelHandlerContext, written: Int) {
        unmeasuredOutput += written
        guard outputBacklog > 0 || unmeasuredOutput >= Self.outputMeasureInterval else { return }
        unmeasuredOutput = 0
        let measured = heldStream.count * Self.heldBlockSize + ((try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0)
        if session.flags.contains(.replica) { countReplicaOutput(measured) }
        outputBacklog = measured
        guard outputBacklog > 0 else {
            overSoftLimitSince = 0
            return
        }
        guard server.state.outputBuffers.exceeded(by: session, backlog: outputBacklog, overSoftLimitSince: &overSoftLimitSince, now: Clock.now()) else {
            return
        }
        server.logger.warning("Client \(server.state.describe(session)) scheduled to be closed ASAP for overcoming of output buffer limits.")
        closing = true
        pending = nil
        context.close(promise: nil)
    }

    /// A replica's unsent stream is memory `maxmemory` does not count (evicting for it would
    /// only feed the stream more DELs), and shows in INFO as `mem_clients_slaves`: kept up to
    /// date as it is measured, since a stalled replica sends no request that would publish it.
    private func countReplicaOutput(_ measured: Int) {
        guard measured != outputBacklog else { return }
        server.state.memory.notCounted.add(measured - outputBacklog, ordering: .relaxed)
        session.published.withLock { $0.memory.outputMemory = measured }
    }

    /// Writes how the wait ended, then runs the requests that arrived meanwhile.
    private func resume(_ outcome: BlockedOutcome, context: ChannelHandlerContext) {
        guard !closing else { return }
        if case .pauseLifted = outcome {
            guard waitingAtGate else { return }
            waitingAtGate = false
        } else {
            guard blocked != nil else { return }
            blocked = nil
            blockTimeout?.cancel()
            blockTimeout = nil
        }
        switch outcome {
        case .pauseLifted:
            break
        case .served(var reply):
            requests.command.reply.buffer.writeBuffer(&reply)
        case .timedOut:
            requests.command.reply.nullArray()
        case .unblockedWithError:
            requests.command.error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
        }
        if var buffered = pending {
            pending = nil
            process(&buffered, context: context)
            keep(buffered)
        }
        publishAndFlush(context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !awaitingWrite {
            awaitingWrite = true
            pendingWrites.add(self)
        }
        context.fireChannelReadComplete()
    }

    /// Called by `pendingWrites` once the loop has handled the rest of its I/O.
    func writePendingReplies() {
        awaitingWrite = false
        guard let context else { return }
        publishAndFlush(context)
    }

    /// Other loops read the session's published state (subscriptions, protocol, flags): it is
    /// brought up to date before the replies go out, so a client that saw its SUBSCRIBE
    /// answered is seen as subscribed everywhere, as in a single-threaded server.
    private func publishAndFlush(_ context: ChannelHandlerContext) {
        replyBufferPeak = max(replyBufferPeak, requests.command.reply.buffer.capacity)
        session.publish(now: Clock.now(), memory: memory())
        flush(context)
    }

    private func flush(_ context: ChannelHandlerContext) {
        let bytes = requests.command.reply.buffer.readableBytes
        guard bytes > 0 else { return }
        statistics.count(.netOutputBytes, bytes)
        statistics.count(.writesProcessed)
        context.writeAndFlush(wrapOutboundOut(requests.command.reply.buffer), promise: nil)
        // Once the write completed, the buffer is ours alone again and clear() reuses it.
        if requests.command.reply.buffer.capacity > Self.keptReplyCapacity {
            requests.command.reply.buffer = context.channel.allocator.buffer(capacity: 16 * 1024)
        } else {
            requests.command.reply.buffer.clear()
        }
        enforceOutputLimit(context, written: bytes)
    }

    private func closeAfterFlush(_ context: ChannelHandlerContext) {
        closing = true
        pending = nil
        let bytes = requests.command.reply.buffer.readableBytes
        let channel = context.channel
        if bytes > 0 {
            statistics.count(.netOutputBytes, bytes)
            context.writeAndFlush(wrapOutboundOut(requests.command.reply.buffer)).whenComplete { _ in channel.close(promise: nil) }
            requests.command.reply.buffer.clear()
        } else {
            channel.close(promise: nil)
        }
    }

    private func memory() -> ClientMemory {
        var memory = ClientMemory()
        memory.queryBuffer = pending?.readableBytes ?? 0
        memory.queryBufferFree = pending.map { $0.capacity - $0.writerIndex } ?? 0
        memory.replyBufferSize = requests.command.reply.buffer.capacity
        memory.replyBufferPeak = replyBufferPeak
        memory.outputMemory = outputBacklog
        memory.outputListLength = (outputBacklog + 16 * 1024 - 1) / (16 * 1024)
        return memory
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
