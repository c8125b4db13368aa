"""Resumable training checkpoints: safetensors + JSON, never pickle.

A checkpoint folder ``step-000100/`` holds

* ``lora.safetensors``: every trainable LoRA tensor by parameter name (the kept LoRA and, for motions, the per-clip
  spatial LoRAs, which a resumed run needs to continue exactly);
* ``optimizer.safetensors``: the AdamW state tensors, keyed ``<optimizer>.<param index>.<field>``;
* ``rng.safetensors``: the CPU (and CUDA) RNG state, which drives LoRA dropout, and the sampling generator's state;
* ``state.json``: the step, the loss curves so far, the grad-scaler state and the run key.

The folder is written under a temporary name and renamed into place, so a folder named ``step-*`` is complete.
Only the newest is kept. A checkpoint whose run key differs from the current run (another recipe or data) is
ignored and removed (nanoGPT's "keys that define the artifact").
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..bounds import read_json
from ..errors import InputInvalid

if TYPE_CHECKING:
    import torch


@dataclass
class Checkpoint:
    step: int
    params: dict[str, torch.Tensor]
    optimizer_state: dict[str, dict[int, dict[str, torch.Tensor]]]
    rng: dict[str, torch.Tensor]
    state: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(folder: Path, step: int, params: dict[str, torch.Tensor], optimizers: dict[str, Any],
                    rng: dict[str, torch.Tensor], state: dict[str, Any]) -> Path:
    """Write ``folder/step-XXXXXX`` atomically and delete older checkpoints."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-step-", dir=folder))
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in params.items()}, str(tmp / "lora.safetensors"))
        opt_tensors = {}
        for name, opt in optimizers.items():
            for idx, st in opt.state_dict()["state"].items():
                for key, value in st.items():
                    opt_tensors[f"{name}.{idx}.{key}"] = value.detach().cpu().contiguous()
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        save_file({k: v.cpu().contiguous() for k, v in rng.items()}, str(tmp / "rng.safetensors"))
        (tmp / "state.json").write_text(json.dumps({**state, "step": step}, indent=1), encoding="utf-8")
        target = folder / f"step-{step:06d}"
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    for old in folder.glob("step-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def load_latest(folder: Path, run_key: str) -> Checkpoint | None:
    """The newest complete checkpoint of this run, or None (stale ones from another recipe are removed)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    if not folder.is_dir():
        return None
    for ck in sorted(folder.glob("step-*"), reverse=True):
        try:
            state = read_json(ck / "state.json", what="checkpoint state")
            if state.get("run_key") != run_key:
                shutil.rmtree(ck, ignore_errors=True)
                continue
            params = load_file(str(ck / "lora.safetensors"))
            opt_flat = load_file(str(ck / "optimizer.safetensors"))
            rng = load_file(str(ck / "rng.safetensors"))
        except (OSError, json.JSONDecodeError, InputInvalid, SafetensorError, AttributeError):
            continue  # unreadable: try an older one
        optimizer_state: dict[str, dict[int, dict[str, torch.Tensor]]] = {}
        for key, value in opt_flat.items():
            name, idx, fld = key.split(".", 2)
            optimizer_state.setdefault(name, {}).setdefault(int(idx), {})[fld] = value
        return Checkpoint(step=int(state["step"]), params=params, optimizer_state=optimizer_state, rng=rng,
                          state=state)
    return None


def restore_optimizer(opt, state: dict[int, dict[str, torch.Tensor]]) -> None:
    """Load saved per-parameter state into an optimizer built the same way (its param groups are kept)."""
    sd = opt.state_dict()
    opt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})


def clear(folder: Path, up_to: Path | None = None) -> None:
    """Delete a run's checkpoints, and the parent folders up to ``up_to`` that are left empty."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    if up_to is None:
        return
    parent = folder.parent
    while parent != Path(up_to).parent and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
