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
    """SET w:<i> <i> through the sentinel-aware client, one after another: when each was
    accepted, and which were acknowledged (accepted, and with `wait_for_replica`, counted by
    `WAIT 1 100` too)."""

    def __init__(self, sentinel_ports, wait_for_replica=False):
        super().__init__(daemon=True)
        self.client = Sentinel([("127.0.0.1", p) for p in sentinel_ports], socket_timeout=0.5).master_for(
            NAME, socket_timeout=0.5)
        self.wait_for_replica = wait_for_replica
        self.accepted = []
        self.acknowledged = []
        self.stopping = threading.Event()

    def run(self):
        i = 0
        while not self.stopping.is_set():
            try:
                self.client.set(f"w:{i}", i)
                self.accepted.append(time.monotonic())
                if not self.wait_for_replica or self.client.execute_command("WAIT", 1, 100) >= 1:
                    self.acknowledged.append((i, time.monotonic()))
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                time.sleep(0.002)
            i += 1

    def missing_on(self, port):
        """The acknowledged writes the server on `port` does not hold."""
        client = redis.Redis(port=port)
        keys = [f"w:{i}" for i, _ in self.acknowledged]
        values = []
        for start in range(0, len(keys), 1000):
            values += client.mget(keys[start:start + 1000])
        return [i for (i, _), value in zip(self.acknowledged, values) if value != str(i).encode()]

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


class Cluster:
    """A master and two replicas of `kind`, three sentinels that know them all."""

    def __init__(self, kind, down_after=DOWN_AFTER, settings=()):
        self.kind, self.settings = kind, settings
        self.processes, self.sentinels = [], []
        try:
            self.master_process = self.node()
            self.replica_processes = [self.node("--replicaof", "127.0.0.1", str(self.master_process.port)) for _ in range(2)]
            self.master = redis.Redis(port=self.master_process.port)
            self.replicas = [redis.Redis(port=p.port) for p in self.replica_processes]
            assert wait_until(lambda: all(r.info("replication").get("master_link_status") == "up" for r in self.replicas), 20)
            self.sentinels = [sentinel(self.master_process.port, down_after) for _ in range(3)]
            self.watchers = [redis.Redis(port=p.port, decode_responses=True) for p in self.sentinels]
            assert wait_until(lambda: all(len(w.execute_command("SENTINEL", "REPLICAS", NAME)) == 2
                                          and len(w.execute_command("SENTINEL", "SENTINELS", NAME)) == 2
                                          for w in self.watchers), 30)
        except BaseException:
            self.stop()
            raise

    def agreed_master(self):
        """The master's port when every sentinel names the same one, else None."""
        addresses = {new_master_address(w) for w in self.watchers}
        return addresses.pop()[1] if len(addresses) == 1 else None

    def node(self, *settings):
        process = server(self.kind, *self.settings, *settings)
        self.processes.append(process)
        return process

    def stop(self):
        for process in self.sentinels + self.processes:
            process.stop()


def run(kind, method, before=1.0, after=1.5):
    """The switchover of `method` on servers of `kind` under the load. Returns (window in
    seconds, acknowledged writes, acknowledged writes missing on the new master)."""
    cluster, writer = Cluster(kind), None
    try:
        writer = Writer([p.port for p in cluster.sentinels])
        writer.start()
        time.sleep(before)
        switch = switch_with_sentinel if method == "sentinel" else switch_with_failover
        new = switch(cluster.master, cluster.replicas, cluster.watchers)
        time.sleep(after)
        writer.stopping.set()
        writer.join(10)
        # The load went on, on the new master, after the switch.
        assert writer.acknowledged[-1][1] - writer.acknowledged[0][1] > before + after - 0.5
        return writer.window(), len(writer.acknowledged), writer.missing_on(new[1])
    finally:
        if writer:
            writer.stopping.set()
        cluster.stop()


def crash(kind, then=None, before=1.0, after=1.0):
    """kill -9 of the master under writes that each wait for a replica (WAIT 1 100), sentinels
    with down-after-milliseconds 1000. Returns (seconds from the kill to the next write accepted,
    writes WAIT counted, those missing on the new master); `then(cluster)` runs before everything
    stops."""
    cluster = Cluster(kind, 1000, ("--enable-debug-command", "yes") if kind == "needletail" else ())
    writer = None
    try:
        writer = Writer([p.port for p in cluster.sentinels], wait_for_replica=True)
        writer.start()
        time.sleep(before)
        cluster.master_process.process.kill()
        cluster.master_process.process.wait()
        killed = time.monotonic()
        assert wait_until(lambda: writer.accepted and writer.accepted[-1] > killed + after, 60)
        writer.stopping.set()
        writer.join(10)
        # Every sentinel agrees on the new master (the client may have learnt it from the first).
        assert wait_until(lambda: cluster.agreed_master() not in (None, cluster.master_process.port), 30)
        resumed = next(t for t in writer.accepted if t > killed) - killed
        missing = writer.missing_on(cluster.agreed_master())
        if then:
            then(cluster)
        return resumed, len(writer.acknowledged), missing
    finally:
        if writer:
            writer.stopping.set()
        cluster.stop()
