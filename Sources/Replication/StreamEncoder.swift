import Commands

/// Turns propagated commands into the bytes of the replication stream, as Redis writes them:
/// each command a RESP array of bulk strings, preceded by `SELECT <db>` whenever the database
/// differs from the last one the stream selected (and before the first command of a stream).
public struct StreamEncoder {
    /// The database the stream last selected; -1 when none yet (a new backlog, a new replica
    /// set: Redis then always sends SELECT first).
    public private(set) var selectedDB = -1

    public init() {}

    /// Forgets the selected database, so the next command is preceded by SELECT.
    public mutating func reset() {
        selectedDB = -1
    }

    public mutating func encode(_ commands: [PropagatedCommand], into output: inout [UInt8]) {
        for command in commands {
            if command.db != selectedDB {
                Self.append([Array("SELECT".utf8), Array(String(command.db).utf8)], to: &output)
                selectedDB = command.db
            }
            Self.append(command.arguments, to: &output)
        }
    }

    static func append(_ arguments: [[UInt8]], to output: inout [UInt8]) {
        output.append(UInt8(ascii: "*"))
        output.append(contentsOf: String(arguments.count).utf8)
        output.append(contentsOf: [13, 10])
        for argument in arguments {
            output.append(UInt8(ascii: "$"))
            output.append(contentsOf: String(argument.count).utf8)
            output.append(contentsOf: [13, 10])
            output.append(contentsOf: argument)
            output.append(contentsOf: [13, 10])
        }
    }
}
