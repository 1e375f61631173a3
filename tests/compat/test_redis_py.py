"""redis-py, unchanged, against Needletail: RESP2 and RESP3, its parsers and helpers."""
import time

import pytest
import redis


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def client(request, needletail):
    connection = redis.Redis(port=needletail.port, protocol=request.param, decode_responses=True)
    yield connection
    connection.close()


def test_strings_and_keys(client):
    assert client.set("greeting", "hello") is True
    assert client.get("greeting") == "hello"
    assert client.set("greeting", "x", nx=True) is None
    assert client.set("counter", 5, ex=100) is True
    assert client.incr("counter") == 6
    assert client.incrbyfloat("counter", 0.5) == 6.5
    assert 99 <= client.ttl("counter") <= 100
    assert client.mget("greeting", "missing") == ["hello", None]
    assert client.mset({"a": 1, "b": 2}) is True
    assert sorted(client.keys("*")) == ["a", "b", "counter", "greeting"]
    assert sorted(client.scan_iter(match="*")) == ["a", "b", "counter", "greeting"]
    assert client.exists("a", "b", "nope") == 2
    assert client.type("a") == "string"
    assert client.rename("a", "c") is True
    assert client.copy("c", "d") is True
    assert client.getex("d", px=5000) == "1"
    assert client.lcs("greeting", "c") == ""
    assert client.setbit("bits", 3, 1) == 0
    assert client.bitcount("bits") == 1
    assert client.bitfield("bf").set("u8", 0, 200).get("u8", 0).execute() == [0, 200]
    assert client.delete("c", "d") == 2
    assert client.dbsize() == 5


def test_errors_raise_the_right_exceptions(client):
    client.set("s", "text")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        client.incr("s")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        client.execute_command("GET")


def test_pipeline_without_transaction(client):
    pipe = client.pipeline(transaction=False)
    for index in range(100):
        pipe.set(f"key{index}", index)
    pipe.get("key42")
    results = pipe.execute()
    assert results[:100] == [True] * 100 and results[100] == "42"


def test_server_helpers(client):
    info = client.info()
    assert info["redis_version"] == "7.0.15"
    assert info["role"] == "master"
    assert len(info["run_id"]) == 40
    assert "connected_clients" in client.info("clients")
    assert client.config_get("maxmemory") == {"maxmemory": "0"}
    assert client.config_set("maxmemory", "10mb") is True
    assert client.config_get("maxmemory") == {"maxmemory": "10485760"}
    assert client.ping() is True
    assert client.echo("hi") == "hi"
    seconds, micros = client.time()
    assert seconds > 1_600_000_000
    assert client.client_setname("worker") is True
    assert client.client_getname() == "worker"
    entries = client.client_list()
    me = [entry for entry in entries if entry["name"] == "worker"]
    assert len(me) == 1 and me[0]["cmd"] == "client|list" and me[0]["db"] == "0"
    assert client.client_info()["name"] == "worker"
    assert isinstance(client.client_id(), int)
    assert client.flushall() is True


def test_hello_and_client_setinfo_on_connect(needletail):
    # redis-py names itself with CLIENT SETINFO as it connects.
    connection = redis.Redis(port=needletail.port, protocol=3)
    assert connection.ping() is True
    listing = connection.execute_command("CLIENT", "LIST")
    text = listing.decode() if isinstance(listing, bytes) else listing
    assert f"lib-name=redis-py lib-ver={redis.__version__}" in text
    assert "resp=3" in text


def test_authentication(request):
    from conftest import start_needletail
    server = start_needletail("--requirepass", "s3cret")
    request.addfinalizer(server.stop)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=server.port).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=server.port, password="wrong").ping()
    assert redis.Redis(port=server.port, password="s3cret").ping() is True
    assert redis.Redis(port=server.port, password="s3cret", protocol=3).ping() is True


def test_binary_safe_keys_and_values(needletail):
    raw = redis.Redis(port=needletail.port)
    key, value = b"k\x00\xff\r\n", bytes(range(256)) * 100
    assert raw.set(key, value) is True
    assert raw.get(key) == value
    assert raw.strlen(key) == len(value)
    assert raw.getrange(key, 1, 3) == b"\x01\x02\x03"


def test_collections(client):
    assert client.rpush("list", "a", "b", "c") == 3
    assert client.lrange("list", 0, -1) == ["a", "b", "c"]
    assert client.lmove("list", "other", "LEFT", "RIGHT") == "a"
    assert client.hset("hash", mapping={"f1": "1", "f2": "2"}) == 2
    assert client.hgetall("hash") == {"f1": "1", "f2": "2"}
    assert client.hincrbyfloat("hash", "f1", 0.5) == 1.5
    assert client.sadd("set", "x", "y", "z") == 3
    assert client.smembers("set") == {"x", "y", "z"}
    assert client.sintercard(1, ["set"]) == 3
    assert client.zadd("zset", {"a": 1, "b": 2.5, "c": 3}) == 3
    # redis-py gives (member, score) tuples in RESP2 and two-element lists in RESP3.
    assert [tuple(pair) for pair in client.zrange("zset", 0, -1, withscores=True)] == [("a", 1.0), ("b", 2.5), ("c", 3.0)]
    assert client.zrange("zset", "(1", "+inf", byscore=True, offset=0, num=1) == ["b"]
    assert [tuple(pair) for pair in client.zpopmin("zset", 1)] == [("a", 1.0)]
    assert client.zmscore("zset", ["b", "nope"]) == [2.5, None]
    assert client.zincrby("zset", 1, "b") == 3.5
    assert client.zunionstore("union", {"zset": 2, "set": 1}) == 5
    assert client.zscore("union", "x") == 1.0
    assert client.sort("list", alpha=True, desc=True) == ["c", "b"]
    assert sorted(tuple(pair) for pair in client.zscan_iter("zset")) == [("b", 3.5), ("c", 3.0)]


def test_transactions_and_watch(client, needletail):
    client.set("balance", 10)
    with client.pipeline() as pipe:
        pipe.watch("balance")
        current = int(pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", current - 3)
        pipe.incr("operations")
        assert pipe.execute() == [True, 1]
    other = redis.Redis(port=needletail.port)
    with client.pipeline() as pipe:
        pipe.watch("balance")
        other.set("balance", 100)
        pipe.multi()
        pipe.set("balance", 0)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get("balance") == "100"
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        client.pipeline().set("k", "v").execute_command("GET").execute()
    assert client.get("k") is None


def test_blocking_pops(client, needletail):
    import threading
    assert client.blpop(["empty"], timeout=0.05) is None
    pusher = redis.Redis(port=needletail.port)
    threading.Timer(0.1, lambda: pusher.rpush("jobs", "job-1")).start()
    assert client.blpop(["empty", "jobs"], timeout=5) in (("jobs", "job-1"), ["jobs", "job-1"])
    threading.Timer(0.1, lambda: pusher.zadd("scores", {"m": 4})).start()
    assert client.bzpopmin("scores", timeout=5) in (("scores", "m", 4.0), ["scores", "m", 4.0])


def test_pubsub(client, needletail):
    subscriber = redis.Redis(port=needletail.port, decode_responses=True).pubsub()
    subscriber.subscribe("news")
    subscriber.psubscribe("sport.*")
    assert subscriber.get_message(timeout=1)["type"] == "subscribe"
    assert subscriber.get_message(timeout=1)["type"] == "psubscribe"
    assert client.publish("news", "hello") == 1
    assert client.publish("sport.tennis", "ace") == 1
    assert subscriber.get_message(timeout=1) == {"type": "message", "pattern": None, "channel": "news", "data": "hello"}
    assert subscriber.get_message(timeout=1) == {"type": "pmessage", "pattern": "sport.*", "channel": "sport.tennis", "data": "ace"}
    assert client.pubsub_numsub("news") == [("news", 1)]
    assert client.pubsub_numpat() == 1
    subscriber.close()


@pytest.mark.parametrize("server_name", ["needletail", "redis_server"])
def test_active_expiry_reports_stale_keys(request, server_name):
    """Run against redis-server too, as the reference for what the figure does."""
    server = request.getfixturevalue(server_name)
    client = redis.Redis(port=server.port)
    assert client.info("stats")["expired_stale_perc"] == 0
    pipe = client.pipeline(transaction=False)
    for index in range(5000):
        pipe.set(f"volatile:{index}", "x", px=20)
    pipe.execute()
    deadline = time.time() + 10
    while client.info("stats")["expired_keys"] < 5000:
        assert time.time() < deadline, "the expiry cycle did not remove the keys"
        time.sleep(0.05)
    stats = client.info("stats")
    assert 0 < stats["expired_stale_perc"] <= 100
    assert client.dbsize() == 0
