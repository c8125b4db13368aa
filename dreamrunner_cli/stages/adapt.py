"""Stage 3, adapt: a motion LoRA per motion and a character LoRA per character (METHOD.md B.2–B.4).

Items:
- ``motion/<id>``: trained on the motion's clips (``retrieval/<id>/manifest.json`` from the retrieve stage, or a
  folder given with ``--clips ID=DIR``) with MotionDirector's dual path; the motion LoRA sits on the even 0-based
  blocks (``adapt.motion_blocks``). Output: ``adapters/motion/<id>/``.
- ``character/<id>``: trained on the character's reference images shown as static videos; odd blocks
  (``adapt.character_blocks``). Characters without reference images get no LoRA (a note says so).

Each output folder holds ``pytorch_lora_weights.safetensors`` (diffusers' LoRA format), ``adapter.json`` and, for
``adapt.export_steps`` below the step count, ``steps/step-NNNNNN/`` (the LoRA at that step). An item's fingerprint
covers its plan entry, the adapt hyper-parameters of its kind, the *resolved* model identity (snapshot commit or
content digest, block count, dtype), the render geometry and its data (content hash + caption of every clip/image).
A trained adapter is also cached across stories under its full recipe; a second story with the same data and the
same model gets it without training, after checking that its blocks fit the model.

Order of work: decide per item; take what the cross-story cache has; decode and check *every* remaining input
(one error per bad file, exit 5, nothing loaded or trained); load the model once; encode every clip, image and
caption (VAE + T5, cached); move the text encoder and VAE off the GPU once; train the items one after another.
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
from ..adapt.encode import encode_examples
from ..adapt.record import ADAPTER_JSON, AdapterRecord, DataItem, Snapshot
from ..adapt.reuse import ADAPT_CODE_VERSION, cache_get, cache_put, recipe, recipe_key
from ..bounds import read_json
from ..config import Config
from ..errors import InputInvalid, MissingUpstream, UsageError
from ..models.loading import model_ids
from ..progress import Reporter, reporter
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
    models: Any = None,
) -> dict[str, Any]:
    """Train (or reuse) the adapters of a workspace's plan.

    Args:
        ws: the workspace (plan.json must exist).
        cfg: resolved config; reads ``adapt``, ``model`` (id, revision, dtype, device) and the render geometry.
        force: retrain even when the record is up to date, without reading the cross-story cache (the fresh
            adapter still replaces the cached one).
        dry_run: say what would run, train nothing.
        only: item names (``motion/walking``, ``character/teddy``) or bare ids to restrict to.
        progress: show progress on stderr (progress.py): model load, VAE encode, training steps with loss and
            ETA, saving.
        motions: only these motion ids (with ``characters`` None: no characters).
        characters: only these character ids (with ``motions`` None: no motions).
        clips: motion id → folder of clips, used instead of the retrieve stage's output.
        pipeline: an already loaded CogVideoXPipeline (tests); loaded lazily otherwise.
        models: a ``ModelPool`` to borrow the pipeline from, lazily (`dreamrunner run` shares one with render;
            batch workers keep theirs loaded). Training leaves the transformer as it found it.

    Returns:
        The stage result: items with what happened and why, and one entry per adapter written.
    """
    sr = StageRun(ws, "adapt", force=force, dry_run=dry_run)

    # 1. The plan, and the items asked for.
    plan = load_plan(ws.require_plan())
    clip_dirs = _clip_folders(ws, plan, clips or {}, remember=not dry_run)
    jobs = _jobs(ws, cfg, plan, motions, characters, only, clip_dirs, sr.notes)

    # 2. Decide per item (data was resolved above: a missing clip or image fails before any training). The model
    # is its resolved identity (commit / content digest, block count, dtype), never just its id string.
    model_key = _resolved_model(cfg, pipeline, dry_run, sr.notes) if jobs else {}
    todo = []
    for job in jobs:
        deps = {
            job.plan_path: job.entry.model_dump(mode="json"),
            f"config.adapt ({job.kind})": job.hyperparameters,
            "config.adapt (outputs)": {"export_steps": _export_steps(cfg, job)},
            "config.model": model_key,
            "config.render (geometry)": job.geometry.to_dict(),
            "data": data_fingerprint(job.examples),
        }
        out = ws.adapters_dir / job.kind / job.id
        d = sr.decide(job.item, deps, [out])
        if d.run:
            todo.append((job, deps, out, d))

    # 3. Reuse from the cross-story cache; check every other input; train; write outputs atomically, then records.
    written: list[dict[str, Any]] = []
    loader = _PipelineLoader(cfg, pipeline, models)

    def done(job: Job, deps: dict, out: Path, d: Any, key: str, record: AdapterRecord) -> None:
        sr.finish(d, deps, [out], extra={"recipe_key": key, "source": record.source,
                                         "train_seconds": record.train_seconds, "resumed_from": record.resumed_from})
        written.append({"kind": job.kind, "id": job.id, "path": ws.rel(out), "source": record.source,
                        "steps": record.steps, "final_loss": record.final_loss})

    try:
        with reporter(progress and not dry_run, "adapt") as rep:
            if todo and not dry_run:
                if pipeline is None and models is None:  # a borrowed pipeline is already on its device
                    from ..models.loading import check_stage_device
                    check_stage_device(cfg, "adapt")
                _adapt(ws, cfg, todo, model_key, force, loader, done, rep)
    except BaseException as exc:
        sr.close(outcome="interrupted" if isinstance(exc, KeyboardInterrupt) else "error",
                 models=model_ids(cfg.model), seeds={"adapt": cfg.adapt.seed})
        raise
    sr.close(outcome="ok", models=model_ids(cfg.model), seeds={"adapt": cfg.adapt.seed})
    return sr.result(adapters=written)


def _adapt(ws: Workspace, cfg: Config, todo: list, model_key: dict[str, Any], force: bool,
           loader: _PipelineLoader, done: Any, rep: Reporter) -> None:
    """Step 3 of ``run``: each item from the cross-story cache, or trained (its outputs, then ``done`` records it)."""
    # 3a. The cross-story cache: no model is loaded for a hit that fits this model.
    to_train = []
    for job, deps, out, d in todo:
        key = recipe_key(recipe(job.kind, model_key, job.geometry.to_dict(), job.hyperparameters,
                                data_fingerprint(job.examples)))
        hit = cache_get(key) if cfg.adapt.reuse and not force else None
        record = _reuse(ws, cfg, job, out, key, model_key, *hit) if hit is not None else None
        if record is not None:
            done(job, deps, out, d, key, record)
        else:
            to_train.append((job, deps, out, d, key))
    if not to_train:
        return
    # 3b. Decode and check every input before anything is loaded or trained.
    limits = _limits(cfg)
    n_inputs = sum(len(job.examples) for job, *_ in to_train)
    with rep.phase("decode and check inputs", f"({n_inputs} clips and images)"):
        pixels = _decode_all([t[0] for t in to_train], model_key, limits)
    # 3c. One model load; every clip, image and caption encoded once (VAE + T5, cached).
    pipe = loader.get(rep)
    with rep.bar("VAE encode clips and images", total=n_inputs) as bar:
        encoded = {job.item: encode_examples(pipe, job.examples, job.geometry, model_key, pixels=pixels,
                                             limits=limits, on_example=bar.advance) for job, *_ in to_train}
    pixels.clear()
    # 3d. Train, with the text encoder and VAE off the GPU for the whole stage (not per job).
    device = str(next(pipe.transformer.parameters()).device)
    with _aside(pipe, ("text_encoder", "vae"), enabled=device.startswith("cuda")):
        for n, (job, deps, out, d, key) in enumerate(to_train, 1):
            record = _train(ws, cfg, job, out, key, model_key, pipe, encoded.pop(job.item), rep,
                            f"adapter {n}/{len(to_train)} {job.item}")
            done(job, deps, out, d, key, record)


def _resolved_model(cfg: Config, pipeline: Any, dry_run: bool, notes: list[str]) -> dict[str, Any]:
    """The model identity that keys the adapters and caches; a dry run says so instead of failing on it."""
    from ..adapt.identity import model_identity
    from ..errors import ModelUnavailable

    try:
        return model_identity(cfg.model, pipeline)
    except ModelUnavailable as exc:
        if not dry_run:
            raise
        notes.append(f"model {cfg.model.id!r} not resolved ({exc.message}); adapters are shown as if it changed")
        return {"source": "unresolved", "id": cfg.model.id, "revision": cfg.model.revision, "dtype": cfg.model.dtype}


def _export_steps(cfg: Config, job: Job) -> list[int]:
    """The intermediate steps written for this item (below its step count)."""
    steps = job.hyperparameters["steps"]
    return sorted({int(n) for n in cfg.adapt.export_steps if 0 < int(n) < steps})


def _limits(cfg: Config):
    from ..adapt.data import Limits

    a = cfg.adapt
    return Limits(min_clip_frames=a.min_clip_frames or max(2, cfg.render.num_frames // 2),
                  max_image_pixels=a.max_image_pixels)


PIXEL_BUDGET = 2 * 2**30  # decoded pixels kept between checking and encoding; beyond this they are decoded again


def _decode_all(jobs: list[Job], model_key: dict[str, Any], limits) -> dict[str, Any]:
    """Decode every input of the run whose latents are not cached yet; collect one error per bad file.

    Returns decoded pixels by latent key (up to ``PIXEL_BUDGET`` bytes). Raises one InputInvalid listing every
    bad file, before any model is loaded or any step trained.
    """
    from ..adapt.encode import decode_example, latent_key
    from ..cache import open_cache

    errors: list[str] = []
    hints: list[str] = []
    pixels: dict[str, Any] = {}
    kept = 0
    seen: set[str] = set()
    with open_cache("latents") as cache:
        for job in jobs:
            for ex in job.examples:
                lkey = latent_key(ex, job.geometry, model_key)
                if lkey in seen or lkey in cache:  # decoded and checked when it was encoded
                    continue
                seen.add(lkey)
                try:
                    px = decode_example(ex, job.geometry, limits)
                except InputInvalid as exc:
                    errors.append(f"{job.item}: {exc.message}")
                    if exc.hint and exc.hint not in hints:
                        hints.append(exc.hint)
                    continue
                size = px.numel() * px.element_size()
                if not errors and kept + size <= PIXEL_BUDGET:
                    pixels[lkey] = px
                    kept += size
    if errors:
        pixels.clear()
        first = errors[0] if len(errors) == 1 else f"{len(errors)} input files cannot be used"
        raise InputInvalid(f"{first}; nothing was trained", hint="; ".join(hints) or None,
                           details=errors if len(errors) > 1 else [])
    return pixels


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
    with contextlib.suppress(OSError, json.JSONDecodeError, AttributeError, InputInvalid):  # damaged: forgotten
        remembered = {str(k): str(v) for k, v in read_json(path, what="clip bindings").items()}
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
                 "spatial_skip_prob": a.spatial_skip_prob, "spatial_frames": a.spatial_frames,
                 "debias_beta": a.debias_beta, "motion_blocks": a.motion_blocks, "seed": a.seed}
    for m in plan.motions:
        if m.id in want_m:
            try:
                examples = motion_examples(ws.root, m, clips.get(m.id))
            except MissingUpstream as exc:
                if m.id not in clips and not (ws.retrieval_dir / m.id / "manifest.json").is_file():
                    from . import upstream_command  # retrieve never ran for it: one command line that will work

                    exc.hint = (f"run `{upstream_command(ws, cfg, 'adapt')}` (finished items are skipped), or give "
                                f"a folder of clips by hand with `dreamrunner adapt {ws.root} --motion {m.id} "
                                f"--clips {m.id}=DIR`")
                raise
            jobs.append(Job("motion", m.id, m, f"plan.motions[{m.id}]", examples, motion_geom, motion_hp))
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


def _reuse(ws: Workspace, cfg: Config, job: Job, out: Path, key: str, model_key: dict[str, Any], weights: bytes,
           meta_text: str, snapshots: dict[int, bytes]) -> AdapterRecord | None:
    """Write a cached adapter into this workspace, or return None (a miss) when it does not fit this model or lacks
    an intermediate step asked for. Its record names this workspace's item and data."""
    from pydantic import ValidationError

    from ..adapt.identity import fits
    from ..adapt.lora import select_blocks

    try:
        meta = json.loads(meta_text)
        meta.update(_identity(ws, job), source="cache", recipe_key=key)
        record = AdapterRecord.model_validate(meta)
    except (ValueError, ValidationError):
        return None
    parity = cfg.adapt.motion_blocks if job.kind == "motion" else cfg.adapt.character_blocks
    if not fits(record.blocks, select_blocks(int(model_key["num_layers"]), parity), record.base_model, model_key):
        return None  # never load an adapter whose blocks do not fit the model
    wanted = _export_steps(cfg, job)
    have = {s.step: s for s in record.snapshots}
    if not set(wanted) <= set(have) or not set(wanted) <= set(snapshots):
        return None
    record.snapshots = [have[n] for n in wanted]
    record.training = {**record.training, "export_steps": wanted}
    _write_adapter_dir(out, record, weights=weights, snapshots={n: snapshots[n] for n in wanted})
    return record


def _train(ws: Workspace, cfg: Config, job: Job, out: Path, key: str, model_key: dict[str, Any], pipe,
           encoded: list, rep: Reporter, label: str) -> AdapterRecord:
    """Train one adapter on its encoded data (with checkpoints and exports), write it, and cache it by recipe."""
    from ..adapt.checkpoint import clear
    from ..adapt.lora import TARGET_LINEARS, WEIGHTS_NAME, lora_metadata, other_parity, save_lora, select_blocks
    from ..adapt.memory import decide_gradient_checkpointing
    from ..adapt.trainer import TrainSpec, train_lora, uses_grad_scaler

    a = cfg.adapt
    device = str(next(pipe.transformer.parameters()).device)
    # 3e. The recipe for this kind, on this model's blocks; gradient checkpointing resolved ("auto": by memory).
    num_layers = int(pipe.transformer.config.num_layers)
    tcfg = pipe.transformer.config
    _, nf, _, lh, lw = encoded[0].latents.shape
    seq_len = nf * (lh // tcfg.patch_size) * (lw // tcfg.patch_size) + int(tcfg.max_text_seq_length)
    gc_on, gc_why = decide_gradient_checkpointing(a.gradient_checkpointing, pipe.transformer, seq_len, device,
                                                  cfg.model.dtype)
    exports = _export_steps(cfg, job)
    common = dict(checkpoint_every=a.checkpoint_every, gradient_checkpointing=gc_on, export_steps=exports)
    if job.kind == "motion":
        spec = TrainSpec("motion", a.steps, a.rank, a.lr, a.weight_decay, a.dropout, a.seed,
                         blocks=select_blocks(num_layers, a.motion_blocks),
                         spatial_blocks=select_blocks(num_layers, other_parity(a.motion_blocks)),
                         spatial_skip_prob=a.spatial_skip_prob, debias_beta=a.debias_beta,
                         spatial_frames=a.spatial_frames, **common)
    else:
        spec = TrainSpec("character", a.character_steps, a.rank, a.lr, a.weight_decay, a.dropout, a.seed,
                         blocks=select_blocks(num_layers, a.character_blocks), loss_frame=a.character_loss_frame,
                         **common)

    # 3f. Train (resuming from this recipe's last checkpoint if a previous run was killed); intermediate LoRAs go
    # beside the checkpoints until the adapter is written.
    ckpt_dir = ws.adapters_dir / ".checkpoints" / job.kind / job.id
    export_dir = ckpt_dir / f"exports-{key[:16]}"

    def on_export(step: int, state_dict: dict) -> None:
        save_lora(export_dir / f"step-{step:06d}", state_dict, lora_metadata(spec.rank, spec.blocks))

    with rep.bar(f"{label} train", total=spec.steps) as bar:
        result = train_lora(pipe.transformer, pipe.scheduler, encoded, spec, device=device, dtype=cfg.model.dtype,
                            checkpoint_dir=ckpt_dir, run_key=key, on_export=on_export,
                            on_step=lambda step, total, loss, info: bar.update(step, note=f"loss {loss:.4f}"))
        bar.update(spec.steps)

    # 3g. adapter.json + weights (+ intermediate steps), atomically; then the cross-story cache; then drop the
    # checkpoints.
    tail = result.losses[-10:]
    snapshots = {n: (export_dir / f"step-{n:06d}" / WEIGHTS_NAME).read_bytes() for n in exports}
    record = AdapterRecord(
        kind=job.kind, **_identity(ws, job), blocks=spec.blocks, target_modules=list(TARGET_LINEARS),
        rank=spec.rank, alpha=float(spec.rank), steps=spec.steps, base_model=model_key,
        geometry={**job.geometry.to_dict(), "latent_frames": int(nf)},
        hyperparameters=job.hyperparameters, data_fingerprint=digest(data_fingerprint(job.examples)),
        final_loss=sum(tail) / len(tail), loss_curve=result.losses,
        spatial_loss_curve=result.spatial_losses if job.kind == "motion" else [],
        recipe_key=key, code_version=ADAPT_CODE_VERSION, source="trained", device=device,
        train_seconds=result.seconds, resumed_from=result.resumed_from,
        snapshots=[Snapshot(step=n, weights=f"steps/step-{n:06d}/{WEIGHTS_NAME}",
                            loss=_mean(result.losses[max(0, n - 10):n])) for n in exports],
        training={"gradient_checkpointing": gc_on, "gradient_checkpointing_reason": gc_why,
                  "compute_dtype": cfg.model.dtype, "grad_scaler": uses_grad_scaler(device, cfg.model.dtype),
                  "lora_dtype": "float32", "saved_lora_dropout": 0.0, "export_steps": exports},
    )
    # How long it took and whether it resumed differ from run to run: they go to the stage record (and runs.jsonl),
    # not into the adapter folder, which is byte-identical for the same inputs and seed.
    stored = record.model_copy(update={"train_seconds": None, "resumed_from": None})
    with rep.phase(f"{label} save", ws.rel(out)):
        weights = _write_adapter_dir(out, stored, state_dict=result.state_dict, metadata=result.metadata,
                                     snapshots=snapshots)
        if a.reuse:
            cache_put(key, weights, stored.model_dump_json(indent=2), snapshots)
    clear(ckpt_dir, up_to=ws.adapters_dir / ".checkpoints")
    return record


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


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
                       state_dict: dict | None = None, metadata: dict | None = None,
                       snapshots: dict[int, bytes] | None = None) -> bytes:
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
        files = [tmp / WEIGHTS_NAME]
        for step, blob in sorted((snapshots or {}).items()):
            folder = tmp / "steps" / f"step-{step:06d}"
            folder.mkdir(parents=True)
            (folder / WEIGHTS_NAME).write_bytes(blob)
            files.append(folder / WEIGHTS_NAME)
        (tmp / ADAPTER_JSON).write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
        files.append(tmp / ADAPTER_JSON)
        for f in files:
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
    """Loads (or borrows from a pool) the model once, and only when something must be trained (cache hits need
    no model)."""

    def __init__(self, cfg: Config, pipeline: Any = None, models: Any = None):
        self.cfg, self.pipe, self.models = cfg, pipeline, models

    def get(self, rep: Reporter):
        if self.pipe is None and self.models is not None and self.models.holds(self.cfg.model):
            self.pipe = self.models.pipeline(self.cfg.model)  # loaded already: nothing to show
        if self.pipe is None:
            with rep.phase("load model", self.cfg.model.id):
                if self.models is not None:
                    self.pipe = self.models.pipeline(self.cfg.model)
                else:
                    from ..models.loading import load_pipeline

                    self.pipe = load_pipeline(self.cfg.model)
        return self.pipe


def adapter_keys(ws: Workspace, cfg: Config) -> dict[str, str]:
    """{item ('motion/walking'): cross-story cache key} of every adapter the plan needs, computed as ``run`` does
    (model identity, geometry, recipe, data). ``dreamrunner batch`` trains items with equal keys once."""
    plan = load_plan(ws.require_plan())
    notes: list[str] = []
    jobs = _jobs(ws, cfg, plan, None, None, None, _clip_folders(ws, plan, {}, remember=False), notes)
    model_key = _resolved_model(cfg, None, False, notes) if jobs else {}
    return {job.item: recipe_key(recipe(job.kind, model_key, job.geometry.to_dict(), job.hyperparameters,
                                        data_fingerprint(job.examples))) for job in jobs}


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
