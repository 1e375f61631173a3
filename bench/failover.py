#!/usr/bin/env python3
"""How long writes stop when the master changes, Needletail against redis-server, in
alternation (see ../shared/BENCHMARKING.md): a master, two replicas, three redis-sentinel and
a sentinel-aware redis-py client writing without pause (tests/compat/switchover.py). Every
acknowledged write is then looked up on the new master.

    bench/failover.py [--rounds 3] [--method failover|sentinel|crash]

"failover": FAILOVER on the master, then the sentinels told of the new master; "sentinel":
CLIENT PAUSE WRITE, SENTINEL FAILOVER, the old master demoted, CLIENT UNPAUSE (for both, the
window is the longest time between two acknowledged writes); "crash": kill -9 of the master,
down-after-milliseconds 1000, every write followed by WAIT 1 100 (the window is from the kill
to the next write accepted; acknowledged means counted by WAIT)."""
import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "compat"))
import switchover  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--method", choices=["failover", "sentinel", "crash"])
    args = parser.parse_args()
    if not os.path.exists(os.path.join(ROOT, ".build/release/needletail")):
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True)
    os.environ.setdefault("NEEDLETAIL_BINARY", os.path.join(ROOT, ".build/release/needletail"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(f"writes stopped by a change of master, Needletail / Redis, {args.rounds} rounds, commit {commit}")
    print("| runbook | Needletail window | Redis window | ratio median (min–max) | acknowledged writes lost |\n|---|---|---|---|---|")
    for method in [args.method] if args.method else ["failover", "sentinel", "crash"]:
        windows = {"needletail": [], "redis": []}
        lost = {"needletail": 0, "redis": 0}
        for _ in range(args.rounds):
            for kind in ("needletail", "redis"):
                if method == "crash":
                    window, acknowledged, missing = switchover.crash(kind)
                else:
                    window, acknowledged, missing = switchover.run(kind, method)
                windows[kind].append(window)
                lost[kind] += len(missing)
                print(f"  {method} {kind}: window {window * 1000:.0f} ms, {acknowledged} acknowledged, {len(missing)} lost",
                      file=sys.stderr, flush=True)
        ratios = [n / r for n, r in zip(windows["needletail"], windows["redis"])]
        print(f"| {method} | {statistics.median(windows['needletail']) * 1000:.0f} ms | "
              f"{statistics.median(windows['redis']) * 1000:.0f} ms | {statistics.median(ratios):.3f} "
              f"({min(ratios):.3f}–{max(ratios):.3f}) | Needletail {lost['needletail']}, Redis {lost['redis']} |", flush=True)


if __name__ == "__main__":
    main()
