import Engine

/// The cursor and options of SCAN, HSCAN, SSCAN and ZSCAN: `cursor [MATCH pattern] [COUNT n]`
/// (and `[TYPE type]` for SCAN).
struct ScanOptions {
    var cursor: UInt64
    var count = 10
    var pattern: [UInt8]?
    var type: String?

    /// Parses from the cursor argument on; replies Redis's error and returns nil on bad input.
    static func parse(_ c: inout CommandContext, cursorAt index: Int, allowType: Bool) -> ScanOptions? {
        guard let cursor = cursorOrReply(&c, at: index) else { return nil }
        return parse(&c, cursor: cursor, optionsAt: index + 1, allowType: allowType)
    }

    static func cursorOrReply(_ c: inout CommandContext, at index: Int) -> UInt64? {
        guard let cursor = KeyCommands.parseCursor(c.arguments[index]) else {
            c.error(Errors.invalidCursor)
            return nil
        }
        return cursor
    }

    /// HSCAN, SSCAN and ZSCAN: the cursor is checked first, then the key (missing: an empty
    /// scan, whatever the options say), then the options, in Redis's order.
    static func scanCollection<T>(_ c: inout CommandContext, _ extract: (Value) -> T?,
                                  _ body: (inout CommandContext, T, ScanOptions) -> Void) {
        guard let cursor = cursorOrReply(&c, at: 2) else { return }
        switch c.fetch(c.key(1), in: c.database, extract) {
        case .wrongType: return
        case .missing: reply(&c, cursor: 0, [])
        case .found(let collection):
            guard let options = parse(&c, cursor: cursor, optionsAt: 3, allowType: false) else { return }
            body(&c, collection, options)
        }
    }

    private static func parse(_ c: inout CommandContext, cursor: UInt64, optionsAt index: Int, allowType: Bool) -> ScanOptions? {
        var options = ScanOptions(cursor: cursor)
        var position = index
        while position < c.argumentCount {
            guard position + 1 < c.argumentCount else {
                c.error(Errors.syntax)
                return nil
            }
            if c.argument(position, is: "COUNT") {
                guard let value = c.integerOrReply(position + 1) else { return nil }
                guard value >= 1 else {
                    c.error(Errors.syntax)
                    return nil
                }
                options.count = value
            } else if c.argument(position, is: "MATCH") {
                options.pattern = c.bytes(position + 1)
            } else if allowType && c.argument(position, is: "TYPE") {
                options.type = c.text(position + 1).lowercased()
            } else {
                c.error(Errors.syntax)
                return nil
            }
            position += 2
        }
        return options
    }

    func matches(_ element: Element) -> Bool {
        guard let pattern else { return true }
        return pattern.withUnsafeBytes { p in element.withBytes { Glob.matches(p, $0) } }
    }

    /// One step over a collection of `size` positions, walked from the top down so that an
    /// element moved by a removal (the last one filling the hole) is never skipped. Calls
    /// `visit` with positions; returns the next cursor (0 when done). A small collection (its
    /// compact encoding, as Redis) is returned whole.
    func step(size: Int, whole: Bool, _ visit: (Int) -> Void) -> UInt64 {
        if whole {
            for position in 0 ..< size { visit(position) }
            return 0
        }
        var bound = cursor == 0 ? size : min(Int(clamping: cursor), size)
        var visited = 0
        while bound > 0 && visited < count {
            bound -= 1
            visit(bound)
            visited += 1
        }
        return UInt64(bound)
    }

    /// `[cursor, [elements]]`.
    static func reply(_ c: inout CommandContext, cursor: UInt64, _ elements: [Element]) {
        c.reply.arrayHeader(2)
        c.reply.bulk(String(cursor))
        c.reply.arrayHeader(elements.count)
        for element in elements { element.withBytes { c.reply.bulk($0) } }
    }
}
