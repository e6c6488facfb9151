"""Cold start: a new process scanning a 10-record file, against plain Presidio starting on the same
records in a new process, alternating, median of --runs each.

    python -m benchmarks.startup [--runs 5] [--records 10]

Times, each from process start to exit (wall clock):
1. `dhscan --help`;
2. `dhscan scan FILE --full --out DIR` (every default entity type: the spaCy model is loaded);
3. the same with `--entities EMAIL_ADDRESS,PHONE_NUMBER` (no NER type asked for);
4. Presidio: import, AnalyzerEngine with its default spaCy configuration on the same model, and
   analyze() of every text of the same records.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fixtures.generate import generate

PRESIDIO = """
import json, sys
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
                                                "models": [{"lang_code": "en", "model_name": sys.argv[2]}]})
engine = AnalyzerEngine(nlp_engine=provider.create_engine())
def texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values(): yield from texts(v)
    elif isinstance(value, list):
        for v in value: yield from texts(v)
for line in open(sys.argv[1], encoding="utf-8"):
    for text in texts(json.loads(line)):
        engine.analyze(text, language="en")
"""


def timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=10)
    args = parser.parse_args()
    from detectors.config import DetectionConfig

    model = DetectionConfig().model
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "data", records=args.records, seed=3)
        data = root / "data" / "support_eval.jsonl"
        env = {**os.environ, "DHSCAN_KEY": os.environ.get("DHSCAN_KEY", "benchmark-key-0123456789abcdef")}
        dhscan = [sys.executable, "-m", "scanner.cli"]
        commands = {
            "dhscan --help": dhscan + ["--help"],
            "dhscan scan (default entities)": dhscan + ["scan", str(data), "--full", "--out", str(root / "o1")],
            "dhscan scan (identifiers only)": dhscan + ["scan", str(data), "--full", "--entities",
                                                        "EMAIL_ADDRESS,PHONE_NUMBER", "--out", str(root / "o2")],
            "Presidio (AnalyzerEngine, same model)": [sys.executable, "-c", PRESIDIO, str(data), model],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):  # alternating, so a busy moment costs every side alike
            for name, command in commands.items():
                times[name].append(timed(command, env))
    result = {name: round(statistics.median(values), 2) for name, values in times.items()}
    print(json.dumps({"records": args.records, "runs": args.runs, "median_seconds": result,
                      "cores": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
