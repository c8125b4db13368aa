"""Inputs checked where they enter, and guards that decide before they write (issue 16), for the plan stage:

* a new story (or new planner settings) over a hand-edited plan.json is refused before story.txt, planning/ or a
  record is rewritten, so the same command is refused again (it used to pass the second time, with the stale plan);
* reference images are checked at ``plan`` time: inside the story's folder unless ``--allow-outside-refs``, a real
  image Pillow decodes, within the pixel budget; nothing is created for a story that fails.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.errors import InputInvalid
from dreamrunner_cli.story import parse_story

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT / "examples" / "stories"
TEDDY = STORIES / "teddy.txt"
PNG = STORIES / "refs" / "teddy" / "1.png"
runner = CliRunner()


def invoke(*args, code: int = 0):
    res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture
def story_dir(tmp_path) -> Path:
    """A copy of teddy.txt with its refs/, so the story can be changed."""
    d = tmp_path / "src"
    d.mkdir()
    shutil.copy(TEDDY, d / "teddy.txt")
    shutil.copytree(STORIES / "refs", d / "refs")
    return d


@pytest.fixture
def edited(story_dir, tmp_path) -> Path:
    ws = tmp_path / "ws"
    invoke("plan", story_dir / "teddy.txt", "-w", ws, "--preset", "tiny", "--quiet")
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][0]["narration"] = "EDITED BY HAND"
    (ws / "plan.json").write_text(json.dumps(plan, indent=2))
    return ws


# Guards decide before they write ----------------------------------------------------------------------------------


def test_new_story_over_hand_edited_plan_is_refused_every_time_and_changes_nothing(story_dir, edited):
    story = story_dir / "teddy.txt"
    story.write_text(story.read_text() + "\nThen Teddy waves goodbye to the moon.\n")
    before = snapshot(edited)
    for _ in range(2):  # the second run used to exit 0 with the stale plan (the first had rewritten story.txt)
        res = invoke("plan", story, "-w", edited, "--json", code=5)
        err = json.loads(res.stdout)
        assert "edited by hand" in err["message"] and "story" in err["message"] and "--force" in err["hint"]
        assert snapshot(edited) == before  # not story.txt, planning/, dreamrunner.lock, nor runs.jsonl
    # --force re-plans from the new story (the hand edit goes, as the hint says)
    invoke("plan", story, "-w", edited, "--force", "--quiet")
    assert "waves goodbye" in (edited / "story.txt").read_text()
    assert json.loads((edited / "plan.json").read_text())["scenes"][0]["narration"] != "EDITED BY HAND"


def test_new_planner_settings_over_hand_edited_plan_are_refused_every_time(edited):
    before = snapshot(edited)
    for _ in range(2):
        res = invoke("plan", edited, "--set", "plan.max_scenes=3", "--json", code=5)
        assert "config.plan" in json.loads(res.stdout)["message"]
        assert snapshot(edited) == before  # config.json too: the refused --set is not saved


def test_hand_edited_plan_with_the_same_story_is_kept(story_dir, edited):
    out = json.loads(invoke("plan", story_dir / "teddy.txt", "-w", edited, "--json").stdout)
    assert json.loads((edited / "plan.json").read_text())["scenes"][0]["narration"] == "EDITED BY HAND"
    assert not [it for it in out["items"] if it["item"] == "outline" and it["action"] == "ran"]


def test_unknown_llm_backend_copies_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("plan", TEDDY, "-w", tmp_path / "ws", "--llm", "nonsense", code=2)
    assert "unknown planner backend 'nonsense'" in res.stderr and "builtin" in res.stderr
    assert not (tmp_path / "ws").exists()


# Reference images, checked where they enter --------------------------------------------------------------------


def _story_with_ref(folder: Path, image: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "story.txt"
    p.write_text(f"---\ncharacters:\n  - id: bo\n    description: a robot\n    images: [{json.dumps(image)}]\n---\n"
                 "Bo wakes up. Bo walks to the garden.\n")
    return p


@pytest.mark.parametrize("image, words", [
    ("/etc/passwd", "outside the story's folder"),
    (str(PNG), "outside the story's folder"),
    ("../elsewhere/1.png", "outside the story's folder"),
    ("link.png", "outside the story's folder"),  # a symlink pointing out of the folder
    ("text.png", "not an image"),
    ("cut.png", "damaged or truncated"),
])
def test_plan_refuses_bad_reference_images_naming_the_entry_and_creates_nothing(tmp_path, monkeypatch, image, words):
    src = tmp_path / "src"
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(PNG, tmp_path / "elsewhere" / "1.png")
    story = _story_with_ref(src, image)
    (src / "link.png").symlink_to(PNG)
    (src / "text.png").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (src / "cut.png").write_bytes(PNG.read_bytes()[: PNG.stat().st_size // 2])
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    res = invoke("plan", story, "-w", tmp_path / "ws", "--preset", "tiny", code=5)
    assert "characters[0].images[0]" in res.stderr and words in res.stderr
    assert snapshot(tmp_path) == before  # no workspace, no ./story folder, nothing copied


def test_allow_outside_refs_accepts_an_image_elsewhere_but_still_checks_it(tmp_path):
    story = _story_with_ref(tmp_path / "src", str(PNG))
    res = invoke("plan", story, "-w", tmp_path / "ws", "--preset", "tiny", "--allow-outside-refs", "--json")
    assert json.loads(res.stdout)["plan"]
    copied = list((tmp_path / "ws" / "refs" / "bo").iterdir())
    assert [p.read_bytes() for p in copied] == [PNG.read_bytes()]
    bad = _story_with_ref(tmp_path / "src2", "/etc/passwd")
    res = invoke("plan", bad, "-w", tmp_path / "ws2", "--preset", "tiny", "--allow-outside-refs", code=5)
    assert "not an image" in res.stderr and not (tmp_path / "ws2").exists()


def test_pixel_budget_is_read_from_the_header_before_decoding(tmp_path):
    from PIL import Image

    from dreamrunner_cli.story import check_reference_image

    big = tmp_path / "big.png"
    Image.new("RGB", (400, 300)).save(big)
    check_reference_image(big, "characters[0].images[0]", max_pixels=400 * 300)  # at the limit: fine
    with pytest.raises(InputInvalid, match=r"characters\[0\].images\[0\].*400×300.*adapt.max_image_pixels"):
        check_reference_image(big, "characters[0].images[0]", max_pixels=400 * 300 - 1)
    story = _story_with_ref(tmp_path / "src", "../big.png")
    with pytest.raises(InputInvalid, match="outside"):
        parse_story(story)
    assert [p.resolve() for p in parse_story(story, allow_outside_refs=True).characters[0].images] == [big.resolve()]
