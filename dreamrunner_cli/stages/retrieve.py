"""Stage 2, retrieve: motion reference clips from a video database, per motion (METHOD.md B.1).

For each motion of plan.json:
  1. BM25 over the database captions with the query "person is <motion>" → the top 400 rows.
  2. Attribute filter: duration ≥ 2 s, ≥ 40 frames, aspect w/h ≥ 0.9 (from the index, else probed).
  3. Segmentation of each candidate into model-length windows (``retrieve.segmenter``; retrieval/segment.py):
     fixed windows, the whole span, or person-centred windows cropped around a detected person (retrieval/person.py).
  4. Score each window against "the person is <motion>": ½ (CLIP mean over 8 frames + ViCLIP video-text).
  5. Keep the top 20 above the gate (0.2 for the paper's models), at least 4 (the best 4 when fewer pass), at
     most ``max_per_video`` (1) per source video.
  6. Cut the kept windows to ``retrieval/<motion>/clips/NN-….mp4`` and write ``manifest.json``.

Items: one per motion. An item's fingerprint covers that motion's fields in plan.json, the ``retrieve`` config
section (except ``db``, which enters through the database fingerprint, so moving an index does not re-run anything),
and the database fingerprint. Candidates whose video cannot be decoded are skipped and listed in the manifest.
Embeddings are memoised across workspaces (retrieval/scoring.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from ..config import Config, RetrieveConfig
from ..errors import InputInvalid, MissingUpstream, UsageError
from ..progress import Reporter, reporter
from ..schema import Motion, load_plan, slug
from ..workspace import StageRun, Workspace, write_json_atomic

DB_ENV = "DREAMRUNNER_DB"
PERSON_KEYS = ("detector", "detector_threshold", "person_min_area", "person_fps", "person_crop_aspect")


def _person_segmenter(rc: RetrieveConfig) -> Any:
    from ..cache import open_cache
    from ..retrieval.person import make_person_segmenter  # loads the detector: only when chosen
    from ..retrieval.scoring import CACHE_NAME

    return make_person_segmenter(rc, cache=open_cache(CACHE_NAME))


def _fixed(rc: RetrieveConfig) -> Any:
    from ..retrieval.segment import FixedWindows

    return FixedWindows(rc.window_s, rc.max_windows)


def _whole(rc: RetrieveConfig) -> Any:
    from ..retrieval.segment import WholeSpan

    return WholeSpan()


# retrieve.segmenter → a factory taking the retrieve config. Chosen here, above retrieval/segment.py, person.py and
# scoring.py, so that none of them imports another to build a segmenter (no import cycle).
SEGMENTERS: dict[str, Any] = {"fixed": _fixed, "whole": _whole, "person": _person_segmenter}


def make_segmenter(rc: RetrieveConfig) -> Any:
    """The segmenter named by ``rc.segmenter``; an unknown name is a UsageError listing the valid ones."""
    if rc.segmenter not in SEGMENTERS:
        raise UsageError(f"unknown segmenter {rc.segmenter!r}", hint=f"choose one of: {', '.join(SEGMENTERS)}")
    return SEGMENTERS[rc.segmenter](rc)


def resolve_db(db: str | Path | None, rc: RetrieveConfig) -> str:
    """Which database to use: ``--db``, then ``$DREAMRUNNER_DB``, then ``retrieve.db``."""
    chosen = db or os.environ.get(DB_ENV) or rc.db
    if not chosen:
        raise MissingUpstream(
            "no video database given for retrieval",
            hint=f"pass --db INDEX, set {DB_ENV}=INDEX or --set retrieve.db=INDEX; build an index with `dreamrunner "
                 "index build DB_DIR --captions FILE`, or make the demo one with `dreamrunner index demo DEMO_DIR`")
    return str(chosen)


def open_index(db: str, rc: RetrieveConfig, *, build_demo: bool = True):
    """Open the index (``demo`` = the demo database in the cache folder, built on first use)."""
    from ..retrieval.demo import DEMO_NAME, demo_index_dir, ensure_demo_index
    from ..retrieval.index import VideoIndex

    if db == DEMO_NAME:
        return VideoIndex(ensure_demo_index() if build_demo else demo_index_dir(), backend=rc.backend)
    return VideoIndex(Path(db), backend=rc.backend)


def motion_deps(motion: Motion, rc: RetrieveConfig, fingerprint: str) -> dict[str, Any]:
    conf = rc.model_dump(mode="json")
    conf.pop("db")  # the database is identified by its content fingerprint, not by where it lies
    if conf.get("segmenter") != "person":  # the person segmenter's keys shape nothing else
        for key in PERSON_KEYS:
            conf.pop(key, None)
    return {f"plan.motions[{motion.id}]": motion.model_dump(mode="json"), "config.retrieve": conf,
            "database": fingerprint}


def run(ws: Workspace, cfg: Config, *, force: bool = False, dry_run: bool = False, only: list[str] | None = None,
        progress: bool = True, db: str | Path | None = None) -> dict[str, Any]:
    """Retrieve reference clips for every motion of the plan (or only the motions in ``only``).

    Args:
        db: index folder (or database folder holding ``index/``, or ``demo``); default ``$DREAMRUNNER_DB``, then
            ``retrieve.db``.

    Raises:
        MissingUpstream: no plan.json, or no database given.
        InputInvalid: the index cannot be opened.
        UsageError: ``only`` names a motion the plan does not have.
        ModelUnavailable: scorer weights missing (only when some motion has to run).
    """
    from ..models.loading import check_stage_device

    rc = cfg.retrieve
    sr = StageRun(ws, "retrieve", force=force, dry_run=dry_run)
    with reporter(progress and not dry_run, "retrieve") as rep:
        return _run(ws, rc, sr, dry_run=dry_run, only=only, db=db, rep=rep,
                    check_device=lambda: check_stage_device(cfg, "retrieve"))


def _run(ws: Workspace, rc: RetrieveConfig, sr: StageRun, *, dry_run: bool, only: list[str] | None,
         db: str | Path | None, rep: Reporter, check_device: Any = None) -> dict[str, Any]:
    # 1. The plan's motions (all, or the ones asked for).
    plan = load_plan(ws.require_plan())
    motions = list(plan.motions)
    if only:
        known = {m.id for m in motions}
        unknown = [m for m in only if m not in known]
        if unknown:
            raise UsageError(f"no motion {', '.join(map(repr, unknown))} in plan.json",
                             hint=f"motion ids: {', '.join(sorted(known)) or '(none)'}")
        motions = [m for m in motions if m.id in only]
    if not motions:
        sr.notes.append("plan.json has no motions: nothing to retrieve")

    # 2. The database. A dry run never builds the demo database; an unbuilt one counts as changed.
    db_name = resolve_db(db, rc)
    index = None
    fingerprint = "demo (not built yet)"
    if motions:
        try:
            with rep.phase("open index", db_name):  # the demo database is built here on first use
                index = open_index(db_name, rc, build_demo=not dry_run)
            fingerprint = index.fingerprint
        except InputInvalid:
            if not (dry_run and db_name == "demo"):
                raise
    database = {"db": db_name, "index": str(index.root) if index else None, "fingerprint": fingerprint,
                "rows": index.n if index else None, "backend": rc.backend}

    # 3. Decide per motion.
    todo = []
    for motion in motions:
        mdir = ws.retrieval_dir / motion.id
        outs = [mdir / "manifest.json", mdir / "clips"]
        deps = motion_deps(motion, rc, fingerprint)
        d = sr.decide(motion.id, deps, outs)
        if d.run and not sr.dry_run:
            todo.append((motion, mdir, outs, deps, d))

    # 4. Retrieve what changed; scorers are loaded only when some motion has to run.
    scorer = None
    if todo:
        if check_device is not None:
            check_device()  # CUDA missing: say so before seconds of loading scorers
        from ..retrieval.scoring import gate_threshold

        gate_threshold(rc.threshold, rc.clip_model, rc.clip_pretrained, rc.video_text_model)  # before loading
        with rep.phase("load scorers", ", ".join(dict.fromkeys([rc.clip_model, rc.video_text_model]))):
            make_segmenter(rc)  # the person segmenter's detector loads (and is checked) before the scorers
            scorer = _window_scorer(rc)
    with rep.bar("motions", total=len(todo)) if todo else contextlib.nullcontext() as motions_bar:
        for i, (motion, mdir, outs, deps, d) in enumerate(todo, 1):
            manifest = retrieve_motion(index, motion, rc, scorer, mdir, database, rep=rep,
                                       label=f"motion {i}/{len(todo)} {motion.id}")
            rep.line(f"retrieve {motion.id}: {manifest['counts']['bm25_candidates']} candidates, "
                     f"{manifest['counts']['windows_scored']} windows scored, {len(manifest['kept'])} clips kept")
            sr.notes.extend(f"{motion.id}: {n}" for n in manifest["notes"])
            sr.finish(d, deps, outs, extra={"clips": len(manifest["kept"]),
                                            "unreadable": manifest["counts"]["unreadable"]})
            motions_bar.advance()

    models = {"clip": scorer.clip.model_id, "video_text": scorer.video_text.model_id} if scorer else {
        "clip": rc.clip_model, "video_text": rc.video_text_model}
    sr.close(outcome="ok", models=models, database=database)
    return sr.result()


def _window_scorer(rc: RetrieveConfig):
    from ..cache import open_cache
    from ..models.scorers import load_clip_scorer, load_video_text_scorer
    from ..retrieval.scoring import CACHE_NAME, WindowScorer

    clip = load_clip_scorer(rc.clip_model, rc.clip_pretrained, rc.device)
    video_text = load_video_text_scorer(rc.video_text_model, rc.device)
    return WindowScorer(clip, video_text, clip_frames=rc.clip_frames, fps=rc.clip_fps, cache=open_cache(CACHE_NAME))


def retrieve_motion(index: Any, motion: Motion, rc: RetrieveConfig, scorer: Any, out_dir: Path,
                    database: dict[str, Any], rep: Reporter | None = None, label: str = "") -> dict[str, Any]:
    """The whole of METHOD.md B.1 for one motion; writes ``out_dir/clips/*.mp4`` then ``out_dir/manifest.json``.
    ``rep`` shows its progress, each line starting with ``label`` (default the motion id): a bar over the candidates
    when the person segmenter looks for people, a bar over the windows scored, then cutting the kept clips."""
    from ..retrieval import media
    from ..retrieval.manifest import Manifest
    from ..retrieval.scoring import gate_threshold, select
    from ..retrieval.segment import filter_reason

    threshold, threshold_source = gate_threshold(rc.threshold, rc.clip_model, rc.clip_pretrained,
                                                 rc.video_text_model)
    query = motion.retrieval_query(rc.query_template)
    score_text = rc.score_template.format(motion=motion.description)
    notes: list[str] = []
    rep = rep or reporter(False)
    label = label or motion.id

    # 1. BM25: the top-k rows for the query.
    hits = index.search(query, rc.bm25_top_k)
    if not hits:
        notes.append(f"no caption matches the query {query!r}; no clips")

    # 2–3. Attribute filter, then segmentation into windows (the person segmenter decodes and detects: slow).
    segmenter = make_segmenter(rc)
    candidates: list[dict[str, Any]] = []
    windows: list[tuple[dict[str, Any], Any]] = []  # (candidate, Window)
    # Only the person segmenter takes time here (it decodes every candidate and runs the detector).
    bar = rep.bar(f"{label} find persons", total=len(hits)) if rc.segmenter == "person" else None
    for row, bm25 in hits:
        if bar:
            bar.advance()
        clip = index.clip(row)
        cand: dict[str, Any] = {"row": row, "source": clip.path, "caption": clip.caption, "bm25": round(bm25, 6)}
        candidates.append(cand)
        try:
            span_start, span_end, attrs = _attributes(clip, media)
        except media.MediaError as exc:
            cand.update(status="unreadable", reason=str(exc))
            continue
        cand.update(duration=round(attrs.duration, 3), frames=attrs.frames, width=attrs.width, height=attrs.height)
        reason = filter_reason(attrs, min_duration_s=rc.min_duration_s, min_frames=rc.min_frames,
                               min_aspect=rc.min_aspect)
        if reason:
            cand.update(status="filtered", reason=reason)
            continue
        try:
            cand_windows = segmenter(span_start, span_end, video=clip.video, size=(attrs.width, attrs.height))
        except media.MediaError as exc:  # the person segmenter decodes the video
            cand.update(status="unreadable", reason=str(exc))
            continue
        if not cand_windows and rc.segmenter == "person":
            cand.update(status="filtered", reason="no person clearly visible (person segmenter)")
            continue
        cand["status"] = "scored"
        cand["_clip"] = clip
        for w in cand_windows:
            windows.append((cand, w))
    if bar:
        bar.end()

    # 4. Score every window: ½ (CLIP over clip_frames frames + video-text). Undecodable videos are skipped.
    text_emb = scorer.text_embeddings(score_text) if windows else None
    scored: list[tuple[tuple[dict[str, Any], Any, Any], float]] = []
    bar = rep.bar(f"{label} score windows", total=len(windows))
    for cand, w in windows:
        bar.advance()
        if cand["status"] != "scored":
            continue  # an earlier window of this video failed to decode
        try:
            s = scorer.score(cand["_clip"].video, w, text_emb)
        except media.MediaError as exc:
            cand.update(status="unreadable", reason=str(exc))
            continue
        cand["windows"] = cand.get("windows", 0) + 1
        scored.append(((cand, w, s), s.score))
    bar.end()
    scored = [x for x in scored if x[0][0]["status"] == "scored"]

    # 5. Selection: top max_clips above the threshold, at least min_clips, at most max_per_video per source video.
    keep = select(scored, threshold=threshold, max_clips=rc.max_clips, min_clips=rc.min_clips,
                  groups=[str(x[0][0]["_clip"].video) for x in scored], max_per_group=rc.max_per_video)
    if len(keep) < rc.min_clips:
        notes.append(f"only {len(keep)} clip(s) available (min_clips is {rc.min_clips}); a larger database helps")
    rank = {pos: r + 1 for r, pos in enumerate(sorted(range(len(scored)), key=lambda i: (-scored[i][1], i)))}

    # 6. Cut the kept windows to mp4 files in a fresh folder, then swap it in and write the manifest last.
    tmp_clips = out_dir / ".tmp-clips"
    shutil.rmtree(tmp_clips, ignore_errors=True)
    tmp_clips.mkdir(parents=True)
    kept: list[dict[str, Any]] = []
    cut = rep.phase(f"{label} cut {len(keep)} clips")
    for n, pos in enumerate(keep):
        cand, w, s = scored[pos][0]
        clip = cand["_clip"]
        try:
            frames = media.read_window(clip.video, w.start, w.duration, rc.clip_fps, max_side=rc.clip_max_side,
                                       crop=w.crop)
        except media.MediaError as exc:  # decoded fine for scoring; a failure here is rare (file changed)
            notes.append(f"row {cand['row']}: could not cut the kept window ({exc})")
            continue
        name = f"{n:02d}-{slug(clip.caption, 'clip')[:40].strip('-')}.mp4"
        _write_clip(tmp_clips / name, frames, rc.clip_fps)
        kept.append({"file": f"clips/{name}", "caption": clip.caption, "rank": rank[pos], "row": cand["row"],
                     "source": clip.path, "start": w.start, "end": w.end, "frames": int(len(frames)),
                     "fps": rc.clip_fps, "width": int(frames.shape[2]), "height": int(frames.shape[1]),
                     "clip_score": round(s.clip_score, 6), "video_text_score": round(s.video_text_score, 6),
                     "score": round(s.score, 6), "above_threshold": s.score > threshold,
                     "crop": list(w.crop) if w.crop else None})
    cut.end()
    kept_keys = {(scored[p][0][0]["row"], scored[p][0][1].start) for p in keep}
    manifest = {
        "motion": motion.id, "description": motion.description, "query": query, "score_text": score_text,
        "database": database,
        "models": {"clip": scorer.clip.model_id, "video_text": scorer.video_text.model_id,
                   **({"person_detector": segmenter.detector.model_id} if rc.segmenter == "person" else {})},
        "params": {**{k: getattr(rc, k) for k in ("bm25_top_k", "min_duration_s", "min_frames", "min_aspect",
                                                  "segmenter", "window_s", "max_windows", "max_per_video", "clip_fps",
                                                  "clip_max_side", "clip_frames", "max_clips", "min_clips",
                                                  "backend")},
                   **({k: getattr(rc, k) for k in PERSON_KEYS} if rc.segmenter == "person" else {}),
                   "threshold": threshold, "threshold_source": threshold_source},
        "counts": {"bm25_candidates": len(candidates),
                   "filtered_out": sum(c.get("status") == "filtered" for c in candidates),
                   "unreadable": sum(c.get("status") == "unreadable" for c in candidates),
                   "windows_scored": len(scored),
                   "above_threshold": sum(sc > threshold for _, sc in scored), "kept": len(kept)},
        "kept": kept,
        "candidates": [{k: v for k, v in c.items() if not k.startswith("_")} for c in candidates],
        "windows": [{"row": c["row"], "start": w.start, "end": w.end, "clip_score": round(s.clip_score, 6),
                     "video_text_score": round(s.video_text_score, 6), "score": round(s.score, 6),
                     "kept": (c["row"], w.start) in kept_keys, "crop": list(w.crop) if w.crop else None}
                    for (c, w, s), _ in scored],
        "notes": notes,
    }
    manifest = Manifest.model_validate(manifest).model_dump(mode="json")  # the documented shape, checked
    # A crash between these steps leaves the manifest missing, so the item re-runs (never old manifest + new clips).
    (out_dir / "manifest.json").unlink(missing_ok=True)
    shutil.rmtree(out_dir / "clips", ignore_errors=True)
    os.replace(tmp_clips, out_dir / "clips")
    write_json_atomic(out_dir / "manifest.json", manifest)
    return manifest


def _attributes(clip: Any, media: Any) -> tuple[float, float, Any]:
    """(span start, span end, Attributes) of a candidate: the index's values, else the probed video's."""
    from ..retrieval.segment import Attributes

    start = clip.start or 0.0
    needs_probe = clip.fps is None or clip.width is None or clip.height is None or (
        clip.end is None and clip.duration is None)
    p = media.probe(clip.video) if needs_probe else None
    fps = clip.fps or p.fps
    width, height = clip.width or p.width, clip.height or p.height
    if clip.end is not None:
        end = clip.end
    elif clip.duration is not None:
        end = start + clip.duration if clip.start is None else max(clip.duration, start)
    else:
        end = p.duration
    duration = max(end - start, 0.0)
    frames = clip.frames if (clip.frames is not None and clip.start is None and clip.end is None) else \
        int(round(duration * fps))
    return start, end, Attributes(duration=duration, frames=frames, width=width, height=height)


def _write_clip(path: Path, frames: Any, fps: float) -> None:
    from ..video import write_video

    write_video(path, frames, fps)
