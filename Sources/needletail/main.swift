import ArgumentParser
import Config
import Logging
import Server

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `needletail [/path/to/redis.conf] [--directive value ...]`, shaped like `redis-server`.
struct NeedletailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "needletail",
        abstract: "A Redis-compatible in-memory data store.",
        discussion: """
        Reads redis.conf syntax. Directives on the command line override the file:
          needletail /etc/needletail.conf --port 7777 --maxmemory 1gb
          needletail --port 6380 --save "" --loglevel verbose
        """,
        version: "Needletail server v=\(needletailVersion) redis-compatible=7.0.15 bits=\(Int.bitWidth)"
    )

    @Argument(parsing: .captureForPassthrough, help: "An optional configuration file, then --directive value pairs.")
    var arguments: [String] = []

    func run() throws {
        // Everything is passed through as directives, so the few real options are read here.
        if ["-v", "--version"].contains(arguments.first) {
            print(Self.configuration.version)
            return
        }
        if ["-h", "--help"].contains(arguments.first) {
            print(Self.helpMessage())
            return
        }
        var words = arguments
        var file: String?
        if let first = words.first, !first.hasPrefix("--") || first == "-" {
            file = first
            words.removeFirst()
        }
        let configuration = Configuration(file: file.map(Self.absolutePath))
        do {
            let lines = try (file.map { try ConfigFile.read($0) } ?? []) + ConfigFile.commandLine(words)
            try ConfigFile.load(lines, into: configuration)
        } catch {
            FileHandleStream.standardError.write("\(error)\n")
            throw ExitCode(1)
        }
        RedisLogHandler.output.setLevel(configuration["loglevel"])
        guard RedisLogHandler.output.redirect(to: configuration["logfile"]) else {
            FileHandleStream.standardError.write("Can't open the log file: \(configuration["logfile"])\n")
            throw ExitCode(1)
        }
        LoggingSystem.bootstrap(RedisLogHandler.init)
        let logger = Logger(label: "needletail")
        let pid = getpid()
        logger.warning("oO0OoO0OoO0Oo Needletail is starting oO0OoO0OoO0Oo")
        logger.warning("Needletail version=\(needletailVersion), bits=\(Int.bitWidth), pid=\(pid), just started")
        logger.warning(file == nil ? "Configuration loaded (no config file, using defaults)" : "Configuration loaded")
        let directory = configuration["dir"]
        if !directory.isEmpty && chdir(directory) != 0 {
            logger.warning("Can't chdir to '\(directory)': \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        RedisLogHandler.output.setRole("M")
        let maxmemory = configuration.integer("maxmemory")
        if maxmemory > 0 && maxmemory < 1 << 20 {
            logger.warning("WARNING: You specified a maxmemory value that is less than 1MB (current value is \(maxmemory) bytes). Are you sure this is what you really want?")
        }
        logger.notice("Needletail \(needletailVersion) (Redis 7.0.15 compatible) running standalone, port=\(configuration["port"]), threads=\(configuration["threads"]), PID: \(pid)")
        let server = NeedletailServer(configuration: configuration, executable: Self.absolutePath(CommandLine.arguments[0]), logger: logger)
        let code = server.run()
        if code != 0 { throw ExitCode(code) }
    }

    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") || path == "-" { return path }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, 4096) != nil else { return path }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + "/" + path
    }
}

/// Standard error, for messages printed before logging starts.
enum FileHandleStream {
    case standardError

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

NeedletailCommand.main()
