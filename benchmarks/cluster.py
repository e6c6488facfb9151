"""Throughput on a Dask cluster with 1 and with 2 workers, in one run, and the cluster a billion
records a night would need.

    python -m benchmarks.cluster [--records 8000] [--files 8]

Writes the reference mix (benchmarks/throughput.py) as --files JSONL files, starts a
LocalCluster of N single-threaded worker processes on 127.0.0.1 for N = 1 and 2, scans once to
load the engine on every worker (not timed), then times `dhscan scan --full --cluster` over all
the files. Prints records/s for each N, the speed-up, and from the 1-worker rate the workers
needed to sweep 1,000,000,000 records in 8 hours.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

from benchmarks.throughput import reference_mix
from detectors.config import DetectionConfig, ScanConfig
from scanner.core.sampling import SamplePlan
from scanner.runs.scan import run_scan

NIGHT_SECONDS = 8 * 3600
BILLION = 1_000_000_000


def split(path: Path, folder: Path, files: int) -> None:
    folder.mkdir()
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for n in range(files):
        (folder / f"part{n:03d}.jsonl").write_text("".join(lines[n::files]), encoding="utf-8")


def timed_scan(address: str, source: str, out: Path) -> float:
    config = ScanConfig(detection=DetectionConfig(), cluster=address)
    started = time.perf_counter()
    run = run_scan([source], SamplePlan("full"), config, out, command_line=["benchmark"])
    seconds = time.perf_counter() - started
    assert run.exit_code in (0, 1), run.results[0].error
    return run.results[0].records_sampled / seconds


def main() -> None:
    from dask.distributed import LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=8000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    os.environ.setdefault("DHSCAN_KEY", "benchmark-key-not-secret-0123456789")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        split(reference_mix(root / "mix", args.records, args.seed), root / "data", args.files)
        split(reference_mix(root / "warm", args.files * 40, args.seed + 1), root / "warm_data", args.files)
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address="127.0.0.1:0") as cluster:
                address = cluster.scheduler_address
                timed_scan(address, f"jsonl:{root / 'warm_data'}", root / f"warm{workers}")  # engines load
                figures[f"local_{workers}_records_per_s"] = round(timed_scan(address, f"jsonl:{root / 'data'}",
                                                                             root / f"out{workers}"), 1)
    one, two = figures["local_1_records_per_s"], figures["local_2_records_per_s"]
    figures["speed_up"] = round(two / one, 2)
    figures["records"] = args.records
    figures["cpu_count"] = os.cpu_count()
    figures["workers_for_1e9_records_in_8h"] = math.ceil(BILLION / (one * NIGHT_SECONDS))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
