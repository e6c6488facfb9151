"""results.sarif: checked against the official SARIF 2.1.0 schema and read by Microsoft's SARIF
Multitool (its `validate`), both from the npm package @microsoft/sarif-multitool that CI installs."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import dataset_args, expected_identifiers, read_jsonl, run_cli
from scanner.core.errors import EXIT_OK, EXIT_SOURCE_FAILED

PACKAGE = Path("node_modules/@microsoft/sarif-multitool-linux")


def multitool() -> Path | None:
    """The Multitool's folder: $SARIF_MULTITOOL_DIR, or where `npm install` put it in the checkout."""
    for folder in (os.environ.get("SARIF_MULTITOOL_DIR"), Path(__file__).parent.parent / ".ci-tools" / PACKAGE):
        if folder and (Path(folder) / "Sarif.Multitool").exists():
            return Path(folder)
    if os.environ.get("CI"):
        pytest.fail("CI installs @microsoft/sarif-multitool (.ci/run); it is missing")
    pytest.skip("the SARIF Multitool is not installed (npm install --prefix .ci-tools @microsoft/sarif-multitool)")


@pytest.fixture(scope="module")
def sarif_scan(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sarif-scan")
    os.environ["DHSCAN_KEY"] = "dhscan-test-key-0123456789abcdef"  # module-scoped: before the autouse fixture
    missing = out / "no-such.jsonl"
    result = run_cli("scan", *dataset_args(demo_data), missing, "--full", "--format", "sarif", "--out", out)
    assert result.exit_code == EXIT_SOURCE_FAILED, result.output
    return out


def results_of(out: Path) -> list[dict]:
    return json.loads((out / "results.sarif").read_text())["runs"][0]["results"]


def test_one_result_per_finding_with_its_rule_and_line(sarif_scan, demo_data, truth):
    findings = read_jsonl(sarif_scan / "findings.jsonl")
    results = results_of(sarif_scan)
    assert [(r["ruleId"], r["properties"]["digest"], r["properties"]["field"]) for r in results] == \
        [(f["entity_type"], f["digest"], f["field"]) for f in findings]
    log = json.loads((sarif_scan / "results.sarif").read_text())
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    shown = {(r["properties"]["source"], r["properties"]["recordId"], r["properties"]["field"], r["ruleId"],
              r["properties"]["digest"]) for r in results}
    assert expected_identifiers(truth) <= shown  # every planted identifier, as the findings show it
    # a JSON Lines or CSV finding points at the line its record is on
    lined = [r for r in results if r["properties"]["source"] in ("support_eval", "qa_eval")]
    assert lined and all("region" in r["locations"][0]["physicalLocation"] for r in lined)
    jsonl = demo_data.joinpath("support_eval.jsonl").read_text().splitlines()
    for r in lined:
        location = r["locations"][0]
        if r["properties"]["source"] == "support_eval":
            assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("support_eval.jsonl")
            line = jsonl[location["physicalLocation"]["region"]["startLine"] - 1]
            assert json.loads(line)["id"] == r["properties"]["recordId"]
            assert location["logicalLocations"][0]["fullyQualifiedName"] == \
                f"support_eval/{r['properties']['recordId']}/{r['properties']['field']}"
    # Parquet and HF rows: their file as a whole (no invented line) and the row number
    rows = [r for r in results if r["properties"]["source"] in ("chat_eval", "hf_eval")]
    assert rows and all(r["properties"]["row"] >= 1 for r in rows)
    for r in rows:
        physical = r["locations"][0]["physicalLocation"]
        path = demo_data / physical["artifactLocation"]["uri"].split("/" + demo_data.name + "/", 1)[1]
        assert physical["region"] == {"byteOffset": 0, "byteLength": path.stat().st_size}


def test_a_failed_source_is_a_notification_and_no_planted_value_is_in_the_file(sarif_scan, truth):
    text = (sarif_scan / "results.sarif").read_text()
    invocation = json.loads(text)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert [n["level"] for n in invocation["toolExecutionNotifications"]] == ["error"]
    assert "no-such" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert not [t["value"] for t in truth if t["value"] in text]


def test_fingerprints_are_stable_across_runs_and_differ_per_finding(sarif_scan, demo_data, tmp_path):
    again = run_cli("scan", *dataset_args(demo_data), "--full", "--format", "sarif", "--out", tmp_path / "again")
    assert again.exit_code == EXIT_OK, again.output
    first = [r["partialFingerprints"]["dhscanFinding/v1"] for r in results_of(sarif_scan)]
    assert first == [r["partialFingerprints"]["dhscanFinding/v1"] for r in results_of(tmp_path / "again")]
    assert len(set(first)) == len(first)


def test_the_file_is_valid_sarif_2_1_0_to_the_schema_and_the_multitool(sarif_scan, tmp_path):
    import jsonschema

    folder = multitool()
    schema = json.loads((folder / "sarif-2.1.0.json").read_text())
    log = json.loads((sarif_scan / "results.sarif").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    report = tmp_path / "validation.sarif"
    done = subprocess.run([str(folder / "Sarif.Multitool"), "validate", str(sarif_scan / "results.sarif"),
                           "-o", str(report), "--log", "ForceOverwrite", "--level", "Error;Warning"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"})
    assert done.returncode == 0, done.stdout[-2000:]
    problems = json.loads(report.read_text())["runs"][0]["results"]
    # only the rule's help URI is asked for, which dhscan cannot give offline
    assert {p["ruleId"] for p in problems if p.get("level", "warning") in ("error", "warning")} <= {"SARIF2005"}


def test_sweep_writes_results_sarif_too(demo_data, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nrules:\n  - id: no-emails\n    match: {entities: [EMAIL_ADDRESS]}\n"
                      "    action: delete\n")
    source = demo_data / "support_eval.jsonl"
    result = run_cli("sweep", source, "--policy", policy, "--format", "sarif", "--format", "parquet",
                     "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK, result.output
    findings = read_jsonl(tmp_path / "out" / "findings.jsonl")
    assert [r["properties"]["digest"] for r in results_of(tmp_path / "out")] == [f["digest"] for f in findings]
    assert (tmp_path / "out" / "deletion_worklist.parquet").exists()


def test_a_scan_config_may_ask_for_sarif_but_not_for_worklists(demo_data, tmp_path):
    config = tmp_path / "scan.yaml"
    config.write_text(f"sources: [{demo_data / 'qa_eval.csv'}]\nout: {tmp_path / 'o'}\nformat: [sarif]\n")
    assert run_cli("scan", "--config", config).exit_code == EXIT_OK
    assert results_of(tmp_path / "o")
    config.write_text(f"sources: [{demo_data / 'qa_eval.csv'}]\nout: {tmp_path / 'o'}\nformat: [parquet]\n")
    result = run_cli("scan", "--config", config)
    assert result.exit_code == 2 and "a scan writes no worklists" in result.output
