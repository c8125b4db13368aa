"""A killed `adapt` run resumes from its last checkpoint and ends with exactly the weights of an uninterrupted run.

The first run is a real subprocess that SIGKILLs itself right after step 7 (checkpoints every 3 steps), so the
process dies with no chance to clean up; the resumed and the uninterrupted runs then happen here (CPU, one thread,
fixed seeds, dropout on so the RNG state matters).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from adapt_fixtures import clips_folder, make_workspace

OVERRIDES = ["adapt.steps=10", "adapt.checkpoint_every=3", "adapt.reuse=false", "adapt.dropout=0.1",
             "adapt.spatial_skip_prob=0.3"]
KILL_AT = 7

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    from dreamrunner_cli.adapt import trainer
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.stages import adapt as stage
    from dreamrunner_cli.workspace import Workspace

    ws, clips, kill_at, overrides = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    real = trainer.train_lora

    def killing(*args, **kwargs):
        inner = kwargs.get("on_step")

        def on_step(step, total, loss, info):
            if inner:
                inner(step, total, loss, info)
            if step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        kwargs["on_step"] = on_step
        return real(*args, **kwargs)

    trainer.train_lora = killing
    cfg = resolve_config(preset="tiny", overrides=overrides)
    stage.run(Workspace(Path(ws)), cfg, clips={"walking": Path(clips)}, motions=["walking"], progress=False)
    print("NOT KILLED")
""")


@pytest.fixture()
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path, one_thread):
    from safetensors.torch import load_file

    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.stages import adapt as stage

    clips = clips_folder(tmp_path / "clips")
    ws_a = make_workspace(tmp_path / "killed")
    ws_b = make_workspace(tmp_path / "straight")
    cfg = resolve_config(preset="tiny", overrides=OVERRIDES)

    # 1. A real process, killed with SIGKILL right after step 7.
    script = tmp_path / "kill_run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, str(script), str(ws_a.root), str(clips), str(KILL_AT), *OVERRIDES],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    ckpt = ws_a.adapters_dir / ".checkpoints" / "motion" / "walking"
    assert [p.name for p in ckpt.iterdir()] == ["step-000006"]  # only the newest, complete checkpoint
    assert not (ws_a.adapters_dir / "motion" / "walking").exists()  # nothing that looks finished
    assert stage.run(ws_a, cfg, clips={"walking": clips}, motions=["walking"], dry_run=True,
                     progress=False)["items"][0]["reason"] == "never ran"

    # 2. Resume in the same workspace; 3. an uninterrupted run of the same recipe elsewhere.
    stage.run(ws_a, cfg, clips={"walking": clips}, motions=["walking"], progress=False)
    stage.run(ws_b, cfg, clips={"walking": clips}, motions=["walking"], progress=False)

    rec_a = json.loads((ws_a.adapters_dir / "motion/walking/adapter.json").read_text())
    rec_b = json.loads((ws_b.adapters_dir / "motion/walking/adapter.json").read_text())
    from dreamrunner_cli.workspace import Records

    # where it resumed from is in the stage record; the adapter folders themselves are the same bytes
    assert Records.load(ws_a).get("adapt", "motion/walking")["resumed_from"] == 6
    assert Records.load(ws_b).get("adapt", "motion/walking")["resumed_from"] is None
    assert (ws_a.adapters_dir / "motion/walking/adapter.json").read_bytes() == \
        (ws_b.adapters_dir / "motion/walking/adapter.json").read_bytes()
    assert rec_a["loss_curve"] == rec_b["loss_curve"] and len(rec_a["loss_curve"]) == 10
    assert rec_a["spatial_loss_curve"] == rec_b["spatial_loss_curve"]
    wa = load_file(str(ws_a.adapters_dir / "motion/walking/pytorch_lora_weights.safetensors"))
    wb = load_file(str(ws_b.adapters_dir / "motion/walking/pytorch_lora_weights.safetensors"))
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)  # bit-identical
    assert any(wa[k].abs().sum() > 0 for k in wa if "lora_B" in k)  # and actually trained
    assert not (ws_a.adapters_dir / ".checkpoints").exists()


def test_checkpoint_of_another_recipe_is_not_resumed(tmp_path, one_thread):
    """A stale checkpoint (other hyper-parameters) is ignored: the run starts from step 0."""
    from dreamrunner_cli.adapt import checkpoint as ckpt
    from dreamrunner_cli.adapt import trainer
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.stages import adapt as stage

    clips = clips_folder(tmp_path / "clips")
    ws = make_workspace(tmp_path / "ws")
    cfg = resolve_config(preset="tiny", overrides=OVERRIDES)
    # Interrupt deterministically after step 4 (checkpoint at 3), in-process.
    real = trainer.train_lora

    class Stop(Exception):
        pass

    def interrupted(*args, **kwargs):
        def on_step(step, total, loss, info):
            if step == 4:
                raise Stop

        kwargs["on_step"] = on_step
        return real(*args, **kwargs)

    trainer.train_lora = interrupted
    try:
        with pytest.raises(Stop):
            stage.run(ws, cfg, clips={"walking": clips}, motions=["walking"], progress=False)
    finally:
        trainer.train_lora = real
    folder = ws.adapters_dir / ".checkpoints" / "motion" / "walking"
    assert [p.name for p in folder.iterdir()] == ["step-000003"]
    assert ws.read_runs()[-1]["outcome"] == "error"
    # Another learning rate is another recipe: its run starts from step 0 and the stale checkpoint goes away.
    cfg2 = resolve_config(preset="tiny", overrides=[*OVERRIDES, "adapt.lr=0.001"])
    stage.run(ws, cfg2, clips={"walking": clips}, motions=["walking"], progress=False)
    rec = json.loads((ws.adapters_dir / "motion/walking/adapter.json").read_text())
    assert rec["resumed_from"] is None and len(rec["loss_curve"]) == 10
    assert not folder.exists()
    assert ckpt.load_latest(folder, "anything") is None
