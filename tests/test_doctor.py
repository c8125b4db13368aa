"""`dreamrunner doctor`: models found (or not) in a fake Hugging Face cache and in local folders, the right fix for
each, the LLM server failing fast, exit codes by severity, --json, and no torch at import time."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli import doctor as dr
from dreamrunner_cli.cli import app
from dreamrunner_cli.config import resolve_config

runner = CliRunner()
NO_CUDA = {"available": False, "devices": [], "torch": "x", "cuda": None}


def fake_pipeline(folder: Path, complete: bool = True) -> Path:
    """A diffusers pipeline folder: model_index.json + components with configs and (tiny) weight files."""
    folder.mkdir(parents=True, exist_ok=True)
    comps = ["transformer", "vae", "text_encoder", "tokenizer", "scheduler"]
    (folder / "model_index.json").write_text(json.dumps(
        {"_class_name": "CogVideoXPipeline", **{c: ["diffusers", "X"] for c in comps}}))
    for c in comps:
        (folder / c).mkdir(exist_ok=True)
        (folder / c / "config.json").write_text("{}")
        if complete and c in ("transformer", "vae", "text_encoder"):
            (folder / c / "model.safetensors").write_bytes(b"0")
    return folder


def fake_hub_repo(cache: Path, repo_id: str, complete: bool = True) -> Path:
    """``models--org--name/{refs/main, snapshots/<commit>/…}`` as huggingface_hub lays out its cache."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    return fake_pipeline(repo / "snapshots" / "abc123", complete)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("DREAMRUNNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DREAMRUNNER_DB", raising=False)
    monkeypatch.setattr(dr, "cuda_probe", lambda: NO_CUDA)  # the CLI's check, without importing torch
    (tmp_path / "hub").mkdir()
    return tmp_path


def by_name(result: dict) -> dict[str, dict]:
    return {c["name"]: c for c in result["checks"]}


def test_model_in_the_hub_cache_is_found_and_an_incomplete_one_is_an_error(env):
    cfg = resolve_config(preset="cogvideox-2b", overrides=["model.device=cpu", "retrieve.device=cpu"])
    spec = dr.configured_models(cfg)[0]
    missing = dr.check_model(spec)
    assert missing.status == "error" and missing.exit_code == 4
    assert "hf download THUDM/CogVideoX-2b" in missing.fix and str(env / "hub") in missing.message
    fake_hub_repo(env / "hub", "THUDM/CogVideoX-2b", complete=False)
    incomplete = dr.check_model(spec)
    assert incomplete.status == "error" and "transformer/ has no weights" in incomplete.message
    (env / "hub" / "models--THUDM--CogVideoX-2b").rename(env / "old")
    fake_hub_repo(env / "hub", "THUDM/CogVideoX-2b")
    assert dr.check_model(spec).status == "ok"


def test_online_missing_model_is_a_warning_not_an_error(env, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    spec = dr.ModelSpec("model.id", "THUDM/CogVideoX-2b", "pipeline", "THUDM/CogVideoX-2b")
    c = dr.check_model(spec)
    assert c.status == "warn" and "downloaded on first use" in c.message


def test_local_folder_without_model_index_gets_the_right_fix(env):
    folder = env / "models" / "CogVideoX-2b"
    (folder / "transformer").mkdir(parents=True)
    c = dr.check_model(dr.ModelSpec("model.id", str(folder), "pipeline", "THUDM/CogVideoX-2b"))
    assert c.status == "error" and c.exit_code == 5
    assert "no model_index.json" in c.message and "model_index.json" in c.fix
    assert f"hf download {folder}" not in c.fix  # never "download" a local path as if it were a Hub id
    assert f"hf download THUDM/CogVideoX-2b --local-dir {folder}" in c.fix
    fake_pipeline(folder)
    assert dr.check_model(dr.ModelSpec("model.id", str(folder), "pipeline", "THUDM/CogVideoX-2b")).status == "ok"
    gone = dr.check_model(dr.ModelSpec("model.id", str(env / "nope"), "pipeline", "THUDM/CogVideoX-2b"))
    assert gone.status == "error" and "no such file or folder" in gone.message and "hf download" not in gone.fix


def test_cli_json_and_exit_codes_by_severity(env):
    local = fake_pipeline(env / "models" / "cog")
    # tiny preset on CPU: nothing is an error → exit 0 (the demo db is built on first use: info).
    r = runner.invoke(app, ["doctor", "--preset", "tiny", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["schema_version"] == 1 and out["exit_code"] == 0 and out["status"] in ("ok", "warn")
    checks = by_name(out)
    assert {"cuda", "video-db", "ffmpeg", "disk", "llm", "offline"} <= set(checks)
    assert checks["ffmpeg"]["status"] == "ok" and checks["cuda"]["status"] == "info"
    assert not any(name.startswith("model:") for name in checks)  # tiny models are built in code
    # The real preset on a machine without CUDA and without the weights: errors, exit 4 (backend unavailable).
    r = runner.invoke(app, ["doctor", "--preset", "cogvideox-2b", "--set", f"model.id={local}", "--json"])
    assert r.exit_code == 4, r.output
    checks = by_name(json.loads(r.stdout))
    assert checks["cuda"]["status"] == "error" and "model.device" in checks["cuda"]["message"]
    assert checks["model:model.id"]["status"] == "ok"
    assert checks["model:evaluate.dino_model"]["status"] == "error"
    # A damaged model folder alone is invalid input (5); human output prints each fix.
    (local / "model_index.json").unlink()
    r = runner.invoke(app, ["doctor", "--preset", "tiny", "--set", f"model.id={local}"])
    assert r.exit_code == 5, r.output
    assert "fix:" in r.output and "model_index.json" in r.output


def test_video_db_index(env):
    cfg = resolve_config(preset="tiny")
    assert dr.check_video_db(cfg, str(env / "nodb")).exit_code == 4
    (env / "db" / "index").mkdir(parents=True)
    (env / "db" / "index" / "index.json").write_text("{not json")
    assert dr.check_video_db(cfg, str(env / "db")).exit_code == 5
    (env / "db" / "index" / "index.json").write_text(json.dumps({"rows": 12}))
    c = dr.check_video_db(cfg, str(env / "db"))
    assert c.status == "ok" and "12 rows" in c.message


def test_llm_server_refusing_connections_fails_fast(env):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = resolve_config(preset="tiny", overrides=["plan.llm=openai", f"plan.llm_base_url=http://127.0.0.1:{port}/v1"])
    start = time.monotonic()
    c = dr.check_llm(cfg)
    assert time.monotonic() - start < 5
    assert c.status == "error" and c.exit_code == 4 and "does not answer" in c.message


def test_unreachable_hub_without_offline_mode_is_a_warning(env, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    c = dr.check_offline()
    assert c.status == "warn" and "HF_HUB_OFFLINE=1" in c.fix


def test_cuda_memory_warning_and_missing_device():
    cfg = resolve_config(preset="cogvideox-2b")
    small = {"available": True, "torch": "x", "cuda": "12",
             "devices": [{"index": 0, "name": "GPU", "free_gib": 8.0, "total_gib": 16.0}]}
    c = dr.check_cuda(cfg, lambda: small)
    assert c.status == "warn" and "render.cpu_offload=model" in c.fix
    big = {**small, "devices": [{"index": 0, "name": "GPU", "free_gib": 70.0, "total_gib": 80.0}]}
    assert dr.check_cuda(cfg, lambda: big).status == "ok"
    cfg1 = resolve_config(preset="cogvideox-2b", overrides=["model.device=cuda:1"])
    assert dr.check_cuda(cfg1, lambda: big).status == "error"


def test_disk_space_thresholds(tmp_path):
    assert dr.check_disk({"ws": tmp_path}, warn_gib=0.0, error_gib=0.0).status == "ok"
    assert dr.check_disk({"ws": tmp_path / "not" / "yet"}, warn_gib=1e9, error_gib=0.0).status == "warn"
    c = dr.check_disk({"ws": tmp_path}, warn_gib=1e9, error_gib=1e9)
    assert c.status == "error" and c.exit_code == 8


def test_doctor_does_not_import_torch_until_the_cuda_check():
    code = ("import sys\nimport dreamrunner_cli.doctor\nfrom typer.testing import CliRunner\n"
            "from dreamrunner_cli.cli import app\nr = CliRunner().invoke(app, ['doctor', '--help'])\n"
            "assert r.exit_code == 0, r.output\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
