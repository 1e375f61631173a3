import Engine
import RESP

/// Building and reading string values with Redis's encodings: `int` for the canonical
/// decimal form of a 64-bit integer, inside the entry up to `Entry.embeddedLimit` bytes (named
/// `embstr` up to 44 bytes and `raw` above, as Redis names them), a separate buffer above.
public enum StringValues {
    public static func entry(key: Key, value: UnsafeRawBufferPointer, expireAt: Int64, access: UInt32) -> Entry {
        let encoded = encode(value)
        return Entry.make(key: key.bytes, value: encoded.value, embedding: encoded.embedded, expireAt: expireAt, access: access)
    }

    /// `bytes` as a string value, and the bytes to embed in the entry for `embstr` (nil otherwise).
    static func encode(_ bytes: UnsafeRawBufferPointer) -> (value: Value, embedded: UnsafeRawBufferPointer?) {
        if bytes.count <= 20, let integer = StrictInteger.parse(bytes) { return (.integer(Int64(integer)), nil) }
        if bytes.count <= Entry.embeddedLimit { return (.embedded(UInt32(bytes.count)), bytes) }
        return (.raw(RawString(Array(bytes))), nil)
    }

    public static func entry(key: Key, value: [UInt8], expireAt: Int64, access: UInt32) -> Entry {
        value.withUnsafeBytes { entry(key: key, value: $0, expireAt: expireAt, access: access) }
    }

    /// The entry's string bytes, whatever the encoding (an integer is formatted).
    static func withBytes<R>(_ entry: Entry, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch entry.value {
        case .embedded:
            return entry.withEmbedded(body)
        case .integer(let value):
            var text = String(value)
            return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        case .raw(let raw):
            return raw.bytes.withUnsafeBytes(body)
        default:
            preconditionFailure("callers check isString first")
        }
    }

    public static func bytes(_ entry: Entry) -> [UInt8] {
        withBytes(entry) { Array($0) }
    }

    static func length(_ entry: Entry) -> Int {
        switch entry.value {
        case .embedded(let count): Int(count)
        case .integer(let value): String(value).utf8.count
        case .raw(let raw): raw.bytes.count
        default: preconditionFailure("callers check isString first")
        }
    }

    /// A copy of `entry`'s value under another key (COPY, RENAME across keys).
    static func copy(_ entry: Entry, to key: Key, expireAt: Int64) -> Entry {
        switch entry.value {
        case .embedded:
            return entry.withEmbedded { Entry.make(key: key.bytes, value: entry.value, embedding: $0, expireAt: expireAt, access: entry.access) }
        case .integer:
            return Entry.make(key: key.bytes, value: entry.value, expireAt: expireAt, access: entry.access)
        case .raw(let raw):
            return Entry.make(key: key.bytes, value: .raw(RawString(raw.bytes)), expireAt: expireAt, access: entry.access)
        default:
            preconditionFailure("callers check isString first")
        }
    }
}
