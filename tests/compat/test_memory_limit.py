"""maxmemory and eviction, checked the same way against Needletail and redis-server 7.0: memory
held near the cap burst after burst, the right class of keys evicted per policy, the same
replies and errors, and an LRU/LFU approximation that keeps a hot set as well as Redis's does."""
import os
import random
import socket
import stat
import statistics
import tempfile
import time

import pytest
import redis

from raw import RawClient
from servers import start_needletail, start_redis
from switchover import wait_until

STARTERS = {"needletail": start_needletail, "redis": start_redis}
POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]
MB = 1 << 20


def started(kind, *extra):
    return STARTERS[kind](*extra)


def used_memory(client):
    return client.info("memory")["used_memory"]


def write(client, names, size, ttls=None):
    """SETs `names` (values of `size` bytes) in pipelined batches; `ttls[i]` seconds when given."""
    pipe = client.pipeline(transaction=False)
    for index, name in enumerate(names):
        if ttls is None:
            pipe.set(name, "v" * size)
        else:
            pipe.set(name, "v" * size, ex=ttls[index])
        if index % 200 == 199:
            pipe.execute()
    pipe.execute()


def existing(client, names):
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.exists(name)
    return [name for name, found in zip(names, pipe.execute()) if found]


@pytest.mark.parametrize("kind", ["needletail", "redis"])
@pytest.mark.parametrize("policy", POLICIES)
def test_policy_holds_the_cap_and_takes_the_right_keys(kind, policy):
    server = started(kind, "--maxmemory-policy", policy)
    try:
        client = redis.Redis(port=server.port)
        cap = used_memory(client) + 4 * MB
        client.config_set("maxmemory", cap)
        # About 1 MB of keys without a TTL, then bursts of keys with one, 10 MB in all.
        persistent = [f"keep:{i}" for i in range(5000)]
        write(client, persistent, 100)
        rng = random.Random(7)
        volatile, ttls = [], {}
        for burst in range(10):
            names = [f"ttl:{burst}:{i}" for i in range(4000)]
            seconds = [rng.randint(1000, 100000) for _ in names]
            write(client, names, 200, seconds)
            volatile += names
            ttls.update(zip(names, seconds))
            used = used_memory(client)
            assert used <= cap * 1.05, f"burst {burst}: used_memory {used} over the cap {cap} by more than 5%"
        info = client.info("stats")
        assert info["evicted_keys"] > 0
        kept = existing(client, persistent)
        survivors = existing(client, volatile)
        if policy.startswith("volatile-"):
            assert len(kept) == len(persistent), "a volatile policy evicted a key without a TTL"
        assert len(survivors) < len(volatile)
        if policy == "volatile-ttl":
            # The nearest expiries go first: survivors' TTLs sit well above the evicted keys'.
            gone = set(volatile) - set(survivors)
            mean = lambda keys: sum(ttls[k] for k in keys) / len(keys)
            assert mean(survivors) > mean(gone) * 1.3, (mean(survivors), mean(gone))
    finally:
        server.stop()


def test_oom_replies_match_redis():
    """noeviction: the same reply for every command in a sequence that crosses the cap."""
    servers = [start_needletail("--maxmemory-policy", "noeviction"), start_redis("--maxmemory-policy", "noeviction")]
    try:
        clients = [RawClient(s.port) for s in servers]
        sequence = [
            ("SET", "a", "1"), ("CONFIG", "SET", "maxmemory", "1"), ("SET", "b", "2"), ("GET", "a"), ("APPEND", "a", "x"),
            ("INCR", "n"), ("LPUSH", "l", "x"), ("SETEX", "s", "10", "v"), ("EXPIRE", "a", "100"), ("DEL", "a"),
            ("MULTI",), ("GET", "a"), ("SET", "c", "3"), ("EXEC",), ("MULTI",), ("GET", "a"), ("DEL", "a"), ("EXEC",),
            ("MEMORY", "USAGE", "nokey"), ("MEMORY", "USAGE", "a", "SAMPLES", "-1"), ("MEMORY", "USAGE", "a", "SAMPLES"),
            ("MEMORY", "USAGE"), ("MEMORY", "NOPE"), ("MEMORY", "PURGE"), ("CONFIG", "SET", "maxmemory", "0"), ("SET", "b", "2"),
            ("MEMORY", "USAGE", "b", "BAD", "1"), ("MEMORY", "USAGE", "b", "SAMPLES", "x"),
        ]
        for command in sequence:
            ours, theirs = (c.command(*command) for c in clients)
            assert ours == theirs, f"{command}: {ours!r} != {theirs!r}"
    finally:
        for s in servers:
            s.stop()


def test_memory_stats_and_help_have_redis_shapes(pair):
    ours, theirs = (redis.Redis(port=s.port, protocol=2) for s in pair)
    for client in (ours, theirs):
        client.flushall()
        client.set("k", "v")
    names = [[bytes(item) for item in c.execute_command("MEMORY", "STATS")[0::2]] for c in (ours, theirs)]
    assert names[0] == names[1]
    db0 = [dict(zip(*[iter(c.execute_command("MEMORY", "STATS"))] * 2))[b"db.0"][0::2] for c in (ours, theirs)]
    assert db0[0] == db0[1]
    helps = [c.execute_command("MEMORY", "HELP") for c in (ours, theirs)]
    # The same subcommands and syntax lines; the descriptions are Needletail's own words.
    assert [line for line in helps[0] if not line.startswith(b" ")] == [line for line in helps[1] if not line.startswith(b" ")]
    assert isinstance(ours.execute_command("MEMORY", "DOCTOR"), bytes)
    assert ours.execute_command("MEMORY", "MALLOC-STATS")
    assert 0 < ours.memory_usage("k") < 200


def test_lowering_maxmemory_evicts_at_once(needletail):
    client = redis.Redis(port=needletail.port)
    client.config_set("maxmemory-policy", "allkeys-lru")
    write(client, [f"k:{i}" for i in range(20000)], 200)
    cap = used_memory(client) - 2 * MB
    client.config_set("maxmemory", cap)
    # INFO runs after the eviction that precedes it and counts the bytes its own reply is
    # being built in: CI saw readings 16 bytes over a cap the eviction had reached. A reading
    # within 1 KiB of the cap (far less than a key here) is a cap reached.
    deadline = time.time() + 2
    used = used_memory(client)
    while used > cap + 1024 and time.time() < deadline:
        time.sleep(0.01)
        used = used_memory(client)
    assert used <= cap + 1024
    assert client.info("stats")["evicted_keys"] > 0
    assert client.dbsize() < 20000


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_evicted_keys_are_announced(kind):
    server = started(kind, "--notify-keyspace-events", "Ee", "--maxmemory-policy", "allkeys-random")
    try:
        client = redis.Redis(port=server.port)
        client.mset({"a": 1, "b": 2, "c": 3})
        subscriber = client.pubsub()
        subscriber.subscribe("__keyevent@0__:evicted")
        subscriber.get_message(timeout=1)
        client.config_set("maxmemory", 1)
        try:
            client.set("x", "1")
        except redis.exceptions.OutOfMemoryError:
            pass
        received = set()
        deadline = time.time() + 3
        while len(received) < 3 and time.time() < deadline:
            message = subscriber.get_message(timeout=0.2)
            if message and message["type"] == "message":
                received.add(message["data"])
        assert received == {b"a", b"b", b"c"}
        client.config_set("maxmemory", 0)
    finally:
        server.stop()


def hit_ratio(kind, policy, samples):
    """A hot 20% read far more often than the rest, under a cap that holds half the keys; the
    share of reads that hit in a following phase with the same pattern."""
    count, size, seconds = 10000, 200, 6
    server = started(kind, "--maxmemory-policy", policy, "--maxmemory-samples", str(samples))
    try:
        client = redis.Redis(port=server.port)
        base = used_memory(client)
        names = [f"key:{i:06}" for i in range(count)]
        write(client, names, size)
        full = used_memory(client)
        client.flushall()
        client.config_set("maxmemory", base + (full - base) // 2)
        rng = random.Random(11)
        hot = names[: count // 5]

        def read(pipe):
            pipe.get(rng.choice(hot) if rng.random() < 0.8 else rng.choice(names))

        # Every key written once, four reads of the pattern after each write, spread over
        # several seconds: the LRU clock ticks once a second (as Redis's), and within one tick
        # all keys look equally recent.
        pipe = client.pipeline(transaction=False)
        for index, name in enumerate(names):
            pipe.set(name, "v" * size)
            for _ in range(4):
                read(pipe)
            if index % 100 == 99:
                pipe.execute()
            if index % (count // seconds) == count // seconds - 1:
                time.sleep(1)
        pipe.execute()
        replies = []
        for index in range(20000):
            read(pipe)
            if index % 500 == 499:
                replies += pipe.execute()
        return sum(1 for reply in replies if reply is not None) / len(replies)
    finally:
        server.stop()


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu"])
def test_hot_set_kept_as_well_as_redis_keeps_it(policy):
    # The mean of two runs each: where the LRU clock's second boundaries fall in the load moves
    # a single run's ratio by a few hundredths on either server.
    ours = statistics.mean(hit_ratio("needletail", policy, 5) for _ in range(2))
    theirs = statistics.mean(hit_ratio("redis", policy, 5) for _ in range(2))
    print(f"{policy}: hit ratio Needletail {ours:.3f}, Redis {theirs:.3f}")
    assert ours >= theirs - 0.05, (ours, theirs)


def test_unix_socket_clients_as_redis_names_them():
    # A short path: Redis cuts client addresses at 77 characters.
    directory = tempfile.mkdtemp(prefix="nt-")
    infos = []
    for start in (start_needletail, start_redis):
        path = os.path.join(directory, f"{start.__name__}.sock")
        server = start("--unixsocket", path, "--unixsocketperm", "700")
        try:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
            client = redis.Redis(unix_socket_path=path, decode_responses=True)
            assert client.ping()
            fields = dict(field.split("=", 1) for field in client.execute_command("CLIENT", "INFO").split())
            infos.append({name: fields[name].replace(path, "PATH") for name in ("addr", "laddr", "flags")})
            client.close()
        finally:
            server.stop()
        with pytest.raises(OSError):
            socket.socket(socket.AF_UNIX).connect(path)
    os.rmdir(directory)
    assert infos[0] == infos[1] == {"addr": "PATH:0", "laddr": "PATH:0", "flags": "U"}


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_lazyfree_lazy_server_del_frees_replaced_values_in_the_background(kind, request):
    """Values a write replaces (SET over a key, RENAME and SUNIONSTORE onto one) are handed to
    the background thread when costly to free, as INFO's lazyfreed_objects counts, only under
    lazyfree-lazy-server-del; small ones are freed at once either way. EXPIRE in the past
    follows lazyfree-lazy-expire."""
    server = started(kind)
    request.addfinalizer(server.stop)
    client = redis.Redis(port=server.port)

    def big(name):
        client.delete(name)
        client.sadd(name, *range(1000))

    def freed():
        assert wait_until(lambda: client.info("memory")["lazyfree_pending_objects"] == 0)
        return client.info("memory")["lazyfreed_objects"]

    def replacements():
        for name in ("a", "b", "c", "d", "e"):
            big(name)
        client.set("small", "x")
        client.set("a", "v")                    # a big set replaced by a string
        client.rename("b", "c")                 # a big set replaced by another
        client.sunionstore("d", "small-set")    # replaced by an empty union: deleted
        client.sunionstore("e", "c")            # replaced by a copy
        client.set("small", "y")
        client.rename("small", "c")             # the big set under c replaced by a string
    before = freed()
    replacements()
    assert freed() == before
    client.config_set("lazyfree-lazy-server-del", "yes")
    replacements()
    assert freed() - before == 5
    # A TTL set in the past deletes the key as an expiry: lazyfree-lazy-expire decides.
    for lazily, more in (("no", 0), ("yes", 1)):
        client.config_set("lazyfree-lazy-expire", lazily)
        before = freed()
        big("f")
        assert client.expire("f", -1) and not client.exists("f")
        assert freed() - before == more

