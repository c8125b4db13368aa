"""Users' folders are never taken over (issue 22, item 2; docs/workspace.md, "Your own folders").

``dreamrunner plan STORY --workspace DIR`` on an existing folder that is not a workspace used to overwrite the
user's own story.txt and plan.json there and exit 0. Now a non-empty folder that is not a workspace is refused
(exit 5) before anything is written to it, unless ``--force``; and even with ``--force`` (or for ``plan DIR``, a
folder the user names as a workspace) a file of the workspace's layout that dreamrunner did not write is never
overwritten. A workspace is recognised by the files only dreamrunner writes: ``.dreamrunner.pid`` (the lock every
command takes first) or ``dreamrunner.lock`` (the stage records).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app

TEDDY = Path(__file__).resolve().parents[1] / "examples" / "stories" / "teddy.txt"
runner = CliRunner()


def invoke(*args, code: int = 0):
    res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture
def story(tmp_path) -> Path:
    """A story without reference images (planning it takes well under a second)."""
    path = tmp_path / "src" / "robot.txt"
    path.parent.mkdir()
    path.write_text("Bo the robot wakes up in the garden. Bo walks to the pond and waves.\n")
    return path


@pytest.fixture
def users(tmp_path) -> Path:
    """A folder of the user's own, holding a story.txt and a plan.json that are not dreamrunner's."""
    d = tmp_path / "mine"
    d.mkdir()
    (d / "story.txt").write_text("my novel, chapter one\n")
    (d / "plan.json").write_text('{"my": "travel plan"}\n')
    (d / "notes.md").write_text("notes\n")
    return d


def test_plan_into_a_users_folder_is_refused_and_changes_nothing(story, users):
    before = snapshot(users)
    res = invoke("plan", story, "--workspace", users, "--preset", "tiny", code=5)
    assert f"{users} is not a dreamrunner workspace and is not empty" in res.stderr
    assert "notes.md, plan.json, story.txt" in res.stderr and "--force" in res.stderr
    assert snapshot(users) == before  # no story.txt/plan.json overwritten; no lock file, config or log either
    # --force adds dreamrunner's files next to the user's ones, but never overwrites a file it did not write
    res = invoke("plan", story, "--workspace", users, "--preset", "tiny", "--force", code=5)
    assert "already holds plan.json, story.txt, which dreamrunner did not write" in res.stderr
    assert snapshot(users) == before


def test_force_adds_a_workspace_next_to_the_users_files_which_then_is_a_workspace(story, tmp_path):
    d = tmp_path / "project"
    (d / "photos").mkdir(parents=True)
    (d / "photos" / "cat.jpg").write_bytes(b"not really a jpeg")
    (d / "notes.md").write_text("notes\n")
    mine = snapshot(d)
    invoke("plan", story, "--workspace", d, "--preset", "tiny", code=5)
    assert snapshot(d) == mine
    invoke("plan", story, "--workspace", d, "--preset", "tiny", "--force", "--quiet")
    assert (d / "plan.json").exists() and (d / "dreamrunner.lock").exists() and (d / ".dreamrunner.pid").exists()
    assert {k: v for k, v in snapshot(d).items() if k in mine} == mine  # the user's files are untouched
    # from now on it is a workspace: a new story re-plans there like in any workspace, without --force
    story.write_text("Bo the robot sleeps under a tree.\n")
    invoke("plan", story, "--workspace", d, "--quiet")
    assert "sleeps" in (d / "story.txt").read_text()


def test_empty_new_and_default_folders(story, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    invoke("plan", story, "--workspace", empty, "--preset", "tiny", "--quiet")
    assert (empty / "plan.json").exists()
    # the default workspace (./<story name>) is checked the same way
    monkeypatch.chdir(tmp_path)
    (tmp_path / "robot").mkdir()
    (tmp_path / "robot" / "plan.json").write_text("{}")
    invoke("plan", story, "--preset", "tiny", code=5)
    assert (tmp_path / "robot" / "plan.json").read_text() == "{}"
    # `run` resolves its target the same way
    invoke("run", story, "--preset", "tiny", code=5)
    assert sorted(p.name for p in (tmp_path / "robot").iterdir()) == ["plan.json"]


def test_plan_on_a_folder_named_as_a_workspace_keeps_what_dreamrunner_did_not_write(story, users, tmp_path):
    # story.txt and plan.json of the user: planning story.txt would replace plan.json
    before = snapshot(users)
    res = invoke("plan", users, "--preset", "tiny", code=5)
    assert "already holds plan.json" in res.stderr and "planning its story.txt would replace plan.json" in res.stderr
    assert snapshot(users) == before
    # a story given as the folder's own story.txt is the same case
    invoke("plan", users / "story.txt", "--workspace", users, "--preset", "tiny", code=5)
    assert snapshot(users) == before
    # a folder made by hand with its story.txt (or its plan.json) only is a workspace to be: used as it is
    (users / "plan.json").unlink()
    (users / "story.txt").write_text(story.read_text())
    invoke("plan", users, "--preset", "tiny", "--quiet")
    assert (users / "plan.json").exists() and (users / "notes.md").read_text() == "notes\n"


# Files outside the workspace (item 11) -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["../", "absolute", "symlink"])
def test_a_reference_image_outside_the_workspace_in_plan_json_is_refused(ws, where):
    """A front-matter image outside the story's folder is refused without --allow-outside-refs; the same image
    hand-edited into plan.json used to be trained on without a word. Every stage that loads plan.json refuses it
    (exit 5), naming its JSON path; adapt trains nothing."""
    import json
    import shutil

    outside = ws.parent / "elsewhere.png"
    shutil.copy(ws / "refs" / "teddy" / "01-1.png", outside)
    entry = {"../": "../elsewhere.png", "absolute": str(outside), "symlink": "refs/teddy/link.png"}[where]
    if where == "symlink":  # a link inside the workspace to a file outside it: the target is what is read
        (ws / "refs" / "teddy" / "link.png").symlink_to(outside)
    plan = json.loads((ws / "plan.json").read_text())
    plan["characters"][0]["reference_images"].append(entry)
    (ws / "plan.json").write_text(json.dumps(plan))
    n = len(plan["characters"][0]["reference_images"]) - 1
    for cmd in (["adapt", ws, "--character", "teddy"], ["render", ws, "--dry-run"], ["plan", ws]):
        res = invoke(*cmd, code=5)
        assert f"characters[0].reference_images[{n}]: image {entry!r} is outside the workspace" in res.stderr
        assert "copy each image into the workspace" in res.stderr
    assert not (ws / "adapters").exists()
    # the same image copied into the workspace is accepted
    shutil.copy(outside, ws / "refs" / "teddy" / "copied.png")
    plan["characters"][0]["reference_images"][n] = "refs/teddy/copied.png"
    (ws / "plan.json").write_text(json.dumps(plan))
    invoke("render", ws, "--dry-run", "--quiet")
