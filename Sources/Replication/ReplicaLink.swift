import Commands
import Engine
import Foundation
import Locks
import NIOCore
import Persistence
import RESP

/// Where a replica's link to its master stands, in ROLE's words.
enum LinkState: String, Sendable {
    /// Waiting to connect (the cron retries every second).
    case connect
    /// The TCP connection is being made.
    case connecting
    /// PING, AUTH, REPLCONF, PSYNC.
    case handshake
    /// Receiving or loading the master's snapshot.
    case sync
    /// Applying the master's stream.
    case connected
}

/// This server's connection to its master: the handshake, a full sync's payload (either
/// form), then the master's stream, applied without replies and passed on, byte for byte, to
/// this server's own replicas. Runs on one event loop; `status` is what other threads read.
final class ReplicaLink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Status: Sendable {
        var state = LinkState.connecting
        /// Unix milliseconds of the last bytes from the master.
        var lastIO: Int64
        /// `slave_read_repl_offset`: the stream's bytes read, applied or not; and
        /// `slave_repl_offset`, those applied.
        var readOffset: Int64 = 0
        var appliedOffset: Int64 = 0
        /// The full sync's payload: its size (-1 in the `$EOF:` form) and what has arrived.
        var transferSize = -1
        var transferRead = 0
        /// Live-link repair (framed links): holes found, damaged frames dropped.
        var holes = 0
        var corruptFrames = 0
    }

    let status: Lock<Status>
    /// The loop the link runs on (chosen before it connects).
    let eventLoop: any EventLoop
    let host: String
    let port: Int
    private let server: ServerState
    private let master: ReplicationMaster
    private let persistence: Persistence
    /// Tells the coordinator the stream began or the link closed (on the link's loop).
    private let changed: @Sendable (ReplicaLink, Event) -> Void

    enum Event { case connected, closed }

    private enum Phase {
        case awaitingPong
        /// The pipelined handshake's replies still due, in order.
        case awaitingHandshake([HandshakeStep])
        case awaitingPsync
        /// PSYNC was refused as unknown: `SYNC` sent, no `+FULLRESYNC` line comes.
        case awaitingPayloadHeader
        case receivingPayload(length: Int?, mark: [UInt8]?)
        case loading
        case streaming
        case done
    }

    private enum HandshakeStep: String {
        case auth, listeningPort = "listening-port", ipAddress = "ip-address", capa
    }

    private var phase = Phase.awaitingPong
    private var context: ChannelHandlerContext?
    /// Bytes received and not yet consumed.
    private var input = ByteBuffer()
    private var payload: [UInt8] = []
    /// The history `+FULLRESYNC` named (`SYNC` names none: a new one is made up).
    private var fullSync: (id: String, offset: Int64) = ("", 0)
    /// Set when the payload came in the `$EOF:` form: the master then waits for an ACK.
    private var usedEOFMark = false
    /// The master's client, made once connected: it runs the stream's commands (its replies
    /// are dropped).
    private(set) var session: ClientSession!
    private var requests: RequestLoop!
    private let statistics: LoopStatistics
    private let streamDB: Int
    /// The pause gate holds the stream's next command.
    private var waitingAtGate = false
    /// The master frames the stream (`StreamFrame`): what arrives goes through `frames`.
    private var framed = false
    private var frames: FrameReader?
    private var lastResendRequest: Int64 = 0
    /// FAILOVER: this master hands its role to the replica it connects to (`PSYNC … FAILOVER`).
    private let handingOver: Bool

    init(host: String, port: Int, eventLoop: any EventLoop, server: ServerState, master: ReplicationMaster, persistence: Persistence,
         statistics: LoopStatistics, streamDB: Int, handingOver: Bool, changed: @escaping @Sendable (ReplicaLink, Event) -> Void) {
        self.handingOver = handingOver
        self.host = host
        self.port = port
        self.eventLoop = eventLoop
        self.server = server
        self.master = master
        self.persistence = persistence
        self.changed = changed
        self.statistics = statistics
        self.streamDB = streamDB
        status = Lock(Status(lastIO: Clock.now()))
    }

    var state: LinkState { status.withLock { $0.state } }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        let connection = MasterConnection(link: self)
        session = ClientSession(id: server.clients.makeID(), address: ClientSession.describe(context.channel.remoteAddress),
                                localAddress: ClientSession.describe(context.channel.localAddress), fd: -1, createdAt: Clock.now(),
                                authenticated: true, connection: connection)
        session.flags.insert(.master)
        session.database = streamDB
        let command = CommandContext(reply: ReplyWriter(buffer: context.channel.allocator.buffer(capacity: 1024)), session: session,
                                     server: server, statistics: statistics)
        requests = RequestLoop(command: command, limits: RequestParser.Limits(maxBulkLength: server.config.integer("proto-max-bulk-len")))
        status.withLock { $0.state = .handshake }
        server.control?.log("MASTER <-> REPLICA sync started")
        send([["PING"]], context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let wasStreaming = if case .streaming = phase { true } else { false }
        phase = .done
        self.context = nil
        if wasStreaming { server.disconnected(session) }
        changed(self, .closed)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.control?.warn("Error condition on socket for SYNC: \(error)")
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        let now = Clock.now()
        if frames != nil, case .streaming = phase {
            status.withLock { $0.lastIO = now }
            if receiveFrames(&bytes, context) { applyStream(context) }
            return
        }
        input.writeBuffer(&bytes)
        let streaming = if case .streaming = phase { true } else { false }
        let unread = Int64(input.readableBytes)
        status.withLock { status in
            status.lastIO = now
            if streaming { status.readOffset = status.appliedOffset + unread }
        }
        advance(context)
    }

    /// Moves through the phases as far as the bytes received allow.
    private func advance(_ context: ChannelHandlerContext) {
        while true {
            switch phase {
            case .awaitingPong:
                guard let line = readLine() else { return }
                guard line.hasPrefix("+") || line.hasPrefix("-NOAUTH") || line.hasPrefix("-NOPERM")
                    || line.hasPrefix("-ERR operation not permitted") else {
                    return fail("Error reply to PING from master: '\(line)'", context)
                }
                server.control?.log("Master replied to PING, replication can continue...")
                sendHandshake(context)
            case .awaitingHandshake(var steps):
                guard let line = readLine() else { return }
                let step = steps.removeFirst()
                if line.hasPrefix("-") {
                    if step == .auth { return fail("Unable to AUTH to MASTER: \(line)", context) }
                    server.control?.log("(Non critical) Master does not understand REPLCONF \(step.rawValue): \(line)")
                }
                phase = .awaitingHandshake(steps)
                if steps.isEmpty { sendPsync(context) }
            case .awaitingPsync:
                guard let line = readLine() else { return }
                if line.isEmpty { continue }
                handlePsyncReply(line, context)
                if case .done = phase { return }
            case .awaitingPayloadHeader:
                guard let line = readLine() else { return }
                if line.isEmpty { continue }
                guard !line.hasPrefix("-") else { return fail("MASTER aborted replication with an error: \(line.dropFirst())", context) }
                guard line.hasPrefix("$") else {
                    return fail("Bad protocol from MASTER, the first byte is not '$' (we received '\(line)'), are you sure the host and port are right?", context)
                }
                if line.hasPrefix("$EOF:") {
                    let mark = Array(line.utf8.dropFirst(5))
                    guard mark.count == 40 else { return fail("Bad EOF mark from MASTER: '\(line)'", context) }
                    server.control?.log("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")
                    phase = .receivingPayload(length: nil, mark: mark)
                } else {
                    guard let length = Int(line.dropFirst()), length >= 0 else {
                        return fail("Bad protocol from MASTER, the payload length is not a number: '\(line)'", context)
                    }
                    server.control?.log("MASTER <-> REPLICA sync: receiving \(length) bytes from master to disk")
                    payload.reserveCapacity(min(length, 1 << 26))
                    status.withLock { $0.transferSize = length }
                    phase = .receivingPayload(length: length, mark: nil)
                }
            case .receivingPayload(let length, let mark):
                guard receivePayload(length: length, mark: mark) else { return }
                load(context)
            case .loading, .done:
                return
            case .streaming:
                applyStream(context)
                return
            }
        }
    }

    /// A line ending in LF (its CR dropped), consumed; nil until one has arrived whole.
    private func readLine() -> String? {
        guard let end = input.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        var line = input.readString(length: end - input.readerIndex)!
        input.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }

    private func sendHandshake(_ context: ChannelHandlerContext) {
        let config = server.config
        var commands: [[String]] = [], steps: [HandshakeStep] = []
        let password = config["masterauth"], user = config["masteruser"]
        if !password.isEmpty {
            commands.append(user.isEmpty ? ["AUTH", password] : ["AUTH", user, password])
            steps.append(.auth)
        }
        let announcedPort = config.integer("replica-announce-port")
        commands.append(["REPLCONF", "listening-port", String(announcedPort != 0 ? announcedPort : config.integer("port"))])
        steps.append(.listeningPort)
        let announcedIP = config["replica-announce-ip"]
        if !announcedIP.isEmpty {
            commands.append(["REPLCONF", "ip-address", announcedIP])
            steps.append(.ipAddress)
        }
        // `resend`: a Needletail master frames the stream so bytes lost on a live link are
        // resent (Redis masters ignore capabilities they do not know).
        commands.append(["REPLCONF", "capa", "eof", "capa", "psync2", "capa", "resend"])
        steps.append(.capa)
        phase = .awaitingHandshake(steps)
        send(commands, context)
    }

    private func sendPsync(_ context: ChannelHandlerContext) {
        if let (id, offset) = master.continuation {
            server.control?.log("Trying a partial resynchronization (request \(id):\(offset)).")
            send([["PSYNC", id, String(offset)] + (handingOver ? ["FAILOVER"] : [])], context)
        } else {
            server.control?.log("Partial resynchronization not possible (no cached master)")
            send([["PSYNC", "?", "-1"]], context)
        }
        phase = .awaitingPsync
    }

    private func handlePsyncReply(_ line: String, _ context: ChannelHandlerContext) {
        let words = line.split(separator: " ").map(String.init)
        // A Needletail master that will frame the stream says so last (`FRAMED`).
        framed = words.last == "FRAMED"
        if words[0] == "+FULLRESYNC" {
            guard words.count == (framed ? 4 : 3), words[1].utf8.count == 40, let offset = Int64(words[2]) else {
                return fail("Master replied with wrong +FULLRESYNC syntax.", context)
            }
            server.control?.log("Full resync from master: \(words[1]):\(offset)")
            fullSync = (words[1], offset)
            status.withLock { $0.state = .sync }
            phase = .awaitingPayloadHeader
        } else if words[0] == "+CONTINUE" {
            server.control?.log("Successful partial resynchronization with master.")
            if words.count > 1, words[1] != "FRAMED", words[1].utf8.count == 40 {
                if words[1] != master.continuation?.id { server.control?.log("Master replication ID changed to \(words[1])") }
                master.continueUnder(id: words[1])
            }
            server.control?.log("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            startStreaming(at: master.offset, context)
        } else if line.hasPrefix("-NOMASTERLINK") || line.hasPrefix("-LOADING") {
            fail("Master is currently unable to PSYNC but should be in the future: \(line)", context)
        } else if line.hasPrefix("-") {
            server.control?.log("Master does not support PSYNC or is in error state (reply: \(line))")
            server.control?.log("Retrying with SYNC...")
            fullSync = (ServerState.randomReplicationID(), 0)
            status.withLock { $0.state = .sync }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "SYNC\r\n")), promise: nil)
            phase = .awaitingPayloadHeader
        } else {
            fail("Unexpected reply to PSYNC from master: \(line)", context)
        }
    }

    /// Takes payload bytes from the input; true once the whole payload is here.
    private func receivePayload(length: Int?, mark: [UInt8]?) -> Bool {
        let available = input.readableBytes
        let wanted = length.map { min(available, $0 - payload.count) } ?? available
        input.readWithUnsafeReadableBytes { bytes in
            payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[..<wanted]))
            return wanted
        }
        status.withLock { $0.transferRead = payload.count }
        if let length { return payload.count == length }
        guard let mark, payload.count >= mark.count, payload.suffix(mark.count).elementsEqual(mark) else { return false }
        payload.removeLast(mark.count)
        usedEOFMark = true
        return true
    }

    /// Loads the payload off the loop (clients get `-LOADING` meanwhile; the stream that
    /// arrives waits in `input`), then starts the stream.
    private func load(_ context: ChannelHandlerContext) {
        phase = .loading
        // The history changes: this server's own replicas must sync again.
        master.disconnectReplicas()
        let payload = self.payload
        self.payload = []
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let persistence = persistence
        Thread.detachNewThread {
            let result = Result { try persistence.loadFromMaster(payload) }
            bound.eventLoop.execute {
                let (link, context) = bound.value
                link.loaded(result, context)
            }
        }
    }

    private func loaded(_ result: Result<RDBLoader.Summary, any Error>, _ context: ChannelHandlerContext) {
        guard case .loading = phase else { return }
        switch result {
        case .failure(let error):
            fail("Failed trying to load the MASTER synchronization DB from disk, check server logs. (\(error))", context)
        case .success(let summary):
            server.control?.log("MASTER <-> REPLICA sync: Finished with success")
            session.database = recordedStreamDB(summary.aux, databases: server.keyspace.databaseCount)
            master.adopt(id: fullSync.id, offset: fullSync.offset)
            startStreaming(at: fullSync.offset, context)
            // After an `$EOF:` payload the master holds the stream until this first ACK.
            if usedEOFMark { acknowledge(fullSync.offset) }
            if input.readableBytes > 0 { applyStream(context) }
        }
    }

    private func startStreaming(at offset: Int64, _ context: ChannelHandlerContext) {
        if framed {
            // What arrived meanwhile is frames: it goes through the reader like all that follows.
            frames = FrameReader(accepted: offset)
            var arrived = input
            input.clear()
            if !receiveFrames(&arrived, context) { return }
        }
        let unread = Int64(input.readableBytes)
        status.withLock { status in
            status.state = .connected
            status.appliedOffset = offset
            status.readOffset = offset + unread
            status.transferSize = -1
            status.transferRead = 0
        }
        server.clients.register(session)
        phase = .streaming
        changed(self, .connected)
    }

    // MARK: The stream

    /// Applies the complete commands received, passes their bytes on, and drops the replies
    /// (the master reads none, but the ACKs).
    private func applyStream(_ context: ChannelHandlerContext) {
        guard !waitingAtGate else { return }
        let stop = master.applying.withLock { _ in
            let start = input.readerIndex
            // Shares the storage: the bytes stay readable here once `run` has consumed them.
            let received = input.slice()
            var stop = requests.run(&input)
            // The replies to the master's stream are dropped (the master reads none).
            while case .replyFull = stop {
                requests.command.reply.buffer.clear()
                stop = requests.run(&input)
            }
            let applied = input.readerIndex - start
            if applied > 0 { master.feed(received.getSlice(at: received.readerIndex, length: applied)!) }
            return stop
        }
        requests.command.reply.buffer.clear()
        // The slice is gone: compacting moves only the unparsed tail, never copies the storage.
        if input.readableBytes == 0 {
            input.clear()
        } else if input.readerIndex >= 64 * 1024 {
            input.discardReadBytes()
        }
        session.publish(now: Clock.now(), memory: ClientMemory())
        let applied = master.offset, unread = Int64(input.readableBytes)
        status.withLock { status in
            status.appliedOffset = applied
            status.readOffset = applied + unread
        }
        switch stop {
        case .needsMoreBytes, .parked, .replyFull:
            break
        case .postponed:
            waitingAtGate = true
        case .close:
            context.close(promise: nil)
        case .protocolError(let error):
            fail("Protocol error in the master's stream (\(error.message)): reconnecting", context)
        }
    }

    /// Frames in, verified stream bytes into `input`; asks for a resend on a hole or damage.
    /// False when the bytes are not frames: the link is dropped (then a partial PSYNC).
    private func receiveFrames(_ bytes: inout ByteBuffer, _ context: ChannelHandlerContext) -> Bool {
        let outcome = frames!.receive(&bytes) { verified in input.writeBuffer(&verified) }
        let counts = (frames!.holes, frames!.corruptFrames)
        status.withLock { ($0.holes, $0.corruptFrames) = counts }
        switch outcome {
        case .fine:
            return true
        case .askResend:
            server.control?.warn("Stream bytes lost or damaged after offset \(frames!.accepted): asking the master to resend them")
            askResend(context)
            return true
        case .unparseable:
            fail("Unreadable frame in the master's stream after offset \(frames!.accepted): reconnecting", context)
            return false
        }
    }

    private func askResend(_ context: ChannelHandlerContext) {
        lastResendRequest = Clock.now()
        send([["REPLCONF", "RESEND", String(frames!.accepted)]], context)
    }

    /// Live-link repair as a replica: holes found and damaged frames dropped.
    var repairCounts: (holes: Int, corrupt: Int) {
        status.withLock { ($0.holes, $0.corruptFrames) }
    }

    /// The pause gate opened: the held command runs, then the rest.
    fileprivate func resumeAfterPause() {
        guard waitingAtGate, let context else { return }
        waitingAtGate = false
        applyStream(context)
    }

    /// `REPLCONF ACK <offset>`: what this replica applied.
    func acknowledge(_ offset: Int64) {
        guard let context else { return }
        send([["REPLCONF", "ACK", String(offset)]], context)
    }

    /// From the cron, on any thread: the periodic ACK, or a newline while the payload loads
    /// (so the master knows the link is alive).
    func heartbeat() {
        eventLoop.execute { [self] in
            guard let context else { return }
            switch phase {
            case .streaming:
                acknowledge(master.offset)
                // A hole still open a second after asking: ask again.
                if let frames, frames.missing, Clock.now() - lastResendRequest >= 1000 { askResend(context) }
            case .loading: context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "\n")), promise: nil)
            default: break
            }
        }
    }

    /// Closes the link (from any thread); `closed` then tells the coordinator.
    func close() {
        // At once when on the link's loop (CLIENT KILL from a client sharing it): the master
        // sees the link go now, not after what that client runs next (a DEBUG SLEEP in MULTI).
        if eventLoop.inEventLoop {
            context?.close(promise: nil)
        } else {
            eventLoop.execute { [self] in context?.close(promise: nil) }
        }
    }

    private func fail(_ message: String, _ context: ChannelHandlerContext) {
        server.control?.warn(message)
        phase = .done
        context.close(promise: nil)
    }

    private func send(_ commands: [[String]], _ context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        for command in commands {
            buffer.writeString("*\(command.count)\r\n")
            for word in command { buffer.writeString("$\(word.utf8.count)\r\n\(word)\r\n") }
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}

/// The master's client as the command layer reaches it: CLIENT KILL closes the link, the
/// pause gate resumes the stream.
private final class MasterConnection: ClientConnection, @unchecked Sendable {
    weak var link: ReplicaLink?

    init(link: ReplicaLink) {
        self.link = link
    }

    func close() { link?.close() }

    func execute(_ work: @escaping @Sendable () -> Void) {
        link?.eventLoop.execute(work)
    }

    /// Nothing is delivered to a master.
    func deliver(_ bytes: ByteBuffer) {}

    func resume(_ outcome: BlockedOutcome) {
        guard case .pauseLifted = outcome, let link else { return }
        link.eventLoop.execute { link.resumeAfterPause() }
    }
}
