import Config
import Engine
import NIOCore
import RESP
import Synchronization

/// Keyspace notifications (`notify-keyspace-events`): a command that changes a key publishes
/// `__keyspace@<db>__:<key>` with the event name and `__keyevent@<db>__:<event>` with the key,
/// for the classes the configuration enables.
final class KeyspaceEvents: Sendable {
    /// The enabled event classes, mirrored from the configuration so commands read them
    /// without a lock; 0 unless `K` or `E` is set too, so one test tells whether to publish.
    let flags = Atomic<Int>(0)
    let hub: PubSubHub

    init(hub: PubSubHub) {
        self.hub = hub
    }

    func configure(_ setting: String) {
        let enabled = KeyspaceEventFlags(setting) ?? []
        flags.store(enabled.isDisjoint(with: [.keyspace, .keyevent]) ? 0 : enabled.rawValue, ordering: .relaxed)
    }

    @inline(__always)
    func isEnabled(_ type: KeyspaceEventFlags) -> Bool {
        flags.load(ordering: .relaxed) & type.rawValue != 0
    }

    /// Publishes one event. `reply` and `session` let a client subscribed to its own events see
    /// them before its command's reply, as in Redis.
    func notify(_ type: KeyspaceEventFlags, _ event: String, key: UnsafeRawBufferPointer, db: Int,
                reply: inout ReplyWriter, session: ClientSession?) {
        guard isEnabled(type) else { return }
        let enabled = KeyspaceEventFlags(rawValue: flags.load(ordering: .relaxed))
        if enabled.contains(.keyspace) {
            hub.publish(Element(Array("__keyspace@\(db)__:".utf8) + Array(key)), Element(event), current: &reply, currentSession: session)
        }
        if enabled.contains(.keyevent) {
            hub.publish(Element("__keyevent@\(db)__:\(event)"), Element(key), current: &reply, currentSession: session)
        }
    }

    /// An event no client command caused (a key expiring in the background).
    func notify(_ type: KeyspaceEventFlags, _ event: String, key: UnsafeRawBufferPointer, db: Int) {
        var unused = ReplyWriter(buffer: ByteBuffer())
        notify(type, event, key: key, db: db, reply: &unused, session: nil)
    }
}

extension CommandContext {
    /// Publishes a keyspace event for a key of the client's database.
    public mutating func notify(_ type: KeyspaceEventFlags, _ event: String, _ key: Key) {
        notify(type, event, key.bytes, db: session.database)
    }

    public mutating func notify(_ type: KeyspaceEventFlags, _ event: String, _ key: UnsafeRawBufferPointer, db: Int) {
        guard events.isEnabled(type) else { return }
        events.notify(type, event, key: key, db: db, reply: &reply, session: session)
    }
}
