"""`dreamrunner batch`: the item graphs of many stories on Ray (a local instance, or a cluster).

- Every item runs on a long-lived Ray actor (a worker) that keeps what it loaded: one pipeline (a ``ModelPool``)
  and one set of evaluation scorers. GPU workers request one GPU each; CPU workers one CPU each. An item that uses
  CUDA (its stage's device setting) goes to a GPU worker whatever its stage; adapt, render and evaluate go to GPU
  workers when the cluster has GPUs (logical ones declared with ``--gpus`` count), else to CPU workers (the tiny
  preset on a CPU-only machine); plan and CPU retrieval go to CPU workers. Workers start on demand, up to the
  cluster's slots.
- The driver sends ready items by critical-path priority, each to a worker chosen by model affinity
  (``schedule.order`` and ``schedule.pick_worker``: the same policy the simulation replays). Items of one story run
  in parallel whenever the graph allows: each holds its workspace shared and claims only itself
  (``Workspace.item_locked``).
- Adapter items with the same cross-story cache key are merged: the first one trains, the others wait for it and
  take the adapter from the cache (the cache folder must be shared by every node: docs/batch.md).
- Workers report when an item really starts (a small ``Board`` actor), so "queued" (sent, waiting for a worker to
  start) and "running" are told apart, attempts are counted, and the batch log names the process running each item.
- The driver never keeps its own idea of what is done: items ask the stage records, so a batch run again skips
  everything finished.
- Faults: an actor that dies mid-item is restarted by Ray and the item retried (it resumes from its stage's
  checkpoints); a story whose item fails with a dreamrunner error stops alone (its message and hint are kept), the
  others go on.
- The batch log (``OUT/dreamrunner-batch.log``) gets a line per item started (with its process id and attempt) and
  finished; the CLI sends Ray's own output there too (``output.third_party_streams``; to stderr with ``-v``), so
  stdout holds only dreamrunner's summary.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, DreamrunnerError
from .graph import STAGES, Item, ItemResult, StoryJob, first_items, next_items, run_item
from .schedule import COSTS, NEW, Task, Worker, order, pick_worker, priorities

ITEM_RETRIES = 2  # an item whose worker died is retried this often (on a restarted worker)
STAGE_COST = {"plan": COSTS["plan"], "retrieve": COSTS["retrieve"], "adapt": COSTS["motion"],
              "render": sum(COSTS["scene"]) / 2, "evaluate": COSTS["evaluate"]}
SLOW_FACTOR = 3.0  # a running item over this many times its estimate is shown as "slow?"


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


def error_dict(message: str, exit_code: int = 1, hint: str | None = None, error: str = "BatchError") -> dict:
    """An error in the shape of ``DreamrunnerError.to_dict()`` (for failures the driver itself sees)."""
    return {"error": error, "message": message, "details": [], "hint": hint, "exit_code": exit_code}


def _execute(job: StoryJob, item: Item, models=None, scorers=None) -> ItemResult:
    """Run one item and turn a dreamrunner error into data (so a failing story does not look like a dead worker)."""
    from ..output import setup_output

    setup_output(os.environ.get("DREAMRUNNER_VERBOSE") == "1")  # the same quiet output as the CLI, in a worker
    start = time.monotonic()
    try:
        result = run_item(job, item, models, scorers=scorers)
        return ItemResult(item.id, True, _slim(result), seconds=time.monotonic() - start)
    except DreamrunnerError as exc:
        return ItemResult(item.id, False, error=exc.to_dict(), seconds=time.monotonic() - start)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # an unexpected failure of one item must not take the batch down: report it
        return ItemResult(item.id, False, error=error_dict(f"{type(exc).__name__}: {exc}", error=type(exc).__name__),
                          seconds=time.monotonic() - start)


def _slim(result: dict) -> dict:
    return {"items": [{k: it.get(k) for k in ("item", "action", "reason")} for it in result.get("items", [])]}


class Board:
    """A Ray actor the workers tell when an item really starts executing (and in which process)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, float]] = []

    def started(self, item_id: str, pid: int) -> None:
        self.events.append((item_id, pid, time.time()))

    def drain(self) -> list[tuple[str, int, float]]:
        out, self.events = self.events, []
        return out


class BatchWorker:
    """A Ray actor keeping one pipeline (a ``ModelPool``) and one set of scorers across the items it serves."""

    def __init__(self) -> None:  # no constructor arguments: Ray restarts the actor from nothing
        from ..models.pool import ModelPool

        self.pool = ModelPool()
        self.pipeline: str | None = None  # the model key of the pipeline the pool holds (once it loaded one)
        self.holding = False
        self.scorers: dict[str, Any] = {}  # {model key: Encoders}, at most one (graph.run_item)

    def pid(self) -> int:
        return os.getpid()

    def run(self, job: StoryJob, item: Item, board: Any = None) -> ItemResult:
        if board is not None:
            board.started.remote(item.id, os.getpid())
        if item.model and item.model.startswith("pipeline:") and item.model != self.pipeline:
            self.pool.clear()  # one pipeline per worker: another model's is dropped before this one loads
            self.pipeline, self.holding = item.model, False
        loads = self.pool.loads
        res = _execute(job, item, self.pool, self.scorers)
        self.holding = self.holding or self.pool.loads > loads
        res.loaded = {k: v for k, v in (("pipeline", self.pipeline if self.holding else None),
                                        ("scorers", next((k for k, e in self.scorers.items() if e.loaded), None)))
                       if v}
        return res


GpuWorker = BatchWorker  # the older name


@dataclass
class StoryState:
    job: StoryJob
    failed: ItemResult | None = None
    done: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    stories: dict[str, dict[str, Any]]
    items: dict[str, dict[str, Any]]
    seconds: float
    log: str | None = None  # the batch log (Ray's output, which process ran each item)

    @property
    def ok(self) -> bool:
        return all(s["status"] == "finished" for s in self.stories.values())

    def exit_code(self) -> int:
        codes = [s["error"]["exit_code"] for s in self.stories.values() if s.get("error")]
        return 0 if not codes else codes[0]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seconds": round(self.seconds, 1), "log": self.log, "stories": self.stories,
                "items": self.items}


LOG_NAME = "dreamrunner-batch.log"  # OUT/<this>: Ray's output and one line per item started


class RayBatch:
    """Drive many story graphs on Ray. ``on_dispatch(item, actor)`` is called when an item is sent (for progress
    displays and fault-injection tests); ``on_update(batch)`` after every change and at least once a second."""

    def __init__(self, jobs: list[StoryJob], *, address: str | None = None, num_cpus: int | None = None,
                 num_gpus: int | None = None, workers: int | None = None,
                 on_dispatch: Callable[[Item, Any], None] | None = None,
                 on_update: Callable[[RayBatch], None] | None = None, log_dir: Path | None = None) -> None:
        self.ray = import_ray()
        self.jobs = jobs
        self.address, self.num_cpus, self.num_gpus, self.workers = address, num_cpus, num_gpus, workers
        self.on_dispatch, self.on_update = on_dispatch, on_update
        self.log_file = Path(log_dir) / LOG_NAME if log_dir is not None else None
        self.states = {j.name: StoryState(j) for j in jobs}
        self.known: dict[str, Item] = {}
        self.results: dict[str, ItemResult] = {}
        self.queued: dict[str, Item] = {}  # sent to a worker, not reported started yet
        self.running: dict[str, float] = {}  # item id → when its worker reported it started (monotonic)
        self.attempts: dict[str, int] = {}
        self.trainer_of: dict[str, str] = {}  # adapter cache key → id of the item that trains it
        self.pool: list[Worker] = []  # the policy's view of the workers (schedule.Worker)
        self.handles: dict[int, Any] = {}  # worker id → its actor
        self.pids: dict[int, int] = {}  # worker id → the process it last reported
        self.actors: list[Any] = []
        self.started_ray = False
        self.has_gpus = False
        self.caps = {True: 0, False: 0}
        self.board: Any = None

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
            self.started_ray = True
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
        self.has_gpus = gpus > 0
        # Workers: one per GPU (or --workers), CPU workers up to the CPUs (or --workers on a CPU-only cluster).
        self.caps = {True: self.workers or gpus, False: self.workers if self.workers and not gpus else max(1, cpus)}
        self._check_devices(gpus)
        self.board = ray.remote(num_cpus=0)(Board).remote()
        self.gpu_actor = ray.remote(num_gpus=1, num_cpus=0, max_restarts=-1,
                                    max_task_retries=ITEM_RETRIES)(BatchWorker)
        self.cpu_actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=ITEM_RETRIES)(BatchWorker)

    def _check_devices(self, gpus: int) -> None:
        """Refuse, before anything runs, a story whose config puts a stage on CUDA when the cluster has no GPU."""
        if gpus:
            return
        from ..config import resolve_config
        from ..models.loading import device_needs
        from ..workspace import Workspace

        for job in self.jobs:
            cfg = resolve_config(saved=Workspace(job.workspace).config)
            stages = [s for s in STAGES if s not in job.skip]
            cuda = [(key, device, used) for key, device, used in device_needs(cfg, stages) if device.startswith("cuda")]
            if cuda:
                raise BackendUnavailable(
                    f"the Ray cluster has no GPU, but {job.workspace}/config.json puts "
                    + ", ".join(f"{', '.join(used)} on {key}={device}" for key, device, used in cuda),
                    hint="run on GPU machines; or for a CPU run use --preset tiny (everything on the CPU), or "
                         + " ".join(f"--set {key}=cpu" for key, _, _ in cuda) + "; --gpus N declares logical GPUs "
                         "for a local instance (Ray schedules by count, nothing uses CUDA)")

    def _new_worker(self, gpu: bool) -> Worker:
        w = Worker(len(self.pool), gpu)
        actor = (self.gpu_actor if gpu else self.cpu_actor).remote()
        self.pool.append(w)
        self.handles[w.id] = actor
        self.actors.append(actor)
        return w

    # -- the graph ------------------------------------------------------------------------------------------------

    def _add(self, items: list[Item]) -> None:
        for item in items:
            if item.share_key:  # merge equal adapters across stories: the first trains, the rest wait for it
                trainer = self.trainer_of.setdefault(item.share_key, item.id)
                if trainer != item.id:
                    item = _with_after(item, item.after + (trainer,))
            self.known[item.id] = item

    def _ready(self) -> list[Item]:
        out = []
        for item in self.known.values():
            if item.id in self.results or item.id in self.queued or item.id in self.running:
                continue
            if self.states[item.story].failed:
                continue
            if all(up in self.results and self.results[up].ok for up in item.after):
                out.append(item.id)
            elif any(up in self.results and not self.results[up].ok for up in item.after):
                # a shared adapter failed in another story: this story cannot go on either
                up = next(u for u in item.after if u in self.results and not self.results[u].ok)
                cause = self.results[up].error or {}
                self._fail(item, ItemResult(item.id, False, error=error_dict(
                    f"{item.id} waits for {up}, which failed: {cause.get('message') or cause.get('error')}",
                    cause.get("exit_code", 1), cause.get("hint"), cause.get("error", "BatchError"))))
        prio = priorities([Task(i.id, STAGE_COST[i.stage], i.slot(self.has_gpus) == "gpu",
                                [a for a in i.after if a in self.known]) for i in self.known.values()])
        return [self.known[i] for i in order(out, prio)]

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
                self.known[i.id] = _with_after(i, after)

    # -- the loop -------------------------------------------------------------------------------------------------

    def run(self) -> BatchResult:
        """Run the batch (the CLI runs it inside ``output.third_party_streams``, so Ray's output goes to the log)."""
        start = time.monotonic()
        self._log(f"batch: {len(self.jobs)} stories, pid {os.getpid()}")
        try:
            self._start()
            for job in self.jobs:
                self._add(first_items(job))
            result = self._loop(start)
        finally:
            self.shutdown()
        return result

    def _loop(self, start: float) -> BatchResult:
        pending: dict[Any, tuple[Item, Worker]] = {}
        while True:
            for item in self._ready():
                gpu = item.slot(self.has_gpus) == "gpu"
                idle = [w for w in self.pool if w.gpu == gpu and not w.busy]
                started = sum(1 for w in self.pool if w.gpu == gpu)
                w = pick_worker(item.model, idle, started < self.caps[gpu])
                if w is None:
                    continue
                if w == NEW:
                    w = self._new_worker(gpu)
                assert isinstance(w, Worker)
                w.busy = True
                actor = self.handles[w.id]
                ref = actor.run.remote(self.states[item.story].job, item, self.board)
                self.queued[item.id] = item
                pending[ref] = (item, w)
                if self.on_dispatch:
                    self.on_dispatch(item, actor)
            self._drain_board()
            if self.on_update:
                self.on_update(self)
            if not pending:
                break
            done, _ = self.ray.wait(list(pending), num_returns=1, timeout=1.0)
            self._drain_board()
            for ref in done:
                item, w = pending.pop(ref)
                w.busy = False
                self.queued.pop(item.id, None)
                self.running.pop(item.id, None)
                state = self.states[item.story]
                try:
                    res: ItemResult = self.ray.get(ref)
                    w.loaded = dict(res.loaded)  # what the worker really holds now
                except self.ray.exceptions.RayError as exc:  # the worker died more often than retried
                    w.loaded = {}
                    res = ItemResult(item.id, False, error=error_dict(
                        f"{item.id}: its worker was lost {self.attempts.get(item.id, 0)} time(s) "
                        f"({type(exc).__name__})", 1, "run the batch again to resume; the batch log "
                        f"{self.log_file or ''} names the worker's process", "WorkerLost"))
                self._log(f"{'finished' if res.ok else 'failed'} {item.id} in {res.seconds:.1f} s"
                          + ("" if res.ok else f": {(res.error or {}).get('message')}"))
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

    def _drain_board(self) -> None:
        """Items the workers report started: queued → running; a new process for a worker means it was restarted
        (it holds nothing loaded any more)."""
        try:
            events = self.ray.get(self.board.drain.remote(), timeout=10)
        except self.ray.exceptions.GetTimeoutError:
            return
        for item_id, pid, _ in events:
            if item_id not in self.queued and item_id not in self.running:
                continue  # finished already (its result came first)
            self.queued.pop(item_id, None)
            self.running[item_id] = time.monotonic()
            self.attempts[item_id] = self.attempts.get(item_id, 0) + 1
            self._log(f"started {item_id} on pid {pid} (attempt {self.attempts[item_id]})")

    def _log(self, line: str) -> None:
        if self.log_file is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.log_file, "a", encoding="utf-8") as f:
            f.write(f"{stamp} dreamrunner {line}\n")

    def _summary(self, seconds: float) -> BatchResult:
        stories = {}
        for name, st in self.states.items():
            undone = [i.id for i in self.known.values() if i.story == name and i.id not in self.results]
            if st.failed:
                stories[name] = {"status": "failed", "failed_item": st.failed.item_id, "error": st.failed.error,
                                 "done": st.done}
            elif undone:  # never expected: say so rather than call it finished
                stories[name] = {"status": "failed", "failed_item": undone[0], "done": st.done, "error": error_dict(
                    f"{len(undone)} item(s) never ran: {', '.join(undone[:3])}", 1, "run the batch again to resume")}
            else:
                stories[name] = {"status": "finished", "done": st.done}
        items = {i: {"ok": r.ok, "seconds": round(r.seconds, 2), "attempts": self.attempts.get(i, 1),
                     **({"error": r.error} if r.error else {}), **r.result} for i, r in self.results.items()}
        return BatchResult(stories, items, seconds, str(self.log_file) if self.log_file else None)

    # -- what a display shows -------------------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """Per stage: done / running (reported by a worker) / queued (sent, not started) / failed / to do."""
        out = {s: {"done": 0, "running": 0, "queued": 0, "failed": 0, "to do": 0} for s in STAGES}
        for item in self.known.values():
            r = self.results.get(item.id)
            key = "running" if item.id in self.running else "queued" if item.id in self.queued else \
                "done" if r and r.ok else "failed" if r else "to do"
            out[item.stage][key] += 1
        return out

    def estimate(self, stage: str) -> float | None:
        """The median time of the items of ``stage`` that really ran in this batch (skipped ones say nothing)."""
        times = [r.seconds for i, r in self.results.items() if r.ok and self.known[i].stage == stage
                 and any(it.get("action") == "ran" for it in r.result.get("items", []))]
        return statistics.median(times) if times else None

    def slow(self) -> list[tuple[str, float, float]]:
        """(item, elapsed, estimate) for each running item over ``SLOW_FACTOR`` × its stage's estimate."""
        now, out = time.monotonic(), []
        for item_id, since in self.running.items():
            est = self.estimate(self.known[item_id].stage)
            if est is not None and now - since > SLOW_FACTOR * max(est, 1.0):
                out.append((item_id, now - since, est))
        return out

    def shutdown(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors.clear()
        if self.board is not None:
            self.ray.kill(self.board)
            self.board = None
        if self.started_ray:
            self.ray.shutdown()
            self.started_ray = False


def _with_after(item: Item, after: tuple[str, ...]) -> Item:
    from dataclasses import replace

    return replace(item, after=after)
