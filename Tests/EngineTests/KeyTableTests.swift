@testable import Engine
import TestSupport
import Testing

/// Helpers: tests use `String` keys for readability; the engine sees bytes.
func withKey<R>(_ text: String, _ body: (Key) -> R) -> R {
    var text = text
    return text.withUTF8 { body(Key(UnsafeRawBufferPointer($0))) }
}

func entry(_ key: String, _ value: Int64, expireAt: Int64 = 0) -> Entry {
    var key = key
    return key.withUTF8 { Entry.make(key: UnsafeRawBufferPointer($0), value: .integer(value), expireAt: expireAt, access: 0) }
}

func keyText(_ entry: Entry) -> String {
    entry.withKey { String(decoding: $0, as: UTF8.self) }
}

@Suite struct KeyTableTests {
    @Test func matchesADictionaryUnderRandomOperations() {
        var generator = SeededGenerator()
        let table = KeyTable()
        var reference: [String: Int64] = [:]
        for step in 0 ..< 50_000 {
            let key = "k\(Int.random(in: 0 ..< 3000, using: &generator))"
            switch Int.random(in: 0 ..< 3, using: &generator) {
            case 0:
                let value = Int64(step)
                withKey(key) { k in
                    if let slot = table.find(k) { table.replace(at: slot, with: entry(key, value)) } else { table.insert(entry(key, value), hash: k.hash) }
                }
                reference[key] = value
            case 1:
                let removed = withKey(key) { k in table.find(k).map { table.remove(at: $0) } }
                #expect((removed != nil) == (reference.removeValue(forKey: key) != nil))
            default:
                let found = withKey(key) { k in table.find(k).map { table.entry(at: $0) } }
                if case .integer(let value)? = found?.value { #expect(reference[key] == value) } else { #expect(reference[key] == nil) }
            }
            #expect(table.count == reference.count)
        }
        var seen = Set<String>()
        table.forEach { seen.insert(keyText($0)) }
        #expect(seen == Set(reference.keys))
    }

    @Test func growsAndShrinks() {
        let table = KeyTable()
        for index in 0 ..< 10_000 { withKey("key\(index)") { table.insert(entry("key\(index)", Int64(index)), hash: $0.hash) } }
        #expect(table.capacity >= 10_000 * 4 / 3)
        for index in 0 ..< 9_990 { withKey("key\(index)") { k in _ = table.find(k).map { table.remove(at: $0) } } }
        #expect(table.count == 10)
        #expect(table.capacity <= 128)
        for index in 9_990 ..< 10_000 { #expect(withKey("key\(index)") { table.find($0) } != nil) }
    }

    @Test func reservedRoomTakesItsKeysWithoutGrowing() {
        let table = KeyTable()
        withKey("first") { table.insert(entry("first", 0), hash: $0.hash) }
        table.reserve(3_000)
        let reserved = table.capacity
        #expect(reserved == 4096)
        for index in 0 ..< 2_999 { withKey("key\(index)") { table.insert(entry("key\(index)", Int64(index)), hash: $0.hash) } }
        #expect(table.capacity == reserved)
        #expect(withKey("first") { table.find($0) } != nil)
        #expect((0 ..< 2_999).allSatisfy { index in withKey("key\(index)") { table.find($0) } != nil })
        table.reserve(10)
        #expect(table.capacity == reserved)
        #expect(withKey("key7") { !table.insertIfAbsent(entry("key7", 99), key: $0) })
        let kept = withKey("key7") { table.find($0).map { table.entry(at: $0).value } }
        if case .integer(let value) = kept { #expect(value == 7) } else { Issue.record("key7 lost its value") }
        #expect(withKey("new") { table.insertIfAbsent(entry("new", 5), key: $0) })
        #expect(table.count == 3_001)
    }

    /// An image takes no reference per entry: what the live table lets go of while the image
    /// is attached (removed, replaced, the whole table dropped) lives on in the image until
    /// the image goes; an entry the image holds is never rewritten in place.
    @Test func anImageKeepsWhatTheLiveTableLetsGo() {
        weak var removed: Entry?, replaced: Entry?, dropped: Entry?, later: Entry?
        var image: KeyTable?
        do {
            let live = KeyTable()
            for name in ["removed", "replaced", "dropped", "kept"] { withKey(name) { live.insert(entry(name, 1), hash: $0.hash) } }
            removed = withKey("removed") { live.entry(at: live.find($0)!) }
            replaced = withKey("replaced") { live.entry(at: live.find($0)!) }
            dropped = withKey("dropped") { live.entry(at: live.find($0)!) }
            image = live.sharingEntries()
            withKey("removed") { _ = live.remove(at: live.find($0)!) }
            withKey("replaced") { live.replace(at: live.find($0)!, with: entry("replaced", 2)) }
            #expect(withKey("kept") { !live.overwrite(at: live.find($0)!, with: .integer(3), embedding: nil, expireAt: 0, access: 0) })
            withKey("later") { live.insert(entry("later", 4), hash: $0.hash) }
            later = withKey("later") { live.entry(at: live.find($0)!) }
            withKey("later") { _ = live.remove(at: live.find($0)!) }
            #expect(later == nil)  // never in the image: freed at once
        }
        // The live table is gone; the image still reads every entry as it was.
        #expect(removed != nil && replaced != nil && dropped != nil)
        var values: [String: Int64] = [:]
        image?.forEach { entry in if case .integer(let value) = entry.value { values[keyText(entry)] = value } }
        #expect(values == ["removed": 1, "replaced": 1, "dropped": 1, "kept": 1])
        image = nil
        #expect(removed == nil && replaced == nil && dropped == nil)
    }

    @Test func entriesAreFreedWithTheTable() {
        weak var observed: Entry?
        do {
            let table = KeyTable()
            let made = entry("gone", 1)
            observed = made
            withKey("gone") { table.insert(made, hash: $0.hash) }
        }
        #expect(observed == nil)
    }

    @Test func ttlCountIsKept() {
        let table = KeyTable()
        withKey("a") { table.insert(entry("a", 1, expireAt: 100), hash: $0.hash) }
        withKey("b") { table.insert(entry("b", 1), hash: $0.hash) }
        #expect(table.volatileCount == 1)
        withKey("b") { k in table.setExpiry(at: table.find(k)!, 50) }
        #expect(table.volatileCount == 2)
        withKey("a") { k in table.replace(at: table.find(k)!, with: entry("a", 2)) }
        #expect(table.volatileCount == 1)
        withKey("b") { k in _ = table.remove(at: table.find(k)!) }
        #expect(table.volatileCount == 0)
    }

    @Test func overwriteRewritesOnlyAnUnsharedEntryWithRoom() {
        let table = KeyTable()
        withKey("k") { table.insert(entry("k", 1, expireAt: 100), hash: $0.hash) }
        let slot = withKey("k") { table.find($0)! }
        let original = ObjectIdentifier(table.entry(at: slot))
        #expect(table.overwrite(at: slot, with: .integer(2), embedding: nil, expireAt: 0, access: 7))
        #expect(ObjectIdentifier(table.entry(at: slot)) == original)
        #expect(table.volatileCount == 0)
        if case .integer(let value) = table.entry(at: slot).value { #expect(value == 2) } else { Issue.record("not an integer") }
        #expect(table.entry(at: slot).access == 7)
        #expect(keyText(table.entry(at: slot)) == "k")

        // Bytes beyond the allocation: the caller must replace the entry.
        // (Far beyond: allocators round sizes up differently, a sanitizer's more than most.)
        let long = [UInt8](repeating: 120, count: 4000)
        let fitted = long.withUnsafeBytes { table.overwrite(at: slot, with: .embedded(4000), embedding: $0, expireAt: 5, access: 0) }
        #expect(!fitted)
        #expect(table.volatileCount == 0)

        // An entry someone else holds is left as it is.
        func overwriteWhileHeld() {
            let held = table.entry(at: slot)
            #expect(!table.overwrite(at: slot, with: .integer(3), embedding: nil, expireAt: 9, access: 0))
            if case .integer(let value) = held.value { #expect(value == 2) } else { Issue.record("changed under its holder") }
        }
        overwriteWhileHeld()

        // Bytes within the allocation's rounding (how much there is depends on the allocator).
        let short = [UInt8]("ab".utf8)
        let fits = table.entry(at: slot).capacity >= 1 + short.count
        #expect(short.withUnsafeBytes { table.overwrite(at: slot, with: .embedded(2), embedding: $0, expireAt: 9, access: 0) } == fits)
        if fits {
            #expect(table.volatileCount == 1)
            #expect(table.entry(at: slot).withEmbedded { Array($0) } == short)
        }
    }

    @Test func storeStringDeletesAnExpiredKeyFirst() {
        let keyspace = Keyspace(databases: 1)
        let early = Database(keyspace: keyspace, index: 0, now: 100)
        withKey("t") { k in keyspace.withShard(of: k) { early.store(k, entry("t", 1, expireAt: 200)) } }
        let late = Database(keyspace: keyspace, index: 0, now: 300)
        #expect(withKey("t") { k in keyspace.withShard(of: k) { late.storeString(k, .integer(5), embedding: nil, expireAt: 0) } })
        #expect(keyspace.expiredKeys.load(ordering: .relaxed) == 1)
        #expect(!withKey("t") { k in keyspace.withShard(of: k) { late.storeString(k, .integer(6), embedding: nil, expireAt: 0) } })
        #expect(late.count().keys == 1)
    }

    @Test func anOverwrittenKeyKeepsItsLFUCounter() {
        let keyspace = Keyspace(databases: 1)
        keyspace.usesLFU.store(true, ordering: .relaxed)
        let db = Database(keyspace: keyspace, index: 0, now: 1000)
        let frequent = AccessTracking.initialStamp(now: 1000, lfu: true) & ~0xFF | 40
        withKey("k") { k in keyspace.withShard(of: k) { _ = db.store(k, entry("k", 1)) } }
        withKey("k") { k in keyspace.withShard(of: k) { db.lookup(k)!.touch(frequent) } }
        withKey("k") { k in keyspace.withShard(of: k) { _ = db.storeString(k, .integer(2), embedding: nil, expireAt: 0) } }
        #expect(withKey("k") { k in keyspace.withShard(of: k) { db.lookup(k)!.access & 0xFF } } >= 40)
        withKey("k") { k in keyspace.withShard(of: k) { _ = db.store(k, entry("k", 3)) } }
        #expect(withKey("k") { k in keyspace.withShard(of: k) { db.lookup(k)!.access & 0xFF } } >= 40)
    }

    @Test func expirySweepRemovesOnlyExpired() {
        let table = KeyTable()
        for index in 0 ..< 1000 {
            withKey("k\(index)") { table.insert(entry("k\(index)", 0, expireAt: index % 2 == 0 ? 10 : 1000), hash: $0.hash) }
        }
        var removed = 0
        var sweep = ExpirySweep()
        repeat {
            sweep = table.sweepExpired(now: 500, budget: 64) { _ in removed += 1 }
        } while table.count > 500
        #expect(removed == 500)
        table.forEach { #expect($0.expireAt == 1000) }
        _ = sweep
    }
}

@Suite struct KeyspaceScanTests {
    /// A key present for the whole scan is returned at least once, however the tables change size.
    @Test func scanReturnsEveryKeyPresentThroughoutWhileTablesResize() {
        let keyspace = Keyspace(databases: 1)
        let db = Database(keyspace: keyspace, index: 0, now: 1)
        let stable = (0 ..< 2000).map { "stable:\($0)" }
        for key in stable { withKey(key) { k in keyspace.withShard(of: k) { db.store(k, entry(key, 1)) } } }
        var seen = Set<String>()
        var cursor: UInt64 = 0
        var round = 0
        repeat {
            cursor = db.scan(cursor: cursor, count: 50) { seen.insert(keyText($0)) }
            round += 1
            // Churn: grow by adding keys, then shrink by removing them, between steps.
            let churn = (0 ..< 400).map { "churn:\(round):\($0)" }
            if round % 2 == 1 {
                for key in churn { withKey(key) { k in keyspace.withShard(of: k) { db.store(k, entry(key, 1)) } } }
            } else {
                for key in (0 ..< 400).map({ "churn:\(round - 1):\($0)" }) {
                    withKey(key) { k in keyspace.withShard(of: k) { _ = db.remove(k) } }
                }
            }
        } while cursor != 0
        #expect(Set(stable).isSubset(of: seen))
    }

    @Test func flushSwapAndCount() {
        let keyspace = Keyspace(databases: 3)
        let db0 = Database(keyspace: keyspace, index: 0, now: 1)
        for index in 0 ..< 100 {
            withKey("k\(index)") { k in keyspace.withShard(of: k) { db0.store(k, entry("k\(index)", 1, expireAt: index < 10 ? 5 : 0)) } }
        }
        #expect(db0.count().keys == 100)
        #expect(db0.count().volatile == 10)
        db0.swap(0, 2)
        #expect(db0.count().keys == 0)
        #expect(db0.with(index: 2).count().keys == 100)
        let dropped = db0.with(index: 2).flush()
        #expect(dropped.reduce(0) { $0 + $1.count } == 100)
        #expect(db0.with(index: 2).count().keys == 0)
    }

    @Test func lookupHidesExpiredKeysAndDeletesThemOnlyWhenAllowed() {
        let keyspace = Keyspace(databases: 1)
        let early = Database(keyspace: keyspace, index: 0, now: 100)
        withKey("t") { k in keyspace.withShard(of: k) { early.store(k, entry("t", 1, expireAt: 200)) } }
        let late = Database(keyspace: keyspace, index: 0, now: 300)
        keyspace.hold(.replica)
        #expect(withKey("t") { k in keyspace.withShard(of: k) { late.lookup(k) } } == nil)
        #expect(late.count().keys == 1)
        keyspace.release(.replica)
        #expect(withKey("t") { k in keyspace.withShard(of: k) { late.lookup(k) } } == nil)
        #expect(late.count().keys == 0)
        #expect(keyspace.expiredKeys.load(ordering: .relaxed) == 1)
    }

    @Test func expiryHoldsAreIndependent() {
        let keyspace = Keyspace(databases: 1)
        keyspace.hold(.replica)
        keyspace.hold(.paused)
        keyspace.release(.paused)
        // A pause ending must not let a replica expire keys on its own clock.
        #expect(!keyspace.deletesExpiredKeys)
        keyspace.release(.replica)
        #expect(keyspace.deletesExpiredKeys)
    }

    @Test func randomKeyFindsLiveKeys() {
        let keyspace = Keyspace(databases: 1)
        let db = Database(keyspace: keyspace, index: 0, now: 1)
        #expect(db.randomKey() == nil)
        withKey("only") { k in keyspace.withShard(of: k) { db.store(k, entry("only", 1)) } }
        #expect(db.randomKey() == Array("only".utf8))
    }

    /// One key in twenty expired: at the least effort a cycle stops once it has judged that
    /// share tolerable (under 10%); at the most (1% tolerated) it sweeps on and takes them all.
    @Test func activeExpireEffortDecidesHowMuchStalenessACycleTolerates() {
        func removed(effort: Int) -> Int {
            let keyspace = Keyspace(databases: 1)
            let db = Database(keyspace: keyspace, index: 0, now: 1)
            for index in 0 ..< 20_000 {
                withKey("k\(index)") { k in
                    keyspace.withShard(of: k) { db.store(k, entry("k\(index)", 1, expireAt: index % 20 == 0 ? 10 : 1 << 50)) }
                }
            }
            var count = 0
            ActiveExpiry(keyspace: keyspace).run(now: 20, hz: 1, effort: effort) { _, _ in count += 1 }
            return count
        }
        #expect(removed(effort: 1) < 500)
        #expect(removed(effort: 10) == 1000)
    }

    @Test func activeExpiryCycleDeletesExpiredKeys() {
        let keyspace = Keyspace(databases: 2)
        let db = Database(keyspace: keyspace, index: 1, now: 1)
        for index in 0 ..< 500 { withKey("e\(index)") { k in keyspace.withShard(of: k) { db.store(k, entry("e\(index)", 1, expireAt: 10)) } } }
        var cursor = 0
        var removed = 0
        for _ in 0 ..< 100 where db.count().keys > 0 {
            removed += keyspace.expireStep(now: 20, budget: 4096, cursor: &cursor).expired
        }
        #expect(removed == 500)
        #expect(db.count().keys == 0)
    }
}
