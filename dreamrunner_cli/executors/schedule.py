"""The batch scheduling policy, and a simulation of it at cluster scale (issue: scale out).

Policy (used by ``executors.ray`` and simulated here): critical-path list scheduling. Every item gets a priority equal
to the longest chain of work from its start to the end of the batch (its duration plus the longest path of its
dependants); whenever a GPU is free, the ready GPU item with the highest priority runs. Adapter items with the same
cache key across stories are merged before scheduling: one trains, the others wait for it and take it from the
cache (METHOD.md B: a motion is trained once per recipe, whatever the story).

The simulation replays that policy on a synthetic batch whose durations come from the measured or projected costs
(docs/benchmarks.md), scaled to seconds, and compares the makespan with the lower bound
max(total GPU work / K, critical path), and with the shell loop of the README (one story after another, each loading
its model, on one GPU).

    python -m dreamrunner_cli.executors.schedule --stories 50 --gpus 8
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Task:
    id: str
    seconds: float
    gpu: bool
    after: list[str] = field(default_factory=list)
    story: str = ""


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


@dataclass
class Outcome:
    makespan: float
    gpu_work: float
    critical_path: float
    gpus: int

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
                "gpus": self.gpus}


def simulate(tasks: list[Task], gpus: int, cpus: int = 64, one_per_story: bool = True) -> Outcome:
    """Event-driven replay of the policy: K GPU slots, ``cpus`` CPU slots, ready items by priority.

    ``one_per_story``: items of one story never overlap, as in the executor, which holds the story's workspace lock
    for each item (the lock guards its stage records)."""
    prio = priorities(tasks)
    by_id = {t.id: t for t in tasks}
    waiting = {t.id: len(t.after) for t in tasks}
    children = _children(tasks)
    ready = {True: [], False: []}  # gpu? → heap of (-priority, id)
    for t in tasks:
        if not t.after:
            heapq.heappush(ready[t.gpu], (-prio[t.id], t.id))
    free = {True: gpus, False: cpus}
    busy: set[str] = set()  # stories with an item running
    running: list[tuple[float, str]] = []
    now, done = 0.0, 0
    while done < len(tasks):
        for kind in (True, False):
            skipped = []
            while free[kind] and ready[kind]:
                entry = heapq.heappop(ready[kind])
                story = by_id[entry[1]].story
                if one_per_story and story and story in busy:
                    skipped.append(entry)
                    continue
                free[kind] -= 1
                if story:
                    busy.add(story)
                heapq.heappush(running, (now + by_id[entry[1]].seconds, entry[1]))
            for entry in skipped:
                heapq.heappush(ready[kind], entry)
        if not running:
            raise ValueError("nothing can run: a dependency is missing")
        now, tid = heapq.heappop(running)
        free[by_id[tid].gpu] += 1
        busy.discard(by_id[tid].story)
        done += 1
        for c in children[tid]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready[by_id[c].gpu], (-prio[c], c))
    gpu_work = sum(t.seconds for t in tasks if t.gpu)
    return Outcome(now, gpu_work, max(prio.values(), default=0.0), gpus)


# A synthetic batch with the project's costs -------------------------------------------------------------------------

# Costs in GPU-minutes, scaled to simulated seconds one for one. Sources (docs/benchmarks.md): a motion LoRA at the
# paper's recipe ≈ 0.2 GPU-h (12 min; the analytic count at 400 TFLOP/s agrees), a character LoRA 160 of those 500
# steps, a scene 1–3 GPU-min (the figure for 50 steps at 480×720), a model load ≈ 1 min per worker.
COSTS = {"motion": 12.0, "character": 12.0 * 160 / 500, "scene": (1.0, 3.0), "load": 1.0, "plan": 0.2,
         "retrieve": 0.5, "evaluate": 1.0}


def synthetic_batch(stories: int = 50, motion_pool: int = 64, seed: int = 0, shared: bool = True) -> list[Task]:
    """Stories of 5–8 scenes with 2 motions each drawn from a Zipf-like pool of ``motion_pool`` motions (popular
    motions recur across stories), one character each. ``shared`` merges equal motions across stories (one trains,
    the others wait for it and hit the cache: a few seconds)."""
    rng = random.Random(seed)
    weights = [1.0 / (r + 1) for r in range(motion_pool)]
    tasks: list[Task] = []
    trainer: dict[str, str] = {}
    for s in range(stories):
        sid = f"story{s:02d}"
        plan, retrieve = f"{sid}:plan", f"{sid}:retrieve"
        tasks += [Task(plan, COSTS["plan"], False, story=sid), Task(retrieve, COSTS["retrieve"], False, [plan], sid)]
        scenes = rng.randint(5, 8)
        scene_motions = [rng.choices(range(motion_pool), weights, k=2) for _ in range(scenes)]
        motions = sorted({m for pair in scene_motions for m in pair})
        adapters = {}
        for m in motions:
            tid = f"{sid}:adapt/motion/m{m}"
            key = f"m{m}"
            if shared and key in trainer:
                tasks.append(Task(tid, 0.05, True, [retrieve, trainer[key]], sid))  # cache hit: a copy
            else:
                tasks.append(Task(tid, COSTS["motion"], True, [retrieve], sid))
                trainer.setdefault(key, tid)
            adapters[m] = tid
        char = f"{sid}:adapt/character/c"
        tasks.append(Task(char, COSTS["character"], True, [plan], sid))
        renders = []
        for k, pair in enumerate(scene_motions):
            rid = f"{sid}:render/s{k + 1:02d}"
            tasks.append(Task(rid, rng.uniform(*COSTS["scene"]), True, [char] + [adapters[m] for m in set(pair)], sid))
            renders.append(rid)
        tasks.append(Task(f"{sid}:evaluate", COSTS["evaluate"], True, renders, sid))
    return tasks


def shell_loop(tasks: list[Task], loads_per_story: int = 2) -> Outcome:
    """The README's loop: stories one after another on one GPU, each process loading its model (adapt and render
    load it separately), adapters trained by an earlier story taken from the cache. Reported against K GPUs."""
    stories = sorted({t.story for t in tasks})
    total = 0.0
    for sid in stories:
        total += sum(t.seconds for t in tasks if t.story == sid) + loads_per_story * COSTS["load"]
    gpu_work = sum(t.seconds for t in tasks if t.gpu)
    return Outcome(total, gpu_work, max(priorities(tasks).values()), 1)


def with_model_loads(tasks: list[Task], gpus: int) -> list[Task]:
    """Each GPU worker (a long-lived actor) loads the pipeline once: K load items of GPU time at the start."""
    return [Task(f"load{i}", COSTS["load"], True) for i in range(gpus)] + list(tasks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Simulate batch scheduling at cluster scale.")
    parser.add_argument("--stories", type=int, default=50)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=5, help="synthetic batches to average over")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for seed in range(args.seeds):
        tasks = synthetic_batch(args.stories, seed=seed)
        ours = simulate(with_model_loads(tasks, args.gpus), args.gpus)
        loop = shell_loop(tasks)
        rows.append({"seed": seed, "items": len(tasks), "batch": ours.to_dict(), "shell_loop": loop.to_dict(),
                     "unshared_gpu_work_s": round(sum(t.seconds for t in synthetic_batch(
                         args.stories, seed=seed, shared=False) if t.gpu), 1)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"Batch scheduling simulation: {args.stories} stories, {args.gpus} GPUs (1 simulated s = 1 GPU-minute)")
    print("| seed | items | GPU work (s) | without sharing (s) | lower bound (s) | batch makespan | × bound | "
          f"GPU utilisation | shell loop makespan | × bound | loop utilisation of {args.gpus} GPUs |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        b, s = r["batch"], r["shell_loop"]
        print(f"| {r['seed']} | {r['items']} | {b['gpu_work_s']} | {r['unshared_gpu_work_s']} | {b['lower_bound_s']} | "
              f"{b['makespan_s']} | {b['ratio_to_lower_bound']} | {b['gpu_utilisation']:.1%} | {s['makespan_s']} | "
              f"{s['makespan_s'] / b['lower_bound_s']:.2f} | {b['gpu_work_s'] / (args.gpus * s['makespan_s']):.1%} |")


if __name__ == "__main__":
    main()
