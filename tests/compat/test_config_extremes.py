"""CONFIG SET of every directive to extreme values: the same verdict and error text as Redis,
and a server that stays up. Directives that would cut the test off from the server (port,
requirepass, timeout …) are left out. Then directives whose effect shows from outside, against
redis-server too: the process title, dynamic-hz."""
import socket
import time

import pytest

from raw import RawClient
from servers import start_needletail, start_redis

VALUES = ["-9223372036854775808", "9223372036854775807", "9223372036854775808", "-1", "0", "1", "4294967296",
          "2147483648", "nan", "inf", "1e308", "", "abc", "1gb", "5000000000gb", "-1mb", "yes", "no"]

LEFT_OUT = {
    "port", "bind", "dir", "dbfilename", "logfile", "pidfile", "requirepass", "masterauth", "masteruser", "unixsocket",
    "unixsocketperm", "daemonize", "replicaof", "slaveof", "threads", "io-threads", "tls-port", "tls-cert-file",
    "tls-key-file", "aclfile", "syslog-enabled", "supervised", "oom-score-adj", "oom-score-adj-values",
    "cluster-enabled", "timeout", "maxclients", "enable-debug-command", "enable-protected-configs",
    "enable-module-command", "appendonly", "appenddirname", "appendfilename", "client-query-buffer-limit",
    "proto-max-bulk-len", "databases", "save",
}

# Needletail refuses these in its own words (Redis's refusal names its build: no jemalloc, no TLS).
OWN_WORDS = {("activedefrag", "yes"), ("tls-cluster", "yes"), ("tls-replication", "yes"), ("crash-log-enabled", "no")}
# Refused at any value but the default, where Redis accepts a valid one (client eviction and list
# compression are not built).
REFUSED_UNLESS_DEFAULT = {"maxmemory-clients", "list-compress-depth"}


def values_of(client):
    raw = client.command("CONFIG", "GET", "*")
    items, position = [], raw.index(b"\r\n") + 2
    while position < len(raw):
        end = raw.index(b"\r\n", position)
        length = int(raw[position + 1:end])
        items.append(raw[end + 2:end + 2 + length].decode())
        position = end + 2 + length + 2
    return dict(zip(items[0::2], items[1::2]))


def test_config_set_extremes_as_redis(pair):
    ours, theirs = (RawClient(server.port) for server in pair)
    mine, reference = values_of(ours), values_of(theirs)
    differences = []
    for name in sorted(set(mine) - LEFT_OUT):
        for value in VALUES:
            verdicts = [client.command("CONFIG", "SET", name, value) for client in (ours, theirs)]
            ours.command("CONFIG", "SET", name, mine[name])
            theirs.command("CONFIG", "SET", name, reference[name])
            if (name, value) in OWN_WORDS:
                assert verdicts[0].startswith(b"-ERR CONFIG SET failed")
            elif name in REFUSED_UNLESS_DEFAULT and verdicts[0] != verdicts[1] == b"+OK\r\n":
                assert verdicts[0].endswith(b"is not supported yet\r\n"), verdicts[0]
            elif verdicts[0] != verdicts[1]:
                differences.append(f"{name} {value!r}: {verdicts[0]!r} != {verdicts[1]!r}")
    assert RawClient(pair[0].port).command("PING") == b"+PONG\r\n"
    assert differences == []


def process_title(process):
    """What `ps` shows: the command line up to its first NUL."""
    with open(f"/proc/{process.process.pid}/cmdline", "rb") as cmdline:
        return cmdline.read().split(b"\0")[0].decode()


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_the_process_title_follows_proc_title_template(kind, request):
    start = start_needletail if kind == "needletail" else start_redis
    server = start("--bind", "127.0.0.1")
    request.addfinalizer(server.stop)
    program = server.process.args[0]
    assert process_title(server) == f"{program} 127.0.0.1:{server.port}"
    client = RawClient(server.port)
    for template in ("{title}", "{bogus}", "", "{title", "{server-mode}"):
        assert client.command("CONFIG", "SET", "proc-title-template", template) == (
            b"-ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - "
            b"template format is invalid or contains unknown variables\r\n")
    assert client.command("CONFIG", "SET", "proc-title-template", " {{{port}} {title} ") == b"+OK\r\n"
    assert process_title(server) == f"{{{server.port}}} {program}"[:len(" ".join(server.process.args))]
    client.close()


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_set_proc_title_no_leaves_the_command_line(kind, request):
    start = start_needletail if kind == "needletail" else start_redis
    server = start("--set-proc-title", "no")
    request.addfinalizer(server.stop)
    with open(f"/proc/{server.process.pid}/cmdline", "rb") as cmdline:
        assert cmdline.read().split(b"\0")[:-1] == [a.encode() for a in server.process.args]


@pytest.mark.parametrize("kind", ["needletail", "redis"])
def test_dynamic_hz_raises_the_cron_rate_with_many_clients(kind, request):
    """With more than 200 clients per tick the cron runs twice as often, and again (INFO hz),
    unless dynamic-hz is off; configured_hz stays as set."""
    start = start_needletail if kind == "needletail" else start_redis
    server = start("--hz", "1")
    request.addfinalizer(server.stop)
    client = RawClient(server.port)

    def hz():
        info = client.command("INFO", "server").decode()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        return int(fields["hz"]), int(fields["configured_hz"])
    others = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(450)]
    try:
        deadline = time.time() + 10
        while hz() != (4, 1) and time.time() < deadline:
            time.sleep(0.1)
        assert hz() == (4, 1)
        assert client.command("CONFIG", "SET", "dynamic-hz", "no") == b"+OK\r\n"
        deadline = time.time() + 10
        while hz() != (1, 1) and time.time() < deadline:
            time.sleep(0.1)
        assert hz() == (1, 1)
    finally:
        for other in others:
            other.close()
        client.close()
