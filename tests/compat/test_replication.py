"""Needletail as a master: a real redis-server 7.0 replica follows it through a full sync (a
forkless snapshot at the exact offset announced) and the stream after it, and comes back with
a partial resync from the backlog after its link is cut."""
import os
import signal
import time

import pytest
import redis

from servers import Process, binary
from test_dump_restore import FILL
from test_persistence import dataset, fill_everything


def needletail(*settings):
    """A master that starts a full sync at once unless told otherwise (Redis waits 5 seconds)."""
    settings = settings or ("--repl-diskless-sync-delay", "0")
    return Process(lambda port, d: [binary(), "--port", str(port), "--dir", d, "--save", "", *settings], "needletail")


def redis_replica_of(master_port):
    return Process(lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
                                    "--replicaof", "127.0.0.1", str(master_port)], "redis")


def wait_until(condition, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_redis_replica_follows_a_needletail_master():
    master_process = needletail()
    try:
        master = redis.Redis(port=master_process.port)
        fill_everything(master)
        replica_process = redis_replica_of(master_process.port)
        try:
            replica = redis.Redis(port=replica_process.port)
            assert wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
            # Writes after the sync, of every type, in two databases, with TTLs.
            for key, fill in FILL.items():
                fill(master, key + ":after")
            master.set("ttl:after", "v", ex=5000)
            master.execute_command("SELECT", 5)
            master.incr("db5:counter")
            master.execute_command("SELECT", 0)
            master.delete("string:short")
            expected = dataset(master)
            assert wait_until(lambda: dataset(replica) == expected)
            assert "Full resync from master" in replica_process.log()

            # The link cut: the replica comes back with PSYNC, served from the backlog.
            replica.execute_command("CLIENT", "KILL", "TYPE", "master")
            master.set("while:cut", "1")
            master.lpush("list:small", "pushed")
            expected = dataset(master)
            assert wait_until(lambda: dataset(replica) == expected)
            assert "Successful partial resynchronization with master." in replica_process.log()

            # The master's view: the replica online, acknowledging the whole stream each second.
            def acknowledged():
                info = master.info("replication")
                line = info.get("slave0", {})
                return (info["connected_slaves"] == 1 and line.get("state") == "online" and line.get("lag") in (0, 1)
                        and line.get("offset") == info["master_repl_offset"] == replica.info("replication")["slave_repl_offset"])
            assert wait_until(acknowledged, 5)
            stats = master.info("stats")
            assert (stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"]) == (1, 1, 0)
            # A smaller backlog keeps the newest bytes.
            master.config_set("repl-backlog-size", 16 * 1024)
            info = master.info("replication")
            assert info["repl_backlog_histlen"] == min(16 * 1024, info["master_repl_offset"])
            assert info["repl_backlog_first_byte_offset"] == info["master_repl_offset"] - info["repl_backlog_histlen"] + 1

            # min-replicas: writes need one replica that acknowledged within 2 seconds. A
            # stopped replica stops acknowledging: NOREPLICAS, then, past repl-timeout, it is
            # let go; continued, it comes back by itself and writes pass again.
            master.config_set("min-replicas-to-write", 1)
            master.config_set("min-replicas-max-lag", 2)
            assert master.info("replication")["min_slaves_good_slaves"] == 1
            assert master.set("guarded", "1")
            master.config_set("repl-timeout", 4)
            replica_process.process.send_signal(signal.SIGSTOP)
            try:
                def refused():
                    try:
                        master.set("guarded", "2")
                        return False
                    except redis.ResponseError as error:
                        assert str(error) == "NOREPLICAS Not enough good replicas to write."
                        return True
                assert wait_until(refused, 6)
                assert wait_until(lambda: master.info("replication")["connected_slaves"] == 0, 8)
                assert "Disconnecting timedout replica (streaming sync)" in master_process.log()
            finally:
                replica_process.process.send_signal(signal.SIGCONT)
            assert wait_until(lambda: master.info("replication")["min_slaves_good_slaves"] == 1, 10)
            master.set("after:timeout", "1")
            expected = dataset(master)
            assert wait_until(lambda: dataset(replica) == expected)
        finally:
            replica_process.stop()
        assert wait_until(lambda: master.info("replication")["connected_slaves"] == 0)
        assert master.info("replication")["repl_backlog_active"] == 1
    finally:
        master_process.stop()


def test_each_write_reaches_every_replica_once():
    """Two replicas, each through its own full sync: a counter incremented on the master reads
    the same on both (a stream fed twice would double it)."""
    master_process = needletail()
    replicas = []
    try:
        master = redis.Redis(port=master_process.port)
        for _ in range(2):
            replicas.append(redis_replica_of(master_process.port))
            client = redis.Redis(port=replicas[-1].port)
            assert wait_until(lambda: client.info("replication")["master_link_status"] == "up")
            for _ in range(10):
                master.incr("counter")
        assert master.get("counter") == b"20"
        for process in replicas:
            client = redis.Redis(port=process.port)
            assert wait_until(lambda: client.get("counter") == b"20")
        assert master.info("stats")["sync_full"] == 2
    finally:
        for process in replicas:
            process.stop()
        master_process.stop()


def test_replicas_arriving_together_share_one_diskless_snapshot():
    """`repl-diskless-sync-delay` holds the snapshot (newlines keep the replicas waiting) until
    `repl-diskless-sync-max-replicas` replicas wait; both then get the same `$EOF:` payload.
    With `repl-diskless-sync no` the payload is `$<length>`, at once."""
    master_process = needletail("--repl-diskless-sync-delay", "30", "--repl-diskless-sync-max-replicas", "2")
    replicas = []
    try:
        master = redis.Redis(port=master_process.port)
        fill_everything(master)
        replicas.append(redis_replica_of(master_process.port))
        assert wait_until(lambda: master.info("replication").get("slave0", {}).get("state") == "wait_bgsave")
        time.sleep(1.5)
        assert master.info("replication")["slave0"]["state"] == "wait_bgsave"
        assert master_process.log().count("Starting BGSAVE for SYNC") == 0
        replicas.append(redis_replica_of(master_process.port))
        expected = dataset(master)
        for process in replicas:
            client = redis.Redis(port=process.port)
            assert wait_until(lambda: client.info("replication")["master_link_status"] == "up")
            assert dataset(client) == expected
            assert "receiving streamed RDB from master with EOF" in process.log()
        assert master_process.log().count("Starting BGSAVE for SYNC with target: replicas sockets") == 1
        master.incr("counter")
        for process in replicas:
            client = redis.Redis(port=process.port)
            assert wait_until(lambda: client.get("counter") == b"1")

        master.config_set("repl-diskless-sync", "no")
        replicas.append(redis_replica_of(master_process.port))
        client = redis.Redis(port=replicas[-1].port)
        assert wait_until(lambda: client.info("replication")["master_link_status"] == "up", 5)
        assert client.get("counter") == b"1"
        assert "receiving streamed RDB from master with EOF" not in replicas[-1].log()
        assert master.info("stats")["sync_full"] == 3
    finally:
        for process in replicas:
            process.stop()
        master_process.stop()


def test_redis_cli_rdb_and_replica_modes_and_replconf_errors():
    """`redis-cli --rdb` gets a snapshot Redis's own checker accepts, `--replica` the stream;
    REPLCONF, PSYNC and WAIT refuse bad input with Redis's words."""
    import subprocess
    from raw import RawClient
    master_process = needletail()
    try:
        master = redis.Redis(port=master_process.port)
        fill_everything(master)
        path = os.path.join(master_process.dir, "copy.rdb")
        result = subprocess.run(["redis-cli", "-p", str(master_process.port), "--rdb", path], capture_output=True, text=True, timeout=30)
        assert "Transfer finished with success" in result.stdout + result.stderr
        check = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True)
        assert "RDB looks OK" in check.stdout
        assert wait_until(lambda: master.info("replication")["connected_slaves"] == 0)

        follower = subprocess.Popen(["stdbuf", "-o0", "redis-cli", "-p", str(master_process.port), "--replica"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert wait_until(lambda: master.info("replication").get("slave0", {}).get("state") == "online")
            master.set("seen:by", "replica")
            assert master.execute_command("ROLE")[0] == b"master"
        finally:
            time.sleep(1)
            follower.terminate()
        out, _ = follower.communicate(timeout=10)
        assert '"SET","seen:by","replica"' in out

        raw = RawClient(master_process.port)
        assert raw.command("REPLCONF", "nonsense", "1") == b"-ERR Unrecognized REPLCONF option: nonsense\r\n"
        assert raw.command("REPLCONF", "listening-port") == b"-ERR syntax error\r\n"
        assert raw.command("REPLCONF", "listening-port", "x") == b"-ERR value is not an integer or out of range\r\n"
        assert raw.command("REPLCONF", "capa", "eof", "capa", "unknown") == b"+OK\r\n"
        assert raw.command("WAIT", "x", "0") == b"-ERR value is not an integer or out of range\r\n"
        assert raw.command("WAIT", "0", "-1") == b"-ERR timeout is negative\r\n"
        assert raw.command("WAIT", "0", "x") == b"-ERR timeout is not an integer or out of range\r\n"
        assert raw.command("WAIT", "1", "100") == b":0\r\n"  # no replica: the count, at the timeout
        assert raw.command("PSYNC", "?", "-1", "FAILOVER") == b"-ERR PSYNC FAILOVER can't be sent to a master.\r\n"
        assert raw.command("REPLCONF", "listening-port", "+5") == b"-ERR value is not an integer or out of range\r\n"
        raw.close()
        # An offset Redis's strict parser refuses ("+1") means a full resync, not a partial one.
        replid = master.info("replication")["master_replid"]
        follower = RawClient(master_process.port)
        follower.send_raw(RawClient.encode(["PSYNC", replid, "+1"]))
        assert follower.sock.recv(64).startswith(b"+FULLRESYNC ")
        follower.close()
    finally:
        master_process.stop()


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_client_unblock_ends_a_wait_as_its_timeout_would(kind):
    """CLIENT UNBLOCK on a client in WAIT: it gets the count of replicas that acknowledged, as
    at its timeout (with ERROR, -UNBLOCKED); the same against redis-server."""
    import switchover
    from raw import RawClient
    master_process = switchover.server(kind)
    replica_process = switchover.server(kind, "--replicaof", "127.0.0.1", str(master_process.port))
    try:
        master = redis.Redis(port=master_process.port)
        assert wait_until(lambda: master.info("replication")["connected_slaves"] == 1
                          and master.info("replication")["slave0"]["state"] == "online")
        replica_process.process.send_signal(signal.SIGSTOP)
        try:
            waiting = RawClient(master_process.port)
            assert waiting.command("SET", "k", "v") == b"+OK\r\n"
            client_id = int(waiting.command("CLIENT", "ID")[1:-2])
            for reason, reply in ((None, b":0\r\n"), ("ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")):
                waiting.send_raw(RawClient.encode(["WAIT", "1", "0"]))
                assert wait_until(lambda: master.info("clients")["blocked_clients"] == 1)
                assert master.execute_command("CLIENT", "UNBLOCK", client_id, *([reason] if reason else [])) == 1
                assert waiting.read_reply() == reply
            assert master.execute_command("CLIENT", "UNBLOCK", client_id) == 0
            assert master.info("clients")["blocked_clients"] == 0
            waiting.close()
        finally:
            replica_process.process.send_signal(signal.SIGCONT)
    finally:
        replica_process.stop()
        master_process.stop()


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_a_syncing_replica_is_dropped_past_its_output_buffer_limit(kind):
    """A replica that got its snapshot (`$EOF:` form) but never acknowledges it takes no stream
    yet: what the master keeps for it counts against client-output-buffer-limit's replica class,
    and past the hard limit it is disconnected with Redis's log line, as redis-server does."""
    import socket
    import switchover
    from raw import RawClient
    master_process = switchover.server(kind, "--client-output-buffer-limit", "replica 1mb 0 0")
    try:
        master = redis.Redis(port=master_process.port)
        master.set("before", "sync")
        silent = socket.create_connection(("127.0.0.1", master_process.port), timeout=10)
        # PSYNC pipelined behind another request is refused: its reply is still pending.
        silent.sendall(RawClient.encode(["REPLCONF", "capa", "eof", "capa", "psync2"]) + RawClient.encode(["PSYNC", "?", "-1"]))
        received = b""
        while received.count(b"\r\n") < 2:
            received += silent.recv(1 << 16)
        assert received == b"+OK\r\n-ERR SYNC and PSYNC are invalid with pending output\r\n"
        silent.sendall(RawClient.encode(["PSYNC", "?", "-1"]))
        received = b""
        while b"$EOF:" not in received or received.count(received.split(b"$EOF:")[1][:40]) < 2:
            received += silent.recv(1 << 16)
        value = "x" * 100_000
        for i in range(30):
            master.set(f"big:{i}", value)
        assert wait_until(lambda: master.info("replication")["connected_slaves"] == 0)
        assert wait_until(lambda: "scheduled to be closed ASAP for overcoming of output buffer limits" in master_process.log())
        silent.settimeout(5)
        while True:
            chunk = silent.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        assert b"+FULLRESYNC" in received and b"big:" not in received
        silent.close()
        assert master.get("big:29") == value.encode()
    finally:
        master_process.stop()


def test_failover_on_two_loops_under_load_loses_no_acknowledged_write():
    """FAILOVER while eight clients write on a master with two event loops: every write the
    master acknowledged is on the promoted replica; the others were refused (-READONLY)."""
    import threading
    for _ in range(3):
        master_process = needletail("--threads", "2", "--repl-diskless-sync-delay", "0")
        replica_process = needletail("--threads", "2", "--replicaof", "127.0.0.1", str(master_process.port))
        try:
            replica = redis.Redis(port=replica_process.port)
            assert wait_until(lambda: replica.info("replication").get("master_link_status") == "up")
            acknowledged, stop = [[] for _ in range(8)], threading.Event()

            def write(writer):
                client = redis.Redis(port=master_process.port)
                number = 0
                while not stop.is_set():
                    try:
                        client.set(f"w:{writer}:{number}", number)
                        acknowledged[writer].append(number)
                    except redis.exceptions.ResponseError as error:
                        assert str(error).startswith("You can't write against a read only replica")
                    number += 1
            writers = [threading.Thread(target=write, args=(index,)) for index in range(8)]
            for thread in writers:
                thread.start()
            time.sleep(0.5)
            master = redis.Redis(port=master_process.port)
            assert master.execute_command("FAILOVER") == b"OK"
            assert wait_until(lambda: master.info("replication")["master_failover_state"] == "no-failover")
            time.sleep(0.2)
            stop.set()
            for thread in writers:
                thread.join()
            assert replica.execute_command("ROLE")[0] == b"master"
            keys = [f"w:{writer}:{number}" for writer in range(8) for number in acknowledged[writer]]
            missing = [key for start in range(0, len(keys), 1000)
                       for key, value in zip(keys[start:start + 1000], replica.mget(keys[start:start + 1000])) if value is None]
            assert len(keys) > 1000 and missing == []
        finally:
            master_process.stop()
            replica_process.stop()
