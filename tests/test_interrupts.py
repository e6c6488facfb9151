"""Ctrl-C and SIGTERM stop a run with their own exit codes, one line, no temporary file and an earlier
run's outputs unchanged."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import run_cli, spawned_workers, write_tickets
from scanner.core.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("how, code, line", [
    ("SIGINT to the process group (Ctrl-C)", EXIT_INTERRUPTED, "dhscan: error: interrupted (SIGINT); the run did not finish"),
    ("SIGTERM to the main process (docker stop)", EXIT_TERMINATED,
     "dhscan: error: terminated (SIGTERM); the run did not finish"),
])
def test_a_run_stopped_mid_scan_exits_with_its_code_and_leaves_the_earlier_outputs(tmp_path, how, code, line):
    from detectors.pool import LOCAL_BATCHES

    out = tmp_path / "out"
    assert run_cli("scan", write_tickets(tmp_path / "small.jsonl", 20), "--full", "--workers", "1",
                   "--out", out).exit_code == EXIT_OK
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    big = write_tickets(tmp_path / "big.jsonl", LOCAL_BATCHES * 256 + 20_000)
    scan = subprocess.Popen([sys.executable, "-m", "scanner.cli", "scan", str(big), "--full", "--workers", "2",
                             "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        started = time.monotonic()
        while not spawned_workers(scan.pid):  # the scan is past its first batches
            assert scan.poll() is None and time.monotonic() - started < 120, "no worker started"
            time.sleep(0.02)
        time.sleep(1)
        if how.startswith("SIGINT"):
            os.killpg(scan.pid, signal.SIGINT)
        else:
            os.kill(scan.pid, signal.SIGTERM)
        assert scan.wait(timeout=60) == code
    finally:
        if scan.poll() is None:
            os.killpg(scan.pid, signal.SIGKILL)
    assert scan.stderr.read().splitlines() == [line]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier  # no temporary file either
