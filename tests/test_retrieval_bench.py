"""The retrieval benchmark runs end to end at a tiny size (the real run is 1M captions, see docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys

from dreamrunner_cli.retrieval.bench import markdown, run_retrieval_bench, write_captions


def test_bench_runs_at_a_tiny_size(tmp_path):
    r = run_retrieval_bench(2000, 500, workdir=tmp_path, repeats=1, log=lambda s: None)
    assert r["build"]["rows"] == 2000 and r["build_small"]["rows"] == 200
    assert r["build"]["rows_per_s"] > 0 and r["build"]["index_mib"] > 0
    q = r["query_bm25s"]
    assert q["backend"] == "bm25s" and q["queries"] == len(r["queries"]) and q["median_ms"] > 0
    assert q["VmRSS"] > 0 and q["RssFile"] > 0  # measured from /proc/self/status in the query process
    assert r["query_rank_bm25"]["rows"] == 500 and r["query_rank_bm25"]["backend"] == "rank_bm25"
    assert r["oracle"]["top400_identical"] == r["oracle"]["queries"] == len(r["queries"])
    assert 0.5 < r["oracle"]["person_share"] < 0.7  # "person" in most captions, as in real caption sets
    table = markdown(r)
    assert "| bm25s query, top 400, memory-mapped | 2,000 |" in table and "rank_bm25 (in memory) | 500" in table


def test_bench_script_entry_and_synthetic_captions(tmp_path):
    write_captions(tmp_path / "c.jsonl", 50, seed=1)
    rows = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert len(rows) == 50 and all(r["caption"].startswith("a ") and r["path"].endswith(".mp4") for r in rows)
    assert sum(r["caption"].startswith("a person is ") for r in rows) > 20
    out = subprocess.run([sys.executable, "-m", "dreamrunner_cli.retrieval.bench", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--captions" in out and "--rank-bm25-captions" in out
