"""DUMP and RESTORE between Needletail and redis-server 7.0, both ways: every type in its
compact and its large encoding comes back with the same contents; error replies match byte
for byte; corrupt payloads are refused without harm."""
import random

import pytest
import redis

import crc64_reference
from raw import RawClient

# Each key's value is built the same way on both servers; Redis picks its compact encoding
# (listpack, intset, quicklist) for the small ones and its large one for the rest.
FILL = {
    "string:short": lambda c, k: c.set(k, "hello"),
    "string:int8": lambda c, k: c.set(k, "-12"),
    "string:int32": lambda c, k: c.set(k, "70000"),
    "string:int64": lambda c, k: c.set(k, "1234567890123"),
    "string:not-canonical": lambda c, k: c.set(k, "007"),
    "string:compressible": lambda c, k: c.set(k, "abc" * 500),
    "string:binary": lambda c, k: c.set(k, bytes(range(256)) * 3),
    "list:small": lambda c, k: c.rpush(k, "a", "1", "-5", "x" * 100, "70000", "1234567890123"),
    "list:large": lambda c, k: c.rpush(k, *[f"item:{i}" * (i % 7 + 1) for i in range(3000)]),
    "list:big-item": lambda c, k: c.rpush(k, "y" * 20000, "small"),
    "set:intset": lambda c, k: c.sadd(k, 1, -2, 70000, 1234567890123),
    "set:small": lambda c, k: c.sadd(k, "a", "b", "c"),
    "set:large": lambda c, k: c.sadd(k, *[f"member:{i}" for i in range(1000)]),
    "zset:small": lambda c, k: c.zadd(k, {"a": 1.5, "b": -2, "c": 1e300, "d": float("inf")}),
    "zset:large": lambda c, k: c.zadd(k, {f"m{i}": i / 7 for i in range(500)}),
    "hash:small": lambda c, k: c.hset(k, mapping={"f": "v", "n": "12", "big": "70000"}),
    "hash:large": lambda c, k: c.hset(k, mapping={f"field:{i}": f"value:{i}" for i in range(1000)}),
    "hash:long-value": lambda c, k: c.hset(k, mapping={"f": "z" * 100}),
}


def contents(client, key):
    kind = client.type(key).decode()
    read = {
        "string": lambda: client.get(key),
        "list": lambda: client.lrange(key, 0, -1),
        "set": lambda: sorted(client.smembers(key)),
        "zset": lambda: client.zrange(key, 0, -1, withscores=True),
        "hash": lambda: sorted(client.hgetall(key).items()),
    }[kind]
    return kind, read()


@pytest.mark.parametrize("direction", ["redis-to-needletail", "needletail-to-redis"])
def test_every_type_moves_between_servers(pair, direction):
    ours, theirs = (redis.Redis(port=s.port) for s in pair)
    source, target = (theirs, ours) if direction == "redis-to-needletail" else (ours, theirs)
    for client in (ours, theirs):
        client.flushall()
    for key, fill in FILL.items():
        fill(source, key)
        payload = source.dump(key)
        assert target.restore(key, 0, payload)
        assert contents(target, key) == contents(source, key), key
        # And back again: the payload the target writes restores on the source.
        assert source.restore(key + ":back", 0, target.dump(key))
        assert contents(source, key + ":back") == contents(source, key), key


def test_uncompressed_string_payloads_are_byte_identical(pair):
    """(Compressed ones differ: each server has its own LZF compressor; both read either.)"""
    ours, theirs = (redis.Redis(port=s.port) for s in pair)
    keys = ("string:short", "string:int8", "string:int32", "string:int64", "string:not-canonical", "string:binary")
    for client in (ours, theirs):
        client.flushall()
        client.config_set("rdbcompression", "no")
        for key in keys:
            FILL[key](client, key)
    try:
        for key in keys:
            assert ours.dump(key) == theirs.dump(key), key
    finally:
        for client in (ours, theirs):
            client.config_set("rdbcompression", "yes")


def test_replies_and_errors_match_redis(pair):
    ours, theirs = (RawClient(s.port) for s in pair)
    for client in (ours, theirs):
        client.command("FLUSHALL")
        client.command("SET", "src", "value")
    payload = redis.Redis(port=pair[1].port).dump("src")
    corrupt = payload[:-1] + bytes([payload[-1] ^ 1])
    future = payload[:-10] + b"\x0b\x00" + payload[-8:]
    sequence = [
        ("DUMP", "missing"), ("RESTORE", "src", "0", payload), ("RESTORE", "k", "-1", payload), ("RESTORE", "k", "abc", payload),
        ("RESTORE", "k", "0", b"short"), ("RESTORE", "k", "0", corrupt), ("RESTORE", "k", "0", future),
        ("RESTORE", "k", "0", payload, "BAD"), ("RESTORE", "k", "0", payload, "IDLETIME", "-1"),
        ("RESTORE", "k", "0", payload, "IDLETIME", "x"), ("RESTORE", "k", "0", payload, "FREQ", "256"),
        ("RESTORE", "k", "0", payload, "FREQ", "1", "IDLETIME", "5"), ("RESTORE", "k", "0", payload, "IDLETIME"),
        ("RESTORE", "k", "0", payload, "REPLACE", "ABSTTL", "IDLETIME", "100"), ("OBJECT", "IDLETIME", "k"), ("TTL", "k"),
        ("RESTORE", "k", "0", payload), ("RESTORE", "k", "5000", payload, "REPLACE"), ("PTTL", "k"),
        ("RESTORE", "k", "1", payload, "REPLACE", "ABSTTL"), ("EXISTS", "k"), ("RESTORE", "gone", "1", payload, "ABSTTL"),
        ("EXISTS", "gone"), ("RESTORE",), ("RESTORE", "k", "0"), ("DUMP",), ("SET", "n", "5"), ("RESTORE", "n", "0", payload, "REPLACE"),
        ("GET", "n"),
    ]
    for command in sequence:
        mine, reference = (c.command(*command) for c in (ours, theirs))
        if command[0] == "PTTL":
            assert abs(int(mine[1:-2]) - int(reference[1:-2])) < 1000
        else:
            assert mine == reference, f"{command}: {mine!r} != {reference!r}"


def test_idle_time_and_frequency_as_redis_applies_them(pair):
    for server in pair:
        client = redis.Redis(port=server.port)
        client.flushall()
        client.set("src", "v")
        payload = client.dump("src")
        client.restore("idle", 0, payload, idletime=1000)
        assert 1000 <= client.object("idletime", "idle") <= 1001
        client.config_set("maxmemory-policy", "allkeys-lfu")
        try:
            client.restore("frequent", 0, payload, frequency=42)
            assert client.object("freq", "frequent") == 42
            client.restore("default", 0, payload)
            assert client.object("freq", "default") == 5
        finally:
            client.config_set("maxmemory-policy", "noeviction")


def test_corrupt_payloads_never_harm_the_server(pair):
    ours = redis.Redis(port=pair[0].port)
    ours.flushall()
    rng = random.Random(5)
    payloads = []
    for key, fill in FILL.items():
        fill(ours, key)
        payloads.append(ours.dump(key))
    outcomes = {"ok": 0, "error": 0}
    for round in range(3000):
        body = bytearray(rng.choice(payloads)[:-10])
        if round % 3 == 0:
            body = body[: rng.randrange(len(body))]
        else:
            for _ in range(1 + round % 5):
                body[rng.randrange(len(body))] = rng.randrange(256)
        # A valid footer, so the contents themselves are what is judged.
        payload = bytes(body) + b"\x0a\x00" + crc64_reference.checksum(bytes(body) + b"\x0a\x00").to_bytes(8, "little")
        try:
            ours.restore("fuzzed", 0, payload, replace=True)
            outcomes["ok"] += 1
        except redis.ResponseError as error:
            assert str(error) == "Bad data format", error
            outcomes["error"] += 1
    assert ours.ping()
    assert outcomes["error"] > 1000


def listpack(*items):
    """A listpack of short strings (Redis's layout: header, entries with back lengths, 0xFF)."""
    body = b"".join(bytes([0x80 | len(item)]) + item + bytes([1 + len(item)]) for item in items)
    return (6 + len(body) + 1).to_bytes(4, "little") + len(items).to_bytes(2, "little") + body + b"\xff"


def rdb_string(blob):
    assert len(blob) < 64
    return bytes([len(blob)]) + blob


# Payload bodies at the edges of what Redis accepts with sanitize-dump-payload yes: empty
# collections, quicklist nodes with no bytes or no items, duplicates inside compact encodings.
EDGE_PAYLOADS = {
    "empty set": b"\x02\x00",
    "empty hash": b"\x04\x00",
    "empty zipmap": b"\x09" + rdb_string(b"\x00\xff"),
    "quicklist node of no bytes": b"\x12\x01\x02\x00",
    "quicklist with an empty node": b"\x12\x02\x02" + rdb_string(listpack()) + b"\x02" + rdb_string(listpack(b"a", b"b")),
    "quicklist of empty nodes": b"\x12\x01\x02" + rdb_string(listpack()),
    "quicklist unknown container": b"\x12\x01\x07" + rdb_string(listpack(b"a")),
    "hash listpack": b"\x10" + rdb_string(listpack(b"f", b"v", b"g", b"w")),
    "hash listpack duplicate field": b"\x10" + rdb_string(listpack(b"f", b"v", b"f", b"w")),
    "hash listpack odd count": b"\x10" + rdb_string(listpack(b"f", b"v", b"g")),
    "zset listpack duplicate member": b"\x11" + rdb_string(listpack(b"m", b"1", b"m", b"2")),
    "zset listpack empty": b"\x11" + rdb_string(listpack()),
}


@pytest.mark.parametrize("name", EDGE_PAYLOADS)
def test_edge_payloads_are_judged_as_redis_judges_them(pair, name):
    body = EDGE_PAYLOADS[name] + b"\x0a\x00"
    payload = body + crc64_reference.checksum(body).to_bytes(8, "little")
    results = []
    for server in pair:
        client = redis.Redis(port=server.port)
        client.config_set("sanitize-dump-payload", "yes")
        client.delete("edge")
        try:
            client.restore("edge", 0, payload)
            results.append(contents(client, "edge"))
        except redis.ResponseError as error:
            results.append(str(error))
        assert client.ping()
    assert results[0] == results[1]
