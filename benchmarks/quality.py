"""Detection quality on a labeled corpus: per-entity precision, recall and F1, dhscan beside plain Presidio.

    python -m benchmarks.quality [CORPUS.jsonl ...] [--generated N] [--json] [--errors TYPE] [--clean N] [--demo N]

A corpus is JSONL in the shared format: {"id", "text", "spans": [{"start", "end", "label"}]}; the
default is every corpus in ../shared/corpora/ (read in place, never copied), and always an English set
made here with Mimesis (benchmarks/english_set.py, --generated N texts). Each corpus is scored on its
own, and the macro average over the corpora is the figure a change must not lower: a change that
raises one corpus and lowers another by more than 0.01 is not kept. Both tools see each text as one
field named `text`:
- Presidio: AnalyzerEngine() defaults (all its English recognizers, score threshold 0), with
  Presidio's own spaCy configuration on the same model as dhscan;
- dhscan: DetectionEngine with its default configuration (what `dhscan scan` reports).

Scoring is by span overlap, per evaluated type (the mapping below): a predicted span is a true
positive when it overlaps a labeled span of its type, otherwise a false positive (predictions of
types the corpus never labels, such as UK_NHS, are false positives too); a labeled span is found
when a prediction of its type overlaps it. Corpus labels with no Presidio entity type (TITLE, AGE,
ZIP_CODE, ORGANIZATION, which Presidio's spaCy configuration ignores) are not evaluated, and
predictions overlapping only such spans are not counted either way. `names_surfaced` is the share of
labeled names (PERSON) overlapped by a prediction of any type: what a reviewer gets to see.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
from collections import defaultdict
from pathlib import Path

# corpus label -> evaluated type
LABEL_MAP = {
    "PERSON": "PERSON", "GPE": "LOCATION", "STREET_ADDRESS": "LOCATION", "DATE_TIME": "DATE_TIME", "NRP": "NRP",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS", "PHONE_NUMBER": "PHONE_NUMBER", "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN", "IBAN_CODE": "IBAN_CODE", "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE", "DOMAIN_NAME": "URL",
}
NOT_EVALUATED = ("TITLE", "AGE", "ZIP_CODE", "ORGANIZATION")
# predicted entity type -> evaluated type (a street address is a location for scoring)
PREDICTION_MAP = {"STREET_ADDRESS": "LOCATION"}
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
GENERATED = "generated_english_mimesis"


def load_corpus(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(rows: list[dict], predictions: list[list[tuple[str, int, int]]]) -> dict:
    """Per evaluated type and overall (micro): tp, fp, fn, precision, recall, f1."""
    tp, fp, fn, found = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
    for row, predicted in zip(rows, predictions):
        gold = [(LABEL_MAP[s["label"]], s["start"], s["end"]) for s in row["spans"] if s["label"] in LABEL_MAP]
        ignored = [(s["start"], s["end"]) for s in row["spans"] if s["label"] not in LABEL_MAP]
        for entity, start, end in predicted:
            entity = PREDICTION_MAP.get(entity, entity)
            if any(g == entity and s < end and start < e for g, s, e in gold):
                tp[entity] += 1
            elif not any(s < end and start < e for s, e in ignored):
                fp[entity] += 1
        for entity, start, end in gold:
            hit = any(PREDICTION_MAP.get(p, p) == entity and s < end and start < e for p, s, e in predicted)
            found[entity] += hit
            fn[entity] += not hit
    table = {}
    for entity in sorted(set(tp) | set(fp) | set(fn)):
        table[entity] = _prf(tp[entity], fp[entity], found[entity], fn[entity])
    table["ALL"] = _prf(sum(tp.values()), sum(fp.values()), sum(found.values()), sum(fn.values()))
    names = surfaced = 0
    for row, predicted in zip(rows, predictions):
        for span in row["spans"]:
            if span["label"] == "PERSON":
                names += 1
                surfaced += any(s < span["end"] and span["start"] < e for _, s, e in predicted)
    table["ALL"]["names_surfaced"] = _round(surfaced / names) if names else None
    return table


def _prf(tp: int, fp: int, found: int, missed: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else None
    recall = found / (found + missed) if found + missed else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if recall == 0 else None)
    return {"tp": tp, "fp": fp, "labeled": found + missed,
            "precision": _round(precision), "recall": _round(recall), "f1": _round(f1)}


def _round(value):
    return None if value is None else round(value, 3)


def presidio_predictions(texts: list[str], model: str) -> list[list[tuple[str, int, int]]]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from detectors.offline import ensure_offline

    ensure_offline()
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp)
    return [[(r.entity_type, r.start, r.end) for r in analyzer.analyze(text, language="en")] for text in texts]


DHSCAN_MODEL = os.environ.get("DHSCAN_BENCHMARK_MODEL")  # --model: dhscan's spaCy pipeline, else its default
DHSCAN_SETTINGS: dict = {}  # --english-only, --no-language-id: other DetectionConfig settings


@functools.cache
def dhscan_engine():
    """dhscan's engine in its default configuration (with --model, on that pipeline), built once a run."""
    from detectors.config import DetectionConfig
    from detectors.engine import DetectionEngine
    from scanner.core.keys import DigestKey

    config = DetectionConfig(**({"model": DHSCAN_MODEL} if DHSCAN_MODEL else {}), **DHSCAN_SETTINGS)
    return DetectionEngine(config, DigestKey(b"quality-benchmark-key-0123456789", "bench"))


def dhscan_predictions(texts: list[str], with_recognizer: bool = False) -> list[list[tuple]]:
    from scanner.core.records import Record

    engine = dhscan_engine()
    records = [Record("corpus", "eval_dataset", str(i), {}, {"text": t}) for i, t in enumerate(texts)]
    out = []
    for at in range(0, len(records), 256):
        out.extend([(f.entity_type, f.start, f.end) + ((f.recognizer, f.score) if with_recognizer else ()) for f in found]
                   for found in engine.detect(records[at:at + 256]))
    return out


def score_reliability(rows: list[dict], predictions: list[list[tuple]]) -> dict:
    """For the NER model's PERSON and LOCATION results on the odd-numbered texts (the even ones
    calibrated detectors/ner_scores.py): each score given, how many results had it, and their precision."""
    counts: dict = defaultdict(lambda: [0, 0])
    for row, predicted in list(zip(rows, predictions))[1::2]:
        gold = [(LABEL_MAP[s["label"]], s["start"], s["end"]) for s in row["spans"] if s["label"] in LABEL_MAP]
        for entity, start, end, recognizer, value in predicted:
            if recognizer == "SpacyRecognizer" and entity in ("PERSON", "LOCATION"):
                right = any(g == entity and s < end and start < e for g, s, e in gold)
                counts[f"{entity} {value:.2f}"][0] += right
                counts[f"{entity} {value:.2f}"][1] += 1
    return {k: {"results": n, "precision": round(right / n, 3)} for k, (right, n) in sorted(counts.items())}


def clean_false_positives(texts: int, model: str) -> dict:
    """Findings on eval text that holds no personal data (fixtures/clean.py): all false positives."""
    from collections import Counter

    from fixtures.clean import clean_texts

    clean = clean_texts(texts)
    presidio = Counter(p[0] for found in presidio_predictions(clean, model) for p in found)
    dhscan = dhscan_predictions(clean, with_recognizer=True)
    return {"texts": texts, "presidio": dict(presidio.most_common()),
            "dhscan": dict(Counter(p[0] for found in dhscan for p in found).most_common()),
            "dhscan_by_recognizer": dict(Counter(p[3] for found in dhscan for p in found).most_common())}


def demo_precision(records: int, seed: int = 7) -> dict:
    """Precision on the demo fixtures (`python -m fixtures.generate`), against their ground truth: of the
    records with findings, the share holding a planted value; of the findings, the share lying in a field
    where a value of that type was planted."""
    import tempfile
    from collections import Counter

    from fixtures.generate import generate
    from scanner.connectors import open_source
    from scanner.connectors.base import ReadReport
    from scanner.core.sampling import SamplePlan

    engine = dhscan_engine()
    with tempfile.TemporaryDirectory() as folder:
        paths = generate(Path(folder), records=records, seed=seed)
        truth = [json.loads(line) for line in (Path(folder) / "ground_truth.jsonl").read_text().splitlines()]
        planted_records = {(t["source"], t["record_id"]) for t in truth}
        planted_fields = {(t["source"], t["record_id"], t["field"], PREDICTION_MAP.get(t["entity_type"], t["entity_type"]))
                          for t in truth}
        flagged, right, wrong = set(), Counter(), Counter()
        for name, path in paths.items():
            source = open_source(str(path) if name != "hf_eval" else f"hf:{path}")
            found = engine.detect(list(source.records(SamplePlan("full"), ReadReport())))
            for findings in found:
                for f in findings:
                    flagged.add((f.source, f.record_id))
                    kind = PREDICTION_MAP.get(f.entity_type, f.entity_type)
                    (right if (f.source, f.record_id, f.field, kind) in planted_fields else wrong)[f.entity_type] += 1
    return {"records_with_findings": len(flagged), "holding_planted_data": len(flagged & planted_records),
            "record_precision": round(len(flagged & planted_records) / max(1, len(flagged)), 3),
            "finding_precision": round(sum(right.values()) / max(1, sum(right.values()) + sum(wrong.values())), 3),
            "false_positives_by_type": dict(wrong.most_common())}


def print_table(name: str, presidio: dict, dhscan: dict) -> None:
    print(f"\n{name}")
    print(f"{'entity':18} {'labeled':>7}  {'Presidio P':>10} {'R':>6} {'F1':>6}   {'dhscan P':>8} {'R':>6} {'F1':>6}")
    for entity in sorted(set(presidio) | set(dhscan), key=lambda e: (e == "ALL", e)):
        p, d = presidio.get(entity, {}), dhscan.get(entity, {})
        labeled = p.get("labeled") or d.get("labeled") or 0

        def cell(row, key, width):
            value = row.get(key)
            return f"{'-' if value is None else value:>{width}}"
        print(f"{entity:18} {labeled:>7}  {cell(p, 'precision', 10)} {cell(p, 'recall', 6)} {cell(p, 'f1', 6)}   "
              f"{cell(d, 'precision', 8)} {cell(d, 'recall', 6)} {cell(d, 'f1', 6)}")


def main() -> None:
    from detectors.config import DetectionConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*", type=Path, default=sorted(CORPORA.glob("*.jsonl")))
    parser.add_argument("--generated", type=int, default=600, metavar="N",
                        help="also score N English texts made with Mimesis (benchmarks/english_set.py; 0: skip)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--errors", metavar="TYPE", help="print dhscan's misses and false positives of TYPE")
    parser.add_argument("--clean", type=int, default=600, metavar="N",
                        help="also count false positives on N texts without personal data (0: skip)")
    parser.add_argument("--model", help="dhscan's spaCy pipeline (a package name or a model folder); Presidio "
                                        "keeps the default model")
    parser.add_argument("--demo", type=int, default=0, metavar="N",
                        help="also report precision on the demo fixtures, N records each (0: skip)")
    parser.add_argument("--english-only", action="store_true",
                        help="dhscan with no other language's pipeline, installed or not (`pipelines: {}`)")
    parser.add_argument("--no-language-id", action="store_true",
                        help="dhscan reading every text as English (`identify_language: false`)")
    args = parser.parse_args()
    if args.english_only:
        DHSCAN_SETTINGS["pipelines"] = {}
    if args.no_language_id:
        DHSCAN_SETTINGS["identify_language"] = False
    global DHSCAN_MODEL
    DHSCAN_MODEL = args.model or DHSCAN_MODEL
    os.environ.setdefault("DHSCAN_KEY", "benchmark-key-not-secret-0123456789")
    figures = {}
    corpora = [(corpus.name, load_corpus(corpus)) for corpus in args.corpora]
    if args.generated:
        from benchmarks.english_set import generate

        corpora.append((GENERATED, generate(args.generated, seed=1)))
    for name, rows in corpora:
        texts = [r["text"] for r in rows]
        scored = dhscan_predictions(texts, with_recognizer=True)
        dhscan = [[p[:3] for p in found] for found in scored]
        figures[name] = {"texts": len(rows), "presidio": score(rows, presidio_predictions(texts, DetectionConfig().model)),
                         "dhscan": score(rows, dhscan), "ner_score_reliability": score_reliability(rows, scored)}
        if args.errors:
            print_errors(rows, dhscan, args.errors)
    figures["macro"] = {tool: {"f1": _round(sum(figures[n][tool]["ALL"]["f1"] or 0 for n, _ in corpora) / len(corpora)),
                               "names_surfaced_min": min((figures[n][tool]["ALL"]["names_surfaced"] for n, _ in corpora
                                                          if figures[n][tool]["ALL"]["names_surfaced"] is not None),
                                                         default=None)}
                        for tool in ("presidio", "dhscan")} if corpora else None
    if args.clean:
        figures["no_personal_data"] = clean_false_positives(args.clean, DetectionConfig().model)
    if args.demo:
        figures["demo_fixtures"] = demo_precision(args.demo)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, result in figures.items():
        if name not in ("no_personal_data", "demo_fixtures", "macro"):
            print_table(f"{name} ({result['texts']} texts)", result["presidio"], result["dhscan"])
            print("\nNER score given -> precision measured (odd-numbered texts)")
            for key, cell in result["ner_score_reliability"].items():
                print(f"  {key:16} {cell['results']:>5} results  precision {cell['precision']}")
    print(f"\n{'corpus':34} {'Presidio F1':>11} {'names':>6}   {'dhscan F1':>9} {'names':>6}")
    for name, result in figures.items():
        if name not in ("no_personal_data", "demo_fixtures", "macro"):
            p, d = result["presidio"]["ALL"], result["dhscan"]["ALL"]
            print(f"{name:34} {p['f1']!s:>11} {p['names_surfaced']!s:>6}   {d['f1']!s:>9} {d['names_surfaced']!s:>6}")
    if figures.get("macro"):
        m = figures["macro"]
        print(f"{'macro over corpora (names: lowest)':34} {m['presidio']['f1']!s:>11} "
              f"{m['presidio']['names_surfaced_min']!s:>6}   {m['dhscan']['f1']!s:>9} {m['dhscan']['names_surfaced_min']!s:>6}")
    if args.clean:
        clean = figures["no_personal_data"]
        print(f"\nfalse positives on {clean['texts']} texts without personal data (code, logs, math, trivia)")
        print(f"  Presidio: {sum(clean['presidio'].values())} {clean['presidio']}")
        print(f"  dhscan:   {sum(clean['dhscan'].values())} {clean['dhscan']}")
        print(f"  dhscan by recognizer: {clean['dhscan_by_recognizer']}")
    if args.demo:
        demo = figures["demo_fixtures"]
        print(f"\ndemo fixtures: {demo['holding_planted_data']} of {demo['records_with_findings']} records with findings "
              f"hold planted data (precision {demo['record_precision']}); finding precision "
              f"{demo['finding_precision']}; false positives by type {demo['false_positives_by_type']}")


def print_errors(rows, predictions, entity: str) -> None:
    """Misses and false positives of one evaluated type (for development; prints corpus text)."""
    for row, predicted in zip(rows, predictions):
        gold = [(s["start"], s["end"]) for s in row["spans"] if LABEL_MAP.get(s["label"]) == entity]
        mine = [(s, e) for p, s, e in predicted if PREDICTION_MAP.get(p, p) == entity]
        missed = [row["text"][s:e] for s, e in gold if not any(a < e and s < b for a, b in mine)]
        extra = [row["text"][s:e] for s, e in mine if not any(a < e and s < b for a, b in gold)]
        if missed or extra:
            print(f"{row['id']}: missed {missed} extra {extra} | {row['text'][:160]!r}")


if __name__ == "__main__":
    main()
