"""Transformer configs of the public CogVideoX checkpoints (copied from their public config.json files).

Used to compute geometry without weights (`dreamrunner masks`, tests) and to build full-size random-weight models for
benchmarks. Loading real weights always reads the checkpoint's own config.
"""

from __future__ import annotations

_COMMON = {
    "activation_fn": "gelu-approximate", "attention_bias": True, "attention_head_dim": 64, "dropout": 0.0,
    "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 16, "max_text_seq_length": 226,
    "norm_elementwise_affine": True, "norm_eps": 1e-5, "out_channels": 16, "patch_size": 2, "sample_frames": 49,
    "sample_height": 60, "sample_width": 90, "temporal_compression_ratio": 4, "temporal_interpolation_scale": 1.0,
    "text_embed_dim": 4096, "time_embed_dim": 512, "timestep_activation_fn": "silu",
    "use_learned_positional_embeddings": False,
}

KNOWN_TRANSFORMER_CONFIGS: dict[str, dict] = {
    "THUDM/CogVideoX-2b": {**_COMMON, "num_attention_heads": 30, "num_layers": 30,
                           "spatial_interpolation_scale": 1.875, "use_rotary_positional_embeddings": False},
    "THUDM/CogVideoX-5b": {**_COMMON, "num_attention_heads": 48, "num_layers": 42,
                           "spatial_interpolation_scale": 1.875, "use_rotary_positional_embeddings": True},
}
# Both use the same VAE geometry: 8x spatial, 4x temporal compression, 16 latent channels.
VAE_SPATIAL = 8
VAE_TEMPORAL = 4

# Scheduler configs the public checkpoints ship (scheduler/scheduler_config.json). Both ship the DDIM variant (their
# model_index.json names CogVideoXDDIMScheduler), 2B with snr_shift_scale 3.0, 5B with 1.0; the authors (METHOD.md D)
# sample with CogVideoXDPMScheduler built from that same config (render.scheduler: dpm).
_SCHEDULER_COMMON = {
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "clip_sample_range": 1.0, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True, "sample_max_value": 1.0, "set_alpha_to_one": True, "steps_offset": 0,
    "timestep_spacing": "trailing", "trained_betas": None,
}
KNOWN_SCHEDULER_CONFIGS: dict[str, dict] = {
    "THUDM/CogVideoX-2b": {"_class_name": "CogVideoXDDIMScheduler", **_SCHEDULER_COMMON, "snr_shift_scale": 3.0},
    "THUDM/CogVideoX-5b": {"_class_name": "CogVideoXDDIMScheduler", **_SCHEDULER_COMMON, "snr_shift_scale": 1.0},
}
