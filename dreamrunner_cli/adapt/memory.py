"""``adapt.gradient_checkpointing: auto``: recompute activations only when they would not fit in free memory.

Without gradient checkpointing a training step keeps every block's saved activations until the backward pass.
Their size was measured here (CPU, ``torch.autograd.graph.saved_tensors_hooks`` summing the bytes of every tensor
saved for backward, LoRA rank 32 with dropout on all six linears of every block, as the motion recipe trains):

* about **94 bytes** per (block × token × hidden unit) with bfloat16/float16 weights, **131** with float32
  (the LoRA path runs in float32 and keeps its own copies of each linear's input and dropout mask);
* plus, where attention materialises its scores (not with CUDA's flash / memory-efficient SDPA kernels),
  ``heads × S²`` scores per block in the compute dtype.

For CogVideoX-2B at 480×720×49 (30 blocks, d = 1920, S = 17 776 tokens) that estimate is ≈ 89 GiB in bf16:
checkpointing stays on for an 80 GB GPU and goes off on a 141 GB one. The estimate is deliberately simple; a 15 %
margin and 2 GiB of headroom are added before comparing with the free memory (CUDA: ``torch.cuda.mem_get_info``
after the model is placed; CPU: ``MemAvailable``).
"""

from __future__ import annotations

BYTES_PER_UNIT = {"float32": 131, "float16": 94, "bfloat16": 94}
MARGIN = 1.15
HEADROOM = 2 * 2**30


def activation_bytes(num_layers: int, hidden: int, heads: int, seq_len: int, dtype: str, dense_scores: bool) -> int:
    """Estimated bytes of saved activations for one forward + backward without checkpointing."""
    per_block = seq_len * hidden * BYTES_PER_UNIT[dtype]
    if dense_scores:
        per_block += heads * seq_len * seq_len * (4 if dtype == "float32" else 2)
    return int(num_layers * per_block)


def free_bytes(device: str) -> int:
    """Free memory of the device the transformer trains on (CUDA: free device memory; CPU: MemAvailable)."""
    if str(device).startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0  # unknown: checkpointing stays on (the safe choice)


def decide_gradient_checkpointing(setting: bool | str, transformer, seq_len: int, device: str,
                                  dtype: str) -> tuple[bool, str]:
    """Resolve ``adapt.gradient_checkpointing`` (true, false or "auto") → (on?, why)."""
    if setting is True or setting is False:
        return bool(setting), "set in the config"
    cfg = transformer.config
    heads = int(cfg.num_attention_heads)
    need = activation_bytes(int(cfg.num_layers), heads * int(cfg.attention_head_dim), heads, seq_len, dtype,
                            dense_scores=not str(device).startswith("cuda"))
    free = free_bytes(device)
    on = need * MARGIN + HEADROOM > free
    gib = 2**30
    why = (f"auto: activations ≈ {need / gib:.2f} GiB (estimate, +15% and 2 GiB headroom) vs {free / gib:.2f} GiB "
           f"free on {device}")
    return on, why
