"""Tiny replicas of the published scorer checkpoints, in their published layout (tests and the GPU check).

The tests build models in code; users load the folders the model authors published. Each builder here writes, into
a folder, the files of one published repository with the published names, file formats (safetensors, torch ``.pth``),
dtypes, JSON formats and state-dict key layout. Only the widths and depths are tiny and the weights random, so each
replica loads through the production loader in well under a second. What was checked against the published repos
(file lists, preprocessor_config.json, config.json, tokenizer_config.json; read for facts only) is in each builder.

=========================================  ==================================================================
published repository                        files written (what the production loader reads)
=========================================  ==================================================================
timm/vit_large_patch14_clip_336.openai      open_clip_config.json, open_clip_model.safetensors (fp32, open_clip's
  (open_clip's ``hf_hub`` for                 CLIP keys; what ``ViT-L-14-336-quickgelu`` + ``openai`` downloads)
  ``ViT-L-14-336(-quickgelu)`` + openai)
facebook/dinov2-base                        config.json, model.safetensors (fp32), preprocessor_config.json
OpenGVLab/ViCLIP                            ViClip-InternVid-10M-FLT.pth (``{"model": OrderedDict}``, fp32)
microsoft/xclip-base-patch32                config.json, model.safetensors (fp32 plus the two int64 ``position_ids``
                                              buffers the 2022 weights carry), preprocessor_config.json, vocab.json,
                                              merges.txt, tokenizer.json, tokenizer_config.json,
                                              special_tokens_map.json
hustvl/yolos-tiny                           config.json (the 91 COCO labels), model.safetensors (fp32),
                                              preprocessor_config.json
=========================================  ==================================================================

Not written on purpose: the pickled twins the repos also hold (``pytorch_model.bin``, ``open_clip_pytorch_model.bin``;
no loader here reads a pickle), READMEs, ``.gitattributes``, and timm's own ``config.json`` / ``model.safetensors``
in the open_clip repo (timm's image tower only). Configs keep the published keys and values except the sizes, with
three known differences: the tiny open_clip vision tower names its ``head_width`` (the real width-1024 tower uses the
default 64); X-CLIP's config.json holds the keys XCLIPConfig reads in the published 4.2x nesting, not every default
the 4.72 kB original lists; X-CLIP's tokenizer is CLIP's BPE cut to its first merges (the CLIP text towers keep the
full 49408-token vocabulary, which open_clip's tokenizer needs).

Point a config at a replica folder the way a user points at a downloaded snapshot (``replica_settings``), or put a
replica into a Hugging Face cache layout (``write_hub_cache``) and use the Hub id itself with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

OPENAI_CLIP_REPO = "timm/vit_large_patch14_clip_336.openai"
DINOV2_REPO = "facebook/dinov2-base"
VICLIP_REPO = "OpenGVLab/ViCLIP"
XCLIP_REPO = "microsoft/xclip-base-patch32"
YOLOS_REPO = "hustvl/yolos-tiny"
SEED = 0

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def _write_json(path: Path, data: dict, *, sort_keys: bool = True) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=sort_keys) + "\n", encoding="utf-8")


def _seeded(build: Callable[[], Any], seed: int) -> Any:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _save_safetensors(state_dict: dict, path: Path, metadata: dict | None) -> None:
    """A state dict as one safetensors file, tensors as they are (dtype kept; shared storage cloned)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().clone().contiguous() for k, v in state_dict.items()}, str(path), metadata=metadata)


# open_clip: OpenAI's CLIP ViT-L/14 @336px ---------------------------------------------------------------------------
# The repo was written by open_clip's push_to_hf_hub ("Add model"): open_clip_config.json = {"model_cfg",
# "preprocess_cfg"} (indent 2), open_clip_model.safetensors = model.state_dict() in fp32, no metadata.


def openai_clip_model_cfg() -> dict:
    """The replica's open_clip model config: the tiny CLIP of models/scorers.py with ``quick_gelu: true`` like the
    published one (the real one: embed_dim 768, vision 336 px / patch 14 / width 1024 / 24 layers, text width 768)."""
    from .scorers import _tiny_clip_config

    return {**_tiny_clip_config(), "quick_gelu": True}


def write_openai_clip(folder: Path, seed: int = SEED) -> Path:
    """timm/vit_large_patch14_clip_336.openai at tiny size. Loads with ``clip_model=local-dir:<folder>``, with
    ``hf-hub:timm/vit_large_patch14_clip_336.openai`` from a cache (``write_hub_cache``), or as
    ``clip_pretrained=<folder>/open_clip_model.safetensors`` with ``clip_model=dreamrunner-tiny-clip-quickgelu``."""
    import open_clip

    from .scorers import TINY_CLIP_NAME, QUICKGELU, _register_tiny_clip

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tag = open_clip.get_pretrained_cfg("ViT-L-14-336-quickgelu", "openai")  # mean, std, interpolation, resize_mode
    _register_tiny_clip()
    logging.disable(logging.WARNING)  # open_clip warns "no pretrained weights": random weights are the point here
    try:
        model = _seeded(lambda: open_clip.create_model(TINY_CLIP_NAME + QUICKGELU, pretrained=None), seed)
    finally:
        logging.disable(logging.NOTSET)
    _write_json(folder / "open_clip_config.json",
                {"model_cfg": openai_clip_model_cfg(),
                 "preprocess_cfg": {"mean": list(tag["mean"]), "std": list(tag["std"]),
                                    "interpolation": tag["interpolation"], "resize_mode": tag["resize_mode"]}},
                sort_keys=False)
    _save_safetensors(model.state_dict(), folder / "open_clip_model.safetensors", metadata=None)
    return folder


# facebook/dinov2-base -----------------------------------------------------------------------------------------------
# Files: config.json ("Upload model", transformers 4.31), model.safetensors (fp32, "Upload safetensors version"),
# preprocessor_config.json (BitImageProcessor: short side 256 bicubic, centre crop 224, ImageNet mean/std).

DINOV2_PREPROCESSOR = {
    "crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": IMAGENET_MEAN,
    "image_processor_type": "BitImageProcessor", "image_std": IMAGENET_STD, "resample": 3,
    "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 256},
}


def dinov2_config(tiny: bool = True) -> dict:
    """facebook/dinov2-base's config.json; ``tiny`` shrinks width and depth only (real: 768 wide, 12 layers, 12
    heads). image_size 518 and patch 14 are kept, so the position embeddings have the published grid (37 × 37)."""
    cfg = {
        "architectures": ["Dinov2Model"], "attention_probs_dropout_prob": 0.0, "drop_path_rate": 0.0,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 768, "image_size": 518,
        "initializer_range": 0.02, "layer_norm_eps": 1e-06, "layerscale_value": 1.0, "mlp_ratio": 4,
        "model_type": "dinov2", "num_attention_heads": 12, "num_channels": 3, "num_hidden_layers": 12,
        "patch_size": 14, "qkv_bias": True, "torch_dtype": "float32", "transformers_version": "4.31.0.dev0",
        "use_swiglu_ffn": False,
    }
    if tiny:
        cfg.update(hidden_size=32, num_attention_heads=2, num_hidden_layers=2)
    return cfg


def write_dinov2_base(folder: Path, seed: int = SEED) -> Path:
    """facebook/dinov2-base at tiny size; loads with ``evaluate.dino_model=<folder>`` (``dino_arch=dinov2``)."""
    from transformers import Dinov2Config, Dinov2Model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = dinov2_config()
    model = _seeded(lambda: Dinov2Model(Dinov2Config(**cfg)), seed)
    _write_json(folder / "config.json", cfg)
    _write_json(folder / "preprocessor_config.json", DINOV2_PREPROCESSOR)
    _save_safetensors(model.state_dict(), folder / "model.safetensors", metadata={"format": "pt"})
    return folder


# OpenGVLab/ViCLIP ---------------------------------------------------------------------------------------------------
# ViClip-InternVid-10M-FLT.pth: torch.save of {"model": state_dict} (the reference loads torch.load(...)["model"]
# strictly), fp32 (1.71 GB for ViCLIP-L/14), pickle imports OrderedDict / FloatStorage / _rebuild_tensor_v2 only.


def viclip_config() -> Any:
    """Tiny ViCLIP sizes with the released model's conventions: 64-wide heads (so the loader's head count, read as
    width / 64, is right), 8 frames, 32-token text context, the full CLIP vocabulary."""
    from .viclip import ViCLIPConfig

    return ViCLIPConfig(image_size=56, patch_size=14, vision_width=64, vision_layers=2, vision_heads=1, num_frames=8,
                        embed_dim=32, text_width=64, text_layers=2, text_heads=1)


def write_viclip(folder: Path, seed: int = SEED) -> Path:
    """OpenGVLab/ViCLIP at tiny size; loads with ``video_text_model=viclip:<folder>``."""
    from collections import OrderedDict

    import torch

    from .viclip import CHECKPOINT_FILE, build_viclip

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = build_viclip(viclip_config(), seed=seed)
    sd = OrderedDict((k, v.detach().clone().float()) for k, v in model.state_dict().items())
    torch.save({"model": sd}, folder / CHECKPOINT_FILE)
    return folder


# microsoft/xclip-base-patch32 ---------------------------------------------------------------------------------------
# Files: config.json (4.72 kB, transformers 4.2x, architectures ["XClipModel"]), model.safetensors (786 MB fp32,
# SFconvertbot's conversion of pytorch_model.bin, whose pickle also holds LongStorage: the text and vision
# position_ids buffers), preprocessor_config.json (VideoMAEFeatureExtractor, size 224, resample 2 = bilinear),
# CLIPTokenizer files (tokenizer_config.json with "__type": "AddedToken" entries, model_max_length 77).

XCLIP_PREPROCESSOR = {
    "do_center_crop": True, "do_normalize": True, "do_resize": True,
    "feature_extractor_type": "VideoMAEFeatureExtractor", "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD,
    "processor_class": "XCLIPProcessor", "resample": 2, "size": 224,
}
XCLIP_MERGES = 2000  # CLIP's BPE cut to its first merges: a vocabulary of 256 + 256 + 2000 + 2 tokens


def _added_token(content: str) -> dict:
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True, "rstrip": False,
            "single_word": False}


def _clip_bpe(merges: int) -> tuple[dict[str, int], list[str]]:
    """CLIP's byte-level BPE vocabulary and merges (open_clip ships OpenAI's file), cut to the first ``merges``."""
    import gzip

    import open_clip
    from open_clip.tokenizer import bytes_to_unicode

    path = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    rules = gzip.open(path).read().decode("utf-8").split("\n")[1:merges + 1]
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["".join(r.split()) for r in rules]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, rules


def xclip_config(vocab_size: int, tiny: bool = True) -> dict:
    """microsoft/xclip-base-patch32's config.json in its 4.2x layout. Real sizes: text 512 wide / 12 layers / 8
    heads, vision 768 / 12 / 12, MIT 512 wide, projection 512, 2 prompt layers of 8 heads."""
    text = {"attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2, "hidden_act": "quick_gelu",
            "hidden_size": 512, "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 2048,
            "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "xclip_text_model",
            "num_attention_heads": 8, "num_hidden_layers": 12, "pad_token_id": 1, "vocab_size": 49408}
    vision = {"attention_dropout": 0.0, "drop_path_rate": 0.0, "dropout": 0.0, "hidden_act": "quick_gelu",
              "hidden_size": 768, "image_size": 224, "initializer_factor": 1.0, "initializer_range": 0.02,
              "intermediate_size": 3072, "layer_norm_eps": 1e-05, "mit_hidden_size": 512,
              "mit_intermediate_size": 2048, "mit_num_attention_heads": 8, "mit_num_hidden_layers": 1,
              "model_type": "xclip_vision_model", "num_attention_heads": 12, "num_channels": 3, "num_frames": 8,
              "num_hidden_layers": 12, "patch_size": 32}
    cfg = {"architectures": ["XClipModel"], "initializer_factor": 1.0, "logit_scale_init_value": 2.6592,
           "model_type": "xclip", "projection_dim": 512, "prompt_alpha": 0.1, "prompt_attention_dropout": 0.0,
           "prompt_hidden_act": "quick_gelu", "prompt_layers": 2, "prompt_num_attention_heads": 8,
           "prompt_projection_dropout": 0.0, "text_config": text, "torch_dtype": "float32",
           "transformers_version": None, "vision_config": vision}
    if tiny:
        text.update(hidden_size=32, intermediate_size=37, num_attention_heads=2, num_hidden_layers=2,
                    vocab_size=vocab_size)
        vision.update(hidden_size=32, intermediate_size=37, num_attention_heads=2, num_hidden_layers=2,
                      mit_hidden_size=16, mit_intermediate_size=24, mit_num_attention_heads=2)
        cfg.update(projection_dim=16, prompt_layers=1, prompt_num_attention_heads=2)
    return cfg


def write_xclip_base_patch32(folder: Path, seed: int = SEED) -> Path:
    """microsoft/xclip-base-patch32 at tiny size; loads with ``video_text_model=xclip:<folder>``."""
    import torch
    from transformers import CLIPTokenizer, XCLIPConfig, XCLIPModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = _clip_bpe(XCLIP_MERGES)
    cfg = xclip_config(len(vocab))
    model = _seeded(lambda: XCLIPModel(XCLIPConfig.from_dict(cfg)), seed)
    sd = dict(model.state_dict())
    # The 2022 weights still hold the position_ids buffers (int64), which transformers no longer saves.
    grid = (cfg["vision_config"]["image_size"] // cfg["vision_config"]["patch_size"]) ** 2
    sd["text_model.embeddings.position_ids"] = torch.arange(cfg["text_config"]["max_position_embeddings"])[None]
    sd["vision_model.embeddings.position_ids"] = torch.arange(grid + 1)[None]
    _save_safetensors(sd, folder / "model.safetensors", metadata={"format": "pt"})
    _write_json(folder / "config.json", cfg)
    _write_json(folder / "preprocessor_config.json", XCLIP_PREPROCESSOR)
    # Tokenizer: vocab.json + merges.txt (the slow tokenizer's files), tokenizer.json (the fast one), and the
    # configs in the 4.2x format the repo was uploaded with.
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    CLIPTokenizer(vocab=vocab, merges=[tuple(m.split()) for m in merges]).backend_tokenizer.save(
        str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", {
        "add_prefix_space": False, "bos_token": _added_token("<|startoftext|>"), "do_lower_case": True,
        "eos_token": _added_token("<|endoftext|>"), "errors": "replace", "model_max_length": 77,
        "name_or_path": "openai/clip-vit-base-patch32", "pad_token": "<|endoftext|>",
        "processor_class": "XCLIPProcessor", "special_tokens_map_file": None, "tokenizer_class": "CLIPTokenizer",
        "unk_token": _added_token("<|endoftext|>")})
    plain = {k: v for k, v in _added_token("").items() if k != "__type"}
    _write_json(folder / "special_tokens_map.json", {
        "bos_token": {**plain, "content": "<|startoftext|>"}, "eos_token": {**plain, "content": "<|endoftext|>"},
        "pad_token": "<|endoftext|>", "unk_token": {**plain, "content": "<|endoftext|>"}})
    return folder


# hustvl/yolos-tiny --------------------------------------------------------------------------------------------------
# Files: config.json (4.13 kB, the 91 COCO ids with "N/A" gaps, person = 1), model.safetensors (fp32),
# preprocessor_config.json (YolosImageProcessor, shortest edge 512, longest 1333, ImageNet mean/std).

COCO_LABELS = tuple((  # the 91 ids of the COCO-trained DETR family, "N/A" for the unused ones
    "N/A,person,bicycle,car,motorcycle,airplane,bus,train,truck,boat,traffic light,fire hydrant,N/A,stop sign,"
    "parking meter,bench,bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,N/A,backpack,umbrella,N/A,N/A,"
    "handbag,tie,suitcase,frisbee,skis,snowboard,sports ball,kite,baseball bat,baseball glove,skateboard,surfboard,"
    "tennis racket,bottle,N/A,wine glass,cup,fork,knife,spoon,bowl,banana,apple,sandwich,orange,broccoli,carrot,"
    "hot dog,pizza,donut,cake,chair,couch,potted plant,bed,N/A,dining table,N/A,N/A,toilet,N/A,tv,laptop,mouse,"
    "remote,keyboard,cell phone,microwave,oven,toaster,sink,refrigerator,N/A,book,clock,vase,scissors,teddy bear,"
    "hair drier,toothbrush").split(","))

YOLOS_PREPROCESSOR = {
    "do_normalize": True, "do_resize": True, "image_processor_type": "YolosImageProcessor",
    "format": "coco_detection", "image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD,
    "size": {"shortest_edge": 512, "longest_edge": 1333},
}


def yolos_config(tiny: bool = True) -> dict:
    """hustvl/yolos-tiny's config.json; ``tiny`` shrinks width and depth (real: 192 wide, 12 layers, 3 heads)."""
    cfg = {
        "architectures": ["YolosForObjectDetection"], "attention_probs_dropout_prob": 0.0, "auxiliary_loss": False,
        "bbox_cost": 5, "bbox_loss_coefficient": 5, "class_cost": 1, "eos_coefficient": 0.1, "giou_cost": 2,
        "giou_loss_coefficient": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 192,
        "id2label": {str(i): label for i, label in enumerate(COCO_LABELS)}, "image_size": [800, 1333],
        "initializer_range": 0.02, "intermediate_size": 768,
        "label2id": {label: i for i, label in enumerate(COCO_LABELS)},  # "N/A" repeats: the last id wins
        "layer_norm_eps": 1e-12, "model_type": "yolos", "num_attention_heads": 3, "num_channels": 3,
        "num_detection_tokens": 100, "num_hidden_layers": 12, "patch_size": 16, "qkv_bias": True,
        "torch_dtype": "float32", "transformers_version": "4.19.0.dev0", "use_mid_position_embeddings": False,
    }
    if tiny:
        cfg.update(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2)
    return cfg


def write_yolos_tiny(folder: Path, seed: int = SEED) -> Path:
    """hustvl/yolos-tiny at tiny size; loads with ``retrieve.detector=<folder>``."""
    from transformers import YolosConfig, YolosForObjectDetection

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg = yolos_config()
    model = _seeded(lambda: YolosForObjectDetection(YolosConfig.from_dict(cfg)), seed)
    _write_json(folder / "config.json", cfg)
    _write_json(folder / "preprocessor_config.json", YOLOS_PREPROCESSOR, sort_keys=False)
    _save_safetensors(model.state_dict(), folder / "model.safetensors", metadata={"format": "pt"})
    return folder


# Registry, settings, Hub cache layout -------------------------------------------------------------------------------

SCORER_REPLICAS: dict[str, Callable[[Path], Path]] = {
    OPENAI_CLIP_REPO: write_openai_clip,
    DINOV2_REPO: write_dinov2_base,
    VICLIP_REPO: write_viclip,
    XCLIP_REPO: write_xclip_base_patch32,
    YOLOS_REPO: write_yolos_tiny,
}


def replica_settings(folders: dict[str, Path]) -> dict[str, Any]:
    """The config keys (dotted, for ``--set``) that point the presets' scorers at replica folders written by
    ``write_scorer_replicas``: the same settings a user gives for downloaded snapshots."""
    out: dict[str, Any] = {}
    if OPENAI_CLIP_REPO in folders:
        for section in ("retrieve", "evaluate"):
            out[f"{section}.clip_model"] = f"local-dir:{folders[OPENAI_CLIP_REPO]}"
            out[f"{section}.clip_pretrained"] = None
        out["retrieve.threshold"] = 0.2  # a local-dir: CLIP has no calibrated gate; the paper's value
    if DINOV2_REPO in folders:
        out["evaluate.dino_model"] = str(folders[DINOV2_REPO])
        out["evaluate.dino_arch"] = "dinov2"
    if VICLIP_REPO in folders:
        out["retrieve.video_text_model"] = out["evaluate.video_text_model"] = f"viclip:{folders[VICLIP_REPO]}"
    if YOLOS_REPO in folders:
        out["retrieve.detector"] = str(folders[YOLOS_REPO])
    return out


def write_scorer_replicas(root: Path, repos: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Write the replicas (all, or ``repos``) into ``root/<org>--<name>/``; returns {repo id: folder}."""
    return {repo: SCORER_REPLICAS[repo](Path(root) / repo.replace("/", "--"))
            for repo in (repos or tuple(SCORER_REPLICAS))}


def write_hub_cache(cache_dir: Path, repo_id: str, revision: str = "0" * 40) -> Path:
    """Write a replica into the Hugging Face cache layout (``models--org--name/snapshots/<rev>/`` and
    ``refs/main``), so that ``HF_HUB_CACHE=cache_dir HF_HUB_OFFLINE=1`` resolves the Hub id to it. Returns the
    snapshot folder."""
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    if snapshot.exists():
        shutil.rmtree(snapshot)
    SCORER_REPLICAS[repo_id](snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision, encoding="utf-8")
    return snapshot
