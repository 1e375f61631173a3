import Commands
@testable import Replication
import Testing

@Suite struct BacklogTests {
    /// Against a plain record of the whole stream: what the backlog serves for each offset is
    /// the stream's tail from there, or nothing once that has left the window.
    @Test func servesTheStreamsTailByOffset() {
        var generator = SystemRandomNumberGenerator()
        var backlog = ReplicationBacklog(capacity: 100)
        var stream: [UInt8] = []
        for round in 0 ..< 300 {
            let chunk = (0 ..< Int.random(in: 0 ... 130, using: &generator)).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
            backlog.append(chunk)
            stream += chunk
            #expect(backlog.endOffset == Int64(stream.count))
            #expect(backlog.count == min(100, stream.count))
            #expect(backlog.firstOffset == Int64(stream.count - backlog.count + 1))
            for offset in Int64(max(1, stream.count - 110)) ... Int64(stream.count + 2) {
                let expected: [UInt8]? = offset >= backlog.firstOffset && offset <= Int64(stream.count + 1)
                    ? Array(stream[Int(offset - 1)...]) : nil
                #expect(backlog.bytes(from: offset) == expected, "round \(round), offset \(offset)")
            }
        }
    }

    /// A huge setting allocates nothing up front: memory follows what the stream holds.
    @Test func memoryFollowsTheStreamNotTheSetting() {
        var backlog = ReplicationBacklog(capacity: Int.max / 2)
        var stream: [UInt8] = []
        for index in 0 ..< 20_000 {
            let chunk = Array(repeating: UInt8(truncatingIfNeeded: index), count: index % 7)
            backlog.append(chunk)
            stream += chunk
        }
        #expect(backlog.count == stream.count)
        #expect(backlog.bytes(from: 1) == stream)
    }

    @Test func resizingKeepsTheNewestBytes() {
        var backlog = ReplicationBacklog(capacity: 10, endOffset: 1000)
        backlog.append(Array(1 ... 10))
        backlog.resize(to: 4)
        #expect(backlog.endOffset == 1010)
        #expect(backlog.firstOffset == 1007)
        #expect(backlog.bytes(from: 1007) == [7, 8, 9, 10])
        #expect(backlog.bytes(from: 1006) == nil)
        backlog.resize(to: 8)
        backlog.append([11, 12])
        #expect(backlog.bytes(from: 1007) == [7, 8, 9, 10, 11, 12])
    }

    @Test func theStreamSelectsBeforeTheFirstCommandAndOnEveryChange() {
        var encoder = StreamEncoder()
        var output: [UInt8] = []
        encoder.encode([PropagatedCommand(db: 0, "SET", "k", "v"), PropagatedCommand(db: 0, "DEL", "k"),
                        PropagatedCommand(db: 9, "INCR", "n")], into: &output)
        let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
            + "*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
        #expect(String(decoding: output, as: UTF8.self) == expected)
        encoder.reset()
        output = []
        encoder.encode([PropagatedCommand(db: 9, "PING")], into: &output)
        #expect(String(decoding: output, as: UTF8.self) == "*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n*1\r\n$4\r\nPING\r\n")
    }
}
