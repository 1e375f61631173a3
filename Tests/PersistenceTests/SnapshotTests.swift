import Commands
import Engine
@testable import Persistence
import Testing

/// The forkless snapshot in process: an image of the keyspace at its instant, whatever
/// changes after it, loaded back exactly.
@Suite struct SnapshotTests {
    private func store(_ keyspace: Keyspace, db: Int = 0, _ key: String, _ value: String, expireAt: Int64 = 0) {
        Array(key.utf8).withUnsafeBytes { bytes in
            let key = Key(bytes)
            keyspace.withShard(of: key) {
                Database(keyspace: keyspace, index: db, now: 0).store(key, StringValues.entry(key: key, value: Array(value.utf8), expireAt: expireAt, access: 0))
            }
        }
    }

    private func value(_ keyspace: Keyspace, db: Int = 0, _ key: String) -> String? {
        Array(key.utf8).withUnsafeBytes { bytes in
            let key = Key(bytes)
            return keyspace.withShard(of: key) {
                Database(keyspace: keyspace, index: db, now: 0).lookup(key).map { String(decoding: StringValues.bytes($0), as: UTF8.self) }
            }
        }
    }

    private func file(of snapshot: RDBSnapshot) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try snapshot.write { bytes.append(contentsOf: $0) }
        return bytes
    }

    @Test func changesAfterTheInstantStayOutOfTheImage() throws {
        let keyspace = Keyspace(databases: 16)
        for index in 0 ..< 5000 { store(keyspace, "key:\(index)", "before") }
        store(keyspace, db: 9, "elsewhere", "nine", expireAt: 4_000_000_000_000)
        let snapshot = RDBSnapshot.begin(keyspace, options: RDBSnapshot.Options(), now: 1_000)!
        // Every key changed and new keys added before the image is written.
        for index in 0 ..< 5000 { store(keyspace, "key:\(index)", "after") }
        for index in 0 ..< 100 { store(keyspace, "new:\(index)", "after") }
        let bytes = try file(of: snapshot)
        let loaded = Keyspace(databases: 16)
        let summary = try RDBLoader.load(bytes, into: loaded, now: 1_000, skipExpired: true)
        #expect(summary.keysLoaded == 5001)
        #expect(summary.aux["redis-ver"] == "7.0.15")
        #expect((0 ..< 5000).allSatisfy { value(loaded, "key:\($0)") == "before" })
        #expect(value(loaded, "new:0") == nil)
        #expect(value(loaded, db: 9, "elsewhere") == "nine")
        // The snapshot let go of every shard: nothing more is captured.
        #expect(value(keyspace, "key:1") == "after")
    }

    /// A table keeps one image: a second snapshot waits for the first to be written (a BGSAVE
    /// during a replica's full sync), and a cancelled one frees the keyspace once only.
    @Test func oneSnapshotAtATime() throws {
        let keyspace = Keyspace(databases: 16)
        for index in 0 ..< 100 { store(keyspace, "key:\(index)", "first") }
        let first = RDBSnapshot.begin(keyspace, options: RDBSnapshot.Options(), now: 1_000)!
        #expect(RDBSnapshot.begin(keyspace, options: RDBSnapshot.Options(), now: 1_000) == nil)
        for index in 0 ..< 100 { store(keyspace, "key:\(index)", "second") }
        let bytes = try file(of: first)
        let second = RDBSnapshot.begin(keyspace, options: RDBSnapshot.Options(), now: 1_000)!
        first.cancel()  // late: must not end the capture `second` began
        #expect(RDBSnapshot.begin(keyspace, options: RDBSnapshot.Options(), now: 1_000) == nil)
        let later = try file(of: second)
        let loaded = Keyspace(databases: 16), loadedLater = Keyspace(databases: 16)
        _ = try RDBLoader.load(bytes, into: loaded, now: 1_000, skipExpired: true)
        _ = try RDBLoader.load(later, into: loadedLater, now: 1_000, skipExpired: true)
        #expect(value(loaded, "key:7") == "first" && value(loadedLater, "key:7") == "second")
        second.cancel()
        #expect(RDBSnapshot.begin(keyspace, options: RDBSnapshot.Options(), now: 1_000) != nil)
    }

    @Test func damagedFilesAreRefusedWholeAndLoadNothing() throws {
        let keyspace = Keyspace(databases: 16)
        for index in 0 ..< 300 { store(keyspace, "key:\(index)", "value \(index)") }
        let bytes = try file(of: RDBSnapshot.begin(keyspace, options: RDBSnapshot.Options(), now: 1_000)!)
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x20
        for damaged in [Array(bytes.prefix(bytes.count - 9)), Array(bytes.prefix(bytes.count / 2)), flipped, Array("REDIS0011".utf8) + bytes.dropFirst(9)] {
            let loaded = Keyspace(databases: 16)
            #expect(throws: RDBLoader.Failure.self) { try RDBLoader.load(damaged, into: loaded, now: 1_000, skipExpired: true) }
            #expect(value(loaded, "key:1") == nil)
        }
    }
}
