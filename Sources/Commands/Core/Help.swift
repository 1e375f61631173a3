/// The shape of every `<COMMAND> HELP` reply: a header, the family's lines, then HELP itself.
enum Help {
    static func reply(_ c: inout CommandContext, command: String, lines: [String]) {
        let all = ["\(command) <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"] + lines + ["HELP", "    Prints this help."]
        c.reply.arrayHeader(all.count)
        for line in all { c.reply.simpleString(line) }
    }
}
