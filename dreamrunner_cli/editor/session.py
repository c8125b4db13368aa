"""What `dreamrunner edit` does with a workspace, without any HTTP: the server (``server.py``) only routes to it.

- ``load``: plan.json as it is on disk, with its digest (sha256 of the bytes), the workspace's video geometry and
  the storyboard's entity colours.
- ``validate``: an edited plan through the CLI's own checks (``schema.validate_plan``: the pydantic model and the
  cross-reference checks, then the reference-image rule of ``load_plan``), each error with its JSON path; and the
  warnings ``plan`` prints (a box that covers no token, a caption without its character's token), by scene.
- ``mask``: one scene's SR3AI token-mask picture at the workspace's geometry, by the code of ``dreamrunner masks``
  (``sr3ai.regions.scene_regions`` + ``sr3ai.export.draw_regions``).
- ``save``: under the workspace lock (taken without waiting, for the save only), refused when plan.json's digest
  changed since the page loaded it; written atomically exactly as the plan stage writes it; then the storyboard is
  redrawn and the render stage's own dry run says which scenes would re-render and why.

The config is read again for every call (``dreamrunner config set`` may run while the editor is open).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..bounds import MAX_JSON_FILE_BYTES, loads_json
from ..errors import DreamrunnerError, InputInvalid, PlanInvalid
from ..workspace import Workspace


class PlanChanged(Exception):
    """plan.json on disk is not the one the page loaded (another program or a stage wrote it)."""


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def plan_text(plan) -> str:
    """plan.json's text exactly as the plan stage writes it (``workspace.write_json_atomic``)."""
    return json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False, default=str) + "\n"


def split_detail(line: str) -> dict[str, str]:
    """'scenes[0].keyframes[1].regions[0].box: box [...] needs ...' → {"path", "message"} (the CLI's lines)."""
    path, sep, message = line.partition(": ")
    if not sep or " " in path:
        return {"path": "", "message": line}
    return {"path": path, "message": message}


_TOKEN_WARNING = re.compile(
    r"^plan\.scenes\[(?P<scene>[^\]]+)\]\.keyframes\[(?P<kf>\d+)\]\.regions\[(?P<entity>[^\]]+)\]")
_VANISHING = re.compile(r"^scene (?P<scene>\S+), key frame (?P<kf>\d+), entity (?P<entity>[^:]+):")


class EditorSession:
    """One workspace's plan.json, as the editor reads, checks and writes it. Thread-safe (one save at a time)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._saving = threading.Lock()

    # Reading -----------------------------------------------------------------------------------------------------
    def config(self):
        from ..config import resolve_config

        return resolve_config(saved=self.ws.config)

    def geometry(self, cfg):
        """The workspace's token geometry (model config + render size), or None when it cannot be read without
        weights (an unknown model id offline): the page then has no mask preview and no box-size warnings."""
        from ..sr3ai.geometry_source import geometry_for

        try:
            return geometry_for(cfg.model.id, cfg.render.height, cfg.render.width, cfg.render.num_frames)
        except DreamrunnerError:
            return None

    def read(self) -> tuple[bytes, Any]:
        """plan.json's bytes and the validated plan parsed from them, from one read: the digest the page gets is
        the digest of the plan it edits."""
        path = self.ws.require_plan()
        blob = path.read_bytes()
        if len(blob) > MAX_JSON_FILE_BYTES:
            raise InputInvalid(f"{path} is {len(blob):,} bytes, above the limit of {MAX_JSON_FILE_BYTES:,} for a "
                               "plan file")
        try:
            data = loads_json(blob.decode("utf-8-sig"), str(path))
        except UnicodeDecodeError:
            raise PlanInvalid(f"{path} is not UTF-8 text", hint="save it as UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise PlanInvalid(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                              hint="fix the JSON syntax (a trailing comma or a missing quote is the usual cause)"
                              ) from None
        return blob, self.check(data, str(path))

    def check(self, data: Any, source: str):
        """The CLI's checks (``schema.load_plan`` after parsing): the model, cross references, reference images
        inside the workspace. Raises PlanInvalid with one detail per error, by JSON path."""
        from ..schema import outside_references, validate_plan

        plan = validate_plan(data, source=source)
        details = outside_references(plan, self.ws.root)
        if details:
            raise PlanInvalid(f"{source}: reference images outside the workspace ({len(details)})", details=details,
                              hint="copy each image into the workspace (e.g. refs/<character>/1.png) and write "
                                   "that path in plan.json")
        return plan

    def load(self) -> dict[str, Any]:
        from ..storyboard import entity_colours

        blob, plan = self.read()
        cfg = self.config()
        geom = self.geometry(cfg)
        canonical = plan_text(plan).encode("utf-8") == blob
        notes = [] if canonical else [
            "plan.json is not laid out the way dreamrunner writes it (hand-formatted, or written by another "
            "tool): the first save rewrites its layout (2-space indent, every field) with the same content"]
        return {
            "workspace": str(self.ws.root),
            # Every field present, in the model's order (what a save writes): the page needs no defaults of its own.
            "plan": plan.model_dump(mode="json"),
            "digest": sha256(blob),
            "canonical": canonical,
            "notes": notes,
            "video": {"width": cfg.render.width, "height": cfg.render.height, "model": cfg.model.id},
            "geometry": geom.to_dict() if geom else None,
            "colours": {eid: "#%02x%02x%02x" % rgb for eid, rgb in entity_colours(plan).items()},
            "warnings": self.warnings(plan, geom),
            "storyboard": self.ws.storyboard.exists(),
        }

    # Checking an edit ----------------------------------------------------------------------------------------------
    def warnings(self, plan, geom) -> list[dict[str, Any]]:
        """What ``plan`` warns about, by scene, key frame (0-based) and entity: boxes that cover no token at the
        workspace's geometry, captions of a character's region without its token."""
        from ..schema import caption_token_warnings
        from ..sr3ai.regions import vanishing_regions

        out = []
        for line in caption_token_warnings(plan):
            m = _TOKEN_WARNING.match(line)
            out.append({"kind": "token", "message": line, **({"scene": m["scene"], "keyframe": int(m["kf"]),
                                                              "entity": m["entity"]} if m else {})})
        for scene in plan.scenes if geom else []:
            for line in vanishing_regions(scene, geom):
                m = _VANISHING.match(line)
                out.append({"kind": "vanishing", "message": line, "scene": scene.id,
                            **({"keyframe": int(m["kf"]) - 1, "entity": m["entity"]} if m else {})})
        return out

    def validate(self, data: Any) -> dict[str, Any]:
        """{"valid", "errors": [{"path", "message"}], "warnings", "colours"} for an edited plan (nothing written)."""
        from ..storyboard import entity_colours

        try:
            plan = self.check(data, "the edited plan")
        except PlanInvalid as exc:
            errors = [split_detail(d) for d in exc.details] or [{"path": "", "message": exc.message}]
            return {"valid": False, "errors": errors, "warnings": []}
        cfg = self.config()
        return {"valid": True, "errors": [], "warnings": self.warnings(plan, self.geometry(cfg)),
                "colours": {eid: "#%02x%02x%02x" % rgb for eid, rgb in entity_colours(plan).items()}}

    def mask(self, data: Any, scene_id: str) -> dict[str, Any]:
        """One scene of an edited plan as ``dreamrunner masks`` draws it: a PNG (base64), the prompts in sequence
        order, and the geometry. Raises PlanInvalid for a plan that does not validate or a scene it lacks."""
        from ..sr3ai.export import draw_regions, legend_entries
        from ..sr3ai.regions import scene_regions

        plan = self.check(data, "the edited plan")
        cfg = self.config()
        geom = self.geometry(cfg)
        if geom is None:
            raise InputInvalid(f"the token geometry of model {cfg.model.id!r} cannot be read without its weights",
                               hint="`dreamrunner masks WS` says why; the editor still edits and saves the plan")
        regions = scene_regions(plan.scene(scene_id), geom, cfg.render.keyframe_policy, cfg.render.overlap)
        with tempfile.TemporaryDirectory(prefix="dreamrunner-edit-") as tmp:
            png = draw_regions(regions, Path(tmp) / f"{scene_id}.png").read_bytes()
        return {"scene": scene_id, "png": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                "prompts": legend_entries(regions), "geometry": geom.to_dict(),
                "policy": cfg.render.keyframe_policy, "overlap": cfg.render.overlap}

    # Saving --------------------------------------------------------------------------------------------------------
    def save(self, data: Any, digest: str) -> dict[str, Any]:
        """Write an edited plan. Raises PlanInvalid (it does not validate), PlanChanged (plan.json is not the one
        the page loaded), WorkspaceBusy (a stage holds the lock: exit code 6 on the command line)."""
        from ..workspace import write_text_atomic

        with self._saving:
            plan = self.check(data, "the edited plan")
            text = plan_text(plan)
            with self.ws.locked(wait=False):  # for this save only: stages run freely while the page is open
                try:
                    blob = self.ws.plan.read_bytes()
                except FileNotFoundError:
                    raise PlanChanged(f"{self.ws.plan} was removed since the editor loaded it") from None
                if sha256(blob) != digest:
                    raise PlanChanged(f"{self.ws.plan} changed on disk since the editor loaded it (another program "
                                      "or a dreamrunner command wrote it)")
                written = text.encode("utf-8") != blob
                if written:
                    write_text_atomic(self.ws.plan, text)
                cfg = self.config()
                notes = self._redraw_storyboard(cfg, plan)
                render = self._render_dry_run(cfg, notes)
        return {"digest": sha256(text.encode("utf-8")) if written else digest, "written": written,
                "storyboard": self.ws.storyboard.exists(), "render": render, "notes": notes}

    def _redraw_storyboard(self, cfg, plan) -> list[str]:
        """The storyboard as the plan stage draws it after a hand edit (``redraw_stale_storyboard``: with the
        story's "not planned" notes); a workspace whose storyboard was never drawn gets its first one."""
        from ..stages.plan import redraw_stale_storyboard, refresh_storyboard
        from ..workspace import Records, StageRun

        try:
            if not redraw_stale_storyboard(self.ws, cfg) and Records.load(self.ws).get("plan", "storyboard") is None:
                refresh_storyboard(self.ws, StageRun(self.ws, "plan"), plan)
        except DreamrunnerError as exc:
            return [f"storyboard.png not redrawn: {exc.message}"]
        return []

    def _render_dry_run(self, cfg, notes: list[str]) -> dict[str, Any]:
        """``dreamrunner render WS --dry-run``, in-process: the render stage's own decisions."""
        from ..stages import render as stage

        try:
            result = stage.run(self.ws, cfg, dry_run=True, progress=False)
        except DreamrunnerError as exc:
            notes.append(f"render --dry-run: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
            return {"items": [], "notes": []}
        return {"items": [{k: it.get(k) for k in ("item", "run", "action", "reason")} for it in result["items"]],
                "notes": result.get("notes", [])}
