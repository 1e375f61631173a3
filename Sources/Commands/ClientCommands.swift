import Engine
import RESP

/// CLIENT: the connection's own identity (ID, SETNAME, GETNAME, SETINFO, INFO) and the
/// management of other clients (LIST, UNBLOCK).
enum ClientCommands {
    static let table: [Command] = [
        Command("client", arity: -2, group: "connection", since: "2.4.0", summary: "Inspects and controls client connections.",
                subcommands: [
                    Command("id", arity: 2, flags: [.noScript, .loading, .stale], categories: [.connection], group: "connection",
                            since: "5.0.0", summary: "Returns the connection's id.", handler: clientID),
                    Command("setname", arity: 3, flags: [.noScript, .loading, .stale], categories: [.connection], group: "connection",
                            since: "2.6.9", summary: "Names the connection.", handler: clientSetName),
                    Command("getname", arity: 2, flags: [.noScript, .loading, .stale], categories: [.connection], group: "connection",
                            since: "2.6.9", summary: "Returns the connection's name.", handler: clientGetName),
                    Command("setinfo", arity: 4, flags: [.noScript, .loading, .stale], categories: [.connection], group: "connection",
                            since: "7.2.0", summary: "Records the client library's name or version.", handler: clientSetInfo),
                    Command("info", arity: 2, flags: [.noScript, .loading, .stale], categories: [.connection],
                            tips: ["nondeterministic_output"], group: "connection", since: "6.2.0",
                            summary: "Describes this connection.", handler: clientInfo),
                    Command("list", arity: -2, flags: [.admin, .noScript, .loading, .stale], categories: [.connection],
                            tips: ["nondeterministic_output"], group: "connection", since: "2.4.0",
                            summary: "Describes every connection.", handler: clientList),
                    Command("help", arity: 2, flags: [.loading, .stale], categories: [.connection], group: "connection",
                            since: "5.0.0", summary: "Lists the CLIENT subcommands.", handler: clientHelp),
                    Command("unblock", arity: -3, flags: [.admin, .noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "5.0.0", summary: "Ends another client's blocking command.", handler: clientUnblock),
                ]),
    ]

    static func clientID(_ c: inout CommandContext) {
        c.reply.integer(c.session.id)
    }

    static func clientSetName(_ c: inout CommandContext) {
        if setName(&c, c.arguments[2]) { c.reply.ok() }
    }

    /// Client names, library names and versions may not hold spaces or control characters.
    static func isValidName(_ name: UnsafeRawBufferPointer) -> Bool {
        name.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    static func setName(_ c: inout CommandContext, _ name: UnsafeRawBufferPointer) -> Bool {
        guard isValidName(name) else {
            c.error(Errors.badClientName)
            return false
        }
        c.session.name = name.text
        return true
    }

    static func clientGetName(_ c: inout CommandContext) {
        let name = c.session.name
        if name.isEmpty { c.reply.null() } else { c.reply.bulk(name) }
    }

    static func clientSetInfo(_ c: inout CommandContext) {
        let value = c.arguments[3]
        let isName = c.argument(2, is: "LIB-NAME")
        guard isName || c.argument(2, is: "LIB-VER") else {
            c.error("ERR Unrecognized option '\(c.text(2))'")
            return
        }
        guard isValidName(value) else {
            c.error("ERR \(isName ? "lib-name" : "lib-ver") cannot contain spaces, newlines or special characters.")
            return
        }
        let text = value.text
        c.session.published.withLock {
            if isName { $0.libraryName = text } else { $0.libraryVersion = text }
        }
        c.reply.ok()
    }

    static func clientInfo(_ c: inout CommandContext) {
        c.reply.verbatim(ClientList.line(for: c.session, now: c.now, current: c.session, commands: c.server.commands) + "\n")
    }

    static func clientList(_ c: inout CommandContext) {
        var type: String?
        var ids: [Int]?
        var index = 2
        while index < c.argumentCount {
            if c.argument(index, is: "TYPE") && index + 1 < c.argumentCount {
                let name = c.text(index + 1).lowercased()
                guard ["normal", "master", "replica", "slave", "pubsub"].contains(name) else {
                    c.error("ERR Unknown client type '\(c.text(index + 1))'")
                    return
                }
                type = name == "slave" ? "replica" : name
                index += 2
            } else if c.argument(index, is: "ID") && index + 1 < c.argumentCount {
                var list: [Int] = []
                index += 1
                while index < c.argumentCount {
                    guard let id = c.integer(index) else {
                        c.error("ERR Invalid client ID")
                        return
                    }
                    list.append(id)
                    index += 1
                }
                ids = list
            } else {
                c.error(Errors.syntax)
                return
            }
        }
        var text = ""
        for session in c.server.clients.all() {
            if let ids, !ids.contains(session.id) { continue }
            let line = ClientList.line(for: session, now: c.now, current: c.session, commands: c.server.commands)
            if let type, ClientList.type(of: session, current: c.session) != type { continue }
            text += line + "\n"
        }
        c.reply.verbatim(text)
    }

    static func clientHelp(_ c: inout CommandContext) {
        Help.reply(&c, command: "CLIENT", lines: [
            "GETNAME", "    The connection's name, or nil when it has none.",
            "ID", "    The connection's unique id.",
            "INFO", "    One CLIENT LIST line describing this connection.",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]",
            "    One line per connection, optionally only of a type or of the given ids.",
            "SETINFO (LIB-NAME|LIB-VER) <value>", "    Records the client library's name or version for CLIENT LIST.",
            "SETNAME <name>", "    Names the connection (no spaces or control characters).",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Ends the blocking command (BLPOP …) a client waits in, as if it timed out, or with an error.",
        ])
    }

    static func clientUnblock(_ c: inout CommandContext) {
        guard c.argumentCount <= 4 else { return c.error(Errors.subcommandSyntax(c.text(1), of: "client")) }
        guard let id = c.integerOrReply(2) else { return }
        var withError = false
        if c.argumentCount == 4 {
            withError = c.argument(3, is: "ERROR")
            guard withError || c.argument(3, is: "TIMEOUT") else { return c.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR") }
        }
        guard let target = c.server.clients.client(id: id), let blocked = target.blocked.withLock({ $0 }),
              blocked.expire(holdingLocks: c.holdsKeyLocks || c.holdsAllShards) else {
            return c.reply.integer(0)
        }
        target.connection?.resume(withError ? .unblockedWithError : .timedOut)
        c.reply.integer(1)
    }
}
