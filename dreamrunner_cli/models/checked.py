"""Checked, offline-aware loading shared by every scorer loader (CLIP, X-CLIP, ViCLIP, DINO, the person detector).

One small module with no model code, so that ``scorers``, ``dino``, ``viclip`` and ``detector`` all import from here
and never from each other:

  * ``hub_offline()``: only local files may be read (HF_HUB_OFFLINE, or the Hub cannot be reached; the probe lives in
    models/loading.py and runs once per process);
  * ``check_device(device)``: a device that is not there raises, never a silent fallback to another one;
  * ``checkpoint_model_type(name)``: the ``model_type`` in a checkpoint's config.json, read without loading weights;
  * ``check_loading(...)``: refuse a transformers model whose weights did not fully load (``output_loading_info``) or
    whose checkpoint is another architecture: ``ModelUnavailable`` (exit 4) naming the keys;
  * ``first_line(exc)``: an exception as one line for a message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, ModelUnavailable


def hub_offline() -> bool:
    """True when the Hugging Face Hub must not be contacted (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, or the Hub
    cannot be reached: probed once per process, see loading.py)."""
    from .loading import offline  # lazy: loading.py is the one place that probes the Hub

    return offline()


def check_device(device: str, what: str = "scoring") -> None:
    """Raise rather than silently running somewhere else (ARCHITECTURE.md: never a silent fallback)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable(f"device {device!r} requested for {what}, but CUDA is not available",
                                 hint="set retrieve.device=cpu (or evaluate.device=cpu), or run on a GPU machine")
    if device.startswith("mps") and not torch.backends.mps.is_available():
        raise BackendUnavailable(f"device {device!r} requested for {what}, but MPS is not available")


def checkpoint_model_type(name: str) -> str | None:
    """``model_type`` of a Hugging Face checkpoint's config.json (local folder or cache), without loading weights."""
    from transformers import PretrainedConfig

    local = Path(os.path.expanduser(name)).is_dir()
    try:
        config, _ = PretrainedConfig.get_config_dict(os.path.expanduser(name) if local else name,
                                                     local_files_only=local or hub_offline())
    except Exception:
        return None  # no config: from_pretrained reports it
    return config.get("model_type")


def check_loading(what: str, name: str, *, expected_type: str, found_type: str | None, info: dict[str, Any],
                  allow_missing: tuple[str, ...] = (), allow_unexpected: tuple[str, ...] = (),
                  hint: str | None = None) -> None:
    """Refuse a model whose weights did not fully load (transformers' ``output_loading_info``).

    Missing keys are weights left randomly initialised; unexpected keys are checkpoint weights the class ignored;
    mismatched keys were re-initialised because of their shape; a different ``model_type`` means the checkpoint is
    another architecture. Any of them → ModelUnavailable (exit 4) naming the keys. ``allow_*`` are key prefixes
    known to be harmless (for example a pooler head that is never used).
    """
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(allow_missing or ("\0",)))
    unexpected = sorted(k for k in info.get("unexpected_keys", ()) if not k.startswith(allow_unexpected or ("\0",)))
    mismatched = sorted(str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys", ()))
    errors = [str(e) for e in info.get("error_msgs", ())]
    wrong_type = found_type is not None and found_type != expected_type
    if not (missing or unexpected or mismatched or errors or wrong_type):
        return
    parts = []
    if wrong_type:
        parts.append(f"its config says model_type {found_type!r}, not {expected_type!r}")
    if missing:
        parts.append(f"{len(missing)} weights missing from the checkpoint (they would be random): "
                     + ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else ""))
    if unexpected:
        parts.append(f"{len(unexpected)} checkpoint weights unused")
    if mismatched:
        parts.append(f"{len(mismatched)} weights of the wrong shape")
    raise ModelUnavailable(
        f"{what} {name!r} did not load fully: " + "; ".join(parts),
        details=(keys_listing("missing", missing) + keys_listing("unexpected", unexpected)
                 + keys_listing("wrong shape", mismatched) + [f"error: {e}" for e in errors[:3]]),
        hint=hint or "point the config at a checkpoint of this architecture; a model whose weights do not fully "
                     "load scores randomly, so it is refused")


def keys_listing(kind: str, keys: list[str], limit: int = 10) -> list[str]:
    """['<kind>: a, b, ... (+N more)'] for a details list, or [] when there are no keys."""
    if not keys:
        return []
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return [f"{kind}: {', '.join(keys[:limit])}{more}"]


def first_line(exc: BaseException) -> str:
    """``TypeName: first line of the message``."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
