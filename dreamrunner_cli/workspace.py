"""The per-story workspace: paths, atomic writes, the process lock, stage records and the provenance log.

Stage records (``dreamrunner.lock``) are the core contract (ARCHITECTURE.md): for each stage and item they keep the
hash of every named dependency and of every output. An item is skipped when its dependencies are unchanged and its
outputs exist; otherwise it re-runs and the reason names what changed ("plan.scenes[s02].keyframes[2].regions[dog].box
changed", "config.render.steps 8 → 40"). Records are
written after the outputs, so a run killed at any point leaves no item that looks finished.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import logging
import os
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .bounds import BoundExceeded, loads_json
from .errors import MissingUpstream, RecordsDamaged, WorkspaceBusy

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
    """Digest of a file, or of every file under a folder (relative names + contents; see ``content_digest``)."""
    if path.is_file():
        return content_digest(path)
    parts = [(p.relative_to(path).as_posix(), content_digest(p)) for p in sorted(path.rglob("*")) if p.is_file()]
    return digest(parts)


def content_digest(path: Path) -> str:
    """What a fingerprint hashes for one file: its bytes, except where the format allows harmless variation.

    A ``.safetensors`` file is hashed by its tensors (``tensor_digest``): the order of its header's keys (random for
    ``__metadata__`` in safetensors 0.x) never changes a fingerprint. A file that does not parse as safetensors is
    hashed by its bytes, so damage still changes the fingerprint.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        try:
            return tensor_digest(path)
        except _SAFETENSORS_DAMAGE:
            pass
    return file_digest(path)


# Safetensors: tensors, not bytes ---------------------------------------------------------------------------------

_SAFETENSORS_DAMAGE = (ValueError, KeyError, TypeError, IndexError, struct.error, UnicodeDecodeError)
_MAX_HEADER = 100 << 20  # the safetensors library's own limit on the header's size


def _safetensors_header(blob_head: bytes, size: int) -> tuple[dict[str, Any], int]:
    """(header, offset of the data section) of a safetensors file whose first bytes are ``blob_head``."""
    if len(blob_head) < 8:
        raise ValueError("shorter than a safetensors header")
    (n,) = struct.unpack("<Q", blob_head[:8])
    if n > _MAX_HEADER or 8 + n > size or len(blob_head) < 8 + n:
        raise ValueError("header length past the end of the file")
    header = json.loads(blob_head[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header, 8 + n


def tensor_digest(path: Path) -> str:
    """sha256 of a safetensors file's content: its metadata (sorted) and, per tensor in name order, the name, dtype,
    shape and raw data. Two files with the same tensors and metadata have the same digest whatever their header's
    key order or padding. Raises ValueError on a damaged (e.g. truncated) file."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256()
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) == 8:
            head += f.read(min(struct.unpack("<Q", head)[0], _MAX_HEADER + 1))
        header, start = _safetensors_header(head, size)
        h.update(json.dumps(header.pop("__metadata__", None) or {}, sort_keys=True).encode())
        for name in sorted(header):
            info = header[name]
            a, b = info["data_offsets"]
            if not 0 <= a <= b or start + b > size:
                raise ValueError(f"tensor {name!r} lies past the end of the file (truncated?)")
            f.seek(start + a)
            h.update(json.dumps([name, info["dtype"], info["shape"], b - a]).encode())
            remaining = b - a
            while remaining:
                chunk = f.read(min(remaining, 1 << 20))
                if not chunk:
                    raise ValueError(f"tensor {name!r} is truncated")
                h.update(chunk)
                remaining -= len(chunk)
    return h.hexdigest()[:16]


def canonical_safetensors_bytes(blob: bytes) -> bytes:
    """The same safetensors file with its header's keys sorted (compact JSON, space-padded to 8 bytes, as the library
    pads it). Tensor data is untouched (offsets are relative to the data section). Byte-reproducible adapters: call
    it on every safetensors file or blob a stage writes or caches."""
    header, start = _safetensors_header(blob, len(blob))
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob[start:]


def canonicalize_safetensors(path: Path) -> bool:
    """Rewrite ``path`` (atomically) with a sorted header if it is not already; True when it was rewritten."""
    path = Path(path)
    blob = path.read_bytes()
    canonical = canonical_safetensors_bytes(blob)
    if canonical == blob:
        return False
    write_bytes_atomic(path, canonical)
    return True


# Atomic writes -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder (same suffix); rename it over the target on success.

    A crash before the rename leaves the target untouched (and at most a ``.tmp-*`` file, ignored by everything).
    Any error in the block or while flushing the file to disk (``fsync`` reports the write-back errors of a full
    disk or a network mount) leaves the target untouched and removes the temporary file. An OSError about the
    temporary file (ENOSPC while writing it) is raised naming the target: the temporary name means nothing to a
    user. A caller whose file is written by another program checks it inside the block (``video.check_video``):
    that program exiting 0 is not proof of a whole file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path: Path | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{target.stem}-", suffix=target.suffix, dir=target.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are ordinary files people share
        yield tmp_path
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    except OSError as exc:
        if exc.errno is not None and (tmp_path is None or exc.filename in (None, str(tmp_path), tmp_path)):
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    finally:
        if tmp_path is not None and (tmp_path.exists() or tmp_path.is_symlink()):
            tmp_path.unlink()


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: Path, obj: Any) -> None:
    write_text_atomic(target, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


# Leftovers of killed runs --------------------------------------------------------------------------------------

TEMP_PREFIX = ".tmp-"  # every temporary file or folder a stage makes starts with it (atomic_path, mkdtemp callers)
_PROCESS_START = time.time()  # temp files older than this cannot belong to this process


def sweep_temp(folders: list[Path], recursive: list[bool] | None = None, older_than: float | None = None,
               ) -> list[Path]:
    """Remove ``.tmp-*`` files and folders (leftovers of a killed run) directly in, or anywhere under, ``folders``.

    Only entries last modified before ``older_than`` (default: when this process started) are removed, so a temp
    file this process is writing is never touched. Call it with the workspace lock held (``StageRun`` does): then
    no other dreamrunner process writes there. Returns what was removed.
    """
    import shutil

    cutoff = _PROCESS_START if older_than is None else older_than
    removed: list[Path] = []
    for folder, deep in zip(folders, recursive or [False] * len(folders)):
        if not folder.is_dir() or folder.is_symlink():
            continue
        candidates = folder.rglob(f"{TEMP_PREFIX}*") if deep else folder.glob(f"{TEMP_PREFIX}*")
        for p in sorted(candidates, key=lambda q: len(q.parts)):
            try:
                if p.is_symlink() or p.lstat().st_mtime >= cutoff or any(q in removed for q in p.parents):
                    continue
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                removed.append(p)
            except FileNotFoundError:
                continue
    return removed


# Item locks (`Workspace.item_locked`) ----------------------------------------------------------------------------

ITEMS_DIR = ".dreamrunner-items"  # one lock file per claimed item, and the records lock (only batch items make it)
_ITEM_MODE: dict[Path, int] = {}  # workspace roots this process holds in item mode (how many item locks)


def _claim_name(claim: str) -> str:
    """``render/s02`` → ``render--s02`` (a file name; ids are plan slugs, anything else becomes ``_``)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in claim.replace("/", "--"))


@contextlib.contextmanager
def _records_guard(ws: Workspace) -> Iterator[None]:
    """A short exclusive lock around one read-modify-write of the records file, when items of this workspace may
    run in other processes (item mode); a stage command holds the whole workspace already."""
    if ws.root not in _ITEM_MODE:
        yield
        return
    with open(ws.root / ITEMS_DIR / "records.lock", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # blocking: another holder keeps it for one write only
        yield


# The workspace -------------------------------------------------------------------------------------------------


@dataclass
class Workspace:
    root: Path
    pending_config: Any = field(default=None, repr=False, compare=False)  # saved by the CLI once locked
    unsaved_config: Any = field(default=None, repr=False, compare=False)  # used by this run only (--no-save)

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

    @contextlib.contextmanager
    def item_locked(self, claims: list[str], wait: bool = True, timeout: float | None = None) -> Iterator[None]:
        """Hold the workspace for some items only, so that independent items of one story run in parallel
        (`dreamrunner batch`; docs/batch.md "Locks").

        - The process lock is held *shared*: any number of item holders, never beside a stage command (which holds
          it exclusively, so it fails with WorkspaceBusy, or queues with --wait, while items run, and the reverse).
        - Each claim (``"render/s02"``) is an exclusive lock of its own (``.dreamrunner-items/<claim>.lock``): two
          processes never run the same item.
        - While it is held, ``Records.record`` updates the records file under a short lock of its own (read, change
          this item, write), so concurrent items never lose each other's records.
        - Temp leftovers of killed runs are swept only when this process is alone in the workspace (it got the lock
          exclusively before sharing it), never under another process that may be writing them.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        f = open(self.root / ".dreamrunner.pid", "a+")
        held: list[Any] = [f]
        try:
            try:  # alone: sweep what killed runs left, then share the lock
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                f.seek(0)
                f.truncate()
                f.write(f"pid {os.getpid()} (batch items)")
                f.flush()
                sweep_temp([self.root] + [self.root / d for d in STAGE_FOLDERS_ALL], [False] + [True] *
                           len(STAGE_FOLDERS_ALL), older_than=time.time())
            except BlockingIOError:
                pass
            self._flock(f, fcntl.LOCK_SH, wait, timeout, start,
                        lambda holder: f"workspace {self.root} is in use by {holder}")
            (self.root / ITEMS_DIR).mkdir(exist_ok=True)
            for claim in sorted(set(claims)):  # always in the same order: two holders never wait for each other
                c = open(self.root / ITEMS_DIR / f"{_claim_name(claim)}.lock", "a+")
                held.append(c)
                self._flock(c, fcntl.LOCK_EX, wait, timeout, start,
                            lambda holder, claim=claim: f"item {claim} of workspace {self.root} is being run by "
                                                        f"{holder}")
                c.seek(0)
                c.truncate()
                c.write(f"pid {os.getpid()}")
                c.flush()
            _ITEM_MODE[self.root] = _ITEM_MODE.get(self.root, 0) + 1
            try:
                yield
            finally:
                _ITEM_MODE[self.root] -= 1
                if not _ITEM_MODE[self.root]:
                    del _ITEM_MODE[self.root]
        finally:
            for h in reversed(held):
                h.close()  # closing the descriptors releases the flocks

    @staticmethod
    def _flock(f: Any, mode: int, wait: bool, timeout: float | None, start: float, busy: Any) -> None:
        while True:
            try:
                fcntl.flock(f.fileno(), mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if not wait or (timeout is not None and time.monotonic() - start > timeout):
                    f.seek(0)
                    raise WorkspaceBusy(busy(f.read().strip() or "another process"),
                                        hint="wait for it to finish, or pass --wait to queue behind it") from None
                time.sleep(0.2)

    # Provenance ----------------------------------------------------------------------------------------------
    def log_run(self, entry: dict[str, Any]) -> None:
        """Append one line to runs.jsonl (what ran, why, fingerprints, seeds, model ids, time, outcome).

        Each line carries ``"sha"``, the digest of the rest of its entry, and is written with one ``write`` and an
        fsync. If the file does not end with a newline (a run was killed while writing its line), a newline is
        written first, so the torn line stays alone and never swallows this entry.
        """
        entry = {"time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "version": __version__,
                 **entry}
        entry.pop("sha", None)
        line = json.dumps({**entry, "sha": digest(entry)}, default=str, sort_keys=True, ensure_ascii=True)
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.runs_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            torn = False
            size = os.fstat(fd).st_size
            if size:
                with open(self.runs_log, "rb") as f:
                    f.seek(size - 1)
                    torn = f.read(1) != b"\n"
            data = (("\n" if torn else "") + line + "\n").encode("ascii")
            while data:  # a short write (the disk filling up) is retried, so its error is raised, never ignored
                data = data[os.write(fd, data):]
            os.fsync(fd)
        except OSError as exc:  # os.write and os.fsync name no file
            if exc.errno is None or exc.filename is not None:
                raise
            raise OSError(exc.errno, exc.strerror, str(self.runs_log)) from exc
        finally:
            os.close(fd)

    def read_runs(self) -> list[dict[str, Any]]:
        """The entries of runs.jsonl that are whole and intact (see ``read_runs_checked`` for what was skipped)."""
        return self.read_runs_checked()[0]

    def read_runs_checked(self) -> tuple[list[dict[str, Any]], list[str]]:
        """(intact entries, one message per line skipped). A line is skipped when it is not UTF-8, not a JSON object
        (torn by a killed run) or its ``sha`` does not match its content; lines from before ``sha`` are trusted."""
        if not self.runs_log.exists():
            return [], []
        out: list[dict[str, Any]] = []
        problems: list[str] = []
        name = self.rel(self.runs_log)
        for n, raw in enumerate(self.runs_log.read_bytes().split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                entry = loads_json(raw.decode("utf-8"), f"{name} line {n}")
            except UnicodeDecodeError as exc:
                problems.append(f"{name} line {n}: not UTF-8 (byte {exc.start}); skipped")
                continue
            except BoundExceeded as exc:  # 100,000 levels deep or a 5,000-digit number: damaged, never a crash
                problems.append(f"{exc.message}; skipped")
                continue
            except json.JSONDecodeError:
                problems.append(f"{name} line {n}: torn or damaged (not a whole JSON line); skipped")
                continue
            if not isinstance(entry, dict):
                problems.append(f"{name} line {n}: not a JSON object; skipped")
                continue
            sha = entry.pop("sha", None)
            if sha is not None and sha != digest(entry):
                problems.append(f"{name} line {n}: its checksum does not match (edited or damaged); skipped")
                continue
            out.append(entry)
        return out, problems


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
        """Read and verify the records. A missing file means nothing ran yet; a damaged one (not JSON, wrong shape,
        checksum mismatch, unknown schema) raises RecordsDamaged: it is never read as empty, because that would
        re-run everything and overwrite outputs replaced by hand."""
        if not ws.records_file.exists():
            return cls(ws, {"schema": RECORDS_SCHEMA, "stages": {}})
        return cls(ws, verify_records(ws, ws.records_file.read_bytes()))

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
            old_values = rec.get("values", {}) if isinstance(rec.get("values"), dict) else {}
            what = [_what_changed(name, old_values, deps) for name in changed] + [f"{n} changed" for n in removed]
            return Decision(stage, item, True, ", ".join(what))
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
        values = dep_values(deps)
        if values:  # not part of the fingerprint: only there so a re-run can say which keys changed
            entry["values"] = values
        if extra:
            entry.update(extra)
        with _records_guard(self.ws):  # items of this workspace may be recording in other processes (batch)
            self._reload()  # another StageRun (in this process, or another item's) may have written since we loaded
            self.data["stages"].setdefault(stage, {})[item] = entry
            self.save()

    def _reload(self) -> None:
        self.data = Records.load(self.ws).data

    def save(self) -> None:
        data = {k: v for k, v in self.data.items() if k != "checksum"}
        write_json_atomic(self.ws.records_file, {**data, "checksum": records_checksum(data)})

    def output_changed(self, stage: str, item: str, out: Path) -> bool:
        """True when ``out`` exists and differs from what the item's record says it wrote (e.g. edited by hand)."""
        rec = self.get(stage, item)
        if rec is None or not Path(out).exists():
            return False
        return tree_digest(Path(out)) != rec.get("outs", {}).get(self.ws.rel(out))

    def verify_outputs(self) -> list[dict[str, str]]:
        """Every recorded output that is missing or differs from its record: ``{stage, item, output, state}``."""
        found = []
        for stage, items in self.data["stages"].items():
            for item, rec in items.items():
                for rel, h in rec.get("outs", {}).items():
                    p = self.ws.root / rel
                    state = "missing" if not p.exists() else "changed" if tree_digest(p) != h else None
                    if state:
                        found.append({"stage": stage, "item": item, "output": rel, "state": state})
        return found


REBUILD_HINT = ("run `dreamrunner status {root} --rebuild-records` to set it aside and start empty records "
                "(then every item re-runs, overwriting its outputs: look first with --dry-run), or restore the file "
                "from a backup")


def records_checksum(data: dict[str, Any]) -> str:
    """sha256 of the records' content (canonical JSON, without the checksum itself)."""
    blob = json.dumps({k: v for k, v in data.items() if k != "checksum"}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True, default=str).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def verify_records(ws: Workspace, blob: bytes) -> dict[str, Any]:
    """Parse and check the records file's bytes; raise RecordsDamaged naming the file, the fault and the fix."""
    name = ws.records_file

    def damaged(what: str) -> RecordsDamaged:
        return RecordsDamaged(f"{name} is damaged: {what}", hint=REBUILD_HINT.format(root=ws.root))

    try:
        data = loads_json(blob.decode("utf-8"), name)  # bounded: depth, number length (bounds.py)
    except UnicodeDecodeError as exc:
        raise damaged(f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise damaged(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; truncated?)") from None
    except BoundExceeded as exc:
        raise damaged(exc.message.removeprefix(f"{name}: ")) from None
    if not isinstance(data, dict):
        raise damaged("not a JSON object")
    if data.get("schema") != RECORDS_SCHEMA:
        if isinstance(data.get("schema"), int) and data["schema"] > RECORDS_SCHEMA:
            raise RecordsDamaged(f"{name} was written by a newer dreamrunner (records schema {data['schema']})",
                                 hint="upgrade dreamrunner (`pip install -U dreamrunner`)")
        raise damaged(f"unknown records schema {data.get('schema')!r} (expected {RECORDS_SCHEMA})")
    stages = data.get("stages")
    if not isinstance(stages, dict) or not all(
            isinstance(items, dict) and all(isinstance(r, dict) and isinstance(r.get("deps", {}), dict)
                                            and isinstance(r.get("outs", {}), dict) for r in items.values())
            for items in stages.values()):
        raise damaged("its 'stages' are not {stage: {item: {deps, outs}}}")
    if "checksum" in data and data["checksum"] != records_checksum(data):
        raise damaged("its checksum does not match its content (edited by hand, or the disk damaged it)")
    data.pop("checksum", None)  # files from before checksums are trusted once; the next save seals them
    return data


def rebuild_records(ws: Workspace) -> Path | None:
    """Set a damaged records file aside (``dreamrunner.lock.damaged-<UTC time>``, never deleted) and start empty
    records. Returns where the old file went (None when there was none). Hold the workspace lock."""
    if not ws.records_file.exists():
        return None
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = ws.records_file.with_name(f"{ws.records_file.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        aside = ws.records_file.with_name(f"{ws.records_file.name}.damaged-{stamp}-{n}")
        n += 1
    os.replace(ws.records_file, aside)
    Records(ws, {"schema": RECORDS_SCHEMA, "stages": {}}).save()
    return aside


def hash_deps(deps: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in deps.items():
        if isinstance(value, Path):
            out[name] = tree_digest(value) if value.exists() else "missing"
        else:
            out[name] = digest(value)
    return out


VALUE_PREFIX = ("config", "plan.")  # deps whose values are kept in the record, so a re-run names what changed
MAX_VALUE_CHARS = 8192  # larger values are only hashed (the reason then says "<name> changed")


def dep_values(deps: dict[str, Any]) -> dict[str, Any]:
    """The small JSON values of the config and plan deps (``config.render`` → its keys and values,
    ``plan.scenes[s02]`` → the scene), stored with the record."""
    out = {}
    for name, value in deps.items():
        if not name.startswith(VALUE_PREFIX) or isinstance(value, Path):
            continue
        text = json.dumps(value, sort_keys=True, default=str)
        if len(text) <= MAX_VALUE_CHARS:
            out[name] = json.loads(text)
    return out


def _what_changed(name: str, old_values: dict[str, Any], deps: dict[str, Any]) -> str:
    """``config.render.steps 8 → 40`` when the record kept the dep's old value; else ``<name> changed`` (records
    written before values were kept, files, large values)."""
    from .config import config_diff, describe_changes

    new = dep_values({name: deps[name]}).get(name, _NO_VALUE)
    old = old_values.get(name, _NO_VALUE)
    if old is _NO_VALUE or new is _NO_VALUE:
        return f"{name} changed"
    if name.startswith("plan."):  # plan.scenes[s04].keyframes[2].regions[dog].box changed
        found = plan_changes(name, old, new) or [f"{name} changed"]
        return ", ".join(found[:4] + ([f"… and {len(found) - 4} more"] if len(found) > 4 else []))
    base, _, qualifier = name.partition(" (")  # "config.adapt (motion)" → keys "config.adapt.<key>"
    changes = config_diff({base: old}, {base: new})
    if not changes:
        return f"{name} changed"
    text = ", ".join(describe_changes(changes, limit=4))
    return f"{text} ({qualifier}" if qualifier else text


_NO_VALUE = object()


def plan_changes(path: str, old: Any, new: Any) -> list[str]:
    """Where two JSON values of the plan differ, as paths a person finds in plan.json: fields by name, key frames by
    index, regions by their entity (``plan.scenes[s04].keyframes[2].regions[dog].box changed``)."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(dict.fromkeys([*new, *old]))
        return [c for k in keys for c in plan_changes(f"{path}.{k}", old.get(k), new.get(k))]
    if isinstance(old, list) and isinstance(new, list):
        by_old, by_new = _by_entity(old), _by_entity(new)
        if by_old is not None and by_new is not None:  # regions: by entity id, so a reordering is not "everything"
            out = [f"{path}[{e}] removed" for e in by_old if e not in by_new]
            out += [f"{path}[{e}] added" if e not in by_old else c for e in by_new
                    for c in ([None] if e not in by_old else plan_changes(f"{path}[{e}]", by_old[e], by_new[e]))]
            return [c for c in out if c] or [f"{path} reordered"]
        if len(old) == len(new) and all(isinstance(v, (dict, list)) for v in old + new):  # a box is one value
            return [c for i, (a, b) in enumerate(zip(old, new)) for c in plan_changes(f"{path}[{i}]", a, b)]
        if len(old) != len(new):
            return [f"{path} changed ({len(old)} → {len(new)} items)"]
    return [f"{path} changed"]


def _by_entity(items: list[Any]) -> dict[str, Any] | None:
    """Regions keyed by their entity id, or None when these are not regions with one entity each."""
    if not items or not all(isinstance(r, dict) and isinstance(r.get("entity"), str) for r in items):
        return None
    keyed = {r["entity"]: r for r in items}
    return keyed if len(keyed) == len(items) else None


# One stage run over its items -------------------------------------------------------------------------------------


# The folders each stage writes under (besides files directly in the workspace folder): its temp leftovers are swept.
STAGE_FOLDERS: dict[str, tuple[str, ...]] = {
    "plan": ("refs", "planning"),
    "retrieve": ("retrieval",),
    "adapt": ("adapters",),
    "render": ("renders", "masks"),
    "evaluate": ("eval",),
}
STAGE_FOLDERS_ALL = tuple(sorted({d for ds in STAGE_FOLDERS.values() for d in ds}))


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
        # Leftovers of a killed run of this stage (we hold the workspace lock: none is ours). Not in item mode:
        # other processes may be writing theirs (Workspace.item_locked sweeps when it finds the workspace free).
        if not dry_run and ws.root not in _ITEM_MODE:
            removed = sweep_temp([ws.root] + [ws.root / d for d in STAGE_FOLDERS.get(stage, ())],
                                 [False] + [True] * len(STAGE_FOLDERS.get(stage, ())))
            if removed:
                self.notes.append(f"removed {len(removed)} temporary file(s) left by an interrupted run: "
                                  + ", ".join(ws.rel(p) for p in removed[:5]) + (" …" if len(removed) > 5 else ""))
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

    def close(self, outcome: str = "ok", **info: Any) -> None:
        self.info.update(info)
        if self.dry_run:
            return
        entry = {"stage": self.stage, "outcome": outcome, "seconds": round(time.monotonic() - self._start, 3),
                 "items": [{k: it[k] for k in ("item", "action", "reason") if k in it} for it in self.items],
                 **self.info}
        if outcome == "ok":
            self.ws.log_run(entry)
            return
        try:
            self.ws.log_run(entry)
        except OSError as exc:  # logging a failed run must not hide why it failed (a full disk fails both)
            logging.getLogger(f"dreamrunner.{self.stage}").warning(
                "%s: could not record the failed run in %s: %s", self.stage, self.ws.runs_log, exc)

    def result(self, **extra: Any) -> dict[str, Any]:
        return {"stage": self.stage, "workspace": str(self.ws.root), "dry_run": self.dry_run,
                "items": self.items, "notes": self.notes, **self.info, **extra}
