#!/usr/bin/env python3
"""Protocol fuzzer: malformed RESP on fresh connections, against the real binary and, side by
side, a real redis-server. Each input goes to a new connection of each server; the bytes each
replies (until it closes the connection or stays silent) and whether it closed must be the same,
and Needletail must still answer PING on another connection within 2 s.

    tests/fuzz/protocol.py [--seed N] [--seconds S | --count N] [--threads T]

The inputs are a fixed list of hostile frames (negative and huge lengths, `*1048577`,
truncated frames, 1 MB inline lines, garbage after valid frames, HELLO with odd arguments),
then random mutations of valid requests, drawn from the seed."""
import argparse
import os
import random
import re
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from raw import RawClient  # noqa: E402
from servers import start_needletail, start_redis  # noqa: E402

# Requests whose replies depend neither on the connection, the clock, nor the order in which
# concurrent inputs run (a mutated write may change any key, so none reads one).
VALID = [
    [b"PING"], [b"PING", b"hello"], [b"ECHO", b"x"], [b"SET", b"k", b"v"], [b"MSET", b"a", b"1", b"b", b"2"],
    [b"HELLO", b"2"], [b"CLIENT", b"SETNAME", b"x"], [b"SELECT", b"0"], [b"ECHO", b"a b\r\nc"],
]
# Inputs sent at once, each on its own connections (most wait for bytes that never come).
BATCH = 16

FIXED = [
    b"*-5\r\n", b"*-1\r\n*1\r\n$4\r\nPING\r\n", b"*1048577\r\n", b"*1048576\r\n", b"*2147483648\r\n",
    b"*99999999999999999999\r\n", b"*abc\r\n", b"*1\r\n$-2\r\n", b"*1\r\n$-1\r\n", b"*1\r\n$536870913\r\n",
    b"*1\r\n$536870912\r\n", b"*1\r\n$99999999999999999999\r\n", b"*1\r\n$abc\r\n", b"*1\r\n+PING\r\n",
    b"*1\r\n:4\r\n", b"*2\r\n$4\r\nPING\r\n", b"*1\r\n$4\r\nPI", b"*1\r\n$4\r\nPINGxx\r\n", b"*1\r\n$4\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n", b"*1\r\n$4\r\nPING\r\n\xff\xfe garbage \x00\r\n",
    b"*1\r\n$4\r\nPING\r\n*x\r\n", b"*1\r\n$4\r\nPING\r\n$4\r\nPING\r\n", b"PING\r\n\x00\x01\x02\r\n",
    b"x" * (1 << 20), b"x" * (1 << 20) + b"\r\n", b"*" + b"1" * 70000, b"*1\r\n$" + b"1" * 70000,
    b"PING \"unbalanced\r\n", b"PING 'a'b\r\n", b"SET \"a\"b c\r\n", b"ECHO \"\\x41\\x4\"\r\n", b"\r\n\r\n\n\nPING\r\n",
    b"HELLO\r\n", b"HELLO 3\r\n", b"HELLO 4\r\n", b"HELLO x\r\n", b"HELLO 3 AUTH\r\n", b"HELLO 3 AUTH default\r\n",
    b"HELLO 3 AUTH default wrong\r\n", b"HELLO 2 SETNAME\r\n", b"HELLO 2 SETNAME \"a b\"\r\n", b"HELLO 2 BOGUS x\r\n",
    b"HELLO -1\r\n", b"HELLO 9223372036854775808\r\n", b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$0\r\n\r\n", b"*2\r\n$0\r\n\r\n$0\r\n\r\n", b"\x00\r\n", b"*\r\n", b"$4\r\nPING\r\n", b"*0\r\n",
    b"*1\r\n$04\r\nPING\r\n", b"*01\r\n$4\r\nPING\r\n", b"*+1\r\n$4\r\nPING\r\n", b"*1\r\n$+4\r\nPING\r\n",
    b"*1\r\n$ 4\r\nPING\r\n", b"*1\n$4\nPING\n", b"*1\r\r$4\r\rPING\r\r", b"QUIT\r\nPING\r\n",
    b"*1\r\n\xff4\r\nPING\r\n", b"*1\r\n\xc3\xa94\r\nPING\r\n", b"HELLO 2 \xd9\xff\r\n",
    b"*3\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$3\r\n\xd9\x00z\r\n",
]


def encode(argv):
    return b"".join([b"*%d\r\n" % len(argv)] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in argv])


def exchange(port, data, silence=0.3):
    """Sends `data` on a new connection; returns what came back and whether the server closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        try:
            connection.sendall(data)
        except OSError:
            pass
        received = b""
        connection.settimeout(silence)
        while True:
            try:
                chunk = connection.recv(1 << 16)
            except socket.timeout:
                return received, False
            except OSError:
                return received, True
            if not chunk:
                return received, True
            received += chunk


class Fuzzer:
    def __init__(self, seed, ours, theirs):
        self.random = random.Random(seed)
        self.ours, self.theirs = ours, theirs
        self.checker = None

    def mutate(self, data):
        data = bytearray(data)
        for _ in range(self.random.randint(1, 3)):
            roll = self.random.random()
            position = self.random.randrange(len(data) + 1)
            if roll < 0.3 and data:
                data[min(position, len(data) - 1)] = self.random.getrandbits(8)
            elif roll < 0.5 and data:
                del data[min(position, len(data) - 1)]
            elif roll < 0.7:
                data[position:position] = self.random.choice([b"\r\n", b"*", b"$", b"-", b"0", b"9" * 12, b"\x00"])
            elif roll < 0.85:
                # A length replaced by an extreme one.
                digits = [i for i, byte in enumerate(data) if 48 <= byte <= 57]
                if digits:
                    at = self.random.choice(digits)
                    data[at:at + 1] = self.random.choice([b"-1", b"-2", b"0", b"2147483648", b"536870913", b"99999999999999999999"])
            else:
                data = data[:position]
        return bytes(data)

    def inputs(self):
        yield from FIXED
        while True:
            requests = [encode(self.random.choice(VALID)) for _ in range(self.random.randint(1, 3))]
            if self.random.random() < 0.2:
                requests = [b" ".join(self.random.choice(VALID)) + b"\r\n"]
            yield self.mutate(b"".join(requests))

    def alive(self):
        for _ in range(2):
            try:
                if self.checker is None:
                    self.checker = RawClient(self.ours.port)
                    self.checker.sock.settimeout(2)
                return self.checker.command("PING") == b"+PONG\r\n"
            except (OSError, ConnectionError, ValueError):
                self.checker = None
                if not self.ours.alive():
                    return False
        return False

    def run(self, deadline, count):
        executed = 0
        inputs = self.inputs()
        with ThreadPoolExecutor(2 * BATCH) as pool:
            while (count is None or executed < count) and (deadline is None or time.time() < deadline):
                batch = [next(inputs) for _ in range(BATCH if count is None else min(BATCH, count - executed))]
                exchanges = [(pool.submit(exchange, self.ours.port, data), pool.submit(exchange, self.theirs.port, data))
                             for data in batch]
                for data, (ours, theirs) in zip(batch, exchanges):
                    executed += 1
                    ours, theirs = normalized(ours.result()), normalized(theirs.result())
                    if ours != theirs:
                        return executed, data, "the reply differs from redis-server's", (ours, theirs)
                if not self.alive():
                    return executed, b" | ".join(batch), "the server died or stopped answering PING within 2 s (one of these inputs)", None
        return executed, None, None, None


def normalized(outcome):
    """The exchange with the parts that differ between any two servers (HELLO's client id) blanked."""
    received, closed = outcome
    return re.sub(rb"(\$2\r\nid\r\n):\d+", rb"\1:<id>", received), closed


def show(data):
    return repr(data if len(data) < 300 else data[:150] + b"..." + data[-50:]) + f" ({len(data)} bytes)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--count", type=int, default=None, help="run exactly this many inputs (replay)")
    parser.add_argument("--threads", type=int, default=2)
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"protocol fuzzer: seed {seed}", flush=True)
    ours = start_needletail("--threads", str(options.threads))
    theirs = start_redis()
    try:
        fuzzer = Fuzzer(seed, ours, theirs)
        deadline = None if options.count is not None else time.time() + options.seconds
        executed, data, problem, replies = fuzzer.run(deadline, options.count)
        if data is None:
            print(f"protocol fuzzer: {executed} inputs, replies as redis-server's, server alive (seed {seed})")
            return 0
        print(f"protocol fuzzer: input {executed} of seed {seed}: {problem}")
        print("    sent:        " + show(data))
        if replies:
            for name, (received, closed) in zip(("needletail", "redis-server"), replies):
                print(f"    {name + ':':13}{show(received)}, {'closed' if closed else 'left open'}")
        print(f"replay: tests/fuzz/protocol.py --seed {seed} --count {executed}")
        if not ours.alive():
            print("\n".join(ours.log().splitlines()[-20:]))
        return 1
    finally:
        ours.stop()
        theirs.stop()


if __name__ == "__main__":
    sys.exit(main())
