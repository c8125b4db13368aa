"""`dreamrunner edit`: the editor's HTTP API on the planned teddy workspace (load, validate, masks, save, conflicts,
the lock, the token, path traversal) and the command itself (URL on stdout, errors, Ctrl-C). The page in a real
browser: tests/test_editor_browser.py."""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.editor.server import EditorServer
from dreamrunner_cli.editor.session import EditorSession
from dreamrunner_cli.workspace import Records, Workspace

runner = CliRunner()


# Helpers (the browser test uses them too) -----------------------------------------------------------------------------


def render_with_stand_in_clips(ws: Path) -> None:
    """`dreamrunner render WS` with every scene's clip a stand-in (grey frames) instead of a diffusion render (which
    takes a minute on the tiny preset): the render stage's own decisions, records and stitching, so a later
    `render --dry-run` says exactly what a real one would."""
    from dreamrunner_cli.stages import render
    from dreamrunner_cli.video import write_video

    def stand_in(ws, cfg, sr, todo, rep, models=None):
        seeds = {}
        for scene, deps, d, seed, _adapters in todo:
            frames = np.full((cfg.render.num_frames, cfg.render.height, cfg.render.width, 3), 128, np.uint8)
            write_video(ws.scene_video(scene.id), frames, cfg.render.fps)
            sr.finish(d, deps, [ws.scene_video(scene.id)], extra={"seed": seed})
            seeds[scene.id] = seed
        return seeds

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render, "_render_scenes", stand_in)
        res = runner.invoke(app, ["render", str(ws), "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output


def render_dry_run(ws: Path) -> list[dict]:
    """`dreamrunner render WS --dry-run --json`'s items."""
    res = runner.invoke(app, ["render", str(ws), "--dry-run", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["items"]


def changed_paths(old, new, path: str = "") -> list[str]:
    """Every JSON path where two parsed JSON documents differ."""
    if isinstance(old, dict) and isinstance(new, dict) and list(old) == list(new):
        return [p for k in old for p in changed_paths(old[k], new[k], f"{path}.{k}" if path else k)]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [p for i, (a, b) in enumerate(zip(old, new)) for p in changed_paths(a, b, f"{path}[{i}]")]
    return [] if old == new and type(old) is type(new) else [path]


def changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(old line, new line) for each line that differs; the two texts must have as many lines (else the diff is
    more than changed values)."""
    a, b = old.splitlines(), new.splitlines()
    assert len(a) == len(b), "\n".join(difflib.unified_diff(a, b, lineterm="", n=1))
    return [(x, y) for x, y in zip(a, b) if x != y]


# A server on the workspace, in this process --------------------------------------------------------------------------


class Client:
    def __init__(self, server: EditorServer):
        self.server, self.token = server, server.token

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        out = resp.status, dict(resp.getheaders()), resp.read()
        conn.close()
        return out

    def get(self, name: str) -> tuple[int, bytes]:
        status, _, body = self.request("GET", f"/{self.token}/{name}")
        return status, body

    def post(self, name: str, body) -> tuple[int, dict]:
        status, _, raw = self.request("POST", f"/{self.token}/{name}", body)
        return status, json.loads(raw)

    def plan(self) -> dict:
        status, body = self.get("api/plan")
        assert status == 200, body
        return json.loads(body)


@contextlib.contextmanager
def serving(ws: Path):
    server = EditorServer(EditorSession(Workspace(ws)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Client(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def client(ws):
    with serving(ws) as c:
        yield c


# Load -----------------------------------------------------------------------------------------------------------------


def test_load_gives_the_plan_as_on_disk_its_digest_the_video_shape_and_the_storyboard_colours(client, ws):
    from dreamrunner_cli.storyboard import entity_colour

    got = client.plan()
    blob = (ws / "plan.json").read_bytes()
    assert got["plan"] == json.loads(blob) and list(got["plan"]) == list(json.loads(blob))  # key order kept
    assert got["digest"] == hashlib.sha256(blob).hexdigest()
    assert got["canonical"] is True and got["notes"] == []
    assert got["video"] == {"width": 64, "height": 64, "model": "tiny"}  # the tiny preset's render size
    assert got["geometry"]["rows"] == 4 and got["geometry"]["cols"] == 4
    assert got["colours"]["teddy"] == "#%02x%02x%02x" % entity_colour("teddy")
    assert got["storyboard"] is True


def test_a_hand_formatted_plan_is_loaded_with_a_note_that_saving_rewrites_its_layout(ws):
    data = json.loads((ws / "plan.json").read_text())
    for scene in data["scenes"]:
        for kf in scene["keyframes"]:
            del kf["merged"]  # a default, left out by hand
    (ws / "plan.json").write_text(json.dumps(data, indent=4))
    with serving(ws) as client:
        got = client.plan()
    assert got["canonical"] is False and "first save rewrites its layout" in got["notes"][0]
    assert all(kf["merged"] == [] for s in got["plan"]["scenes"] for kf in s["keyframes"])  # the page gets every field


def test_the_page_and_its_assets_are_served_with_a_strict_policy(client):
    status, headers, body = client.request("GET", f"/{client.token}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'src="editor.js"' in body and b'href="editor.css"' in body and b"http" not in body  # no CDN
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    for name, kind in (("editor.js", "text/javascript"), ("editor.css", "text/css")):
        status, headers, body = client.request("GET", f"/{client.token}/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and len(body) > 1000
    status, headers, body = client.request("GET", f"/{client.token}/storyboard.png")
    assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"


# The token and the allow-list -----------------------------------------------------------------------------------------


def test_every_request_without_the_token_is_refused(client, ws):
    before = (ws / "plan.json").read_bytes()
    wrong = "x" * len(client.token)
    for method, path in [("GET", "/"), ("GET", "/api/plan"), ("GET", "/plan.json"), ("GET", f"/{wrong}/"),
                         ("GET", f"/{wrong}/api/plan"), ("GET", f"/{client.token[:-1]}/api/plan"),
                         ("GET", f"/{client.token}x/api/plan"), ("GET", f"/{client.token.upper()}/plan.json"),
                         ("GET", "/favicon.ico"), ("GET", f"/api/plan?token={client.token}"),
                         ("POST", "/api/save"), ("POST", f"/{wrong}/api/save")]:
        status, _, body = client.request(method, path, {"plan": {}, "digest": ""} if method == "POST" else None)
        assert status == 403, (method, path)
        assert b"schema_version" not in body
    assert (ws / "plan.json").read_bytes() == before
    status, headers, _ = client.request("GET", f"/{client.token}")  # the bare token: to the page's folder
    assert status == 301 and headers["Location"] == f"/{client.token}/"


def test_no_url_reaches_a_file_outside_the_allow_list(client, ws, tmp_path):
    (tmp_path / "secret.txt").write_text("SECRET-OUTSIDE")
    (ws / "config.json").write_text((ws / "config.json").read_text())  # present in the workspace, never served
    t = client.token
    variants = [
        "../secret.txt", "../../secret.txt", "..%2Fsecret.txt", "%2e%2e/secret.txt", "%2e%2e%2fsecret.txt",
        "%2E%2E%2F%2E%2E%2Fsecret.txt", "%252e%252e%252fsecret.txt", "..%252fsecret.txt", "....//secret.txt",
        "..\\secret.txt", "%2e%2e%5csecret.txt", f"/{tmp_path}/secret.txt", f"{tmp_path}/secret.txt",
        "/etc/passwd", "//etc/passwd", "api/../plan.json", "api/..%2F..%2Fconfig.json", "static/editor.js",
        "storyboard.png/../config.json", "config.json", "dreamrunner.lock", "runs.jsonl", ".dreamrunner.pid",
        "story.txt", "refs/teddy/01-1.png", "editor.html", "./editor.js", "editor.js/", "EDITOR.JS", "plan.json%00",
        "plan.json/.", "%70lan.json", "masks/s01.png", "storyboard-2.png",
    ]
    for v in variants:
        status, _, body = client.request("GET", f"/{t}/{v}")
        assert status == 404, v
        assert b"SECRET-OUTSIDE" not in body and b"root:" not in body and b'"preset"' not in body, v
    for path in [f"/../{t}/plan.json", f"/%2e%2e/{t}/plan.json", f"http://127.0.0.1/{t}/../../etc/passwd"]:
        status, _, body = client.request("GET", path)
        assert status in (403, 404) and b"root:" not in body, path
    status, _, _ = client.request("POST", f"/{t}/api/../api/save", {"plan": {}, "digest": ""})
    assert status == 404


def test_a_post_from_another_site_is_refused(client):
    status, _, _ = client.request("POST", f"/{client.token}/api/validate", {"plan": {}},
                                  headers={"Origin": "http://evil.example"})
    assert status == 403


def test_bad_request_bodies_are_refused_with_400(client):
    for body in (b"not json", b"[1, 2]", b"[" * 100 + b"]" * 100):
        status, _, raw = client.request("POST", f"/{client.token}/api/validate", body)
        assert status == 400, body[:10]
        assert json.loads(raw)["error"] == "bad request"


# Validate ------------------------------------------------------------------------------------------------------------


def test_validate_gives_each_error_with_its_json_path_and_the_plan_warnings_by_scene(client):
    plan = client.plan()["plan"]
    status, got = client.post("api/validate", {"plan": plan})
    assert status == 200 and got["valid"] is True and got["errors"] == []
    bad = copy.deepcopy(plan)
    bad["scenes"][1]["keyframes"][2]["regions"][0]["box"] = [0.8, 0.1, 0.2, 0.9]  # inverted
    bad["scenes"][0]["keyframes"][0]["regions"][0]["entity"] = "teddi"  # unknown
    bad["scenes"][2]["keyframes"][1]["regions"][0]["caption"] = ""  # empty
    status, got = client.post("api/validate", {"plan": bad})
    assert status == 200 and got["valid"] is False
    paths = {e["path"]: e["message"] for e in got["errors"]}
    assert "x0 < x1" in paths["scenes[1].keyframes[2].regions[0].box"]
    assert "scenes[2].keyframes[1].regions[0].caption" in paths
    bad["scenes"][2]["keyframes"][1]["regions"][0]["caption"] = "A [v1] brown teddy bear is walking"
    bad["scenes"][1]["keyframes"][2]["regions"][0]["box"] = [0.2, 0.1, 0.8, 0.9]
    status, got = client.post("api/validate", {"plan": bad})  # the model passes: now the cross-reference checks
    assert got["valid"] is False
    assert "unknown entity 'teddi'" in {e["path"]: e["message"] for e in got["errors"]}[
        "scenes[0].keyframes[0].regions[0].entity"]

    warned = copy.deepcopy(plan)
    warned["scenes"][1]["keyframes"][3]["regions"][0]["caption"] = "A brown teddy bear is walking"  # no [v1]
    warned["scenes"][2]["keyframes"][4]["regions"][0]["box"] = [0.5, 0.5, 0.55, 0.55]  # under a token at 4×4
    status, got = client.post("api/validate", {"plan": warned})
    assert got["valid"] is True
    kinds = {(w["kind"], w["scene"], w["keyframe"], w["entity"]) for w in got["warnings"]}
    assert kinds == {("token", "s02", 3, "teddy"), ("vanishing", "s03", 4, "teddy")}


def test_a_reference_image_outside_the_workspace_is_an_error_as_in_load_plan(client):
    plan = client.plan()["plan"]
    plan["characters"][0]["reference_images"] = ["../../elsewhere.png"]
    status, got = client.post("api/validate", {"plan": plan})
    assert got["valid"] is False and got["errors"][0]["path"] == "characters[0].reference_images[0]"


# Masks ----------------------------------------------------------------------------------------------------------------


def test_the_mask_preview_is_the_picture_dreamrunner_masks_draws(client, ws):
    import base64

    plan = client.plan()["plan"]
    status, got = client.post("api/mask", {"plan": plan, "scene": "s02"})
    assert status == 200 and got["png"].startswith("data:image/png;base64,")
    res = runner.invoke(app, ["masks", str(ws), "--scene", "s02", "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert base64.b64decode(got["png"].split(",", 1)[1]) == (ws / "masks" / "s02.png").read_bytes()
    assert got["geometry"]["rows"] == 4 and got["prompts"][-1].endswith(plan["scenes"][1]["background"])

    plan["scenes"][1]["keyframes"][0]["regions"][0]["box"] = [0.0, 0.0, 0.5, 1.0]  # an edit changes the picture
    _, moved = client.post("api/mask", {"plan": plan, "scene": "s02"})
    assert moved["png"] != got["png"]
    status, missing = client.post("api/mask", {"plan": plan, "scene": "s99"})
    assert status == 422 and "s99" in missing["message"]


# Save -----------------------------------------------------------------------------------------------------------------


def _as_the_page_sends_it(plan: dict) -> dict:
    """JSON.stringify writes 1.0 as 1: the page's copy of the plan has integers where plan.json has floats."""
    return json.loads(json.dumps(plan), parse_float=lambda s: int(float(s)) if float(s).is_integer() else float(s))


def test_saving_without_edits_leaves_plan_json_byte_identical(client, ws):
    before = (ws / "plan.json").read_bytes()
    mtime = (ws / "plan.json").stat().st_mtime_ns
    got = client.plan()
    status, res = client.post("api/save", {"plan": _as_the_page_sends_it(got["plan"]), "digest": got["digest"]})
    assert status == 200, res
    assert res["written"] is False and res["digest"] == got["digest"]
    assert (ws / "plan.json").read_bytes() == before and (ws / "plan.json").stat().st_mtime_ns == mtime


def test_a_moved_box_changes_only_its_lines_redraws_the_storyboard_and_rerenders_only_that_scene(ws):
    render_with_stand_in_clips(ws)
    assert not any(it["run"] for it in render_dry_run(ws))
    before_text = (ws / "plan.json").read_text()
    storyboard = (ws / "storyboard.png").read_bytes()
    with serving(ws) as client:
        got = client.plan()
        plan = _as_the_page_sends_it(got["plan"])
        box = plan["scenes"][1]["keyframes"][0]["regions"][0]["box"]
        plan["scenes"][1]["keyframes"][0]["regions"][0]["box"] = [round(box[0] + 0.1, 3), box[1],
                                                                   round(box[2] + 0.1, 3), box[3]]
        status, res = client.post("api/save", {"plan": plan, "digest": got["digest"]})
    assert status == 200, res
    after_text = (ws / "plan.json").read_text()
    assert res["written"] is True and res["digest"] == hashlib.sha256(after_text.encode()).hexdigest()
    assert changed_paths(json.loads(before_text), json.loads(after_text)) == [
        "scenes[1].keyframes[0].regions[0].box[0]", "scenes[1].keyframes[0].regions[0].box[2]"]
    assert [(a.strip(), b.strip()) for a, b in changed_lines(before_text, after_text)] == [
        (f"{box[0]},", f"{round(box[0] + 0.1, 3)},"), (f"{box[2]},", f"{round(box[2] + 0.1, 3)},")]
    assert (ws / "storyboard.png").read_bytes() != storyboard  # redrawn, and recorded as drawn from this plan
    assert Records.load(Workspace(ws)).get("plan", "storyboard")["deps"]["plan.json"] == \
        hashlib.sha256(after_text.encode()).hexdigest()[:16]
    # The render stage's dry run: s02 alone re-renders, then the story is stitched again from it.
    would = {it["item"]: it["reason"] for it in res["render"]["items"] if it["run"]}
    assert would == {"s02": "plan.scenes[s02].keyframes[0].regions[teddy].box changed",
                     "story": "renders would change (s02)"}
    assert {it["item"]: it["reason"] for it in render_dry_run(ws) if it["run"]} == would  # as the command says


def test_a_save_over_a_plan_changed_on_disk_is_refused_and_keeps_that_change(client, ws):
    got = client.plan()
    (ws / "plan.json").write_text((ws / "plan.json").read_text().replace("A sunny kitchen.", "A dark kitchen."))
    theirs = (ws / "plan.json").read_bytes()
    plan = got["plan"]
    plan["scenes"][0]["background"] = "A cozy bedroom at night."
    status, res = client.post("api/save", {"plan": plan, "digest": got["digest"]})
    assert status == 409 and "changed on disk since the editor loaded it" in res["message"]
    assert "reload" in res["hint"]
    assert (ws / "plan.json").read_bytes() == theirs
    again = client.plan()  # reload: the page now edits their version
    assert again["plan"]["scenes"][1]["background"] == "A dark kitchen."
    status, res = client.post("api/save", {"plan": again["plan"], "digest": again["digest"]})
    assert status == 200


def test_a_save_while_a_stage_holds_the_workspace_lock_is_refused_as_busy(client, ws):
    got = client.plan()
    plan = got["plan"]
    plan["scenes"][0]["background"] = "A cozy bedroom at night."
    before = (ws / "plan.json").read_bytes()
    with Workspace(ws).locked():  # what every stage holds while it runs
        status, res = client.post("api/save", {"plan": plan, "digest": got["digest"]})
    assert status == 423 and res["exit_code"] == 6 and res["error"] == "WorkspaceBusy"
    assert "is in use by" in res["message"] and "save again" in res["hint"]
    assert (ws / "plan.json").read_bytes() == before
    status, res = client.post("api/save", {"plan": plan, "digest": got["digest"]})  # free again: it saves
    assert status == 200 and res["written"] is True
    assert json.loads((ws / "plan.json").read_text())["scenes"][0]["background"] == "A cozy bedroom at night."


def test_the_editor_holds_no_lock_while_idle(client, ws):
    client.plan()
    res = runner.invoke(app, ["status", str(ws), "--json"], catch_exceptions=False)
    assert res.exit_code == 0
    with Workspace(ws).locked():  # a stage can take the lock while the editor is open
        pass


def test_an_invalid_plan_is_not_saved(client, ws):
    got = client.plan()
    plan = got["plan"]
    plan["scenes"][0]["keyframes"][0]["regions"][0]["motion"] = "flying"
    before = (ws / "plan.json").read_bytes()
    status, res = client.post("api/save", {"plan": plan, "digest": got["digest"]})
    assert status == 422 and res["exit_code"] == 5
    assert res["errors"][0]["path"] == "scenes[0].keyframes[0].regions[0].motion"
    assert (ws / "plan.json").read_bytes() == before


# The command ----------------------------------------------------------------------------------------------------------


def test_edit_refuses_a_folder_without_a_plan_and_an_invalid_plan_like_other_commands(tmp_path, ws):
    res = runner.invoke(app, ["edit", str(tmp_path / "empty"), "--no-open"])
    assert res.exit_code == 3 and "plan.json not found" in res.stderr and "dreamrunner plan" in res.stderr
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][0]["keyframes"][0]["regions"][0]["box"] = [0.9, 0, 0.1, 1]
    (ws / "plan.json").write_text(json.dumps(plan))
    res = runner.invoke(app, ["edit", str(ws), "--no-open"])
    assert res.exit_code == 5 and "scenes[0].keyframes[0].regions[0].box" in res.stderr


def test_edit_refuses_a_port_in_use(ws):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        res = runner.invoke(app, ["edit", str(ws), "--no-open", "--port", str(s.getsockname()[1])])
    assert res.exit_code == 2 and "cannot listen on 127.0.0.1:" in res.stderr and "--port" in res.stderr


def start_editor(ws: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """`dreamrunner edit WS --no-open` in its own process, as a user starts it; returns it and the URL it printed."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "dreamrunner_cli", "edit", str(ws), "--no-open", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read() if proc.poll() is not None else "")
    return proc, url


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_edit_prints_the_url_serves_it_and_stops_cleanly_on_a_signal(ws, sig):
    from urllib.request import urlopen

    before = (ws / "plan.json").read_bytes()
    proc, url = start_editor(ws)
    try:
        assert url.count("/") == 4 and len(url.rsplit("/", 2)[1]) >= 32  # http://127.0.0.1:PORT/TOKEN/
        with urlopen(url + "api/plan", timeout=10) as r:
            assert json.loads(r.read())["digest"] == hashlib.sha256(before).hexdigest()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out == "" and "edit: stopped" in err and "Ctrl-C stops" in err and "Traceback" not in err
    assert (ws / "plan.json").read_bytes() == before
    assert not [p for p in ws.iterdir() if p.name.startswith(".tmp-")]
