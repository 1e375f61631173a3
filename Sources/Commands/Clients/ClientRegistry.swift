import Locks
import Synchronization

/// Every connected client, for CLIENT LIST / KILL and INFO clients.
public final class ClientRegistry: Sendable {
    private let clients = Lock<[Int: ClientSession]>([:])
    private let nextID = Atomic<Int>(1)

    public init() {}

    public func makeID() -> Int {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    public func register(_ session: ClientSession) {
        clients.withLock { $0[session.id] = session }
    }

    public func unregister(_ session: ClientSession) {
        _ = clients.withLock { $0.removeValue(forKey: session.id) }
    }

    public var count: Int { clients.withLock { $0.count } }

    /// All clients, ordered by id as CLIENT LIST shows them.
    public func all() -> [ClientSession] {
        clients.withLock { Array($0.values) }.sorted { $0.id < $1.id }
    }

    public func client(id: Int) -> ClientSession? {
        clients.withLock { $0[id] }
    }
}
