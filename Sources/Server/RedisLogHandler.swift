import Locks
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Log lines in Redis's format, `pid:R dd Mon yyyy hh:mm:ss.mmm L message`, where R is the
/// role (C while reading the configuration, M master, S replica) and L the level (`.` debug,
/// `-` verbose, `*` notice, `#` warning). Written to stdout or to `logfile`.
public struct RedisLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level {
        get { Logger.Level(redisName: RedisLogHandler.output.level.withLock { $0 }) }
        set { RedisLogHandler.output.level.withLock { $0 = newValue.redisName } }
    }

    public init(label: String) {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        RedisLogHandler.output.write(level: event.level, message: "\(event.message)")
    }

    /// Where lines go; shared by every logger in the process.
    public static let output = Output()

    public final class Output: Sendable {
        let level = Lock("notice")
        let role = Lock<Character>("C")
        private let descriptor = Lock<Int32>(1)

        /// Sends lines to `path` (appending), or to stdout when empty. Returns false if it cannot be opened.
        public func redirect(to path: String) -> Bool {
            if path.isEmpty { return true }
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            guard fd >= 0 else { return false }
            descriptor.withLock { $0 = fd }
            return true
        }

        public func setRole(_ role: Character) {
            self.role.withLock { $0 = role }
        }

        public func setLevel(_ name: String) {
            level.withLock { $0 = name }
        }

        func write(level: Logger.Level, message: String) {
            let threshold = Logger.Level(redisName: self.level.withLock { $0 })
            guard level >= threshold else { return }
            let line = "\(getpid()):\(role.withLock { $0 }) \(Self.timestamp()) \(level.redisMarker) \(message)\n"
            descriptor.withLock { fd in
                var bytes = Array(line.utf8)
                var offset = 0
                while offset < bytes.count {
                    let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                    if written <= 0 { break }
                    offset += written
                }
            }
        }

        /// `21 Nov 2026 13:28:19.819` in local time.
        static func timestamp() -> String {
            var spec = timespec()
            clock_gettime(CLOCK_REALTIME, &spec)
            var seconds = spec.tv_sec
            var parts = tm()
            localtime_r(&seconds, &parts)
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            let millis = Int(spec.tv_nsec / 1_000_000)
            let milliText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
            return "\(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(milliText)"
        }
    }
}

extension Logger.Level {
    /// `loglevel` names: debug, verbose, notice, warning.
    init(redisName: String) {
        switch redisName {
        case "debug": self = .debug
        case "verbose": self = .info
        case "warning": self = .warning
        default: self = .notice
        }
    }

    var redisName: String {
        switch self {
        case .trace, .debug: "debug"
        case .info: "verbose"
        case .notice: "notice"
        case .warning, .error, .critical: "warning"
        }
    }

    var redisMarker: Character {
        switch self {
        case .trace, .debug: "."
        case .info: "-"
        case .notice: "*"
        case .warning, .error, .critical: "#"
        }
    }
}
