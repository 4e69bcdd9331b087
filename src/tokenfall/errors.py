"""What can go wrong, and the exit code each gives (docs/cli.md lists them)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    VERDICT = 1        # the run worked and its answer is no: quality gate failed, SLO missed, nothing passed
    BAD_INPUT = 2      # an option, file or environment the user can fix; nothing was measured
    RUNTIME = 3        # the engine, server or library failed while measuring (every request failed, a crash)
    INTERRUPTED = 130  # Ctrl-C; completed measurements are kept


class TokenfallError(Exception):
    """Bad input or an unusable environment: the message names the input and the fix."""

    exit_code = ExitCode.BAD_INPUT


def invalid_options(what: str, error) -> TokenfallError:
    """One line from a pydantic ValidationError of an Options model: which option, and why."""
    err = error.errors()[0]
    loc = ".".join(map(str, err["loc"]))
    return TokenfallError(f"{what} option {loc}: {err['msg'].removeprefix('Value error, ')}")


class MissingDependency(TokenfallError):
    """An optional library is not installed; the message carries the pip command."""

    def __init__(self, what: str, extra: str):
        super().__init__(f"{what} is not installed: pip install 'tokenfall[{extra}]'")


class EngineError(Exception):
    """A single request failed inside an engine; ``kind`` groups errors in the summary."""

    def __init__(self, kind: str, message: str = ""):
        super().__init__(message or kind)
        self.kind = kind


class VerdictNotMet(Exception):
    """The run completed and is stored; its answer is no (gate failed, SLO missed, no configuration passed)."""

    exit_code = ExitCode.VERDICT


class RunFailed(Exception):
    """The measurement itself failed (every request of a level, the server): the run is stored as failed."""

    exit_code = ExitCode.RUNTIME


class Interrupted(Exception):
    """Ctrl-C during a run: what completed is stored and the run is marked incomplete."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, run_id: str, kept: int, what: str = "requests", message: str | None = None):
        super().__init__(message or f"interrupted: run {run_id} kept {kept} completed {what} and is marked incomplete")
        self.run_id, self.kept = run_id, kept
