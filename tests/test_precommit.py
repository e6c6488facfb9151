"""The pre-commit hook, installed by the real pre-commit tool from this checkout into its own
environment, run on a throwaway git repository's committed data files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from faker import Faker

from conftest import run_cli
from scanner.core.errors import EXIT_FINDINGS, EXIT_OK, EXIT_SOURCE_FAILED

ROOT = Path(__file__).parent.parent


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    fake = Faker("en_GB")
    fake.seed_instance(21)
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    emails = [fake.email() for _ in range(2)]
    rows = [{"id": "r1", "prompt": "What is the boiling point of water?"},
            {"id": "r2", "prompt": f"Send the invoice to {emails[0]} please"},
            {"id": "r3", "prompt": "Thanks!"},
            {"id": "r4", "prompt": f"My other address is {emails[1]}"}]
    (repo / "data" / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (repo / "data" / "clean.csv").write_text("question,answer\nWhat is 2+2?,4\n")
    (repo / "README.txt").write_text(f"not a data file: {emails[0]}\n")
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.invalid")
    git(repo, "config", "user.name", "ci")
    return repo, emails


def pre_commit(repo: Path, tmp_path: Path, *files: str):
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PIP_CONSTRAINT": str(ROOT / "constraints.txt"),  # the hook's environment gets the pinned versions
           "DHSCAN_KEY": "dhscan-test-key-0123456789abcdef"}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "dhscan", "--verbose",
                           "--files", *files], cwd=repo, env=env, capture_output=True, text=True, timeout=1500)


@pytest.mark.slow
def test_the_hook_fails_on_a_data_file_with_personal_data_and_names_its_lines(repo, tmp_path):
    repo, emails = repo
    git(repo, "add", ".")
    done = pre_commit(repo, tmp_path, "data/evals.jsonl", "data/clean.csv", "README.txt")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    found = [line for line in output.splitlines() if line.startswith("data/")]
    assert [line.split(": ")[0] + ": " + line.split(": ")[1].split()[0] for line in found] == \
        ["data/evals.jsonl:2: EMAIL_ADDRESS", "data/evals.jsonl:4: EMAIL_ADDRESS"]
    assert not any(email in output for email in emails)  # masked previews only
    clean = pre_commit(repo, tmp_path, "data/clean.csv", "README.txt")
    assert clean.returncode == 0, (clean.stdout + clean.stderr)[-3000:]


def test_the_hook_command_names_each_file_by_its_path_and_writes_nothing_beside_them(repo, tmp_path, monkeypatch):
    repo, emails = repo
    (repo / "other").mkdir()
    (repo / "other" / "evals.jsonl").write_text(json.dumps({"id": "x", "prompt": f"cc {emails[1]}"}) + "\n")
    monkeypatch.chdir(repo)
    before = sorted(p.relative_to(repo) for p in repo.rglob("*") if ".git" not in p.parts)
    result = run_cli("hook", "data/evals.jsonl", "other/evals.jsonl", "data/clean.csv")
    assert result.exit_code == EXIT_FINDINGS
    lines = [line.split(" in ")[0] for line in result.output.splitlines() if not line.startswith("dhscan:")]
    assert [line.rsplit(" ", 1)[0] for line in lines] == ["data/evals.jsonl:2: EMAIL_ADDRESS",
                                                          "data/evals.jsonl:4: EMAIL_ADDRESS",
                                                          "other/evals.jsonl:1: EMAIL_ADDRESS"]
    assert sorted(p.relative_to(repo) for p in repo.rglob("*") if ".git" not in p.parts) == before
    assert run_cli("hook", "data/clean.csv").exit_code == EXIT_OK
    assert run_cli("hook").exit_code == EXIT_OK  # pre-commit passes no file: nothing to do
    missing = run_cli("hook", "data/clean.csv", "data/gone.jsonl")
    assert missing.exit_code == EXIT_SOURCE_FAILED and "gone" in missing.output


def test_the_hook_with_a_baseline_reports_only_what_it_does_not_know(repo, monkeypatch):
    repo, emails = repo
    monkeypatch.chdir(repo)
    made = run_cli("baseline", "create", "data/evals.jsonl", "--out", ".dhscan-baseline.json")
    assert made.exit_code == EXIT_OK, made.output
    assert run_cli("hook", "data/evals.jsonl", "--baseline", ".dhscan-baseline.json").exit_code == EXIT_OK
    with open("data/evals.jsonl", "a") as handle:
        handle.write(json.dumps({"id": "r5", "prompt": f"and {emails[0].upper()}"}) + "\n")
    result = run_cli("hook", "data/evals.jsonl", "--baseline", ".dhscan-baseline.json")
    assert result.exit_code == EXIT_FINDINGS
    assert [line.split(": ")[0] for line in result.output.splitlines() if line.startswith("data/")] == \
        ["data/evals.jsonl:5"]
