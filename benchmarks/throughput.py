"""Throughput of `dhscan scan --full` against plain Presidio on the same records, in one run.

    python -m benchmarks.throughput [--records 1000] [--seed 11]

Generates the fixture datasets (chat JSONL, CSV, nested Parquet, HF folder), then times
1. dhscan: the scan pipeline over all four sources (model loaded before the clock starts),
2. Presidio: BatchAnalyzerEngine.analyze_iterator(batch_size=64) with Presidio's default
   spaCy configuration on the same model, over the same texts (every string field of every record).
Prints records/s of each, the ratio, and recall of each against the ground truth (a planted
value counts as found when a result of its entity type overlaps it in its field).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from detectors.config import DetectionConfig, ScanConfig
from detectors.ner_gate import may_hold_name
from fixtures.generate import IDENTIFIER_TYPES, generate, load_truth
from scanner.connectors import open_source
from scanner.connectors.base import ReadReport
from scanner.sampling import SamplePlan
from scanner.scan import build_engine, build_pool, run_scan

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


def run_dhscan(paths, out: Path, ner_gate: bool = True):
    config = ScanConfig(detection=DetectionConfig(entities=list(MEASURED), ner_gate=ner_gate))
    engine = build_engine(config)  # model loads are outside the timing, as for Presidio
    pool = build_pool(config, engine)
    pool.start()
    started = time.perf_counter()
    run = run_scan([str(p) for p in paths], SamplePlan("full"), config, out, command_line=["benchmark"], engine=engine,
                   pool=pool)
    seconds = time.perf_counter() - started
    pool.close()
    found = defaultdict(list)
    with open(out / "findings.jsonl", encoding="utf-8") as handle:
        for line in handle:
            f = json.loads(line)
            found[(f["source"], f["record_id"], f["field"])].append((f["entity_type"], f["start"], f["end"]))
    return sum(r.records_sampled for r in run.results), seconds, found


def corpus_name_recall(corpus: Path, ner_gate: bool) -> float:
    """PERSON recall (span overlap) on a third-party labeled corpus: names from another generator."""
    import json as _json

    from detectors.engine import DetectionEngine
    from detectors.keys import DigestKey
    from scanner.records import Record

    engine = DetectionEngine(DetectionConfig(entities=["PERSON"], ner_gate=ner_gate), DigestKey(b"k" * 32, "bench"))
    rows = [_json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [Record("corpus", "eval_dataset", r["id"], {}, {"text": r["text"]}) for r in rows]
    hits = total = 0
    for at in range(0, len(records), 256):
        batch = records[at:at + 256]
        for row, found in zip(rows[at:at + 256], engine.detect(batch)):
            for span in row["spans"]:
                if span["label"] == "PERSON":
                    total += 1
                    hits += any(f.start < span["end"] and span["start"] < f.end for f in found)
    return round(hits / total, 4) if total else None


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


def issue_mix(out: Path, n: int, seed: int) -> Path:
    """The throughput issue's mix, one text a record, all distinct: a third identifiers, a quarter a
    person's name in varied positions, a sixth a city or a company, the rest plain prose."""
    import json as _json
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
    path.write_text("".join(_json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (out / "ground_truth.jsonl").write_text("".join(_json.dumps(t) + "\n" for t in truth), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="records per dataset (four datasets)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-ner-gate", action="store_true", help="send every text to the NER model")
    parser.add_argument("--mix", choices=["fixtures", "issue"], default="fixtures",
                        help="the eval fixtures (four datasets), or the throughput issue's mix (4 x --records texts)")
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpora"
                        / "presidio_synth_v2.jsonl", help="labeled corpus for name recall with and without the gate")
    args = parser.parse_args()
    os.environ.setdefault("DHSCAN_KEY", "benchmark-key-not-secret-0123456789")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        if args.mix == "issue":
            paths = [issue_mix(data, args.records * 4, args.seed)]
        else:
            paths = list(generate(data, records=args.records, seed=args.seed).values())
        truth = load_truth(data)
        records = all_records(paths)
        planted = planted_spans(truth, records)
        n, dh_seconds, dh_found = run_dhscan(paths, Path(tmp) / "out", ner_gate=not args.no_ner_gate)
        unique_texts = {t for r in records for t in r.texts.values()}
        ner_share = sum(map(may_hold_name, unique_texts)) / len(unique_texts) if not args.no_ner_gate else 1.0
        pr_seconds, pr_found = run_presidio(records, DetectionConfig().model)
    figures = {
        "records": n,
        "dhscan_records_per_s": round(n / dh_seconds, 1),
        "presidio_batch_records_per_s": round(len(records) / pr_seconds, 1),
        "ratio": round((n / dh_seconds) / (len(records) / pr_seconds), 2),
        "dhscan_recall": recall(planted, dh_found),
        "presidio_recall": recall(planted, pr_found),
        "cpu_count": os.cpu_count(),
        "share_of_distinct_texts_sent_to_ner": round(ner_share, 3),
    }
    if args.corpus.exists():
        figures["corpus_person_recall_gate_on"] = corpus_name_recall(args.corpus, True)
        figures["corpus_person_recall_gate_off"] = corpus_name_recall(args.corpus, False)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:30} {value}")


if __name__ == "__main__":
    main()
