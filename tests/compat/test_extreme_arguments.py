"""Extreme numbers in every numeric argument of the commands that take one: Needletail's
reply must be Redis's, byte for byte, and the server must stay up.

Each template's `N` is replaced by every value of EXTREMES (templates with two `N`s take every
pair). Left out: replies that depend on hash order (SCAN cursors, set order), randomness, and
commands whose extreme values make Redis itself hang or allocate without bound. The blocking
commands find their key filled, so no timeout makes them wait."""
import itertools

import pytest

from raw import RawClient

EXTREMES = ["-9223372036854775808", "9223372036854775807", "9223372036854775808", "-1", "0", "1", "4294967296",
            "-4294967297", "2147483648", "nan", "inf", "-inf", "1e308", "", "4611686018427387904",
            "-4611686018427387904", "0.5", "abc"]

SETUP = [["RPUSH", "l", "a", "b", "c", "d"], ["SET", "s", "hello world"], ["SET", "n", "10"],
         ["HSET", "h", "f", "1", "g", "2"], ["SADD", "set", "a", "b", "c"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
         ["SETBIT", "bits", "20", "1"]]

TEMPLATES = """
LRANGE l N N | LTRIM l N N | LINDEX l N | LSET l N x | LREM l N a | LPOS l a RANK N | LPOS l a COUNT N
LPOS l a MAXLEN N | LPOP l N | RPOP l N | LMPOP 1 l LEFT COUNT N | LINSERT l BEFORE a N
GETRANGE s N N | SETRANGE s N x | SUBSTR s N N | INCRBY n N | DECRBY n N | INCRBYFLOAT n N
HINCRBY h f N | HINCRBYFLOAT h f N | HSCAN h N
ZRANGE z N N | ZRANGE z N N REV | ZRANGE z 0 -1 BYSCORE LIMIT N N | ZRANGEBYSCORE z -inf +inf LIMIT N N
ZREVRANGEBYSCORE z +inf -inf LIMIT N N | ZRANGEBYLEX z - + LIMIT N N | ZREMRANGEBYRANK z N N | ZPOPMIN z N
ZPOPMAX z N | ZMPOP 1 z MIN COUNT N | ZINCRBY z N a | ZADD z N a | ZCOUNT z N N | ZRANGESTORE dst z N N
ZRANGEBYSCORE z N N | ZADD z INCR N a | ZUNION 2 z z WEIGHTS N N WITHSCORES | ZINTERCARD 1 z LIMIT N
BITCOUNT bits N N | BITCOUNT bits N N BIT | BITPOS bits 1 N N | BITPOS bits 0 N N BIT | SETBIT bits N 1
GETBIT bits N | BITFIELD bits GET u8 N | BITFIELD bits SET i64 N 1 | BITFIELD bits INCRBY i8 0 N
BITFIELD bits OVERFLOW SAT INCRBY u8 0 N
SELECT N | SWAPDB N 0 | SWAPDB 0 N | MOVE s N | COPY s s2 DB N
EXPIRE s N | PEXPIRE s N | EXPIREAT s N | PEXPIREAT s N | SET x v EX N | SET x v PX N | SET x v EXAT N
SET x v PXAT N | SETEX x N v | PSETEX x N v | GETEX s EX N | GETEX s PXAT N
SORT l LIMIT N N ALPHA | SINTERCARD N set | SINTERCARD 1 set LIMIT N
BLPOP l N | BLMOVE l l2 LEFT RIGHT N | BZPOPMIN z N
CLIENT KILL ID N | CLIENT UNBLOCK N | CLIENT TRACKING on REDIRECT N | CLIENT NO-EVICT N | CLIENT REPLY N
HELLO N | OBJECT ENCODING s N | DEBUG SET-ACTIVE-EXPIRE N | LCS s s MINMATCHLEN N
"""


def cases():
    for template in (t.strip() for t in TEMPLATES.replace("\n", "|").split("|")):
        if not template:
            continue
        parts = template.split()
        slots = [i for i, part in enumerate(parts) if part == "N"]
        for values in itertools.product(EXTREMES, repeat=len(slots)):
            argv = list(parts)
            for slot, value in zip(slots, values):
                argv[slot] = value
            yield argv


def exchange(port, argv):
    client = RawClient(port)
    client.sock.settimeout(5)
    try:
        client.command("FLUSHALL")
        for request in SETUP:
            client.command(*request)
        return client.command(*argv)
    finally:
        client.close()


def test_extreme_arguments_as_redis(pair):
    ours, theirs = pair
    differences = []
    for argv in cases():
        mine, reference = exchange(ours.port, argv), exchange(theirs.port, argv)
        if argv[0] == "HELLO":
            mine, reference = (reply.split(b"id\r\n")[0] for reply in (mine, reference))
        if mine != reference:
            differences.append(f"{' '.join(argv)}: {mine[:120]!r} != {reference[:120]!r}")
    assert RawClient(ours.port).command("PING") == b"+PONG\r\n"
    assert differences == []


def available_memory():
    with open("/proc/meminfo") as meminfo:
        fields = dict(line.split(":", 1) for line in meminfo)
    return int(fields["MemAvailable"].split()[0]) * 1024


@pytest.mark.skipif(available_memory() < 16 << 30, reason="needs 16 GiB of free memory")
def test_replies_of_gigabytes_stream_out_or_close_the_client_never_the_server(request):
    """Nine pipelined GETs of a 512 MB string (4.5 GiB of replies) stream out whole; one MGET
    asking for all nine at once cannot be held in a reply buffer (4 GiB at most): the client
    is closed, as an output buffer limit would close it, and the server goes on."""
    from servers import start_needletail
    import socket
    server = start_needletail()
    request.addfinalizer(server.stop)
    client = RawClient(server.port)
    assert client.command("SETRANGE", "big", str(536870900), "x") == b":536870901\r\n"
    reply = len(b"$536870901\r\n") + 536870901 + 2

    def received(request_bytes, expected):
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(request_bytes)
            total = 0
            while total < expected and (chunk := s.recv(1 << 22)):
                total += len(chunk)
            return total
    assert received(RawClient.encode(["GET", "big"]) * 9, 9 * reply) == 9 * reply
    assert received(RawClient.encode(["MGET"] + ["big"] * 9), 9 * reply) == 0
    assert client.command("PING") == b"+PONG\r\n"
    assert "closed for overcoming of output buffer limits: its reply passed 3 GiB." in server.log()
    client.close()
