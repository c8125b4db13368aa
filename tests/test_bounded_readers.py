"""Every JSON or text file that a user can edit or a crash can damage is read through one bounded reader (issue 22).

``bounds.read_text`` / ``read_json`` / ``loads_json`` (a regular file, a size limit, strict UTF-8, 64 levels,
numbers of 100 characters) were used for stories, plan.json, config.json and the records; these readers still used
``json.loads(path.read_text())``: a FIFO in place of the file blocked forever, a 100,000-level file ended in
RecursionError (exit 1, "this is a bug"), ``[]`` where an object belongs in AttributeError (exit 1). Each now
refuses with exit 5 naming the file, or (where the file is optional: the report, the adapter cache) treats it as
absent. Each test has its own time limit, so a reader that blocks fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.errors import InputInvalid

DEEP = "[" * 100_000 + "]" * 100_000  # past the interpreter's recursion limit
HOSTILE = {
    "fifo": None,  # made with os.mkfifo: nothing ever writes to it
    "deep": DEEP,
    "long number": '{"a": ' + "9" * 5000 + "}",
    "not an object": "[1, 2]",
}
pytestmark = pytest.mark.timeout(30)


def plant(path: Path, kind: str) -> None:
    """Replace ``path`` with the hostile input ``kind``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    if HOSTILE[kind] is None:
        os.mkfifo(path)
    else:
        path.write_text(HOSTILE[kind], encoding="utf-8")


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_adapter_json_readers(tmp_path, kind):
    from dreamrunner_cli.adapt.record import load_adapter_record, read_adapter_json
    from dreamrunner_cli.stages import render

    folder = tmp_path / "ws" / "adapters" / "motion" / "waving"
    plant(folder / "adapter.json", kind)
    for read in (read_adapter_json, load_adapter_record):
        with pytest.raises(InputInvalid) as err:
            read(folder)
        assert str(folder / "adapter.json") in err.value.message and err.value.exit_code == 5
    with pytest.raises(InputInvalid) as err:  # render's loader: before any weights are read
        render._load_adapter(None, "motion-waving", folder)
    assert str(folder / "adapter.json") in err.value.message
    # The checks render runs before loading a model: "unreadable" (blocked, exit 3 at the end), never a hang or 1.
    fits = render.AdapterCheck.__new__(render.AdapterCheck)
    fits.cfg, fits.problems, fits.identity = None, {}, {"num_layers": 2}
    assert fits("motion", folder) == "its adapter.json is unreadable or from an older version"
    import numpy as np
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(2, np.float32)}, str(folder / "pytorch_lora_weights.safetensors"))
    assert render.adapter_digest(folder)  # the weights still count; the record is read as empty (was: exit 1 / hang)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_retrieval_manifest(tmp_path, kind):
    from dreamrunner_cli.retrieval.manifest import load_manifest

    path = tmp_path / "retrieval" / "waving" / "manifest.json"
    plant(path, kind)
    with pytest.raises(InputInvalid) as err:
        load_manifest(path)
    assert str(path) in err.value.message and err.value.exit_code == 5


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    from dreamrunner_cli.retrieval.index import build_index

    root = tmp_path_factory.mktemp("db")
    (root / "caps.jsonl").write_text("".join(json.dumps({"path": f"v{i}.mp4", "caption": f"a dog is walking {i}"})
                                             + "\n" for i in range(5)), encoding="utf-8")
    build_index(root, root / "caps.jsonl")
    return root / "index"


def _edit_index(tmp_path: Path, small_index: Path, change) -> Path:
    idx = tmp_path / "db" / "index"
    shutil.copytree(small_index, idx)
    info = json.loads((idx / "index.json").read_text())
    (idx / "index.json").write_text(change(info) if callable(change) else change, encoding="utf-8")
    return idx


@pytest.mark.parametrize("change, words", [
    (DEEP, "nested more than 64 levels deep"),
    ('{"rows": ' + "9" * 5000 + "}", "above the limit of 100 characters for one JSON number"),
    ("[1, 2]", "is not a JSON object"),  # was AttributeError: exit 1
    (lambda info: json.dumps({k: v for k, v in info.items() if k != "rows"}), "is damaged: KeyError: 'rows'"),
    (lambda info: json.dumps({**info, "rows": "many"}), "is damaged: ValueError"),
    (lambda info: json.dumps({**info, "bm25": None}), "is damaged: TypeError"),
    (lambda info: json.dumps({**info, "source": "x"}), "is damaged: TypeError: source is not an object"),
], ids=["deep", "long number", "list", "no rows", "rows not a number", "bm25 null", "source not an object"])
def test_index_json(tmp_path, small_index, change, words):
    from dreamrunner_cli.retrieval.index import VideoIndex

    idx = _edit_index(tmp_path, small_index, change)
    with pytest.raises(InputInvalid) as err:
        VideoIndex(idx)
    assert str(idx / "index.json") in err.value.message and words in err.value.message
    assert VideoIndex(small_index).search("walking", 2)  # the intact one still opens


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_metrics_files(tmp_path, kind):
    from dreamrunner_cli.evaluation.orchestrate import read_metrics_json, read_scene_metrics

    path = tmp_path / "eval" / "metrics.json"
    plant(path, kind)
    with pytest.raises(InputInvalid) as err:
        read_metrics_json(path)
    assert f"{path}" in err.value.message and err.value.exit_code == 5
    scene = tmp_path / "eval" / "ws" / "s01.json"
    plant(scene, kind)
    with pytest.raises(InputInvalid) as err:
        read_scene_metrics(scene)
    assert f"{scene}" in err.value.message or kind == "deep" and "scene metrics file" in err.value.message


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_report_leaves_out_a_file_it_cannot_read(tmp_path, kind):
    from dreamrunner_cli.evaluation.report import _read_json

    plant(tmp_path / "manifest.json", kind)
    # a list is returned as it is: each caller keeps only objects (isinstance checks there)
    assert _read_json(tmp_path / "manifest.json") == ([1, 2] if kind == "not an object" else None)
    (tmp_path / "ok.json").write_text('{"kept": []}')
    assert _read_json(tmp_path / "ok.json") == {"kept": []}


def test_a_damaged_adapter_cache_entry_is_a_miss(tmp_path, monkeypatch):
    from dreamrunner_cli.adapt import reuse

    monkeypatch.setenv("DREAMRUNNER_CACHE", str(tmp_path / "cache"))
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    weights = len(header).to_bytes(8, "little") + header + b"\0\0\0\0"
    reuse.cache_put("k", weights, '{"snapshots": []}')
    assert reuse.cache_get("k") == (weights, '{"snapshots": []}', {})
    for meta in (DEEP, '{"snapshots": [{"step": ' + "9" * 5000 + "}]}", "[1]"):
        reuse.cache_put("k", weights, meta)
        assert reuse.cache_get("k") is None  # was RecursionError / ValueError: exit 1 at adapt
    deep_header = ("{" + '"a":{' * 100 + "}" * 101).encode()
    reuse.cache_put("k", len(deep_header).to_bytes(8, "little") + deep_header, '{"snapshots": []}')
    assert reuse.cache_get("k") is None


def test_batch_from_file_is_bounded(tmp_path):
    from dreamrunner_cli.cli import app

    runner = CliRunner()
    listing = tmp_path / "list.txt"
    os.mkfifo(listing)
    res = runner.invoke(app, ["batch", "--from-file", str(listing), "--out", str(tmp_path / "out")])
    assert res.exit_code == 5, res.output
    assert f"--from-file {listing} is a FIFO (named pipe), not a regular file" in res.stderr  # was "does not exist"
    listing.unlink()
    listing.write_text("# stories\n" + "story.txt\n" * 120_000)  # 1.2 MB
    res = runner.invoke(app, ["batch", "--from-file", str(listing), "--out", str(tmp_path / "out")])
    assert res.exit_code == 5 and "above the limit of 1,048,576 bytes" in res.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_manifest_adapt_trains_from(tmp_path, kind):
    from dreamrunner_cli.adapt.data import _from_manifest

    path = tmp_path / "retrieval" / "waving" / "manifest.json"
    plant(path, kind)
    with pytest.raises(InputInvalid) as err:  # deep: was RecursionError, exit 1
        _from_manifest(path, "waving")
    assert str(path) in err.value.message and err.value.exit_code == 5


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_batch_index(tmp_path, kind):
    from dreamrunner_cli.cli.batch import INDEX_NAME, _read_index

    plant(tmp_path / "out" / INDEX_NAME, kind)
    with pytest.raises(InputInvalid) as err:  # deep: was RecursionError, exit 1
        _read_index(tmp_path / "out")
    assert str(tmp_path / "out" / INDEX_NAME) in err.value.message and err.value.exit_code == 5


def test_a_hostile_runs_log_line_is_skipped_and_status_still_answers(ws):
    """runs.jsonl is appended by every run and read by `status`: a line 100,000 levels deep or with a 5,000-digit
    number was a RecursionError / ValueError there (exit 1). Now it is one damaged line, skipped and named."""
    from dreamrunner_cli.cli import app
    from dreamrunner_cli.workspace import Workspace

    log = Path(ws) / "runs.jsonl"
    good = log.read_text(encoding="utf-8")
    log.write_text(good + DEEP + "\n" + HOSTILE["long number"] + "\n", encoding="utf-8")
    entries, problems = Workspace(Path(ws)).read_runs_checked()
    assert len(entries) == len(good.splitlines())
    assert len(problems) == 2 and all(p.endswith("; skipped") for p in problems), problems
    assert "nested more than 64 levels" in problems[0] and "5,000 characters" in problems[1]
    res = CliRunner().invoke(app, ["status", str(ws)])
    assert res.exit_code == 0, res.output


def test_a_user_caption_file_with_hostile_lines_counts_them_as_unreadable(tmp_path):
    """A caption JSONL is the user's own file, read line by line: a line 100,000 levels deep was a RecursionError
    (exit 1) and a 5,000-digit number a ValueError. Each is now one unreadable line, named; a FIFO is refused."""
    from dreamrunner_cli.retrieval.captions import ReadStats, read_captions

    good = json.dumps({"video": "a.mp4", "caption": "a person is walking"})
    path = tmp_path / "captions.jsonl"
    path.write_text("\n".join([good, DEEP, HOSTILE["long number"], good]) + "\n", encoding="utf-8")
    stats = ReadStats()
    rows = list(read_captions(path, stats))
    assert len(rows) == 2 and stats.unreadable == 2, stats
    assert stats.examples[0].startswith("line 2: JSON nested more than 64 levels")
    assert stats.examples[1].startswith("line 3: a number of 5,000 characters")
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(InputInvalid, match="is not a regular file"):
        list(read_captions(fifo, ReadStats()))


@pytest.mark.parametrize("kind", ["fifo", "deep", "long number", "not an object"])
def test_a_hostile_checkpoint_state_means_no_checkpoint(tmp_path, kind):
    """adapt's resume reads step-*/state.json: a damaged or hostile one means "no usable checkpoint, train from the
    start", never a crash (RecursionError, AttributeError: exit 1) or a hang (a FIFO)."""
    import torch

    from dreamrunner_cli.adapt import checkpoint

    param = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([param], lr=0.1)
    checkpoint.save_checkpoint(tmp_path, 1, {"w": param}, {"main": opt}, {"cpu": torch.get_rng_state()},
                               {"run_key": "k"})
    assert checkpoint.load_latest(tmp_path, "k") is not None  # intact, it is found
    plant(tmp_path / "step-000001" / "state.json", kind)
    assert checkpoint.load_latest(tmp_path, "k") is None
