/// Parses client requests — RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
/// (`GET k\r\n`) — straight out of the receive buffer, with Redis's limits and error replies.
///
/// The parser keeps its progress through a partly received multibulk request, so a request with
/// a million arguments arriving over many reads is scanned once, not once per read. The caller
/// keeps the request's first byte at offset 0 of the bytes it passes until the request is complete.
public struct RequestParser {
    /// Limits that mirror Redis's: `proto-max-bulk-len`, the inline and header line limits, and
    /// the tighter limits for clients that still have to authenticate.
    public struct Limits: Sendable {
        public var maxBulkLength: Int
        public var maxInlineLength: Int

        public init(maxBulkLength: Int = 512 * 1024 * 1024, maxInlineLength: Int = 64 * 1024) {
            self.maxBulkLength = maxBulkLength
            self.maxInlineLength = maxInlineLength
        }

        static let unauthenticatedMaxArguments = 10
        static let unauthenticatedMaxBulkLength = 16384
    }

    public enum Outcome: Equatable {
        /// A whole request was parsed from the first `consumed` bytes; its arguments are in `spans`.
        /// `inline` tells that the spans point into `inlineBytes` rather than the input.
        case request(consumed: Int, inline: Bool)
        /// Bytes that carry no request (`*0`, `*-1`, an empty inline line) were skipped.
        case skipped(consumed: Int)
        /// More bytes are needed.
        case incomplete
        /// The input is not RESP; Redis replies with the error and closes the connection.
        case failure(ProtocolError)
    }

    public var limits: Limits
    /// The arguments of the request last parsed.
    public private(set) var spans: [ArgumentSpan] = []
    /// The unescaped arguments of an inline request.
    public private(set) var inlineBytes: [UInt8] = []

    // Progress through a multibulk request.
    private var expectedArguments = 0
    private var position = 0
    private var pendingBulkLength = -1

    public init(limits: Limits = Limits()) {
        self.limits = limits
        spans.reserveCapacity(8)
    }

    /// Whether a request has been partly parsed (and its first bytes must stay in place).
    public var isMidRequest: Bool { expectedArguments > 0 }

    public mutating func parse(_ input: UnsafeRawBufferPointer, authenticated: Bool = true) -> Outcome {
        if expectedArguments == 0 {
            guard let first = input.first else { return .incomplete }
            if first != UInt8(ascii: "*") { return parseInline(input) }
            switch parseMultibulkHeader(input, authenticated: authenticated) {
            case .some(.failure(let error)): return .failure(error)
            case .some(let outcome): return outcome
            case .none: break
            }
        }
        return parseBulks(input, authenticated: authenticated)
    }

    // MARK: Multibulk

    /// Parses `*<count>\r\n`; nil means the header was read and bulks follow.
    private mutating func parseMultibulkHeader(_ input: UnsafeRawBufferPointer, authenticated: Bool) -> Outcome? {
        guard let lineEnd = Self.firstIndex(of: UInt8(ascii: "\r"), in: input, from: 1) else {
            return input.count > limits.maxInlineLength ? .failure(.tooBigMultibulkCount) : .incomplete
        }
        // Like Redis, the byte after '\r' is taken to be '\n' without looking at it.
        guard lineEnd + 2 <= input.count else { return .incomplete }
        guard let count = Self.parseInteger(input, 1 ..< lineEnd), count <= Int(Int32.max) else {
            return .failure(.invalidMultibulkLength)
        }
        if !authenticated && count > Limits.unauthenticatedMaxArguments {
            return .failure(.unauthenticatedMultibulkLength)
        }
        if count <= 0 { return .skipped(consumed: lineEnd + 2) }
        expectedArguments = count
        position = lineEnd + 2
        pendingBulkLength = -1
        // Room for one huge request is not kept for the small ones after it.
        spans.removeAll(keepingCapacity: spans.capacity <= 1024 || count > 1024)
        // Never trust the count for the reservation: a client can announce 2^31 arguments.
        spans.reserveCapacity(min(count, 1024))
        return nil
    }

    private mutating func parseBulks(_ input: UnsafeRawBufferPointer, authenticated: Bool) -> Outcome {
        while spans.count < expectedArguments {
            if pendingBulkLength < 0 {
                guard position < input.count else { return .incomplete }
                guard let lineEnd = Self.firstIndex(of: UInt8(ascii: "\r"), in: input, from: position) else {
                    return input.count - position > limits.maxInlineLength ? .failure(.tooBigBulkCount) : .incomplete
                }
                guard lineEnd + 2 <= input.count else { return .incomplete }
                let marker = input[position]
                guard marker == UInt8(ascii: "$") else { return .failure(.expectedDollar(got: marker)) }
                guard let length = Self.parseInteger(input, position + 1 ..< lineEnd),
                      length >= 0, length <= limits.maxBulkLength else {
                    return .failure(.invalidBulkLength)
                }
                if !authenticated && length > Limits.unauthenticatedMaxBulkLength {
                    return .failure(.unauthenticatedBulkLength)
                }
                pendingBulkLength = length
                position = lineEnd + 2
            }
            // The bulk's trailing CRLF is skipped unread, as Redis does.
            guard input.count - position >= pendingBulkLength + 2 else { return .incomplete }
            spans.append(ArgumentSpan(start: position, count: pendingBulkLength))
            position += pendingBulkLength + 2
            pendingBulkLength = -1
        }
        let consumed = position
        expectedArguments = 0
        position = 0
        return .request(consumed: consumed, inline: false)
    }

    // MARK: Inline

    private mutating func parseInline(_ input: UnsafeRawBufferPointer) -> Outcome {
        guard let newline = Self.firstIndex(of: UInt8(ascii: "\n"), in: input, from: 0) else {
            return input.count > limits.maxInlineLength ? .failure(.tooBigInlineRequest) : .incomplete
        }
        var lineEnd = newline
        if lineEnd > 0 && input[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        guard InlineSyntax.split(UnsafeRawBufferPointer(rebasing: input[0 ..< lineEnd]), into: &inlineBytes, spans: &spans) else {
            return .failure(.unbalancedQuotes)
        }
        return spans.isEmpty ? .skipped(consumed: newline + 1) : .request(consumed: newline + 1, inline: true)
    }

    // MARK: Helpers

    /// Where the line from `start` ends (`byte` is '\r' or '\n'). Redis finds it with `strchr`,
    /// which stops at a NUL byte: a line with a NUL before its end is never complete there (until
    /// it passes the length limit), and so it is here.
    @inline(__always)
    static func firstIndex(of byte: UInt8, in input: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < input.count {
            let found = input[index]
            if found == byte { return index }
            if found == 0 { return nil }
            index += 1
        }
        return nil
    }

    static func parseInteger(_ input: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        StrictInteger.parse(UnsafeRawBufferPointer(rebasing: input[range]))
    }
}

/// Redis's strict integer syntax (`string2ll`): optional '-', no '+', no leading zeros, no
/// spaces, fits in 64 bits. Used for protocol lengths, integer arguments and config values.
public enum StrictInteger {
    public static func parse(_ input: UnsafeRawBufferPointer) -> Int? {
        let range = 0 ..< input.count
        var index = range.lowerBound
        guard index < range.upperBound, range.count <= 20 else { return nil }
        let negative = input[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < range.upperBound else { return nil }
        if input[index] == UInt8(ascii: "0") {
            return index + 1 == range.upperBound && !negative ? 0 : nil
        }
        var value = 0
        while index < range.upperBound {
            let digit = Int(input[index]) &- 48
            guard digit >= 0 && digit <= 9 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !overflow1 && !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    public static func parse(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }
}

/// The protocol errors Redis replies with before it closes a connection.
public enum ProtocolError: Error, Equatable, Sendable {
    case invalidMultibulkLength
    case invalidBulkLength
    case unauthenticatedMultibulkLength
    case unauthenticatedBulkLength
    case tooBigMultibulkCount
    case tooBigBulkCount
    case tooBigInlineRequest
    case unbalancedQuotes
    case expectedDollar(got: UInt8)

    /// The error reply, without the leading '-' and trailing CRLF.
    public var message: String {
        switch self {
        case .invalidMultibulkLength: "ERR Protocol error: invalid multibulk length"
        case .invalidBulkLength: "ERR Protocol error: invalid bulk length"
        case .unauthenticatedMultibulkLength: "ERR Protocol error: unauthenticated multibulk length"
        case .unauthenticatedBulkLength: "ERR Protocol error: unauthenticated bulk length"
        case .tooBigMultibulkCount: "ERR Protocol error: too big mbulk count string"
        case .tooBigBulkCount: "ERR Protocol error: too big bulk count string"
        case .tooBigInlineRequest: "ERR Protocol error: too big inline request"
        case .unbalancedQuotes: "ERR Protocol error: unbalanced quotes in request"
        case .expectedDollar(let got): "ERR Protocol error: expected '$', got '\(Character(Unicode.Scalar(got)))'"
        }
    }

    /// The error reply's bytes: as `message`, but the unexpected byte is sent as it came.
    public var reply: [UInt8] {
        guard case .expectedDollar(let got) = self else { return Array(message.utf8) }
        return Array("ERR Protocol error: expected '$', got '".utf8) + [got, UInt8(ascii: "'")]
    }
}

/// The inline syntax shared by inline requests and redis.conf lines (Redis's `sdssplitargs`).
public enum InlineSyntax {
    /// Splits an inline line into arguments the way redis-cli users expect: whitespace separates,
    /// "double quotes" understand backslash escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes'
    /// understand only \', and a closing quote must be followed by whitespace or the line's end.
    public static func split(_ line: UnsafeRawBufferPointer, into inlineBytes: inout [UInt8], spans: inout [ArgumentSpan]) -> Bool {
        spans.removeAll(keepingCapacity: true)
        inlineBytes.removeAll(keepingCapacity: true)
        var index = 0
        let end = line.count
        while true {
            while index < end && isSpace(line[index]) { index += 1 }
            if index == end { return true }
            let start = inlineBytes.count
            var inDouble = false, inSingle = false, done = false
            while !done {
                if inDouble {
                    guard index < end else { return false }
                    let byte = line[index]
                    if byte == UInt8(ascii: "\\") && index + 3 < end && line[index + 1] == UInt8(ascii: "x"),
                       let high = hexValue(line[index + 2]), let low = hexValue(line[index + 3]) {
                        inlineBytes.append(high << 4 | low)
                        index += 3
                    } else if byte == UInt8(ascii: "\\") && index + 1 < end {
                        index += 1
                        inlineBytes.append(unescaped(line[index]))
                    } else if byte == UInt8(ascii: "\"") {
                        if index + 1 < end && !isSpace(line[index + 1]) { return false }
                        done = true
                    } else {
                        inlineBytes.append(byte)
                    }
                } else if inSingle {
                    guard index < end else { return false }
                    let byte = line[index]
                    if byte == UInt8(ascii: "\\") && index + 1 < end && line[index + 1] == UInt8(ascii: "'") {
                        index += 1
                        inlineBytes.append(UInt8(ascii: "'"))
                    } else if byte == UInt8(ascii: "'") {
                        if index + 1 < end && !isSpace(line[index + 1]) { return false }
                        done = true
                    } else {
                        inlineBytes.append(byte)
                    }
                } else {
                    if index == end { break }
                    let byte = line[index]
                    switch byte {
                    case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"), 0:
                        done = true
                    case UInt8(ascii: "\""): inDouble = true
                    case UInt8(ascii: "'"): inSingle = true
                    default: inlineBytes.append(byte)
                    }
                }
                if index < end { index += 1 }
            }
            spans.append(ArgumentSpan(start: start, count: inlineBytes.count - start))
        }
    }


    /// Splits a text line; nil when its quotes are unbalanced.
    public static func split(_ line: String) -> [String]? {
        var line = line
        var bytes: [UInt8] = []
        var spans: [ArgumentSpan] = []
        let ok = line.withUTF8 { split(UnsafeRawBufferPointer($0), into: &bytes, spans: &spans) }
        guard ok else { return nil }
        return spans.map { String(decoding: bytes[$0.start ..< $0.start + $0.count], as: UTF8.self) }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0d)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func unescaped(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "n"): return 0x0a
        case UInt8(ascii: "r"): return 0x0d
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "a"): return 0x07
        default: return byte
        }
    }
}
