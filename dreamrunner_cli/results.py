"""The scripting contract: what ``--json`` prints on stdout, as pydantic models (``dreamrunner schema result``).

Every ``--json`` result carries ``"schema_version": RESULT_SCHEMA_VERSION`` (added by ``cli.common.emit``, and to
the error object). Every command with ``--json`` has a model here: the stage commands (``plan``, ``retrieve``,
``adapt``, ``render``, ``evaluate``), ``run``, ``status``, ``batch``, ``config show|get|set|unset|diff``, ``doctor``,
``index build|demo|info|search``, ``masks``, ``import``, ``export``, ``bench``, and the error object any of them
prints when it fails (``COMMAND_RESULTS`` maps each command to its model). Objects may carry more fields than listed
here (a stage adds its own, e.g. render's ``story``): scripts should ignore fields they do not know. A change that
removes or renames a field, or changes its meaning, raises ``schema_version``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

RESULT_SCHEMA_VERSION = 1

Version = Literal[1]
_VERSION_DOC = "Version of this result format; raised when a field is removed, renamed or changes meaning."
_WS_DOC = "absolute path of the workspace folder"


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
    workspace: str = Field(description=_WS_DOC)
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
    """``plan``, ``retrieve``, ``adapt``, ``render``, ``evaluate`` with ``--json``."""


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


# batch -------------------------------------------------------------------------------------------------------------


class BatchError(_Open):
    """Why a story or an item failed: the error object of the stage that failed (``ErrorResult`` without
    ``schema_version``; an unexpected failure or a lost worker has only ``error``, ``exit_code`` and maybe ``hint``)."""

    error: str = Field(description="the error's class (e.g. InputInvalid), or a one-line description")
    exit_code: int
    message: str | None = None
    details: list[str] | None = None
    hint: str | None = None


class BatchStory(_Open):
    """One story of a batch (keyed by its workspace path)."""

    status: Literal["finished", "failed"]
    done: list[str] = Field(description="ids of the items that finished, e.g. 'OUT/teddy:render/s01'")
    failed_item: str | None = Field(None, description="when failed: the id of the item that failed")
    error: BatchError | None = Field(None, description="when failed: why")


class BatchDecision(_Open):
    """One decision of the stage an item ran (an ``Item`` cut down to what a batch summary needs)."""

    item: str
    action: str | None = None
    reason: str | None = None


class BatchItem(_Open):
    """One item a batch ran (keyed by its id, ``<workspace>:<stage>[/<name>]``)."""

    ok: bool
    seconds: float
    error: BatchError | None = None
    items: list[BatchDecision] | None = Field(None, description="when ok: the stage's decisions for this item")


class BatchResult(_Envelope):
    """``batch --json``: one summary for every story (docs/batch.md); the exit code is 0 only if ``ok``."""

    out: str = Field(description="the folder holding one workspace per story (--out)")
    ok: bool = Field(description="true when every story finished")
    seconds: float
    stories: dict[str, BatchStory] = Field(description="by workspace path")
    items: dict[str, BatchItem] = Field(description="by item id, the items that ran (finished or failed)")


# config ------------------------------------------------------------------------------------------------------------


class ConfigShowResult(_Envelope):
    """``config show --json``: the workspace's whole config."""

    workspace: str = Field(description=_WS_DOC)
    source: str = Field(description="'config.json', or 'preset NAME (no config.json yet)'")
    config: dict[str, Any] = Field(description="the resolved config, as config.json holds it "
                                               "(`dreamrunner schema config`)")


class ConfigGetResult(_Envelope):
    """``config get --json``: one key's value."""

    workspace: str = Field(description=_WS_DOC)
    source: str = Field(description="'config.json', or 'preset NAME (no config.json yet)'")
    key: str = Field(description="the dotted key asked for, e.g. render.steps (or a section, e.g. render)")
    value: Any = Field(description="its value; a section gives an object")


class ConfigSetResult(_Envelope):
    """``config set`` and ``config unset`` with ``--json``: what changed in config.json."""

    workspace: str = Field(description=_WS_DOC)
    config_changes: list[ConfigChange] = Field(
        description="each key changed in config.json, with its old and new value (empty: nothing changed)")


class ConfigDiffChange(_Open):
    """One key whose value in the workspace differs from the preset's."""

    key: str
    preset: Any = Field(description="the preset's value")
    workspace: Any = Field(description="the workspace's value")


class ConfigDiffResult(_Envelope):
    """``config diff --json``: what the workspace's config changes from a preset."""

    workspace: str = Field(description=_WS_DOC)
    source: str = Field(description="'config.json', or 'preset NAME (no config.json yet)'")
    preset: str = Field(description="the preset compared with (--preset, else the one the workspace started from)")
    changes: list[ConfigDiffChange] = Field(description="empty: same as the preset")


# doctor ------------------------------------------------------------------------------------------------------------


class DoctorCheck(_Open):
    """One line of the doctor's report."""

    name: str = Field(description="cuda, model:<config key> (e.g. model:model.id), video-db, ffmpeg, disk, llm, "
                                  "offline")
    status: Literal["ok", "info", "warn", "error"]
    message: str
    fix: str | None = Field(description="what to do about it (warn, error)")
    exit_code: int = Field(description="for an error, the exit code it stands for (4 unavailable, 5 damaged, 8 disk "
                                       "full); else 0")
    details: dict[str, Any] = Field(description="the check's own data, e.g. disk: places; cuda: devices")


class DoctorResult(_Envelope):
    """``doctor --json``: every check; the command exits with ``exit_code``."""

    preset: str = Field(description="the preset of the configuration checked")
    status: Literal["ok", "warn", "error"] = Field(description="the worst status among the checks (info counts as ok)")
    exit_code: int = Field(description="0 unless a check is an error: then the lowest of their exit codes")
    checks: list[DoctorCheck]


# index -------------------------------------------------------------------------------------------------------------


class IndexBuildResult(_Envelope):
    """``index build --json``: the index written, what was read and how fast."""

    index: str = Field(description="absolute path of the index folder")
    rows: int = Field(description="rows indexed (one per clip)")
    unreadable: int = Field(description="rows skipped (no path, no caption, missing file with --check-files…)")
    unreadable_examples: list[str] = Field(description="the first few, as 'line N: why'")
    expanded_rows: int = Field(description="extra rows from list cells (Panda-70M: one row per clip)")
    vocabulary: int
    postings: int
    bytes: int = Field(description="size of the index folder on disk")
    seconds: float
    rows_per_s: float
    fingerprint: str = Field(description="identifies the index contents (recorded by retrieve)")
    columns: dict[str, str] = Field(description="the caption file's column used for each role, e.g. "
                                                "{'path': 'videoID', 'caption': 'caption'}")


class IndexDemoResult(IndexBuildResult):
    """``index demo --json``: the demo database made (videos, caption file) and its index."""

    db_dir: str = Field(description="the database folder (OUT_DIR)")
    captions: str = Field(description="the caption file written")
    videos: int = Field(description="video files written")


class IndexInfoResult(_Envelope):
    """``index info --json``: an index's size, source and fingerprint."""

    index: str = Field(description="absolute path of the index folder")
    db_dir: str = Field(description="the database folder video paths are relative to")
    rows: int
    unreadable: int
    unreadable_examples: list[str]
    vocabulary: int
    postings: int
    scoring: str = Field(description="the BM25 variant, e.g. lucene")
    stemmer: str = Field(description="the stemmer's language, or none")
    fingerprint: str
    source: str | None = Field(description="the caption file the index was built from")
    bytes: int


class SearchHit(_Open):
    """One caption ranked by ``index search``."""

    row: int
    score: float
    caption: str
    path: str = Field(description="the video path, relative to the database folder")


class IndexSearchResult(_Envelope):
    """``index search --json``: the best captions for a query, best first."""

    index: str = Field(description="absolute path of the index folder")
    query: str
    backend: str = Field(description="bm25s or rank_bm25")
    ms: float = Field(description="search time in milliseconds")
    hits: list[SearchHit]


# masks, import, export ---------------------------------------------------------------------------------------------


class MaskGeometry(_Open):
    """The token geometry the masks were built for (pixels, latent frames, tokens)."""

    height: int = Field(description="pixels")
    width: int = Field(description="pixels")
    num_frames: int = Field(description="pixel frames")
    latent_frames: int
    rows: int = Field(description="token rows per latent frame")
    cols: int = Field(description="token columns per latent frame")
    text_len: int = Field(description="text tokens per prompt")
    tokens_per_frame: int
    video_tokens: int


class MasksResult(_Envelope):
    """``masks --json``: the .npz and pictures written."""

    workspace: str = Field(description=_WS_DOC)
    scenes: list[str] = Field(description="the scene ids exported")
    npz: str = Field(description="the .npz written (region prompts and token membership per scene)")
    pictures: list[str] = Field(description="one picture per scene, <scene>.png beside the .npz")
    geometry: MaskGeometry
    warnings: list[str] = Field(description="regions too small to hold a token at this geometry (also on stderr)")


class ImportItem(Item):
    """One plan ``import`` read, and its workspace."""

    workspace: str = Field(description="the workspace of this plan, OUT/<name>")


class ImportResult(_Envelope):
    """``import --json``: one item per plan read (with ``--dry-run``: validated, nothing written)."""

    stage: Literal["import"]
    dry_run: bool
    source: str = Field(description="the file read")
    out: str = Field(description="the folder holding one workspace per plan (--out)")
    items: list[ImportItem]
    notes: list[str]


class ExportResult(_Envelope):
    """``export --json``: the scenes written in the authors' text format."""

    stage: Literal["export"]
    workspace: str = Field(description=_WS_DOC)
    scenes: list[str]
    format: Literal["text", "jsonl"]
    out: str | None = Field(description="the file written (--out), or null: then the text is in ``text``")
    notes: list[str] = Field(description="what the format could not hold (characters' tokens, merged captions)")
    text: str | None = Field(None, description="the exported text, when there is no --out")


# bench -------------------------------------------------------------------------------------------------------------


class BenchSize(_Open):
    """The video size of the benchmark's geometry."""

    height: int
    width: int
    frames: int
    latent_frames: int
    video_tokens: int
    text_len: int


class BenchRow(_Open):
    """One variant at one prompt count: medians over the interleaved rounds, with (min, max)."""

    prompts: int = Field(description="P: region prompts + the background")
    seq_len: int = Field(description="tokens per sequence (text + video)")
    backend: str = Field(description="none (the stock model), sdpa or flex; '+N LoRAs' with region LoRAs")
    step_ms: float = Field(description="median time of one transformer step (CFG batch 2), in ms")
    step_ms_spread: list[float] = Field(min_length=2, max_length=2, description="(min, max)")
    peak_mib: float | None = Field(description="CUDA peak memory in MiB; null on the CPU")
    mask_mib: float = Field(description="size of the mask this backend builds per scene")
    ratio_time: float = Field(description="median of the per-round ratios to the stock model")
    ratio_time_spread: list[float] = Field(min_length=2, max_length=2, description="(min, max)")
    ratio_mem: float | None = Field(description="peak memory as a ratio to the stock model's (CUDA)")


class MaskMemory(_Open):
    """The peak extra memory of building one scene's mask (full geometry), as a ratio to the mask."""

    geometry: str
    prompts: int
    seq_len: int
    backend: str
    device: str
    mask_mib: float
    peak_extra_mib: float
    ratio: float | None


class BenchResult(_Envelope):
    """``bench --json``: SR3AI attention step time and memory against the stock model."""

    device: str = Field(description="cpu, or the CUDA device's name")
    geometry: Literal["small", "full"]
    dtype: str
    blocks: int = Field(description="transformer blocks")
    size: BenchSize
    repeats: int
    rows: list[BenchRow]
    authors_mask_mib_per_scene: dict[str, float] = Field(
        description="by prompt count: MiB of the dense masks the authors' script allocates per scene")
    mask_memory: list[MaskMemory] | None = Field(None, description="unless --no-mask-memory: one per SR3AI backend")


# the published schema ----------------------------------------------------------------------------------------------

COMMAND_RESULTS: dict[str, type[BaseModel]] = {
    **{stage: StageResult for stage in ("plan", "retrieve", "adapt", "render", "evaluate")},
    "run": RunResult,
    "status": StatusResult,
    "batch": BatchResult,
    "config show": ConfigShowResult,
    "config get": ConfigGetResult,
    "config set": ConfigSetResult,
    "config unset": ConfigSetResult,
    "config diff": ConfigDiffResult,
    "doctor": DoctorResult,
    "index build": IndexBuildResult,
    "index demo": IndexDemoResult,
    "index info": IndexInfoResult,
    "index search": IndexSearchResult,
    "masks": MasksResult,
    "import": ImportResult,
    "export": ExportResult,
    "bench": BenchResult,
}
"""What each command prints with ``--json`` when it succeeds (when it fails: ``ErrorResult``)."""

Result = (StageResult | RunResult | StatusResult | ErrorResult | BatchResult | ConfigShowResult | ConfigGetResult
          | ConfigSetResult | ConfigDiffResult | DoctorResult | IndexBuildResult | IndexDemoResult | IndexInfoResult
          | IndexSearchResult | MasksResult | ImportResult | ExportResult | BenchResult)
RESULT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Result)


def commands(name: str) -> list[str]:
    """The commands ``name`` stands for: itself, or every subcommand of a group (``config``, ``index``); [] if
    unknown. Spaces are normalised (``"config  show"`` is ``config show``)."""
    name = " ".join(name.split())
    if name in COMMAND_RESULTS:
        return [name]
    return [c for c in COMMAND_RESULTS if c.startswith(name + " ")] if name else []


def result_json_schema(command: str | None = None) -> dict[str, Any]:
    """The JSON Schema of what ``--json`` prints: any command's result or the error object (``command=None``), or
    only what ``command`` prints (its result or the error object; a group such as ``config``: any of its
    subcommands'). ``x-dreamrunner-commands`` maps each command to its definition in ``$defs``."""
    if command is None:
        schema = RESULT_ADAPTER.json_schema(ref_template="#/$defs/{model}")
        what = ("any command's result or an error object (x-dreamrunner-commands names the definition for each "
                "command; `dreamrunner schema result --command NAME` prints one command's schema)")
        names = list(COMMAND_RESULTS)
    else:
        names = commands(command)
        if not names:
            raise KeyError(command)
        models = list(dict.fromkeys(COMMAND_RESULTS[n] for n in names)) + [ErrorResult]
        union: Any = models[0]
        for m in models[1:]:
            union = union | m
        schema = TypeAdapter(union).json_schema(ref_template="#/$defs/{model}")
        what = f"`{' '.join(command.split())}`: its result, or an error object when it fails"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "dreamrunner --json result" + (f": {' '.join(command.split())}" if command else ""),
            "description": f"What `dreamrunner COMMAND --json` prints on stdout: {what}. Every one has "
                           f"schema_version {RESULT_SCHEMA_VERSION}. Objects may carry more fields than listed; ignore "
                           "the ones you do not know.",
            "x-dreamrunner-commands": {n: f"#/$defs/{COMMAND_RESULTS[n].__name__}" for n in names}
            | {"(error)": "#/$defs/ErrorResult"},
            **schema}
