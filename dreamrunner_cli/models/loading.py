"""Loading the video model: a CogVideoX pipeline from a Hugging Face id or a local folder, or the tiny random one.

Offline-aware: with HF_HUB_OFFLINE=1 (or when the hub cannot be reached) only local files are used, and missing
weights raise ModelUnavailable naming the id, where we looked and how to get them. Never a silent fallback to a
different model, dtype or device.

The Hub is probed once per process (``offline``): a machine without network, and without HF_HUB_OFFLINE, fails
in about two seconds instead of spending a minute in huggingface_hub's retries. Every loader that may contact the
Hub (this module, ``adapt/identity.py``, the scorers, DINO, ViCLIP, the person detector) asks ``offline()`` first.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ..errors import BackendUnavailable, ModelUnavailable

if TYPE_CHECKING:
    from ..config import ModelConfig

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


def check_device(device: str) -> None:
    """Raise if the requested device is not usable (never fall back to CPU quietly)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable(
            f"model.device is {device!r} but CUDA is not available on this machine",
            hint="run on a GPU machine, or use the tiny preset on CPU (`--preset tiny`); "
            "`--set model.device=cpu` runs a real model on CPU (very slow)",
        )


def load_pipeline(cfg: ModelConfig, place: bool = True):
    """Return a CogVideoXPipeline in cfg.dtype, moved to cfg.device unless ``place`` is False (CPU offload places
    modules itself). Tiny: random weights built in code."""
    check_device(cfg.device)
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


def _from_pretrained(cfg: ModelConfig):
    from diffusers import CogVideoXPipeline

    local = Path(cfg.id).expanduser()
    source = str(local) if local.exists() else cfg.id
    if not local.exists() and (cfg.id.startswith((".", "/", "~")) or cfg.id.count("/") != 1):
        raise ModelUnavailable(f"model folder {cfg.id!r} does not exist",
                               hint="set model.id to a Hugging Face id (e.g. THUDM/CogVideoX-2b) or an existing folder")
    try:
        return CogVideoXPipeline.from_pretrained(
            source, revision=cfg.revision, torch_dtype=torch_dtype(cfg.dtype),
            local_files_only=local.exists() or offline(), use_safetensors=True,
        )
    except (OSError, ValueError, EnvironmentError) as exc:
        where = f"the folder {local}" if local.exists() else (
            f"the Hugging Face cache (offline: {offline_reason()})" if offline() else "the Hugging Face Hub and cache")
        raise ModelUnavailable(
            f"cannot load CogVideoX weights {cfg.id!r} from {where}: {str(exc).splitlines()[0] if str(exc) else exc}",
            hint=f"download them on a machine with internet (`hf download {cfg.id}`) and copy the cache, or set "
            "model.id to a local folder holding the pipeline (`--set model.id=/path/to/CogVideoX-2b`)",
        ) from None


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
