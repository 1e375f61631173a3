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
                    Command("tracking", arity: -3, flags: [.noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "6.0.0", summary: "Turns client-side caching invalidations on or off.", handler: clientTracking),
                    Command("trackinginfo", arity: 2, flags: [.noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "6.2.0", summary: "This connection's tracking settings.", handler: clientTrackingInfo),
                    Command("getredir", arity: 2, flags: [.noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "6.0.0", summary: "Where this connection's invalidations go.", handler: clientGetRedirect),
                    Command("caching", arity: 3, flags: [.noScript, .loading, .stale, .keepsCachingMark], categories: [.connection],
                            group: "connection", since: "6.0.0", summary: "Whether the next command's reads are tracked.", handler: clientCaching),
                    Command("kill", arity: -3, flags: [.admin, .noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "2.4.0", summary: "Closes the connections matching filters.", handler: clientKill),
                    Command("pause", arity: -3, flags: [.admin, .noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "3.0.0", summary: "Holds client commands (all, or writes) for a while.", handler: clientPause),
                    Command("unpause", arity: 2, flags: [.admin, .noScript, .loading, .stale, .passesPause], categories: [.connection],
                            group: "connection", since: "6.2.0", summary: "Ends a client pause at once.", handler: clientUnpause),
                    Command("reply", arity: 3, flags: [.noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "3.2.0", summary: "Turns this connection's replies on or off.", handler: clientReply),
                    Command("no-evict", arity: 3, flags: [.admin, .noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "7.0.0", summary: "Exempts this connection from client eviction.", handler: clientNoEvict),
                    Command("no-touch", arity: 3, flags: [.noScript, .loading, .stale], categories: [.connection],
                            group: "connection", since: "7.2.0", summary: "Keeps this connection's reads from touching keys.", handler: clientNoTouch),
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
            c.error(bytes: Errors.unrecognizedOption(c.bytes(2)))
            return
        }
        guard isValidName(value) else {
            c.error(Errors.badLibraryAttribute(isName ? "lib-name" : "lib-ver"))
            return
        }
        let text = value.text
        c.session.published.withLock {
            if isName { $0.libraryName = text } else { $0.libraryVersion = text }
        }
        c.reply.ok()
    }

    static func clientInfo(_ c: inout CommandContext) {
        c.reply.verbatim(ClientList.line(for: c.session, now: c.now, current: c.session, server: c.server) + "\n")
    }

    /// `CLIENT LIST`, `CLIENT LIST TYPE <type>` or `CLIENT LIST ID <id> [<id> ...]` (one form only, as in Redis).
    static func clientList(_ c: inout CommandContext) {
        var type: String?
        var ids: [Int]?
        if c.argumentCount == 4 && c.argument(2, is: "TYPE") {
            guard let name = clientType(c.text(3)) else { return c.error(bytes: Errors.unknownClientType(c.bytes(3))) }
            type = name
        } else if c.argumentCount > 3 && c.argument(2, is: "ID") {
            var list: [Int] = []
            for index in 3 ..< c.argumentCount {
                guard let id = c.integer(index) else { return c.error(Errors.invalidClientID) }
                list.append(id)
            }
            ids = list
        } else if c.argumentCount != 2 {
            return c.error(Errors.syntax)
        }
        var text = ""
        for session in c.server.clients.all() {
            if let ids, !ids.contains(session.id) { continue }
            if let type, ClientList.type(of: session, current: c.session) != type { continue }
            text += ClientList.line(for: session, now: c.now, current: c.session, server: c.server) + "\n"
        }
        c.reply.verbatim(text)
    }

    /// A CLIENT LIST / CLIENT KILL type name, canonical (`slave` is `replica`), or nil.
    static func clientType(_ name: String) -> String? {
        switch name.lowercased() {
        case "normal", "master", "replica", "pubsub": name.lowercased()
        case "slave": "replica"
        default: nil
        }
    }

    // MARK: KILL

    /// `CLIENT KILL <ip:port>` (+OK or an error), or `CLIENT KILL <filter> <value> ...`: every
    /// client matching all filters, counted. The caller is spared unless `SKIPME no`; when it
    /// is killed, it still gets its reply.
    static func clientKill(_ c: inout CommandContext) {
        let clients = c.server.clients.all()
        if c.argumentCount == 3 {
            let address = c.text(2)
            guard let target = clients.first(where: { $0.address == address }) else { return c.error(Errors.noSuchClient) }
            kill(target, &c)
            return c.reply.ok()
        }
        guard c.argumentCount % 2 == 0 else { return c.error(Errors.syntax) }
        var filters: [(ClientSession) -> Bool] = []
        var skipMe = true
        for index in stride(from: 2, to: c.argumentCount, by: 2) {
            let value = c.text(index + 1)
            if c.argument(index, is: "ID") {
                guard let id = c.integer(index + 1), id > 0 else { return c.error(Errors.clientIDNotPositive) }
                filters.append { $0.id == id }
            } else if c.argument(index, is: "TYPE") {
                guard let type = clientType(value) else { return c.error(bytes: Errors.unknownClientType(c.bytes(index + 1))) }
                let current = c.session
                filters.append { ClientList.type(of: $0, current: current) == type }
            } else if c.argument(index, is: "ADDR") {
                filters.append { $0.address == value }
            } else if c.argument(index, is: "LADDR") {
                filters.append { $0.localAddress == value }
            } else if c.argument(index, is: "USER") {
                guard value == "default" else { return c.error(bytes: Errors.noSuchUser(c.bytes(index + 1))) }
                filters.append { $0.published.withLock { $0.user } == value }
            } else if c.argument(index, is: "SKIPME") {
                guard c.argument(index + 1, is: "YES") || c.argument(index + 1, is: "NO") else { return c.error(Errors.syntax) }
                skipMe = c.argument(index + 1, is: "YES")
            } else if c.argument(index, is: "MAXAGE") {
                guard let seconds = c.integer(index + 1) else { return c.error(Errors.maxAgeNotInteger) }
                guard seconds > 0 else { return c.error(Errors.maxAgeNotPositive) }
                let now = c.now
                filters.append { (now - $0.createdAt) / 1000 >= seconds }
            } else {
                return c.error(Errors.syntax)
            }
        }
        var killed = 0
        for session in clients where !(skipMe && session === c.session) && filters.allSatisfy({ $0(session) }) {
            kill(session, &c)
            killed += 1
        }
        c.reply.integer(killed)
    }

    /// Closes a client's connection; the caller itself closes once this reply is written.
    private static func kill(_ session: ClientSession, _ c: inout CommandContext) {
        if session === c.session { c.session.closeAfterReply = true } else { session.connection?.close() }
    }

    // MARK: PAUSE, UNPAUSE

    static func clientPause(_ c: inout CommandContext) {
        guard c.argumentCount <= 4 else { return c.error(bytes: Errors.subcommandSyntax(c.arguments[1], of: "client")) }
        guard let milliseconds = c.integer(2) else { return c.error(Errors.timeoutNotInteger) }
        guard milliseconds >= 0 else { return c.error(Errors.negativeTimeout) }
        var mode = PauseGate.Mode.all
        if c.argumentCount == 4 {
            if c.argument(3, is: "WRITE") { mode = .write }
            else if !c.argument(3, is: "ALL") { return c.error(Errors.pauseMode) }
        }
        let (deadline, overflow) = c.now.addingReportingOverflow(Int64(milliseconds))
        c.server.pauseClients(.client, mode, until: overflow ? .max : deadline)
        c.reply.ok()
    }

    static func clientUnpause(_ c: inout CommandContext) {
        c.server.unpauseClients(.client)
        c.reply.ok()
    }

    // MARK: Per-connection switches

    /// `ON` replies OK; `OFF` and `SKIP` reply nothing (the dispatcher drops the replies).
    static func clientReply(_ c: inout CommandContext) {
        if c.argument(2, is: "ON") {
            c.session.replyMode = .on
            c.reply.ok()
        } else if c.argument(2, is: "OFF") {
            c.session.replyMode = .off
        } else if c.argument(2, is: "SKIP") {
            if c.session.replyMode != .off { c.session.replyMode = .skipNext }
        } else {
            c.error(Errors.syntax)
        }
    }

    static func clientNoEvict(_ c: inout CommandContext) { toggle(&c, .noEvict) }
    static func clientNoTouch(_ c: inout CommandContext) { toggle(&c, .noTouch) }

    private static func toggle(_ c: inout CommandContext, _ flag: ClientFlags) {
        if c.argument(2, is: "ON") {
            c.session.flags.insert(flag)
        } else if c.argument(2, is: "OFF") {
            c.session.flags.remove(flag)
        } else {
            return c.error(Errors.syntax)
        }
        c.reply.ok()
    }

    static func clientHelp(_ c: inout CommandContext) {
        Help.reply(&c, command: "CLIENT", lines: [
            "CACHING (YES|NO)", "    In OPTIN/OPTOUT tracking, whether the next command's reads are tracked.",
            "GETREDIR", "    The id invalidations are redirected to: -1 without tracking, 0 without redirection.",
            "GETNAME", "    The connection's name, or nil when it has none.",
            "ID", "    The connection's unique id.",
            "INFO", "    One CLIENT LIST line describing this connection.",
            "KILL <ip:port>", "    Closes the connection from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]", "    Closes every connection matching all the options:",
            "    * ID <client-id>", "      The connection with this id.",
            "    * ADDR (<ip:port>|<unixsocket>:0)", "      Connections from this address.",
            "    * LADDR (<ip:port>|<unixsocket>:0)", "      Connections to this local address.",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Connections of this type.",
            "    * USER <username>", "      Connections authenticated as this user.",
            "    * MAXAGE <seconds>", "      Connections at least this old.",
            "    * SKIPME (YES|NO)", "      Whether to spare this connection (default: yes).",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB) | ID <id> [<id> ...]]",
            "    One line per connection, optionally only of a type or of the given ids.",
            "NO-EVICT (ON|OFF)", "    Exempts this connection from client eviction.",
            "NO-TOUCH (ON|OFF)", "    Keeps this connection's reads from changing keys' access time.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Holds every command (ALL, the default) or only writes (WRITE) of normal clients for <timeout> ms;",
            "    held commands run, in order, when the pause ends. Never refused, never lost.",
            "REPLY (ON|OFF|SKIP)", "    Sends replies, stops sending them, or skips the next one.",
            "SETINFO (LIB-NAME|LIB-VER) <value>", "    Records the client library's name or version for CLIENT LIST.",
            "SETNAME <name>", "    Names the connection (no spaces or control characters).",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]",
            "    Server-assisted client-side caching: invalidation messages for the keys read.",
            "TRACKINGINFO", "    This connection's tracking settings.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Ends the blocking command (BLPOP …) a client waits in, as if it timed out, or with an error.",
            "UNPAUSE",
            "    Ends a CLIENT PAUSE at once. Needletail lets it through even a PAUSE ... ALL (Redis holds it until the timeout).",
        ])
    }

    static func clientUnblock(_ c: inout CommandContext) {
        guard c.argumentCount <= 4 else { return c.error(bytes: Errors.subcommandSyntax(c.arguments[1], of: "client")) }
        guard let id = c.integerOrReply(2) else { return }
        var withError = false
        if c.argumentCount == 4 {
            withError = c.argument(3, is: "ERROR")
            guard withError || c.argument(3, is: "TIMEOUT") else { return c.error(Errors.unblockReason) }
        }
        guard let target = c.server.clients.client(id: id), let blocked = target.blocked.withLock({ $0 }) else {
            return c.reply.integer(0)
        }
        // A WAIT ends as at its timeout: with the count of replicas that acknowledged.
        if !withError, let answerNow = blocked.answerNow { return c.reply.integer(answerNow(blocked) ? 1 : 0) }
        guard blocked.expire(holdingLocks: c.holdsKeyLocks || c.holdsAllShards) else { return c.reply.integer(0) }
        target.connection?.resume(withError ? .unblockedWithError : .timedOut)
        c.reply.integer(1)
    }
}
