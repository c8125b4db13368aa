"""The scripting contract: what ``--json`` prints on stdout, as pydantic models (``dreamrunner schema result``).

Every ``--json`` result carries ``"schema_version": RESULT_SCHEMA_VERSION`` (added by ``cli.common.emit``, and to
the error object). Every command with ``--json`` has a model here: the stage commands (``plan``, ``retrieve``,
``adapt``, ``render``, ``evaluate``), ``run``, ``status``, ``batch``, ``config show|get|set|unset|diff``, ``doctor``,
``index build|demo|info|search``, ``masks``, ``import``, ``export``, ``bench``, and the error object any of them
prints when it fails (``COMMAND_RESULTS`` maps each command to its model). Each command's model is exact: its
``command`` (and a stage's ``stage``) is a constant and its own fields are required, so one command's output never
validates against another command's schema (tests/test_result_schemas.py). Objects may still carry more fields than
listed (new fields may appear at any time): scripts should ignore fields they do not know. A change that removes or
renames a field, or changes its meaning, raises ``schema_version``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter

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
    """One stage's result (inside ``run`` and ``status``: without ``schema_version``); each stage adds its own fields
    (``PlanOutcome`` … ``EvaluateOutcome``)."""

    stage: str
    workspace: str = Field(description=_WS_DOC)
    dry_run: bool
    items: list[Item]
    notes: list[str] = Field(description="things a person should know (one line each)")


class PlannerInfo(_Open):
    """The planner that made (or would make) the plan."""

    backend: str = Field(description="builtin, openai or transformers (config plan.llm)")
    model: str | None = Field(description="the LLM's name (openai, transformers); null for builtin")


class Unattributed(_Open):
    """A sentence of the story the planner could not give to any scene's events (it is not in the video)."""

    scene: str | None = Field(description="the scene the sentence belongs to (null: none)")
    sentence: str
    reason: str


class PlanOutcome(StageOutcome):
    """``plan``: the two-level planner's items (outline, one per scene, plan.json, storyboard)."""

    stage: Literal["plan"]
    planner: PlannerInfo | None = Field(description="null when plan.json was written by hand or imported (no "
                                                    "story.txt to plan from)")
    llm_calls: list[dict[str, Any]] = Field(description="one entry per LLM request this run made (empty: builtin "
                                                        "planner, or every item up to date)")
    plan: str = Field(description="absolute path of plan.json")
    storyboard: str = Field(description="absolute path of storyboard.png (more pages: storyboard-2.png, …)")
    vanishing_regions: list[str] = Field(description="regions whose box covers no token at the configured model "
                                                     "geometry (SR3AI would drop them), one line each")
    unattributed: list[Unattributed] | None = Field(None, description="sentences of the story that no scene's "
                                                                      "events carry")


class RetrieveModels(_Open):
    clip: str = Field(description="the CLIP model scoring windows against the motion's text")
    video_text: str = Field(description="the video-text model (ViCLIP or X-CLIP)")


class RetrieveDatabase(_Open):
    """The video database retrieval searched."""

    db: str | None = Field(description="as given: an index folder, a database folder, or 'demo'")
    index: str | None = Field(description="absolute path of the index folder")
    fingerprint: str | None = Field(description="identifies the index contents (part of each motion's fingerprint)")
    rows: int | None = Field(description="clips in the index")
    backend: str = Field(description="bm25s or rank_bm25")


class RetrieveOutcome(StageOutcome):
    """``retrieve``: one item per motion (its clips under retrieval/<motion>/)."""

    stage: Literal["retrieve"]
    models: RetrieveModels
    database: RetrieveDatabase


class VideoModel(_Open):
    """The video model a stage used (config model.*)."""

    video_model: str = Field(description="Hugging Face id, local folder, or 'tiny'")
    revision: str | None
    dtype: str


class AdapterWritten(_Open):
    """One adapter this run wrote (trained, resumed, or reused from the cross-story cache)."""

    kind: Literal["motion", "character"]
    id: str
    path: str = Field(description="relative to the workspace, e.g. adapters/motion/walking")
    source: str = Field(description="how it was made, e.g. trained, cache")
    steps: int | None = None
    final_loss: float | None = None


class AdaptOutcome(StageOutcome):
    """``adapt``: one item per motion and per character (motion/<id>, character/<id>)."""

    stage: Literal["adapt"]
    adapters: list[AdapterWritten] = Field(description="the adapters written by this run (empty: all up to date)")
    models: VideoModel
    seeds: dict[str, int] = Field(description="{'adapt': adapt.seed}")


class RenderOutcome(StageOutcome):
    """``render``: one item per scene (renders/<scene>.mp4) and ``story`` (story.mp4)."""

    stage: Literal["render"]
    seeds: dict[str, int] = Field(description="by scene id: the seed derived from render.seed and the scene id")
    models: VideoModel
    attention: Literal["none", "sdpa", "flex"] = Field(description="the SR3AI backend (render.attention)")
    story: str | None = Field(description="absolute path of story.mp4, or null while it does not exist")
    scheduler: dict[str, Any] | None = Field(None, description="when a scene ran: the sampler's class and settings")


class EvaluateOutcome(StageOutcome):
    """``evaluate``: one item per scene (and per extra video source), and the story's metrics and report."""

    stage: Literal["evaluate"]
    device: str = Field(description="the scorers' torch device")
    models: dict[str, Any] = Field(description="the scorers: clip, dino, video_text")
    sources: list[dict[str, Any]] = Field(description="the video sources scored (renders, and any others): name and "
                                                      "folder, and once the story is scored its headline metrics")
    metrics_file: str | None = Field(None, description="eval/metrics.json, once the story is scored (absent with "
                                                       "--scene)")
    report: str | None = Field(None, description="eval/report.html, as metrics_file")
    warnings: list[str] | None = Field(None, description="what the numbers cannot say (e.g. random tiny scorers)")


class WaitingStage(_Open):
    """``run --dry-run``: a stage whose inputs an earlier stage has yet to produce."""

    stage: str
    dry_run: Literal[True]
    items: list[Item] = Field(max_length=0)
    notes: list[str] = Field(description="'<stage> waits for an earlier stage: …'")


STAGE_OUTCOMES = (PlanOutcome, RetrieveOutcome, AdaptOutcome, RenderOutcome, EvaluateOutcome)
AnyStageOutcome = PlanOutcome | RetrieveOutcome | AdaptOutcome | RenderOutcome | EvaluateOutcome


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
    command: str = Field(description="the command that printed it, e.g. render, 'config show' (a constant per "
                                     "command)")
    config_changes: list[ConfigChange] | None = Field(
        None, description="present when this command saved config changes to config.json")
    config_unsaved: list[ConfigChange] | None = Field(
        None, description="present when this command used config changes it did not save (--dry-run, --no-save)")


def _cmd(name: str) -> Any:
    return Field(description=f"always {name!r}")


class PlanResult(PlanOutcome, _Envelope):
    """``plan --json``."""

    command: Literal["plan"] = _cmd("plan")


class RetrieveResult(RetrieveOutcome, _Envelope):
    """``retrieve --json``."""

    command: Literal["retrieve"] = _cmd("retrieve")


class AdaptResult(AdaptOutcome, _Envelope):
    """``adapt --json``."""

    command: Literal["adapt"] = _cmd("adapt")


class RenderResult(RenderOutcome, _Envelope):
    """``render --json``."""

    command: Literal["render"] = _cmd("render")


class EvaluateResult(EvaluateOutcome, _Envelope):
    """``evaluate --json``."""

    command: Literal["evaluate"] = _cmd("evaluate")


class StageResult(RootModel[PlanResult | RetrieveResult | AdaptResult | RenderResult | EvaluateResult]):
    """``plan``, ``retrieve``, ``adapt``, ``render``, ``evaluate`` with ``--json`` (each has its own definition)."""


class RunResult(_Envelope):
    """``run --json``: every stage in order."""

    command: Literal["run"] = _cmd("run")
    workspace: str
    stages: list[AnyStageOutcome | SkippedStage | WaitingStage]


class StatusResult(_Envelope):
    """``status --json``: a dry run of every stage, the last runs, and problems found in runs.jsonl."""

    command: Literal["status"] = _cmd("status")
    workspace: str
    stages: list[AnyStageOutcome | BlockedStage]
    runs: list[dict[str, Any]] = Field(description="the last 10 lines of runs.jsonl")
    problems: list[str]
    notes: list[str]
    outputs: list[dict[str, Any]] | None = Field(None, description="with --verify: recorded outputs missing or "
                                                                   "changed since their record")


class ErrorResult(_Envelope):
    """Any command that fails, with ``--json`` (the same message also goes to stderr); the exit code is
    ``exit_code``."""

    command: str | None = Field(None, description="the command that failed, when known")
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
    attempts: int | None = Field(None, description="how many times a worker started it (2 or more: retried after "
                                                  "its worker was lost)")
    error: BatchError | None = None
    items: list[BatchDecision] | None = Field(None, description="when ok: the stage's decisions for this item")


class BatchResult(_Envelope):
    """``batch --json``: one summary for every story (docs/batch.md); the exit code is 0 only if ``ok``."""

    command: Literal["batch"] = _cmd("batch")

    out: str = Field(description="the folder holding one workspace per story (--out)")
    ok: bool = Field(description="true when every story finished")
    seconds: float
    log: str | None = Field(None, description="the batch log under --out: Ray's own output, and one line per item "
                                              "started (its process id and attempt) and finished")
    stories: dict[str, BatchStory] = Field(description="by workspace path")
    items: dict[str, BatchItem] = Field(description="by item id, the items that ran (finished or failed)")


# config ------------------------------------------------------------------------------------------------------------


class ConfigShowResult(_Envelope):
    """``config show --json``: the workspace's whole config."""

    command: Literal["config show"] = _cmd("config show")

    workspace: str = Field(description=_WS_DOC)
    source: str = Field(description="'config.json', or 'preset NAME (no config.json yet)'")
    config: dict[str, Any] = Field(description="the resolved config, as config.json holds it "
                                               "(`dreamrunner schema config`)")


class ConfigGetResult(_Envelope):
    """``config get --json``: one key's value."""

    command: Literal["config get"] = _cmd("config get")

    workspace: str = Field(description=_WS_DOC)
    source: str = Field(description="'config.json', or 'preset NAME (no config.json yet)'")
    key: str = Field(description="the dotted key asked for, e.g. render.steps (or a section, e.g. render)")
    value: Any = Field(description="its value; a section gives an object")


class ConfigSetResult(_Envelope):
    """``config set --json``: what changed in config.json."""

    command: Literal["config set"] = _cmd("config set")

    workspace: str = Field(description=_WS_DOC)
    config_changes: list[ConfigChange] = Field(
        description="each key changed in config.json, with its old and new value (empty: nothing changed)")


class ConfigUnsetResult(ConfigSetResult):
    """``config unset --json``: what changed in config.json (as ``config set``)."""

    command: Literal["config unset"] = _cmd("config unset")  # type: ignore[assignment]


class ConfigDiffChange(_Open):
    """One key whose value in the workspace differs from the preset's."""

    key: str
    preset: Any = Field(description="the preset's value")
    workspace: Any = Field(description="the workspace's value")


class ConfigDiffResult(_Envelope):
    """``config diff --json``: what the workspace's config changes from a preset."""

    command: Literal["config diff"] = _cmd("config diff")

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

    command: Literal["doctor"] = _cmd("doctor")

    preset: str = Field(description="the preset of the configuration checked")
    status: Literal["ok", "warn", "error"] = Field(description="the worst status among the checks (info counts as ok)")
    exit_code: int = Field(description="0 unless a check is an error: then the lowest of their exit codes")
    checks: list[DoctorCheck]


# index -------------------------------------------------------------------------------------------------------------


class IndexBuildResult(_Envelope):
    """``index build --json``: the index written, what was read and how fast."""

    command: Literal["index build"] = _cmd("index build")

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
                                                "{'path': 'videoID', 'caption': 'caption'}; with --path-template, "
                                                "'path' and 'path_template' are the template; {} for a clip folder")


class IndexDemoResult(IndexBuildResult):
    """``index demo --json``: the demo database made (videos, caption file) and its index."""

    command: Literal["index demo"] = _cmd("index demo")  # type: ignore[assignment]

    db_dir: str = Field(description="the database folder (OUT_DIR)")
    captions: str = Field(description="the caption file written")
    videos: int = Field(description="video files written")


class IndexInfoResult(_Envelope):
    """``index info --json``: an index's size, source and fingerprint."""

    command: Literal["index info"] = _cmd("index info")

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
    source: str | None = Field(description="the caption file the index was built from (for pre-cut clips: the "
                                           "clip folder)")
    bytes: int


class SearchHit(_Open):
    """One caption ranked by ``index search``."""

    row: int
    score: float
    caption: str
    path: str = Field(description="the video path, relative to the database folder")


class IndexSearchResult(_Envelope):
    """``index search --json``: the best captions for a query, best first."""

    command: Literal["index search"] = _cmd("index search")

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

    command: Literal["masks"] = _cmd("masks")

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

    command: Literal["import"] = _cmd("import")

    stage: Literal["import"]
    dry_run: bool
    source: str = Field(description="the file read")
    out: str = Field(description="the folder holding one workspace per plan (--out)")
    items: list[ImportItem]
    notes: list[str]


class ExportResult(_Envelope):
    """``export --json``: the scenes written in the authors' text format."""

    command: Literal["export"] = _cmd("export")

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

    command: Literal["bench"] = _cmd("bench")

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
    "plan": PlanResult,
    "retrieve": RetrieveResult,
    "adapt": AdaptResult,
    "render": RenderResult,
    "evaluate": EvaluateResult,
    "run": RunResult,
    "status": StatusResult,
    "batch": BatchResult,
    "config show": ConfigShowResult,
    "config get": ConfigGetResult,
    "config set": ConfigSetResult,
    "config unset": ConfigUnsetResult,
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
          | ConfigSetResult | ConfigUnsetResult | ConfigDiffResult | DoctorResult | IndexBuildResult | IndexDemoResult
          | IndexInfoResult | IndexSearchResult | MasksResult | ImportResult | ExportResult | BenchResult)
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
    from .schema import schema_id

    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": schema_id("result", *(["-".join(command.split())] if command else [])),
            "title": "dreamrunner --json result" + (f": {' '.join(command.split())}" if command else ""),
            "description": f"What `dreamrunner COMMAND --json` prints on stdout: {what}. Every one has "
                           f"schema_version {RESULT_SCHEMA_VERSION}. Objects may carry more fields than listed; ignore "
                           "the ones you do not know.",
            "x-dreamrunner-commands": {n: f"#/$defs/{COMMAND_RESULTS[n].__name__}" for n in names}
            | {"(error)": "#/$defs/ErrorResult"},
            **schema}
