"""The item graph of one story: what each stage's items are, what they wait for, and how one is run.

A story's graph unfolds as its stages finish, because later items are only known then:

    plan ──► retrieve ──► adapt/motion/<id> …  ──┐
       └──────────────► adapt/character/<id> … ──┴─► render/<scene> … ──► evaluate

- ``plan`` and ``retrieve`` are whole-stage CPU items (retrieval scores on ``retrieve.device``).
- each adapter is a GPU item, with its cross-story cache key, so a batch trains a shared motion once;
- each scene is a GPU item waiting for the adapters its regions are bound to; the last one stitches story.mp4;
- ``evaluate`` waits for every scene.

Running an item is running its stage restricted to it (``stage.run(ws, cfg, only=[…])``) under the workspace lock:
the stage records stay the only truth, so an executor never keeps its own idea of what is done, a killed item
resumes like any stage run, and any item can be re-run by hand with the stage command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..workspace import Workspace

STAGES = ("plan", "retrieve", "adapt", "render", "evaluate")
GPU_STAGES = ("adapt", "render", "evaluate")


@dataclass(frozen=True)
class Item:
    story: str  # the workspace folder
    stage: str
    name: str = ""  # "" for whole-stage items, "motion/walking", "s02"
    after: tuple[str, ...] = ()  # ids of the items this one waits for
    share_key: str | None = None  # adapters: the cross-story cache key (same key → trained once)

    @property
    def id(self) -> str:
        return f"{self.story}:{self.stage}" + (f"/{self.name}" if self.name else "")

    @property
    def gpu(self) -> bool:
        return self.stage in GPU_STAGES


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
    error: dict[str, Any] | None = None  # DreamrunnerError.to_dict() + "exit_code"
    seconds: float = 0.0


def first_items(job: StoryJob) -> list[Item]:
    return [Item(job.name, "plan")] if "plan" not in job.skip else []


def next_items(job: StoryJob, done: Item) -> list[Item]:
    """The items that become known when ``done`` finishes (later stages of the same story)."""
    ws = Workspace(job.workspace)
    cfg = _config(ws)
    if done.stage == "plan":
        if "retrieve" not in job.skip:
            return [Item(job.name, "retrieve", after=(done.id,))]
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
            adapters[name] = Item(job.name, "adapt", name, after, share_key=key)
    renders = []
    for scene in plan.scenes:
        needs = tuple(adapters[f"{k}/{i}"].id for k, i in bound_adapters(plan, scene) if f"{k}/{i}" in adapters)
        renders.append(Item(job.name, "render", scene.id, after + needs))
    out = list(adapters.values()) + renders
    if "evaluate" not in job.skip:
        out.append(Item(job.name, "evaluate", after=tuple(r.id for r in renders)))
    return out


def _config(ws: Workspace) -> Config:
    from ..config import resolve_config

    return resolve_config(saved=ws.config)


def run_item(job: StoryJob, item: Item, models: Any = None, progress: bool = False) -> dict[str, Any]:
    """Run one item: its stage restricted to it, under the workspace lock (waiting for it), with a shared
    ``ModelPool`` for the GPU stages. Raises the stage's DreamrunnerError on failure."""
    import importlib

    ws = Workspace(job.workspace)
    stage = importlib.import_module(f"..stages.{item.stage}", __package__)
    with ws.locked(wait=True):
        cfg = _config(ws)
        kwargs: dict[str, Any] = {"force": job.force, "progress": progress}
        if item.stage == "plan":
            kwargs["story_file"] = job.story_file
        elif item.stage == "retrieve" and job.db:
            kwargs["db"] = job.db
        elif item.stage == "adapt":
            kwargs.update(only=[item.name], models=models)
        elif item.stage == "render":
            kwargs.update(only=[item.name], models=models)
        return stage.run(ws, cfg, **kwargs)
