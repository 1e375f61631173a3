import Engine
import Locks
import RESP
import Synchronization

/// One command a replica (or, later, an append-only log) runs to reproduce a write: the
/// database it runs in and its arguments, kept as the RESP array the stream carries (built
/// once, in one allocation, straight from the request when the command propagates itself).
public struct PropagatedCommand: Sendable, Equatable, CustomStringConvertible {
    public let db: Int
    /// `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
    public let resp: [UInt8]

    public init(db: Int, _ arguments: [[UInt8]]) {
        self.db = db
        resp = Self.encode(count: arguments.count, lengths: arguments.lazy.map(\.count)) { index, output in
            output.append(contentsOf: arguments[index])
        }
    }

    public init(db: Int, _ words: String...) {
        self.init(db: db, words.map { Array($0.utf8) })
    }

    /// The request being run, as it is.
    public init(db: Int, request arguments: Arguments) {
        self.db = db
        resp = Self.encode(count: arguments.count, lengths: (0 ..< arguments.count).lazy.map { arguments[$0].count }) { index, output in
            output.append(contentsOf: arguments[index])
        }
    }

    private static func encode(count: Int, lengths: some Collection<Int>,
                               _ appendArgument: (Int, inout [UInt8]) -> Void) -> [UInt8] {
        var size = 3 + decimalDigits(count)
        for length in lengths { size += 5 + decimalDigits(length) + length }
        var output: [UInt8] = []
        output.reserveCapacity(size)
        output.append(UInt8(ascii: "*"))
        appendDecimal(count, to: &output)
        for (index, length) in lengths.enumerated() {
            output.append(UInt8(ascii: "$"))
            appendDecimal(length, to: &output)
            appendArgument(index, &output)
            output.append(13)
            output.append(10)
        }
        return output
    }

    private static func decimalDigits(_ value: Int) -> Int {
        var digits = 1, rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }

    /// `value` in decimal, then CRLF.
    private static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        let start = output.count
        var rest = value
        repeat {
            output.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        output[start...].reverse()
        output.append(13)
        output.append(10)
    }

    /// The arguments, decoded again (tests and logs).
    public var arguments: [[UInt8]] {
        var result: [[UInt8]] = []
        var index = resp.firstIndex(of: 10)! + 1
        while index < resp.count {
            let lineEnd = resp[index...].firstIndex(of: 13)!
            let length = Int(String(decoding: resp[(index + 1) ..< lineEnd], as: UTF8.self))!
            result.append(Array(resp[(lineEnd + 2) ..< (lineEnd + 2 + length)]))
            index = lineEnd + 2 + length + 2
        }
        return result
    }

    public var description: String {
        "\(db): " + arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }
}

/// Where the effects of writes go. The layers above `Commands` (replication, later an AOF)
/// install sinks; `Commands` never knows what they are.
public protocol PropagationSink: AnyObject, Sendable {
    /// The effects of one command, or of one transaction, in order: already wrapped in MULTI …
    /// EXEC when there is more than one, as Redis propagates them. Called while the shards the
    /// command touched are still locked, so the sequence a sink sees is a valid serial history
    /// of the dataset (DESIGN.md §4). Returns the stream's offset after them (0 for a sink
    /// that keeps none): what WAIT waits for replicas to acknowledge.
    func propagate(_ commands: [PropagatedCommand]) -> Int64
}

/// The server's propagation point: the sinks installed, and the cheap test the dispatcher
/// makes after every command.
public final class Propagation: Sendable {
    private let sinks = Lock<[any PropagationSink]>([])
    private let active = Atomic<Bool>(false)

    init() {}

    /// Whether any sink listens: only then are propagated forms built.
    @inline(__always)
    public var isActive: Bool { active.load(ordering: .relaxed) }

    public func add(_ sink: any PropagationSink) {
        sinks.withLock { sinks in
            sinks.append(sink)
            active.store(true, ordering: .relaxed)
        }
    }

    public func remove(_ sink: any PropagationSink) {
        sinks.withLock { sinks in
            sinks.removeAll { $0 === sink }
            active.store(!sinks.isEmpty, ordering: .relaxed)
        }
    }

    @discardableResult
    func send(_ commands: [PropagatedCommand]) -> Int64 {
        guard !commands.isEmpty else { return 0 }
        var offset: Int64 = 0
        for sink in sinks.withLock({ $0 }) { offset = max(offset, sink.propagate(commands)) }
        return offset
    }
}

/// What the running command (or transaction) must propagate, gathered while it runs.
struct PendingPropagation {
    var commands: [PropagatedCommand] = []
    /// Set when the running command stated its own propagation (a rewrite, or nothing), so its
    /// own arguments are not propagated.
    var stated = false
    /// Nesting of `Dispatcher.call`: effects go out when the outermost call ends (EXEC sends its
    /// queue's itself, inside its locks).
    var depth = 0
}

extension CommandContext {
    /// States what a replica must run for this command, in place of its own arguments:
    /// Redis's deterministic rewrites (`SET … EX` as `SET … PXAT`, `SPOP` as `SREM` …). Called
    /// once per command to propagate, in order; a command that states none propagates nothing.
    public mutating func propagate(_ words: [[UInt8]], db: Int? = nil) {
        guard propagating else { return }
        takeExpirations()
        pendingPropagation.stated = true
        pendingPropagation.commands.append(PropagatedCommand(db: db ?? session.database, words))
    }

    mutating func propagate(_ words: [any Collection<UInt8>], db: Int? = nil) {
        propagate(words.map { Array($0) }, db: db)
    }

    /// The running command propagates nothing, whatever it changed.
    mutating func propagateNothing() {
        pendingPropagation.stated = true
    }

    /// The keys the running command found expired and deleted: a replica gets them as `DEL`
    /// (`UNLINK` under `lazyfree-lazy-expire`), before what the command itself propagates.
    mutating func takeExpirations() {
        guard !expirations.isEmpty else { return }
        let verb = expiryDeletion
        for expired in expirations.take() {
            pendingPropagation.commands.append(PropagatedCommand(db: expired.db, [verb, expired.key.bytes]))
        }
    }

    /// `DEL` or `UNLINK` for a key a client deleted, as `lazyfree-lazy-user-del` decides.
    var userDeletion: [UInt8] {
        Array((server.config["lazyfree-lazy-user-del"] == "yes" ? "UNLINK" : "DEL").utf8)
    }

    /// `DEL` or `UNLINK` for a key deleted because of its expiry time, as `lazyfree-lazy-expire`
    /// decides.
    var expiryDeletion: [UInt8] {
        Array((server.config["lazyfree-lazy-expire"] == "yes" ? "UNLINK" : "DEL").utf8)
    }
}
