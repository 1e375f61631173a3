"""A planned switchover under a continuous write load, with real processes: a master, two
replicas, three redis-sentinel, and a sentinel-aware redis-py client (`Sentinel.master_for`)
writing unique keys without pause. The same scenario runs against Needletail
(tests/compat/test_sentinel.py asserts that no acknowledged write is lost) and against
redis-server (bench/failover.py compares the write-unavailability windows).

Two runbooks (docs/FAILOVER.md):
- "sentinel": CLIENT PAUSE WRITE on the master, replicas caught up, SENTINEL FAILOVER, every
  sentinel reports the new master, the old master demoted by hand, CLIENT UNPAUSE;
- "failover": FAILOVER on the master (writes held until a caught-up replica took over), then
  each sentinel told of the new master (SENTINEL REMOVE / MONITOR) and the other replica
  repointed."""
import os
import threading
import time

import redis
from redis.sentinel import Sentinel

from servers import Process, binary

NAME = "mymaster"
# Long enough that no sentinel takes the planned switch for a crash.
DOWN_AFTER = 5000
FAILOVER_TIMEOUT = 15000


def wait_until(condition, seconds=10, step=0.01):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def sentinel(master_port, down_after=DOWN_AFTER):
    def argv(port, directory):
        with open(os.path.join(directory, "sentinel.conf"), "w") as conf:
            conf.write(f"port {port}\nsentinel monitor {NAME} 127.0.0.1 {master_port} 2\n"
                       f"sentinel down-after-milliseconds {NAME} {down_after}\n"
                       f"sentinel failover-timeout {NAME} {FAILOVER_TIMEOUT}\n")
        return ["redis-sentinel", os.path.join(directory, "sentinel.conf")]
    return Process(argv, "sentinel")


def server(kind, *settings):
    program = [binary()] if kind == "needletail" else ["redis-server", "--appendonly", "no"]
    return Process(lambda port, d: [*program, "--port", str(port), "--dir", d, "--save", "",
                                    "--repl-diskless-sync-delay", "0", *settings], kind)


class Writer(threading.Thread):
    """SET w:<i> <i> through the sentinel-aware client, one after another; every acknowledged
    write and when it was acknowledged."""

    def __init__(self, sentinel_ports):
        super().__init__(daemon=True)
        self.client = Sentinel([("127.0.0.1", p) for p in sentinel_ports], socket_timeout=0.5).master_for(
            NAME, socket_timeout=0.5)
        self.acknowledged = []
        self.failures = 0
        self.stopping = threading.Event()

    def run(self):
        i = 0
        while not self.stopping.is_set():
            try:
                self.client.set(f"w:{i}", i)
                self.acknowledged.append((i, time.monotonic()))
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                self.failures += 1
                time.sleep(0.002)
            i += 1

    def window(self):
        """The longest time between two acknowledged writes: how long no write got through."""
        times = [t for _, t in self.acknowledged]
        return max(b - a for a, b in zip(times, times[1:]))


def new_master_address(watcher):
    host, port = watcher.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
    return host, int(port)


def switch_with_sentinel(master, replicas, watchers):
    assert master.execute_command("CLIENT", "PAUSE", 30000, "WRITE")
    offset = lambda: master.info("replication")["master_repl_offset"]
    assert wait_until(lambda: all(r.info("replication")["slave_repl_offset"] == offset() for r in replicas))
    old = new_master_address(watchers[0])
    assert watchers[0].execute_command("SENTINEL", "FAILOVER", NAME)
    assert wait_until(lambda: new_master_address(watchers[0]) != old, 30)
    new = new_master_address(watchers[0])
    assert wait_until(lambda: all(new_master_address(w) == new for w in watchers), 30)
    assert master.execute_command("REPLICAOF", *new)
    assert master.execute_command("CLIENT", "UNPAUSE")
    return new


def switch_with_failover(master, replicas, watchers):
    assert master.execute_command("FAILOVER")
    assert wait_until(lambda: master.info("replication")["master_failover_state"] == "no-failover"
                      and master.execute_command("ROLE")[0] == b"slave")
    role = master.execute_command("ROLE")
    new = (role[1].decode(), int(role[2]))
    for watcher in watchers:
        assert watcher.execute_command("SENTINEL", "REMOVE", NAME)
        assert watcher.execute_command("SENTINEL", "MONITOR", NAME, *new, 2)
        assert watcher.execute_command("SENTINEL", "SET", NAME, "down-after-milliseconds", DOWN_AFTER,
                                       "failover-timeout", FAILOVER_TIMEOUT)
    for replica in replicas:
        if replica.connection_pool.connection_kwargs["port"] != new[1]:
            assert replica.execute_command("REPLICAOF", *new)
    return new


def run(kind, method, before=1.0, after=1.5):
    """The switchover of `method` on servers of `kind` under the load. Returns (window in
    seconds, acknowledged writes, acknowledged writes missing on the new master)."""
    master_process = server(kind)
    replica_processes = [server(kind, "--replicaof", "127.0.0.1", str(master_process.port)) for _ in range(2)]
    sentinels, writer = [], None
    try:
        master = redis.Redis(port=master_process.port)
        replicas = [redis.Redis(port=p.port) for p in replica_processes]
        assert wait_until(lambda: all(r.info("replication").get("master_link_status") == "up" for r in replicas), 20)
        sentinels = [sentinel(master_process.port) for _ in range(3)]
        watchers = [redis.Redis(port=p.port, decode_responses=True) for p in sentinels]
        assert wait_until(lambda: all(len(w.execute_command("SENTINEL", "REPLICAS", NAME)) == 2
                                      and len(w.execute_command("SENTINEL", "SENTINELS", NAME)) == 2 for w in watchers), 30)
        writer = Writer([p.port for p in sentinels])
        writer.start()
        time.sleep(before)
        switch = switch_with_sentinel if method == "sentinel" else switch_with_failover
        new = switch(master, replicas, watchers)
        time.sleep(after)
        writer.stopping.set()
        writer.join(10)
        new_master = redis.Redis(port=new[1])
        keys = [f"w:{i}" for i, _ in writer.acknowledged]
        values = []
        for start in range(0, len(keys), 1000):
            values += new_master.mget(keys[start:start + 1000])
        lost = [i for (i, _), value in zip(writer.acknowledged, values) if value != str(i).encode()]
        # The load went on, on the new master, after the switch.
        assert writer.acknowledged[-1][1] - writer.acknowledged[0][1] > before + after - 0.5
        return writer.window(), len(writer.acknowledged), lost
    finally:
        if writer:
            writer.stopping.set()
        for process in sentinels + replica_processes + [master_process]:
            process.stop()
