"""Output lines and JSON files; every file is written through scanner.core.durable."""

from __future__ import annotations

import json
import math
from pathlib import Path

from scanner.core.durable import atomic_write
from scanner.core.formats import FINDINGS_FORMAT
from scanner.core.records import Finding


def write_json(path: Path, data) -> None:
    with atomic_write(path) as handle:
        json.dump(data, handle, indent=2, sort_keys=False, default=str)
        handle.write("\n")


_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # json.dumps builds one a call


def json_line(data) -> str:
    return _LINE_ENCODER.encode(data) + "\n"


_STRING = json.encoder.encode_basestring  # a JSON string, non-ASCII kept: what _LINE_ENCODER writes


def finding_line(finding: Finding) -> str:
    """`json_line(finding.to_json())`, written from a template: twice as fast (the encoder walks a
    dict built for it). Falls back to the encoder for a score that is not a finite float."""
    score = round(finding.score, 4)
    if type(score) is not float or not math.isfinite(score):
        return json_line(finding.to_json())
    return (f'{{"format_version":{FINDINGS_FORMAT},"source":{_STRING(finding.source)},"kind":{_STRING(finding.kind)},'
            f'"record_id":{_STRING(finding.record_id)},"field":{_STRING(finding.field)},'
            f'"entity_type":{_STRING(finding.entity_type)},"score":{score!r},"start":{int(finding.start)!r},'
            f'"end":{int(finding.end)!r},"recognizer":{_STRING(finding.recognizer)},'
            f'"digest":{_STRING(finding.digest)},"preview":{_STRING(finding.preview)},'
            f'"production_match":{"true" if finding.production_match else "false"}}}\n')
