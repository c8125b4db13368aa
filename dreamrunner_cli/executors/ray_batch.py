"""`dreamrunner batch`: the item graphs of many stories on Ray (a local instance, or a cluster).

- CPU items (plan, retrieve) run as Ray tasks that request one CPU.
- GPU items (adapt, render, evaluate) run on long-lived actors that request one GPU each and keep a ``ModelPool``:
  a pipeline is loaded once per actor and serves every item of that model config.
- Adapter items with the same cross-story cache key are merged: the first one trains, the others wait for it and
  take the adapter from the cache (the cache folder must be shared by every node: docs/batch.md).
- The driver releases ready items by critical-path priority (``schedule.priorities``), at most one item per story at
  a time (each item holds its workspace's lock), and never keeps its own idea of what is done: items ask the stage
  records, so a batch run again skips everything finished.
- Faults: an actor that dies mid-item is restarted by Ray and the item retried (it resumes from its stage's
  checkpoints); a story whose item fails with a dreamrunner error stops alone, the others go on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendUnavailable, DreamrunnerError
from .graph import STAGES, Item, ItemResult, StoryJob, first_items, next_items, run_item
from .schedule import COSTS, Task, priorities

ITEM_RETRIES = 2  # an item whose worker died is retried this often (on a restarted worker)
STAGE_COST = {"plan": COSTS["plan"], "retrieve": COSTS["retrieve"], "adapt": COSTS["motion"],
              "render": sum(COSTS["scene"]) / 2, "evaluate": COSTS["evaluate"]}


def import_ray():
    try:
        import ray
    except ImportError:
        raise BackendUnavailable("`dreamrunner batch` needs Ray, which is not installed",
                                 hint="pip install 'dreamrunner[batch]' (or: pip install 'ray>=2.9'); "
                                 "`make install` includes it") from None
    return ray


def worker_env() -> dict[str, str]:
    """The environment workers need to see the same cache, database and offline mode as the driver (never API
    keys: docs/batch.md)."""
    return {k: v for k, v in os.environ.items() if k.startswith(("DREAMRUNNER_", "HF_", "TRANSFORMERS_",
                                                                   "TOKENIZERS_"))}


def _execute(job: StoryJob, item: Item, models=None) -> ItemResult:
    """Run one item and turn a dreamrunner error into data (so a failing story does not look like a dead worker)."""
    from ..cli.common import setup_output

    setup_output(os.environ.get("DREAMRUNNER_VERBOSE") == "1")  # the same quiet output as the CLI, in a worker
    start = time.monotonic()
    try:
        result = run_item(job, item, models)
        return ItemResult(item.id, True, _slim(result), seconds=time.monotonic() - start)
    except DreamrunnerError as exc:
        return ItemResult(item.id, False, error=exc.to_dict(), seconds=time.monotonic() - start)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # an unexpected failure of one item must not take the batch down: report it
        return ItemResult(item.id, False, error={"error": f"{type(exc).__name__}: {exc}", "exit_code": 1},
                          seconds=time.monotonic() - start)


def _slim(result: dict) -> dict:
    return {"items": [{k: it.get(k) for k in ("item", "action", "reason")} for it in result.get("items", [])]}


class GpuWorker:
    """A Ray actor holding pipelines (one ``ModelPool``) across the items it serves."""

    def __init__(self) -> None:
        from ..models.pool import ModelPool

        self.pool = ModelPool()

    def pid(self) -> int:
        return os.getpid()

    def run(self, job: StoryJob, item: Item) -> ItemResult:
        return _execute(job, item, self.pool)


def _cpu_item(job: StoryJob, item: Item) -> ItemResult:
    return _execute(job, item)


@dataclass
class StoryState:
    job: StoryJob
    failed: ItemResult | None = None
    busy: bool = False
    done: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    stories: dict[str, dict[str, Any]]
    items: dict[str, dict[str, Any]]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(s["status"] == "finished" for s in self.stories.values())

    def exit_code(self) -> int:
        codes = [s["error"]["exit_code"] for s in self.stories.values() if s.get("error")]
        return 0 if not codes else codes[0]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seconds": round(self.seconds, 1), "stories": self.stories, "items": self.items}


class RayBatch:
    """Drive many story graphs on Ray. ``on_dispatch(item, actor_or_none)`` is called when an item is sent (for
    progress displays and fault-injection tests)."""

    def __init__(self, jobs: list[StoryJob], *, address: str | None = None, num_cpus: int | None = None,
                 num_gpus: int | None = None, workers: int | None = None,
                 on_dispatch: Callable[[Item, Any], None] | None = None,
                 on_update: Callable[[RayBatch], None] | None = None) -> None:
        self.ray = import_ray()
        self.jobs = jobs
        self.address, self.num_cpus, self.num_gpus, self.workers = address, num_cpus, num_gpus, workers
        self.on_dispatch, self.on_update = on_dispatch, on_update
        self.states = {j.name: StoryState(j) for j in jobs}
        self.known: dict[str, Item] = {}
        self.results: dict[str, ItemResult] = {}
        self.running: dict[str, Item] = {}
        self.trainer_of: dict[str, str] = {}  # adapter cache key → id of the item that trains it
        self.actors: list[Any] = []

    # -- set-up ---------------------------------------------------------------------------------------------------

    def _start(self) -> None:
        ray = self.ray
        if not ray.is_initialized():
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local instance needs no token
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "ignore_reinit_error": True, "runtime_env": {"env_vars": worker_env()}}
            if self.address:
                kwargs["address"] = self.address
            else:
                if self.num_cpus is not None:
                    kwargs["num_cpus"] = self.num_cpus
                if self.num_gpus is not None:
                    kwargs["num_gpus"] = self.num_gpus
            ray.init(**kwargs)
        gpus = int(ray.cluster_resources().get("GPU", 0))
        count = self.workers or gpus
        if count < 1:
            raise BackendUnavailable("the Ray cluster has no GPU for the adapt, render and evaluate items",
                                     hint="run on GPU machines, or declare logical GPUs for a local CPU run with "
                                     "--gpus N (only sensible with the tiny preset)")
        actor = ray.remote(num_gpus=1, num_cpus=0, max_restarts=-1, max_task_retries=ITEM_RETRIES)(GpuWorker)
        self.actors = [actor.remote() for _ in range(count)]
        self.idle = list(self.actors)
        self.cpu_task = ray.remote(num_cpus=1, max_retries=ITEM_RETRIES)(_cpu_item)

    # -- the graph ------------------------------------------------------------------------------------------------

    def _add(self, items: list[Item]) -> None:
        for item in items:
            if item.share_key:  # merge equal adapters across stories: the first trains, the rest wait for it
                trainer = self.trainer_of.setdefault(item.share_key, item.id)
                if trainer != item.id:
                    item = Item(item.story, item.stage, item.name, item.after + (trainer,), item.share_key)
            self.known[item.id] = item

    def _ready(self) -> list[Item]:
        out = []
        for item in self.known.values():
            if item.id in self.results or item.id in self.running:
                continue
            state = self.states[item.story]
            if state.failed or state.busy:
                continue
            if all(up in self.results and self.results[up].ok for up in item.after):
                out.append(item)
            elif any(up in self.results and not self.results[up].ok for up in item.after):
                # a shared adapter failed in another story: this story cannot go on either
                up = next(u for u in item.after if u in self.results and not self.results[u].ok)
                self._fail(item, ItemResult(item.id, False, error={
                    "error": f"{item.id} waits for {up}, which failed", "exit_code": self.results[up].error
                    ["exit_code"], "hint": "see that story's error"}))
        prio = priorities([Task(i.id, STAGE_COST[i.stage], i.gpu, [a for a in i.after if a in self.known])
                           for i in self.known.values()])
        return sorted(out, key=lambda i: -prio[i.id])

    def _fail(self, item: Item, res: ItemResult) -> None:
        self.results[item.id] = res
        self.states[item.story].failed = res
        self._hand_over_training(item.story)

    def _hand_over_training(self, story: str) -> None:
        """A failed story's shared adapters it had not trained yet are trained by the next story that needs them
        (the others then wait for that one), so no story waits forever for an item that will never run."""
        for key, trainer in list(self.trainer_of.items()):
            if self.known[trainer].story != story or trainer in self.results:
                continue
            waiting = [i for i in self.known.values() if i.share_key == key and i.id != trainer
                       and not self.states[i.story].failed and i.id not in self.results]
            if not waiting:
                del self.trainer_of[key]
                continue
            heir = waiting[0]
            self.trainer_of[key] = heir.id
            for i in waiting:
                after = tuple(a for a in i.after if a != trainer) + (() if i is heir else (heir.id,))
                self.known[i.id] = Item(i.story, i.stage, i.name, after, i.share_key)

    # -- the loop -------------------------------------------------------------------------------------------------

    def run(self) -> BatchResult:
        start = time.monotonic()
        self._start()
        for job in self.jobs:
            self._add(first_items(job))
        pending: dict[Any, tuple[Item, Any]] = {}
        while True:
            for item in self._ready():
                state = self.states[item.story]
                if state.busy:
                    continue
                if item.gpu:
                    if not self.idle:
                        continue
                    actor = self.idle.pop(0)
                    ref = actor.run.remote(state.job, item)
                else:
                    actor = None
                    ref = self.cpu_task.remote(state.job, item)
                state.busy = True
                self.running[item.id] = item
                pending[ref] = (item, actor)
                if self.on_dispatch:
                    self.on_dispatch(item, actor)
            if self.on_update:
                self.on_update(self)
            if not pending:
                break
            done, _ = self.ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                item, actor = pending.pop(ref)
                if actor is not None:
                    self.idle.append(actor)
                state = self.states[item.story]
                state.busy = False
                del self.running[item.id]
                try:
                    res: ItemResult = self.ray.get(ref)
                except self.ray.exceptions.RayError as exc:  # the worker died more often than retried
                    res = ItemResult(item.id, False, error={"error": f"{item.id}: worker lost ({type(exc).__name__})",
                                                            "exit_code": 1, "hint": "run the batch again to "
                                                            "resume"})
                if not res.ok:
                    self._fail(item, res)
                    continue
                self.results[item.id] = res
                state.done.append(item.id)
                try:
                    self._add(next_items(state.job, item))
                except DreamrunnerError as exc:
                    self._fail(item, ItemResult(item.id, False, error=exc.to_dict()))
        return self._summary(time.monotonic() - start)

    def _summary(self, seconds: float) -> BatchResult:
        stories = {}
        for name, st in self.states.items():
            undone = [i.id for i in self.known.values() if i.story == name and i.id not in self.results]
            if st.failed:
                stories[name] = {"status": "failed", "failed_item": st.failed.item_id, "error": st.failed.error,
                                 "done": st.done}
            elif undone:  # never expected: say so rather than call it finished
                stories[name] = {"status": "failed", "failed_item": undone[0], "done": st.done, "error": {
                    "error": f"{len(undone)} item(s) never ran: {', '.join(undone[:3])}", "exit_code": 1,
                    "hint": "run the batch again to resume"}}
            else:
                stories[name] = {"status": "finished", "done": st.done}
        items = {i: {"ok": r.ok, "seconds": round(r.seconds, 2), **({"error": r.error} if r.error else {}),
                     **r.result} for i, r in self.results.items()}
        return BatchResult(stories, items, seconds)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per stage: done / running / failed / to do (known items not finished)."""
        out = {s: {"done": 0, "running": 0, "failed": 0, "to do": 0} for s in STAGES}
        for item in self.known.values():
            r = self.results.get(item.id)
            key = "running" if item.id in self.running else "done" if r and r.ok else "failed" if r else "to do"
            out[item.stage][key] += 1
        return out

    def shutdown(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors.clear()
