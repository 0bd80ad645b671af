"""Errors the engine raises; the web maps them to HTTP codes, the CLI to exit 1."""

from __future__ import annotations

from dataclasses import dataclass


class FlowError(Exception):
    """Base of every error the engine raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One configuration problem, located as precisely as the source allows."""

    file: str
    line: int | None
    element: str | None
    message: str

    def place(self) -> str:
        """Where the problem is: `file:line: [element]`."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        element = f" [{self.element}]" if self.element else ""
        return f"{where}:{element}"

    def __str__(self) -> str:
        return f"{self.place()} {self.message}"


class ConfigError(FlowError):
    """A configuration bundle is broken; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ValidationError(FlowError):
    """Submitted data is invalid; `errors` maps a field name ("" = whole object) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = {k: list(v) for k, v in errors.items()}
        text = "; ".join(f"{k or 'data'}: {', '.join(v)}" for k, v in self.errors.items())
        super().__init__(text)


class ConflictError(FlowError):
    """A concurrent change won: a stale task, a lost race, an already claimed task."""


class MergedRecord(ConflictError):
    """A write to a record that was merged into another one: it is read-only, the survivor takes the changes."""

    def __init__(self, record_id: int, merged_into_id: int) -> None:
        self.record_id, self.merged_into_id = record_id, merged_into_id
        super().__init__(f"record #{record_id} was merged into #{merged_into_id}; open #{merged_into_id}")


class NotFound(FlowError):
    """An unknown id or name."""


class Forbidden(FlowError):
    """The actor's roles do not allow the action."""


class SandboxError(FlowError):
    """A script or expression was refused by the sandbox, failed, or ran too long."""
