"""Detection in worker processes across the cores, one engine per worker, loaded once.

A run's first batches are detected in the main process; the workers start only when there is
more to scan, so small scans pay no start-up. Batches come back in order and at
most two per worker are in flight, so memory stays flat however large the source.
A worker that dies (killed by the out-of-memory killer, say) fails the source being scanned with
one line instead of hanging the run; the next source starts new workers.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from typing import Callable, Iterable, Iterator, NamedTuple

from detectors.config import DetectionConfig
from scanner.core.keys import DigestKey
from scanner.core.errors import DhscanError, one_line
from scanner.core.records import Finding, Record

LOCAL_BATCHES = 4  # batches a run scans in the main process before the workers are started
MEET_TIMEOUT = 600  # seconds a started worker waits for the others to load their engines
WORKER_END_WAIT = 5.0  # seconds an executor failure waits to be explained by a worker's end

_ENGINE = None
_MEETING = None  # the Barrier a process pool's workers meet at once all are started


class WorkerStoppedError(DhscanError):
    """A detection worker process ended in the middle of a scan."""


def _initialize(meeting, initializer: Callable, initargs: tuple) -> None:
    global _MEETING
    _MEETING = meeting
    try:
        initializer(*initargs)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the main process reports it
        os._exit(1)
    except BaseException as exc:  # noqa: BLE001 - reported here, in one line, instead of the executor's traceback
        print(f"dhscan: a worker process could not start: {one_line(exc)}", file=sys.stderr, flush=True)
        os._exit(1)  # the main process sees a broken pool


def _meet() -> int:
    _MEETING.wait(MEET_TIMEOUT)
    return os.getpid()


class Workers(NamedTuple):
    executor: object  # a concurrent.futures.ProcessPoolExecutor
    pids: list[int]
    processes: list  # multiprocessing.Process objects, for stopping them (see stop)

    def stop(self) -> None:
        """Stop the workers now, a task or not: after a worker died, or when the run is interrupted. The
        executor's own stop (SIGTERM) is lost on a worker still being spawned, between fork and exec, when
        the parent has a SIGTERM handler (the CLI has), and its join then waits for that worker."""
        for process in self.processes:
            if process.is_alive():
                process.kill()
        self.executor.shutdown(wait=True, cancel_futures=True)


def start_processes(count: int, initializer: Callable, initargs: tuple) -> Workers:
    """A ProcessPoolExecutor of `count` spawned processes, each past `initializer(*initargs)`. Unlike
    multiprocessing.Pool, whose result.get() waits forever for a task whose worker was killed, it raises
    BrokenProcessPool, and runs as fast."""
    from concurrent.futures import ProcessPoolExecutor

    # spawn: a fresh interpreter per worker, whatever threads the parent runs
    context = multiprocessing.get_context("spawn")
    others = set(multiprocessing.active_children())
    executor = ProcessPoolExecutor(count, mp_context=context, initializer=_initialize,
                                   initargs=(context.Barrier(count), initializer, initargs))
    meetings = [executor.submit(_meet) for _ in range(count)]  # each submit spawns a process
    processes = [p for p in multiprocessing.active_children() if p not in others]
    try:
        # a worker takes a task only once past its initializer, and this one only once all have taken one,
        # so every worker answers, once: timings that follow include no model load
        _watch_start(meetings, processes)
        pids = sorted(meeting.result() for meeting in meetings)
    except BaseException:
        Workers(executor, [], processes).stop()
        raise
    return Workers(executor, pids, processes)


def _watch_start(meetings: list, processes: list) -> None:
    """Wait for the meetings, watching the processes meanwhile. The executor's thread watches the
    processes it had when it last woke, and a submit wakes it before spawning the next one: a process
    that died before being watched (killed while loading its engine) left the others at the meeting
    until MEET_TIMEOUT, with nothing to wake the executor (1 start in ~5 in a test)."""
    from concurrent.futures import FIRST_EXCEPTION, wait
    from concurrent.futures.process import BrokenProcessPool

    while True:
        done, waiting = wait(meetings, timeout=0.5, return_when=FIRST_EXCEPTION)
        if not waiting or any(meeting.exception() is not None for meeting in done):
            return
        if any(process.exitcode is not None for process in processes):
            raise BrokenProcessPool("a worker process ended while starting")


def _start_worker(config: dict, secret: bytes, origin: str) -> None:
    global _ENGINE
    import gc

    from detectors.engine import DetectionEngine

    _ENGINE = DetectionEngine(DetectionConfig(**config), DigestKey(secret, origin), long_scan=True)
    # The engine (model, vocabulary, word lists: ~200,000 objects) lives as long as the worker: frozen,
    # the garbage collector's full passes skip it (each cost ~0.1 s, ~2% of the NER path's time).
    gc.freeze()


class DetectionInput(NamedTuple):
    """What DetectionEngine.detect reads of a record, under the Record's attribute names: what a worker detects
    in. Whole records, with their locators and attributes, cost several times as much to pickle, and
    rebuilding frozen Records in a worker is slow (a frozen dataclass sets each field through
    object.__setattr__)."""
    source: str
    kind: str
    record_id: str
    texts: dict[str, str]
    id_fields: frozenset[str]
    id_field: str | None  # the record's locator["id_field"]

    @property
    def locator(self) -> dict[str, str]:
        return {"id_field": self.id_field} if self.id_field else {}


def detection_input(record: Record) -> tuple:
    """The fields of the record's DetectionInput, as the plain tuple a worker is sent: a named tuple takes
    twice as long to pickle and unpickle."""
    return record.source, record.kind, record.record_id, record.texts, record.id_fields, record.locator.get("id_field")


def detection_inputs(sent: list[tuple]) -> list[DetectionInput]:
    """What a worker detects in, from the tuples it was sent."""
    return list(map(DetectionInput._make, sent))


def _detect(sent: list[tuple]) -> list[list[Finding]]:
    return _ENGINE.detect(detection_inputs(sent))


def worker_count(config: DetectionConfig) -> int:
    return config.workers or os.cpu_count() or 1


def _ended(process) -> bool:
    try:
        if process.exitcode is not None:
            return True
    except ValueError:  # a process object the executor closed: it ended
        return True
    try:
        os.kill(process.pid, 0)  # reaped by the executor's thread while we looked: gone
    except ProcessLookupError:
        return True
    return False


class DetectionPool:
    def __init__(self, config: DetectionConfig, key: DigestKey):
        self.config, self.key = config, key
        self.workers = worker_count(config)
        self.local_batches = 0
        self._workers: Workers | None = None

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (for measuring them); none before start and after close."""
        return self._workers.pids if self._workers is not None else []

    def wanted(self) -> bool:
        """Whether the next batch goes to the workers."""
        return self.workers > 1 and (self._workers is not None or self.local_batches >= LOCAL_BATCHES)

    def start(self) -> None:
        """Start the workers and wait until each has loaded its engine."""
        from concurrent.futures.process import BrokenProcessPool
        from threading import BrokenBarrierError

        if self._workers is None:
            try:
                self._workers = start_processes(
                    self.workers, _start_worker, (self.config.model_dump(), self.key.secret, self.key.origin))
            except BrokenProcessPool:
                raise WorkerStoppedError(
                    "a detection worker process ended while loading its engine (out of memory?)") from None
            except BrokenBarrierError:
                raise WorkerStoppedError(
                    f"the detection workers did not all load their engines within {MEET_TIMEOUT} s") from None

    def detect(self, batches: Iterable[list[Record]]) -> Iterator[tuple[list[Record], list[list[Finding]]]]:
        self.start()
        pending: deque = deque()
        try:
            for batch in batches:  # an error reading the source is the source's, raised as it is
                pending.append((batch, self._call(self._workers.executor.submit, _detect,
                                                  [detection_input(r) for r in batch])))
                if len(pending) >= 2 * self.workers:
                    done, result = pending.popleft()
                    yield done, self._call(result.result)
            while pending:
                done, result = pending.popleft()
                yield done, self._call(result.result)
        finally:
            for _, result in pending:  # a consumer that stopped early leaves no work behind
                result.cancel()

    def _call(self, function, *args):
        """`function(*args)` on the executor; any failure of it while a worker has ended is the worker ending."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            return function(*args)
        except Exception as exc:
            # the executor notices a dead worker in its own thread: until it has, a call can fail on a
            # queue it is closing (ValueError, OSError "handle is closed") instead of raising
            # BrokenProcessPool, and the dead worker may not be reaped yet
            if not isinstance(exc, BrokenProcessPool) and not self._a_worker_ended(within=WORKER_END_WAIT):
                raise
            self.close(stop=True)  # the next source starts new workers
            raise WorkerStoppedError("a detection worker process ended in the middle of the scan (killed, out of "
                                     "memory?); the rest of this source was not scanned") from None

    def _a_worker_ended(self, within: float = 0.0) -> bool:
        import time

        deadline = time.monotonic() + within
        while self._workers is not None:
            if any(map(_ended, self._workers.processes)):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return False

    def close(self, stop: bool = False) -> None:
        """Let the workers finish their tasks and end; with `stop`, end them at once."""
        if self._workers is not None:
            if stop:
                self._workers.stop()
            else:
                self._workers.executor.shutdown(wait=True, cancel_futures=True)
            self._workers = None
