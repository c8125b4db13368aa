"""`dreamrunner doctor`: is this machine ready for a configuration? Every check says what it found and, when something
is wrong, the fix.

Checks (each one a :class:`Check`; nothing here loads a model or downloads anything):

- ``cuda``: the CUDA devices every stage asks for, and CPU offload's GPU, checked as `dreamrunner run` checks them
  before its first stage (the same message), then free memory (torch is imported only inside this check);
- ``model:<key>``: each configured model (video model, DINO, ViCLIP, a local transformers planner) is a valid local
  folder, or complete in the Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``); tiny models are built in code. The video model's folder gets the loader's own
  checks (``models/loading.py``: every component with safetensors weights under the names diffusers and transformers
  read, a tokenizer), reported with the loader's message, fix and exit code;
- ``packages``: the packages the video model's tokenizer needs (CogVideoX's ``spiece.model``: sentencepiece and
  protobuf), the loader's check and words again;
- ``video-db``: the retrieval index (``$DREAMRUNNER_DB``, else ``retrieve.db``) exists and its index.json reads;
- ``ffmpeg``: imageio-ffmpeg's binary runs;
- ``disk``: free space where the workspace, the cache and the Hugging Face cache live;
- ``llm``: the OpenAI-compatible server answers (``plan.llm=openai``), with a short timeout;
- ``offline``: ``HF_HUB_OFFLINE``, and whether the Hub answers when it is not set.

Severity and exit code: every check is ``ok``, ``info``, ``warn`` or ``error``. The exit code is 0 unless a check is
an error; then it is the error's code from ``errors.EXIT_CODES``: 2 (CPU offload without a GPU), 4 (backend or model
unavailable: no CUDA, missing weights or packages, LLM server down, no ffmpeg, no index), 5 (invalid input: a damaged
index or model folder, pickled weights where safetensors are needed), 8 (disk full).
When several errors differ, the smallest code wins. Warnings never change the exit code; ``--json`` lists them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .config import Config
from .errors import BackendUnavailable, DreamrunnerError, FileAccessError, InputInvalid, ModelUnavailable
from .models.loading import (  # noqa: F401 - hf_cache_dir, cached_snapshot: re-exported (doctor's API)
    COGVIDEOX_TOKENIZER_PACKAGES,
    PIPELINE_EXAMPLE,
    cached_snapshot,
    device_error,
    hf_cache_dir,
    looks_like_path,
    offload_error,
    pipeline_folder_error,
    pipeline_problems,
    tokenizer_package_error,
    tokenizer_packages,
    weights_problem,
)

OK, INFO, WARN, ERROR = "ok", "info", "warn", "error"
SEVERITY = {OK: 0, INFO: 0, WARN: 1, ERROR: 2}
NET_TIMEOUT_S = 2.0  # for the LLM server and the Hub: doctor answers in seconds, never waits on retries
DISK_ERROR_GIB = 1.0
DISK_WARN_GIB = 20.0  # a real preset: CogVideoX-2b weights alone are ~13 GiB in the cache
# Free GPU memory (GiB) below which a render without CPU offload is likely to run out (fp16/bf16 weights,
# activations at 480×720×49 with VAE tiling).
GPU_MEMORY_GIB = {"2b": 18.0, "5b": 26.0}
TINY_IDS = ("tiny", "tiny-rope")


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    status: str  # ok | info | warn | error
    message: str
    fix: str | None = None
    exit_code: int = 0  # for errors: the code from errors.EXIT_CODES
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _error(name: str, message: str, fix: str | None, code: int = BackendUnavailable.exit_code, **details) -> Check:
    return Check(name, ERROR, message, fix, code, details)


def exit_code(checks: list[Check]) -> int:
    codes = [c.exit_code or 1 for c in checks if c.status == ERROR]
    return min(codes) if codes else 0


def overall(checks: list[Check]) -> str:
    worst = max((SEVERITY[c.status] for c in checks), default=0)
    return {0: OK, 1: WARN, 2: ERROR}[worst]


# Hugging Face cache and model folders: the loader's own checks (models/loading.py), so doctor says what loading
# would say, in the same words ----------------------------------------------------------------------------------------


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def model_folder_problems(folder: Path, kind: str, safetensors_only: bool = True) -> list[str]:
    """What a model folder lacks for its kind: ``pipeline`` (a CogVideoX pipeline, as the loader checks it) or
    ``transformers`` (config.json and weights: safetensors, or also ``.bin`` where the loader accepts pickles)."""
    if kind == "pipeline":
        return pipeline_problems(folder)
    if not (folder / "config.json").is_file():
        return ["no config.json"]
    problem = weights_problem(folder, "transformers")
    if problem and not (not safetensors_only and (folder / "pytorch_model.bin").exists()):
        return [problem]
    return []


# Models ------------------------------------------------------------------------------------------------------------


@dataclass
class ModelSpec:
    key: str  # config key, e.g. model.id
    id: str  # Hub id or local path
    kind: str  # pipeline | transformers | viclip
    example: str  # a Hub id that fits, for the fix of a bad local folder
    revision: str | None = None
    safetensors_only: bool = True  # the loader passes use_safetensors=True (X-CLIP's also takes pytorch_model.bin)


VICLIP_FILE = "ViClip-InternVid-10M-FLT.pth"


def configured_models(cfg: Config) -> list[ModelSpec]:
    """The models a configuration will load (tiny ones are left out: they are built in code)."""
    specs = [ModelSpec("model.id", cfg.model.id, "pipeline", PIPELINE_EXAMPLE, cfg.model.revision)]
    if cfg.evaluate.dino_model not in TINY_IDS and not cfg.evaluate.dino_model.startswith("tiny"):
        specs.append(ModelSpec("evaluate.dino_model", cfg.evaluate.dino_model, "transformers",
                               "facebook/dinov2-base"))
    for key, name in (("retrieve.video_text_model", cfg.retrieve.video_text_model),
                      ("evaluate.video_text_model", cfg.evaluate.video_text_model)):
        if name in ("tiny",) or name.endswith(":tiny"):
            continue
        backend, sep, rest = name.partition(":")
        kind = backend if sep and backend in ("viclip", "xclip") else "xclip"
        ident = rest if sep and backend in ("viclip", "xclip") else name
        if not any(s.id == ident for s in specs):
            specs.append(ModelSpec(key, ident, "viclip" if kind == "viclip" else "transformers",
                                   "OpenGVLab/ViCLIP" if kind == "viclip" else "microsoft/xclip-base-patch32",
                                   safetensors_only=kind == "viclip"))
    if cfg.retrieve.segmenter == "person" and cfg.retrieve.detector not in TINY_IDS:
        specs.append(ModelSpec("retrieve.detector", cfg.retrieve.detector, "transformers", "hustvl/yolos-tiny"))
    if cfg.plan.llm == "transformers" and cfg.plan.llm_model:
        specs.append(ModelSpec("plan.llm_model", cfg.plan.llm_model, "transformers", "Qwen/Qwen2.5-7B-Instruct"))
    return [s for s in specs if s.id not in TINY_IDS]


def _from_error(name: str, err: DreamrunnerError, **details) -> Check:
    """The loader's error as a doctor check: its message, its hint as the fix, its exit code."""
    return _error(name, err.message, err.hint, err.exit_code, **details)


def check_model(spec: ModelSpec, hub_problem: str | None = None) -> Check:
    """``hub_problem``: why the Hub cannot be reached (from the one probe of ``hub_unreachable``), or None: a model
    missing from the cache is then an error, since "downloaded on first use" would not happen."""
    name = f"model:{spec.key}"
    local = Path(spec.id).expanduser()
    if looks_like_path(spec.id):
        # A local folder (or file): never suggest `hf download <that path>`; say what the folder must hold.
        if not local.exists():
            return _error(name, f"{spec.key} = {spec.id!r}: no such file or folder",
                          f"set {spec.key} to an existing folder, or to a Hugging Face id such as {spec.example} "
                          f"(`--set {spec.key}={spec.example}`)", path=str(local))
        if spec.kind == "viclip":
            if local.is_file() or list(local.glob("*.pth")) or list(local.glob("*.safetensors")):
                return Check(name, OK, f"{spec.key}: ViCLIP weights at {local}")
            return _error(name, f"{spec.key}: {local} holds no ViCLIP weights (*.pth)",
                          f"put {VICLIP_FILE} in it (`hf download {spec.example} {VICLIP_FILE} --local-dir "
                          f"{local}`)", InputInvalid.exit_code, path=str(local))
        if not local.is_dir():
            return _error(name, f"{spec.key}: {local} is a file, not a model folder",
                          f"set {spec.key} to the folder that holds it", InputInvalid.exit_code, path=str(local))
        if spec.kind == "pipeline":
            err = pipeline_folder_error(local, key=spec.key, example=spec.example, packages=False)
            if err is not None:
                return _from_error(name, err, path=str(local))
            return Check(name, OK, f"{spec.key}: local folder {local}", details={"path": str(local)})
        problems = model_folder_problems(local, spec.kind, spec.safetensors_only)
        if problems:
            return _error(name, f"{spec.key}: {local} is not a model folder (config.json and weights): "
                          f"{'; '.join(problems)}",
                          f"point {spec.key} at the folder that holds config.json, or fill this one: "
                          f"`hf download {spec.example} --local-dir {local}`", InputInvalid.exit_code,
                          path=str(local), problems=problems)
        return Check(name, OK, f"{spec.key}: local folder {local}", details={"path": str(local)})
    # A Hub id: look in the cache.
    snap = cached_snapshot(spec.id, spec.revision)
    download = f"hf download {spec.id}" + (f" {VICLIP_FILE}" if spec.kind == "viclip" else "") + \
        (f" --revision {spec.revision}" if spec.revision else "")
    if snap is None:
        where = f"the Hugging Face cache ({hf_cache_dir()})"
        if offline():
            return _error(name, f"{spec.key}: {spec.id} is not in {where} and HF_HUB_OFFLINE=1",
                          f"on a machine with internet: `{download}`, then copy the cache here (or set "
                          f"{spec.key} to a local folder)", cache=str(hf_cache_dir()))
        if hub_problem is not None:
            return _error(name, f"{spec.key}: {spec.id} is not in {where}, and the Hugging Face Hub cannot be reached "
                          f"to download it ({hub_problem})",
                          f"on a machine with internet: `{download}`, then copy the cache here (or set {spec.key} "
                          "to a local folder)", ModelUnavailable.exit_code, cache=str(hf_cache_dir()))
        return Check(name, WARN, f"{spec.key}: {spec.id} is not in {where}; it will be downloaded on first use",
                     f"download it now: `{download}`", details={"cache": str(hf_cache_dir())})
    if spec.kind == "pipeline":
        err = pipeline_folder_error(snap, key=spec.key, hub_id=spec.id, packages=False)
        if err is not None:
            return _from_error(name, err, snapshot=str(snap))
        return Check(name, OK, f"{spec.key}: {spec.id} in the Hugging Face cache", details={"snapshot": str(snap)})
    if spec.kind == "viclip":
        problems = [] if (snap / VICLIP_FILE).exists() else [f"no {VICLIP_FILE}"]
    else:
        problems = model_folder_problems(snap, spec.kind, spec.safetensors_only)
    if problems:
        return _error(name, f"{spec.key}: {spec.id} in the cache is incomplete ({'; '.join(problems)})",
                      f"finish the download: `{download}`", details_path=str(snap), problems=problems)
    return Check(name, OK, f"{spec.key}: {spec.id} in the Hugging Face cache", details={"snapshot": str(snap)})


def check_packages(cfg: Config) -> Check:
    """The Python packages the video model's tokenizer needs, as the loader checks them: those its folder's
    tokenizer needs when the folder is here (local or in the cache), else those of the published CogVideoX one."""
    if cfg.model.id in TINY_IDS:
        return Check("packages", INFO, "tiny model: built in code, no tokenizer files")
    local = Path(cfg.model.id).expanduser()
    folder = local if local.is_dir() else None if looks_like_path(cfg.model.id) else \
        cached_snapshot(cfg.model.id, cfg.model.revision)
    tokenizer = folder / "tokenizer" if folder is not None and (folder / "tokenizer").is_dir() else None
    need = tokenizer_packages(tokenizer) if tokenizer is not None else COGVIDEOX_TOKENIZER_PACKAGES
    err = tokenizer_package_error(tokenizer, need)
    if err is not None:
        return _from_error("packages", err, missing=need)
    return Check("packages", OK, "the video model's tokenizer can be loaded: "
                 + (", ".join(need) + " installed" if need else "it has a tokenizer.json"), details={"needs": need})


# CUDA --------------------------------------------------------------------------------------------------------------


def cuda_probe() -> dict[str, Any]:
    """``{"available": bool, "devices": [{"index", "name", "free_gib", "total_gib"}], "torch": version}``.
    Imports torch (only here)."""
    import torch

    out: dict[str, Any] = {"available": bool(torch.cuda.is_available()), "devices": [], "torch": torch.__version__,
                           "cuda": torch.version.cuda}
    if out["available"]:
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            out["devices"].append({"index": i, "name": torch.cuda.get_device_name(i),
                                   "free_gib": round(free / 2**30, 2), "total_gib": round(total / 2**30, 2)})
    return out


def _needed_gib(cfg: Config) -> float | None:
    if cfg.render.cpu_offload != "none" or cfg.model.id in TINY_IDS:
        return None
    ident = cfg.model.id.lower()
    return GPU_MEMORY_GIB["5b"] if "5b" in ident else GPU_MEMORY_GIB["2b"]


def check_cuda(cfg: Config, probe: Callable[[], dict[str, Any]] | None = None) -> Check:
    """CUDA as `dreamrunner run` checks it before its first stage (``loading.device_error`` and ``offload_error``,
    the same message and fix), then free memory on the model's device."""
    try:
        info = (probe or cuda_probe)()
    except ImportError as exc:
        return _error("cuda", f"torch cannot be imported ({exc})", "reinstall: `make install`")
    count = len(info["devices"]) if info["available"] else 0
    for err in (offload_error(cfg.render.cpu_offload, cfg.model.device, count), device_error(cfg, count=count)):
        if err is not None:
            return _from_error("cuda", err, **info, needs=err.details)
    if not info["available"]:
        return Check("cuda", INFO, "no CUDA; every configured device is the CPU", details=info)
    gpus = ", ".join(f"cuda:{d['index']} {d['name']} ({d['free_gib']:.1f} of {d['total_gib']:.1f} GiB free)"
                     for d in info["devices"])
    need = _needed_gib(cfg)
    index = int(cfg.model.device.split(":")[1]) if cfg.model.device.startswith("cuda:") else 0
    dev = next((d for d in info["devices"] if d["index"] == index), None)
    if need and dev is not None and dev["free_gib"] < need and cfg.model.device.startswith("cuda"):
        return Check("cuda", WARN, f"{gpus}; rendering {cfg.model.id} without CPU offload wants about {need:.0f} GiB "
                     f"free on cuda:{index}",
                     "free the GPU, or `--set render.cpu_offload=model` (slower, much less memory)", details=info)
    return Check("cuda", OK, gpus, details=info)


# Video database, ffmpeg, disk --------------------------------------------------------------------------------------


def check_video_db(cfg: Config, db: str | None = None) -> Check:
    chosen = db or os.environ.get("DREAMRUNNER_DB") or cfg.retrieve.db
    if not chosen:
        return Check("video-db", WARN, "no video database configured (retrieve needs one)",
                     "pass --db INDEX, set DREAMRUNNER_DB, or `--set retrieve.db=INDEX`; build one with `dreamrunner "
                     "index build DB_DIR --captions FILE` (or `dreamrunner index demo DIR` for the demo)")
    from .retrieval.index import INDEX_FILE

    if chosen == "demo":
        from .retrieval.demo import demo_index_dir

        folder = demo_index_dir()
        if not (folder / INDEX_FILE).is_file():
            return Check("video-db", INFO, f"demo database: built on first use in {folder.parent}")
    else:
        folder = Path(chosen).expanduser()
        if (folder / "index" / INDEX_FILE).is_file() and not (folder / INDEX_FILE).is_file():
            folder = folder / "index"  # a database folder holding index/
    index = folder / INDEX_FILE
    if not index.is_file():
        return _error("video-db", f"no video index at {folder} ({INDEX_FILE} missing)",
                      "build it: `dreamrunner index build DB_DIR --captions FILE`", InputInvalid.exit_code,
                      path=str(folder))  # the code retrieve exits with for the same folder
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _error("video-db", f"{index} is damaged ({exc})",
                      "rebuild it: `dreamrunner index build DB_DIR --captions FILE`", InputInvalid.exit_code,
                      path=str(index))
    rows = data.get("rows") or (data.get("counts") or {}).get("rows") if isinstance(data, dict) else None
    return Check("video-db", OK, f"video index {folder}" + (f" ({rows} rows)" if rows else ""),
                 details={"path": str(folder)})


def check_ffmpeg() -> Check:
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        out = subprocess.run([exe, "-nostdin", "-hide_banner", "-version"], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=20)  # never the terminal (a background job)
        if out.returncode != 0:
            raise OSError(out.stderr.strip()[:200] or f"exit code {out.returncode}")
    except (ImportError, OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return _error("ffmpeg", f"ffmpeg is not usable: {exc}",
                      "reinstall imageio-ffmpeg (`pip install --force-reinstall imageio-ffmpeg`), or set "
                      "IMAGEIO_FFMPEG_EXE to an ffmpeg binary")
    first = (out.stdout.splitlines() or [""])[0]
    return Check("ffmpeg", OK, f"{exe}: {first}", details={"path": exe})


def check_disk(paths: dict[str, Path], warn_gib: float = DISK_WARN_GIB, error_gib: float = DISK_ERROR_GIB) -> Check:
    rows, worst = [], OK
    for label, path in paths.items():
        probe = Path(path).expanduser()
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent  # not created yet: the filesystem it will be on
        free = shutil.disk_usage(probe).free / 2**30
        rows.append({"what": label, "path": str(path), "free_gib": round(free, 2)})
        if free < error_gib:
            worst = ERROR
        elif free < warn_gib and worst != ERROR:
            worst = WARN
    text = "; ".join(f"{r['what']} {r['path']}: {r['free_gib']:.1f} GiB free" for r in rows)
    if worst == ERROR:
        return _error("disk", text, f"free some space (less than {error_gib:g} GiB left)", FileAccessError.exit_code,
                      places=rows)
    if worst == WARN:
        return Check("disk", WARN, text, f"real presets need tens of GiB (weights, clips, renders); "
                     f"less than {warn_gib:g} GiB is free", details={"places": rows})
    return Check("disk", OK, text, details={"places": rows})


# Network: the LLM server and the Hub (short timeouts, one try) ------------------------------------------------------


def _http_get(url: str, headers: dict[str, str], timeout: float) -> int:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the configured server's URL
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def check_llm(cfg: Config, timeout: float = NET_TIMEOUT_S) -> Check:
    if cfg.plan.llm != "openai":
        return Check("llm", INFO, f"plan.llm = {cfg.plan.llm}: no server needed")
    from .planning.backends import OPENAI_DEFAULT_BASE_URL

    base = (cfg.plan.llm_base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE_URL).rstrip("/")
    key = os.environ.get(cfg.plan.llm_api_key_env)
    if urlparse(base).hostname == "api.openai.com" and not key:
        return _error("llm", f"no API key for {base}: ${cfg.plan.llm_api_key_env} is not set",
                      f"export {cfg.plan.llm_api_key_env}=..., or point plan.llm_base_url at a local server")
    start = time.monotonic()
    try:
        status = _http_get(base + "/models", {"Authorization": f"Bearer {key}"} if key else {}, timeout)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return _error("llm", f"the LLM server at {base} does not answer ({reason}) "
                      f"[{time.monotonic() - start:.1f} s]",
                      "start it (e.g. `vllm serve MODEL --port 8000`), or fix plan.llm_base_url", url=base)
    if status in (401, 403):
        return _error("llm", f"the LLM server at {base} refused the API key (HTTP {status})",
                      f"check ${cfg.plan.llm_api_key_env}", url=base)
    if status >= 500:
        return _error("llm", f"the LLM server at {base} answered HTTP {status}", "check the server's log", url=base)
    return Check("llm", OK, f"LLM server {base} answers (HTTP {status})"
                 + (f"; model {cfg.plan.llm_model}" if cfg.plan.llm_model else ""), details={"url": base})


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_unreachable(timeout: float = NET_TIMEOUT_S) -> str | None:
    """One TCP probe of the Hub: None when it answers, else why not. The name lookup runs in a daemon thread,
    since ``socket.create_connection``'s timeout does not bound DNS (a broken resolver can take 10 s or more)."""
    u = urlparse(hub_endpoint())
    port = u.port or (443 if u.scheme == "https" else 80)
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            with socket.create_connection((u.hostname or "", port), timeout=timeout):
                outcome.append(None)
        except OSError as exc:
            outcome.append(str(exc) or type(exc).__name__)

    worker = threading.Thread(target=probe, daemon=True, name="doctor-hub-probe")
    worker.start()
    worker.join(timeout)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"


def check_offline(hub_problem: str | None) -> Check:
    """``hub_problem``: ``hub_unreachable()``'s answer (ignored with HF_HUB_OFFLINE=1, where nothing is probed)."""
    endpoint = hub_endpoint()
    if offline():
        return Check("offline", INFO, "HF_HUB_OFFLINE=1: nothing is downloaded; models must be in the cache or local")
    if hub_problem is not None:
        return Check("offline", WARN, f"the Hugging Face Hub ({endpoint}) cannot be reached ({hub_problem}) and "
                     "HF_HUB_OFFLINE is not set: model loading will spend time in retries",
                     "export HF_HUB_OFFLINE=1 (models then load from the cache only)")
    return Check("offline", OK, f"online: the Hugging Face Hub ({endpoint}) can be reached")


# All of them --------------------------------------------------------------------------------------------------------


def run_checks(cfg: Config, *, workspace: Path | None = None, db: str | None = None,
               cuda: Callable[[], dict[str, Any]] | None = None,
               hub_probe: Callable[[], str | None] | None = None) -> list[Check]:
    """Every check for ``cfg``, in a fixed order (see the module docstring)."""
    from .cache import cache_dir

    hub_problem = None if offline() else (hub_probe or hub_unreachable)()  # one probe, shared by the checks
    checks = [check_cuda(cfg, cuda)]
    checks += [check_model(s, hub_problem) for s in configured_models(cfg)]
    checks.append(check_packages(cfg))
    checks += [check_video_db(cfg, db), check_ffmpeg()]
    places = {"workspace": workspace or Path.cwd(), "cache": cache_dir(), "hf-cache": hf_cache_dir()}
    checks.append(check_disk(places, warn_gib=DISK_WARN_GIB if cfg.model.id not in TINY_IDS else 2.0))
    checks += [check_llm(cfg), check_offline(hub_problem)]
    return checks


def report(cfg: Config, checks: list[Check]) -> dict[str, Any]:
    """The ``--json`` result."""
    return {"schema_version": 1, "preset": cfg.preset, "status": overall(checks), "exit_code": exit_code(checks),
            "checks": [c.to_dict() for c in checks]}
