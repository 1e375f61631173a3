import Engine
import RESP

/// COMMAND and its subcommands COUNT, LIST, INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, HELP — all
/// derived from the command table, so what they report is what the dispatcher enforces.
///
/// COMMAND DOCS reports each command's summary, version and group; it has no per-argument
/// documentation, and its key specs carry no notes.
enum IntrospectionCommands {
    static let table: [Command] = [
        Command("command", arity: -1, flags: [.loading, .stale], categories: [.connection], tips: ["nondeterministic_output_order"],
                group: "server", since: "2.8.13", summary: "Describes the server's commands.", subcommands: [
                    Command("count", arity: 2, flags: [.loading, .stale], categories: [.connection], group: "server", since: "2.8.13",
                            summary: "Counts the commands.", handler: count),
                    Command("list", arity: -2, flags: [.loading, .stale], categories: [.connection],
                            tips: ["nondeterministic_output_order"], group: "server", since: "7.0.0",
                            summary: "Names the commands, optionally filtered.", handler: list),
                    Command("info", arity: -2, flags: [.loading, .stale], categories: [.connection],
                            tips: ["nondeterministic_output_order"], group: "server", since: "2.8.13",
                            summary: "Describes commands: arity, flags, keys.", handler: info),
                    Command("docs", arity: -2, flags: [.loading, .stale], categories: [.connection],
                            tips: ["nondeterministic_output_order"], group: "server", since: "7.0.0",
                            summary: "Documents commands.", handler: docs),
                    Command("getkeys", arity: -4, flags: [.loading, .stale], categories: [.connection], group: "server",
                            since: "2.8.13", summary: "Extracts the key names from a full command.", handler: getKeys),
                    Command("getkeysandflags", arity: -4, flags: [.loading, .stale], categories: [.connection], group: "server",
                            since: "7.0.0", summary: "Extracts the key names and their access flags from a full command.",
                            handler: getKeysAndFlags),
                    Command("help", arity: 2, flags: [.loading, .stale], categories: [.connection], group: "server", since: "5.0.0",
                            summary: "Lists the COMMAND subcommands.", handler: help),
                ], handler: all),
    ]

    static func all(_ c: inout CommandContext) {
        let commands = c.server.commands.commands
        c.reply.arrayHeader(commands.count)
        for command in commands { describe(command, &c.reply) }
    }

    static func count(_ c: inout CommandContext) {
        c.reply.integer(c.server.commands.commands.count)
    }

    static func list(_ c: inout CommandContext) {
        var names = c.server.commands.all.map(\.fullName)
        if c.argumentCount > 2 {
            guard c.argumentCount == 5, c.argument(2, is: "FILTERBY") else {
                c.error(Errors.syntax)
                return
            }
            let value = c.text(4)
            if c.argument(3, is: "PATTERN") {
                names = names.filter { Glob.matches(value, $0, ignoringCase: true) }
            } else if c.argument(3, is: "ACLCAT") {
                let category = value.lowercased()
                names = c.server.commands.all.filter { $0.allCategories.reportedNames.contains("@" + category) }.map(\.fullName)
            } else if c.argument(3, is: "MODULE") {
                names = []
            } else {
                c.error(Errors.syntax)
                return
            }
        }
        c.reply.arrayHeader(names.count)
        for name in names { c.reply.bulk(name) }
    }

    static func info(_ c: inout CommandContext) {
        guard c.argumentCount > 2 else {
            all(&c)
            return
        }
        c.reply.arrayHeader(c.argumentCount - 2)
        for index in 2 ..< c.argumentCount {
            if let command = find(c.text(index), in: c.server.commands) {
                describe(command, &c.reply)
            } else {
                c.reply.null()
            }
        }
    }

    /// A command by name, or a subcommand by `container|sub`.
    static func find(_ name: String, in table: CommandTable) -> Command? {
        let parts = name.lowercased().split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let command = table.lookup(parts[0]) else { return nil }
        if parts.count == 1 { return command }
        return command.subcommands.first { $0.name == parts[1] }
    }

    /// One COMMAND INFO entry: name, arity, flags, first/last/step, categories, tips, key specs, subcommands.
    static func describe(_ command: Command, _ reply: inout ReplyWriter) {
        let legacy = command.legacyKeyRange
        reply.arrayHeader(10)
        reply.bulk(command.fullName)
        reply.integer(command.arity)
        var flags = CommandFlags.reported.filter { command.flags.contains($0.0) }.map(\.1)
        if legacy.movable { flags.append("movablekeys") }
        if command.flags.contains(.allowBusy) { flags.append("allow_busy") }
        reply.setHeader(flags.count)
        for flag in flags { reply.simpleString(flag) }
        reply.integer(legacy.first)
        reply.integer(legacy.last)
        reply.integer(legacy.step)
        let categories = command.allCategories.reportedNames
        reply.setHeader(categories.count)
        for category in categories { reply.simpleString(category) }
        reply.setHeader(command.tips.count)
        for tip in command.tips { reply.bulk(tip) }
        reply.setHeader(command.keySpecs.count)
        for spec in command.keySpecs { describe(spec, &reply) }
        reply.setHeader(command.subcommands.count)
        for sub in command.subcommands { describe(sub, &reply) }
    }

    private static func describe(_ spec: KeySpec, _ reply: inout ReplyWriter) {
        reply.mapHeader(3)
        reply.bulk("flags")
        reply.setHeader(spec.flags.count)
        for flag in spec.flags { reply.simpleString(flag) }
        reply.bulk("begin_search")
        reply.mapHeader(2)
        reply.bulk("type")
        switch spec.begin {
        case .index(let index):
            reply.bulk("index")
            reply.bulk("spec")
            reply.mapHeader(1)
            reply.bulk("index")
            reply.integer(index)
        case .keyword(let keyword, let startFrom):
            reply.bulk("keyword")
            reply.bulk("spec")
            reply.mapHeader(2)
            reply.bulk("keyword")
            reply.bulk(keyword)
            reply.bulk("startfrom")
            reply.integer(startFrom)
        case .unknown:
            reply.bulk("unknown")
            reply.bulk("spec")
            reply.mapHeader(0)
        }
        reply.bulk("find_keys")
        reply.mapHeader(2)
        reply.bulk("type")
        switch spec.find {
        case .range(let lastKey, let step, let limit):
            reply.bulk("range")
            reply.bulk("spec")
            reply.mapHeader(3)
            reply.bulk("lastkey")
            reply.integer(lastKey)
            reply.bulk("keystep")
            reply.integer(step)
            reply.bulk("limit")
            reply.integer(limit)
        case .keynum(let index, let firstKey, let step):
            reply.bulk("keynum")
            reply.bulk("spec")
            reply.mapHeader(3)
            reply.bulk("keynumidx")
            reply.integer(index)
            reply.bulk("firstkey")
            reply.integer(firstKey)
            reply.bulk("keystep")
            reply.integer(step)
        case .unknown:
            reply.bulk("unknown")
            reply.bulk("spec")
            reply.mapHeader(0)
        }
    }

    static func docs(_ c: inout CommandContext) {
        var commands: [Command] = []
        if c.argumentCount == 2 {
            commands = c.server.commands.commands
        } else {
            for index in 2 ..< c.argumentCount {
                if let command = find(c.text(index), in: c.server.commands) { commands.append(command) }
            }
        }
        c.reply.mapHeader(commands.count)
        for command in commands {
            c.reply.bulk(command.fullName)
            document(command, &c.reply)
        }
    }

    private static func document(_ command: Command, _ reply: inout ReplyWriter) {
        reply.mapHeader(command.isContainer ? 4 : 3)
        reply.bulk("summary")
        reply.bulk(command.summary)
        reply.bulk("since")
        reply.bulk(command.since)
        reply.bulk("group")
        reply.bulk(command.group)
        if command.isContainer {
            reply.bulk("subcommands")
            reply.mapHeader(command.subcommands.count)
            for sub in command.subcommands {
                reply.bulk(sub.fullName)
                document(sub, &reply)
            }
        }
    }

    static func getKeys(_ c: inout CommandContext) {
        guard let (_, positions) = keysOfInnerCommand(&c) else { return }
        c.reply.arrayHeader(positions.count)
        for position in positions { c.reply.bulk(c.arguments[position]) }
    }

    static func getKeysAndFlags(_ c: inout CommandContext) {
        guard let (command, positions) = keysOfInnerCommand(&c) else { return }
        c.reply.arrayHeader(positions.count)
        for position in positions {
            c.reply.arrayHeader(2)
            c.reply.bulk(c.arguments[position])
            let flags = flags(of: position, in: command, arguments: c.arguments)
            c.reply.setHeader(flags.count)
            for flag in flags { c.reply.simpleString(flag) }
        }
    }

    /// The command inside `COMMAND GETKEYS <command> ...` and the positions of its keys in the
    /// outer request; replies with Redis's error and returns nil when there are none.
    private static func keysOfInnerCommand(_ c: inout CommandContext) -> (Command, [Int])? {
        let inner = Arguments(base: c.arguments.base, spans: UnsafeBufferPointer(rebasing: c.arguments.spans[2...]))
        guard let index = c.server.commands.lookup(inner[0]) else {
            c.error(Errors.invalidCommandName)
            return nil
        }
        var command = c.server.commands.commands[index]
        if command.isContainer, inner.count > 1,
           let sub = command.subcommands.first(where: { inner[1].equalsIgnoringCase(Array($0.name.utf8)) }) {
            command = sub
        }
        guard command.arityAccepts(inner.count) else {
            c.error(Errors.getKeysArity)
            return nil
        }
        guard command.hasKeys else {
            c.error(Errors.noKeyArguments)
            return nil
        }
        guard let positions = command.keyPositions(inner), !positions.isEmpty else {
            c.error(Errors.invalidCommandArguments)
            return nil
        }
        return (command, positions.map { $0 + 2 })
    }

    /// The access flags of the key spec that found the key at `position`.
    private static func flags(of position: Int, in command: Command, arguments: Arguments) -> [String] {
        let inner = Arguments(base: arguments.base, spans: UnsafeBufferPointer(rebasing: arguments.spans[2...]))
        for spec in command.keySpecs where spec.positions(in: inner)?.contains(position - 2) == true {
            if spec.flags.contains("variable_flags"), let variable = command.variableKeyFlags { return variable(inner) }
            return spec.flags
        }
        // A key only the command's key finder locates (SORT's STORE): the last spec that no
        // search describes is the one the finder stands for.
        return (command.keySpecs.last { $0.begin == .unknown } ?? command.keySpecs.first)?.flags ?? []
    }

    static func help(_ c: inout CommandContext) {
        Help.reply(&c, command: "COMMAND", lines: [
            "(no subcommand)", "    Describes every command.",
            "COUNT", "    The number of commands.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]", "    The names of the commands.",
            "INFO [<command-name> ...]", "    Arity, flags, key positions and subcommands of the named commands (all if none).",
            "DOCS [<command-name> ...]", "    Summary, version and group of the named commands (all if none).",
            "GETKEYS <full-command>", "    The keys of a full command.",
            "GETKEYSANDFLAGS <full-command>", "    The keys of a full command, with their access flags.",
        ])
    }
}
