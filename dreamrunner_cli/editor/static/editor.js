// dreamrunner edit: the page. Plain JavaScript, no libraries, no build step (docs/editor.md).
//
// The page holds the plan as JSON (`state.plan`, key order as in plan.json) and changes it in place; every change
// goes through `change()` (or a drag / a text field, which snapshot first), so undo and redo are snapshots of the
// plan. The server checks each edit with the CLI's own validation (api/validate), draws the SR3AI masks
// (api/mask) and saves (api/save). All URLs are relative: the page lives under /TOKEN/.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  plan: null, digest: "", savedText: "", video: { width: 3, height: 2 }, colours: {}, geometry: null,
  scene: 0, kf: 0, ri: null,             // the scene shown, the key frame and region selected (index in .regions)
  errors: [], warnings: [], valid: true,
  undo: [], redo: [],
  checkSeq: 0, maskSeq: 0,
};
const STEP = 0.01, BIG_STEP = 0.05, MIN_SIDE = 0.02;

// Server calls ----------------------------------------------------------------------------------------------------
async function api(name, body) {
  const init = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(name, init);
  } catch (err) {
    return { status: 0, data: { message: `the editor server does not answer (${err.message}): is dreamrunner edit still running?` } };
  }
  const data = await response.json().catch(() => ({ message: response.statusText }));
  return { status: response.status, data };
}

// Plan helpers ----------------------------------------------------------------------------------------------------
const snapshot = () => JSON.stringify(state.plan);
const scene = () => state.plan.scenes[state.scene];
const keyframes = () => scene().keyframes;
const region = () => (state.ri === null ? null : (keyframes()[state.kf] || { regions: [] }).regions[state.ri] || null);
const round3 = (v) => Math.round(v * 1000) / 1000;
const isAbsent = (box) => box.every((v) => v === 0);
const dirty = () => snapshot() !== state.savedText;

function visible(box) {
  const [x0, y0, x1, y1] = box.map((v) => Math.min(1, Math.max(0, v)));
  return x0 < x1 && y0 < y1 ? [x0, y0, x1, y1] : null;
}

function hiddenNote(r) {  // as the storyboard says it (storyboard.hidden_notes)
  if (isAbsent(r.box)) return `${r.entity} absent`;
  const [x0, y0, x1, y1] = r.box;
  if (!(x0 < x1 && y0 < y1)) return `${r.entity}: box inverted`;
  const arrow = x0 >= 1 ? "→" : x1 <= 0 ? "←" : y0 >= 1 ? "↓" : "↑";
  return `${r.entity} off-screen ${arrow}`;
}

function entities() {
  return [...state.plan.characters.map((c) => c.id), ...state.plan.objects.map((o) => o.id)];
}

function defaultCaption(eid) {
  const c = state.plan.characters.find((x) => x.id === eid);
  if (c) return `A ${c.token || "[v1]"} ${c.description}`;
  const o = state.plan.objects.find((x) => x.id === eid);
  return (o && o.description) || eid;
}

function findRegion(kf, eid) {
  return kf.regions.findIndex((r) => r.entity === eid);
}

function newRegion(eid, motion, caption, box) {  // keys in the order plan.json has them
  return { entity: eid, motion, caption, box: box.slice() };
}

function captionRuns(sc) {  // one line per entity and run of key frames with the same caption (storyboard.scene_captions)
  const runs = [], open = {};
  sc.keyframes.forEach((kf, k) => {
    const seen = new Set();
    for (const r of kf.regions) {
      if (isAbsent(r.box)) continue;
      seen.add(r.entity);
      const run = open[r.entity];
      if (run && run.caption === r.caption && run.last === k) run.last = k + 1;
      else { const fresh = { entity: r.entity, first: k + 1, last: k + 1, caption: r.caption }; runs.push(fresh); open[r.entity] = fresh; }
    }
    for (const e of Object.keys(open)) if (!seen.has(e)) delete open[e];
  });
  return runs;
}

// Changes and history ---------------------------------------------------------------------------------------------
function commit(before) {  // record `before` as an undo step when the plan changed since
  if (before === snapshot()) return;
  state.undo.push(before);
  if (state.undo.length > 500) state.undo.shift();
  state.redo = [];
  edited();
}

function change(fn) {
  const before = snapshot();
  fn();
  commit(before);
  renderAll();
}

function undo() {
  if (!state.undo.length) return;
  state.redo.push(snapshot());
  state.plan = JSON.parse(state.undo.pop());
  fixSelection(); edited(); renderAll();
}

function redo() {
  if (!state.redo.length) return;
  state.undo.push(snapshot());
  state.plan = JSON.parse(state.redo.pop());
  fixSelection(); edited(); renderAll();
}

function fixSelection() {
  state.scene = Math.min(state.scene, state.plan.scenes.length - 1);
  state.kf = Math.min(state.kf, keyframes().length - 1);
  if (state.ri !== null && !region()) state.ri = null;
}

let checkTimer = null, maskTimer = null;
function edited() {  // after any change: check it (debounced), then redraw the masks
  clearTimeout(checkTimer);
  checkTimer = setTimeout(validate, 250);
  renderStatus();
}

// Server checks -----------------------------------------------------------------------------------------------------
async function validate() {
  const seq = ++state.checkSeq;
  const { status, data } = await api("api/validate", { plan: state.plan });
  if (seq !== state.checkSeq) return;  // a newer edit is being checked
  if (status !== 200) { showBanner(data.message || `validation failed (${status})`); return; }
  state.valid = data.valid;
  state.errors = data.errors;
  state.warnings = data.warnings;
  if (data.colours) state.colours = data.colours;
  renderAll();
  if (state.valid) { clearTimeout(maskTimer); maskTimer = setTimeout(drawMask, 200); }
}

async function drawMask() {
  const seq = ++state.maskSeq;
  const sc = scene();
  const { status, data } = await api("api/mask", { plan: state.plan, scene: sc.id });
  if (seq !== state.maskSeq) return;
  if (status !== 200) {
    $("mask-img").removeAttribute("src");
    $("mask-note").textContent = data.message || `no mask preview (${status})`;
    return;
  }
  $("mask-img").src = data.png;
  const g = data.geometry;
  $("mask-geometry").textContent = `${sc.id}: ${g.latent_frames} latent frames × ${g.rows}×${g.cols} tokens, ` +
    `${g.text_len} text tokens per prompt (${g.width}×${g.height} px, ${g.num_frames} frames; ` +
    `key frames: ${data.policy}, overlaps: ${data.overlap})`;
  $("mask-note").textContent = "";
}

// Loading and saving --------------------------------------------------------------------------------------------------
async function load(force) {
  if (!force && state.plan && dirty()) {
    showBanner("Reloading drops your unsaved edits.", [["Drop my edits and reload", () => load(true)]], "info");
    return;
  }
  const { status, data } = await api("api/plan");
  if (status !== 200) { showBanner(planError(data)); return; }
  state.plan = data.plan;
  state.digest = data.digest;
  state.savedText = snapshot();
  state.video = data.video;
  state.colours = data.colours;
  state.geometry = data.geometry;
  state.warnings = data.warnings;
  state.errors = []; state.valid = true; state.undo = []; state.redo = [];
  fixSelection();
  $("title").textContent = state.plan.title || "dreamrunner edit";
  $("workspace").textContent = data.workspace;
  document.title = `${state.plan.title || "plan"} · dreamrunner edit`;
  hideBanner();
  if (data.notes.length) showBanner(data.notes.join("\n"), [], "info");
  renderAll();
  if (state.geometry) drawMask();
  else $("mask-note").textContent = "no mask preview: the model's token geometry cannot be read without its weights";
}

async function save() {
  const sent = snapshot();
  setStatus("saving…");
  const { status, data } = await api("api/save", { plan: state.plan, digest: state.digest });
  if (status === 200) {
    state.digest = data.digest;
    state.savedText = sent;
    hideBanner();
    showRenderPlan(data);
    setStatus(data.written ? "saved plan.json" : "saved: plan.json already said this", "ok");
    if (data.notes.length) showBanner(data.notes.join("\n"), [], "info");
    return;
  }
  renderStatus();
  if (status === 409) {
    showBanner(`Not saved: ${data.message}.\n${data.hint}`, [["Reload from disk", () => load(true)],
      ["Keep editing", hideBanner]]);
  } else if (status === 423) {
    showBanner(`Not saved: ${data.message} (exit code ${data.exit_code}: busy).\n${data.hint}`);
  } else if (status === 422 && data.errors) {
    state.valid = false; state.errors = data.errors; renderAll();
    showBanner(`Not saved: ${data.message}`);
  } else {
    showBanner(`Not saved: ${data.message || status}`);
  }
}

function planError(data) {
  const lines = [data.message || "plan.json cannot be loaded", ...(data.details || [])];
  if (data.hint) lines.push(data.hint);
  return lines.join("\n");
}

function showRenderPlan(data) {
  const list = $("render-items");
  list.replaceChildren();
  for (const it of data.render.items) {
    const li = document.createElement("li");
    li.className = it.run ? "run" : "skip";
    li.dataset.item = it.item;
    li.textContent = `${it.run ? "would run" : "skipped"} render ${it.item}: ${it.reason}`;
    list.append(li);
  }
  for (const note of data.render.notes) {
    const li = document.createElement("li");
    li.className = "skip";
    li.textContent = note;
    list.append(li);
  }
  $("storyboard-link").href = `storyboard.png?v=${state.digest.slice(0, 12)}`;
  $("saved").hidden = false;
}

// Banner and status -------------------------------------------------------------------------------------------------
function showBanner(text, buttons = [], kind = "") {
  const b = $("banner");
  b.className = kind;
  b.replaceChildren(document.createTextNode(text));
  for (const [label, fn] of buttons) {
    const btn = document.createElement("button");
    btn.textContent = label;
    btn.addEventListener("click", fn);
    b.append(btn);
  }
  b.hidden = false;
}

function hideBanner() { $("banner").hidden = true; }

function setStatus(text, kind = "") { $("status").textContent = text; $("status").className = kind; }

function renderStatus() {
  const n = state.errors.length, w = state.warnings.length;
  const parts = [n ? `${n} error${n > 1 ? "s" : ""}` : "valid"];
  if (w) parts.push(`${w} warning${w > 1 ? "s" : ""}`);
  parts.push(dirty() ? "unsaved edits" : "saved");
  setStatus(parts.join(" · "), n ? "bad" : "");
  $("undo").disabled = !state.undo.length;
  $("redo").disabled = !state.redo.length;
}

// Errors and warnings by place ----------------------------------------------------------------------------------------
const PATH = /^scenes\[(\d+)\](?:\.keyframes\[(\d+)\](?:\.(regions|merged)\[(\d+)\](?:\.(\w+))?)?|\.(\w+))?/;

function place(path) {  // "scenes[1].keyframes[0].regions[2].box" → {scene: 1, kf: 0, ri: 2, field: "box"}
  const m = PATH.exec(path || "");
  if (!m) return null;
  return { scene: +m[1], kf: m[2] === undefined ? null : +m[2], list: m[3] || null,
           ri: m[4] === undefined ? null : +m[4], field: m[5] || m[6] || null };
}

function sceneErrors(si) { return state.errors.filter((e) => { const p = place(e.path); return p && p.scene === si; }); }
function sceneWarnings(sid) { return state.warnings.filter((w) => w.scene === sid); }

// Rendering ---------------------------------------------------------------------------------------------------------
function renderAll() {
  renderSceneList();
  renderScene();
  renderRegion();
  renderChecks();
  renderStatus();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function renderSceneList() {
  const list = $("scene-list");
  list.replaceChildren();
  state.plan.scenes.forEach((sc, si) => {
    const li = el("li", si === state.scene ? "current" : "");
    li.dataset.scene = sc.id;
    const head = el("div");
    head.append(el("span", "sid", sc.id), document.createTextNode(sc.location ? ` · ${sc.location}` : ""));
    const errs = sceneErrors(si).length, warns = sceneWarnings(sc.id);
    if (errs) head.append(el("span", "badge bad", `${errs} error${errs > 1 ? "s" : ""}`));
    if (warns.length) {
      const badge = el("span", "badge", `⚠ ${warns.length}`);
      badge.title = warns.map((w) => w.message).join("\n");
      head.append(badge);
    }
    li.append(head, el("div", "bg", sc.background));
    const caps = el("ul", "caps");
    for (const run of captionRuns(sc)) {
      const frames = run.first === run.last ? `${run.first}` : `${run.first}–${run.last}`;
      caps.append(el("li", "", `${run.entity} (${frames}): ${run.caption}`));
    }
    li.append(caps);
    li.addEventListener("click", () => selectScene(si));
    list.append(li);
  });
}

function selectScene(si) {
  state.scene = si; state.kf = 0; state.ri = null;
  renderAll();
  if (state.valid && state.geometry) drawMask();
}

function renderScene() {
  const sc = scene();
  $("scene-title").textContent = `${sc.id}${sc.location ? " · " + sc.location : ""}`;
  $("narration").textContent = sc.narration;
  if (document.activeElement !== $("background")) $("background").value = sc.background;
  const frames = $("frames");
  frames.style.setProperty("--k", sc.keyframes.length);
  frames.replaceChildren();
  const errs = sceneErrors(state.scene), warns = sceneWarnings(sc.id);
  sc.keyframes.forEach((kf, k) => {
    const wrap = el("div", "frame-wrap");
    const label = el("div", "frame-label");
    label.append(el("span", "", `key frame ${k + 1}`));
    wrap.append(label);
    const frame = el("div", "frame" + (k === state.kf ? " current" : ""));
    frame.style.aspectRatio = `${state.video.width} / ${state.video.height}`;
    frame.dataset.kf = k;
    const notes = el("div", "hidden-notes");
    kf.regions.forEach((r, ri) => {
      const vis = visible(r.box);
      if (!vis) {
        const note = el("div", "", hiddenNote(r));
        note.addEventListener("pointerdown", (ev) => { ev.stopPropagation(); select(k, ri); });
        notes.append(note);
        return;
      }
      const colour = state.colours[r.entity] || "#555";
      const box = el("div", "box" + (k === state.kf && ri === state.ri ? " selected" : ""));
      box.dataset.entity = r.entity;
      box.dataset.kf = k;
      Object.assign(box.style, {
        left: `${r.box[0] * 100}%`, top: `${r.box[1] * 100}%`,
        width: `${(r.box[2] - r.box[0]) * 100}%`, height: `${(r.box[3] - r.box[1]) * 100}%`,
        borderColor: colour, background: colour + "28",
      });
      if (errs.some((e) => { const p = place(e.path); return p.kf === k && p.list === "regions" && p.ri === ri; })) box.classList.add("invalid");
      if (warns.some((w) => w.keyframe === k && w.entity === r.entity)) box.classList.add("warned");
      const tag = el("span", "label", `${r.entity} · ${r.motion}`);
      tag.style.background = colour;
      box.append(tag);
      for (const corner of ["nw", "ne", "sw", "se"]) {
        const h = el("div", `handle ${corner}`);
        h.dataset.corner = corner;
        box.append(h);
      }
      box.addEventListener("pointerdown", (ev) => startDrag(ev, frame, k, ri, ev.target.dataset.corner || "move"));
      frame.append(box);
    });
    frame.append(notes);
    frame.addEventListener("pointerdown", () => { state.kf = k; state.ri = null; renderAll(); });
    wrap.append(frame);
    frames.append(wrap);
  });
}

function select(k, ri) {
  state.kf = k; state.ri = ri;
  renderAll();
}

function renderRegion() {
  const r = region();
  const sc = scene();
  $("no-region").hidden = !!r;
  $("region-fields").hidden = !r;
  $("region-where").textContent = r ? `${r.entity}, key frame ${state.kf + 1} of ${sc.id}` : `(key frame ${state.kf + 1} of ${sc.id})`;
  const taken = new Set(keyframes()[state.kf].regions.map((x) => x.entity));
  fillSelect($("add-entity"), entities().filter((e) => !taken.has(e)), null);
  $("add-region").disabled = $("add-everywhere").disabled = !$("add-entity").options.length;
  for (const f of ["entity", "motion", "caption", "box", "background"]) {
    const span = document.querySelector(`[data-error-for=${f}]`);
    span.textContent = "";
  }
  for (const e of state.errors) {  // errors of the shown fields, next to them, with their JSON path
    const p = place(e.path);
    if (!p || p.scene !== state.scene) continue;
    let field = null;
    if (p.kf === null && p.field === "background") field = "background";
    else if (r && p.kf === state.kf && p.list === "regions" && p.ri === state.ri) field = p.field || "box";
    if (!field) continue;
    const span = document.querySelector(`[data-error-for=${field}]`);
    if (span) span.textContent += `${e.path}: ${e.message}\n`;
  }
  $("background").classList.toggle("invalid", !!document.querySelector("[data-error-for=background]").textContent);
  if (!r) return;
  fillSelect($("entity"), [...new Set([...entities(), r.entity])], r.entity);
  fillSelect($("motion"), ["none", ...state.plan.motions.map((m) => m.id), ...(r.motion === "none" || state.plan.motions.some((m) => m.id === r.motion) ? [] : [r.motion])], r.motion);
  if (document.activeElement !== $("caption")) $("caption").value = r.caption;
  r.box.forEach((v, i) => { if (document.activeElement !== $(`box-${i}`)) $(`box-${i}`).value = v; });
  const k = keyframes().length;
  for (const id of ["range-from", "range-to", "interp-from", "interp-to"]) $(id).max = k;
  if (+$("range-from").value > k) $("range-from").value = state.kf + 1;
  if (+$("range-to").value > k) $("range-to").value = k;
  if (+$("interp-to").value > k) $("interp-to").value = k;
}

function fillSelect(sel, values, current) {
  const same = sel.options.length === values.length && [...sel.options].every((o, i) => o.value === values[i]);
  if (!same) {
    sel.replaceChildren(...values.map((v) => { const o = el("option", "", v); o.value = v; return o; }));
  }
  if (current !== null) sel.value = current;
}

function renderChecks() {
  const errs = $("errors"), warns = $("warnings");
  errs.replaceChildren(); warns.replaceChildren();
  for (const e of state.errors) {
    const li = el("li");
    li.append(el("code", "", e.path || "(plan)"), document.createTextNode(`: ${e.message}`));
    li.addEventListener("click", () => goTo(place(e.path)));
    errs.append(li);
  }
  const sc = scene();
  const here = sceneWarnings(sc.id), elsewhere = state.warnings.length - here.length;
  for (const w of here) {
    const li = el("li", "", `⚠ ${w.message}`);
    li.addEventListener("click", () => {
      if (w.keyframe === undefined) return;
      const ri = findRegion(keyframes()[w.keyframe], w.entity);
      select(w.keyframe, ri < 0 ? null : ri);
    });
    warns.append(li);
  }
  if (elsewhere > 0) warns.append(el("li", "", `⚠ ${elsewhere} more in other scenes (badges in the scene list)`));
  if (!state.errors.length && !state.warnings.length) errs.append(el("li", "help", "No errors, no warnings."));
}

function goTo(p) {
  if (!p || p.scene >= state.plan.scenes.length) return;
  state.scene = p.scene;
  state.kf = p.kf === null ? 0 : p.kf;
  state.ri = p.list === "regions" ? p.ri : null;
  fixSelection();
  renderAll();
}

// Dragging boxes --------------------------------------------------------------------------------------------------------
function startDrag(ev, frame, k, ri, mode) {
  if (ev.button !== 0) return;
  ev.preventDefault();
  ev.stopPropagation();
  state.kf = k; state.ri = ri;
  const r = keyframes()[k].regions[ri];
  const before = snapshot();
  const start = r.box.slice();
  const rect = frame.getBoundingClientRect();
  const x0 = ev.clientX, y0 = ev.clientY;
  const target = ev.currentTarget;  // the box: kept in the page until the drag ends (it holds the pointer)
  target.setPointerCapture(ev.pointerId);
  for (const b of document.querySelectorAll(".box.selected, .frame.current")) b.classList.remove("selected", "current");
  target.classList.add("selected");
  frame.classList.add("current");
  renderRegion();
  const move = (e) => {
    const dx = (e.clientX - x0) / rect.width, dy = (e.clientY - y0) / rect.height;
    const b = start.slice();
    if (mode === "move") { b[0] += dx; b[2] += dx; b[1] += dy; b[3] += dy; }
    else {
      if (mode.includes("w")) b[0] = Math.min(start[0] + dx, start[2] - MIN_SIDE);
      if (mode.includes("e")) b[2] = Math.max(start[2] + dx, start[0] + MIN_SIDE);
      if (mode.includes("n")) b[1] = Math.min(start[1] + dy, start[3] - MIN_SIDE);
      if (mode.includes("s")) b[3] = Math.max(start[3] + dy, start[1] + MIN_SIDE);
    }
    r.box = b.map(round3);
    // Move the element only; the whole page is drawn again when the drag ends.
    Object.assign(target.style, { left: `${r.box[0] * 100}%`, top: `${r.box[1] * 100}%`,
      width: `${(r.box[2] - r.box[0]) * 100}%`, height: `${(r.box[3] - r.box[1]) * 100}%` });
  };
  const end = () => {
    target.removeEventListener("pointermove", move);
    target.removeEventListener("pointerup", end);
    target.removeEventListener("pointercancel", end);
    if (r.box.every((v, i) => v === start[i])) r.box = start;  // a click: keep the numbers exactly as they were
    commit(before);
    renderAll();
  };
  target.addEventListener("pointermove", move);
  target.addEventListener("pointerup", end);
  target.addEventListener("pointercancel", end);
}

// Region actions --------------------------------------------------------------------------------------------------------
function nudge(dx, dy) {
  const r = region();
  if (!r || isAbsent(r.box)) return;
  change(() => { r.box = [r.box[0] + dx, r.box[1] + dy, r.box[2] + dx, r.box[3] + dy].map(round3); });
}

function frameNumber(id) {
  const n = Math.round(+$(id).value);
  const k = keyframes().length;
  if (!(n >= 1 && n <= k)) { showBanner(`Key frame numbers run from 1 to ${k}.`, [], "info"); return null; }
  return n - 1;
}

function copyToAll() {
  const r = region();
  if (!r) return;
  change(() => {
    keyframes().forEach((kf, k) => {
      if (k === state.kf) return;
      const i = findRegion(kf, r.entity);
      if (i >= 0) kf.regions[i].box = r.box.slice();
      else kf.regions.push(newRegion(r.entity, r.motion, r.caption, r.box));
    });
  });
}

function interpolate() {
  const r = region();
  const a = frameNumber("interp-from"), b = frameNumber("interp-to");
  if (!r || a === null || b === null) return;
  if (b - a < 2) { showBanner("Interpolation needs at least one key frame between the two.", [], "info"); return; }
  const kfs = keyframes();
  const ia = findRegion(kfs[a], r.entity), ib = findRegion(kfs[b], r.entity);
  if (ia < 0 || ib < 0 || isAbsent(kfs[a].regions[ia].box) || isAbsent(kfs[b].regions[ib].box)) {
    showBanner(`${r.entity} needs a box in key frames ${a + 1} and ${b + 1} to interpolate between them.`, [], "info");
    return;
  }
  const A = kfs[a].regions[ia], B = kfs[b].regions[ib];
  change(() => {
    for (let k = a + 1; k < b; k++) {
      const t = (k - a) / (b - a);
      const box = A.box.map((v, i) => round3((1 - t) * v + t * B.box[i]));
      const i = findRegion(kfs[k], r.entity);
      if (i >= 0) kfs[k].regions[i].box = box;
      else kfs[k].regions.push(newRegion(r.entity, A.motion, A.caption, box));
    }
  });
  hideBanner();
}

function applyRange() {
  const r = region();
  const a = frameNumber("range-from"), b = frameNumber("range-to");
  if (!r || a === null || b === null) return;
  const missing = [];
  change(() => {
    for (let k = Math.min(a, b); k <= Math.max(a, b); k++) {
      const i = findRegion(keyframes()[k], r.entity);
      if (i < 0) { missing.push(k + 1); continue; }
      keyframes()[k].regions[i].caption = r.caption;
      keyframes()[k].regions[i].motion = r.motion;
    }
  });
  if (missing.length) showBanner(`${r.entity} has no region in key frame(s) ${missing.join(", ")}: add one first.`, [], "info");
}

function addRegion(everywhere) {
  const eid = $("add-entity").value;
  if (!eid) return;
  change(() => {
    keyframes().forEach((kf, k) => {
      if ((everywhere || k === state.kf) && findRegion(kf, eid) < 0) {
        kf.regions.push(newRegion(eid, "none", defaultCaption(eid), [0.35, 0.35, 0.65, 0.65]));
      }
    });
    state.ri = findRegion(keyframes()[state.kf], eid);
  });
}

function removeRegion(everywhere) {
  const r = region();
  if (!r) return;
  const eid = r.entity;
  change(() => {
    keyframes().forEach((kf, k) => {
      if (everywhere || k === state.kf) kf.regions = kf.regions.filter((x, i) => (everywhere ? x.entity !== eid : i !== state.ri));
    });
    state.ri = null;
  });
}

// Fields: a text field snapshots when it gets focus and records one undo step when it is left --------------------------
function bindField(input, apply) {
  let before = null;
  input.addEventListener("focus", () => { before = snapshot(); });
  input.addEventListener("input", () => { apply(input.value); renderSceneList(); edited(); });
  input.addEventListener("change", () => { if (before !== null) { commit(before); before = snapshot(); renderAll(); } });
  input.addEventListener("blur", () => { before = null; });
}

function init() {
  bindField($("background"), (v) => { scene().background = v; });
  bindField($("caption"), (v) => { const r = region(); if (r) r.caption = v; });
  for (let i = 0; i < 4; i++) {
    bindField($(`box-${i}`), (v) => {
      const r = region();
      const n = parseFloat(v);
      if (r && Number.isFinite(n)) { r.box[i] = n; renderScene(); }
    });
  }
  $("entity").addEventListener("change", () => { const r = region(); if (r) change(() => { r.entity = $("entity").value; }); });
  $("motion").addEventListener("change", () => { const r = region(); if (r) change(() => { r.motion = $("motion").value; }); });
  $("absent").addEventListener("click", () => { const r = region(); if (r) change(() => { r.box = [0.0, 0.0, 0.0, 0.0]; }); });
  $("copy-all").addEventListener("click", copyToAll);
  $("interpolate").addEventListener("click", interpolate);
  $("apply-range").addEventListener("click", applyRange);
  $("add-region").addEventListener("click", () => addRegion(false));
  $("add-everywhere").addEventListener("click", () => addRegion(true));
  $("remove-region").addEventListener("click", () => removeRegion(false));
  $("remove-everywhere").addEventListener("click", () => removeRegion(true));
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("save").addEventListener("click", save);
  $("reload").addEventListener("click", () => load(false));
  document.addEventListener("keydown", (ev) => {
    const mod = ev.ctrlKey || ev.metaKey;
    if (mod && ev.key.toLowerCase() === "s") { ev.preventDefault(); save(); return; }
    const typing = ev.target.closest("input, textarea, select");
    if (typing) return;  // the field's own editing and undo
    if (mod && ev.key.toLowerCase() === "z") { ev.preventDefault(); (ev.shiftKey ? redo : undo)(); return; }
    if (mod && ev.key.toLowerCase() === "y") { ev.preventDefault(); redo(); return; }
    const step = ev.shiftKey ? BIG_STEP : STEP;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[ev.key] && region()) { ev.preventDefault(); nudge(...moves[ev.key]); }
  });
  window.addEventListener("beforeunload", (ev) => { if (state.plan && dirty()) ev.preventDefault(); });
  load(true);
}

init();
