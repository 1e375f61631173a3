import Engine

/// MEMORY USAGE and MEMORY HELP.
///
/// MEMORY USAGE answers with Needletail's own measured bytes for the key (`MemoryUsage`), not
/// Redis's figure for the same value: the layouts differ.
enum MemoryCommands {
    static let table: [Command] = [
        Command("memory", arity: -2, group: "server", since: "4.0.0", summary: "Reports on the server's memory.", subcommands: [
            Command("usage", arity: -3, flags: [.readonly], keys: [.key(2, "RO")], group: "server", since: "4.0.0",
                    summary: "The bytes a key and its value take.", handler: usage),
            Command("help", arity: 2, flags: [.loading, .stale], group: "server", since: "4.0.0",
                    summary: "Lists the MEMORY subcommands.", handler: help),
        ]),
    ]

    /// Elements sampled in a large collection when SAMPLES is not given (Redis's default).
    static let defaultSamples = 5

    static func usage(_ c: inout CommandContext) {
        var samples = defaultSamples
        var index = 3
        while index < c.argumentCount {
            guard c.argument(index, is: "SAMPLES"), index + 1 < c.argumentCount else { return c.error(Errors.syntax) }
            guard let value = c.integerOrReply(index + 1) else { return }
            guard value >= 0 else { return c.error(Errors.syntax) }
            samples = value
            index += 2
        }
        guard let entry = c.database.storedEntry(c.key(2)) else { return c.reply.null() }
        c.reply.integer(MemoryUsage.bytes(of: entry, samples: samples))
    }

    static func help(_ c: inout CommandContext) {
        Help.reply(&c, command: "MEMORY", lines: [
            "USAGE <key> [SAMPLES <count>]",
            "    The bytes <key> and its value take; a large collection is estimated from <count>",
            "    of its members (5 by default, 0 for all of them).",
        ])
    }
}
