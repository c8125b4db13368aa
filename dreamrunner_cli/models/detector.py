"""Person detector for person-centred retrieval segmentation (METHOD.md B.1 step 3), loaded safely.

The paper tracks people with YOLOv5. YOLOv5 checkpoints are pickled Python objects (``torch.load`` of a whole
``nn.Module``, which executes code from the file) and its loader fetches code from GitHub (``torch.hub``); neither
fits this project's rule of tensors-only, offline loading. We use a transformers object detector instead, read from
``model.safetensors`` only (``use_safetensors=True``, no remote code, no timm):

  * ``hustvl/yolos-tiny`` (default; YOLOS-Ti, COCO-trained, 6.5 M parameters, 28.7 box AP), or any YOLOS checkpoint;
  * ``PekingU/rtdetr_r18vd`` and other RT-DETR (v1/v2) checkpoints (COCO 46.5 AP; stronger, still small);
  * DETR / Conditional DETR checkpoints whose backbone is transformers' own (``use_timm_backbone: false``).

``retrieve.detector`` is a Hub id (looked up in the Hugging Face cache, offline with ``HF_HUB_OFFLINE=1``), a local
folder saved with ``save_pretrained``, or ``tiny`` (a random tiny YOLOS built in code for tests; its boxes mean
nothing). Loading is checked like the scorers' (models/checked.py ``check_loading``): the config's ``model_type``
must be a supported detector, every weight must load (``output_loading_info``: missing, unexpected or re-shaped
weights → ``ModelUnavailable``, exit 4), and the config's ``id2label`` must have a ``person`` class, whose id is
taken from it (COCO's is 1 in these checkpoints, but never assumed). Pre- and post-processing are the checkpoint's
own image processor (``preprocessor_config.json``): resize/normalise, and ``post_process_object_detection``
(softmax with a no-object class for YOLOS/DETR, sigmoid top-k for RT-DETR).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import ModelUnavailable
from .checked import check_device, check_loading, checkpoint_model_type, first_line, hub_offline

TINY = "tiny"
TINY_SEED = 0
DEFAULT_DETECTOR = "hustvl/yolos-tiny"
# model_type → human name. DETR-family models with a timm backbone are refused separately (they need timm and may
# download backbone weights).
SUPPORTED_TYPES = {"yolos": "YOLOS", "rt_detr": "RT-DETR", "rt_detr_v2": "RT-DETRv2", "detr": "DETR",
                   "conditional_detr": "Conditional DETR"}
BATCH = 8  # frames per detector forward


@dataclass(frozen=True)
class Detection:
    """One person box. ``box`` = (x0, y0, x1, y1) as fractions of the frame's width and height, in [0, 1]."""

    score: float
    box: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        """Fraction of the frame the box covers."""
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, 0.0) * max(y1 - y0, 0.0)


class Detector(Protocol):
    model_id: str

    def detect(self, frames: np.ndarray) -> list[list[Detection]]:
        """uint8 (T, H, W, 3) frames → for each frame, its person detections (any score)."""
        ...


class PersonDetector:
    """A transformers object detector and its image processor, reduced to person boxes.

    Attributes:
        model_id: the Hub id or folder, or ``tiny (random)``.
        person_id: the class id of ``person`` in the model's ``id2label``.
        min_score: detections below this are dropped by the post-processing (the segmenter applies its own
            threshold on top; this only bounds the work).
    """

    def __init__(self, model: Any, processor: Any, model_id: str, device: str, person_id: int,
                 min_score: float = 0.0):
        self.model = model.eval().requires_grad_(False)
        self.processor = processor
        self.model_id = model_id
        self.device = device
        self.person_id = int(person_id)
        self.min_score = float(min_score)

    def detect(self, frames: np.ndarray) -> list[list[Detection]]:
        import torch

        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] < 3:
            raise ValueError(f"expected uint8 frames (T, H, W, 3), got shape {frames.shape}")
        h, w = frames.shape[1:3]
        out: list[list[Detection]] = []
        dtype = next(self.model.parameters()).dtype
        for i in range(0, len(frames), BATCH):
            batch = [np.ascontiguousarray(f[..., :3]) for f in frames[i:i + BATCH]]
            inputs = self.processor(images=batch, return_tensors="pt")
            kwargs = {"pixel_values": inputs["pixel_values"].to(self.device, dtype)}
            if "pixel_mask" in inputs and self.model.config.model_type in ("detr", "conditional_detr"):
                kwargs["pixel_mask"] = inputs["pixel_mask"].to(self.device)
            with torch.inference_mode():
                outputs = self.model(**kwargs)
            outputs.logits = outputs.logits.float().cpu()
            outputs.pred_boxes = outputs.pred_boxes.float().cpu()
            results = self.processor.post_process_object_detection(outputs, threshold=self.min_score,
                                                                   target_sizes=[(h, w)] * len(batch))
            for r in results:
                dets = []
                for score, label, box in zip(r["scores"].tolist(), r["labels"].tolist(), r["boxes"].tolist()):
                    if int(label) != self.person_id:
                        continue
                    x0, y0, x1, y1 = box
                    dets.append(Detection(float(score), (_clamp01(x0 / w), _clamp01(y0 / h), _clamp01(x1 / w),
                                                         _clamp01(y1 / h))))
                out.append(dets)
        return out


def _clamp01(v: float) -> float:
    return min(max(float(v), 0.0), 1.0)


def person_class_id(id2label: dict[Any, str], name: str) -> int:
    """The id of the ``person`` class in ``config.id2label`` (case-insensitive); ModelUnavailable when absent."""
    for k, v in (id2label or {}).items():
        if str(v).strip().lower() == "person":
            return int(k)
    raise ModelUnavailable(
        f"person detector {name!r} has no 'person' class in its config's id2label",
        details=[f"labels: {', '.join(map(str, list((id2label or {}).values())[:12]))}"],
        hint="use a COCO-trained detector (e.g. hustvl/yolos-tiny or PekingU/rtdetr_r18vd)")


# Tiny random detector (tests) ---------------------------------------------------------------------------------------


def tiny_detector_config():
    """A tiny YOLOS config: 64-px input, 8-px patches, 2 layers of width 32, 10 detection tokens, three classes."""
    from transformers import YolosConfig

    labels = {0: "N/A", 1: "person", 2: "dog"}
    return YolosConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                       image_size=[64, 64], patch_size=8, num_detection_tokens=10, id2label=labels,
                       label2id={v: k for k, v in labels.items()})


def build_tiny_detector(seed: int = TINY_SEED):
    """(random tiny YolosForObjectDetection, its YolosImageProcessor), deterministic for a seed.

    Random heads give near-uniform class scores, so the label would be decided by noise; the classifier's output
    bias is set to favour ``person`` (score ≈ 0.7 on any frame) so that the plumbing downstream sees persons. Its
    boxes (about the frame's centre quarter) mean nothing."""
    import torch
    from transformers import YolosForObjectDetection, YolosImageProcessor

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = YolosForObjectDetection(tiny_detector_config())
    with torch.no_grad():
        bias = model.class_labels_classifier.layers[-1].bias  # (num_labels + 1,), the last is "no object"
        bias.zero_()
        bias[model.config.label2id["person"]] = 2.0
    processor = YolosImageProcessor(size={"shortest_edge": 64, "longest_edge": 128})
    return model.eval(), processor


# Loading ------------------------------------------------------------------------------------------------------------


def load_person_detector(name: str, device: str = "cpu", min_score: float = 0.0) -> PersonDetector:
    """Load (once per process) a person detector.

    Args:
        name: Hub id (``hustvl/yolos-tiny``), a local folder saved with ``save_pretrained``, or ``tiny``.
        device: torch device; CUDA that is not there raises instead of falling back.
        min_score: post-processing threshold (detections below it are never returned).

    Raises:
        ModelUnavailable: weights missing or not safetensors, another architecture, weights that do not fully load,
            or no ``person`` class.
        BackendUnavailable: the device is not available.
    """
    return _detector(name, device, float(min_score))


def _clear() -> None:
    _detector.cache_clear()


load_person_detector.cache_clear = _clear  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=2)
def _detector(name: str, device: str, min_score: float) -> PersonDetector:
    check_device(device, "the person detector")
    if name == TINY:
        model, processor = build_tiny_detector()
        pid = person_class_id(model.config.id2label, name)
        return PersonDetector(model.to(device), processor, "tiny (random)", device, pid, min_score)
    model, processor = _from_pretrained(name)
    pid = person_class_id(model.config.id2label, name)
    return PersonDetector(model.to(device), processor, name, device, pid, min_score)


def _from_pretrained(name: str) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoImageProcessor, AutoModelForObjectDetection

    path = Path(name).expanduser()
    local = path.is_dir()
    if not local and (name.startswith((".", "/", "~")) or name.count("/") != 1):
        raise ModelUnavailable(f"detector folder {name!r} does not exist",
                               hint="set retrieve.detector to a Hugging Face id (hustvl/yolos-tiny) or a folder "
                                    "saved with save_pretrained, or 'tiny' for tests")
    source = str(path) if local else name
    lfo = local or hub_offline()
    found_type = checkpoint_model_type(source)
    where = ("the folder must hold config.json, preprocessor_config.json and model.safetensors (save_pretrained)"
             if local else f"on a machine with internet run `hf download {name}` and copy the Hugging Face cache "
             "here, or set retrieve.detector to a local folder")
    hint_get = (where + "; only model.safetensors is read, never a pickled pytorch_model.bin (convert one with "
                "save_pretrained on a machine you trust)")
    if found_type is None:
        raise ModelUnavailable(f"cannot read the config of person detector {name!r}", hint=hint_get)
    if found_type not in SUPPORTED_TYPES:
        raise ModelUnavailable(
            f"person detector {name!r} is a {found_type!r} checkpoint, not a supported object detector",
            hint=f"retrieve.detector must be one of: {', '.join(SUPPORTED_TYPES.values())} "
                 "(e.g. hustvl/yolos-tiny, PekingU/rtdetr_r18vd)")
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=lfo, trust_remote_code=False)
    except Exception as exc:
        raise ModelUnavailable(f"cannot read the config of person detector {name!r}: {first_line(exc)}",
                               hint=hint_get) from None
    if getattr(config, "use_timm_backbone", False):
        raise ModelUnavailable(f"person detector {name!r} uses a timm backbone",
                               hint="use YOLOS (hustvl/yolos-tiny) or RT-DETR (PekingU/rtdetr_r18vd): they load "
                                    "from safetensors with transformers alone")
    if getattr(config, "use_pretrained_backbone", False):
        config.use_pretrained_backbone = False  # the checkpoint holds the backbone; never fetch ImageNet weights
    try:
        model, info = AutoModelForObjectDetection.from_pretrained(
            source, config=config, local_files_only=lfo, use_safetensors=True, trust_remote_code=False,
            output_loading_info=True, ignore_mismatched_sizes=True)
        processor = AutoImageProcessor.from_pretrained(source, local_files_only=lfo, trust_remote_code=False)
    except Exception as exc:
        raise ModelUnavailable(f"cannot load person detector {name!r}: {first_line(exc)}", hint=hint_get) from None
    check_loading("person detector", name, expected_type=found_type, found_type=model.config.model_type, info=info,
                  hint="point retrieve.detector at a complete checkpoint of a supported detector (hustvl/yolos-tiny, "
                       "PekingU/rtdetr_r18vd); a detector whose weights do not fully load finds people at random, "
                       "so it is refused")
    return model, processor
