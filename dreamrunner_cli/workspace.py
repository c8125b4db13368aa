"""The per-story workspace: paths, atomic writes, the process lock, stage records and the provenance log.

Stage records (``dreamrunner.lock``) are the core contract (ARCHITECTURE.md): for each stage and item they keep the
hash of every named dependency and of every output. An item is skipped when its dependencies are unchanged and its
outputs exist; otherwise it re-runs and the reason names what changed ("plan.scenes[s02] changed"). Records are
written after the outputs, so a run killed at any point leaves no item that looks finished.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import MissingUpstream, WorkspaceBusy

RECORDS_SCHEMA = 1
_UMASK = os.umask(0)
os.umask(_UMASK)


# Hashing -------------------------------------------------------------------------------------------------------


def digest(obj: Any) -> str:
    """sha256 of a JSON-able value (sorted keys), short hex."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def tree_digest(path: Path) -> str:
    """Digest of a file, or of every file under a folder (relative names + contents)."""
    if path.is_file():
        return file_digest(path)
    parts = [(p.relative_to(path).as_posix(), file_digest(p)) for p in sorted(path.rglob("*")) if p.is_file()]
    return digest(parts)


# Atomic writes -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder (same suffix); rename it over the target on success.

    A crash before the rename leaves the target untouched (and at most a ``.tmp-*`` file, ignored by everything).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{target.stem}-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are ordinary files people share
    try:
        yield tmp_path
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: Path, obj: Any) -> None:
    write_text_atomic(target, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


# The workspace -------------------------------------------------------------------------------------------------


@dataclass
class Workspace:
    root: Path
    pending_config: Any = field(default=None, repr=False, compare=False)  # saved by the CLI once locked

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()

    # Paths (one place, so every stage agrees) --------------------------------------------------------------
    @property
    def story(self) -> Path:
        return self.root / "story.txt"

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def storyboard(self) -> Path:
        return self.root / "storyboard.png"

    @property
    def records_file(self) -> Path:
        return self.root / "dreamrunner.lock"

    @property
    def runs_log(self) -> Path:
        return self.root / "runs.jsonl"

    @property
    def refs_dir(self) -> Path:
        return self.root / "refs"

    @property
    def retrieval_dir(self) -> Path:
        return self.root / "retrieval"

    @property
    def adapters_dir(self) -> Path:
        return self.root / "adapters"

    @property
    def renders_dir(self) -> Path:
        return self.root / "renders"

    @property
    def story_video(self) -> Path:
        return self.root / "story.mp4"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    @property
    def masks_dir(self) -> Path:
        return self.root / "masks"

    def scene_video(self, scene_id: str) -> Path:
        return self.renders_dir / f"{scene_id}.mp4"

    def rel(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def exists(self) -> bool:
        return self.root.is_dir()

    def require_plan(self) -> Path:
        if not self.plan.exists():
            raise MissingUpstream(
                f"plan.json not found in {self.root}",
                hint=f"run `dreamrunner plan STORY.txt --workspace {self.root}` first",
            )
        return self.plan

    # One process at a time ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, wait: bool = False, timeout: float | None = None) -> Iterator[None]:
        """Hold the workspace's process lock (flock, released by the OS even on SIGKILL)."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / ".dreamrunner.pid"
        f = open(lock_path, "a+")
        try:
            start = time.monotonic()
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait or (timeout is not None and time.monotonic() - start > timeout):
                        f.seek(0)
                        holder = f.read().strip() or "another process"
                        raise WorkspaceBusy(
                            f"workspace {self.root} is in use by {holder}",
                            hint="wait for it to finish, or pass --wait to queue behind it",
                        ) from None
                    time.sleep(0.2)
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}")
            f.flush()
            yield
        finally:
            f.close()  # closing the descriptor releases the flock

    # Provenance ----------------------------------------------------------------------------------------------
    def log_run(self, entry: dict[str, Any]) -> None:
        """Append one line to runs.jsonl (what ran, why, fingerprints, seeds, model ids, time, outcome)."""
        entry = {"time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "version": __version__,
                 **entry}
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.runs_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, default=str, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_runs(self) -> list[dict[str, Any]]:
        if not self.runs_log.exists():
            return []
        out = []
        for line in self.runs_log.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                out.append(json.loads(line))
        return out


# Stage records ---------------------------------------------------------------------------------------------------


@dataclass
class Decision:
    """Whether an item must (re)run, and why, in words a user understands."""

    stage: str
    item: str
    run: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "item": self.item, "run": self.run, "reason": self.reason}


@dataclass
class Records:
    """The records file: ``{"schema": 1, "stages": {stage: {item: {"deps": {name: hash}, "outs": {rel: hash}}}}}``."""

    ws: Workspace
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, ws: Workspace) -> Records:
        data: dict[str, Any] = {"schema": RECORDS_SCHEMA, "stages": {}}
        if ws.records_file.exists():
            try:
                loaded = json.loads(ws.records_file.read_text(encoding="utf-8"))
                if loaded.get("schema") == RECORDS_SCHEMA:
                    data = loaded
            except (json.JSONDecodeError, AttributeError):
                pass  # an unreadable record means "nothing is known to be done": everything re-runs
        return cls(ws, data)

    def get(self, stage: str, item: str) -> dict[str, Any] | None:
        return self.data["stages"].get(stage, {}).get(item)

    def items(self, stage: str) -> dict[str, Any]:
        return dict(self.data["stages"].get(stage, {}))

    def decide(self, stage: str, item: str, deps: dict[str, Any], outs: list[Path], force: bool = False) -> Decision:
        """Compare the item's named dependencies and outputs with its record.

        ``deps`` maps a readable name (``plan.scenes[s02]``, ``config.render``) to any JSON-able value, or to a
        ``Path`` whose content is hashed. Outputs that were edited by hand are kept (the user's edit wins), outputs
        that are missing make the item re-run.
        """
        if force:
            return Decision(stage, item, True, "forced (--force)")
        rec = self.get(stage, item)
        if rec is None:
            return Decision(stage, item, True, "never ran")
        hashes = hash_deps(deps)
        old = rec.get("deps", {})
        changed = [name for name in hashes if old.get(name) != hashes[name]]
        removed = [name for name in old if name not in hashes]
        if changed or removed:
            what = ", ".join(changed + removed)
            return Decision(stage, item, True, f"{what} changed")
        for out in outs:
            if not Path(out).exists():
                return Decision(stage, item, True, f"output {self.ws.rel(out)} missing")
        return Decision(stage, item, False, "up to date")

    def record(self, stage: str, item: str, deps: dict[str, Any], outs: list[Path], extra: dict | None = None) -> None:
        """Write the item's record (call after its outputs are in place)."""
        entry = {
            "deps": hash_deps(deps),
            "outs": {self.ws.rel(o): tree_digest(Path(o)) for o in outs if Path(o).exists()},
            "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        entry["fingerprint"] = digest(entry["deps"])
        if extra:
            entry.update(extra)
        self._reload()  # another StageRun in this process may have written since we loaded
        self.data["stages"].setdefault(stage, {})[item] = entry
        self.save()

    def _reload(self) -> None:
        self.data = Records.load(self.ws).data

    def forget(self, stage: str, item: str | None = None) -> None:
        self._reload()
        if item is None:
            self.data["stages"].pop(stage, None)
        else:
            self.data["stages"].get(stage, {}).pop(item, None)
        self.save()

    def save(self) -> None:
        write_json_atomic(self.ws.records_file, self.data)


def hash_deps(deps: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in deps.items():
        if isinstance(value, Path):
            out[name] = tree_digest(value) if value.exists() else "missing"
        else:
            out[name] = digest(value)
    return out


# One stage run over its items -------------------------------------------------------------------------------------


class StageRun:
    """Bookkeeping shared by every stage: decide per item, record finished items, log the run to runs.jsonl.

    Usage inside a stage's ``run()``::

        sr = StageRun(ws, "render", force=force, dry_run=dry_run)
        d = sr.decide(scene.id, deps, outs)
        if d.run and not sr.dry_run:
            ...write outs atomically...
            sr.finish(d, deps, outs)
        sr.close(outcome="ok", seeds=..., models=...)
        return sr.result()
    """

    def __init__(self, ws: Workspace, stage: str, force: bool = False, dry_run: bool = False):
        self.ws = ws
        self.stage = stage
        self.force = force
        self.dry_run = dry_run
        self.records = Records.load(ws)
        self.items: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.info: dict[str, Any] = {}
        self._start = time.monotonic()

    def decide(self, item: str, deps: dict[str, Any], outs: list[Path], force: bool | None = None,
               info: dict[str, Any] | None = None) -> Decision:
        """Decide one item; ``info`` (e.g. the LoRAs a scene uses) is shown with it by the CLI and ``status``."""
        d = self.records.decide(self.stage, item, deps, outs, force=self.force if force is None else force)
        self.items.append({**d.to_dict(), "action": ("would run" if self.dry_run else "pending") if d.run
                           else "skipped", **(info or {})})
        return d

    def finish(self, d: Decision, deps: dict[str, Any], outs: list[Path], extra: dict | None = None) -> None:
        self.records.record(self.stage, d.item, deps, outs, extra)
        for it in self.items:
            if it["item"] == d.item:
                it["action"] = "ran"
                it["fingerprint"] = self.records.get(self.stage, d.item)["fingerprint"]

    def ran(self) -> list[str]:
        return [it["item"] for it in self.items if it["action"] == "ran"]

    def close(self, outcome: str = "ok", **info: Any) -> None:
        self.info.update(info)
        if self.dry_run:
            return
        self.ws.log_run({"stage": self.stage, "outcome": outcome, "seconds": round(time.monotonic() - self._start, 3),
                         "items": [{k: it[k] for k in ("item", "action", "reason") if k in it} for it in self.items],
                         **self.info})

    def result(self, **extra: Any) -> dict[str, Any]:
        return {"stage": self.stage, "workspace": str(self.ws.root), "dry_run": self.dry_run,
                "items": self.items, "notes": self.notes, **self.info, **extra}
