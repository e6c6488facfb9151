"""The docs are the product's: every command, option, connector, output field and exit code is in
them, generated from the code and current; the README is a short front door whose commands work."""

import json
import re
import shlex
import shutil
from pathlib import Path

import click
import pytest

from conftest import run_cli
from scanner.cli import main
from scanner.cli.docs import commands, stale
from scanner.core import errors

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"


def test_the_generated_docs_are_current():
    import difflib

    changes = {p: "".join(difflib.unified_diff(p.read_text(encoding="utf-8").splitlines(True), text.splitlines(True),
                                               n=0)) for p, text in stale(DOCS).items()}
    assert changes == {}, "regenerate: python -m scanner.cli.docs"


def test_every_command_and_option_is_in_the_cli_reference():
    reference = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = click.Context(main, info_name="dhscan")
    missing = []
    for path, command, _ in commands(main, root):
        if f"## `{path}`" not in reference:
            missing.append(path)
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt not in reference:
                    missing.append(f"{path} {opt}")
    assert len(list(commands(main, root))) >= 8 and missing == []


def test_every_exit_code_is_documented():
    page = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    names = [n for n in dir(errors) if n.startswith("EXIT_") and isinstance(getattr(errors, n), int)]
    assert sorted(names) == sorted(errors.EXIT_CODES)
    for name in names:
        assert re.search(rf"\| {getattr(errors, name)} \| `{name}` \|", page), name


def test_every_doc_page_is_linked_from_the_readme_and_every_link_resolves():
    pages = {p.name for p in DOCS.glob("*.md")}
    linked = set(re.findall(r"\(docs/([\w-]+\.md)", README))
    assert pages == linked
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_readme_is_a_short_front_door_and_nothing_speaks_of_how_it_was_made():
    assert len(README.splitlines()) <= 200
    diary = re.compile(r"(?i)\b(first|second|third|fourth|fifth|sixth|this|last|next|previous) session\b|"
                       r"development machine|machine (this|it) was built|issue ?#\d+|throughput issue|"
                       r"\bsession \d+\b")
    files = [ROOT / "README.md", *DOCS.rglob("*.md"), ROOT / "Dockerfile",
             *(p for package in ("scanner", "detectors", "retention", "benchmarks", "fixtures", "tests")
               for p in (ROOT / package).rglob("*.py"))]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in files
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if diary.search(line) and p.name != "test_docs.py"]
    assert found == []
    timings = re.compile(r"\d\s?µs\b")  # timings belong in docs/performance.md, not in code comments
    assert [str(p) for p in files if p.suffix == ".py" and "benchmarks" not in p.parts
            and timings.search(p.read_text(encoding="utf-8"))] == []


def test_ci_runs_both_readme_commands():
    blocks = re.findall(r"```\n(.*?)\n```", README, flags=re.S)
    demo, tests = blocks[0], blocks[1]
    assert "dhscan" in demo and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert demo in ci and tests in ci


def quick_start_commands() -> list[str]:
    """The README's quick-start `dhscan` lines but those reading S3."""
    lines = []
    for section in re.split(r"\n## ", README):
        if section.startswith("Quick start"):
            for block in re.findall(r"```\n(.*?)\n```", section, flags=re.S):
                lines += [line for line in block.splitlines() if line.startswith("dhscan ")
                          and "s3://" not in line]
    return lines


@pytest.mark.slow
def test_the_readme_quick_starts_run_as_written(tmp_path, monkeypatch):
    from fixtures.generate import generate

    lines = quick_start_commands()
    assert any(line.startswith("dhscan sweep") for line in lines) and any("dhscan erase" in line for line in lines)
    from faker import Faker

    generate(tmp_path / "demo-data", records=30, seed=99)
    fake = Faker("en_US")
    fake.seed_instance(99)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "customers.csv").write_text(
        "customer_id,email,phone\n" + "".join(f"c{i},{fake.email()},{fake.phone_number()}\n" for i in range(50)))
    shutil.copytree(DOCS / "examples", tmp_path / "docs" / "examples")
    monkeypatch.chdir(tmp_path)
    for line in lines:
        result = run_cli(*shlex.split(line)[1:])
        assert result.exit_code in (errors.EXIT_OK, errors.EXIT_FINDINGS), f"{line}\n{result.output}"
    assert (tmp_path / "sweep-out" / "deletion_worklist.apply-log.jsonl").exists()
    assert (tmp_path / "erase-out" / "summary.json").exists()
    assert json.loads((tmp_path / "redacted-out" / "evidence.json").read_text())["redaction"]["mode"] == "copy"
    assert (tmp_path / "redacted-out" / "redacted" / "chat_eval" / "chat_eval.parquet").exists()


def test_the_example_files_are_valid():
    import yaml

    from retention.erase import ErasureRequest
    from retention.holds import HoldsFile
    from retention.policy import Policy
    from scanner.core.yamlconfig import load_model
    from scanner.runs.settings import RunConfig

    examples = DOCS / "examples"
    assert load_model(Policy, examples / "retention.yaml").rules
    assert load_model(HoldsFile, examples / "holds.yaml").holds
    assert load_model(ErasureRequest, examples / "request.yaml").subjects
    assert load_model(RunConfig, examples / "sweep.yaml").policy == "retention.yaml"
    job = yaml.safe_load((examples / "cronjob.yaml").read_text())
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:3] == ["sweep", "--config", "/config/sweep.yaml"]
