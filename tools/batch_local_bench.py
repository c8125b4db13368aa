"""Measure `dreamrunner batch` on this machine against shell loops of `dreamrunner run` (docs/batch.md).

Three ways to run the same stories with the tiny preset, each on fresh workspaces, in interleaved rounds (the order
rotates every round, so a slow minute of a shared machine does not fall on one way only); medians are reported:

- batch:   dreamrunner batch STORIES --preset tiny --gpus G --cpus C   (a local Ray instance, logical GPUs)
- 1 loop:  for s in STORIES; do dreamrunner run $s --preset tiny; done
- 2 loops: the same, the stories split between two loops running side by side

The adapter cache is warmed once before the rounds (every way then takes the adapters from it), so the figures
compare scheduling, worker reuse and model loads, not LoRA training.

    .venv/bin/python tools/batch_local_bench.py --stories 4 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ["plan.min_scenes=2", "plan.max_scenes=2", "adapt.steps=2", "adapt.character_steps=2",
            "render.steps=2", "retrieve.max_clips=4"]
TEXTS = [
    "Ana walks through the quiet park in the morning.\n\nIn the garden Ana waves at her neighbour.\n",
    "Ben walks along the busy street.\n\nAt the station Ben waves goodbye to his friend.\n",
    "Cai walks across the sunny beach.\n\nNear the boats Cai waves to a fisherman.\n",
    "Dee runs along the river at dawn.\n\nOn the bridge Dee waves at a passing boat.\n",
    "Eli walks up the hill path.\n\nAt the top Eli jumps for joy.\n",
    "Fay runs through the market.\n\nAt the fountain Fay waves to her brother.\n",
]


def _sets() -> list[str]:
    return [a for s in SETTINGS for a in ("--set", s)]


def _cli() -> list[str]:
    return [sys.executable, "-m", "dreamrunner_cli"]


def _run_story(story: Path, ws: Path, env: dict) -> list[str]:
    return [*_cli(), "run", str(story), "--workspace", str(ws), "--preset", "tiny", "--db", "demo", "--quiet",
            *_sets()]


def loop(stories: list[Path], out: Path, env: dict) -> None:
    for s in stories:
        subprocess.run(_run_story(s, out / s.stem, env), env=env, check=True)


def loops(stories: list[Path], out: Path, env: dict, n: int = 2) -> None:
    """``n`` shell loops side by side, the stories dealt out between them."""
    script = "; ".join  # one `sh -c` per loop, like a user's `for` loop in a second terminal
    procs = []
    for k in range(n):
        cmds = [" ".join(f"'{a}'" for a in _run_story(s, out / s.stem, env)) for s in stories[k::n]]
        procs.append(subprocess.Popen(["sh", "-c", script(cmds) or "true"], env=env))
    if any(p.wait() for p in procs):
        raise SystemExit("a loop failed")


def batch(stories: list[Path], out: Path, env: dict, gpus: int, cpus: int) -> None:
    subprocess.run([*_cli(), "batch", *map(str, stories), "--out", str(out), "--preset", "tiny", "--db", "demo",
                    "--gpus", str(gpus), "--cpus", str(cpus), "--quiet", *_sets()], env=env, check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gpus", type=int, default=2, help="logical GPUs of the local Ray instance")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="dreamrunner-batch-bench-"))
    stories_dir = work / "stories"
    stories_dir.mkdir(parents=True, exist_ok=True)
    stories = []
    for i in range(args.stories):
        p = stories_dir / f"story{i}.txt"
        p.write_text(TEXTS[i % len(TEXTS)])
        stories.append(p)
    env = {**os.environ, "DREAMRUNNER_CACHE": str(work / "cache"), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "RAY_AUTH_MODE": "disabled"}
    loop(stories, work / "warm", env)  # the adapter cache and the demo database, once for every way
    ways = {"batch": lambda out: batch(stories, out, env, args.gpus, args.cpus),
            "1 loop": lambda out: loop(stories, out, env),
            "2 loops": lambda out: loops(stories, out, env)}
    times: dict[str, list[float]] = {w: [] for w in ways}
    names = list(ways)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            out = work / f"round{r}-{name.replace(' ', '-')}"
            start = time.monotonic()
            ways[name](out)
            times[name].append(time.monotonic() - start)
            shutil.rmtree(out, ignore_errors=True)
            print(f"round {r + 1}: {name} {times[name][-1]:.1f} s", flush=True)
    print(f"\n{args.stories} stories, tiny preset, {os.cpu_count()} CPUs; batch with --gpus {args.gpus} --cpus "
          f"{args.cpus}; medians of {args.rounds} interleaved rounds\n")
    print("| way | median (s) | all rounds (s) | × batch |")
    print("|---|---|---|---|")
    base = statistics.median(times["batch"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.1f} | {', '.join(f'{t:.1f}' for t in ts)} | {med / base:.2f} |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
