import Locks
import Engine
import NIOCore
import RESP
import Synchronization

/// MONITOR: the client receives a line for every command any client runs, as Redis prints it:
/// `+<seconds>.<micros> [<db> <addr>] "ARG" "ARG" ...`, after the command ran (so a
/// transaction shows its commands, then EXEC). Admin commands and requests refused before
/// running are not shown; AUTH and HELLO AUTH credentials show as `(redacted)`.
enum MonitorCommands {
    static let table: [Command] = [
        Command("monitor", arity: 1, flags: [.admin, .noScript, .loading, .stale], group: "server", since: "1.0.0",
                summary: "Streams every command the server runs.", handler: monitor),
    ]

    static func monitor(_ c: inout CommandContext) {
        c.session.flags.insert(.monitor)
        c.server.monitors.add(c.session)
        c.reply.ok()
    }
}

/// The clients in MONITOR mode, and the feed they read.
public final class Monitors: Sendable {
    private let sessions = Lock<[ClientSession]>([])
    /// How many monitors there are: the dispatcher's cheap test after every command.
    let count = Atomic<Int>(0)

    func add(_ session: ClientSession) {
        sessions.withLock { sessions in
            if !sessions.contains(where: { $0 === session }) { sessions.append(session) }
            count.store(sessions.count, ordering: .relaxed)
        }
    }

    func remove(_ session: ClientSession) {
        sessions.withLock { sessions in
            sessions.removeAll { $0 === session }
            count.store(sessions.count, ordering: .relaxed)
        }
    }

    /// Sends the line for a command that just ran.
    func feed(_ command: Command, _ c: CommandContext, microseconds: Int64) {
        var line = "\(microseconds / 1_000_000).\(String(microseconds % 1_000_000).leftPadded(to: 6)) [\(c.session.database) \(c.session.address)]"
        let redacted = Self.redactedPositions(command, c.arguments)
        for index in 0 ..< c.arguments.count {
            line += " "
            line += redacted.contains(index) ? "\"(redacted)\"" : Self.quoted(c.arguments[index])
        }
        var writer = ReplyWriter(buffer: ByteBufferAllocator().buffer(capacity: line.utf8.count + 3))
        writer.simpleString(line)
        for session in sessions.withLock({ $0 }) { session.connection?.deliver(writer.buffer) }
    }

    /// Credentials: every AUTH argument, and the two after HELLO's AUTH option.
    private static func redactedPositions(_ command: Command, _ arguments: Arguments) -> [Int] {
        switch command.name {
        case "auth":
            return Array(1 ..< arguments.count)
        case "hello":
            var index = 2
            while index < arguments.count {
                if arguments[index].equalsIgnoringCase("AUTH") { return [index + 1, index + 2].filter { $0 < arguments.count } }
                index += arguments[index].equalsIgnoringCase("SETNAME") ? 2 : 1
            }
            return []
        default:
            return []
        }
    }

    /// A double-quoted argument with `\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b` and `\xHH` escapes
    /// for every other unprintable byte (Redis's `sdscatrepr`).
    static func quoted(_ bytes: UnsafeRawBufferPointer) -> String {
        var text = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\t"): text += "\\t"
            case 0x07: text += "\\a"
            case 0x08: text += "\\b"
            case 0x20 ... 0x7e: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + String(byte, radix: 16).leftPadded(to: 2)
            }
        }
        return text + "\""
    }
}

extension String {
    /// Zero-padded on the left to `width` characters.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
