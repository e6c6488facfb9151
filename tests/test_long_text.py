"""Texts longer than the chunk limit are split, and what lies near a cut is still found once."""

import json

from conftest import read_jsonl, run_cli
from scanner.core.errors import EXIT_OK


def test_long_text_findings_have_whole_text_offsets(tmp_path):
    filler = "The quick brown fox jumps over the lazy dog. " * 60
    emails = [f"user{i}@example.com" for i in range(6)]
    text = filler + filler.join(f" {e} " for e in emails)
    data = tmp_path / "long.jsonl"
    data.write_text(json.dumps({"id": "long-1", "body": text}) + "\n")
    config = tmp_path / "c.yaml"
    config.write_text("detection:\n  max_text_length: 1000\n  entities: [EMAIL_ADDRESS]\n")
    result = run_cli("scan", data, "--full", "--config", config, "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK
    found = read_jsonl(tmp_path / "out" / "findings.jsonl")
    assert len(text) > 10_000
    assert sorted(text[f["start"]:f["end"]] for f in found) == sorted(emails)
