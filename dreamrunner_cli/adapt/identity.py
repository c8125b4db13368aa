"""Which model exactly: the resolved identity that adapter, latent and embedding caches are keyed on.

A model id *string* is not an identity: ``revision=None`` follows whatever "main" points to, one local folder can
be used from two paths, and weights can be replaced in place. The identity is resolved without loading any weights:

* **Hugging Face id** → the snapshot commit the id and revision resolve to. Offline (``HF_HUB_OFFLINE=1``) the
  local HF cache's ``refs/<revision>`` decides (the snapshot folder's name is the commit); online the hub does,
  fetching only ``model_index.json`` and ``transformer/config.json``. A commit pins every file of the repo.
* **Local folder** → a *content* identity of the folder, independent of where it lives: per component that the
  adapt stage uses (``transformer``, ``vae``, ``text_encoder``), the sha256 of its config (JSON, keys starting with
  ``_`` dropped) and of every weight file (name, size and full content). Hashing a 2B pipeline's ~13 GB takes a
  few seconds, so each file's content hash is memoised in ``$DREAMRUNNER_CACHE/file-digests`` under its resolved
  path, size, mtime and inode: a copy elsewhere is hashed once and gets the same identity, weights swapped in place
  change size or mtime and are hashed again. (A weight *index* alone is not enough: it lists tensor names and
  shapes, not values, so swapped weights of the same shapes would keep the same index.)
* **Built-in tiny models** → the digest of the config they are built from (seed 0); a pipeline handed in for
  them that differs from that build (another seed, another block count) → the sha256 of each component's config
  and weight values, hashed in memory (they are small).

Every identity also carries the transformer's **block count** and the dtype; an adapter only fits a model whose
block count and block selection it was trained for (``fits``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelUnavailable

if TYPE_CHECKING:
    from ..config import ModelConfig

COMPONENTS = ("transformer", "vae", "text_encoder")  # what adapt's outputs depend on (weights, latents, embeddings)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")


def model_identity(model: ModelConfig, pipeline: Any = None) -> dict[str, Any]:
    """The resolved identity of ``model`` (see the module docstring); no weights are loaded.

    Args:
        model: the ``model`` config section (id, revision, dtype).
        pipeline: an already loaded pipeline (tests, ``dreamrunner run``). For built-in tiny models its weights are
            what is hashed; for real models its block count must agree with the resolved config.

    Raises:
        ModelUnavailable: the id cannot be resolved (offline and not in the HF cache; folder without a
            transformer config), or a given pipeline's block count contradicts the resolved model.
    """
    from ..models.loading import offline

    if model.id in ("tiny", "tiny-rope"):
        from ..models.tiny import tiny_transformer_config

        cfg = tiny_transformer_config(rope=model.id == "tiny-rope")
        # What load_pipeline builds (seed 0) is named by its config alone, so `status` needs no torch; a pipeline
        # handed in that differs from it (another seed, another block count) is named by its weights.
        if pipeline is not None and _pipeline_digests(pipeline) != _tiny_digests(model.id):
            ident = {"source": "builtin-modified", "id": model.id, **_pipeline_digests(pipeline)}
            num_layers = int(pipeline.transformer.config.num_layers)
        else:
            ident = {"source": "builtin", "id": model.id, "transformer_config": _json_digest(cfg)}
            num_layers = int(cfg["num_layers"])
    else:
        local = Path(model.id).expanduser()
        if local.exists():
            ident = {"source": "local", **folder_identity(local)}
            cfg = _read_config(local / "transformer" / "config.json")
        else:
            folder = _hub_snapshot(model.id, model.revision, offline())
            ident = {"source": "hub", "id": model.id, "commit": folder.name}  # the commit pins the revision
            cfg = _read_config(folder / "transformer" / "config.json")
        num_layers = int(cfg.get("num_layers", 0))
        if pipeline is not None and int(pipeline.transformer.config.num_layers) != num_layers:
            raise ModelUnavailable(
                f"the loaded pipeline has {pipeline.transformer.config.num_layers} transformer blocks but model.id "
                f"{model.id!r} resolves to a model with {num_layers}",
                hint="pass the pipeline that model.id names, or set model.id to the folder it was loaded from")
    return {**ident, "num_layers": num_layers, "dtype": model.dtype}


def fits(record_blocks: list[int], expected_blocks: list[int], record_model: dict[str, Any],
         identity: dict[str, Any]) -> bool:
    """Whether a stored adapter may be used on this model: same resolved identity and exactly the blocks this
    model's block selection gives (a 2-block model's adapter never lands on a 4-block model)."""
    return record_model == identity and list(record_blocks) == list(expected_blocks) \
        and all(0 <= b < int(identity.get("num_layers", 0)) for b in record_blocks)


def module_digest(module) -> str:
    """sha256 of a module's config and of its weights' values (as float32): the identity of an in-memory model."""
    import torch

    h = hashlib.sha256(_json_digest(_init_config(getattr(module, "config", {}) or {})).encode())
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


def _pipeline_digests(pipeline) -> dict[str, Any]:
    return {c: module_digest(getattr(pipeline, c)) for c in COMPONENTS if getattr(pipeline, c, None) is not None}


@functools.lru_cache(maxsize=2)
def _tiny_digests(model_id: str) -> dict[str, Any]:
    """Digests of the built-in tiny pipeline as ``load_pipeline`` builds it (seed 0), computed once per process."""
    from ..models.tiny import build_tiny_pipeline

    return _pipeline_digests(build_tiny_pipeline(rope=model_id == "tiny-rope"))


# Hub ----------------------------------------------------------------------------------------------------------


def _hub_snapshot(repo_id: str, revision: str | None, local_only: bool) -> Path:
    """The snapshot folder ``.../snapshots/<commit>`` that ``repo_id@revision`` resolves to."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, revision=revision, local_files_only=local_only,
                                      allow_patterns=["model_index.json", "transformer/config.json"]))
    except Exception as exc:  # hub errors come in many types (offline miss, 404, network); all mean "cannot resolve"
        from ..models.loading import offline_reason

        where = f"the local Hugging Face cache ({offline_reason()})" if local_only else "the Hugging Face Hub"
        raise ModelUnavailable(
            f"cannot resolve {repo_id!r} (revision {revision or 'main'}) to a snapshot commit in {where}: "
            f"{type(exc).__name__}", hint=f"download it on a machine with internet (`hf download {repo_id}`) and "
            "copy the cache, or set model.id to a local folder holding the pipeline") from None


# Local folders -------------------------------------------------------------------------------------------------


def folder_identity(root: Path) -> dict[str, Any]:
    """Content identity of a local pipeline folder: per component, its config digest and its weights' digest."""
    root = Path(root)
    if not (root / "transformer" / "config.json").is_file():
        raise ModelUnavailable(f"model folder {root} has no transformer/config.json",
                               hint="point model.id at a CogVideoX pipeline folder (as written by save_pretrained)")
    out: dict[str, Any] = {}
    for comp in COMPONENTS:
        folder = root / comp
        if not folder.is_dir():
            continue
        cfg_file = next((folder / n for n in ("config.json",) if (folder / n).is_file()), None)
        weights = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
        out[comp] = _json_digest({
            "config": _json_digest(_read_config(cfg_file)) if cfg_file else None,
            "weights": [[p.relative_to(folder).as_posix(), p.stat().st_size, content_digest(p)] for p in weights],
        })
    return out


def content_digest(path: Path) -> str:
    """Full sha256 of a file's content, memoised by (resolved path, size, mtime_ns, inode)."""
    from ..cache import open_cache

    path = Path(path).resolve()
    st = path.stat()
    key = f"sha256:{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    with open_cache("file-digests") as cache:
        hit = cache.get(key)
        if isinstance(hit, str):
            return hit
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(8 << 20), b""):
                h.update(chunk)
        value = h.hexdigest()
        cache.set(key, value)
    return value


# Helpers -------------------------------------------------------------------------------------------------------


def _read_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelUnavailable(f"cannot read {path}: {exc}", hint="the model folder is incomplete; re-download it") \
            from None
    return _init_config(data)


def _init_config(cfg: Any) -> dict[str, Any]:
    """A model config without bookkeeping keys (``_class_name``, ``_name_or_path``, ``*_version``, ...)."""
    items = cfg.to_dict() if hasattr(cfg, "to_dict") and not isinstance(cfg, dict) else dict(cfg)
    return {str(k): v for k, v in items.items() if not str(k).startswith("_") and not str(k).endswith("_version")}


def _json_digest(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_jsonable).encode()
    return hashlib.sha256(blob).hexdigest()


def _jsonable(x: Any) -> Any:
    if isinstance(x, tuple | set | frozenset):
        return list(x)
    return str(x)

