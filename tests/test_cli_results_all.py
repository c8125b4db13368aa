"""The scripting contract for every command with --json (issue 15): config, doctor, index, masks, import, export,
bench and batch print what `dreamrunner schema result` publishes, each under its own definition
(`x-dreamrunner-commands`, `schema result --command NAME`). tests/test_cli_results.py covers the stage commands,
run, status and errors."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.results import COMMAND_RESULTS, RESULT_SCHEMA_VERSION, ErrorResult

runner = CliRunner()
V = jsonschema.Draft202012Validator


def invoke_json(*args, code: int = 0) -> dict:
    res = runner.invoke(app, [str(a) for a in args] + ["--json"], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return json.loads(res.stdout)  # stdout holds the JSON object and nothing else


@functools.cache
def schema_of(command: str | None = None) -> dict:
    args = ["schema", "result"] + (["--command", command] if command else [])
    res = runner.invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    schema = json.loads(res.stdout)
    V.check_schema(schema)
    return schema


def check(data: dict, command: str, error: bool = False) -> dict:
    """Valid against the whole published schema, against the command's own definition in it (not just any branch),
    against `schema result --command`, and as the pydantic model."""
    published = schema_of()
    jsonschema.validate(data, published, cls=V)
    ref = published["x-dreamrunner-commands"]["(error)" if error else command]
    jsonschema.validate(data, {"$ref": ref, "$defs": published["$defs"]}, cls=V)
    jsonschema.validate(data, schema_of(command), cls=V)
    (ErrorResult if error else COMMAND_RESULTS[command]).model_validate(data)
    assert data["schema_version"] == RESULT_SCHEMA_VERSION
    return data


# The contract's reach ---------------------------------------------------------------------------------------------


def _json_commands() -> set[str]:
    import typer

    found = set()

    def walk(cmd, path: list[str]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, path + [name])
        if any("--json" in getattr(p, "opts", []) for p in getattr(cmd, "params", [])):
            found.add(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_with_json_has_a_published_result():
    assert _json_commands() == set(COMMAND_RESULTS)
    published = schema_of()
    assert set(published["x-dreamrunner-commands"]) == set(COMMAND_RESULTS) | {"(error)"}
    # what consumers of the first version relied on is still there
    assert {"StageResult", "RunResult", "StatusResult", "ErrorResult"} <= set(published["$defs"])
    assert [b["$ref"] for b in published["anyOf"][:4]] == [f"#/$defs/{n}" for n in
                                                         ("StageResult", "RunResult", "StatusResult", "ErrorResult")]


def test_schema_result_for_one_command_or_a_group():
    one = schema_of("config show")
    assert one["x-dreamrunner-commands"] == {"config show": "#/$defs/ConfigShowResult",
                                             "(error)": "#/$defs/ErrorResult"}
    assert [b["$ref"] for b in one["anyOf"]] == ["#/$defs/ConfigShowResult", "#/$defs/ErrorResult"]
    group = schema_of("index")
    assert set(group["x-dreamrunner-commands"]) == {"index build", "index demo", "index info", "index search",
                                                    "(error)"}
    res = runner.invoke(app, ["schema", "result", "--command", "nonsense"])
    assert res.exit_code == 2 and "config show" in res.stderr  # the hint lists the commands
    res = runner.invoke(app, ["schema", "plan", "--command", "render"])
    assert res.exit_code == 2 and "schema result" in res.stderr


# Each command for real ---------------------------------------------------------------------------------------------


def test_config_show_get_set_unset_diff(ws):
    shown = check(invoke_json("config", "show", ws), "config show")
    assert shown["source"] == "config.json" and shown["config"]["preset"] == "tiny"
    got = check(invoke_json("config", "get", ws, "render.steps"), "config get")
    assert got["key"] == "render.steps" and isinstance(got["value"], int)
    section = check(invoke_json("config", "get", ws, "model"), "config get")
    assert section["value"]["id"] == "tiny"
    steps = got["value"]
    changed = check(invoke_json("config", "set", ws, f"render.steps={steps + 2}"), "config set")
    assert changed["config_changes"] == [{"key": "render.steps", "old": steps, "new": steps + 2}]
    diff = check(invoke_json("config", "diff", ws), "config diff")
    assert {"key": "render.steps", "preset": steps, "workspace": steps + 2} in diff["changes"]
    undone = check(invoke_json("config", "unset", ws, "render.steps"), "config unset")
    assert undone["config_changes"] == [{"key": "render.steps", "old": steps + 2, "new": steps}]
    nothing = check(invoke_json("config", "set", ws, f"render.steps={steps}"), "config set")
    assert nothing["config_changes"] == []
    error = check(invoke_json("config", "get", ws, "render.nope", code=2), "config get", error=True)
    assert error["error"] == "UsageError" and error["exit_code"] == 2


def test_doctor_ok_and_with_errors(tmp_path, monkeypatch):
    """Isolated as tests/test_doctor.py does it: an empty Hub cache, offline, no CUDA probe (no torch import)."""
    from dreamrunner_cli import doctor as dr

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(dr, "cuda_probe", lambda: {"available": False, "devices": [], "torch": "x", "cuda": None})
    (tmp_path / "hub").mkdir()
    ok = check(invoke_json("doctor", "--preset", "tiny"), "doctor")
    assert ok["exit_code"] == 0 and {"cuda", "ffmpeg", "disk"} <= {c["name"] for c in ok["checks"]}
    bad = check(invoke_json("doctor", "--preset", "cogvideox-2b", code=4), "doctor")  # no CUDA, no weights
    assert bad["status"] == "error" and bad["exit_code"] == 4
    assert any(c["status"] == "error" and c["fix"] for c in bad["checks"])


def test_index_build_info_search_demo(tmp_path, monkeypatch):
    from dreamrunner_cli.retrieval import demo as demo_db

    # `index demo` makes ~60 motions' clips; two motions give the same result fields in a fraction of the time
    monkeypatch.setattr(demo_db, "build_demo_database",
                        functools.partial(demo_db.build_demo_database, motions=("walking", "waving")))
    db = tmp_path / "db"
    db.mkdir()
    (db / "captions.jsonl").write_text('{"path": "a.mp4", "caption": "a person is walking"}\n'
                                       '{"path": "b.mp4", "caption": "a dog is running"}\n'
                                       '{"path": "c.mp4"}\n')
    built = check(invoke_json("index", "build", db, "--captions", "captions.jsonl"), "index build")
    assert built["rows"] == 2 and built["unreadable"] == 1 and built["unreadable_examples"]
    info = check(invoke_json("index", "info", db), "index info")
    assert info["fingerprint"] == built["fingerprint"] and info["source"].endswith("captions.jsonl")
    hits = check(invoke_json("index", "search", db, "person walking", "-k", "2"), "index search")
    assert hits["hits"][0]["path"] == "a.mp4"
    demo = check(invoke_json("index", "demo", tmp_path / "demo", "--clips-per-motion", "1"), "index demo")
    assert demo["videos"] == demo["rows"] > 0
    error = check(invoke_json("index", "info", tmp_path / "nothing", code=5), "index info", error=True)
    assert error["hint"]


def test_masks_reports_the_config_it_used_without_saving_it(ws):
    before = (ws / "config.json").read_bytes()
    steps = json.loads(before)["render"]["steps"]
    out = check(invoke_json("masks", ws, "--scene", "s01"), "masks")
    assert out["workspace"] == str(ws) and out["scenes"] == ["s01"] and Path(out["npz"]).is_file()
    assert "config_unsaved" not in out
    out = check(invoke_json("masks", ws, "--scene", "s01", "--set", f"render.steps={steps + 1}"), "masks")
    assert out["config_unsaved"] == [{"key": "render.steps", "old": steps, "new": steps + 1}]
    assert (ws / "config.json").read_bytes() == before  # used, not saved
    error = check(invoke_json("masks", ws, "--scene", "s99", code=2), "masks", error=True)
    assert error["error"] == "UnknownItem"


def test_status_reports_the_config_it_used_without_saving_it(ws):
    from dreamrunner_cli.results import StatusResult

    steps = json.loads((ws / "config.json").read_text())["render"]["steps"]
    out = invoke_json("status", ws, "--set", f"render.steps={steps + 1}")
    StatusResult.model_validate(out)
    jsonschema.validate(out, schema_of("status"), cls=V)
    assert out["config_unsaved"] == [{"key": "render.steps", "old": steps, "new": steps + 1}]


def test_export_then_import(ws, tmp_path):
    text = check(invoke_json("export", ws, "--scene", "s01"), "export")
    assert text["format"] == "text" and text["out"] is None and text["text"].startswith("Background:")
    plans = tmp_path / "plans.jsonl"
    written = check(invoke_json("export", ws, "--scene", "s01", "--scene", "s02", "--out", plans), "export")
    assert written["format"] == "jsonl" and "text" not in written and plans.is_file()
    dry = check(invoke_json("import", plans, "--out", tmp_path / "imported", "--dry-run"), "import")
    assert dry["dry_run"] is True and {i["action"] for i in dry["items"]} == {"would run"}
    args = ("import", plans, "--out", tmp_path / "imported", "--preset", "tiny", "--no-storyboard")
    done = check(invoke_json(*args), "import")
    assert done["dry_run"] is False and [i["item"] for i in done["items"]] == ["s01", "s02"]
    again = check(invoke_json(*args), "import")
    assert {i["action"] for i in again["items"]} == {"skipped"}
    error = check(invoke_json("import", tmp_path / "missing.jsonl", "--out", tmp_path / "x", code=5), "import",
                  error=True)
    assert error["exit_code"] == 5


def test_bench_smallest(monkeypatch, one_thread):
    """One prompt count, one timed round, the stock model and sdpa on the CPU; the mask-memory probe at the small
    geometry in-process (the real one builds the full 2B mask in a subprocess)."""
    from dreamrunner_cli.sr3ai import bench

    monkeypatch.setattr(bench, "mask_build_memory",
                        lambda geometry, prompts, backend, device: bench._mask_memory_here("small", prompts, backend,
                                                                                          "cpu"))
    out = check(invoke_json("bench", "--prompts", "2", "--repeats", "1", "--backends", "none,sdpa", "--device",
                            "cpu"), "bench")
    assert [r["backend"] for r in out["rows"]] == ["none", "sdpa"] and out["rows"][0]["ratio_time"] == 1.0
    assert [m["backend"] for m in out["mask_memory"]] == ["sdpa"]
    error = check(invoke_json("bench", "--prompts", "1", code=2), "bench", error=True)
    assert error["error"] == "UsageError"


def test_batch_summary(tmp_path, monkeypatch):
    """Ray is not started: the batch runs each story's plan item in this process through the executor's own
    `_execute`, records it as its loop does, and summarises with its own `_summary`: one story finishes its plan,
    one (an empty story) fails."""
    from dreamrunner_cli.executors import ray_batch
    from dreamrunner_cli.executors.graph import Item

    def fake_run(self):
        self.known, self.results, self.trainer_of, self.attempts, self.log_file = {}, {}, {}, {}, None
        self.states = {j.name: ray_batch.StoryState(j) for j in self.jobs}
        for job in self.jobs:
            item = Item(job.name, "plan")
            self.known[item.id] = item
            res = ray_batch._execute(job, item)
            if res.ok:
                self.results[item.id] = res
                self.states[job.name].done.append(item.id)
            else:
                self._fail(item, res)
        return self._summary(0.5)

    monkeypatch.setattr(ray_batch, "import_ray", lambda: None)
    monkeypatch.setattr(ray_batch.RayBatch, "__init__", lambda self, jobs, **kw: setattr(self, "jobs", jobs))
    monkeypatch.setattr(ray_batch.RayBatch, "run", fake_run)
    (tmp_path / "ana.txt").write_text("Ana walks in the park. She waves at a friend.")
    (tmp_path / "empty.txt").write_text("")
    out = check(invoke_json("batch", tmp_path / "ana.txt", tmp_path / "empty.txt", "--out", tmp_path / "out",
                            "--preset", "tiny", "--skip", "retrieve", code=5), "batch")
    ana, empty = (str(tmp_path / "out" / n) for n in ("ana", "empty"))
    assert out["ok"] is False and out["stories"][ana]["status"] == "finished"
    assert out["stories"][empty]["status"] == "failed" and out["stories"][empty]["error"]["exit_code"] == 5
    assert out["items"][f"{ana}:plan"]["ok"] is True and out["items"][f"{ana}:plan"]["items"]
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "ray", None)  # no Ray at all: the error object
    error = check(invoke_json("batch", tmp_path / "ana.txt", "--out", tmp_path / "out2", code=4), "batch", error=True)
    assert "dreamrunner[batch]" in error["hint"]


# The schema constrains what it publishes ---------------------------------------------------------------------------

GOOD = {
    "config get": {"schema_version": 1, "command": "config get", "workspace": "/w", "source": "config.json", "key": "render.steps",
                   "value": 8},
    "doctor": {"schema_version": 1, "command": "doctor", "preset": "tiny", "status": "ok", "exit_code": 0,
               "checks": [{"name": "disk", "status": "ok", "message": "m", "fix": None, "exit_code": 0,
                           "details": {}}]},
    "index build": {"schema_version": 1, "command": "index build", "index": "/i", "rows": 2, "unreadable": 0, "unreadable_examples": [],
                    "expanded_rows": 0, "vocabulary": 4, "postings": 4, "bytes": 10, "seconds": 0.1,
                    "rows_per_s": 20.0, "fingerprint": "f", "columns": {"path": "path", "caption": "caption"}},
    "export": {"schema_version": 1, "command": "export", "stage": "export", "workspace": "/w", "scenes": ["s01"], "format": "text",
               "out": None, "notes": [], "text": "Background: x\n"},
}
BROKEN = [
    ("config get", lambda d: d.pop("value")),  # a required field missing (even one that may be null)
    ("doctor", lambda d: d["checks"][0].update(status="fine")),  # not one of ok, info, warn, error
    ("doctor", lambda d: d.update(exit_code="0")),  # a string where an integer is required
    ("index build", lambda d: d.update(rows=2.5)),
    ("index build", lambda d: d.update(columns={"path": 1})),
    ("export", lambda d: d.update(format="pdf")),
    ("export", lambda d: d.update(schema_version=2)),
]


def test_the_schema_rejects_results_that_break_the_contract():
    import copy

    published = schema_of()
    for good in GOOD.values():
        jsonschema.validate(good, published, cls=V)
    for command, breaks in BROKEN:
        broken = copy.deepcopy(GOOD[command])
        breaks(broken)
        for schema in (published, schema_of(command)):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(broken, schema, cls=V)
