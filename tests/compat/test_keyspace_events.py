"""Keyspace notifications: the same commands against Needletail and redis-server 7.0, with a
subscriber on every `__keyspace@N__` / `__keyevent@N__` channel; the messages it receives,
in order, must match."""
import time

import pytest

from raw import RawClient

COMMANDS = [
    # Strings
    ("SET", "s", "v"), ("SET", "s", "w", "EX", "100"), ("SET", "s", "x", "NX"), ("SET", "s", "y", "XX", "GET"), ("SETNX", "s2", "1"),
    ("SETNX", "s2", "2"), ("SETEX", "s3", "100", "v"), ("PSETEX", "s4", "100000", "v"), ("GETSET", "s", "z"), ("MSET", "m1", "1", "m2", "2"),
    ("MSETNX", "m3", "1", "m4", "2"), ("MSETNX", "m3", "1", "m5", "2"), ("APPEND", "s", "++"), ("APPEND", "new", "x"),
    ("SETRANGE", "s", "1", "ab"), ("SETRANGE", "s", "1", ""), ("SETRANGE", "sr", "2", "q"), ("INCR", "n"), ("INCRBY", "n", "5"),
    ("DECR", "n"), ("DECRBY", "n", "2"), ("INCRBYFLOAT", "f", "1.5"), ("INCR", "s"), ("GETDEL", "m1"), ("GETDEL", "m1"),
    ("GETEX", "m2", "EX", "100"), ("GETEX", "m2", "PERSIST"), ("GETEX", "m2", "PXAT", "1"), ("GET", "missing"), ("MGET", "a", "s"),
    ("GETRANGE", "missing", "0", "1"), ("STRLEN", "missing"),
    # Keys and expiry
    ("SET", "k", "v"), ("EXPIRE", "k", "100"), ("PEXPIRE", "k", "200000", "GT"), ("EXPIRE", "k", "10", "GT"), ("PERSIST", "k"),
    ("PERSIST", "k"), ("EXPIREAT", "k", "1"), ("SET", "k", "v"), ("RENAME", "k", "k2"), ("SET", "k3", "x"), ("RENAME", "k2", "k3"),
    ("RENAMENX", "k3", "k4"), ("COPY", "k4", "k5"), ("COPY", "k4", "k5", "REPLACE"), ("COPY", "k4", "k6", "DB", "1"),
    ("MOVE", "k5", "2"), ("DEL", "k4", "k5", "nothing"), ("UNLINK", "k6"), ("EXISTS", "missing"), ("TYPE", "missing"),
    ("SET", "short", "v", "PX", "1"),
    # Bitmaps
    ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "7", "1"), ("BITFIELD", "bf", "SET", "u8", "0", "5", "GET", "u8", "0"),
    ("BITFIELD", "bf", "GET", "u8", "0"), ("BITOP", "OR", "bo", "b", "bf"), ("BITOP", "AND", "bo", "none1", "none2"),
    # Lists
    ("RPUSH", "l", "a", "b", "c", "d"), ("LPUSH", "l", "z"), ("LPUSHX", "nol", "x"), ("RPUSHX", "l", "e"), ("LPOP", "l"),
    ("RPOP", "l", "2"), ("LSET", "l", "0", "A"), ("LINSERT", "l", "BEFORE", "A", "pre"), ("LREM", "l", "0", "pre"),
    ("LTRIM", "l", "0", "0"), ("RPUSH", "l2", "1"), ("LMOVE", "l2", "l", "LEFT", "RIGHT"), ("RPOPLPUSH", "l", "l3"),
    ("LMPOP", "1", "l", "LEFT", "COUNT", "10"), ("BLPOP", "l3", "0"), ("BRPOPLPUSH", "none", "x", "0.01"), ("LRANGE", "missing", "0", "1"),
    # Hashes
    ("HSET", "h", "a", "1", "b", "2"), ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "c", "3"), ("HMSET", "h", "d", "4"),
    ("HINCRBY", "h", "a", "5"), ("HINCRBYFLOAT", "h", "a", "0.5"), ("HDEL", "h", "a", "zz"), ("HDEL", "h", "b", "c", "d"),
    ("HGET", "missing", "f"),
    # Sets
    ("SADD", "st", "a", "b", "c"), ("SADD", "st", "a"), ("SREM", "st", "a"), ("SMOVE", "st", "st2", "b"), ("SPOP", "st"),
    ("SADD", "u1", "1", "2"), ("SADD", "u2", "2", "3"), ("SINTERSTORE", "sd", "u1", "u2"), ("SUNIONSTORE", "sd", "u1", "u2"),
    ("SDIFFSTORE", "sd", "u1", "u2"), ("SINTERSTORE", "sd", "u1", "none"), ("SMEMBERS", "missing"),
    # Sorted sets
    ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "INCR", "1", "a"),
    ("ZINCRBY", "z", "1", "b"), ("ZREM", "z", "a", "none"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "0"), ("ZADD", "z", "5", "e", "6", "f"),
    ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZREMRANGEBYSCORE", "z", "5", "5"), ("ZADD", "zl", "0", "a", "0", "b"),
    ("ZREMRANGEBYLEX", "zl", "[a", "[a"), ("ZRANGESTORE", "zr", "z", "0", "-1"), ("ZUNIONSTORE", "zu", "3", "z", "zl", "none"),
    ("ZINTERSTORE", "zi", "2", "z", "zl"), ("ZDIFFSTORE", "zd", "2", "z", "zl"), ("ZMPOP", "1", "zl", "MAX"), ("BZPOPMIN", "z", "0"),
    ("ZSCORE", "missing", "a"),
    # Sort and transactions
    ("RPUSH", "sl", "3", "1", "2"), ("SORT", "sl", "STORE", "sorted"), ("SORT", "none", "STORE", "sorted"), ("SORT", "sl", "BY", "w_*", "GET", "g_*"), ("SUNION", "none", "u1"), ("MULTI"),
    ("INCR", "tx"), ("RPUSH", "txl", "a"), ("EXEC"), ("FLUSHDB"),
]


def events(server):
    subscriber, client = RawClient(server.port), RawClient(server.port)
    try:
        client.command("FLUSHALL")
        client.command("CONFIG", "SET", "notify-keyspace-events", "AKEmn")
        subscriber.command("PSUBSCRIBE", "__key*__:*")
        subscriber.command("SUBSCRIBE", "end")
        for command in COMMANDS:
            client.command(*((command,) if isinstance(command, str) else command))
            if command == ("SET", "short", "v", "PX", "1"):
                time.sleep(0.05)
                client.command("GET", "short")
        client.command("PUBLISH", "end", "")
        received = []
        while True:
            message = subscriber.read_reply()
            if b"$3\r\nend\r\n" in message:
                return received
            received.append(message)
    finally:
        client.command("CONFIG", "SET", "notify-keyspace-events", "")
        subscriber.close()
        client.close()


def test_keyspace_events_match_redis(pair):
    ours, theirs = pair
    mine, reference = events(ours), events(theirs)
    for index, (a, b) in enumerate(zip(mine, reference)):
        assert a == b, f"message {index}: Needletail {a!r} != Redis {b!r}"
    assert len(mine) == len(reference)
