"""CPU instructions of the NER path, counted by callgrind: the same on every run, where wall-clock time
on a shared machine moves by 10-40% between identical runs.

    python -m benchmarks.instructions [--records 1200] [--seed 12]

Takes the reference mix (benchmarks/throughput.py) and keeps the records whose text the gate
sends to the model (the first 64 warm each part up), then counts three parts, each in its own `valgrind --tool=callgrind` process that
counts only its measured section (switched with callgrind_control):
  ceiling  spaCy's `ner` component alone over the texts, 256 a call (as throughput.py's ceiling);
  engine   dhscan's DetectionEngine.detect over what a worker is sent of the same records, 256 a batch,
           the engine frozen out of the garbage collector's passes (what a worker does);
  rest     everything else a scan does per record: reading the JSON Lines, batching, the hand-over to
           a worker and back (what the pool sends of each batch, and its findings, pickled and
           unpickled), counting, writing.
Prints instructions per record and two efficiencies: the detection stage (ceiling / engine) and the
whole scan (ceiling / (engine + rest)). No idle time or scheduling is counted; what a wall-clock run
adds to these comes from the machine. Needs valgrind on Linux; takes ~5 minutes.

Instructions are not time: each part does its own number of them a microsecond. `--cpu-time ROUNDS` times the
same three parts by thread CPU time instead, in one process, alternating ROUNDS times (least of each).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

PARTS = ("ceiling", "engine", "rest")
BATCH = 256
WARM_UP = 64  # records each part processes before counting starts


def _switch(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True, capture_output=True)


def _measured(warm_up, work) -> None:
    # first-use costs (compiled patterns, caches) are paid on other records: a scan meets each text once,
    # and spaCy's tokenizer would find the measured texts' words cached on a second pass
    warm_up()
    _switch("-i", "on")
    _switch("-z")
    work()
    _switch("-d", "measured")
    _switch("-i", "off")


def ner_path_records(records: int, seed: int, folder: Path) -> int:
    """Writes the reference mix's NER-path records: the first WARM_UP to warm_up.jsonl, the rest to measured.jsonl."""
    from benchmarks.throughput import ner_path_rows, write_jsonl

    rows = ner_path_rows(folder, records, seed)
    write_jsonl(folder / "warm_up.jsonl", rows[:WARM_UP])
    write_jsonl(folder / "measured.jsonl", rows[WARM_UP:])
    return len(rows) - WARM_UP


def build_parts(folder: Path, wanted: tuple[str, ...]) -> dict:
    """part -> (warm-up, work): the closures each part runs, for the parts in `wanted`."""
    from benchmarks.throughput import MEASURED
    from detectors.config import DetectionConfig
    from detectors.engine import DetectionEngine
    from scanner.core.keys import DigestKey
    from scanner.connectors import open_source
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan

    warm_up, path = folder / "warm_up.jsonl", folder / "measured.jsonl"
    first = list(open_source(str(warm_up)).records(SamplePlan("full"), ReadReport()))
    records = list(open_source(str(path)).records(SamplePlan("full"), ReadReport()))
    chunks = [records[i:i + BATCH] for i in range(0, len(records), BATCH)]
    built = {}
    if "ceiling" in wanted:
        from benchmarks.throughput import load_ner_only, ner_only

        nlp = load_ner_only(DetectionConfig().model)
        texts = [[r.texts["text"] for r in chunk] for chunk in chunks]
        built["ceiling"] = (lambda: ner_only(nlp, [r.texts["text"] for r in first]),
                            lambda: [ner_only(nlp, chunk) for chunk in texts])
    if "engine" not in wanted and "rest" not in wanted:
        return built
    from detectors.pool import detection_input, detection_inputs

    engine = DetectionEngine(DetectionConfig(entities=list(MEASURED)), DigestKey(b"k" * 32, "benchmark"),
                             long_scan=True)
    if "engine" in wanted:
        # what a worker detects in
        sent = [detection_inputs([detection_input(record) for record in chunk]) for chunk in [first, *chunks]]
        built["engine"] = (lambda: engine.detect(sent[0]), lambda: [engine.detect(chunk) for chunk in sent[1:]])
    if "rest" not in wanted:
        return built
    from scanner.runs.detection import Detection
    from scanner.runs.loop import scan_source

    found = {r.record_id: f for chunk in [first, *chunks] for r, f in zip(chunk, engine.detect(chunk))}

    class HandOver:
        """The worker pool's hand-over without the processes: what a worker is sent of each record, and the
        findings it sends back, pickled both ways."""

        def wanted(self) -> bool:
            return True

        def detect(self, batches):
            for batch in batches:
                inputs = [detection_input(record) for record in batch]
                arrived = detection_inputs(pickle.loads(pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL)))
                findings = [found[r.record_id] for r in arrived]
                yield batch, pickle.loads(pickle.dumps(findings, protocol=pickle.HIGHEST_PROTOCOL))

    def scan(source: Path):
        with open(os.devnull, "w", encoding="utf-8") as sink:
            result = scan_source(open_source(str(source)), Detection.in_process(engine, pool=HandOver()),
                                 SamplePlan("full"), sink.write, lambda *a: None, batch_size=BATCH)
        if result.status != "ok" or result.findings == 0:  # scan_source keeps a source's error in its result
            raise SystemExit(f"rest: the scan did not run: {result.status} {result.error}")

    built["rest"] = (lambda: scan(warm_up), lambda: scan(path))
    return built


def run_part(part: str, folder: Path) -> None:
    """One part under valgrind: its instructions, counted around its work."""
    import gc

    warm_up, work = build_parts(folder, (part,))[part]
    if part == "engine":
        gc.freeze()  # as each worker does once its engine is loaded (detectors/pool.py)
    _measured(warm_up, work)


def cpu_time_parts(folder: Path, rounds: int, count: int) -> dict:
    """The three parts in one process, timed by thread CPU time, alternating `rounds` times; the least of each,
    per record. No instruction-per-cycle assumption, but all of the machine's noise. The heap is frozen out
    of the garbage collector's passes for the ceiling and the engine, as a worker's is (the ceiling's own
    processes hold less to pass over; freezing can only help it), and by scan_source itself for the rest."""
    import gc
    import time

    built = build_parts(folder, PARTS)
    for warm_up, _ in built.values():
        warm_up()
    runs: dict[str, list[float]] = {part: [] for part in PARTS}
    for _ in range(rounds):
        for part, (_, work) in built.items():
            if part != "rest":
                gc.freeze()
            started = time.thread_time()
            work()
            runs[part].append((time.thread_time() - started) / count * 1e6)
            if part != "rest":
                gc.unfreeze()
    return {part: min(times) for part, times in runs.items()}


def measured_instructions(dump_prefix: Path) -> int:
    """Instructions in the dump callgrind wrote for the measured section."""
    for dump in dump_prefix.parent.glob(dump_prefix.name + "*"):
        text = dump.read_text(encoding="utf-8", errors="replace")
        if "Trigger: dump measured" in text:
            return next(int(line.split()[1]) for line in text.splitlines() if line.startswith("totals:"))
    raise RuntimeError(f"no measured dump for {dump_prefix.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1200, help="records of the reference mix (~44%% reach the model)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # one part, run under valgrind
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cpu-time", type=int, metavar="ROUNDS",
                        help="time the parts by CPU time instead, in one process, alternating ROUNDS times")
    args = parser.parse_args()
    os.environ.setdefault("DHSCAN_KEY", "benchmark-key-not-secret-0123456789")
    if args.part:
        run_part(args.part, args.folder)
        return
    if args.cpu_time:
        with tempfile.TemporaryDirectory() as tmp:
            count = ner_path_records(args.records, args.seed, Path(tmp))
            print(json.dumps(efficiencies(count, cpu_time_parts(Path(tmp), args.cpu_time, count), "cpu_us_per_record"),
                             indent=2))
        return
    import shutil

    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"benchmarks.instructions needs {' and '.join(missing)} (e.g. apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        count = ner_path_records(args.records, args.seed, Path(tmp))
        running = {part: subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/{part}.%p",
             sys.executable, "-m", "benchmarks.instructions", "--part", part, "--folder", tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for part in PARTS}
        for part, process in running.items():
            _, err = process.communicate()
            if process.returncode:
                raise SystemExit(f"{part}: valgrind exited {process.returncode}: {err.decode()[-500:]}")
        per_record = {part: measured_instructions(Path(tmp) / f"{part}.") / count for part in PARTS}
    print(json.dumps(efficiencies(count, per_record, "instructions_per_record"), indent=2))


def efficiencies(count: int, per_record: dict, unit: str) -> dict:
    return {
        "records": count,
        unit: {part: round(value, 1 if unit.startswith("cpu") else None) for part, value in per_record.items()},
        "detection_stage_efficiency": round(per_record["ceiling"] / per_record["engine"], 3),
        "whole_scan_efficiency": round(per_record["ceiling"] / (per_record["engine"] + per_record["rest"]), 3),
    }


if __name__ == "__main__":
    main()
