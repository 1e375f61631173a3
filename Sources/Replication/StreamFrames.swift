import NIOCore
import Persistence

/// Live-link repair's framing, between Needletail nodes only (the replica announces
/// `capa resend`, the master answers its PSYNC with `FRAMED`): after the snapshot, the stream
/// travels in frames `+FRAME <offset> <length> <checksum>\r\n` followed by exactly `<length>`
/// stream bytes that begin at stream offset `<offset>`. Headers count toward no offset and are
/// never kept in a backlog or passed to sub-replicas. The checksum (CRC-64) covers the offset,
/// the length and the bytes, so a damaged header is caught like damaged bytes.
///
/// A plain byte offset would not do: once anything arrives after a hole (a later write, or just
/// the periodic PING), the replica's applied offset no longer points at the hole.
enum StreamFrame {
    /// Resends are cut into frames of at most this many bytes.
    static let largestResend = 256 * 1024
    /// A header claiming more than this is damage, not a frame.
    static let largestFrame = 64 * 1024 * 1024
    static let longestHeader = 96

    static func checksum(offset: Int64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var crc = CRC64()
        crc.update("\(offset) \(bytes.count)".utf8)
        crc.update(bytes)
        return crc.value
    }

    /// The frame of `bytes`, which begin at stream offset `offset`.
    static func encode(offset: Int64, _ bytes: UnsafeRawBufferPointer) -> ByteBuffer {
        var frame = ByteBuffer(string: "+FRAME \(offset) \(bytes.count) \(checksum(offset: offset, bytes))\r\n")
        frame.writeBytes(bytes)
        return frame
    }

    /// `bytes` (beginning at `offset`) as consecutive frames of at most `largestResend` bytes.
    static func encodeInPieces(offset: Int64, _ bytes: [UInt8]) -> ByteBuffer {
        var frames = ByteBuffer()
        var start = 0
        repeat {
            let end = min(bytes.count, start + largestResend)
            var frame = bytes[start ..< end].withUnsafeBytes { encode(offset: offset + Int64(start), $0) }
            frames.writeBuffer(&frame)
            start = end
        } while start < bytes.count
        return frames
    }
}

/// The replica's side of the framing: takes what the link reads and hands on, in order, only
/// stream bytes that arrived whole and intact, each exactly once.
struct FrameReader {
    /// The offset of the last stream byte handed on.
    private(set) var accepted: Int64
    /// Frames were lost or damaged after `accepted`: later ones are dropped until a resend
    /// fills the hole.
    private(set) var missing = false
    private(set) var holes = 0
    private(set) var corruptFrames = 0
    private var unread = ByteBuffer()

    init(accepted: Int64) {
        self.accepted = accepted
    }

    enum Outcome {
        case fine
        /// A hole or a damaged frame was found: ask the master to resend from `accepted + 1`.
        case askResend
        /// Not frames: the link must be dropped (and a partial PSYNC made from what was applied).
        case unparseable
    }

    mutating func receive(_ bytes: inout ByteBuffer, accept: (inout ByteBuffer) -> Void) -> Outcome {
        unread.writeBuffer(&bytes)
        var outcome = Outcome.fine
        while unread.readableBytes > 0 {
            guard let newline = unread.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if unread.readableBytes > StreamFrame.longestHeader { return .unparseable }
                break
            }
            let headerLength = newline - unread.readerIndex + 1
            guard headerLength <= StreamFrame.longestHeader, let header = unread.getString(at: unread.readerIndex, length: headerLength),
                  header.hasPrefix("+FRAME "), header.hasSuffix("\r\n") else { return .unparseable }
            // By bytes: "\r\n" is one Character to String.
            let words = String(decoding: header.utf8.dropFirst(7).dropLast(2), as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
            guard words.count == 3, let offset = Int64(words[0]), let length = Int(words[1]), let checksum = UInt64(words[2]),
                  offset > 0, length >= 0, length <= StreamFrame.largestFrame else { return .unparseable }
            guard unread.readableBytes >= headerLength + length else { break }
            unread.moveReaderIndex(forwardBy: headerLength)
            var payload = unread.readSlice(length: length)!
            let intact = payload.withUnsafeReadableBytes { StreamFrame.checksum(offset: offset, $0) } == checksum
            let next = accepted + 1
            if !intact {
                corruptFrames += 1
            } else if offset > next {
                if !missing { holes += 1 }
            } else {
                let end = offset + Int64(length) - 1
                if end >= next {
                    // A resend may repeat what was handed on already: only the rest goes.
                    payload.moveReaderIndex(forwardBy: Int(next - offset))
                    accepted = end
                    missing = false
                    accept(&payload)
                }
                continue
            }
            if !missing {
                missing = true
                outcome = .askResend
            }
        }
        if unread.readableBytes == 0 { unread.clear() } else if unread.readerIndex > 64 * 1024 { unread.discardReadBytes() }
        return outcome
    }
}
