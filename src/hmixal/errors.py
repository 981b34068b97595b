"""Error types that name the offending file, line and problem."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path


class InputError(ValueError):
    """Bad user or source input; the message reads ``file:line: problem`` (or just the problem, for arguments)."""

    def __init__(self, path: str | Path | None, line: int | None, problem: str) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.problem = problem
        where = self.path or ("<input>" if line is not None else "")
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {problem}" if where else problem)


class MissingArtifactError(FileNotFoundError):
    """A pipeline artifact the caller needs does not exist yet; the message names the command to build it."""


class ConfigError(InputError):
    """A pipeline configuration the pipeline cannot run; the message reads ``config: <key> …``, one line a problem."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(None, None, "\n".join(f"config: {p}" for p in self.problems))


# Errors whose message is the whole story: a rule script or the CLI shows them as one line, without a traceback.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (InputError, MissingArtifactError)


def reject_unknown_keys(values: Iterable[str], known: Iterable[str], what: str) -> None:
    """Raise an InputError naming any config key of ``what`` that is not in ``known`` (and the known ones)."""
    known = set(known)
    unknown = set(values) - known
    if unknown:
        raise InputError(
            None, None, f"{what}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})"
        )
