"""Memory and I/O at scale: peak RSS of `dhscan scan --full` from 10k to 1M records, and the bytes a
sampled scan of a 1M-row Parquet dataset really reads.

    python -m benchmarks.scale rss [--sizes 10000,100000,1000000] [--unique-words]
    python -m benchmarks.scale parquet [--rows 1000000] [--samples 10,100,1000]

rss: writes a JSONL file of N records (the reference mix, 8,000 distinct texts, each
record with its own id; with --unique-words each text also ends in a word of its own), runs the
real CLI on it and polls the resident memory of its whole process tree (main process and detection
workers) every 0.2 s.
parquet: writes N rows in row groups of 10,000 (an id, a text and a 384-float embedding column),
then scans it with --sample K in this process and counts the bytes read through read() calls
(/proc/self/io rchar), against the file size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_TEXTS = 8000


def tree_rss(pid: int) -> tuple[int, int, int]:
    """Resident bytes of a process with all its descendants, of the process alone, and of its largest
    descendant (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    sizes, todo = {}, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as handle:
                sizes[current] = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    own = sizes.pop(pid, 0)
    return own + sum(sizes.values()), own, max(sizes.values(), default=0)


def write_records(path: Path, n: int, seed: int = 11, unique_words: bool = False) -> None:
    """N records of the reference mix; with `unique_words` each text ends in a word no other record has (an
    order code), as real texts hold new words all along, so the vocabulary the model meets never stops
    growing."""
    from benchmarks.throughput import reference_mix

    base = reference_mix(path.parent / "base", BASE_TEXTS, seed)
    texts = [json.loads(line)["text"] for line in base.read_text(encoding="utf-8").splitlines()]
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            text = texts[i % len(texts)] + (f" (order q{i:x}z)" if unique_words else "")
            out.write(json.dumps({"id": f"rec-{i:08d}", "text": text}) + "\n")


def measure_rss(n: int, tmp: Path, unique_words: bool = False) -> dict:
    data = tmp / f"records_{n}.jsonl"
    write_records(data, n, unique_words=unique_words)
    command = [sys.executable, "-m", "scanner.cli", "scan", f"jsonl:{data}", "--full", "--out", str(tmp / f"out_{n}")]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0, 0, 0]
    while process.poll() is None:
        peak = [max(a, b) for a, b in zip(peak, tree_rss(process.pid))]
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"dhscan failed on {n} records: {process.stderr.read()}")
    sampled = json.loads((tmp / f"out_{n}" / "summary.json").read_text())["sources"]
    data.unlink()
    return {"records": n, "unique_words": unique_words,
            "records_scanned": sum(s["records_sampled"] for s in sampled.values()),
            "peak_rss_mb": round(peak[0] / 2**20), "peak_rss_mb_main": round(peak[1] / 2**20),
            "peak_rss_mb_largest_worker": round(peak[2] / 2**20), "seconds": round(seconds, 1),
            "records_per_s": round(n / seconds)}


def read_bytes() -> int:
    with open("/proc/self/io", encoding="ascii") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("rchar:"))


def measure_parquet(rows: int, samples: list[int], tmp: Path) -> list[dict]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from detectors.config import ScanConfig
    from scanner.core.sampling import SamplePlan
    from detectors.engine import build_engine
    from scanner.runs.scan import run_scan

    path = tmp / "evals.parquet"
    rng = np.random.default_rng(11)
    with pq.ParquetWriter(path, pa.schema([("id", pa.string()), ("text", pa.string()),
                                           ("embedding", pa.list_(pa.float32(), 384))])) as writer:
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            ids = [f"row-{i:08d}" for i in range(start, start + n)]
            texts = [f"Question {i}: what is {i % 97} times {i % 89}? Reply to user{i}@example.com" for i in
                     range(start, start + n)]
            vectors = pa.FixedSizeListArray.from_arrays(pa.array(rng.random(n * 384, dtype=np.float32)), 384)
            writer.write_table(pa.table({"id": ids, "text": texts, "embedding": vectors}))
    size = path.stat().st_size
    config = ScanConfig()
    engine = build_engine(config.detection)
    run_scan([str(path)], SamplePlan("count", seed=2, count=1), config, tmp / "warm_up", command_line=["benchmark"],
             engine=engine)  # lazy imports and first reads of the package happen here, not in the figures
    figures = []
    for k in samples:
        before = read_bytes()
        run = run_scan([str(path)], SamplePlan("count", seed=1, count=k), config, tmp / f"out_{k}",
                       command_line=["benchmark"], engine=engine)
        read = read_bytes() - before
        stats = run.results[0].stats
        figures.append({"rows": rows, "sample": k, "file_bytes": size, "bytes_read": read,
                        "text_column_bytes_in_row_groups_read": stats["bytes_read"],
                        "share_of_file_read": round(read / size, 4),
                        "row_groups_read": stats["row_groups_read"], "row_groups_total": stats["row_groups_total"]})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    rss = sub.add_parser("rss")
    rss.add_argument("--sizes", default="10000,100000,1000000")
    rss.add_argument("--unique-words", action="store_true", help="end each text in a word no other record has")
    parquet = sub.add_parser("parquet")
    parquet.add_argument("--rows", type=int, default=1_000_000)
    parquet.add_argument("--samples", default="10,100,1000")
    args = parser.parse_args()
    os.environ.setdefault("DHSCAN_KEY", "benchmark-key-not-secret-0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "rss":
            for n in (int(s) for s in args.sizes.split(",")):
                print(json.dumps(measure_rss(n, Path(tmp), args.unique_words)), flush=True)
        else:
            for row in measure_parquet(args.rows, [int(s) for s in args.samples.split(",")], Path(tmp)):
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
