"""Live-link repair (REPLICATION.md Part A.2): stream bytes lost or damaged between a Needletail
master and a Needletail replica while the connection stays open are resent from the backlog,
never applied twice and never applied damaged. A real Redis replica of the same master gets the
plain Redis stream."""
import time

import redis

from faulty_proxy import FaultyProxy
from servers import Process, binary
from test_replica import link_up, mixed_writes, needletail
from test_replication import wait_until


def replica_through(proxy, *settings):
    process = needletail(*settings)
    client = redis.Redis(port=process.port)
    client.execute_command("REPLICAOF", "127.0.0.1", proxy.port)
    assert wait_until(lambda: link_up(client))
    return process, client


def counters_equal(master, replica, keys, seconds):
    expected = [master.get(key) for key in keys]
    return wait_until(lambda: [replica.get(key) for key in keys] == expected, seconds)


def test_swallowed_tail_cut_command_and_later_writes_all_converge():
    master_process = needletail()
    proxy = FaultyProxy(master_process.port)
    replica_process, replica = replica_through(proxy)
    try:
        master = redis.Redis(port=master_process.port)
        for _ in range(100):
            master.incr("counter")
        assert counters_equal(master, replica, ["counter"], 5)

        # (a) The tail swallowed, nothing after it: the master sees the ACKs stop short.
        proxy.swallowing = True
        for _ in range(11):
            master.incr("counter")
        time.sleep(0.3)
        proxy.swallowing = False
        assert counters_equal(master, replica, ["counter"], 5)
        assert master.info("replication")["repl_resends"] >= 1

        # (b) The tail swallowed, then more writes: the replica finds the hole in the next frame.
        proxy.swallowing = True
        for _ in range(1000):
            master.incr("counter")
        time.sleep(0.2)
        proxy.swallowing = False
        for _ in range(10000):
            master.incr("other")
        assert counters_equal(master, replica, ["counter", "other"], 5)
        assert replica.info("replication")["repl_holes_detected"] >= 1
        assert proxy.connections == 1, "the link was dropped, not repaired"

        # (c) Bytes cut out of the middle of a command: never applied damaged; a partial resync
        # at worst.
        proxy.cut = (50, 10)
        master.set("value", "x" * 200)
        for _ in range(100):
            master.incr("counter")
        assert counters_equal(master, replica, ["counter", "other", "value"], 10)
        assert master.info("stats")["sync_full"] == 1
        assert replica.execute_command("DEBUG", "DIGEST") == master.execute_command("DEBUG", "DIGEST")
    finally:
        proxy.close()
        replica_process.stop()
        master_process.stop()


def test_random_loss_duplication_and_corruption_under_load():
    """Damage that breaks the framing drops the link (then a partial resync from what was
    applied: the backlog is large enough to hold the whole run); damage the framing survives is
    resent. A handshake whose replies are lost is retried after `repl-timeout`."""
    master_process = needletail("--repl-backlog-size", "64mb")
    proxy = FaultyProxy(master_process.port, seed=7)
    replica_process, replica = replica_through(proxy, "--repl-timeout", "3")
    try:
        master = redis.Redis(port=master_process.port)
        proxy.random = (0.03, 0.03, 0.03)
        deadline = time.time() + 20
        round = 0
        while time.time() < deadline:
            mixed_writes(master, 200, seed=round)
            for _ in range(50):
                master.incr("exact")
            round += 1
        proxy.random = None
        master.set("end", "1")
        assert wait_until(lambda: replica.get("end") == b"1", 20)
        assert counters_equal(master, replica, ["exact"], 10)
        assert wait_until(lambda: replica.execute_command("DEBUG", "DIGEST") == master.execute_command("DEBUG", "DIGEST"), 10)
        # No full resync could have hidden a wrong byte applied on the way.
        assert master.info("stats")["sync_full"] == 1
        assert proxy.damaged > 0
    finally:
        proxy.close()
        replica_process.stop()
        master_process.stop()


def test_a_redis_replica_gets_the_plain_stream():
    """No `capa resend` from Redis: no frames, Redis's behaviour (a swallowed tail is never
    repaired while the link stays up)."""
    master_process = needletail()
    proxy = FaultyProxy(master_process.port)
    replica_process = Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
                                               "--replicaof", "127.0.0.1", str(proxy.port)], "redis")
    try:
        master = redis.Redis(port=master_process.port)
        replica = redis.Redis(port=replica_process.port)
        assert wait_until(lambda: link_up(replica))
        master.set("k", "1")
        assert wait_until(lambda: replica.get("k") == b"1")
        proxy.swallowing = True
        master.set("k", "2")
        time.sleep(0.3)
        proxy.swallowing = False
        time.sleep(3)
        assert replica.get("k") == b"1" and link_up(replica)
        assert master.info("replication")["repl_resends"] == 0
    finally:
        proxy.close()
        replica_process.stop()
        master_process.stop()
