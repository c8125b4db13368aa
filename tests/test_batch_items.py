"""Batch at scale without Ray: item locks inside one story, clean streams, what each item asks of a worker, the
live table's states (issue 23)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dreamrunner_cli.errors import BackendUnavailable, WorkspaceBusy
from dreamrunner_cli.workspace import Records, StageRun, Workspace

# A helper process that holds an item lock (or the whole workspace) until told to stop.
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dreamrunner_cli.workspace import Workspace
    ws, mode, claim = Workspace(sys.argv[1]), sys.argv[2], sys.argv[3]
    ready, stop = Path(sys.argv[4]), Path(sys.argv[5])
    with (ws.item_locked([claim]) if mode == "item" else ws.locked()):
        ready.write_text("held")
        while not stop.exists():
            time.sleep(0.05)
""")


class Holder:
    def __init__(self, tmp: Path, ws: Path, mode: str, claim: str = "") -> None:
        name = f"{mode}-{claim.replace('/', '-')}-{time.monotonic_ns()}"
        self.ready, self.stop = tmp / f"ready-{name}", tmp / f"stop-{name}"
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(ws), mode, claim, str(self.ready),
                                      str(self.stop)])
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            assert self.proc.poll() is None and time.monotonic() < deadline, "the holder did not start"
            time.sleep(0.05)

    def release(self) -> None:
        self.stop.write_text("stop")
        self.proc.wait(timeout=30)


def test_items_of_one_story_run_beside_each_other_but_never_twice_nor_beside_a_stage_command(tmp_path):
    ws = Workspace(tmp_path / "ws")
    other = Holder(tmp_path, ws.root, "item", "render/s01")  # another process runs render/s01
    try:
        with ws.item_locked(["render/s02"], wait=False):  # an independent item of the same story: at once
            pass
        with pytest.raises(WorkspaceBusy, match="item render/s01 of workspace .* is being run by pid"):
            with ws.item_locked(["render/s01"], wait=False):  # the same item: never twice
                pass
        with pytest.raises(WorkspaceBusy, match="is in use by"):
            with ws.locked():  # a stage command waits for the items (or fails without --wait)
                pass
    finally:
        other.release()
    command = Holder(tmp_path, ws.root, "whole")  # and items wait for a stage command
    try:
        with pytest.raises(WorkspaceBusy, match="is in use by pid"):
            with ws.item_locked(["render/s02"], wait=False):
                pass
    finally:
        command.release()
    with ws.locked():  # everything was released
        pass


# Two processes record many items of one workspace at once, as parallel batch items do.
RECORDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from dreamrunner_cli.workspace import Records, Workspace
    ws, who, n = Workspace(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(n):
        item = f"{who}{i:03d}"
        with ws.item_locked([f"render/{item}"]):
            out = ws.root / "renders" / f"{item}.mp4"
            out.parent.mkdir(exist_ok=True)
            out.write_bytes(item.encode())
            Records.load(ws).record("render", item, {"n": i}, [out])
""")


def test_items_recording_at_once_in_two_processes_never_lose_a_record(tmp_path):
    """The records file is one JSON document: without the short records lock, two items reading it, adding their
    entry and writing it back lose each other's entries (most runs lost some of these 80)."""
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", RECORDER, str(ws.root), who, "40"]) for who in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    items = Records.load(ws).items("render")
    assert sorted(items) == sorted(f"{w}{i:03d}" for w in "ab" for i in range(40))


def test_item_mode_never_sweeps_temp_files_another_process_may_be_writing(tmp_path):
    """A stage sweeps `.tmp-*` leftovers older than its process: in a batch, a restarted worker is younger than a
    temp file another worker is writing. Items sweep only when they find the workspace free."""
    ws = Workspace(tmp_path / "ws")
    other = Holder(tmp_path, ws.root, "item", "render/s01")
    temp = ws.renders_dir / ".tmp-s01-abc.mp4"
    temp.parent.mkdir(parents=True)
    temp.write_bytes(b"being written by another worker")
    old = time.time() - 3600
    os.utime(temp, (old, old))  # older than this process: a stage command would take it for a leftover
    try:
        with ws.item_locked(["render/s02"]):
            StageRun(ws, "render")
        assert temp.exists()
    finally:
        other.release()
    with ws.item_locked(["render/s02"]):  # alone now: the leftover goes
        pass
    assert not temp.exists()


# Streams -------------------------------------------------------------------------------------------------------------

NOISY = textwrap.dedent("""
    import json, logging, os, subprocess, sys
    from pathlib import Path
    from dreamrunner_cli.output import third_party_streams
    verbose = sys.argv[2] == "1"
    with third_party_streams(Path(sys.argv[1]), verbose, loggers=("ray",)) as real:
        os.write(1, b"C-level noise on fd 1\\n")
        os.write(2, b"C-level noise on fd 2\\n")
        print("(raylet) Task BatchWorker.run failed")  # what Ray's printing thread does with a dead worker
        subprocess.run(["sh", "-c", "echo child noise"])
        logging.getLogger("ray").info("Started a local Ray instance.")
        logging.getLogger("ray").setLevel(logging.INFO)
        logging.getLogger("ray").info("Started a local Ray instance.")
        real.stderr.write("live table\\n")
    sys.stdout.write(json.dumps({"ok": True}) + "\\n")
""")


@pytest.mark.parametrize("verbose", [False, True])
def test_json_stdout_is_one_document_whatever_a_library_prints(tmp_path, verbose):
    log = tmp_path / "out" / "dreamrunner-batch.log"
    res = subprocess.run([sys.executable, "-c", NOISY, str(log), "1" if verbose else "0"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"ok": True}  # nothing before or after the one document
    noise = ["C-level noise on fd 1", "C-level noise on fd 2", "(raylet) Task", "child noise",
             "Started a local Ray instance"]
    if verbose:  # -v: the library's output on stderr
        assert all(n in res.stderr for n in noise) and "live table" in res.stderr
    else:  # otherwise in the log named in the summary; stderr has only what dreamrunner shows
        assert res.stderr == "live table\n"
        assert all(n in log.read_text() for n in noise)


# What an item asks of a worker ---------------------------------------------------------------------------------------


def _job(tmp_path, preset: str, *sets: str):
    from dreamrunner_cli.cli.batch import _prepare
    from dreamrunner_cli.executors.graph import StoryJob

    job = StoryJob(tmp_path / preset, tmp_path / "story.txt")
    _prepare(job, preset, list(sets))
    return job


def test_cuda_items_need_a_gpu_whatever_their_stage_and_tiny_runs_on_cpu_slots(tmp_path):
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.executors.graph import _item

    tiny = _job(tmp_path, "tiny")
    cfg = resolve_config(saved=tiny.workspace / "config.json")
    items = {s: _item(tiny, cfg, s) for s in ("plan", "retrieve", "adapt", "render", "evaluate")}
    assert not any(i.cuda for i in items.values())
    assert {s: i.slot(False) for s, i in items.items()} == dict.fromkeys(items, "cpu")  # CPU-only: CPU slots
    assert {s: i.slot(True) for s, i in items.items()} == {"plan": "cpu", "retrieve": "cpu", "adapt": "gpu",
                                                           "render": "gpu", "evaluate": "gpu"}  # --gpus N
    assert items["adapt"].model == items["render"].model and items["adapt"].model.startswith("pipeline:")
    assert items["evaluate"].model.startswith("scorers:") and items["plan"].model is None

    # retrieve on CUDA is a GPU item, though its stage is not a model stage (it used to be a CPU task)
    cfg = resolve_config(saved=tiny.workspace / "config.json", overrides=["retrieve.device=cuda"])
    retrieve = _item(tiny, cfg, "retrieve")
    assert retrieve.cuda and retrieve.slot(False) == "gpu"


def test_a_cluster_without_gpus_refuses_cuda_stories_up_front_and_takes_tiny_ones(tmp_path):
    from dreamrunner_cli.executors.ray_batch import RayBatch

    batch = RayBatch.__new__(RayBatch)
    batch.jobs = [_job(tmp_path, "tiny")]
    batch._check_devices(0)  # the tiny preset: CPU slots, no --gpus needed (it used to exit 4)
    batch.jobs.append(_job(tmp_path, "cogvideox-2b"))
    with pytest.raises(BackendUnavailable) as err:
        batch._check_devices(0)
    assert "model.device=cuda" in err.value.message and "cogvideox-2b/config.json" in err.value.message
    assert "--set model.device=cpu" in err.value.hint
    batch._check_devices(2)


def test_workers_are_picked_by_what_they_hold():
    from dreamrunner_cli.executors.schedule import NEW, Worker, pick_worker

    empty = Worker(0, True)
    a, b = Worker(1, True, {"pipeline": "pipeline:a"}), Worker(2, True, {"pipeline": "pipeline:b"})
    assert pick_worker("pipeline:b", [a, empty, b], can_start=True) is b  # it holds the model
    assert pick_worker("pipeline:c", [a, empty, b], can_start=True) is empty  # holds nothing: nothing dropped
    assert pick_worker("pipeline:c", [a, b], can_start=True) == NEW  # a free GPU before dropping a model
    assert pick_worker("pipeline:c", [a, b], can_start=False) is a  # else one that drops its model
    scorers = Worker(3, True, {"scorers": "scorers:x"})
    assert pick_worker("pipeline:c", [a, scorers], can_start=False) is scorers  # keeps its scorers, drops nothing
    assert pick_worker("scorers:x", [a, scorers], can_start=False) is scorers  # scorers stay loaded (evaluate)
    assert pick_worker("pipeline:a", [b, a], can_start=True, policy="fcfs") is b  # naive: the first idle one


# The live table ------------------------------------------------------------------------------------------------------


def _batch_with(tmp_path, ran: float, running_for: float):
    """A RayBatch's bookkeeping (no Ray): one render done in ``ran`` s, one running for ``running_for`` s, one queued,
    one waiting."""
    from dreamrunner_cli.executors.graph import Item, ItemResult, StoryJob
    from dreamrunner_cli.executors.ray_batch import RayBatch

    batch = RayBatch.__new__(RayBatch)
    batch.jobs = [StoryJob(tmp_path / "a")]
    items = [Item("a", "render", s) for s in ("s01", "s02", "s03", "s04")]
    batch.known = {i.id: i for i in items}
    batch.results = {"a:render/s01": ItemResult("a:render/s01", True, {"items": [{"action": "ran"}]}, seconds=ran)}
    batch.running = {"a:render/s02": time.monotonic() - running_for}
    batch.queued = {"a:render/s03": items[2]}
    batch.pool = []
    return batch


def test_live_table_tells_queued_from_running_and_flags_a_slow_item(tmp_path):
    batch = _batch_with(tmp_path, ran=10.0, running_for=45.0)
    assert batch.counts()["render"] == {"done": 1, "running": 1, "queued": 1, "failed": 0, "to do": 1}
    (item, spent, est), = batch.slow()  # 45 s against 10 s: over 3×
    assert item == "a:render/s02" and spent >= 45 and est == 10.0
    assert _batch_with(tmp_path, ran=20.0, running_for=45.0).slow() == []  # 2.25×: not flagged


def test_live_display_off_a_terminal_ends_with_the_final_state(tmp_path):
    from dreamrunner_cli.cli.batch import _Live
    from dreamrunner_cli.executors.graph import ItemResult

    stream = io.StringIO()
    live = _Live(stream)
    batch = _batch_with(tmp_path, ran=10.0, running_for=45.0)
    live.update(batch)
    first = stream.getvalue()
    assert "render 1 done, 1 running, 1 queued, 1 to do" in first and "ETA" in first
    assert "slow? a:render/s02 running 4" in first and "took 10 s" in first
    for i in ("a:render/s02", "a:render/s03", "a:render/s04"):  # the batch ends
        batch.results[i] = ItemResult(i, True)
    batch.running, batch.queued = {}, {}
    live.stop(batch)
    last = stream.getvalue().strip().splitlines()[-1]
    assert last.startswith("batch finished") and "render 4 done" in last
    assert "running" not in last.removeprefix("batch finished") and "ETA" not in last
