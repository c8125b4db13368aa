"""`dreamrunner batch` on the command line: bad input is refused before anything is created (no Ray started)."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from dreamrunner_cli.cli import app

runner = CliRunner()


def test_batch_without_ray_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    story = tmp_path / "a.txt"
    story.write_text("Ana walks.")
    res = runner.invoke(app, ["batch", str(story), "--out", str(tmp_path / "out")])
    assert res.exit_code == 4 and "dreamrunner[batch]" in res.output
    assert not (tmp_path / "out").exists()


def test_batch_refuses_bad_input_before_creating_anything(tmp_path):
    out = tmp_path / "out"
    (tmp_path / "a.txt").write_text("Ana walks.")
    cases = [
        ([str(tmp_path / "missing-*.txt")], 5),  # a glob matching nothing
        ([str(tmp_path / "nope.txt")], 5),  # a missing file
        ([], 2),  # nothing to do
        ([str(tmp_path / "a.txt"), "--set", "render.num_frames=oops"], None),  # an invalid config value
        ([str(tmp_path / "a.txt"), "--skip", "plan"], 2),
        ([str(tmp_path / "a.txt"), "--ray-address", "auto", "--gpus", "2"], 2),
    ]
    for args, code in cases:
        res = runner.invoke(app, ["batch", *args, "--out", str(out)])
        assert res.exit_code != 0 and (code is None or res.exit_code == code), (args, res.exit_code, res.output)
        assert not out.exists(), args


def _hashed(path) -> str:
    import hashlib

    return f"{path.stem}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"


def test_workspaces_are_named_by_a_rule_that_does_not_depend_on_the_list(tmp_path):
    """Issue 22, item 3: names used to be numbered by file name in list order (teddy, teddy-2), so another order or
    one more story moved a finished workspace to another story."""
    from dreamrunner_cli.cli.batch import _workspaces, _write_index

    out = tmp_path / "out"
    a, b, c, cat = (tmp_path / "a" / "two.txt", tmp_path / "b" / "two.txt", tmp_path / "c" / "two.txt",
                    tmp_path / "cat.txt")

    def names(files):
        pairs = _workspaces(files, out)
        _write_index(out, pairs)
        return {story.relative_to(tmp_path).as_posix(): ws.name for story, ws in pairs}

    first = names([a, b, cat])
    assert first == {"a/two.txt": _hashed(a), "b/two.txt": _hashed(b), "cat.txt": "cat"}
    assert names([cat, b, a]) == first  # another order
    again = names([c, b, cat, a])  # and one more story with the same file name
    assert {k: again[k] for k in first} == first and again["c/two.txt"] == _hashed(c)
    assert len(set(again.values())) == 4


def test_a_story_keeps_its_workspace_when_another_with_its_name_is_added(tmp_path):
    """The reported case: b/two.txt had OUT/two; a second run that added a/two.txt gave OUT/two to a."""
    from dreamrunner_cli.cli.batch import _workspaces, _write_index

    out = tmp_path / "out"
    a, b = tmp_path / "a" / "two.txt", tmp_path / "b" / "two.txt"
    pairs = _workspaces([b], out)
    assert [ws.name for _, ws in pairs] == ["two"]
    _write_index(out, pairs)
    for order in ([a, b], [b, a]):
        assert {s: ws.name for s, ws in _workspaces(order, out)} == {a: _hashed(a), b: "two"}


def test_a_workspace_without_index_goes_to_the_story_it_holds_and_another_one_is_refused(tmp_path, monkeypatch):
    """Workspaces made before the index (or by `dreamrunner plan`): matched by their story.txt, never handed to
    another story; a folder the rule would give a story is refused when it holds a different story (exit 5)."""
    import shutil

    from dreamrunner_cli.cli.batch import INDEX_NAME, _workspaces
    from dreamrunner_cli.executors import ray_batch

    monkeypatch.setattr(ray_batch, "import_ray", lambda: None)  # refused before Ray would start

    out = tmp_path / "out"
    a, b = tmp_path / "a" / "two.txt", tmp_path / "b" / "two.txt"
    for story, text in ((a, "Ana walks to the lake."), (b, "Ben runs in the park.")):
        story.parent.mkdir()
        story.write_text(text)
    res = runner.invoke(app, ["plan", str(b), "--workspace", str(out / "two"), "--preset", "tiny", "--quiet"])
    assert res.exit_code == 0, res.output
    for order in ([a, b], [b, a]):
        assert {s: ws.name for s, ws in _workspaces(order, out)} == {a: _hashed(a), b: "two"}
    assert not (out / INDEX_NAME).exists()  # naming writes nothing; batch writes the index once all is checked
    shutil.copytree(out / "two", out / _hashed(a))  # b's workspace where a's would go
    res = runner.invoke(app, ["batch", str(a), str(b), "--out", str(out)])
    assert res.exit_code == 5, res.output
    assert f"workspace {out / _hashed(a)} holds another story: its story.txt differs from {a}" in res.stderr
    assert not (out / INDEX_NAME).exists()


def test_the_index_is_written_once_every_story_is_checked_and_names_survive_edits(tmp_path, monkeypatch):
    import json

    from dreamrunner_cli.executors import ray_batch

    seen = []
    monkeypatch.setattr(ray_batch, "import_ray", lambda: None)
    monkeypatch.setattr(ray_batch.RayBatch, "__init__", lambda self, jobs, **kw: seen.append(jobs) or
                        setattr(self, "jobs", jobs))
    monkeypatch.setattr(ray_batch.RayBatch, "run", lambda self: ray_batch.BatchResult(
        {j.name: {"status": "finished", "done": []} for j in self.jobs}, {}, 0.1))
    a, b = tmp_path / "a" / "two.txt", tmp_path / "b" / "two.txt"
    for story in (a, b):
        story.parent.mkdir()
        story.write_text("Ana walks.")
    out = tmp_path / "out"
    res = runner.invoke(app, ["batch", str(b), "--out", str(out), "--preset", "tiny", "--quiet"])
    assert res.exit_code == 0, res.output
    index = json.loads((out / "dreamrunner-batch.json").read_text())
    assert index == {"schema": 1, "workspaces": {"two": str(b.resolve())}}
    b.write_text("Ana walks to the lake.")  # an edited story is still the same story: it keeps its workspace
    res = runner.invoke(app, ["batch", str(a), str(b), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert {j.story_file: j.workspace.name for j in seen[-1]} == {a: _hashed(a), b: "two"}


def test_batch_exit_codes_and_json_summary_through_the_cli(tmp_path, monkeypatch):
    """The command's own exit code passes the error boundary: 0 when every story finished, else the first
    failure's code; the JSON summary is on stdout and each failure on stderr."""
    import json

    from dreamrunner_cli.executors import ray_batch

    (tmp_path / "a.txt").write_text("Ana walks.")
    (tmp_path / "b.txt").write_text("Ben walks.")
    monkeypatch.setattr(ray_batch, "import_ray", lambda: None)
    outcome = {}

    def fake_run(self):
        stories = {j.name: {"status": "finished", "done": []} for j in self.jobs}
        if outcome.get("fail"):
            name = self.jobs[1].name
            stories[name] = {"status": "failed", "failed_item": f"{name}:plan", "done": [],
                             "error": {"error": "InputInvalid", "message": "bad story", "exit_code": 5,
                                       "hint": "fix it"}}
        return ray_batch.BatchResult(stories, {}, 0.1)

    monkeypatch.setattr(ray_batch.RayBatch, "__init__", lambda self, jobs, **kw: setattr(self, "jobs", jobs))
    monkeypatch.setattr(ray_batch.RayBatch, "run", fake_run)
    args = ["batch", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--out", str(tmp_path / "out"),
            "--preset", "tiny", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["ok"] is True
    assert (tmp_path / "out" / "a" / "config.json").exists() and (tmp_path / "out" / "b" / "config.json").exists()
    outcome["fail"] = True
    res = runner.invoke(app, args)
    assert res.exit_code == 5 and json.loads(res.stdout)["ok"] is False
    assert "b:plan: bad story (hint: fix it)" in res.stderr and "InputInvalid" not in res.stderr


def test_a_failed_story_hands_its_untrained_shared_adapter_to_the_next_story():
    """Driver logic only (no Ray started): story A would train motion 'walk' for A and B, but A fails first;
    B must train it itself instead of waiting forever."""
    from dreamrunner_cli.executors.graph import Item, ItemResult, StoryJob
    from dreamrunner_cli.executors.ray_batch import RayBatch, StoryState

    batch = RayBatch.__new__(RayBatch)
    jobs = [StoryJob(__import__("pathlib").Path(n)) for n in ("a", "b", "c")]
    batch.jobs, batch.states, batch.known, batch.results = jobs, {j.name: StoryState(j) for j in jobs}, {}, {}
    batch.running, batch.queued, batch.trainer_of, batch.has_gpus = {}, {}, {}, False
    batch.attempts, batch.log_file = {}, None
    batch._add([Item("a", "adapt", "character/x", ()), Item("a", "adapt", "motion/walk", (), "k")])
    batch._add([Item("b", "adapt", "motion/walk", (), "k")])
    batch._add([Item("c", "adapt", "motion/walk", (), "k")])
    assert batch.known["b:adapt/motion/walk"].after == ("a:adapt/motion/walk",)
    batch._fail(batch.known["a:adapt/character/x"], ItemResult("a:adapt/character/x", False,
                                                              error={"error": "bad image", "exit_code": 5}))
    assert batch.trainer_of["k"] == "b:adapt/motion/walk"
    assert batch.known["b:adapt/motion/walk"].after == ()
    assert batch.known["c:adapt/motion/walk"].after == ("b:adapt/motion/walk",)
    ready = [i.id for i in batch._ready()]
    assert "b:adapt/motion/walk" in ready and "c:adapt/motion/walk" not in ready
    summary = batch._summary(0.0).stories
    assert summary["a"]["status"] == "failed"
    assert summary["b"]["status"] == "failed" and "never ran" in summary["b"]["error"]["message"]
