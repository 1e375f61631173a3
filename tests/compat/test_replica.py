"""Needletail as a replica: of a real redis-server 7.0 master (whose RDB uses compact
encodings) and of Needletail masters, chained, through full and partial syncs, promotion and
restart."""
import os
import random
import re
import signal
import time

import pytest
import redis

from raw import RawClient
from servers import Process, binary
from test_dump_restore import FILL
from test_persistence import dataset, fill_everything
from test_replication import wait_until


def needletail(*extra):
    return Process(lambda port, d: [binary(), "--port", str(port), "--dir", d, "--save", "", "--enable-debug-command", "yes",
                                    "--repl-diskless-sync-delay", "0", *extra],
                   "needletail")


def redis_master():
    return Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
                                    "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"], "redis")


def link_up(client):
    return client.info("replication").get("master_link_status") == "up"


def follow(replica, master_port):
    assert replica.execute_command("REPLICAOF", "127.0.0.1", master_port) == b"OK"
    assert wait_until(lambda: link_up(replica))


def same_data(master, replica):
    """Key by key, then by digest, once the replica has applied the master's whole stream."""
    def caught_up():
        return replica.info("replication")["slave_repl_offset"] == master.info("replication")["master_repl_offset"]
    assert wait_until(caught_up)
    time.sleep(0.05)  # past the 20 ms TTLs of mixed_writes, which both hide once passed
    assert dataset(replica) == dataset(master)
    for client in (master, replica):
        client.execute_command("SELECT", 3)
    assert {key: replica.get(key) for key in replica.keys("*")} == {key: master.get(key) for key in master.keys("*")}
    for client in (master, replica):
        client.execute_command("SELECT", 0)
    assert replica.execute_command("DEBUG", "DIGEST") == master.execute_command("DEBUG", "DIGEST")


def mixed_writes(client, rounds, seed):
    """Writes of every type, in two databases, with expiries: what a replica must reproduce."""
    rng = random.Random(seed)
    for i in range(rounds):
        key = f"k{rng.randrange(50)}"
        choice = rng.randrange(10)
        if choice == 0:
            client.set(f"s:{key}", rng.randbytes(rng.choice([3, 100])), ex=rng.choice([None, 1000]))
        elif choice == 1:
            client.incrby(f"n:{key}", rng.randrange(-5, 5))
        elif choice == 2:
            client.rpush(f"l:{key}", *[str(rng.randrange(100)) for _ in range(rng.randrange(1, 5))])
        elif choice == 3:
            client.lpop(f"l:{key}")
        elif choice == 4:
            client.hset(f"h:{key}", str(rng.randrange(20)), rng.randbytes(8))
        elif choice == 5:
            client.sadd(f"set:{key}", str(rng.randrange(1000)))
        elif choice == 6:
            client.zadd(f"z:{key}", {str(rng.randrange(30)): rng.random()})
        elif choice == 7:
            client.expire(f"s:{key}", rng.randrange(100, 1000))
        elif choice == 8:
            client.delete(f"h:{key}")
        else:
            client.execute_command("SELECT", 3)
            client.append(f"db3:{key}", "x")
            client.execute_command("SELECT", 0)
        if i % 50 == 0:
            # A short TTL that passes: the master's DEL removes the key on the replica too.
            client.set(f"brief:{i}", "v", px=20)


def test_following_a_real_redis_master():
    master_process = redis_master()
    replica_process = needletail()
    try:
        master = redis.Redis(port=master_process.port)
        replica = redis.Redis(port=replica_process.port)
        fill_everything(master)
        master.execute_command("DEBUG", "POPULATE", 2000)
        follow(replica, master_process.port)
        assert "Full resync from master" in replica_process.log()
        same_data(master, replica)

        mixed_writes(master, 600, seed=1)
        same_data(master, replica)

        # Cut by the replica, then by the master: both times a partial resync.
        replica.execute_command("CLIENT", "KILL", "TYPE", "master")
        mixed_writes(master, 100, seed=2)
        assert wait_until(lambda: link_up(replica))
        same_data(master, replica)
        master.execute_command("CLIENT", "KILL", "TYPE", "replica")
        mixed_writes(master, 100, seed=3)
        assert wait_until(lambda: link_up(replica))
        same_data(master, replica)
        stats = master.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 2)

        # The master sees the replica acknowledging every second, with its offset.
        def acknowledged():
            line = master.info("replication").get("slave0", {})
            return line.get("lag") in (0, 1) and line.get("offset") == master.info("replication")["master_repl_offset"]
        assert wait_until(acknowledged, 5)
        assert master.execute_command("WAIT", 1, 2000) == 1

        role = replica.execute_command("ROLE")
        assert role[:4] == [b"slave", b"127.0.0.1", master_process.port, b"connected"]
        assert role[4] == master.info("replication")["master_repl_offset"]
        raw = RawClient(replica_process.port)
        assert raw.command("SET", "mine", "1") == b"-READONLY You can't write against a read only replica.\r\n"
        assert raw.command("GET", "n:k1") == raw.command("GET", "n:k1")
        raw.close()
        assert replica.execute_command("REPLICAOF", "127.0.0.1", master_process.port) == b"OK Already connected to specified master"
    finally:
        replica_process.stop()
        master_process.stop()


def test_chained_replicas_promotion_and_restart():
    """master → middle → leaf, all Needletail. Promoting the middle one lets the leaf continue
    through replid2; a restarted leaf continues from the position its file recorded."""
    top_process = needletail()
    middle_process = needletail()
    leaf_process = needletail("--save", "3600 1")
    try:
        top = redis.Redis(port=top_process.port)
        middle = redis.Redis(port=middle_process.port)
        leaf = redis.Redis(port=leaf_process.port)
        fill_everything(top)
        follow(middle, top_process.port)
        follow(leaf, middle_process.port)
        mixed_writes(top, 800, seed=4)
        same_data(top, middle)
        same_data(top, leaf)
        # Sub-replicas share the top master's history: same ID, same offsets.
        assert leaf.info("replication")["master_replid"] == top.info("replication")["master_replid"]

        old_id = middle.info("replication")["master_replid"]
        offset = middle.info("replication")["master_repl_offset"]
        assert middle.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        info = middle.info("replication")
        assert info["role"] == "master" and info["master_replid2"] == old_id and info["second_repl_offset"] == offset + 1
        assert info["master_replid"] != old_id and info["master_repl_offset"] == offset
        middle.set("after:promotion", "1")
        assert wait_until(lambda: leaf.get("after:promotion") == b"1")
        stats = middle.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 1)
        assert leaf.info("replication")["master_replid"] == middle.info("replication")["master_replid"]
        mixed_writes(middle, 200, seed=5)
        same_data(middle, leaf)

        # The leaf restarts from the file it saves at shutdown: a partial resync.
        leaf_process.process.send_signal(signal.SIGTERM)
        leaf_process.process.wait(20)
        middle.set("while:down", "1")
        restarted = Process(lambda port, d: [binary(), "--port", str(port), "--dir", leaf_process.dir, "--save", "", "--enable-debug-command", "yes",
                                             "--replicaof", "127.0.0.1", str(middle_process.port)], "needletail")
        try:
            leaf = redis.Redis(port=restarted.port)
            assert wait_until(lambda: link_up(leaf))
            same_data(middle, leaf)
            assert "Successful partial resynchronization with master." in restarted.log()
            assert middle.info("stats")["sync_full"] == 1
        finally:
            restarted.stop()
    finally:
        leaf_process.stop()
        middle_process.stop()
        top_process.stop()


def test_a_stale_replica_and_a_silent_master():
    """`replica-serve-stale-data no` refuses reads while the link is down; a master that goes
    silent past `repl-timeout` is let go, and the link comes back by itself."""
    master_process = needletail()
    replica_process = needletail("--replica-serve-stale-data", "no", "--repl-timeout", "3")
    try:
        master = redis.Redis(port=master_process.port)
        replica = redis.Redis(port=replica_process.port)
        master.set("k", "v")
        follow(replica, master_process.port)
        assert replica.get("k") == b"v"
        master_process.process.send_signal(signal.SIGSTOP)
        try:
            assert wait_until(lambda: not link_up(replica), 8)
            assert "MASTER timeout: no data nor PING received..." in replica_process.log()
            raw = RawClient(replica_process.port)
            assert raw.command("GET", "k") == b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
            raw.close()
            assert replica.execute_command("ROLE")[3] in (b"connect", b"connecting", b"handshake")
            assert replica.info("replication")["master_link_down_since_seconds"] >= 0
        finally:
            master_process.process.send_signal(signal.SIGCONT)
        assert wait_until(lambda: link_up(replica), 10)
        assert replica.get("k") == b"v"
    finally:
        replica_process.stop()
        master_process.stop()


def test_replicaof_arguments():
    process = needletail()
    try:
        client = redis.Redis(port=process.port)
        raw = RawClient(process.port)
        for port in ("70000", "-1", "x"):
            assert raw.command("REPLICAOF", "127.0.0.1", port) == b"-ERR Invalid master port\r\n"
        assert raw.command("REPLICAOF", "127.0.0.1") == b"-ERR wrong number of arguments for 'replicaof' command\r\n"
        raw.close()
        assert client.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        assert client.execute_command("ROLE") == [b"master", 0, []]
        # Inside MULTI, like any command.
        pipe = client.pipeline(transaction=True)
        pipe.execute_command("SLAVEOF", "NO", "ONE")
        assert pipe.execute() == [True]  # redis-py reads +OK as True
    finally:
        process.stop()


def test_master_restart_auth_and_publish():
    """A replica authenticates with `masterauth` (a wrong one is logged and retried); PUBLISH
    reaches the replica's subscribers; a master restarted from its file lets the replica
    continue partially (the file's history becomes the master's replid2)."""
    import servers
    master_process = needletail("--requirepass", "secret", "--save", "3600 1")
    replica_process = needletail("--masterauth", "wrong")
    try:
        master = redis.Redis(port=master_process.port, password="secret")
        replica = redis.Redis(port=replica_process.port)
        master.set("k", "1")
        replica.execute_command("REPLICAOF", "127.0.0.1", master_process.port)
        assert wait_until(lambda: "Unable to AUTH to MASTER" in replica_process.log())
        assert not link_up(replica)
        replica.config_set("masterauth", "secret")
        assert wait_until(lambda: link_up(replica))
        assert replica.get("k") == b"1"

        subscriber = replica.pubsub()
        subscriber.subscribe("news")
        assert subscriber.get_message(timeout=2)["type"] == "subscribe"
        master.publish("news", "hello")
        message = subscriber.get_message(timeout=5)
        assert message and message["data"] == b"hello"
        subscriber.close()

        master.incr("k")
        same_data(master, replica)
        # Acknowledged: the shutdown has no replica to wait for, and adds no GETACK to the stream.
        assert wait_until(lambda: master.info("replication")["slave0"]["offset"] == master.info("replication")["master_repl_offset"])
        old_id = master.info("replication")["master_replid"]
        offset = master.info("replication")["master_repl_offset"]
        port, directory = master_process.port, master_process.dir
        master.shutdown()
        master_process.process.wait(20)
        original = servers.free_port
        servers.free_port = lambda: port
        try:
            restarted = Process(lambda port, d: [binary(), "--port", str(port), "--dir", directory, "--save", "",
                                                 "--requirepass", "secret", "--enable-debug-command", "yes"], "needletail")
        finally:
            servers.free_port = original
        try:
            master = redis.Redis(port=port, password="secret")
            info = master.info("replication")
            assert info["master_replid2"] == old_id and info["second_repl_offset"] == offset + 1
            assert info["master_repl_offset"] == offset
            assert wait_until(lambda: master.info("replication")["connected_slaves"] == 1, 10)
            master.incr("k")
            same_data(master, replica)
            assert replica.get("k") == b"3"
            stats = master.info("stats")
            assert (stats["sync_full"], stats["sync_partial_ok"]) == (0, 1)
        finally:
            restarted.stop()
    finally:
        replica_process.stop()
        master_process.stop()


def test_an_error_applying_the_stream_is_logged_counted_and_panics_when_told():
    """A redis-server master replicates a command Needletail lacks (XADD): the replica logs it
    as Redis logs an error sent to its master, counts it in unexpected_error_replies and goes on;
    with propagation-error-behavior panic it stops instead of drifting from its master."""
    master_process = redis_master()
    replica_process = needletail("--use-exit-on-panic", "yes")
    try:
        master = redis.Redis(port=master_process.port)
        replica = redis.Redis(port=replica_process.port)
        follow(replica, master_process.port)
        master.xadd("stream", {"f": "v"})
        master.set("after", "1")
        assert wait_until(lambda: replica.get("after") == b"1")
        assert replica.info("stats")["unexpected_error_replies"] == 1
        # The master propagates the entry's ID it chose in place of '*'.
        assert re.search(r"== CRITICAL == This replica is sending an error to its master: 'ERR unknown command 'XADD', "
                         r"with args beginning with: 'stream' '\d+-0' 'f' 'v' ' after processing the command '<unknown>'",
                         replica_process.log())
        replica.config_resetstat()
        assert replica.info("stats")["unexpected_error_replies"] == 0

        replica.config_set("propagation-error-behavior", "panic")
        master.xadd("stream", {"f": "w"})
        assert replica_process.process.wait(10) == 1
        assert "This replica panicked sending an error to its master after processing the command '<unknown>'" in replica_process.log()
    finally:
        replica_process.stop()
        master_process.stop()


def test_bind_source_addr_is_where_the_link_to_the_master_leaves_from():
    """As with redis-server: the master sees its replica connect from bind-source-addr (not
    local to it: protected mode is off)."""
    master_process = Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
                                              "--protected-mode", "no"], "redis")
    replicas = [needletail("--bind-source-addr", "127.0.0.2"),
                Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
                                         "--bind-source-addr", "127.0.0.2"], "redis")]
    try:
        master = redis.Redis(port=master_process.port, decode_responses=True)
        for replica_process in replicas:
            follow(redis.Redis(port=replica_process.port), master_process.port)
        links = [c["addr"].split(":")[0] for c in master.client_list() if "S" in c["flags"]]
        assert links == ["127.0.0.2", "127.0.0.2"]
    finally:
        for process in replicas + [master_process]:
            process.stop()


@pytest.mark.parametrize("lazily", ["yes", "no"])
@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_replica_lazy_flush_decides_who_frees_the_old_data_at_a_full_sync(kind, lazily):
    """The replica's own keys go before its master's are loaded: in the background (counted in
    lazyfreed_objects) under replica-lazy-flush yes, at once otherwise."""
    master_process = redis_master()
    if kind == "needletail":
        replica_process = needletail("--replica-lazy-flush", lazily)
    else:
        replica_process = Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
                                                   "--enable-debug-command", "yes", "--replica-lazy-flush", lazily], "redis")
    try:
        replica = redis.Redis(port=replica_process.port)
        replica.execute_command("DEBUG", "POPULATE", 500)
        follow(replica, master_process.port)
        assert wait_until(lambda: replica.info("memory")["lazyfree_pending_objects"] == 0)
        assert replica.info("memory")["lazyfreed_objects"] == (500 if lazily == "yes" else 0)
        assert replica.dbsize() == 0
    finally:
        replica_process.stop()
        master_process.stop()


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_a_writable_replica_expires_the_keys_its_clients_gave_a_ttl(kind):
    """Its master's DELs never come for them, so the replica's own cron deletes them (DBSIZE
    counts them until then); a key of the master's with a TTL waits for the master's DEL."""
    master_process = redis_master() if kind == "redis" else needletail()
    if kind == "needletail":
        replica_process = needletail("--replicaof", "127.0.0.1", str(master_process.port))
    else:
        replica_process = Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
                                                   "--replicaof", "127.0.0.1", str(master_process.port)], "redis")
    try:
        master, replica = redis.Redis(port=master_process.port, db=5), redis.Redis(port=replica_process.port, db=5)
        assert wait_until(lambda: link_up(replica))
        master.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
        master.set("master:key", "1", px=300)
        assert wait_until(lambda: replica.dbsize() == 1)
        replica.config_set("replica-read-only", "no")
        for name in ("key1", "key2", "key3"):
            replica.set(name, "1", px=300)
        replica.set("kept", "1")
        assert replica.dbsize() == 5
        assert replica.info("stats")["slave_expires_tracked_keys"] == 3
        assert wait_until(lambda: replica.dbsize() == 2, 5)
        assert replica.info("stats")["slave_expires_tracked_keys"] == 0
        time.sleep(0.3)
        assert replica.dbsize() == 2 and replica.get("kept") == b"1" and not replica.exists("master:key")
    finally:
        replica_process.stop()
        master_process.stop()
