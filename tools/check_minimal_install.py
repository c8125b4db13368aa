"""The minimal-install check (`make test-minimal`): base dependencies only, the published checkpoints' layouts.

A user's `pip install dreamrunner` brings the base dependencies and nothing else. The development venv also holds the
`dev` and `batch` extras, which pull in packages (Ray brings protobuf) that can hide a missing base dependency from
every test. This script runs in `.venv-base` (requirements/base.txt alone) and goes down the production paths:

1. it refuses to run where an extra is installed (then it would prove nothing);
2. replicas of CogVideoX-2b and -5b (models/replicas.py: the published files, formats, dtypes and tokenizer folder at
   tiny sizes) load through `load_pipeline` with their preset's settings and render two steps;
3. replicas of every scorer the presets name (models/scorer_replicas.py) load through the production loaders;
4. `dreamrunner run STORY --preset cogvideox-2b` runs end to end on the 2b replica and the scorer replicas, in a
   subprocess of the installed console script, with only the overrides a CPU needs.

Exit 0 when every check passes; otherwise 1, after printing each failure. Random weights: nothing here is a
meaningful video or score.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

EXTRAS = ("pytest", "xdist", "jsonschema", "playwright", "ray", "pyarrow")  # dev, batch, parquet: none may be importable here
PRESETS = {"cogvideox-2b": "THUDM/CogVideoX-2b", "cogvideox-5b": "THUDM/CogVideoX-5b"}
# What a CPU needs, and a two-scene story kept small (the same overrides as tests/test_replicas_cogvideox.py).
CPU_SETTINGS = [
    "model.device=cpu", "retrieve.device=cpu", "render.height=32", "render.width=32", "render.num_frames=9",
    "render.steps=2", "adapt.steps=2", "adapt.character_steps=2", "adapt.checkpoint_every=1",
    "plan.min_scenes=2", "plan.max_scenes=2", "retrieve.db=demo", "retrieve.min_duration_s=1.0",
    "retrieve.min_frames=9", "retrieve.window_s=2.0", "retrieve.max_clips=1", "retrieve.min_clips=1",
]
STORY = "Ana walks through the quiet park.\n\nIn the garden Ana waves at her neighbour.\n"

failures: list[str] = []


def check(name: str, fn) -> None:
    """Run one check now, print its line, record a failure (with the traceback's last lines) instead of stopping."""
    t0 = time.monotonic()
    try:
        detail = fn()
        print(f"ok    {name} ({time.monotonic() - t0:.1f} s){': ' + detail if detail else ''}", flush=True)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then the script exits 1
        failures.append(name)
        tail = "".join(traceback.format_exception(exc)[-3:]).rstrip()
        print(f"FAIL  {name}: {type(exc).__name__}: {exc}\n{tail}", flush=True)


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    extras = [m for m in EXTRAS if importlib.util.find_spec(m) is not None]
    if extras and "--allow-extras" not in sys.argv:
        print(f"refusing to run: {', '.join(extras)} can be imported here, so this is not a base-only install "
              "(run `make test-minimal`, which uses .venv-base)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="dreamrunner-minimal-"))
    os.environ["DREAMRUNNER_CACHE"] = str(root / "cache")
    try:
        run_checks(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "minimal install: every check passed")
    return 1 if failures else 0


def run_checks(root: Path) -> None:
    import torch

    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.models.replicas import build_cogvideox_replica
    from dreamrunner_cli.models.scorer_replicas import replica_settings, write_scorer_replicas

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    videos = {preset: root / preset for preset in PRESETS}

    def video_model(preset: str, model_id: str) -> str:
        from dreamrunner_cli.models.loading import load_pipeline, torch_dtype

        build_cogvideox_replica(videos[preset], model_id)
        cfg = resolve_config(preset=preset, overrides=[f"model.id={videos[preset]}", "model.device=cpu"])
        pipe = load_pipeline(cfg.model)
        assert type(pipe.tokenizer).__name__ == "T5Tokenizer", type(pipe.tokenizer)
        assert pipe.transformer.dtype == torch_dtype(cfg.model.dtype), pipe.transformer.dtype
        out = pipe(prompt="a teddy bear walks", height=16, width=16, num_frames=9, num_inference_steps=2,
                   guidance_scale=cfg.render.guidance_scale, generator=torch.Generator().manual_seed(0),
                   output_type="np", max_sequence_length=pipe.transformer.config.max_text_seq_length)
        assert out.frames.shape == (1, 9, 16, 16, 3), out.frames.shape
        return f"{type(pipe.tokenizer).__name__}, {cfg.model.dtype}"

    scorer_folders: dict = {}

    def scorers() -> str:
        import numpy as np

        from dreamrunner_cli.models.detector import load_person_detector
        from dreamrunner_cli.models.dino import load_dino
        from dreamrunner_cli.models.scorers import load_clip_scorer, load_video_text_scorer

        scorer_folders.update(write_scorer_replicas(root / "scorers"))
        settings = replica_settings(scorer_folders)
        frames = list(np.random.default_rng(0).integers(0, 255, (8, 64, 64, 3), dtype=np.uint8))
        clip = load_clip_scorer(settings["evaluate.clip_model"], settings["evaluate.clip_pretrained"])
        assert clip.encode_images(frames[:2]).shape[0] == 2
        dino = load_dino(settings["evaluate.dino_model"], arch=settings["evaluate.dino_arch"])
        assert dino is not None
        viclip = load_video_text_scorer(settings["evaluate.video_text_model"])
        assert viclip is not None
        xclip_id = next(repo for repo in scorer_folders if "xclip" in repo)
        assert load_video_text_scorer(str(scorer_folders[xclip_id])) is not None
        assert load_person_detector(settings["retrieve.detector"]) is not None
        return ", ".join(sorted(scorer_folders))

    def run_story() -> str:
        if not (videos["cogvideox-2b"].exists() and scorer_folders):
            raise RuntimeError("skipped: an earlier check failed")
        story = root / "ana.txt"
        story.write_text(STORY, encoding="utf-8")
        ws = root / "ws"
        sets = CPU_SETTINGS + [f"model.id={videos['cogvideox-2b']}"]
        sets += [f"{k}={'null' if v is None else v}" for k, v in replica_settings(scorer_folders).items()]
        sets += ["retrieve.threshold=0.0"]  # random CLIP weights: the gate would keep nothing
        exe = Path(sys.executable).with_name("dreamrunner")
        cmd = [str(exe), "run", str(story), "--workspace", str(ws), "--preset", "cogvideox-2b", "--json"]
        for s in sets:
            cmd += ["--set", s]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-1500:]}")
        result = json.loads(proc.stdout)
        assert (ws / "story.mp4").stat().st_size > 0 and (ws / "eval" / "report.html").exists()
        return f"{len(result['stages'])} stages, story.mp4 {(ws / 'story.mp4').stat().st_size} bytes"

    for preset, model_id in PRESETS.items():
        check(f"{preset}: replica loads with the preset's settings and renders 2 steps",
              lambda: video_model(preset, model_id))
    check("scorer replicas load through the production loaders", scorers)
    check("dreamrunner run STORY --preset cogvideox-2b on the replicas, end to end", run_story)


if __name__ == "__main__":
    sys.exit(main())
