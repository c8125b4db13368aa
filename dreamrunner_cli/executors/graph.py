"""The item graph of one story: what each stage's items are, what they wait for, and how one is run.

A story's graph unfolds as its stages finish, because later items are only known then:

    plan ──► retrieve ──► adapt/motion/<id> …  ──┐
       └──────────────► adapt/character/<id> … ──┴─► render/<scene> … ──► render/story ──► evaluate

- ``plan`` and ``retrieve`` are whole-stage items;
- each adapter is an item with its cross-story cache key, so a batch trains a shared motion once;
- each scene is an item waiting for the adapters its regions are bound to; ``render/story`` stitches story.mp4 once
  every scene is there;
- ``evaluate`` waits for every scene and the stitch.

Each item says what it needs: ``cuda`` when its stage's device is a CUDA device (it must get a GPU, whatever the
stage), ``model`` the key of what a worker must hold loaded to run it without loading (a pipeline, the scorers), and
``claims`` the item locks it holds while it runs.

Running an item is running its stage restricted to it (``stage.run(ws, cfg, only=[…])``) under the workspace's item
lock (``Workspace.item_locked``): the workspace is shared with the story's other items, the item itself is claimed,
so independent items of one story run in parallel and two processes never run the same item. The stage records
stay the only truth, so an executor never keeps its own idea of what is done, a killed item resumes like any stage
run, and any item can be re-run by hand with the stage command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..workspace import Workspace, digest

STAGES = ("plan", "retrieve", "adapt", "render", "evaluate")
MODEL_STAGES = ("adapt", "render", "evaluate")  # their items run on workers that keep models loaded
STITCH = "story"  # the render item that stitches story.mp4 (its record's name in the render stage)


@dataclass(frozen=True)
class Item:
    story: str  # the workspace folder
    stage: str
    name: str = ""  # "" for whole-stage items, "motion/walking", "s02"
    after: tuple[str, ...] = ()  # ids of the items this one waits for
    share_key: str | None = None  # adapters: the cross-story cache key (same key → trained once)
    cuda: bool = False  # its stage's device is a CUDA device: it must run on a GPU
    model: str | None = None  # what a worker must hold loaded to run it ("pipeline:…", "scorers:…")
    claims: tuple[str, ...] = ()  # item locks held while it runs (default: its own stage/name)

    @property
    def id(self) -> str:
        return f"{self.story}:{self.stage}" + (f"/{self.name}" if self.name else "")

    @property
    def key(self) -> str:
        """``render/s02``: the item as the stage records and the item locks name it."""
        return self.stage + (f"/{self.name}" if self.name else "")

    def slot(self, cluster_has_gpus: bool) -> str:
        """"gpu" or "cpu": the kind of worker it runs on. CUDA items need a GPU; the model stages use GPU slots when
        the cluster has any (logical GPUs declared with --gpus count too), else CPU slots (the tiny preset on a
        CPU-only machine)."""
        return "gpu" if self.cuda or (cluster_has_gpus and self.stage in MODEL_STAGES) else "cpu"


@dataclass
class StoryJob:
    """One story of a batch: where its workspace is, how it was configured, and its run options."""

    workspace: Path
    story_file: Path | None = None
    db: str | None = None
    skip: tuple[str, ...] = ()
    force: bool = False

    @property
    def name(self) -> str:
        return str(self.workspace)


@dataclass
class ItemResult:
    item_id: str
    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None  # DreamrunnerError.to_dict(): error (its type), message, hint, exit_code
    seconds: float = 0.0
    loaded: dict[str, str] = field(default_factory=dict)  # what the worker holds after the item (model affinity)


def first_items(job: StoryJob) -> list[Item]:
    if "plan" in job.skip:
        return []
    return [_item(job, _config(Workspace(job.workspace)), "plan")]


def _item(job: StoryJob, cfg: Config, stage: str, name: str = "", after: tuple[str, ...] = (),
          share_key: str | None = None, claims: tuple[str, ...] = ()) -> Item:
    """An item with what it needs: CUDA or not (the stage's device setting), the model a worker must hold."""
    from ..models.loading import device_needs
    from ..models.pool import model_key

    cuda = any(device.startswith("cuda") for _, device, _ in device_needs(cfg, [stage]))
    model = None
    if stage in ("adapt", "render"):
        model = "pipeline:" + digest(model_key(cfg.model))
    elif stage == "evaluate":
        from ..stages.evaluate import evaluation_device

        model = "scorers:" + digest([cfg.evaluate.model_dump(), evaluation_device(cfg)])
    key = stage + (f"/{name}" if name else "")
    return Item(job.name, stage, name, after, share_key, cuda, model, claims or (key,))


def next_items(job: StoryJob, done: Item) -> list[Item]:
    """The items that become known when ``done`` finishes (later stages of the same story)."""
    ws = Workspace(job.workspace)
    cfg = _config(ws)
    if done.stage == "plan":
        if "retrieve" not in job.skip:
            return [_item(job, cfg, "retrieve", after=(done.id,))]
        return _adapt_and_render(job, ws, cfg, after=(done.id,))
    if done.stage == "retrieve":
        return _adapt_and_render(job, ws, cfg, after=(done.id,))
    return []


def _adapt_and_render(job: StoryJob, ws: Workspace, cfg: Config, after: tuple[str, ...]) -> list[Item]:
    from ..schema import load_plan
    from ..stages.render import bound_adapters

    plan = load_plan(ws.require_plan())
    adapters: dict[str, Item] = {}
    if "adapt" not in job.skip:
        from ..stages.adapt import adapter_keys

        for name, key in adapter_keys(ws, cfg).items():
            adapters[name] = _item(job, cfg, "adapt", name, after, share_key=key)
    renders = []
    for scene in plan.scenes:
        needs = tuple(adapters[f"{k}/{i}"].id for k, i in bound_adapters(plan, scene) if f"{k}/{i}" in adapters)
        renders.append(_item(job, cfg, "render", scene.id, after + needs))
    # The stitch holds every scene's claim too: it runs the render stage over all scenes (normally all up to date).
    stitch = _item(job, cfg, "render", STITCH, tuple(r.id for r in renders),
                   claims=tuple(r.key for r in renders) + (f"render/{STITCH}",))
    out = list(adapters.values()) + renders + [stitch]
    if "evaluate" not in job.skip:
        out.append(_item(job, cfg, "evaluate", after=tuple(r.id for r in renders) + (stitch.id,)))
    return out


def _config(ws: Workspace) -> Config:
    from ..config import resolve_config

    return resolve_config(saved=ws.config)


def run_item(job: StoryJob, item: Item, models: Any = None, progress: bool = False,
             scorers: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one item: its stage restricted to it, under the workspace's item lock (waiting for its claims), with a
    shared ``ModelPool`` for adapt and render and kept scorers (``scorers``: {model key: Encoders}) for evaluate.
    Raises the stage's DreamrunnerError on failure."""
    import importlib

    ws = Workspace(job.workspace)
    stage = importlib.import_module(f"..stages.{item.stage}", __package__)
    with ws.item_locked(list(item.claims or (item.key,)), wait=True):
        cfg = _config(ws)
        kwargs: dict[str, Any] = {"force": job.force, "progress": progress}
        if item.stage == "plan":
            kwargs["story_file"] = job.story_file
        elif item.stage == "retrieve" and job.db:
            kwargs["db"] = job.db
        elif item.stage == "adapt":
            kwargs.update(only=[item.name], models=models)
        elif item.stage == "render" and item.name == STITCH:
            kwargs.update(models=models)  # every scene (all rendered by now: skipped), then story.mp4
        elif item.stage == "render":
            kwargs.update(only=[item.name], models=models, stitch=False)
        elif item.stage == "evaluate" and scorers is not None and item.model:
            from ..evaluation.orchestrate import Encoders
            from ..stages.evaluate import evaluation_device

            if item.model not in scorers:  # loaded lazily on first use, then kept by the worker
                scorers.clear()  # one set of scorers per worker: another config's are dropped
                scorers[item.model] = Encoders(cfg.evaluate, evaluation_device(cfg))
            kwargs["encoders"] = scorers[item.model]
        return stage.run(ws, cfg, **kwargs)
