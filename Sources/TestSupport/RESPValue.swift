/// A reply as the wire carries it, for assertions in tests.
public indirect enum RESPValue: Equatable, Sendable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8])
    case null
    case array([RESPValue])
    case nullArray
    case map([(RESPValue, RESPValue)])
    case set([RESPValue])
    case double(String)
    case boolean(Bool)
    case verbatim(format: String, text: String)
    case push([RESPValue])
    case bigNumber(String)

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simple(let a), .simple(let b)), (.error(let a), .error(let b)), (.double(let a), .double(let b)),
             (.bigNumber(let a), .bigNumber(let b)):
            return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulk(let a), .bulk(let b)): return a == b
        case (.null, .null), (.nullArray, .nullArray): return true
        case (.array(let a), .array(let b)), (.set(let a), .set(let b)), (.push(let a), .push(let b)): return a == b
        case (.map(let a), .map(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.verbatim(let f1, let t1), .verbatim(let f2, let t2)): return f1 == f2 && t1 == t2
        default: return false
        }
    }

    public static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }

    /// The text of a simple, bulk or verbatim string.
    public var text: String? {
        switch self {
        case .simple(let text), .error(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .verbatim(_, let text): text
        default: nil
        }
    }

    /// The message of an error reply; nil for any other reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    public var integerValue: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var elements: [RESPValue] {
        switch self {
        case .array(let values), .set(let values), .push(let values): values
        case .map(let pairs): pairs.flatMap { [$0.0, $0.1] }
        default: []
        }
    }

    public var description: String {
        switch self {
        case .simple(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let bytes): "$\(String(decoding: bytes, as: UTF8.self).debugDescription)"
        case .null: "(null)"
        case .nullArray: "(null array)"
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .map(let pairs): "{" + pairs.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
        case .set(let values): "~[" + values.map(\.description).joined(separator: ", ") + "]"
        case .double(let text): ",\(text)"
        case .boolean(let value): value ? "#t" : "#f"
        case .verbatim(let format, let text): "=\(format):\(text.debugDescription)"
        case .push(let values): ">[" + values.map(\.description).joined(separator: ", ") + "]"
        case .bigNumber(let text): "(\(text)"
        }
    }
}

/// Parses one reply from the front of `bytes`; nil if incomplete. Returns the bytes consumed.
public func parseReply(_ bytes: ArraySlice<UInt8>) -> (RESPValue, Int)? {
    guard let first = bytes.first else { return nil }
    let start = bytes.startIndex
    guard let lineEnd = (start ..< bytes.endIndex - 1).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }) else { return nil }
    let line = String(decoding: bytes[(start + 1) ..< lineEnd], as: UTF8.self)
    let afterLine = lineEnd + 2 - start
    func aggregate(_ count: Int, _ make: ([RESPValue]) -> RESPValue) -> (RESPValue, Int)? {
        var values: [RESPValue] = []
        var offset = afterLine
        for _ in 0 ..< count {
            guard let (value, used) = parseReply(bytes[(start + offset)...]) else { return nil }
            values.append(value)
            offset += used
        }
        return (make(values), offset)
    }
    func blob(_ make: ([UInt8]) -> RESPValue) -> (RESPValue, Int)? {
        guard let length = Int(line) else { return nil }
        if length < 0 { return (.null, afterLine) }
        guard bytes.count >= afterLine + length + 2 else { return nil }
        return (make(Array(bytes[(start + afterLine) ..< (start + afterLine + length)])), afterLine + length + 2)
    }
    switch first {
    case UInt8(ascii: "+"): return (.simple(line), afterLine)
    case UInt8(ascii: "-"): return (.error(line), afterLine)
    case UInt8(ascii: ":"): return (.integer(Int(line) ?? 0), afterLine)
    case UInt8(ascii: ","): return (.double(line), afterLine)
    case UInt8(ascii: "#"): return (.boolean(line == "t"), afterLine)
    case UInt8(ascii: "("): return (.bigNumber(line), afterLine)
    case UInt8(ascii: "_"): return (.null, afterLine)
    case UInt8(ascii: "$"): return blob { .bulk($0) }
    case UInt8(ascii: "="):
        return blob { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            return .verbatim(format: String(text.prefix(3)), text: String(text.dropFirst(4)))
        }
    case UInt8(ascii: "*"):
        guard let count = Int(line) else { return nil }
        if count < 0 { return (.nullArray, afterLine) }
        return aggregate(count) { .array($0) }
    case UInt8(ascii: "~"):
        return Int(line).flatMap { aggregate($0) { .set($0) } }
    case UInt8(ascii: ">"):
        return Int(line).flatMap { aggregate($0) { .push($0) } }
    case UInt8(ascii: "%"):
        return Int(line).flatMap { count in
            aggregate(count * 2) { values in .map(stride(from: 0, to: values.count, by: 2).map { (values[$0], values[$0 + 1]) }) }
        }
    default:
        return nil
    }
}
