"""Throughput of `dhscan scan --full` against plain Presidio on the same records, in one run.

    python -m benchmarks.throughput --mix reference [--records 1000] [--seed 11]
    python -m benchmarks.throughput [--records 1000]        # the eval fixtures instead

Generates the records (--mix reference: the reference mix, 4 x --records distinct texts;
default: the fixture datasets, chat JSONL, CSV, nested Parquet, HF folder), then times
1. dhscan: the scan pipeline over them (model loaded and workers started before the clock starts),
2. Presidio: BatchAnalyzerEngine.analyze_iterator(batch_size=64) with Presidio's default
   spaCy configuration on the same model, over the same texts (every string field of every record).
Prints records/s of each, the ratio, recall of each against the ground truth for identifiers and
for names (a planted value counts as found when a result of its entity type overlaps it in its
field), the share of texts the NER gate sends to the model, with --mix reference the NER path's
efficiency (dhscan on the records that need NER against spaCy's NER alone on as many processes,
alternating, best of --ner-path-runs each; also the median of the runs' pairwise ratios, and the
CPU time each side used per record, all processes counted, main process included),
peak RSS, and PERSON/LOCATION recall on the third-party corpus with the gate on and off.
Peak RSS from 10k to 1M records is measured by benchmarks/scale.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from detectors.config import DetectionConfig, ScanConfig
from detectors.ner_gate import may_hold_name
from fixtures.generate import IDENTIFIER_TYPES, generate, load_truth
from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.core.sampling import SamplePlan
from detectors.engine import build_engine
from scanner.runs.detection import build_pool
from scanner.runs.scan import run_scan

MEASURED = IDENTIFIER_TYPES + ("PERSON",)


def all_records(paths) -> list:
    records = []
    for path in paths:
        records.extend(open_source(str(path)).records(SamplePlan("full"), ReadReport()))
    return records


def planted_spans(truth, records) -> dict:
    """(source, record_id, field) -> [(entity_type, start, end)] of planted values."""
    texts = {(r.source, r.record_id, f): t for r in records for f, t in r.texts.items()}
    spans = defaultdict(list)
    for t in truth:
        if t["entity_type"] not in MEASURED:
            continue
        key = (t["source"], t["record_id"], t["field"])
        start = texts[key].find(t["value"])
        spans[key].append((t["entity_type"], start, start + len(t["value"])))
    return spans


def recall(planted: dict, found: dict) -> dict:
    hits, totals = defaultdict(int), defaultdict(int)
    for key, items in planted.items():
        for entity, start, end in items:
            group = "names" if entity == "PERSON" else "identifiers"
            totals[group] += 1
            if any(e == entity and s < end and start < x for e, s, x in found.get(key, [])):
                hits[group] += 1
    return {g: round(hits[g] / totals[g], 4) for g in sorted(totals)}


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes have used so far (Linux: /proc/PID/stat)."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_dhscan(paths, out: Path, ner_gate: bool = True, ner_only: bool = True, cpu: list | None = None):
    """(records, seconds, findings); with `cpu`, appends the CPU seconds of the scan (main process and workers)."""
    config = ScanConfig(detection=DetectionConfig(entities=list(MEASURED), ner_gate=ner_gate, ner_only=ner_only))
    engine = build_engine(config.detection)  # model loads are outside the timing, as for Presidio
    engine.prepare_long_scan()  # the model and the common words: start-up (benchmarks/startup.py times it)
    pool = build_pool(config, engine)
    pool.start()
    pids = [os.getpid(), *pool.pids]
    cpu_before = cpu_seconds(pids) if cpu is not None else 0.0
    started = time.perf_counter()
    run = run_scan([str(p) for p in paths], SamplePlan("full"), config, out, command_line=["benchmark"], engine=engine,
                   pool=pool)
    seconds = time.perf_counter() - started
    if cpu is not None:
        cpu.append(cpu_seconds(pids) - cpu_before)
    pool.close()
    found = defaultdict(list)
    with open(out / "findings.jsonl", encoding="utf-8") as handle:
        for line in handle:
            f = json.loads(line)
            found[(f["source"], f["record_id"], f["field"])].append((f["entity_type"], f["start"], f["end"]))
    return sum(r.records_sampled for r in run.results), seconds, found


CORPUS_NER_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION"}  # corpus label -> dhscan entity type


def corpus_name_recall(corpus: Path, ner_gate: bool, ner_only: bool = True) -> dict:
    """PERSON and LOCATION (the corpus' GPE) recall, by span overlap, on a third-party labeled corpus:
    names from another generator than the fixtures'."""
    from detectors.engine import DetectionEngine
    from scanner.core.keys import DigestKey
    from scanner.core.records import Record

    config = DetectionConfig(entities=sorted(set(CORPUS_NER_LABELS.values())), ner_gate=ner_gate, ner_only=ner_only)
    engine = DetectionEngine(config, DigestKey(b"k" * 32, "bench"), long_scan=True)
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [Record("corpus", "eval_dataset", r["id"], {}, {"text": r["text"]}) for r in rows]
    hits, totals = defaultdict(int), defaultdict(int)
    for at in range(0, len(records), 256):
        for row, found in zip(rows[at:at + 256], engine.detect(records[at:at + 256])):
            for span in row["spans"]:
                entity = CORPUS_NER_LABELS.get(span["label"])
                if entity:
                    totals[entity] += 1
                    hits[entity] += any(f.entity_type == entity and f.start < span["end"] and span["start"] < f.end
                                        for f in found)
    return {e: round(hits[e] / totals[e], 4) for e in sorted(totals)}


_NLP = None


def load_ner_only(model: str):
    """spaCy with the components dhscan's engine runs and nothing else: the NER path's ceiling."""
    import spacy

    from detectors.engine import NER_ONLY_UNUSED_PIPES

    return spacy.load(model, exclude=list(NER_ONLY_UNUSED_PIPES))


def ner_only(nlp, texts: list[str]) -> int:
    """The ceiling's work on `texts`: how many went through the model."""
    return sum(1 for _ in nlp.pipe(texts, batch_size=64))


def _load_ner(model: str) -> None:
    global _NLP
    from detectors.engine import WARM_UP_TEXT

    _NLP = load_ner_only(model)
    ner_only(_NLP, [WARM_UP_TEXT])  # warmed up as dhscan's engine is when it loads: by the same one text


def _ner(texts: list[str]) -> int:
    return ner_only(_NLP, texts)


def ner_ceiling(texts: list[str], model: str, workers: int, cpu: list | None = None) -> float:
    """Texts/s of spaCy's NER component alone over `texts` in `workers` processes (model load excluded):
    the ceiling of the NER path. With `cpu`, appends the CPU seconds it took (all processes)."""
    from detectors.pool import start_processes

    # the processes dhscan's workers run in, started the same way
    started_workers = start_processes(workers, _load_ner, (model,))
    with started_workers.executor as executor:
        pids = [os.getpid(), *started_workers.pids]
        cpu_before = cpu_seconds(pids) if cpu is not None else 0.0
        started = time.perf_counter()
        # one chunk a task, as dhscan's pool takes one batch a task
        done = sum(executor.map(_ner, [texts[i:i + 256] for i in range(0, len(texts), 256)]))
        seconds = time.perf_counter() - started
        if cpu is not None:
            cpu.append(cpu_seconds(pids) - cpu_before)
        return done / seconds


def ner_path_rows(folder: Path, records: int, seed: int) -> list[dict]:
    """The rows of the reference mix (`records` of them) whose text the NER gate sends to the model."""
    rows = [json.loads(line) for line in reference_mix(folder, records, seed).read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if may_hold_name(r["text"])]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def ner_path_efficiency(tmp: Path, args) -> dict:
    """dhscan's records/s on the records whose text the gate sends to the model, against the NER-only
    ceiling on the same texts with as many processes as dhscan's workers."""
    from detectors.pool import worker_count

    # a larger mix than the main run's, so start-up effects weigh little (model loads are excluded anyway)
    rows = ner_path_rows(tmp / "ner_mix", args.records * 8, args.seed + 1)
    subset = write_jsonl(tmp / "ner_records.jsonl", rows)
    # alternating, best of --ner-path-runs each: a shared machine's speed drifts from minute to minute
    dhscan_rates, ceilings, dhscan_cpu, ceiling_cpu = [], [], [], []
    for attempt in range(args.ner_path_runs):
        n, seconds, _ = run_dhscan([subset], tmp / f"out_ner{attempt}", ner_only=not args.full_pipeline, cpu=dhscan_cpu)
        dhscan_rates.append(n / seconds)
        ceilings.append(ner_ceiling([r["text"] for r in rows], DetectionConfig().model, worker_count(DetectionConfig()),
                                    cpu=ceiling_cpu))
    rate, ceiling = max(dhscan_rates), max(ceilings)
    # CPU time per record, all processes (dhscan's main process reads and writes on the same cores); least
    # of each. On a shared machine it moves with wall-clock time, so it does not remove the noise.
    cpu_dhscan, cpu_ceiling = min(dhscan_cpu) / n, min(ceiling_cpu) / len(rows)
    return {"records": n, "dhscan_records_per_s": round(rate, 1), "ner_only_spacy_texts_per_s": round(ceiling, 1),
            "efficiency": round(rate / ceiling, 3),
            "pairwise_efficiency_median": round(statistics.median(d / c for d, c in zip(dhscan_rates, ceilings)), 3),
            "cpu_us_per_record": {"dhscan": round(cpu_dhscan * 1e6), "ner_only": round(cpu_ceiling * 1e6)},
            "cpu_efficiency": round(cpu_ceiling / cpu_dhscan, 3),
            "runs": {"dhscan": [round(r) for r in dhscan_rates], "ner_only": [round(c) for c in ceilings],
                     "dhscan_cpu_s": [round(c, 2) for c in dhscan_cpu], "ner_only_cpu_s": [round(c, 2) for c in ceiling_cpu]}}


def run_presidio(records, model: str):
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from detectors.offline import ensure_offline

    ensure_offline()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}).create_engine()
    batch = BatchAnalyzerEngine(AnalyzerEngine(nlp_engine=nlp))
    keys = [(r.source, r.record_id, f) for r in records for f in r.texts]
    texts = [t for r in records for t in r.texts.values()]
    started = time.perf_counter()
    results = batch.analyze_iterator(texts, language="en", batch_size=64, entities=list(MEASURED))
    seconds = time.perf_counter() - started
    found = defaultdict(list)
    for key, items in zip(keys, results):
        found[key].extend((r.entity_type, r.start, r.end) for r in items)
    return seconds, found


PROSE = [
    "The quarterly report is due at the end of the month.", "Our team reviewed the draft and left a few comments.",
    "Shipping usually takes three to five business days.", "The new release fixes several bugs in the editor.",
    "Remember to back up your files before upgrading.", "The meeting was moved to the afternoon.",
    "Prices include tax but not delivery.", "This guide explains how to configure the integration.",
    "Most customers choose the annual plan.", "The warehouse closes early on public holidays.",
    "Battery life depends on screen brightness.", "You can export the table as a spreadsheet.",
]
NAME_TEMPLATES = ["{v} asked about the refund for the broken chair.", "I spoke to {v} yesterday about the invoice.",
                  "Please forward the contract to {v} before Friday.", "Yesterday {v} called support twice.",
                  "The ticket was escalated by {v}."]
PLACE_TEMPLATES = ["We are opening a new office in {city} next year.", "{company} reported strong results this quarter.",
                   "The conference will be held in {city} in May.", "Our contract with {company} ends in June."]


def reference_mix(out: Path, n: int, seed: int) -> Path:
    """The reference mix, one text a record, all distinct: a third identifiers, a quarter a
    person's name in varied positions, a sixth a city or a company, the rest plain prose."""
    import random

    from faker import Faker

    from fixtures.generate import TEMPLATES, Planter

    out.mkdir(parents=True, exist_ok=True)
    planter, rng = Planter(seed), random.Random(seed)
    fake = Faker(["en_US", "en_GB", "de_DE", "es_ES"])
    fake.seed_instance(seed)
    rows, truth = [], []
    for i in range(n):
        slot = i % 12
        rid = f"mix-{i:06d}"
        if slot < 4:
            kind = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN")[slot]
            value = planter.value(kind)
            text = rng.choice(TEMPLATES[kind]).format(v=value)
            truth.append({"source": "mix", "record_id": rid, "field": "text", "entity_type": kind, "value": value})
        elif slot < 7:
            value = fake.name()
            text = rng.choice(NAME_TEMPLATES).format(v=value)
            truth.append({"source": "mix", "record_id": rid, "field": "text", "entity_type": "PERSON", "value": value})
        elif slot < 9:
            text = rng.choice(PLACE_TEMPLATES).format(city=fake.city(), company=fake.company())
        else:
            text = " ".join(rng.sample(PROSE, 2))
        rows.append({"id": rid, "text": f"{text} (ref {rng.randint(1, 10**6)})" if slot >= 7 else text})
    path = out / "mix.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (out / "ground_truth.jsonl").write_text("".join(json.dumps(t) + "\n" for t in truth), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="records per dataset (four datasets)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-ner-gate", action="store_true", help="send every text to the NER model")
    parser.add_argument("--full-pipeline", action="store_true",
                        help="run spaCy's whole pipeline (tagger, lemmatizer...) instead of NER alone")
    parser.add_argument("--mix", choices=["fixtures", "reference"], default="fixtures",
                        help="the eval fixtures (four datasets), or the reference mix (4 x --records texts)")
    parser.add_argument("--ner-path-runs", type=int, default=2, metavar="N",
                        help="alternating runs of dhscan and the NER-only ceiling on the NER path; the best of each is kept")
    parser.add_argument("--ner-path-only", action="store_true", help="measure only the NER path (with --mix reference)")
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpora"
                        / "presidio_synth_v2.jsonl", help="labeled corpus for name recall with and without the gate")
    args = parser.parse_args()
    os.environ.setdefault("DHSCAN_KEY", "benchmark-key-not-secret-0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        if args.ner_path_only:
            print(json.dumps(ner_path_efficiency(Path(tmp), args), indent=2))
            return
        data = Path(tmp) / "data"
        if args.mix == "reference":
            paths = [reference_mix(data, args.records * 4, args.seed)]
        else:
            paths = list(generate(data, records=args.records, seed=args.seed).values())
        truth = load_truth(data)
        records = all_records(paths)
        planted = planted_spans(truth, records)
        n, dh_seconds, dh_found = run_dhscan(paths, Path(tmp) / "out", ner_gate=not args.no_ner_gate,
                                             ner_only=not args.full_pipeline)
        unique_texts = {t for r in records for f, t in r.texts.items() if f not in r.id_fields}
        ner_share = sum(map(may_hold_name, unique_texts)) / len(unique_texts) if not args.no_ner_gate else 1.0
        pr_seconds, pr_found = run_presidio(records, DetectionConfig().model)
        ner_path = ner_path_efficiency(Path(tmp), args) if args.mix == "reference" else None
    figures = {
        "records": n,
        "dhscan_records_per_s": round(n / dh_seconds, 1),
        "presidio_batch_records_per_s": round(len(records) / pr_seconds, 1),
        "ratio": round((n / dh_seconds) / (len(records) / pr_seconds), 2),
        "dhscan_recall": recall(planted, dh_found),
        "presidio_recall": recall(planted, pr_found),
        "cpu_count": os.cpu_count(),
        "share_of_distinct_texts_sent_to_ner": round(ner_share, 3),
        "ner_path": ner_path,
        "peak_rss_mb_benchmark_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_largest_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }
    if args.corpus.exists():
        figures["corpus_recall_gate_on"] = corpus_name_recall(args.corpus, True, not args.full_pipeline)
        figures["corpus_recall_gate_off"] = corpus_name_recall(args.corpus, False, not args.full_pipeline)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:30} {value}")


if __name__ == "__main__":
    main()
