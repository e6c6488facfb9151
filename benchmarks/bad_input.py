"""Memory bounds on hostile input: peak RSS of the real CLI on one huge record, a gzip file that expands
to one huge line, and a YAML alias bomb as a policy, each against a scan of one small record.

    python -m benchmarks.bad_input [--record-mb 7] [--bomb-mb 400]

Each case runs `dhscan` in a subprocess and reads its peak resident memory (RUSAGE_CHILDREN after it
exits, one child at a time). The records are made here (random words and a planted email), not by
the fixtures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path


def peak_mb(args: list[str], env: dict) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit code) of one `dhscan` run. ru_maxrss of children is the largest
    child so far, so each case runs in a fresh interpreter that reports its own child."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t, rc)")
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "scanner.cli", *args],
                         capture_output=True, text=True, env=env, check=True).stdout.split()
    return int(out[0]) / 1024, float(out[1]), int(out[2])


def words(n: int, rng: random.Random) -> str:
    vocabulary = ["order", "refund", "account", "please", "thanks", "delivery", "invoice", "the", "a", "of"]
    return " ".join(rng.choice(vocabulary) for _ in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record-mb", type=float, default=7, help="size of the one huge record (under the limit)")
    parser.add_argument("--bomb-mb", type=int, default=400, help="size of the line the gzip file expands to")
    args = parser.parse_args()
    rng = random.Random(3)
    env = {**os.environ, "DHSCAN_KEY": os.environ.get("DHSCAN_KEY", "benchmark-key-0123456789abcdef")}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "small.jsonl").write_text(json.dumps({"id": "s", "t": "mail ann@example.com"}) + "\n")
        huge = words(int(args.record_mb * (1 << 20) / 6), rng) + " mail bob@example.com"
        (root / "huge.jsonl").write_text(json.dumps({"id": "h", "t": huge}) + "\n")
        with gzip.open(root / "bomb.jsonl.gz", "wb", compresslevel=9) as handle:
            handle.write(b'{"id": "b", "t": "')
            block = b"a" * (1 << 20)
            for _ in range(args.bomb_mb):
                handle.write(block)
            handle.write(b'"}\n' + json.dumps({"id": "c", "t": "mail cy@example.com"}).encode() + b"\n")
        aliases = ["a: &a [" + ", ".join(["x"] * 9) + "]"]
        for prev, name in zip("abcdefgh", "bcdefghi"):
            aliases.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        (root / "bomb.yaml").write_text("\n".join(aliases) + "\nversion: 1\nrules: []\n")
        cases = {
            "one small record": ["scan", str(root / "small.jsonl"), "--full", "--out", str(root / "o1")],
            f"one {args.record_mb:g} MB record": ["scan", str(root / "huge.jsonl"), "--full", "--out", str(root / "o2")],
            f"gzip: {os.path.getsize(root / 'bomb.jsonl.gz') // 1024} KB -> a {args.bomb_mb} MB line":
                ["scan", str(root / "bomb.jsonl.gz"), "--full", "--out", str(root / "o3")],
            "YAML alias bomb (9^9 values) as the policy":
                ["sweep", str(root / "small.jsonl"), "--policy", str(root / "bomb.yaml"), "--out", str(root / "o4")],
        }
        for name, case in cases.items():
            mb, seconds, code = peak_mb(case, env)
            results[name] = {"peak_rss_mb": round(mb), "seconds": round(seconds, 1), "exit_code": code}
            print(f"{name}: peak RSS {mb:,.0f} MB, {seconds:.1f} s, exit {code}", file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
