"""Several clients at once, the same script against Needletail and redis-server 7.0: blocking
commands and their wake-ups, WATCH against other clients' writes, CLIENT UNBLOCK.

Needletail runs with two event loops and hands connections to them in turn, so consecutive
clients of a script sit on different loops: every wake-up and every WATCH abort below crosses
loops. A `block` step sends a command and waits until the server counts one more blocked
client, so the next step cannot overtake it; `push` reads a message the client was sent
(an invalidation, a Pub/Sub message); `do` runs a command whose reply legitimately differs
(HELLO's id) without comparing it.
"""
import socket
import time

import pytest

from raw import RawClient


def blocked_clients(control):
    info = control.command("INFO", "clients").decode()
    return int(info.split("blocked_clients:")[1].split("\r\n")[0])


def wait_blocked(control, count):
    deadline = time.time() + 5
    while blocked_clients(control) != count:
        assert time.time() < deadline, f"never reached {count} blocked clients"
        time.sleep(0.005)


def run(server, steps, clients=3):
    """Runs `steps`; returns every reply in order, as (step index, bytes)."""
    control = RawClient(server.port)
    conns = [RawClient(server.port) for _ in range(clients)]
    ids = [int(c.command("CLIENT", "ID")[1:-2]) for c in conns]
    transcript = []
    blocked = 0
    try:
        control.command("FLUSHALL")
        for number, (action, *rest) in enumerate(steps):
            if action == "sleep":
                time.sleep(rest[0])
                continue
            conn = conns[rest[0]]
            args = [str(ids[int(a[3:])]) if isinstance(a, str) and a.startswith("$id") else a for a in rest[1:]]
            if action == "call":
                transcript.append((number, conn.command(*args)))
            elif action == "block":
                conn.send_raw(args[0] if isinstance(args[0], bytes) else RawClient.encode(args))
                blocked += 1
                wait_blocked(control, blocked)
            elif action == "read":
                blocked -= 1
                transcript.append((number, conn.read_reply()))
            elif action == "push":
                transcript.append((number, conn.read_reply()))
            elif action == "do":
                conn.command(*args)
            elif action == "drop":
                conn.close()
            elif action == "idle":
                conn.sock.settimeout(0.2)
                try:
                    data = conn.sock.recv(1 << 16)
                    transcript.append((number, b"unexpected: " + data))
                except socket.timeout:
                    transcript.append((number, b"still blocked"))
                finally:
                    conn.sock.settimeout(10)
            elif action == "close":
                conn.close()
                blocked -= 1
                wait_blocked(control, blocked)
            else:
                raise ValueError(action)
        return transcript
    finally:
        for conn in conns + [control]:
            try:
                conn.close()
            except OSError:
                pass


SCRIPTS = {
    "fifo_wakeup": [
        ("block", 0, "BLPOP", "l", "0"), ("block", 1, "BLPOP", "l", "0"), ("call", 2, "RPUSH", "l", "a", "b", "c"),
        ("read", 0), ("read", 1), ("call", 2, "LRANGE", "l", "0", "-1"),
    ],
    "served_from_the_ready_key": [
        ("block", 0, "BRPOP", "k1", "k2", "0"), ("call", 1, "RPUSH", "k2", "x", "y"), ("read", 0), ("call", 1, "LRANGE", "k2", "0", "-1"),
    ],
    "blmove_feeds_another_waiter": [
        ("block", 0, "BLMOVE", "a", "b", "LEFT", "RIGHT", "0"), ("block", 1, "BLPOP", "b", "0"), ("call", 2, "RPUSH", "a", "x"),
        ("read", 0), ("read", 1), ("call", 2, "EXISTS", "a", "b"),
    ],
    "exec_feeds_after_the_whole_transaction": [
        ("block", 0, "BLPOP", "k", "0"), ("call", 1, "MULTI"), ("call", 1, "RPUSH", "k", "1"), ("call", 1, "RPUSH", "k", "2"),
        ("call", 1, "EXEC"), ("read", 0), ("call", 1, "LRANGE", "k", "0", "-1"),
    ],
    "other_kind_leaves_the_client_blocked": [
        ("block", 0, "BLPOP", "k", "0"), ("call", 1, "ZADD", "k", "1", "m"), ("idle", 0), ("call", 1, "DEL", "k"),
        ("call", 1, "RPUSH", "k", "v"), ("read", 0),
    ],
    "sorted_sets": [
        ("block", 0, "BZPOPMIN", "z", "0"), ("block", 1, "BZMPOP", "0", "1", "z", "MAX", "COUNT", "2"),
        ("call", 2, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("read", 0), ("read", 1), ("call", 2, "ZRANGE", "z", "0", "-1"),
    ],
    "blmpop": [
        ("block", 0, "BLMPOP", "0", "2", "x", "y", "RIGHT", "COUNT", "5"), ("call", 1, "RPUSH", "y", "1", "2", "3"), ("read", 0),
        ("call", 1, "EXISTS", "y"),
    ],
    "timeouts": [
        ("call", 0, "BLPOP", "none", "0.05"), ("call", 0, "BZPOPMAX", "none", "0.01"), ("call", 0, "BLMOVE", "none", "d", "LEFT", "LEFT", "0.01"),
        ("call", 0, "BRPOPLPUSH", "none", "d", "0.01"), ("call", 0, "BLMPOP", "0.01", "1", "none", "LEFT"), ("call", 0, "EXISTS", "d"),
    ],
    "pipelined_requests_wait_behind_a_blocked_one": [
        ("block", 0, b"BLPOP q 0\r\nPING\r\nLLEN q\r\n"), ("idle", 0), ("call", 1, "RPUSH", "q", "z", "w"), ("read", 0), ("read", 0), ("read", 0),
    ],
    "client_unblock": [
        ("block", 0, "BLPOP", "u", "0"), ("call", 1, "CLIENT", "UNBLOCK", "$id0", "TIMEOUT"), ("read", 0),
        ("block", 0, "BZPOPMIN", "u", "0"), ("call", 1, "CLIENT", "UNBLOCK", "$id0", "ERROR"), ("read", 0),
        ("call", 1, "CLIENT", "UNBLOCK", "$id0"), ("call", 1, "CLIENT", "UNBLOCK", "$id1"), ("call", 1, "CLIENT", "UNBLOCK", "$id0", "FOO"),
        ("call", 1, "CLIENT", "UNBLOCK", "x"), ("call", 1, "CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"), ("call", 0, "RPUSH", "u", "1"),
        ("call", 0, "LLEN", "u"),
    ],
    "disconnected_waiter_takes_nothing": [
        ("block", 0, "BLPOP", "dk", "0"), ("close", 0), ("call", 1, "RPUSH", "dk", "v"), ("call", 1, "LLEN", "dk"),
    ],
    "watch_sees_other_clients": [
        ("call", 0, "WATCH", "w"), ("call", 1, "SET", "w", "1"), ("call", 0, "MULTI"), ("call", 0, "SET", "w", "2"), ("call", 0, "EXEC"),
        ("call", 0, "GET", "w"), ("call", 0, "WATCH", "w"), ("call", 0, "MULTI"), ("call", 0, "INCR", "w"), ("call", 1, "GET", "w"),
        ("call", 0, "EXEC"), ("call", 0, "WATCH", "w", "other"), ("call", 1, "LPUSH", "other", "x"), ("call", 0, "MULTI"),
        ("call", 0, "PING"), ("call", 0, "EXEC"), ("call", 0, "WATCH", "w"), ("call", 1, "SET", "unrelated", "1"), ("call", 0, "MULTI"),
        ("call", 0, "PING"), ("call", 0, "EXEC"), ("call", 0, "WATCH", "w"), ("call", 0, "UNWATCH"), ("call", 1, "DEL", "w"),
        ("call", 0, "MULTI"), ("call", 0, "PING"), ("call", 0, "EXEC"),
    ],
    "watch_sees_expiry_and_flushes": [
        ("call", 0, "SET", "e", "v", "PX", "30"), ("call", 0, "WATCH", "e"), ("sleep", 0.1), ("call", 0, "MULTI"), ("call", 0, "PING"),
        ("call", 0, "EXEC"), ("call", 0, "WATCH", "nokey"), ("call", 1, "FLUSHALL"), ("call", 0, "MULTI"), ("call", 0, "PING"),
        ("call", 0, "EXEC"), ("call", 0, "SET", "ex", "1"), ("call", 0, "WATCH", "ex"), ("call", 1, "FLUSHDB"), ("call", 0, "MULTI"),
        ("call", 0, "PING"), ("call", 0, "EXEC"), ("call", 1, "SELECT", "1"), ("call", 1, "SET", "sw", "1"), ("call", 0, "WATCH", "sw"),
        ("call", 1, "SWAPDB", "0", "1"), ("call", 0, "MULTI"), ("call", 0, "PING"), ("call", 0, "EXEC"),
        ("call", 0, "SET", "t", "1"), ("call", 0, "WATCH", "t"), ("call", 1, "EXPIRE", "t", "100"), ("call", 0, "MULTI"),
        ("call", 0, "PING"), ("call", 0, "EXEC"),
    ],
    "tracking_default_mode": [
        ("do", 0, "HELLO", "3"), ("call", 0, "CLIENT", "TRACKING", "on"), ("call", 0, "GET", "a"), ("call", 0, "MGET", "b", "c"),
        ("call", 1, "SET", "a", "1"), ("push", 0), ("call", 1, "SET", "a", "2"), ("call", 1, "MSET", "b", "1", "c", "2"), ("push", 0), ("push", 0),
        ("call", 0, "GET", "a"), ("call", 0, "SET", "a", "3"), ("push", 0), ("call", 0, "CLIENT", "TRACKINGINFO"),
        ("call", 0, "CLIENT", "GETREDIR"), ("call", 0, "GET", "x"), ("call", 1, "FLUSHALL"), ("push", 0), ("call", 0, "GET", "a"),
        ("call", 0, "CLIENT", "TRACKING", "off"), ("call", 0, "CLIENT", "TRACKINGINFO"), ("call", 0, "CLIENT", "GETREDIR"),
    ],
    "tracking_bcast_noloop_optin": [
        ("do", 0, "HELLO", "3"), ("call", 0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "PREFIX", "job:"),
        ("call", 1, "SET", "user:1", "x"), ("push", 0), ("call", 1, "SET", "other", "1"), ("call", 1, "DEL", "job:7", "user:1"),
        ("push", 0), ("call", 0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:x"), ("call", 0, "CLIENT", "TRACKING", "on"),
        ("call", 0, "CLIENT", "TRACKINGINFO"), ("call", 0, "CLIENT", "TRACKING", "off"),
        ("call", 0, "CLIENT", "TRACKING", "on", "NOLOOP"), ("call", 0, "GET", "n"), ("call", 0, "SET", "n", "1"), ("call", 0, "GET", "n"),
        ("call", 1, "INCR", "n"), ("push", 0), ("call", 0, "CLIENT", "TRACKING", "off"),
        ("call", 0, "CLIENT", "TRACKING", "on", "OPTIN"), ("call", 0, "GET", "o"), ("call", 1, "SET", "o", "1"), ("idle", 0),
        ("call", 0, "CLIENT", "CACHING", "yes"), ("call", 0, "GET", "o"), ("call", 1, "SET", "o", "2"), ("push", 0),
        ("call", 0, "CLIENT", "CACHING", "no"), ("call", 0, "CLIENT", "TRACKING", "on", "OPTOUT"),
        ("call", 0, "CLIENT", "TRACKING", "on", "PREFIX", "a"), ("call", 0, "CLIENT", "TRACKING", "on", "REDIRECT", "99999"),
        ("call", 0, "CLIENT", "TRACKING", "maybe"), ("call", 0, "CLIENT", "TRACKING", "off"),
        ("call", 0, "CLIENT", "TRACKING", "on", "OPTOUT"), ("call", 0, "CLIENT", "CACHING", "no"), ("call", 0, "GET", "p"),
        ("call", 1, "SET", "p", "1"), ("idle", 0), ("call", 0, "GET", "p"), ("call", 1, "SET", "p", "2"), ("push", 0),
    ],
    "tracking_redirected_to_resp2_subscriber": [
        ("call", 1, "SUBSCRIBE", "__redis__:invalidate"), ("call", 0, "CLIENT", "TRACKING", "on", "REDIRECT", "$id1"),
        ("call", 0, "GET", "k"), ("call", 2, "SET", "k", "v"), ("push", 1), ("call", 0, "GET", "k"), ("call", 2, "FLUSHDB"), ("push", 1),
    ],
    "monitor": [
        ("call", 0, "MONITOR"), ("call", 1, "SET", "a b", "x\x01\"y\n"), ("call", 1, "AUTH", "secret"),
        ("call", 1, "CONFIG", "GET", "maxmemory"), ("call", 1, "ECHO", "\u00e9"), ("call", 1, "MULTI"), ("call", 1, "INCR", "n"),
        ("call", 1, "EXEC"), ("call", 1, "NOSUCH"), ("call", 1, "SELECT", "2"), ("call", 1, "PING"),
        ("push", 0), ("push", 0), ("push", 0), ("push", 0), ("push", 0), ("push", 0), ("push", 0), ("push", 0),
    ],
    "swapdb_wakes_waiters": [
        ("call", 1, "SELECT", "1"), ("call", 1, "RPUSH", "s", "v"), ("block", 0, "BLPOP", "s", "0"), ("call", 1, "SWAPDB", "0", "1"),
        ("read", 0),
    ],
}


def monitor_line(reply):
    """A MONITOR line without its timestamp and client port, which differ between servers."""
    if not reply.startswith(b"+") or b" [" not in reply:
        return reply
    head, rest = reply.split(b" [", 1)
    db_addr, command = rest.split(b"] ", 1)
    db, address = db_addr.split(b" ", 1)
    return b"+<time> [" + db + b" " + address.rsplit(b":", 1)[0] + b"] " + command


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_scripts_match_redis(pair, script):
    ours, theirs = pair
    mine, reference = run(ours, SCRIPTS[script]), run(theirs, SCRIPTS[script])
    if script == "monitor":
        mine = [(n, monitor_line(r)) for n, r in mine]
        reference = [(n, monitor_line(r)) for n, r in reference]
    assert mine == reference


def tracking_totals(client):
    info = client.command("INFO", "stats").decode()
    fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    return [int(fields[f"tracking_total_{name}"]) for name in ("keys", "items", "prefixes")]


def evict_over_limit(server):
    """Two tracked keys against `tracking-table-max-keys 1`: the next command forgets one of
    them (which one is the server's choice) and invalidates it."""
    reader, writer, bcast = RawClient(server.port), RawClient(server.port), RawClient(server.port)
    try:
        writer.command("FLUSHALL")
        writer.command("CONFIG", "SET", "tracking-table-max-keys", "1")
        reader.command("HELLO", "3")
        bcast.command("HELLO", "3")
        steps = [reader.command("CLIENT", "TRACKING", "on"), reader.command("GET", "a"),
                 bcast.command("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x:", "PREFIX", "y:"),
                 tracking_totals(writer), reader.command("GET", "b"), tracking_totals(writer)]
        # That INFO ran first, then forgot a key: this client hears of it at once.
        def invalidation(key):
            return b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\n" + key.encode() + b"\r\n"
        push = reader.read_reply()
        assert push in (invalidation("a"), invalidation("b"))
        forgotten = "a" if push == invalidation("a") else "b"
        kept = "b" if forgotten == "a" else "a"
        steps += [tracking_totals(writer), writer.command("SET", forgotten, "1"), writer.command("SET", kept, "1"),
                  reader.read_reply() == invalidation(kept), tracking_totals(writer)]
        writer.command("CONFIG", "SET", "tracking-table-max-keys", "0")
        for key in "cdef":
            reader.command("GET", key)
        steps += [tracking_totals(writer), reader.command("CLIENT", "TRACKING", "off"), tracking_totals(writer),
                  bcast.command("CLIENT", "TRACKING", "off"), tracking_totals(writer)]
        return steps
    finally:
        writer.command("CONFIG", "SET", "tracking-table-max-keys", "1000000")
        for client in (reader, writer, bcast):
            client.close()


def test_tracking_table_limit_and_totals_match_redis(pair):
    ours, theirs = pair
    mine, reference = evict_over_limit(ours), evict_over_limit(theirs)
    assert mine == reference
    assert mine[3] == [1, 1, 2]
