"""Fast in-process tests of the adapt stage's decisions, cache reuse, records and messages (stages/adapt.py).

Most tests run the stage with a fake pipeline, a fake encoder and a fake trainer (``train_lora`` replaced), so they
take milliseconds and pin exact values: the training recipe handed to the trainer, adapter.json, the stage records,
the cross-story cache. One test trains for real with the tiny model (1–2 steps).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from adapt_fixtures import clips_folder, make_workspace, write_image

from dreamrunner_cli.adapt import encode, identity, lora, memory, trainer
from dreamrunner_cli.adapt.encode import Geometry
from dreamrunner_cli.adapt.record import AdapterRecord
from dreamrunner_cli.adapt.reuse import ADAPT_CODE_VERSION, cache_get, cache_put, recipe, recipe_key
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid, MissingUpstream, ModelUnavailable, UsageError
from dreamrunner_cli.schema import load_plan
from dreamrunner_cli.stages import adapt as stage
from dreamrunner_cli.workspace import Records, Workspace

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_MODEL = {"source": "builtin", "id": "tiny",
              "transformer_config": "9a486eb2ce3fab2e5d556473f63068ab25a52d10758476e0d79bae3324000f82",
              "num_layers": 2, "dtype": "float32"}
MOTION_HP = {"steps": 8, "rank": 4, "lr": 0.0005, "weight_decay": 0.0001, "dropout": 0.1, "spatial_skip_prob": 0.2,
             "spatial_frames": "all", "debias_beta": 1.0, "motion_blocks": "even", "seed": 0}
CHAR_HP = {"steps": 6, "rank": 4, "lr": 0.0005, "weight_decay": 0.0001, "dropout": 0.1, "character_blocks": "odd",
           "seed": 0, "loss_frame": "random"}


def cfg(*overrides: str):
    return resolve_config(preset="tiny", overrides=list(overrides))


def strip_times(lines: list[str]) -> list[str]:
    return [re.sub(r" \(\d+\.\d s(, ETA \d+\.\d s)?\)$| … \d+\.\d s$", "", x) for x in lines]


# Fakes: pipeline, pool, encoder, decoder, trainer, LoRA writer ------------------------------------------------------


class FakeTransformer(torch.nn.Module):
    def __init__(self, num_layers: int = 2):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.config = SimpleNamespace(num_layers=num_layers, patch_size=2, max_text_seq_length=7,
                                      num_attention_heads=2, attention_head_dim=4)


def fake_pipe(num_layers: int = 2):
    return SimpleNamespace(transformer=FakeTransformer(num_layers), scheduler="the-scheduler")


class FakePool:
    def __init__(self, pipe=None, holds=False):
        self.pipe = pipe or fake_pipe()
        self.held = holds
        self.asked: list[str] = []

    def holds(self, model):
        self.asked.append(f"holds {model.id}")
        return self.held

    def pipeline(self, model):
        self.asked.append(f"pipeline {model.id}")
        return self.pipe


@pytest.fixture
def fakes(monkeypatch):
    """Decoding, encoding, training and LoRA writing replaced; every call recorded. ``bad`` maps a file name to the
    InputInvalid its decoding raises."""
    st = SimpleNamespace(decoded=[], encoded=[], trained=[], saved=[], bad={}, gc=[], fail_train=None, shapes={},
                         gc_on=False, encode_args=[], save_paths=[], gc_transformers=[])

    def decode_example(ex, geometry, limits=None):
        st.decoded.append((ex.path.name, geometry.num_frames, limits))
        if ex.path.name in st.bad:
            raise st.bad[ex.path.name]
        return torch.zeros(geometry.num_frames, 3, 2, 2)

    def encode_examples(pipe, examples, geometry, model_key, *, pixels=None, limits=None, on_example=None):
        st.encoded.append(([e.path.name for e in examples], geometry, dict(pixels or {}) and len(pixels), limits))
        st.encode_args.append((pipe, model_key, set(pixels or {})))
        out = []
        for e in examples:
            if on_example:
                on_example()
            out.append(encode.Encoded(e, torch.zeros(st.shapes.get(e.path.name, (1, 3, 4, 9, 7))),
                                      torch.zeros(1, 7, 4)))
        return out

    def train_lora(transformer, scheduler, data, spec, *, device="cpu", dtype="float32", checkpoint_dir=None,
                   run_key="", on_step=None, on_export=None):
        st.trained.append(SimpleNamespace(spec=spec, device=device, dtype=dtype, checkpoint_dir=checkpoint_dir,
                                          run_key=run_key, data=[d.example.path.name for d in data],
                                          scheduler=scheduler, transformer=transformer,
                                          moved=getattr(getattr(st, "pipe", None), "moves", None) and
                                          list(st.pipe.moves)))
        if st.fail_train:
            raise st.fail_train
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        (checkpoint_dir / "ckpt").write_text("x")
        losses = [float(i + 1) for i in range(spec.steps)]
        for step in range(1, spec.steps + 1):
            if on_step:
                on_step(step, spec.steps, losses[step - 1], {})
            if on_export and step in spec.export_steps:
                on_export(step, {"w": torch.full((2,), float(step))})
        return trainer.TrainResult(state_dict={"w": torch.ones(2)}, metadata={"r": spec.rank},
                                   losses=losses, spatial_losses=[None] * spec.steps, resumed_from=3,
                                   seconds=1.5, steps_run=spec.steps)

    def save_lora(folder, state_dict, metadata):
        st.saved.append((Path(folder).name, {k: v.tolist() for k, v in state_dict.items()}, metadata))
        st.save_paths.append(Path(folder))
        Path(folder).mkdir(parents=True, exist_ok=True)
        blob = json.dumps({"sd": {k: v.tolist() for k, v in state_dict.items()}, "meta": metadata}).encode()
        header = json.dumps({"__metadata__": {"x": "y"}}).encode()
        (Path(folder) / lora.WEIGHTS_NAME).write_bytes(len(header).to_bytes(8, "little") + header + blob)

    def decide_gc(setting, transformer, seq_len, device, dtype):
        st.gc.append((setting, seq_len, device, dtype))
        st.gc_transformers.append(transformer)
        return st.gc_on, "set in the config"

    monkeypatch.setattr(encode, "decode_example", decode_example)
    monkeypatch.setattr(stage, "encode_examples", encode_examples)
    monkeypatch.setattr(trainer, "train_lora", train_lora)
    monkeypatch.setattr(lora, "save_lora", save_lora)
    monkeypatch.setattr(memory, "decide_gradient_checkpointing", decide_gc)
    return st


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def clips(tmp_path) -> Path:
    """Two 'clips' (the fakes never decode them: only their names and bytes matter)."""
    d = tmp_path / "clips"
    d.mkdir()
    (d / "a_person_walking.mp4").write_bytes(b"clip a")
    (d / "b-man-walking.mp4").write_bytes(b"clip b")
    (d / "notes.txt").write_text("not a clip")
    return d


# Items: which adapters, with which data and recipe -------------------------------------------------------------------


def test_jobs_for_the_whole_plan(ws, clips):
    plan = load_plan(ws.plan)
    notes: list[str] = []
    jobs = stage._jobs(ws, cfg(), plan, None, None, None, {"walking": clips}, notes)
    assert [(j.kind, j.id, j.item, j.plan_path) for j in jobs] == [
        ("motion", "walking", "motion/walking", "plan.motions[walking]"),
        ("character", "teddy", "character/teddy", "plan.characters[teddy]")]
    m, c = jobs
    assert [(e.path.name, e.caption, e.kind) for e in m.examples] == [
        ("a_person_walking.mp4", "a person walking", "clip"), ("b-man-walking.mp4", "b man walking", "clip")]
    assert [(e.path.name, e.caption, e.kind) for e in c.examples] == [
        ("1.png", "a [v1] brown teddy bear", "image"), ("2.png", "a [v1] brown teddy bear", "image")]
    assert m.geometry == Geometry(64, 64, 9, 6.0) and c.geometry == Geometry(64, 64, 9, 6.0)
    assert m.hyperparameters == MOTION_HP and c.hyperparameters == CHAR_HP
    assert m.entry is plan.motions[0] and c.entry is plan.characters[0] and notes == []
    other = cfg("adapt.character_frames=3", "adapt.max_clip_seconds=2", "render.num_frames=5", "render.height=32")
    m, c = stage._jobs(ws, other, plan, None, None, None, {"walking": clips}, notes)
    assert m.geometry == Geometry(32, 64, 5, 2.0) and c.geometry == Geometry(32, 64, 3, 2.0)


def test_jobs_sharding_and_only(ws, clips):
    plan = load_plan(ws.plan)

    def items(motions=None, characters=None, only=None, given=None):
        return [j.item for j in stage._jobs(ws, cfg(), plan, motions, characters, only,
                                            {"walking": clips} if given is None else given, [])]

    assert items(motions=["walking"]) == ["motion/walking"]
    assert items(characters=["teddy"], given={}) == ["character/teddy"]  # a motion without clips is not looked at
    assert items(motions=[]) == [] and items(characters=[]) == []
    assert items(motions=["walking"], characters=["teddy"]) == ["motion/walking", "character/teddy"]
    assert items(only=["walking"]) == ["motion/walking"] and items(only=["motion/walking"]) == ["motion/walking"]
    assert items(only=["teddy"]) == ["character/teddy"] and items(only=["character/teddy"]) == ["character/teddy"]
    assert items(only=["motion/teddy", "character/walking"]) == []
    with pytest.raises(UsageError) as err:
        items(motions=["walking", "jumping"])
    assert (err.value.message, err.value.hint) == ("--motion 'jumping' is not a motion of the plan",
                                                   "motion ids: ['walking']")
    with pytest.raises(UsageError) as err:
        items(characters=["rex"])
    assert (err.value.message, err.value.hint) == ("--character 'rex' is not a character of the plan",
                                                   "character ids: ['teddy']")


def test_a_character_without_images(tmp_path, clips):
    ws = make_workspace(tmp_path / "ws", with_images=False)
    plan = load_plan(ws.plan)
    notes: list[str] = []
    jobs = stage._jobs(ws, cfg(), plan, None, None, None, {"walking": clips}, notes)
    assert [j.item for j in jobs] == ["motion/walking"]
    assert notes == ["character teddy: no reference images, so no character LoRA (add some to "
                     "plan.characters[0].reference_images)"]
    with pytest.raises(InputInvalid) as err:
        stage._jobs(ws, cfg(), plan, None, ["teddy"], None, {}, [])
    assert err.value.message == ("character 'teddy' has no reference images (plan.characters[0].reference_images is "
                                 "empty)")
    assert err.value.hint == (f"add image paths (relative to the workspace, e.g. refs/teddy/1.png) to plan.json, "
                              f"then run `dreamrunner adapt {ws.root} --character teddy`")
    notes.clear()
    assert stage._jobs(ws, cfg(), plan, ["walking"], [], None, {"walking": clips}, notes)[0].id == "walking"
    assert notes == []  # not asked for: no note


def test_clip_folders_given_remembered_and_forgotten(ws, clips, tmp_path):
    plan = load_plan(ws.plan)
    with pytest.raises(UsageError) as err:
        stage._clip_folders(ws, plan, {"jumping": clips}, remember=True)
    assert (err.value.message, err.value.hint) == ("--clips jumping=...: 'jumping' is not a motion of the plan",
                                                   "motion ids: ['walking']")
    bindings = ws.adapters_dir / stage.CLIPS_BINDINGS
    assert stage._clip_folders(ws, plan, {"walking": clips}, remember=False) == {"walking": clips}
    assert not bindings.exists()
    assert stage._clip_folders(ws, plan, {}, remember=True) == {} and not bindings.exists()
    assert stage._clip_folders(ws, plan, {"walking": clips}, remember=True) == {"walking": clips}
    assert json.loads(bindings.read_text()) == {"walking": str(clips.resolve())}
    # A later run without --clips finds the folder; a retrieval manifest wins over it; a gone folder is ignored.
    assert stage._clip_folders(ws, plan, {}, remember=True) == {"walking": clips.resolve()}
    (ws.retrieval_dir / "walking").mkdir(parents=True)
    (ws.retrieval_dir / "walking" / "manifest.json").write_text("{}")
    assert stage._clip_folders(ws, plan, {}, remember=True) == {}
    (ws.retrieval_dir / "walking" / "manifest.json").unlink()
    bindings.write_text(json.dumps({"walking": str(tmp_path / "gone"), "jumping": str(clips)}))
    assert stage._clip_folders(ws, plan, {}, remember=True) == {}
    # A folder that does not exist is used now (the error comes from the data) but not remembered.
    bindings.write_text(json.dumps({"other": "x"}))
    assert stage._clip_folders(ws, plan, {"walking": tmp_path / "nope"}, remember=True) == {
        "walking": tmp_path / "nope"}
    assert json.loads(bindings.read_text()) == {"other": "x"}
    for broken in ("not json", "[1, 2]"):
        bindings.write_text(broken)
        assert stage._clip_folders(ws, plan, {}, remember=False) == {}


def test_export_steps_limits_mean_and_identity(ws, clips):
    job = SimpleNamespace(hyperparameters={"steps": 10})
    assert stage._export_steps(cfg("adapt.export_steps=[12,5,0,-1,5,9,10,3]"), job) == [3, 5, 9]
    assert stage._export_steps(cfg("adapt.export_steps=[]"), job) == []
    lim = stage._limits(cfg())
    assert (lim.min_clip_frames, lim.max_image_pixels) == (4, 100_000_000)
    lim = stage._limits(cfg("adapt.min_clip_frames=7", "adapt.max_image_pixels=99"))
    assert (lim.min_clip_frames, lim.max_image_pixels) == (7, 99)
    assert stage._limits(cfg("render.num_frames=3")).min_clip_frames == 2
    assert stage._mean([1.0, 2.0, 6.0]) == 3.0 and math.isnan(stage._mean([]))
    m, c = stage._jobs(ws, cfg(), load_plan(ws.plan), None, None, None, {"walking": clips}, [])
    assert stage._identity(ws, m) == {
        "id": "walking", "description": "walking", "token": None, "query": "person is walking",
        "data": [{"source": str(clips / "a_person_walking.mp4"), "kind": "clip", "caption": "a person walking",
                  "digest": m.examples[0].digest},
                 {"source": str(clips / "b-man-walking.mp4"), "kind": "clip", "caption": "b man walking",
                  "digest": m.examples[1].digest}]}
    ci = stage._identity(ws, c)
    assert (ci["id"], ci["description"], ci["token"], ci["query"]) == ("teddy", "a brown teddy bear", "[v1]", None)
    assert [d["source"] for d in ci["data"]] == ["refs/teddy/1.png", "refs/teddy/2.png"]


def test_resolved_model_in_a_dry_run(monkeypatch):
    def gone(model, pipeline=None):
        raise ModelUnavailable("not in the cache")

    notes: list[str] = []
    assert stage._resolved_model(cfg(), None, False, notes) == TINY_MODEL
    monkeypatch.setattr(identity, "model_identity", gone)
    assert stage._resolved_model(cfg("model.revision=abc"), None, True, notes) == {
        "source": "unresolved", "id": "tiny", "revision": "abc", "dtype": "float32"}
    assert notes == ["model 'tiny' not resolved (not in the cache); adapters are shown as if it changed"]
    with pytest.raises(ModelUnavailable):
        stage._resolved_model(cfg(), None, False, notes)


# Decoding every input before anything loads -------------------------------------------------------------------------


def test_decode_all_collects_every_bad_file(ws, clips, fakes):
    m, c = stage._jobs(ws, cfg(), load_plan(ws.plan), None, None, None, {"walking": clips}, [])
    limits = stage._limits(cfg())
    pixels = stage._decode_all([m, c], TINY_MODEL, limits)
    assert [d[:2] for d in fakes.decoded] == [("a_person_walking.mp4", 9), ("b-man-walking.mp4", 9),
                                              ("1.png", 9), ("2.png", 9)]
    assert fakes.decoded[0][2] is limits
    assert len(pixels) == 4 and set(pixels) == {encode.latent_key(e, j.geometry, TINY_MODEL)
                                                for j in (m, c) for e in j.examples}
    fakes.bad["2.png"] = InputInvalid("2.png is not an image", hint="use PNG")
    with pytest.raises(InputInvalid) as err:
        stage._decode_all([c], TINY_MODEL, limits)
    assert (err.value.message, err.value.hint, err.value.details) == (
        "character/teddy: 2.png is not an image; nothing was trained", "use PNG", [])
    fakes.bad["1.png"] = InputInvalid("1.png is too big", hint="use PNG")
    fakes.bad["b-man-walking.mp4"] = InputInvalid("b is short", hint="longer clips")
    fakes.bad["a_person_walking.mp4"] = InputInvalid("a is odd")
    with pytest.raises(InputInvalid) as err:
        stage._decode_all([m, c], TINY_MODEL, limits)
    assert err.value.message == "4 input files cannot be used; nothing was trained"
    assert err.value.hint == "longer clips; use PNG"
    assert err.value.details == ["motion/walking: a is odd", "motion/walking: b is short",
                                 "character/teddy: 1.png is too big", "character/teddy: 2.png is not an image"]
    fakes.bad = {"a_person_walking.mp4": InputInvalid("a is odd")}
    with pytest.raises(InputInvalid) as err:
        stage._decode_all([m], TINY_MODEL, limits)
    assert err.value.hint is None
    fakes.bad["2.png"] = InputInvalid("2 is odd")
    with pytest.raises(InputInvalid) as err:
        stage._decode_all([m, c], TINY_MODEL, limits)
    assert err.value.message == "2 input files cannot be used; nothing was trained"
    assert err.value.details == ["motion/walking: a is odd", "character/teddy: 2 is odd"]


def test_decode_all_skips_repeats_and_cached_latents_and_keeps_a_budget(ws, clips, fakes, monkeypatch):
    from dreamrunner_cli.cache import open_cache

    m, c = stage._jobs(ws, cfg(), load_plan(ws.plan), None, None, None, {"walking": clips}, [])
    twice = stage.Job("motion", "again", m.entry, "x", m.examples + m.examples, m.geometry, {})
    with open_cache("latents") as cache:
        cache.set(encode.latent_key(m.examples[0], m.geometry, TINY_MODEL), b"cached")
    pixels = stage._decode_all([twice], TINY_MODEL, stage._limits(cfg()))
    assert [d[0] for d in fakes.decoded] == ["b-man-walking.mp4"] and len(pixels) == 1
    assert all(isinstance(v, torch.Tensor) for v in pixels.values())
    # A budget of one example (9 × 3 × 2 × 2 float32 = 432 bytes): the second is decoded and checked, not kept.
    monkeypatch.setattr(stage, "PIXEL_BUDGET", 432)
    fakes.decoded.clear()
    pixels = stage._decode_all([c], TINY_MODEL, stage._limits(cfg()))
    assert [d[0] for d in fakes.decoded] == ["1.png", "2.png"]
    assert list(pixels) == [encode.latent_key(c.examples[0], c.geometry, TINY_MODEL)]
    monkeypatch.setattr(stage, "PIXEL_BUDGET", 431)
    assert stage._decode_all([c], TINY_MODEL, stage._limits(cfg())) == {}
    monkeypatch.setattr(stage, "PIXEL_BUDGET", 864)  # two of the three to decode (a's latents are cached)
    assert len(stage._decode_all([m, c], TINY_MODEL, stage._limits(cfg()))) == 2
    monkeypatch.undo()
    assert stage.PIXEL_BUDGET == 2 * 2**30


# run(): train, record, reuse ----------------------------------------------------------------------------------------


def test_run_trains_writes_records_and_caches(ws, clips, fakes, capsys):
    pool = FakePool()
    r = stage.run(ws, cfg("adapt.export_steps=[2,5,7,8]"), clips={"walking": clips}, models=pool)
    keys = stage.adapter_keys(ws, cfg())
    fps = [i.pop("fingerprint") for i in r["items"]]
    assert r == {"stage": "adapt", "workspace": str(ws.root), "dry_run": False,
                 "items": [{"stage": "adapt", "item": "motion/walking", "run": True, "reason": "never ran",
                            "action": "ran"},
                           {"stage": "adapt", "item": "character/teddy", "run": True, "reason": "never ran",
                            "action": "ran"}],
                 "notes": [], "models": {"video_model": "tiny", "revision": None, "dtype": "float32"},
                 "seeds": {"adapt": 0},
                 "adapters": [{"kind": "motion", "id": "walking", "path": "adapters/motion/walking",
                               "source": "trained", "steps": 8, "final_loss": 4.5},
                              {"kind": "character", "id": "teddy", "path": "adapters/character/teddy",
                               "source": "trained", "steps": 6, "final_loss": 3.5}]}
    assert pool.asked == ["holds tiny", "pipeline tiny"]
    # The trainer got each recipe.
    mt, ct = fakes.trained
    assert mt.spec == trainer.TrainSpec("motion", 8, 4, 0.0005, 0.0001, 0.1, 0, blocks=[0], spatial_blocks=[1],
                                        spatial_skip_prob=0.2, debias_beta=1.0, spatial_frames="all",
                                        checkpoint_every=4, gradient_checkpointing=False, export_steps=[2, 5, 7])
    assert ct.spec == trainer.TrainSpec("character", 6, 4, 0.0005, 0.0001, 0.1, 0, blocks=[1], loss_frame="random",
                                        checkpoint_every=4, gradient_checkpointing=False, export_steps=[2, 5])
    assert (mt.device, mt.dtype, mt.scheduler, mt.transformer) == ("cpu", "float32", "the-scheduler",
                                                                   pool.pipe.transformer)
    assert mt.checkpoint_dir == ws.adapters_dir / ".checkpoints" / "motion" / "walking"
    assert ct.checkpoint_dir == ws.adapters_dir / ".checkpoints" / "character" / "teddy"
    assert (mt.run_key, ct.run_key) == (keys["motion/walking"], keys["character/teddy"]) != (None, None)
    assert mt.data == ["a_person_walking.mp4", "b-man-walking.mp4"] and ct.data == ["1.png", "2.png"]
    # 3 latent frames of 8×6 with patch 2: 3 × 4 × 3 tokens + 7 text tokens.
    assert fakes.gc == [(False, 43, "cpu", "float32"), (False, 43, "cpu", "float32")]
    assert [e[0] for e in fakes.encoded] == [["a_person_walking.mp4", "b-man-walking.mp4"], ["1.png", "2.png"]]
    assert fakes.encoded[0][2] == 4  # the decoded pixels are handed over
    limits = stage._limits(cfg())
    assert all(d[2] == limits for d in fakes.decoded) and all(e[3] == limits for e in fakes.encoded)
    m_job, c_job = stage._jobs(ws, cfg(), load_plan(ws.plan), None, None, None, {"walking": clips}, [])
    assert fakes.encode_args[0][0] is pool.pipe and fakes.encode_args[0][1] == TINY_MODEL
    assert fakes.encode_args[0][2] == {encode.latent_key(e, j.geometry, TINY_MODEL) for j in (m_job, c_job)
                                       for e in j.examples}
    assert fakes.gc_transformers == [pool.pipe.transformer] * 2
    assert not (ws.adapters_dir / ".checkpoints").exists()
    # adapter.json, the weights, the intermediate steps.
    folder = ws.adapters_dir / "motion" / "walking"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "adapter.json", "pytorch_lora_weights.safetensors", "steps/step-000002/pytorch_lora_weights.safetensors",
        "steps/step-000005/pytorch_lora_weights.safetensors", "steps/step-000007/pytorch_lora_weights.safetensors"]
    assert b'"sd": {"w": [5.0, 5.0]}' in (folder / "steps/step-000005" / lora.WEIGHTS_NAME).read_bytes()
    from dreamrunner_cli.adapt.data import data_fingerprint
    from dreamrunner_cli.workspace import digest

    rec = json.loads((folder / "adapter.json").read_text())
    assert rec["data_fingerprint"] == digest(data_fingerprint(m_job.examples))
    data = rec.pop("data")
    assert [d["caption"] for d in data] == ["a person walking", "b man walking"]
    assert rec == {
        "schema_version": 1, "kind": "motion", "id": "walking", "description": "walking", "token": None,
        "query": "person is walking", "weights": "pytorch_lora_weights.safetensors", "blocks": [0],
        "target_modules": list(lora.TARGET_LINEARS), "rank": 4, "alpha": 4.0, "steps": 8, "base_model": TINY_MODEL,
        "geometry": {"height": 64, "width": 64, "num_frames": 9, "max_seconds": 6.0, "latent_frames": 3},
        "hyperparameters": MOTION_HP, "data_fingerprint": rec["data_fingerprint"], "final_loss": 4.5,
        "loss_curve": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], "spatial_loss_curve": [None] * 8,
        "recipe_key": keys["motion/walking"], "code_version": ADAPT_CODE_VERSION, "source": "trained",
        "device": "cpu", "train_seconds": None, "resumed_from": None,
        "snapshots": [{"step": 2, "weights": "steps/step-000002/pytorch_lora_weights.safetensors", "loss": 1.5},
                      {"step": 5, "weights": "steps/step-000005/pytorch_lora_weights.safetensors", "loss": 3.0},
                      {"step": 7, "weights": "steps/step-000007/pytorch_lora_weights.safetensors", "loss": 4.0}],
        "training": {"gradient_checkpointing": False, "gradient_checkpointing_reason": "set in the config",
                     "compute_dtype": "float32", "grad_scaler": False, "lora_dtype": "float32",
                     "saved_lora_dropout": 0.0, "export_steps": [2, 5, 7]}}
    crec = json.loads((ws.adapters_dir / "character/teddy/adapter.json").read_text())
    assert (crec["blocks"], crec["spatial_loss_curve"], crec["token"], crec["query"]) == ([1], [], "[v1]", None)
    assert (crec["geometry"]["latent_frames"], crec["hyperparameters"]) == (3, CHAR_HP)
    assert fakes.saved[-1][1:] == ({"w": [1.0, 1.0]}, {"r": 4})  # the character's final LoRA
    assert fakes.saved[0] == ("step-000002", {"w": [2.0, 2.0]}, lora.lora_metadata(4, [0]))
    # The stage records and runs.jsonl.
    records = Records.load(ws)
    mrec = records.get("adapt", "motion/walking")
    assert mrec["fingerprint"] == fps[0]
    assert (mrec["recipe_key"], mrec["source"], mrec["train_seconds"], mrec["resumed_from"]) == (
        keys["motion/walking"], "trained", 1.5, 3)
    assert set(mrec["deps"]) == {"plan.motions[walking]", "config.adapt (motion)", "config.adapt (outputs)",
                                 "config.model", "config.render (geometry)", "data"}
    assert mrec["values"]["config.adapt (outputs)"] == {"export_steps": [2, 5, 7]}
    assert mrec["values"]["config.model"] == TINY_MODEL
    assert mrec["values"]["config.adapt (motion)"] == MOTION_HP
    assert mrec["values"]["config.render (geometry)"] == {"height": 64, "width": 64, "num_frames": 9,
                                                          "max_seconds": 6.0}
    assert list(mrec["outs"]) == ["adapters/motion/walking"]
    run = ws.read_runs()[-1]
    assert (run["outcome"], run["models"], run["seeds"]) == ("ok", r["models"], {"adapt": 0})
    # The cross-story cache holds both, complete.
    hit = cache_get(keys["motion/walking"])
    assert hit is not None and sorted(hit[2]) == [2, 5, 7]
    assert hit[1] + "\n" == (folder / "adapter.json").read_text()
    assert json.loads(hit[1])["train_seconds"] is None
    # Progress lines.
    assert strip_times(capsys.readouterr().err.splitlines()) == [
        "adapt: decode and check inputs (4 clips and images)", "adapt: load model tiny",
        "adapt: VAE encode clips and images 0/4", "adapt: VAE encode clips and images 4/4",
        "adapt: adapter 1/2 motion/walking train 0/8",
        "adapt: adapter 1/2 motion/walking train 8/8 loss 8.0000",
        "adapt: adapter 1/2 motion/walking save adapters/motion/walking",
        "adapt: adapter 2/2 character/teddy train 0/6",
        "adapt: adapter 2/2 character/teddy train 6/6 loss 6.0000",
        "adapt: adapter 2/2 character/teddy save adapters/character/teddy"]


def test_run_again_skips_and_another_story_reuses_the_cache(ws, clips, fakes, tmp_path):
    stage.run(ws, cfg(), clips={"walking": clips}, models=FakePool(), progress=False)
    n = len(fakes.trained)
    again = stage.run(ws, cfg(), clips={"walking": clips}, models=FakePool(), progress=False)
    assert [(i["item"], i["reason"], i["action"]) for i in again["items"]] == [
        ("motion/walking", "up to date", "skipped"), ("character/teddy", "up to date", "skipped")]
    assert again["adapters"] == [] and len(fakes.trained) == n
    # The folder given with --clips is remembered: no --clips needed.
    again = stage.run(ws, cfg(), models=FakePool(), progress=False)
    assert [i["action"] for i in again["items"]] == ["skipped", "skipped"]
    # Another workspace, same data: from the cache, no model asked for, nothing decoded.
    ws2 = make_workspace(tmp_path / "ws2")
    pool = FakePool()
    fakes.decoded.clear()
    r = stage.run(ws2, cfg(), clips={"walking": clips}, models=pool, progress=False)
    assert [(a["source"], a["steps"], a["final_loss"]) for a in r["adapters"]] == [("cache", 8, 4.5),
                                                                                 ("cache", 6, 3.5)]
    assert pool.asked == [] and fakes.decoded == [] and len(fakes.trained) == n
    rec = json.loads((ws2.adapters_dir / "character/teddy/adapter.json").read_text())
    assert rec["source"] == "cache" and [d["source"] for d in rec["data"]] == ["refs/teddy/1.png", "refs/teddy/2.png"]
    assert (ws2.adapters_dir / "motion/walking" / lora.WEIGHTS_NAME).read_bytes() == (
        ws.adapters_dir / "motion/walking" / lora.WEIGHTS_NAME).read_bytes()
    srec = Records.load(ws2).get("adapt", "motion/walking")
    assert (srec["source"], srec["train_seconds"], srec["resumed_from"]) == ("cache", None, None)
    assert srec["recipe_key"] == stage.adapter_keys(ws, cfg())["motion/walking"]
    # --force retrains without reading the cache; adapt.reuse=false neither reads nor fills it.
    r = stage.run(ws2, cfg(), characters=["teddy"], force=True, models=pool, progress=False)
    assert [a["source"] for a in r["adapters"]] == ["trained"] and len(fakes.trained) == n + 1
    ws3 = make_workspace(tmp_path / "ws3")
    r = stage.run(ws3, cfg("adapt.reuse=false"), characters=["teddy"], models=pool, progress=False)
    assert [a["source"] for a in r["adapters"]] == ["trained"] and len(fakes.trained) == n + 2
    ws4 = make_workspace(tmp_path / "ws4")
    write_image(ws4.root / "refs/teddy/2.png", (1, 2, 3))
    stage.run(ws4, cfg("adapt.reuse=false"), characters=["teddy"], models=pool, progress=False)
    key = json.loads((ws4.adapters_dir / "character/teddy/adapter.json").read_text())["recipe_key"]
    assert key and cache_get(key) is None


def test_what_changes_retrains(ws, clips, fakes):
    stage.run(ws, cfg(), clips={"walking": clips}, models=FakePool(), progress=False)

    def dry(*o, **kw):
        r = stage.run(ws, cfg(*o), dry_run=True, progress=False, **kw)
        return [(i["item"], i["reason"], i["action"]) for i in r["items"]]

    assert dry("render.steps=5", "adapt.checkpoint_every=2") == [("motion/walking", "up to date", "skipped"),
                                                                 ("character/teddy", "up to date", "skipped")]
    assert dry("adapt.steps=3") == [("motion/walking", "config.adapt.steps 8 → 3 (motion)", "would run"),
                                    ("character/teddy", "up to date", "skipped")]
    assert dry("adapt.character_steps=3") == [("motion/walking", "up to date", "skipped"),
                                              ("character/teddy", "config.adapt.steps 6 → 3 (character)",
                                               "would run")]
    assert dry("adapt.export_steps=[2]") == [
        ("motion/walking", "config.adapt.export_steps [] → [2] (outputs)", "would run"),
        ("character/teddy", "config.adapt.export_steps [] → [2] (outputs)", "would run")]
    assert dry("model.dtype=bfloat16")[0][1] == "config.model.dtype float32 → bfloat16"
    assert dry("render.width=32")[1][1] == "config.render.width 64 → 32 (geometry)"
    (clips / "c_walking.mp4").write_bytes(b"c")
    assert dry()[0][1:] == ("data changed", "would run")
    assert dry(motions=["walking"], force=True) == [("motion/walking", "forced (--force)", "would run")]
    assert len(fakes.trained) == 2 and not list(Path(ws.adapters_dir).glob("*/*/.tmp*"))


def test_a_dry_run_trains_nothing_and_remembers_nothing(ws, clips, fakes):
    r = stage.run(ws, cfg(), clips={"walking": clips}, dry_run=True)
    assert [(i["item"], i["action"]) for i in r["items"]] == [("motion/walking", "would run"),
                                                             ("character/teddy", "would run")]
    assert r["adapters"] == [] and r["dry_run"] is True and fakes.decoded == fakes.trained == []
    assert not ws.adapters_dir.exists() and not ws.runs_log.exists()


def test_nothing_to_adapt_resolves_no_model(ws, fakes, monkeypatch):
    monkeypatch.setattr(identity, "model_identity", lambda *a: pytest.fail("resolved"))
    r = stage.run(ws, cfg(), motions=[], progress=False)
    assert r["items"] == [] and r["adapters"] == []
    assert ws.read_runs()[-1]["outcome"] == "ok"


def test_errors_are_recorded_and_raised(ws, clips, fakes):
    with pytest.raises(MissingUpstream, match="no training clips for motion 'walking'"):
        stage.run(ws, cfg(), progress=False)
    assert not ws.runs_log.exists()  # refused before the run started
    fakes.fail_train = RuntimeError("out of memory")
    with pytest.raises(RuntimeError):
        stage.run(ws, cfg(), clips={"walking": clips}, motions=["walking"], models=FakePool(), progress=False)
    run = ws.read_runs()[-1]
    assert (run["outcome"], run["models"], run["seeds"]) == (
        "error", {"video_model": "tiny", "revision": None, "dtype": "float32"}, {"adapt": 0})
    assert [(i["item"], i["action"]) for i in run["items"]] == [("motion/walking", "pending")]
    assert not (ws.adapters_dir / "motion" / "walking").exists()
    fakes.fail_train = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        stage.run(ws, cfg(), clips={"walking": clips}, motions=["walking"], models=FakePool(), progress=False)
    assert ws.read_runs()[-1]["outcome"] == "interrupted"
    fakes.fail_train = None
    fakes.bad["1.png"] = InputInvalid("bad image")
    pool = FakePool()
    with pytest.raises(InputInvalid, match="character/teddy: bad image; nothing was trained"):
        stage.run(ws, cfg(), clips={"walking": clips}, models=pool, progress=False)
    assert pool.asked == [] and ws.read_runs()[-1]["outcome"] == "error"


def test_cache_hits_that_do_not_fit_are_trained(ws, clips, fakes, tmp_path):
    stage.run(ws, cfg("adapt.export_steps=[2]"), clips={"walking": clips}, models=FakePool(), progress=False)
    n = len(fakes.trained)
    # Asking for an intermediate step the cached adapter lacks: trained again.
    ws2 = make_workspace(tmp_path / "ws2")
    r = stage.run(ws2, cfg("adapt.export_steps=[2,3]"), clips={"walking": clips}, models=FakePool(),
                  progress=False)
    assert [a["source"] for a in r["adapters"]] == ["trained", "trained"] and len(fakes.trained) == n + 2
    # Fewer steps than cached: reused, with only those snapshots.
    ws3 = make_workspace(tmp_path / "ws3")
    r = stage.run(ws3, cfg("adapt.export_steps=[]"), clips={"walking": clips}, models=FakePool(), progress=False)
    assert [a["source"] for a in r["adapters"]] == ["cache", "cache"]
    rec = json.loads((ws3.adapters_dir / "motion/walking/adapter.json").read_text())
    assert rec["snapshots"] == [] and rec["training"]["export_steps"] == []
    assert not (ws3.adapters_dir / "motion/walking/steps").exists()


def test_reuse_checks_the_cached_entry(ws, clips, fakes):
    stage.run(ws, cfg("adapt.export_steps=[2,3]"), clips={"walking": clips}, models=FakePool(), progress=False)
    m, c = stage._jobs(ws, cfg(), load_plan(ws.plan), None, None, None, {"walking": clips}, [])
    key = stage.adapter_keys(ws, cfg())["motion/walking"]
    weights, meta, snaps = cache_get(key)
    out = ws.root / "reused"
    two = cfg("adapt.export_steps=[2]")
    assert stage._reuse(ws, two, m, out, key, TINY_MODEL, weights, "not json", snaps) is None
    assert stage._reuse(ws, two, m, out, key, TINY_MODEL, weights, json.dumps({"kind": "motion"}), snaps) is None
    assert stage._reuse(ws, two, m, out, key, {**TINY_MODEL, "dtype": "bfloat16"}, weights, meta, snaps) is None
    assert stage._reuse(ws, cfg("adapt.export_steps=[2]", "adapt.motion_blocks=odd"), m, out, key, TINY_MODEL,
                        weights, meta, snaps) is None
    assert stage._reuse(ws, two, m, out, key, TINY_MODEL, weights, meta, {3: snaps[3]}) is None
    assert stage._reuse(ws, cfg("adapt.export_steps=[4]"), m, out, key, TINY_MODEL, weights, meta, snaps) is None
    assert not out.exists()
    rec = stage._reuse(ws, two, m, out, "other-key", TINY_MODEL, weights, meta, snaps)
    assert (rec.source, rec.recipe_key, [s.step for s in rec.snapshots], rec.training["export_steps"]) == (
        "cache", "other-key", [2], [2])
    assert rec.training["compute_dtype"] == "float32"
    assert (out / lora.WEIGHTS_NAME).read_bytes() == weights
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["step-000002"]
    assert (out / "steps/step-000002" / lora.WEIGHTS_NAME).read_bytes() == snaps[2]
    assert json.loads((out / "adapter.json").read_text())["recipe_key"] == "other-key"
    # The character's blocks are checked with the character parity.
    ckey = stage.adapter_keys(ws, cfg())["character/teddy"]
    cw, cmeta, csnaps = cache_get(ckey)
    assert stage._reuse(ws, two, c, out, ckey, TINY_MODEL, cw, cmeta, csnaps).kind == "character"
    assert stage._reuse(ws, cfg("adapt.export_steps=[2]", "adapt.character_blocks=even"), c, out, ckey, TINY_MODEL,
                        cw, cmeta, csnaps) is None


def two_characters(ws: Workspace, first_images: bool) -> None:
    plan = json.loads(ws.plan.read_text())
    rex = {"id": "rex", "description": "a green dinosaur", "token": "[v2]", "reference_images": ["refs/rex/1.png"]}
    if not first_images:
        plan["characters"][0]["reference_images"] = []
    plan["characters"].append(rex)
    ws.plan.write_text(json.dumps(plan))


def test_jobs_go_on_past_a_character_left_out(ws, clips):
    two_characters(ws, first_images=False)
    write_image(ws.root / "refs/rex/1.png", (0, 200, 0))
    plan = load_plan(ws.plan)
    notes: list[str] = []
    assert [j.item for j in stage._jobs(ws, cfg(), plan, None, None, None, {"walking": clips}, notes)] == [
        "motion/walking", "character/rex"]
    assert len(notes) == 1
    assert [j.item for j in stage._jobs(ws, cfg(), plan, None, None, ["rex"], {}, [])] == ["character/rex"]
    (ws.root / "refs/rex/1.png").unlink()
    with pytest.raises(InputInvalid, match=r"^plan\.characters\[1\]\.reference_images\[0\]: image "):
        stage._jobs(ws, cfg(), plan, None, ["rex"], None, {}, [])


def test_run_only_notes_and_quiet(ws, clips, fakes, capsys, tmp_path):
    r = stage.run(ws, cfg(), clips={"walking": clips}, only=["teddy"], models=FakePool(), progress=False)
    assert [i["item"] for i in r["items"]] == ["character/teddy"] and capsys.readouterr().err == ""
    bare = make_workspace(tmp_path / "bare", with_images=False)
    r = stage.run(bare, cfg(), clips={"walking": clips}, dry_run=True, progress=False)
    assert r["notes"] == ["character teddy: no reference images, so no character LoRA (add some to "
                          "plan.characters[0].reference_images)"]


def test_run_says_when_the_model_is_not_resolved(ws, clips, fakes, monkeypatch):
    def gone(model, pipeline=None):
        raise ModelUnavailable("offline")

    monkeypatch.setattr(identity, "model_identity", gone)
    r = stage.run(ws, cfg(), clips={"walking": clips}, dry_run=True, progress=False)
    assert r["notes"] == ["model 'tiny' not resolved (offline); adapters are shown as if it changed"]
    with pytest.raises(ModelUnavailable):
        stage.run(ws, cfg(), clips={"walking": clips}, progress=False)
    with pytest.raises(ModelUnavailable):
        stage.adapter_keys(ws, cfg())


def test_a_given_pipeline_is_identified_and_used(ws, clips, fakes, monkeypatch):
    from dreamrunner_cli.models import loading

    seen = []
    monkeypatch.setattr(identity, "model_identity", lambda model, pipeline=None: seen.append(pipeline) or TINY_MODEL)
    monkeypatch.setattr(loading, "load_pipeline", lambda model: pytest.fail("loaded although a pipeline was given"))
    pipe = fake_pipe()
    stage.run(ws, cfg(), clips={"walking": clips}, motions=["walking"], pipeline=pipe, progress=False)
    assert seen == [pipe] and fakes.trained[0].transformer is pipe.transformer
    assert stage._resolved_model(cfg(), pipe, False, []) == TINY_MODEL and seen[-1] is pipe


class CudaTransformer(FakeTransformer):
    def parameters(self, recurse=True):
        return iter([SimpleNamespace(device="cuda:0")])


class Encoder:
    def __init__(self, name, dev, log):
        self.name, self.dev, self.log = name, dev, log

    def parameters(self):
        return iter([SimpleNamespace(device=self.dev)])

    def to(self, dev):
        self.log.append(f"{self.name} → {dev}")


def test_on_a_gpu_the_encoders_step_aside_while_training(ws, clips, fakes):
    moves: list[str] = []
    pipe = SimpleNamespace(transformer=CudaTransformer(), scheduler="s", moves=moves,
                           text_encoder=Encoder("text_encoder", "cuda:0", moves), vae=Encoder("vae", "cuda:1", moves))
    fakes.pipe = pipe
    stage.run(ws, cfg("model.dtype=float16"), clips={"walking": clips}, models=FakePool(pipe), progress=False)
    assert [t.moved for t in fakes.trained] == [["text_encoder → cpu", "vae → cpu"]] * 2
    assert moves == ["text_encoder → cpu", "vae → cpu", "text_encoder → cuda:0", "vae → cuda:1"]
    assert [(t.device, t.dtype) for t in fakes.trained] == [("cuda:0", "float16")] * 2
    assert fakes.gc[0][2:] == ("cuda:0", "float16")
    rec = json.loads((ws.adapters_dir / "motion/walking/adapter.json").read_text())
    assert rec["device"] == "cuda:0"
    assert (rec["training"]["grad_scaler"], rec["training"]["compute_dtype"]) == (True, "float16")


def test_the_recipe_follows_the_config(ws, clips, fakes):
    fakes.gc_on = True
    fakes.shapes = {"a_person_walking.mp4": (1, 5, 4, 9, 7)}  # the geometry is read from the first example
    c = cfg("adapt.steps=12", "adapt.export_steps=[11]", "adapt.spatial_skip_prob=0.5", "adapt.debias_beta=2.0",
            "adapt.spatial_frames=1", "adapt.motion_blocks=odd", "adapt.character_blocks=even",
            "adapt.character_loss_frame=first")
    stage.run(ws, c, clips={"walking": clips}, models=FakePool(fake_pipe(num_layers=4)), progress=False)
    mt, ct = fakes.trained
    assert (mt.spec.blocks, mt.spec.spatial_blocks, mt.spec.spatial_skip_prob, mt.spec.debias_beta,
            mt.spec.spatial_frames, mt.spec.gradient_checkpointing) == ([1, 3], [0, 2], 0.5, 2.0, 1, True)
    assert (ct.spec.blocks, ct.spec.loss_frame, ct.spec.gradient_checkpointing) == ([0, 2], "first", True)
    assert fakes.gc[0][1] == 5 * 4 * 3 + 7
    rec = json.loads((ws.adapters_dir / "motion/walking/adapter.json").read_text())
    assert rec["final_loss"] == 7.5  # the mean of the last 10 of 12
    assert rec["snapshots"][0]["loss"] == 6.5  # the mean of steps 2..11
    assert rec["geometry"]["latent_frames"] == 5 and rec["training"]["gradient_checkpointing"] is True


def test_progress_bars_count_the_training_steps(ws, clips, fakes, monkeypatch):
    from dreamrunner_cli import progress

    updates = []
    real = progress.Bar.update

    def spy(self, completed=None, description=None, note=None):
        if "train" in self.description:
            updates.append((completed, note))
        return real(self, completed, description, note)

    monkeypatch.setattr(progress.Bar, "update", spy)
    stage.run(ws, cfg("adapt.steps=2"), clips={"walking": clips}, motions=["walking"], models=FakePool())
    assert updates == [(1, "loss 1.0000"), (2, "loss 2.0000"), (2, None)]


def test_a_cached_adapter_is_named_for_this_workspace(ws, clips, fakes, tmp_path):
    stage.run(ws, cfg(), clips={"walking": clips}, models=FakePool(), progress=False)
    ws2 = make_workspace(tmp_path / "ws2")
    plan = json.loads(ws2.plan.read_text())
    plan["motions"][0]["id"] = "stroll"
    plan["scenes"][0]["motions"] = ["stroll"]
    plan["scenes"][0]["keyframes"][0]["regions"][0]["motion"] = "stroll"
    ws2.plan.write_text(json.dumps(plan))
    r = stage.run(ws2, cfg(), clips={"stroll": clips}, motions=["stroll"], models=FakePool(), progress=False)
    assert [(a["id"], a["source"]) for a in r["adapters"]] == [("stroll", "cache")]
    assert json.loads((ws2.adapters_dir / "motion/stroll/adapter.json").read_text())["id"] == "stroll"


# Files and helpers ----------------------------------------------------------------------------------------------------


def record_for(kind="motion") -> AdapterRecord:
    return AdapterRecord(kind=kind, id="x", blocks=[0], target_modules=["a"], rank=1, alpha=1.0, steps=1,
                         base_model={}, geometry={}, hyperparameters={}, data=[], data_fingerprint="d", final_loss=0.5,
                         loss_curve=[0.5], recipe_key="k", code_version="2")


def test_write_adapter_dir_swaps_folders_whole(tmp_path, fakes):
    out = tmp_path / "adapters" / "motion" / "x"
    stage._write_adapter_dir(out, record_for(), state_dict={"w": torch.ones(1)})
    assert fakes.save_paths[-1].parent == out.parent and fakes.save_paths[-1].name.startswith(".tmp-x-")
    weights = stage._write_adapter_dir(out, record_for(), weights=b"W", snapshots={3: b"S3", 1: b"S1"})
    assert weights == b"W" and (out / lora.WEIGHTS_NAME).read_bytes() == b"W"
    assert (out / "steps/step-000001" / lora.WEIGHTS_NAME).read_bytes() == b"S1"
    assert (out / "steps/step-000003" / lora.WEIGHTS_NAME).read_bytes() == b"S3"
    assert (out / "adapter.json").read_text() == record_for().model_dump_json(indent=2) + "\n"
    # From a state dict: written by save_lora; an old folder is replaced whole, no temporary folder is left.
    (tmp_path / "adapters" / "motion" / f".old-x-{__import__('os').getpid()}").mkdir()
    weights = stage._write_adapter_dir(out, record_for(), state_dict={"w": torch.ones(1)}, metadata={"r": 1})
    assert weights == (out / lora.WEIGHTS_NAME).read_bytes() and fakes.saved[-1][1:] == ({"w": [1.0]}, {"r": 1})
    assert not (out / "steps").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["x"]
    stage._write_adapter_dir(out, record_for())
    assert fakes.saved[-1][1:] == ({}, {})
    # A failure while writing leaves the old folder and no temporary one.
    with pytest.raises(ValueError):
        stage._write_adapter_dir(out, record_for(), weights=b"W", snapshots={"bad": b""})
    assert sorted(p.name for p in out.parent.iterdir()) == ["x"] and (out / "adapter.json").exists()


def test_swap_dir(tmp_path):
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "new").write_text("new")
    stage._swap_dir(tmp, out)
    assert [p.name for p in out.iterdir()] == ["new"] and not tmp.exists()
    tmp.mkdir()
    (tmp / "newer").write_text("x")
    stage._swap_dir(tmp, out)
    assert [p.name for p in out.iterdir()] == ["newer"] and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_aside_moves_the_encoders_off_and_back():
    class Mod:
        def __init__(self, dev):
            self.dev, self.moves = dev, []

        def parameters(self):
            return iter([SimpleNamespace(device=self.dev)])

        def to(self, dev):
            self.moves.append(dev)

    pipe = SimpleNamespace(text_encoder=Mod("cuda:1"), vae=Mod("cuda:0"))
    with stage._aside(pipe, ("text_encoder", "vae", "missing"), enabled=False):
        assert pipe.vae.moves == []
    with stage._aside(pipe, ("text_encoder", "vae", "missing"), enabled=True):
        assert (pipe.text_encoder.moves, pipe.vae.moves) == (["cpu"], ["cpu"])
    assert (pipe.text_encoder.moves, pipe.vae.moves) == (["cpu", "cuda:1"], ["cpu", "cuda:0"])
    with pytest.raises(RuntimeError), stage._aside(pipe, ("vae",), enabled=True):
        raise RuntimeError
    assert pipe.vae.moves == ["cpu", "cuda:0", "cpu", "cuda:0"]


def test_pipeline_loader(monkeypatch, capsys):
    from dreamrunner_cli.models import loading
    from dreamrunner_cli.progress import reporter

    rep = reporter(True, "adapt")
    given = fake_pipe()
    assert stage._PipelineLoader(cfg(), given, FakePool()).get(rep) is given
    pool = FakePool(holds=True)
    loader = stage._PipelineLoader(cfg(), None, pool)
    assert loader.get(rep) is pool.pipe and loader.get(rep) is pool.pipe
    assert pool.asked == ["holds tiny", "pipeline tiny"] and capsys.readouterr().err == ""
    pool = FakePool(holds=False)
    assert stage._PipelineLoader(cfg(), None, pool).get(rep) is pool.pipe
    assert pool.asked == ["holds tiny", "pipeline tiny"]
    assert strip_times(capsys.readouterr().err.splitlines()) == ["adapt: load model tiny"]
    loaded = []
    monkeypatch.setattr(loading, "load_pipeline", lambda model: loaded.append(model.id) or given)
    assert stage._PipelineLoader(cfg(), None, None).get(rep) is given and loaded == ["tiny"]


def test_adapter_keys_are_the_recipe_keys(ws, clips):
    stage._clip_folders(ws, load_plan(ws.plan), {"walking": clips}, remember=True)
    keys = stage.adapter_keys(ws, cfg())
    m, c = stage._jobs(ws, cfg(), load_plan(ws.plan), None, None, None, {"walking": clips.resolve()}, [])
    assert keys == {
        "motion/walking": recipe_key(recipe("motion", TINY_MODEL, m.geometry.to_dict(), MOTION_HP,
                                            [e.fingerprint() for e in m.examples])),
        "character/teddy": recipe_key(recipe("character", TINY_MODEL, c.geometry.to_dict(), CHAR_HP,
                                             [e.fingerprint() for e in c.examples]))}


def test_adapter_keys_without_jobs_resolve_no_model(tmp_path, monkeypatch):
    ws = make_workspace(tmp_path / "ws", with_images=False)
    plan = json.loads(ws.plan.read_text())
    plan["motions"], plan["scenes"][0]["motions"] = [], []
    plan["scenes"][0]["keyframes"][0]["regions"][0]["motion"] = "none"
    ws.plan.write_text(json.dumps(plan))
    monkeypatch.setattr(identity, "model_identity", lambda *a: pytest.fail("resolved"))
    assert stage.adapter_keys(ws, cfg()) == {}


def test_cache_put_by_the_stage_is_complete(ws, clips, fakes):
    stage.run(ws, cfg("adapt.reuse=true"), characters=["teddy"], models=FakePool(), progress=False)
    key = json.loads((ws.adapters_dir / "character/teddy/adapter.json").read_text())["recipe_key"]
    weights, meta, snaps = cache_get(key)
    assert weights == (ws.adapters_dir / "character/teddy" / lora.WEIGHTS_NAME).read_bytes() and snaps == {}
    assert json.loads(meta) == json.loads((ws.adapters_dir / "character/teddy/adapter.json").read_text())
    cache_put(key, b"x", meta)  # a damaged entry is a miss: trained again
    n = len(fakes.trained)
    stage.run(ws, cfg(), characters=["teddy"], force=False, models=FakePool(), progress=False)
    assert len(fakes.trained) == n  # up to date in this workspace: not even looked up


# The real thing, once: the tiny model, 2 + 1 steps -------------------------------------------------------------------


def test_real_training_with_the_tiny_model(tmp_path):
    from safetensors.torch import load_file

    ws = make_workspace(tmp_path / "ws")
    clips = clips_folder(tmp_path / "clips")
    c = cfg("adapt.steps=2", "adapt.character_steps=1", "adapt.export_steps=[1]")
    r = stage.run(ws, c, clips={"walking": clips}, progress=False)
    assert [(a["kind"], a["source"], a["steps"]) for a in r["adapters"]] == [("motion", "trained", 2),
                                                                            ("character", "trained", 1)]
    m = json.loads((ws.adapters_dir / "motion/walking/adapter.json").read_text())
    assert m["blocks"] == [0] and len(m["loss_curve"]) == 2 and math.isfinite(m["final_loss"])
    assert [s["step"] for s in m["snapshots"]] == [1]
    w = load_file(str(ws.adapters_dir / "motion/walking" / lora.WEIGHTS_NAME))
    assert w and all(".transformer_blocks.0." in k for k in w)
    assert load_file(str(ws.adapters_dir / "motion/walking/steps/step-000001" / lora.WEIGHTS_NAME)).keys() == w.keys()
    assert not (ws.adapters_dir / ".checkpoints").exists()
