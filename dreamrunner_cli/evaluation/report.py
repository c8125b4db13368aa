"""``eval/report.html``: one self-contained HTML file (images inlined as base64, no external resources).

Sections: a summary table of story scores (one row per video source, so several sources compare side by side),
the per-scene score plot (inline SVG), the storyboard, then per scene: narration, scores, the plan's events with
their segment scores, and one contact sheet per source (sampled frames with the plan's boxes drawn over them);
the cuts between scenes; what each metric means.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .. import __version__
from ..schema import Plan
from .pictures import entity_colors, ink_for, scores_svg
from .schema import DESCRIPTIONS, FG_VARIANTS, HEADLINE, STORY_ONLY, MetricsFile, SceneMetrics

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d1d1f;
background:#f4f5f7}
main{max-width:1280px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:19px;margin:34px 0 10px;border-bottom:2px solid #d0d7de;
padding-bottom:4px} h3{font-size:16px;margin:22px 0 6px}
.meta{color:#57606a;font-size:13px} .meta code{background:#eaeef2;padding:1px 5px;border-radius:4px}
.warn{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:10px 14px;margin:14px 0;font-size:14px}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0 10px;box-shadow:0 1px 2px #0001}
th,td{border:1px solid #d0d7de;padding:5px 9px;text-align:right;vertical-align:top}
th{background:#eef1f4;font-weight:600} td.l,th.l{text-align:left} tr:nth-child(even) td{background:#fafbfc}
td.best{font-weight:700;color:#0a5d2a} td.na{color:#8c959f}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px 18px;margin:16px 0}
.narr{font-size:14px;margin:4px 0 10px;color:#24292f} .loc{color:#57606a;font-size:13px}
img{max-width:100%;height:auto;display:block;border:1px solid #d0d7de;background:#fff}
.sheet{margin:6px 0 12px} .sheet .cap{font-size:12px;color:#57606a;margin:2px 0}
.timeline{position:relative;height:auto;margin:4px 0 8px;font-size:11px}
.lane{position:relative;height:20px;margin:2px 0;background:#f0f2f4;border-radius:3px}
.ev{position:absolute;top:0;height:20px;border-radius:3px;overflow:hidden;white-space:nowrap;padding:2px 5px;
box-sizing:border-box;color:#111}
.ev+.ev{border-left:2px solid #fff} .ev.alt{filter:brightness(1.18) saturate(.8)}
.refs{display:flex;gap:18px;flex-wrap:wrap} .refs figure{margin:0}
.refs img{height:120px;width:auto;display:inline-block;margin-right:6px} .refs figcaption{font-size:12px;color:#57606a}
.dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
dl{font-size:13px} dt{font-weight:600;margin-top:6px} dd{margin-left:16px;color:#333}
"""

# Marks the page as fully decoded for automated checks (the headless-browser test reads it with --dump-dom).
SELF_CHECK_JS = """
window.addEventListener('load',function(){var im=document.images,ok=0;for(var i=0;i<im.length;i++){
if(im[i].complete&&im[i].naturalWidth>0)ok++;}document.documentElement.setAttribute('data-images',ok+'/'+im.length);});
"""


def data_uri(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def _score_table(rows: list[tuple[str, dict[str, float | None]]], keys: list[str], labels: dict[str, str],
                 first: str = "source") -> str:
    """A table with one row per (label, values); the best value per column is bold when there are several rows."""
    best: dict[str, float] = {}
    if len(rows) > 1:
        for k in keys:
            vals = [r[1].get(k) for r in rows if r[1].get(k) is not None]
            if vals:
                best[k] = max(vals)  # every metric here is "higher is better"
    out = [f'<table><tr><th class="l">{html.escape(first)}</th>']
    out += [f'<th title="{html.escape(DESCRIPTIONS.get(k, ""))}">{html.escape(labels[k])}</th>' for k in keys]
    out.append("</tr>")
    for name, vals in rows:
        out.append(f'<tr><td class="l">{html.escape(name)}</td>')
        for k in keys:
            v = vals.get(k)
            cls = "na" if v is None else ("best" if k in best and v == best[k] else "")
            out.append(f'<td class="{cls}">{_fmt(v)}</td>')
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _timeline(scene_metrics: SceneMetrics, keyframes: int, colors: dict[str, str]) -> str:
    """One lane per entity; each event is a coloured bar over its key-frame span."""
    lanes: dict[str, list] = {}
    for ev in scene_metrics.events:
        lanes.setdefault(ev.entity, []).append(ev)
    out = ['<div class="timeline">']
    for entity, evs in lanes.items():
        out.append('<div class="lane">')
        for i, ev in enumerate(evs):
            left = 100.0 * ev.keyframes[0] / keyframes
            width = 100.0 * (ev.keyframes[1] - ev.keyframes[0]) / keyframes
            out.append(f'<div class="ev{" alt" if i % 2 else ""}" style="left:{left:.2f}%;width:{width:.2f}%;'
                       f'background:{colors.get(entity, "#cccccc")};color:{ink_for(colors.get(entity, "#cccccc"))}" '
                       f'title="{html.escape(ev.text)}">'
                       f'{html.escape(entity)} · {html.escape(ev.motion)}</div>')
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def thumbnail_uri(path: Path, max_side: int = 240) -> str:
    """A reference image, shrunk to at most ``max_side`` pixels, as a PNG data URI (keeps the report small)."""
    import io

    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((max_side, max_side))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def build_report(metrics: MetricsFile, plan: Plan, sheets: dict[tuple[str, str], Path],
                 storyboard: Path | None, references: dict[str, list[Path]] | None = None) -> str:
    """Render the report as one HTML string.

    Args:
        metrics: the content of eval/metrics.json.
        plan: the plan the videos were scored against.
        sheets: (source name, scene id) → contact-sheet PNG.
        storyboard: the workspace's storyboard.png, or None when it does not exist.
        references: character id → its reference image files (shown as thumbnails).
    """
    e = html.escape
    colors = entity_colors(plan)
    sources = metrics.sources
    title = metrics.title or plan.title or "Story"
    parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(title)} · dreamrunner evaluation</title><style>{CSS}</style>",
             f"<script>{SELF_CHECK_JS}</script></head><body><main>"]

    # 1. Header: what was scored, with which models.
    parts.append(f"<h1>{e(title)}</h1>")
    models = " · ".join(f"{e(k)}: <code>{e(v)}</code>" for k, v in metrics.models.items())
    parts.append(f'<p class="meta">dreamrunner {e(__version__)} evaluation · {len(plan.scenes)} scenes · '
                 f'{len(sources)} video source{"s" if len(sources) != 1 else ""} · device <code>{e(metrics.device)}'
                 f'</code><br>{models}<br>Scores are {e(metrics.scale)} (higher is better), as in the paper.</p>')
    for w in metrics.warnings:
        parts.append(f'<div class="warn">{e(w)}</div>')

    # 2. Story scores, one row per source (the comparison table).
    keys = list(HEADLINE) + list(STORY_ONLY)
    labels = {**HEADLINE, **STORY_ONLY}
    parts.append("<h2>Story scores</h2>")
    parts.append(_score_table([(s.name, s.story.model_dump()) for s in sources], keys, labels))
    parts.append('<p class="meta">' + " · ".join(f"<b>{e(s.name)}</b>: <code>{e(s.path)}</code>" for s in sources)
                 + "</p>")
    split = str(metrics.settings.get("fg_split", "midpoint"))
    parts.append("<h3>Fine-grained alignment, both cuts</h3>")
    parts.append(f'<p class="meta">The FG columns above use the <b>{e(split)}</b> cut (evaluate.fg_split). '
                 "<b>midpoint</b> is the paper's: a character's events split the clip into equal parts (the temporal "
                 "midpoint for two motions), the same frames for every system. <b>plan</b> cuts each event at the "
                 "plan's own key-frame boundaries, which favours a system rendered from this plan.</p>")
    parts.append(_score_table([(s.name, s.story.model_dump()) for s in sources], list(FG_VARIANTS),
                              {**labels, **FG_VARIANTS}))
    chars = sorted({c for s in sources for c in s.story.characters})
    if chars:
        rows = [f"{s.name} · {c}" for s in sources for c in chars if c in s.story.characters]
        vals = [s.story.characters[c] for s in sources for c in chars if c in s.story.characters]
        parts.append("<h3>Character consistency per character</h3>")
        parts.append(_score_table(list(zip(rows, [{"char_clip": v["clip"], "char_dino": v["dino"]} for v in vals],
                                           strict=True)), ["char_clip", "char_dino"], labels, "source · character"))

    # 3. The per-scene plot.
    scene_ids = [s.id for s in plan.scenes]
    series: dict[str, dict[str, list[float | None]]] = {}
    for k in HEADLINE:
        series[k] = {}
        for src in sources:
            by_id = {m.scene: m for m in src.scenes}
            series[k][src.name] = [getattr(by_id[sid], k) if sid in by_id else None for sid in scene_ids]
    parts.append("<h2>Per-scene scores</h2>")
    parts.append(scores_svg(scene_ids, series, HEADLINE))

    # 4. Storyboard.
    parts.append("<h2>Storyboard</h2>")
    if storyboard is not None and storyboard.exists():
        parts.append(f'<img alt="storyboard" src="{data_uri(storyboard)}">')
    else:
        parts.append('<p class="meta">No storyboard.png in the workspace (it is drawn from plan.json by '
                     "<code>dreamrunner plan</code>).</p>")

    # 5. The characters' reference images (what consistency is measured against).
    refs = {cid: [p for p in paths if p.exists()] for cid, paths in (references or {}).items()}
    if any(refs.values()):
        parts.append("<h2>Reference images</h2><div class=\"refs\">")
        for ch in plan.characters:
            if refs.get(ch.id):
                imgs = "".join(f'<img alt="{e(ch.id)} reference {i + 1}" src="{thumbnail_uri(p)}">'
                               for i, p in enumerate(refs[ch.id]))
                parts.append(f"<figure>{imgs}<figcaption>{e(ch.name or ch.id)} <code>{e(ch.token)}</code> · "
                             f"{e(ch.description)}</figcaption></figure>")
        parts.append("</div>")

    # 6. Scene by scene.
    parts.append("<h2>Scenes</h2>")
    legend = " ".join(f'<span><span class="dot" style="background:{c}"></span>{e(eid)}</span>'
                      for eid, c in colors.items())
    parts.append(f'<p class="meta">Boxes and event bars: {legend}</p>')
    for scene in plan.scenes:
        parts.append(f'<div class="card" id="scene-{e(scene.id)}"><h3>{e(scene.id)}'
                     f'{" · " + e(scene.location) if scene.location else ""}</h3>')
        parts.append(f'<p class="narr">{e(scene.narration)}</p>')
        rows = [(src.name, m.model_dump()) for src in sources for m in src.scenes if m.scene == scene.id]
        parts.append(_score_table(rows, list(HEADLINE), HEADLINE))
        for src in sources:
            m = next((m for m in src.scenes if m.scene == scene.id), None)
            if m is None:
                continue
            prefix = f"<b>{e(src.name)}</b> · " if len(sources) > 1 else ""
            if m.events:
                parts.append(f'<div class="sheet"><div class="cap">{prefix}events, cut at the plan\'s key-frame '
                             "boundaries (plan) and into equal parts (midpoint)</div>"
                             f"{_timeline(m, len(scene.keyframes), colors)}")
                parts.append('<table><tr><th class="l">entity</th><th class="l">motion</th><th>key frames</th>'
                             '<th>frames</th><th class="l">text</th><th>CLIP</th><th>video-text</th></tr>')
                for cut, evs in (("plan", m.events), ("midpoint", m.segments)):
                    for ev in evs:
                        parts.append(f'<tr><td class="l">{e(ev.entity)}</td><td class="l">{e(ev.motion)}</td>'
                                     f"<td>{ev.keyframes[0] + 1}–{ev.keyframes[1]}</td>"
                                     f"<td>{ev.frames[0]}–{ev.frames[1] - 1} ({cut})</td>"
                                     f"<td class=\"l\">{e(ev.text)}</td>"
                                     f"<td>{_fmt(ev.clip)}</td><td>{_fmt(ev.video_text)}</td></tr>")
                parts.append("</table></div>")
            sheet = sheets.get((src.name, scene.id))
            if sheet is not None and sheet.exists():
                parts.append(f'<div class="sheet"><div class="cap">{prefix}{e(m.video)} · {m.frames} frames at '
                             f"{m.fps:g} fps · {m.width}×{m.height}</div>"
                             f'<img alt="contact sheet {e(src.name)} {e(scene.id)}" src="{data_uri(sheet)}"></div>')
            for note in m.notes:
                parts.append(f'<p class="meta">{prefix}{e(note)}</p>')
        parts.append("</div>")

    # 7. The cuts of the stitched story.
    parts.append("<h2>Scene cuts</h2>")
    if any(s.story.boundaries for s in sources):
        cuts = [f"{b.before} → {b.after}" for b in sources[0].story.boundaries]
        parts.append('<table><tr><th class="l">cut</th>' + "".join(f"<th>{e(s.name)}</th>" for s in sources)
                     + "</tr>")
        for i, cut in enumerate(cuts):
            cells = "".join(f"<td>{_fmt(s.story.boundaries[i].dino if i < len(s.story.boundaries) else None)}"
                            "</td>" for s in sources)
            parts.append(f'<tr><td class="l">{e(cut)}</td>{cells}</tr>')
        parts.append("</table><p class=\"meta\">DINOv2 cosine × 100 of the last frame of a scene and the first "
                     "frame of the next. Scenes are generated independently, so low values at a change of place "
                     "are expected.</p>")
    else:
        parts.append('<p class="meta">A single scene has no cuts.</p>')

    # 8. Definitions.
    parts.append("<h2>What the metrics mean</h2><dl>")
    for k in keys:
        parts.append(f"<dt>{e(labels[k])} <code>{e(k)}</code></dt><dd>{e(metrics.descriptions.get(k, ''))}</dd>")
    parts.append("</dl>")
    settings = ", ".join(f"{e(k)}={e(str(v))}" for k, v in metrics.settings.items())
    parts.append(f'<p class="meta">Settings: {settings}. Not computed: the paper\'s VBench visual-quality scores '
                 "(aesthetic, imaging, motion smoothness).</p>")
    parts.append("</main></body></html>")
    return "\n".join(parts)
