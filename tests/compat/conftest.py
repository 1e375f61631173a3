"""Fixtures that start the real Needletail binary and a real redis-server on free ports."""
import pytest

from servers import Process, binary, free_port, start_needletail, start_redis  # noqa: F401


@pytest.fixture
def needletail():
    server = start_needletail("--enable-debug-command", "yes")
    yield server
    server.stop()


@pytest.fixture
def redis_server():
    server = start_redis("--enable-debug-command", "yes")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pair():
    """A Needletail (with two event loops, so clients land on different loops) and a Redis,
    started once per module; tests flush them first."""
    ours = start_needletail("--enable-debug-command", "yes", "--threads", "2")
    theirs = start_redis("--enable-debug-command", "yes")
    yield ours, theirs
    ours.stop()
    theirs.stop()
