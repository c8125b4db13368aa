"""The README's step-by-step walkthrough, run as written, on this (CPU) machine: the block after
``<!-- walkthrough -->`` is executed by bash, line by line, with the installed console script, in a fresh folder that
holds the repository's examples/. A user who copies it gets this same path (issue 25, found item 1).

Also the two device checks that made the old walkthrough fail here: `plan` warns when the workspace's preset needs a
GPU this machine lacks, and `retrieve` says so before it loads its scorers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
needs_cpu_only = pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks what a machine without CUDA is told")


def walkthrough_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)\n```", readme, re.S)
    assert match, "README.md has no ```bash block after <!-- walkthrough -->"
    return match.group(1)


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("DREAMRUNNER_DB", None)
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)


def test_the_walkthrough_block_is_the_steps_a_user_reads():
    block = walkthrough_block()
    commands = [line for line in block.splitlines() if line.startswith("dreamrunner ")]
    assert [c.split()[1] for c in commands] == ["plan", "schema", "retrieve", "adapt", "render", "evaluate", "status"]
    assert "--preset tiny" in commands[0]  # the preset is named where it is chosen


@pytest.mark.slow  # seven processes, each loading torch: about 1 min on 2 idle cores (make test-slow, run by .ci/run)
def test_the_readme_walkthrough_runs_as_written(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    proc = shell(walkthrough_block(), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ws = tmp_path / "ws" / "teddy"
    schema = json.loads((tmp_path / "plan.schema.json").read_text(encoding="utf-8"))
    assert schema.get("type") == "object"
    plan = json.loads((ws / "plan.json").read_text(encoding="utf-8"))
    for scene in plan["scenes"]:
        assert (ws / "renders" / f"{scene['id']}.mp4").stat().st_size > 0
    assert (ws / "story.mp4").stat().st_size > 0
    assert (ws / "storyboard.png").exists()
    assert json.loads((ws / "eval" / "metrics.json").read_text(encoding="utf-8"))
    assert "CUDA" not in proc.stderr  # the tiny preset needs no GPU: no device warning, no device error


@pytest.mark.slow  # two CLI processes with real-preset config resolution: ~30 s (make test-ci-slow)
@needs_cpu_only
def test_plan_warns_when_the_preset_needs_a_gpu_and_retrieve_stops_before_loading(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    proc = shell("dreamrunner plan examples/stories/teddy.txt --workspace ws --preset cogvideox-2b", tmp_path)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:") and "CUDA" in line]
    assert len(warnings) == 1, proc.stderr
    assert "retrieve.device=cuda" in warnings[0] and "--preset tiny" in warnings[0]
    proc = shell("dreamrunner retrieve ws --db demo", tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "retrieve.device=cuda" in proc.stderr and "--set retrieve.device=cpu" in proc.stderr
    assert "load scorers" not in proc.stderr  # said before seconds of loading, not after
