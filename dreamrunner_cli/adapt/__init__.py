"""Test-time adaptation: motion LoRAs from retrieved clips and character LoRAs from reference images.

Modules (the stage that drives them is ``dreamrunner_cli.stages.adapt``):

* ``data``: which clips/images, their captions, decoding to the model's frames and size, pixels in [-1, 1];
* ``encode``: VAE latents and prompt embeddings, computed once and memoised in diskcache;
* ``lora``: block and linear selection, adding/switching/saving LoRAs through peft and diffusers;
* ``losses``: spatial, temporal and appearance-debiased losses (pure functions);
* ``trainer``: the dual-path motion training and the character training, with resumable checkpoints;
* ``checkpoint``: checkpoint files (safetensors + JSON);
* ``record``: ``adapter.json``;
* ``reuse``: the cross-story adapter cache keyed by the full recipe.

Nothing here imports torch at module level.
"""
