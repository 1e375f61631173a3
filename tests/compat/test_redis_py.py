"""redis-py, unchanged, against Needletail: RESP2 and RESP3, its parsers and helpers."""
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
    connection = redis.Redis(port=needletail.port, protocol=3, lib_name="needletail-test", lib_version="9.9")
    assert connection.ping() is True
    listing = connection.execute_command("CLIENT", "LIST")
    text = listing.decode() if isinstance(listing, bytes) else listing
    assert "lib-name=needletail-test lib-ver=9.9" in text
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
