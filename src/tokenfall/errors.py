"""Errors a user can fix. The CLI prints them as one line and exits 2; anything else is a bug."""


class TokenfallError(Exception):
    """Bad input or an unusable environment: the message names the input and the fix."""

    exit_code = 2


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


class Interrupted(Exception):
    """Ctrl-C during a run: what completed is stored and the run is marked incomplete."""

    exit_code = 130

    def __init__(self, run_id: str, kept: int, what: str = "requests", message: str | None = None):
        super().__init__(message or f"interrupted: run {run_id} kept {kept} completed {what} and is marked incomplete")
        self.run_id, self.kept = run_id, kept
