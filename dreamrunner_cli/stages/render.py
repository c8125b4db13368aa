"""Stage 4, render: every scene → renders/<scene>.mp4 with SR3AI, then story.mp4 (METHOD.md C, D).

Items:
- one per scene. Its fingerprint covers everything that changes its pixels: the scene's plan fields, the model and
  render config sections, the seed, the content of the adapters it uses, and the SR3AI code version. Editing one
  scene's key frames re-renders that scene only.
- ``story``: story.mp4, plain concatenation of the scene clips in plan order (re-stitched when any clip changes),
  by stream copy when the clips share codec parameters (no second lossy pass).

Before any model loads, render checks what it can: the frame count (the VAE must give it back exactly), the LoRAs
each scene's regions are bound to (a missing one stops the stage with exit 3, naming the `adapt` command, unless
``render.require_adapters`` is false), and boxes too small to cover a token at the model's geometry (a note each).
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import InputInvalid, MissingUpstream, UnknownItem, listing
from ..progress import Reporter, reporter
from ..schema import NO_MOTION, Plan, Scene, load_plan
from ..workspace import StageRun, Workspace, tree_digest

SR3AI_VERSION = 2  # bump when the mask rule or the render path changes pixels (2: boxes clipped to the frame)
STITCH_VERSION = 2  # 2: stream copy
RENDER_KEYS_WITHOUT_PIXELS = {"preview_every"}  # render.* keys that change no pixel (left out of the fingerprint)


def scene_seed(base: int, scene_id: str) -> int:
    """A stable per-scene seed: independent of scene order, so inserting a scene re-renders nothing else."""
    return int(hashlib.sha256(f"{base}:{scene_id}".encode()).hexdigest()[:8], 16) % (2**31 - 1)


def bound_adapters(plan: Plan, scene: Scene) -> list[tuple[str, str]]:
    """[(kind, id)] of the LoRAs this scene's regions are bound to, by id: every plan character it shows, then every
    motion other than 'none'."""
    characters, motions = [], []
    for kf in scene.keyframes:
        for r in kf.regions + kf.merged:
            if plan.character(r.entity) and ("character", r.entity) not in characters:
                characters.append(("character", r.entity))
            if r.motion != NO_MOTION and ("motion", r.motion) not in motions:
                motions.append(("motion", r.motion))
    return characters + motions


def scene_adapters(ws: Workspace, plan: Plan, scene: Scene,
                   usable: Any = None) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """(trained adapters [(kind, id, folder)], missing ['motion/jumping', …]) of a scene's bound LoRAs. A character
    without reference images has nothing to train on, so it is never missing (it renders from its caption).
    ``usable(kind, folder)`` returns why a trained adapter cannot be used on this model (then it counts as missing),
    or None."""
    found, missing = [], []
    for kind, item_id in bound_adapters(plan, scene):
        folder = ws.adapters_dir / kind / item_id
        if (folder / "adapter.json").exists() and not (usable and usable(kind, folder)):
            found.append((kind, item_id, folder))
        elif kind == "motion" or plan.character(item_id).reference_images or folder.exists():
            missing.append(f"{kind}/{item_id}")
    return found, missing


class AdapterCheck:
    """Whether a trained adapter fits the model about to render: the model identity it was trained on (snapshot
    commit, content digest, block count, dtype) and the blocks this model's placement rule gives. Resolved without
    loading weights; when the identity cannot be resolved here (a hub model not in the cache yet), adapters are
    taken as they are and loading the model says what is missing."""

    def __init__(self, cfg: Config, notes: list[str]):
        from ..adapt.identity import model_identity
        from ..errors import ModelUnavailable

        self.cfg, self.problems = cfg, {}
        try:
            self.identity: dict[str, Any] | None = model_identity(cfg.model)
        except ModelUnavailable as exc:
            self.identity = None
            notes.append(f"adapters not checked against model {cfg.model.id!r}: {exc.message}")

    def __call__(self, kind: str, folder: Path) -> str | None:
        from ..adapt.identity import fits
        from ..adapt.lora import select_blocks
        from ..adapt.record import read_adapter_json

        if self.identity is None:
            return None
        try:
            meta = read_adapter_json(folder)  # bounded: a FIFO or a damaged file is "unreadable", never a hang
            blocks, base = list(meta["blocks"]), dict(meta["base_model"])
        except (OSError, ValueError, KeyError, TypeError, InputInvalid):
            why = "its adapter.json is unreadable or from an older version"
        else:
            parity = self.cfg.adapt.motion_blocks if kind == "motion" else self.cfg.adapt.character_blocks
            expected = select_blocks(int(self.identity["num_layers"]), parity)
            if fits(blocks, expected, base, self.identity):
                return None
            why = "it was trained for another model" if base != self.identity else \
                f"its blocks {blocks} are not this model's {parity} blocks"
        self.problems[f"{kind}/{folder.name}"] = why
        return why


ADAPTER_PIXEL_FIELDS = ("kind", "id", "blocks", "target_modules", "rank", "alpha", "base_model")


def adapter_digest(folder: Path) -> str:
    """What of an adapter folder changes pixels: its weights' tensors (not the file's bytes, whose header order may
    vary) and the placement fields of adapter.json — not when or how it was trained (time, source: trained or from
    the cache), nor the intermediate step exports."""
    from ..adapt.record import read_adapter_json
    from ..workspace import digest, tensor_digest

    try:
        meta = read_adapter_json(folder)  # bounded; AdapterCheck reports an unreadable one
    except (OSError, InputInvalid):
        meta = {}
    weights = folder / str(meta.get("weights", "pytorch_lora_weights.safetensors"))
    try:
        tensors = tensor_digest(weights) if weights.exists() else "missing"
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:  # what a damaged file raises there
        raise InputInvalid(f"adapter {weights} is damaged (truncated, or not a safetensors file): {exc}",
                           hint=rebuild_hint(folder)) from None
    return digest({"adapter": {k: meta.get(k) for k in ADAPTER_PIXEL_FIELDS}, "weights": tensors})


def rebuild_hint(folder: Path) -> str:
    """How to train an adapter of ``WS/adapters/<kind>/<id>`` again."""
    folder = Path(folder)
    kind, item_id = folder.parent.name, folder.name
    if kind in ("motion", "character") and len(folder.parents) > 2:
        return f"train it again with `dreamrunner adapt {folder.parents[2]} --{kind} {item_id} --force`"
    return "train it again with `dreamrunner adapt WS --force` (with --motion ID or --character ID)"


def _train_command(ws: Workspace, cfg: Config) -> str:
    """The command line that trains the missing LoRAs and renders: retrieve, adapt, render (a motion LoRA needs its
    retrieved clips first, so `adapt` alone would fail on a workspace where retrieve never ran)."""
    from . import upstream_command

    return upstream_command(ws, cfg, "render")


def run(
    ws: Workspace,
    cfg: Config,
    *,
    force: bool = False,
    dry_run: bool = False,
    only: list[str] | None = None,
    progress: bool = True,
    models: Any = None,
    stitch: bool = True,
) -> dict[str, Any]:
    """Render the scenes that changed and stitch the story (``stitch=False``: leave story.mp4 alone, as batch does
    for each scene item, running the stitch as an item of its own). ``models``: a ``ModelPool`` to borrow the
    pipeline from (``dreamrunner run`` shares one with adapt; batch workers keep theirs loaded); None loads one for
    this call. A run that fails or is interrupted once rendering has started is logged to runs.jsonl too (its
    finished scenes are already recorded); one refused before that (bad plan, missing adapters, bad frame count)
    changes nothing."""
    sr = StageRun(ws, "render", force=force, dry_run=dry_run)
    sr.started = False
    try:
        with reporter(progress and not dry_run, "render") as rep:
            return _run(ws, cfg, sr, dry_run=dry_run, only=only, rep=rep, models=models, stitch=stitch)
    except BaseException as exc:
        if sr.started:
            sr.close(outcome="interrupted" if isinstance(exc, KeyboardInterrupt) else "error",
                     error=f"{type(exc).__name__}: {exc}"[:300])
        raise


def _run(ws: Workspace, cfg: Config, sr: StageRun, *, dry_run: bool, only: list[str] | None, rep: Reporter,
         models: Any, stitch: bool = True) -> dict[str, Any]:
    from ..models.loading import check_offload
    from .plan import refresh_storyboard

    check_offload(cfg.render.cpu_offload, cfg.model.device)  # CPU offload without a GPU: exit 2, before anything

    # 1. The plan (hand edits included) and its storyboard.
    plan = load_plan(ws.require_plan())
    if not dry_run:
        refresh_storyboard(ws, StageRun(ws, "plan"), plan)
    wanted = set(only or [])
    unknown = wanted - {s.id for s in plan.scenes}
    if unknown:
        raise UnknownItem(f"unknown scene id(s) {listing(sorted(unknown))}",
                          hint=f"scene ids: {listing(s.id for s in plan.scenes)}")

    # 2. Checks that need no model: the frame count, and boxes too small for the token grid.
    from ..sr3ai.geometry import check_num_frames
    from ..sr3ai.regions import vanishing_regions

    check_num_frames(cfg.render.num_frames)
    geom = _geometry_without_weights(cfg)
    if geom is not None:
        for scene in plan.scenes:
            if not wanted or scene.id in wanted:
                sr.notes.extend(f"warning: {w}" for w in vanishing_regions(scene, geom))

    # 3. Decide per scene, before loading any model; say which LoRAs each scene uses and which are missing.
    uses_loras = cfg.render.use_adapters and cfg.render.attention != "none"
    check = AdapterCheck(cfg, sr.notes) if uses_loras and ws.adapters_dir.exists() else None
    todo: list[tuple[Scene, dict, Any, int, list]] = []
    missing_all: dict[str, list[str]] = {}
    for scene in plan.scenes:
        if wanted and scene.id not in wanted:
            continue
        seed = scene_seed(cfg.render.seed, scene.id)
        adapters, missing = scene_adapters(ws, plan, scene, check)
        if not uses_loras:
            unused = [f"{k}/{i}" for k, i, _ in adapters] + missing
            adapters, missing = [], []
            if unused:
                why = "render.use_adapters is false" if not cfg.render.use_adapters else \
                    "render.attention is none (the stock model takes no region LoRAs)"
                sr.notes.append(f"{scene.id}: not using LoRAs {', '.join(unused)}: {why}")
        deps = {
            f"plan.scenes[{scene.id}]": scene.model_dump(mode="json"),
            "config.model": cfg.model.model_dump(),
            "config.render": cfg.render.model_dump(exclude=RENDER_KEYS_WITHOUT_PIXELS),
            "seed": seed,
            "adapters": {f"{k}/{i}": adapter_digest(folder) for k, i, folder in adapters},
            "sr3ai_version": SR3AI_VERSION,
        }
        d = sr.decide(scene.id, deps, [ws.scene_video(scene.id)],
                      info={"loras": [f"{k}/{i}" for k, i, _ in adapters], "missing_loras": missing})
        if missing:
            missing_all[scene.id] = missing
        if d.run:
            todo.append((scene, deps, d, seed, adapters))
    if check and check.problems:
        sr.notes.extend(f"adapter {name} cannot be used: {why}" for name, why in sorted(check.problems.items()))
    if missing_all:
        flat = sorted({m for ms in missing_all.values() for m in ms})
        unbound = "; ".join(f"{sid}: {', '.join(ms)}" for sid, ms in missing_all.items())
        if cfg.render.require_adapters and not dry_run and any(s.id in missing_all for s, *_ in todo):
            stale = "" if not (check and check.problems) else \
                " or do not fit this model (" + "; ".join(f"{n}: {w}" for n, w in sorted(check.problems.items())) + ")"
            raise MissingUpstream(f"scenes are bound to LoRAs that were never trained{stale} ({unbound})",
                                  hint=f"run `{_train_command(ws, cfg)}` (finished items are skipped), or render "
                                  "without them with --set render.require_adapters=false")
        sr.notes.append(f"missing LoRAs ({unbound}): " + (
            f"render stops until `{_train_command(ws, cfg)}` has run" if cfg.render.require_adapters
            else "those regions render without them (render.require_adapters is false)"))

    # 4. Render what changed (the model is loaded only if something must run).
    seeds: dict[str, int] = {}
    if todo and not dry_run:
        if models is None:  # a borrowed pipeline is already on its device
            from ..models.loading import check_stage_device
            check_stage_device(cfg, "render")
        sr.started = True
        seeds = _render_scenes(ws, cfg, sr, todo, rep, models)

    # 5. Stitch the story from every scene clip, in plan order.
    clips = [ws.scene_video(s.id) for s in plan.scenes]
    # A dry run renders nothing: the scenes it would render count as changed clips, so the stitch follows them.
    changing = [s.id for s, *_ in todo] if dry_run else []
    if not stitch:
        pass
    elif changing and all(c.exists() or s.id in changing for s, c in zip(plan.scenes, clips)):
        sr.decide("story", {}, [ws.story_video], force=True)
        if not sr.force:
            sr.items[-1]["reason"] = "never ran" if sr.records.get("render", "story") is None else \
                f"renders would change ({', '.join(changing)})"
    elif all(c.exists() for c in clips):
        deps = {"renders": {ws.rel(c): tree_digest(c) for c in clips}, "fps": cfg.render.fps,
                "stitch_version": STITCH_VERSION}
        d = sr.decide("story", deps, [ws.story_video])
        if d.run and not dry_run:
            from ..video import concat_videos

            with rep.phase("stitch story.mp4", f"({len(clips)} scenes)"):
                try:
                    method = concat_videos(clips, ws.story_video, cfg.render.fps)
                except InputInvalid as exc:  # a damaged clip (e.g. cut short by an older version on a full disk)
                    bad = [s.id for s, c in zip(plan.scenes, clips) if str(c) in exc.message]
                    if bad:
                        exc.hint = f"render that scene again: `dreamrunner render {ws.root} --scene {bad[0]} --force`"
                    raise
            sr.finish(d, deps, [ws.story_video], extra={"stitch": method})
    else:
        missing = [s.id for s, c in zip(plan.scenes, clips) if not c.exists()]
        sr.notes.append(f"story.mp4 not stitched: scenes {missing} not rendered yet")

    from ..models.loading import model_ids

    sr.close(outcome="ok", seeds=seeds, models=model_ids(cfg.model), attention=cfg.render.attention)
    return sr.result(story=str(ws.story_video) if ws.story_video.exists() else None)


def _render_scenes(ws: Workspace, cfg: Config, sr: StageRun, todo: list, rep: Reporter,
                   models: Any = None) -> dict[str, int]:
    from ..models.loading import load_pipeline

    shared = models is not None and cfg.render.cpu_offload == "none"
    # A pipeline the pool already holds loads nothing: no phase for it.
    with contextlib.nullcontext() if shared and models.holds(cfg.model) else rep.phase("load model", cfg.model.id):
        if shared:
            pipe = models.pipeline(cfg.model)  # shared: left as found (see _borrowed)
        else:  # CPU offload installs hooks that cannot be undone: such a pipeline is this call's alone
            pipe = load_pipeline(cfg.model, place=cfg.render.cpu_offload == "none")
    with _borrowed(pipe):
        return _render_with(pipe, ws, cfg, sr, todo, rep)


@contextlib.contextmanager
def _borrowed(pipe):
    """Give the pipeline back as it was: no LoRA adapters, its own scheduler, VAE tiling and slicing off."""
    scheduler = pipe.scheduler
    try:
        yield
    finally:
        if getattr(pipe.transformer, "peft_config", None):
            pipe.unload_lora_weights()  # removes the LoRA layers themselves, not only their weights
        pipe.scheduler = scheduler
        pipe.vae.disable_tiling()
        pipe.vae.disable_slicing()


def _render_with(pipe, ws: Workspace, cfg: Config, sr: StageRun, todo: list, rep: Reporter) -> dict[str, int]:
    import torch

    from ..sr3ai.lora import LoraNotApplied, adapter_name
    from ..sr3ai.pipeline import geometry_of, render_scene, use_scheduler
    from ..sr3ai.regions import scene_regions
    from ..video import write_video

    _memory_options(pipe, cfg)
    scheduler = use_scheduler(pipe, cfg.render.scheduler)
    sr.info["scheduler"] = scheduler
    geom = geometry_of(pipe, cfg.render.height, cfg.render.width, cfg.render.num_frames)
    loaded: set[str] = set()
    seeds: dict[str, int] = {}
    # The whole render (several scenes): scenes done k/N with the ETA at the rate so far, a line after each scene.
    overall = (rep if len(todo) > 1 else reporter(False)).bar("scenes rendered", total=len(todo), every=True)
    for n, (scene, deps, d, seed, adapters) in enumerate(todo, 1):
        label = f"scene {n}/{len(todo)} {scene.id}"
        # 1. Only this scene's adapters stay loaded (region-masked LoRA needs them in peft, disabled).
        needed = {adapter_name(k, i): folder for k, i, folder in adapters}
        stale = sorted(loaded - set(needed))
        if stale:
            pipe.delete_adapters(stale)
            loaded -= set(stale)
        new = [name for name in needed if name not in loaded]
        if new:
            with rep.phase(f"{label} load LoRAs", ", ".join(new)):
                for name in new:
                    _load_adapter(pipe, name, needed[name])
                    loaded.add(name)
        # 2. Regions from the plan at the model's geometry, then the SR3AI render.
        regions = None if cfg.render.attention == "none" else scene_regions(
            scene, geom, cfg.render.keyframe_policy, cfg.render.overlap)
        try:
            with torch.inference_mode(), _SceneProgress(rep, pipe, label, cfg.render.steps) as watch:
                result = render_scene(pipe, scene, cfg.render, seed, regions, [(k, i) for k, i, _ in adapters],
                                      on_step=watch.step,
                                      on_latents=_previewer(pipe, ws, scene.id, cfg.render.preview_every))
        except LoraNotApplied as exc:  # loaded, but changes nothing: never render on without it (exit 5)
            folder = needed[exc.adapter]
            raise InputInvalid(f"adapter {_weights_file(folder) or folder} does not apply to this model: the LoRA "
                               f"{exc.reason}", hint=rebuild_hint(folder)) from None
        # 3. Outputs first, then the record.
        with rep.phase(f"{label} encode mp4"):
            write_video(ws.scene_video(scene.id), result.frames, cfg.render.fps)
        sr.finish(d, deps, [ws.scene_video(scene.id)],
                  extra={"seed": seed, "prompts": result.prompts, "adapters": result.adapters,
                         "scheduler": scheduler})
        seeds[scene.id] = seed
        overall.advance()
    overall.end()
    return seeds


class _SceneProgress:
    """The phases of one ``render_scene`` call, seen from outside sr3ai/ (whose pipeline call does all three):
    prompts are encoded until the transformer's first forward pass, each denoising step ends in ``on_step``, and
    what follows the last step is the VAE decode (diffusers decodes inside the pipeline call, output_type="np")."""

    def __init__(self, rep: Reporter, pipe, label: str, steps: int):
        self.rep, self.label, self.steps = rep, label, steps
        self.bar: Any = None
        self.current = rep.phase(f"{label} encode prompts")
        self.hook = pipe.transformer.register_forward_pre_hook(self._forward) if rep.enabled else None

    def _forward(self, module, args) -> None:
        if self.bar is None:  # the first denoising step starts: the prompts are encoded
            self.current.end()
            self.bar = self.rep.bar(f"{self.label} denoise", total=self.steps)

    def step(self) -> None:
        if self.bar is None:
            return
        self.bar.advance()
        if self.bar.completed == self.steps:
            self.bar.end()
            self.current = self.rep.phase(f"{self.label} VAE decode")

    def __enter__(self) -> _SceneProgress:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self.hook is not None:
            self.hook.remove()
        if self.bar is not None:
            self.bar.end(failed=exc_type is not None)
        self.current.end(failed=exc_type is not None)


def _previewer(pipe, ws: Workspace, scene_id: str, every: int):
    """``on_latents`` for render_scene: every ``every`` steps, renders/.preview/<scene>.png (atomically)."""
    if every <= 0:
        return None

    def write(step: int, latents) -> None:
        if step % every:
            return
        import numpy as np
        from PIL import Image

        from ..sr3ai.pipeline import preview_frames
        from ..workspace import atomic_path

        strip = np.concatenate(list(preview_frames(pipe, latents)), axis=1)  # (H, 3·W, 3)
        with atomic_path(ws.renders_dir / ".preview" / f"{scene_id}.png") as tmp:
            Image.fromarray(strip).save(tmp, format="PNG")

    return write


def _load_adapter(pipe, name: str, folder: Path) -> None:
    """A LoRA written by the adapt stage (diffusers format, safetensors) → peft adapter ``name``.

    peft builds fresh ``lora_dropout`` modules in training mode when a file's metadata asks for dropout (older
    adapters say 0.1): the transformer goes back to eval mode after every load, so no module samples noise.
    """
    from ..adapt.record import read_adapter_json

    meta = read_adapter_json(folder)
    weights = _weights_file(folder)
    if weights is None:
        raise InputInvalid(f"adapter folder {folder} has no .safetensors file",
                           hint=f"re-run `dreamrunner adapt` for {meta.get('kind')} {meta.get('id')}")
    from safetensors import SafetensorError

    try:
        pipe.load_lora_weights(str(folder), weight_name=weights.name, adapter_name=name)
    except SafetensorError as exc:
        if "(os error" in str(exc):
            raise  # reading it failed (EIO …): the error boundary maps that to exit 8
        raise InputInvalid(f"adapter {weights} is damaged: {exc}", hint=rebuild_hint(folder)) from None
    except (ValueError, KeyError, IndexError) as exc:  # not LoRA tensors; no module of the model matched
        raise _not_for_this_model(weights, exc) from None
    except RuntimeError as exc:  # torch's load_state_dict: "size mismatch for …" (another model's shapes)
        if "size mismatch" not in str(exc) and "state_dict" not in str(exc):
            raise  # e.g. CUDA out of memory: not the file's fault
        raise _not_for_this_model(weights, exc) from None
    _check_loaded_whole(pipe, name, weights)
    pipe.transformer.eval()


def _check_loaded_whole(pipe, name: str, weights: Path) -> None:
    """Exit 5 unless every tensor of ``weights`` landed in a LoRA layer and every layer got one: diffusers drops
    the tensors of modules the model lacks (a LoRA for more blocks, renamed modules) with a log line only, and the
    scene would render with part of the LoRA."""
    from safetensors import safe_open

    from ..sr3ai.lora import unloaded_tensors

    with safe_open(str(weights), framework="pt") as f:
        keys = list(f.keys())
    dropped, empty = unloaded_tensors(pipe.transformer, name, keys)
    if len(dropped) == len(keys) and not empty:
        return  # none of it loaded: check_applies says so (the LoRA "is in no layer") for the scene that uses it
    if dropped or empty:
        said = []
        if dropped:
            said.append(f"{len(dropped)} of its {len(keys)} tensors match no module of the transformer "
                        f"({', '.join(dropped[:3])}{', …' if len(dropped) > 3 else ''})")
        if empty:
            said.append(f"{len(empty)} LoRA tensors it declares are not in the file "
                        f"({', '.join(empty[:3])}{', …' if len(empty) > 3 else ''})")
        raise InputInvalid(f"adapter {weights} does not fit this model: {'; '.join(said)}; rendering would use "
                           "part of the LoRA", hint=rebuild_hint(weights.parent)
                           + " (for the model in config.json's model.id)")


def _weights_file(folder: Path) -> Path | None:
    """The safetensors file ``_load_adapter`` loads from an adapter folder (the first by name)."""
    found = sorted(Path(folder).glob("*.safetensors"))
    return found[0] if found else None


def _not_for_this_model(weights: Path, exc: Exception) -> InputInvalid:
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    mismatch = next((line.strip() for line in lines if "size mismatch" in line), None)  # the first one says it
    return InputInvalid(f"adapter {weights} does not fit this model: {mismatch or detail}",
                        hint=rebuild_hint(weights.parent) + " (for the model in config.json's model.id)")


def _geometry_without_weights(cfg: Config):
    """The render geometry from the model's config alone (known ids, tiny, or a local folder's config.json);
    None when it cannot be read without loading (then the checks that need it wait for the model)."""
    from ..errors import DreamrunnerError
    from ..sr3ai.geometry_source import geometry_for

    try:
        return geometry_for(cfg.model.id, cfg.render.height, cfg.render.width, cfg.render.num_frames)
    except DreamrunnerError:
        return None


def _memory_options(pipe, cfg: Config) -> None:
    r = cfg.render
    if r.cpu_offload == "model":
        pipe.enable_model_cpu_offload(device=cfg.model.device)
    elif r.cpu_offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=cfg.model.device)
    if r.vae_tiling:
        pipe.vae.enable_tiling()
    if r.vae_slicing:
        pipe.vae.enable_slicing()
