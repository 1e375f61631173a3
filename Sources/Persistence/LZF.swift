/// LZF, the compression RDB uses for strings (`rdbcompression`). A compressed stream is a
/// sequence of runs: a control byte below 32 starts a run of `control + 1` literal bytes; any
/// other is a back reference of `(control >> 5) + 2` bytes (a length of 7 continues in the
/// next byte) at distance `(control & 31) << 8 + next byte + 1`.
public enum LZF {
    static let maxLiteral = 32
    static let maxDistance = 1 << 13
    static let maxMatch = 7 + 255 + 2

    /// `input` compressed, or nil if that would not make it shorter than `limit` bytes.
    public static func compress(_ input: UnsafeRawBufferPointer, limit: Int) -> [UInt8]? {
        let compressor = Compressor()
        return compressor.compress(input, limit: limit).map(Array.init)
    }

    /// Compresses string after string with one hash table and one output buffer: a save
    /// compresses millions of short strings, and clearing a fresh table for each cost more
    /// than the compression. Positions in the table are stamped with a base that grows with
    /// every input, so an entry left by an earlier input reads as empty.
    public final class Compressor {
        private static let tableBits = 14
        /// Stamped position (base + position + 1) of each 3-byte sequence's hash.
        private var table = [Int](repeating: 0, count: 1 << tableBits)
        private var base = 0
        private var output: [UInt8] = []

        public init() {}

        /// `input` compressed, or nil if that would not make it shorter than `limit` bytes.
        /// The bytes are valid until the next call.
        public func compress(_ input: UnsafeRawBufferPointer, limit: Int) -> ArraySlice<UInt8>? {
            let count = input.count
            guard count >= 4, limit > 0 else { return nil }
            defer { base += count + 1 }
            output.removeAll(keepingCapacity: true)
            output.reserveCapacity(limit + maxLiteral + 2)
            let base = self.base
            var literalStart = 0
            var position = 0
            let found = table.withUnsafeMutableBufferPointer { table -> Bool in
                func flushLiterals(upTo end: Int) {
                    var start = literalStart
                    while start < end {
                        let run = min(maxLiteral, end - start)
                        output.append(UInt8(run - 1))
                        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start ..< start + run]))
                        start += run
                    }
                }
                while position + 2 < count {
                    let hash = (Int(input[position]) << 16 | Int(input[position + 1]) << 8 | Int(input[position + 2])) &* 0x9E37_79B1
                    let slot = (hash >> 10) & ((1 << Self.tableBits) - 1)
                    let candidate = table[slot] - base - 1
                    table[slot] = base + position + 1
                    let distance = position - candidate
                    if candidate >= 0 && distance <= maxDistance
                        && input[candidate] == input[position] && input[candidate + 1] == input[position + 1]
                        && input[candidate + 2] == input[position + 2] {
                        var length = 3
                        let longest = min(maxMatch, count - position)
                        while length < longest && input[candidate + length] == input[position + length] { length += 1 }
                        flushLiterals(upTo: position)
                        let encodedLength = length - 2, offset = distance - 1
                        if encodedLength < 7 {
                            output.append(UInt8(encodedLength << 5 | offset >> 8))
                        } else {
                            output.append(UInt8(7 << 5 | offset >> 8))
                            output.append(UInt8(encodedLength - 7))
                        }
                        output.append(UInt8(truncatingIfNeeded: offset))
                        position += length
                        literalStart = position
                    } else {
                        position += 1
                    }
                    if output.count >= limit { return false }
                }
                flushLiterals(upTo: count)
                return output.count < limit
            }
            return found ? output[...] : nil
        }
    }

    public enum Failure: Error { case corrupt }

    /// `input` decompressed into exactly `length` bytes; throws if the stream is malformed or
    /// does not produce exactly that many.
    public static func decompress(_ input: UnsafeRawBufferPointer, length: Int) throws(Failure) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        var written = 0
        var position = 0
        try output.withUnsafeMutableBufferPointer { (out: inout UnsafeMutableBufferPointer<UInt8>) throws(Failure) in
            while position < input.count {
                let control = Int(input[position])
                position += 1
                if control < 32 {
                    let run = control + 1
                    guard position + run <= input.count, written + run <= length else { throw .corrupt }
                    for index in 0 ..< run { out[written + index] = input[position + index] }
                    position += run
                    written += run
                } else {
                    var run = control >> 5
                    if run == 7 {
                        guard position < input.count else { throw .corrupt }
                        run += Int(input[position])
                        position += 1
                    }
                    run += 2
                    guard position < input.count else { throw .corrupt }
                    let distance = (control & 31) << 8 + Int(input[position]) + 1
                    position += 1
                    guard distance <= written, written + run <= length else { throw .corrupt }
                    // Byte by byte: a reference may overlap what it produces.
                    for _ in 0 ..< run {
                        out[written] = out[written - distance]
                        written += 1
                    }
                }
            }
        }
        guard written == length else { throw .corrupt }
        return output
    }
}
