import Engine
import RESP

/// Connection commands: PING, ECHO, QUIT, RESET, AUTH, HELLO, SELECT. (CLIENT is in ClientCommands.)
///
/// HELLO reports `server: redis` and `version: 7.0.15`, the protocol level Needletail speaks,
/// because clients gate features on it; INFO adds `needletail_version`.
enum ConnectionCommands {
    static let table: [Command] = [
        Command("ping", arity: -1, flags: [.fast, .allowedWhileSubscribed, .reportsDiskError], categories: [.connection],
                tips: ["request_policy:all_shards", "response_policy:all_succeeded"], group: "connection",
                summary: "Replies PONG, or the given message.", handler: ping),
        Command("echo", arity: 2, flags: [.loading, .stale, .fast], categories: [.connection], group: "connection",
                summary: "Replies with the given message.", handler: echo),
        Command("quit", arity: -1, flags: [.noScript, .loading, .stale, .fast, .noAuth, .allowBusy, .skipsQueue, .allowedWhileSubscribed], categories: [.connection],
                group: "connection", summary: "Closes the connection after replying OK.", handler: quit),
        Command("reset", arity: 1, flags: [.noScript, .loading, .stale, .fast, .noAuth, .allowBusy, .skipsQueue, .allowedWhileSubscribed], categories: [.connection],
                group: "connection", since: "6.2.0", summary: "Returns the connection to its initial state.", handler: reset),
        Command("auth", arity: -2, flags: [.noScript, .loading, .stale, .fast, .noAuth, .allowBusy], categories: [.connection],
                group: "connection", summary: "Authenticates the connection.", handler: auth),
        Command("hello", arity: -1, flags: [.noScript, .loading, .stale, .fast, .noAuth, .allowBusy], categories: [.connection],
                group: "connection", since: "6.0.0", summary: "Chooses the protocol version, optionally authenticating and naming the client.",
                handler: hello),
        Command("select", arity: 2, flags: [.loading, .stale, .fast], categories: [.connection], group: "connection",
                summary: "Selects the database of the connection.", handler: select),
    ]

    static func ping(_ c: inout CommandContext) {
        if c.argumentCount > 2 {
            c.error(Errors.wrongArity("ping"))
        } else if c.session.isSubscribed && c.session.protocolVersion == 2 {
            // A subscribed RESP2 client reads PING's answer as a Pub/Sub message.
            c.reply.arrayHeader(2)
            c.reply.bulk("pong")
            if c.argumentCount == 2 { c.reply.bulk(c.arguments[1]) } else { c.reply.bulk("") }
        } else if c.argumentCount == 2 {
            c.reply.bulk(c.arguments[1])
        } else {
            c.reply.simpleString("PONG")
        }
    }

    static func echo(_ c: inout CommandContext) {
        c.reply.bulk(c.arguments[1])
    }

    static func quit(_ c: inout CommandContext) {
        c.session.closeAfterReply = true
        c.reply.ok()
    }

    static func reset(_ c: inout CommandContext) {
        let session = c.session
        session.database = 0
        session.protocolVersion = 2
        c.reply.protocolVersion = 2
        session.authenticated = !c.server.requiresPassword
        session.flags.subtract([.readonly, .noEvict, .noTouch])
        PubSubCommands.unsubscribeAll(session, hub: c.server.pubsub)
        session.transaction = nil
        TransactionCommands.unwatchAll(session, keyspace: c.keyspace, locking: true)
        c.server.tracking.disable(session)
        session.trackingCaching = false
        session.replyMode = .on
        c.server.monitors.remove(session)
        session.flags.remove(.monitor)
        c.reply.simpleString("RESET")
    }

    static func auth(_ c: inout CommandContext) {
        guard c.argumentCount <= 3 else {
            c.error(Errors.syntax)
            return
        }
        let password = c.server.config["requirepass"]
        if c.argumentCount == 2 && password.isEmpty {
            c.error(Errors.authWithoutPassword)
            return
        }
        let user = c.argumentCount == 3 ? c.text(1) : "default"
        if authenticate(&c, user: user, password: c.arguments[c.argumentCount - 1]) {
            c.reply.ok()
        }
    }

    /// Checks credentials for the only user, `default` (whose password is `requirepass`, or none).
    /// Replies WRONGPASS and returns false when they do not match.
    private static func authenticate(_ c: inout CommandContext, user: String, password: UnsafeRawBufferPointer) -> Bool {
        let required = c.server.config["requirepass"]
        guard user == "default", required.isEmpty || password.elementsEqual(required.utf8) else {
            c.error(Errors.wrongPass)
            return false
        }
        c.session.authenticated = true
        return true
    }

    static func hello(_ c: inout CommandContext) {
        var version: Int?
        var next = 1
        if c.argumentCount >= 2 {
            guard let requested = c.integer(1) else {
                c.error(Errors.protocolVersionNotInteger)
                return
            }
            guard requested == 2 || requested == 3 else {
                c.error(Errors.unsupportedProtocol)
                return
            }
            version = requested
            next = 2
        }
        var credentials: (user: String, password: Int)?
        var name: Int?
        while next < c.argumentCount {
            let remaining = c.argumentCount - 1 - next
            if c.argument(next, is: "AUTH") && remaining >= 2 {
                credentials = (c.text(next + 1), next + 2)
                next += 3
            } else if c.argument(next, is: "SETNAME") && remaining >= 1 {
                name = next + 1
                next += 2
            } else {
                c.error(bytes: Errors.helloOption(c.bytes(next)))
                return
            }
        }
        if let credentials {
            guard authenticate(&c, user: credentials.user, password: c.arguments[credentials.password]) else { return }
        }
        guard c.session.authenticated else {
            c.error(Errors.helloNoAuth)
            return
        }
        if let name {
            guard ClientCommands.setName(&c, c.arguments[name]) else { return }
        }
        if let version {
            c.session.protocolVersion = version
            c.reply.protocolVersion = version
        }
        c.reply.mapHeader(7)
        c.reply.bulk("server")
        c.reply.bulk("redis")
        c.reply.bulk("version")
        c.reply.bulk(redisCompatibilityVersion)
        c.reply.bulk("proto")
        c.reply.integer(c.session.protocolVersion)
        c.reply.bulk("id")
        c.reply.integer(c.session.id)
        c.reply.bulk("mode")
        c.reply.bulk("standalone")
        c.reply.bulk("role")
        c.reply.bulk("master")
        c.reply.bulk("modules")
        c.reply.arrayHeader(0)
    }

    static func select(_ c: inout CommandContext) {
        guard let index = c.databaseIndexOrReply(1) else { return }
        c.session.database = index
        c.reply.ok()
    }
}

/// The Redis version whose protocol and replies Needletail reproduces.
public let redisCompatibilityVersion = "7.0.15"
