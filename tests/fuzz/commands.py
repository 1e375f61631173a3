#!/usr/bin/env python3
"""Command fuzzer: random commands drawn from the server's own command table, with arguments
drawn from extremes, against the real binary. After every command the server must still
answer PING on a second connection within 2 s, and the command's connection must answer a
PING sent right behind it (one reply per command: an extra reply shifts every later one).

    tests/fuzz/commands.py [--seed N] [--seconds S | --count N] [--threads T]

Arguments follow each command's argument grammar (from a local redis-server's COMMAND DOCS,
when one is installed) with values drawn from extremes, or are drawn at random. The command
sequence depends only on the seed (never on the replies), so a failure is replayed with the
seed and count it prints. On a crash it prints the command that caused it
and the end of the server's log (the fatal-error line)."""
import argparse
import os
import random
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from raw import RawClient  # noqa: E402
from servers import start_needletail, start_redis  # noqa: E402

EXTREMES = [b"-9223372036854775808", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
            b"-1", b"0", b"1", b"4294967296", b"-4294967296", b"2147483648", b"4611686018427387904",
            b"-4611686018427387904", b"9223372036854770000", b"-9223372036854770000", b"nan", b"inf", b"-inf",
            b"+inf", b"1e308", b"-1e308", b"1e-308", b"0.5", b"-0", b"(1", b"[a", b"-", b"+", b"", b"*", b"?",
            b"18446744073709551615", b"99999999999999999999999"]

# Redis's argument keywords, for commands whose COMMAND DOCS lists no arguments.
KEYWORDS = [b"LEFT", b"RIGHT", b"COUNT", b"WITHSCORES", b"WITHVALUES", b"LIMIT", b"STORE", b"BY", b"GET",
            b"ASC", b"DESC", b"ALPHA", b"MATCH", b"TYPE", b"EX", b"PX", b"EXAT", b"PXAT", b"KEEPTTL", b"PERSIST",
            b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR", b"REV", b"BYSCORE", b"BYLEX", b"WEIGHTS", b"AGGREGATE",
            b"SUM", b"MIN", b"MAX", b"IDX", b"LEN", b"MINMATCHLEN", b"WITHMATCHLEN", b"BEFORE", b"AFTER", b"RANK",
            b"MAXLEN", b"REPLACE", b"DB", b"ABSTTL", b"IDLETIME", b"FREQ", b"OVERFLOW", b"WRAP", b"SAT", b"FAIL",
            b"SET", b"INCRBY", b"u8", b"i64", b"u63", b"i1", b"#0", b"BIT", b"BYTE", b"AND", b"OR", b"XOR", b"NOT",
            b"SYNC", b"ASYNC", b"ENCODING", b"REFCOUNT", b"HELP", b"ON", b"OFF", b"YES", b"NO", b"ID", b"ADDR",
            b"LADDR", b"SKIPME", b"USER", b"NORMAL", b"PUBSUB", b"AUTH", b"SETNAME", b"FILTERBY", b"MODULE",
            b"ACLCAT", b"PATTERN", b"REDIRECT", b"PREFIX", b"BCAST", b"OPTIN", b"OPTOUT", b"NOLOOP", b"TIMEOUT",
            b"ERROR", b"SAMPLES", b"NOW", b"FORCE", b"ABORT", b"CHANNELS", b"NUMSUB", b"NUMPAT",
            # DEBUG's subcommands (COMMAND DOCS lists none).
            b"OBJECT", b"DIGEST", b"DIGEST-VALUE", b"PROTOCOL", b"POPULATE", b"SET-ACTIVE-EXPIRE", b"LOG", b"RELOAD",
            b"MERGE", b"NOFLUSH", b"NOSAVE", b"SET-SKIP-CHECKSUM-VALIDATION", b"SCHEDULE"]

# Commands whose effect would stop the run rather than test the server: they end the process,
# hold every connection (PAUSE), change the replies of this connection for good, or turn the
# server into something else.
EXCLUDED = {b"shutdown", b"monitor", b"sync", b"psync", b"replicaof", b"slaveof", b"failover", b"quit",
            b"bgrewriteaof"}
EXCLUDED_SUBCOMMANDS = {(b"client", b"pause"), (b"client", b"reply"), (b"client", b"kill"), (b"config", b"set"),
                        (b"config", b"rewrite"), (b"debug", b"sleep"), (b"debug", b"segfault"), (b"debug", b"panic"),
                        (b"debug", b"restart"), (b"debug", b"crash-and-recover"), (b"debug", b"assert"),
                        (b"debug", b"oom"), (b"debug", b"loadaof")}

SETUP = [
    [b"SET", b"str:emb", b"hello"], [b"SET", b"str:int", b"12345"], [b"SET", b"str:raw", b"x" * 100],
    [b"RPUSH", b"list:small", b"a", b"b", b"c", b"1", b"2"],
    [b"RPUSH", b"list:big"] + [b"e%d" % i for i in range(300)],
    [b"HSET", b"hash:small", b"f", b"v", b"n", b"1"],
    [b"HSET", b"hash:big"] + [x for i in range(200) for x in (b"f%d" % i, b"v%d" % i)],
    [b"SADD", b"set:int", b"1", b"2", b"3"], [b"SADD", b"set:small", b"a", b"b", b"c"],
    [b"SADD", b"set:big"] + [b"m%d" % i for i in range(300)],
    [b"ZADD", b"zset:small", b"1", b"a", b"2", b"b", b"3", b"c"],
    [b"ZADD", b"zset:big"] + [x for i in range(300) for x in (b"%d" % i, b"m%d" % i)],
    [b"SET", b"str:ttl", b"v", b"PX", b"100000000"],
    [b"SETBIT", b"str:bits", b"100", b"1"],
]
KEYS = [command[1] for command in SETUP] + [b"missing", b"missing:2"]
TRACE = os.environ.get("FUZZ_TRACE") == "1"
SUBSCRIPTION_REPLIES = [b"subscribe", b"psubscribe", b"ssubscribe", b"unsubscribe", b"punsubscribe", b"sunsubscribe"]


class Fuzzer:
    def __init__(self, seed, server, grammar, history=5):
        self.history = history
        self.random = random.Random(seed)
        self.server = server
        self.grammar = grammar
        self.client = None
        self.checker = None
        # Redis quirk kept by Needletail: (un)subscribing to N channels inside MULTI puts N
        # replies in EXEC's array, which then holds more replies than commands.
        self.in_multi = False
        self.multi_subscribes = False
        self.pings = 0
        self.commands = self.read_table()

    def connect(self):
        client = RawClient(self.server.port)
        client.sock.settimeout(0.5)
        return client

    def read_table(self):
        """(name, arity, subcommand names, tokens) for every command, from COMMAND and COMMAND DOCS."""
        client = self.connect()
        client.sock.settimeout(10)
        table = parse(client.command("COMMAND"))
        docs = parse(client.command("COMMAND", "DOCS"))
        client.close()
        tokens = {}
        for name, doc in zip(docs[0::2], docs[1::2]):
            found = []
            collect_tokens(doc, found)
            tokens[name.lower()] = found
        commands = []
        for entry in table:
            name, arity = entry[0].lower(), entry[1]
            if name in EXCLUDED:
                continue
            subcommands = [(sub[0].split(b"|")[1].lower(), sub[1], key_positions(sub)) for sub in (entry[9] if len(entry) > 9 else [])]
            subcommands = [s for s in subcommands if (name, s[0]) not in EXCLUDED_SUBCOMMANDS]
            commands.append((name, arity, subcommands, tokens.get(name, []), key_positions(entry)))
        commands.sort()
        return commands

    def argument(self, tokens, is_key=False):
        roll = self.random.random()
        if is_key and roll < 0.85:
            return self.random.choice(KEYS)
        if roll < 0.30:
            return self.random.choice(KEYS)
        if roll < 0.55:
            return self.random.choice(EXTREMES)
        if roll < 0.75:
            return self.random.choice(tokens or KEYWORDS) if self.random.random() < 0.7 else self.random.choice(KEYWORDS)
        if roll < 0.87:
            return str(self.random.randint(-3, 12)).encode()
        if roll < 0.92:
            return str(self.random.uniform(-1e6, 1e6)).encode()
        if roll < 0.96:
            return bytes(self.random.getrandbits(8) for _ in range(self.random.randint(1, 16)))
        if roll < 0.98:
            return b"z" * 100_000
        return b""

    def next_command(self):
        name, arity, subcommands, tokens, keys = self.random.choice(self.commands)
        # Blocking commands wait when their timeout is 0: drawn less often, they would slow the run.
        if name.startswith(b"b") and name not in (b"bitcount", b"bitfield", b"bitfield_ro", b"bitop", b"bitpos") \
                and self.random.random() < 0.8:
            name, arity, subcommands, tokens, keys = self.random.choice(self.commands)
        argv = [name]
        if subcommands:
            sub, arity, keys = self.random.choice(subcommands)
            argv.append(sub)
        grammar = self.grammar.get(b"|".join(argv))
        if grammar is not None and self.random.random() < 0.7:
            self.follow(grammar, argv, tokens)
            return argv
        wanted = abs(arity) if self.random.random() < 0.8 else self.random.randint(1, 8)
        if arity < 0 and self.random.random() < 0.6:
            wanted += self.random.randint(0, 5)
        while len(argv) < wanted:
            argv.append(self.argument(tokens, is_key=keys(len(argv), wanted)))
        return argv

    def follow(self, arguments, argv, tokens):
        """Appends arguments shaped by a COMMAND DOCS argument list, values drawn from extremes."""
        for argument in arguments:
            flags = argument.get(b"flags", [])
            if b"optional" in flags and self.random.random() < 0.5:
                continue
            repeats = self.random.choice([1, 1, 2, 3]) if b"multiple" in flags else 1
            for repeat in range(repeats):
                token = argument.get(b"token")
                if token is not None and (repeat == 0 or b"multiple_token" in flags):
                    argv.append(token)
                kind = argument.get(b"type")
                if kind == b"oneof":
                    self.follow([self.random.choice(argument[b"arguments"])], argv, tokens)
                elif kind == b"block":
                    self.follow(argument[b"arguments"], argv, tokens)
                elif kind == b"key":
                    argv.append(self.random.choice(KEYS))
                elif kind in (b"integer", b"unix-time", b"double"):
                    roll = self.random.random()
                    if roll < 0.4:
                        argv.append(self.random.choice(EXTREMES))
                    elif roll < 0.9 or kind != b"double":
                        argv.append(str(self.random.randint(-3, 12)).encode())
                    else:
                        argv.append(str(self.random.uniform(-1e6, 1e6)).encode())
                elif kind != b"pure-token":
                    argv.append(self.argument(tokens))

    def alive(self):
        """PING on the checker connection, answered within 2 s."""
        for attempt in range(2):
            try:
                if self.checker is None:
                    self.checker = self.connect()
                    self.checker.sock.settimeout(2)
                self.checker.command("PING")
                return True
            except (OSError, ConnectionError, ValueError):
                self.checker = None
                if not self.server.alive():
                    return False
        return False

    def run(self, deadline, count):
        executed = 0
        history = []
        while (count is None or executed < count) and (deadline is None or time.time() < deadline):
            if executed % 500 == 0:
                self.seed_keys()
            argv = self.next_command()
            executed += 1
            history = (history + [argv])[-self.history:]
            unexpected = None
            try:
                if self.client is None:
                    self.client = self.connect()
                unexpected = self.send_and_check(argv, executed)
            except (OSError, ConnectionError, ValueError):
                # Blocked, closed by the server, or a reply the parser cannot frame (RESP3
                # attributes): the next command gets a fresh connection.
                self.drop_client()
            if not self.alive():
                return executed, history, None
            if unexpected is not None:
                return executed, history, unexpected
        return executed, None, None

    def send_and_check(self, argv, executed):
        """Sends the command and a marked PING behind it; returns a description of the replies
        if they are not one reply to the command and one to the PING (nil when all is well).
        RESP3 pushes may come anywhere (a client's own PUBLISH delivers one before the reply),
        and Pub/Sub confirmations are one per channel."""
        self.pings += 1
        marker = b"check-%d" % self.pings
        self.client.sock.sendall(RawClient.encode(argv) + RawClient.encode([b"PING", marker]))
        name = argv[0].lower()
        if name in (b"exec", b"reset") and self.multi_subscribes:
            # Redis's quirk (see __init__): the replies of such an EXEC are not counted.
            self.in_multi = self.multi_subscribes = False
            while marker not in self.client.read_reply():
                pass
            return None
        # While the connection is (or enters) MULTI, the PING is queued: its +QUEUED is the
        # second reply; otherwise its marked reply ends the exchange.
        queues_ping = (self.in_multi and name not in (b"exec", b"discard", b"reset")) or name == b"multi"
        replies = []
        while True:
            reply = self.client.read_reply()
            if TRACE:
                print(executed, [a[:40] for a in argv], reply[:120])
            if reply.startswith(b">") or any(reply.startswith(b"*3\r\n$%d\r\n%s" % (len(kind), kind)) for kind in SUBSCRIPTION_REPLIES):
                continue
            replies.append(reply)
            if marker in reply or (queues_ping and len(replies) == 2):
                break
        if name == b"multi" and replies[0] == b"+OK\r\n":
            self.in_multi, self.multi_subscribes = True, False
        elif name in (b"exec", b"discard", b"reset"):
            self.in_multi = self.multi_subscribes = False
        elif self.in_multi and name.endswith(b"subscribe"):
            self.multi_subscribes = True
        # A (un)subscribe's replies are its confirmations: none is left once they are skipped.
        expected = (0, 1) if name.endswith(b"subscribe") else (1,)
        if len(replies) - 1 not in expected:
            return b" | ".join(r[:100] for r in replies)
        return None

    def drop_client(self):
        if self.client:
            self.client.close()
        self.client = None
        self.in_multi = self.multi_subscribes = False

    def seed_keys(self):
        self.drop_client()
        client = self.connect()
        client.sock.settimeout(10)
        client.command("FLUSHALL")
        for argv in SETUP:
            client.command(*argv)
        client.close()


def redis_grammar():
    """COMMAND DOCS argument lists by command name (`container|sub` for subcommands), read from
    a local redis-server; empty when none is installed."""
    if shutil.which("redis-server") is None:
        return {}
    server = start_redis()
    try:
        client = RawClient(server.port)
        docs = parse(client.command("COMMAND", "DOCS"))
        client.close()
    finally:
        server.stop()
    grammar = {}

    def add(name, doc):
        doc = as_map(doc)
        if b"arguments" in doc:
            grammar[name.lower()] = [as_argument(a) for a in doc[b"arguments"]]
        for sub_name, sub_doc in as_map(doc.get(b"subcommands", [])).items():
            add(sub_name, sub_doc)
    for name, doc in zip(docs[0::2], docs[1::2]):
        add(name, doc)
    return grammar


def as_map(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def as_argument(flat):
    argument = as_map(flat)
    if b"arguments" in argument:
        argument[b"arguments"] = [as_argument(a) for a in argument[b"arguments"]]
    return argument


def key_positions(entry):
    """Whether argument `position` of a request of `count` arguments is a key, from COMMAND's
    first/last/step (positions counted from the command name; subcommands count too)."""
    first, last, step = entry[3], entry[4], entry[5]

    def is_key(position, count):
        if first <= 0 or step <= 0:
            return False
        end = last if last >= 0 else count + last
        return first <= position <= end and (position - first) % step == 0
    return is_key


def fatal_error(log):
    """The server's fatal-error line and the first frames of the thread that crashed (the end
    of the log if there is none)."""
    lines = log.splitlines()
    found = [line for line in lines if "Fatal error" in line or "runtime failure" in line or "Program crashed" in line]
    for index, line in enumerate(lines):
        if line.rstrip().endswith("crashed:"):
            return "\n".join(found + lines[index:index + 12])
    return "\n".join(found or lines[-15:])


def parse(reply):
    """A RESP2 reply's bytes as nested Python lists, integers and bytes."""
    value, _ = parse_at(reply, 0)
    return value


def parse_at(data, position):
    end = data.index(b"\r\n", position)
    kind, header = data[position:position + 1], data[position + 1:end]
    after = end + 2
    if kind in (b"+", b"-"):
        return header, after
    if kind == b":":
        return int(header), after
    if kind == b"$":
        length = int(header)
        return (None, after) if length < 0 else (data[after:after + length], after + length + 2)
    if kind == b"*":
        items = []
        for _ in range(max(int(header), 0)):
            item, after = parse_at(data, after)
            items.append(item)
        return items, after
    raise ValueError(f"unexpected reply type {kind!r}")


def collect_tokens(doc, found):
    if isinstance(doc, list):
        for key, value in zip(doc[0::2], doc[1::2]):
            if key == b"token" and isinstance(value, bytes):
                found.append(value)
            else:
                collect_tokens(value, found)
        for item in doc:
            if isinstance(item, list):
                collect_tokens(item, found)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--count", type=int, default=None, help="run exactly this many commands (replay)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--history", type=int, default=5, help="how many commands to show before a failure")
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"command fuzzer: seed {seed}", flush=True)
    server = start_needletail("--enable-debug-command", "yes", "--threads", str(options.threads))
    try:
        fuzzer = Fuzzer(seed, server, redis_grammar(), options.history)
        deadline = None if options.count is not None else time.time() + options.seconds
        executed, failure, extra = fuzzer.run(deadline, options.count)
        if failure is None:
            print(f"command fuzzer: {executed} commands, server alive (seed {seed})")
            return 0
        if extra is not None:
            state = f"did not answer command {executed} of seed {seed} with exactly one reply ({extra[:300]!r})"
        else:
            state = ("crashed" if not server.alive() else "stopped answering PING within 2 s") + f" after command {executed} of seed {seed}"
        print(f"command fuzzer: the server {state}:")
        for argv in failure:
            print("    " + " ".join(repr(a)[2:-1] if len(a) < 200 else f"<{len(a)} bytes>" for a in argv))
        print(f"replay: tests/fuzz/commands.py --seed {seed} --count {executed}")
        print("server log:")
        print(fatal_error(server.log()))
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
