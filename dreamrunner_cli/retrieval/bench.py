"""Benchmark of the video index: build rate, index size, resident memory while querying, query latency.

    python -m dreamrunner_cli.retrieval.bench --captions 1000000            # the docs/benchmarks.md numbers
    python -m dreamrunner_cli.retrieval.bench --captions 20000 --rank-bm25-captions 5000 --json

What it does, each measured phase in a fresh Python process (so one phase's memory never counts for another):
  1. writes a synthetic JSONL caption file of N rows that looks like a real caption set: "a <subject> is <motion>
     <place> <words>", with "person" the subject of ~60% of captions (as in "person is <motion>" queries), motions
     Zipf-distributed, and 3–11 further words drawn Zipf-wise from a real vocabulary (the first 30k word-final tokens
     of CLIP's BPE vocabulary, in merge order ≈ frequency: mostly English words, some word endings such as "ing";
     the file ships with open_clip);
  2. ``build``: ``build_index`` on it (bm25s format, streaming), at N/10 rows and at N rows: rows per second, index
     size on disk, peak resident memory (VmHWM), to show that memory does not grow with the file;
  3. ``query``: opens the N-row index (memory-mapped) and runs motion queries ("person is walking", …), top 400:
     median / p95 latency and resident memory after querying (VmRSS = anonymous + file-backed mapped pages);
  4. ``rank_bm25``: the in-memory backend on the first M rows (default 100k): build time, memory, latency;
  5. ``oracle``: every query's top 400 on the N-row index compared with an independent oracle, bm25s's own in-memory
     Lucene BM25 built from the same captions and tokens (identical lists, ties broken by row).

Resident memory comes from /proc/self/status (Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

QUERIES = ("person is walking", "person is running", "person is waving hand", "person is jumping",
           "person is sitting", "person is stretching arms", "person is waking up", "person is dancing",
           "person is reading a book", "person is swimming", "person is eating", "person is flying")
TOP_K = 400


# Synthetic captions --------------------------------------------------------------------------------------------


def real_words(limit: int = 30_000) -> list[str]:
    """Whole English words from CLIP's BPE merges (open_clip's bpe_simple_vocab_16e6.txt.gz), in merge order, which
    follows frequency in CLIP's training text. Read from the installed package's folder without importing it."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("open_clip is not installed (its BPE vocabulary provides the benchmark's words)")
    path = Path(list(spec.submodule_search_locations)[0]) / "bpe_simple_vocab_16e6.txt.gz"
    words: list[str] = []
    seen: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        next(f)  # version line
        for line in f:
            parts = line.split()
            if len(parts) != 2 or not parts[1].endswith("</w>"):
                continue
            w = (parts[0] + parts[1])[:-4]
            if w.isascii() and w.isalpha() and len(w) >= 3 and w not in seen:
                seen.add(w)
                words.append(w)
                if len(words) >= limit:
                    break
    return words


def write_captions(path: Path, n: int, seed: int = 0, chunk: int = 100_000) -> None:
    """N realistic synthetic caption rows (JSONL), written chunk by chunk (see the module docstring)."""
    from .demo import DEMO_MOTIONS, PLACES

    rng = np.random.default_rng(seed)
    others = ["man", "woman", "child", "girl", "boy", "dog", "cat", "bird", "car", "group", "people", "player"]
    places = [p.split()[-1] for p in PLACES]
    vocab = np.array(real_words())
    motions = list(DEMO_MOTIONS)
    with open(path, "w", encoding="utf-8") as f:
        for c0 in range(0, n, chunk):
            m = min(chunk, n - c0)
            person = rng.random(m) < 0.6
            s_idx = rng.integers(len(others), size=m)
            m_idx = (rng.zipf(1.3, size=m) - 1) % len(motions)
            p_idx = rng.integers(len(places), size=m)
            n_tail = rng.integers(3, 12, size=m)
            tails = np.minimum(rng.zipf(1.1, size=int(n_tail.sum())) - 1, len(vocab) - 1)
            splits = np.split(vocab[tails], np.cumsum(n_tail)[:-1])
            lines = []
            for i in range(m):
                subject = "person" if person[i] else others[s_idx[i]]
                cap = f"a {subject} is {motions[m_idx[i]]} in the {places[p_idx[i]]} " + " ".join(splits[i])
                lines.append(f'{{"path": "videos/{c0 + i:09d}.mp4", "caption": "{cap}", "duration": '
                             f'{2 + (c0 + i) % 9}, "fps": 30, "width": 1280, "height": 720}}\n')
            f.write("".join(lines))


def _phase_oracle(index: Path, captions: Path) -> dict[str, Any]:
    """Top 400 of every query: the index (bm25s, memory-mapped) vs bm25s's in-memory Lucene BM25 as the oracle."""
    import bm25s

    from .index import K1, B, VideoIndex, top_k
    from .text import tokenize

    ix = VideoIndex(index)
    docs = []
    with open(captions, encoding="utf-8") as f:
        for line in f:
            docs.append(tokenize(json.loads(line)["caption"], ix.stemmer))
    oracle = bm25s.BM25(method="lucene", k1=K1, b=B)
    oracle.index(docs, show_progress=False)
    del docs
    identical, person_share = 0, 0.0
    for q in QUERIES:
        tokens = [t for t in tokenize(q, ix.stemmer) if t in oracle.vocab_dict]
        expected = [r for r, _ in top_k(np.asarray(oracle.get_scores(tokens), dtype=np.float32), TOP_K)]
        identical += [r for r, _ in ix.search(q, TOP_K)] == expected
    vocab = ix._bm25s().vocab_dict
    if "person" in vocab:
        indptr = np.load(ix.root / "bm25" / "indptr.csc.index.npy", mmap_mode="r")
        t = vocab["person"]
        person_share = float(indptr[t + 1] - indptr[t]) / ix.n
    return {"rows": ix.n, "queries": len(QUERIES), "top400_identical": identical,
            "person_share": round(person_share, 3)}


# Measurements --------------------------------------------------------------------------------------------------


def proc_status() -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile from /proc/self/status, in MiB (empty off Linux)."""
    out: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


def _phase_build(captions: Path, out: Path) -> dict[str, Any]:
    import threading

    from .index import build_index

    # Sample anonymous (heap) and file-backed (memory-mapped output) resident memory separately while building.
    peaks = {"RssAnon": 0.0, "RssFile": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            s = proc_status()
            for k in peaks:
                peaks[k] = max(peaks[k], s.get(k, 0.0))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    r = build_index(captions.parent, captions, out)
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    return {"rows": r["rows"], "seconds": round(seconds, 2), "rows_per_s": r["rows_per_s"],
            "index_mib": round(r["bytes"] / 2**20, 1), "vocabulary": r["vocabulary"], "postings": r["postings"],
            "captions_mib": round(captions.stat().st_size / 2**20, 1), **_peak(),
            "peak_anon_mib": peaks["RssAnon"], "peak_file_mib": peaks["RssFile"]}


def _phase_query(index: Path, backend: str, repeats: int) -> dict[str, Any]:
    from .index import VideoIndex

    t0 = time.perf_counter()
    ix = VideoIndex(index, backend=backend)
    ix.search(QUERIES[0], TOP_K)  # loads the vocabulary (bm25s) or builds the in-memory index (rank_bm25)
    open_s = time.perf_counter() - t0
    lat = []
    for _ in range(repeats):
        for q in QUERIES:
            t = time.perf_counter()
            hits = ix.search(q, TOP_K)
            lat.append((time.perf_counter() - t) * 1000)
            assert hits, q
    return {"backend": backend, "rows": ix.n, "open_s": round(open_s, 2), "queries": len(lat),
            "median_ms": round(float(np.median(lat)), 2), "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "max_ms": round(float(np.max(lat)), 2), **proc_status()}


def _peak() -> dict[str, float]:
    s = proc_status()
    return {"peak_rss_mib": s.get("VmHWM", float("nan"))}


def _run_phase(args: list[str]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its last stdout line is its JSON result."""
    proc = subprocess.run([sys.executable, "-m", "dreamrunner_cli.retrieval.bench", "--phase", *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark phase {args[0]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def run_retrieval_bench(n_captions: int, rank_bm25_captions: int = 100_000, *, workdir: Path | None = None,
                        repeats: int = 5, keep: bool = False, log: Any = None) -> dict[str, Any]:
    """Run the whole benchmark; returns every number (see the module docstring).

    Args:
        n_captions: rows of the main (bm25s) run, e.g. 1_000_000.
        rank_bm25_captions: rows for the rank_bm25 comparison (capped at n_captions).
        workdir: where caption files and indexes go (default: a temporary folder, removed unless ``keep``).
        repeats: times each query is run.
        log: callable taking a line of progress text (default: stderr).
    """
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="dreamrunner-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    small_n = max(n_captions // 10, 1)
    rank_n = min(rank_bm25_captions, n_captions)
    try:
        result: dict[str, Any] = {"machine": machine(), "n_captions": n_captions, "top_k": TOP_K,
                                  "queries": list(QUERIES), "load_average": _loadavg()}
        t0 = time.perf_counter()
        big, small, rank = tmp / "captions.jsonl", tmp / "captions-small.jsonl", tmp / "captions-rank.jsonl"
        write_captions(big, n_captions)
        _head(big, small, small_n)
        _head(big, rank, rank_n)
        log(f"synthetic captions: {n_captions:,} rows in {time.perf_counter() - t0:.1f}s "
            f"({big.stat().st_size / 2**20:.0f} MiB)")
        result["build_small"] = _run_phase(["build", str(small), str(tmp / "index-small")])
        log(f"build {small_n:,}: {json.dumps(result['build_small'])}")
        result["build"] = _run_phase(["build", str(big), str(tmp / "index")])
        log(f"build {n_captions:,}: {json.dumps(result['build'])}")
        result["query_bm25s"] = _run_phase(["query", str(tmp / "index"), "bm25s", str(repeats)])
        log(f"query bm25s {n_captions:,}: {json.dumps(result['query_bm25s'])}")
        result["build_rank"] = _run_phase(["build", str(rank), str(tmp / "index-rank")])
        result["query_bm25s_rank_size"] = _run_phase(["query", str(tmp / "index-rank"), "bm25s", str(repeats)])
        result["query_rank_bm25"] = _run_phase(["query", str(tmp / "index-rank"), "rank_bm25", "1"])
        log(f"rank_bm25 {rank_n:,}: {json.dumps(result['query_rank_bm25'])}")
        result["oracle"] = _run_phase(["oracle", str(tmp / "index"), str(big)])
        log(f"oracle {n_captions:,}: {json.dumps(result['oracle'])}")
        result["load_average_end"] = _loadavg()
        return result
    finally:
        if not keep and workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)


def _head(src: Path, dst: Path, n: int) -> None:
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
        for i, line in enumerate(f):
            if i >= n:
                break
            g.write(line)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def markdown(r: dict[str, Any]) -> str:
    """The results as the table in docs/benchmarks.md."""
    b, bs, q = r["build"], r["build_small"], r["query_bm25s"]
    rq, qr = r["query_rank_bm25"], r["query_bm25s_rank_size"]
    lines = [
        f"Machine: {r['machine']}. Load average at start / end: {r['load_average']} / {r.get('load_average_end')}.",
        "",
        "| what | rows | result |",
        "|---|---|---|",
        f"| bm25s index build (streaming) | {bs['rows']:,} | {bs['rows_per_s']:,.0f} rows/s, peak RSS "
        f"{bs['peak_rss_mib']:.0f} MiB (heap {bs['peak_anon_mib']:.0f} MiB), index {bs['index_mib']} MiB |",
        f"| bm25s index build (streaming) | {b['rows']:,} | {b['rows_per_s']:,.0f} rows/s ({b['seconds']} s), peak "
        f"RSS {b['peak_rss_mib']:.0f} MiB (heap {b['peak_anon_mib']:.0f} MiB), index {b['index_mib']} MiB "
        f"(captions file {b['captions_mib']} MiB, vocabulary {b['vocabulary']:,}, {b['postings']:,} postings) |",
        f"| bm25s query, top {r['top_k']}, memory-mapped | {q['rows']:,} | median {q['median_ms']} ms, p95 "
        f"{q['p95_ms']} ms; RSS while querying {q['VmRSS']:.0f} MiB ({q['RssAnon']:.0f} anonymous + "
        f"{q['RssFile']:.0f} file-backed); open {q['open_s']} s |",
        f"| bm25s query, top {r['top_k']} | {qr['rows']:,} | median {qr['median_ms']} ms, p95 {qr['p95_ms']} ms; "
        f"RSS {qr['VmRSS']:.0f} MiB |",
        f"| rank_bm25 (in memory) | {rq['rows']:,} | build {rq['open_s']} s; query median {rq['median_ms']} ms, "
        f"p95 {rq['p95_ms']} ms; RSS {rq['VmRSS']:.0f} MiB |",
    ]
    if "oracle" in r:
        o = r["oracle"]
        lines.append(f"| top {r['top_k']} vs oracle (bm25s in-memory Lucene) | {o['rows']:,} | "
                     f"{o['top400_identical']} of {o['queries']} queries identical; \"person\" in "
                     f"{o['person_share']:.0%} of captions |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m dreamrunner_cli.retrieval.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--captions", type=int, default=1_000_000, help="rows of the main bm25s run")
    ap.add_argument("--rank-bm25-captions", type=int, default=100_000, help="rows of the rank_bm25 comparison")
    ap.add_argument("--repeats", type=int, default=5, help="times each query is run")
    ap.add_argument("--workdir", type=Path, default=None, help="keep files here (default: a temp folder)")
    ap.add_argument("--json", action="store_true", help="print the JSON result instead of the markdown table")
    ap.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)  # internal: one measured phase
    args = ap.parse_args(argv)
    if args.phase:
        name, *rest = args.phase
        if name == "build":
            out = _phase_build(Path(rest[0]), Path(rest[1]))
        elif name == "query":
            out = _phase_query(Path(rest[0]), rest[1], int(rest[2]))
        elif name == "oracle":
            out = _phase_oracle(Path(rest[0]), Path(rest[1]))
        else:
            raise SystemExit(f"unknown phase {name}")
        print(json.dumps(out))
        return
    result = run_retrieval_bench(args.captions, args.rank_bm25_captions, workdir=args.workdir, repeats=args.repeats)
    print(json.dumps(result, indent=2) if args.json else markdown(result))


if __name__ == "__main__":
    main()
