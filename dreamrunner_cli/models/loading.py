"""Loading the video model: a CogVideoX pipeline from a Hugging Face id or a local folder, or the tiny random one.

Offline-aware: with HF_HUB_OFFLINE=1 (or when the hub cannot be reached) only local files are used, and missing
weights raise ModelUnavailable naming the id, where we looked and how to get them. Never a silent fallback to a
different model, dtype or device.

The Hub is probed once per process (``offline``): a machine without network, and without HF_HUB_OFFLINE, fails
in about two seconds instead of spending a minute in huggingface_hub's retries. Every loader that may contact the
Hub (this module, ``adapt/identity.py``, the scorers, DINO, ViCLIP, the person detector) asks ``offline()`` first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ..errors import BackendUnavailable, DreamrunnerError, InputInvalid, ModelUnavailable, UsageError

if TYPE_CHECKING:
    from ..config import Config, ModelConfig

log = logging.getLogger("dreamrunner.models")

# The Hugging Face Hub: offline mode, else one quick probe per process -----------------------------------------------

HUB_PROBE_TIMEOUT_S = 2.0  # one TCP connect (DNS lookup included) to the Hub's host
# huggingface_hub's own timeouts when the user set none (its defaults: 10 s each, then retries with backoff).
HUB_TIMEOUTS = {"HF_HUB_ETAG_TIMEOUT": 5, "HF_HUB_DOWNLOAD_TIMEOUT": 10}
_TRUE = ("1", "true", "yes", "on")
_hub: dict[str, Any] = {}  # per process: "reachable" (the probe's answer), "switched" (we turned offline mode on)


def env_offline() -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set: the user asked for the local cache only."""
    return any(os.environ.get(k, "").strip().lower() in _TRUE for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def hub_timeouts() -> None:
    """Short huggingface_hub timeouts unless the user set them (also when huggingface_hub is already imported: it
    reads them once, at import)."""
    constants = sys.modules.get("huggingface_hub.constants")
    for name, seconds in HUB_TIMEOUTS.items():
        if os.environ.get(name):
            continue
        os.environ[name] = str(seconds)
        if constants is not None and hasattr(constants, name):
            setattr(constants, name, seconds)


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Can a TCP connection to the Hub (``$HF_ENDPOINT``, default huggingface.co:443) be opened within ``timeout``
    seconds, DNS lookup included? Asked once per process; the answer is cached."""
    if "reachable" in _hub:
        return _hub["reachable"]
    url = urlparse(hub_endpoint())
    host, port = url.hostname or "", url.port or (80 if url.scheme == "http" else 443)
    answer: list[bool] = [False]

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answer[0] = True
        except Exception:  # noqa: BLE001 - any failure to connect means "not reachable"
            pass

    worker = threading.Thread(target=probe, name="dreamrunner-hub-probe", daemon=True)
    worker.start()
    worker.join(timeout)  # a DNS lookup that hangs is not waited for
    _hub["reachable"] = answer[0]
    return answer[0]


def offline() -> bool:
    """True when only local files may be used: HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set, or the Hub cannot
    be reached. In the second case this process switches to offline mode (HF_HUB_OFFLINE=1 for huggingface_hub,
    transformers and open_clip) and says so once on stderr, so no library spends time in retries."""
    if env_offline():
        return True
    hub_timeouts()
    if hub_reachable():
        return False
    if not _hub.get("switched"):
        _hub["switched"] = True
        os.environ["HF_HUB_OFFLINE"] = "1"
        constants = sys.modules.get("huggingface_hub.constants")
        if constants is not None:
            constants.HF_HUB_OFFLINE = True
        log.warning("the Hugging Face Hub (%s) cannot be reached: working offline, models are read from the local "
                    "cache only (export HF_HUB_OFFLINE=1 to skip this %g s check)", hub_endpoint(),
                    HUB_PROBE_TIMEOUT_S)
    return True


def offline_reason() -> str:
    """Why ``offline()`` is true, for messages: 'HF_HUB_OFFLINE=1' or 'the Hub cannot be reached'."""
    return "the Hugging Face Hub cannot be reached" if _hub.get("switched") else "HF_HUB_OFFLINE=1"


def _reset_hub_probe() -> None:
    """Forget the probe's answer (tests)."""
    _hub.clear()


def torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


# Devices: checked before anything runs, never a silent fallback ----------------------------------------------------


def cuda_count() -> int:
    """How many CUDA devices torch sees (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def cuda_present(device: str, count: int | None = None) -> bool:
    """Whether ``cuda`` / ``cuda:N`` exists on this machine (any other device: True, it is not checked here)."""
    if not device.startswith("cuda"):
        return True
    index = device.partition(":")[2]
    return (cuda_count() if count is None else count) > (int(index) if index.isdigit() else 0)


def check_device(device: str) -> None:
    """Raise if the requested device is not usable (never fall back to CPU quietly)."""
    if not cuda_present(device):
        raise BackendUnavailable(
            f"model.device is {device!r} but CUDA is not available on this machine"
            if cuda_count() == 0 else f"model.device is {device!r} but this machine has {cuda_count()} CUDA device(s)",
            hint="run on a GPU machine, or use the tiny preset on CPU (`--preset tiny`); "
            "`--set model.device=cpu` runs a real model on CPU (very slow)",
        )


def offload_error(offload: str, device: str, count: int | None = None) -> UsageError | None:
    """CPU offload moves the pipeline's modules between the CPU and a GPU as they run: without a CUDA device it is a
    usage error (exit 2), not a crash inside diffusers. ``count``: CUDA devices (None: ask torch)."""
    if offload == "none" or (device.startswith("cuda") and cuda_present(device, count)):
        return None
    why = f"model.device is {device!r}" if not device.startswith("cuda") else \
        f"model.device is {device!r} and this machine has no such CUDA device"
    return UsageError(f"offload needs a CUDA device: render.cpu_offload={offload} (--offload {offload}), but {why}",
                      hint="CPU offload saves GPU memory; without a GPU drop it: `--set render.cpu_offload=none`")


def check_offload(offload: str, device: str) -> None:
    err = offload_error(offload, device)
    if err is not None:
        raise err


def device_needs(cfg: Config, stages: list[str]) -> list[tuple[str, str, list[str]]]:
    """``(config key, device, stages)`` for every device setting the given stages use, in stage order."""
    needs: dict[str, tuple[str, list[str]]] = {}
    for stage in stages:
        if stage == "plan" and cfg.plan.llm == "transformers" and cfg.plan.llm_device != "auto":
            key, device = "plan.llm_device", cfg.plan.llm_device  # auto: CUDA when there is one, else the CPU
        elif stage == "retrieve":
            key, device = "retrieve.device", cfg.retrieve.device
        elif stage in ("adapt", "render"):
            key, device = "model.device", cfg.model.device
        elif stage == "evaluate":
            key, device = ("evaluate.device", cfg.evaluate.device) if cfg.evaluate.device else \
                ("model.device", cfg.model.device)  # evaluate.device null follows model.device
        else:
            continue
        needs.setdefault(key, (device, []))[1].append(stage)
    return [(key, device, used) for key, (device, used) in needs.items()]


ALL_STAGES = ["plan", "retrieve", "adapt", "render", "evaluate"]


def device_error(cfg: Config, stages: list[str] = ALL_STAGES, count: int | None = None) -> BackendUnavailable | None:
    """One error (exit 4) naming each key whose CUDA device this machine lacks, the stages using it and the
    ``--set`` that moves it; None when every device is there. ``count``: CUDA devices (None: ask torch)."""
    wanted = [need for need in device_needs(cfg, stages) if need[1].startswith("cuda")]
    if not wanted:
        return None
    count = cuda_count() if count is None else count
    missing = [(key, device, used) for key, device, used in wanted if not cuda_present(device, count)]
    if not missing:
        return None
    have = "CUDA is not available on this machine" if count == 0 else \
        f"this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})"
    return BackendUnavailable(
        f"{have}, but {', '.join(f'{k}={d}' for k, d, _ in missing)}",
        details=[f"{key}={device}: used by {', '.join(used)}" for key, device, used in missing],
        hint="run on a GPU machine, or move those stages to the CPU (very slow with the real models): "
        + " ".join(f"--set {key}=cpu" for key, _, _ in missing)
        + "; `--preset tiny` runs every stage on the CPU in seconds (its output is noise)")


def check_stage_device(cfg: Config, stage: str) -> None:
    """Raise the stage's device error (exit 4) before it loads anything: called once some item must run, so a
    workspace whose items are all up to date never needs its GPU (README walkthrough on a CPU: issue 25)."""
    err = device_error(cfg, [stage])
    if err is not None:
        raise err


def check_devices(cfg: Config, stages: list[str]) -> None:
    """Everything about devices a run can know before its first stage: CPU offload has a GPU (exit 2), every CUDA
    device the stages ask for exists (exit 4, ``device_error``), and a 16-bit model on the CPU gets its one
    warning. Loads nothing but torch."""
    if "render" in stages:
        check_offload(cfg.render.cpu_offload, cfg.model.device)
    err = device_error(cfg, stages)
    if err is not None:
        raise err
    if "adapt" in stages or "render" in stages:
        warn_half_on_cpu(cfg.model)


_warned: set[tuple] = set()  # warnings given once per command (cli.common.setup_output forgets them)


def forget_warnings() -> None:
    _warned.clear()


def warn_half_on_cpu(cfg: ModelConfig) -> None:
    """One warning per command for a float16/bfloat16 model on the CPU: it works, but CPU kernels for 16-bit are
    several times slower than float32 (measured on the replicas' VAE: 5x). diffusers' own note on it (hidden unless
    -v) says such a pipeline will fail on the CPU, which it does not."""
    key = ("half-on-cpu", cfg.dtype, cfg.device)
    if cfg.dtype == "float32" or not cfg.device.startswith("cpu") or key in _warned:
        return
    _warned.add(key)
    log.warning("warning: model.dtype=%s on the CPU (model.device=%s) runs several times slower than float32 there; "
                "for a CPU run use `--set model.dtype=float32`", cfg.dtype, cfg.device)


def load_pipeline(cfg: ModelConfig, place: bool = True):
    """Return a CogVideoXPipeline in cfg.dtype, moved to cfg.device unless ``place`` is False (CPU offload places
    modules itself). Tiny: random weights built in code."""
    check_device(cfg.device)
    warn_half_on_cpu(cfg)
    if cfg.id in ("tiny", "tiny-rope"):
        from .tiny import build_tiny_pipeline

        pipe = build_tiny_pipeline(rope=cfg.id == "tiny-rope")
    else:
        pipe = _from_pretrained(cfg)
    if pipe.transformer.dtype != torch_dtype(cfg.dtype):  # from_pretrained already loaded it in cfg.dtype
        pipe.to(dtype=torch_dtype(cfg.dtype))
    if place:
        pipe.to(device=cfg.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


# What the loader checks in a pipeline folder before loading it (doctor runs the same checks, in the same words) ----

class PackageMissing(BackendUnavailable):
    """A Python package the loader needs is not installed (exit 4, like any unavailable backend)."""


PIPELINE_EXAMPLE = "THUDM/CogVideoX-2b"
MODEL_COMPONENTS = ("transformer", "vae", "text_encoder")
# The weight file each library's from_pretrained looks for (one file, or shards listed in '<name>.index.json').
WEIGHTS_NAME = {"diffusers": "diffusion_pytorch_model.safetensors", "transformers": "model.safetensors"}
PICKLE_SUFFIXES = (".bin", ".pth", ".pt", ".ckpt")
# pip name → module name.
PACKAGE_MODULES = {"protobuf": "google.protobuf", "sentencepiece": "sentencepiece", "tiktoken": "tiktoken"}


def missing_packages(names: list[str]) -> list[str]:
    """Those of ``names`` (pip names) that cannot be imported here."""
    import importlib

    missing = []
    for name in names:
        try:
            importlib.import_module(PACKAGE_MODULES.get(name, name))
        except ImportError:
            missing.append(name)
    return missing


def tokenizer_packages(folder: Path) -> list[str]:
    """The packages transformers needs to load the tokenizer in ``folder``. With a ``tokenizer.json`` the
    ``tokenizers`` library reads it directly; a sentencepiece model alone (CogVideoX's ``spiece.model``) is
    converted to a fast tokenizer on load (transformers 5), which reads it with sentencepiece and protobuf (without
    them transformers falls back to tiktoken and fails with "tiktoken is required")."""
    if (folder / "tokenizer.json").is_file():
        return []
    if any(p.suffix == ".model" for p in folder.glob("*.model")):
        return ["sentencepiece", "protobuf"]
    return []


def weights_problem(sub: Path, library: str) -> str | None:
    """What keeps the component folder ``sub`` from loading with safetensors, or None."""
    name = WEIGHTS_NAME.get(library, "model.safetensors")
    index = sub / f"{name}.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return f"{sub.name}/{index.name} does not read ({type(exc).__name__}: {exc})"
        gone = [s for s in shards if not (sub / s).exists()]  # a dangling cache symlink is an unfinished download
        return f"{sub.name}/ lacks {', '.join(gone)} (listed in {index.name})" if gone else None
    if (sub / name).exists():
        return None
    pickles = sorted(p.name for p in sub.iterdir() if p.suffix in PICKLE_SUFFIXES and p.exists())
    if pickles:
        return f"{sub.name}/ holds {', '.join(pickles)} but no {name}: dreamrunner loads safetensors only"
    return f"{sub.name}/ has no weights ({name} or {name}.index.json)"


def pipeline_problems(folder: Path) -> list[str]:
    """What keeps a CogVideoX pipeline folder from loading: model_index.json; each component it names, with its
    config and, for models, safetensors weights in the file names diffusers/transformers look for; a tokenizer."""
    index = folder / "model_index.json"
    if not index.is_file():
        return ["no model_index.json"]
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"model_index.json does not read ({exc})"]
    if not isinstance(data, dict):
        return ["model_index.json is not a JSON object"]
    problems = []
    for name, spec in data.items():
        if name.startswith("_") or not isinstance(spec, list) or not spec or spec[0] is None:
            continue
        sub = folder / name
        if not sub.is_dir():
            problems.append(f"{name}/ missing")
        elif name in MODEL_COMPONENTS:
            if not (sub / "config.json").is_file():
                problems.append(f"{name}/ has no config.json")
            problem = weights_problem(sub, str(spec[0]))
            if problem:
                problems.append(problem)
        elif name == "tokenizer" and not any((sub / f).is_file() for f in ("tokenizer.json", "vocab.json")) \
                and not any(sub.glob("*.model")):
            problems.append("tokenizer/ has neither tokenizer.json nor a sentencepiece model (spiece.model)")
        elif name == "scheduler" and not (sub / "scheduler_config.json").is_file():
            problems.append("scheduler/ has no scheduler_config.json")
    return problems


def pipeline_folder_error(folder: Path, *, key: str = "model.id", hub_id: str | None = None,
                          example: str = PIPELINE_EXAMPLE, packages: bool = True) -> DreamrunnerError | None:
    """The error the loader raises for this pipeline folder (a local folder, or ``hub_id``'s snapshot in the
    Hugging Face cache), or None when it passes. ``dreamrunner doctor`` reports the same message, fix and exit
    code. Missing files come first (exit 5 for a local folder, 4 for an unfinished download), then, with
    ``packages``, the packages its tokenizer needs (exit 4)."""
    problems = pipeline_problems(folder)
    if problems and hub_id is not None:
        return ModelUnavailable(f"{key}: {hub_id} in the Hugging Face cache is incomplete ({'; '.join(problems)})",
                                hint=f"finish the download: `hf download {hub_id}`")
    if problems:
        if any("safetensors only" in p for p in problems):
            fix = (f"convert those weights to safetensors (load the component with `use_safetensors=False` and "
                   f"`save_pretrained(..., safe_serialization=True)` into the same folder), or fetch the published "
                   f"safetensors: `hf download {example} --local-dir {folder}`")
        else:
            fix = (f"point {key} at the folder that holds model_index.json, or fill this one: "
                   f"`hf download {example} --local-dir {folder}`")
        return InputInvalid(f"{key}: {folder} is not a loadable diffusers pipeline folder (model_index.json, "
                            f"transformer/, vae/, text_encoder/, tokenizer/, scheduler/): {'; '.join(problems)}",
                            hint=fix)
    tokenizer = folder / "tokenizer"
    return tokenizer_package_error(tokenizer, tokenizer_packages(tokenizer)) if packages else None


# The published CogVideoX tokenizer: spiece.model without tokenizer.json (what a folder not yet downloaded needs).
COGVIDEOX_TOKENIZER_PACKAGES = ["sentencepiece", "protobuf"]


def tokenizer_package_error(tokenizer: Path | None, need: list[str]) -> PackageMissing | None:
    """``PackageMissing`` naming the packages of ``need`` that are not installed, for the tokenizer in
    ``tokenizer`` (None: the CogVideoX tokenizer, before it is downloaded); None when all are there."""
    missing = missing_packages(need)
    if not missing:
        return None
    names = " and ".join(f"`{n}`" for n in missing)
    where = f"the tokenizer in {tokenizer}" if tokenizer is not None else "the CogVideoX tokenizer"
    return PackageMissing(
        f"{where} needs the {names} package{'s' if len(missing) > 1 else ''}: it ships a sentencepiece model "
        "(spiece.model) without tokenizer.json, which transformers converts on load",
        hint=f"pip install {' '.join(missing)} (dreamrunner's own dependencies: `make install` or `pip install -e .` "
        "installs them)")


def hf_cache_dir() -> Path:
    """Where the Hub cache is, read from the environment at call time (as huggingface_hub resolves it)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def cached_snapshot(repo_id: str, revision: str | None = None) -> Path | None:
    """The snapshot folder of ``repo_id`` in the Hub cache (the one ``refs/<revision or main>`` points at, else the
    newest), or None."""
    repo = hf_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    snaps = repo / "snapshots"
    if not snaps.is_dir():
        return None
    ref = repo / "refs" / (revision or "main")
    if ref.is_file():
        commit = ref.read_text(encoding="utf-8").strip()
        if (snaps / commit).is_dir():
            return snaps / commit
    if revision and (snaps / revision).is_dir():
        return snaps / revision
    folders = sorted((p for p in snaps.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    return folders[-1] if folders else None


def looks_like_path(ident: str) -> bool:
    """A local path rather than a Hub id ``org/name``."""
    return ident.startswith((".", "/", "~")) or ident.count("/") != 1 or Path(ident).expanduser().exists()


def _from_pretrained(cfg: ModelConfig):
    local = Path(cfg.id).expanduser()
    if not local.exists() and looks_like_path(cfg.id):
        raise ModelUnavailable(f"model folder {cfg.id!r} does not exist",
                               hint="set model.id to a Hugging Face id (e.g. THUDM/CogVideoX-2b) or an existing folder")

    def checked_folder() -> Path | None:
        """The folder the checks can read: the local one, or the Hub snapshot already in the cache."""
        return local if local.exists() else cached_snapshot(cfg.id, cfg.revision)

    def folder_error(online: bool) -> DreamrunnerError | None:
        folder = checked_folder()
        err = pipeline_folder_error(folder, hub_id=None if local.exists() else cfg.id) if folder else None
        # Online, an incomplete snapshot is completed by the download; only a missing package stops it.
        return err if not online or isinstance(err, PackageMissing) else None

    offline_now = local.exists() or offline()
    err = folder_error(online=not offline_now)
    if err is not None:
        raise err
    try:
        from diffusers import CogVideoXPipeline

        with quiet_progress_bars():
            return CogVideoXPipeline.from_pretrained(
                str(local) if local.exists() else cfg.id, revision=cfg.revision, torch_dtype=torch_dtype(cfg.dtype),
                local_files_only=offline_now, use_safetensors=True)
    except (OSError, ValueError, ImportError) as exc:
        err = folder_error(online=False)  # a download may have brought the files: what is wrong with them?
        if err is not None:
            raise err from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ImportError) or "is required" in first:
            raise PackageMissing(f"loading {cfg.id} needs a package that is not installed: {first}",
                                 hint="install it (`pip install NAME`), or reinstall dreamrunner with its "
                                 "dependencies (`make install`)") from None
        if local.exists():
            raise ModelUnavailable(f"cannot load the CogVideoX pipeline in {local}: {first}",
                                   hint=f"check that it is a complete copy of a published pipeline, e.g. "
                                   f"`hf download {PIPELINE_EXAMPLE} --local-dir {local}`") from None
        where = f"the Hugging Face cache (offline: {offline_reason()})" if offline() else \
            "the Hugging Face Hub and cache"
        raise ModelUnavailable(
            f"cannot load CogVideoX weights {cfg.id!r} from {where}: {first}",
            hint=f"download them on a machine with internet (`hf download {cfg.id}`) and copy the cache, or set "
            "model.id to a local folder holding the pipeline (`--set model.id=/path/to/CogVideoX-2b`)",
        ) from None


@contextlib.contextmanager
def quiet_progress_bars():
    """No tqdm bars from diffusers/transformers while loading: the stage shows its own 'load model … N s'."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    was = dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        if was[0]:
            dlog.enable_progress_bar()
        if was[1]:
            tlog.enable_progress_bar()


def model_geometry_config(model_id: str) -> dict:
    """The transformer config of a checkpoint (its config.json only, no weights)."""
    from diffusers import CogVideoXTransformer3DModel

    local = Path(model_id).expanduser()
    try:
        return dict(CogVideoXTransformer3DModel.load_config(
            str(local) if local.exists() else model_id, subfolder="transformer",
            local_files_only=local.exists() or offline()))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot read the transformer config of {model_id!r}: {str(exc).splitlines()[0]}",
                               hint="set model.id to a local pipeline folder, or pass the geometry explicitly")


def model_ids(cfg: ModelConfig) -> dict:
    return {"video_model": cfg.id, "revision": cfg.revision, "dtype": cfg.dtype}
