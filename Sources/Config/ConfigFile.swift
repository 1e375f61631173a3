import RESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One directive line, from a file or from the command line.
public struct ConfigLine: Sendable, Equatable {
    public var source: String
    public var number: Int
    public var text: String
    public var arguments: [String]
}

/// Why the configuration could not be loaded, printed the way Redis prints it before exiting.
public struct ConfigLoadError: Error, CustomStringConvertible {
    public let line: ConfigLine?
    public let reason: String

    public var description: String {
        var text = "\n*** FATAL CONFIG FILE ERROR (Needletail \(needletailVersion)) ***\n"
        if let line {
            text += "Reading the configuration file \(line.source), at line \(line.number)\n>>> '\(line.text)'\n"
        }
        return text + reason
    }
}

/// The version Needletail reports of itself.
public let needletailVersion = "0.1.0"

/// Reads redis.conf syntax (one directive per line, `#` comments, quoted arguments, `include`)
/// and writes a changed configuration back into the same file (CONFIG REWRITE).
public enum ConfigFile {
    /// The lines of `path` in order, with `include`d files spliced in where they are named.
    public static func read(_ path: String, depth: Int = 0) throws(ConfigLoadError) -> [ConfigLine] {
        guard depth < 16 else { throw ConfigLoadError(line: nil, reason: "Too many nested includes at \(path)") }
        guard let text = readText(path) else {
            throw ConfigLoadError(line: nil, reason: "Fatal error, can't open config file '\(path)': \(String(cString: strerror(errno)))")
        }
        return try parse(text, source: path, depth: depth)
    }

    public static func parse(_ text: String, source: String, depth: Int = 0) throws(ConfigLoadError) -> [ConfigLine] {
        var lines: [ConfigLine] = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = raw.trimmingSpaces
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let line = ConfigLine(source: source, number: offset + 1, text: String(trimmed), arguments: [])
            guard let arguments = InlineSyntax.split(String(trimmed)) else {
                throw ConfigLoadError(line: line, reason: "Unbalanced quotes in configuration line")
            }
            if arguments.isEmpty { continue }
            if arguments[0].lowercased() == "include" {
                guard arguments.count == 2 else { throw ConfigLoadError(line: line, reason: "Bad directive or wrong number of arguments") }
                lines += try read(arguments[1], depth: depth + 1)
                continue
            }
            lines.append(ConfigLine(source: source, number: offset + 1, text: String(trimmed), arguments: arguments))
        }
        return lines
    }

    /// `--port 6380 --save "" --replicaof host 6379`: every `--name` starts a directive, the
    /// words up to the next `--name` are its arguments.
    public static func commandLine(_ words: [String]) -> [ConfigLine] {
        var lines: [ConfigLine] = []
        for word in words {
            if word.hasPrefix("--") && word.count > 2 {
                let name = String(word.dropFirst(2))
                lines.append(ConfigLine(source: "(command line)", number: lines.count + 1, text: word, arguments: [name]))
            } else if !lines.isEmpty {
                lines[lines.count - 1].arguments.append(word)
                lines[lines.count - 1].text += " " + (word.isEmpty ? "\"\"" : word)
            }
        }
        return lines
    }

    /// Applies lines in order to a configuration; the first bad line stops the load.
    public static func load(_ lines: [ConfigLine], into configuration: Configuration) throws(ConfigLoadError) {
        var seen = Set<String>()
        for line in lines {
            let name = line.arguments[0].lowercased()
            guard let directive = configuration.directive(named: name) else {
                throw ConfigLoadError(line: line, reason: "Bad directive or wrong number of arguments")
            }
            do {
                try configuration.load(name, Array(line.arguments.dropFirst()), appending: seen.contains(directive.name))
            } catch {
                throw ConfigLoadError(line: line, reason: error == .unknownDirective ? "Bad directive or wrong number of arguments" : error.reason)
            }
            seen.insert(directive.name)
            let value = configuration[directive.name]
            if let reason = Directives.refusal(of: value, for: directive) {
                throw ConfigLoadError(line: line, reason: reason)
            }
        }
    }

    // MARK: Rewrite

    public enum RewriteError: Error {
        case noFile
        case io(String)
    }

    /// CONFIG REWRITE: keeps the file's comments, unknown lines and order; rewrites the lines of
    /// every directive in place with its current value; blanks surplus lines of a directive;
    /// appends directives that differ from their default and were not in the file.
    public static func rewrite(_ configuration: Configuration) throws(RewriteError) {
        guard let path = configuration.file else { throw .noFile }
        let original = readText(path) ?? ""
        var lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }

        var occurrences: [String: [Int]] = [:]
        for (number, line) in lines.enumerated() {
            let trimmed = line.trimmingSpaces
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"),
                  let first = InlineSyntax.split(String(trimmed))?.first,
                  let directive = configuration.directive(named: first) else { continue }
            occurrences[directive.name, default: []].append(number)
        }

        var replacement: [Int: [String]] = [:]
        var appended: [String] = []
        for (directive, value) in configuration.snapshot() {
            let rendered = render(directive, directive.displayed(value))
            if let positions = occurrences[directive.name] {
                for (index, position) in positions.enumerated() {
                    if index == positions.count - 1 {
                        replacement[position] = Array(rendered.dropFirst(min(index, rendered.count)))
                    } else {
                        replacement[position] = index < rendered.count ? [rendered[index]] : []
                    }
                }
            } else if value != directive.defaultValue {
                appended += rendered
            }
        }

        var output: [String] = []
        for (number, line) in lines.enumerated() {
            if let new = replacement[number] { output += new } else { output.append(line) }
        }
        let marker = "# Generated by CONFIG REWRITE"
        if !appended.isEmpty {
            if !output.contains(marker) { output.append(marker) }
            output += appended
        }
        let text = output.joined(separator: "\n") + "\n"
        try writeAtomically(text, to: path)
    }

    /// The lines that set `directive` to `value`.
    static func render(_ directive: Directive, _ value: String) -> [String] {
        switch directive.name {
        case "save":
            let words = value.split(separator: " ")
            if words.isEmpty { return ["save \"\""] }
            return stride(from: 0, to: words.count, by: 2).map { "save \(words[$0]) \(words[$0 + 1])" }
        case "client-output-buffer-limit":
            let words = value.split(separator: " ")
            return stride(from: 0, to: words.count, by: 4).map {
                "client-output-buffer-limit \(words[$0]) \(memoryText(String(words[$0 + 1]))) \(memoryText(String(words[$0 + 2]))) \(words[$0 + 3])"
            }
        case "replicaof":
            return value.isEmpty ? [] : ["replicaof \(value)"]
        default:
            break
        }
        switch directive.kind {
        case .memory, .unsignedMemory:
            return ["\(directive.name) \(memoryText(value))"]
        case .string:
            return ["\(directive.name) \(quoted(value))"]
        case .custom:
            return ["\(directive.name) " + (value.isEmpty ? "\"\"" : value)]
        default:
            return ["\(directive.name) \(value)"]
        }
    }

    static func memoryText(_ value: String) -> String {
        guard let bytes = UInt64(value), bytes > 0 else { return value }
        for (unit, size) in [("gb", UInt64(1) << 30), ("mb", UInt64(1) << 20), ("kb", UInt64(1) << 10)] where bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return value
    }

    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "'") && $0 != UInt8(ascii: "\\") }
        if plain { return value }
        var text = "\""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x0a: text += "\\n"
            case 0x0d: text += "\\r"
            case 0x09: text += "\\t"
            case 0x20 ..< 0x7f: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return text + "\""
    }

    // MARK: Files

    static func readText(_ path: String) -> String? {
        if path == "-" { return readAll(fd: 0) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd: fd)
    }

    private static func readAll(fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 65536) }
            if count < 0 { return nil }
            if count == 0 { break }
            bytes += chunk[0 ..< count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes to a temporary file beside `path`, syncs it and renames it over `path`.
    static func writeAtomically(_ text: String, to path: String) throws(RewriteError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .io(String(cString: strerror(errno))) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw .io(reason)
            }
            offset += written
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io(reason)
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return text
    }
}

extension String {
    var trimmingSpaces: Substring { Substring(self).trimmingSpaces }
}
