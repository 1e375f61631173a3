import RESP
import Testing

/// Feeds `input` to a parser, split at `split` (the first part arrives alone, as from a short
/// read), and collects every request's arguments or the protocol error.
private func parseAll(_ input: [UInt8], split: Int, authenticated: Bool = true) -> (requests: [[String]], error: ProtocolError?) {
    var parser = RequestParser()
    var buffer: [UInt8] = []
    var requests: [[String]] = []
    for chunk in [Array(input[..<split]), Array(input[split...])] {
        buffer += chunk
        while !buffer.isEmpty {
            let outcome = buffer.withUnsafeBytes { parser.parse($0, authenticated: authenticated) }
            switch outcome {
            case .incomplete:
                break
            case .skipped(let consumed):
                buffer.removeFirst(consumed)
                continue
            case .request(let consumed, let inline):
                let base = inline ? parser.inlineBytes : Array(buffer)
                requests.append(parser.spans.map { String(decoding: base[$0.start ..< $0.start + $0.count], as: UTF8.self) })
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

/// Every way of splitting `input` in two must parse to the same result.
private func expectEverySplit(_ input: String, requests: [[String]], error: ProtocolError? = nil, authenticated: Bool = true,
                              sourceLocation: SourceLocation = #_sourceLocation) {
    let bytes = Array(input.utf8)
    for split in 0 ... bytes.count {
        let result = parseAll(bytes, split: split, authenticated: authenticated)
        #expect(result.requests == requests, "split at \(split)", sourceLocation: sourceLocation)
        #expect(result.error == error, "split at \(split)", sourceLocation: sourceLocation)
    }
}

@Suite struct RequestParserTests {
    @Test func multibulkRequests() {
        expectEverySplit("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", requests: [["GET", "k"]])
        expectEverySplit("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n",
                         requests: [["SET", "", "hello"], ["PING"]])
    }

    @Test func pipelinedMixOfInlineAndMultibulk() {
        expectEverySplit("PING\r\n*1\r\n$4\r\nPING\r\nECHO hi\n", requests: [["PING"], ["PING"], ["ECHO", "hi"]])
    }

    @Test func emptyAndNegativeCountsAreSkipped() {
        expectEverySplit("*0\r\n*-1\r\n\r\n\nPING\r\n", requests: [["PING"]])
    }

    @Test func bulkWithBinaryPayloadContainingCRLF() {
        expectEverySplit("*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", requests: [["ECHO", "a\r\nb"]])
    }

    @Test("Inline quoting as redis-cli and redis.conf use it", arguments: [
        ("ECHO \"a\\x41b\\n\\t\"\r\n", ["ECHO", "aAb\n\t"]),
        ("ECHO 'it\\'s'\r\n", ["ECHO", "it's"]),
        ("ECHO 'a\\nb'\r\n", ["ECHO", "a\\nb"]),
        ("ECHO \"\\xZZ\"\r\n", ["ECHO", "xZZ"]),
        ("ECHO a\"b\"\r\n", ["ECHO", "ab"]),
        ("ECHO \"\"\r\n", ["ECHO", ""]),
        ("   PING   \r\n", ["PING"]),
        ("SET  a   b\n", ["SET", "a", "b"]),
    ])
    func inlineQuoting(input: String, expected: [String]) {
        expectEverySplit(input, requests: [expected])
    }

    @Test("Protocol errors, worded as Redis words them", arguments: [
        ("*abc\r\n", ProtocolError.invalidMultibulkLength),
        ("*1 \r\n", .invalidMultibulkLength),
        ("*01\r\n", .invalidMultibulkLength),
        ("*+1\r\n", .invalidMultibulkLength),
        ("*3000000000\r\n", .invalidMultibulkLength),
        ("*1\r\n$abc\r\n", .invalidBulkLength),
        ("*1\r\n$-1\r\n", .invalidBulkLength),
        ("*1\r\n$\r\n", .invalidBulkLength),
        ("*1\r\n$600000000\r\n", .invalidBulkLength),
        ("*1\r\n+PING\r\n", .expectedDollar(got: UInt8(ascii: "+"))),
        ("SET \"a b\r\n", .unbalancedQuotes),
        ("ECHO \"abc\"def\r\n", .unbalancedQuotes),
    ])
    func protocolErrors(input: String, error: ProtocolError) {
        let bytes = Array(input.utf8)
        for split in 0 ... bytes.count {
            #expect(parseAll(bytes, split: split).error == error, "split at \(split)")
        }
    }

    @Test func errorMessagesMatchRedis() {
        #expect(ProtocolError.invalidMultibulkLength.message == "ERR Protocol error: invalid multibulk length")
        #expect(ProtocolError.expectedDollar(got: UInt8(ascii: "+")).message == "ERR Protocol error: expected '$', got '+'")
        #expect(ProtocolError.tooBigInlineRequest.message == "ERR Protocol error: too big inline request")
    }

    @Test func oversizedLinesWithoutNewlineFail() {
        var parser = RequestParser()
        let inline = [UInt8](repeating: UInt8(ascii: "x"), count: 70000)
        #expect(inline.withUnsafeBytes { parser.parse($0) } == .failure(.tooBigInlineRequest))
        let header = Array("*".utf8) + [UInt8](repeating: UInt8(ascii: "1"), count: 70000)
        #expect(header.withUnsafeBytes { parser.parse($0) } == .failure(.tooBigMultibulkCount))
        let bulk = Array("*1\r\n$".utf8) + [UInt8](repeating: UInt8(ascii: "1"), count: 70000)
        var second = RequestParser()
        #expect(bulk.withUnsafeBytes { second.parse($0) } == .failure(.tooBigBulkCount))
    }

    @Test func unauthenticatedClientsGetTighterLimits() {
        expectEverySplit("*11\r\n", requests: [], error: .unauthenticatedMultibulkLength, authenticated: false)
        expectEverySplit("*2\r\n$3\r\nGET\r\n$16385\r\n", requests: [], error: .unauthenticatedBulkLength, authenticated: false)
        expectEverySplit("*10\r\n", requests: [], authenticated: false)
    }

    @Test func hugeAnnouncedCountDoesNotReserveMemory() {
        var parser = RequestParser()
        let input = Array("*2000000000\r\n$4\r\nPING\r\n".utf8)
        #expect(input.withUnsafeBytes { parser.parse($0) } == .incomplete)
        #expect(parser.isMidRequest)
    }

    @Test func strictIntegers() {
        func parse(_ text: String) -> Int? { StrictInteger.parse(text) }
        #expect(parse("0") == 0)
        #expect(parse("-12") == -12)
        #expect(parse("9223372036854775807") == Int.max)
        #expect(parse("-9223372036854775808") == Int.min)
        for bad in ["", "-", "01", "-0", "+1", " 1", "1 ", "9223372036854775808", "1a"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }
}
