"""`dhscan check`: every problem of a config, its policy, holds and sources at once, without scanning."""

from pathlib import Path

from conftest import run_cli

from scanner.core.errors import EXIT_OK, EXIT_USAGE

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def test_every_problem_is_reported_at_once_in_one_line_each(tmp_path):
    (tmp_path / "retention.yaml").write_text(
        "version: 1\nrules:\n  - id: a\n    action: delete\n    colour: red\n  - id: b\n    action: explode\n")
    (tmp_path / "run.yaml").write_text(
        'sources: [missing.jsonl, "nope:thing"]\ndetection:\n  min_score: 3\n  model: no_such_model\n'
        "policy: retention.yaml\nholds: holds.yaml\n")
    result = run_cli("check", "--config", tmp_path / "run.yaml")
    assert result.exit_code == EXIT_USAGE
    errors = result.stderr.splitlines()
    expected = [f"{tmp_path / 'run.yaml'}:3: detection.min_score: Input should be less than or equal to 1",
                "spaCy model 'no_such_model' is not installed",
                f"{tmp_path / 'retention.yaml'}:5: rules.0.colour: unknown key",
                f"{tmp_path / 'retention.yaml'}:7: rules.1.action: Input should be",
                f"{tmp_path / 'holds.yaml'}: cannot read",
                f"source 'missing': no such file or folder: {tmp_path / 'missing.jsonl'}",
                "source 'nope:",
                ]
    assert len(errors) == len(expected), errors
    for line, start in zip(errors, expected):
        assert line.startswith(f"dhscan: error: {start}"), (line, start)


def test_a_valid_setup_passes_and_says_what_it_checked(tmp_path, demo_data):
    result = run_cli("check", demo_data / "support_eval.jsonl", f"parquet:{demo_data / 'chat_eval.parquet'}",
                     "--policy", EXAMPLES / "retention.yaml", "--holds", EXAMPLES / "holds.yaml")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok: policy ") and "rule(s)" in line for line in lines)
    assert any(line.startswith("ok: holds ") and "hold(s)" in line for line in lines)
    assert "ok: source 'support_eval' (jsonl): 1 part(s)" in lines
    assert not (tmp_path / "out").exists() and not list(demo_data.glob("**/*.tmp"))  # nothing written


def test_two_sources_of_one_name_are_a_problem(demo_data):
    source = str(demo_data / "support_eval.jsonl")
    result = run_cli("check", source, source)
    assert result.exit_code == EXIT_USAGE and "are both named 'support_eval'" in result.stderr
