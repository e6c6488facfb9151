"""Throughput of redaction against presidio-anonymizer's BatchAnonymizerEngine over the same findings.

    python -m benchmarks.redaction [--records 4000] [--seed 3] [--runs 3]

Generates records with Faker in four locales (its own templates, not the project's fixtures), each with
a prompt and an answer holding emails, phone numbers, names, cards and IBANs, and detects their findings
once with dhscan's engine (not timed). Then, for each operator set (`replace` for every type; keyed
`pseudonym` for every type), times over the same records and findings, best of --runs:
1. Presidio: BatchAnonymizerEngine.anonymize_list over every text field, with the findings as
   RecognizerResults and the same operators (dhscan's keyed pseudonym registered with add_anonymizer);
2. dhscan: what apply does for each record once it is re-read: the worklist row's values found again at
   their places and checked against their digests, each replacement made once per distinct value, and
   the record's raw JSON value rewritten (`retention.redacting.replacements`, `Plan.value`).
Prints records/s of each, the ratio, and the share of texts on which both give the same result.
Then `dhscan sweep` with a redact rule and `dhscan apply --execute` of its worklist over the records as
a JSON Lines file: end-to-end records/s of apply (re-read, checked, rewritten, read back).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from faker import Faker

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
PROMPTS = ("Hi, this is {name}. My card {card} was charged twice, please refund to {iban}.",
           "Can you update my phone to {phone}? Reach me at {email} if anything is missing.",
           "{name} asked whether the order for {email} can ship before Friday.",
           "Please summarise the attached policy document in three bullet points.")
ANSWERS = ("Thanks {name}, the refund to {iban} is on its way; we will confirm at {email}.",
           "I have noted {phone} as your new number.",
           "Here is the summary you asked for.")


def records(n: int, seed: int) -> list[dict]:
    rows = []
    for i in range(n):
        fake = Faker(LOCALES[i % len(LOCALES)])
        fake.seed_instance(seed * 100_003 + i)
        values = {"name": fake.name(), "email": fake.email(), "phone": fake.phone_number(),
                  "card": fake.credit_card_number(), "iban": fake.iban()}
        rows.append({"id": f"r{i}", "prompt": PROMPTS[i % len(PROMPTS)].format(**values),
                     "answer": ANSWERS[i % len(ANSWERS)].format(**values)})
    return rows


def operator_sets(key: bytes, types: set[str]) -> dict[str, tuple[dict, dict]]:
    """Per name: (dhscan worklist operators, presidio OperatorConfigs)."""
    from presidio_anonymizer.entities import OperatorConfig

    return {"replace": ({t: {"type": "replace"} for t in types}, {"DEFAULT": OperatorConfig("replace")}),
            "pseudonym": ({t: {"type": "pseudonym"} for t in types},
                          {t: OperatorConfig("pseudonym", {"key": key, "entity_type": t}) for t in types})}


def best(runs: int, call) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from presidio_anonymizer import AnonymizerEngine, BatchAnonymizerEngine
    from presidio_anonymizer.entities import RecognizerResult

    from detectors.config import DetectionConfig
    from detectors.engine import build_engine
    from detectors.keyed_operators import KeyedPseudonym
    from retention.redacting import Redactors, replacements
    from scanner.core.records import Record

    rows = records(args.records, args.seed)
    engine = build_engine(DetectionConfig(workers=1))
    key = engine.key.secret
    built = [Record("bench", "eval_dataset", r["id"], {"file": "bench.jsonl", "record": i + 1},
                    {"prompt": r["prompt"], "answer": r["answer"]}) for i, r in enumerate(rows)]
    findings = []
    for at in range(0, len(built), 256):
        findings.extend(engine.detect(built[at:at + 256]))
    types = {f.entity_type for fs in findings for f in fs}
    texts = [(i, field) for i, r in enumerate(built) for field in r.texts]
    results = {(i, f.field): [] for i, _ in enumerate(built) for f in findings[i]}
    for i, fs in enumerate(findings):
        for f in fs:
            results[(i, f.field)].append(RecognizerResult(f.entity_type, f.start, f.end, f.score))
    anonymizer = AnonymizerEngine()
    anonymizer.add_anonymizer(KeyedPseudonym)
    batch = BatchAnonymizerEngine(anonymizer)
    print(f"{len(rows):,} records, {len(texts):,} texts, {sum(map(len, findings)):,} findings "
          f"({', '.join(sorted(types))})")
    for name, (ours, theirs) in operator_sets(key, types).items():
        def presidio():
            return batch.anonymize_list([built[i].texts[f] for i, f in texts],
                                        [results.get((i, f), []) for i, f in texts], operators=theirs)

        def dhscan():
            redactors = Redactors(key)
            out = []
            for i, record in enumerate(built):
                row = {"operators": ours, "phone_region": engine.config.phone_region,
                       "redactions": [{"field": f.field, "start": f.start, "end": f.end, "entity_type": f.entity_type,
                                       "digest": f.digest} for f in findings[i]]}
                raw = rows[i]
                out.append(replacements(row, record, key, redactors).value(raw) if findings[i] else raw)
            return out

        presidio_seconds, presidio_texts = best(args.runs, presidio)
        dhscan_seconds, dhscan_rows = best(args.runs, dhscan)
        same = sum(presidio_texts[n] == dhscan_rows[i][f] for n, (i, f) in enumerate(texts)) / len(texts)
        print(f"{name:9s}  presidio {len(rows) / presidio_seconds:10,.0f} records/s   dhscan "
              f"{len(rows) / dhscan_seconds:10,.0f} records/s   ratio {presidio_seconds / dhscan_seconds:5.2f}   "
              f"same text {same:.3f}")
    end_to_end(rows)


def end_to_end(rows: list[dict]) -> None:
    from click.testing import CliRunner

    from scanner.cli import main as cli

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with open(root / "bench.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in rows)
        (root / "policy.yaml").write_text("version: 1\nrules:\n  - id: scrub\n    action: redact\n")
        runner = CliRunner()
        swept = runner.invoke(cli, ["sweep", str(root / "bench.jsonl"), "--policy", str(root / "policy.yaml"),
                                    "--out", str(root / "sweep"), "--workers", "1"], catch_exceptions=False)
        assert swept.exit_code == 0, swept.output
        started = time.perf_counter()
        applied = runner.invoke(cli, ["apply", str(root / "sweep" / "redaction_worklist.jsonl"), "--no-holds",
                                      "--execute", "--yes", "--json"], catch_exceptions=False)
        seconds = time.perf_counter() - started
        outcomes = json.loads(applied.output)["outcomes"]
        print(f"dhscan apply of the redaction worklist: {outcomes}, {len(rows) / seconds:,.0f} records/s end to end")


if __name__ == "__main__":
    main()
