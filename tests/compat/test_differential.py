"""The same commands to Needletail and to redis-server 7.0; every reply compared byte for byte.

Each scenario runs on flushed servers over fresh connections. A command wrapped in `unordered`
has its array reply compared as a multiset (KEYS, SCAN pages), `shape` compares only that an
error or non-error came back (values that legitimately differ, such as TIME).
"""
import pytest

from raw import RawClient


def unordered(*args):
    return ("unordered", args)


def shape(*args):
    return ("shape", args)


def scan(*args):
    """A SCAN reply: same cursor, same keys in any order."""
    return ("scan", args)


def pairs(*args):
    """A map reply whose pair order is the server's hash order (CONFIG GET)."""
    return ("pairs", args)


def split_array(reply):
    """The raw elements of a flat RESP array reply (one level)."""
    client = RawClient.__new__(RawClient)
    client.buffer = reply
    header_end = reply.index(b"\r\n")
    count = int(reply[1:header_end])
    position, elements = header_end + 2, []
    for _ in range(count):
        end = client._reply_end(position)
        elements.append(reply[position:end])
        position = end
    return sorted(elements)


def scan_result(reply):
    """(cursor, sorted keys) of a SCAN reply."""
    cursor_start = reply.index(b"\r\n") + 2
    client = RawClient.__new__(RawClient)
    client.buffer = reply
    cursor_end = client._reply_end(cursor_start)
    return reply[cursor_start:cursor_end], split_array(reply[cursor_end:])


def split_pairs(reply):
    """The key-value pairs of a map (RESP3) or flat array (RESP2) reply, sorted."""
    if reply[:1] == b"%":
        header_end = reply.index(b"\r\n")
        flat = b"*%d" % (2 * int(reply[1:header_end])) + reply[header_end:]
    else:
        flat = reply
    client = RawClient.__new__(RawClient)
    client.buffer = flat
    header_end = flat.index(b"\r\n")
    position, elements = header_end + 2, []
    for _ in range(int(flat[1:header_end])):
        end = client._reply_end(position)
        elements.append(flat[position:end])
        position = end
    return sorted(zip(elements[::2], elements[1::2]))


SCENARIOS = {
    "strings": [
        ("SET", "k", "v"), ("GET", "k"), ("GET", "missing"), ("SET", "k", "v2", "NX"), ("SET", "k", "v3", "XX", "GET"),
        ("SET", "n", "10", "GET"), ("SET", "k", "v", "EX", "0"), ("SET", "k", "v", "EX", "-5"), ("SET", "k", "v", "PX", "abc"),
        ("SET", "k", "v", "NX", "XX"), ("SET", "k", "v", "KEEPTTL", "EX", "10"), ("SET", "k", "v", "EX", "10", "KEEPTTL"),
        ("SET", "k", "v", "EX"), ("SET", "k"), ("SET", "k", "v", "FOO"), ("SET", "t", "v", "EX", "100"), ("TTL", "t"),
        ("SET", "t", "w", "KEEPTTL"), ("TTL", "t"), ("SET", "t", "x"), ("TTL", "t"),
        ("SETNX", "k", "x"), ("SETNX", "new", "x"), ("SETEX", "k", "100", "v"), ("SETEX", "k", "0", "v"),
        ("SETEX", "k", "abc", "v"), ("PSETEX", "k", "100000", "v"), ("PSETEX", "k", "-1", "v"),
        ("GETSET", "k", "g"), ("GETSET", "nothing", "g"), ("GETDEL", "k"), ("GETDEL", "k"),
        ("SET", "e", "1"), ("GETEX", "e"), ("GETEX", "e", "EX", "100"), ("TTL", "e"), ("GETEX", "e", "PERSIST"), ("TTL", "e"),
        ("GETEX", "e", "PERSIST", "EX", "1"), ("GETEX", "e", "EX", "0"), ("GETEX", "e", "FOO"), ("GETEX", "nothing", "EX", "10"),
        ("MSET", "a", "1", "b", "2", "c", "3"), ("MGET", "a", "b", "zz", "c"), ("MSET", "a"), ("MSET", "a", "1", "b"),
        ("MSETNX", "a", "1", "d", "4"), ("MSETNX", "d", "4", "e2", "5"), ("MGET", "d", "e2"),
        ("APPEND", "s", "Hello"), ("APPEND", "s", " World"), ("STRLEN", "s"), ("STRLEN", "missing"), ("APPEND", "a", "0"),
        ("GET", "a"), ("INCR", "a"), ("GETRANGE", "s", "0", "4"), ("GETRANGE", "s", "-5", "-1"), ("GETRANGE", "s", "0", "-100"),
        ("GETRANGE", "s", "-100", "100"), ("GETRANGE", "s", "5", "2"), ("GETRANGE", "s", "-1", "-5"), ("GETRANGE", "s", "a", "1"),
        ("GETRANGE", "missing", "0", "10"), ("SUBSTR", "s", "1", "3"), ("SETRANGE", "s", "6", "Redis"), ("GET", "s"),
        ("SETRANGE", "pad", "5", "x"), ("GET", "pad"), ("SETRANGE", "none", "0", ""), ("EXISTS", "none"),
        ("SETRANGE", "s", "0", ""), ("SETRANGE", "s", "-1", "x"), ("SETRANGE", "s", "536870912", "x"),
        ("SET", "lcs1", "ohmytext"), ("SET", "lcs2", "mynewtext"), ("LCS", "lcs1", "lcs2"), ("LCS", "lcs1", "lcs2", "LEN"),
        ("LCS", "lcs1", "lcs2", "IDX"), ("LCS", "lcs1", "lcs2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "lcs1", "lcs2", "IDX", "WITHMATCHLEN"), ("LCS", "lcs1", "lcs2", "LEN", "IDX"), ("LCS", "lcs1", "missing"),
        ("LCS", "lcs1", "lcs2", "FOO"), ("SET", "lcs3", "aaaabbbb"), ("SET", "lcs4", "bbbbaaaa"), ("LCS", "lcs3", "lcs4", "IDX"),
        ("LCS", "lcs3", "lcs4"),
    ],
    "counters": [
        ("INCR", "n"), ("INCRBY", "n", "10"), ("DECR", "n"), ("DECRBY", "n", "-5"), ("INCRBY", "n", "abc"),
        ("INCRBY", "n", "1.5"), ("SET", "n", "9223372036854775807"), ("INCR", "n"), ("SET", "n", "-9223372036854775808"),
        ("DECR", "n"), ("DECRBY", "n", "-9223372036854775808"), ("SET", "s", "abc"), ("INCR", "s"), ("SET", "s", " 1"),
        ("INCR", "s"), ("SET", "s", "01"), ("INCR", "s"), ("SET", "f", "10.5"), ("INCRBYFLOAT", "f", "0.1"),
        ("INCRBYFLOAT", "f", "1e3"), ("INCRBYFLOAT", "f", "-1010.6"), ("INCRBYFLOAT", "f", "abc"), ("INCRBYFLOAT", "f", "inf"),
        ("INCRBYFLOAT", "f", " 1"), ("SET", "g", "3.0e3"), ("INCRBYFLOAT", "g", "0"), ("INCRBYFLOAT", "h", "1.23456789012345678"),
        ("INCRBYFLOAT", "h", "-0.000000000000000001"), ("SET", "big", "1e308"), ("INCRBYFLOAT", "big", "1e308"),
        ("INCRBYFLOAT", "new", "5"), ("OBJECT", "ENCODING", "new"), ("INCRBYFLOAT", "s", "1"),
        ("SET", "x", "0x10"), ("INCRBYFLOAT", "x", "1"),
    ],
    "encodings": [
        ("SET", "a", "123"), ("OBJECT", "ENCODING", "a"), ("SET", "a", "12345678901234567890"), ("OBJECT", "ENCODING", "a"),
        ("SET", "a", "-1"), ("OBJECT", "ENCODING", "a"), ("SET", "a", "9223372036854775808"), ("OBJECT", "ENCODING", "a"),
        ("SET", "a", "x" * 44), ("OBJECT", "ENCODING", "a"), ("SET", "a", "x" * 45), ("OBJECT", "ENCODING", "a"),
        ("MSET", "b", "7"), ("OBJECT", "ENCODING", "b"), ("APPEND", "b", "1"), ("OBJECT", "ENCODING", "b"),
        ("SETRANGE", "c", "0", "abc"), ("OBJECT", "ENCODING", "c"), ("OBJECT", "ENCODING", "missing"),
        ("OBJECT", "FOO", "a"), ("OBJECT"), ("OBJECT", "ENCODING"), ("OBJECT", "FREQ", "a"), ("OBJECT", "HELP", "extra"),
    ],
    "overwrites": [
        ("SET", "k", "short"), ("SET", "k", "a value of forty bytes, more than before!"), ("GET", "k"), ("OBJECT", "ENCODING", "k"),
        ("SET", "k", "12"), ("OBJECT", "ENCODING", "k"), ("GET", "k"), ("SET", "k", "x" * 100), ("OBJECT", "ENCODING", "k"),
        ("STRLEN", "k"), ("SET", "k", "tiny"), ("GET", "k"), ("OBJECT", "ENCODING", "k"), ("APPEND", "k", "+more"), ("GET", "k"),
        ("SET", "k", "ab"), ("GET", "k"), ("OBJECT", "ENCODING", "k"), ("SETRANGE", "k", "4", "z"), ("GET", "k"),
        ("RPUSH", "l", "a", "b"), ("SET", "l", "now a string"), ("TYPE", "l"), ("GET", "l"), ("LLEN", "l"),
        ("HSET", "h", "f", "v"), ("SET", "h", "1"), ("OBJECT", "ENCODING", "h"), ("INCR", "h"), ("GET", "h"),
        ("SET", "t", "v", "EX", "100"), ("SET", "t", "w"), ("TTL", "t"), ("SET", "t", "w", "EX", "100"), ("TTL", "t"),
        ("SET", "e", "v", "PX", "1"), ("DEBUG", "SLEEP", "0.01"), ("SET", "e", "x"), ("GET", "e"), ("TTL", "e"),
        ("MSET", "k", "1", "l", "2", "new", "3"), ("MGET", "k", "l", "new"), ("SETNX", "k", "9"), ("SETEX", "k", "100", "y"),
        ("TTL", "k"), ("GET", "k"), ("DBSIZE"), ("DEBUG", "DIGEST-VALUE", "k", "l", "h", "t", "e", "new"),
    ],
    "keys": [
        ("MSET", "a", "1", "b", "2", "c", "3"), ("EXISTS", "a", "b", "a", "zz"), ("TYPE", "a"), ("TYPE", "zz"),
        ("TOUCH", "a", "zz"), ("DEL", "a", "zz", "a"), ("UNLINK", "b"), ("DBSIZE"), ("RENAME", "c", "c"),
        ("RENAME", "zz", "y"), ("RENAME", "c", "d"), ("GET", "d"), ("SET", "e", "5"), ("RENAMENX", "d", "e"),
        ("RENAMENX", "d", "d"), ("RENAMENX", "d", "f"), ("RENAMENX", "zz", "g"), ("COPY", "f", "f"), ("COPY", "f", "e"),
        ("COPY", "f", "e", "REPLACE"), ("GET", "e"), ("COPY", "f", "h", "DB", "99"), ("COPY", "f", "h", "DB", "x"),
        ("COPY", "f", "h", "FOO"), ("COPY", "f", "f", "DB", "1"), ("COPY", "zz", "h"), ("MOVE", "f", "0"),
        ("MOVE", "f", "x"), ("MOVE", "f", "16"), ("MOVE", "f", "-1"), ("MOVE", "f", "1"), ("MOVE", "f", "1"),
        ("MOVE", "zz", "1"), ("SELECT", "1"), ("GET", "f"), ("DBSIZE"), ("SWAPDB", "0", "1"), ("GET", "e"),
        ("SWAPDB", "0", "16"), ("SWAPDB", "x", "1"), ("SWAPDB", "1", "y"), ("SWAPDB", "0", "0"), ("SELECT", "16"),
        ("SELECT", "-1"), ("SELECT", "x"), ("SELECT", "0"), unordered("KEYS", "*"), ("KEYS", "nomatch*"),
        ("FLUSHDB", "ASYNC", "SYNC"), ("FLUSHDB", "FOO"), ("FLUSHALL", "FOO"), ("FLUSHDB", "ASYNC"), ("DBSIZE"),
        ("RANDOMKEY"), ("SET", "only", "1"), ("RANDOMKEY"), ("FLUSHALL", "SYNC"), ("DBSIZE"),
    ],
    "scan": [
        ("MSET", "k1", "1", "k2", "2", "k3", "3", "x1", "1"), ("SCAN", "abc"), shape("SCAN", "-1"), scan("SCAN", "+0"), scan("SCAN", "0", "MATCH", "k*"), ("SCAN", " 1"), ("SCAN", "18446744073709551616"), ("SCAN", "0", "COUNT", "0"),
        ("SCAN", "0", "COUNT", "x"), ("SCAN", "0", "MATCH"), ("SCAN", "0", "FOO", "bar"), ("SCAN", "0", "TYPE", "list", "COUNT", "1000"),
        ("SCAN", "0", "TYPE", "hash", "COUNT", "1000"), ("SCAN", "0", "MATCH", "nomatch*", "COUNT", "1000"),
    ],
    "expiry": [
        ("SET", "k", "v"), ("EXPIRE", "k", "100", "XX"), ("EXPIRE", "k", "100", "NX"), ("TTL", "k"), ("EXPIRE", "k", "50", "GT"),
        ("EXPIRE", "k", "150", "GT"), ("TTL", "k"), ("EXPIRE", "k", "200", "LT"), ("EXPIRE", "k", "120", "LT"), ("TTL", "k"),
        ("EXPIRE", "k", "1", "NX", "XX"), ("EXPIRE", "k", "1", "GT", "LT"), ("EXPIRE", "k", "1", "NX", "GT"), ("EXPIRE", "k", "1", "FOO"),
        ("EXPIRE", "k", "abc"), ("EXPIRE", "k", "9223372036854775807"), ("PEXPIRE", "k", "9223372036854775807"),
        ("EXPIREAT", "k", "9223372036854775807"), ("EXPIRE", "missing", "10"), ("PERSIST", "k"), ("PERSIST", "k"),
        ("PERSIST", "missing"), ("TTL", "k"), ("PTTL", "k"), ("TTL", "missing"), ("PTTL", "missing"), ("EXPIRETIME", "k"),
        ("EXPIRETIME", "missing"), ("PEXPIRETIME", "missing"), ("EXPIREAT", "k", "4102444800"), ("EXPIRETIME", "k"),
        ("PEXPIREAT", "k", "4102444800123"), ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"), ("EXPIRE", "k", "-1"), ("EXISTS", "k"),
        ("SET", "k", "v"), ("PEXPIREAT", "k", "1"), ("GET", "k"), ("SET", "k", "v"), ("EXPIRE", "k", "0"), ("EXISTS", "k"),
        ("SET", "k", "v", "EX", "100"), ("EXPIRE", "k", "100", "LT"), ("EXPIRE", "k", "1000", "LT"),
    ],
    "bitmaps": [
        ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "7", "0"), ("GETBIT", "b", "7"), ("GETBIT", "b", "1000"),
        ("GETBIT", "missing", "0"), ("SETBIT", "b", "-1", "1"), ("SETBIT", "b", "4294967296", "1"), ("SETBIT", "b", "1", "2"),
        ("SETBIT", "b", "x", "1"), ("GETBIT", "b", "-1"), ("SET", "s", "foobar"), ("BITCOUNT", "s"), ("BITCOUNT", "s", "1", "1"),
        ("BITCOUNT", "s", "0", "-1"), ("BITCOUNT", "s", "-2", "-1"), ("BITCOUNT", "s", "5", "30", "BIT"),
        ("BITCOUNT", "s", "1", "1", "BYTE"), ("BITCOUNT", "s", "0"), ("BITCOUNT", "s", "0", "1", "FOO"), ("BITCOUNT", "nokey", "0"),
        ("BITCOUNT", "s", "a", "b"), ("BITCOUNT", "s", "-1", "-2"), ("BITCOUNT", "s", "10", "5"),
        ("BITPOS", "s", "1"), ("BITPOS", "s", "0"), ("BITPOS", "s", "1", "2"), ("BITPOS", "s", "0", "2", "-1", "BIT"),
        ("BITPOS", "s", "1", "2", "-1", "BYTE"), ("BITPOS", "s", "1", "100"), ("BITPOS", "s", "2"), ("BITPOS", "nokey", "0"),
        ("BITPOS", "nokey", "1"), ("BITPOS", "s", "1", "0", "1", "FOO"), ("SET", "ones", "\xff\xff"), ("BITPOS", "ones", "0"),
        ("BITPOS", "ones", "0", "0", "-1"), ("BITPOS", "ones", "0", "0"), ("BITPOS", "ones", "1", "-1"),
        ("BITOP", "AND", "dst", "s", "ones"), ("GET", "dst"), ("BITOP", "OR", "dst", "s", "nokey"), ("GET", "dst"),
        ("BITOP", "XOR", "dst", "s", "s"), ("GET", "dst"), ("BITOP", "NOT", "dst", "s"), ("GET", "dst"),
        ("BITOP", "NOT", "dst", "s", "ones"), ("BITOP", "XOR", "dst", "nokey"), ("EXISTS", "dst"), ("BITOP", "FOO", "dst", "s"),
        ("BITFIELD", "x", "SET", "i8", "0", "-1", "GET", "u8", "0", "GET", "i4", "#1"),
        ("BITFIELD", "y", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"),
        ("BITFIELD", "z", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "200", "GET", "u4", "0"),
        ("BITFIELD", "z", "INCRBY", "i8", "0", "-300"), ("BITFIELD", "w", "OVERFLOW", "WRAP", "INCRBY", "i4", "0", "7", "INCRBY", "i4", "0", "1"),
        ("BITFIELD", "v", "SET", "u8", "0", "300", "OVERFLOW", "SAT", "SET", "u8", "8", "300", "OVERFLOW", "FAIL", "SET", "u8", "16", "300"),
        ("GET", "v"), ("BITFIELD", "v", "SET", "i64", "0", "-9223372036854775808", "GET", "i64", "0", "INCRBY", "i64", "0", "-1"),
        ("BITFIELD", "v", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "u63", "0", "9223372036854775807"),
        ("BITFIELD", "x", "GET", "u64", "0"), ("BITFIELD", "x", "GET", "i65", "0"), ("BITFIELD", "x", "GET", "x8", "0"),
        ("BITFIELD", "x", "OVERFLOW", "foo"), ("BITFIELD", "x", "SET", "u8", "-1", "1"), ("BITFIELD", "x", "SET", "u8", "#x", "1"),
        ("BITFIELD", "x", "SET", "u8", "0"), ("BITFIELD", "x", "SET", "u8", "0", "x"), ("BITFIELD", "x", "FOO"),
        ("BITFIELD", "x"), ("BITFIELD_RO", "x", "GET", "i8", "0"), ("BITFIELD_RO", "x", "SET", "i8", "0", "1"),
        ("BITFIELD", "nokey", "GET", "u8", "0"), ("BITFIELD_RO", "nokey", "GET", "u8", "0"), ("EXISTS", "nokey"),
        ("BITFIELD", "x", "GET", "u8", "4294967288"), ("BITFIELD", "x", "GET", "u8", "4294967289"),
    ],
    "connection": [
        ("PING"), ("PING", "hello"), ("PING", "a", "b"), ("ECHO", "x"), ("ECHO"), ("ECHO", "a", "b"),
        ("AUTH", "x"), ("AUTH", "a", "b", "c"), ("AUTH", "default", "x"), ("AUTH", "nobody", "x"),
        ("HELLO", "4"), ("HELLO", "abc"), ("HELLO", "3", "foo"), ("HELLO", "2", "AUTH", "default"),
        ("HELLO", "2", "SETNAME", "bad name"), ("CLIENT", "SETNAME", "bad name"), ("CLIENT", "SETNAME", "good"),
        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"), ("CLIENT", "FOO"), ("CLIENT"),
        ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "ID", "abc"), ("CLIENT", "LIST", "ID", "0"),
        ("CLIENT", "LIST", "FOO"), ("CLIENT", "LIST", "ID", "99999999"), ("SELECT", "3"), ("SELECT", "0"),
    ],
    "unknown": [
        ("FOO",), ("FOO", "bar", "baz"), ("FOO", "x" * 200), ("FOO", "a" * 100, "b" * 100), ("GET",), ("CONFIG",),
        ("CONFIG", "FOO"), ("config", "foo", "bar"), ("CONFIG", "GET"), ("CONFIG", "SET", "hz"), ("COMMAND", "FOO"),
        ("OBJECT", "FOO"), ("DEBUG",), ("DEBUG", "FOO"), ("DEBUG", "SLEEP"), ("FUNCTION", "FLUSH", "x"), ("FUNCTION", "FLUSH"),
        ("FUNCTION", "FLUSH", "ASYNC"), ("SHUTDOWN", "ABORT"), ("SHUTDOWN", "FOO"), ("SHUTDOWN", "ABORT", "NOW"),
    ],
    "config": [
        ("CONFIG", "GET", "maxmemory"), pairs("CONFIG", "GET", "hz", "timeout"), ("CONFIG", "SET", "hz", "abc"),
        ("CONFIG", "SET", "hz", "1000"), ("CONFIG", "GET", "hz"), ("CONFIG", "SET", "hz", "0"), ("CONFIG", "GET", "hz"),
        ("CONFIG", "SET", "hz", "10"), ("CONFIG", "SET", "maxmemory", "1xb"), ("CONFIG", "SET", "appendfsync", "maybe"),
        ("CONFIG", "SET", "foo", "bar"), ("CONFIG", "SET", "port", "99999"), ("CONFIG", "SET", "hz", "5", "hz", "6"),
        ("CONFIG", "SET", "daemonize", "yes"), ("CONFIG", "SET", "maxmemory-policy", "bad"), ("CONFIG", "SET", "loglevel", "foo"),
        ("CONFIG", "SET", "timeout", "-1"), ("CONFIG", "SET", "maxclients", "0"), ("CONFIG", "SET", "databases", "3"),
        ("CONFIG", "SET", "dir", "/tmp"), ("CONFIG", "SET", "save", "100 a"), ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"),
        ("CONFIG", "SET", "notify-keyspace-events", "KEA"), ("CONFIG", "GET", "notify-keyspace-events"),
        ("CONFIG", "SET", "notify-keyspace-events", "nmKlg"), ("CONFIG", "GET", "notify-keyspace-events"),
        ("CONFIG", "SET", "notify-keyspace-events", "Q"), ("CONFIG", "SET", "notify-keyspace-events", ""),
        ("CONFIG", "SET", "maxmemory", "2gb", "maxmemory-policy", "ALLKEYS-LRU"), pairs("CONFIG", "GET", "maxmemory*"),
        ("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction"), ("CONFIG", "SET", "proto-max-bulk-len", "1k"),
        ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64mb 16mb 90"), ("CONFIG", "GET", "client-output-buffer-limit"),
        ("CONFIG", "SET", "client-output-buffer-limit", "pubsub 33554432 8388608 60"), ("CONFIG", "GET", "slave-read-only"),
        ("CONFIG", "SET", "slave-read-only", "no"), ("CONFIG", "GET", "replica-read-only"), ("CONFIG", "SET", "replica-read-only", "yes"),
        ("CONFIG", "GET", "lua-time-limit"), ("CONFIG", "GET", "nomatch*"), ("CONFIG", "RESETSTAT"), ("CONFIG", "REWRITE"),
        ("CONFIG", "SET", "maxmemory-clients", "-1"), ("CONFIG", "SET", "maxmemory-clients", "10x"), ("CONFIG", "GET", "maxmemory-clients"),
        ("CONFIG", "SET", "shutdown-on-sigterm", "now save"), ("CONFIG", "GET", "shutdown-on-sigterm"),
        ("CONFIG", "SET", "shutdown-on-sigterm", "FORCE nosave now"), ("CONFIG", "GET", "shutdown-on-sigterm"),
        ("CONFIG", "SET", "shutdown-on-sigterm", "save nosave"), ("CONFIG", "SET", "shutdown-on-sigterm", "bogus"),
        ("CONFIG", "SET", "shutdown-on-sigint", ""), ("CONFIG", "SET", "shutdown-on-sigint", "default now"),
        pairs("CONFIG", "GET", "shutdown-on-sig*"), ("CONFIG", "SET", "shutdown-on-sigterm", "default", "shutdown-on-sigint", "default"),
    ],
    "debug": [
        ("DEBUG", "DIGEST"), ("SET", "a", "1"), ("SET", "b", "hello"), ("DEBUG", "DIGEST"), ("DEBUG", "DIGEST-VALUE", "a", "b", "nokey"),
        ("SET", "t", "v", "EX", "1000"), ("DEBUG", "DIGEST-VALUE", "t"), ("DEBUG", "DIGEST"), ("SELECT", "3"), ("SET", "a", "1"),
        ("DEBUG", "DIGEST"), ("SELECT", "0"), ("DEBUG", "POPULATE", "5"), ("DEBUG", "POPULATE", "2", "p", "5"), ("GET", "p:1"),
        ("DEBUG", "POPULATE", "2", "q", "20"), ("GET", "q:1"), ("DEBUG", "POPULATE", "abc"), ("DEBUG", "POPULATE", "-1"),
        ("DEBUG", "DIGEST"), ("DBSIZE"), ("DEBUG", "SET-ACTIVE-EXPIRE", "1"), ("DEBUG", "SLEEP", "0"), ("DEBUG", "SLEEP", "abc"),
        ("DEBUG", "LOG", "hello"), ("APPEND", "r", "x" * 50), ("DEBUG", "DIGEST-VALUE", "r"), ("INCR", "n"),
        ("DEBUG", "DIGEST-VALUE", "n"), ("DEBUG", "DIGEST"),
    ],
    "introspection": [
        ("COMMAND", "GETKEYS", "GET", "a"), ("COMMAND", "GETKEYS", "SET", "a", "b"), ("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"),
        ("COMMAND", "GETKEYS", "MSET", "a", "1", "b"), ("COMMAND", "GETKEYS", "PING", "x"), ("COMMAND", "GETKEYS", "NOPE", "x"),
        ("COMMAND", "GETKEYS", "GET", "a", "b"), ("COMMAND", "GETKEYS", "OBJECT", "ENCODING", "x"), ("COMMAND", "GETKEYS", "CONFIG", "GET", "x"),
        ("COMMAND", "GETKEYS", "BITOP", "AND", "d", "a", "b"), ("COMMAND", "GETKEYS", "LCS", "a", "b"), ("COMMAND", "GETKEYS", "RENAME", "a", "b"),
        ("COMMAND", "GETKEYSANDFLAGS", "SET", "a", "b"), ("COMMAND", "GETKEYSANDFLAGS", "BITOP", "AND", "d", "a", "b"),
        ("COMMAND", "GETKEYSANDFLAGS", "COPY", "a", "b"), ("COMMAND", "INFO", "get", "nosuch", "client|setname", "incr"),
        ("COMMAND", "COUNT", "x"), ("COMMAND", "LIST", "FILTERBY"), ("COMMAND", "LIST", "FOO"),
        ("COMMAND", "LIST", "FILTERBY", "MODULE", "x"), ("COMMAND", "DOCS", "nosuch"), ("TIME", "x"),
    ],
}

SCENARIOS["lists"] = [
    ("RPUSH", "l", "a", "b", "c", "a", "d"), ("LPUSH", "l", "z"), ("LLEN", "l"), ("LRANGE", "l", "0", "-1"), ("LRANGE", "l", "-3", "100"),
    ("LRANGE", "l", "5", "2"), ("LRANGE", "l", "-100", "-50"), ("LRANGE", "l", "x", "1"), ("LRANGE", "missing", "0", "-1"),
    ("LINDEX", "l", "0"), ("LINDEX", "l", "-1"), ("LINDEX", "l", "99"), ("LINDEX", "l", "x"), ("LSET", "l", "1", "q"), ("LSET", "l", "99", "q"),
    ("LSET", "nl", "0", "x"), ("LINSERT", "l", "BEFORE", "a", "x"), ("LINSERT", "l", "after", "d", "y"), ("LINSERT", "l", "BEFORE", "zz", "x"),
    ("LINSERT", "nl", "BEFORE", "a", "x"), ("LINSERT", "l", "middle", "a", "x"), ("LRANGE", "l", "0", "-1"),
    ("LPOS", "l", "a"), ("LPOS", "l", "a", "RANK", "2"), ("LPOS", "l", "a", "RANK", "-1"), ("LPOS", "l", "a", "COUNT", "0"),
    ("LPOS", "l", "a", "RANK", "-1", "COUNT", "2"), ("LPOS", "l", "a", "MAXLEN", "2"), ("LPOS", "l", "nope"), ("LPOS", "l", "nope", "COUNT", "2"),
    ("LPOS", "l", "a", "RANK", "0"), ("LPOS", "l", "a", "COUNT", "-1"), ("LPOS", "l", "a", "MAXLEN", "-1"), ("LPOS", "l", "a", "FOO", "1"),
    ("LPOS", "l", "a", "RANK"), ("LPOS", "l", "a", "RANK", "-9223372036854775808"), ("LPOS", "missing", "a"), ("LPOS", "missing", "a", "COUNT", "1"),
    ("LREM", "l", "1", "a"), ("LREM", "l", "-1", "x"), ("LREM", "l", "0", "nope"), ("LREM", "l", "x", "a"), ("LRANGE", "l", "0", "-1"),
    ("LTRIM", "l", "1", "-2"), ("LRANGE", "l", "0", "-1"), ("LTRIM", "l", "a", "1"), ("LTRIM", "missing", "0", "1"),
    ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "0"), ("LPOP", "l", "2"), ("RPOP", "l", "10"), ("EXISTS", "l"), ("LPOP", "l"),
    ("LPOP", "l", "2"), ("LPOP", "l", "-1"), ("LPOP", "l", "x"), ("LPOP", "l", "1", "2"), ("RPUSHX", "l", "x"), ("LPUSHX", "l", "x"),
    ("RPUSH", "src", "1", "2", "3"), ("LMOVE", "src", "dst", "LEFT", "RIGHT"), ("LMOVE", "src", "dst", "RIGHT", "LEFT"),
    ("LMOVE", "src", "src", "LEFT", "RIGHT"), ("LRANGE", "src", "0", "-1"), ("LRANGE", "dst", "0", "-1"), ("LMOVE", "src", "dst", "UP", "LEFT"),
    ("RPOPLPUSH", "src", "dst"), ("RPOPLPUSH", "src", "dst"), ("EXISTS", "src"), ("SET", "str", "x"), ("RPOPLPUSH", "dst", "str"),
    ("RPOPLPUSH", "str", "dst"), ("LPUSH", "str", "a"), ("LRANGE", "str", "0", "1"), ("LLEN", "str"),
    ("RPUSH", "m1", "a", "b"), ("RPUSH", "m2", "c"), ("LMPOP", "2", "none", "m1", "LEFT"), ("LMPOP", "2", "m1", "m2", "RIGHT", "COUNT", "5"),
    ("LMPOP", "1", "none", "LEFT"), ("LMPOP", "0", "m2", "LEFT"), ("LMPOP", "1", "m2", "MIDDLE"), ("LMPOP", "1", "m2", "LEFT", "COUNT", "0"),
    ("LMPOP", "2", "m2"), ("LMPOP", "x", "m2", "LEFT"), ("LMPOP", "2", "m2", "LEFT"), ("LMPOP", "1", "m2", "LEFT", "COUNT"),
    ("LMPOP", "1", "m2", "LEFT", "COUNT", "1", "COUNT", "1"), ("LMPOP", "1", "str", "LEFT"), ("TYPE", "m2"),
    ("RPUSH", "big", *[str(i) for i in range(300)]), ("LRANGE", "big", "100", "110"), ("LINDEX", "big", "-150"),
    ("DEBUG", "DIGEST-VALUE", "big"), ("OBJECT", "ENCODING", "missing"),
]

SCENARIOS["hashes"] = [
    ("HSET", "h", "f1", "v1", "f2", "v2"), ("HSET", "h", "f1", "x", "f3", "v3"), ("HSET", "h", "a"), ("HGET", "h", "f1"), ("HGET", "h", "no"),
    ("HGET", "missing", "f"), ("HMGET", "h", "f1", "no", "f3"), ("HMGET", "missing", "a", "b"), ("HLEN", "h"), ("HLEN", "missing"),
    ("HSTRLEN", "h", "f2"), ("HSTRLEN", "h", "no"), ("HEXISTS", "h", "f2"), ("HEXISTS", "h", "no"), ("HKEYS", "h"), ("HVALS", "h"),
    ("HGETALL", "h"), ("HGETALL", "missing"), ("HKEYS", "missing"), ("HSETNX", "h", "f1", "y"), ("HSETNX", "h", "f4", "y"),
    ("HMSET", "h", "m", "1", "n", "2"), ("HMSET", "h", "a"), ("HDEL", "h", "m", "n", "no"), ("HDEL", "missing", "a"),
    ("HINCRBY", "h", "c", "5"), ("HINCRBY", "h", "c", "-10"), ("HINCRBY", "h", "f1", "1"), ("HINCRBY", "h", "c", "x"),
    ("HINCRBY", "h", "c", "9223372036854775807"), ("HINCRBY", "newh", "c", "1"), ("HINCRBYFLOAT", "h", "fl", "1.5"),
    ("HINCRBYFLOAT", "h", "fl", "0.1"), ("HINCRBYFLOAT", "h", "f1", "1"), ("HINCRBYFLOAT", "h", "fl", "inf"),
    ("HINCRBYFLOAT", "h", "fl", "x"), ("HINCRBYFLOAT", "h", "c", "1e2"), ("HGETALL", "h"), ("OBJECT", "ENCODING", "h"),
    ("HSCAN", "h", "0"), ("HSCAN", "h", "0", "MATCH", "f*"), ("HSCAN", "h", "x"), ("HSCAN", "missing", "0"), ("HSCAN", "h", "0", "COUNT", "0"),
    ("HRANDFIELD", "missing"), ("HRANDFIELD", "missing", "2"), ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", "2", "foo"),
    ("HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"), ("HRANDFIELD", "h", "0"), unordered("HRANDFIELD", "h", "100"),
    ("HSET", "big", *[x for i in range(600) for x in (f"field{i}", str(i))]), ("OBJECT", "ENCODING", "big"), ("HLEN", "big"),
    ("HGET", "big", "field599"), ("HSET", "long", "f", "x" * 65), ("OBJECT", "ENCODING", "long"), ("HSET", "short", "f", "x" * 64),
    ("OBJECT", "ENCODING", "short"), ("DEBUG", "DIGEST-VALUE", "h", "big", "long"), ("HDEL", "short", "f"), ("EXISTS", "short"),
    ("SET", "str", "x"), ("HSET", "str", "a", "b"), ("HGET", "str", "a"), ("HGETALL", "str"), ("HLEN", "str"),
]

SCENARIOS["sets"] = [
    ("SADD", "s", "a", "b", "c", "a"), ("SADD", "s", "d"), ("SCARD", "s"), ("SCARD", "missing"), ("SISMEMBER", "s", "a"),
    ("SISMEMBER", "s", "z"), ("SISMEMBER", "missing", "a"), ("SMISMEMBER", "s", "a", "z", "b"), ("SMISMEMBER", "missing", "a"),
    unordered("SMEMBERS", "s"), ("SMEMBERS", "missing"), ("SREM", "s", "a", "z"), ("SREM", "missing", "a"),
    ("SADD", "i", "3", "1", "2", "10", "-5"), ("OBJECT", "ENCODING", "i"), ("SMEMBERS", "i"), ("SADD", "i", "x"), ("OBJECT", "ENCODING", "i"),
    ("SADD", "j", "01"), ("OBJECT", "ENCODING", "j"), ("SADD", "k", *[str(n) for n in range(600)]), ("OBJECT", "ENCODING", "k"),
    ("SADD", "t1", "a", "b", "c", "1", "2"), ("SADD", "t2", "b", "c", "d", "2"), ("SADD", "t3", "c", "2", "z"),
    unordered("SINTER", "t1", "t2", "t3"), unordered("SINTER", "t1", "missing"), unordered("SUNION", "t1", "t2", "missing"),
    unordered("SDIFF", "t1", "t2"), unordered("SDIFF", "missing", "t1"), unordered("SDIFF", "t1", "missing", "t3"),
    ("SINTERSTORE", "d1", "t1", "t2"), unordered("SMEMBERS", "d1"), ("SUNIONSTORE", "d2", "t1", "t3"), ("SCARD", "d2"),
    ("SDIFFSTORE", "d3", "t1", "t2", "t3"), unordered("SMEMBERS", "d3"), ("SINTERSTORE", "d1", "t1", "missing"), ("EXISTS", "d1"),
    ("SINTERCARD", "2", "t1", "t2"), ("SINTERCARD", "2", "t1", "t2", "LIMIT", "1"), ("SINTERCARD", "0", "t1"),
    ("SINTERCARD", "3", "t1", "t2"), ("SINTERCARD", "1", "t1", "LIMIT", "-1"), ("SINTERCARD", "1", "t1", "FOO"),
    ("SINTERCARD", "x", "t1"), ("SINTERCARD", "1", "t1", "LIMIT"), ("SINTERCARD", "1", "missing"),
    ("SMOVE", "t1", "t2", "a"), ("SMOVE", "t1", "t2", "zz"), ("SMOVE", "missing", "t2", "a"), ("SMOVE", "t1", "t1", "b"),
    ("SMOVE", "t1", "t1", "zz"), unordered("SMEMBERS", "t2"), ("SPOP", "missing"), ("SPOP", "missing", "2"), ("SPOP", "t3", "-1"),
    ("SPOP", "t3", "x"), ("SPOP", "t3", "1", "2"), ("SPOP", "t3", "0"), unordered("SPOP", "t3", "10"), ("EXISTS", "t3"),
    ("SRANDMEMBER", "missing"), ("SRANDMEMBER", "missing", "3"), ("SRANDMEMBER", "t2", "x"), ("SRANDMEMBER", "t2", "1", "2"),
    ("SRANDMEMBER", "t2", "-9223372036854775808"), ("SRANDMEMBER", "t2", "0"), unordered("SRANDMEMBER", "t2", "100"),
    scan("SSCAN", "i", "0", "COUNT", "100"), ("SSCAN", "missing", "0"), ("SSCAN", "i", "x"), scan("SSCAN", "i", "0", "MATCH", "1*", "COUNT", "100"),
    ("SSCAN", "j", "0"),
    ("DEBUG", "DIGEST-VALUE", "i", "k", "t2"), ("SET", "str", "x"), ("SADD", "str", "a"), ("SINTER", "t1", "str"),
    ("SUNIONSTORE", "str", "t1"), ("TYPE", "str"), ("SMOVE", "t1", "str", "b"), ("SMOVE", "t2", "h", "b"),
]

SCENARIOS["sorted_sets"] = [
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "1.5", "d", "0.1", "e", "-inf", "f", "+inf", "g"), ("ZCARD", "z"),
    ("ZADD", "z", "NX", "9", "a", "9", "new"), ("ZADD", "z", "XX", "8", "a", "8", "nope"), ("ZADD", "z", "XX", "CH", "7", "a", "1", "b"),
    ("ZADD", "z", "GT", "CH", "1", "a", "10", "b"), ("ZADD", "z", "LT", "CH", "1", "a", "10", "b"), ("ZADD", "z", "INCR", "2", "a"),
    ("ZADD", "z", "INCR", "NX", "2", "a"), ("ZADD", "z", "INCR", "GT", "-1", "a"), ("ZADD", "z", "INCR", "XX", "1", "zz"),
    ("ZADD", "z", "INCR", "1", "a", "2", "b"), ("ZADD", "z", "NX", "XX", "1", "a"), ("ZADD", "z", "GT", "LT", "1", "a"),
    ("ZADD", "z", "NX", "GT", "1", "a"), ("ZADD", "z", "1", "a", "2"), ("ZADD", "z", "x", "a"), ("ZADD", "z", "nan", "a"),
    ("ZADD", "z", "FOO", "1", "a"), ("ZADD", "z"), ("ZADD", "z", "1"), ("ZADD", "xz", "XX", "1", "a"), ("EXISTS", "xz"),
    ("ZADD", "xz", "XX", "INCR", "1", "a"), ("ZADD", "z", "INCR", "-inf", "g"), ("ZINCRBY", "z", "1.5", "a"), ("ZINCRBY", "z", "x", "a"),
    ("ZINCRBY", "z", "1", "brand"), ("ZADD", "inf", "inf", "m"), ("ZINCRBY", "inf", "-inf", "m"),
    ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("ZSCORE", "z", "a"), ("ZSCORE", "z", "none"), ("ZSCORE", "missing", "a"),
    ("ZMSCORE", "z", "a", "none", "b"), ("ZMSCORE", "missing", "a"), ("ZRANK", "z", "a"), ("ZRANK", "z", "none"), ("ZREVRANK", "z", "a"),
    ("ZRANK", "missing", "a"), ("ZCOUNT", "z", "1", "3"), ("ZCOUNT", "z", "(1", "(3"), ("ZCOUNT", "z", "-inf", "+inf"), ("ZCOUNT", "z", "a", "1"),
    ("ZCOUNT", "z", "", "("), ("ZCOUNT", "z", " 1", "1e999"), ("ZCOUNT", "missing", "0", "1"),
    ("ZRANGE", "z", "1", "3"), ("ZRANGE", "z", "-3", "-1", "WITHSCORES"), ("ZRANGE", "z", "5", "1"), ("ZRANGE", "z", "0", "-1", "REV"),
    ("ZRANGE", "z", "1", "2", "BYSCORE"), ("ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "1", "2", "WITHSCORES"),
    ("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "3"), ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"),
    ("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "-1"), ("ZRANGE", "z", "0", "-1", "LIMIT", "1", "1"),
    ("ZRANGE", "z", "0", "-1", "LIMIT", "1", "-1"), ("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"), ("ZRANGE", "z", "0", "-1", "FOO"),
    ("ZRANGE", "z", "a", "b", "BYSCORE"), ("ZRANGE", "z", "a", "b"), ("ZRANGE", "z", "0", "1", "LIMIT", "x", "1", "BYSCORE"),
    ("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"), ("ZRANGE", "z", "0", "1", "REV", "REV"), ("ZRANGE", "missing", "0", "-1"),
    ("ZREVRANGE", "z", "0", "2", "WITHSCORES"), ("ZREVRANGE", "z", "0", "1", "REV"), ("ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"),
    ("ZRANGEBYSCORE", "z", "1", "10", "WITHSCORES", "LIMIT", "1", "2"), ("ZRANGEBYSCORE", "z", "1", "10", "LIMIT", "1"),
    ("ZREVRANGEBYSCORE", "z", "10", "1", "WITHSCORES"), ("ZREVRANGEBYSCORE", "z", "1", "10"), ("ZRANGEBYSCORE", "z", "1", "10", "BYSCORE"),
    ("ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"), ("ZRANGEBYLEX", "lex", "-", "+"), ("ZRANGEBYLEX", "lex", "[b", "(d"),
    ("ZRANGEBYLEX", "lex", "(a", "[z", "LIMIT", "1", "2"), ("ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "0", "2"),
    ("ZRANGEBYLEX", "lex", "a", "+"), ("ZRANGEBYLEX", "lex", "", "+"), ("ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"),
    ("ZRANGE", "lex", "[c", "-", "BYLEX", "REV"), ("ZLEXCOUNT", "lex", "[b", "+"), ("ZLEXCOUNT", "lex", "b", "+"), ("ZLEXCOUNT", "missing", "-", "+"),
    ("ZRANGESTORE", "dst", "z", "0", "2"), ("ZRANGE", "dst", "0", "-1", "WITHSCORES"), ("ZRANGESTORE", "dst", "z", "5", "1", "BYSCORE", "REV", "LIMIT", "1", "1"),
    ("ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"), ("ZRANGESTORE", "dst", "z", "10", "11"), ("EXISTS", "dst"),
    ("ZRANGESTORE", "dst", "missing", "0", "-1"), ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZREMRANGEBYRANK", "z", "x", "1"),
    ("ZREMRANGEBYSCORE", "z", "(1", "2"), ("ZREMRANGEBYSCORE", "z", "x", "2"), ("ZREMRANGEBYLEX", "lex", "[a", "[b"),
    ("ZREMRANGEBYLEX", "lex", "a", "b"), ("ZREMRANGEBYLEX", "lex", "-", "+"), ("EXISTS", "lex"), ("ZREMRANGEBYRANK", "missing", "0", "1"),
    ("ZREM", "z", "a", "none"), ("ZREM", "missing", "a"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
    ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "2"), ("ZPOPMIN", "z", "0"), ("ZPOPMIN", "z", "-1"), ("ZPOPMIN", "z", "1", "2"), ("ZPOPMIN", "missing"),
    ("ZPOPMAX", "missing", "3"), ("ZPOPMIN", "z", "100"), ("EXISTS", "z"),
    ("ZADD", "m1", "1", "a", "2", "b"), ("ZADD", "m2", "3", "c"), ("ZMPOP", "2", "none", "m1", "MIN"), ("ZMPOP", "2", "m1", "m2", "MAX", "COUNT", "5"),
    ("ZMPOP", "1", "none", "MIN"), ("ZMPOP", "0", "m2", "MIN"), ("ZMPOP", "1", "m2", "LEFT"), ("ZMPOP", "1", "m2", "MIN", "COUNT", "0"),
    ("ZMPOP", "2", "m2"), ("ZMPOP", "2", "m2", "MIN"), ("ZMPOP", "1", "m2", "MAX", "COUNT", "1", "COUNT", "1"), ("ZMPOP", "1", "m2", "MAX"),
    ("ZADD", "r", "1", "a", "2", "b", "3", "c"), ("ZRANDMEMBER", "missing"), ("ZRANDMEMBER", "missing", "2"), ("ZRANDMEMBER", "r", "x"),
    ("ZRANDMEMBER", "r", "1", "WITHSCORE"), ("ZRANDMEMBER", "r", "1", "WITHSCORES", "x"), ("ZRANDMEMBER", "r", "-9223372036854775808"),
    ("ZRANDMEMBER", "r", "0"), unordered("ZRANDMEMBER", "r", "100"), ("ZCARD", "r"),
    ("ZADD", "u1", "1", "a", "2", "b", "3", "c"), ("ZADD", "u2", "10", "b", "20", "c", "30", "d"), ("SADD", "us", "c", "d", "e"),
    ("ZUNION", "2", "u1", "u2", "WITHSCORES"), ("ZUNION", "3", "u1", "u2", "us", "WEIGHTS", "1", "2", "3", "WITHSCORES"),
    ("ZUNION", "2", "u1", "u2", "AGGREGATE", "MAX", "WITHSCORES"), ("ZUNION", "2", "u1", "u2", "AGGREGATE", "MIN"),
    ("ZINTER", "2", "u1", "u2", "WITHSCORES"), ("ZINTER", "3", "u1", "u2", "us", "AGGREGATE", "MAX", "WITHSCORES"), ("ZINTER", "2", "u1", "missing"),
    ("ZDIFF", "2", "u1", "u2", "WITHSCORES"), ("ZDIFF", "2", "us", "u1", "WITHSCORES"), ("ZDIFF", "1", "missing"),
    ("ZUNION", "0", "u1"), ("ZUNION", "x", "u1"), ("ZUNION", "3", "u1"), ("ZUNION", "1", "u1", "WEIGHTS", "nan"), ("ZUNION", "1", "u1", "WEIGHTS", "1", "2"),
    ("ZUNION", "1", "u1", "AGGREGATE", "foo"), ("ZUNION", "1", "u1", "AGGREGATE"), ("ZDIFF", "1", "u1", "WEIGHTS", "1"), ("ZUNION", "1", "u1", "LIMIT", "1"),
    ("ZUNION", "2", "u1", "u2", "WEIGHTS", "inf", "-inf", "WITHSCORES"), ("ZUNION", "1", "u1", "WEIGHTS", "0", "WITHSCORES"),
    ("ZUNIONSTORE", "out", "2", "u1", "u2"), ("ZRANGE", "out", "0", "-1", "WITHSCORES"), ("ZINTERSTORE", "out", "2", "u1", "us"),
    ("ZRANGE", "out", "0", "-1", "WITHSCORES"), ("ZDIFFSTORE", "out", "2", "u1", "u2"), ("ZRANGE", "out", "0", "-1", "WITHSCORES"),
    ("ZINTERSTORE", "out", "2", "u1", "missing"), ("EXISTS", "out"), ("ZUNIONSTORE", "out", "0", "u1"), ("ZUNIONSTORE", "out", "1", "u1", "WITHSCORES"),
    ("ZINTERCARD", "2", "u1", "u2"), ("ZINTERCARD", "2", "u1", "u2", "LIMIT", "1"), ("ZINTERCARD", "0", "u1"), ("ZINTERCARD", "3", "u1"),
    ("ZINTERCARD", "1", "u1", "LIMIT", "x"), ("ZINTERCARD", "1", "u1", "LIMIT", "-1"), ("ZINTERCARD", "1", "u1", "LIMIT"),
    ("ZINTERCARD", "1", "u1", "WITHSCORES"), ("ZINTERCARD", "2", "u1", "u1", "LIMIT", "1", "LIMIT", "0"),
    ("ZADD", "big", *[x for i in range(200) for x in (f"0.{i}", f"m{i}")]), ("OBJECT", "ENCODING", "big"), ("ZCARD", "big"),
    ("ZRANGE", "big", "100", "105", "WITHSCORES"), ("ZRANK", "big", "m150"), ("ZREVRANK", "big", "m150"), ("ZCOUNT", "big", "0.1", "0.2"),
    ("ZRANGEBYSCORE", "big", "(0.5", "+inf", "LIMIT", "3", "4"), ("ZREMRANGEBYRANK", "big", "0", "9"), ("ZCARD", "big"),
    ("ZADD", "long", "1", "x" * 65), ("OBJECT", "ENCODING", "long"), ("ZADD", "short", "1", "x" * 64), ("OBJECT", "ENCODING", "short"),
    scan("ZSCAN", "big", "0", "COUNT", "1000"), ("ZSCAN", "u1", "0"), ("ZSCAN", "missing", "0"), ("ZSCAN", "u1", "x"),
    ("DEBUG", "DIGEST-VALUE", "u1", "big", "long"), ("SET", "str", "x"), ("ZADD", "str", "1", "a"), ("ZRANGE", "str", "0", "-1"),
    ("ZUNION", "1", "str", "WEIGHTS", "x"), ("ZINTERCARD", "1", "str", "LIMIT", "x"), ("ZUNIONSTORE", "str", "1", "u1"), ("TYPE", "str"),
    ("ZSCORE", "str", "a"), ("ZPOPMIN", "str"), ("ZMPOP", "1", "str", "MIN"), ("ZRANGESTORE", "x", "str", "0", "1"),
]

SCENARIOS["sort"] = [
    ("RPUSH", "l", "3", "1", "2", "10", "-1.5"), ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "ALPHA"), ("SORT", "l", "LIMIT", "1", "2"),
    ("SORT", "l", "LIMIT", "-5", "2"), ("SORT", "l", "LIMIT", "10", "2"), ("SORT", "l", "LIMIT", "1", "0"), ("SORT", "l", "LIMIT", "1", "-1"),
    ("SORT", "l", "LIMIT", "x", "1"), ("SORT", "l", "LIMIT", "1"), ("SORT", "l", "FOO"), ("SORT", "l", "BY", "nosort"),
    ("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"), ("RPUSH", "words", "banana", "apple", "cherry"), ("SORT", "words"),
    ("SORT", "words", "ALPHA", "DESC"), ("MSET", "w_1", "30", "w_2", "20", "w_3", "10", "w_10", "x", "d_1", "one", "d_2", "two"),
    ("HSET", "h_1", "f", "5"), ("HSET", "h_2", "f", "1"), ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "ALPHA"),
    ("SORT", "l", "BY", "w_*", "GET", "#", "GET", "d_*", "GET", "h_*->f"), ("SORT", "l", "BY", "h_*->f", "GET", "d_*"),
    ("SORT", "l", "GET", "nostar"), ("SORT", "l", "GET"), ("SORT", "l", "BY", "w_*", "STORE", "out"), ("LRANGE", "out", "0", "-1"),
    ("SORT", "l", "GET", "d_*", "STORE", "out"), ("LRANGE", "out", "0", "-1"), ("SORT", "missing", "STORE", "out"), ("EXISTS", "out"),
    ("SORT_RO", "l", "STORE", "out"), ("SORT_RO", "l", "DESC", "GET", "#"), ("SADD", "s", "5", "3", "9"), ("SORT", "s"),
    ("SORT", "s", "BY", "nosort", "STORE", "out"), ("LRANGE", "out", "0", "-1"), ("ZADD", "z", "1", "c", "2", "b", "3", "a"),
    ("SORT", "z", "ALPHA"), ("SORT", "z", "BY", "nosort"), ("SORT", "z", "BY", "nosort", "DESC"), ("SORT", "z", "BY", "nosort", "LIMIT", "1", "5"),
    ("SORT", "z"), ("SET", "str", "x"), ("SORT", "str"), ("SORT", "missing"), ("SORT", "l", "STORE", "str"), ("TYPE", "str"),
    ("RPUSH", "e", "1", "", " 2", "3"), ("SORT", "e"), ("RPUSH", "bad", "1", "1e999"), ("SORT", "bad"),
    ("COMMAND", "GETKEYS", "SORT", "l", "STORE", "a", "LIMIT", "0", "1", "STORE", "b"), ("COMMAND", "GETKEYS", "SORT_RO", "l", "GET", "x"),
]

SCENARIOS["transactions"] = [
    ("MULTI"), ("SET", "a", "1"), ("INCR", "a"), ("LPUSH", "a", "x"), ("GET", "a"), ("EXEC"), ("EXEC"), ("DISCARD"), ("EXEC", "x"),
    ("MULTI"), ("MULTI"), ("WATCH", "a"), ("PING"), ("EXEC"), ("MULTI"), ("SET", "a"), ("SET", "a", "2"), ("EXEC"), ("GET", "a"),
    ("MULTI"), ("NOSUCH", "x"), ("EXEC"), ("MULTI"), ("SHUTDOWN"), ("EXEC"), ("MULTI"), ("CONFIG", "NOPE"), ("EXEC"),
    ("MULTI"), ("EXEC", "x"), ("EXEC"), ("MULTI"), ("SET", "b", "1"), ("DISCARD"), ("GET", "b"), ("DISCARD", "x"),
    ("MULTI"), ("DISCARD", "x"), ("EXEC"), ("MULTI"), ("EXEC"), ("WATCH", "a"), ("SET", "a", "3"), ("MULTI"), ("GET", "a"), ("EXEC"),
    ("WATCH", "a"), ("MULTI"), ("GET", "a"), ("EXEC"), ("WATCH", "a", "b"), ("UNWATCH"), ("SET", "a", "4"), ("MULTI"), ("GET", "a"),
    ("EXEC"), ("WATCH", "a"), ("DISCARD"), ("MULTI"), ("UNWATCH"), ("SELECT", "2"), ("SET", "db2", "x"), ("EXEC"), ("GET", "db2"),
    ("SELECT", "0"), ("WATCH"), ("UNWATCH", "x"), ("MULTI", "x"), ("WATCH", "missing"), ("MULTI"), ("SET", "missing", "1"), ("EXEC"),
    ("WATCH", "missing"), ("DEL", "missing"), ("MULTI"), ("PING"), ("EXEC"), ("WATCH", "never"), ("DEL", "never"), ("MULTI"), ("PING"), ("EXEC"),
    ("MULTI"), ("BLPOP", "none", "0"), ("BRPOPLPUSH", "none", "d", "0"), ("BLMOVE", "none", "d", "LEFT", "LEFT", "0"),
    ("BZPOPMIN", "none", "0"), ("BLMPOP", "0", "1", "none", "LEFT"), ("BZMPOP", "0", "1", "none", "MIN"), ("RPUSH", "l", "v"),
    ("BLPOP", "l", "0"), ("BLPOP", "l", "x"), ("EXEC"), ("MULTI"), ("KEYS", "*"), ("DBSIZE"), ("FLUSHDB"), ("SET", "k", "v"),
    ("SORT", "l", "BY", "w_*"), ("EXEC"), ("MULTI"), ("SUBSCRIBE", "c"), ("EXEC"), ("PING"), ("EXEC"), ("MULTI"), ("RESET"),
    ("MULTI"), ("SET", "x", "1"), ("RESET"), ("EXEC"), ("GET", "x"),
]

SCENARIOS["blocking"] = [
    ("RPUSH", "l", "a", "b", "c"), ("BLPOP", "none", "l", "0"), ("BRPOP", "l", "none", "0.5"), ("BLPOP", "l"), ("BLPOP", "l", "x"),
    ("BLPOP", "l", "-1"), ("BLPOP", "l", "inf"), ("BLPOP", "l", "1e20"), ("BLPOP", "l", " 1"), ("BLPOP", "l", ""), ("BLPOP", "l", "0x10"),
    ("SET", "str", "v"), ("BLPOP", "none", "str", "0"), ("BLPOP", "l", "str", "0"), ("EXISTS", "l"), ("RPUSH", "l", "1", "2"),
    ("BRPOPLPUSH", "l", "dst", "0"), ("BLMOVE", "l", "dst", "LEFT", "RIGHT", "0"), ("BLMOVE", "l", "dst", "UP", "RIGHT", "0"),
    ("BLMOVE", "l", "dst", "LEFT", "RIGHT", "x"), ("BLMOVE", "str", "dst", "LEFT", "RIGHT", "0"), ("RPUSH", "l", "3"),
    ("BLMOVE", "l", "str", "LEFT", "RIGHT", "0"), ("LRANGE", "dst", "0", "-1"), ("RPUSH", "m", "1", "2", "3"),
    ("BLMPOP", "0", "2", "none", "m", "LEFT", "COUNT", "2"), ("BLMPOP", "x", "1", "m", "LEFT"), ("BLMPOP", "0", "x", "m", "LEFT"),
    ("BLMPOP", "-1", "1", "m", "LEFT"), ("BLMPOP", "0", "1", "m", "MIDDLE"), ("BLMPOP", "0", "1", "m"), ("BLMPOP", "0", "1", "str", "LEFT"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("BZPOPMIN", "none", "z", "0"), ("BZPOPMAX", "z", "0"), ("BZPOPMIN", "z", "x"),
    ("BZPOPMIN", "str", "0"), ("BZMPOP", "0", "1", "z", "MAX", "COUNT", "5"), ("EXISTS", "z"), ("BZMPOP", "0", "1", "z", "LEFT"),
    ("BZMPOP", "0", "0", "z", "MIN"), ("BLPOP", "none", "0.01"), ("BZPOPMIN", "none", "0.01"),
]

SCENARIOS["pubsub"] = [
    ("PUBSUB", "NUMSUB", "a", "b"), ("PUBSUB", "NUMSUB"), ("PUBSUB", "NUMPAT"), ("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "a*"),
    ("PUBSUB", "SHARDCHANNELS"), ("PUBSUB", "SHARDNUMSUB", "a"), ("PUBLISH", "a", "x"), ("SPUBLISH", "a", "x"), ("PUBSUB"),
    ("PUBSUB", "FOO"), ("PUBLISH", "a"), ("UNSUBSCRIBE"), ("PUNSUBSCRIBE"), ("SUNSUBSCRIBE"), ("SUBSCRIBE", "a"), ("PSUBSCRIBE", "p*"),
    ("SSUBSCRIBE", "s"), ("PING"), ("PING", "hi"), ("GET", "x"), ("PUBSUB", "NUMSUB", "a"), ("UNSUBSCRIBE", "a"), ("PUNSUBSCRIBE", "p*"),
    ("SUNSUBSCRIBE", "s"), ("PUBSUB", "NUMSUB", "a"), ("SUBSCRIBE"), ("GET", "x"),
]

SCENARIOS["client"] = [
    ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "x"), ("CLIENT", "PAUSE", "-1"), ("CLIENT", "PAUSE", "1.5"), ("CLIENT", "PAUSE", "10", "foo"),
    ("CLIENT", "PAUSE", "10", "write", "extra"), ("CLIENT", "PAUSE", "0", "write"), ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "UNPAUSE"),
    ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "id", "x"), ("CLIENT", "KILL", "id", "0"),
    ("CLIENT", "KILL", "id", "999999"), ("CLIENT", "KILL", "type", "foo"), ("CLIENT", "KILL", "user", "nobody"),
    ("CLIENT", "KILL", "skipme", "maybe"), ("CLIENT", "KILL", "laddr", "x"), ("CLIENT", "KILL", "foo", "bar"),
    ("CLIENT", "KILL", "id", "1", "type"), ("CLIENT", "KILL", "TYPE", "master"), ("CLIENT", "KILL", "TYPE", "replica"),
    ("CLIENT", "REPLY"), ("CLIENT", "REPLY", "foo"), ("CLIENT", "REPLY", "ON"), ("CLIENT", "NO-EVICT", "maybe"),
    ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "off"), ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKINGINFO"),
    ("CLIENT", "CACHING", "yes"), ("CLIENT", "CACHING", "maybe"), ("CLIENT", "TRACKING", "maybe"), ("CLIENT", "TRACKING"),
    ("CLIENT", "TRACKING", "on", "REDIRECT", "x"), ("CLIENT", "LIST", "id", "x"), ("CLIENT", "LIST", "id", "0"),
    ("CLIENT", "LIST", "foo"), ("CLIENT", "LIST", "TYPE", "normal", "ID", "1"), ("CLIENT", "LIST", "TYPE", "x"),
    ("CLIENT", "LIST", "TYPE", "pubsub"), ("CLIENT", "LIST", "TYPE", "replica"), ("CLIENT", "UNBLOCK", "99999"), ("CLIENT", "FOO"),
    ("MONITOR", "x"), ("CLIENT", "TRACKING", "on", "OPTIN"), ("CLIENT", "CACHING", "yes"), ("CLIENT", "NO-EVICT", "on"), ("RESET"),
    ("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"),
]

# Errors that quote an argument quote its bytes as sent, even when they are not UTF-8 (cut at a NUL).
SCENARIOS["quoted_bytes"] = [
    ("HELLO", "2", b"\xd9\xff"), ("HELLO", "2", b"a\x00b"), ("SET", "k", "v"), ("EXPIRE", "k", "10", b"\xe9"),
    ("CLIENT", "KILL", "TYPE", b"\xd9"), ("CLIENT", "KILL", "USER", b"\xc3("), ("CLIENT", "LIST", "TYPE", b"\xff"),
    ("CONFIG", "SET", b"\xd9x", "1"), ("CONFIG", "SET", b"maxmemory\xff", "1"),
    ("REPLCONF", b"\xd9", "1"), ("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", b"\xd9a", "PREFIX", b"\xd9"),
]

# Replies that depend on the moment or the process, compared for kind only.
# No script is ever running here: SCRIPT KILL answers as Redis does when none is (Sentinel sends it).
# Numbers in Redis's strict syntax: a leading "+" is not one.
SCENARIOS["connection"] += [("WAIT", "+1", "0"), ("WAIT", "0", "+5"), ("FAILOVER", "TIMEOUT", "+5"),
                            ("FAILOVER", "TO", "h", "+1"), ("REPLICAOF", "localhost", "+6379")]

SCENARIOS["connection"] += [("SCRIPT", "KILL"), ("SCRIPT", "KILL", "x"), ("SCRIPT",), ("MULTI"), ("SCRIPT", "KILL"), ("EXEC")]

SCENARIOS["connection"] += [shape("TIME"), shape("CLIENT", "ID"), shape("LOLWUT-IS-NOT-HERE")]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_replies_match_redis(pair, scenario, protocol):
    ours, theirs = pair
    clients = [RawClient(server.port) for server in pair]
    try:
        for client in clients:
            client.command("FLUSHALL")
            client.command("CONFIG", "SET", "hz", "10")
            if protocol == 3:
                client.command("HELLO", "3")
        for step in SCENARIOS[scenario]:
            mode, args = "exact", step
            if isinstance(step, tuple) and len(step) == 2 and step[0] in ("unordered", "shape", "pairs", "scan") and isinstance(step[1], tuple):
                mode, args = step
            if isinstance(args, str):
                args = (args,)
            mine, reference = (client.command(*args) for client in clients)
            if mode == "unordered":
                assert split_array(mine) == split_array(reference), f"{args}"
            elif mode == "scan":
                assert scan_result(mine) == scan_result(reference), f"{args}"
            elif mode == "pairs":
                assert mine[:1] == reference[:1] and split_pairs(mine) == split_pairs(reference), f"{args}"
            elif mode == "shape":
                assert mine[:1] == reference[:1], f"{args}: {mine!r} vs {reference!r}"
            else:
                assert mine == reference, f"{args}: Needletail {mine!r} != Redis {reference!r}"
    finally:
        for client in clients:
            client.close()


PROTOCOL_INPUTS = [
    b"*abc\r\n", b"*-1\r\nPING\r\n", b"*1\r\n$abc\r\n", b"*1\r\n+PING\r\n", b"*99999999999\r\n", b"*1\r\n$600000000\r\n",
    b'SET "a b\r\n', b"*2\r\n$3\r\nGET\r\n$-5\r\n", b"*0\r\nPING\r\n", b"\r\n\r\nPING\r\n", b"*1\r\n$3\r\nPINGXX\r\n",
    b"PING\nPING\n", b"*3000000000\r\n", b"*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n", b"GET\r\n", b"set a\r\n",
    b'ECHO "a\\x41b\\n\\t"\r\n', b"ECHO 'it\\'s'\r\n", b'ECHO a"b"\r\n', b'ECHO ""\r\n', b'ECHO "abc"def\r\n', b"   PING   \r\n",
    b"*1\r\n\r\n", b"*1\r\n$\r\n", b"*1\r\n$-1\r\n", b"*1\r\n$0\r\n\r\n", b"*1\r\n$ 4\r\nPING\r\n", b"*+1\r\n$4\r\nPING\r\n",
    b"*1 \r\n$4\r\nPING\r\n", b"*01\r\n$04\r\nPING\r\n", b"*1\r\n$4a\r\nPING\r\n", b"x" * 70000, b"*1\r\n$" + b"1" * 70000,
    b"*" + b"1" * 70000, b"PING\r\nQUIT\r\nPING\r\n",
    b"CLIENT REPLY OFF\r\nPING\r\nGET x y\r\nCLIENT REPLY ON\r\nPING\r\nCLIENT REPLY SKIP\r\nPING\r\nPING\r\n",
    b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nECHO a\r\nCLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nECHO b\r\nCLIENT REPLY ON\r\nECHO c\r\n",
]


@pytest.mark.parametrize("data", PROTOCOL_INPUTS, ids=lambda d: repr(d[:24]))
def test_protocol_edge_cases_match_redis(pair, data):
    """Raw bytes on a fresh connection: the reply, and whether the connection closes, match Redis."""
    import socket
    results = []
    for server in pair:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(data)
            s.settimeout(0.3)
            received = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        received += b"<closed>"
                        break
                    received += chunk
            except (socket.timeout, ConnectionResetError):
                pass
            results.append(received)
    assert results[0] == results[1]
