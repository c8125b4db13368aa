"""The batch scheduling policy, shared by the Ray executor and by a simulation of it at cluster scale.

Policy (``executors.ray_batch`` calls ``order`` and ``pick_worker``; ``simulate`` replays the same two functions):

- **Order.** Every item gets a priority equal to the longest chain of work from its start to the end of the batch
  (its duration plus the longest path of its dependants); ready items go out highest priority first.
- **Locks.** Items of one story run in parallel whenever the graph allows it: each holds its workspace *shared* and
  claims only itself (``Workspace.item_locked``). ``lock="story"`` replays the older rule (one item per story at a
  time, the whole workspace locked) for comparison.
- **Slots.** An item that uses CUDA needs a GPU slot, whatever its stage; the model stages (adapt, render,
  evaluate) use GPU slots; plan (and retrieve on the CPU) use CPU slots.
- **Workers and model affinity.** A worker keeps what it loaded (one pipeline, one set of scorers). An item goes to
  an idle worker already holding its model; else to an idle worker holding nothing; else to a new worker, while the
  cluster has a free slot of its kind; else to any idle worker, which drops its model of that kind and loads this one.
- **Shared adapters.** Adapter items with the same cache key across stories are merged: the first trains, the others
  wait for it and take the adapter from the cache.

The simulation replays that policy on synthetic batches whose durations come from the project's costs (below), and
charges what the real executor pays: a model load each time a worker gets a model it does not hold, the wait of a
story for a shared adapter another story trains, CPU items on CPU slots, retrieve and evaluate on GPUs when their
device is CUDA. It compares the makespan with the lower bound max(total GPU work / K, critical path), with a naive
first-come-first-served executor (same locks and slots, items in the order they became ready, the first idle
worker, no affinity), and with shell loops of ``dreamrunner run`` (one story after another per loop).

    python -m dreamrunner_cli.executors.schedule            # the three workloads of docs/batch.md, 8 GPUs
    python -m dreamrunner_cli.executors.schedule --stories 50 --gpus 8 --seeds 5
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass
class Task:
    id: str
    seconds: float
    gpu: bool  # runs on a GPU slot
    after: list[str] = field(default_factory=list)
    story: str = ""
    model: str | None = None  # what a worker must hold loaded ("pipeline:…", "scorers:…"); loading it costs time
    share: str | None = None  # adapters: the cross-story cache key (shell loops train it again unless cached)


def _children(tasks: list[Task]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {t.id: [] for t in tasks}
    for t in tasks:
        for up in t.after:
            children[up].append(t.id)
    return children


def priorities(tasks: Iterable[Task]) -> dict[str, float]:
    """Longest path (in seconds) from each task's start to the end of the graph: its own time plus its dependants'."""
    tasks = list(tasks)
    children = _children(tasks)
    by_id = {t.id: t for t in tasks}
    memo: dict[str, float] = {}
    for t in _topological(tasks)[::-1]:
        memo[t.id] = by_id[t.id].seconds + max((memo[c] for c in children[t.id]), default=0.0)
    return memo


def _topological(tasks: list[Task]) -> list[Task]:
    by_id = {t.id: t for t in tasks}
    indegree = {t.id: len(t.after) for t in tasks}
    children = _children(tasks)
    ready = [t.id for t in tasks if indegree[t.id] == 0]
    order = []
    while ready:
        tid = ready.pop()
        order.append(by_id[tid])
        for c in children[tid]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if len(order) != len(tasks):
        raise ValueError("the item graph has a cycle")
    return order


# The policy: shared by the executor and the simulation ---------------------------------------------------------------


@dataclass
class Worker:
    """A worker as the policy sees it: its slot kind, what it holds loaded (one model per kind), whether busy."""

    id: int
    gpu: bool
    loaded: dict[str, str] = field(default_factory=dict)  # kind ("pipeline", "scorers") → model key
    busy: bool = False

    def holds(self, model: str | None) -> bool:
        return model is None or model in self.loaded.values()

    def load(self, model: str | None) -> None:
        if model is not None:
            self.loaded[model.split(":", 1)[0]] = model


def order(ready: Sequence[str], prio: dict[str, float], policy: str = "critical-path") -> list[str]:
    """Ready item ids in the order they go out: highest priority first (``fcfs``: as they became ready)."""
    if policy == "fcfs":
        return list(ready)
    return sorted(ready, key=lambda i: -prio.get(i, 0.0))


NEW = "new"  # pick_worker's answer when a new worker should be started


def pick_worker(model: str | None, idle: list[Worker], can_start: bool, policy: str = "critical-path"
                ) -> Worker | str | None:
    """Which idle worker runs an item needing ``model``: one holding it; else one holding nothing; else a new one
    (``NEW``) while a slot is free; else any idle one (it loads the model). ``fcfs``: the first idle one, else new."""
    if policy == "fcfs":
        return idle[0] if idle else NEW if can_start else None
    if model is not None:
        for w in idle:
            if w.holds(model):
                return w
    for w in idle:
        if not w.loaded:
            return w
    if can_start:
        return NEW
    if model is None and idle:
        return idle[0]
    for w in idle:  # a worker holding a model of another kind keeps it: prefer it over one that must drop its model
        if model.split(":", 1)[0] not in w.loaded:
            return w
    return idle[0] if idle else None


# The simulation ------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    makespan: float
    gpu_work: float
    critical_path: float
    gpus: int
    loads: int = 0  # model loads paid by the workers

    @property
    def lower_bound(self) -> float:
        return max(self.gpu_work / self.gpus, self.critical_path)

    @property
    def ratio(self) -> float:
        return self.makespan / self.lower_bound

    @property
    def utilisation(self) -> float:
        return self.gpu_work / (self.gpus * self.makespan)

    def to_dict(self) -> dict:
        return {"makespan_s": round(self.makespan, 1), "lower_bound_s": round(self.lower_bound, 1),
                "ratio_to_lower_bound": round(self.ratio, 3), "gpu_utilisation": round(self.utilisation, 3),
                "gpu_work_s": round(self.gpu_work, 1), "critical_path_s": round(self.critical_path, 1),
                "gpus": self.gpus, "model_loads": self.loads}


def load_cost(model: str | None) -> float:
    if model is None:
        return 0.0
    return COSTS["scorer_load"] if model.startswith("scorers:") else COSTS["load"]


def simulate(tasks: list[Task], gpus: int, cpus: int = 16, lock: str = "item", policy: str = "critical-path"
             ) -> Outcome:
    """Event-driven replay of the executor: ``gpus`` GPU slots and ``cpus`` CPU slots, workers started on demand up
    to the slots, ready items ordered by ``order`` and placed by ``pick_worker``; a worker getting a model it does
    not hold pays its load. ``lock="story"``: at most one item per story at a time (the older whole-workspace lock).
    """
    prio = priorities(tasks)
    by_id = {t.id: t for t in tasks}
    waiting = {t.id: len(t.after) for t in tasks}
    children = _children(tasks)
    ready: list[str] = [t.id for t in tasks if not t.after]
    workers: list[Worker] = []
    caps = {True: gpus, False: cpus}
    busy_stories: set[str] = set()
    running: list[tuple[float, int, str, int]] = []  # (end, sequence, task id, worker id)
    now, done, loads, seq = 0.0, 0, 0, 0
    while done < len(tasks):
        for tid in order(ready, prio, policy):
            t = by_id[tid]
            if lock == "story" and t.story and t.story in busy_stories:
                continue
            idle = [w for w in workers if w.gpu == t.gpu and not w.busy]
            started = sum(1 for w in workers if w.gpu == t.gpu)
            w = pick_worker(t.model, idle, started < caps[t.gpu], policy)
            if w is None:
                continue
            if w == NEW:
                w = Worker(len(workers), t.gpu)
                workers.append(w)
            assert isinstance(w, Worker)
            extra = 0.0
            if not w.holds(t.model):
                extra = load_cost(t.model)
                loads += 1
                w.load(t.model)
            w.busy = True
            ready.remove(tid)
            if t.story:
                busy_stories.add(t.story)
            seq += 1
            heapq.heappush(running, (now + t.seconds + extra, seq, tid, w.id))
        if not running:
            raise ValueError("nothing can run: a dependency is missing, or a kind of slot")
        now, _, tid, wid = heapq.heappop(running)
        workers[wid].busy = False
        busy_stories.discard(by_id[tid].story)
        done += 1
        for c in children[tid]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    gpu_work = sum(t.seconds for t in tasks if t.gpu)
    return Outcome(now, gpu_work, max(prio.values(), default=0.0), gpus, loads)


def shell_loops(tasks: list[Task], loops: int, gpus: int) -> Outcome:
    """``loops`` shell loops of ``dreamrunner run`` in parallel (``xargs -P``): each takes the next story and runs
    its items one after another on its own GPU, loading the pipeline once (run shares it between adapt and render)
    and the scorers once; an adapter another story already finished comes from the cache, one still training
    elsewhere is trained again. Reported against ``gpus`` GPUs."""
    stories: dict[str, list[Task]] = {}
    for t in _topological(tasks):
        stories.setdefault(t.story, []).append(t)
    free = [(0.0, i) for i in range(loops)]  # (time the loop is free, loop)
    heapq.heapify(free)
    cached: dict[str, float] = {}  # share key → when it landed in the cache
    end, loads = 0.0, 0
    for sid in sorted(stories):
        now, loop = heapq.heappop(free)
        loaded: set[str] = set()
        for t in stories[sid]:
            seconds = t.seconds
            if t.share is not None:
                hit = cached.get(t.share)
                seconds = COSTS["cache_hit"] if hit is not None and hit <= now else COSTS["motion"]
                if hit is None or now + seconds < hit:
                    cached[t.share] = now + seconds
            if t.model is not None and t.model not in loaded:
                seconds += load_cost(t.model)
                loaded.add(t.model)
                loads += 1
            now += seconds
        end = max(end, now)
        heapq.heappush(free, (now, loop))
    gpu_work = sum(t.seconds for t in tasks if t.gpu)
    return Outcome(end, gpu_work, max(priorities(tasks).values()), gpus, loads)


# Synthetic batches with the project's costs --------------------------------------------------------------------------

# Costs in GPU-minutes, scaled to simulated seconds one for one. Sources (docs/benchmarks.md): a motion LoRA at the
# paper's recipe ≈ 0.2 GPU-h (12 min; the analytic count at 400 TFLOP/s agrees), a character LoRA 160 of those 500
# steps, a scene 1–3 GPU-min (50 steps at 480×720), a pipeline load ≈ 1 min per worker, the three scorers ≈ 0.3 min;
# plan on a CPU, retrieve on a GPU (retrieve.device is cuda in the real presets; it loads its scorers each time).
COSTS = {"motion": 12.0, "character": 12.0 * 160 / 500, "scene": (1.0, 3.0), "load": 1.0, "scorer_load": 0.3,
         "plan": 0.2, "retrieve": 0.5, "evaluate": 1.0, "stitch": 0.05, "cache_hit": 0.05}
PIPELINE, SCORERS = "pipeline:cogvideox-2b", "scorers:default"


def synthetic_batch(stories: int = 50, motion_pool: int = 64, seed: int = 0, shared: bool = True,
                    scenes: tuple[int, int] = (5, 8)) -> list[Task]:
    """Stories of ``scenes`` scenes (inclusive range) with 2 motions each drawn from a Zipf-like pool of
    ``motion_pool`` motions (popular motions recur across stories), one character each; the item graph of
    ``executors.graph`` (plan → retrieve → adapters → scenes → stitch → evaluate, characters after plan).
    ``shared`` merges equal motions across stories (one trains, the others wait for it and hit the cache)."""
    rng = random.Random(seed)
    weights = [1.0 / (r + 1) for r in range(motion_pool)]
    tasks: list[Task] = []
    trainer: dict[str, str] = {}
    for s in range(stories):
        sid = f"story{s:02d}"
        plan, retrieve = f"{sid}:plan", f"{sid}:retrieve"
        tasks += [Task(plan, COSTS["plan"], False, story=sid),
                  Task(retrieve, COSTS["retrieve"], True, [plan], sid)]
        n = rng.randint(*scenes)
        scene_motions = [rng.choices(range(motion_pool), weights, k=2) for _ in range(n)]
        motions = sorted({m for pair in scene_motions for m in pair})
        adapters = {}
        for m in motions:
            tid, key = f"{sid}:adapt/motion/m{m}", f"m{m}"
            if shared and key in trainer:  # waits for the story that trains it, then copies it from the cache
                tasks.append(Task(tid, COSTS["cache_hit"], True, [retrieve, trainer[key]], sid, share=key))
            else:
                tasks.append(Task(tid, COSTS["motion"], True, [retrieve], sid, PIPELINE, share=key))
                trainer.setdefault(key, tid)
            adapters[m] = tid
        char = f"{sid}:adapt/character/c"
        tasks.append(Task(char, COSTS["character"], True, [plan], sid, PIPELINE))
        renders = []
        for k, pair in enumerate(scene_motions):
            rid = f"{sid}:render/s{k + 1:02d}"
            tasks.append(Task(rid, rng.uniform(*COSTS["scene"]), True, [char] + sorted({adapters[m] for m in pair}),
                              sid, PIPELINE))
            renders.append(rid)
        stitch = f"{sid}:render/story"
        tasks.append(Task(stitch, COSTS["stitch"], True, list(renders), sid))
        tasks.append(Task(f"{sid}:evaluate", COSTS["evaluate"], True, renders + [stitch], sid, SCORERS))
    return tasks


WORKLOADS = {  # name → (stories, scene range): the three of docs/batch.md
    "1 story of 12 scenes": (1, (12, 12)),
    "4 stories": (4, (5, 8)),
    "50 stories": (50, (5, 8)),
}


def compare(tasks: list[Task], gpus: int) -> dict[str, Outcome]:
    """The executor's policy, the older story lock, naive FCFS, ``gpus`` shell loops and one shell loop."""
    return {"batch": simulate(tasks, gpus),
            "batch, story lock (before)": simulate(tasks, gpus, lock="story"),
            "naive FCFS": simulate(tasks, gpus, policy="fcfs"),
            f"{gpus} shell loops": shell_loops(tasks, gpus, gpus),
            "1 shell loop": shell_loops(tasks, 1, gpus)}


def benchmark(gpus: int = 8, seeds: int = 5, workloads: dict[str, tuple[int, tuple[int, int]]] | None = None
              ) -> dict[str, dict[str, dict[str, float]]]:
    """Median over ``seeds`` synthetic batches of each workload: makespan, × lower bound, GPU use, per policy."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, (stories, scenes) in (workloads or WORKLOADS).items():
        rows: dict[str, list[Outcome]] = {}
        for seed in range(seeds):
            for policy, outcome in compare(synthetic_batch(stories, seed=seed, scenes=scenes), gpus).items():
                rows.setdefault(policy, []).append(outcome)
        out[name] = {policy: {"makespan_s": round(statistics.median(o.makespan for o in os_), 1),
                              "lower_bound_s": round(statistics.median(o.lower_bound for o in os_), 1),
                              "x_bound": round(statistics.median(o.ratio for o in os_), 3),
                              "gpu_use": round(statistics.median(o.utilisation for o in os_), 3),
                              "model_loads": statistics.median(o.loads for o in os_)}
                     for policy, os_ in rows.items()}
    return out


TARGETS = {"1 story of 12 scenes": 1.3, "4 stories": 1.3}  # × lower bound, for the executor's policy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Simulate dreamrunner batch's scheduling on K GPUs.")
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=5, help="synthetic batches per workload (medians reported)")
    parser.add_argument("--stories", type=int, default=None, help="one workload of this many stories (5–8 scenes)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    workloads = {f"{args.stories} stories": (args.stories, (5, 8))} if args.stories else None
    results = benchmark(args.gpus, args.seeds, workloads)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Batch scheduling simulation on {args.gpus} GPUs (1 simulated s = 1 GPU-minute; medians of {args.seeds} "
          "synthetic batches)")
    for name, rows in results.items():
        bound = rows["batch"]["lower_bound_s"]
        target = f" (target ≤ {TARGETS[name]}×)" if name in TARGETS else ""
        print(f"\n{name}: lower bound {bound} s{target}\n")
        print("| policy | makespan (s) | × bound | GPU use | model loads |")
        print("|---|---|---|---|---|")
        for policy, r in rows.items():
            print(f"| {policy} | {r['makespan_s']} | {r['x_bound']} | {r['gpu_use']:.1%} | {r['model_loads']:g} |")


if __name__ == "__main__":
    main()
