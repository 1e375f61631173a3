#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small blocking RESP client for tests: sends commands (or raw bytes) and reads replies.
public final class RESPClient {
    private let fd: Int32
    private var buffer: [UInt8] = []

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(port: Int, host: String = "127.0.0.1", timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect to \(port) failed: errno \(errno)")
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
    }

    /// Sends a command as a RESP array of bulk strings and returns its reply.
    @discardableResult
    public func send(_ arguments: String...) throws -> RESPValue {
        try send(arguments.map { Array($0.utf8) })
    }

    @discardableResult
    public func send(_ arguments: [[UInt8]]) throws -> RESPValue {
        try write(Self.encode(arguments))
        return try read()
    }

    public static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10]
        }
        return bytes
    }

    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += sent
        }
    }

    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// Reads one reply.
    public func read() throws -> RESPValue {
        while true {
            if let (value, used) = parseReply(buffer[...]) {
                buffer.removeFirst(used)
                return value
            }
            guard try fill() else { throw Failure(description: "connection closed") }
        }
    }

    /// Reads until the server closes the connection; returns everything received.
    public func readUntilClosed() throws -> [UInt8] {
        while try fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        if count == 0 { return false }
        guard count > 0 else { throw Failure(description: "recv failed or timed out: errno \(errno)") }
        buffer += chunk[0 ..< count]
        return true
    }
}
