import Engine
@testable import Persistence
import Testing

@Suite struct CodecTests {
    @Test func crc64MatchesRedis() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xE9C6_D914_C4B8_D9CA)
        #expect(CRC64.checksum([UInt8]()) == 0)
    }

    /// Eight bytes at a time gives what the definition, a bit at a time, gives: for every
    /// length and alignment, whole or in pieces.
    @Test func crc64MatchesItsDefinition() {
        func definition(_ bytes: [UInt8]) -> UInt64 {
            var crc: UInt64 = 0
            for byte in bytes {
                crc ^= UInt64(byte)
                for _ in 0 ..< 8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
            }
            return crc
        }
        var generator = SystemRandomNumberGenerator()
        for length in 0 ..< 200 {
            let bytes = (0 ..< length).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
            #expect(CRC64.checksum(bytes) == definition(bytes))
            let cut = Int.random(in: 0 ... length, using: &generator)
            var pieces = CRC64()
            pieces.update(bytes[..<cut])
            pieces.update(bytes[cut...])
            #expect(pieces.value == definition(bytes))
        }
    }

    @Test("LZF round trip", arguments: [
        Array(repeating: UInt8(ascii: "a"), count: 1000),
        Array("abcabcabcabcabcabcabcabcabcabc hello hello hello hello world".utf8),
        (0 ..< 5000).map { UInt8(truncatingIfNeeded: $0 &* 7 % 13) },
    ])
    func lzfRoundTrip(input: [UInt8]) throws {
        let compressed = try #require(input.withUnsafeBytes { LZF.compress($0, limit: input.count - 3) })
        #expect(compressed.count < input.count)
        let restored = try compressed.withUnsafeBytes { try LZF.decompress($0, length: input.count) }
        #expect(restored == input)
    }

    /// One compressor for many strings (as a save uses it): what earlier strings left in its
    /// table never leaks into a later one's output.
    @Test func oneCompressorForManyStrings() throws {
        let compressor = LZF.Compressor()
        var generator = SystemRandomNumberGenerator()
        for round in 0 ..< 2000 {
            let alphabet = UInt8.random(in: 1 ... 4, using: &generator)
            let input = (0 ..< Int.random(in: 21 ... 300, using: &generator)).map { _ in
                UInt8(ascii: "a") + UInt8.random(in: 0 ..< alphabet, using: &generator)
            }
            guard let compressed = input.withUnsafeBytes({ compressor.compress($0, limit: input.count - 3) }).map(Array.init) else {
                #expect(alphabet > 1, "round \(round): a run of one byte always compresses")
                continue
            }
            #expect(try compressed.withUnsafeBytes { try LZF.decompress($0, length: input.count) } == input)
        }
    }

    @Test func lzfRefusesWhatDoesNotShrinkAndCorruptStreams() {
        var random = SystemRandomNumberGenerator()
        let noise = (0 ..< 256).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        #expect(noise.withUnsafeBytes { LZF.compress($0, limit: noise.count - 3) } == nil)
        // A back reference before the start, a literal run past the end, a short result.
        for (stream, length) in [([UInt8(0x20), 0x05], 10), ([UInt8(0x05), 1, 2], 6), ([UInt8(0x00), 65], 2)] {
            #expect(throws: LZF.Failure.self) { try stream.withUnsafeBytes { try LZF.decompress($0, length: length) } }
        }
    }

    @Test func lengthsAndIntegerStringsUseRedisEncodings() throws {
        var writer = RDBWriter()
        for length in [0, 63, 64, 16383, 16384, Int(UInt32.max), Int(UInt32.max) + 1] { writer.length(length) }
        #expect(writer.bytes.prefix(5) == [0x00, 0x3F, 0x40, 0x40, 0x7F])
        var reader = RDBReader(writer.bytes)
        for length in [0, 63, 64, 16383, 16384, Int(UInt32.max), Int(UInt32.max) + 1] { #expect(try reader.length() == length) }
        var strings = RDBWriter()
        for text in ["12", "-300", "70000", "007", "2147483648", "", String(repeating: "ab", count: 40)] { strings.string(text) }
        #expect(strings.bytes.prefix(2) == [0xC0, 12])
        var stringReader = RDBReader(strings.bytes)
        for text in ["12", "-300", "70000", "007", "2147483648", "", String(repeating: "ab", count: 40)] {
            #expect(try stringReader.string() == Array(text.utf8))
        }
        #expect(stringReader.isAtEnd)
    }

    /// Every value type written and read back gives the same contents.
    @Test func valuesRoundTrip() throws {
        let limits = EncodingLimits()
        let list = ListValue(.init((0 ..< 300).map { Element("item\($0)") }))
        let set = SetValue(), integers = SetValue(), sortedSet = SortedSetValue(), hash = HashValue()
        for index in 0 ..< 300 {
            set.insert(Element("m\(index)"), limits: limits)
            integers.insert(Element(index * 1000), limits: limits)
            sortedSet.set(Element("z\(index)"), score: Double(index) / 3, limits: limits)
            hash.set(Element("f\(index)"), Element(String(repeating: "v", count: index)), limits: limits)
        }
        for value in [Value.list(list), .set(set), .set(integers), .sortedSet(sortedSet), .hash(hash)] {
            let entry = Entry.make(key: UnsafeRawBufferPointer(start: nil, count: 0), value: value, expireAt: 0, access: 0)
            let payload = RDBWriter.dumpPayload(of: entry)
            let body = try #require(DumpCommands.verifiedBody(payload))
            var reader = RDBReader(body)
            guard case .collection(let loaded) = try reader.value(type: try reader.byte(), limits: limits) else {
                Issue.record("not a collection")
                continue
            }
            #expect(reader.isAtEnd)
            #expect(describe(loaded) == describe(value))
        }
    }

    /// Flipped, cut and random bytes in a payload: an error, never a trap or a huge allocation.
    @Test func corruptPayloadsAreRefused() {
        let limits = EncodingLimits()
        let hash = HashValue()
        for index in 0 ..< 20 { hash.set(Element("f\(index)"), Element("value \(index)"), limits: limits) }
        let entry = Entry.make(key: UnsafeRawBufferPointer(start: nil, count: 0), value: .hash(hash), expireAt: 0, access: 0)
        let payload = RDBWriter.dumpPayload(of: entry)
        var random = SystemRandomNumberGenerator()
        for round in 0 ..< 2000 {
            var body = Array(payload.dropLast(10))
            if round % 3 == 0 {
                body = Array(body.prefix(Int.random(in: 0 ..< body.count, using: &random)))
            } else {
                for _ in 0 ..< 1 + round % 4 { body[Int.random(in: 0 ..< body.count, using: &random)] = UInt8.random(in: 0 ... 255, using: &random) }
            }
            var reader = RDBReader(body)
            _ = try? reader.value(type: (try? reader.byte()) ?? 0, limits: limits)
        }
        // Compact encodings with lying headers.
        for blob in [[UInt8](), [0xFF], [10, 0, 0, 0, 1, 0, 0xFF], [11, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0xFF]] {
            #expect(throws: RDBError.self) { try CompactEncodings.listpack(blob) }
            #expect(throws: RDBError.self) { try CompactEncodings.ziplist(blob) }
            #expect(throws: RDBError.self) { try CompactEncodings.intset(blob) }
        }
    }

    private func describe(_ value: Value) -> [String] {
        switch value {
        case .list(let list): return list.items.map { String(decoding: $0.bytes, as: UTF8.self) }
        case .set(let set): return set.members.map { String(decoding: $0.bytes, as: UTF8.self) }.sorted()
        case .sortedSet(let sortedSet):
            return sortedSet.members(ranks: 0 ..< sortedSet.count).map { "\(String(decoding: $0.member.bytes, as: UTF8.self))=\($0.score)" }
        case .hash(let hash):
            var pairs: [String] = []
            hash.forEach { pairs.append("\(String(decoding: $0.bytes, as: UTF8.self))=\(String(decoding: $1.bytes, as: UTF8.self))") }
            return pairs.sorted()
        default: return []
        }
    }
}
