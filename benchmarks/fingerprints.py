"""Fingerprint build time and size for a million identifiers, and what matching costs a scan.

    python -m benchmarks.fingerprints [--customers 250000] [--records 300]

Writes a customers CSV of N rows x 4 identifier fields (N = 250,000 gives 1,000,000 identifiers),
builds the fingerprint file from it through the CSV connector, then scans the generated eval
fixtures twice in one run, without and with the fingerprints (model load excluded from both).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from detectors.config import DetectionConfig, ScanConfig
from detectors.fingerprints import FingerprintField, build_fingerprints
from scanner.core.keys import load_key
from fixtures.generate import generate
from scanner.core.sampling import SamplePlan
from detectors.engine import build_engine
from scanner.runs.scan import run_scan


def customers_csv(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write("customer_id,email,phone,name\n")
        for i in range(n):
            out.write(f"CUST-{i:07d},user{i}@corp{i % 97}.example,+1 212 {200 + (i // 10000) % 800:03d} {i % 10000:04d},"
                      f"Given{i % 5003} Family{i}\n")


def timed_scan(paths, config: ScanConfig, out: Path) -> float:
    engine = build_engine(config.detection)
    started = time.perf_counter()
    run_scan([str(p) for p in paths], SamplePlan("full"), config, out, ["benchmark"], engine=engine)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=250_000)
    parser.add_argument("--records", type=int, default=300, help="records per eval dataset scanned")
    args = parser.parse_args()
    os.environ.setdefault("DHSCAN_KEY", "benchmark-key-not-secret-0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        customers_csv(root / "customers.csv", args.customers)
        fields = [FingerprintField.parse(s) for s in (r"customer_id:id:CUST-\d{7}", "email", "phone", "name")]
        started = time.perf_counter()
        header = build_fingerprints(f"csv:{root / 'customers.csv'}", fields, root / "prod.fp", load_key(), "US")
        build_seconds = time.perf_counter() - started
        size = (root / "prod.fp").stat().st_size
        paths = list(generate(root / "data", records=args.records, seed=3).values())
        with_fp = ScanConfig(detection=DetectionConfig(fingerprints=str(root / "prod.fp")))
        # alternate the two and keep each one's best, so machine noise does not decide the ratio
        plain = matched = float("inf")
        for _ in range(2):
            plain = min(plain, timed_scan(paths, ScanConfig(), root / "plain"))
            matched = min(matched, timed_scan(paths, with_fp, root / "matched"))
    print(f"identifiers                 {header['identifiers']:,}")
    print(f"build seconds               {build_seconds:.1f} ({header['identifiers'] / build_seconds:,.0f} identifiers/s)")
    print(f"file bytes                  {size:,} ({size / header['identifiers']:.2f} bytes per identifier)")
    print(f"scan seconds without / with {plain:.2f} / {matched:.2f}")
    print(f"scan time ratio with / without fingerprints {matched / plain:.3f}")


if __name__ == "__main__":
    main()
