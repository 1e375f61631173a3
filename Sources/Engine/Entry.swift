#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A key, its value and its metadata in one allocation: the header, then the key's bytes, then
/// (for a short string) the value's bytes. One allocation per key is where the memory per key is
/// won: 16 bytes of object header + 24 bytes of `EntryHeader` + the bytes themselves.
public final class Entry: ManagedBuffer<EntryHeader, UInt8> {
    /// Strings up to this length are stored inside the entry: one allocation per key instead of
    /// three. Redis embeds only up to 44 bytes (`embstr`); longer ones it reports as `raw`, and
    /// so does `encodingName`.
    public static let embeddedLimit = 512

    public static func make(key: UnsafeRawBufferPointer, value: Value, embedding embedded: UnsafeRawBufferPointer? = nil,
                            expireAt: Int64, access: UInt32) -> Entry {
        let embeddedCount = embedded?.count ?? 0
        let object = Entry.create(minimumCapacity: key.count + embeddedCount) { _ in
            EntryHeader(expireAt: expireAt, value: value, access: access, keyCount: UInt32(key.count))
        }
        let entry = unsafeDowncast(object, to: Entry.self)
        entry.withUnsafeMutablePointerToElements { elements in
            if let base = key.baseAddress { elements.update(from: base.assumingMemoryBound(to: UInt8.self), count: key.count) }
            if let embedded, let base = embedded.baseAddress {
                (elements + key.count).update(from: base.assumingMemoryBound(to: UInt8.self), count: embeddedCount)
            }
        }
        return entry
    }

    /// Takes `value` (with, for an embedded string, its bytes) in place of the current one, if
    /// the allocation has room for the bytes after the key and would not waste much of it (a
    /// long value overwritten by a short one gets a new, small entry). False, changing nothing,
    /// if not.
    func overwrite(with value: Value, embedding embedded: UnsafeRawBufferPointer?, expireAt: Int64, access: UInt32) -> Bool {
        let keyCount = Int(header.keyCount), embeddedCount = embedded?.count ?? 0
        let needed = keyCount + embeddedCount
        guard needed <= capacity && capacity <= needed + needed / 2 + 32 else { return false }
        if let embedded, let base = embedded.baseAddress {
            withUnsafeMutablePointerToElements { elements in
                (elements + keyCount).update(from: base.assumingMemoryBound(to: UInt8.self), count: embeddedCount)
            }
        }
        header.value = value
        header.expireAt = expireAt
        header.access = access
        return true
    }

    /// A new entry for the same key, with a different value.
    public func replacingValue(_ value: Value, embedding embedded: UnsafeRawBufferPointer? = nil, expireAt: Int64) -> Entry {
        withKey { key in Entry.make(key: key, value: value, embedding: embedded, expireAt: expireAt, access: header.access) }
    }

    /// The same value and TTL under another key (RENAME). A collection is shared, not copied:
    /// the old entry is deleted in the same command.
    public func rekeyed(_ key: UnsafeRawBufferPointer) -> Entry {
        withEmbedded { embedded in
            Entry.make(key: key, value: value, embedding: embedded.isEmpty ? nil : embedded, expireAt: expireAt, access: access)
        }
    }

    /// An independent copy of the value and TTL under `key` (COPY).
    public func copied(as key: UnsafeRawBufferPointer, limits: EncodingLimits) -> Entry {
        let copy = rekeyed(key)
        copy.value = value.deepCopy(limits: limits)
        return copy
    }

    @inlinable
    public var keyCount: Int { Int(header.keyCount) }

    @inlinable
    public var value: Value {
        get { header.value }
        set { header.value = newValue }
    }

    /// Absolute expiry time in Unix milliseconds, 0 for a key without a TTL.
    @inlinable
    public var expireAt: Int64 {
        get { header.expireAt }
        set { header.expireAt = newValue }
    }

    @inlinable
    public func withKey<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let count = Int(header.keyCount)
        return try withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }

    public var keyBytes: [UInt8] { withKey { Array($0) } }

    @inlinable
    public func keyEquals(_ key: UnsafeRawBufferPointer) -> Bool {
        let count = Int(header.keyCount)
        guard count == key.count else { return false }
        if count == 0 { return true }
        return withUnsafeMutablePointerToElements { memcmp($0, key.baseAddress!, count) == 0 }
    }

    /// The bytes of an embedded string value (empty for other values).
    @inlinable
    public func withEmbedded<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let keyCount = Int(header.keyCount)
        guard case .embedded(let count) = header.value else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try withUnsafeMutablePointerToElements {
            try body(UnsafeRawBufferPointer(start: $0 + keyCount, count: Int(count)))
        }
    }

    public func touch(_ clock: UInt32) {
        header.access = clock
    }

    public var access: UInt32 { header.access }
}

/// What sits in front of an entry's bytes. Laid out in 24 bytes: the 9-byte value enum shares
/// its last word with the 24-bit access clock and the key length.
public struct EntryHeader {
    public var expireAt: Int64
    public var value: Value
    @usableFromInline var accessHigh: UInt8
    @usableFromInline var accessLow: UInt16
    public let keyCount: UInt32

    @inlinable
    init(expireAt: Int64, value: Value, access: UInt32, keyCount: UInt32) {
        self.expireAt = expireAt
        self.value = value
        self.accessHigh = UInt8(truncatingIfNeeded: access >> 16)
        self.accessLow = UInt16(truncatingIfNeeded: access)
        self.keyCount = keyCount
    }

    /// The LRU clock (seconds, 24 bits, as Redis's) when the key was last read or written.
    @inlinable
    public var access: UInt32 {
        get { UInt32(accessHigh) << 16 | UInt32(accessLow) }
        set {
            accessHigh = UInt8(truncatingIfNeeded: newValue >> 16)
            accessLow = UInt16(truncatingIfNeeded: newValue)
        }
    }
}

/// A key's value. Strings come in Redis's three encodings; collections are reference types, so
/// changing one in place never copies it (DESIGN.md §5).
public enum Value {
    /// A string of up to `Entry.embeddedLimit` bytes, stored in the entry after the key.
    case embedded(UInt32)
    /// Redis's longest `embstr`.
    public static let embstrLimit = 44
    /// A string that is the canonical decimal form of a 64-bit integer.
    case integer(Int64)
    /// A longer string, or one grown in place by APPEND, SETRANGE or SETBIT.
    case raw(RawString)
    case list(ListValue)
    case hash(HashValue)
    case set(SetValue)
    case sortedSet(SortedSetValue)

    /// The name TYPE replies with.
    public var typeName: String {
        switch self {
        case .embedded, .integer, .raw: "string"
        case .list: "list"
        case .hash: "hash"
        case .set: "set"
        case .sortedSet: "zset"
        }
    }

    /// Redis's object type number (string 0, list 1, set 2, sorted set 3, hash 4), which DEBUG
    /// DIGEST mixes in.
    public var typeCode: UInt32 {
        switch self {
        case .embedded, .integer, .raw: 0
        case .list: 1
        case .set: 2
        case .sortedSet: 3
        case .hash: 4
        }
    }

    /// The name OBJECT ENCODING replies with.
    public var encodingName: String {
        switch self {
        case .embedded(let count): count <= Value.embstrLimit ? "embstr" : "raw"
        case .integer: "int"
        case .raw: "raw"
        case .list(let list): list.encodingName
        case .hash(let hash): hash.encodingName
        case .set(let set): set.encodingName
        case .sortedSet(let sortedSet): sortedSet.encodingName
        }
    }

    public var isString: Bool {
        switch self {
        case .embedded, .integer, .raw: true
        default: false
        }
    }

    public var list: ListValue? { if case .list(let list) = self { list } else { nil } }
    public var hash: HashValue? { if case .hash(let hash) = self { hash } else { nil } }
    public var set: SetValue? { if case .set(let set) = self { set } else { nil } }
    public var sortedSet: SortedSetValue? { if case .sortedSet(let sortedSet) = self { sortedSet } else { nil } }

    /// A copy that shares no mutable object with this value.
    public func deepCopy(limits: EncodingLimits) -> Value {
        switch self {
        case .embedded, .integer: self
        case .raw(let raw): .raw(RawString(raw.bytes))
        case .list(let list): .list(ListValue(list.items))
        case .hash(let hash): .hash(hash.copy())
        case .set(let set): .set(set.copy())
        case .sortedSet(let sortedSet): .sortedSet(sortedSet.copy(limits: limits))
        }
    }
}

/// A string kept in its own growable buffer.
public final class RawString {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }
}
