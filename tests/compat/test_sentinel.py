"""Needletail under real redis-sentinel processes: the failover runbooks of docs/FAILOVER.md
(sentinel-driven with the pause, and the FAILOVER command), a crash failover, a planned
switchover under a continuous sentinel-aware load, and the replicas' heartbeat holding writes
to min-replicas-to-write while Sentinel watches; no acknowledged write is ever lost."""
import itertools
import os
import shutil

import pytest
import redis

import switchover
from raw import RawClient
from servers import Process, binary
from switchover import sentinel
from test_replica import link_up
from test_replication import wait_until


def needletail(*settings):
    return switchover.server("needletail", "--enable-debug-command", "yes", *settings)


def test_sentinel_failover_runbook():
    master_process = needletail()
    replica_process = needletail("--replicaof", "127.0.0.1", str(master_process.port))
    sentinels = []
    try:
        master = redis.Redis(port=master_process.port)
        replica = redis.Redis(port=replica_process.port)
        assert wait_until(lambda: link_up(replica))
        sentinels = [sentinel(master_process.port) for _ in range(3)]
        watchers = [redis.Redis(port=process.port, decode_responses=True) for process in sentinels]

        def sees_everyone(watcher):
            replicas = watcher.execute_command("SENTINEL", "REPLICAS", "mymaster")
            others = watcher.execute_command("SENTINEL", "SENTINELS", "mymaster")
            return len(replicas) == 1 and len(others) == 2
        assert wait_until(lambda: all(sees_everyone(w) for w in watchers), 30)

        for i in range(1000):
            master.set(f"key:{i}", i)
        master.incr("counter")

        # The runbook (docs/FAILOVER.md), with a write that arrives during the pause.
        assert master.execute_command("CLIENT", "PAUSE", 30000, "WRITE")
        held = RawClient(master_process.port)
        held.send_raw(RawClient.encode(["INCR", "counter"]))
        def caught_up():
            return replica.info("replication")["slave_repl_offset"] == master.info("replication")["master_repl_offset"]
        assert wait_until(caught_up, 10)
        assert watchers[0].execute_command("SENTINEL", "FAILOVER", "mymaster") in ("OK", True)
        new_master = ["127.0.0.1", str(replica_process.port)]
        assert wait_until(lambda: all(w.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster") == new_master
                                      for w in watchers), 30)
        assert replica.execute_command("ROLE")[0] == b"master"
        # Demoted before the pause ends: the held write is refused, never acknowledged and lost.
        assert master.execute_command("REPLICAOF", "127.0.0.1", replica_process.port)
        assert master.execute_command("CLIENT", "UNPAUSE")
        assert held.read_reply() == b"-READONLY You can't write against a read only replica.\r\n"
        held.close()

        # The old master follows the new one (Sentinel agrees with what it finds).
        def following():
            role = master.execute_command("ROLE")
            return role[0] == b"slave" and role[2] == replica_process.port and role[3] == b"connected"
        assert wait_until(following, 40)
        assert replica.get("counter") == b"1" and replica.get("key:999") == b"999"
        replica.incr("counter")
        assert wait_until(lambda: master.get("counter") == b"2", 10)
        assert replica.info("replication")["connected_slaves"] == 1
    finally:
        for process in sentinels:
            process.stop()
        replica_process.stop()
        master_process.stop()


def test_failover_command():
    """FAILOVER hands the role to a replica: writes issued meanwhile are postponed, then meet
    -READONLY on the old master; its errors are Redis's; a replica that never catches up within
    TIMEOUT ends it with the old master still master."""
    import signal
    master_process = needletail()
    replica_process = needletail("--replicaof", "127.0.0.1", str(master_process.port))
    try:
        master = redis.Redis(port=master_process.port)
        replica = redis.Redis(port=replica_process.port)
        assert wait_until(lambda: link_up(replica))
        raw = RawClient(master_process.port)
        port = str(replica_process.port)
        assert raw.command("FAILOVER", "ABORT") == b"-ERR No failover in progress.\r\n"
        assert raw.command("FAILOVER", "TIMEOUT", "0") == b"-ERR FAILOVER timeout must be greater than 0\r\n"
        assert raw.command("FAILOVER", "FORCE") == b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"
        assert raw.command("FAILOVER", "TO", "127.0.0.1", "1") == b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n"
        assert raw.command("FAILOVER", "NOW") == b"-ERR syntax error\r\n"
        assert RawClient(replica_process.port).command("FAILOVER") == b"-ERR FAILOVER is not valid when server is a replica.\r\n"

        # A replica that cannot catch up: the failover gives up at its timeout, writes go on.
        replica_process.process.send_signal(signal.SIGSTOP)
        try:
            # A deadline past the clock's range is no deadline, not a crash.
            assert raw.command("FAILOVER", "TO", "127.0.0.1", port, "TIMEOUT", "9223372036854775807") == b"+OK\r\n"
            assert raw.command("FAILOVER", "ABORT") == b"+OK\r\n"
            master.incr("counter")
            assert raw.command("FAILOVER", "TO", "127.0.0.1", port, "TIMEOUT", "1500") == b"+OK\r\n"
            assert master.info("replication")["master_failover_state"] == "waiting-for-sync"
            assert raw.command("REPLICAOF", "NO", "ONE") == b"-ERR REPLICAOF not allowed while failing over.\r\n"
            assert raw.command("FAILOVER") == b"-ERR FAILOVER already in progress.\r\n"
            assert wait_until(lambda: master.info("replication")["master_failover_state"] == "no-failover", 5)
            assert f"FAILOVER to 127.0.0.1:{port} aborted: Replica never caught up before timeout" in master_process.log()
            assert master.incr("counter") == 2
        finally:
            replica_process.process.send_signal(signal.SIGCONT)
        assert wait_until(lambda: replica.get("counter") == b"2")

        # The handover: a write sent during it is held, or (once this server follows the target)
        # refused at once; either way it meets -READONLY, never an acknowledgement.
        assert raw.command("FAILOVER", "TO", "127.0.0.1", port) == b"+OK\r\n"
        late = RawClient(master_process.port)
        late.send_raw(RawClient.encode(["INCR", "counter"]))
        assert late.read_reply() == b"-READONLY You can't write against a read only replica.\r\n"
        assert wait_until(lambda: replica.execute_command("ROLE")[0] == b"master")
        role = master.execute_command("ROLE")
        assert role[0] == b"slave" and role[2] == replica_process.port
        assert wait_until(lambda: master.execute_command("ROLE")[3] == b"connected")
        assert master.info("replication")["master_failover_state"] == "no-failover"
        stats = replica.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (0, 1)
        assert replica.incr("counter") == 3
        assert wait_until(lambda: master.get("counter") == b"3")
        raw.close()
        late.close()
    finally:
        replica_process.stop()
        master_process.stop()


def test_crash_failover_loses_no_write_acknowledged_by_a_replica():
    """kill -9 of the master under writes that each wait for a replica (WAIT 1 100): the
    sentinels promote a replica, writes go on through a sentinel-aware client, no write that WAIT
    counted is lost, and the killed master, restarted, is converted and catches up."""
    import servers

    def restart_the_old_master(cluster):
        # It comes back on its port: Sentinel turns it into a replica, and it catches up.
        original, old_port = servers.free_port, cluster.master_process.port
        servers.free_port = lambda: old_port
        try:
            cluster.node()
        finally:
            servers.free_port = original
        old = redis.Redis(port=old_port)

        # The master is the one the sentinels name now: under down-after 1000 on a loaded machine a
        # sentinel can take the promoted replica for down too and fail over a second time.
        def converted():
            role = old.execute_command("ROLE")
            return role[0] == b"slave" and role[3] == b"connected" and role[2] == cluster.agreed_master()
        # Sentinel converts a returning master after it has reported its role for 8 s, at its
        # next INFO (every 10 s for a replica): up to ~20 s, longer if a sentinel tilts.
        if not wait_until(converted, 90):
            tails = [f"--- {p.name} {p.port}\n" + p.log()[-3000:] for p in cluster.sentinels + cluster.processes]
            raise AssertionError(f"not converted: ROLE {old.execute_command('ROLE')}\n" + "\n".join(tails))
        new_master = redis.Redis(port=cluster.agreed_master())
        new_master.set("last", "1")
        assert wait_until(lambda: old.info("replication")["slave_repl_offset"] == new_master.info("replication")["master_repl_offset"], 10)
        assert old.execute_command("DEBUG", "DIGEST") == new_master.execute_command("DEBUG", "DIGEST")

    resumed, acknowledged, lost = switchover.crash("needletail", then=restart_the_old_master)
    print(f"crash failover: writes accepted again after {resumed:.1f} s; {acknowledged} counted by WAIT, none lost")
    assert lost == []
    assert acknowledged > 200


@pytest.mark.parametrize("method", ["failover", "sentinel"])
def test_planned_switchover_under_load_loses_no_acknowledged_write(method):
    """A sentinel-aware client writes without pause through either runbook (docs/FAILOVER.md):
    every write it saw acknowledged is on the new master, and the load goes on there.
    bench/failover.py compares the unavailability window with redis-server's."""
    window, acknowledged, lost = switchover.run("needletail", method)
    print(f"{method}: {acknowledged} writes acknowledged, none lost; longest gap {window:.3f} s")
    assert lost == []
    assert acknowledged > 1000


def test_a_stopped_replica_stops_writes_under_min_replicas_to_write():
    """kill -STOP of one of two replicas while three sentinels watch: its lag rises in the
    master's INFO, writes meet -NOREPLICAS (min-replicas-to-write 2, max-lag 2), the master is
    still no sentinel's failover candidate, and after kill -CONT writes are accepted again."""
    import signal
    master_process = needletail("--min-replicas-to-write", "2", "--min-replicas-max-lag", "2")
    replicas = [needletail("--replicaof", "127.0.0.1", str(master_process.port)) for _ in range(2)]
    sentinels = []
    try:
        master = redis.Redis(port=master_process.port)
        assert wait_until(lambda: master.info("replication")["connected_slaves"] == 2, 20)
        assert master.set("before", 1)
        sentinels = [sentinel(master_process.port) for _ in range(3)]
        watchers = [redis.Redis(port=process.port, decode_responses=True) for process in sentinels]
        assert wait_until(lambda: all(len(w.execute_command("SENTINEL", "REPLICAS", "mymaster")) == 2 for w in watchers), 30)
        stopped = replicas[1]
        stopped.process.send_signal(signal.SIGSTOP)
        try:
            def lag_of_stopped():
                info = master.info("replication")
                entry = next(info[k] for k in info if k.startswith("slave") and isinstance(info[k], dict)
                             and info[k]["port"] == stopped.port)
                return entry["lag"]
            assert wait_until(lambda: lag_of_stopped() >= 3, 10)
            first = lag_of_stopped()
            assert wait_until(lambda: lag_of_stopped() > first, 5)
            raw = RawClient(master_process.port)
            assert raw.command("SET", "during", "1") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
            assert raw.command("GET", "before") == b"$1\r\n1\r\n"
            raw.close()
            state = watchers[0].sentinel_master("mymaster")
            assert state["is_master"] and not state["is_sdown"] and not state["is_odown"]
        finally:
            stopped.process.send_signal(signal.SIGCONT)

        def writable():
            try:
                return master.set("after", 1)
            except redis.ResponseError:
                return False
        assert wait_until(writable, 5)
        assert master.get("during") is None
        assert wait_until(lambda: redis.Redis(port=stopped.port).get("after") == b"1")
    finally:
        for process in sentinels + replicas + [master_process]:
            process.stop()



def configured(directory, *lines):
    """Needletail started from a config file of its own in `directory`, which outlives the
    process (CONFIG REWRITE writes it; a restart reads it)."""
    path = os.path.join(directory, "needletail.conf")

    def argv(port, _):
        if not os.path.exists(path):
            with open(path, "w") as conf:
                conf.write("".join(line + "\n" for line in
                                   [f"port {port}", f"dir {directory}", 'save ""', "repl-diskless-sync-delay 0", *lines]))
        return [binary(), path]
    return Process(argv, "needletail")


def test_what_sentinel_relies_on():
    """Three sentinels with down-after-milliseconds 1000: each keeps a named command link and a
    pub/sub link to every node; their hellos reach subscribers on a read-only replica (published
    there, and propagated from the master); a heavy pipelined load on the master never makes a
    sentinel think it down; and after SENTINEL FAILOVER, the MULTI/SLAVEOF/CONFIG REWRITE block
    leaves each node's config file naming its role, so the old master, restarted, comes back as a
    replica of the new one."""
    import subprocess
    import tempfile
    import time
    import servers
    directories = [tempfile.mkdtemp(prefix="compat-conf-") for _ in range(2)]
    master_process = configured(directories[0])
    replica_process = configured(directories[1], f"replicaof 127.0.0.1 {master_process.port}")
    sentinels, restarted = [], None
    try:
        master, replica = redis.Redis(port=master_process.port), redis.Redis(port=replica_process.port)
        assert wait_until(lambda: link_up(replica))
        sentinels = [sentinel(master_process.port, down_after=1000) for _ in range(3)]
        watchers = [redis.Redis(port=p.port, decode_responses=True) for p in sentinels]
        assert wait_until(lambda: all(len(w.execute_command("SENTINEL", "REPLICAS", "mymaster")) == 1
                                      and len(w.execute_command("SENTINEL", "SENTINELS", "mymaster")) == 2 for w in watchers), 30)

        for node in (master, replica):
            names = [(c["name"], c["cmd"], c["sub"]) for c in node.client_list() if c["name"].startswith("sentinel-")]
            assert sorted(kind for kind in (n.rsplit("-", 1)[1] for n, _, _ in names)) == ["cmd"] * 3 + ["pubsub"] * 3
            assert all(sub == "1" for n, _, sub in names if n.endswith("-pubsub"))
        listener = replica.pubsub()
        listener.subscribe("__sentinel__:hello")
        senders, deadline = set(), time.time() + 10
        while len(senders) < 3 and time.time() < deadline:
            message = listener.get_message(timeout=0.5)
            if message and message["type"] == "message":
                senders.add(message["data"].split(b",")[2])
        assert len(senders) == 3
        # PUBLISH on the master is propagated: a subscriber on the replica gets it too.
        listener.subscribe("probe")
        messages = iter(lambda: listener.get_message(timeout=0.5), "never")
        assert any(m and m["type"] == "subscribe" and m["channel"] == b"probe" for m in itertools.islice(messages, 20))
        assert master.publish("probe", "through the stream") == 0  # no subscriber on the master
        assert any(m and m["channel"] == b"probe" and m["data"] == b"through the stream"
                   for m in itertools.islice(messages, 20))
        listener.close()

        # A load that keeps the loop busy: PINGs are still answered within down-after.
        load = subprocess.run(["redis-benchmark", "-p", str(master_process.port), "-c", "50", "-P", "64", "-n", "3000000",
                               "-r", "100000", "-t", "set,lpush", "-q"], capture_output=True, timeout=120)
        assert load.returncode == 0
        assert all(not w.sentinel_master("mymaster")["is_sdown"] for w in watchers)
        assert all("+sdown master" not in p.log() and "+sdown slave" not in p.log() for p in sentinels)

        assert watchers[0].execute_command("SENTINEL", "FAILOVER", "mymaster")
        new = ["127.0.0.1", str(replica_process.port)]
        assert wait_until(lambda: all(w.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster") == new
                                      for w in watchers), 30)
        # Sentinel converts the old master and rewrites its file; the promoted one's loses replicaof.
        assert wait_until(lambda: master.execute_command("ROLE")[0] == b"slave", 30)
        with open(os.path.join(directories[0], "needletail.conf")) as conf:
            assert f"replicaof 127.0.0.1 {replica_process.port}" in conf.read()
        with open(os.path.join(directories[1], "needletail.conf")) as conf:
            assert "replicaof" not in conf.read()
        replica.set("after", "failover")

        old_port = master_process.port
        master_process.stop()
        original = servers.free_port
        servers.free_port = lambda: old_port
        try:
            restarted = configured(directories[0])
        finally:
            servers.free_port = original
        role = master.execute_command("ROLE")
        assert role[0] == b"slave" and role[2] == replica_process.port
        assert wait_until(lambda: master.get("after") == b"failover")
    finally:
        for process in sentinels + [replica_process, master_process] + ([restarted] if restarted else []):
            process.stop()
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)
