import Engine
import RESP

/// Runs one request: finds the command, checks everything Redis checks before a command runs
/// (existence, arity, the debug/auth gates), locks the shards of its keys, calls the handler
/// and counts it. Handlers never repeat these checks.
public enum Dispatcher {
    public static func execute(_ c: inout CommandContext, _ arguments: Arguments) {
        c.arguments = arguments
        let table = c.server.commands
        guard let index = table.lookup(arguments[0]) else {
            reject(&c, Errors.unknownCommand(arguments), ordinal: nil)
            return
        }
        var command = table.commands[index]
        if command.isContainer && !(arguments.count == 1 && command.handler != nil) {
            guard arguments.count >= 2 else {
                reject(&c, Errors.wrongArity(command.fullName), ordinal: command.ordinal)
                return
            }
            let name = arguments[1]
            guard let sub = command.subcommands.first(where: { name.equalsIgnoringCase(Array($0.name.utf8)) }) else {
                reject(&c, Errors.unknownSubcommand(name.text, of: command.name), ordinal: nil)
                return
            }
            command = sub
        }
        guard command.arityAccepts(arguments.count) else {
            reject(&c, Errors.wrongArity(command.fullName), ordinal: command.ordinal)
            return
        }
        if command.flags.contains(.protectedDebug) && !debugAllowed(c) {
            reject(&c, Errors.debugNotAllowed, ordinal: command.ordinal)
            return
        }
        if !c.session.authenticated && !command.flags.contains(.noAuth) {
            reject(&c, Errors.noAuth, ordinal: command.ordinal)
            return
        }
        call(command, &c)
    }

    /// Executes a checked command with its keys' shards locked, and counts it.
    static func call(_ command: Command, _ c: inout CommandContext) {
        guard let handler = command.handler else { return }
        let start = Clock.monotonicNanoseconds()
        c.failed = false
        c.now = Clock.now()
        c.session.lastCommand = command.fullName
        withKeysLocked(command, &c) { handler(&$0) }
        let elapsed = Int((Clock.monotonicNanoseconds() - start) / 1000)
        let counters = c.statistics.commands[command.ordinal]
        counters.calls.add(1)
        counters.microseconds.add(elapsed)
        if c.failed { counters.failed.add(1) }
        c.statistics.count(.commandsProcessed)
    }

    /// Locks the shards of the command's keys (in ascending order) around `body`. Commands
    /// without fixed keys take their own locks (`keyspaceWide`), or need none.
    static func withKeysLocked(_ command: Command, _ c: inout CommandContext, _ body: (inout CommandContext) -> Void) {
        let keyspace = c.server.keyspace
        if c.holdsAllShards || (command.keySpecs.isEmpty && command.keyFinder == nil) {
            body(&c)
        } else if command.hasSingleFirstKey {
            keyspace.withShard(of: Key(c.arguments[1])) { body(&c) }
        } else {
            let arguments = c.arguments
            let keys = (command.keyPositions(arguments) ?? []).map { Key(arguments[$0]) }
            if keys.isEmpty {
                body(&c)
            } else {
                keyspace.withShards(of: keys) { body(&c) }
            }
        }
    }

    static func reject(_ c: inout CommandContext, _ message: String, ordinal: Int?) {
        c.error(message)
        if let ordinal { c.statistics.commands[ordinal].rejected.add(1) }
    }

    /// `enable-debug-command`: `yes`, or `local` for connections from the loopback interface.
    static func debugAllowed(_ c: CommandContext) -> Bool {
        switch c.server.config["enable-debug-command"] {
        case "yes": return true
        case "local": return c.session.isLocal
        default: return false
        }
    }
}
