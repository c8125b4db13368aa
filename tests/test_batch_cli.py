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


def test_workspaces_are_named_after_the_story_files_stably(tmp_path):
    from dreamrunner_cli.cli.batch import _workspaces

    files = [tmp_path / "x" / "teddy.txt", tmp_path / "y" / "teddy.txt", tmp_path / "cat.txt"]
    assert [w.name for _, w in _workspaces(files, tmp_path / "out")] == ["teddy", "teddy-2", "cat"]


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
                             "error": {"error": "bad story", "exit_code": 5, "hint": "fix it"}}
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
    assert "b:plan: bad story (fix it)" in res.stderr


def test_a_failed_story_hands_its_untrained_shared_adapter_to_the_next_story():
    """Driver logic only (no Ray started): story A would train motion 'walk' for A and B, but A fails first;
    B must train it itself instead of waiting forever."""
    from dreamrunner_cli.executors.graph import Item, ItemResult, StoryJob
    from dreamrunner_cli.executors.ray_batch import RayBatch, StoryState

    batch = RayBatch.__new__(RayBatch)
    jobs = [StoryJob(__import__("pathlib").Path(n)) for n in ("a", "b", "c")]
    batch.jobs, batch.states, batch.known, batch.results = jobs, {j.name: StoryState(j) for j in jobs}, {}, {}
    batch.running, batch.trainer_of = {}, {}
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
    assert summary["b"]["status"] == "failed" and "never ran" in summary["b"]["error"]["error"]
