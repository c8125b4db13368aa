"""Stage 3, adapt: a motion LoRA per motion and a character LoRA per character (METHOD.md B.2–B.4).

Items:
- ``motion/<id>``: trained on the motion's clips (``retrieval/<id>/manifest.json`` from the retrieve stage, or a
  folder given with ``--clips ID=DIR``) with MotionDirector's dual path; the motion LoRA sits on the even 0-based
  blocks (``adapt.motion_blocks``). Output: ``adapters/motion/<id>/``.
- ``character/<id>``: trained on the character's reference images shown as static videos; odd blocks
  (``adapt.character_blocks``). Characters without reference images get no LoRA (a note says so).

Each output folder holds ``pytorch_lora_weights.safetensors`` (diffusers' LoRA format) and ``adapter.json``. An
item's fingerprint covers its plan entry, the adapt hyper-parameters of its kind, the model id/revision/dtype, the
render geometry and its data (content hash + caption of every clip/image). A trained adapter is also cached across
stories under its full recipe; a second story with the same data gets it without training.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..adapt.data import Example, character_examples, data_fingerprint, motion_examples
from ..adapt.encode import Geometry
from ..adapt.record import ADAPTER_JSON, AdapterRecord, DataItem
from ..adapt.reuse import ADAPT_CODE_VERSION, cache_get, cache_put, recipe, recipe_key
from ..config import Config
from ..errors import InputInvalid, UsageError
from ..models.loading import model_ids
from ..schema import Plan, load_plan
from ..workspace import StageRun, Workspace, digest, write_json_atomic

CLIPS_BINDINGS = "clips.json"  # adapters/clips.json: motion id → folder of clips given by hand (--clips)


@dataclass
class Job:
    """One adapter to (re)train: what it is, its data and its recipe."""

    kind: Literal["motion", "character"]
    id: str
    entry: Any  # the plan's Motion or Character
    plan_path: str  # e.g. plan.motions[walking]
    examples: list[Example]
    geometry: Geometry
    hyperparameters: dict[str, Any]

    @property
    def item(self) -> str:
        return f"{self.kind}/{self.id}"


def run(
    ws: Workspace,
    cfg: Config,
    *,
    force: bool = False,
    dry_run: bool = False,
    only: list[str] | None = None,
    progress: bool = True,
    motions: list[str] | None = None,
    characters: list[str] | None = None,
    clips: dict[str, Path] | None = None,
    pipeline: Any = None,
) -> dict[str, Any]:
    """Train (or reuse) the adapters of a workspace's plan.

    Args:
        ws: the workspace (plan.json must exist).
        cfg: resolved config; reads ``adapt``, ``model`` (id, revision, dtype, device) and the render geometry.
        force: retrain even when the record is up to date, without reading the cross-story cache (the fresh
            adapter still replaces the cached one).
        dry_run: say what would run, train nothing.
        only: item names (``motion/walking``, ``character/teddy``) or bare ids to restrict to.
        progress: show a progress bar (step, loss, ETA) on stderr.
        motions: only these motion ids (with ``characters`` None: no characters).
        characters: only these character ids (with ``motions`` None: no motions).
        clips: motion id → folder of clips, used instead of the retrieve stage's output.
        pipeline: an already loaded CogVideoXPipeline (tests, `dreamrunner run`); loaded lazily otherwise.

    Returns:
        The stage result: items with what happened and why, and one entry per adapter written.
    """
    sr = StageRun(ws, "adapt", force=force, dry_run=dry_run)

    # 1. The plan, and the items asked for.
    plan = load_plan(ws.require_plan())
    clip_dirs = _clip_folders(ws, plan, clips or {}, remember=not dry_run)
    jobs = _jobs(ws, cfg, plan, motions, characters, only, clip_dirs, sr.notes)

    # 2. Decide per item (data was resolved above: a missing clip or image fails before any training).
    model_key = {"id": cfg.model.id, "revision": cfg.model.revision, "dtype": cfg.model.dtype}
    todo = []
    for job in jobs:
        deps = {
            job.plan_path: job.entry.model_dump(mode="json"),
            f"config.adapt ({job.kind})": job.hyperparameters,
            "config.model": model_key,
            "config.render (geometry)": job.geometry.to_dict(),
            "data": data_fingerprint(job.examples),
        }
        out = ws.adapters_dir / job.kind / job.id
        d = sr.decide(job.item, deps, [out])
        if d.run:
            todo.append((job, deps, out, d))

    # 3. Reuse from the cross-story cache, or train; write outputs atomically, then the record.
    written: list[dict[str, Any]] = []
    loader = _PipelineLoader(cfg, pipeline)
    try:
        if todo and not dry_run:
            with _progress(progress) as bar:
                for job, deps, out, d in todo:
                    rec = recipe(job.kind, model_key, job.geometry.to_dict(), job.hyperparameters,
                                 data_fingerprint(job.examples))
                    key = recipe_key(rec)
                    hit = cache_get(key) if cfg.adapt.reuse and not force else None
                    if hit is not None:
                        record = _reuse(ws, job, out, key, *hit)
                    else:
                        record = _train(ws, cfg, job, out, key, model_key, loader.get(), bar)
                    sr.finish(d, deps, [out], extra={"recipe_key": key, "source": record.source})
                    written.append({"kind": job.kind, "id": job.id, "path": ws.rel(out), "source": record.source,
                                    "steps": record.steps, "final_loss": record.final_loss})
    except BaseException as exc:
        sr.close(outcome="interrupted" if isinstance(exc, KeyboardInterrupt) else "error",
                 models=model_ids(cfg.model), seeds={"adapt": cfg.adapt.seed})
        raise
    sr.close(outcome="ok", models=model_ids(cfg.model), seeds={"adapt": cfg.adapt.seed})
    return sr.result(adapters=written)


# 1. Items ---------------------------------------------------------------------------------------------------------


def _clip_folders(ws: Workspace, plan: Plan, given: dict[str, Path], remember: bool) -> dict[str, Path]:
    """Folders of clips per motion: ``--clips`` given now, else one given in an earlier run.

    Folders given by hand are remembered in ``adapters/clips.json`` so that later runs (``status``, ``run``) find
    the same data without the flag. A remembered folder only fills in for a motion that has no retrieval manifest.
    """
    motion_ids = [m.id for m in plan.motions]
    for mid in given:
        if mid not in motion_ids:
            raise UsageError(f"--clips {mid}=...: {mid!r} is not a motion of the plan",
                             hint=f"motion ids: {motion_ids}")
    path = ws.adapters_dir / CLIPS_BINDINGS
    remembered: dict[str, str] = {}
    with contextlib.suppress(OSError, json.JSONDecodeError, AttributeError):
        remembered = {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    if given and remember:
        remembered.update({mid: str(Path(folder).resolve()) for mid, folder in given.items() if Path(folder).is_dir()})
        write_json_atomic(path, remembered)
    out = dict(given)
    for mid, folder in remembered.items():
        if mid in motion_ids and mid not in out and Path(folder).is_dir() \
                and not (ws.retrieval_dir / mid / "manifest.json").exists():
            out[mid] = Path(folder)
    return out


def _jobs(ws: Workspace, cfg: Config, plan: Plan, motions: list[str] | None, characters: list[str] | None,
          only: list[str] | None, clips: dict[str, Path], notes: list[str]) -> list[Job]:
    """The items to consider, with their data resolved and checked."""
    motion_ids = [m.id for m in plan.motions]
    char_ids = [c.id for c in plan.characters]
    for mid in motions or []:
        if mid not in motion_ids:
            raise UsageError(f"--motion {mid!r} is not a motion of the plan", hint=f"motion ids: {motion_ids}")
    for cid in characters or []:
        if cid not in char_ids:
            raise UsageError(f"--character {cid!r} is not a character of the plan", hint=f"character ids: {char_ids}")
    sharded = motions is not None or characters is not None
    want_m = set(motions or []) if sharded else set(motion_ids)
    want_c = set(characters or []) if sharded else set(char_ids)
    if only:
        names = set(only)
        want_m = {m for m in want_m if m in names or f"motion/{m}" in names}
        want_c = {c for c in want_c if c in names or f"character/{c}" in names}

    a, r = cfg.adapt, cfg.render
    jobs: list[Job] = []
    motion_geom = Geometry(r.height, r.width, r.num_frames, a.max_clip_seconds)
    motion_hp = {"steps": a.steps, "rank": a.rank, "lr": a.lr, "weight_decay": a.weight_decay, "dropout": a.dropout,
                 "spatial_skip_prob": a.spatial_skip_prob, "debias_beta": a.debias_beta,
                 "motion_blocks": a.motion_blocks, "seed": a.seed}
    for m in plan.motions:
        if m.id in want_m:
            jobs.append(Job("motion", m.id, m, f"plan.motions[{m.id}]",
                            motion_examples(ws.root, m, clips.get(m.id)), motion_geom, motion_hp))
    char_geom = Geometry(r.height, r.width, a.character_frames or r.num_frames, a.max_clip_seconds)
    char_hp = {"steps": a.character_steps, "rank": a.rank, "lr": a.lr, "weight_decay": a.weight_decay,
               "dropout": a.dropout, "character_blocks": a.character_blocks, "seed": a.seed,
               "loss_frame": a.character_loss_frame}
    for i, c in enumerate(plan.characters):
        if c.id not in want_c:
            continue
        if not c.reference_images:
            if characters and c.id in characters:
                raise InputInvalid(f"character {c.id!r} has no reference images (plan.characters[{i}]."
                                   "reference_images is empty)",
                                   hint="add image paths (relative to the workspace, e.g. refs/"
                                   f"{c.id}/1.png) to plan.json, then run `dreamrunner adapt {ws.root} "
                                   f"--character {c.id}`")
            notes.append(f"character {c.id}: no reference images, so no character LoRA "
                         f"(add some to plan.characters[{i}].reference_images)")
            continue
        jobs.append(Job("character", c.id, c, f"plan.characters[{c.id}]", character_examples(ws.root, c, i),
                        char_geom, char_hp))
    return jobs


# 3. Reuse or train ------------------------------------------------------------------------------------------------


def _reuse(ws: Workspace, job: Job, out: Path, key: str, weights: bytes, meta_text: str) -> AdapterRecord:
    """Write a cached adapter into this workspace; its record names this workspace's item and data."""
    meta = json.loads(meta_text)
    meta.update(_identity(ws, job), source="cache", recipe_key=key)
    record = AdapterRecord.model_validate(meta)
    _write_adapter_dir(out, record, weights=weights)
    return record


def _train(ws: Workspace, cfg: Config, job: Job, out: Path, key: str, model_key: dict[str, Any], pipe,
           bar) -> AdapterRecord:
    """Encode the data (cached), train with checkpoints, write the adapter, and cache it by recipe."""
    from ..adapt.checkpoint import clear
    from ..adapt.encode import encode_examples
    from ..adapt.lora import TARGET_LINEARS, other_parity, select_blocks
    from ..adapt.trainer import TrainSpec, train_lora

    a = cfg.adapt
    # 3a. Latents and prompt embeddings, once per clip/caption and model (diskcache).
    encoded = encode_examples(pipe, job.examples, job.geometry, model_key)

    # 3b. The recipe for this kind, on this model's blocks.
    num_layers = int(pipe.transformer.config.num_layers)
    if job.kind == "motion":
        spec = TrainSpec("motion", a.steps, a.rank, a.lr, a.weight_decay, a.dropout, a.seed,
                         blocks=select_blocks(num_layers, a.motion_blocks),
                         spatial_blocks=select_blocks(num_layers, other_parity(a.motion_blocks)),
                         spatial_skip_prob=a.spatial_skip_prob, debias_beta=a.debias_beta,
                         checkpoint_every=a.checkpoint_every, gradient_checkpointing=a.gradient_checkpointing)
    else:
        spec = TrainSpec("character", a.character_steps, a.rank, a.lr, a.weight_decay, a.dropout, a.seed,
                         blocks=select_blocks(num_layers, a.character_blocks), loss_frame=a.character_loss_frame,
                         checkpoint_every=a.checkpoint_every, gradient_checkpointing=a.gradient_checkpointing)

    # 3c. Train (resuming from this recipe's last checkpoint if a previous run was killed).
    ckpt_dir = ws.adapters_dir / ".checkpoints" / job.kind / job.id
    task = bar.add_task(f"adapt {job.item}", total=spec.steps, loss=float("nan"))

    def on_step(step: int, total: int, loss: float, info: dict) -> None:
        bar.update(task, completed=step, loss=loss)

    device = str(next(pipe.transformer.parameters()).device)
    with _aside(pipe, ("text_encoder", "vae"), enabled=device.startswith("cuda")):
        result = train_lora(pipe.transformer, pipe.scheduler, encoded, spec, device=device, dtype=cfg.model.dtype,
                            checkpoint_dir=ckpt_dir, run_key=key, on_step=on_step)
    bar.update(task, completed=spec.steps)

    # 3d. adapter.json + weights, atomically; then the cross-story cache; then drop the checkpoints.
    tail = result.losses[-10:]
    record = AdapterRecord(
        kind=job.kind, **_identity(ws, job), blocks=spec.blocks, target_modules=list(TARGET_LINEARS),
        rank=spec.rank, alpha=float(spec.rank), steps=spec.steps, base_model=model_key,
        geometry={**job.geometry.to_dict(), "latent_frames": int(encoded[0].latents.shape[1])},
        hyperparameters=job.hyperparameters, data_fingerprint=digest(data_fingerprint(job.examples)),
        final_loss=sum(tail) / len(tail), loss_curve=result.losses,
        spatial_loss_curve=result.spatial_losses if job.kind == "motion" else [],
        recipe_key=key, code_version=ADAPT_CODE_VERSION, source="trained", device=device,
        train_seconds=result.seconds, resumed_from=result.resumed_from,
    )
    weights = _write_adapter_dir(out, record, state_dict=result.state_dict, metadata=result.metadata)
    if a.reuse:
        cache_put(key, weights, record.model_dump_json(indent=2))
    clear(ckpt_dir, up_to=ws.adapters_dir / ".checkpoints")
    return record


def _identity(ws: Workspace, job: Job) -> dict[str, Any]:
    """The fields of adapter.json that name this workspace's item (not part of the recipe)."""
    e = job.entry
    return {
        "id": job.id,
        "description": e.description,
        "token": e.token if job.kind == "character" else None,
        "query": e.retrieval_query() if job.kind == "motion" else None,
        "data": [DataItem(source=ws.rel(x.path), kind=x.kind, caption=x.caption, digest=x.digest).model_dump()
                 for x in job.examples],
    }


def _write_adapter_dir(out: Path, record: AdapterRecord, *, weights: bytes | None = None,
                       state_dict: dict | None = None, metadata: dict | None = None) -> bytes:
    """Build the folder under a temporary name beside ``out`` and swap it in; return the weights' bytes."""
    from ..adapt.lora import WEIGHTS_NAME, save_lora

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{out.name}-", dir=out.parent))
    try:
        if weights is not None:
            (tmp / WEIGHTS_NAME).write_bytes(weights)
        else:
            save_lora(tmp, state_dict or {}, metadata or {})
            weights = (tmp / WEIGHTS_NAME).read_bytes()
        (tmp / ADAPTER_JSON).write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        _swap_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return weights


def _swap_dir(tmp: Path, out: Path) -> None:
    """Replace folder ``out`` by ``tmp`` (renames only: ``out`` is never half-written)."""
    old = None
    if out.exists():
        old = out.parent / f".old-{out.name}-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# Helpers ----------------------------------------------------------------------------------------------------------


class _PipelineLoader:
    """Loads the model once, and only when something must be trained (cache hits need no model)."""

    def __init__(self, cfg: Config, pipeline: Any = None):
        self.cfg, self.pipe = cfg, pipeline

    def get(self):
        if self.pipe is None:
            from ..models.loading import load_pipeline

            self.pipe = load_pipeline(self.cfg.model)
        return self.pipe


@contextlib.contextmanager
def _aside(pipe, names: tuple[str, ...], enabled: bool):
    """Move the text encoder and VAE to CPU while the transformer trains on the GPU (their outputs are cached)."""
    if not enabled:
        yield
        return
    moved = {}
    for n in names:
        module = getattr(pipe, n, None)
        if module is not None:
            moved[n] = next(module.parameters()).device
            module.to("cpu")
    try:
        yield
    finally:
        for n, dev in moved.items():
            getattr(pipe, n).to(dev)


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=not enabled)
