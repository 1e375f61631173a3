@testable import Engine
import TestSupport
import Testing

/// The collection values against plain Swift references, under random operations, across
/// their compact and large encodings.
@Suite struct CollectionTests {
    func element(_ text: String) -> Element { Element(text) }

    @Test func elementsCompareAsBytesAcrossTheInlineBoundary() {
        #expect(MemoryLayout<Element>.stride == 24)
        let texts = ["", "a", "ab", String(repeating: "x", count: 21), String(repeating: "x", count: 22), String(repeating: "x", count: 23),
                     String(repeating: "x", count: 22) + "a", String(repeating: "x", count: 21) + "\u{0}", "b", "\u{0}", "zz"]
        for a in texts {
            #expect(Element(a).bytes == Array(a.utf8))
            #expect(Element(a).count == a.utf8.count)
            for b in texts {
                #expect((Element(a) == Element(b)) == (a == b))
                #expect((Element(a) < Element(b)) == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)))
                if a == b { #expect(Element(a).hashValue == Element(b).hashValue) }
            }
        }
        #expect(Element(12345) == Element("12345"))
        #expect(Element(-7) == Element("-7"))
    }

    @Test func elementDictionaryMatchesADictionary() {
        var generator = SeededGenerator()
        var dictionary = ElementDictionary<Int>()
        var reference: [String: Int] = [:]
        for step in 0 ..< 20_000 {
            let key = "member-\(Int.random(in: 0 ..< 800, using: &generator))"
            if Bool.random(using: &generator) {
                #expect(dictionary.updateValue(step, forKey: element(key)) == reference.updateValue(step, forKey: key))
            } else {
                #expect(dictionary.removeValue(forKey: element(key)) == reference.removeValue(forKey: key))
            }
            #expect(dictionary.count == reference.count)
        }
        for (key, value) in reference { #expect(dictionary[element(key)] == value) }
        #expect(Set(dictionary.entries.map { String(decoding: $0.key.bytes, as: UTF8.self) }) == Set(reference.keys))
    }

    /// Ranks, scores and order through inserts, moves and removals, in both encodings.
    @Test(arguments: [8, 128])
    func sortedSetMatchesASortedReference(listpackEntries: Int) {
        var generator = SeededGenerator()
        let limits = EncodingLimits()
        limits.sortedSetEntries.store(listpackEntries, ordering: .relaxed)
        let set = SortedSetValue()
        var reference: [String: Double] = [:]
        for _ in 0 ..< 3000 {
            let member = "m\(Int.random(in: 0 ..< 300, using: &generator))"
            if Int.random(in: 0 ..< 3, using: &generator) == 0 {
                #expect(set.remove(element(member)) == (reference.removeValue(forKey: member) != nil))
            } else {
                let score = Double(Int.random(in: -20 ..< 20, using: &generator)) / 2
                #expect(set.set(element(member), score: score, limits: limits) == (reference[member] == nil))
                reference[member] = score
            }
        }
        let ordered = reference.sorted { $0.value < $1.value || ($0.value == $1.value && Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8))) }
        #expect(set.count == ordered.count)
        // Once converted, a sorted set stays a skip list even if it shrinks back (as in Redis).
        if ordered.count > listpackEntries { #expect(set.encodingName == "skiplist") }
        let members = set.members(ranks: 0 ..< set.count)
        #expect(members.map { String(decoding: $0.member.bytes, as: UTF8.self) } == ordered.map(\.key))
        #expect(members.map(\.score) == ordered.map(\.value))
        #expect(set.members(ranks: 0 ..< set.count, reverse: true).map(\.score) == ordered.map(\.value).reversed())
        for (rank, pair) in ordered.enumerated() {
            #expect(set.rank(of: element(pair.key)) == rank)
            #expect(set.score(of: element(pair.key)) == pair.value)
        }
        let belowZero = set.countPrefix { _, score in score < 0 }
        #expect(belowZero == ordered.filter { $0.value < 0 }.count)
        let middle = set.members(ranks: 5 ..< 9)
        #expect(middle.map(\.score) == Array(ordered.map(\.value)[5 ..< min(9, ordered.count)]))
    }

    @Test func sortedSetConvertsPastTheLimits() {
        let limits = EncodingLimits()
        let set = SortedSetValue()
        for index in 0 ..< 128 { set.set(Element("m\(index)"), score: Double(index), limits: limits) }
        #expect(set.encodingName == "listpack")
        set.set(Element("one-more"), score: 0, limits: limits)
        #expect(set.encodingName == "skiplist")
        let long = SortedSetValue()
        long.set(Element(String(repeating: "x", count: 65)), score: 1, limits: limits)
        #expect(long.encodingName == "skiplist")
        let copy = set.copy(limits: limits)
        set.remove(Element("m5"))
        #expect(copy.count == 129)
        #expect(set.count == 128)
    }

    @Test func setsAndHashesConvertPastTheLimits() {
        let limits = EncodingLimits()
        let set = SetValue()
        for index in 0 ..< 512 { set.insert(Element(index), limits: limits) }
        #expect(set.encodingName == "intset")
        set.insert(Element(512), limits: limits)
        #expect(set.encodingName == "hashtable")
        #expect(set.count == 513)
        #expect(set.contains(Element("300")))

        let words = SetValue()
        words.insert(Element("word"), limits: limits)
        #expect(words.encodingName == "hashtable")

        let hash = HashValue()
        for index in 0 ..< 512 { hash.set(Element("f\(index)"), Element("v"), limits: limits) }
        #expect(hash.encodingName == "listpack")
        hash.set(Element("f512"), Element("v"), limits: limits)
        #expect(hash.encodingName == "hashtable")
        #expect(hash[Element("f7")] == Element("v"))
        #expect(hash.remove(Element("f7")))
        #expect(hash[Element("f7")] == nil)
        #expect(hash.count == 512)
    }

    /// The copy-on-write trap: a list reached through its entry must grow in place.
    @Test func listPushesStayConstantTime() {
        let list = ListValue()
        let value = Value.list(list)
        let clock = ContinuousClock()
        func pushes(_ count: Int) -> Duration {
            clock.measure {
                for index in 0 ..< count {
                    guard let reached = value.list else { return }
                    if index % 2 == 0 { reached.items.append(Element(index)) } else { reached.items.prepend(Element(index)) }
                }
            }
        }
        let first = pushes(50_000)
        for _ in 0 ..< 8 { _ = pushes(50_000) }
        let last = pushes(50_000)
        #expect(list.count == 500_000)
        // A copy per push would make the last batch ~10 times slower than the first.
        #expect(last < first * 4)
    }
}
