import Commands
import Engine
import Foundation
import Locks
import NIOCore
import Persistence

/// The master side of replication (first cut): PSYNC and SYNC answered by a full sync from a
/// forkless snapshot taken at the exact stream offset announced in `+FULLRESYNC`, partial
/// resync from the backlog, the stream fed from the propagation sink, REPLCONF.
///
/// Not done yet: INFO replication's replica lines, replicas forgotten when their link closes,
/// the in-stream PING, repl-timeout, WAIT, min-replicas, diskless sync, rdb-only.
public final class ReplicationMaster: PropagationSink, @unchecked Sendable {
    struct Replica {
        let session: ClientSession
        /// Receiving the stream; before that, the bytes since the snapshot wait in `pending`.
        var online = false
        var pending: [UInt8] = []
        var ackOffset: Int64 = 0
        var lastAck: Int64 = 0
        var listeningPort = 0
    }

    struct State {
        /// Created when the first replica attaches, as Redis creates it.
        var backlog: ReplicationBacklog?
        var encoder = StreamEncoder()
        var replicas: [Int: Replica] = [:]
    }

    let state = Lock(State())
    private(set) var server: ServerState!

    public init() {}

    public func attach(to server: ServerState) {
        self.server = server
    }

    public var commands: [Command] {
        [
            Command("psync", arity: -3, flags: [.admin, .noScript, .noAsyncLoading, .noMulti], group: "server", since: "2.8.0",
                    summary: "A replica asks for the stream from an offset.", handler: { [unowned self] c in sync(&c, partial: true) }),
            Command("sync", arity: 1, flags: [.admin, .noScript, .noAsyncLoading, .noMulti], group: "server", since: "1.0.0",
                    summary: "A replica asks for the whole dataset and the stream.", handler: { [unowned self] c in sync(&c, partial: false) }),
            Command("replconf", arity: -1, flags: [.admin, .noScript, .loading, .stale, .allowBusy], group: "server", since: "3.0.0",
                    summary: "A replica's settings and acknowledgements.", handler: { [unowned self] c in replconf(&c) }),
        ]
    }

    // MARK: The stream

    public func propagate(_ commands: [PropagatedCommand]) {
        state.withLock { state in
            guard state.backlog != nil else { return }
            var bytes: [UInt8] = []
            state.encoder.encode(commands, into: &bytes)
            state.backlog!.append(bytes)
            for id in state.replicas.keys {
                if state.replicas[id]!.online {
                    state.replicas[id]!.session.connection?.deliver(ByteBuffer(bytes: bytes))
                } else {
                    state.replicas[id]!.pending += bytes
                }
            }
        }
    }

    // MARK: Commands

    func replconf(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 1 else { return c.error(Errors.syntax) }
        var index = 1
        while index < c.argumentCount {
            let option = c.text(index).lowercased(), value = c.text(index + 1)
            switch option {
            case "listening-port":
                guard let port = Int(value) else { return c.error("ERR value is not an integer or out of range") }
                let id = c.session.id
                state.withLock { $0.replicas[id]?.listeningPort = port }
                listeningPorts.withLock { $0[id] = port }
            case "ack":
                // No reply: the replica does not read one.
                guard let offset = Int64(value) else { return }
                let id = c.session.id, now = c.now
                state.withLock { state in
                    guard var replica = state.replicas[id] else { return }
                    replica.ackOffset = max(replica.ackOffset, offset)
                    replica.lastAck = now
                    state.replicas[id] = replica
                }
                return
            case "getack":
                return
            case "ip-address", "capa", "rdb-only", "rdb-filter-only":
                break
            default:
                return c.error("ERR Unrecognized REPLCONF option: \(c.text(index))")
            }
            index += 2
        }
        c.reply.ok()
    }

    /// Ports announced with REPLCONF before the link became a replica's.
    private let listeningPorts = Lock<[Int: Int]>([:])

    func sync(_ c: inout CommandContext, partial: Bool) {
        let session = c.session
        if session.flags.contains(.replica) { return }
        if partial, let offset = Int64(c.text(2)), c.text(1) == server.replicationID,
           let missing = state.withLock({ $0.backlog?.bytes(from: offset) }) {
            becomeReplica(session)
            c.reply.simpleString("CONTINUE \(server.replicationID)")
            state.withLock { state in
                var replica = Replica(session: session)
                replica.online = true
                replica.listeningPort = listeningPorts.withLock { $0[session.id] ?? 0 }
                state.replicas[session.id] = replica
            }
            session.connection?.deliver(ByteBuffer(bytes: missing))
            server.log("Partial resynchronization request from replica accepted.")
            return
        }
        becomeReplica(session)
        var options = RDBSnapshot.Options()
        options.compress = server.config.bool("rdbcompression")
        options.checksum = server.config.bool("rdbchecksum")
        options.usedMemory = server.memory.used
        let backlogSize = server.config.integer("repl-backlog-size")
        var offset: Int64 = 0
        let replicationID = server.replicationID
        let snapshot = RDBSnapshot.begin(server.keyspace, options: options, now: c.now) {
            // At the instant: every shard held, so the stream and the image meet exactly here.
            offset = state.withLock { state in
                if state.backlog == nil {
                    state.backlog = ReplicationBacklog(capacity: max(1, backlogSize))
                    state.encoder.reset()
                }
                var replica = Replica(session: session)
                replica.listeningPort = listeningPorts.withLock { $0[session.id] ?? 0 }
                state.replicas[session.id] = replica
                return state.backlog!.endOffset
            }
        }
        snapshot.setReplication(id: replicationID, offset: Int(offset), db: 0)
        server.propagation.add(self)
        if partial { c.reply.simpleString("FULLRESYNC \(replicationID) \(offset)") }
        server.log("Starting BGSAVE for SYNC with target: replicas sockets")
        Thread.detachNewThread { [self] in
            var file: [UInt8] = []
            do {
                try snapshot.write { file.append(contentsOf: $0) }
            } catch {
                server.warn("Full synchronization failed: \(error)")
                session.connection?.close()
                return
            }
            state.withLock { state in
                guard var replica = state.replicas[session.id] else { return }
                var transfer = ByteBuffer(string: "$\(file.count)\r\n")
                transfer.writeBytes(file)
                transfer.writeBytes(replica.pending)
                session.connection?.deliver(transfer)
                replica.pending = []
                replica.online = true
                state.replicas[session.id] = replica
            }
            server.log("Synchronization with replica succeeded")
        }
    }

    private func becomeReplica(_ session: ClientSession) {
        session.flags.insert(.replica)
        session.published.withLock { $0.flags.insert(.replica) }
    }
}
