"""`--cluster`: a real Dask scheduler and two single-threaded workers on 127.0.0.1, started by the
tests with Dask's own CLI; results must equal the local run's, also when a worker is killed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from scanner.core.errors import EXIT_OK, EXIT_SOURCE_FAILED, EXIT_USAGE
from tests.conftest import free_port, read_jsonl, run_cli, stop
from tests.test_production import traces  # noqa: F401 - the production-traces fixture
from tests.test_sweep import run_scenario, scenario  # noqa: F401 - the sweep scenario fixture

pytestmark = pytest.mark.slow
DASK = shutil.which("dask") or os.path.join(os.path.dirname(sys.executable), "dask")


def start_cluster(workers: int = 2):
    """`dask scheduler` and `dask worker`s on loopback only; returns (address, scheduler, [workers])."""
    from dask.distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 **quiet)
    # --no-nanny: the process started here is the worker itself, so killing it kills the worker
    processes = [subprocess.Popen([DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                                   "--no-dashboard"], **quiet) for _ in range(workers)]
    deadline = time.monotonic() + 90
    while True:
        try:
            with Client(address, timeout="2s") as client:
                client.wait_for_workers(workers, timeout=60)
                return address, scheduler, processes
        except (OSError, TimeoutError):
            if time.monotonic() > deadline or scheduler.poll() is not None:
                for process in [scheduler, *processes]:
                    process.kill()
                pytest.fail("dask scheduler or workers did not start")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster():
    address, scheduler, workers = start_cluster()
    yield address
    for process in [*workers, scheduler]:
        stop(process)


@pytest.fixture(scope="module")
def sharded(demo_data, tmp_path_factory) -> list[str]:
    """The fixtures split into several files per source, so each source has several shards."""
    root = tmp_path_factory.mktemp("sharded")
    lines = (demo_data / "support_eval.jsonl").read_text().splitlines(keepends=True)
    (root / "support").mkdir()
    for n in range(4):
        (root / "support" / f"part{n}.jsonl").write_text("".join(lines[n::4]))
    table = pq.read_table(demo_data / "chat_eval.parquet")
    (root / "chat").mkdir()
    third = len(table) // 3
    for n in range(3):
        pq.write_table(table.slice(n * third, third if n < 2 else len(table) - 2 * third),
                       root / "chat" / f"part{n}.parquet", row_group_size=9)
    return [f"jsonl:{root / 'support'}", f"parquet:{root / 'chat'}", str(demo_data / "qa_eval.csv"),
            str(demo_data / "hf_eval")]


def outputs(out: Path) -> tuple[str, dict]:
    summary = json.loads((out / "summary.json").read_text())
    return (out / "findings.jsonl").read_text(), summary["sources"]


@pytest.mark.parametrize("sampling", [["--full"], ["--sample", "37", "--seed", "4"], ["--sample-rate", "0.3"]])
def test_scan_on_the_cluster_equals_the_local_scan(cluster, sharded, tmp_path, sampling):
    local = run_cli("scan", *sharded, *sampling, "--out", tmp_path / "local")
    remote = run_cli("scan", *sharded, *sampling, "--out", tmp_path / "remote", "--cluster", cluster)
    assert local.exit_code == remote.exit_code == EXIT_OK, remote.output
    findings, sources = outputs(tmp_path / "remote")
    assert findings and (findings, sources) == outputs(tmp_path / "local")
    evidence = json.loads((tmp_path / "remote" / "evidence.json").read_text())["cluster"]
    assert evidence["address"] == cluster and evidence["workers"] == 2
    shards = [s for s in evidence["shards"] if s["source"] == "support"]
    assert [s["shard"] for s in shards] == [f"part{n}.jsonl" for n in range(4)]
    chat = [s["shard"] for s in evidence["shards"] if s["source"] == "chat"]
    assert chat[:2] == ["part0.parquet::0", "part0.parquet::1"] and len(chat) > 6  # row groups
    assert {s["shard"] for s in evidence["shards"] if s["source"] == "hf_eval"} == {"train/data-00000-of-00001.arrow",
                                                                                  "test/data-00000-of-00001.arrow"}
    sizes = [[s["size"] for s in json.loads((tmp_path / d / "evidence.json").read_text())["sources"]]
             for d in ("local", "remote")]
    if sampling[0] == "--sample":  # a row-group shard reads what its own file's bottom-k needs there
        assert [s["files"] for s in sizes[0]] == [s["files"] for s in sizes[1]]
        assert sizes[0][1]["row_groups_read"] <= sizes[1][1]["row_groups_read"] <= sizes[1][1]["row_groups_total"]
    else:
        assert sizes[0] == sizes[1]  # files, bytes, row groups and bytes read add up across shards
    assert all(s["seconds"] >= 0 and s["worker"] for s in evidence["shards"])


@pytest.mark.parametrize("sampling", [["--full"], ["--sample", "23", "--seed", "9"], ["--sample", "150", "--seed", "9"],
                                      ["--sample-rate", "0.4"]])
def test_big_files_are_read_in_byte_ranges(cluster, demo_data, tmp_path, monkeypatch, sampling):
    """Files over RANGE_BYTES are read by several workers; line and row numbers, sample keys, skipped
    records and findings equal the whole-file read. Files that cannot be split are one shard each:
    pretty-printed JSON, and CSV with a quote inside a bare cell."""
    import csv

    from scanner.connectors import byteranges

    rows = [json.loads(line) for line in (demo_data / "support_eval.jsonl").read_text().splitlines()]
    lines = [json.dumps(row) + "\n" + ("\n" if n % 7 == 0 else "") for n, row in enumerate(rows)]  # blank lines
    lines.insert(len(lines) // 2, "{not json\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.jsonl").write_text("".join(lines).rstrip("\n"))  # no line end after the last record
    (data / "pretty.json").write_text("".join(json.dumps(row, indent=2) + "\n" for row in rows[:40]))
    tables = tmp_path / "tables"
    tables.mkdir()
    with open(demo_data / "qa_eval.csv", newline="") as source, open(tables / "big.csv", "w", newline="") as target:
        writer = csv.writer(target)
        for n, cells in enumerate(csv.reader(source)):  # cells with line breaks and quotes, quoted
            writer.writerow(cells if n % 4 else [cells[0] + '\nsaid "ok"', *cells[1:]])
    (tables / "stray.csv").write_bytes((tables / "big.csv").read_bytes().replace(b"\n", b'\nx","a\nb",,\n', 1))
    sources = [f"jsonl:{data}", f"csv:{tables}"]
    monkeypatch.setattr(byteranges, "RANGE_BYTES", min((data / "big.jsonl").stat().st_size,
                                                       (tables / "big.csv").stat().st_size) // 5)
    local = run_cli("scan", *sources, *sampling, "--out", tmp_path / "local")
    remote = run_cli("scan", *sources, *sampling, "--out", tmp_path / "remote", "--cluster", cluster)
    assert local.exit_code == remote.exit_code == EXIT_OK, remote.output
    findings, summary = outputs(tmp_path / "remote")
    assert findings and (findings, summary) == outputs(tmp_path / "local")
    if sampling[0] == "--full" or sampling[1] == "150":  # the bad JSON line is in these samples
        assert summary["data"]["records_skipped"] == 1
    step = byteranges.RANGE_BYTES

    def ranges(path: Path) -> list[str]:
        size = path.stat().st_size
        return [f"{path.name}::bytes={start}-{min(start + step, size)}" for start in range(0, size, step)]

    evidence = json.loads((tmp_path / "remote" / "evidence.json").read_text())
    shards = [s["shard"] for s in evidence["cluster"]["shards"]]
    assert shards == ranges(data / "big.jsonl") + ["pretty.json"] + ranges(tables / "big.csv") + ["stray.csv"]
    sizes = [[s["size"] for s in json.loads((tmp_path / d / "evidence.json").read_text())["sources"]]
             for d in ("local", "remote")]
    assert sizes[0] == sizes[1]  # files and bytes add up across ranges


def test_a_chroma_server_is_read_in_offset_ranges(cluster, tmp_path, monkeypatch):
    """Workers read offset ranges of each collection from a real Chroma server; outputs equal the
    local run's, full and sampled (a bottom-k sample merged by point-id keys)."""
    from fixtures.generate import Planter
    from fixtures.vectors import chunks, generate_vectors, write_chroma
    from scanner.connectors import chroma
    from tests.conftest import start_chroma

    paths = generate_vectors(tmp_path / "stores", n=150, seed=7, collection="kb1")
    write_chroma(chunks(Planter(8), 90), paths["chroma"], "notes")
    process, port = start_chroma(paths["chroma"])
    try:
        monkeypatch.setattr(chroma, "SHARD_RECORDS", 40)
        uri = f"chroma+http://127.0.0.1:{port}?name=ch"
        for n, sampling in enumerate((["--full"], ["--sample", "31", "--seed", "3"], ["--sample-rate", "0.3"])):
            local = run_cli("scan", uri, *sampling, "--out", tmp_path / f"local{n}")
            remote = run_cli("scan", uri, *sampling, "--out", tmp_path / f"remote{n}", "--cluster", cluster)
            assert local.exit_code == remote.exit_code == EXIT_OK, remote.output
            findings, summary = outputs(tmp_path / f"remote{n}")
            assert findings and (findings, summary) == outputs(tmp_path / f"local{n}")
            evidence = json.loads((tmp_path / f"remote{n}" / "evidence.json").read_text())
            assert [s["shard"] for s in evidence["cluster"]["shards"]] == [
                f"{name}::offset={start}-{min(start + 40, total)}"
                for name, total in (("kb1", 150), ("notes", 90)) for start in range(0, total, 40)]
            assert evidence["sources"][0]["size"]["collections"] == ["kb1", "notes"]
    finally:
        stop(process)


def test_production_traces_on_the_cluster_equal_local(cluster, traces, tmp_path):  # noqa: F811
    """The production index goes to every worker once; copies, findings and a sweep's age inheritance
    equal the local run's."""
    root, now = traces
    production = ["--production-traces", f"otlp:{root / 'prod_traces.jsonl'}"]
    for where in ("local", "remote"):
        on_cluster = ["--cluster", cluster] if where == "remote" else []
        result = run_cli("scan", root / "eval.jsonl", "--full", *production, "--out", tmp_path / where, *on_cluster)
        assert result.exit_code == EXIT_OK, result.output
    assert outputs(tmp_path / "remote") == outputs(tmp_path / "local")
    copies = [(tmp_path / where / "copied_from_production.jsonl").read_text() for where in ("local", "remote")]
    assert copies[0].count("\n") == 3 and copies[0] == copies[1]
    (root / "policy.yaml").write_text("version: 1\nrules:\n  - id: copies-30d\n    match: {kinds: [eval_dataset]}\n"
                                      "    max_age: 30d\n    inherit_age: true\n    action: delete\n")
    worklists = []
    for where in ("local", "remote"):
        on_cluster = ["--cluster", cluster] if where == "remote" else []
        result = run_cli("sweep", root / "eval.jsonl", "--policy", root / "policy.yaml", "--now", now.isoformat(),
                         *production, "--out", tmp_path / f"sweep_{where}", *on_cluster)
        assert result.exit_code == EXIT_OK, result.output
        # each run has its own run id; every other column is the same wherever it ran
        worklists.append([{k: v for k, v in row.items() if k != "run_id"}
                          for row in read_jsonl(tmp_path / f"sweep_{where}" / "deletion_worklist.jsonl")])
    assert "copy-in-chat" in {row["record_id"] for row in worklists[0]} and worklists[0] == worklists[1]


def test_trace_sources_on_the_cluster_equal_local(cluster, tmp_path):
    import shutil as files

    from fixtures.traces import generate_traces

    made = generate_traces(tmp_path / "traces", spans=40, seed=5)
    for folder, names in (("otlp", ["traces", "genai_events"]), ("langfuse", ["langfuse_traces", "langfuse_observations"]),
                          ("langsmith", ["langsmith_runs", "langsmith_bulk"])):
        (tmp_path / folder).mkdir()
        for name in names:
            files.copy(made[name], tmp_path / folder)
    sources = [f"otlp:{tmp_path / 'otlp'}", f"langfuse:{tmp_path / 'langfuse'}", f"langsmith:{tmp_path / 'langsmith'}",
               f"mlflow:{made['mlflow_traces']}"]
    for sampling in (["--full"], ["--sample", "9", "--seed", "2"]):
        local = run_cli("scan", *sources, *sampling, "--out", tmp_path / "local")
        remote = run_cli("scan", *sources, *sampling, "--out", tmp_path / "remote", "--cluster", cluster)
        assert local.exit_code == remote.exit_code == EXIT_OK, remote.output
        assert outputs(tmp_path / "remote") == outputs(tmp_path / "local")
    assert len(json.loads((tmp_path / "remote" / "evidence.json").read_text())["cluster"]["shards"]) > 10


def test_cluster_from_the_config_file(cluster, sharded, tmp_path):
    config = tmp_path / "scan.yaml"
    config.write_text(f"cluster: {cluster}\ndetection:\n  min_score: 0.5\n")
    local = run_cli("scan", *sharded[:2], "--full", "--out", tmp_path / "local", "--min-score", "0.5")
    remote = run_cli("scan", *sharded[:2], "--full", "--out", tmp_path / "remote", "--config", config)
    assert local.exit_code == remote.exit_code == EXIT_OK, remote.output
    assert outputs(tmp_path / "remote") == outputs(tmp_path / "local")
    assert json.loads((tmp_path / "remote" / "evidence.json").read_text())["cluster"]["address"] == cluster


def test_local_cluster_gives_the_same_outputs(sharded, tmp_path):
    local = run_cli("scan", *sharded[:2], "--full", "--out", tmp_path / "local", "--workers", "1")
    remote = run_cli("scan", *sharded[:2], "--full", "--out", tmp_path / "remote", "--cluster", "local:1")
    assert local.exit_code == remote.exit_code == EXIT_OK, remote.output
    assert outputs(tmp_path / "remote") == outputs(tmp_path / "local")


def test_sweep_on_the_cluster_equals_the_local_sweep(cluster, scenario, tmp_path):  # noqa: F811
    root, sources = scenario
    local = run_scenario(root, sources, tmp_path / "local")
    remote = run_scenario(root, sources, tmp_path / "remote", "--cluster", cluster)
    assert local.exit_code == remote.exit_code, remote.output
    for name in ("deletion_worklist.csv", "legal_hold_worklist.csv", "findings.jsonl"):
        texts = [(tmp_path / where / name).read_text() for where in ("remote", "local")]
        if name == "deletion_worklist.csv":  # each run has its own run id, in the second column
            texts = [text.replace(run_id, "RUN") for text, run_id in zip(texts, (
                json.loads((tmp_path / where / "summary.json").read_text())["run_id"] for where in ("remote", "local")))]
        assert texts[0] == texts[1], name
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("local", "remote")]
    assert summaries[0]["sweep"] == summaries[1]["sweep"] and summaries[0]["sources"] == summaries[1]["sources"]


def test_a_shard_with_bad_data_fails_its_source_and_the_others_finish(cluster, sharded, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jsonl").write_text('{"id": "1", "text": "fine"}\n')
    (broken / "b.json").write_text('[{"id": "2", "text": "cut off"')  # a JSON array cut short
    result = run_cli("scan", f"jsonl:{broken}", sharded[2], "--full", "--out", tmp_path / "out", "--cluster", cluster)
    assert result.exit_code == EXIT_SOURCE_FAILED
    sources = json.loads((tmp_path / "out" / "summary.json").read_text())["sources"]
    assert sources["broken"]["status"] == "failed" and "b.json" in sources["broken"]["error"]
    assert sources["qa_eval"]["status"] == "ok" and sources["qa_eval"]["records_sampled"] == 120


def test_an_unreachable_scheduler_is_a_one_line_usage_error(demo_data, tmp_path):
    started = time.monotonic()
    result = run_cli("scan", demo_data / "qa_eval.csv", "--out", tmp_path, "--cluster", f"tcp://127.0.0.1:{free_port()}")
    assert result.exit_code == EXIT_USAGE
    assert result.output.count("\n") == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:" in result.output
    assert time.monotonic() - started < 30
    bad = run_cli("scan", demo_data / "qa_eval.csv", "--out", tmp_path, "--cluster", "scheduler:8786")
    assert bad.exit_code == EXIT_USAGE and "tcp://HOST:PORT" in bad.output


def test_a_worker_killed_mid_scan_loses_and_doubles_nothing(sharded, tmp_path):
    from dask.distributed import Client

    assert run_cli("scan", *sharded, "--full", "--out", tmp_path / "local").exit_code == EXIT_OK
    address, scheduler, workers = start_cluster()
    try:
        command = [sys.executable, "-m", "scanner.cli", "scan", *sharded, "--full", "--out", str(tmp_path / "remote"),
                   "--cluster", address]
        scan = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ))
        victim = workers[0]
        with Client(address, timeout="5s") as client:
            deadline = time.monotonic() + 120
            while not any(tasks for tasks in client.processing().values()):  # a shard is being scanned
                assert time.monotonic() < deadline and scan.poll() is None, "no shard started"
                time.sleep(0.05)
        os.kill(victim.pid, signal.SIGKILL)
        assert scan.wait(timeout=300) == EXIT_OK, scan.stderr.read()
        assert victim.wait(timeout=10) == -signal.SIGKILL
        assert outputs(tmp_path / "remote") == outputs(tmp_path / "local")
    finally:
        for process in [*workers, scheduler]:
            if process.poll() is None:
                stop(process)
