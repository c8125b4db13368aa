"""A small error hierarchy. The CLI maps each class to a message and a stable exit code.

Exit codes (stable, documented in the README):
  0 success · 1 unexpected failure · 2 usage error · 3 missing or stale upstream stage ·
  4 backend or model unavailable · 5 invalid input (plan, story, image, video, LLM reply) ·
  6 workspace busy (another process holds its lock) · 7 stage not implemented yet · 130 interrupted
"""

from __future__ import annotations


class DreamrunnerError(Exception):
    """Base class. ``message`` says what went wrong and where; ``hint`` says what to run next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or []

    def to_dict(self) -> dict:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class UsageError(DreamrunnerError):
    exit_code = 2


class MissingUpstream(DreamrunnerError):
    """An earlier stage has not run (or its outputs are gone)."""

    exit_code = 3


class BackendUnavailable(DreamrunnerError):
    """A model, weights, device, LLM server or other backend cannot be used."""

    exit_code = 4


class ModelUnavailable(BackendUnavailable):
    pass


class InputInvalid(DreamrunnerError):
    """Bad input: names the file, the JSON path or the item, and what to do."""

    exit_code = 5


class PlanInvalid(InputInvalid):
    pass


class WorkspaceBusy(DreamrunnerError):
    exit_code = 6


class StageNotImplemented(DreamrunnerError):
    exit_code = 7


class Interrupted(DreamrunnerError):
    exit_code = 130
