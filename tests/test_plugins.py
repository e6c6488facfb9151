"""A third-party connector, installed by entry point like the built-in ones, is swept and its
worklist applied: deletion is a capability a connector declares, not a list of names in apply."""

import json
import textwrap
from pathlib import Path

import pytest
from faker import Faker

from conftest import read_jsonl, run_cli
from scanner.connectors import installed_connectors
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED

PLUGIN = '''
"""Notes files: one record a line, `ID<TAB>TEXT`."""
from pathlib import Path

from scanner.connectors.base import REWRITES_FILES, Candidate, FileConnector
from scanner.connectors.jsonvalues import lines
from scanner.connectors.rewriting import Rewrite, check_id, rewrite_text
from scanner.core.records import Record


class NotesConnector(FileConnector):
    name = "notes"
    extensions = (".notes",)
    description = "tab-separated notes"
    deletes = REWRITES_FILES

    def file_candidates(self, stream, file, report):
        for row, raw in enumerate(lines(stream)):
            yield Candidate(file.relpath, row, lambda raw=raw, row=row: self._record(file, row, raw))

    def _record(self, file, row, raw):
        note_id, _, text = raw.decode().partition("\\t")
        locator = {"file": file.relpath, "record": row + 1, "size": file.size, "mtime_ns": file.mtime_ns,
                   "id_field": "id"}
        return Record(self.source, self.kind, note_id, locator, {"text": text}, id_fields=frozenset())

    def rewrite_file(self, path: Path, drop, ids) -> Rewrite:
        def copy(stream, sink):
            removed = set()
            for number, raw in enumerate(lines(stream), start=1):
                if number in drop:
                    check_id({"id": raw.decode().partition("\\t")[0]}, number, ids)
                    removed.add(number)
                else:
                    sink.write(raw + b"\\n")
            return removed
        return rewrite_text(path, drop, copy)


class ReadOnlyNotesConnector(NotesConnector):
    name = "ronotes"
    description = "tab-separated notes, read only"
    deletes = None
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A distribution `dhscan-notes` on sys.path whose entry points add two connectors."""
    site = tmp_path / "site"
    (site / "dhscan_notes-0.1.dist-info").mkdir(parents=True)
    (site / "dhscan_notes.py").write_text(textwrap.dedent(PLUGIN))
    (site / "dhscan_notes-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: dhscan-notes\n"
                                                                    "Version: 0.1\n")
    (site / "dhscan_notes-0.1.dist-info" / "entry_points.txt").write_text(
        "[dhscan.connectors]\nnotes = dhscan_notes:NotesConnector\nronotes = dhscan_notes:ReadOnlyNotesConnector\n")
    monkeypatch.syspath_prepend(str(site))
    installed_connectors.cache_clear()
    yield
    installed_connectors.cache_clear()


def write_notes(path: Path, seed: int) -> list[tuple[str, str, bool]]:
    """(id, text, holds an email) for each line written."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    notes = []
    for n in range(40):
        with_email = n % 3 == 0
        text = (f"Please follow up with {fake.email()} about the refund." if with_email
                else f"The {fake.word()} report was filed on time.")
        notes.append((f"note-{n:03d}", text, with_email))
    path.write_text("".join(f"{i}\t{t}\n" for i, t, _ in notes))
    return notes


POLICY = "version: 1\nrules:\n  - id: no-emails\n    match: {entities: [EMAIL_ADDRESS]}\n    action: delete\n"


def test_a_third_party_connector_is_listed_with_its_capability(plugin):
    listed = {row["scheme"]: row for row in json.loads(run_cli("connectors", "--json").output)}
    assert listed["notes:"]["distribution"] == "dhscan-notes 0.1"
    assert listed["notes:"]["deletes"] == "rewrites files" and listed["ronotes:"]["deletes"] is None
    assert listed["qdrant:"]["deletes"] == "by id" and listed["parquet:"]["deletes"] == "rewrites files"


def test_a_worklist_is_applied_to_a_third_party_connector_holds_and_all(plugin, tmp_path):
    notes = write_notes(tmp_path / "inbox.notes", seed=4242)
    (tmp_path / "policy.yaml").write_text(POLICY)
    result = run_cli("sweep", f"notes:{tmp_path / 'inbox.notes'}", "--full", "--policy", tmp_path / "policy.yaml",
                     "--out", tmp_path / "sweep")
    assert result.exit_code == EXIT_OK, result.output
    rows = read_jsonl(tmp_path / "sweep" / "deletion_worklist.jsonl")
    with_email = [(i, t) for i, t, e in notes if e]
    assert len(rows) == len(with_email) and {r["locator"]["record"] for r in rows} == \
        {n + 1 for n, (_, _, e) in enumerate(notes) if e}
    held_email = with_email[0][1].split()[4]
    (tmp_path / "holds.yaml").write_text(f"holds:\n  - id: LH-1\n    matter: Refund dispute\n    scope:\n"
                                         f"      subjects: [{{email: {held_email}}}]\n")

    result = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--holds", tmp_path / "holds.yaml",
                     "--execute", "--yes")
    assert result.exit_code == EXIT_FINDINGS, result.output  # one record skipped under its hold
    left = (tmp_path / "inbox.notes").read_text().splitlines()
    assert left == [f"{i}\t{t}" for i, t, e in notes if not e or t == with_email[0][1]]
    log = read_jsonl(tmp_path / "sweep" / "deletion_worklist.apply-log.jsonl")
    outcomes = [e["outcome"] for e in log if e["event"] == "row"]
    assert sorted(outcomes) == sorted(["skipped_hold"] + ["deleted"] * (len(with_email) - 1))
    assert held_email not in (tmp_path / "sweep" / "deletion_worklist.apply-log.jsonl").read_text()


def test_a_connector_that_cannot_delete_fails_its_rows_in_one_line_and_keeps_the_file(plugin, tmp_path):
    write_notes(tmp_path / "inbox.notes", seed=77)
    before = (tmp_path / "inbox.notes").read_bytes()
    (tmp_path / "policy.yaml").write_text(POLICY)
    run_cli("sweep", f"ronotes:{tmp_path / 'inbox.notes'}", "--full", "--policy", tmp_path / "policy.yaml",
            "--out", tmp_path / "sweep")
    result = run_cli("apply", tmp_path / "sweep" / "deletion_worklist.jsonl", "--no-holds", "--execute", "--yes")
    assert result.exit_code == EXIT_SOURCE_FAILED
    assert "the ronotes connector cannot delete records" in result.output
    assert (tmp_path / "inbox.notes").read_bytes() == before
