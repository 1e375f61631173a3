import Engine
import RESP

/// DEBUG DIGEST and DIGEST-VALUE, computed exactly as Redis computes them, so a Needletail
/// node and a Redis node holding the same data report the same digest:
/// - `xor(d, x)`: d ^= SHA1(x), order-independent accumulation;
/// - `mix(d, x)`: d = SHA1(d ^ SHA1(x)), order-dependent;
/// - per key: mix(key), mix(type as 4 big-endian bytes), the value's parts, then
///   xor("!!expire!!") if it has a TTL; folded into the database digest with `xor`;
/// - per non-empty database: mix(its number as 4 big-endian bytes) first.
/// Type codes are Redis's object types (`Value.typeCode`).
enum Digest {
    static func xor(_ digest: inout [UInt8], _ data: some Sequence<UInt8>) {
        let hash = SHA1.hash(data)
        for index in 0 ..< 20 { digest[index] ^= hash[index] }
    }

    static func mix(_ digest: inout [UInt8], _ data: some Sequence<UInt8>) {
        xor(&digest, data)
        digest = SHA1.hash(digest)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    /// DIGEST-VALUE: the value's part of a key digest, from zero.
    static func value(of entry: Entry) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        addValue(of: entry, to: &digest)
        return digest
    }

    /// Mixes in the value's type and contents, then the TTL marker. Strings and lists mix their
    /// bytes in order; sets xor each member; hashes and sorted sets xor, per member, the mix of
    /// the field and its value (a score as `%.17g`).
    private static func addValue(of entry: Entry, to digest: inout [UInt8]) {
        mix(&digest, bigEndian(entry.value.typeCode))
        switch entry.value {
        case .embedded, .integer, .raw:
            StringValues.withBytes(entry) { mix(&digest, $0) }
        case .list(let list):
            for item in list.items { item.withBytes { mix(&digest, $0) } }
        case .set(let set):
            set.forEach { member in member.withBytes { xor(&digest, $0) } }
        case .hash(let hash):
            hash.forEach { field, value in xor(&digest, pair(field, value.bytes)) }
        case .sortedSet(let sortedSet):
            sortedSet.forEach(ranks: 0 ..< sortedSet.count) { member, score in
                xor(&digest, pair(member, Array(ReplyWriter.formatDouble(score).utf8)))
                return true
            }
        }
        if entry.expireAt != 0 { xor(&digest, Array("!!expire!!".utf8)) }
    }

    /// The digest of one field and its value: mix(mix(zero, field), value).
    private static func pair(_ field: Element, _ value: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        field.withBytes { mix(&digest, $0) }
        mix(&digest, value)
        return digest
    }

    /// DEBUG DIGEST: every database at one instant.
    static func dataset(_ keyspace: Keyspace, holdsAllShards: Bool) -> [UInt8] {
        var final = [UInt8](repeating: 0, count: 20)
        keyspace.withAllShards(locking: !holdsAllShards) {
            for db in 0 ..< keyspace.databaseCount {
                var mixedDatabase = false
                for shard in keyspace.shards {
                    // Like Redis, every stored key counts, also one whose TTL passed but that is not deleted yet.
                    shard.table(db).forEach { entry in
                        if !mixedDatabase {
                            mix(&final, bigEndian(UInt32(db)))
                            mixedDatabase = true
                        }
                        var digest = [UInt8](repeating: 0, count: 20)
                        entry.withKey { mix(&digest, $0) }
                        addValue(of: entry, to: &digest)
                        xor(&final, digest)
                    }
                }
            }
        }
        return final
    }

    static func hex(_ digest: [UInt8]) -> String {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
