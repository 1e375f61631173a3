import NIOCore
import RESP
import Testing

@Suite struct ReplyWriterTests {
    private func written(version: Int, _ body: (inout ReplyWriter) -> Void) -> String {
        var writer = ReplyWriter(buffer: ByteBuffer(), protocolVersion: version)
        body(&writer)
        return String(buffer: writer.buffer)
    }

    @Test func scalars() {
        #expect(written(version: 2) { $0.integer(-42) } == ":-42\r\n")
        #expect(written(version: 2) { $0.integer(Int.min) } == ":-9223372036854775808\r\n")
        #expect(written(version: 2) { $0.bulk("hi") } == "$2\r\nhi\r\n")
        #expect(written(version: 2) { $0.bulkDecimal(-120) } == "$4\r\n-120\r\n")
        #expect(written(version: 2) { $0.bulkDecimal(0) } == "$1\r\n0\r\n")
        #expect(written(version: 2) { $0.error("ERR bad\r\nthing") } == "-ERR bad  thing\r\n")
    }

    @Test func nullsAndBooleansDependOnProtocol() {
        #expect(written(version: 2) { $0.null() } == "$-1\r\n")
        #expect(written(version: 2) { $0.nullArray() } == "*-1\r\n")
        #expect(written(version: 3) { $0.null() } == "_\r\n")
        #expect(written(version: 3) { $0.nullArray() } == "_\r\n")
        #expect(written(version: 2) { $0.boolean(true) } == ":1\r\n")
        #expect(written(version: 3) { $0.boolean(false) } == "#f\r\n")
    }

    @Test func doublesUseRedis70Format() {
        #expect(written(version: 2) { $0.double(1.1) } == "$18\r\n1.1000000000000001\r\n")
        #expect(written(version: 3) { $0.double(2) } == ",2\r\n")
        #expect(written(version: 3) { $0.double(-.infinity) } == ",-inf\r\n")
    }

    @Test func aggregates() {
        #expect(written(version: 2) { $0.mapHeader(2) } == "*4\r\n")
        #expect(written(version: 3) { $0.mapHeader(2) } == "%2\r\n")
        #expect(written(version: 2) { $0.setHeader(3) } == "*3\r\n")
        #expect(written(version: 3) { $0.setHeader(3) } == "~3\r\n")
        #expect(written(version: 3) { $0.pushHeader(3) } == ">3\r\n")
        #expect(written(version: 3) { $0.verbatim("a\nb") } == "=7\r\ntxt:a\nb\r\n")
        #expect(written(version: 2) { $0.verbatim("a") } == "$1\r\na\r\n")
    }

    @Test func deferredLengthsAreFilledIn() {
        let array = written(version: 2) { writer in
            let marker = writer.beginDeferredArray()
            for value in 0 ..< 12 { writer.integer(value) }
            writer.end(marker, count: 12)
        }
        #expect(array == "*12\r\n" + (0 ..< 12).map { ":\($0)\r\n" }.joined())
        let map = written(version: 2) { writer in
            writer.integer(7)
            let marker = writer.beginDeferredMap()
            writer.bulk("k")
            writer.bulk("v")
            writer.end(marker, count: 1)
        }
        #expect(map == ":7\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n")
        #expect(written(version: 3) { let m = $0.beginDeferredSet(); $0.end(m, count: 0) } == "~0\r\n")
    }
}
