"""`--since-state DIR`: an incremental scan. The state folder holds, for every record the last run read, its
keyed content digest (id, texts, time, attributes: scanner/core/records.py), its findings and its texts'
languages. A run still reads every record, but detects only those that are new or changed since; the
others take their findings from the state. So the outputs are complete and the same as a full scan's:
a changed record is detected again, a removed one is not read and leaves the outputs, an added one is
detected. The state is used only when it was made by the same tool version, detection config, key and
production fingerprints; otherwise every record is detected and the state made afresh."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from scanner.core.digests import sha256_file
from scanner.core.durable import atomic_write
from scanner.core.errors import UsageError
from scanner.core.records import Finding, Record

STATE_FORMAT = 1
_FINDING_FIELDS = [f.name for f in fields(Finding)]


def state_identity(config, engine) -> dict:
    """What findings depend on besides a record: a state made under anything else is not used."""
    from importlib.metadata import version

    from detectors.engine import model_version
    from detectors.normalize import NORMALIZATION_VERSION
    from scanner import __version__
    from scanner.runs.evidence import config_digest

    fingerprints = config.detection.fingerprints
    if fingerprints and Path(fingerprints).is_dir():
        fingerprints = next(iter(sorted(Path(fingerprints).glob("*"))), None)
    return {"format": STATE_FORMAT, "tool_version": __version__, "config_digest": config_digest(config, engine),
            "key_id": engine.key.key_id,
            "detection": {"presidio": version("presidio-analyzer"), "spacy": version("spacy"),
                          "pipelines": {lang: [name, model_version(name)]
                                        for lang, name in sorted(engine.pipeline_names.items())},
                          "recognizers": engine.recognizers, "normalization": NORMALIZATION_VERSION},
            "fingerprints_sha256": sha256_file(fingerprints) if fingerprints else None}


class ScanState:
    def __init__(self, folder: str | Path, key: bytes, identity: dict):
        self.folder, self.key, self.identity = Path(folder), key, identity
        self.earlier: dict[tuple[str, str], tuple[list[dict], list]] = {}
        self.now: dict[tuple[str, str], tuple[list[dict], list]] = {}
        self.reused = self.detected = 0
        self.reason = self._load()

    def _load(self) -> str:
        meta = self.folder / "state.json"
        if not meta.exists():
            return "no state yet: every record detected"
        try:
            earlier = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--since-state {self.folder}: state.json is not readable: {exc}") from None
        if earlier.get("identity") != self.identity:
            changed = sorted(k for k in self.identity if (earlier.get("identity") or {}).get(k) != self.identity[k])
            return f"state made with another {', '.join(changed)}: every record detected"
        try:
            with open(self.folder / "records.jsonl", encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    self.earlier[(row["source"], row["digest"])] = (row["findings"], row["languages"])
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"--since-state {self.folder}: records.jsonl is not readable: {exc}") from None
        return "state used"

    def digest(self, record: Record) -> str:
        from detectors.normalize import record_digest

        return record.content_digest or record_digest(self.key, record)

    def lookup(self, record: Record, digest: str):
        """(findings, text languages) of an unchanged record, or None."""
        found = self.earlier.get((record.source, digest))
        if found is None:
            return None
        self.reused += 1
        return [Finding(**{k: f[k] for k in _FINDING_FIELDS}) for f in found[0]], tuple(map(tuple, found[1]))

    def keep(self, record: Record, digest: str, findings: list[Finding], languages) -> None:
        self.now[(record.source, digest)] = ([{k: getattr(f, k) for k in _FINDING_FIELDS} for f in findings],
                                            [list(pair) for pair in languages])

    def save(self) -> None:
        """This run's records become the state (what it did not read, it forgets)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.folder / "records.jsonl") as handle:
            for (source, digest), (found, languages) in self.now.items():
                handle.write(json.dumps({"source": source, "digest": digest, "findings": found,
                                         "languages": languages}, ensure_ascii=False) + "\n")
        with atomic_write(self.folder / "state.json") as handle:
            handle.write(json.dumps({"identity": self.identity, "records": len(self.now)}, indent=2) + "\n")

    def summary(self) -> dict:
        return {"state": str(self.folder), "records_reused": self.reused, "records_detected": self.detected,
                "note": self.reason}
