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
from dreamrunner_cli.errors import DreamrunnerError

runner = CliRunner()
NO_CUDA = {"available": False, "devices": [], "torch": "x", "cuda": None}


LIBRARY = {"transformer": "diffusers", "vae": "diffusers", "text_encoder": "transformers",
           "tokenizer": "transformers", "scheduler": "diffusers"}
WEIGHTS = {"transformer": "diffusion_pytorch_model.safetensors", "vae": "diffusion_pytorch_model.safetensors",
           "text_encoder": "model.safetensors"}


def fake_pipeline(folder: Path, complete: bool = True) -> Path:
    """A diffusers pipeline folder as the loader checks it (models/loading.py ``pipeline_problems``): model_index.json
    and each component with its config, weights under the names diffusers and transformers read (empty files: the
    doctor never opens them), CogVideoX's sentencepiece tokenizer files. tests/test_replicas_cogvideox.py loads real
    ones."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model_index.json").write_text(json.dumps(
        {"_class_name": "CogVideoXPipeline", **{c: [lib, "X"] for c, lib in LIBRARY.items()}}))
    for c in LIBRARY:
        (folder / c).mkdir(exist_ok=True)
        (folder / c / ("scheduler_config.json" if c == "scheduler" else "config.json")).write_text("{}")
        if complete and c in WEIGHTS:
            (folder / c / WEIGHTS[c]).write_bytes(b"0")
    (folder / "tokenizer" / "spiece.model").write_bytes(b"0")
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
    (env / "nodb").mkdir()
    missing = dr.check_video_db(cfg, str(env / "nodb"))
    # the same code retrieve exits with for the same folder (and the README's table says so)
    from dreamrunner_cli.retrieval.index import find_index

    with pytest.raises(DreamrunnerError) as raised:
        find_index(env / "nodb")
    assert missing.exit_code == raised.value.exit_code == 5
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
    problem = dr.hub_unreachable()
    assert problem is not None  # nothing listens there
    c = dr.check_offline(problem)
    assert c.status == "warn" and "HF_HUB_OFFLINE=1" in c.fix
    assert dr.check_offline(None).status == "ok"


def test_a_missing_model_is_an_error_when_the_hub_cannot_be_reached(env, monkeypatch):
    """"It will be downloaded on first use" only where the probe says a download could happen."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    spec = dr.ModelSpec("model.id", "THUDM/CogVideoX-2b", "pipeline", "THUDM/CogVideoX-2b")
    reachable = dr.check_model(spec, hub_problem=None)
    assert reachable.status == "warn" and "downloaded on first use" in reachable.message
    cut_off = dr.check_model(spec, hub_problem="Name or service not known")
    assert cut_off.status == "error" and cut_off.exit_code == 4
    assert "cannot be reached" in cut_off.message and "Name or service not known" in cut_off.message
    assert "downloaded on first use" not in cut_off.message and "hf download THUDM/CogVideoX-2b" in cut_off.fix


def test_the_hub_is_probed_once_and_a_hanging_name_lookup_is_cut_short(env, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    calls = []

    def slow_lookup(*args, **kwargs):
        calls.append(args)
        time.sleep(3)  # a resolver that answers far too late: create_connection's timeout does not cover it
        raise socket.timeout("timed out")  # (as the real call would; the probe thread then ends cleanly)

    monkeypatch.setattr(socket, "create_connection", slow_lookup)
    start = time.monotonic()
    assert dr.hub_unreachable(timeout=0.5) == "no answer within 0.5 s"
    assert time.monotonic() - start < 5
    calls.clear()
    checks = dr.run_checks(resolve_config(preset="cogvideox-2b"), cuda=lambda: NO_CUDA,
                           hub_probe=lambda: calls.append("probe") or "no answer within 2 s")
    assert calls == ["probe"]  # one probe for every model check and the offline check
    by = {c.name: c for c in checks}
    assert by["model:model.id"].status == "error" and by["offline"].status == "warn"


def test_human_labels_do_not_repeat_the_key(env):
    r = runner.invoke(app, ["doctor", "--preset", "cogvideox-2b"])
    lines = [line for line in r.output.splitlines() if "model" in line and "THUDM/CogVideoX-2b" in line]
    assert lines and all("model.id: model.id" not in line and "model:model.id" not in line for line in lines), \
        r.output
    assert any(line.split()[1:3] == ["model:", "model.id:"] for line in lines), r.output


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


def test_a_folder_of_bin_weights_is_an_error_in_the_loaders_words(env):
    """Issue 20 item 6: doctor accepted .bin/.pth/.pt, then the loader (safetensors only) refused the folder and told
    the user to `hf download` the local path. Now both refuse it before loading, with the same message and a fix for
    that folder."""
    from dreamrunner_cli.models.loading import load_pipeline

    folder = fake_pipeline(env / "models" / "cog")
    (folder / "transformer" / "diffusion_pytorch_model.safetensors").rename(
        folder / "transformer" / "diffusion_pytorch_model.bin")
    (folder / "vae" / "diffusion_pytorch_model.safetensors").rename(folder / "vae" / "weights.pth")
    cfg = resolve_config(preset="cogvideox-2b", overrides=[f"model.id={folder}", "model.device=cpu"])
    c = dr.check_model(dr.configured_models(cfg)[0])
    assert c.status == "error" and c.exit_code == 5
    assert "transformer/ holds diffusion_pytorch_model.bin but no diffusion_pytorch_model.safetensors" in c.message
    assert "vae/ holds weights.pth but no diffusion_pytorch_model.safetensors" in c.message
    assert "convert those weights to safetensors" in c.fix and f"hf download {folder} " not in c.fix + " "
    with pytest.raises(DreamrunnerError) as err:
        load_pipeline(cfg.model)
    assert (err.value.exit_code, err.value.message, err.value.hint) == (c.exit_code, c.message, c.fix)


def test_pipeline_checks_name_the_published_file_names(env):
    """Weights must sit under the names from_pretrained reads; shards listed in an index must all be there; the
    tokenizer folder must hold a tokenizer."""
    folder = fake_pipeline(env / "cog")
    spec = dr.ModelSpec("model.id", str(folder), "pipeline", "THUDM/CogVideoX-2b")
    assert dr.check_model(spec).status == "ok"
    (folder / "text_encoder" / "model.safetensors").rename(folder / "text_encoder" / "weights.safetensors")
    c = dr.check_model(spec)
    assert "text_encoder/ has no weights (model.safetensors or model.safetensors.index.json)" in c.message
    (folder / "text_encoder" / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                        "b": "model-00002-of-00002.safetensors"}}))
    (folder / "text_encoder" / "model-00001-of-00002.safetensors").write_bytes(b"0")
    c = dr.check_model(spec)
    assert "text_encoder/ lacks model-00002-of-00002.safetensors (listed in model.safetensors.index.json)" \
        in c.message and c.exit_code == 5
    (folder / "text_encoder" / "model-00002-of-00002.safetensors").write_bytes(b"0")
    (folder / "tokenizer" / "spiece.model").unlink()
    c = dr.check_model(spec)
    assert c.message.endswith("tokenizer/ has neither tokenizer.json nor a sentencepiece model (spiece.model)")


def test_packages_check_names_protobuf_as_the_loader_does(env, monkeypatch):
    """The tokenizer's packages: for a folder here, what its tokenizer needs; before a download, what CogVideoX's
    published tokenizer needs. Same message as the loader's (models/loading.py ``tokenizer_package_error``)."""
    import sys

    from dreamrunner_cli.models.loading import pipeline_folder_error

    folder = fake_pipeline(env / "cog")
    cfg = resolve_config(preset="cogvideox-2b", overrides=[f"model.id={folder}"])
    ok = dr.check_packages(cfg)
    assert ok.status == "ok" and ok.details["needs"] == ["sentencepiece", "protobuf"]
    monkeypatch.setitem(sys.modules, "google.protobuf", None)  # protobuf not installed
    c = dr.check_packages(cfg)
    assert c.status == "error" and c.exit_code == 4
    assert c.message.startswith(f"the tokenizer in {folder / 'tokenizer'} needs the `protobuf` package")
    assert c.fix.startswith("pip install protobuf")
    loader = pipeline_folder_error(folder)
    assert (loader.exit_code, loader.message, loader.hint) == (c.exit_code, c.message, c.fix)
    hub = dr.check_packages(resolve_config(preset="cogvideox-2b"))  # not downloaded yet
    assert hub.status == "error" and hub.message.startswith("the CogVideoX tokenizer needs the `protobuf` package")
    (folder / "tokenizer" / "tokenizer.json").write_text("{}")  # a fast tokenizer file: no conversion, no protobuf
    assert dr.check_packages(cfg).status == "ok"
    assert dr.check_packages(resolve_config(preset="tiny")).status == "info"


def test_cuda_check_says_what_run_says(env):
    """doctor's CUDA check is `run`'s up-front check (loading.device_error, offload_error): the same words."""
    from dreamrunner_cli.models.loading import device_error

    cfg = resolve_config(preset="cogvideox-2b")
    c = dr.check_cuda(cfg, lambda: NO_CUDA)
    err = device_error(cfg, count=0)
    assert (c.status, c.exit_code, c.message, c.fix) == ("error", 4, err.message, err.hint)
    assert c.message == "CUDA is not available on this machine, but retrieve.device=cuda, model.device=cuda"
    assert c.details["needs"] == ["retrieve.device=cuda: used by retrieve",
                                  "model.device=cuda: used by adapt, render, evaluate"]
    offload = resolve_config(preset="tiny", overrides=["render.cpu_offload=model"])
    c = dr.check_cuda(offload, lambda: NO_CUDA)
    assert c.status == "error" and c.exit_code == 2 and c.message.startswith("offload needs a CUDA device")
