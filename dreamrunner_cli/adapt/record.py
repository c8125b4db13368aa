"""``adapter.json``: what a trained adapter is, where its LoRA sits, and how it was made.

The render stage reads it (with the safetensors beside it) to apply the LoRA region-masked: ``blocks`` are the
0-based transformer blocks holding the LoRA, ``target_modules`` the linears inside each block, ``rank``/``alpha``
its size and scale (alpha = rank → scale 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputInvalid

ADAPTER_SCHEMA_VERSION = 1
ADAPTER_JSON = "adapter.json"


class DataItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(..., description="The clip or image (relative to the workspace when inside it).")
    kind: Literal["clip", "image"]
    caption: str
    digest: str = Field(..., description="Content hash of the file.")


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int
    weights: str = Field(..., description="Path of the LoRA at that step, relative to the adapter folder.")
    loss: float = Field(..., description="Mean training loss over the 10 steps up to it (or fewer).")


class AdapterRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = ADAPTER_SCHEMA_VERSION
    kind: Literal["motion", "character"]
    id: str = Field(..., description="Motion or character id from plan.json (regions bind to adapters by id).")
    description: str = ""
    token: str | None = Field(None, description="Character identifier token (characters only).")
    query: str | None = Field(None, description="Retrieval query of the motion (motions only).")
    weights: str = Field("pytorch_lora_weights.safetensors", description="File beside adapter.json.")
    blocks: list[int] = Field(..., description="0-based transformer blocks holding the LoRA.")
    target_modules: list[str] = Field(..., description="Linears inside each block, e.g. attn1.to_q, ff.net.2.")
    rank: int
    alpha: float
    steps: int
    base_model: dict[str, Any] = Field(..., description="Resolved identity of the model it was trained on: source, "
                                       "snapshot commit or content digests, block count, dtype.")
    geometry: dict[str, Any] = Field(..., description="Pixel height/width/frames the data was decoded to.")
    hyperparameters: dict[str, Any]
    data: list[DataItem]
    data_fingerprint: str
    final_loss: float = Field(..., description="Mean training loss over the last 10 steps (or fewer).")
    loss_curve: list[float] = Field(..., description="Per step: the temporal loss (motion) or the loss (character).")
    spatial_loss_curve: list[float | None] = Field(default_factory=list,
                                                   description="Motion only: per step, null where skipped.")
    recipe_key: str = Field(..., description="Key of the cross-story adapter cache.")
    code_version: str
    source: Literal["trained", "cache"] = Field("trained", description="Trained here, or reused from the cache.")
    device: str | None = None
    train_seconds: float | None = Field(None, description="Not written any more (adapter folders are byte-identical "
                                        "for the same inputs): the adapt stage record in dreamrunner.lock has it.")
    resumed_from: int | None = Field(None, description="Not written any more: the adapt stage record in "
                                     "dreamrunner.lock says which checkpoint step a killed run resumed from.")
    snapshots: list[Snapshot] = Field(default_factory=list, description="Intermediate LoRAs (adapt.export_steps), "
                                      "to pick the best step; each is a diffusers LoRA folder of its own.")
    training: dict[str, Any] = Field(default_factory=dict, description="How it ran (does not change the weights): "
                                     "gradient checkpointing and why, compute dtype, grad scaler, export steps.")


def read_adapter_json(folder: Path) -> dict[str, Any]:
    """``folder/adapter.json`` as a JSON object, read within the bounds of ``bounds.read_json`` (a regular file of at
    most 64 MiB, UTF-8, 64 levels, numbers of 100 characters: a FIFO or a damaged file never blocks or crashes).
    Anything else is InputInvalid (exit 5) naming the file; a missing file is FileNotFoundError, for the caller
    to word."""
    from ..bounds import read_json

    path = Path(folder) / ADAPTER_JSON
    try:
        data = read_json(path, what="adapter record")
    except json.JSONDecodeError as exc:
        raise InputInvalid(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})",
                           hint="re-run `dreamrunner adapt WS --force` for this adapter") from None
    if not isinstance(data, dict):
        raise InputInvalid(f"{path} is not a JSON object", hint="re-run `dreamrunner adapt WS --force` for this "
                                                                "adapter")
    return data


def load_adapter_record(folder: Path) -> AdapterRecord:
    """Read and validate ``folder/adapter.json``; errors name the file."""
    path = Path(folder) / ADAPTER_JSON
    try:
        return AdapterRecord.model_validate(read_adapter_json(folder))
    except FileNotFoundError:
        raise InputInvalid(f"{path} not found", hint="run `dreamrunner adapt WS` to train the adapters") from None
    except ValidationError as exc:
        raise InputInvalid(f"{path} is not a valid adapter record: {str(exc).splitlines()[0]}",
                           hint="re-run `dreamrunner adapt WS --force` for this adapter") from None
