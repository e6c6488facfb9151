"""One exception base class and the exit codes the CLI maps errors to."""

# Exit codes are public API (scheduled jobs branch on them): never renumber.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_SOURCE_FAILED = 3
EXIT_INTERRUPTED = 130  # as a shell reports SIGINT: 128 + 2
EXIT_TERMINATED = 143  # 128 + 15

# What each exit code means, as docs/exit-codes.md lists it.
EXIT_CODES = {
    "EXIT_OK": "the run finished; with `--fail-on`, nothing it names was found",
    "EXIT_FINDINGS": "`--fail-on` was given and what it names was found (findings, deletions, holds); for "
                     "`apply`, some rows were skipped under a hold or stale, or `--vacuum` was not done; for `hook`, "
                     "any finding",
    "EXIT_USAGE": "usage or configuration error (unknown scheme or option, bad config, policy or holds file, "
                  "missing model, no key for apply, a worklist apply refuses, an output folder or apply log "
                  "that cannot be written or is in use); nothing was changed",
    "EXIT_SOURCE_FAILED": "one or more sources failed (for `apply`: rows ended in `error`); the others "
                          "finished and every output was written",
    "EXIT_INTERRUPTED": "stopped by Ctrl-C (SIGINT): a scan's or sweep's outputs are replaced only when it "
                        "finishes, so an earlier run's are unchanged; an interrupted `apply` is finished by "
                        "running it again",
    "EXIT_TERMINATED": "stopped by SIGTERM (`docker stop`, a scheduler's timeout); as for 130",
}


class DhscanError(Exception):
    """Base of every error dhscan reports to a user as one line."""

    exit_code = EXIT_USAGE


class UsageError(DhscanError):
    """A bad option, URI or configuration file."""

    exit_code = EXIT_USAGE


class SourceError(DhscanError):
    """A source could not be read; other sources still run."""

    exit_code = EXIT_SOURCE_FAILED

    def __init__(self, source: str, problem: str):
        super().__init__(f"source {source!r}: {problem}")
        self.source = source
        self.problem = problem


class ModelNotInstalledError(DhscanError):
    """The configured spaCy model is not installed (it is never downloaded)."""

    exit_code = EXIT_USAGE


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that a run stops the way Ctrl-C stops it (temporary
    files removed, worker processes stopped) instead of dying where it stands."""


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(32), 127]} | {0x85: "\\x85", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def printable(text: str) -> str:
    """Text as one printed line: control characters and line breaks escaped, so a file name holding a
    newline cannot start a line of its own (a forged `dhscan: error:`)."""
    return str(text).translate(_CONTROL)


def one_line(exc: BaseException) -> str:
    """An exception's message folded onto one line."""
    return " ".join(str(exc).split()) or type(exc).__name__
