import Engine
import RESP

/// Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE,
/// PUBLISH, SPUBLISH, PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP.
/// Shard channels behave as in a non-cluster Redis: a separate namespace on this node.
enum PubSubCommands {
    static let table: [Command] = [
        Command("subscribe", arity: -2, flags: [.pubsub, .noScript, .loading, .stale, .allowedWhileSubscribed], group: "pubsub", since: "2.0.0",
                summary: "Listens to channels.", handler: subscribe),
        Command("unsubscribe", arity: -1, flags: [.pubsub, .noScript, .loading, .stale, .allowedWhileSubscribed], group: "pubsub", since: "2.0.0",
                summary: "Stops listening to channels (all when none given).", handler: unsubscribe),
        Command("psubscribe", arity: -2, flags: [.pubsub, .noScript, .loading, .stale, .allowedWhileSubscribed], group: "pubsub", since: "2.0.0",
                summary: "Listens to channels matching glob patterns.", handler: psubscribe),
        Command("punsubscribe", arity: -1, flags: [.pubsub, .noScript, .loading, .stale, .allowedWhileSubscribed], group: "pubsub", since: "2.0.0",
                summary: "Stops listening to patterns (all when none given).", handler: punsubscribe),
        Command("ssubscribe", arity: -2, flags: [.pubsub, .noScript, .loading, .stale, .allowedWhileSubscribed], keys: [.keys(from: 1, "not_key")],
                group: "pubsub", since: "7.0.0", summary: "Listens to shard channels.", handler: ssubscribe),
        Command("sunsubscribe", arity: -1, flags: [.pubsub, .noScript, .loading, .stale, .allowedWhileSubscribed], keys: [.keys(from: 1, "not_key")],
                group: "pubsub", since: "7.0.0", summary: "Stops listening to shard channels (all when none given).", handler: sunsubscribe),
        Command("publish", arity: 3, flags: [.pubsub, .loading, .stale, .fast, .mayReplicate, .alwaysPropagated], group: "pubsub", since: "2.0.0",
                summary: "Sends a message to a channel's listeners.", handler: publish),
        Command("spublish", arity: 3, flags: [.pubsub, .loading, .stale, .fast, .mayReplicate, .alwaysPropagated], keys: [.key(1, "not_key")],
                group: "pubsub", since: "7.0.0", summary: "Sends a message to a shard channel's listeners.", handler: spublish),
        Command("pubsub", arity: -2, group: "pubsub", since: "2.8.0", summary: "Inspects the Pub/Sub state.", subcommands: [
            Command("channels", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "2.8.0",
                    summary: "Channels with listeners, optionally matching a pattern.", handler: channels),
            Command("numsub", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "2.8.0",
                    summary: "How many listen to each channel.", handler: numberOfSubscribers),
            Command("numpat", arity: 2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "2.8.0",
                    summary: "How many patterns are listened to.", handler: numberOfPatterns),
            Command("shardchannels", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "7.0.0",
                    summary: "Shard channels with listeners, optionally matching a pattern.", handler: shardChannels),
            Command("shardnumsub", arity: -2, flags: [.pubsub, .loading, .stale], group: "pubsub", since: "7.0.0",
                    summary: "How many listen to each shard channel.", handler: numberOfShardSubscribers),
            Command("help", arity: 2, flags: [.loading, .stale], group: "pubsub", since: "6.2.0",
                    summary: "Lists the PUBSUB subcommands.", handler: help),
        ]),
    ]

    static func subscribe(_ c: inout CommandContext) { add(&c, kind: .channel, reply: "subscribe") }
    static func psubscribe(_ c: inout CommandContext) { add(&c, kind: .pattern, reply: "psubscribe") }
    static func ssubscribe(_ c: inout CommandContext) { add(&c, kind: .shard, reply: "ssubscribe") }
    static func unsubscribe(_ c: inout CommandContext) { remove(&c, kind: .channel, reply: "unsubscribe") }
    static func punsubscribe(_ c: inout CommandContext) { remove(&c, kind: .pattern, reply: "punsubscribe") }
    static func sunsubscribe(_ c: inout CommandContext) { remove(&c, kind: .shard, reply: "sunsubscribe") }

    private static func add(_ c: inout CommandContext, kind: PubSubHub.Kind, reply: String) {
        let session = c.session
        for index in 1 ..< c.argumentCount {
            let name = Element(c.arguments[index])
            if c.server.pubsub.subscribe(session, to: name, kind: kind) {
                switch kind {
                case .channel: session.channels.insert(name)
                case .pattern: session.patterns.insert(name)
                case .shard: session.shardChannels.insert(name)
                }
            }
            confirm(&c, reply, name, count: count(session, kind))
        }
    }

    private static func remove(_ c: inout CommandContext, kind: PubSubHub.Kind, reply: String) {
        let session = c.session
        var names = (1 ..< c.argumentCount).map { Element(c.arguments[$0]) }
        if names.isEmpty {
            switch kind {
            case .channel: names = Array(session.channels)
            case .pattern: names = Array(session.patterns)
            case .shard: names = Array(session.shardChannels)
            }
            if names.isEmpty {
                confirm(&c, reply, nil, count: count(session, kind))
                return
            }
        }
        for name in names {
            _ = c.server.pubsub.unsubscribe(session, from: name, kind: kind)
            switch kind {
            case .channel: session.channels.remove(name)
            case .pattern: session.patterns.remove(name)
            case .shard: session.shardChannels.remove(name)
            }
            confirm(&c, reply, name, count: count(session, kind))
        }
    }

    /// Subscription counts as Redis reports them: channels and patterns together, shard
    /// channels on their own.
    private static func count(_ session: ClientSession, _ kind: PubSubHub.Kind) -> Int {
        kind == .shard ? session.shardChannels.count : session.channels.count + session.patterns.count
    }

    private static func confirm(_ c: inout CommandContext, _ kind: String, _ name: Element?, count: Int) {
        c.reply.push { reply in
            reply.pushHeader(3)
            reply.bulk(kind)
            if let name { name.withBytes { reply.bulk($0) } } else { reply.null() }
            reply.integer(count)
        }
    }

    /// Ends every subscription of a client (RESET, disconnection).
    static func unsubscribeAll(_ session: ClientSession, hub: PubSubHub) {
        for name in session.channels { _ = hub.unsubscribe(session, from: name, kind: .channel) }
        for name in session.patterns { _ = hub.unsubscribe(session, from: name, kind: .pattern) }
        for name in session.shardChannels { _ = hub.unsubscribe(session, from: name, kind: .shard) }
        session.channels = []
        session.patterns = []
        session.shardChannels = []
    }

    static func publish(_ c: inout CommandContext) {
        let receivers = c.server.pubsub.publish(Element(c.arguments[1]), Element(c.arguments[2]), current: &c.reply, currentSession: c.session)
        c.reply.integer(receivers)
    }

    static func spublish(_ c: inout CommandContext) {
        let receivers = c.server.pubsub.publish(Element(c.arguments[1]), Element(c.arguments[2]), shard: true,
                                                current: &c.reply, currentSession: c.session)
        c.reply.integer(receivers)
    }

    static func channels(_ c: inout CommandContext) { list(&c, kind: .channel) }
    static func shardChannels(_ c: inout CommandContext) { list(&c, kind: .shard) }

    private static func list(_ c: inout CommandContext, kind: PubSubHub.Kind) {
        guard c.argumentCount <= 3 else {
            c.error(Errors.wrongArity(kind == .shard ? "pubsub|shardchannels" : "pubsub|channels"))
            return
        }
        let names = c.server.pubsub.activeChannels(kind: kind, matching: c.argumentCount == 3 ? Element(c.arguments[2]) : nil)
        c.reply.arrayHeader(names.count)
        for name in names { name.withBytes { c.reply.bulk($0) } }
    }

    static func numberOfSubscribers(_ c: inout CommandContext) { counts(&c, kind: .channel) }
    static func numberOfShardSubscribers(_ c: inout CommandContext) { counts(&c, kind: .shard) }

    /// `channel count` pairs, a flat array even in RESP3 (as Redis 7.0 replies).
    private static func counts(_ c: inout CommandContext, kind: PubSubHub.Kind) {
        c.reply.arrayHeader((c.argumentCount - 2) * 2)
        for index in 2 ..< c.argumentCount {
            c.reply.bulk(c.arguments[index])
            c.reply.integer(c.server.pubsub.subscriberCount(Element(c.arguments[index]), kind: kind))
        }
    }

    static func numberOfPatterns(_ c: inout CommandContext) {
        c.reply.integer(c.server.pubsub.patternCount)
    }

    static func help(_ c: inout CommandContext) {
        Help.reply(&c, command: "PUBSUB", lines: [
            "CHANNELS [<pattern>]", "    Channels with at least one listener, optionally only those matching the pattern.",
            "NUMPAT", "    How many distinct patterns clients listen to.",
            "NUMSUB [<channel> ...]", "    For each channel, how many clients listen to it.",
            "SHARDCHANNELS [<pattern>]", "    Shard channels with at least one listener.",
            "SHARDNUMSUB [<shardchannel> ...]", "    For each shard channel, how many clients listen to it.",
        ])
    }
}
