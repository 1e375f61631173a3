import Commands
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

/// The server states that refuse commands before they run, checked in Redis's order; each gate
/// is closed here as its owner (memory limit, snapshots, replication, loading) will close it.
@Suite struct AdmissionGateTests {
    @Test func eachGateRefusesWhatRedisRefuses() {
        let cases: [(AdmissionGates, refused: [[String]], admitted: [[String]], error: String)] = [
            (.diskWriteError, [["SET", "k", "v"], ["DEL", "k"], ["PING"]], [["GET", "k"], ["INFO", "server"]],
             "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."),
            (.notEnoughReplicas, [["SET", "k", "v"], ["DEL", "k"]], [["GET", "k"], ["PING"], ["PUBLISH", "c", "m"]],
             "NOREPLICAS Not enough good replicas to write."),
            (.readOnlyReplica, [["SET", "k", "v"], ["FLUSHALL"]], [["GET", "k"], ["PING"]],
             "READONLY You can't write against a read only replica."),
            (.masterDown, [["GET", "k"], ["SET", "k", "v"], ["PING"]], [["INFO", "replication"], ["CONFIG", "GET", "port"], ["HELLO"]],
             "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
            (.loading, [["GET", "k"], ["SET", "k", "v"], ["PING"]], [["TIME"], ["INFO", "persistence"], ["CONFIG", "GET", "port"]],
             "LOADING Redis is loading the dataset in memory"),
        ]
        for (gate, refused, admitted, error) in cases {
            let h = Harness()
            h.server.set(gate, closed: true)
            for arguments in refused {
                #expect(h.run(arguments.map { Array($0.utf8) }) == .error(error), "\(arguments) with \(gate)")
            }
            for arguments in admitted {
                #expect(h.run(arguments.map { Array($0.utf8) }).errorMessage == nil, "\(arguments) with \(gate)")
            }
            h.server.set(gate, closed: false)
            #expect(h.run("SET", "k", "v") == .ok())
        }
    }

    @Test func theOrderIsRedisProcessCommandOrder() {
        let h = Harness()
        h.server.set([.diskWriteError, .notEnoughReplicas, .readOnlyReplica, .masterDown, .loading], closed: true)
        #expect(h.run("CONFIG", "SET", "maxmemory", "1") == .ok())
        #expect(h.run("SET", "k", "v").errorMessage?.hasPrefix("OOM ") == true, "OOM first")
        #expect(h.run("CONFIG", "SET", "maxmemory", "0") == .ok())
        let order = ["MISCONF", "NOREPLICAS", "READONLY", "MASTERDOWN", "LOADING"]
        let gates: [AdmissionGates] = [.diskWriteError, .notEnoughReplicas, .readOnlyReplica, .masterDown, .loading]
        for (prefix, gate) in zip(order, gates) {
            #expect(h.run("SET", "k", "v").errorMessage?.hasPrefix(prefix + " ") == true, "\(prefix) first")
            h.server.set(gate, closed: false)
        }
        #expect(h.run("SET", "k", "v") == .ok())
    }

    /// The master's stream is applied on a read-only replica and despite a failed snapshot.
    @Test func theMasterIsObeyed() {
        let h = Harness()
        h.session.flags.insert(.master)
        h.server.set([.readOnlyReplica, .diskWriteError], closed: true)
        #expect(h.run("SET", "k", "v") == .ok())
        h.server.set(.notEnoughReplicas, closed: true)
        #expect(h.run("SET", "k", "v") == .error("NOREPLICAS Not enough good replicas to write."))
    }

    /// EXEC is refused as its queue would be: a write when one queued command writes, and not
    /// while loading when one queued command may not run while loading.
    @Test func execIsJudgedByItsQueue() {
        let h = Harness()
        #expect(h.run("MULTI") == .ok())
        #expect(h.run("GET", "k") == .simple("QUEUED"))
        #expect(h.run("PING") == .simple("QUEUED"))
        h.server.set(.notEnoughReplicas, closed: true)
        #expect(h.run("EXEC") == .array([.null, .simple("PONG")]))
        #expect(h.run("MULTI") == .ok())
        #expect(h.run("INCR", "n") == .error("NOREPLICAS Not enough good replicas to write."))
        #expect(h.run("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        h.server.set(.notEnoughReplicas, closed: false)
        #expect(h.run("MULTI") == .ok())
        #expect(h.run("INCR", "n") == .simple("QUEUED"))
        h.server.set(.notEnoughReplicas, closed: true)
        #expect(h.run("EXEC") == .error("EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write."))
        h.server.set(.notEnoughReplicas, closed: false)
        #expect(h.run("MULTI") == .ok())
        #expect(h.run("GET", "k") == .simple("QUEUED"))
        h.server.set(.loading, closed: true)
        #expect(h.run("EXEC") == .error("EXECABORT Transaction discarded because of: LOADING Redis is loading the dataset in memory"))
        #expect(h.run("MULTI") == .ok())
        #expect(h.run("TIME") == .simple("QUEUED"))
        #expect(h.run("EXEC").elements.count == 1)
    }
}
