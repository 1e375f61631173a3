import RESP
import TestSupport
import Testing

/// Random pipelines and random damage, fed to the parser in random pieces: whatever the input,
/// the parser never traps, and how the bytes arrive never changes what it makes of them.
@Suite struct RequestParserPropertyTests {
    /// What a parser makes of `input` delivered in `pieces` (cut points in ascending order):
    /// the requests it found, then its error or nil.
    private func outcome(_ input: [UInt8], pieces: [Int]) -> (requests: [[[UInt8]]], error: ProtocolError?) {
        var parser = RequestParser()
        var buffer: [UInt8] = []
        var requests: [[[UInt8]]] = []
        var delivered = 0
        for cut in pieces + [input.count] where cut >= delivered {
            buffer += input[delivered ..< cut]
            delivered = cut
            while !buffer.isEmpty {
                switch buffer.withUnsafeBytes({ parser.parse($0) }) {
                case .incomplete:
                    break
                case .skipped(let consumed):
                    buffer.removeFirst(consumed)
                    continue
                case .request(let consumed, let inline):
                    let base = inline ? parser.inlineBytes : buffer
                    requests.append(parser.spans.map { Array(base[$0.start ..< $0.start + $0.count]) })
                    buffer.removeFirst(consumed)
                    continue
                case .failure(let error):
                    return (requests, error)
                }
                break
            }
        }
        return (requests, nil)
    }

    private func randomArgument(_ generator: inout SeededGenerator) -> [UInt8] {
        let length = [0, 1, 3, 8, 40, 300].randomElement(using: &generator)!
        return (0 ..< length).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
    }

    private func randomCuts(_ count: Int, _ generator: inout SeededGenerator) -> [Int] {
        (0 ..< Int.random(in: 0 ... 6, using: &generator)).map { _ in Int.random(in: 0 ... count, using: &generator) }.sorted()
    }

    @Test func pipelinesParseToWhatWasSentWhateverThePieces() {
        var generator = SeededGenerator()
        for _ in 0 ..< 400 {
            var input: [UInt8] = []
            var sent: [[[UInt8]]] = []
            for _ in 0 ..< Int.random(in: 1 ... 8, using: &generator) {
                let arguments = (0 ..< Int.random(in: 1 ... 5, using: &generator)).map { _ in randomArgument(&generator) }
                sent.append(arguments)
                input += Array("*\(arguments.count)\r\n".utf8)
                for argument in arguments { input += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10] }
            }
            let result = outcome(input, pieces: randomCuts(input.count, &generator))
            #expect(result.error == nil)
            #expect(result.requests == sent, "seed \(generator.seed)")
        }
    }

    @Test func damagedInputNeverTrapsAndArrivalDoesNotMatter() {
        var generator = SeededGenerator()
        let valid = Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\nPING\r\nECHO \"a b\"\r\n*1\r\n$4\r\nPING\r\n".utf8)
        let insertions: [[UInt8]] = [[13, 10], [42], [36], [45], [0], Array("99999999999999999999".utf8), Array("-2".utf8),
                                     Array("2147483648".utf8), [34], [39], [92]]
        for _ in 0 ..< 3000 {
            var input = valid
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &generator) {
                let position = Int.random(in: 0 ... input.count, using: &generator)
                switch Int.random(in: 0 ..< 4, using: &generator) {
                case 0 where position < input.count: input[position] = UInt8.random(in: 0 ... 255, using: &generator)
                case 1 where position < input.count: input.remove(at: position)
                case 2: input.insert(contentsOf: insertions.randomElement(using: &generator)!, at: position)
                default: input = Array(input[..<position])
                }
            }
            let whole = outcome(input, pieces: [])
            let pieces = outcome(input, pieces: randomCuts(input.count, &generator))
            #expect(whole.requests == pieces.requests, "seed \(generator.seed)")
            #expect(whole.error == pieces.error, "seed \(generator.seed)")
        }
    }
}
