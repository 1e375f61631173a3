import Config
import Engine
import RESP

/// Server commands: INFO, TIME, LASTSAVE, SHUTDOWN, FUNCTION FLUSH.
///
/// Needletail has no scripting engine yet, so FUNCTION has only FLUSH (there is never a
/// library to delete) and HELP. SHUTDOWN SAVE is refused until RDB persistence exists.
enum ServerCommands {
    static let table: [Command] = [
        Command("info", arity: -1, flags: [.loading, .stale, .keyspaceWide], categories: [.dangerous],
                tips: ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], group: "server",
                summary: "Reports the server's state and statistics.", handler: info),
        Command("time", arity: 1, flags: [.loading, .stale, .fast], tips: ["nondeterministic_output"], group: "server",
                since: "2.6.0", summary: "Returns the server's time.", handler: time),
        Command("shutdown", arity: -1, flags: [.admin, .noScript, .loading, .stale, .noMulti, .allowBusy], group: "server",
                summary: "Stops the server.", handler: shutdown),
        Command("function", arity: -2, group: "scripting", since: "7.0.0", summary: "Manages function libraries.", subcommands: [
            Command("flush", arity: -2, flags: [.write, .noScript], categories: [.scripting],
                    tips: ["request_policy:all_shards", "response_policy:all_succeeded"], group: "scripting", since: "7.0.0",
                    summary: "Deletes every function library.", handler: functionFlush),
            Command("help", arity: 2, flags: [.loading, .stale], categories: [.scripting], group: "scripting", since: "7.0.0",
                    summary: "Lists the FUNCTION subcommands.", handler: functionHelp),
        ]),
    ]

    static func info(_ c: inout CommandContext) {
        let names = (1 ..< c.argumentCount).map { c.text($0) }
        c.reply.verbatim(c.server.info.text(for: names, c))
    }

    static func time(_ c: inout CommandContext) {
        let micros = c.server.clock.nanoseconds() / 1000
        c.reply.arrayHeader(2)
        c.reply.bulk(String(micros / 1_000_000))
        c.reply.bulk(String(micros % 1_000_000))
    }

    static func shutdown(_ c: inout CommandContext) {
        var request = ShutdownRequest()
        var abort = false
        for index in 1 ..< c.argumentCount {
            if c.argument(index, is: "NOSAVE") && request.save == .configured { request.save = .noSave }
            else if c.argument(index, is: "SAVE") && request.save == .configured { request.save = .save }
            else if c.argument(index, is: "NOW") { request.now = true }
            else if c.argument(index, is: "FORCE") { request.force = true }
            else if c.argument(index, is: "ABORT") { abort = true }
            else {
                c.error(Errors.syntax)
                return
            }
        }
        guard let control = c.server.control else { return }
        if abort {
            guard c.argumentCount == 2 else { return c.error(Errors.syntax) }
            return control.abortShutdown() ? c.reply.ok() : c.error(Errors.noShutdown)
        }
        // No reply unless the shutdown fails: the server exits, closing the connection.
        let client = c.parkUntilReleased { _ in false }
        control.shutdown(request, waiting: client)
    }

    static func functionFlush(_ c: inout CommandContext) {
        guard c.argumentCount <= 3 else { return c.error(bytes: Errors.subcommandSyntax(c.arguments[1], of: "function")) }
        guard c.argumentCount == 2 || c.argument(2, is: "ASYNC") || c.argument(2, is: "SYNC") else {
            c.error(Errors.functionFlushMode)
            return
        }
        // A change, as Redis counts it (and propagates it) even with no library to delete.
        c.dirty()
        c.reply.ok()
    }

    static func functionHelp(_ c: inout CommandContext) {
        Help.reply(&c, command: "FUNCTION", lines: [
            "FLUSH [ASYNC|SYNC]", "    Deletes every library (Needletail has no scripting engine, so there are none).",
        ])
    }
}
