"""Replicas of the published CogVideoX-2b and -5b folders (models/replicas.py) through the production loader.

Each replica is the published layout at tiny widths: model_index.json naming T5Tokenizer and CogVideoXDDIMScheduler,
a tokenizer folder with only spiece.model and its JSON files, the T5 encoder in two 16-bit safetensors shards with
an index, the transformer in float16 (2b, one file) or bfloat16 (5b, two shards), a float32 VAE, the real scheduler
config. They load with ``load_pipeline`` and the presets' own settings (dtype, DPM sampler, CFG, 48 frames), the way a
user's downloaded folder does; one test runs ``dreamrunner run --preset cogvideox-2b`` end to end on one of them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.models.known_configs import KNOWN_SCHEDULER_CONFIGS
from dreamrunner_cli.models.replicas import PUBLISHED_SCHEDULER, TINY_SIZES, build_cogvideox_replica

PRESETS = {"cogvideox-2b": "THUDM/CogVideoX-2b", "cogvideox-5b": "THUDM/CogVideoX-5b"}
TOKENIZER_FILES = {"spiece.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cogvideox-replicas")
    return {preset: build_cogvideox_replica(root / model_id.split("/")[1], model_id)
            for preset, model_id in PRESETS.items()}


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _dtypes(path: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return {str(f.get_slice(k).get_dtype()) for k in f.keys()}


def test_replicas_have_the_published_files_formats_and_dtypes(replicas):
    shards = {f"text_encoder/model-0000{i}-of-00002.safetensors" for i in (1, 2)}
    common = {"model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
              "text_encoder/model.safetensors.index.json", "transformer/config.json", "vae/config.json",
              "vae/diffusion_pytorch_model.safetensors"} | {f"tokenizer/{f}" for f in TOKENIZER_FILES} | shards
    r2, r5 = replicas["cogvideox-2b"], replicas["cogvideox-5b"]
    assert _files(r2) == common | {"transformer/diffusion_pytorch_model.safetensors"}
    assert _files(r5) == common | {"transformer/diffusion_pytorch_model.safetensors.index.json"} | {
        f"transformer/diffusion_pytorch_model-0000{i}-of-00002.safetensors" for i in (1, 2)}
    for folder, transformer_dtype in ((r2, "F16"), (r5, "BF16")):
        index = json.loads((folder / "model_index.json").read_text())
        assert index["tokenizer"] == ["transformers", "T5Tokenizer"]
        assert index["scheduler"] == ["diffusers", "CogVideoXDDIMScheduler"]
        assert index["text_encoder"] == ["transformers", "T5EncoderModel"]
        for weights in folder.glob("transformer/*.safetensors"):
            assert _dtypes(weights) == {transformer_dtype}, weights
        for weights in folder.glob("text_encoder/*.safetensors"):
            assert _dtypes(weights) == {"BF16"}, weights  # 9.52 GB for 4.76 B weights published: 16-bit
        assert _dtypes(folder / "vae/diffusion_pytorch_model.safetensors") == {"F32"}
        te_index = json.loads((folder / "text_encoder/model.safetensors.index.json").read_text())
        assert set(te_index["weight_map"].values()) == {p.split("/")[1] for p in shards}
        tok = json.loads((folder / "tokenizer/tokenizer_config.json").read_text())
        assert tok["tokenizer_class"] == "T5Tokenizer" and tok["extra_ids"] == 100 and tok["model_max_length"] == 226
        added = json.loads((folder / "tokenizer/added_tokens.json").read_text())
        assert len(added) == 100 and max(added.values()) == added["<extra_id_0>"]  # sentinels count down from the end
    vae = {p: json.loads((replicas[p] / "vae/config.json").read_text())["scaling_factor"] for p in PRESETS}
    assert vae == {"cogvideox-2b": 1.15258426, "cogvideox-5b": 0.7}


def test_full_size_components_split_into_the_published_files():
    """At the published sizes (``sizes={}``), the builder's dtypes and shard limits give the published files: the
    sizes of huggingface.co/THUDM/CogVideoX-2b and -5b, in GB. Weights on the meta device: nothing is allocated."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel
    from huggingface_hub import split_torch_state_dict_into_shards
    from transformers import T5Config, T5EncoderModel

    from dreamrunner_cli.models import replicas as rep
    from dreamrunner_cli.models.known_configs import KNOWN_TRANSFORMER_CONFIGS

    def files(model, dtype: str, limit: str) -> list[float]:
        state, seen = {}, set()
        for name, tensor in model.to(getattr(torch, dtype)).state_dict(keep_vars=True).items():
            if id(tensor) not in seen:  # a tied weight (T5's shared embedding) is saved once, as save_pretrained does
                seen.add(id(tensor))
                state[name] = tensor
        split = split_torch_state_dict_into_shards(state, max_shard_size=limit)
        return [round(sum(state[k].nbytes for k in keys) / 1e9, 2) for keys in split.filename_to_tensors.values()]

    with torch.device("meta"):
        te = T5EncoderModel(T5Config(**rep.T5_XXL))
        t2 = CogVideoXTransformer3DModel(**KNOWN_TRANSFORMER_CONFIGS["THUDM/CogVideoX-2b"])
        t5 = CogVideoXTransformer3DModel(**KNOWN_TRANSFORMER_CONFIGS["THUDM/CogVideoX-5b"])
        vae = AutoencoderKLCogVideoX()
    assert files(te, rep.TEXT_ENCODER_DTYPE, rep.PUBLISHED_MAX_SHARD["text_encoder"]) == [4.99, 4.53]
    assert files(t2, rep.PUBLISHED["THUDM/CogVideoX-2b"]["transformer_dtype"], "1000GB") == [3.39]
    assert files(t5, rep.PUBLISHED["THUDM/CogVideoX-5b"]["transformer_dtype"],
                 rep.PUBLISHED_MAX_SHARD["transformer"]) == [9.93, 1.22]
    assert files(vae, rep.VAE_DTYPE, "1000GB") == [0.86]


def test_known_scheduler_configs_are_the_published_ddim_ones(replicas):
    """Issue 20 item 5: both checkpoints ship CogVideoXDDIMScheduler (model_index.json), 2b with snr_shift_scale 3.0
    and 5b with 1.0; known_configs.py recorded the 5b one as the DPM scheduler."""
    snr = {"THUDM/CogVideoX-2b": 3.0, "THUDM/CogVideoX-5b": 1.0}
    for model_id, config in KNOWN_SCHEDULER_CONFIGS.items():
        assert config["_class_name"] == PUBLISHED_SCHEDULER == "CogVideoXDDIMScheduler", model_id
        assert config["snr_shift_scale"] == snr[model_id]
    for folder in replicas.values():  # the replica writes scheduler_config.json from known_configs
        scheduler = json.loads((folder / "scheduler/scheduler_config.json").read_text())
        index = json.loads((folder / "model_index.json").read_text())
        assert scheduler["_class_name"] == index["scheduler"][1]


def test_replica_build_is_deterministic_and_never_half_written(replicas, tmp_path, monkeypatch):
    again = build_cogvideox_replica(tmp_path / "again", "THUDM/CogVideoX-2b")
    for name in _files(again):
        assert (again / name).read_bytes() == (replicas["cogvideox-2b"] / name).read_bytes(), name
    with pytest.raises(FileExistsError):
        build_cogvideox_replica(again, "THUDM/CogVideoX-2b")
    # Sizes are overridable key by key (a GPU run builds full-size random weights with sizes={}).
    sizes = {**TINY_SIZES, "transformer": {**TINY_SIZES["transformer"], "num_layers": 3},
             "text_encoder": {**TINY_SIZES["text_encoder"], "d_model": 48}}
    deeper = build_cogvideox_replica(tmp_path / "deeper", "THUDM/CogVideoX-5b", sizes=sizes)
    transformer = json.loads((deeper / "transformer/config.json").read_text())
    assert (transformer["num_layers"], transformer["text_embed_dim"], transformer["num_attention_heads"]) == (3, 48, 2)
    assert transformer["use_rotary_positional_embeddings"] and transformer["max_text_seq_length"] == 226
    assert json.loads((deeper / "text_encoder/config.json").read_text())["d_model"] == 48
    shutil.rmtree(deeper)
    from dreamrunner_cli.models import replicas as rep

    def fail(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rep, "_save_sharded", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        build_cogvideox_replica(tmp_path / "broken", "THUDM/CogVideoX-5b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]  # no half replica, no temporary folder


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_replica_loads_with_the_presets_settings(replicas, preset):
    """The production loader with the preset's dtype, sampler swap, CFG and frame count (48 → 12 latent frames)."""
    import sentencepiece as spm
    import torch
    from transformers import T5Tokenizer

    from dreamrunner_cli.models.loading import load_pipeline, torch_dtype
    from dreamrunner_cli.sr3ai.pipeline import geometry_of, use_scheduler

    folder = replicas[preset]
    cfg = resolve_config(preset=preset, overrides=[f"model.id={folder}", "model.device=cpu"])
    assert cfg.model.dtype == {"cogvideox-2b": "float16", "cogvideox-5b": "bfloat16"}[preset]
    pipe = load_pipeline(cfg.model)
    # The tokenizer is the published sentencepiece model converted by transformers, not a tokenizer.json.
    assert type(pipe.tokenizer) is T5Tokenizer and Path(pipe.tokenizer.vocab_file) == folder / "tokenizer/spiece.model"
    sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer/spiece.model"))
    text = "the teddy bear walks through the quiet park"
    assert pipe.tokenizer(text).input_ids == sp.encode(text) + [1]  # + </s>
    assert pipe.tokenizer.convert_tokens_to_ids("<extra_id_0>") == len(pipe.tokenizer) - 1
    for name in ("transformer", "text_encoder", "vae"):
        assert getattr(pipe, name).dtype == torch_dtype(cfg.model.dtype), name
    assert type(pipe.scheduler).__name__ == "CogVideoXDDIMScheduler"  # what the folder ships
    used = use_scheduler(pipe, cfg.render.scheduler)
    snr = KNOWN_SCHEDULER_CONFIGS[PRESETS[preset]]["snr_shift_scale"]
    assert used == {"class": "CogVideoXDPMScheduler", "prediction_type": "v_prediction", "snr_shift_scale": snr,
                    "timestep_spacing": "trailing"}
    geom = geometry_of(pipe, 16, 16, cfg.render.num_frames)  # 16 × 16: the smallest size, one token per frame
    assert (cfg.render.num_frames, geom.latent_frames, geom.text_len) == (48, 12, 226)
    assert geom.rope is (preset == "cogvideox-5b")
    batches = []
    pipe.transformer.register_forward_pre_hook(lambda m, args, kw: batches.append(kw["hidden_states"].shape[0]),
                                               with_kwargs=True)
    out = pipe(prompt=text, negative_prompt="", height=16, width=16, num_frames=cfg.render.num_frames,
               num_inference_steps=2, guidance_scale=cfg.render.guidance_scale, use_dynamic_cfg=False,
               generator=torch.Generator().manual_seed(0), output_type="np", max_sequence_length=geom.text_len)
    assert cfg.render.guidance_scale == 9.0 and batches == [2, 2]  # CFG: conditional and unconditional together
    assert out.frames.shape == (1, 48, 16, 16, 3)  # 12 latent frames decode back to the 48 asked for


def test_missing_protobuf_is_named_not_reported_as_missing_weights(replicas):
    """Issue 20 item 2, in a fresh interpreter where protobuf cannot be imported (as on a machine without it):
    transformers itself fails with "tiktoken is required"; the loader and doctor both name protobuf."""
    code = textwrap.dedent(f"""
        import sys
        sys.modules["google.protobuf"] = None  # an interpreter without protobuf installed
        from pathlib import Path
        from transformers import T5Tokenizer
        folder = Path({str(replicas["cogvideox-2b"])!r})
        try:
            T5Tokenizer.from_pretrained(str(folder / "tokenizer"))
            print("RAW-LOADED")
        except ValueError as exc:
            print("RAW:", exc)
        from dreamrunner_cli import doctor
        from dreamrunner_cli.config import resolve_config
        from dreamrunner_cli.errors import DreamrunnerError
        from dreamrunner_cli.models.loading import load_pipeline
        cfg = resolve_config(preset="cogvideox-2b", overrides=[f"model.id={{folder}}", "model.device=cpu"])
        try:
            load_pipeline(cfg.model)
            print("LOADED")
        except DreamrunnerError as exc:
            print("LOADER:", exc.exit_code, exc.message, "|", exc.hint)
        check = doctor.check_packages(cfg)
        print("DOCTOR:", check.exit_code, check.message, "|", check.fix)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if ":" in line}
    assert "tiktoken" in lines["RAW"]  # the real failure path: transformers blames tiktoken
    expected = (f"4 the tokenizer in {replicas['cogvideox-2b'] / 'tokenizer'} needs the `protobuf` package: it ships "
                "a sentencepiece model (spiece.model) without tokenizer.json, which transformers converts on load")
    assert lines["LOADER"].startswith(expected + " | pip install protobuf")
    assert lines["DOCTOR"] == lines["LOADER"]  # doctor says it in the loader's words
    assert "hf download" not in out.stdout and "cannot load" not in out.stdout


def test_local_folder_with_bin_weights_gets_a_local_fix_from_loader_and_doctor(replicas, tmp_path):
    """Issue 20 item 6: .bin weights in a local folder are refused before loading, with a fix for that folder."""
    import torch
    from safetensors.torch import load_file

    from dreamrunner_cli import doctor
    from dreamrunner_cli.errors import InputInvalid
    from dreamrunner_cli.models.loading import load_pipeline

    folder = tmp_path / "CogVideoX-2b"
    shutil.copytree(replicas["cogvideox-2b"], folder)
    weights = folder / "transformer/diffusion_pytorch_model.safetensors"
    torch.save(load_file(str(weights)), folder / "transformer/diffusion_pytorch_model.bin")
    weights.unlink()
    cfg = resolve_config(preset="cogvideox-2b", overrides=[f"model.id={folder}", "model.device=cpu"])
    with pytest.raises(InputInvalid) as err:
        load_pipeline(cfg.model)
    assert err.value.exit_code == 5
    assert "transformer/ holds diffusion_pytorch_model.bin but no diffusion_pytorch_model.safetensors" in \
        err.value.message
    assert "convert those weights to safetensors" in err.value.hint
    assert f"hf download THUDM/CogVideoX-2b --local-dir {folder}" in err.value.hint
    assert f"hf download {folder}" not in err.value.hint
    check = doctor.check_model(doctor.configured_models(cfg)[0])
    assert (check.status, check.exit_code, check.message, check.fix) == \
        ("error", 5, err.value.message, err.value.hint)
    # A shard listed in the index but missing: named, in both.
    (folder / "text_encoder/model-00002-of-00002.safetensors").unlink()
    with pytest.raises(InputInvalid, match=r"text_encoder/ lacks model-00002-of-00002\.safetensors \(listed in "
                                           r"model\.safetensors\.index\.json\)"):
        load_pipeline(cfg.model)


SETTINGS = [  # only what a CPU needs: devices, size, frames, steps, a short story, the demo database
    "model.device=cpu", "retrieve.device=cpu", "render.height=32", "render.width=32", "render.num_frames=9",
    "render.steps=2", "adapt.steps=2", "adapt.character_steps=2", "adapt.checkpoint_every=1",
    "plan.min_scenes=2", "plan.max_scenes=2", "retrieve.db=demo", "retrieve.min_duration_s=1.0",
    "retrieve.min_frames=9", "retrieve.window_s=2.0", "retrieve.threshold=0.0", "retrieve.max_clips=1",
    "retrieve.min_clips=1",
    # The preset's scorers are real models (CLIP ViT-L/14-336, ViCLIP, DINOv2: tests/test_replicas_scorers.py);
    # tiny ones here, the point of this test is the video model's path.
    "retrieve.clip_model=tiny", "retrieve.clip_pretrained=null", "retrieve.video_text_model=tiny",
    "evaluate.clip_model=tiny", "evaluate.clip_pretrained=null", "evaluate.dino_model=tiny",
    "evaluate.video_text_model=tiny",
]


@pytest.mark.slow  # 36 s; make test-minimal runs the same `run --preset cogvideox-2b` on the replica, and .ci/run make test-ci-slow
def test_run_with_the_2b_preset_on_its_replica_end_to_end(replicas, tmp_path, one_thread):
    """`dreamrunner run STORY --preset cogvideox-2b --set model.id=REPLICA` on a CPU: plan, retrieve, LoRA training
    and SR3AI rendering in the preset's float16 with its DPM sampler and CFG 9, story.mp4, the evaluation report;
    the float16-on-CPU warning once."""
    story = tmp_path / "ana.txt"
    story.write_text("Ana walks through the quiet park.\n\nIn the garden Ana waves at her neighbour.\n")
    ws = tmp_path / "ws"
    args = ["run", str(story), "--workspace", str(ws), "--preset", "cogvideox-2b", "--json",
            "--set", f"model.id={replicas['cogvideox-2b']}"]
    for s in SETTINGS:
        args += ["--set", s]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    stages = {s["stage"]: s for s in json.loads(res.stdout)["stages"]}
    ran = {name: [i["item"] for i in s["items"] if i["action"] == "ran"] for name, s in stages.items()}
    assert {"motion/walking", "motion/waving"} <= set(ran["adapt"]) and {"s01", "s02", "story"} <= set(ran["render"])
    assert (ws / "story.mp4").stat().st_size > 0 and (ws / "eval" / "report.html").exists()
    metrics = json.loads((ws / "eval" / "metrics.json").read_text())
    assert metrics["sources"][0]["story"]["scenes"] == 2
    config = json.loads((ws / "config.json").read_text())
    assert (config["preset"], config["model"]["dtype"], config["render"]["guidance_scale"]) == \
        ("cogvideox-2b", "float16", 9.0)
    runs = {r["stage"]: r for r in map(json.loads, (ws / "runs.jsonl").read_text().splitlines())}
    assert runs["render"]["models"] == {"dtype": "float16", "revision": None,
                                        "video_model": str(replicas["cogvideox-2b"])}
    assert runs["render"]["scheduler"] == {"class": "CogVideoXDPMScheduler", "prediction_type": "v_prediction",
                                           "snr_shift_scale": 3.0, "timestep_spacing": "trailing"}
    assert res.stderr.count("model.dtype=float16 on the CPU") == 1
    assert "Loading pipeline components" not in res.stderr  # the libraries' own progress bars stay off
