/// Random picks for HRANDFIELD, SRANDMEMBER and ZRANDMEMBER: a non-negative count asks for
/// distinct members (all of them when it reaches the size), a negative one for |count| picks
/// that may repeat.
enum RandomPick {
    /// The most picks a negative count may ask for. Redis allocates room for every pick up
    /// front and dies of it for counts far below its own range limits; Needletail refuses
    /// those with the range error instead. 16M picks is a reply of hundreds of megabytes.
    static let maximumRepeatedPicks = 1 << 24

    /// Parses `[count [option]]` from argument 2 on, with Redis's checks in Redis's order;
    /// `option` is WITHVALUES or WITHSCORES (nil for SRANDMEMBER). Returns nil after replying
    /// an error; a nil `count` means none was given.
    static func parse(_ c: inout CommandContext, option: StaticString?) -> (count: Int?, withOption: Bool)? {
        guard c.argumentCount >= 3 else { return (nil, false) }
        guard let count = c.integerOrReply(2) else { return nil }
        guard count != Int.min else {
            c.error(Errors.outOfSymmetricRange)
            return nil
        }
        var withOption = false
        if c.argumentCount == 4, let option, c.argument(3, is: option) {
            withOption = true
        } else if c.argumentCount >= 4 {
            c.error(Errors.syntax)
            return nil
        }
        // Redis's bound for a pair per pick (it doubles the count), and Needletail's for picks
        // that may repeat.
        if (withOption && (count < -(Int.max / 2) || count > Int.max / 2)) || count < -maximumRepeatedPicks {
            c.error(Errors.outOfRange)
            return nil
        }
        return (count, withOption)
    }

    static func positions(count: Int, size: Int) -> [Int] {
        guard size > 0, count != 0 else { return [] }
        if count < 0 {
            return (0 ..< Int(count.magnitude)).map { _ in Int.random(in: 0 ..< size) }
        }
        if count >= size { return Array(0 ..< size) }
        var chosen = Set<Int>()
        if count * 3 > size {
            // Most members are wanted: shuffle and take a prefix.
            return Array(Array(0 ..< size).shuffled().prefix(count))
        }
        while chosen.count < count { chosen.insert(Int.random(in: 0 ..< size)) }
        return Array(chosen)
    }
}
