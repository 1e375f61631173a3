/// CLIENT LIST / CLIENT INFO lines, with Redis's fields in Redis's order.
enum ClientList {
    /// One line (without the trailing newline). The current client is described from its live
    /// state; others from what their connection last published.
    static func line(for session: ClientSession, now: Int64, current: ClientSession, server: ServerState) -> String {
        var info = session.published.withLock { $0 }
        if session === current {
            info.database = session.database
            info.protocolVersion = session.protocolVersion
            info.flags = session.currentFlags
            info.lastCommand = session.lastCommand
            info.lastInteraction = now
            info.multiCount = session.transaction?.commands.count ?? -1
        }
        if session.blocked.withLock({ $0 != nil }) || server.pause.isWaiting(session) { info.flags.insert(.blocked) }
        let tracking = server.tracking.options(of: session)
        if let tracking {
            info.flags.insert(.tracking)
            if tracking.broadcast { info.flags.insert(.trackingBroadcast) }
            if tracking.brokenRedirect { info.flags.insert(.trackingBrokenRedirect) }
        }
        let memory = info.memory
        let age = max(0, (now - session.createdAt) / 1000)
        let idle = max(0, (now - info.lastInteraction) / 1000)
        var flags = info.flags
        if session.isUnixSocket { flags.insert(.unixSocket) }
        return "id=\(session.id) addr=\(session.address) laddr=\(session.localAddress) fd=\(session.fd) name=\(info.name)"
            + " age=\(age) idle=\(idle) flags=\(flags.letters) db=\(info.database)"
            + " sub=\(info.subscriptions) psub=\(info.patternSubscriptions) ssub=\(info.shardSubscriptions)"
            + " multi=\(info.multiCount) qbuf=\(memory.queryBuffer) qbuf-free=\(memory.queryBufferFree)"
            + " argv-mem=\(memory.argumentsMemory) multi-mem=\(memory.multiMemory) rbs=\(memory.replyBufferSize)"
            + " rbp=\(memory.replyBufferPeak) obl=\(memory.outputBufferLength) oll=\(memory.outputListLength)"
            + " omem=\(memory.outputMemory) tot-mem=\(memory.total) events=\(memory.outputMemory > 0 ? "rw" : "r")"
            + " cmd=\(info.lastCommand >= 0 ? server.commands.command(ordinal: info.lastCommand).fullName : "NULL") user=\(info.user) redir=\(tracking?.redirect ?? -1) resp=\(info.protocolVersion)"
            + " lib-name=\(info.libraryName) lib-ver=\(info.libraryVersion)"
    }

    /// CLIENT LIST TYPE's class of a client.
    static func type(of session: ClientSession, current: ClientSession) -> String {
        (session === current ? session.currentFlags : session.published.withLock { $0.flags }).typeName
    }
}
