"""`make gpu-check` (dreamrunner_cli/sr3ai/gpu_check.py) and `make gpu-wheels` (tools/gpu_wheels.py), on a CPU.

No GPU here: the script's --smoke mode runs every part at the small geometry, so what a GPU run would execute cannot
rot. Rows must survive a timeout (each one on disk the moment it is measured; SIGTERM prints the partial table), every
number must be finite or become a failure row, and the wheel set must be derived from the image's package list with
every need resolved. The whole GPU path in a venv that stands in for the image is `make gpu-rehearsal` (slow).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dreamrunner_cli.sr3ai import gpu_check

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_smoke_runs_every_part_with_a_true_stock_baseline_and_honest_memory(tmp_path, capsys):
    out = tmp_path / "gpu-check.jsonl"
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    code = gpu_check.main(["--smoke", "--out", str(out)])
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers  # restored
    printed = capsys.readouterr().out
    rows = read_rows(out)
    assert code == 0, [r for r in rows if r["kind"] == "failure"]
    kinds = [r["kind"] for r in rows]
    assert kinds[:2] == ["image", "env"] and kinds[-1] == "done" and "failure" not in kinds
    assert rows[0]["versions"]["torch"] == rows[1]["torch"].split("+")[0]  # what the image itself holds
    assert kinds.count("build") == 1  # the transformer is built once and reused by every part
    steps = {r["variant"]: r for r in rows if r["kind"] == "step"}
    assert list(steps) == ["stock (1 prompt)", "P prompts, no masks", "sdpa", "flex", "flex, LoRA layers idle",
                           "flex + 4 LoRAs"]
    # The stock model sees one prompt (32 text tokens at the small geometry) + 450 video tokens; the others 4 prompts.
    assert steps["stock (1 prompt)"]["seq_len"] == 32 + 450 and steps["sdpa"]["seq_len"] == 4 * 32 + 450
    assert steps["stock (1 prompt)"]["x_stock"] == 1.0
    assert steps["flex + 4 LoRAs"]["in_round_vs"] == "flex, LoRA layers idle"
    assert all(math.isfinite(r["x_stock"]) for r in steps.values())
    memory = {r["variant"]: r for r in rows if r["kind"] == "memory"}
    assert set(memory) == set(steps)
    # Each variant is measured with only its own mask resident: the mask column is that one mask, not all of them.
    assert memory["stock (1 prompt)"]["mask_mib"] == memory["P prompts, no masks"]["mask_mib"] == 0
    assert memory["sdpa"]["mask_mib"] > memory["flex"]["mask_mib"] > 0
    compile_rows = [r for r in rows if r["kind"] == "compile"]
    assert len(compile_rows) == 1 and "S=578" in compile_rows[0]["what"]
    (agreement,) = [r for r in rows if r["kind"] == "agreement"]
    assert agreement["max_abs_diff"] < 1e-4
    (scene,) = [r for r in rows if r["kind"] == "scene"]
    assert scene["scheduler"] == "CogVideoXDPMScheduler" and scene["frames_out"] == 9 and scene["loras"] == 4
    assert scene["mask_calls"] == 2 * 3  # 2 blocks × 3 steps (CFG halves share one call)
    assert [r["backend"] for r in rows if r["kind"] == "mask_build"] == ["sdpa", "flex"]
    # Every row was printed as it came, and the table at the end holds the step rows with their memory.
    assert printed.count("] step P=4") == 6 and "FAILURE" not in printed
    table = out.with_suffix(".md").read_text()
    assert "| 4 | 482 | stock (1 prompt) |" in table and "| 4 | 578 | P prompts, no masks |" in table
    assert "Partial" not in table


def test_sigterm_keeps_the_rows_measured_so_far_and_prints_the_partial_table(tmp_path):
    """What `timeout` does to a run that would overrun: the rows already measured are on disk, and the table of them
    is printed before the exit."""
    out = tmp_path / "gpu-check.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "dreamrunner_cli.sr3ai.gpu_check", "--smoke", "--out", str(out)],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and any(r["kind"] == "mask_build" for r in read_rows(out)):
            break  # mid-way: the first mask build is measured, no step yet
        time.sleep(0.05)
    assert proc.poll() is None, "the smoke run ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    rows = read_rows(out)
    kinds = [r["kind"] for r in rows]
    assert kinds[:3] == ["image", "env", "mask_build"] and "step" not in kinds and "done" not in kinds
    assert "**Partial: stopped by SIGTERM after" in stdout
    table = stdout[stdout.index("# gpu-check --quick on cpu"):]
    for r in rows:  # every row on disk is in the printed table
        if r["kind"] != "env":
            assert gpu_check.format_row(r) in table
    assert out.with_suffix(".md").read_text().strip() == table.strip()


def test_a_nan_or_inf_is_a_failure_row_never_a_number(tmp_path, capsys):
    import torch

    log = gpu_check.Log(tmp_path / "rows.jsonl", "t")
    assert gpu_check.checked(log, "ratio", "step", {"x_stock": float("nan"), "step_ms": 3.0}) is None
    good = torch.ones(2, 3)
    gpu_check.agreement_row(log, 4, {"sdpa": good, "flex": good * float("inf")})
    gpu_check.agreement_row(log, 4, {"sdpa": good, "flex": good + 1e-3})
    rows = read_rows(tmp_path / "rows.jsonl")
    assert [r["kind"] for r in rows] == ["failure", "failure", "agreement"]
    assert rows[0]["part"] == "ratio" and rows[0]["reason"] == "not finite: x_stock = nan"
    assert rows[1]["part"] == "sdpa vs flex P=4" and "max_abs_diff = inf" in rows[1]["reason"]
    assert rows[2]["max_abs_diff"] == pytest.approx(1e-3, rel=1e-3)
    printed = capsys.readouterr().out
    assert "step P=" not in printed and printed.count("FAILURE in") == 2


def test_missing_dependencies_stop_the_run_before_any_gpu_work(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["no-such-package-dr21>=1", '
                                             '"packaging>=999", "importlib_metadata", "torch"]\n')
    monkeypatch.setattr(gpu_check, "ROOT", tmp_path)
    fatal, other = gpu_check.unmet_needs()
    assert fatal == ["no-such-package-dr21 is missing (dreamrunner needs no-such-package-dr21>=1)"]
    assert len(other) == 1 and other[0].startswith("packaging ") and "packaging>=999" in other[0]
    out = tmp_path / "rows.jsonl"
    assert gpu_check.main(["--smoke", "--out", str(out)]) == 2
    assert [r["kind"] for r in read_rows(out)] == ["image", "failure", "failure"]
    assert "make gpu-wheels" in capsys.readouterr().err


def test_make_gpu_check_fails_loudly_without_the_wheels(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for target in ("gpu-check", "gpu-user-run"):
        res = subprocess.run(["make", target, "GPU_PY=false"], cwd=tmp_path, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL)
        assert res.returncode == 2, res.stderr
        assert f"{target}: .whl/ holds no wheels" in res.stderr and "make gpu-wheels" in res.stderr
        assert "pip install" not in res.stdout  # stopped before installing or running anything


def test_the_user_runs_child_reports_each_stage_and_each_training_step(tmp_path, monkeypatch):
    """The instrumentation of `dreamrunner run` in --user-run (the real run is test_user_run_smoke, slow)."""
    from types import SimpleNamespace

    log = gpu_check.Log(tmp_path / "rows.jsonl", "user run")
    stage = gpu_check._timed_stage(log, "adapt", lambda ws, cfg: {"items": [{"item": "motion/walking",
                                                                              "action": "ran"}]})
    assert stage(None, None)["items"][0]["item"] == "motion/walking"
    seen = []

    def train(transformer, scheduler, data, spec, *, on_step=None, checkpoint_dir=None):
        for step in range(1, 5):
            time.sleep(0.01 if step > 1 else 0.05)
            on_step(step, 4, 0.5, {})
        return SimpleNamespace(seconds=0.08)

    timed = gpu_check._timed_training(log, train, {"motion": 500, "character": 160})
    timed(None, None, [], SimpleNamespace(kind="motion"), checkpoint_dir=tmp_path / "motion" / "walking",
          on_step=lambda *a: seen.append(a[0]))
    assert seen == [1, 2, 3, 4]  # the stage's own progress callback still runs
    rows = read_rows(tmp_path / "rows.jsonl")
    assert rows[0]["kind"] == "user_stage" and rows[0]["stage"] == "adapt"
    assert rows[0]["outcome"] == "ran 1: motion/walking" and rows[0]["peak_gib"] is None  # no CUDA here
    adapt = rows[1]
    assert adapt["kind"] == "user_adapt" and adapt["lora"] == "motion/walking" and adapt["steps"] == 4
    assert adapt["first_step_s"] >= 0.05 > adapt["s_per_step"] >= 0.01
    assert adapt["recipe_gpu_hours"] == pytest.approx((adapt["first_step_s"] + 499 * adapt["s_per_step"]) / 3600,
                                                      abs=2e-3)


@pytest.mark.slow
def test_user_run_smoke(tmp_path):
    """`--user-run --smoke`: tiny replica folder, then `dreamrunner run --preset cogvideox-2b` through the real CLI
    in a child process whose rows reach the parent's file (about 1.5 minutes on 2 shared cores)."""
    out = tmp_path / "rows.jsonl"
    assert gpu_check.main(["--user-run", "--smoke", "--out", str(out), "--work", str(tmp_path / "work"),
                           "--adapt-steps", "2"]) == 0
    rows = read_rows(out)
    stages = [r["stage"] for r in rows if r["kind"] == "user_stage"]
    assert [s for s in stages if not s.startswith("load")] == ["plan", "retrieve", "adapt", "render", "evaluate"]
    adapt = [r for r in rows if r["kind"] == "user_adapt"]
    assert adapt and all(r["steps"] == 2 and r["recipe_steps"] == 500 for r in adapt)
    (total,) = [r for r in rows if r["kind"] == "user_total"]
    assert total["exit"] == 0 and total["story_mp4_bytes"] > 0
    assert "--preset cogvideox-2b" in next(r for r in rows if r["kind"] == "user_command")["argv"]


@pytest.mark.slow
def test_gpu_check_in_a_venv_that_stands_in_for_the_gpu_image():
    """`make gpu-rehearsal`: a Python 3.12 venv holding only the image's packages (torch 2.11, transformers 5.17, no
    diffusers, no pydantic), the wheels of `make gpu-wheels` installed as the device call installs them, then
    `make gpu-check` and `make gpu-user-run` in --smoke mode. Needs python3.12 and PyPI (the venv: ~3 min once)."""
    py312 = shutil.which("python3.12")
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    if not pyenv and (py312 is None or subprocess.run([py312, "-V"], capture_output=True).returncode != 0):
        pytest.skip("no python3.12 here")
    out = ROOT / ".venv-gpu-image" / "out"
    res = subprocess.run(["make", "gpu-rehearsal"], cwd=ROOT, capture_output=True, text=True, timeout=1500,
                         stdin=subprocess.DEVNULL, env=ENV)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    check = read_rows(out / "gpu-check.jsonl")
    env = next(r for r in check if r["kind"] == "env")
    assert env["python"].startswith("3.12") and env["torch"].startswith("2.11") and env["transformers"] == "5.17.0"
    assert "pydantic" not in next(r for r in check if r["kind"] == "image")["versions"]  # only the wheels bring it
    assert check[-1] == {**check[-1], "kind": "done", "failures": 0}
    user = read_rows(out / "gpu-user-run.jsonl")
    assert any(r["kind"] == "user_total" and r["exit"] == 0 for r in user)


# tools/gpu_wheels.py: the wheel set derived from the image's package list --------------------------------------


def _wheels_tool():
    spec = importlib.util.spec_from_file_location("gpu_wheels", ROOT / "tools" / "gpu_wheels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_wheel_set_ships_what_the_image_lacks_with_every_need_resolved(tmp_path, monkeypatch):
    """No network: the lock, the wheels' Requires-Dist and the downloads are stand-ins; the rules are the real ones."""
    gw = _wheels_tool()
    needs = {"pydantic": ["pydantic-core==2.50.5", "typing-extensions>=4.16.0", "annotated-types>=0.6.0"],
             "pydantic-core": ["typing-extensions>=4.16.0"], "annotated-types": [],
             "diffusers": ["importlib_metadata", "huggingface-hub<3.0,>=1.32.0", "requests", "Pillow",
                           "peft>=0.17.0; extra == \"training\""],
             "typing-extensions": [], "imageio-ffmpeg": [], "peft": ["packaging>=20", "torch>=1.13"],
             "packaging": []}
    lock = {n: (v, []) for n, v in [("pydantic", "2.14.4"), ("pydantic-core", "2.50.5"), ("annotated-types", "0.8.0"),
                                    ("diffusers", "0.42.1"), ("typing-extensions", "4.16.0"), ("peft", "0.21.2"),
                                    ("packaging", "26.4"), ("imageio-ffmpeg", "0.8.1")]}
    downloads = []
    monkeypatch.setattr(gw, "download", lambda pins, dest: downloads.append(sorted(pins)))
    monkeypatch.setattr(gw, "wheel_of", lambda name, version, folder: name)
    monkeypatch.setattr(gw, "wheel_needs", lambda wheel: needs[wheel])
    image = {"torch": "2.11.0", "huggingface-hub": "1.33.0", "typing-extensions": None, "requests": None,
             "pillow": None, "peft": None, "packaging": None}
    ship, why, problems = gw.derive(tmp_path, image, lock, ["torch>=2.4", "diffusers>=0.32", "pydantic>=2",
                                                            "peft>=0.14,<1", "imageio-ffmpeg", "requests"])
    assert problems == []
    assert ship == {"diffusers": "0.42.1", "pydantic": "2.14.4", "pydantic-core": "2.50.5",
                    "annotated-types": "0.8.0", "typing-extensions": "4.16.0", "peft": "0.21.2", "packaging": "26.4",
                    "imageio-ffmpeg": gw.OVERRIDES["imageio-ffmpeg"][0]}
    assert "torch" not in ship and "requests" not in ship and "pillow" not in ship  # met by the image
    assert "importlib-metadata" not in ship and "left out" in why["importlib-metadata"][0]  # unused on 3.12
    assert any("version is unknown, so it ships" in w for w in why["typing-extensions"])
    assert downloads[0] == ["diffusers", "imageio-ffmpeg", "peft", "pydantic"]  # level by level, one pip call each

    # A known image version that a shipped package's need excludes is reported, not papered over.
    _, _, problems = gw.derive(tmp_path, {**image, "huggingface-hub": "1.20.0"}, lock, ["diffusers"])
    assert problems == ["the image's huggingface-hub 1.20.0 does not satisfy: diffusers 0.42.1 needs "
                        "huggingface-hub<3.0,>=1.32.0"]
    # Extras asked of a shipped package bring their own needs (and only theirs), also when asked for later.
    needs.update({"foo": ["baz; extra == \"bar\"", "qux; extra == \"other\""], "baz": [], "qux": [],
                  "later": ["foo[bar]"]})
    lock.update({n: ("1.0", []) for n in ("foo", "baz", "qux", "later")})
    ship, _, problems = gw.derive(tmp_path, image, lock, ["foo"])
    assert problems == [] and set(ship) == {"foo"}
    ship, _, problems = gw.derive(tmp_path, image, lock, ["foo", "later"])
    assert problems == [] and set(ship) == {"foo", "later", "baz"}
    # A need the lock does not hold says to refresh the lock.
    _, _, problems = gw.derive(tmp_path, image, lock, ["no-such-dep"])
    assert problems == ["no-such-dep is needed (dreamrunner needs no-such-dep) but is not in requirements/base.txt: "
                        "run `make lock`"]


def test_the_image_list_and_the_lock_are_read_as_the_tool_expects():
    gw = _wheels_tool()
    image = gw.read_image()
    assert image["torch"] == "2.11.0" and image["transformers"] == "5.17.0" and image["typing-extensions"] is None
    assert "diffusers" not in image and "pydantic" not in image  # what the image lacks
    lock = gw.read_lock()
    assert lock["pydantic"][0] == "2.14.4" and lock["pydantic"][1][0].startswith("sha256:")
    assert lock["numpy"][0] == "2.5.5"  # the entry whose marker holds on Python 3.12 (2.4.6 is for 3.11)
