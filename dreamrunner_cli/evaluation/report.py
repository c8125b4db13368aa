"""``eval/report.html``: one self-contained HTML page, rendered from Jinja2 templates (``evaluation/templates/``,
autoescaped: every plan text, caption, file name and config value is escaped; a Content-Security-Policy lets only the
page's own script run).

This module gathers plain data (numbers, texts, data URIs); the templates lay it out. Sections, in page order:

1. header (what was scored, with which models, warnings) and a table of contents;
2. story scores, one row per video source (the comparison table), both fine-grained cuts, per-character consistency;
3. the per-scene score plot (inline SVG);
4. the stitched ``story.mp4``;
5. the storyboard;
6. characters: reference images next to crops of every scene's frames inside the plan's boxes for that character;
7. scene by scene: narration and scores, then one column per source side by side (a playable ``<video>`` of the
   clip with a poster frame, an animated WebP preview inlined in the page, the contact sheet), the plan's events;
8. retrieved clips (thumbnails from ``retrieval/<motion>/manifest.json``);
9. LoRA training (loss curves from ``adapters/*/*/adapter.json``);
10. the cuts between scenes; what each metric means;
11. provenance: versions, seeds, the configuration (config.json) and the stage runs (runs.jsonl).

Videos are linked by their path relative to ``eval/`` (they play when the page sits in the workspace); the posters,
previews, crops and thumbnails are inlined, so a copy of the page alone still shows every picture and the motion.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np

from .. import __version__
from ..schema import Plan
from .pictures import (
    SOURCE_COLORS,
    animated_preview_uri,
    crop_uri,
    entity_colors,
    image_thumbnail_uri,
    ink_for,
    keyframe_sample_indices,
    loss_curve_points,
    poster_uri,
    scores_svg,
)
from .schema import DESCRIPTIONS, FG_VARIANTS, HEADLINE, STORY_ONLY, MetricsFile, SceneMetrics

if TYPE_CHECKING:
    from ..workspace import Workspace

TEMPLATE = "report.html.j2"
SCRIPT = "report.js"
# Versions shown in the provenance block (read from the installed distributions; nothing is imported).
DISTRIBUTIONS = ("torch", "diffusers", "transformers", "peft", "open_clip_torch", "accelerate", "pillow",
                 "imageio-ffmpeg", "jinja2")
MAX_CLIPS_SHOWN = 8  # retrieved clips per motion with a thumbnail
MAX_RUNS_SHOWN = 40  # latest stage runs in the provenance table


def data_uri(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def thumbnail_uri(path: Path, max_side: int = 240) -> str:
    """A reference image, shrunk to at most ``max_side`` pixels, as a data URI (keeps the report small)."""
    return image_thumbnail_uri(path, max_side)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


# Templates -----------------------------------------------------------------------------------------------------------


def environment():
    """The Jinja2 environment: templates from the package, autoescaped, undefined names are errors."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("dreamrunner_cli.evaluation", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _script(env) -> tuple[str, str]:
    """The page's one script and its CSP hash (``'sha256-…'``): no other script can run in the page."""
    source = env.loader.get_source(env, SCRIPT)[0].strip()
    return source, "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")


# Tables and timelines (plain data for the template) -------------------------------------------------------------------


def _table(rows: list[tuple[str, dict[str, float | None]]], keys: list[str], labels: dict[str, str],
           first: str = "source") -> dict[str, Any]:
    """A table with one row per (label, values); the best value per column is marked when there are several rows."""
    best: dict[str, float] = {}
    if len(rows) > 1:
        for k in keys:
            vals = [r[1].get(k) for r in rows if r[1].get(k) is not None]
            if vals:
                best[k] = max(vals)  # every metric here is "higher is better"
    return {"first": first,
            "columns": [{"label": labels[k], "title": DESCRIPTIONS.get(k, "")} for k in keys],
            "rows": [{"label": name,
                      "cells": [{"text": _fmt(vals.get(k)),
                                 "cls": "na" if vals.get(k) is None else
                                 ("best" if k in best and vals.get(k) == best[k] else "")} for k in keys]}
                     for name, vals in rows]}


def _timeline(m: SceneMetrics, keyframes: int, colors: dict[str, str]) -> list[list[dict[str, Any]]]:
    """One lane per entity; each event a bar over its key-frame span (left/width in % of the clip)."""
    lanes: dict[str, list] = {}
    for ev in m.events:
        lanes.setdefault(ev.entity, []).append(ev)
    out = []
    for entity, evs in lanes.items():
        colour = colors.get(entity, "#cccccc")
        out.append([{"left": round(100.0 * ev.keyframes[0] / keyframes, 2),
                     "width": round(100.0 * (ev.keyframes[1] - ev.keyframes[0]) / keyframes, 2),
                     "color": colour, "ink": ink_for(colour), "alt": i % 2 == 1, "title": ev.text,
                     "label": f"{entity} · {ev.motion}"} for i, ev in enumerate(evs)])
    return out


def _events(m: SceneMetrics) -> list[dict[str, Any]]:
    return [{"entity": ev.entity, "motion": ev.motion, "keyframes": f"{ev.keyframes[0] + 1}–{ev.keyframes[1]}",
             "frames": f"{ev.frames[0]}–{ev.frames[1] - 1} ({cut})", "text": ev.text, "clip": _fmt(ev.clip),
             "video_text": _fmt(ev.video_text)}
            for cut, evs in (("plan", m.events), ("midpoint", m.segments)) for ev in evs]


# Videos: one decoding pass per file gives the poster, the preview and the key frames for the crops -------------------


def _sample_video(path: Path, keep: Sequence[int] = (), max_preview: int = 24,
                  preview_side: int = 320) -> dict[str, Any] | None:
    """Decode ``path`` once: evenly spaced preview frames (downscaled), the frames at indices ``keep`` (full size),
    the middle frame (poster) and the fps. None when the file cannot be read (the page says so)."""
    import imageio.v3 as iio
    from PIL import Image

    from ..video import READ_PARAMS, probe_video

    try:
        info = probe_video(path)
        n = info.frames
        preview_idx = set(np.unique(np.linspace(0, n - 1, min(n, max_preview)).round().astype(int)).tolist())
        mid = (n - 1) // 2
        kept: dict[int, np.ndarray] = {}
        preview: list[np.ndarray] = []
        poster = None
        for i, frame in enumerate(iio.imiter(path, plugin="FFMPEG", input_params=READ_PARAMS)):
            frame = np.asarray(frame)[..., :3]
            if i in keep:
                kept[i] = frame
            if i == mid:
                poster = frame
            if i in preview_idx:
                im = Image.fromarray(frame)
                im.thumbnail((preview_side, preview_side))
                preview.append(np.asarray(im))
        if not preview:
            return None
        return {"fps": info.fps, "frames": n, "keep": kept, "preview": np.stack(preview),
                "poster": poster if poster is not None else preview[len(preview) // 2], "n_read": i + 1}
    except Exception:  # noqa: BLE001 - a missing or broken video is shown as such, the report still renders
        return None


def _href(path: Path, base: Path) -> str:
    """A URL for ``path`` relative to the folder of the page (``eval/``), percent-encoded."""
    try:
        rel = os.path.relpath(Path(path).resolve(), Path(base).resolve())
    except ValueError:  # another drive (Windows)
        return Path(path).resolve().as_uri()
    return quote(Path(rel).as_posix())


def _player(path: Path | None, sample: dict[str, Any] | None, base: Path, label: str) -> dict[str, Any]:
    if path is None:
        return {"src": None, "label": label}
    return {"src": _href(path, base), "label": label, "name": Path(path).name,
            "poster": poster_uri(sample["poster"]) if sample else None,
            "preview": animated_preview_uri(sample["preview"], sample["fps"] * len(sample["preview"])
                                            / max(sample["frames"], 1)) if sample else None}


# Workspace files: retrieval manifests, adapter records, config and runs ----------------------------------------------


def _read_json(path: Path) -> Any:
    """A workspace file shown in the report, or None when it cannot be shown: missing, not JSON, or past the bounds
    of ``bounds.read_json`` (a FIFO is never opened for a blocking read, a 100,000-level file never recursed)."""
    from ..bounds import read_json
    from ..errors import InputInvalid

    try:
        return read_json(path, what="workspace file")
    except (OSError, ValueError, InputInvalid):
        return None


def _retrieval(ws: Workspace, plan: Plan, base: Path) -> list[dict[str, Any]]:
    out = []
    for motion in plan.motions:
        manifest = ws.retrieval_dir / motion.id / "manifest.json"
        data = _read_json(manifest) if manifest.exists() else None
        if not isinstance(data, dict):
            continue
        clips = []
        for clip in (data.get("kept") or [])[:MAX_CLIPS_SHOWN]:
            path = manifest.parent / str(clip.get("file", ""))
            thumb = None
            if path.is_file():
                sample = _sample_video(path, max_preview=1, preview_side=200)
                thumb = poster_uri(sample["poster"], 200, 140) if sample else None
            clips.append({"thumb": thumb, "href": _href(path, base), "caption": str(clip.get("caption", "")),
                          "rank": clip.get("rank"), "score": _fmt(_pct(clip.get("score"))),
                          "source": str(clip.get("source", "")),
                          "span": f"{clip.get('start', 0):.1f}–{clip.get('end', 0):.1f} s"})
        kept = data.get("kept") or []
        out.append({"motion": motion.id, "query": str(data.get("query", "")), "clips": clips,
                    "kept": len(kept), "hidden": max(0, len(kept) - len(clips)),
                    "counts": {k: v for k, v in (data.get("counts") or {}).items()},
                    "manifest": ws.rel(manifest)})
    return out


def _pct(v: Any) -> float | None:
    return None if v is None else 100.0 * float(v)


def _adapters(ws: Workspace) -> list[dict[str, Any]]:
    out = []
    for record in sorted(ws.adapters_dir.glob("*/*/adapter.json")):
        if any(part.startswith(".") for part in record.relative_to(ws.adapters_dir).parts):
            continue  # training checkpoints
        data = _read_json(record)
        if not isinstance(data, dict):
            continue
        curve = [float(v) for v in data.get("loss_curve") or [] if v is not None and np.isfinite(v)]
        spatial = [None if v is None or not np.isfinite(v) else float(v) for v in data.get("spatial_loss_curve") or []]
        values = curve + [v for v in spatial if v is not None]
        chart = None
        if curve:
            lo, hi = min(values), max(values)
            pad = (hi - lo) * 0.05 or max(abs(hi), 1e-3) * 0.05
            lo, hi = lo - pad, hi + pad
            w, h = 340.0, 120.0
            smooth = max(1, min(10, len(curve) // 5))
            chart = {"w": w, "h": h, "raw": loss_curve_points(curve, w, h, lo, hi),
                     "smooth": loss_curve_points(curve, w, h, lo, hi, smooth) if smooth > 1 else "",
                     "spatial": loss_curve_points(spatial, w, h, lo, hi, smooth) if any(
                         v is not None for v in spatial) else "",
                     "ticks": [{"y": round(h * (1 - (t - lo) / (hi - lo)), 1), "label": f"{t:.3g}"}
                               for t in np.linspace(lo, hi, 3)],
                     "steps": len(curve), "smooth_n": smooth}
        out.append({"kind": str(data.get("kind", record.parent.parent.name)), "id": str(data.get("id",
                                                                                                record.parent.name)),
                    "steps": data.get("steps"), "final_loss": data.get("final_loss"), "rank": data.get("rank"),
                    "source": str(data.get("source", "")), "clips": len(data.get("data") or []),
                    "seconds": data.get("train_seconds") or _train_seconds(ws, record.parent),
                    "chart": chart, "record": ws.rel(record),
                    "snapshots": [f"step {s.get('step')}: {s.get('loss', 0):.4g}" for s in data.get("snapshots") or []
                                  if isinstance(s, dict)]})
    return out


def _train_seconds(ws, folder) -> float | None:
    """Training time of an adapter, from the adapt stage's record (adapter folders hold no run-dependent fields)."""
    from ..workspace import Records

    try:
        rec = Records.load(ws).get("adapt", f"{folder.parent.name}/{folder.name}") or {}
    except Exception:  # noqa: BLE001 - a damaged lock is reported by the commands that need it, not by the report
        return None
    return rec.get("train_seconds")


def _versions() -> list[tuple[str, str]]:
    from importlib import metadata

    out = [("dreamrunner", __version__), ("python", platform.python_version()),
           ("platform", platform.platform(terse=True))]
    for dist in DISTRIBUTIONS:
        try:
            out.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            out.append((dist, "not installed"))
    return out


def _seeds(config: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Every ``*seed*`` key of the configuration, dotted."""
    out: list[tuple[str, str]] = []

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else str(k))
        elif "seed" in prefix.rsplit(".", 1)[-1]:
            out.append((prefix, json.dumps(node)))

    walk(config or {}, "")
    return out


def _runs(ws: Workspace) -> list[dict[str, Any]]:
    try:
        runs = ws.read_runs()
    except Exception:  # noqa: BLE001 - provenance is best effort: a damaged log must not break the report
        return []
    out = []
    for r in runs[-MAX_RUNS_SHOWN:]:
        items = r.get("items") or []
        actions: dict[str, int] = {}
        for it in items:
            actions[str(it.get("action", "?"))] = actions.get(str(it.get("action", "?")), 0) + 1
        extra = {k: v for k, v in r.items() if k not in ("items", "time", "stage", "outcome", "seconds", "sha",
                                                          "version")}
        out.append({"time": str(r.get("time", "")), "stage": str(r.get("stage", "")),
                    "outcome": str(r.get("outcome", "")), "seconds": r.get("seconds"),
                    "items": ", ".join(f"{n} {a}" for a, n in actions.items()) or "–",
                    "version": str(r.get("version", "")),
                    "details": json.dumps(extra, indent=1, sort_keys=True, default=str)[:4000]})
    return out


# The page ------------------------------------------------------------------------------------------------------------


def build_report(metrics: MetricsFile, plan: Plan, sheets: dict[tuple[str, str], Path],
                 storyboard: Path | None, references: dict[str, list[Path]] | None = None, *,
                 ws: Workspace | None = None) -> str:
    """Render the report as one HTML string.

    Args:
        metrics: the content of eval/metrics.json.
        plan: the plan the videos were scored against.
        sheets: (source name, scene id) → contact-sheet PNG.
        storyboard: the workspace's storyboard.png, or None when it does not exist.
        references: character id → its reference image files (shown as thumbnails).
        ws: the workspace: videos (players, previews, crops), retrieval manifests, adapter records, config.json and
            runs.jsonl are read from it. Without it those sections are left out.
    """
    env = environment()
    script, script_hash = _script(env)
    colors = entity_colors(plan)
    sources = metrics.sources
    title = metrics.title or plan.title or "Story"
    base = ws.eval_dir if ws is not None else Path.cwd()

    # 1. Story scores, one row per source (the comparison table), both cuts, per character.
    keys = list(HEADLINE) + list(STORY_ONLY)
    labels = {**HEADLINE, **STORY_ONLY}
    story_rows = [(s.name, s.story.model_dump()) for s in sources]
    chars = sorted({c for s in sources for c in s.story.characters})
    char_rows = [(f"{s.name} · {c}", {"char_clip": s.story.characters[c]["clip"],
                                      "char_dino": s.story.characters[c]["dino"]})
                 for s in sources for c in chars if c in s.story.characters]

    # 2. The per-scene plot.
    scene_ids = [s.id for s in plan.scenes]
    series: dict[str, dict[str, list[float | None]]] = {}
    for k in HEADLINE:
        series[k] = {}
        for src in sources:
            by_id = {m.scene: m for m in src.scenes}
            series[k][src.name] = [getattr(by_id[sid], k) if sid in by_id else None for sid in scene_ids]

    # 3. Videos: decode each source's scene clips once (poster, preview, the key frames for the crops).
    from markupsafe import Markup

    samples: dict[tuple[str, str], dict[str, Any] | None] = {}
    videos: dict[tuple[str, str], Path] = {}
    if ws is not None:
        for src in sources:
            for m in src.scenes:
                path = ws.root / m.video
                if not path.exists():
                    continue
                scene = plan.scene(m.scene)
                keep = keyframe_sample_indices(len(scene.keyframes), m.frames) if m.frames else []
                videos[(src.name, m.scene)] = path
                samples[(src.name, m.scene)] = _sample_video(path, keep)
    story_video = None
    if ws is not None and ws.story_video.exists():
        story_video = _player(ws.story_video, _sample_video(ws.story_video, max_preview=48), base, "story.mp4")

    # 4. Characters: reference images next to crops of their boxes in every scene (the middle key frame of the
    #    character's visible key frames; one row per source).
    refs = {cid: [p for p in paths if p.exists()] for cid, paths in (references or {}).items()}
    characters = []
    for ch in plan.characters:
        crops_by_source = []
        for src in sources:
            crops = []
            for scene in plan.scenes:
                sample = samples.get((src.name, scene.id))
                if not sample:
                    continue
                visible = [k for k, kf in enumerate(scene.keyframes)
                           for r in kf.regions if r.entity == ch.id and r.region is not None]
                if not visible:
                    continue
                k = visible[len(visible) // 2]
                idx = keyframe_sample_indices(len(scene.keyframes), sample["frames"])[k]
                frame = sample["keep"].get(idx)
                box = next(r.box for r in scene.keyframes[k].regions if r.entity == ch.id)
                uri = crop_uri(frame, box) if frame is not None else None
                if uri:
                    crops.append({"uri": uri, "scene": scene.id, "keyframe": k + 1, "frame": idx})
            if crops:
                crops_by_source.append({"source": src.name, "crops": crops})
        if refs.get(ch.id) or crops_by_source:
            characters.append({"id": ch.id, "name": ch.name or ch.id, "token": ch.token,
                               "description": ch.description, "color": colors.get(ch.id, "#cccccc"),
                               "refs": [thumbnail_uri(p) for p in refs.get(ch.id, [])],
                               "crops": crops_by_source})

    # 5. Scene by scene, sources side by side.
    scenes = []
    for scene in plan.scenes:
        columns = []
        for src in sources:
            m = next((m for m in src.scenes if m.scene == scene.id), None)
            if m is None:
                continue
            sheet = sheets.get((src.name, scene.id))
            path = videos.get((src.name, scene.id))
            columns.append({
                "source": src.name,
                "player": _player(path, samples.get((src.name, scene.id)), base, f"{src.name} {scene.id}"),
                "video": m.video, "info": f"{m.frames} frames at {m.fps:g} fps · {m.width}×{m.height}",
                "sheet": data_uri(sheet) if sheet is not None and sheet.exists() else None,
                "timeline": _timeline(m, len(scene.keyframes), colors), "events": _events(m), "notes": m.notes,
            })
        rows = [(src.name, m.model_dump()) for src in sources for m in src.scenes if m.scene == scene.id]
        scenes.append({"id": scene.id, "location": scene.location, "narration": scene.narration,
                       "table": _table(rows, list(HEADLINE), HEADLINE), "columns": columns})

    # 6. The cuts of the stitched story.
    cuts = None
    if any(s.story.boundaries for s in sources):
        cuts = {"sources": [s.name for s in sources],
                "rows": [{"cut": f"{b.before} → {b.after}",
                          "values": [_fmt(s.story.boundaries[i].dino if i < len(s.story.boundaries) else None)
                                     for s in sources]} for i, b in enumerate(sources[0].story.boundaries)]}

    # 7. Workspace files: retrieval, adapters, provenance.
    config = _read_json(ws.config) if ws is not None and ws.config.exists() else None
    provenance = {"versions": _versions(), "seeds": _seeds(config),
                  "config": json.dumps(config, indent=2, sort_keys=True) if config is not None else None,
                  "runs": _runs(ws) if ws is not None else [], "models": metrics.models, "device": metrics.device,
                  "settings": [(k, str(v)) for k, v in metrics.settings.items()]}
    retrieval = _retrieval(ws, plan, base) if ws is not None else []
    adapters = _adapters(ws) if ws is not None else []

    # 8. Table of contents (only the sections the page has).
    toc = [("summary", "Story scores", []), ("per-scene", "Per-scene scores", [])]
    if story_video:
        toc.append(("story-video", "Story video", []))
    toc.append(("storyboard", "Storyboard", []))
    if characters:
        toc.append(("characters", "Characters", []))
    toc.append(("scenes", "Scenes", [(f"scene-{s.id}", s.id) for s in plan.scenes]))
    if retrieval:
        toc.append(("retrieval", "Retrieved clips", []))
    if adapters:
        toc.append(("adapters", "LoRA training", []))
    toc += [("cuts", "Scene cuts", []), ("metrics", "What the metrics mean", []), ("provenance", "Provenance", [])]

    context = {
        "title": title, "version": __version__, "n_scenes": len(plan.scenes), "device": metrics.device,
        "models": metrics.models, "scale": metrics.scale, "warnings": metrics.warnings,
        "sources": [{"name": s.name, "path": s.path, "color": SOURCE_COLORS[i % len(SOURCE_COLORS)]}
                    for i, s in enumerate(sources)],
        "story_table": _table(story_rows, keys, labels),
        "fg_table": _table(story_rows, list(FG_VARIANTS), {**labels, **FG_VARIANTS}),
        "char_table": _table(char_rows, ["char_clip", "char_dino"], labels, "source · character") if char_rows
        else None,
        "split": str(metrics.settings.get("fg_split", "midpoint")),
        "scores_svg": Markup(scores_svg(scene_ids, series, HEADLINE)),  # built with escaped texts (pictures.py)
        "story_video": story_video,
        "storyboard": data_uri(storyboard) if storyboard is not None and storyboard.exists() else None,
        "characters": characters, "legend": list(colors.items()), "scenes": scenes, "cuts": cuts,
        "retrieval": retrieval, "adapters": adapters,
        "definitions": [(labels[k], k, metrics.descriptions.get(k, "")) for k in keys],
        "provenance": provenance, "toc": toc, "script": Markup(script), "script_hash": script_hash,
        "n_columns": max(1, len(sources)),
    }
    return env.get_template(TEMPLATE).render(**context)

