/// Where one argument of a request lies, relative to the start of the bytes it was parsed from.
public struct ArgumentSpan: Sendable, Equatable {
    public var start: Int
    public var count: Int

    @inlinable
    public init(start: Int, count: Int) {
        self.start = start
        self.count = count
    }
}

/// The arguments of one request: views into bytes that stay valid while the command executes.
///
/// The views point straight into the connection's receive buffer (or, for an inline request,
/// into the parser's unescaped copy), so reading a request allocates nothing. Code that must keep
/// an argument beyond the command copies it (`Array(arguments[i])`).
public struct Arguments {
    public let base: UnsafeRawBufferPointer
    public let spans: UnsafeBufferPointer<ArgumentSpan>

    @inlinable
    public init(base: UnsafeRawBufferPointer, spans: UnsafeBufferPointer<ArgumentSpan>) {
        self.base = base
        self.spans = spans
    }

    @inlinable
    public var count: Int { spans.count }

    @inlinable
    public subscript(index: Int) -> UnsafeRawBufferPointer {
        let span = spans[index]
        return UnsafeRawBufferPointer(rebasing: base[span.start ..< span.start + span.count])
    }

    /// A copy of every argument, for requests that outlive the receive buffer (MULTI queues, blocked clients).
    public func copied() -> OwnedRequest {
        var bytes: [UInt8] = []
        var owned: [ArgumentSpan] = []
        bytes.reserveCapacity(spans.reduce(0) { $0 + $1.count })
        owned.reserveCapacity(spans.count)
        for index in 0 ..< count {
            owned.append(ArgumentSpan(start: bytes.count, count: spans[index].count))
            bytes.append(contentsOf: self[index])
        }
        return OwnedRequest(bytes: bytes, spans: owned)
    }
}

/// A request whose arguments are owned: one byte array and the spans into it.
public struct OwnedRequest: Sendable {
    public var bytes: [UInt8]
    public var spans: [ArgumentSpan]

    public init(bytes: [UInt8], spans: [ArgumentSpan]) {
        self.bytes = bytes
        self.spans = spans
    }

    /// Builds a request from whole arguments, e.g. a command the server issues itself.
    public init(_ arguments: [[UInt8]]) {
        var bytes: [UInt8] = []
        var spans: [ArgumentSpan] = []
        for argument in arguments {
            spans.append(ArgumentSpan(start: bytes.count, count: argument.count))
            bytes.append(contentsOf: argument)
        }
        self.init(bytes: bytes, spans: spans)
    }

    public var count: Int { spans.count }

    public func withArguments<R>(_ body: (Arguments) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { base in
            try spans.withUnsafeBufferPointer { spans in
                try body(Arguments(base: base, spans: spans))
            }
        }
    }
}
