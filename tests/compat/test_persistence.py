"""RDB persistence: files written by Needletail load into redis-server (and pass
redis-check-rdb) and the other way round with identical contents; BGSAVE is a point-in-time
image while clients keep writing; a crash during BGSAVE leaves the previous file whole; a
corrupt file stops the server at start; replies and errors as redis-server gives them."""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import redis

from raw import RawClient
from servers import Process, binary
from test_dump_restore import FILL, contents


def start_in(directory, kind, *extra):
    """A server whose `dir` is `directory` (which outlives it), saving only when told."""
    if kind == "needletail":
        argv = lambda port, d: [binary(), "--port", str(port), "--dir", directory, "--save", "", *extra]
    else:
        argv = lambda port, d: ["redis-server", "--port", str(port), "--dir", directory, "--save", "", "--appendonly", "no", *extra]
    return Process(argv, kind)


@pytest.fixture
def directory():
    """A data directory that outlives the servers started in it."""
    path = tempfile.mkdtemp(prefix="rdb-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def running(directory, kind, *extra):
    """A client of a server started in `directory`, stopped at the end."""
    server = start_in(directory, kind, *extra)
    try:
        yield redis.Redis(port=server.port)
    finally:
        server.stop()


def background_save_during(client, commands):
    """BGSAVE, then `commands` sent with it in one burst: all of them after the snapshot's
    instant, most of them while it is being written. Returns when the save has ended well."""
    raw = RawClient(client.connection_pool.connection_kwargs["port"])
    raw.send_raw(b"".join(RawClient.encode(command) for command in [["BGSAVE"], *commands]))
    assert raw.read_reply() == b"+Background saving started\r\n"
    for _ in commands:
        assert not raw.read_reply().startswith(b"-")
    wait_for_background_save(client)
    assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"


def wait_for_background_save(client):
    deadline = time.time() + 60
    while client.info("persistence")["rdb_bgsave_in_progress"] and time.time() < deadline:
        time.sleep(0.05)


def fill_everything(client):
    for key, fill in FILL.items():
        fill(client, key)
    client.set("ttl:key", "v", ex=10000)
    client.execute_command("SELECT", 5)
    client.set("db5:key", "in five")
    client.execute_command("SELECT", 0)


def dataset(client):
    seen = {}
    for db in (0, 5):
        client.execute_command("SELECT", db)
        for key in sorted(client.keys("*")):
            seen[(db, key)] = contents(client, key)
        seen[(db, "ttl")] = [k for k in sorted(client.keys("*")) if client.ttl(k) > 0]
    client.execute_command("SELECT", 0)
    return seen


@pytest.mark.parametrize("writer,reader", [("needletail", "redis"), ("redis", "needletail"), ("needletail", "needletail")])
def test_files_load_with_identical_contents(directory, writer, reader):
    with running(directory, writer) as client:
        fill_everything(client)
        expected = dataset(client)
        assert client.save()
    if writer == "needletail":
        check = subprocess.run(["redis-check-rdb", os.path.join(directory, "dump.rdb")], capture_output=True, text=True)
        assert "RDB looks OK" in check.stdout, check.stdout
    with running(directory, reader) as client:
        assert dataset(client) == expected
        assert client.info("persistence")["rdb_last_load_keys_loaded"] == len(FILL) + 2


def test_background_save_is_the_dataset_at_its_instant(directory):
    count = 200_000
    with running(directory, "needletail") as client:
        pipe = client.pipeline(transaction=False)
        for i in range(count):
            pipe.set(f"key:{i}", "before" * 40)
            if i % 5000 == 4999:
                pipe.execute()
        pipe.execute()
        # The save's writer waits 10 µs per key it writes (about 2 s in all), so most shards are
        # first reached by the writes, which must not reach the file.
        client.config_set("rdb-key-save-delay", 10)
        writes = []
        for i in range(count):
            writes.append(["SET", f"key:{i}", "after"])
            if i % 1000 == 0:
                writes += [["DEL", f"key:{i + 1}"], ["SET", f"new:{i}", "after"]]
        background_save_during(client, writes)
    with running(directory, "redis") as check:
        assert check.dbsize() == count
        values = set()
        for i in range(0, count, 5000):
            values.update(check.mget([f"key:{j}" for j in range(i, i + 5000)]))
        assert values == {b"before" * 40}


def test_changes_in_place_during_background_save_stay_out_of_the_file(directory):
    """Commands that change a value where it lies (LPUSH, HSET, SADD, ZADD, INCR, APPEND,
    SETRANGE, EXPIRE, PERSIST) while the snapshot is being written: the file has the values as
    they were at BGSAVE."""
    count = 2000
    with running(directory, "needletail") as client:
        pipe = client.pipeline(transaction=False)
        for i in range(count):
            pipe.rpush(f"list:{i}", "a", "b")
            pipe.hset(f"hash:{i}", mapping={"f": "1"})
            pipe.sadd(f"set:{i}", "m")
            pipe.zadd(f"zset:{i}", {"m": 1})
            pipe.set(f"counter:{i}", 10)
            pipe.set(f"text:{i}", "abc" * 20)
            pipe.set(f"ttl:{i}", "v", ex=100000)
            pipe.set(f"plain:{i}", "v")
        pipe.execute()
        expected = dataset(client)
        client.config_set("rdb-key-save-delay", 50)
        background_save_during(client, [command for i in range(count) for command in (
            ["LPUSH", f"list:{i}", "new"], ["HSET", f"hash:{i}", "f", "2", "g", "3"], ["SADD", f"set:{i}", "n"],
            ["ZADD", f"zset:{i}", "5", "m"], ["INCR", f"counter:{i}"], ["APPEND", f"text:{i}", "xyz"],
            ["SETRANGE", f"plain:{i}", "0", "w"], ["PERSIST", f"ttl:{i}"], ["EXPIRE", f"plain:{i}", "1000"])])
        assert dataset(client) != expected
    with running(directory, "redis") as client:
        assert dataset(client) == expected


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_background_save_inside_a_transaction_is_scheduled(directory, kind):
    """BGSAVE queued between writes is scheduled, as Redis does: the file holds the whole
    transaction. Commands naming no keys (BGSAVE, MEMORY STATS) run beside keyed ones."""
    with running(directory, kind) as client:
        client.rpush("list", "a")
        saves = client.info("persistence")["rdb_saves"]
        pipe = client.pipeline(transaction=True)
        pipe.set("key", "before")
        pipe.bgsave()
        pipe.set("key", "after")
        pipe.rpush("list", "b")
        pipe.memory_stats()
        replies = pipe.execute()
        assert replies[:4] == [True, True, True, 2]
        deadline = time.time() + 10
        while client.info("persistence")["rdb_saves"] == saves and time.time() < deadline:
            time.sleep(0.05)
        wait_for_background_save(client)
        assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        raw = RawClient(client.connection_pool.connection_kwargs["port"])
        raw.send_raw(b"".join(RawClient.encode(c) for c in [["MULTI"], ["BGSAVE"], ["EXEC"]]))
        assert [raw.read_reply() for _ in range(3)] == [b"+OK\r\n", b"+QUEUED\r\n", b"*1\r\n+Background saving scheduled\r\n"]
    with running(directory, "redis") as check:
        assert check.get("key") == b"after"
        assert check.lrange("list", 0, -1) == [b"a", b"b"]


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_flushall_saves_the_empty_dataset_when_save_points_are_set(directory, kind):
    """FLUSHALL writes the file itself: killed right after, the server comes back empty."""
    server = start_in(directory, kind, "--save", "3600 1000000")
    try:
        client = redis.Redis(port=server.port)
        client.set("key", "value")
        assert client.save()
        client.set("other", "value")
        client.flushall()
        assert client.info("persistence")["rdb_changes_since_last_save"] == 0
        client.set("after", "value")
        server.process.kill()
        server.process.wait()
    finally:
        server.stop()
    with running(directory, kind) as client:
        assert client.dbsize() == 0


def test_a_crash_during_background_save_leaves_the_previous_file_whole(directory):
    server = start_in(directory, "needletail")
    try:
        client = redis.Redis(port=server.port)
        client.set("generation", "first")
        assert client.save()
        pipe = client.pipeline(transaction=False)
        for i in range(300_000):
            pipe.set(f"key:{i}", "x" * 100)
            if i % 10000 == 9999:
                pipe.execute()
        pipe.execute()
        client.set("generation", "second")
        client.bgsave()
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    finally:
        server.stop()
    with running(directory, "needletail") as client:
        assert client.get("generation") in (b"first", b"second")


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_file_stops_the_server(directory, damage):
    with running(directory, "needletail") as client:
        for i in range(1000):
            client.set(f"key:{i}", f"value:{i}")
        assert client.save()
    path = os.path.join(directory, "dump.rdb")
    data = bytearray(open(path, "rb").read())
    data = data[: len(data) // 2] if damage == "truncate" else data[:5000] + bytes([data[5000] ^ 0x55]) + data[5001:]
    open(path, "wb").write(bytes(data))
    result = subprocess.run([binary(), "--port", "0", "--unixsocket", os.path.join(directory, "s.sock"), "--dir", directory],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "Internal error in RDB reading offset" in result.stdout
    assert "Terminating server after rdb file reading failure." in result.stdout


def test_clients_get_loading_while_the_file_loads(directory):
    """While the file loads, commands get -LOADING and INFO reports the progress; after,
    the log has Redis's lines and the keys are all there."""
    count = 1_500_000
    with running(directory, "needletail", "--enable-debug-command", "yes") as client:
        client.execute_command("DEBUG", "POPULATE", count)
        assert client.save()
    server = start_in(directory, "needletail")
    try:
        raw = RawClient(server.port)
        seen_loading, infos = None, []
        while True:
            reply = raw.command("GET", "key:1")
            if not reply.startswith(b"-LOADING"):
                break
            seen_loading = reply
            infos.append(raw.command("INFO", "persistence").decode())
        assert seen_loading == b"-LOADING Redis is loading the dataset in memory\r\n"
        assert any("loading:1" in info and "loading_total_bytes:" in info and "loading_loaded_perc:" in info for info in infos)
        assert reply == b"$7\r\nvalue:1\r\n"
        client = redis.Redis(port=server.port)
        assert client.dbsize() == count
        assert client.info("persistence")["loading"] == 0
        log = server.log()
        assert "Done loading RDB, keys loaded: 1500000, keys expired: 0, empty keys skipped: 0." in log
        assert "DB loaded from disk:" in log
    finally:
        server.stop()


def test_a_shutdown_while_the_file_loads_does_not_save_over_it(directory):
    """SIGTERM with save points set, while the file is still loading: the server exits
    without saving the part it had, as Redis does, so the file stays whole."""
    count = 1_500_000
    with running(directory, "needletail", "--enable-debug-command", "yes") as client:
        client.execute_command("DEBUG", "POPULATE", count)
        assert client.save()
    path = os.path.join(directory, "dump.rdb")
    before = open(path, "rb").read()
    server = start_in(directory, "needletail", "--save", "3600 1")
    try:
        assert RawClient(server.port).command("GET", "key:1").startswith(b"-LOADING")
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(30)
    finally:
        server.stop()
    assert open(path, "rb").read() == before
    with running(directory, "needletail") as client:
        assert client.dbsize() == count


@pytest.mark.parametrize("kind", ["needletail", "redis"])
@pytest.mark.parametrize("signal_name, flags, saved", [
    ("SIGTERM", "nosave", False), ("SIGINT", "save now", True), ("SIGTERM", "default", False)])
def test_a_signal_shuts_down_as_shutdown_on_its_directive_says(directory, kind, signal_name, flags, saved):
    """`shutdown-on-sigterm` / `shutdown-on-sigint` give the signal SHUTDOWN's flags: NOSAVE
    skips the save points' save, SAVE saves without any; `default` saves only with save points."""
    save_points = "3600 1" if flags == "nosave" else ""
    name = "shutdown-on-" + signal_name.lower()
    server = start_in(directory, kind, "--save", save_points, "--" + name, flags)
    try:
        client = redis.Redis(port=server.port)
        assert client.config_get(name) == {name: flags}
        client.set("k", "v")
        server.process.send_signal(getattr(signal, signal_name))
        assert server.process.wait(30) == 0
    finally:
        server.stop()
    assert os.path.exists(os.path.join(directory, "dump.rdb")) == saved
    if saved:
        with running(directory, kind) as client:
            assert client.get("k") == b"v"


def test_replies_match_redis(pair):
    ours, theirs = (RawClient(s.port) for s in pair)
    for client in (ours, theirs):
        client.command("FLUSHALL")
    sequence = [("BGSAVE", "NOW"), ("BGSAVE", "SCHEDULE", "X"), ("MULTI",), ("SAVE",), ("DISCARD",), ("LASTSAVE", "x"),
                ("SAVE", "x"), ("DEBUG", "RELOAD", "BAD"), ("SET", "x", "1"), ("DEBUG", "RELOAD"), ("GET", "x"),
                ("SET", "x", "2"), ("SET", "y", "3"), ("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"), ("MGET", "x", "y"),
                ("DEBUG", "RELOAD", "NOSAVE"), ("MGET", "x", "y")]
    for command in sequence:
        mine, reference = (c.command(*command) for c in (ours, theirs))
        assert mine == reference, f"{command}: {mine!r} != {reference!r}"
    names = [[line.split(b":")[0] for line in c.command("INFO", "persistence").split(b"\r\n")[2:] if b":" in line] for c in (ours, theirs)]
    assert names[0] == names[1]


def test_debug_reload_keeps_the_dataset(pair):
    for server in pair:
        client = redis.Redis(port=server.port)
        client.flushall()
        fill_everything(client)
        before = client.execute_command("DEBUG", "DIGEST")
        assert client.execute_command("DEBUG", "RELOAD")
        assert client.execute_command("DEBUG", "DIGEST") == before
        assert client.dbsize() == len(FILL) + 1


def test_save_points_and_lastsave(needletail):
    client = redis.Redis(port=needletail.port)
    before = client.lastsave()
    client.config_set("save", "1 1")
    client.set("a", "1")
    deadline = time.time() + 5
    while client.info("persistence")["rdb_saves"] == 0 and time.time() < deadline:
        time.sleep(0.1)
    info = client.info("persistence")
    assert info["rdb_saves"] >= 1 and info["rdb_changes_since_last_save"] == 0
    assert client.lastsave() >= before
    assert "1 changes in 1 seconds. Saving..." in needletail.log()


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_a_failed_save_refuses_writes_with_misconf(directory, kind):
    with running(directory, kind) as client:
        os.mkdir(os.path.join(directory, "dump.rdb"))  # the rename over it fails
        raw = RawClient(client.connection_pool.connection_kwargs["port"])
        assert raw.command("CONFIG", "SET", "save", "3600 1") == b"+OK\r\n"
        assert raw.command("SAVE") == b"-ERR\r\n"
        assert raw.command("SET", "k", "v") == b"+OK\r\n"  # a failed SAVE alone refuses nothing
        assert raw.command("BGSAVE") == b"+Background saving started\r\n"
        wait_for_background_save(client)
        assert client.info("persistence")["rdb_last_bgsave_status"] == "err"
        reply = raw.command("SET", "k", "v")
        assert reply.startswith(b"-MISCONF Redis is configured to save RDB snapshots"), reply
        assert raw.command("GET", "k") == b"$1\r\nv\r\n"
        assert raw.command("CONFIG", "SET", "stop-writes-on-bgsave-error", "no") == b"+OK\r\n"
        assert raw.command("SET", "k", "v") == b"+OK\r\n"


def test_appendonly_is_refused_at_start():
    result = subprocess.run([binary(), "--port", "0", "--appendonly", "yes"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "append-only file is not supported yet" in result.stdout + result.stderr
