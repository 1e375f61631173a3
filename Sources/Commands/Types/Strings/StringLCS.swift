import Engine
import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// LCS: the longest common subsequence of two strings, its length, or the matching ranges.
extension StringCommands {
    static func lcs(_ c: inout CommandContext) {
        var wantLength = false, wantIndexes = false, withMatchLength = false
        var minimumMatch = 0
        var index = 3
        while index < c.argumentCount {
            if c.argument(index, is: "IDX") {
                wantIndexes = true
            } else if c.argument(index, is: "LEN") {
                wantLength = true
            } else if c.argument(index, is: "WITHMATCHLEN") {
                withMatchLength = true
            } else if c.argument(index, is: "MINMATCHLEN") && index + 1 < c.argumentCount {
                guard let value = c.integerOrReply(index + 1) else { return }
                minimumMatch = max(0, value)
                index += 1
            } else {
                c.error(Errors.syntax)
                return
            }
            index += 1
        }
        let db = c.database
        let first = c.read(c.key(1), in: db), second = c.read(c.key(2), in: db)
        if let first, !first.value.isString { c.error(Errors.lcsWrongType); return }
        if let second, !second.value.isString { c.error(Errors.lcsWrongType); return }
        if wantLength && wantIndexes {
            c.error(Errors.lcsLengthAndIndexes)
            return
        }
        let a = first.map(StringValues.bytes) ?? [], b = second.map(StringValues.bytes) ?? []
        guard a.count < Int(UInt32.max) - 1, b.count < Int(UInt32.max) - 1 else {
            c.error(Errors.lcsTooLong)
            return
        }
        guard let result = LongestCommonSubsequence(a, b) else {
            c.error(Errors.lcsOutOfMemory)
            return
        }
        if wantLength {
            c.reply.integer(result.length)
        } else if wantIndexes {
            let matches = result.matches.filter { $0.length >= minimumMatch }
            c.reply.mapHeader(2)
            c.reply.bulk("matches")
            c.reply.arrayHeader(matches.count)
            for match in matches {
                c.reply.arrayHeader(withMatchLength ? 3 : 2)
                for range in [match.first, match.second] {
                    c.reply.arrayHeader(2)
                    c.reply.integer(range.lowerBound)
                    c.reply.integer(range.upperBound)
                }
                if withMatchLength { c.reply.integer(match.length) }
            }
            c.reply.bulk("len")
            c.reply.integer(result.length)
        } else {
            c.reply.bulk(result.sequence)
        }
    }
}

/// The longest common subsequence of two byte strings, by dynamic programming, walked back
/// from the end the way Redis walks it, so ties resolve to the same subsequence and the
/// matched ranges come out in the same order (last match first).
struct LongestCommonSubsequence {
    struct Match {
        var first: ClosedRange<Int>
        var second: ClosedRange<Int>
        var length: Int { first.count }
    }

    let length: Int
    let sequence: [UInt8]
    let matches: [Match]

    /// Nil when the table of (|a| + 1) × (|b| + 1) lengths cannot be allocated: the strings
    /// come from clients, and a failed allocation must be an error reply, not a trap.
    init?(_ a: [UInt8], _ b: [UInt8]) {
        let columns = b.count + 1
        let (cells, overflow) = (a.count + 1).multipliedReportingOverflow(by: columns)
        guard !overflow, cells <= Int.max / MemoryLayout<UInt32>.stride,
              let memory = calloc(cells, MemoryLayout<UInt32>.stride) else { return nil }
        defer { free(memory) }
        let table = memory.bindMemory(to: UInt32.self, capacity: cells)
        for i in 1 ..< a.count + 1 {
            for j in 1 ..< b.count + 1 {
                table[i * columns + j] = a[i - 1] == b[j - 1]
                    ? table[(i - 1) * columns + j - 1] + 1
                    : max(table[(i - 1) * columns + j], table[i * columns + j - 1])
            }
        }
        length = Int(table[a.count * columns + b.count])
        var sequence = [UInt8](repeating: 0, count: length)
        var matches: [Match] = []
        var current: Match?
        var i = a.count, j = b.count, position = length
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                position -= 1
                sequence[position] = a[i - 1]
                if var match = current, match.first.lowerBound == i, match.second.lowerBound == j {
                    match.first = (i - 1) ... match.first.upperBound
                    match.second = (j - 1) ... match.second.upperBound
                    current = match
                } else {
                    if let match = current { matches.append(match) }
                    current = Match(first: (i - 1) ... (i - 1), second: (j - 1) ... (j - 1))
                }
                i -= 1
                j -= 1
            } else if table[(i - 1) * columns + j] > table[i * columns + j - 1] {
                i -= 1
            } else {
                j -= 1
            }
        }
        if let match = current { matches.append(match) }
        self.sequence = sequence
        self.matches = matches
    }
}
