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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    llm_model: str | None = Field(None, description="Model name for the LLM backend.")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server.")
    keyframes: int = Field(6, ge=1, description="Key frames per scene (1 per second of video in the paper).")
    min_scenes: int = Field(5, ge=1)
    max_scenes: int = Field(8, ge=1)
    max_motions_per_scene: int = Field(2, ge=1, description="2 for single-character stories, 4 for multi (paper).")
    merge_overlaps: bool = Field(False, description="Ask the planner for unified captions where boxes overlap.")
    repair_attempts: int = Field(2, ge=0, description="LLM replies sent back with their errors at most this often.")
    temperature: float = Field(0.2, ge=0.0)
    timeout_s: float = Field(120.0, gt=0)


class RetrieveConfig(_Section):
    db: str | None = Field(None, description="Index folder built by `dreamrunner index build` (or $DREAMRUNNER_DB).")
    query_template: str = Field("person is {motion}", description="BM25 query; {motion} is the motion description.")
    bm25_top_k: int = Field(400, ge=1)
    min_duration_s: float = Field(2.0, ge=0)
    min_frames: int = Field(40, ge=1)
    min_aspect: float = Field(0.9, ge=0, description="Minimum width/height.")
    score_template: str = Field("the person is {motion}")
    clip_frames: int = Field(8, ge=1, description="Frames averaged for the CLIP score.")
    threshold: float = Field(0.2, description="Keep clips whose mean of CLIP and video-text score exceeds this.")
    max_clips: int = Field(20, ge=1)
    min_clips: int = Field(4, ge=1)
    clip_model: str = Field("ViT-L-14-336", description="open_clip model name ('tiny' for tests).")
    clip_pretrained: str | None = Field("openai")
    video_text_model: str = Field("microsoft/xclip-base-patch32", description="X-CLIP id or path ('tiny').")


class AdaptConfig(_Section):
    steps: int = Field(500, ge=1, description="Training steps per motion LoRA.")
    character_steps: int = Field(160, ge=1, description="Training steps per character LoRA.")
    rank: int = Field(32, ge=1)
    lr: float = Field(5e-4, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    dropout: float = Field(0.1, ge=0, le=1)
    spatial_skip_prob: float = Field(0.2, ge=0, le=1, description="Probability of skipping the spatial path.")
    debias_beta: float = Field(1.0, ge=0, description="β of the appearance-debiased loss.")
    checkpoint_every: int = Field(100, ge=1)
    gradient_checkpointing: bool = True
    motion_blocks: Literal["even", "odd"] = Field("even", description="0-based blocks of the motion (temporal) LoRA.")
    character_blocks: Literal["even", "odd"] = Field("odd", description="0-based blocks of character LoRAs.")
    seed: int = 0


class RenderConfig(_Section):
    height: int = Field(480, ge=16, multiple_of=16, description="Pixels; multiple of 16 (VAE 8 × patch 2).")
    width: int = Field(720, ge=16, multiple_of=16)
    num_frames: int = Field(49, ge=1, description="Pixel frames; 48 (paper) or 49 (CogVideoX default).")
    fps: int = Field(8, ge=1)
    steps: int = Field(50, ge=1, description="Denoising steps.")
    guidance_scale: float = Field(9.0, ge=0, description="Classifier-free guidance; 1 disables CFG.")
    seed: int = Field(0, description="Base seed; each scene's seed is derived from it and the scene id.")
    attention: Literal["none", "sdpa", "flex"] = Field(
        "sdpa", description="SR3AI backend: none = one prompt, stock attention; sdpa = dense boolean mask; flex = "
        "FlexAttention block mask.")
    keyframe_policy: Literal["repeat", "interpolate"] = Field(
        "repeat", description="Key frame → latent frame mapping: repeat (authors' code) or interpolate boxes.")
    overlap: Literal["all", "merged"] = Field(
        "all", description="Overlapping boxes: a token sees every covering caption (all) or the merged caption.")
    lora_scale: float = Field(1.0, description="Scale of region-masked LoRA deltas.")
    use_adapters: bool = Field(True, description="Load the adapt stage's LoRAs when present.")
    cpu_offload: Literal["none", "model", "sequential"] = "none"
    vae_tiling: bool = True
    vae_slicing: bool = True


class EvaluateConfig(_Section):
    clip_model: str = Field("ViT-L-14-336", description="open_clip model for consistency and alignment.")
    clip_pretrained: str | None = "openai"
    dino_model: str = Field("facebook/dinov2-base", description="DINOv2 id or path.")
    video_text_model: str = Field("microsoft/xclip-base-patch32")
    alignment_frames: int = 8
    smoothness_frames: int = 4


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
    if "=" not in text:
        raise UsageError(f"--set {text!r} is not key=value", hint="example: --set render.steps=20")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # bare strings need no quotes: --set model.id=/models/cogvideox
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise UsageError(f"--set {text!r}: {k!r} is not a section")
        node[keys[-1]] = value
    return data


def build_config(data: dict[str, Any], source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        from .schema import json_path

        details = [f"{json_path(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InputInvalid(f"invalid configuration from {source}", details=details,
                           hint="see `dreamrunner schema config` for every key") from None


def resolve_config(preset: str | None = None, overrides: list[str] | None = None,
                   saved: Path | None = None) -> Config:
    """Preset or saved workspace config, then overrides (see module docstring)."""
    overrides = overrides or []
    if preset is None and saved is not None and saved.exists():
        try:
            data = json.loads(saved.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputInvalid(f"{saved} is not valid JSON: {exc.msg} at line {exc.lineno}",
                               hint="fix it, or pass --preset NAME to start from a preset") from None
        source = str(saved)
    else:
        data = preset_data(preset or DEFAULT_PRESET)
        source = f"preset {preset or DEFAULT_PRESET!r}"
    data = apply_overrides(data, overrides)
    return build_config(data, source + (f" with --set {' '.join(overrides)}" if overrides else ""))
