"""Hostile numbers and argument orders: every request here once crashed, hung or misanswered
Needletail. Each must leave the server alive and, where Redis survives it too, get Redis's
reply byte for byte."""
import re
import time

import pytest

from raw import RawClient

# Each case is a list of requests sent in order on one connection to both servers; the replies
# must be equal.
SAME_AS_REDIS = [
    # A count from the client reaching arithmetic in the key positions.
    [["LMPOP", "9223372036854775807", "k", "LEFT"]],
    [["BLMPOP", "0", "9223372036854775807", "k", "LEFT"]],
    [["ZMPOP", "9223372036854775807", "k", "MIN"]],
    [["BZMPOP", "0", "9223372036854775807", "k", "MIN"]],
    [["SINTERCARD", "9223372036854775807", "k"]],
    [["ZINTERCARD", "9223372036854775807", "k"]],
    [["ZUNION", "9223372036854775807", "k"]],
    [["ZINTER", "9223372036854775807", "k"]],
    [["ZDIFF", "9223372036854775807", "k"]],
    [["ZUNIONSTORE", "d", "9223372036854775807", "k"]],
    [["ZINTERSTORE", "d", "9223372036854775807", "k"]],
    [["ZDIFFSTORE", "d", "9223372036854775807", "k"]],
    [["COMMAND", "GETKEYS", "LMPOP", "9223372036854775807", "k", "LEFT"]],
    [["COMMAND", "GETKEYSANDFLAGS", "ZUNION", "9223372036854775807", "k"]],
    [["MULTI"], ["LMPOP", "9223372036854775807", "k", "LEFT"], ["EXEC"]],
    [["RPUSH", "k", "1", "2", "3"], ["SORT", "k", "LIMIT", "9223372036854775807", "1000000000", "STORE", "d"]],
    [["RPUSH", "k", "3", "1", "2"], ["SORT", "k", "LIMIT", "-9223372036854775808", "9223372036854775807"]],
    [["SCAN", "0", "COUNT", "9223372036854775807", "TYPE", "bogus"]],
    [["HSET", "h", "f", "v"], ["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"]],
    [["HSET", "h", "f", "v"], ["HRANDFIELD", "h", "-9223372036854770000", "WITHVALUES"]],
    [["HSET", "h", "f", "v"], ["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"]],
    [["HSET", "h", "f", "v"], ["HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"]],
    [["HSET", "h", "f", "v"], ["HRANDFIELD", "h", "-9223372036854775808"]],
    [["ZADD", "z", "0", "a"], ["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"]],
    [["ZADD", "z", "0", "a"], ["ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"]],
    [["SADD", "s", "a"], ["SRANDMEMBER", "s", "-9223372036854775808"]],
    [["COMMAND", "DOCS", ""]],
    [["COMMAND", "INFO", "|", "get|", ""]],
    # Two replies for one command used to shift every later reply of the connection.
    [["SET", "s", "x"], ["HSETNX", "s", "f", "v"], ["PING"]],
    # Redis checks the key before the options or the index.
    [["SSCAN", "nokey", "0", "COUNT", "0"]],
    [["HSCAN", "nokey", "0", "BOGUS"]],
    [["ZSCAN", "nokey", "0", "MATCH"]],
    [["SSCAN", "nokey", "x"]],
    [["LINDEX", "nokey", "notanumber"]],
    [["LSET", "nokey", "x", "y"]],
    [["OBJECT", "IDLETIME", "nokey"]],
    [["OBJECT", "FREQ", "nokey"]],
    [["GETEX", "nokey", "PXAT", "0"]],
    [["GETEX", "nokey", "EX", "x"]],
    [["RPUSH", "l", "a"], ["GETEX", "l", "EX", "0"]],
    [["SET", "k", "v"], ["GETEX", "k", "PX", "0"]],
    [["COMMAND", "GETKEYS", "SUNSUBSCRIBE", "x"]],
    [["COMMAND", "GETKEYS", "SPUBLISH", "x", "y"]],
    [["COMMAND", "GETKEYSANDFLAGS", "SORT", "k1", "STORE", "k2"]],
    # A queued command that fails only when it runs does not stop the transaction.
    [["MULTI"], ["SET", "a", "1"], ["LPUSH", "a", "x"], ["INCR", "b"], ["EXEC"]],
    [["LASTSAVE", "x"]],
    [["FUNCTION", "FLUSH", "x", "y"]],
    [["ZADD", "z", "-0", "a"], ["ZSCORE", "z", "a"], ["ZINCRBY", "z", "-0", "b"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"]],
    [["DEBUG", "ERROR", "hello"]],
    [["DEBUG", "ERROR", "-WRONG code"]],
    [["DEBUG", "PROTOCOL", "map"], ["DEBUG", "PROTOCOL", "attrib"], ["DEBUG", "PROTOCOL", "push"], ["DEBUG", "PROTOCOL", "x"]],
    [["HELLO", "3"], ["DEBUG", "PROTOCOL", "bignum"], ["DEBUG", "PROTOCOL", "attrib"], ["DEBUG", "PROTOCOL", "push"],
     ["DEBUG", "PROTOCOL", "verbatim"]],
    # Client bytes come back in error replies unchanged, cut at a NUL as Redis's %s cuts them.
    [["\xff\xfe", "a\x00b"]],
    [["CLIENT", "\xff\x00x"]],
    [["SETBIT", "bits", "7", "1"], ["BITFIELD", "bits", "SET", "u8", "0", "1"], ["OBJECT", "REFCOUNT", "bits"]],
    [["SET", "n", "9999"], ["OBJECT", "REFCOUNT", "n"], ["INCR", "n"], ["OBJECT", "REFCOUNT", "n"]],
    [["RPUSH", "l", "a"], ["OBJECT", "ENCODING", "l"]],
]


def exchange(server, requests):
    client = RawClient(server.port)
    try:
        client.command("FLUSHALL")
        return [client.command(*request) for request in requests]
    finally:
        client.close()


def normalized(replies):
    # HELLO's client id differs between any two servers.
    return [re.sub(rb"(\$2\r\nid\r\n):\d+", rb"\1:<id>", reply) for reply in replies]


def assert_alive(server):
    client = RawClient(server.port)
    try:
        assert client.command("PING") == b"+PONG\r\n"
    finally:
        client.close()


@pytest.mark.parametrize("requests", SAME_AS_REDIS, ids=lambda r: " | ".join(" ".join(c) for c in r)[:80])
def test_reply_as_redis_and_alive(pair, requests):
    ours, theirs = pair
    encoded = [[argument.encode("latin-1") for argument in request] for request in requests]
    assert normalized(exchange(ours, encoded)) == normalized(exchange(theirs, encoded))
    assert_alive(ours)


def test_client_list_inside_exec_shows_the_transaction(pair):
    ours, theirs = pair
    for server in (ours, theirs):
        line = exchange(server, [["MULTI"], ["CLIENT", "INFO"], ["EXEC"]])[2]
        assert b" flags=x " in line and b" multi=1 " in line and b" cmd=exec " in line, line


def test_debug_object_describes_every_type(needletail):
    client = RawClient(needletail.port)
    for request in (["RPUSH", "l", "a"], ["HSET", "h", "f", "v"], ["SADD", "s", "1"], ["SADD", "t", "x"], ["ZADD", "z", "1", "m"]):
        client.command(*request)
    for key in ("l", "h", "s", "t", "z"):
        assert client.command("DEBUG", "OBJECT", key).startswith(b"+Value at:")
    assert_alive(needletail)


@pytest.mark.parametrize("requests", [
    [["PEXPIREAT", "x", "9223372036854775807"]],
    [["PEXPIRE", "x", "4611686018427387904"]],
    [["EXPIRE", "x", "4611686018427387"]],
    [["PEXPIREAT", "x", "9223372036854775807"], ["PEXPIREAT", "y", "9223372036854775806"]],
])
def test_far_expiry_times_survive_the_expiry_cycle(needletail, requests):
    client = RawClient(needletail.port)
    for key in ("x", "y"):
        client.command("SET", key, "v")
    for request in requests:
        assert client.command(*request) == b":1\r\n"
    # The expiry cycle runs ten times a second and sums the remaining TTLs it meets.
    time.sleep(0.5)
    assert client.command("INFO", "keyspace").count(b"avg_ttl=") == 1
    assert_alive(needletail)


@pytest.mark.parametrize("request_", [
    # Redis 7.0.15 itself dies on these (it allocates room for every pick first).
    ["ZRANDMEMBER", "z", "-9223372036854775807"],
    ["ZRANDMEMBER", "z", "-4611686018427387903", "WITHSCORES"],
    ["HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES"],
    ["SRANDMEMBER", "s", "-1000000000000"],
])
def test_repeated_random_picks_beyond_the_bound_are_out_of_range(needletail, request_):
    client = RawClient(needletail.port)
    client.command("ZADD", "z", "1", "a")
    client.command("HSET", "h", "f", "v")
    client.command("SADD", "s", "a")
    assert client.command(*request_) == b"-ERR value is out of range\r\n"
    # The bound is far above any real use: a million repeated picks still come back.
    assert client.command("SRANDMEMBER", "s", "-1000000").startswith(b"*1000000\r\n")
    assert_alive(needletail)
