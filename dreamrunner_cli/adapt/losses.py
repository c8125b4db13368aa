"""The training losses of the dual-path motion LoRA (METHOD.md B.3) as small pure functions.

Every tensor is laid out like the CogVideoX transformer's input and output: (B, F, C, h, w), F = latent frames.
``pred`` is the transformer's output, ``target`` the scheduler's training target (the v-target for v-prediction
models). Losses are computed in at least float32 whatever the autocast dtype.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _full(x: torch.Tensor) -> torch.Tensor:
    """Half-precision → float32; float32/float64 unchanged."""
    import torch

    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def spatial_loss(pred: torch.Tensor, target: torch.Tensor, frame: int) -> torch.Tensor:
    """MSE on one latent frame only (the spatial path; also the character LoRA's loss).

    Args:
        pred: (B, F, C, h, w) model output.
        target: (B, F, C, h, w) training target.
        frame: 0-based latent frame index, drawn at random per step (or 0 for "reconstruct the first frame").
    """
    import torch.nn.functional as F

    return F.mse_loss(_full(pred[:, frame]), _full(target[:, frame]))


def debias(x: torch.Tensor, anchor: int, beta: float) -> torch.Tensor:
    """φ(u) = √(β²+1)·u − β·u[a] for every latent frame u, with anchor frame a (MotionDirector's debiasing).

    Subtracting a scaled anchor frame removes what all frames share (appearance), so the loss on φ(·) weighs what
    changes between frames (motion). √(β²+1) keeps the variance of independent noise unchanged.

    Args:
        x: (B, F, C, h, w).
        anchor: 0-based latent frame index a.
        beta: β ≥ 0 (β = 0 gives φ = identity).
    """
    return math.sqrt(beta * beta + 1.0) * x - beta * x[:, anchor : anchor + 1]  # anchor frame broadcast over F


def debiased_loss(pred: torch.Tensor, target: torch.Tensor, anchor: int, beta: float) -> torch.Tensor:
    """L_ad = MSE(φ(pred), φ(target)) over all latent frames (METHOD.md B.3)."""
    import torch.nn.functional as F

    return F.mse_loss(debias(_full(pred), anchor, beta), debias(_full(target), anchor, beta))


def temporal_loss(pred: torch.Tensor, target: torch.Tensor, anchor: int, beta: float) -> torch.Tensor:
    """The temporal path's loss: L_org (MSE over all frames) + L_ad (appearance-debiased), not re-weighted."""
    import torch.nn.functional as F

    return F.mse_loss(_full(pred), _full(target)) + debiased_loss(pred, target, anchor, beta)
