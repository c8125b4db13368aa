"""Third-party output stays hidden unless -v (issue 25, item 7).

- open_clip logs a failed weight download with ``logging.error(...)`` on the root logger. With no handler there,
  Python's logging configured itself and printed ``ERROR:root:Failed to download weights …`` just before
  dreamrunner's own error saying the same.
- transformers draws a tqdm bar ("Loading weights") at every ``from_pretrained``, huggingface_hub one per download;
  the stage's own progress already says "load model … N s".

Each check runs in a fresh Python process (as the ``dreamrunner`` command does): the test process has pytest's log
handlers on the root logger and its libraries already imported, which would hide both leaks. The fast checks stop
short of torch; the slow ones load a real open_clip model and a real DINO checkpoint folder. (The third sub-item,
"rich capitalises the first word", is checked on a real terminal in tests/test_output_summary.py: rich never did;
the capital came from the tool the walkthrough was read through.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)


@pytest.mark.parametrize("verbose", [False, True])
def test_root_logger_records_are_hidden_unless_verbose(tmp_path, verbose):
    res = run_python(f"""
        import logging
        from dreamrunner_cli.output import setup_output
        setup_output(verbose={verbose})
        logging.error("Failed to download weights for tag 'openai': offline")  # open_clip's own call
        logging.getLogger("some.library").warning("a library's logger nobody configured")
        logging.getLogger("dreamrunner.plan").warning("warning: ours, shown once")
    """, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ERROR:root:" not in res.stderr  # logging's basicConfig never runs
    assert ("Failed to download weights" in res.stderr) == verbose, res.stderr
    assert ("nobody configured" in res.stderr) == verbose, res.stderr
    assert res.stderr.count("ours, shown once") == 1, res.stderr


@pytest.mark.parametrize("verbose", [False, True])
def test_loading_bars_are_off_in_libraries_imported_after_setup(tmp_path, verbose):
    """The command's order: output set up first, huggingface_hub and transformers imported by a stage later."""
    res = run_python(f"""
        from dreamrunner_cli.output import setup_output
        setup_output(verbose={verbose})
        import huggingface_hub.utils as hub, transformers.utils.logging as tlog
        print(hub.are_progress_bars_disabled(), tlog.is_progress_bar_enabled())
    """, tmp_path)
    assert res.stdout.strip() == ("False True" if verbose else "True False"), res.stderr[-3000:]


def test_already_imported_libraries_are_switched_too(tmp_path):
    """A batch worker (or a test) runs several commands in one process: the libraries are imported by then."""
    res = run_python("""
        import huggingface_hub.utils as hub, transformers.utils.logging as tlog
        from dreamrunner_cli.output import setup_output
        setup_output(verbose=False)
        quiet = (hub.are_progress_bars_disabled(), tlog.is_progress_bar_enabled())
        setup_output(verbose=True)
        print(quiet, (hub.are_progress_bars_disabled(), tlog.is_progress_bar_enabled()))
    """, tmp_path)
    assert res.stdout.strip() == "(True, False) (False, True)", res.stderr[-3000:]


@pytest.fixture(scope="module")
def dino_folder(tmp_path_factory) -> Path:
    """A DINO v1 (ViT) checkpoint in the published layout, tiny and random: evaluate.dino_model=FOLDER."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    folder = tmp_path_factory.mktemp("dino")
    config = ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                       image_size=32, patch_size=16)
    ViTModel(config, add_pooling_layer=False).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


REAL_LOADS = """
    import sys
    from dreamrunner_cli.output import setup_output
    setup_output(verbose={verbose})  # before torch, transformers or open_clip is imported, as in the command
    from dreamrunner_cli.errors import ModelUnavailable
    from dreamrunner_cli.models.dino import load_dino
    from dreamrunner_cli.models.scorers import load_clip_scorer
    try:
        load_clip_scorer("RN50-quickgelu", "openai", "cpu")  # not in the (empty) cache, and offline
    except ModelUnavailable as exc:
        print("unavailable:", exc.message)
    print("---", file=sys.stderr, flush=True)
    load_dino({folder!r}, arch="dino")
    print("loaded")
"""


@pytest.mark.slow
@pytest.mark.parametrize("verbose", [False, True])
def test_real_loads_are_quiet_unless_verbose(tmp_path, dino_folder, verbose):
    pytest.importorskip("open_clip")
    res = run_python(REAL_LOADS.format(verbose=verbose, folder=str(dino_folder)), tmp_path)
    assert res.returncode == 0 and "loaded" in res.stdout, res.stderr[-3000:]
    assert "unavailable: cannot load CLIP model 'RN50-quickgelu'" in res.stdout
    clip_part, dino_part = res.stderr.split("---", 1)
    assert "ERROR:root:" not in clip_part, clip_part
    assert ("ERROR root: Failed to download weights for tag 'openai'" in clip_part) == verbose, clip_part
    assert ("Loading weights" in dino_part) == verbose, dino_part  # transformers' tqdm bar
