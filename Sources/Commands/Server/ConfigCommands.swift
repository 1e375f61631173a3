import Config
import Engine

/// CONFIG GET, SET, RESETSTAT, REWRITE, HELP over the directive table (`Config` module).
enum ConfigCommands {
    static let table: [Command] = [
        Command("config", arity: -2, group: "server", since: "2.0.0", summary: "Reads and changes the configuration.", subcommands: [
            Command("get", arity: -3, flags: [.admin, .noScript, .loading, .stale], group: "server", since: "2.0.0",
                    summary: "Returns the directives matching glob patterns, with their values.", handler: get),
            Command("set", arity: -4, flags: [.admin, .noScript, .loading, .stale],
                    tips: ["request_policy:all_nodes", "response_policy:all_succeeded"], group: "server", since: "2.0.0",
                    summary: "Changes directives, all or none.", handler: set),
            Command("resetstat", arity: 2, flags: [.admin, .noScript, .loading, .stale], group: "server", since: "2.0.0",
                    summary: "Resets the statistics INFO reports.", handler: resetStat),
            Command("rewrite", arity: 2, flags: [.admin, .noScript, .loading, .stale], group: "server", since: "2.8.0",
                    summary: "Writes the current configuration into the configuration file.", handler: rewrite),
            Command("help", arity: 2, flags: [.loading, .stale], group: "server", since: "5.0.0",
                    summary: "Lists the CONFIG subcommands.", handler: help),
        ]),
    ]

    static func get(_ c: inout CommandContext) {
        let patterns = (2 ..< c.argumentCount).map { c.text($0).lowercased() }
        // A hidden directive shows only for its exact name, as in Redis.
        let matched = c.server.config.matching { name, directive in
            patterns.contains { directive.hidden ? $0 == name : Glob.matches($0, name) }
        }
        c.reply.mapHeader(matched.count)
        for (name, directive, value) in matched {
            c.reply.bulk(name)
            // `dir` is wherever the server runs: it changes directory into it at start.
            c.reply.bulk(directive.name == "dir" ? ProcessMetrics.currentDirectory() : directive.displayed(value))
        }
    }

    static func set(_ c: inout CommandContext) {
        guard c.argumentCount % 2 == 0 else {
            c.error(Errors.wrongArity("config|set"))
            return
        }
        let pairs = stride(from: 2, to: c.argumentCount, by: 2).map { (name: c.text($0), value: c.text($0 + 1)) }
        let allowProtected = c.server.config["enable-protected-configs"] == "yes"
            || c.server.config["enable-protected-configs"] == "local" && c.session.isLocal
        do {
            try c.server.config.set(pairs, allowProtected: allowProtected)
            c.reply.ok()
        } catch {
            // The name as the client sent it (its text may have replaced bytes that are not UTF-8).
            let position = stride(from: 2, to: c.argumentCount, by: 2).first { c.text($0) == error.name } ?? 2
            let name = c.bytes(position)
            switch error.cause {
            case .unknown:
                c.error(bytes: Errors.unknownConfigOption(name))
            case .duplicate:
                c.error(bytes: Errors.configSetFailed(name, "duplicate parameter"))
            case .rejected(let reason):
                c.error(bytes: Errors.configSetFailed(name, reason.reason))
            }
        }
    }

    static func resetStat(_ c: inout CommandContext) {
        c.server.statistics.reset()
        c.server.keyspace.expiredKeys.store(0, ordering: .relaxed)
        c.reply.ok()
    }

    static func rewrite(_ c: inout CommandContext) {
        do {
            try ConfigFile.rewrite(c.server.config)
            c.reply.ok()
        } catch {
            switch error {
            case .noFile: c.error(Errors.noConfigFile)
            case .io(let reason): c.error(Errors.configRewriteFailed(reason))
            }
        }
    }

    static func help(_ c: inout CommandContext) {
        Help.reply(&c, command: "CONFIG", lines: [
            "GET <pattern> [<pattern> ...]", "    The directives matching the glob patterns, with their values.",
            "SET <directive> <value> [<directive> <value> ...]", "    Changes the directives; if one cannot change, none does.",
            "RESETSTAT", "    Resets the statistics that INFO reports.",
            "REWRITE", "    Writes the current values into the configuration file, keeping its comments.",
        ])
    }
}
