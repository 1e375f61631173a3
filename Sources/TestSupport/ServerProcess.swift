import Foundation

/// Starts the real `needletail` binary on a free port for a test, and stops it afterwards.
public final class ServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: String
    public let logPath: String
    private let process: Process

    /// The binary under test: `NEEDLETAIL_BINARY`, else the package's release build, else its debug build.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["NEEDLETAIL_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let release = root.appendingPathComponent(".build/release/needletail").path
        let debug = root.appendingPathComponent(".build/debug/needletail").path
        let candidates = [release, debug].filter { FileManager.default.isExecutableFile(atPath: $0) }
        let newest = candidates.max { modified($0) < modified($1) }
        return newest ?? debug
    }

    private static func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }

    /// Arguments every test server gets after its own (`NEEDLETAIL_EXTRA_ARGS`, split on
    /// spaces): the sanitizer runs start every server with `--threads 2`.
    public static var extraArguments: [String] {
        (ProcessInfo.processInfo.environment["NEEDLETAIL_EXTRA_ARGS"] ?? "").split(separator: " ").map(String.init)
    }

    /// Starts the server with `arguments` after `--port` and `--dir`, waiting until it is ready.
    public init(_ arguments: [String] = [], configFile: String? = nil) throws {
        port = Self.freePort()
        directory = NSTemporaryDirectory() + "needletail-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        logPath = directory + "/server.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = (configFile.map { [$0] } ?? []) + ["--port", String(port), "--dir", directory] + arguments
            + Self.extraArguments
        let logFile = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = logFile
        process.standardError = logFile
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if log.contains("Ready to accept connections") { return }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let output = log
        stop()
        try? FileManager.default.removeItem(atPath: directory)
        throw RESPClient.Failure(description: "server did not start:\n\(output)")
    }

    public var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    public func client() throws -> RESPClient {
        try RESPClient(port: port)
    }

    public var isRunning: Bool { process.isRunning }

    /// Waits for the process to exit by itself; returns its status.
    public func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it does not exit within five seconds. The log stays readable.
    public func stop() {
        if process.isRunning {
            process.terminate()
            if waitForExit(timeout: 5) == nil {
                kill(process.processIdentifier, SIGKILL)
                _ = waitForExit(timeout: 5)
            }
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A port nobody listens on right now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = INADDR_ANY
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a program to completion (redis-cli in tests) and returns its standard output.
    public static func run(_ program: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let inputPipe = Pipe()
        if input != nil { process.standardInput = inputPipe }
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
