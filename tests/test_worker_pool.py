"""The local worker pool when a worker process dies: the source fails in one line, nothing hangs, the next
source is scanned by new workers."""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import TEST_KEY, read_jsonl, spawned_workers, write_tickets
from detectors.normalize import digest
from scanner.core.errors import EXIT_SOURCE_FAILED

pytestmark = pytest.mark.slow


@contextmanager
def deadline(seconds: int):
    """Fails the test instead of hanging it (multiprocessing.Pool waited forever for a killed worker's task)."""
    def expired(*_):
        raise TimeoutError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _ignore_sigterm_or_die(flag: str) -> None:
    """A worker initializer: the first process to get here ignores SIGTERM (as one that missed the executor's
    SIGTERM while being spawned) and goes on to the meeting; a later one dies a little later, as one killed
    while loading its engine. The later one is mostly the last spawned, which the executor did not watch
    yet (see detectors.pool._watch_start)."""
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        time.sleep(3)
        os._exit(1)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def test_a_worker_dying_at_start_fails_the_start_and_the_others_are_stopped(tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    from detectors.pool import start_processes

    with deadline(120), pytest.raises(BrokenProcessPool):  # without stopping them: a 600 s wait at the meeting
        start_processes(2, _ignore_sigterm_or_die, (str(tmp_path / "first"),))
    import multiprocessing

    assert multiprocessing.active_children() == []


def test_a_worker_killed_mid_scan_fails_the_scan_at_once_and_new_workers_take_the_next(tmp_path):
    from detectors.config import DetectionConfig
    from scanner.core.keys import DigestKey
    from detectors.pool import DetectionPool, WorkerStoppedError
    from scanner.core.records import Record

    config = DetectionConfig(entities=["EMAIL_ADDRESS"], workers=2)
    key = DigestKey(TEST_KEY.encode(), "test")
    pool = DetectionPool(config, key)
    pool.start()
    first = pool.pids
    assert len(first) == 2

    def batches():
        for b in range(40):
            if b == 3:  # three batches are with the workers
                os.kill(first[0], signal.SIGKILL)
            yield [Record("big", "eval_dataset", f"{b}-{i}", {}, {"q": f"mail user{i}@example.com"})
                   for i in range(256)]

    try:
        with deadline(120), pytest.raises(WorkerStoppedError, match="in the middle of the scan"):
            for _ in pool.detect(batches()):
                pass
        assert pool.pids == []  # stopped: the other worker too
        assert not Path(f"/proc/{first[1]}").exists()
        with deadline(120):
            [(_, findings)] = pool.detect([[Record("next", "eval_dataset", "1", {}, {"q": "mail ann@example.com"})]])
        assert [f.entity_type for f in findings[0]] == ["EMAIL_ADDRESS"]
        assert len(pool.pids) == 2 and not set(pool.pids) & set(first)
    finally:
        pool.close()


def test_a_killed_worker_fails_its_source_in_one_line_and_the_other_source_is_scanned(tmp_path):
    from detectors.pool import LOCAL_BATCHES

    big = write_tickets(tmp_path / "big.jsonl", LOCAL_BATCHES * 256 + 3000)  # past the main process's batches
    small = write_tickets(tmp_path / "small.jsonl", 30)
    out = tmp_path / "out"
    scan = subprocess.Popen([sys.executable, "-m", "scanner.cli", "scan", str(big), str(small), "--full",
                             "--workers", "2", "--entities", "EMAIL_ADDRESS", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        while not (workers := spawned_workers(scan.pid)):
            assert scan.poll() is None and time.monotonic() - started < 120, "no worker started"
            time.sleep(0.02)
        os.kill(workers[0], signal.SIGKILL)
        assert scan.wait(timeout=300) == EXIT_SOURCE_FAILED
    finally:
        if scan.poll() is None:
            scan.kill()
    errors = scan.stderr.read().splitlines()
    assert len(errors) == 1 and errors[0].startswith("dhscan: error: source 'big': a detection worker process ended")
    summary = json.loads((out / "summary.json").read_text())["sources"]
    assert summary["big"]["status"] == "failed" and summary["small"]["status"] == "ok"
    assert summary["small"]["records_sampled"] == 30
    findings = read_jsonl(out / "findings.jsonl")  # every line whole
    small_found = {(f["record_id"], f["digest"]) for f in findings if f["source"] == "small"}
    assert small_found == {(f"t{i}", digest(TEST_KEY.encode(), "EMAIL_ADDRESS", f"user{i}@example.com"))
                           for i in range(30)}
