"""`dreamrunner batch`: many stories at once on Ray, one workspace per story (docs/batch.md)."""

from __future__ import annotations

import glob
import hashlib
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputInvalid, UsageError
from . import common
from .common import JsonOpt, PresetOpt, QuietOpt, SetEachOpt, VerboseOpt, console, guarded
from .run import STAGES, DbOpt, SkipOpt


@guarded
def batch(
    stories: Annotated[list[str] | None, typer.Argument(help="Story .txt files or globs (quote globs).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder that gets one workspace per story.")] = Path("batch"),
    from_file: Annotated[Path | None, typer.Option("--from-file", help="A file listing one story path per line "
                                                                       "(# comments allowed).")] = None,
    preset: PresetOpt = None,
    overrides: SetEachOpt = None,
    db: DbOpt = None,
    skip: SkipOpt = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Join a running Ray cluster: auto or "
                                                                          "HOST:PORT. Default: start a local one.")]
    = None,
    gpus: Annotated[int | None, typer.Option(help="Local instance only: GPUs to declare (default: the GPUs Ray "
                                                  "finds). Logical GPUs on a CPU machine suit the tiny preset.")]
    = None,
    cpus: Annotated[int | None, typer.Option(help="Local instance only: CPUs to use (default: all).")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run many stories on Ray: the independent items of every story side by side, on workers that keep their model
    loaded (CUDA items on GPUs; the tiny preset on a CPU-only machine on CPU slots), motions shared by several
    stories trained once. Ray's output goes to OUT/dreamrunner-batch.log (stderr with -v). A second run skips
    everything finished; exit code 0 only if every story finished.

    Examples:

        dreamrunner batch 'stories/*.txt' --out ws --preset cogvideox-2b --db /data/videos/index

        dreamrunner batch --from-file todo.txt --out ws --ray-address auto

        dreamrunner batch examples/stories/*.txt --out demo-batch --preset tiny --gpus 2
    """
    from ..executors.graph import StoryJob
    from ..executors.ray_batch import RayBatch, import_ray

    import_ray()  # fail fast, with the install hint, before creating anything
    skip = list(skip or [])
    bad = [s for s in skip if s not in STAGES[1:]]
    if bad:
        raise UsageError(f"cannot skip {bad}", hint="skippable stages: retrieve, adapt, evaluate")
    if ray_address and (gpus is not None or cpus is not None):
        raise UsageError("--gpus and --cpus size a local Ray instance; a cluster (--ray-address) has its own")
    files = _story_files(stories or [], from_file)
    pairs = _workspaces(files, out)
    jobs = [StoryJob(ws, story, db, tuple(skip)) for story, ws in pairs]
    resolved = [_resolve(job, preset, overrides or []) for job in jobs]  # all refused before anything is created
    _write_index(out, pairs)
    for ws in resolved:
        _save(ws)

    from ..executors.ray_batch import LOG_NAME
    from ..output import third_party_streams

    # Ray's output (its logger, its C++ core, its processes, a dead worker's report) goes to OUT's batch log (to
    # stderr with -v): stdout gets only the summary below, and stderr the live table and the errors.
    with third_party_streams(out / LOG_NAME, verbose or common._call.verbose, loggers=("ray",)) as real:
        live = None if (quiet or as_json) else _Live(real.stderr)
        runner = RayBatch(jobs, address=ray_address, num_cpus=cpus, num_gpus=gpus,
                          on_update=live.update if live else None, log_dir=out)
        try:
            result = runner.run()
        finally:
            if live:
                live.stop(runner)
    payload = {"schema_version": 1, "command": "batch", "out": str(out), **result.to_dict()}
    if as_json:
        import json

        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        sys.stdout.flush()
    elif not quiet:
        _summary(payload)
    for name, story in result.stories.items():
        if story["status"] != "finished":
            print(f"error: {name}: {story['failed_item']}: {failure_text(story['error'])}", file=sys.stderr)
    raise typer.Exit(result.exit_code())


def failure_text(err: dict) -> str:
    """What went wrong, in the words of the dreamrunner error that caused it: its message, then its hint."""
    text = err.get("message") or err.get("error") or "failed"
    return text + (f" (hint: {err['hint']})" if err.get("hint") else "")


FROM_FILE_MAX_BYTES = 2**20  # a list of story paths: ~10,000 lines; fixed (docs/reliability.md, bounds)


def _story_files(patterns: list[str], from_file: Path | None) -> list[Path]:
    from ..bounds import read_text

    listed = list(patterns)
    if from_file is not None:
        if not from_file.exists():
            raise InputInvalid(f"--from-file {from_file} does not exist")
        # Bounded: a FIFO or device is refused before it is read (it blocked forever), a huge file past 1 MiB.
        for line in read_text(from_file, FROM_FILE_MAX_BYTES, what="--from-file").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                listed.append(str((from_file.parent / line) if not Path(line).is_absolute() else Path(line)))
    files: list[Path] = []
    for pattern in listed:
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        if not matches:
            raise InputInvalid(f"no story matches {pattern!r}")
        for m in matches:
            p = Path(m)
            if not p.is_file():
                raise InputInvalid(f"story file {p} does not exist", hint="give .txt story files or globs")
            if p.resolve() not in {f.resolve() for f in files}:
                files.append(p)
    if not files:
        raise UsageError("no stories given", hint="dreamrunner batch 'stories/*.txt' --out ws")
    return files


INDEX_NAME = "dreamrunner-batch.json"  # OUT/<this>: which story each workspace under OUT belongs to


def _workspaces(files: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """One workspace per story under ``out``, by a rule that does not depend on the order of the list, and that
    never hands one story's workspace to another (docs/batch.md, "Workspace names"):

    * a story named in ``out``'s index (``INDEX_NAME``, written by every batch) keeps the workspace it has there,
      even after it was edited (its identity is its path, not its text);
    * a new story gets ``OUT/<file name>`` (the name without ``.txt``) when no other story, listed now or in the
      index, has that file name, or when that folder already holds this very story (story.txt as ``plan`` writes
      it: a workspace made by an earlier version, or by `dreamrunner plan`);
    * otherwise ``OUT/<file name>-<8 hex digits of the story's path>``, which is refused (exit 5, naming both
      stories) if it holds anything else.
    """
    index = _read_index(out)
    claimed = {Path(story).stem for story in index.values()}
    by_story = {story: name for name, story in index.items()}
    keys = [str(f.resolve()) for f in files]
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    names: dict[str, str] = {}
    for key, f in sorted(zip(keys, files)):  # sorted: a tie for one folder is decided by path, not list order
        if key in by_story:
            names[key] = by_story[key]
            continue
        plain = out / f.stem
        taken = f.stem in index or f.stem in names.values()
        if not taken and _holds_story(plain, f):
            names[key] = f.stem
        elif not taken and stems[f.stem] == 1 and f.stem not in claimed and _unused(plain):
            names[key] = f.stem
        else:
            hashed = f"{f.stem}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
            if hashed in index or not (_unused(out / hashed) or _holds_story(out / hashed, f)):
                raise InputInvalid(
                    f"workspace {out / hashed} holds another story: its story.txt differs from {f}",
                    hint=f"move that folder away, or if it is this story's workspace from before the story was "
                         f"edited, update it with `dreamrunner plan {f} --workspace {out / hashed}` and run batch "
                         "again")
            names[key] = hashed
    return [(f, out / names[key]) for key, f in zip(keys, files)]


def _read_index(out: Path) -> dict[str, str]:
    """{workspace name: story path} from ``out``'s index (empty when there is none)."""
    path = out / INDEX_NAME
    if not path.exists():
        return {}
    from ..bounds import read_json

    try:  # bounded: a FIFO, a huge or a 100,000-level index is refused (exit 5), never a hang or a crash
        data = read_json(path, what="batch index")
        workspaces = data["workspaces"]
        if not isinstance(workspaces, dict) or not all(isinstance(v, str) for v in workspaces.values()):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise InputInvalid(f"{path} is damaged: not {{\"workspaces\": {{name: story path}}}}",
                           hint="restore it, or delete it: then each story takes the workspace that holds its "
                                "story.txt, and edited stories get new ones") from None
    return workspaces


def _write_index(out: Path, pairs: list[tuple[Path, Path]]) -> None:
    from ..workspace import write_json_atomic

    index = _read_index(out)
    new = {ws.name: str(story.resolve()) for story, ws in pairs}
    if any(index.get(name) != story for name, story in new.items()):
        write_json_atomic(out / INDEX_NAME, {"schema": 1, "workspaces": dict(sorted({**index, **new}.items()))})


def _unused(folder: Path) -> bool:
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


def _holds_story(folder: Path, story: Path) -> bool:
    """Whether ``folder`` is a workspace whose story.txt is what `plan` writes for ``story``."""
    from ..errors import DreamrunnerError
    from ..stages.plan import story_copy
    from ..story import parse_story
    from ..workspace import Workspace

    ws = Workspace(folder)
    if not ws.story.is_file():
        return False
    try:
        return ws.story.read_text(encoding="utf-8") == story_copy(ws, parse_story(story))[0]
    except (DreamrunnerError, OSError, ValueError):  # a story that does not parse is refused later, by its plan item
        return False


def _resolve(job, preset: str | None, overrides: list[str]):
    """The story's workspace with its resolved config (its saved config.json, else the preset, then --set)."""
    from .common import open_workspace

    ws, _ = open_workspace(job.workspace, preset, overrides)
    return ws


def _save(ws) -> None:
    from ..workspace import write_json_atomic

    if ws.pending_config is not None:
        ws.root.mkdir(parents=True, exist_ok=True)
        with ws.locked(wait=True):
            write_json_atomic(ws.config, ws.pending_config.model_dump(mode="json"))


def _prepare(job, preset: str | None, overrides: list[str]) -> None:
    """Resolve and save one story's config (what `batch` does for each story before running)."""
    _save(_resolve(job, preset, overrides))


STATES = ("done", "running", "queued", "failed", "to do")
PLAIN_EVERY = 10.0  # off a terminal: a state line at most this often (and one at the end)


class _Live:
    """The batch's state on stderr, per stage: done / running (a worker reported it started) / queued (sent, not
    started) / failed / to do, with the elapsed time, a rough ETA while it runs, and each running item over 3× its
    stage's usual time marked "slow?". On a terminal a live table whose last frame is the final state; anywhere
    else plain lines, at most one every 10 s when something changed, the last one the final state."""

    def __init__(self, stream=None) -> None:
        self.start = time.monotonic()
        self.last = 0.0
        self.last_line = ""
        self.console = console(stderr=True, file=stream)
        self.live = None
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(console=self.console, refresh_per_second=2, transient=False)
            self.live.start()

    def update(self, batch, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.5 if self.live else PLAIN_EVERY):
            return
        self.last = now
        counts, slow = batch.counts(), ([] if final else batch.slow())
        elapsed = now - self.start
        done = sum(c["done"] for c in counts.values())
        todo = sum(c["to do"] + c["running"] + c["queued"] for c in counts.values())
        eta = f"ETA ≈ {elapsed / done * todo:.0f} s for the items known so far" if done and todo and not final else ""
        slow_lines = [f"slow? {item} running {spent:.0f} s (its stage's items took {est:.0f} s)"
                      for item, spent, est in slow]
        if self.live is None:
            head = f"batch {'finished' if final else 'running'} {elapsed:.0f} s: " + "; ".join(
                f"{stage} " + ", ".join(f"{c[k]} {k}" for k in STATES if c[k])
                for stage, c in counts.items() if any(c.values()))
            line = "\n".join([head + (f"; {eta}" if eta else "")] + slow_lines)
            if final or head != self.last_line:
                self.last_line = head
                self.console.print(line, soft_wrap=True, markup=False, highlight=False)
            return
        from rich.table import Table

        workers = batch.pool if hasattr(batch, "pool") else []
        gpu = sum(1 for w in workers if w.gpu)
        table = Table(title=f"dreamrunner batch: {len(batch.jobs)} stories, {gpu} GPU + {len(workers) - gpu} CPU "
                            f"workers, {'finished in ' if final else ''}{elapsed:.0f} s")
        table.add_column("stage")
        for col in STATES:
            table.add_column(col, justify="right")
        for stage, c in counts.items():
            table.add_row(stage, *(str(c[k]) for k in STATES))
        table.caption = "\n".join(([eta] if eta else []) + slow_lines) or None
        self.live.update(table)

    def stop(self, batch=None) -> None:
        if batch is not None and hasattr(batch, "counts"):
            self.update(batch, final=True)  # the last thing shown is the final state
        if self.live is not None:
            self.live.stop()


def _summary(payload: dict) -> None:
    from rich.table import Table

    table = Table(title=f"batch: {len(payload['stories'])} stories in {payload['seconds']} s")
    for col in ("story", "status", "items done", "error"):
        table.add_column(col)
    for name, s in payload["stories"].items():
        err = s.get("error") or {}
        table.add_row(name, s["status"], str(len(s["done"])),
                      f"{s.get('failed_item', '')}: {failure_text(err)}" if err else "", )
    retried = [f"{i} ({it['attempts']} attempts)" for i, it in payload.get("items", {}).items()
               if it.get("attempts", 1) > 1]
    con = console()
    con.print(table)
    if retried:
        con.print(f"retried after a lost worker: {', '.join(retried)}", markup=False)
    if payload.get("log"):
        con.print(f"Ray's output and which process ran each item: {payload['log']}", markup=False)
