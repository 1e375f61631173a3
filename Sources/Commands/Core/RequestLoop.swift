import NIOCore
import RESP

/// One client's parse-and-dispatch loop, with no socket: it runs the complete requests at the
/// front of the bytes received and leaves the replies in `command.reply`. A connection owns
/// one and writes the replies to its socket; a replica's link to its master will own one and
/// discard them.
public struct RequestLoop {
    /// Why `run` stopped.
    public enum Stop {
        /// Every complete request ran; the rest (if any) is the start of the next one.
        case needsMoreBytes
        /// The pause gate holds the next request, left unconsumed: run again when it opens.
        case postponed
        /// The last request parked the client in a blocking command.
        case parked(BlockedClient)
        /// The last request asked for the connection to close after its reply (QUIT, a
        /// rejected HTTP request, CLIENT KILL of itself).
        case close
        /// The bytes are not RESP: the error reply is written, the connection must close.
        case protocolError(ProtocolError)
        /// The replies waiting in `command.reply` passed `flushSize`: write them, then run again.
        case replyFull
    }

    /// Replies are written out once this many bytes wait, rather than at the end of the
    /// batch: pipelined large replies stream out instead of piling up in one buffer.
    public static let flushSize = 64 << 20

    public var command: CommandContext
    /// Moved out while `run` loops: requests then borrow its spans without a retain each
    /// (through a stored property they could change under the call, so the compiler retains).
    private var parser: RequestParser?

    public init(command: CommandContext, limits: RequestParser.Limits) {
        self.command = command
        parser = RequestParser(limits: limits)
    }

    /// Runs the complete requests at the front of `buffer`, consuming each one that ran, until
    /// one makes the client wait or the bytes run out.
    public mutating func run(_ buffer: inout ByteBuffer) -> Stop {
        var parser = self.parser.take()!
        defer { self.parser = parser }
        command.beginBatch()
        command.requestStart = 0
        while buffer.readableBytes > 0 {
            let authenticated = command.session.authenticated
            switch buffer.withUnsafeReadableBytes({ parser.parse($0, authenticated: authenticated) }) {
            case .incomplete:
                return .needsMoreBytes
            case .skipped(let consumed):
                buffer.moveReaderIndex(forwardBy: consumed)
                command.requestStart += consumed
            case .request(let consumed, let inline):
                let outcome = execute(buffer, inline: inline, parser: parser)
                if case .postponed = outcome { return .postponed }
                buffer.moveReaderIndex(forwardBy: consumed)
                command.requestStart += consumed
                if command.reply.overflowed {
                    // One command's reply outgrew a reply buffer: the client is closed, as an
                    // output buffer limit closes it, rather than sent part of it.
                    command.reply.buffer.clear()
                    command.server.control?.warn("Client id=\(command.session.id) addr=\(command.session.address) closed for overcoming of output buffer limits: its reply passed \(ReplyWriter.maximumSize >> 30) GiB.")
                    return .close
                }
                switch outcome {
                case .done, .postponed:
                    if command.reply.buffer.readableBytes >= Self.flushSize { return .replyFull }
                case .parked(let client): return .parked(client)
                case .close: return .close
                }
            case .failure(let error):
                command.error(bytes: error.reply)
                return .protocolError(error)
            }
        }
        return .needsMoreBytes
    }

    /// Runs the request just parsed: its arguments point into `buffer` (or, for an inline
    /// request, into the parser's unescaped copy) and stay valid for the whole call.
    private mutating func execute(_ buffer: ByteBuffer, inline: Bool, parser: borrowing RequestParser) -> Outcome {
        parser.spans.withUnsafeBufferPointer { spans in
            if inline {
                parser.inlineBytes.withUnsafeBytes { base in
                    Dispatcher.execute(&command, Arguments(base: base, spans: spans))
                }
            } else {
                buffer.withUnsafeReadableBytes { base in
                    Dispatcher.execute(&command, Arguments(base: base, spans: spans))
                }
            }
        }
    }
}
