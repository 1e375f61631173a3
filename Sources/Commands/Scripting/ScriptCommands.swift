/// SCRIPT KILL and SCRIPT HELP.
///
/// Needletail has no script engine yet, so no script can ever be running: SCRIPT KILL gives the
/// reply Redis gives when none is, which is what Sentinel expects after a `-BUSY` it will never
/// see here. The other SCRIPT subcommands (LOAD, EXISTS, FLUSH, DEBUG) come with EVAL; until
/// then they are unknown subcommands.
enum ScriptCommands {
    static let table: [Command] = [
        Command("script", arity: -2, group: "scripting", since: "2.6.0",
                summary: "Manages the server-side Lua scripts.", subcommands: [
            Command("kill", arity: 2, flags: [.noScript, .allowBusy], categories: [.scripting],
                    tips: ["request_policy:all_shards", "response_policy:one_succeeded"], group: "scripting", since: "2.6.0",
                    summary: "Terminates the script that is running.", handler: kill),
            Command("help", arity: 2, flags: [.loading, .stale], categories: [.scripting], group: "scripting", since: "5.0.0",
                    summary: "Lists the SCRIPT subcommands.", handler: help),
        ]),
    ]

    static func kill(_ c: inout CommandContext) {
        c.error(Errors.notBusy)
    }

    static func help(_ c: inout CommandContext) {
        Help.reply(&c, command: "SCRIPT", lines: [
            "KILL",
            "    Stops the script that is running, if any.",
        ])
    }
}
