import TestSupport
import Testing

@Suite struct DispatcherTests {
    @Test func unknownCommandsAndArity() {
        let h = Harness()
        #expect(h.run("FOO", "bar", "baz") == .error("ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "))
        #expect(h.run("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(h.run("CONFIG") == .error("ERR wrong number of arguments for 'config' command"))
        #expect(h.run("CONFIG", "FOO") == .error("ERR unknown subcommand 'FOO'. Try CONFIG HELP."))
        #expect(h.run("CONFIG", "GET") == .error("ERR wrong number of arguments for 'config|get' command"))
        #expect(h.run("get", "x") == .null)
        #expect(h.run("GeT", "x") == .null)
    }

    @Test func authenticationGate() {
        let h = Harness(["requirepass": "secret"])
        #expect(h.run("GET", "x") == .error("NOAUTH Authentication required."))
        #expect(h.run("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(h.run("HELLO", "3") == .error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"))
        #expect(h.run("AUTH", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(h.run("AUTH", "default", "secret") == .ok())
        #expect(h.run("GET", "x") == .null)
        #expect(h.run("RESET") == .simple("RESET"))
        #expect(h.run("GET", "x") == .error("NOAUTH Authentication required."))
    }

    @Test func commandStatisticsCountCallsRejectionsAndFailures() {
        let h = Harness()
        h.run("SET", "k", "v")
        h.run("GET")
        h.run("INCR", "k")
        let info = h.run("INFO", "commandstats").text ?? ""
        #expect(info.contains("cmdstat_set:calls=1,"))
        #expect(info.contains("cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"))
        #expect(info.contains("cmdstat_incr:calls=1,") && info.contains("failed_calls=1"))
        let errors = h.run("INFO", "errorstats").text ?? ""
        #expect(errors.contains("errorstat_ERR:count=2"))
        #expect(h.run("CONFIG", "RESETSTAT") == .ok())
        #expect(!(h.run("INFO", "commandstats").text ?? "").contains("cmdstat_set"))
    }

    @Test func debugIsGatedByConfiguration() {
        #expect(Harness().run("DEBUG", "SLEEP", "0") == .error("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."))
        #expect(Harness(["enable-debug-command": "local"]).run("DEBUG", "SLEEP", "0") == .ok())
    }
}
