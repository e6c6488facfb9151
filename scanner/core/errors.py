"""One exception base class and the exit codes the CLI maps errors to."""

# Exit codes are public API (scheduled jobs branch on them): never renumber.
EXIT_OK = 0
EXIT_FINDINGS = 1  # findings present and `--fail-on findings` given
EXIT_USAGE = 2  # usage or configuration error
EXIT_SOURCE_FAILED = 3  # one or more sources failed; the others finished
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C (SIGINT), as a shell reports it: 128 + 2
EXIT_TERMINATED = 143  # stopped by SIGTERM (`docker stop`, a scheduler's timeout): 128 + 15


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
