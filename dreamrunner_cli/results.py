"""The scripting contract: what ``--json`` prints on stdout, as pydantic models (``dreamrunner schema result``).

Every ``--json`` result carries ``"schema_version": RESULT_SCHEMA_VERSION`` (added by ``cli.common.emit``, and to
the error object). The envelope covers the stage commands (``plan``, ``retrieve``, ``adapt``, ``render``,
``evaluate``), ``run``, ``status`` and errors. Objects may carry more fields than listed here (a stage adds its own,
e.g. render's ``story``): scripts should ignore fields they do not know. A change that removes or renames a field, or
changes its meaning, raises ``schema_version``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

RESULT_SCHEMA_VERSION = 1

Version = Literal[1]
_VERSION_DOC = "Version of this result format; raised when a field is removed, renamed or changes meaning."


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ConfigChange(_Open):
    """One config key this command saved in config.json (``config_changes``) or used without saving
    (``config_unsaved``: ``--dry-run``, ``--no-save``). A new config.json starts with key ``(created)``."""

    key: str
    old: Any = None
    new: Any = None


class Item(_Open):
    """One item of a stage (a scene, a motion, a character): what happens to it and why."""

    stage: str = Field(description="plan, retrieve, adapt, render, evaluate (or import)")
    item: str = Field(description="the item's id, e.g. s01, walking, motion/walking, character/teddy")
    run: bool = Field(description="true: the item had to (re)run; false: it was up to date")
    reason: str = Field(description="why, in words, e.g. 'config.render.steps 8 → 40' or 'up to date'")
    action: Literal["ran", "would run", "skipped", "pending"] = Field(
        description="ran; would run (--dry-run, status); skipped (up to date); pending (decided, not finished)")


class StageOutcome(_Open):
    """One stage's result (inside ``run`` and ``status``: without ``schema_version``)."""

    stage: str
    workspace: str = Field(description="absolute path of the workspace folder")
    dry_run: bool
    items: list[Item]
    notes: list[str] = Field(description="things a person should know (one line each)")


class SkippedStage(_Open):
    """A stage ``run --skip`` left out."""

    stage: str
    skipped_stage: str = Field(description="why it was skipped, e.g. '--skip'")
    items: list[Item] = Field(default_factory=list)


class BlockedStage(_Open):
    """A stage ``status`` cannot assess yet (e.g. render before there is a plan)."""

    stage: str
    error: str
    items: list[Item] = Field(default_factory=list)


class _Envelope(_Open):
    schema_version: Version = Field(description=_VERSION_DOC)
    config_changes: list[ConfigChange] | None = Field(
        None, description="present when this command saved config changes to config.json")
    config_unsaved: list[ConfigChange] | None = Field(
        None, description="present when this command used config changes it did not save (--dry-run, --no-save)")


class StageResult(StageOutcome, _Envelope):
    """``plan``, ``retrieve``, ``adapt``, ``render``, ``evaluate`` (and ``import``) with ``--json``."""


class RunResult(_Envelope):
    """``run --json``: every stage in order."""

    workspace: str
    stages: list[StageOutcome | SkippedStage]


class StatusResult(_Envelope):
    """``status --json``: a dry run of every stage, the last runs, and problems found in runs.jsonl."""

    workspace: str
    stages: list[StageOutcome | BlockedStage]
    runs: list[dict[str, Any]] = Field(description="the last 10 lines of runs.jsonl")
    problems: list[str]
    notes: list[str]
    outputs: list[dict[str, Any]] | None = Field(None, description="with --verify: recorded outputs missing or "
                                                                   "changed since their record")


class ErrorResult(_Envelope):
    """Any command that fails, with ``--json`` (the same message also goes to stderr); the exit code is
    ``exit_code``."""

    error: str = Field(description="the error's class, e.g. InputInvalid, BackendUnavailable")
    message: str
    details: list[str]
    hint: str | None
    exit_code: int


Result = StageResult | RunResult | StatusResult | ErrorResult
RESULT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Result)


def result_json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``--json`` envelope (any of: stage result, run, status, error)."""
    schema = RESULT_ADAPTER.json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "dreamrunner --json result",
            "description": "What `dreamrunner COMMAND --json` prints on stdout: a stage result (plan, retrieve, "
                           "adapt, render, evaluate), a run result, a status result, or an error object. Every one "
                           f"has schema_version {RESULT_SCHEMA_VERSION}. Objects may carry more fields than listed; "
                           "ignore the ones you do not know.",
            **schema}
