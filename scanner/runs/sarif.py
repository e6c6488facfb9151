"""results.sarif: the run's findings as SARIF 2.1.0, for code-scanning tools. One result per finding,
with the entity type as its rule id (public API, like the entity types themselves), the file and line
where a file source has lines, a logical location (source, record, field) everywhere, masked previews
only, and a partial fingerprint from keyed digests, so a finding keeps its fingerprint from run to run
under the same key. Results are streamed as records are scanned; tool, rules and invocation follow."""

from __future__ import annotations

import json
from typing import IO

from scanner import __version__
from scanner.core.digests import finding_fingerprint
from scanner.core.records import Finding, Record

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "dhscanFinding/v1"


class SarifWriter:
    def __init__(self, stream: IO[str], key: bytes):
        self.stream, self.key = stream, key
        self.rules: dict[str, int] = {}
        self.count = 0
        stream.write(f'{{"$schema":{json.dumps(SCHEMA)},"version":"2.1.0","runs":[{{"results":[')

    def add(self, connector, record: Record, findings: list[Finding]) -> None:
        for finding in findings:
            self.stream.write(("," if self.count else "") + json.dumps(self.result(connector, record, finding)))
            self.count += 1

    def result(self, connector, record: Record, finding: Finding) -> dict:
        rule_index = self.rules.setdefault(finding.entity_type, len(self.rules))
        # the finding's own record id and field name: already shown masked where they hold an identifier
        logical = {"fullyQualifiedName": f"{finding.source}/{finding.record_id}/{finding.field}", "kind": "member"}
        location: dict = {"logicalLocations": [logical]}
        uri = connector.file_uri(record.locator["file"]) if record.locator.get("file") else None
        if uri is not None:
            physical: dict = {"artifactLocation": {"uri": uri}}
            if record.locator.get("line"):
                physical["region"] = {"startLine": int(record.locator["line"])}
            elif record.locator.get("size"):  # a row of a binary file (Parquet, Arrow): the whole file, no line
                physical["region"] = {"byteOffset": 0, "byteLength": int(record.locator["size"])}
            location["physicalLocation"] = physical
        return {
            "ruleId": finding.entity_type,
            "ruleIndex": rule_index,
            "level": "error" if finding.production_match else "warning",
            "message": {"text": f"{finding.entity_type} ({finding.preview}) in field {finding.field} of record "
                                f"{finding.record_id}, score {finding.score:.2f}"
                                + ("; matches a production fingerprint" if finding.production_match else "")},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT: finding_fingerprint(self.key, finding)},
            "properties": {"source": finding.source, "kind": finding.kind, "recordId": finding.record_id,
                           "field": finding.field,
                           "start": finding.start, "end": finding.end, "recognizer": finding.recognizer,
                           "digest": finding.digest, "preview": finding.preview,
                           "productionMatch": finding.production_match,
                           **({"row": record.locator["record"]} if "record" in record.locator else {})},
        }

    def finish(self, results, run_id: str, key_id: str) -> None:
        """The run's tool (every rule a result names), whether each source was read, and its identity."""
        rules = [{"id": entity, "name": entity.title().replace("_", "") + "Found",
                  "shortDescription": {"text": f"Personal data: {entity}"},
                  "defaultConfiguration": {"level": "warning"},
                  "properties": {"tags": ["privacy", "personal-data"]}} for entity in self.rules]
        notifications = [{"level": "error", "message": {"text": f"source {r.name!r}: {r.error}"}}
                         for r in results if r.status == "failed"]
        tail = {
            "tool": {"driver": {"name": "dhscan", "version": __version__, "semanticVersion": __version__,
                                "rules": rules}},
            "invocations": [{"executionSuccessful": not notifications,
                             "toolExecutionNotifications": notifications}],
            "automationDetails": {"id": f"dhscan/{run_id}"},
            "columnKind": "unicodeCodePoints",
            "properties": {"keyId": key_id, "findings": self.count},
        }
        self.stream.write("]," + json.dumps(tail)[1:] + "]}\n")
