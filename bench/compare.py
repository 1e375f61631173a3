#!/usr/bin/env python3
"""Needletail against redis-server on this machine, in alternation (see ../shared/BENCHMARKING.md).

Every figure is a ratio Needletail / Redis per round; the table shows the median and min-max
over the rounds. Throughput above 1 is better for Needletail; latency, CPU per op, bytes per
key and the worst request below 1 are better.

    bench/compare.py                       # everything, threads 1, 3 rounds
    bench/compare.py --threads 2 --rounds 5
    bench/compare.py --only throughput     # or: memory, collections, growth, expiry, eviction, snapshot, replication
"""
import argparse, csv, io, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = ["set", "get", "incr", "mset"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, argv_for_port):
        self.name, self.dir, self.port = name, tempfile.mkdtemp(prefix=f"bench-{name}-"), free_port()
        self.argv = argv = argv_for_port(self.port, self.dir)
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.process = subprocess.Popen(argv, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def cpu_seconds(self):
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=120).stdout

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def needletail(threads):
    binary = os.path.join(ROOT, ".build/release/needletail")
    return lambda port, d: [binary, "--port", str(port), "--dir", d, "--save", "", "--threads", str(threads)]


def redis():
    return lambda port, d: ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no"]


def benchmark(server, tests, pipeline, requests, keyspace=100000, clients=50, size=3):
    """redis-benchmark --csv; returns {test: row} and the server CPU seconds per op."""
    before = server.cpu_seconds()
    out = subprocess.run(["timeout", "300", "redis-benchmark", "-p", str(server.port), "-c", str(clients), "-n", str(requests),
                          "-r", str(keyspace), "-d", str(size), "-P", str(pipeline), "-t", ",".join(tests), "--csv"],
                         capture_output=True, text=True).stdout
    cpu = server.cpu_seconds() - before
    rows = {row["test"].split(" ")[0].lower(): row for row in csv.DictReader(io.StringIO(out))}
    return rows, cpu / (requests * len(tests))


def ratio_line(name, values, fmt="{:.2f}"):
    values = [v for v in values if v is not None]
    if not values:
        return f"| {name} | n/a | |"
    return f"| {name} | {fmt.format(statistics.median(values))} | {fmt.format(min(values))}–{fmt.format(max(values))} |"


def throughput(threads, rounds, requests):
    lines = []
    for pipeline in (16, 1):
        figures = {}
        for _ in range(rounds):
            results = {}
            for name, factory in (("needletail", needletail(threads)), ("redis", redis())):
                server = Server(name, factory)
                try:
                    results[name] = benchmark(server, TESTS, pipeline, requests)
                finally:
                    server.stop()
            (nt_rows, nt_cpu), (rd_rows, rd_cpu) = results["needletail"], results["redis"]
            for test in TESTS:
                if test not in nt_rows or test not in rd_rows:
                    continue
                n, r = nt_rows[test], rd_rows[test]
                figures.setdefault(f"P{pipeline} {test.upper()} throughput", []).append(float(n["rps"]) / float(r["rps"]))
                figures.setdefault(f"P{pipeline} {test.upper()} p50", []).append(float(n["p50_latency_ms"]) / max(float(r["p50_latency_ms"]), 0.001))
                figures.setdefault(f"P{pipeline} {test.upper()} p99", []).append(float(n["p99_latency_ms"]) / max(float(r["p99_latency_ms"]), 0.001))
            figures.setdefault(f"P{pipeline} server CPU per op", []).append(nt_cpu / rd_cpu)
            print(f"  round P{pipeline}: needletail {nt_cpu * 1e6:.2f} µs/op, redis {rd_cpu * 1e6:.2f} µs/op", file=sys.stderr)
        lines += [ratio_line(name, values) for name, values in figures.items()]
    return lines


def load_keys(server, count):
    """count keys `key:%012d` with 32-byte values through redis-cli --pipe."""
    value = "v" * 32
    payload = "".join(f"*3\r\n$3\r\nSET\r\n$16\r\nkey:{i:012d}\r\n$32\r\n{value}\r\n" for i in range(count))
    subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], input=payload, capture_output=True, text=True, timeout=600)


def alternate(threads, rounds, measure):
    """Runs `measure(name, server)` on a fresh Needletail, then a fresh Redis, `rounds` times;
    returns each side's figures."""
    figures = {"needletail": [], "redis": []}
    for _ in range(rounds):
        for name, factory in (("needletail", needletail(threads)), ("redis", redis())):
            server = Server(name, factory)
            try:
                figures[name].append(measure(name, server))
            finally:
                server.stop()
    return figures


def ratios(figures, pick=lambda figure: figure):
    """Needletail / Redis per round, of the figure `pick` takes from each measurement."""
    return [pick(n) / pick(r) for n, r in zip(figures["needletail"], figures["redis"])]


def rss_growth(server, load):
    """RSS added by `load(server)`, measured after the allocator settles."""
    time.sleep(0.3)
    before = server.rss()
    load(server)
    time.sleep(0.5)
    return server.rss() - before


def memory(threads, rounds, keys):
    def per_key(name, server):
        growth = rss_growth(server, lambda s: load_keys(s, keys))
        assert server.cli("DBSIZE").strip() == str(keys), f"{name} did not load every key"
        return growth / keys
    figures = alternate(threads, rounds, per_key)
    return [ratio_line(f"bytes per key, {keys} keys (Needletail {statistics.median(figures['needletail']):.0f} B, "
                       f"Redis {statistics.median(figures['redis']):.0f} B)", ratios(figures))]


COLLECTIONS = {
    # type: (command adding elements, command counting them, element arguments for element i)
    "hash": ("HSET", "HLEN", lambda i: (f"field:{i:010d}", f"value:{i:010d}")),
    "set": ("SADD", "SCARD", lambda i: (f"member:{i:09d}",)),
    "sorted set": ("ZADD", "ZCARD", lambda i: (str(i % 100_000), f"member:{i:09d}")),
}


def load_collection(server, command, element, count, per_command=100):
    """One key holding `count` elements, added `per_command` at a time through redis-cli --pipe."""
    parts = []
    for start in range(0, count, per_command):
        args = [command, "big"] + [a for i in range(start, min(start + per_command, count)) for a in element(i)]
        parts.append(f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args))
    subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], input="".join(parts), capture_output=True, text=True, timeout=600)


def collections(threads, rounds, elements):
    lines = []
    for kind, (command, size_command, element) in COLLECTIONS.items():
        def per_element(name, server):
            growth = rss_growth(server, lambda s: load_collection(s, command, element, elements))
            size = server.cli(size_command, "big").strip()
            assert size == str(elements), f"{name} holds {size} {kind} elements"
            return growth / elements
        figures = alternate(threads, rounds, per_element)
        lines.append(ratio_line(f"bytes per element, one {elements:,}-element {kind} (Needletail "
                                f"{statistics.median(figures['needletail']):.0f} B, Redis {statistics.median(figures['redis']):.0f} B)", ratios(figures)))
    return lines


def growth(threads, rounds, requests):
    def worst(name, server):
        rows, _ = benchmark(server, ["set"], 16, requests, keyspace=1_000_000_000)
        return float(rows["set"]["max_latency_ms"])
    figures = alternate(threads, rounds, worst)
    return [ratio_line(f"worst request growing to {requests // 1_000_000}M keys (Needletail {statistics.median(figures['needletail']):.1f} ms, "
                       f"Redis {statistics.median(figures['redis']):.1f} ms)", ratios(figures))]


def expiry(threads, rounds, keys):
    """Seconds from the moment `keys` keys expire together until the active expiry cycle has
    deleted them all (nothing reads them meanwhile)."""
    def reclaim(name, server):
        deadline = time.time() + 10
        at = str(int(deadline * 1000))
        payload = "".join(f"*5\r\n$3\r\nSET\r\n$16\r\nkey:{i:012d}\r\n$1\r\nv\r\n$4\r\nPXAT\r\n${len(at)}\r\n{at}\r\n"
                          for i in range(keys))
        subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], input=payload, capture_output=True, text=True, timeout=600)
        assert server.cli("DBSIZE").strip() == str(keys), f"{name} did not load every key"
        time.sleep(max(0, deadline - time.time()))
        while server.cli("DBSIZE").strip() != "0":
            assert time.time() < deadline + 120, f"{name} kept expired keys for two minutes"
            time.sleep(0.02)
        return time.time() - deadline
    figures = alternate(threads, rounds, reclaim)
    return [ratio_line(f"active expiry of {keys:,} keys expiring together (Needletail {statistics.median(figures['needletail']):.1f} s, "
                       f"Redis {statistics.median(figures['redis']):.1f} s)", ratios(figures))]


def eviction(threads, rounds, requests):
    """P16 SET of 100-byte values over 1M distinct keys under a 100 MB cap, once the cap is
    reached (every measured SET makes room for itself), per eviction policy."""
    lines = []
    for policy in ("allkeys-lru", "allkeys-lfu", "allkeys-random"):
        def evicting(name, server):
            server.cli("CONFIG", "SET", "maxmemory", "100mb")
            server.cli("CONFIG", "SET", "maxmemory-policy", policy)
            benchmark(server, ["set"], 16, 1_000_000, keyspace=1_000_000, size=100)  # fills to the cap
            evicted = int(server.cli("INFO", "stats").split("evicted_keys:")[1].split()[0])
            rows, cpu = benchmark(server, ["set"], 16, requests, keyspace=1_000_000, size=100)
            evicted = int(server.cli("INFO", "stats").split("evicted_keys:")[1].split()[0]) - evicted
            used = int(server.cli("INFO", "memory").split("used_memory:")[1].split()[0])
            print(f"  {policy} {name}: {float(rows['set']['rps']):.0f} rps, {cpu * 1e6:.2f} µs/op, {evicted} evicted, "
                  f"used_memory {used / (1 << 20):.1f} MB, {server.cli('DBSIZE').strip()} keys", file=sys.stderr)
            return float(rows["set"]["rps"]), cpu
        figures = alternate(threads, rounds, evicting)
        lines.append(ratio_line(f"P16 SET throughput evicting, {policy}", ratios(figures, lambda f: f[0])))
        lines.append(ratio_line(f"P16 SET server CPU per op evicting, {policy}", ratios(figures, lambda f: f[1])))
    return lines


def pss_bytes(pid):
    """Proportional set size of `pid` and its children (a forked saver's shared pages counted once)."""
    total = 0
    pids = [pid] + [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    for each in pids:
        try:
            for line in open(f"/proc/{each}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def snapshot(threads, rounds, keys):
    """BGSAVE of `keys` keys while 50 clients SET over them: the longest request of that load,
    peak memory during the save against idle (PSS, so a fork's shared pages count once), and
    the time to save and to load the file."""
    def measure(name, server):
        load_keys(server, keys)
        time.sleep(0.5)
        idle = pss_bytes(server.process.pid)
        load = subprocess.Popen(["redis-benchmark", "-p", str(server.port), "-c", "50", "-n", "400000", "-r", str(keys),
                                 "-t", "set", "--csv"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1)
        start = time.time()
        server.cli("BGSAVE")
        peak = idle
        while "rdb_bgsave_in_progress:1" in server.cli("INFO", "persistence"):
            peak = max(peak, pss_bytes(server.process.pid))
            time.sleep(0.01)
        saved = time.time() - start
        out, _ = load.communicate()
        worst = max((float(row["max_latency_ms"]) for row in csv.DictReader(io.StringIO(out))), default=None)
        # Load time: the server's own "DB loaded from disk" line on a restart over the file.
        server.cli("SHUTDOWN", "NOSAVE")
        server.process.wait(30)
        log = os.path.join(server.dir, "log")
        restarted = subprocess.Popen(server.argv, cwd=server.dir, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        loaded = None
        for _ in range(600):
            text = open(log).read()
            if "DB loaded from disk:" in text:
                loaded = float(text.split("DB loaded from disk:")[1].split()[0])
                break
            time.sleep(0.05)
        restarted.terminate()
        restarted.wait(30)
        print(f"  {name}: worst request {worst} ms, peak {peak / idle:.2f}x idle ({idle >> 20} MB), save {saved:.2f} s, load {loaded} s",
              file=sys.stderr)
        return worst, peak / idle, saved, loaded
    figures = alternate(threads, rounds, measure)
    median = lambda side, i: statistics.median(f[i] for f in figures[side])
    return [
        ratio_line(f"worst request during BGSAVE of {keys:,} keys under SET load (Needletail {median('needletail', 0):.1f} ms, "
                   f"Redis {median('redis', 0):.1f} ms)", ratios(figures, lambda f: f[0])),
        ratio_line(f"peak memory during BGSAVE / idle (Needletail {median('needletail', 1):.2f}x, Redis {median('redis', 1):.2f}x)",
                   ratios(figures, lambda f: f[1])),
        ratio_line(f"BGSAVE time (Needletail {median('needletail', 2):.2f} s, Redis {median('redis', 2):.2f} s)",
                   ratios(figures, lambda f: f[2])),
        ratio_line(f"load time (Needletail {median('needletail', 3):.2f} s, Redis {median('redis', 3):.2f} s)",
                   ratios(figures, lambda f: f[3])),
    ]


def replication(threads, rounds, keys, requests):
    """A master with one replica of the same kind, full sync at once (diskless delay 0): the time
    from REPLICAOF to the link up with `keys` keys, then P16 SET throughput on the master with
    the replica attached, and how far the replica trails meanwhile (the time it takes to apply
    what the master had propagated at a moment, sampled)."""
    def measure(name, master):
        load_keys(master, keys)
        master.cli("CONFIG", "SET", "repl-diskless-sync-delay", "0")
        replica = Server(name + "-replica", needletail(threads) if name == "needletail" else redis())
        try:
            start = time.time()
            replica.cli("REPLICAOF", "127.0.0.1", str(master.port))
            while "master_link_status:up" not in replica.cli("INFO", "replication"):
                time.sleep(0.005)
            synced = time.time() - start
            load = subprocess.Popen(["redis-benchmark", "-p", str(master.port), "-c", "50", "-n", str(requests), "-r", "100000",
                                     "-d", "3", "-P", "16", "-t", "set", "--csv"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            offset_of = lambda server, field: int(server.cli("INFO", "replication").split(field + ":")[1].split()[0])
            lags = []
            while load.poll() is None:
                # How long the replica takes to apply what the master had propagated at a moment.
                target, start = offset_of(master, "master_repl_offset"), time.time()
                while offset_of(replica, "slave_repl_offset") < target:
                    time.sleep(0.001)
                lags.append((time.time() - start) * 1000)
                time.sleep(0.05)
            out, _ = load.communicate()
            rps = float(next(csv.DictReader(io.StringIO(out)))["rps"])
            lag = statistics.median(lags) if lags else 0
        finally:
            replica.stop()
        print(f"  {name}: full sync {synced:.2f} s, P16 SET {rps:,.0f}/s with a replica, median lag {lag:.1f} ms", file=sys.stderr)
        return synced, rps, lag
    figures = alternate(threads, rounds, measure)
    median = lambda side, i: statistics.median(f[i] for f in figures[side])
    return [
        ratio_line(f"full sync of {keys:,} keys, REPLICAOF to link up (Needletail {median('needletail', 0):.2f} s, "
                   f"Redis {median('redis', 0):.2f} s)", ratios(figures, lambda f: f[0])),
        ratio_line(f"P16 SET throughput with one replica (Needletail {median('needletail', 1):,.0f}/s, "
                   f"Redis {median('redis', 1):,.0f}/s)", ratios(figures, lambda f: f[1])),
        ratio_line(f"replica lag under that load, median (Needletail {median('needletail', 2):.1f} ms, "
                   f"Redis {median('redis', 2):.1f} ms)", ratios(figures, lambda f: max(f[2], 0.1))),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=500000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["throughput", "memory", "collections", "growth", "expiry", "eviction", "snapshot", "replication"])
    args = parser.parse_args()
    if not os.path.exists(os.path.join(ROOT, ".build/release/needletail")):
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True)
    print(f"Needletail / Redis {subprocess.run(['redis-server', '--version'], capture_output=True, text=True).stdout.split()[2][2:]}, "
          f"threads {args.threads}, {args.rounds} rounds, commit {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()}")
    print("| figure | median ratio | min–max |\n|---|---|---|")
    sections = [args.only] if args.only else ["throughput", "memory", "collections", "growth", "expiry", "eviction", "snapshot", "replication"]
    for section in sections:
        if section == "throughput":
            lines = throughput(args.threads, args.rounds, args.requests)
        elif section == "memory":
            lines = memory(args.threads, args.rounds, args.keys)
        elif section == "collections":
            lines = collections(args.threads, args.rounds, args.keys)
        elif section == "growth":
            lines = growth(args.threads, args.rounds, 2 * args.keys)
        elif section == "expiry":
            lines = expiry(args.threads, args.rounds, args.keys // 2)
        elif section == "eviction":
            lines = eviction(args.threads, args.rounds, args.requests)
        elif section == "snapshot":
            lines = snapshot(args.threads, args.rounds, args.keys)
        else:
            lines = replication(args.threads, args.rounds, args.keys, 2 * args.requests)
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
