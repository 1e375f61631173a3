import Config
import Engine

/// A key looked up as a particular kind of value.
enum Fetched<T> {
    case found(T)
    case missing
    /// The key holds another kind of value; WRONGTYPE was replied.
    case wrongType
}

extension CommandContext {
    /// The value at `key` if `extract` accepts its kind. Replies WRONGTYPE when the key holds
    /// something else. A read command counts a keyspace hit or miss.
    mutating func fetch<T>(_ key: Key, in db: Database, _ extract: (Value) -> T?) -> Fetched<T> {
        guard let entry = commandWrites ? db.lookup(key) : read(key, in: db) else { return .missing }
        guard let value = extract(entry.value) else {
            error(Errors.wrongType)
            return .wrongType
        }
        return .found(value)
    }

    /// Replies `integer` of the collection under argument 1, 0 when the key is missing (HLEN,
    /// SCARD, SISMEMBER, ZCOUNT …).
    mutating func replyInteger<T>(_ extract: (Value) -> T?, _ integer: (T) -> Int) {
        switch fetch(key(1), in: database, extract) {
        case .wrongType: return
        case .missing: reply.integer(0)
        case .found(let collection): reply.integer(integer(collection))
        }
    }

    /// The value at `key`, or a new empty one stored there (emitting the `new` event). Nil
    /// after a WRONGTYPE reply.
    mutating func fetchOrCreate<T>(_ key: Key, in db: Database, _ extract: (Value) -> T?, make: () -> Value) -> T? {
        if let entry = db.lookup(key) {
            guard let value = extract(entry.value) else {
                error(Errors.wrongType)
                return nil
            }
            return value
        }
        let value = make()
        store(key, Entry.make(key: key.bytes, value: value, expireAt: 0, access: db.access), in: db)
        return extract(value)
    }

    /// Stores an entry under `key`; a new key emits the `new` keyspace event.
    @discardableResult
    public mutating func store(_ key: Key, _ entry: Entry, in db: Database) -> Bool {
        let isNew = db.store(key, entry)
        if isNew { notify(.newKey, "new", key.bytes, db: db.index) }
        return isNew
    }

    /// Stores argument `argument` as a string under `key` (SET, MSET), rewriting the entry
    /// there in place when it can; a new key emits the `new` keyspace event.
    mutating func storeString(_ key: Key, argument: Int, expireAt: Int64, in db: Database) {
        let encoded = StringValues.encode(arguments[argument])
        if db.storeString(key, encoded.value, embedding: encoded.embedded, expireAt: expireAt) {
            notify(.newKey, "new", key.bytes, db: db.index)
        }
    }

    /// HDEL, SREM and ZREM: removes the members named from argument 2 on, publishes `event`
    /// when any went, and replies how many did.
    mutating func removeMembers<T>(_ extract: (Value) -> T?, event: (type: KeyspaceEventFlags, name: String),
                                   remove: (T, Element) -> Bool, count: (T) -> Int) {
        let db = database
        let key = self.key(1)
        switch fetch(key, in: db, extract) {
        case .wrongType: return
        case .missing: reply.integer(0)
        case .found(let collection):
            var removed = 0
            for index in 2 ..< argumentCount where remove(collection, Element(arguments[index])) {
                removed += 1
            }
            if removed > 0 {
                changed(key, event.type, event.name, in: db, dirty: removed, remaining: count(collection))
            }
            reply.integer(removed)
        }
    }
}
