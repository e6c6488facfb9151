"""A redaction worklist row carried out on its record as it is read now: the values it lists, found again
at their places in the record's texts and checked against their digests, each with its replacement."""

from __future__ import annotations

from detectors.masking import shown
import dataclasses

from detectors.normalize import digest, record_digest
from detectors.operators import OperatorSpec, Redactor
from retention.evaluate import Decision, Evaluator
from scanner.connectors.replacing import Replacements
from scanner.core.records import Finding, Record


class Plan(Replacements):
    """One record's replacements, and the digests of the values written in place of the originals."""

    def __init__(self, mapping: dict[str, str], inside_words: set[str], written: set[str]):
        super().__init__(mapping, inside_words)
        self.written = written

    def content_after(self, key: bytes, record: Record) -> str:
        """The content digest the record will have once redacted, as its texts, id and attributes say (logged
        before the rewrite, so a run killed right after it still knows the record as one it wrote)."""
        counted = self.replaced
        after = dataclasses.replace(record, record_id=self.text(record.record_id), content_digest=None,
                                    texts={k: self.text(v) for k, v in record.texts.items()},
                                    attributes={k: self.text(v) for k, v in record.attributes.items()})
        self.replaced = counted
        return record_digest(key, after)


def written_by_us(findings: list, written: set[str]) -> list[bool]:
    """For each of one record's findings (Findings, or findings.jsonl lines), whether it is a value a
    redaction wrote: its digest is one of `written`, or it lies inside (overlaps) such a finding in the
    same field, as the digits of a fake IBAN a phone recognizer also reads."""
    def get(f, name):
        return f[name] if isinstance(f, dict) else getattr(f, name)

    known = [f for f in findings if get(f, "digest") in written]
    return [get(f, "digest") in written or any(
        get(k, "field") == get(f, "field") and get(k, "start") < get(f, "end") and get(f, "start") < get(k, "end")
        for k in known) for f in findings]


class RedactEvaluator(Evaluator):
    """A redaction's evaluator: in a record an earlier redaction wrote and nobody changed since (its content
    digest is one of `records`), the values it wrote (`written`, digests) are not redacted again: a
    pseudonym looks like personal data by design. In any other record every finding is redacted, one that
    happens to equal a pseudonym (a real Mary Smith) included."""

    def __init__(self, policy, holds, now, key: bytes, written: set[str] = frozenset(),
                 records: set[str] = frozenset()):
        super().__init__(policy, holds, now, key)
        self.written, self.records = written, records

    def decide(self, record: Record, findings: list[Finding], hold_findings: list[Finding] | None = None) -> Decision:
        if self.records and (record.content_digest or record_digest(self.key, record)) in self.records:
            ours = written_by_us(findings, self.written)
            findings = [f for f, mine in zip(findings, ours) if not mine]
        return super().decide(record, findings, hold_findings)


class NotAsListed(Exception):
    """A listed value is not at its place in the record any more (the row does not fit the record)."""


class Redactors:
    """One Redactor per set of operators, so each value's replacement is computed once a run."""

    def __init__(self, key: bytes):
        self.key = key
        self._made: dict[str, Redactor] = {}
        self._digests: dict[tuple[str, str, str], str] = {}

    def digest(self, entity_type: str, value: str, phone_region: str) -> str:
        """The value's finding digest, once per distinct value (a phone's normalization parses it)."""
        known = self._digests.get((entity_type, value, phone_region))
        if known is None:
            known = self._digests[(entity_type, value, phone_region)] = digest(self.key, entity_type, value,
                                                                               phone_region)
        return known

    def of(self, operators: dict[str, dict], phone_region: str) -> Redactor:
        name = repr((phone_region, sorted((t, sorted(spec.items())) for t, spec in operators.items())))
        if name not in self._made:
            self._made[name] = Redactor({t: OperatorSpec(**spec) for t, spec in operators.items()}, self.key,
                                        phone_region)
        return self._made[name]


def _inside_word(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isalnum() and text[start].isalnum()) or \
        (end < len(text) and text[end].isalnum() and text[end - 1].isalnum())


def replacements(row: dict, record: Record, key: bytes, redactors: Redactors) -> Plan:
    """What the row replaces in `record` (the record the row lists, as re-read and verified)."""
    fields = {shown(key, name): name for name in record.texts}
    redactor = redactors.of(row["operators"], row["phone_region"])
    mapping, inside, written = {}, set(), set()
    for item in row["redactions"]:
        text = record.texts.get(fields.get(item["field"], ""))
        value = text[item["start"]:item["end"]] if text is not None else ""
        if not value or redactors.digest(item["entity_type"], value, row["phone_region"]) != item["digest"]:
            raise NotAsListed(f"a listed {item['entity_type']} is not where the sweep found it")
        if value not in mapping:
            mapping[value] = redactor.replacement(item["entity_type"], value)
        written.add(redactors.digest(item["entity_type"], mapping[value], row["phone_region"]))
        if _inside_word(text, item["start"], item["end"]):
            inside.add(value)
    return Plan(mapping, inside, written)


def left_in(replaced: Replacements, record: Record) -> bool:
    """Whether a replaced value still stands in the record's texts (as re-read after the rewrite)."""
    return replaced.left_in(list(record.texts.values()))
