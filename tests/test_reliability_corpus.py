"""The bad-input corpus (issue 16): hostile inputs to every command, each checked for

* the documented exit code (never 1: every expected failure is a message, not a crash),
* a message on stderr that starts with ``error:`` and no traceback,
* nothing changed on disk: the byte snapshot of the case's folder (files and folders) is identical before and after
  the refused command ("guards decide before they write"). A case marked ``logged`` fails after its stage started
  (an LLM reply that is refused): the only change allowed is the failure appended to the workspace's runs.jsonl.

The "bounds" cases (issue 22) feed inputs past every bound: a FIFO or a device as a story or plan.json, a 5 MB
story, YAML aliases, JSON nested 100,000 deep or with a 5,000-digit number, and LLM servers that drip, send invalid
UTF-8 or too much (a local fake server, tests/llm_server.py, started once for the module).

Issue 22's other classes follow: users' folders, batch names, adapters that do not apply (or load in part), plan.json
references outside the workspace, damaged clips at the stitch, and the workspace files read through the bounded
readers.

Every case is classified (``classify``: hang, traceback, silent wrong, data lost; wrong code, unclear, wrote) before
it is asserted, and the module prints the counts: `make test` runs every fourth case; `make reliability`
(DREAMRUNNER_RELIABILITY=1) runs all of them, and its line is what docs/reliability.md reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
TEDDY = ROOT / "examples" / "stories" / "teddy.txt"
FULL = os.environ.get("DREAMRUNNER_RELIABILITY") == "1"
runner = CliRunner()


@dataclass
class Case:
    name: str
    code: int
    build: Callable[[Path, Path], list]  # (workspace copy, scratch folder) -> argv; may damage files first
    xfail: str | None = None  # a known gap, named in the report (strict: it fails the run once fixed)
    logged: bool = False  # fails after the stage started: runs.jsonl may gain the failure's line, nothing else
    says: str | None = None  # text the message must hold (the bound and the key that raises it, the file blamed)
    base: str = "planned"  # the workspace the case starts from: "planned" (plan only) or "rendered" (every clip)


def _plan(ws: Path) -> dict:
    return json.loads((ws / "plan.json").read_text())


def _write_plan(ws: Path, mutate: Callable[[dict], object]) -> None:
    plan = _plan(ws)
    mutate(plan)
    (ws / "plan.json").write_text(json.dumps(plan))


def _story(tmp: Path, text: str | bytes, name: str = "story.txt") -> Path:
    p = tmp / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def _front(chars: str, body: str = "Bo wakes up. Bo walks to the garden.\n") -> str:
    return f"---\ncharacters:\n{chars}---\n{body}"


def _empty(tmp: Path) -> Path:
    (tmp / "empty").mkdir(exist_ok=True)
    return tmp / "empty"


def _lock(ws: Path, data: bytes) -> Path:
    (ws / "dreamrunner.lock").write_bytes(data)
    return ws


def _config(ws: Path, text: str) -> Path:
    (ws / "config.json").write_text(text)
    return ws


def _box(plan: dict) -> None:
    plan["scenes"][0]["keyframes"][0]["regions"][0]["box"] = [0.9, 0.1, 0.1, 0.9]


def _entity(plan: dict) -> None:
    plan["scenes"][0]["keyframes"][0]["regions"][0]["entity"] = "ghost"


def _index(tmp: Path, files: dict[str, bytes]) -> Path:
    idx = tmp / "index"
    idx.mkdir()
    for name, blob in files.items():
        (idx / name).write_bytes(blob)
    return idx


PNG = ROOT / "examples" / "stories" / "refs" / "teddy" / "1.png"


def _huge_png_header(w: int = 12000, h: int = 12000) -> bytes:
    """A PNG signature and IHDR claiming w×h pixels (no pixel data): what Pillow reads before decoding."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def _ref_story(tmp: Path, image: str, files: dict[str, bytes] | None = None) -> Path:
    """A story in tmp/src/ whose character bo has one reference image ``image`` (files: written next to it)."""
    folder = tmp / "src"
    folder.mkdir(exist_ok=True)
    for name, blob in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(blob)
    return _story(folder, _front(f"  - id: bo\n    description: a robot\n    images: [{json.dumps(image)}]\n"))


def _damaged_index(tmp: Path, rel: str) -> Path:
    """A small index built here, then damaged: a file cut in half (a .bin), or an array one row short (rows.npy),
    or garbage (bm25 .npy)."""
    import numpy as np

    from dreamrunner_cli.retrieval.index import build_index

    db = tmp / "db"
    db.mkdir()
    (db / "caps.jsonl").write_text("".join(json.dumps({"path": f"v{i}.mp4", "caption": f"a person is walking {i}"})
                                           + "\n" for i in range(20)))
    build_index(db, db / "caps.jsonl")
    target = db / "index" / rel
    if rel.endswith(".bin"):
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif rel == "meta/rows.npy":
        np.save(target, np.load(target)[:-1])
    else:
        target.write_bytes(b"not an npy file")
    return db / "index"


def _new_story_over_edited_plan(ws: Path, tmp: Path) -> list:
    _write_plan(ws, lambda p: p["scenes"][0].update(narration="EDITED BY HAND"))
    story = TEDDY.read_text() + "\nThen Teddy waves goodbye.\n"
    shutil.copytree(TEDDY.parent / "refs", tmp / "refs")  # the story's reference images, next to the new story
    return ["plan", _story(tmp, story, "teddy2.txt"), "-w", ws]

def _fifo(path: Path) -> Path:
    if path.exists():
        path.unlink()
    os.mkfifo(path)  # nobody writes: opening it for reading would block forever
    return path


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{k}: &{k} [" + ",".join([f"*{prev}"] * 9) + "]" for prev, k in zip("abcdefgh", "bcdefghi")]
    return "---\n" + "\n".join(lines) + "\ncharacters:\n  - id: bo\n    name: *i\n---\nBo wakes up.\n"


DEEP = "[" * 100_000 + "]" * 100_000
DIGITS = "9" * 5000
LLM: dict[str, str] = {}  # the fake LLM server's URL, set by the module fixture below


def _llm_steps(body: dict):
    """The fake server's answer, chosen by the model name the case asks for."""
    from llm_server import completion_body, drip, raw

    return {"drip": lambda: drip(0.5),
            "bad-utf8": lambda: raw(completion_body(b"Bo walks \xff\xfe to the park")),
            "too-big": lambda: raw(completion_body("x" * 300_000)),
            "deep": lambda: raw(b'{"choices": ' + DEEP.encode() + b"}")}[body["model"]]()


def _llm(ws: Path, model: str, *extra: str) -> list:
    return ["plan", ws, "--llm", "openai", "--llm-base-url", LLM["url"], "--llm-model", model, "--no-save", "-q",
            "--set", "plan.max_retries=0", *extra]


def _users_folder(tmp: Path) -> Path:
    """A folder of the user's own holding a story.txt and a plan.json that dreamrunner did not write."""
    mine = tmp / "mine"
    mine.mkdir()
    (mine / "story.txt").write_text("my novel, chapter one\n")
    (mine / "plan.json").write_text('{"my": "travel plan"}\n')
    (mine / "notes.md").write_text("notes\n")
    return mine


def _same_name_stories(tmp: Path) -> list:
    """a/two.txt and b/two.txt: the stable rule gives each OUT/two-<hash of its path>; the one for a/two.txt
    already holds another story's workspace, so batch must refuse (it used to hand one story's workspace to the
    other, exit 0)."""
    import hashlib

    for d in ("a", "b"):
        (tmp / d).mkdir()
        (tmp / d / "two.txt").write_text(f"Story {d}: Bo the robot walks in the park.\n")
    key = str((tmp / "a" / "two.txt").resolve())
    other = tmp / "out" / f"two-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    other.mkdir(parents=True)
    (other / "story.txt").write_text("---\ntitle: Another story\n---\nSomething else entirely.\n")
    return ["batch", tmp / "a" / "two.txt", tmp / "b" / "two.txt", "--out", tmp / "out", "--preset", "tiny"]


ADAPTER = "adapters/motion/waking-up/pytorch_lora_weights.safetensors"  # a LoRA scene s01 uses


def _adapters(ws: Path, damage: Callable[[Path], object]) -> list:
    """The three LoRAs scene s01 uses, trained as the adapt stage writes them (tiny model), then ``damage`` done
    to motion/waking-up's file; the case renders s01."""
    from test_render_lora import write_adapter

    w = Workspace(ws)
    write_adapter(w, "character", "teddy", [1], seed=1)  # tiny: character LoRAs on odd blocks, motion on even
    write_adapter(w, "motion", "waking-up", [0], seed=2)
    write_adapter(w, "motion", "stretching-arms", [0], seed=3)
    damage(ws / ADAPTER)
    return ["render", ws, "--scene", "s01"]


def _tensors(change: Callable[[dict], dict]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        from safetensors.torch import load_file, save_file

        save_file(change(load_file(path)), path)
    return damage


def _clip(ws: Path, damage: Callable[[bytes], bytes]) -> list:
    """A rendered workspace whose renders/s02.mp4 was damaged after its record: render keeps it (a changed output
    is the user's), so the stitch meets it and must refuse it naming the scene, never write a story.mp4 from it."""
    clip = ws / "renders" / "s02.mp4"
    clip.write_bytes(damage(clip.read_bytes()))
    return ["render", ws]


def _outside_ref(ws: Path) -> None:
    _write_plan(ws, lambda p: p["characters"][0]["reference_images"].append(str(PNG)))


CASES: list[Case] = [
    # plan ------------------------------------------------------------------------------------------------------------
    Case("plan: story file missing", 5, lambda ws, t: ["plan", t / "nope.txt"]),
    Case("plan: empty story", 5, lambda ws, t: ["plan", _story(t, "")]),
    Case("plan: story not UTF-8", 5, lambda ws, t: ["plan", _story(t, b"Teddy \xff\xfe wakes up.\n")]),
    Case("plan: front matter not YAML", 5, lambda ws, t: ["plan", _story(t, "---\ncharacters: [\n---\nBo.\n")]),
    Case("plan: character id with a newline", 5,
         lambda ws, t: ["plan", _story(t, _front('  - id: "bo\\n"\n    description: a robot\n'))]),
    Case("plan: character id in capitals", 5,
         lambda ws, t: ["plan", _story(t, _front("  - id: Bo\n    description: a robot\n"))]),
    Case("plan: character without name or description", 5,
         lambda ws, t: ["plan", _story(t, _front("  - id: bo\n"))]),
    Case("plan: reference image missing", 5,
         lambda ws, t: ["plan", _story(t, _front("  - id: bo\n    description: a robot\n    images: [no.png]\n"))]),
    Case("plan: unknown preset", 2, lambda ws, t: ["plan", TEDDY, "-w", t / "w", "--preset", "nope"]),
    Case("plan: preset given as a path", 2, lambda ws, t: ["plan", TEDDY, "-w", t / "w", "--preset", "../configs/tiny"]),
    Case("plan: --set without '='", 2, lambda ws, t: ["plan", TEDDY, "-w", t / "w", "--set", "nonsense"]),
    Case("plan: --set out of range", 2, lambda ws, t: ["plan", TEDDY, "-w", t / "w", "--set", "plan.max_scenes=0"]),
    Case("plan: --set unknown key", 2, lambda ws, t: ["plan", TEDDY, "-w", t / "w", "--set", "plan.bogus=1"]),
    Case("plan: unknown --llm backend", 2, lambda ws, t: ["plan", TEDDY, "-w", t / "w", "--llm", "nonsense"]),
    Case("plan: --scene the plan lacks", 2, lambda ws, t: ["plan", ws, "--scene", "s99"]),
    Case("plan: unknown --llm backend on a workspace", 2, lambda ws, t: ["plan", ws, "--llm", "nonsense"]),
    Case("plan: new story over a hand-edited plan.json", 5, _new_story_over_edited_plan),
    Case("plan: new planner settings over a hand-edited plan.json", 5,
         lambda ws, t: (_write_plan(ws, lambda p: p.update(title="Mine")),
                        ["plan", ws, "--set", "plan.max_scenes=3"])[1]),
    Case("plan: reference image /etc/passwd", 5, lambda ws, t: ["plan", _ref_story(t, "/etc/passwd")]),
    Case("plan: reference image by absolute path", 5, lambda ws, t: ["plan", _ref_story(t, str(PNG))]),
    Case("plan: reference image outside the story's folder", 5,
         lambda ws, t: ["plan", _ref_story(t, "../outside.png", {"../outside.png": PNG.read_bytes()})]),
    Case("plan: reference image that is a text file named .png", 5,
         lambda ws, t: ["plan", _ref_story(t, "bo.png", {"bo.png": b"not an image\n"})]),
    Case("plan: reference image truncated", 5,
         lambda ws, t: ["plan", _ref_story(t, "bo.png", {"bo.png": PNG.read_bytes()[:200]})]),
    Case("plan: reference image over the pixel budget", 5,
         lambda ws, t: ["plan", _ref_story(t, "bo.png", {"bo.png": _huge_png_header()})]),
    Case("plan: outside reference allowed but not an image", 5,
         lambda ws, t: ["plan", _ref_story(t, "/etc/passwd"), "--allow-outside-refs"]),
    Case("plan: folder and a different --workspace", 2, lambda ws, t: ["plan", ws, "-w", t / "other"]),
    Case("plan: folder that is no workspace", 3, lambda ws, t: ["plan", _empty(t)]),
    Case("plan: damaged records", 5, lambda ws, t: ["plan", _lock(ws, b'{"schema": 1, "stag')]),
    # render ----------------------------------------------------------------------------------------------------------
    Case("render: no plan", 3, lambda ws, t: ["render", _empty(t)]),
    Case("render: plan.json not JSON", 5, lambda ws, t: ((ws / "plan.json").write_text("{ nope"), ["render", ws])[1]),
    Case("render: plan.json empty", 5, lambda ws, t: ((ws / "plan.json").write_text(""), ["render", ws])[1]),
    Case("render: plan.json a list", 5, lambda ws, t: ((ws / "plan.json").write_text("[]"), ["render", ws])[1]),
    Case("render: plan.json not UTF-8", 5,
         lambda ws, t: ((ws / "plan.json").write_bytes(b'{"title": "\xff"}'), ["render", ws])[1]),
    Case("render: inverted box", 5, lambda ws, t: (_write_plan(ws, _box), ["render", ws])[1]),
    Case("render: unknown entity", 5, lambda ws, t: (_write_plan(ws, _entity), ["render", ws])[1]),
    Case("render: unknown plan key", 5, lambda ws, t: (_write_plan(ws, lambda p: p.update(bogus=1)), ["render", ws])[1]),
    Case("render: scene without key frames", 5,
         lambda ws, t: (_write_plan(ws, lambda p: p["scenes"][0].update(keyframes=[])), ["render", ws])[1]),
    Case("render: duplicate scene ids", 5,
         lambda ws, t: (_write_plan(ws, lambda p: p["scenes"][1].update(id=p["scenes"][0]["id"])), ["render", ws])[1]),
    Case("render: --scene the plan lacks", 2, lambda ws, t: ["render", ws, "--scene", "s99"]),
    Case("render: negative steps", 2, lambda ws, t: ["render", ws, "--set", "render.steps=-1"]),
    Case("render: steps not a number", 2, lambda ws, t: ["render", ws, "--set", "render.steps=many"]),
    Case("render: frame count the VAE cannot give", 2, lambda ws, t: ["render", ws, "--set", "render.num_frames=13"]),
    Case("render: unknown attention backend", 2, lambda ws, t: ["render", ws, "--attention", "magic"]),
    Case("render: unknown dtype", 2, lambda ws, t: ["render", ws, "--dtype", "float7"]),
    Case("render: unknown offload", 2, lambda ws, t: ["render", ws, "--offload", "cloud"]),
    Case("render: config.json not JSON", 5, lambda ws, t: ["render", _config(ws, "{ nope")]),
    Case("render: config.json a list", 5, lambda ws, t: ["render", _config(ws, "[]")]),
    Case("render: config.json bad value", 5,
         lambda ws, t: ["render", _config(ws, json.dumps({**json.loads((ws / "config.json").read_text()),
                                                          "render": {"steps": -5}}))]),
    Case("render: records truncated", 5, lambda ws, t: ["render", _lock(ws, b'{"schema": 1, "stages": {"pl')]),
    Case("render: records binary garbage", 5, lambda ws, t: ["render", _lock(ws, b"\x00\xff\xfe" * 50)]),
    Case("render: records from a newer version", 5,
         lambda ws, t: ["render", _lock(ws, b'{"schema": 99, "stages": {}}')]),
    Case("render: records not an object", 5, lambda ws, t: ["render", _lock(ws, b"[1, 2]")]),
    Case("render: records with the wrong shape", 5,
         lambda ws, t: ["render", _lock(ws, b'{"schema": 1, "stages": {"plan": [1]}}')]),
    Case("render: workspace busy", 6, lambda ws, t: ["render", ws]),
    # retrieve --------------------------------------------------------------------------------------------------------
    Case("retrieve: --motion the plan lacks", 2, lambda ws, t: ["retrieve", ws, "--motion", "flying"]),
    Case("retrieve: database folder missing", 5, lambda ws, t: ["retrieve", ws, "--db", t / "nowhere", "--preset", "tiny"]),
    Case("retrieve: no plan", 3, lambda ws, t: ["retrieve", _empty(t)]),
    Case("retrieve: invalid plan", 5, lambda ws, t: (_write_plan(ws, _box), ["retrieve", ws])[1]),
    Case("retrieve: --set unknown key", 2, lambda ws, t: ["retrieve", ws, "--set", "retrieve.bogus=1"]),
    Case("retrieve: damaged index.json", 5,
         lambda ws, t: ["retrieve", ws, "--db", _index(t, {"index.json": b"{ broken"}), "--preset", "tiny"]),
    # adapt -----------------------------------------------------------------------------------------------------------
    Case("adapt: --motion the plan lacks", 2, lambda ws, t: ["adapt", ws, "--motion", "flying"]),
    Case("adapt: --character the plan lacks", 2, lambda ws, t: ["adapt", ws, "--character", "ghost"]),
    Case("adapt: --clips without '='", 2, lambda ws, t: ["adapt", ws, "--clips", "nonsense"]),
    Case("adapt: no plan", 3, lambda ws, t: ["adapt", _empty(t)]),
    Case("adapt: --set out of range", 2, lambda ws, t: ["adapt", ws, "--set", "adapt.rank=0"]),
    # evaluate --------------------------------------------------------------------------------------------------------
    Case("evaluate: --scene the plan lacks", 2, lambda ws, t: ["evaluate", ws, "--scene", "s99"]),
    Case("evaluate: no plan", 3, lambda ws, t: ["evaluate", _empty(t)]),
    Case("evaluate: --videos folder missing", 5, lambda ws, t: ["evaluate", ws, "--videos", t / "nowhere"]),
    Case("evaluate: --set unknown key", 2, lambda ws, t: ["evaluate", ws, "--set", "evaluate.bogus=1"]),
    # run -------------------------------------------------------------------------------------------------------------
    Case("run: story file missing", 5, lambda ws, t: ["run", t / "nope.txt"]),
    Case("run: unknown preset", 2, lambda ws, t: ["run", TEDDY, "-w", t / "w", "--preset", "nope"]),
    Case("run: unknown stage to skip", 2, lambda ws, t: ["run", ws, "--skip", "dance"]),
    Case("run: --set unknown section", 2, lambda ws, t: ["run", ws, "--set", "bogus.x=1"]),
    # status ----------------------------------------------------------------------------------------------------------
    Case("status: not a workspace", 3, lambda ws, t: ["status", t / "nowhere"]),
    Case("status: damaged records", 5, lambda ws, t: ["status", _lock(ws, b"{")]),
    Case("status: bad --set", 2, lambda ws, t: ["status", ws, "--set", "render.steps=0"]),
    # masks, schema, bench --------------------------------------------------------------------------------------------
    Case("masks: --scene the plan lacks", 2, lambda ws, t: ["masks", ws, "--scene", "s99"]),
    Case("masks: no plan", 3, lambda ws, t: ["masks", _empty(t)]),
    Case("masks: negative height", 2, lambda ws, t: ["masks", ws, "--height", "-8"]),
    Case("schema: unknown schema name", 2, lambda ws, t: ["schema", "nonsense"]),
    Case("bench: unknown geometry", 2, lambda ws, t: ["bench", "--geometry", "huge"]),
    # import / export -------------------------------------------------------------------------------------------------
    Case("import: file missing", 5, lambda ws, t: ["import", t / "missing.jsonl", "--out", t / "o"]),
    Case("import: not JSON and not a plan", 5, lambda ws, t: ["import", _story(t, "oops\n", "b.jsonl"), "--out", t / "o"]),
    Case("import: binary file", 5, lambda ws, t: ["import", _story(t, b"\x00\xff\xfe\x00", "b.txt"), "--out", t / "o"]),
    Case("export: unknown format", 2, lambda ws, t: ["export", ws, "--format", "yaml"]),
    Case("export: --scene the plan lacks", 2, lambda ws, t: ["export", ws, "--scene", "s99"]),
    Case("export: no plan", 3, lambda ws, t: ["export", _empty(t)]),
    # index -----------------------------------------------------------------------------------------------------------
    Case("index build: caption file missing", 5,
         lambda ws, t: ["index", "build", _empty(t), "--captions", "missing.csv"]),
    Case("index info: no index", 5, lambda ws, t: ["index", "info", t / "nowhere"]),
    Case("index info: index.json damaged", 5, lambda ws, t: ["index", "info", _index(t, {"index.json": b"{"})]),
    Case("index search: meta/captions.bin truncated", 5,
         lambda ws, t: ["index", "search", _damaged_index(t, "meta/captions.bin"), "walking"]),
    Case("index search: bm25 postings not an .npy", 5,
         lambda ws, t: ["index", "search", _damaged_index(t, "bm25/data.csc.index.npy"), "walking"]),
    Case("retrieve: index rows.npy of the wrong shape", 5,
         lambda ws, t: ["retrieve", ws, "--db", _damaged_index(t, "meta/rows.npy"), "--preset", "tiny"]),
    Case("index search: index.json not UTF-8", 5,
         lambda ws, t: ["index", "search", _index(t, {"index.json": b"\xff\xfe"}), "walking"]),
    # bounds (issue 22): every external input has one -------------------------------------------------------------
    Case("plan: story is a FIFO", 5, lambda ws, t: ["plan", _fifo(t / "story.txt")], says="not a regular file"),
    Case("plan: story is a device", 5, lambda ws, t: ["plan", "/dev/null", "-w", t / "w"], says="a device"),
    Case("plan: story of 5 MB", 5, lambda ws, t: ["plan", _story(t, "Bo walks to the park. " * 240_000)],
         says="(plan.max_story_bytes)"),
    Case("plan: story over a lowered plan.max_story_bytes", 5,
         lambda ws, t: ["plan", TEDDY, "-w", t / "w", "--set", "plan.max_story_bytes=100"],
         says="limit of 100 bytes (plan.max_story_bytes)"),
    Case("plan: YAML aliases in front matter", 5, lambda ws, t: ["plan", _story(t, _billion_laughs())],
         says="YAML alias *a"),
    Case("plan: YAML merge key in front matter", 5, lambda ws, t: ["plan", _story(
        t, "---\nbase: &b {description: a robot}\ncharacters:\n  - <<: *b\n    id: bo\n---\nBo walks.\n")]),
    Case("plan: front matter nested 1,000 deep", 5,
         lambda ws, t: ["plan", _story(t, "---\ntitle: " + "[" * 1000 + "]" * 1000 + "\n---\nBo walks.\n")]),
    Case("plan: front matter with a 5,000-digit number", 5,
         lambda ws, t: ["plan", _story(t, f"---\ntitle: {DIGITS}\n---\nBo walks.\n")]),
    Case("render: plan.json nested 100,000 deep", 5,
         lambda ws, t: ((ws / "plan.json").write_text(DEEP), ["render", ws])[1], says="nested more than 64 levels"),
    Case("render: plan.json with a 5,000-digit number", 5,
         lambda ws, t: ((ws / "plan.json").write_text(f'{{"title": {DIGITS}}}'), ["render", ws])[1],
         says="above the limit of 100 characters"),
    Case("render: plan.json is a FIFO", 5, lambda ws, t: (_fifo(ws / "plan.json"), ["render", ws])[1]),
    Case("render: config.json with a 5,000-digit number", 5,
         lambda ws, t: ["render", _config(ws, f'{{"render": {{"steps": {DIGITS}}}}}')]),
    Case("render: config.json nested 100,000 deep", 5, lambda ws, t: ["render", _config(ws, f'{{"render": {DEEP}}}')]),
    Case("render: --set with a 5,000-digit number", 2, lambda ws, t: ["render", ws, "--set", f"render.steps={DIGITS}"]),
    Case("status: records nested 100,000 deep", 5,
         lambda ws, t: ["status", _lock(ws, b'{"schema": 1, "stages": ' + DEEP.encode() + b"}")]),
    Case("plan: LLM server dripping one byte at a time", 4, lambda ws, t: _llm(ws, "drip", "--set", "plan.timeout_s=1"),
         logged=True, says="within plan.timeout_s=1 s"),
    Case("plan: LLM reply not UTF-8", 5, lambda ws, t: _llm(ws, "bad-utf8"), logged=True,
         says="the LLM server at http://127.0.0.1:"),  # was: blamed on a workspace file
    Case("plan: LLM reply over plan.max_reply_bytes", 5,
         lambda ws, t: _llm(ws, "too-big", "--set", "plan.max_reply_bytes=100000"), logged=True,
         says="(plan.max_reply_bytes)"),
    Case("plan: LLM response nested 100,000 deep", 5, lambda ws, t: _llm(ws, "deep"), logged=True),
    Case("import: a line nested 100,000 deep", 5,
         lambda ws, t: ["import", _story(t, f'["v", {DEEP}]\n', "b.jsonl"), "--out", t / "o"],
         says="nested more than 64 levels"),
    Case("import: a line with a 5,000-digit number", 5,
         lambda ws, t: ["import", _story(t, f'["v", {DIGITS}]\n', "b.jsonl"), "--out", t / "o"],
         says="above the limit of 100 characters"),
    Case("import: file is a FIFO", 5, lambda ws, t: ["import", _fifo(t / "b.jsonl"), "--out", t / "o"],
         says="not a regular file"),
    # issue 22's other classes: users' folders, batch names, adapters that do not apply, references in plan.json,
    # damaged clips at the stitch, and the workspace files read through the bounded readers. Every 4th of these
    # (the ones `make test` samples) needs no model.
    Case("plan: --workspace a folder of the user's that is no workspace", 5,
         lambda ws, t: ["plan", TEDDY, "-w", _users_folder(t)], says="is not a dreamrunner workspace"),
    Case("render: adapter truncated", 5,
         lambda ws, t: _adapters(ws, lambda p: p.write_bytes(p.read_bytes()[:-100])), says="is damaged"),
    Case("render: adapter with another model's tensor shapes", 5,
         lambda ws, t: _adapters(ws, _tensors(lambda sd: {k: v.repeat(2, 2) for k, v in sd.items()})),
         logged=True, says="does not fit this model: size mismatch"),
    Case("render: adapter whose tensors match no module", 5,
         lambda ws, t: _adapters(ws, _tensors(lambda sd: {k.removeprefix("transformer."): v for k, v in sd.items()})),
         logged=True, says="does not apply to this model"),
    Case("plan: --force into a folder of the user's never overwrites its files", 5,
         lambda ws, t: ["plan", TEDDY, "-w", _users_folder(t), "--force"], says="which dreamrunner did not write"),
    Case("render: adapter for a model with more blocks (loads in part)", 5,
         lambda ws, t: _adapters(ws, _tensors(lambda sd: {**sd, **{k.replace("blocks.0.", "blocks.2."): v.clone()
                                                                    for k, v in sd.items()}})),
         logged=True, says="12 of its 24 tensors match no module"),
    Case("render: adapter.json is a FIFO", 3,
         lambda ws, t: _adapters(ws, lambda p: _fifo(p.parent / "adapter.json")),
         says="its adapter.json is unreadable"),
    Case("render: a rendered clip that is not a video, at the stitch", 5,
         lambda ws, t: _clip(ws, lambda b: b"not a video\n" * 100), base="rendered", logged=True,
         says="--scene s02 --force"),
    Case("adapt: plan.json reference image outside the workspace", 5,
         lambda ws, t: (_outside_ref(ws), ["adapt", ws, "--character", "teddy"])[1], says="is outside the workspace"),
    Case("render: a rendered clip cut short, at the stitch", 5,
         lambda ws, t: _clip(ws, lambda b: b[: len(b) // 2]), base="rendered", logged=True,
         says="--scene s02 --force"),
    Case("render: plan.json reference image outside the workspace", 5,
         lambda ws, t: (_outside_ref(ws), ["render", ws])[1], says="is outside the workspace"),
    Case("batch: two stories named two.txt, one's workspace holds another story", 5,
         lambda ws, t: _same_name_stories(t), says="holds another story"),
    Case("index info: index.json a list", 5, lambda ws, t: ["index", "info", _index(t, {"index.json": b"[1, 2]"})],
         says="is not a JSON object"),  # was AttributeError: exit 1
    Case("retrieve: index.json nested 100,000 deep", 5,
         lambda ws, t: ["retrieve", ws, "--db", _index(t, {"index.json": DEEP.encode()}), "--preset", "tiny"],
         says="nested more than 64 levels"),
    Case("batch: --from-file is a FIFO", 5,
         lambda ws, t: ["batch", "--from-file", _fifo(t / "list.txt"), "--out", t / "out"],
         says="is a FIFO (named pipe), not a regular file"),
    Case("batch: its index of workspaces nested 100,000 deep", 5,
         lambda ws, t: ((t / "out").mkdir(), (t / "out" / "dreamrunner-batch.json").write_text(DEEP),
                        ["batch", TEDDY, "--out", t / "out", "--preset", "tiny"])[2],
         says="nested more than 64 levels"),  # was RecursionError: exit 1
    Case("adapt: retrieval manifest nested 100,000 deep", 5,
         lambda ws, t: ((ws / "retrieval" / "waking-up").mkdir(parents=True),
                        (ws / "retrieval" / "waking-up" / "manifest.json").write_text(DEEP),
                        ["adapt", ws, "--motion", "waking-up"])[2],
         says="nested more than 64 levels"),  # was RecursionError: exit 1
]

SELECTED = CASES if FULL else CASES[::4]


@pytest.fixture(scope="module", autouse=True)
def llm_server():
    """One fake LLM server for the module's LLM cases (it answers by the model name: _llm_steps)."""
    from llm_server import ScriptedLLMServer

    srv = ScriptedLLMServer(responder=_llm_steps).start()
    LLM["url"] = srv.url
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("corpus") / "teddy"
    res = runner.invoke(app, ["plan", str(TEDDY), "--workspace", str(ws), "--preset", "tiny", "--quiet"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return ws


@pytest.fixture(scope="module")
def rendered(planned: Path, tmp_path_factory) -> Path:
    """The planned workspace with every scene rendered and story.mp4 stitched (tiny, 2 steps, no LoRAs); only the
    stitch cases use it (FULL runs; `make test`'s sample never asks for it)."""
    ws = tmp_path_factory.mktemp("corpus-rendered") / "teddy"
    shutil.copytree(planned, ws)
    res = runner.invoke(app, ["render", str(ws), "--quiet", "--set", "render.steps=2",
                              "--set", "render.require_adapters=false"], catch_exceptions=False)
    assert res.exit_code == 0 and (ws / "story.mp4").exists(), res.output
    return ws


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under root."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def test_the_corpus_has_at_least_60_cases_over_every_command():
    assert len(CASES) >= 60
    commands = {c.name.split(":")[0] for c in CASES}
    assert {"plan", "render", "retrieve", "adapt", "evaluate", "run", "status", "masks", "schema", "bench",
            "import", "export", "index build", "index info", "index search", "batch"} <= commands
    assert len({c.name for c in CASES}) == len(CASES)


def _clear(stderr: str) -> bool:
    """The message comes first: nothing before the `error:` (or Typer's `Usage:`) line but the command's own
    progress lines (`render: load model tiny … 0.1 s`, then `retrieve: open index … stopped after 0.0 s`: which
    phase the failure stopped)."""
    lines = stderr.lstrip().splitlines()
    while lines and re.match(r"^[a-z ]+: .* (stopped|stopped after [0-9.]+ s|[0-9.]+ s)$", lines[0]):
        lines.pop(0)
    return bool(lines) and lines[0].startswith(("error:", "Usage:"))


# The figures docs/reliability.md reports, computed per case (not claimed): every case is put in each class it
# falls in, then asserted. Printed at the end of the module.
HANG_S = 90  # a case still running after this is a hang: it is interrupted (SIGINT) and counted
OUTCOMES: dict[str, set[str]] = {}


def classify(case: Case, res, seconds: float, hung: bool, before: dict, after: dict) -> set[str]:
    """The classes a case's outcome falls in (an empty set: as documented).

    * ``hang``: still running after HANG_S seconds (then interrupted);
    * ``traceback``: exit 1 (the "this is a bug" boundary), a traceback in the output, or an exception that
      escaped the command;
    * ``silent wrong``: exit 0 on an input that must be refused (the command went on as if it were fine);
    * ``wrong code``: another non-zero exit code than the documented one;
    * ``unclear``: the message does not come first as ``error:`` or lacks the words the case names;
    * ``data lost``: a file or folder that existed before the command was changed or removed (for a ``logged``
      case, runs.jsonl may only grow by the failure's line);
    * ``wrote``: a refused command created a file or folder (guards decide before they write).
    """
    classes = set()
    if hung:
        classes.add("hang")
    escaped = res.exception is not None and not isinstance(res.exception, SystemExit)
    if res.exit_code == 1 or "Traceback" in res.output or escaped:
        classes.add("traceback")
    if res.exit_code == 0 and case.code != 0:
        classes.add("silent wrong")
    elif res.exit_code not in (case.code, 0, 1) and not hung:
        classes.add("wrong code")
    if not (_clear(res.stderr) and (case.says or "") in res.stderr) and not hung:
        classes.add("unclear")
    changed = {k for k in before if before[k] != after.get(k, b"<absent>")}
    if case.logged and "ws/runs.jsonl" in changed:  # the failure, appended: earlier lines untouched
        old, new = before["ws/runs.jsonl"] or b"", after.get("ws/runs.jsonl") or b""
        if new.startswith(old) and re.search(rb'"outcome": "(failed|error)"', new[len(old):]):
            changed.discard("ws/runs.jsonl")
    if changed:
        classes.add("data lost")
    if set(after) - set(before):
        classes.add("wrote")
    return classes


@pytest.fixture(scope="module", autouse=True)
def figures(pytestconfig):
    """Print the corpus figures once the module's cases ran (`make reliability` shows them)."""
    yield
    if not OUTCOMES:
        return
    count = {k: sum(k in c for c in OUTCOMES.values()) for k in
             ("data lost", "hang", "silent wrong", "traceback", "wrong code", "unclear", "wrote")}
    line = (f"bad-input corpus: {len(OUTCOMES)} of {len(SELECTED)} cases classified "
            f"({len(CASES)} in the corpus{'' if FULL else ', every 4th run'}): as documented "
            f"{sum(not c for c in OUTCOMES.values())}; data lost {count['data lost']}, hangs {count['hang']}, "
            f"silent wrong {count['silent wrong']}, tracebacks {count['traceback']}; wrong code "
            f"{count['wrong code']}, unclear message {count['unclear']}, files written by a refused command "
            f"{count['wrote']}")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + line, flush=True)


def _invoke_with_deadline(argv: list[str]):
    """Run the command in-process; after HANG_S seconds a SIGINT to this thread interrupts even a blocking
    open() or read(). Returns (result, seconds, hung)."""
    import signal
    import threading
    import time

    fired = threading.Event()
    main = threading.get_ident()

    def interrupt() -> None:
        fired.set()
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Timer(HANG_S, interrupt)
    t0 = time.monotonic()
    timer.start()
    try:
        res = runner.invoke(app, argv)
    except KeyboardInterrupt:  # interrupted outside the command's own boundary
        res = None
    finally:
        timer.cancel()
    return res, time.monotonic() - t0, fired.is_set()


# Each case takes seconds; the deadline turns a regression that hangs (a FIFO read, a drip) into a counted "hang";
# pytest-timeout is the last resort for one that ignores SIGINT.
@pytest.mark.timeout(HANG_S + 60)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)]
                                               if c.xfail else []) for c in SELECTED])
def test_bad_input(case: Case, request, tmp_path: Path, monkeypatch):
    ws = tmp_path / "ws"
    shutil.copytree(request.getfixturevalue(case.base), ws)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.chdir(scratch)  # `plan story.txt` makes ./story: it must not appear either
    argv = [str(a) for a in case.build(ws, scratch)]
    before = snapshot(tmp_path)
    if case.code == 6:
        with Workspace(ws).locked():
            res, seconds, hung = _invoke_with_deadline(argv)
    else:
        res, seconds, hung = _invoke_with_deadline(argv)
    if res is None:  # interrupted outside the command's error boundary: a hang all the same
        res = SimpleNamespace(exit_code=130, output="", stderr="", exception=None)
    after = snapshot(tmp_path)
    classes = classify(case, res, seconds, hung, before, after)
    OUTCOMES[case.name] = classes
    changed = sorted(k for k in set(before) | set(after) if before.get(k, b"<absent>") != after.get(k, b"<absent>"))
    escaped = res.exception is not None and not isinstance(res.exception, SystemExit)
    assert not classes, (f"{case.name}: {sorted(classes)}: exit {res.exit_code} after {seconds:.1f} s "
                         f"(expected {case.code}); changed {changed}\n{res.output}"
                         + ("".join(traceback.format_exception(res.exception)) if escaped else ""))


def test_the_runner_classifies_each_outcome(tmp_path, monkeypatch):
    """The figures are only as good as the classification: each class is seen where it happens. A real hang (the
    story read planted back to a plain blocking read, on a FIFO) is interrupted at the deadline and counted."""
    from dreamrunner_cli import bounds

    case = Case("x", 5, lambda ws, t: [], says="bad")
    ok = SimpleNamespace(exit_code=5, output="error: bad input\n", stderr="error: bad input\n", exception=None)
    files = {"ws": None, "ws/plan.json": b"{}", "ws/runs.jsonl": b"one\n"}
    assert classify(case, ok, 0.1, False, files, files) == set()

    def result(**change):
        return SimpleNamespace(**{**vars(ok), **change})

    assert classify(case, result(exit_code=1), 0.1, False, files, files) == {"traceback"}
    assert "traceback" in classify(case, result(exception=RuntimeError("x")), 0.1, False, files, files)
    assert "silent wrong" in classify(case, result(exit_code=0), 0.1, False, files, files)
    assert classify(case, result(exit_code=3), 0.1, False, files, files) == {"wrong code"}
    assert classify(case, result(stderr="error: other\n"), 0.1, False, files, files) == {"unclear"}
    assert classify(case, ok, 0.1, False, files, {**files, "ws/plan.json": b"[]"}) == {"data lost"}
    assert classify(case, ok, 0.1, False, files, {"ws": None, "ws/runs.jsonl": b"one\n"}) == {"data lost"}
    assert classify(case, ok, 0.1, False, files, {**files, "ws/new.txt": b""}) == {"wrote"}
    grown = {**files, "ws/runs.jsonl": b'one\n{"outcome": "error"}\n'}
    assert classify(case, ok, 0.1, False, files, grown) == {"data lost"}  # not a logged case
    assert classify(Case("y", 5, case.build, logged=True, says="bad"), ok, 0.1, False, files, grown) == set()

    fifo = _fifo(tmp_path / "story.txt")
    monkeypatch.setattr(bounds, "read_text", lambda path, limit, **k: Path(path).read_text())  # the old read
    monkeypatch.setattr(sys.modules[__name__], "HANG_S", 2)
    # On a loaded machine the interrupt can land before the command reaches its blocking open; then nothing would
    # ever end the wait. A writer that opens the FIFO a few seconds after the deadline ends it (an empty story).
    done = threading.Event()

    def release() -> None:
        while not done.wait(HANG_S + 3):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # ENXIO while no reader is waiting
            except OSError:
                pass

    releaser = threading.Thread(target=release, daemon=True)
    releaser.start()
    try:
        res, seconds, hung = _invoke_with_deadline(["plan", str(fifo), "-w", str(tmp_path / "w")])
    finally:
        done.set()
        releaser.join()
    assert hung and 2 <= seconds < 30
    assert "hang" in classify(Case("plan: story is a FIFO", 5, case.build), res or ok, seconds, hung, {}, {})
