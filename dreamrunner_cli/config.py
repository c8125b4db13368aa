"""Typed configuration: one pydantic model per stage, presets in ``configs/*.yaml``, dotted ``--set`` overrides.

Resolution (documented in docs/config.md): the workspace's saved ``config.json`` if there is one, else the preset
(``--preset``, default ``cogvideox-2b``); ``--preset`` on the command line starts again from that preset; then every
``--set key=value`` is applied. The resolved config is saved into the workspace. Each stage's fingerprint covers
only the config sections it reads (``Config.section``), so editing ``evaluate.*`` never re-renders.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import InputInvalid, UsageError

DEFAULT_PRESET = "cogvideox-2b"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Section):
    id: str = Field("THUDM/CogVideoX-2b", description="Hugging Face id or local folder of a CogVideoX pipeline; "
                    "'tiny' builds a random tiny model in code (tests and demo only: its output is noise).")
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit).")
    dtype: Literal["float32", "float16", "bfloat16"] = Field("float16", description="Weights and compute dtype.")
    device: str = Field("cuda", description="Torch device. Rendering never falls back to CPU on its own.")


class PlanConfig(_Section):
    llm: str = Field("builtin", description="Planner backend: builtin (offline heuristic), openai, transformers.")
    llm_model: str | None = Field(None, description="Model name for the LLM backend (openai: the server's model "
                                  "name; transformers: a Hub id or a local folder). Default: $DREAMRUNNER_LLM_MODEL.")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server, ending in /v1. "
                                     "Default: $OPENAI_BASE_URL, else https://api.openai.com/v1.")
    llm_api_key_env: str = Field("OPENAI_API_KEY", description="Name of the environment variable holding the API "
                                 "key (the key itself is never stored in the config, workspace, cache or logs).")
    keyframes: int = Field(6, ge=1, description="Key frames per scene (1 per second of video in the paper).")
    min_scenes: int = Field(5, ge=1)
    max_scenes: int = Field(8, ge=1)
    max_motions_per_scene: int = Field(2, ge=1, description="Distinct motions per scene in single-character "
                                       "stories (2 in the paper).")
    max_motions_per_scene_multi: int = Field(4, ge=1, description="Distinct motions per scene in stories with "
                                             "several characters (4 in the paper); used by the LLM planners.")
    min_box_side: float = Field(0.2, ge=0, le=1, description="LLM layouts: smallest box width and height, as a "
                                "fraction of the picture (METHOD.md A.2).")
    merge_overlaps: bool = Field(False, description="Ask the planner for unified captions where boxes overlap.")
    repair_attempts: int = Field(2, ge=0, description="LLM replies sent back with their errors at most this often.")
    temperature: float = Field(0.2, ge=0.0)
    max_tokens: int | None = Field(4096, ge=1, description="Longest LLM reply in tokens (null: the server's "
                                   "default).")
    seed: int | None = Field(0, description="Sampling seed passed to the LLM (null: none).")
    structured_output: Literal["auto", "json_schema", "json_object", "off"] = Field(
        "auto", description="openai backend: ask for replies constrained by the reply's JSON schema (json_schema), "
        "JSON mode (json_object), or neither (off). auto tries json_schema and steps down when the server refuses.")
    timeout_s: float = Field(120.0, gt=0, description="Seconds to wait for one LLM reply, a total deadline "
                             "(openai: the whole reply, retries and their backoff included, however slowly the "
                             "server sends it; transformers: wall-clock generation time, then the reply so far is "
                             "saved). Past it the plan stops with exit code 4.")
    max_reply_bytes: int = Field(4 * 2**20, ge=1024, description="openai backend: largest LLM server response "
                                 "accepted, in bytes (default 4 MiB; a plan reply is ~10 KB); a larger one is refused "
                                 "with exit code 5 while it arrives.")
    max_story_bytes: int = Field(64 * 1024, ge=1, description="Largest story file accepted, in bytes (default 64 KiB, "
                                 "~10,000 words); a larger one is refused with exit code 5 before it is read.")
    repetition_penalty: float = Field(1.05, ge=1.0, description="transformers backend: penalty on tokens already "
                                      "in the prompt or reply (1.0 = none); keeps small models from looping.")
    stop: list[str] = Field(default_factory=list, description="Stop strings: the reply ends at the first one "
                            "(openai: sent as 'stop'; transformers: stop_strings).")
    stop_at_json_end: bool = Field(True, description="transformers backend: stop as soon as the reply holds one "
                                   "complete JSON object, instead of generating on to plan.max_tokens.")
    context_tokens: int | None = Field(None, ge=1, description="The model's context length in tokens, when the "
                                       "backend cannot read it (transformers: the model's config; openai: the "
                                       "server's model list, vLLM/llama.cpp/LM Studio). null = read it; unknown "
                                       "means unchecked.")
    max_retries: int = Field(3, ge=0, description="Retries of one LLM request on 429, 5xx, timeouts and "
                             "connection errors, with exponential backoff.")
    retry_backoff_s: float = Field(1.0, ge=0, description="First backoff in seconds; doubles each retry (a "
                                   "server's Retry-After wins, up to 60 s).")
    llm_device: str = Field("auto", description="transformers backend: torch device (auto = cuda when available, "
                            "else cpu; the device used is recorded with each call).")
    llm_cache: bool = Field(True, description="Reuse cached LLM replies (diskcache under $DREAMRUNNER_CACHE/llm); "
                            "false always asks the model.")


class RetrieveConfig(_Section):
    db: str | None = Field(None, description="Video index folder built by `dreamrunner index build` (or the database "
                           "folder holding index/), or 'demo' for the demo database generated in code. Precedence: "
                           "--db, then $DREAMRUNNER_DB, then this key.")
    backend: Literal["bm25s", "rank_bm25"] = Field(
        "bm25s", description="BM25 backend: bm25s (memory-mapped, any size) or rank_bm25 (in memory, small "
        "databases; same scores).")
    query_template: str = Field("person is {motion}", description="BM25 query; {motion} is the motion description "
                                "(a motion's own 'query' in plan.json wins).")
    bm25_top_k: int = Field(400, ge=1, description="BM25 candidates per motion (paper: 400).")
    min_duration_s: float = Field(2.0, ge=0, description="Attribute filter: minimum candidate duration, seconds.")
    min_frames: int = Field(40, ge=1, description="Attribute filter: minimum candidate frame count.")
    min_aspect: float = Field(0.9, ge=0, description="Attribute filter: minimum width/height.")
    window_s: float = Field(6.0, gt=0, description="Length of the windows candidates are cut into and of the kept "
                            "clips, seconds (6 s = 48 frames at 8 fps, what adapt trains on).")
    segmenter: Literal["fixed", "whole", "person"] = Field(
        "fixed", description="How candidates are cut into windows: fixed (up to max_windows evenly spread windows "
        "of window_s), whole (the candidate's whole span, one window) or person (the paper's person-centred "
        "segments: windows inside the spans where a detector sees one person clearly, cropped around that person; "
        "docs/retrieval.md).")
    detector: str = Field("hustvl/yolos-tiny", description="Person detector of the person segmenter: a Hugging Face "
                          "id or local folder of a YOLOS, RT-DETR or DETR checkpoint (safetensors only), or 'tiny' "
                          "(random, tests). The paper's YOLOv5 is not used (pickled checkpoints).")
    detector_threshold: float = Field(0.5, ge=0, le=1, description="Person segmenter: minimum detector score of a "
                                      "clearly visible person.")
    person_min_area: float = Field(0.05, ge=0, le=1, description="Person segmenter: minimum area of the person's "
                                   "box, as a fraction of the frame.")
    person_fps: float = Field(2.0, gt=0, description="Person segmenter: frames per second the detector looks at.")
    person_crop_aspect: float = Field(1.5, gt=0, description="Person segmenter: width/height of the crop around "
                                      "the person (1.5 = CogVideoX's 720x480; adapt resizes clips without "
                                      "cropping, so match render.width/render.height).")
    max_windows: int = Field(1, ge=1, description="At most this many non-overlapping windows per candidate.")
    max_per_video: int = Field(1, ge=1, description="At most this many kept clips from one source video (rows of "
                               "one video share its path), so the kept clips are not near-duplicates.")
    clip_fps: float = Field(8.0, gt=0, description="Frame rate windows are decoded at for scoring and saved at.")
    clip_max_side: int = Field(720, ge=16, description="Longer side of the saved clips, pixels (never upscaled).")
    score_template: str = Field("the person is {motion}", description="Text the windows are scored against.")
    clip_frames: int = Field(8, ge=1, description="Frames averaged for the CLIP score.")
    threshold: float | None = Field(None, description="Keep clips whose mean of CLIP and video-text score exceeds "
                                    "this. null = the calibrated value for the models (0.2 for CLIP ViT-L/14 + "
                                    "ViCLIP, the paper's); models without one need an explicit value.")
    max_clips: int = Field(20, ge=1, description="Keep at most this many clips per motion.")
    min_clips: int = Field(4, ge=1, description="Keep at least this many (the best ones) even below the threshold.")
    clip_model: str = Field("ViT-L-14-336-quickgelu", description="open_clip model name ('tiny' for tests). "
                            "OpenAI's weights need the -quickgelu name (they were trained with QuickGELU).")
    clip_pretrained: str | None = Field("openai", description="open_clip weights tag or a local weights file.")
    video_text_model: str = Field("viclip:OpenGVLab/ViCLIP", description="Video-text model: viclip:<Hub id, "
                                  "folder or .pth> (the paper's ViCLIP), xclip:<id or folder> (X-CLIP, its own "
                                  "video-conditioned score), or 'tiny' (random tiny ViCLIP).")
    device: str = Field("cuda", description="Torch device for the scorers; a missing GPU is an error, not a "
                        "fallback (set cpu explicitly).")


class AdaptConfig(_Section):
    """Test-time LoRA training (METHOD.md B.2–B.4). Defaults are the authors' recipe."""

    steps: int = Field(500, ge=1, description="Training steps per motion LoRA (authors: max_train_steps 500).")
    character_steps: int = Field(160, ge=1, description="Training steps per character LoRA (authors: checkpoint-160).")
    rank: int = Field(32, ge=1, description="LoRA rank (alpha = rank, so the LoRA scale is 1).")
    lr: float = Field(5e-4, gt=0, description="AdamW learning rate, constant, no warm-up.")
    weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay (betas 0.9/0.999, eps 1e-8).")
    dropout: float = Field(0.1, ge=0, le=1, description="LoRA dropout during training only; saved adapter files "
                           "always say lora_dropout 0.0 (peft would otherwise build active Dropout at inference).")
    spatial_skip_prob: float = Field(0.2, ge=0, le=1, description="Probability of skipping the spatial path "
                                     "(per-clip spatial LoRA, loss on one latent frame) in a motion step; on skipped "
                                     "steps every spatial LoRA is off in the temporal pass.")
    spatial_frames: Literal["all", 1] = Field(
        "all", description="Latent frames fed to the spatial path: all (the authors' CogVideoX port; loss on one "
        "drawn frame) or 1 (MotionDirector: only the drawn frame goes in, 1/F of the tokens, much cheaper).")
    debias_beta: float = Field(1.0, ge=0, description="β of the appearance-debiased loss: φ(u) = √(β²+1)·u − β·u[a].")
    max_clip_seconds: float = Field(6.0, gt=0, description="Only the first seconds of each clip are used; "
                                    "render.num_frames frames are sampled uniformly over that span.")
    character_frames: int | None = Field(None, ge=1, description="Frames of the static video built from each "
                                         "reference image; null = render.num_frames.")
    character_loss_frame: Literal["random", "first"] = Field(
        "random", description="Latent frame of the character loss: random (authors' code) or first (paper's text).")
    checkpoint_every: int = Field(100, ge=1, description="Save a resumable checkpoint (LoRA + optimiser + RNG) "
                                  "every N steps; a killed run resumes from the last one.")
    export_steps: list[int] = Field([120, 300, 360], description="Also write the LoRA as it was after these steps "
                                    "(adapters/<kind>/<id>/steps/step-NNNNNN/), to pick the best step by eye as the "
                                    "authors did (motions at 120, 300 or 360). Steps >= the run's steps are ignored.")
    gradient_checkpointing: bool | Literal["auto"] = Field(
        "auto", description="Recompute block activations in the backward pass (less memory, about a third more "
        "compute). auto: on only when the estimated activation memory does not fit the free device memory.")
    min_clip_frames: int | None = Field(None, ge=2, description="A motion clip must hold at least this many frames "
                                        "within its first max_clip_seconds; null = half of render.num_frames "
                                        "(at least 2). Shorter clips (a 1-frame video, an image renamed .mp4) are "
                                        "rejected before training.")
    max_image_pixels: int = Field(100_000_000, ge=1, description="Largest reference image accepted (width × height); "
                                  "larger ones (or decompression bombs) are rejected before training.")
    motion_blocks: Literal["even", "odd"] = Field("even", description="0-based blocks of the motion (temporal) LoRA; "
                                                  "the per-clip spatial LoRAs take the other parity.")
    character_blocks: Literal["even", "odd"] = Field("odd", description="0-based blocks of character LoRAs.")
    seed: int = Field(0, description="Seed of LoRA init, clip choice, timesteps, noise, anchors and dropout.")
    reuse: bool = Field(True, description="Reuse a trained adapter from the cross-story cache when its full recipe "
                        "(base model, data, hyper-parameters, code version) matches.")


class RenderConfig(_Section):
    height: int = Field(480, ge=16, multiple_of=16, description="Pixels; multiple of 16 (VAE 8 × patch 2).")
    width: int = Field(720, ge=16, multiple_of=16)
    num_frames: int = Field(48, ge=1, description="Pixel frames: 48 (the authors' setting, 12 latent frames) or 49 "
                            "(CogVideoX's native length, 13). Must be ≡ 0 or 1 mod 8, what the VAE decodes exactly.")
    fps: int = Field(8, ge=1)
    steps: int = Field(50, ge=1, description="Denoising steps.")
    guidance_scale: float = Field(9.0, ge=0, description="Classifier-free guidance; 1 disables CFG.")
    scheduler: Literal["dpm", "ddim"] = Field(
        "dpm", description="Sampler, built from the checkpoint's own scheduler config: dpm = CogVideoXDPMScheduler "
        "(the authors' choice), ddim = CogVideoXDDIMScheduler (what CogVideoX-2b ships).")
    seed: int = Field(0, description="Base seed; each scene's seed is derived from it and the scene id.")
    attention: Literal["none", "sdpa", "flex"] = Field(
        "sdpa", description="SR3AI backend: none = one prompt, stock attention; sdpa = dense boolean mask; flex = "
        "FlexAttention block mask.")
    keyframe_policy: Literal["repeat", "interpolate"] = Field(
        "repeat", description="Key frame → latent frame mapping: repeat (authors' code) or interpolate boxes.")
    overlap: Literal["all", "merged"] = Field(
        "all", description="Overlapping boxes: a token sees every covering caption (all) or the merged caption.")
    character_lora_scale: float = Field(1.0, description="Scale of region-masked character (spatial) LoRA deltas.")
    motion_lora_scale: float = Field(1.0, description="Scale of region-masked motion (temporal) LoRA deltas.")
    use_adapters: bool = Field(True, description="Use the adapt stage's LoRAs (false: render without any).")
    preview_every: int = Field(0, ge=0, description="Every N denoising steps, write a preview picture of the scene "
                               "in progress (first, middle and last latent frame, decoded from the still-noisy "
                               "latents) to renders/.preview/<scene>.png, so a bad render can be stopped early; 0 = "
                               "off. Does not change the video (not part of the scene fingerprint).")
    require_adapters: bool = Field(True, description="A region bound to a motion or character that has no trained "
                                   "adapter stops render before any model loads (exit 3); false renders such regions "
                                   "without that LoRA (listed in the result).")

    @model_validator(mode="before")
    @classmethod
    def _one_lora_scale(cls, data: Any) -> Any:
        """Workspaces saved before the two scales existed carry one ``lora_scale`` for both."""
        if isinstance(data, dict) and "lora_scale" in data:
            data = dict(data)
            scale = data.pop("lora_scale")
            data.setdefault("character_lora_scale", scale)
            data.setdefault("motion_lora_scale", scale)
        return data
    cpu_offload: Literal["none", "model", "sequential"] = "none"
    vae_tiling: bool = True
    vae_slicing: bool = True


class EvaluateConfig(_Section):
    """The paper's story metrics (METHOD.md E; docs/evaluation.md). Every key here is part of each scene's
    evaluation fingerprint: changing one re-scores the scenes, never re-renders them."""

    clip_model: str = Field("ViT-L-14-336-quickgelu", description="open_clip model for character consistency and "
                            "text alignment (the paper: CLIP ViT-L/14 @336px, OpenAI's weights, so QuickGELU); "
                            "'tiny' = random tiny CLIP built in code.")
    clip_pretrained: str | None = Field("openai", description="open_clip pretrained tag or a local checkpoint file.")
    dino_model: str = Field("facebook/dinov2-base", description="DINO Hugging Face id or local folder (the "
                            "paper's 'DINOv2-B16', most likely dinov2-base); 'tiny' = random tiny model.")
    dino_arch: Literal["dinov2", "dino"] = Field("dinov2", description="Architecture of dino_model: dinov2 "
                                                 "(Dinov2Model) or dino (DINO v1 ViTModel, e.g. "
                                                 "facebook/dino-vitb16). A checkpoint of the other one is refused.")
    video_text_model: str = Field("viclip:OpenGVLab/ViCLIP", description="Video-text model shared with retrieval: "
                                  "viclip:<source> (the paper's ViCLIP), xclip:<id>, or 'tiny'.")
    device: str | None = Field(None, description="Torch device for the scorers; null = model.device. CUDA "
                               "requested but missing is an error, never a silent CPU fallback.")
    consistency_frames: int = Field(0, ge=0, description="Frames per scene scored against every reference image; "
                                    "0 = every frame (the paper).")
    alignment_frames: int = Field(8, ge=1, description="Frames sampled uniformly for the CLIP text alignment, per "
                                  "scene (full narration) and per event segment (fine-grained); 8 in the paper.")
    video_text_frames: int = Field(8, ge=1, description="Frames sampled uniformly from a clip or event segment "
                                   "for the video-text model.")
    smoothness_frames: int = Field(4, ge=2, description="Frames sampled uniformly per scene for transition "
                                   "smoothness (adjacent pairs); 4 in the paper.")
    fg_split: Literal["midpoint", "plan"] = Field(
        "midpoint", description="Fine-grained alignment cut: midpoint (the paper: equal parts in time, one per "
        "event of the character, i.e. the temporal midpoint for two motions; fair across systems) or plan (the "
        "plan's own key-frame boundaries). Both are computed and reported; this picks the headline fg_* scores.")
    event_key: Literal["motion", "caption"] = Field(
        "motion", description="What makes an event for fine-grained alignment: a run of key frames where a "
        "character's motion id holds (motion), or where its caption holds (caption).")
    strip_tokens: bool = Field(True, description="Remove identifier tokens such as '[v1]' from captions and "
                               "narrations before text encoding (they mean nothing to CLIP).")


class Config(_Section):
    preset: str = DEFAULT_PRESET
    model: ModelConfig = Field(default_factory=ModelConfig)
    plan: PlanConfig = Field(default_factory=PlanConfig)
    retrieve: RetrieveConfig = Field(default_factory=RetrieveConfig)
    adapt: AdaptConfig = Field(default_factory=AdaptConfig)
    render: RenderConfig = Field(default_factory=RenderConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)

    def section(self, *names: str) -> dict[str, Any]:
        """The config keys a stage reads, for its fingerprint."""
        return {n: getattr(self, n).model_dump() for n in names}


# Presets ---------------------------------------------------------------------------------------------------------


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("dreamrunner_cli.configs").iterdir() if p.name.endswith(".yaml"))


def preset_data(name: str) -> dict[str, Any]:
    import yaml

    path = resources.files("dreamrunner_cli.configs") / f"{name}.yaml"
    if not path.is_file():
        raise UsageError(f"unknown preset {name!r}", hint=f"choose one of: {', '.join(preset_names())}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data["preset"] = name
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"render.steps=20"`` → ``(["render", "steps"], 20)``. The value is JSON when it parses (numbers, true/false,
    null, lists, quoted strings), else the bare text (``model.id=/models/cogvideox`` needs no quotes)."""
    if "=" not in text:
        raise UsageError(f"--set {text!r} is not key=value", hint="example: --set render.steps=20")
    key, raw = text.split("=", 1)
    keys = key.strip().split(".")
    if not all(k.strip() for k in keys):
        raise UsageError(f"--set {text!r}: {key.strip()!r} is not a dotted key", hint="example: --set render.steps=20")
    from .bounds import loads_json

    try:
        value = loads_json(raw, f"--set {key.strip()}")  # bounded: a 5,000-digit number is a usage error
    except json.JSONDecodeError:
        value = raw  # bare strings need no quotes: --set model.id=/models/cogvideox
    except InputInvalid as exc:
        raise UsageError(exc.message, hint=exc.hint) from None
    return [k.strip() for k in keys], value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply each ``key=value`` to ``data`` (in place, and returned); a key that names a section's child of a
    value (``render.steps.x=1``) is a usage error."""
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise UsageError(f"--set {text!r}: {k!r} is not a section")
        node[keys[-1]] = value
    return data


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"render": {"steps": 8}}`` → ``{"render.steps": 8}``; lists and scalars are leaves."""
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


MISSING = "(unset)"


def config_diff(old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """Every dotted key whose value differs between two JSON-able configs (or sections): ``(key, old, new)``, sorted
    by key; a key present on one side only has ``MISSING`` on the other."""
    a, b = flatten(old), flatten(new)
    return [(k, a.get(k, MISSING), b.get(k, MISSING)) for k in sorted(a.keys() | b.keys())
            if a.get(k, MISSING) != b.get(k, MISSING)]


def show_value(value: Any) -> str:
    """A value as a user would type it after ``--set key=``: strings bare, everything else as JSON."""
    if value is MISSING or isinstance(value, str):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def describe_changes(changes: list[tuple[str, Any, Any]], prefix: str = "", limit: int | None = None) -> list[str]:
    """``["render.steps 8 → 40", …]`` (each key with ``prefix``); past ``limit`` one last ``"… and N more"``."""
    lines = [f"{prefix}{k} {show_value(a)} → {show_value(b)}" for k, a, b in changes]
    if limit is not None and len(lines) > limit:
        lines = lines[:limit] + [f"… and {len(lines) - limit} more"]
    return lines


def build_config(data: dict[str, Any], source: str, overridden: list[list[str]] | None = None) -> Config:
    """Validate ``data``. An error in a key given with ``--set`` (``overridden``: their dotted keys) is a usage
    error (exit 2); an error in the saved config.json or a preset is invalid input (exit 5)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        from .schema import json_path

        details = [_unknown_key(e) if e["type"] == "extra_forbidden" else f"{json_path(e['loc'])}: {e['msg']}"
                   for e in exc.errors()]

        def from_override(loc: tuple[Any, ...]) -> bool:
            parts = [str(x) for x in loc]  # a key the --set named, or a section containing it
            return bool(parts) and any(parts[:len(k)] == k[:len(parts)] for k in overridden or [])

        if any(from_override(e["loc"]) for e in exc.errors()):
            raise UsageError(f"bad --set value or key ({source})", details=details,
                             hint="see `dreamrunner schema config` for every key, its type and range") from None
        raise InputInvalid(f"invalid configuration from {source}", details=details,
                           hint="see `dreamrunner schema config` for every key") from None


def known_keys() -> list[str]:
    """Every dotted config key (``render.steps``) and section (``render``)."""
    data = Config().model_dump(mode="json")
    return list(data) + list(flatten(data))


def _unknown_key(error: Any) -> str:
    """``render.stepz: unknown key; did you mean render.steps?`` (difflib over the known keys; a misspelt section
    is matched with the keys given under it: ``rendr.steps`` → ``render.steps``)."""
    import difflib

    key = ".".join(str(p) for p in error["loc"])
    section = isinstance(error.get("input"), dict)
    given = [f"{key}.{k}" for k in error["input"]] if section else [key]
    known = [k for k in known_keys() if section or "." in k or "." not in key]  # a leaf matches leaves
    near = list(dict.fromkeys(m for g in given for m in difflib.get_close_matches(g, known, n=1, cutoff=0.6)))
    return f"{key}: unknown key; " + (f"did you mean {' or '.join(near[:3])}?" if near
                                      else "`dreamrunner config show WS` lists every key")


def resolve_config(preset: str | None = None, overrides: list[str] | None = None,
                   saved: Path | None = None) -> Config:
    """Preset or saved workspace config, then overrides (see module docstring)."""
    overrides = overrides or []
    if preset is None and saved is not None and saved.exists():
        from .bounds import read_json

        try:
            data = read_json(saved, what="config file")  # bounded (bounds.py): regular file, size, depth, numbers
        except json.JSONDecodeError as exc:
            raise InputInvalid(f"{saved} is not valid JSON: {exc.msg} at line {exc.lineno}",
                               hint="fix it, or pass --preset NAME to start from a preset") from None
        if not isinstance(data, dict):
            raise InputInvalid(f"{saved} is not a JSON object", hint="pass --preset NAME to start from a preset")
        source = str(saved)
    else:
        if preset is not None and preset not in preset_names():  # a name, never a path to some YAML file
            raise UsageError(f"unknown preset {preset!r}", hint=f"choose one of: {', '.join(preset_names())}")
        data = preset_data(preset or DEFAULT_PRESET)
        source = f"preset {preset or DEFAULT_PRESET!r}"
    data = apply_overrides(data, overrides)
    return build_config(data, source + (f" with --set {' '.join(overrides)}" if overrides else ""),
                        overridden=[parse_override(t)[0] for t in overrides])
