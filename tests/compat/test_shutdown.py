"""A master's shutdown waits for its replicas (shutdown-timeout), as Redis 7.0's does: writes
pause, SHUTDOWN blocks until every replica acknowledged every write or the time is up, and
SHUTDOWN ABORT ends the wait. Each test runs against Needletail and redis-server alike."""
import signal
import time

import pytest
import redis

from raw import RawClient
from switchover import server as start, wait_until

ABORTED = b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"


class Pair:
    """A master and one replica of `kind`; the replica can be stopped (SIGSTOP) so it lags."""

    def __init__(self, kind, *master_settings):
        self.master_process = start(kind, *master_settings)
        self.replica_process = start(kind, "--replicaof", "127.0.0.1", str(self.master_process.port))
        self.master = redis.Redis(port=self.master_process.port)
        self.replica = redis.Redis(port=self.replica_process.port)
        assert wait_until(lambda: self.replica.info("replication")["master_link_status"] == "up")
        assert wait_until(lambda: self.master.info("replication").get("slave0", {}).get("state") == "online")

    def stop_replica(self):
        self.replica_process.process.send_signal(signal.SIGSTOP)

    def resume_replica(self):
        self.replica_process.process.send_signal(signal.SIGCONT)

    def close(self):
        self.resume_replica()
        self.master_process.stop()
        self.replica_process.stop()


def pending_reply(client, seconds=0.3):
    """The reply `client` receives within `seconds`, or None."""
    client.sock.settimeout(seconds)
    try:
        return client.read_reply()
    except TimeoutError:
        return None
    finally:
        client.sock.settimeout(10)


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_shutdown_waits_for_a_lagging_replica_and_can_be_aborted(kind):
    pair = Pair(kind)
    try:
        pair.stop_replica()
        pair.master.set("before", "1")
        shutting = RawClient(pair.master_process.port)
        shutting.send_raw(RawClient.encode(["SHUTDOWN"]))
        assert pending_reply(shutting) is None
        info = pair.master.info("server")
        assert 0 < info["shutdown_in_milliseconds"] <= 10000
        # Writes wait, reads do not.
        writer = RawClient(pair.master_process.port)
        writer.send_raw(RawClient.encode(["SET", "paused", "1"]))
        assert pending_reply(writer) is None
        assert pair.master.get("before") == b"1"
        # A second SHUTDOWN joins the first.
        joining = RawClient(pair.master_process.port)
        joining.send_raw(RawClient.encode(["SHUTDOWN", "NOSAVE"]))
        assert pending_reply(joining, 0.1) is None

        aborter = RawClient(pair.master_process.port)
        assert aborter.command("SHUTDOWN", "ABORT") == b"+OK\r\n"
        assert shutting.read_reply() == ABORTED and joining.read_reply() == ABORTED
        assert writer.read_reply() == b"+OK\r\n"
        assert "shutdown_in_milliseconds" not in pair.master.info("server")
        assert aborter.command("SHUTDOWN", "ABORT") == b"-ERR No shutdown in progress.\r\n"
        assert "Shutdown manually aborted." in pair.master_process.log()

        # Again (on a new connection: redis-server 7.0.15 fails an assertion when the client
        # whose SHUTDOWN was aborted sends another command); the replica comes back, catches up,
        # and the master exits.
        shutting = RawClient(pair.master_process.port)
        shutting.send_raw(RawClient.encode(["SHUTDOWN"]))
        assert pending_reply(shutting) is None
        pair.resume_replica()
        assert pair.master_process.process.wait(10) == 0
        assert pair.replica.mget("before", "paused") == [b"1", b"1"]
        log = pair.master_process.log()
        assert "Waiting for replicas before shutting down." in log
        assert "1 of 1 replicas are in sync when shutting down." in log
    finally:
        pair.close()


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_shutdown_goes_ahead_at_its_timeout_or_at_once_with_now(kind):
    pair = Pair(kind, "--shutdown-timeout", "1")
    try:
        pair.stop_replica()
        pair.master.set("unacknowledged", "1")
        began = time.monotonic()
        RawClient(pair.master_process.port).send_raw(RawClient.encode(["SHUTDOWN"]))
        assert pair.master_process.process.wait(10) == 0
        assert 0.9 < time.monotonic() - began < 5
        log = pair.master_process.log()
        assert "Lagging replica 127.0.0.1:%d reported offset" % pair.replica_process.port in log
        assert "0 of 1 replicas are in sync when shutting down." in log
    finally:
        pair.close()
    # NOW does not wait, nor does a master whose replicas hold every write.
    for now in (True, False):
        pair = Pair(kind)
        try:
            if now:
                pair.stop_replica()
            pair.master.set("k", "v")
            if not now:
                assert wait_until(lambda: pair.master.info("replication")["slave0"]["offset"]
                                  == pair.master.info("replication")["master_repl_offset"])
            began = time.monotonic()
            client = RawClient(pair.master_process.port)
            client.send_raw(RawClient.encode(["SHUTDOWN", "NOW"] if now else ["SHUTDOWN"]))
            assert pair.master_process.process.wait(10) == 0
            assert time.monotonic() - began < 0.9
        finally:
            pair.close()
