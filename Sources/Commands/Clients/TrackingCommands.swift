import Engine
import RESP

/// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO, over the `TrackingTable`.
extension ClientCommands {
    static func clientTracking(_ c: inout CommandContext) {
        var options = TrackingTable.Options()
        var index = 3
        while index < c.argumentCount {
            let more = index + 1 < c.argumentCount
            if c.argument(index, is: "REDIRECT") && more {
                index += 1
                guard options.redirect == 0 else { return c.error(Errors.singleRedirect) }
                guard let id = c.integerOrReply(index) else { return }
                guard c.server.clients.client(id: id) != nil else { return c.error(Errors.noRedirectClient) }
                options.redirect = id
            } else if c.argument(index, is: "BCAST") {
                options.broadcast = true
            } else if c.argument(index, is: "OPTIN") {
                options.optIn = true
            } else if c.argument(index, is: "OPTOUT") {
                options.optOut = true
            } else if c.argument(index, is: "NOLOOP") {
                options.noLoop = true
            } else if c.argument(index, is: "PREFIX") && more {
                index += 1
                options.prefixes.append(Element(c.arguments[index]))
            } else {
                return c.error(Errors.syntax)
            }
            index += 1
        }
        let tracking = c.server.tracking
        if c.argument(2, is: "OFF") {
            tracking.disable(c.session)
            c.session.trackingCaching = false
            return c.reply.ok()
        }
        guard c.argument(2, is: "ON") else { return c.error(Errors.syntax) }
        let current = tracking.options(of: c.session)
        guard options.broadcast || options.prefixes.isEmpty else { return c.error(Errors.prefixWithoutBroadcast) }
        if let current, current.broadcast != options.broadcast {
            return c.error(Errors.trackingBroadcastSwitch)
        }
        if options.broadcast && (options.optIn || options.optOut) { return c.error(Errors.optInOutWithBroadcast) }
        if options.optIn && options.optOut { return c.error(Errors.trackingOptInAndOut) }
        if let current, (options.optIn && current.optOut) || (options.optOut && current.optIn) {
            return c.error(Errors.trackingModeSwitch)
        }
        if options.broadcast, let overlap = overlappingPrefixes(options.prefixes, existing: current?.prefixes ?? []) {
            return c.error(bytes: overlap)
        }
        tracking.enable(c.session, options)
        c.reply.ok()
    }

    /// Redis refuses prefixes of one client that overlap (one a prefix of another).
    private static func overlappingPrefixes(_ prefixes: [Element], existing: [Element]) -> [UInt8]? {
        func bytes(_ element: Element) -> [UInt8] { Array(element.bytes) }
        for (position, prefix) in prefixes.enumerated() {
            if let clash = existing.first(where: { $0.hasPrefix(prefix) || prefix.hasPrefix($0) }) {
                return Errors.overlappingPrefix(bytes(prefix), bytes(clash), existing: true)
            }
            if let clash = prefixes[(position + 1)...].first(where: { $0.hasPrefix(prefix) || prefix.hasPrefix($0) }) {
                return Errors.overlappingPrefix(bytes(prefix), bytes(clash), existing: false)
            }
        }
        return nil
    }

    static func clientCaching(_ c: inout CommandContext) {
        guard let options = c.server.tracking.options(of: c.session) else {
            return c.error(Errors.cachingNeedsOptMode)
        }
        if c.argument(2, is: "YES") {
            guard options.optIn else { return c.error(Errors.cachingYesNeedsOptIn) }
        } else if c.argument(2, is: "NO") {
            guard options.optOut else { return c.error(Errors.cachingNoNeedsOptOut) }
        } else {
            return c.error(Errors.syntax)
        }
        c.session.trackingCaching = true
        c.reply.ok()
    }

    static func clientGetRedirect(_ c: inout CommandContext) {
        c.reply.integer(c.server.tracking.options(of: c.session)?.redirect ?? -1)
    }

    static func clientTrackingInfo(_ c: inout CommandContext) {
        let options = c.server.tracking.options(of: c.session)
        var flags: [String] = []
        if let options {
            flags.append("on")
            if options.broadcast { flags.append("bcast") }
            if options.optIn { flags.append("optin") }
            if options.optOut { flags.append("optout") }
            if c.session.trackingCaching { flags.append(options.optIn ? "caching-yes" : "caching-no") }
            if options.noLoop { flags.append("noloop") }
            if options.brokenRedirect { flags.append("broken_redirect") }
        } else {
            flags.append("off")
        }
        c.reply.mapHeader(3)
        c.reply.bulk("flags")
        c.reply.setHeader(flags.count)
        for flag in flags { c.reply.bulk(flag) }
        c.reply.bulk("redirect")
        c.reply.integer(options?.redirect ?? -1)
        c.reply.bulk("prefixes")
        let prefixes = options?.broadcast == true ? (options?.prefixes ?? []).sorted() : []
        c.reply.arrayHeader(prefixes.count)
        for prefix in prefixes { prefix.withBytes { c.reply.bulk($0) } }
    }
}

extension CommandContext {
    /// After every command while some client tracks: remembers what a tracking client read,
    /// and sends the invalidations for what the command changed.
    mutating func afterCommandForTracking(_ command: Command) {
        let session = self.session
        if command.flags.contains(.readonly), let options = server.tracking.options(of: session), !options.broadcast {
            // OPTIN tracks only after CACHING YES, OPTOUT all but after CACHING NO.
            let remembers = options.optIn ? session.trackingCaching : !(options.optOut && session.trackingCaching)
            if remembers { server.tracking.remember((command.keyPositions(arguments) ?? []).map { Element(arguments[$0]) }, by: session) }
        }
        if !command.flags.contains(.keepsCachingMark) { session.trackingCaching = false }
        if !changeLog.isEmpty { server.tracking.invalidate(changeLog.take(), by: session, reply: &reply) }
    }
}
