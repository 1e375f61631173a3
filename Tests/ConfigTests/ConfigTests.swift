import Config
import Foundation
import Testing

@Suite struct ConfigTests {
    @Test func memoryValues() {
        #expect(ConfigValues.memory("1024") == 1024)
        #expect(ConfigValues.memory("1k") == 1000)
        #expect(ConfigValues.memory("1KB") == 1024)
        #expect(ConfigValues.memory("2gb") == 2 << 30)
        #expect(ConfigValues.memory("5m") == 5_000_000)
        for bad in ["-1", "1.5gb", "100tb", "1 kb", "99999999999999999999"] { #expect(ConfigValues.memory(bad) == nil, "\(bad)") }
        // No digits at all is 0 to Redis's parser.
        #expect(ConfigValues.memory("") == 0)
        #expect(ConfigValues.memory("kb") == 0)
    }

    @Test func directivesValidateAsRedisDoes() throws {
        let config = Configuration()
        let hz = config.directive(named: "hz")!
        #expect(try hz.canonical(["1000"], previous: "10") == "500")
        #expect(throws: ConfigError.invalid("argument couldn't be parsed into an integer")) { try hz.canonical(["abc"], previous: "10") }
        let port = config.directive(named: "port")!
        #expect(throws: ConfigError.outOfRange(0 ... 65535)) { try port.canonical(["99999"], previous: "6379") }
        let policy = config.directive(named: "maxmemory-policy")!
        #expect(try policy.canonical(["ALLKEYS-LRU"], previous: "") == "allkeys-lru")
        let appendonly = config.directive(named: "appendonly")!
        #expect(throws: ConfigError.invalid("argument must be 'yes' or 'no'")) { try appendonly.canonical(["maybe"], previous: "no") }
        #expect(config.directive(named: "slave-read-only")?.name == "replica-read-only")
        #expect(config.directive(named: "io-threads")?.name == "threads")
    }

    @Test func keyspaceEventsPrintCanonically() throws {
        let events = Configuration().directive(named: "notify-keyspace-events")!
        #expect(try events.canonical(["KEA"], previous: "") == "AKE")
        #expect(try events.canonical(["Egx"], previous: "") == "gxE")
        #expect(try events.canonical(["nmKlg"], previous: "") == "glnKm")
        #expect(throws: ConfigError.self) { try events.canonical(["Q"], previous: "") }
    }

    @Test func outputBufferLimitsMergePerClass() throws {
        let limits = Configuration().directive(named: "client-output-buffer-limit")!
        let value = try limits.canonical(["pubsub 64mb 16mb 90"], previous: limits.defaultValue)
        #expect(value == "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 90")
    }

    @Test func fileWithIncludeQuotesAndCommandLineOverrides() throws {
        let directory = NSTemporaryDirectory() + "needletail-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "maxclients 77\n".write(toFile: directory + "/extra.conf", atomically: true, encoding: .utf8)
        try """
        # A comment
        port 7000
        save 900 1
        save 300 10
        requirepass "with space"
        include \(directory)/extra.conf
        """.write(toFile: directory + "/main.conf", atomically: true, encoding: .utf8)
        let config = Configuration(file: directory + "/main.conf")
        try ConfigFile.load(try ConfigFile.read(directory + "/main.conf") + ConfigFile.commandLine(["--port", "7001", "--loglevel", "warning"]), into: config)
        #expect(config["port"] == "7001")
        #expect(config["save"] == "900 1 300 10")
        #expect(config["requirepass"] == "with space")
        #expect(config["maxclients"] == "77")
        #expect(config["loglevel"] == "warning")
    }

    @Test func badLinesStopTheLoadNamingFileLineAndReason() throws {
        let lines = try ConfigFile.parse("port 6379\nnot-a-directive 1\n", source: "/etc/x.conf")
        do {
            try ConfigFile.load(lines, into: Configuration())
            Issue.record("load should fail")
        } catch {
            #expect(error.line?.number == 2)
            #expect(error.description.contains("/etc/x.conf, at line 2"))
            #expect(error.description.contains(">>> 'not-a-directive 1'"))
            #expect(error.description.contains("Bad directive or wrong number of arguments"))
        }
        #expect(throws: ConfigLoadError.self) { try ConfigFile.load(try ConfigFile.parse("port abc\n", source: "x"), into: Configuration()) }
        #expect(throws: ConfigLoadError.self) { try ConfigFile.load(try ConfigFile.parse("daemonize yes\n", source: "x"), into: Configuration()) }
        #expect(throws: ConfigLoadError.self) { try ConfigFile.parse("requirepass \"open\n", source: "x") }
    }

    /// A setting Needletail cannot honour is refused at start and at CONFIG SET, never ignored.
    @Test func unsupportedValuesAreRefused() throws {
        #expect(throws: Never.self) { try ConfigFile.load(try ConfigFile.parse("maxmemory-clients 0\n", source: "x"), into: Configuration()) }
        do {
            try ConfigFile.load(try ConfigFile.parse("maxmemory-clients 10%\n", source: "x"), into: Configuration())
            Issue.record("maxmemory-clients 10% was accepted")
        } catch {
            #expect(error.description.contains("'maxmemory-clients 10%': client eviction is not supported yet"))
        }
        let config = Configuration()
        #expect(throws: Configuration.SetFailure(name: "maxmemory-clients", cause: .rejected(.invalid("'maxmemory-clients 1048576': client eviction is not supported yet")))) {
            try config.set([("maxmemory-clients", "1mb")])
        }
        #expect(throws: Configuration.SetFailure(name: "activedefrag", cause: .rejected(.invalid("'activedefrag yes': active defragmentation is not supported")))) {
            try config.set([("activedefrag", "yes")])
        }
        #expect(config["maxmemory-clients"] == "0")
    }

    @Test func setIsAtomicAndRollsBackWhenAnObserverRefuses() {
        let config = Configuration()
        config.observe("port") { value throws(ConfigError) in
            if value == "1" { throw .invalid("Failed to bind to specified addresses.") }
        }
        #expect(throws: Configuration.SetFailure(name: "port", cause: .rejected(.invalid("Failed to bind to specified addresses.")))) {
            try config.set([("hz", "20"), ("port", "1")])
        }
        #expect(config["hz"] == "10")
        #expect(config["port"] == "6379")
        #expect(throws: Configuration.SetFailure(name: "hz", cause: .duplicate)) { try config.set([("hz", "5"), ("hz", "6")]) }
        #expect(throws: Configuration.SetFailure(name: "daemonize", cause: .rejected(.immutable))) { try config.set([("daemonize", "no")]) }
        #expect(throws: Configuration.SetFailure(name: "dir", cause: .rejected(.protected))) { try config.set([("dir", "/tmp")]) }
        #expect(throws: Configuration.SetFailure(name: "nope", cause: .unknown)) { try config.set([("nope", "1")]) }
        #expect(throws: Never.self) { try config.set([("hz", "20"), ("maxmemory", "1gb")]) }
        #expect(config["maxmemory"] == String(1 << 30))
    }

    @Test func rewriteKeepsCommentsAndUnknownLinesAndAppendsChanges() throws {
        let path = NSTemporaryDirectory() + "needletail-rewrite-\(UUID().uuidString).conf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "# keep me\nport 7000\nhz 10\nhz 11\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = Configuration(file: path)
        try ConfigFile.load(try ConfigFile.read(path), into: config)
        try config.set([("port", "7002"), ("maxmemory", "2mb"), ("save", "")])
        try ConfigFile.rewrite(config)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "# keep me\nport 7002\nhz 11\n# Generated by CONFIG REWRITE\nmaxmemory 2mb\nsave \"\"\n")
        let reloaded = Configuration(file: path)
        try ConfigFile.load(try ConfigFile.read(path), into: reloaded)
        #expect(reloaded["maxmemory"] == String(2 << 20))
        #expect(reloaded["save"] == "")
    }

    @Test func processTitleTemplatesExpandAsRedisExpandsThem() {
        let values = ["title": "needletail", "listen-addr": "127.0.0.1:6379", "server-mode": "", "port": "6379"]
        func expand(_ template: String) -> String? { ProcessTitle.expand(template, { values[$0] ?? "" }) }
        #expect(expand("{title} {listen-addr} {server-mode}") == "needletail 127.0.0.1:6379")
        #expect(expand("  {{{port}} a}b ") == "{6379} a}b")
        #expect(expand("{bogus}") == nil)
        #expect(expand("{title") == nil)
        #expect(expand("x{") == nil)
        #expect(expand("") == "")
    }
}
