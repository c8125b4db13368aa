"""Shared helpers for the retrieval tests: a small demo database and a hand-written plan."""

from __future__ import annotations

import json
from pathlib import Path

DEMO_SUBSET = ("walking", "waving", "jumping", "dancing", "sitting")


def build_small_demo(root: Path) -> Path:
    """The demo database restricted to a few motions (4 clips each) plus its 4 check rows; returns its folder."""
    from dreamrunner_cli.retrieval.demo import build_demo_database

    build_demo_database(root, motions=DEMO_SUBSET, clips_per_motion=4)
    return root


def write_plan(ws: Path, motions: dict[str, str]) -> Path:
    """A minimal valid plan.json with the given motions (id → description), one scene using all of them."""
    ws.mkdir(parents=True, exist_ok=True)
    mids = list(motions)
    regions = [{"entity": "teddy", "motion": mids[i % len(mids)], "caption": f"A [v1] teddy bear is {motions[m]}",
                "box": [0.2, 0.0, 0.8, 1.0]} for i, m in enumerate(mids[:1])]
    plan = {
        "schema_version": 1, "title": "t", "story": "s",
        "characters": [{"id": "teddy", "description": "a brown teddy bear", "token": "[v1]"}],
        "motions": [{"id": m, "description": d} for m, d in motions.items()],
        "scenes": [{"id": "s01", "narration": "Teddy moves.", "background": "a park", "characters": ["teddy"],
                    "motions": mids, "keyframes": [{"regions": regions}] * 6}],
    }
    (ws / "plan.json").write_text(json.dumps(plan, indent=2), encoding="utf-8")
    return ws / "plan.json"
