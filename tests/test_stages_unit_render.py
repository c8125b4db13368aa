"""Fast in-process tests of the render stage (stages/render.py) and the stage chain (stages/__init__.py): their
decisions, records, messages and errors, with the tiny preset. The model is a recording fake (no diffusers call,
milliseconds per test) wherever the decision is what is checked; one real tiny render covers the render path itself.
``tools/mutate.py`` runs these tests against mutants of both modules: each test pins exact values."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import ANY

import numpy as np
import pytest

from dreamrunner_cli import stages
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import (
    DreamrunnerError,
    InputInvalid,
    MissingUpstream,
    StageNotImplemented,
    UnknownItem,
    UsageError,
)
from dreamrunner_cli.schema import Character, Keyframe, Motion, ObjectEntity, Plan, Region, Scene
from dreamrunner_cli.stages import render
from dreamrunner_cli.workspace import Records, StageRun, Workspace, write_json_atomic

# stages/__init__.py: stage_module, run_all, status_all -------------------------------------------------------------


def test_stage_module_imports_the_stage_and_names_one_not_built_yet():
    assert stages.stage_module("render") is importlib.import_module("dreamrunner_cli.stages.render")
    assert stages.ORDER == ("plan", "retrieve", "adapt", "render", "evaluate")
    with pytest.raises(StageNotImplemented) as err:
        stages.stage_module("upscale")
    assert err.value.message == "the upscale stage is not built yet in this version of dreamrunner"
    assert err.value.hint == "skip it with --skip upscale"
    assert err.value.exit_code == 7
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_stage_module_lets_a_missing_dependency_of_the_stage_through(monkeypatch):
    def missing_dependency(name):
        raise ModuleNotFoundError("No module named 'torchx'", name="torchx")

    monkeypatch.setattr(importlib, "import_module", missing_dependency)
    with pytest.raises(ModuleNotFoundError) as err:
        stages.stage_module("render")
    assert err.value.name == "torchx"


class _FakeStage:
    """A stage module whose ``run`` records its keyword arguments and returns (or raises) what it is given."""

    def __init__(self, name: str, calls: list, outcome=None):
        self.name, self.calls, self.outcome = name, calls, outcome

    def run(self, ws, cfg, **kwargs):
        self.calls.append((self.name, ws, cfg, kwargs))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return {"stage": self.name, "items": [{"item": self.name}]}


@pytest.fixture
def fake_stages(monkeypatch):
    """stage_module → fakes; ``outcomes[name]`` makes that stage raise."""
    calls: list = []
    outcomes: dict = {}
    monkeypatch.setattr(stages, "stage_module", lambda name: _FakeStage(name, calls, outcomes.get(name)))
    return calls, outcomes


def test_run_all_passes_each_stage_its_own_options_and_one_shared_model_pool(fake_stages, tmp_path):
    from dreamrunner_cli.models.pool import ModelPool

    calls, _ = fake_stages
    ws, cfg, story = Workspace(tmp_path / "ws"), object(), tmp_path / "story.txt"
    results = stages.run_all(ws, cfg, story_file=story, force=True, dry_run=False, progress=False, db="/data/db",
                             allow_outside_refs=True)
    assert results == [{"stage": n, "items": [{"item": n}]} for n in stages.ORDER]
    assert [c[0] for c in calls] == list(stages.ORDER)
    assert all(c[1] is ws and c[2] is cfg for c in calls)
    kw = {c[0]: c[3] for c in calls}
    common = {"force": True, "dry_run": False, "progress": False}
    assert kw["plan"] == {**common, "story_file": story, "allow_outside_refs": True}
    assert kw["retrieve"] == {**common, "db": "/data/db"}
    assert kw["evaluate"] == common
    assert set(kw["adapt"]) == set(kw["render"]) == {*common, "models"}
    assert isinstance(kw["adapt"]["models"], ModelPool) and kw["adapt"]["models"] is kw["render"]["models"]
    assert {k: v for k, v in kw["render"].items() if k != "models"} == common


def test_run_all_defaults_and_skipped_stages(fake_stages, tmp_path):
    calls, _ = fake_stages
    results = stages.run_all(Workspace(tmp_path), None, skip=["retrieve", "evaluate"])
    assert results[1] == {"stage": "retrieve", "skipped_stage": "--skip", "items": []}
    assert results[4] == {"stage": "evaluate", "skipped_stage": "--skip", "items": []}
    assert [c[0] for c in calls] == ["plan", "adapt", "render"]
    kw = {c[0]: c[3] for c in calls}
    common = {"force": False, "dry_run": False, "progress": True}
    assert kw["plan"] == {**common, "story_file": None, "allow_outside_refs": False}
    calls.clear()
    stages.run_all(Workspace(tmp_path), None, db="")  # no --db: retrieve reads $DREAMRUNNER_DB / retrieve.db
    assert calls[1][3] == common


def test_run_all_stops_at_a_missing_upstream_except_in_a_dry_run(fake_stages, tmp_path):
    calls, outcomes = fake_stages
    outcomes["adapt"] = MissingUpstream("no retrieved clips in ws", hint="run retrieve")
    with pytest.raises(MissingUpstream):
        stages.run_all(Workspace(tmp_path), None)
    assert [c[0] for c in calls] == ["plan", "retrieve", "adapt"]
    calls.clear()
    results = stages.run_all(Workspace(tmp_path), None, dry_run=True)
    assert [c[0] for c in calls] == list(stages.ORDER)
    assert results[2] == {"stage": "adapt", "dry_run": True, "items": [],
                          "notes": ["adapt waits for an earlier stage: no retrieved clips in ws"]}
    assert results[3] == {"stage": "render", "items": [{"item": "render"}]}
    # The first stage has nothing earlier to wait for: its error stands, even in a dry run.
    outcomes["plan"] = MissingUpstream("story file not found")
    with pytest.raises(MissingUpstream, match="story file not found"):
        stages.run_all(Workspace(tmp_path), None, dry_run=True)
    outcomes.clear()
    outcomes["render"] = InputInvalid("bad")  # other errors are never turned into notes
    with pytest.raises(InputInvalid):
        stages.run_all(Workspace(tmp_path), None, dry_run=True)


def test_status_all_dry_runs_every_stage_and_says_why_one_is_blocked(fake_stages, tmp_path):
    calls, outcomes = fake_stages
    outcomes["adapt"] = MissingUpstream("no clips", hint="run `dreamrunner retrieve ws`")
    outcomes["render"] = DreamrunnerError("broken")
    ws = Workspace(tmp_path)
    out = stages.status_all(ws, "cfg")
    assert [c[0] for c in calls] == list(stages.ORDER)
    assert all(c[3] == {"dry_run": True, "progress": False} and c[1] is ws and c[2] == "cfg" for c in calls)
    assert out[2] == {"stage": "adapt", "items": [], "error": "no clips (run `dreamrunner retrieve ws`)"}
    assert out[3] == {"stage": "render", "items": [], "error": "broken"}
    assert out[4] == {"stage": "evaluate", "items": [{"item": "evaluate"}]}


def test_status_all_names_a_stage_not_built_yet(monkeypatch, tmp_path):
    real = stages.stage_module

    def only_plan(name):
        if name == "plan":
            return _FakeStage(name, [])
        return real("not_built_" + name)

    monkeypatch.setattr(stages, "stage_module", only_plan)
    out = stages.status_all(Workspace(tmp_path), None)
    assert out[0] == {"stage": "plan", "items": [{"item": "plan"}]}
    assert out[1] == {"stage": "retrieve", "items": [], "error": "the not_built_retrieve stage is not built yet in "
                      "this version of dreamrunner (skip it with --skip not_built_retrieve)"}


# stages/render.py: helpers -----------------------------------------------------------------------------------------

LENIENT = ["render.require_adapters=false"]


def cfg_of(*overrides: str):
    """The tiny preset at its smallest: 1 denoising step."""
    return resolve_config("tiny", ["render.steps=1", *overrides])


def mia(motion: str, box=(0.0, 0.0, 0.5, 1.0)) -> Region:
    return Region(entity="mia", motion=motion, caption=f"A [v1] girl is {motion}", box=box)


def rex(motion: str) -> Region:
    return Region(entity="rex", motion=motion, caption=f"A [v2] dog is {motion}", box=(0.5, 0.0, 1.0, 1.0))


ROCK = Region(entity="rock", motion="none", caption="a grey rock", box=(0.6, 0.6, 1.0, 1.0))


def two_scene_plan() -> Plan:
    """s01: mia waving (she has reference images) beside rex jumping (he has none); s02: mia waving by a rock."""
    return Plan(
        title="Mia and Rex",
        characters=[Character(id="mia", description="a girl", token="[v1]", reference_images=["refs/mia/1.png"]),
                    Character(id="rex", description="a dog", token="[v2]")],
        objects=[ObjectEntity(id="rock")],
        motions=[Motion(id="waving", description="waving"), Motion(id="jumping", description="jumping")],
        scenes=[Scene(id="s01", narration="Mia waves while Rex jumps.", background="a park", characters=["mia", "rex"],
                      motions=["waving", "jumping"], keyframes=[Keyframe(regions=[mia("waving"), rex("jumping")])] * 6),
                Scene(id="s02", narration="Mia waves by a rock.", background="a beach", characters=["mia"],
                      motions=["waving"], keyframes=[Keyframe(regions=[mia("waving"), ROCK])] * 6)])


def make_ws(tmp_path, plan: Plan | None = None) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir(parents=True)
    write_json_atomic(ws.plan, (plan or two_scene_plan()).model_dump(mode="json"))
    return ws


def tiny_identity() -> dict:
    from dreamrunner_cli.adapt.identity import model_identity

    return model_identity(resolve_config("tiny").model)


def adapter(ws: Workspace, kind: str, item_id: str, value: float = 1.0, blocks: list[int] | None = None,
            **meta) -> Path:
    """A trained adapter as far as render can tell without loading it: adapter.json and a safetensors file."""
    from safetensors.numpy import save_file

    folder = ws.adapters_dir / kind / item_id
    folder.mkdir(parents=True, exist_ok=True)
    save_file({"lora_A": np.full((2, 2), value, np.float32)}, str(folder / "pytorch_lora_weights.safetensors"))
    fields = {"kind": kind, "id": item_id, "blocks": blocks if blocks is not None else [0 if kind == "motion" else 1],
              "rank": 4, "base_model": tiny_identity(), **meta}
    write_json_atomic(folder / "adapter.json", fields)
    return folder


def test_scene_seed_is_stable_and_below_2_to_the_31():
    assert [render.scene_seed(0, s) for s in ("s01", "s02", "s05", "s10")] == [130925159, 937903301, 977930008,
                                                                                1375307112]
    assert render.scene_seed(1, "s10") == 2129055913 and render.scene_seed(7, "s01") == 1988180299


def test_bound_adapters_characters_first_then_motions_each_once():
    plan = two_scene_plan()
    assert render.bound_adapters(plan, plan.scenes[0]) == [("character", "mia"), ("character", "rex"),
                                                           ("motion", "waving"), ("motion", "jumping")]
    assert render.bound_adapters(plan, plan.scenes[1]) == [("character", "mia"), ("motion", "waving")]
    # Merged regions bind too; an object binds no character LoRA, 'none' no motion LoRA.
    kfs = [Keyframe(regions=[ROCK], merged=[Region(entity="rex", motion="sitting", caption="c", box=(0, 0, 1, 1))]),
           Keyframe(regions=[Region(entity="rock", motion="rolling", caption="r", box=(0, 0, 1, 1)), ROCK])]
    scene = Scene(id="s09", narration="n", background="b", keyframes=kfs)
    assert render.bound_adapters(plan, scene) == [("character", "rex"), ("motion", "sitting"), ("motion", "rolling")]


def test_scene_adapters_found_missing_and_nothing_to_train(tmp_path):
    ws = make_ws(tmp_path)
    plan = two_scene_plan()
    s01 = plan.scenes[0]
    # Nothing trained: the motions and mia (she has reference images) are missing; rex has nothing to train on.
    assert render.scene_adapters(ws, plan, s01) == ([], ["character/mia", "motion/waving", "motion/jumping"])
    waving = adapter(ws, "motion", "waving")
    (ws.adapters_dir / "character" / "rex").mkdir(parents=True)  # a folder without adapter.json: a failed run
    found, missing = render.scene_adapters(ws, plan, s01)
    assert found == [("motion", "waving", waving)]
    assert missing == ["character/mia", "character/rex", "motion/jumping"]
    # ``usable`` says why a trained adapter cannot be used: it then counts as missing.
    seen = []

    def usable(kind, folder):
        seen.append((kind, folder))
        return "stale"

    assert render.scene_adapters(ws, plan, s01, usable) == (
        [], ["character/mia", "character/rex", "motion/waving", "motion/jumping"])
    assert seen == [("motion", waving)]
    assert render.scene_adapters(ws, plan, s01, lambda kind, folder: None)[0] == [("motion", "waving", waving)]


def test_adapter_check_accepts_what_fits_and_says_why_not(tmp_path):
    ws = make_ws(tmp_path)
    notes: list[str] = []
    check = render.AdapterCheck(resolve_config("tiny"), notes)
    assert notes == [] and check.identity == tiny_identity() and check.problems == {}
    assert check("motion", adapter(ws, "motion", "waving")) is None
    assert check("character", adapter(ws, "character", "mia")) is None
    assert check.problems == {}
    # Blocks of the other parity; another model; an unreadable or incomplete adapter.json.
    assert check("motion", adapter(ws, "motion", "odd", blocks=[1])) == \
        "its blocks [1] are not this model's even blocks"
    assert check("character", adapter(ws, "character", "even", blocks=[0])) == \
        "its blocks [0] are not this model's odd blocks"
    other = {**tiny_identity(), "num_layers": 4}
    assert check("motion", adapter(ws, "motion", "other", base_model=other)) == "it was trained for another model"
    broken = adapter(ws, "motion", "broken")
    (broken / "adapter.json").write_text("{not json")
    unreadable = "its adapter.json is unreadable or from an older version"
    assert check("motion", broken) == unreadable
    old = adapter(ws, "motion", "old")
    write_json_atomic(old / "adapter.json", {"kind": "motion", "id": "old", "blocks": [0]})  # no base_model
    assert check("motion", old) == unreadable
    nolist = adapter(ws, "motion", "nolist", blocks=None)
    write_json_atomic(nolist / "adapter.json", {"blocks": None, "base_model": tiny_identity()})
    assert check("motion", nolist) == unreadable
    assert check("motion", ws.adapters_dir / "motion" / "gone") == unreadable
    assert check.problems == {"motion/odd": "its blocks [1] are not this model's even blocks",
                              "character/even": "its blocks [0] are not this model's odd blocks",
                              "motion/other": "it was trained for another model",
                              "motion/broken": unreadable, "motion/old": unreadable, "motion/nolist": unreadable,
                              "motion/gone": unreadable}
    # adapt.motion_blocks / character_blocks decide the parity.
    swapped = render.AdapterCheck(resolve_config("tiny", ["adapt.motion_blocks=odd", "adapt.character_blocks=even"]),
                                  [])
    assert swapped("motion", ws.adapters_dir / "motion" / "odd") is None
    assert swapped("character", ws.adapters_dir / "character" / "even") is None
    assert swapped("motion", ws.adapters_dir / "motion" / "waving") == \
        "its blocks [0] are not this model's odd blocks"


def test_adapter_check_without_a_resolvable_model_takes_adapters_as_they_are(tmp_path):
    from dreamrunner_cli.adapt.identity import model_identity
    from dreamrunner_cli.errors import ModelUnavailable

    ws = make_ws(tmp_path)
    cfg = resolve_config("tiny", ["model.id=nobody/not-cached"])
    with pytest.raises(ModelUnavailable) as err:
        model_identity(cfg.model)
    notes: list[str] = []
    check = render.AdapterCheck(cfg, notes)
    assert check.identity is None
    assert notes == [f"adapters not checked against model 'nobody/not-cached': {err.value.message}"]
    assert check("motion", adapter(ws, "motion", "waving", blocks=[1])) is None and check.problems == {}


def test_adapter_digest_covers_weights_and_placement_only(tmp_path):
    from dreamrunner_cli.workspace import digest, tensor_digest

    ws = make_ws(tmp_path)
    folder = adapter(ws, "motion", "waving", trained="2024-01-01", source="trained", target_modules=["a"],
                     alpha=4)
    meta = json.loads((folder / "adapter.json").read_text())
    weights = folder / "pytorch_lora_weights.safetensors"
    first = render.adapter_digest(folder)
    assert first == digest({"adapter": {k: meta.get(k) for k in render.ADAPTER_PIXEL_FIELDS},
                            "weights": tensor_digest(weights)})
    assert render.ADAPTER_PIXEL_FIELDS == ("kind", "id", "blocks", "target_modules", "rank", "alpha", "base_model")
    write_json_atomic(folder / "adapter.json", {**meta, "trained": "2025-02-02", "source": "cache"})
    assert render.adapter_digest(folder) == first  # when and how it was trained: no pixel changes
    for key, value in (("rank", 8), ("alpha", 8), ("target_modules", ["b"]), ("kind", "character"), ("id", "w"),
                       ("blocks", [1]), ("base_model", {})):
        write_json_atomic(folder / "adapter.json", {**meta, key: value})
        assert render.adapter_digest(folder) != first, key
    write_json_atomic(folder / "adapter.json", meta)
    adapter(ws, "motion", "waving", value=2.0, trained="2024-01-01", source="trained", target_modules=["a"], alpha=4)
    assert render.adapter_digest(folder) != first  # other weights
    # The weights file adapter.json names; a missing one; an unreadable or non-object adapter.json.
    weights.rename(folder / "custom.safetensors")
    write_json_atomic(folder / "adapter.json", {**meta, "weights": "custom.safetensors"})
    named = render.adapter_digest(folder)
    assert named == digest({"adapter": {k: meta.get(k) for k in render.ADAPTER_PIXEL_FIELDS},
                            "weights": tensor_digest(folder / "custom.safetensors")})
    write_json_atomic(folder / "adapter.json", meta)
    assert render.adapter_digest(folder) == digest({"adapter": {k: meta.get(k) for k in render.ADAPTER_PIXEL_FIELDS},
                                                    "weights": "missing"})
    nothing = digest({"adapter": {k: None for k in render.ADAPTER_PIXEL_FIELDS}, "weights": "missing"})
    (folder / "adapter.json").write_text("[1, 2]")
    assert render.adapter_digest(folder) == nothing
    (folder / "adapter.json").write_text("{oops")
    assert render.adapter_digest(folder) == nothing
    (folder / "pytorch_lora_weights.safetensors").write_bytes((folder / "custom.safetensors").read_bytes())
    assert render.adapter_digest(folder) == digest({"adapter": {k: None for k in render.ADAPTER_PIXEL_FIELDS},
                                                    "weights": tensor_digest(folder / "custom.safetensors")})
    assert render.adapter_digest(tmp_path / "none") == nothing


def train_command(ws) -> str:
    """What render's hint names for missing LoRAs (issue 25 item 5; tests/test_hints.py): the whole chain."""
    return f"dreamrunner retrieve {ws.root} && dreamrunner adapt {ws.root} && dreamrunner render {ws.root}"


# stages/render.py: the stage with a recording fake model ----------------------------------------------------------


class _Hook:
    def __init__(self, hooks: list, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self) -> None:
        self.hooks.remove(self.fn)


class FakeTransformer:
    def __init__(self, log: list):
        from dreamrunner_cli.models.tiny import tiny_transformer_config

        self.log, self.config, self.peft_config, self.hooks = log, tiny_transformer_config(), {}, []

    def register_forward_pre_hook(self, fn):
        self.hooks.append(fn)
        return _Hook(self.hooks, fn)

    def forward(self) -> None:
        for fn in list(self.hooks):
            fn(self, ())

    def eval(self) -> None:
        self.log.append("eval")


class FakeVAE:
    def __init__(self, log: list):
        self.log = log

    def __getattr__(self, name):  # enable_tiling, disable_slicing, ...
        return lambda: self.log.append(f"vae.{name}")


class FakePipe:
    """What render calls on a pipeline, recorded in ``log``."""

    def __init__(self):
        self.log: list = []
        self.scheduler = "checkpoint scheduler"
        self.transformer, self.vae = FakeTransformer(self.log), FakeVAE(self.log)

    def load_lora_weights(self, folder, weight_name, adapter_name):
        self.log.append(("load", Path(folder).name, weight_name, adapter_name))
        self.transformer.peft_config[adapter_name] = {}

    def delete_adapters(self, names):
        self.log.append(("delete", names))
        for n in names:
            del self.transformer.peft_config[n]

    def unload_lora_weights(self):
        self.log.append("unload")
        self.transformer.peft_config = {}

    def enable_model_cpu_offload(self, device):
        self.log.append(("model offload", device))

    def enable_sequential_cpu_offload(self, device):
        self.log.append(("sequential offload", device))


@pytest.fixture
def fake(monkeypatch):
    """The model is a FakePipe; render_scene returns constant frames after calling its callbacks like diffusers."""
    from dreamrunner_cli.models import loading
    from dreamrunner_cli.sr3ai import pipeline

    state = SimpleNamespace(loads=[], pipes=[], renders=[], previews=[], fail=None, checked=[])
    # A FakePipe has no peft layers to compare the file's tensors with (tests/test_adapter_apply.py does that
    # on the tiny model): only record that every loaded adapter is checked.
    monkeypatch.setattr(render, "_check_loaded_whole", lambda pipe, name, weights: state.checked.append(name))

    def load_pipeline(cfg, place=True):
        pipe = FakePipe()
        state.loads.append((cfg.id, place))
        state.pipes.append(pipe)
        return pipe

    def use_scheduler(pipe, name):
        pipe.log.append(("scheduler", name))
        pipe.scheduler = f"{name} scheduler"
        return {"class": name}

    def render_scene(pipe, scene, cfg, seed, regions=None, adapters=None, on_step=None, on_latents=None):
        state.renders.append(SimpleNamespace(scene=scene.id, cfg=cfg, seed=seed, regions=regions,
                                             adapters=adapters, loaded=sorted(pipe.transformer.peft_config),
                                             hooks=len(pipe.transformer.hooks), on_latents=on_latents))
        for step in range(cfg.steps):
            pipe.transformer.forward()
            if state.fail is not None and step == cfg.steps - 1:
                raise state.fail
            on_step()
            if on_latents is not None:
                on_latents(step + 1, f"latents {step + 1}")
        frames = np.full((cfg.num_frames, cfg.height, cfg.width, 3), 40 * len(state.renders) % 256, np.uint8)
        return pipeline.SceneRender(frames, seed, [f"prompt of {scene.id}"], [f"{k}-{i}" for k, i in adapters], 0)

    def preview_frames(pipe, latents):
        assert pipe is state.pipes[-1]
        state.previews.append(latents)
        return np.zeros((3, 8, 8, 3), np.uint8)

    monkeypatch.setattr(loading, "load_pipeline", load_pipeline)
    monkeypatch.setattr(pipeline, "use_scheduler", use_scheduler)
    monkeypatch.setattr(pipeline, "render_scene", render_scene)
    monkeypatch.setattr(pipeline, "preview_frames", preview_frames)
    return state


@pytest.fixture
def decided(monkeypatch):
    """Every decision the stage makes: item → (deps, outs, info)."""
    seen: dict = {}
    real = StageRun.decide

    def spy(self, item, deps, outs, force=None, info=None):
        seen[item] = (deps, outs, info)
        return real(self, item, deps, outs, force=force, info=info)

    monkeypatch.setattr(StageRun, "decide", spy)
    return seen


def items(res) -> list[tuple]:
    return [(it["item"], it["run"], it["action"], it["reason"]) for it in res["items"]]


def record(ws: Workspace, item: str) -> dict:
    return Records.load(ws).get("render", item)


def test_render_decides_renders_records_and_stitches(tmp_path, fake, decided, capsys):
    from dreamrunner_cli.sr3ai.geometry_source import geometry_for
    from dreamrunner_cli.sr3ai.regions import scene_regions
    from dreamrunner_cli.workspace import tree_digest

    ws = make_ws(tmp_path)
    mia_f, waving, jumping = adapter(ws, "character", "mia"), adapter(ws, "motion", "waving"), \
        adapter(ws, "motion", "jumping")
    cfg = cfg_of("render.keyframe_policy=interpolate", "render.overlap=merged", "render.seed=1")
    plan = two_scene_plan()
    res = render.run(ws, cfg, progress=False)

    assert items(res) == [("s01", True, "ran", "never ran"), ("s02", True, "ran", "never ran"),
                          ("story", True, "ran", "never ran")]
    assert res["items"][0]["loras"] == ["character/mia", "motion/waving", "motion/jumping"]
    assert res["items"][0]["missing_loras"] == [] and res["items"][1]["loras"] == ["character/mia", "motion/waving"]
    assert "loras" not in res["items"][2]
    assert res["notes"] == [] and res["dry_run"] is False and res["stage"] == "render"
    assert res["story"] == str(ws.story_video) and ws.story_video.exists() and ws.storyboard.exists()
    assert Records.load(ws).get("plan", "storyboard")["outs"] == {"storyboard.png": ANY}  # the plan stage's item
    assert capsys.readouterr().err == ""  # progress=False: not a line

    # The scene's fingerprint: exactly what changes its pixels.
    deps, outs, info = decided["s01"]
    assert deps == {"plan.scenes[s01]": plan.scenes[0].model_dump(mode="json"),
                    "config.model": cfg.model.model_dump(),
                    "config.render": cfg.render.model_dump(exclude={"preview_every"}),
                    "seed": render.scene_seed(1, "s01"),
                    "adapters": {"character/mia": render.adapter_digest(mia_f),
                                 "motion/waving": render.adapter_digest(waving),
                                 "motion/jumping": render.adapter_digest(jumping)},
                    "sr3ai_version": 2}
    assert render.SR3AI_VERSION == 2 and render.RENDER_KEYS_WITHOUT_PIXELS == {"preview_every"}
    assert outs == [ws.scene_video("s01")]
    assert info == {"loras": ["character/mia", "motion/waving", "motion/jumping"], "missing_loras": []}
    story_deps, story_outs, story_info = decided["story"]
    assert story_deps == {"renders": {"renders/s01.mp4": tree_digest(ws.scene_video("s01")),
                                      "renders/s02.mp4": tree_digest(ws.scene_video("s02"))},
                          "fps": 8, "stitch_version": 2}
    assert story_outs == [ws.story_video] and story_info is None and render.STITCH_VERSION == 2

    # What each scene was rendered with: its seed, its adapters (only they are loaded), its regions.
    geom = geometry_for("tiny", 64, 64, 9)
    assert [(r.scene, r.seed, r.adapters, r.loaded) for r in fake.renders] == [
        ("s01", render.scene_seed(1, "s01"), [("character", "mia"), ("motion", "waving"), ("motion", "jumping")],
         ["character-mia", "motion-jumping", "motion-waving"]),
        ("s02", render.scene_seed(1, "s02"), [("character", "mia"), ("motion", "waving")],
         ["character-mia", "motion-waving"])]
    for r, scene in zip(fake.renders, plan.scenes):
        assert r.cfg == cfg.render and r.hooks == 0 and r.on_latents is None
        expected = scene_regions(scene, geom, "interpolate", "merged")
        assert np.array_equal(r.regions.membership, expected.membership)
        assert [p.text for p in r.regions.prompts] == [p.text for p in expected.prompts]
    pipe = fake.pipes[0]
    assert fake.loads == [("tiny", True)]
    name = "pytorch_lora_weights.safetensors"
    assert pipe.log == [("scheduler", "dpm"),
                        ("load", "mia", name, "character-mia"), "eval",
                        ("load", "waving", name, "motion-waving"), "eval",
                        ("load", "jumping", name, "motion-jumping"), "eval",
                        ("delete", ["motion-jumping"]),
                        "unload", "vae.disable_tiling", "vae.disable_slicing"]
    assert pipe.scheduler == "checkpoint scheduler"  # given back as it was
    assert fake.checked == ["character-mia", "motion-waving", "motion-jumping"]  # each load checked once

    # Records and the run log.
    s01 = record(ws, "s01")
    assert s01["seed"] == render.scene_seed(1, "s01") and s01["prompts"] == ["prompt of s01"]
    assert s01["adapters"] == ["character-mia", "motion-waving", "motion-jumping"]
    assert s01["scheduler"] == {"class": "dpm"} and res["items"][0]["fingerprint"] == s01["fingerprint"]
    assert list(s01["outs"]) == ["renders/s01.mp4"] and list(record(ws, "story")["outs"]) == ["story.mp4"]
    assert record(ws, "story")["stitch"] == "copy" and "seed" not in record(ws, "story")
    run = ws.read_runs()[-1]
    assert run["stage"] == "render" and run["outcome"] == "ok" and run["attention"] == "sdpa"
    assert run["seeds"] == {"s01": render.scene_seed(1, "s01"), "s02": render.scene_seed(1, "s02")}
    assert run["models"] == {"video_model": "tiny", "revision": None, "dtype": "float32"}
    assert run["scheduler"] == {"class": "dpm"} and res["scheduler"] == {"class": "dpm"}
    from dreamrunner_cli.video import read_video

    frames, fps = read_video(ws.scene_video("s02"))
    assert frames.shape == (9, 64, 64, 3) and abs(int(frames.mean()) - 80) <= 2 and fps == 8
    assert read_video(ws.story_video)[0].shape[0] == 18


def test_render_again_skips_and_only_what_an_edit_touches_re_renders(tmp_path, fake):
    ws = make_ws(tmp_path)
    for kind, item in (("character", "mia"), ("motion", "waving"), ("motion", "jumping")):
        adapter(ws, kind, item)
    render.run(ws, cfg_of(), progress=False)
    fake.renders.clear()
    res = render.run(ws, cfg_of(), progress=False)
    assert items(res) == [("s01", False, "skipped", "up to date"), ("s02", False, "skipped", "up to date"),
                          ("story", False, "skipped", "up to date")]
    assert fake.renders == [] and len(fake.loads) == 1 and res["story"] == str(ws.story_video)
    run = ws.read_runs()[-1]
    assert run["seeds"] == {} and run["outcome"] == "ok" and "scheduler" not in run
    # A key that changes no pixel; then a key of another stage.
    assert {it["action"] for it in render.run(ws, cfg_of("render.preview_every=5"), progress=False)["items"]} == \
        {"skipped"}
    assert {it["action"] for it in render.run(ws, cfg_of("evaluate.alignment_frames=4"), progress=False)["items"]} \
        == {"skipped"}
    # One scene's plan; then one adapter only s01 uses; then the seed.
    data = json.loads(ws.plan.read_text())
    data["scenes"][1]["keyframes"][0]["regions"][0]["box"] = [0.5, 0.5, 1.0, 1.0]
    ws.plan.write_text(json.dumps(data))
    res = render.run(ws, cfg_of(), progress=False)
    entity = data["scenes"][1]["keyframes"][0]["regions"][0]["entity"]
    assert items(res) == [("s01", False, "skipped", "up to date"),
                          ("s02", True, "ran", f"plan.scenes[s02].keyframes[0].regions[{entity}].box changed"),
                          ("story", True, "ran", "renders changed")]
    assert [r.scene for r in fake.renders] == ["s02"]
    adapter(ws, "motion", "jumping", value=3.0)
    res = render.run(ws, cfg_of(), progress=False)
    assert items(res)[:2] == [("s01", True, "ran", "adapters changed"), ("s02", False, "skipped", "up to date")]
    res = render.run(ws, cfg_of("render.seed=3"), progress=False)
    assert items(res)[:2] == [("s01", True, "ran", "config.render.seed 0 → 3, seed changed"),
                              ("s02", True, "ran", "config.render.seed 0 → 3, seed changed")]
    res = render.run(ws, cfg_of("render.seed=3"), force=True, progress=False)
    assert {it["reason"] for it in res["items"]} == {"forced (--force)"}
    ws.scene_video("s01").unlink()
    res = render.run(ws, cfg_of("render.seed=3"), progress=False)
    assert items(res)[0] == ("s01", True, "ran", "output renders/s01.mp4 missing")


def test_dry_run_decides_and_writes_nothing(tmp_path, fake, capsys):
    ws = make_ws(tmp_path)
    res = render.run(ws, cfg_of(*LENIENT), dry_run=True, progress=True)
    assert items(res) == [("s01", True, "would run", "never ran"), ("s02", True, "would run", "never ran"),
                          ("story", True, "would run", "never ran")]  # issue 25 item 6
    assert res["dry_run"] is True and res["story"] is None
    assert res["notes"] == [
        "missing LoRAs (s01: character/mia, motion/waving, motion/jumping; s02: character/mia, motion/waving): "
        "those regions render without them (render.require_adapters is false)"]
    assert fake.loads == [] and fake.renders == [] and capsys.readouterr().err == ""
    assert sorted(p.name for p in ws.root.iterdir()) == ["plan.json"]
    # Rendered, then a dry run after an edit: the scene would render, so the story would be re-stitched.
    render.run(ws, cfg_of(*LENIENT), progress=False)
    data = json.loads(ws.plan.read_text())
    data["scenes"][0]["narration"] = "Mia waves."
    ws.plan.write_text(json.dumps(data))
    before = ws.story_video.read_bytes()
    res = render.run(ws, cfg_of(*LENIENT), dry_run=True, progress=False)
    assert items(res) == [("s01", True, "would run", "plan.scenes[s01].narration changed"),
                          ("s02", False, "skipped", "up to date"),
                          ("story", True, "would run", "renders would change (s01)")]
    assert ws.story_video.read_bytes() == before and len(fake.renders) == 2
    ws.story_video.unlink()
    res = render.run(ws, cfg_of(*LENIENT), dry_run=True, progress=False, only=["s02"])
    assert items(res) == [("s02", False, "skipped", "up to date"),
                          ("story", True, "would run", "output story.mp4 missing")]
    assert not ws.story_video.exists() and res["story"] is None


def test_one_scene_and_unknown_scenes(tmp_path, fake, capsys):
    ws = make_ws(tmp_path)
    res = render.run(ws, cfg_of(*LENIENT), only=["s02"])  # progress is on by default
    assert "render: scene 1/1 s02 encode mp4" in capsys.readouterr().err
    assert items(res) == [("s02", True, "ran", "never ran")]
    assert res["notes"] == ["missing LoRAs (s02: character/mia, motion/waving): those regions render without them "
                            "(render.require_adapters is false)",
                            "story.mp4 not stitched: scenes ['s01'] not rendered yet"]
    assert res["story"] is None and not ws.story_video.exists() and ws.scene_video("s02").exists()
    assert [r.scene for r in fake.renders] == ["s02"]
    with pytest.raises(UnknownItem) as err:
        render.run(ws, cfg_of(*LENIENT), only=["s02", "s09", "s00"], progress=False)
    assert err.value.message == "unknown scene id(s) s00, s09"
    assert err.value.hint == "scene ids: s01, s02" and err.value.exit_code == 2
    assert len(fake.loads) == 1 and len(ws.read_runs()) == 1  # refused before any work: not logged
    res = render.run(ws, cfg_of(*LENIENT), only=["s01", "s02"], progress=False)
    assert items(res) == [("s01", True, "ran", "never ran"), ("s02", False, "skipped", "up to date"),
                          ("story", True, "ran", "never ran")]


def test_checks_before_any_model_loads(tmp_path, fake):
    ws = make_ws(tmp_path)
    with pytest.raises(UsageError, match=r"render\.num_frames=10 cannot be produced exactly"):
        render.run(ws, cfg_of(*LENIENT, "render.num_frames=10"), progress=False)
    assert fake.loads == [] and not ws.runs_log.exists()
    # A box narrower than a token: a warning per key frame, for the scenes asked for only.
    plan = two_scene_plan()
    sliver = (0.5, 0.0, 0.505, 1.0)
    plan.scenes[1].keyframes = [Keyframe(regions=[mia("waving"), Region(entity="rock", motion="none",
                                                                        caption="a rock", box=sliver)])] * 6
    write_json_atomic(ws.plan, plan.model_dump(mode="json"))
    res = render.run(ws, cfg_of(*LENIENT), dry_run=True, progress=False)
    warnings = [n for n in res["notes"] if n.startswith("warning: ")]
    assert len(warnings) == 6 and warnings[0].startswith("warning: scene s02, key frame 1, entity rock: box ")
    res = render.run(ws, cfg_of(*LENIENT), dry_run=True, only=["s01"], progress=False)
    assert not any(n.startswith("warning") for n in res["notes"])
    # A model whose geometry cannot be read without loading it: those checks wait for the model.
    res = render.run(ws, cfg_of(*LENIENT, "model.id=nobody/not-cached"), dry_run=True, progress=False)
    assert not any(n.startswith("warning") for n in res["notes"])
    assert render._geometry_without_weights(cfg_of("model.id=nobody/not-cached")) is None
    geom = render._geometry_without_weights(cfg_of("render.height=32", "render.width=48"))
    assert (geom.rows, geom.cols, geom.num_frames) == (2, 3, 9)


def test_without_loras_the_scene_says_why(tmp_path, fake, decided):
    ws = make_ws(tmp_path)
    adapter(ws, "motion", "waving")
    res = render.run(ws, cfg_of("render.use_adapters=false"), progress=False)
    assert res["notes"] == [
        "s01: not using LoRAs motion/waving, character/mia, motion/jumping: render.use_adapters is false",
        "s02: not using LoRAs motion/waving, character/mia: render.use_adapters is false"]
    assert decided["s01"][0]["adapters"] == {} and decided["s01"][2] == {"loras": [], "missing_loras": []}
    assert [r.adapters for r in fake.renders] == [[], []] and fake.renders[0].regions is not None
    assert fake.pipes[0].log == [("scheduler", "dpm"), "vae.disable_tiling", "vae.disable_slicing"]
    res = render.run(ws, cfg_of("render.attention=none"), progress=False)
    assert res["notes"][0] == "s01: not using LoRAs motion/waving, character/mia, motion/jumping: render.attention " \
                              "is none (the stock model takes no region LoRAs)"
    assert [r.regions for r in fake.renders[2:]] == [None, None]
    assert ws.read_runs()[-1]["attention"] == "none"
    # A scene bound to no LoRA has nothing to say.
    plan = two_scene_plan()
    plan.scenes = [Scene(id="s03", narration="A rock.", background="a field", keyframes=[Keyframe(regions=[ROCK])])]
    write_json_atomic(ws.plan, plan.model_dump(mode="json"))
    res = render.run(ws, cfg_of("render.use_adapters=false"), dry_run=True, progress=False)
    assert res["notes"] == [] and items(res)[-1] == ("story", True, "would run", "renders would change (s03)")


def test_missing_loras_stop_render_naming_the_adapt_command(tmp_path, fake):
    ws = make_ws(tmp_path)
    adapter(ws, "motion", "waving")
    with pytest.raises(MissingUpstream) as err:
        render.run(ws, cfg_of(), progress=False)
    assert err.value.message == "scenes are bound to LoRAs that were never trained (s01: character/mia, " \
                                "motion/jumping; s02: character/mia)"
    assert err.value.hint == f"run `{train_command(ws)}` (finished items are skipped), or " \
                             "render without them with --set render.require_adapters=false"
    assert err.value.exit_code == 3 and fake.loads == [] and not ws.runs_log.exists()
    assert not ws.renders_dir.exists()
    res = render.run(ws, cfg_of(), dry_run=True, progress=False)
    assert res["notes"][0] == "missing LoRAs (s01: character/mia, motion/jumping; s02: character/mia): render stops " \
                              f"until `{train_command(ws)}` has run"
    assert res["items"][0]["missing_loras"] == ["character/mia", "motion/jumping"]
    # Only the scenes that must render count: an up-to-date scene whose LoRA went missing is only noted.
    adapter(ws, "character", "mia")
    adapter(ws, "motion", "jumping")
    render.run(ws, cfg_of(), only=["s02"], progress=False)
    import shutil

    shutil.rmtree(ws.adapters_dir / "motion" / "jumping")
    res = render.run(ws, cfg_of(), only=["s02"], progress=False)
    assert items(res) == [("s02", False, "skipped", "up to date")]
    with pytest.raises(MissingUpstream, match=r"never trained \(s01: motion/jumping\)"):
        render.run(ws, cfg_of(), progress=False)


def test_a_missing_lora_of_an_up_to_date_scene_is_noted_not_refused(tmp_path, fake):
    ws = make_ws(tmp_path)
    for kind, item in (("character", "mia"), ("motion", "waving"), ("motion", "jumping")):
        adapter(ws, kind, item)
    render.run(ws, cfg_of(), progress=False)
    (ws.adapters_dir / "character" / "rex").mkdir()  # rex's failed training: now missing, fingerprint unchanged
    res = render.run(ws, cfg_of(), progress=False)
    assert [it["action"] for it in res["items"]] == ["skipped", "skipped", "skipped"]
    assert res["notes"] == ["missing LoRAs (s01: character/rex): render stops until "
                            f"`{train_command(ws)}` has run"]
    assert res["items"][0]["missing_loras"] == ["character/rex"]


def test_adapters_that_do_not_fit_the_model_are_named(tmp_path, fake):
    ws = make_ws(tmp_path)
    adapter(ws, "character", "mia")
    adapter(ws, "motion", "waving", blocks=[1])
    adapter(ws, "motion", "jumping", base_model={**tiny_identity(), "num_layers": 4})
    res = render.run(ws, cfg_of(), dry_run=True, progress=False)
    assert res["notes"][:2] == ["adapter motion/jumping cannot be used: it was trained for another model",
                                "adapter motion/waving cannot be used: its blocks [1] are not this model's even "
                                "blocks"]
    with pytest.raises(MissingUpstream) as err:
        render.run(ws, cfg_of(), progress=False)
    assert err.value.message == (
        "scenes are bound to LoRAs that were never trained or do not fit this model (motion/jumping: it was trained "
        "for another model; motion/waving: its blocks [1] are not this model's even blocks) (s01: motion/waving, "
        "motion/jumping; s02: motion/waving)")
    # Without LoRAs in use they are not even checked.
    res = render.run(ws, cfg_of("render.use_adapters=false"), dry_run=True, progress=False)
    assert not any(n.startswith("adapter ") for n in res["notes"])
    # Nothing trained yet (no adapters folder): nothing to check against the model, no note about it.
    other = make_ws(tmp_path / "other")
    res = render.run(other, cfg_of(*LENIENT, "model.id=nobody/not-cached"), dry_run=True, progress=False)
    assert not any("not checked" in n for n in res["notes"])
    res = render.run(ws, cfg_of(*LENIENT, "model.id=nobody/not-cached"), dry_run=True, progress=False)
    assert res["notes"][0].startswith("adapters not checked against model 'nobody/not-cached': ")
    assert res["items"][0]["loras"] == ["character/mia", "motion/waving", "motion/jumping"]


def test_many_missing_loras_name_the_whole_adapt_command(tmp_path, fake):
    plan = two_scene_plan()
    for m in ("a", "b", "c", "d"):
        plan.motions.append(Motion(id=m, description=m))
    plan.scenes[1].keyframes = [Keyframe(regions=[mia(m), ROCK]) for m in ("a", "b", "c", "d", "a", "b")]
    ws = make_ws(tmp_path, plan)
    with pytest.raises(MissingUpstream) as err:
        render.run(ws, cfg_of(), progress=False)
    assert err.value.hint.startswith(f"run `{train_command(ws)}` (finished items are skipped), or")


def test_memory_options_and_a_pipeline_of_this_call_alone(tmp_path, fake, monkeypatch):
    from dreamrunner_cli.models import loading

    monkeypatch.setattr(loading, "cuda_count", lambda: 1)  # CPU offload needs a GPU (else exit 2: test_devices_upfront)
    ws = make_ws(tmp_path)
    gpu = "model.device=cuda"
    render.run(ws, cfg_of(*LENIENT, gpu, "render.cpu_offload=model", "render.vae_tiling=true",
                          "render.vae_slicing=true"), progress=False, only=["s01"])
    assert fake.loads == [("tiny", False)]  # offload places the modules itself
    assert fake.pipes[0].log == [("model offload", "cuda"), "vae.enable_tiling", "vae.enable_slicing",
                                 ("scheduler", "dpm"), "vae.disable_tiling", "vae.disable_slicing"]
    render.run(ws, cfg_of(*LENIENT, gpu, "render.cpu_offload=sequential"), progress=False, only=["s01"])
    assert fake.loads[1] == ("tiny", False)
    assert fake.pipes[1].log[:2] == [("sequential offload", "cuda"), ("scheduler", "dpm")]
    # A pool is not used with CPU offload: the hooks it installs cannot be undone.
    from dreamrunner_cli.models.pool import ModelPool

    pool = ModelPool()
    render.run(ws, cfg_of(*LENIENT, gpu, "render.cpu_offload=model"), progress=False, only=["s01"], models=pool,
               force=True)
    assert pool.loads == 0 and fake.loads[2] == ("tiny", False)


def test_a_shared_pipeline_is_loaded_once_and_progress_shows_each_phase(tmp_path, fake, capsys):
    from dreamrunner_cli.models.pool import ModelPool

    ws = make_ws(tmp_path)
    adapter(ws, "motion", "waving")
    adapter(ws, "character", "mia")
    pool = ModelPool()
    cfg = cfg_of(*LENIENT, "render.steps=2")
    render.run(ws, cfg, progress=True, models=pool, only=["s02"])
    assert fake.loads == [("tiny", True)] and pool.loads == 1 and fake.renders[0].hooks == 1
    lines = re.sub(r"\d+\.\d s", "T", capsys.readouterr().err).splitlines()
    assert lines == ["render: load model tiny … T",
                     "render: scene 1/1 s02 load LoRAs character-mia, motion-waving … T",
                     "render: scene 1/1 s02 encode prompts … T",
                     "render: scene 1/1 s02 denoise 0/2 (T)",
                     "render: scene 1/1 s02 denoise 2/2 (T)",
                     "render: scene 1/1 s02 VAE decode … T",
                     "render: scene 1/1 s02 encode mp4 … T"]
    pipe = fake.pipes[0]
    assert pipe.transformer.hooks == [] and pipe.transformer.peft_config == {}
    render.run(ws, cfg, progress=True, models=pool, force=True)
    assert len(fake.loads) == 1 and pool.loads == 1  # already loaded: borrowed, no load phase
    lines = re.sub(r"\d+\.\d s", "T", capsys.readouterr().err).splitlines()
    assert lines[0] == "render: scenes rendered 0/2 (T)"  # the overall bar when more than one scene renders
    assert lines[1] == "render: scene 1/2 s01 load LoRAs character-mia, motion-waving … T"
    assert "render: scenes rendered 2/2 (T)" in lines
    assert "render: scene 2/2 s02 encode mp4 … T" in lines
    assert not any(line.startswith("render: scene 2/2 s02 load LoRAs") for line in lines)  # s01 loaded them
    assert lines[-1] == "render: stitch story.mp4 (2 scenes) … T"
    assert not any("load model" in line for line in lines)


def test_a_failing_render_is_logged_and_the_pipeline_given_back(tmp_path, fake, capsys):
    ws = make_ws(tmp_path)
    adapter(ws, "motion", "waving")
    fake.fail = RuntimeError("CUDA error: out of memory " + "x" * 400)
    with pytest.raises(RuntimeError):
        render.run(ws, cfg_of(*LENIENT, "render.steps=2"), progress=True, only=["s02"])
    last = ws.read_runs()[-1]
    assert last["stage"] == "render" and last["outcome"] == "error"
    assert last["error"] == f"RuntimeError: {fake.fail}"[:300] and len(last["error"]) == 300
    assert [i["item"] for i in last["items"]] == ["s02"]
    pipe = fake.pipes[0]
    assert pipe.log[-4:] == ["eval", "unload", "vae.disable_tiling", "vae.disable_slicing"]
    assert pipe.transformer.hooks == [] and pipe.scheduler == "checkpoint scheduler"
    err = re.sub(r"\d+\.\d s", "T", capsys.readouterr().err).splitlines()
    assert err[-1] == "render: scene 1/1 s02 denoise 1/2 (T) stopped"
    assert not ws.scene_video("s02").exists() and record(ws, "s02") is None
    fake.fail = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        render.run(ws, cfg_of(*LENIENT), progress=False, only=["s02"])
    assert ws.read_runs()[-1]["outcome"] == "interrupted" and ws.read_runs()[-1]["error"] == "KeyboardInterrupt: "
    # Failing before the first denoising step ends the prompts phase as stopped.
    fake.fail = None
    from dreamrunner_cli.sr3ai import pipeline

    def fails_at_once(*a, **k):
        raise ValueError("bad prompt")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "render_scene", fails_at_once)
        with pytest.raises(ValueError):
            render.run(ws, cfg_of(*LENIENT), progress=True, only=["s02"])
    err = re.sub(r"\d+\.\d s", "T", capsys.readouterr().err).splitlines()
    assert err[-1] == "render: scene 1/1 s02 encode prompts … stopped after T"


def test_previews_every_n_steps(tmp_path, fake):
    from PIL import Image

    ws = make_ws(tmp_path)
    render.run(ws, cfg_of(*LENIENT, "render.steps=3", "render.preview_every=2"), progress=False, only=["s01"])
    assert fake.previews == ["latents 2"]
    preview = ws.renders_dir / ".preview" / "s01.png"
    assert Image.open(preview).size == (24, 8) and not list(preview.parent.glob(".tmp-*"))
    assert render._previewer(fake.pipes[0], ws, "s01", 0) is None
    write = render._previewer(fake.pipes[0], ws, "s02", 1)
    write(1, "latents 1")
    assert fake.previews[-1] == "latents 1" and (ws.renders_dir / ".preview" / "s02.png").exists()


def test_load_adapter_takes_the_first_safetensors_and_leaves_eval_mode(tmp_path, monkeypatch):
    pipe = FakePipe()
    monkeypatch.setattr(render, "_check_loaded_whole",  # the fake has no peft layers (see the `fake` fixture)
                        lambda pipe, name, weights: pipe.log.append(("check whole", name, weights.name)))
    folder = tmp_path / "motion" / "waving"
    folder.mkdir(parents=True)
    write_json_atomic(folder / "adapter.json", {"kind": "motion", "id": "waving"})
    with pytest.raises(InputInvalid) as err:
        render._load_adapter(pipe, "motion-waving", folder)
    assert err.value.message == f"adapter folder {folder} has no .safetensors file"
    assert err.value.hint == "re-run `dreamrunner adapt` for motion waving" and pipe.log == []
    for name in ("b.safetensors", "a.safetensors"):
        (folder / name).write_bytes(b"")
    render._load_adapter(pipe, "motion-waving", folder)
    assert pipe.log == [("load", "waving", "a.safetensors", "motion-waving"),
                        ("check whole", "motion-waving", "a.safetensors"), "eval"]


def test_borrowed_gives_back_a_pipeline_without_loras_untouched_when_it_had_none():
    pipe = FakePipe()
    with pytest.raises(KeyError):
        with render._borrowed(pipe):
            pipe.scheduler = "other"
            raise KeyError("x")
    assert pipe.scheduler == "checkpoint scheduler"
    assert pipe.log == ["vae.disable_tiling", "vae.disable_slicing"]  # no peft config: nothing to unload


def test_a_real_tiny_render_of_one_scene(tmp_path):
    from dreamrunner_cli.video import probe_video

    plan = two_scene_plan()
    plan.scenes = plan.scenes[1:]
    ws = make_ws(tmp_path, plan)
    res = render.run(ws, cfg_of(*LENIENT, "render.height=32", "render.width=32"), progress=False)
    assert [it["action"] for it in res["items"]] == ["ran", "ran"]
    info = probe_video(ws.scene_video("s02"))
    assert (info.frames, info.width, info.height) == (9, 32, 32)
    rec = record(ws, "s02")
    assert rec["scheduler"]["class"] == "CogVideoXDPMScheduler" and rec["adapters"] == []
    assert rec["prompts"] and rec["seed"] == render.scene_seed(0, "s02")
    assert record(ws, "story")["stitch"] == "copy"


def test_regions_follow_keyframe_policy_and_overlap(tmp_path, fake):
    from dreamrunner_cli.sr3ai.geometry_source import geometry_for
    from dreamrunner_cli.sr3ai.regions import scene_regions

    plan = two_scene_plan()
    boxes = [(0.0, 0.0, 0.25, 0.5), (0.25, 0.0, 0.5, 0.5), (0.5, 0.0, 0.75, 0.5), (0.75, 0.0, 1.0, 0.5),
             (0.75, 0.5, 1.0, 1.0), (0.5, 0.5, 0.75, 1.0)]
    merged = Region(entity="mia", motion="waving", caption="Mia waves over the rock", box=(0.5, 0.5, 1.0, 1.0))
    plan.scenes = [Scene(id="s01", narration="Mia runs round.", background="a park", characters=["mia"],
                         motions=["waving"], keyframes=[Keyframe(regions=[mia("waving", b), ROCK], merged=[merged])
                                                        for b in boxes])]
    ws = make_ws(tmp_path, plan)
    geom = geometry_for("tiny", 64, 64, 9)
    scene = plan.scenes[0]
    # Each setting gives other regions than any other here, so none can stand for another.
    variants = {(p, o): scene_regions(scene, geom, p, o) for p in ("repeat", "interpolate") for o in ("all", "merged")}
    keys = list(variants)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert not np.array_equal(variants[a].membership, variants[b].membership), (a, b)
    for policy, overlap in (("interpolate", "all"), ("repeat", "merged")):
        fake.renders.clear()
        render.run(ws, cfg_of(*LENIENT, f"render.keyframe_policy={policy}", f"render.overlap={overlap}"),
                   progress=False)
        got, want = fake.renders[0].regions, scene_regions(scene, geom, policy, overlap)
        assert np.array_equal(got.membership, want.membership)
        assert [p.text for p in got.prompts] == [p.text for p in want.prompts]
        default = scene_regions(scene, geom)
        assert not (np.array_equal(got.membership, default.membership)
                    and [p.text for p in got.prompts] == [p.text for p in default.prompts])


def test_clips_of_another_fps_are_stitched_again_at_render_fps(tmp_path, fake):
    from dreamrunner_cli.video import read_video

    ws = make_ws(tmp_path)
    render.run(ws, cfg_of(*LENIENT), only=["s01"], progress=False)
    res = render.run(ws, cfg_of(*LENIENT, "render.fps=12"), only=["s02"], progress=False)
    assert items(res) == [("s02", True, "ran", "never ran"), ("story", True, "ran", "never ran")]
    assert record(ws, "story")["stitch"] == "reencode"
    frames, fps = read_video(ws.story_video)
    assert frames.shape[0] == 18 and fps == 12  # not imageio's default (16)
