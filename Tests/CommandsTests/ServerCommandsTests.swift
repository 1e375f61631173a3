import Commands
import TestSupport
import Testing

@Suite struct ConnectionCommandsTests {
    @Test func helloChoosesProtocol() {
        let h = Harness()
        #expect(h.raw("HELLO", "3").hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"))
        #expect(h.raw("GET", "nothing") == "_\r\n")
        #expect(h.raw("HELLO", "2").hasPrefix("*14\r\n"))
        #expect(h.raw("GET", "nothing") == "$-1\r\n")
        #expect(h.run("HELLO", "4") == .error("NOPROTO unsupported protocol version"))
        #expect(h.run("HELLO", "abc") == .error("ERR Protocol version is not an integer or out of range"))
        #expect(h.run("HELLO", "3", "foo") == .error("ERR Syntax error in HELLO option 'foo'"))
        #expect(h.run("HELLO", "3", "SETNAME", "bad name") == .error("ERR Client names cannot contain spaces, newlines or special characters."))
        h.run("HELLO", "2", "SETNAME", "worker")
        #expect(h.run("CLIENT", "GETNAME") == .bulk("worker"))
    }

    @Test func pingEchoSelectAuth() {
        let h = Harness()
        #expect(h.run("PING") == .simple("PONG"))
        #expect(h.run("PING", "hi") == .bulk("hi"))
        #expect(h.run("PING", "a", "b") == .error("ERR wrong number of arguments for 'ping' command"))
        #expect(h.run("ECHO", "x") == .bulk("x"))
        #expect(h.run("SELECT", "99") == .error("ERR DB index is out of range"))
        #expect(h.run("SELECT", "abc") == .error("ERR value is not an integer or out of range"))
        #expect(h.run("AUTH", "x") == .error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
        #expect(h.run("AUTH", "default", "anything") == .ok())
        #expect(h.run("AUTH", "a", "b", "c") == .error("ERR syntax error"))
    }

    @Test func clientSubcommands() {
        let h = Harness()
        #expect(h.run("CLIENT", "ID") == .integer(h.session.id))
        #expect(h.run("CLIENT", "GETNAME") == .null)
        #expect(h.run("CLIENT", "SETNAME", "app") == .ok())
        #expect(h.run("CLIENT", "SETINFO", "LIB-NAME", "redis-py") == .ok())
        #expect(h.run("CLIENT", "SETINFO", "LIB-VER", "5.0") == .ok())
        #expect(h.run("CLIENT", "SETINFO", "FOO", "1") == .error("ERR Unrecognized option 'FOO'"))
        let line = h.run("CLIENT", "INFO").text ?? ""
        let fields = line.split(separator: " ").map { String($0.split(separator: "=", maxSplits: 1)[0]) }
        #expect(fields == ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi", "qbuf",
                           "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events", "cmd",
                           "user", "redir", "resp", "lib-name", "lib-ver"])
        #expect(line.contains("name=app ") && line.contains("cmd=client|info ") && line.contains("lib-name=redis-py lib-ver=5.0\n"))
        #expect(h.run("CLIENT", "LIST", "TYPE", "normal").text?.hasPrefix("id=\(h.session.id) ") == true)
        #expect(h.run("CLIENT", "LIST", "TYPE", "foo") == .error("ERR Unknown client type 'foo'"))
        #expect(h.run("CLIENT", "LIST", "ID", "abc") == .error("ERR Invalid client ID"))
        #expect(h.run("CLIENT", "LIST", "ID", "99999") == .bulk(""))
        #expect(h.run("CLIENT", "FOO") == .error("ERR unknown subcommand 'FOO'. Try CLIENT HELP."))
    }
}

@Suite struct ServerCommandsTests {
    @Test func configGetSet() {
        let h = Harness()
        #expect(h.run("CONFIG", "GET", "maxmemory*").elements.map(\.text) == ["maxmemory", "0", "maxmemory-clients", "0",
                                                                              "maxmemory-eviction-tenacity", "10", "maxmemory-policy", "noeviction",
                                                                              "maxmemory-samples", "5"])
        #expect(h.run("CONFIG", "SET", "hz", "abc") == .error("ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"))
        #expect(h.run("CONFIG", "SET", "foo", "bar") == .error("ERR Unknown option or number of arguments for CONFIG SET - 'foo'"))
        #expect(h.run("CONFIG", "SET", "hz", "5", "hz", "6") == .error("ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"))
        #expect(h.run("CONFIG", "SET", "daemonize", "yes") == .error("ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"))
        #expect(h.run("CONFIG", "SET", "hz", "5", "maxmemory") == .error("ERR wrong number of arguments for 'config|set' command"))
        #expect(h.run("CONFIG", "SET", "hz", "1000", "timeout", "10") == .ok())
        #expect(h.run("CONFIG", "GET", "hz", "timeout").elements.map(\.text) == ["hz", "500", "timeout", "10"])
        #expect(h.run("CONFIG", "REWRITE") == .error("ERR The server is running without a config file"))
    }

    @Test func infoSections() {
        let h = Harness()
        let text = h.run("INFO").text ?? ""
        let sections = text.split(separator: "\r\n").filter { $0.hasPrefix("#") }
        #expect(sections == ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules",
                             "# Errorstats", "# Cluster", "# Keyspace"])
        #expect(text.contains("run_id:\(h.server.runID)\r\n"))
        #expect(h.server.runID.count == 40)
        h.run("SET", "k", "v", "EX", "100")
        #expect((h.run("INFO", "keyspace").text ?? "").contains("db0:keys=1,expires=1,avg_ttl=0"))
        #expect((h.run("INFO", "everything").text ?? "").contains("# Commandstats"))
        #expect(h.run("INFO", "nosuchsection") == .bulk(""))
    }

    /// The layers above replace a built-in section where it stands and add their own at the end.
    @Test func infoSectionsFromAbove() {
        let h = Harness()
        h.server.info.register(InfoSection("replication") { _ in [("role", "slave"), ("master_port", "6380")] })
        h.server.info.register(InfoSection("extra", isDefault: false) { c in [("loops", String(c.server.eventLoops))] })
        let text = h.run("INFO").text ?? ""
        #expect(text.contains("# Replication\r\nrole:slave\r\nmaster_port:6380\r\n\r\n# CPU\r\n"))
        #expect(!text.contains("# Extra"))
        #expect(h.run("INFO", "extra", "replication").text == "# Replication\r\nrole:slave\r\nmaster_port:6380\r\n\r\n# Extra\r\nloops:1\r\n")
        #expect((h.run("INFO", "all").text ?? "").hasSuffix("# Extra\r\nloops:1\r\n"))
    }

    /// A family registered by a layer above is dispatched like this module's, table checks included.
    @Test func commandFamiliesFromAbove() {
        let echo = Command("twice", arity: 2, flags: [.fast], summary: "Replies with its argument twice.",
                           handler: { c in c.reply.bulk(c.text(1) + c.text(1)) })
        let h = Harness(families: [[echo]])
        #expect(h.run("TWICE", "ab") == .bulk("abab"))
        #expect(h.run("twice") == .error("ERR wrong number of arguments for 'twice' command"))
        #expect(h.run("COMMAND", "INFO", "twice").elements.first?.elements.first == .bulk("twice"))
        #expect(Harness().run("TWICE", "ab") == .error("ERR unknown command 'TWICE', with args beginning with: 'ab' "))
    }

    @Test func digestsMatchRedisConstruction() {
        let h = Harness(["enable-debug-command": "yes"])
        #expect(h.run("DEBUG", "DIGEST") == .simple(String(repeating: "0", count: 40)))
        h.run("SET", "a", "1")
        h.run("SET", "b", "hello")
        // Values taken from Redis 7.0.15 holding the same data.
        #expect(h.run("DEBUG", "DIGEST") == .simple("2539797405e828ad7a3aa48c536b3eaf2803a421"))
        #expect(h.run("DEBUG", "DIGEST-VALUE", "a", "nokey") == .array([.simple("b4fc66738120fba0b5aa500ab5c2bf89cea1c5da"),
                                                                     .simple(String(repeating: "0", count: 40))]))
        h.run("SET", "tk", "v", "EX", "100")
        #expect(h.run("DEBUG", "DIGEST-VALUE", "tk") == .array([.simple("311b17018163335616e089f6b951c82c477335ac")]))
        #expect(h.run("DEBUG", "POPULATE", "3") == .ok())
        #expect(h.run("GET", "key:2") == .bulk("value:2"))
        #expect(h.run("DEBUG", "POPULATE", "2", "p", "5") == .ok())
        #expect(h.run("GET", "p:1") == .bulk("value"))
        #expect(h.run("DEBUG", "POPULATE", "abc") == .error("ERR value is out of range, must be positive"))
        #expect((h.run("DEBUG", "OBJECT", "b").text ?? "").contains("refcount:1 encoding:embstr serializedlength:6 lru:"))
        #expect(h.run("DEBUG", "FOO") == .error("ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP."))
    }

    @Test func commandIntrospection() {
        let h = Harness()
        let info = h.run("COMMAND", "INFO", "get", "nosuch", "client|id").elements
        #expect(info.count == 3)
        #expect(info[1] == .null)
        let get = info[0].elements
        #expect(get[0] == .bulk("get") && get[1] == .integer(2) && get[2] == .array([.simple("readonly"), .simple("fast")]))
        #expect(get[3] == .integer(1) && get[4] == .integer(1) && get[5] == .integer(1))
        #expect(get[6] == .array([.simple("@read"), .simple("@string"), .simple("@fast")]))
        #expect(h.run("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == .strings("a", "b"))
        #expect(h.run("COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k") == .strings("k"))
        #expect(h.run("COMMAND", "GETKEYS", "PING", "x") == .error("ERR The command has no key arguments"))
        #expect(h.run("COMMAND", "GETKEYS", "GET", "a", "b") == .error("ERR Invalid number of arguments specified for command"))
        #expect(h.run("COMMAND", "GETKEYS", "NOPE", "x") == .error("ERR Invalid command specified"))
        #expect(h.run("COMMAND", "COUNT").integerValue == h.run("COMMAND").elements.count)
        #expect(h.run("COMMAND", "LIST", "FILTERBY", "PATTERN", "bit*").elements.count == 5)
        #expect(h.run("TIME").elements.count == 2)
        #expect(h.run("FUNCTION", "FLUSH") == .ok())
        #expect(h.run("FUNCTION", "FLUSH", "x") == .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"))
    }
}
