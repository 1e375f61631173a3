"""Client management against the real binary with redis-py: the pause gate, CLIENT KILL,
CLIENT LIST against redis-server's, the limits that protect the server, and a load test."""
import socket
import subprocess
import threading
import time

import pytest
import redis

from conftest import start_needletail
from servers import start_redis
from raw import RawClient


def connect(server, **options):
    return redis.Redis(port=server.port, decode_responses=True, **options)


def in_thread(function):
    result = {}

    def run():
        try:
            result["value"] = function()
        except Exception as error:  # the assertion happens in the test thread
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def blocked_clients(client):
    return client.info("clients")["blocked_clients"]


def wait_for(condition, timeout=5):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "condition never held"
        time.sleep(0.01)


# MARK: The pause gate

def test_writes_wait_for_unpause_in_order_and_reads_flow(needletail):
    admin, writer, reader = connect(needletail), connect(needletail), connect(needletail)
    assert admin.client_pause(10_000, all=False) is True
    pipe = writer.pipeline(transaction=False)
    for index in range(50):
        pipe.rpush("log", index)
    thread, result = in_thread(pipe.execute)
    wait_for(lambda: blocked_clients(admin) == 1)
    started = time.time()
    assert reader.get("anything") is None and reader.ping() is True and reader.llen("log") == 0
    assert time.time() - started < 0.5
    assert sum("flags=b" in line for line in admin.execute_command("CLIENT", "LIST").splitlines()) == 1
    assert admin.client_unpause()
    thread.join(5)
    assert result["value"] == list(range(1, 51))
    assert writer.lrange("log", 0, -1) == [str(index) for index in range(50)]


def test_pause_all_is_lifted_by_unpause_from_another_connection(needletail):
    admin, other, unpauser = connect(needletail), connect(needletail), RawClient(needletail.port)
    other.ping()
    assert admin.execute_command("CLIENT", "PAUSE", "20000", "ALL") == "OK"
    thread, result = in_thread(lambda: other.get("k"))
    time.sleep(0.2)
    assert thread.is_alive(), "a read passed a PAUSE ALL"
    started = time.time()
    # Needletail lets UNPAUSE through a PAUSE ALL (Redis would hold it for the 20 seconds).
    assert unpauser.command("CLIENT", "UNPAUSE") == b"+OK\r\n"
    thread.join(5)
    assert "error" not in result and result["value"] is None
    assert time.time() - started < 1
    unpauser.close()


def test_pause_expires_by_itself_and_keeps_the_later_deadline_and_stricter_mode(needletail):
    admin, writer = connect(needletail), connect(needletail)
    admin.execute_command("CLIENT", "PAUSE", "300", "ALL")
    admin_two = connect(needletail)
    thread, result = in_thread(lambda: (admin_two.execute_command("CLIENT", "PAUSE", "100", "WRITE"), time.time())[1])
    started = time.time()
    thread.join(5)
    # The second pause waited behind the first (ALL holds it) and, milder and shorter, changes nothing.
    assert result["value"] - started >= 0.2
    started = time.time()
    assert writer.set("k", "v") is True
    assert time.time() - started < 0.5


def test_write_transactions_and_queued_writes_wait_read_only_ones_do_not(needletail):
    admin, client = connect(needletail), RawClient(needletail.port)
    client.command("SET", "k", "1")
    admin.client_pause(10_000, all=False)
    assert client.command("MULTI") == b"+OK\r\n"
    assert client.command("GET", "k") == b"+QUEUED\r\n"
    assert client.command("EXEC") == b"*1\r\n$1\r\n1\r\n"
    assert client.command("SET", "k") == b"-ERR wrong number of arguments for 'set' command\r\n"
    assert client.command("MULTI") == b"+OK\r\n"
    client.send_raw(RawClient.encode(["INCR", "k"]))
    time.sleep(0.2)
    client.sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        client.read_reply()
    client.sock.settimeout(10)
    admin.client_unpause()
    assert client.read_reply() == b"+QUEUED\r\n"
    assert client.command("EXEC") == b"*1\r\n:2\r\n"
    client.close()


def test_publish_waits_in_write_mode(needletail):
    admin, publisher = connect(needletail), connect(needletail)
    admin.client_pause(10_000, all=False)
    thread, result = in_thread(lambda: publisher.publish("channel", "x"))
    time.sleep(0.2)
    assert thread.is_alive()
    admin.client_unpause()
    thread.join(5)
    assert result["value"] == 0


def test_pause_inside_multi_takes_effect_after_exec(needletail):
    client = connect(needletail)
    pipe = client.pipeline(transaction=True)
    pipe.execute_command("CLIENT", "PAUSE", "10000", "WRITE")
    pipe.set("after", "1")
    assert pipe.execute()[1] is True
    other = connect(needletail)
    thread, _ = in_thread(lambda: other.set("held", "1"))
    time.sleep(0.2)
    assert thread.is_alive()
    client.client_unpause()
    thread.join(5)


def test_a_key_expiring_during_a_pause_is_deleted_only_after_it(needletail):
    client = connect(needletail)
    subscriber = connect(needletail).pubsub()
    client.config_set("notify-keyspace-events", "Ex")
    subscriber.subscribe("__keyevent@0__:expired")
    assert subscriber.get_message(timeout=1)["type"] == "subscribe"
    client.set("short", "v", px=100)
    client.client_pause(10_000, all=False)
    time.sleep(0.4)
    assert client.get("short") is None
    assert client.dbsize() == 1
    assert client.info("stats")["expired_keys"] == 0
    assert subscriber.get_message(timeout=0.3) is None
    client.client_unpause()
    wait_for(lambda: client.dbsize() == 0)
    assert client.info("stats")["expired_keys"] == 1
    assert subscriber.get_message(timeout=1)["data"] == "short"
    subscriber.close()


def test_pause_errors(needletail):
    client = RawClient(needletail.port)
    assert client.command("CLIENT", "PAUSE", "x") == b"-ERR timeout is not an integer or out of range\r\n"
    assert client.command("CLIENT", "PAUSE", "-1") == b"-ERR timeout is negative\r\n"
    assert client.command("CLIENT", "PAUSE", "10", "SOME") == b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    assert client.command("CLIENT", "UNPAUSE", "x") == b"-ERR wrong number of arguments for 'client|unpause' command\r\n"
    help_lines = connect(needletail).execute_command("CLIENT", "HELP")
    assert help_lines[0] == "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[-2:] == ["HELP", "    Prints this help."]
    assert any("UNPAUSE" in line for line in help_lines) and any("Needletail" in line for line in help_lines)
    client.close()


# MARK: CLIENT KILL, CLIENT LIST

def test_client_kill_filters(needletail):
    admin = connect(needletail)
    victims = [connect(needletail) for _ in range(3)]
    for victim in victims:
        victim.ping()
    subscriber = connect(needletail).pubsub()
    subscriber.subscribe("c")
    subscriber.get_message(timeout=1)
    assert admin.execute_command("CLIENT", "KILL", "TYPE", "normal") == 3
    assert admin.ping() is True
    assert admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    target = connect(needletail)
    target_id = target.client_id()
    assert admin.execute_command("CLIENT", "KILL", "ID", str(target_id), "SKIPME", "no") == 1
    address = [entry for entry in admin.client_list() if entry["id"] == str(admin.client_id())][0]["addr"]
    assert admin.execute_command("CLIENT", "KILL", "ADDR", address) == 0
    with pytest.raises(redis.ResponseError, match="No such client"):
        admin.execute_command("CLIENT", "KILL", "10.0.0.1:1")
    with pytest.raises(redis.ResponseError, match="Unknown client type 'x'"):
        admin.execute_command("CLIENT", "KILL", "TYPE", "x")
    with pytest.raises(redis.ResponseError, match="No such user 'bob'"):
        admin.execute_command("CLIENT", "KILL", "USER", "bob")
    with pytest.raises(redis.ResponseError, match="client-id should be greater than 0"):
        admin.execute_command("CLIENT", "KILL", "ID", "0")
    assert admin.execute_command("CLIENT", "KILL", "MAXAGE", "100000") == 0
    assert admin.execute_command("CLIENT", "KILL", "LADDR", f"127.0.0.1:{needletail.port}", "SKIPME", "yes") == 0


def test_client_list_parses_and_matches_redis_field_for_field(needletail, redis_server):
    ours, theirs = connect(needletail), connect(redis_server)
    for client in (ours, theirs):
        client.client_setname("probe")
    mine = [entry for entry in ours.client_list() if entry["name"] == "probe"][0]
    reference = [entry for entry in theirs.client_list() if entry["name"] == "probe"][0]
    # Redis 7.0.15 ends at `resp`; the 7.2 library fields follow it here.
    assert list(mine)[:len(reference)] == list(reference)
    assert list(mine)[len(reference):] == ["lib-name", "lib-ver"]
    for field in ("name", "db", "sub", "psub", "ssub", "multi", "flags", "cmd", "user", "redir", "resp", "events"):
        assert mine[field] == reference[field], field
    assert int(ours.client_info()["id"]) == ours.client_id()


# MARK: Limits

def test_maxclients_and_connection_counters(request):
    server = start_needletail("--maxclients", "2")
    request.addfinalizer(server.stop)
    first = RawClient(server.port)
    # The start-up probe's connection may not be closed on the server's side yet.
    deadline = time.time() + 5
    while b"connected_clients:1\r\n" not in first.command("INFO", "clients") and time.time() < deadline:
        time.sleep(0.01)
    second = RawClient(server.port)
    assert first.command("PING") == b"+PONG\r\n" and second.command("PING") == b"+PONG\r\n"
    third = RawClient(server.port)
    assert third.read_all_until_closed() == b"-ERR max number of clients reached\r\n"
    stats = first.command("INFO", "stats").decode()
    # The fixture's start-up probe was the first connection; a refused one is not received.
    assert "rejected_connections:1\r\n" in stats, stats
    assert "total_connections_received:3\r\n" in stats, stats
    for client in (first, second, third):
        client.close()


@pytest.mark.parametrize("start", [start_needletail, start_redis], ids=["needletail", "redis"])
def test_protected_mode_turns_away_clients_from_outside_without_a_password(start, request):
    # Only 127.0.0.1, ::1 and Unix sockets are local to Redis: a client from 127.0.0.2 is not.
    server = start("--bind", "127.0.0.1")
    request.addfinalizer(server.stop)

    def from_outside():
        with socket.socket() as s:
            s.settimeout(5)
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", server.port))
            s.sendall(b"PING\r\n")
            received = b""
            while chunk := s.recv(4096):
                received += chunk
                if received.endswith(b"\r\n"):
                    return received
            return received
    refused = from_outside()
    assert refused.startswith(b"-DENIED Redis is running in protected mode because protected mode is enabled"), refused
    assert len(refused) == 1067 and refused.endswith(b"connections from the outside.\r\n")
    local = RawClient(server.port)
    stats = local.command("INFO", "stats").decode()
    assert "rejected_connections:1\r\n" in stats and "total_connections_received:2\r\n" in stats, stats
    assert local.command("CONFIG", "SET", "protected-mode", "no") == b"+OK\r\n"
    assert from_outside() == b"+PONG\r\n"
    # With a password the client comes in, and must authenticate.
    assert local.command("CONFIG", "SET", "protected-mode", "yes", "requirepass", "secret") == b"+OK\r\n"
    assert from_outside() == b"-NOAUTH Authentication required.\r\n"
    local.close()


def test_idle_clients_are_closed_but_not_blocked_or_subscribed_ones(request):
    server = start_needletail("--timeout", "1")
    request.addfinalizer(server.stop)
    idle, blocked, subscribed = RawClient(server.port), RawClient(server.port), RawClient(server.port)
    idle.command("PING")
    blocked.send_raw(RawClient.encode(["BLPOP", "never", "0"]))
    subscribed.command("SUBSCRIBE", "c")
    time.sleep(2.5)
    assert idle.read_all_until_closed() == b""
    assert subscribed.command("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert RawClient(server.port).command("RPUSH", "never", "x") == b":1\r\n"
    assert blocked.read_reply() == b"*2\r\n$5\r\nnever\r\n$1\r\nx\r\n"


def test_a_client_that_does_not_read_is_cut_off_by_its_output_limit(request):
    server = start_needletail("--client-output-buffer-limit", "normal 1mb 0 0")
    request.addfinalizer(server.stop)
    writer = RawClient(server.port)
    writer.command("SET", "big", "x" * 500_000)
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(RawClient.encode(["GET", "big"]) * 200)
    wait_for(lambda: b"connected_clients:1\r\n" in writer.command("INFO", "clients"))
    wait_for(lambda: b"scheduled to be closed ASAP for overcoming of output buffer limits" in open(server.log_path, "rb").read())
    slow.close()


def test_tcp_keepalive_is_set_on_client_sockets(needletail):
    client = RawClient(needletail.port)
    client.command("PING")
    # The server's end of the connection runs a keepalive timer (default `tcp-keepalive 300`).
    sockets = subprocess.run(["ss", "-tno", "state", "established", f"( sport = :{needletail.port} )"],
                             capture_output=True, text=True).stdout
    assert "timer:(keepalive" in sockets
    client.close()


# MARK: Load

def test_a_thousand_clients_and_a_hundred_writers_through_a_two_second_pause(request):
    server = start_needletail("--threads", "2")
    request.addfinalizer(server.stop)
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(900)]
    admin = connect(server)
    wait_for(lambda: admin.info("clients")["connected_clients"] >= 901)
    rss_before = rss(server)
    writers = [RawClient(server.port) for _ in range(100)]
    admin.client_pause(2000, all=False)
    started = time.time()
    for index, writer in enumerate(writers):
        writer.send_raw(b"".join(RawClient.encode(["RPUSH", f"list:{index}", str(n)]) for n in range(100)))
    wait_for(lambda: admin.info("clients")["blocked_clients"] == 100)
    for index, writer in enumerate(writers):
        replies = [writer.read_reply() for _ in range(100)]
        assert replies == [b":%d\r\n" % (n + 1) for n in range(100)]
    assert time.time() - started >= 1.5
    for index in range(100):
        assert admin.lrange(f"list:{index}", 0, -1) == [str(n) for n in range(100)]
    assert rss(server) - rss_before < 64 * 1024 * 1024
    for connection in idle:
        connection.close()
    for writer in writers:
        writer.close()


def rss(server):
    with open(f"/proc/{server.process.pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
