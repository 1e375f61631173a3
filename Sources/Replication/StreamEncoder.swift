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
                output.append(contentsOf: PropagatedCommand(db: command.db, "SELECT", String(command.db)).resp)
                selectedDB = command.db
            }
            output.append(contentsOf: command.resp)
        }
    }
}
