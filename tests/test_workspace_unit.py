"""Fast in-process unit tests of dreamrunner_cli/workspace.py (issue 16: the mutation run's tests for that module).

No subprocess, model or video: small hand-made files under tmp_path. Safetensors files are built byte by byte
(``_st``) so the header's key order, the data layout and the padding can be chosen; ``safetensors.numpy`` checks that
they are real safetensors files.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import struct
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from dreamrunner_cli import __version__
from dreamrunner_cli import workspace as W
from dreamrunner_cli.errors import MissingUpstream, RecordsDamaged, WorkspaceBusy
from dreamrunner_cli.workspace import (
    Decision,
    Records,
    StageRun,
    Workspace,
    atomic_path,
    canonical_safetensors_bytes,
    canonicalize_safetensors,
    content_digest,
    dep_values,
    digest,
    file_digest,
    hash_deps,
    rebuild_records,
    records_checksum,
    sweep_temp,
    tensor_digest,
    tree_digest,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _sha16(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _old(path: Path, t: float = 1_000_000.0) -> Path:
    """Set ``path``'s mtime to ``t`` (long before this process started), without following a link."""
    os.utime(path, (t, t), follow_symlinks=False)
    return path


# Hashing ------------------------------------------------------------------------------------------------------


def test_digest_is_sorted_compact_json_sha256_short():
    assert digest({"b": 1, "a": [1, "x"]}) == _sha16(b'{"a":[1,"x"],"b":1}')
    assert digest({"b": 1, "a": 2}) == digest({"a": 2, "b": 1})
    assert digest(Path("some/file")) == digest("some/file")  # default=str
    assert len(digest(None)) == 16


def test_file_digest_hashes_every_byte(tmp_path):
    p = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000  # > 1 MiB: more than one chunk
    p.write_bytes(data)
    assert file_digest(p) == _sha16(data)
    p.write_bytes(b"")
    assert file_digest(p) == _sha16(b"")


def test_tree_digest_of_file_and_folder(tmp_path):
    f = tmp_path / "one.txt"
    f.write_bytes(b"hello")
    assert tree_digest(f) == _sha16(b"hello")

    d = tmp_path / "tree"
    (d / "sub" / "empty").mkdir(parents=True)
    (d / "b.txt").write_bytes(b"B")
    (d / "sub" / "a.txt").write_bytes(b"A")
    expected = digest([["b.txt", _sha16(b"B")], ["sub/a.txt", _sha16(b"A")]])
    assert tree_digest(d) == expected
    (d / "sub" / "empty2").mkdir()  # folders alone do not count
    assert tree_digest(d) == expected
    (d / "sub" / "a.txt").rename(d / "sub" / "c.txt")  # a name is part of it
    assert tree_digest(d) != expected


# Safetensors ----------------------------------------------------------------------------------------------------


def _st(tensors, order=None, metadata=None, meta_first=True, pad=0, layout=None) -> bytes:
    """A safetensors file: ``tensors`` = [(name, dtype, shape, data)], the header's keys in ``order`` (default: as
    given), the data section in ``layout`` order, ``pad`` extra spaces after the header JSON."""
    by_name = {t[0]: t for t in tensors}
    layout = layout or [t[0] for t in tensors]
    offsets, data, at = {}, b"", 0
    for name in layout:
        raw = by_name[name][3]
        offsets[name] = [at, at + len(raw)]
        data += raw
        at += len(raw)
    header = {}
    if metadata is not None and meta_first:
        header["__metadata__"] = metadata
    for name in order or [t[0] for t in tensors]:
        _, dtype, shape, _ = by_name[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": offsets[name]}
    if metadata is not None and not meta_first:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((-len(text) % 8) + pad)
    return struct.pack("<Q", len(text)) + text + data


A = ("a", "F32", [2, 2], np.arange(4, dtype=np.float32).tobytes())
B = ("b", "I64", [3], np.array([7, 8, 9], dtype=np.int64).tobytes())


def _write(tmp_path, name, blob) -> Path:
    p = tmp_path / name
    p.write_bytes(blob)
    return p


def test_hand_made_files_are_real_safetensors():
    arrays = st_load(_st([A, B], order=["b", "a"], metadata={"z": "1", "a": "2"}, layout=["b", "a"], pad=16))
    assert arrays["a"].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert arrays["b"].tolist() == [7, 8, 9]


def test_safetensors_header_parses_and_returns_data_offset():
    blob = _st([A, B])
    n = struct.unpack("<Q", blob[:8])[0]
    header, start = W._safetensors_header(blob, len(blob))
    assert start == 8 + n
    assert set(header) == {"a", "b"}
    assert header["b"] == {"dtype": "I64", "shape": [3], "data_offsets": [16, 40]}
    # only the header's bytes are parsed (the data right after it is not JSON)
    assert W._safetensors_header(blob[:8 + n], 8 + n) == (header, 8 + n)


def test_safetensors_header_with_data_right_after_it():
    text = b'{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    blob = struct.pack("<Q", len(text)) + text + b"\x01"  # no padding: a data byte follows the JSON at once
    header, start = W._safetensors_header(blob, len(blob))
    assert header == {"x": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}
    assert start == 8 + len(text)


def test_safetensors_header_refuses_damage():
    with pytest.raises(ValueError, match="^shorter than a safetensors header$"):
        W._safetensors_header(b"\x02\x00\x00\x00\x00\x00\x00", 100)
    with pytest.raises(ValueError, match="^shorter than a safetensors header$"):
        W._safetensors_header(b"", 100)
    ok = struct.pack("<Q", 2) + b"{}"
    assert W._safetensors_header(ok, 10) == ({}, 10)
    with pytest.raises(ValueError, match="^header length past the end of the file$"):
        W._safetensors_header(ok, 9)  # the file is shorter than the header says
    with pytest.raises(ValueError, match="^header length past the end of the file$"):
        W._safetensors_header(ok[:9], 100)  # fewer bytes given than the header needs
    with pytest.raises(ValueError, match="^header length past the end of the file$"):
        W._safetensors_header(b"\xff" * 8 + b"{}", 10)  # the length is unsigned: 2**64 - 1, not -1
    with pytest.raises(ValueError, match="^header is not a JSON object$"):
        W._safetensors_header(struct.pack("<Q", 2) + b"[]", 10)
    with pytest.raises(ValueError, match="Expecting value"):  # 8 bytes: a zero-length header, not JSON
        W._safetensors_header(struct.pack("<Q", 0), 8)
    with pytest.raises(UnicodeDecodeError):
        W._safetensors_header(struct.pack("<Q", 2) + b"\xff\xfe", 10)


def test_safetensors_header_size_limit_is_the_library_one():
    limit = 100 << 20
    head = struct.pack("<Q", limit) + b"{}" + b" " * (limit - 2)
    assert W._safetensors_header(head, len(head)) == ({}, 8 + limit)
    too_big = struct.pack("<Q", limit + 1)
    with pytest.raises(ValueError, match="^header length past the end of the file$"):
        W._safetensors_header(too_big + b"{}" + b" " * (limit - 1), 8 + limit + 1)


def test_tensor_digest_reads_a_header_at_the_size_limit(tmp_path):
    limit = 100 << 20
    p = tmp_path / "big.safetensors"
    p.write_bytes(struct.pack("<Q", limit) + b"{}" + b" " * (limit - 2))
    assert tensor_digest(p) == _sha16(b"{}")  # no metadata, no tensors


def test_tensor_digest_value_pins_the_format(tmp_path):
    p = _write(tmp_path, "x.safetensors", _st([A, B], metadata={"k": "v"}))
    h = hashlib.sha256()
    h.update(b'{"k": "v"}')
    h.update(b'["a", "F32", [2, 2], 16]')
    h.update(A[3])
    h.update(b'["b", "I64", [3], 24]')
    h.update(B[3])
    assert tensor_digest(p) == h.hexdigest()[:16]
    assert tensor_digest(str(p)) == tensor_digest(p)


def test_tensor_digest_ignores_key_order_layout_padding_and_metadata_order(tmp_path):
    base = tensor_digest(_write(tmp_path, "0.safetensors", _st([A, B], metadata={"x": "1", "y": "2"})))
    variants = [
        _st([A, B], order=["b", "a"], metadata={"x": "1", "y": "2"}),
        _st([A, B], metadata={"y": "2", "x": "1"}, meta_first=False),
        _st([A, B], metadata={"x": "1", "y": "2"}, layout=["b", "a"]),
        _st([A, B], metadata={"x": "1", "y": "2"}, pad=24),
    ]
    for i, blob in enumerate(variants):
        assert tensor_digest(_write(tmp_path, f"{i + 1}.safetensors", blob)) == base, i


def test_tensor_digest_no_metadata_equals_empty_metadata(tmp_path):
    assert (tensor_digest(_write(tmp_path, "n.safetensors", _st([A])))
            == tensor_digest(_write(tmp_path, "e.safetensors", _st([A], metadata={}))))


def test_tensor_digest_depends_on_every_tensor_field(tmp_path):
    def dg(name, blob):
        return tensor_digest(_write(tmp_path, name + ".safetensors", blob))

    base = dg("base", _st([A, B], metadata={"k": "v"}))
    b_bytes = bytearray(B[3])
    b_bytes[-1] ^= 1
    variants = {
        "renamed": _st([A, ("c",) + B[1:]], metadata={"k": "v"}),
        "dtype": _st([A, ("b", "F64", [3], B[3])], metadata={"k": "v"}),
        "shape": _st([A, ("b", "I64", [3, 1], B[3])], metadata={"k": "v"}),
        "bytes": _st([A, ("b", "I64", [3], bytes(b_bytes))], metadata={"k": "v"}),
        "first_bytes": _st([("a", "F32", [2, 2], np.ones(4, dtype=np.float32).tobytes()), B], metadata={"k": "v"}),
        "metadata": _st([A, B], metadata={"k": "w"}),
        "no_metadata": _st([A, B]),
        "fewer": _st([A], metadata={"k": "v"}),
    }
    seen = {base}
    for name, blob in variants.items():
        h = dg(name, blob)
        assert h not in seen, name
        seen.add(h)


def test_tensor_digest_accepts_empty_tensor_and_tensor_at_end(tmp_path):
    empty = ("e", "F32", [0], b"")
    p = _write(tmp_path, "e.safetensors", _st([A, empty, B]))  # "e" spans [16, 16]; "b" ends at the file's end
    assert st_load(p.read_bytes())["e"].shape == (0,)
    assert len(tensor_digest(p)) == 16


def test_tensor_digest_refuses_tensors_past_the_end(tmp_path):
    blob = _st([A, B])
    with pytest.raises(ValueError, match=r"^tensor 'b' lies past the end of the file \(truncated\?\)$"):
        tensor_digest(_write(tmp_path, "t.safetensors", blob[:-1]))
    header, start = W._safetensors_header(blob, len(blob))
    for bad in ([-1, 16], [8, 4]):
        h = dict(header)
        h["a"] = {**h["a"], "data_offsets": bad}
        text = json.dumps(h).encode()
        p = _write(tmp_path, "bad.safetensors", struct.pack("<Q", len(text)) + text + blob[start:])
        with pytest.raises(ValueError, match="tensor 'a' lies past the end"):
            tensor_digest(p)


def test_tensor_digest_file_shrinking_while_read(tmp_path, monkeypatch):
    p = _write(tmp_path, "s.safetensors", _st([A, B]))
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: types.SimpleNamespace(st_size=real_stat(path).st_size + 8))
    p.write_bytes(p.read_bytes()[:-4])  # "b" is now 4 bytes short, though the (stale) size says otherwise
    with pytest.raises(ValueError, match="^tensor 'b' is truncated$"):
        tensor_digest(p)


def test_tensor_digest_refuses_truncated_header(tmp_path):
    with pytest.raises(ValueError, match="^shorter than a safetensors header$"):
        tensor_digest(_write(tmp_path, "s.safetensors", b"\x01\x02"))
    with pytest.raises(ValueError, match="header length past the end"):
        tensor_digest(_write(tmp_path, "h.safetensors", _st([A])[:20]))


def test_content_digest_by_tensors_or_by_bytes(tmp_path):
    blob = _st([A, B], metadata={"x": "1", "y": "2"})
    p = _write(tmp_path, "w.safetensors", blob)
    q = _write(tmp_path, "w2.safetensors", _st([A, B], order=["b", "a"], metadata={"y": "2", "x": "1"}))
    assert content_digest(p) == tensor_digest(p) != file_digest(p)
    assert content_digest(str(q)) == content_digest(p)  # str accepted; header order ignored
    damaged = _write(tmp_path, "d.safetensors", blob[:-3])
    assert content_digest(damaged) == file_digest(damaged)  # damage still changes the fingerprint
    not_json = _write(tmp_path, "j.safetensors", struct.pack("<Q", 2) + b"[]")
    assert content_digest(not_json) == file_digest(not_json)
    no_offsets = _write(tmp_path, "k.safetensors", struct.pack("<Q", 8) + b'{"a":{}}')
    assert content_digest(no_offsets) == file_digest(no_offsets)
    bin_ = _write(tmp_path, "w.bin", blob)
    assert content_digest(bin_) == file_digest(bin_)
    assert tree_digest(p) == tree_digest(q)


def test_canonical_safetensors_bytes_sorts_and_pads(tmp_path):
    blob = _st([A, B], order=["b", "a"], metadata={"z": "1", "a": "2"}, meta_first=False, layout=["b", "a"], pad=8)
    header, start = W._safetensors_header(blob, len(blob))
    out = canonical_safetensors_bytes(blob)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    assert len(text) % 8 == 0
    assert out == struct.pack("<Q", len(text)) + text + blob[start:]
    n = struct.unpack("<Q", out[:8])[0]
    assert n == len(text)
    assert list(json.loads(out[8:8 + n])) == ["__metadata__", "a", "b"]
    assert out[8:8 + n].rstrip(b" ") == json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    loaded = st_load(out)
    assert loaded["a"].tolist() == [[0.0, 1.0], [2.0, 3.0]] and loaded["b"].tolist() == [7, 8, 9]
    assert canonical_safetensors_bytes(out) == out  # idempotent
    # the same tensors in any header order, padding or metadata order give the same bytes (same layout)
    other = _st([A, B], metadata={"a": "2", "z": "1"}, layout=["b", "a"])
    assert canonical_safetensors_bytes(other) == out


def test_canonical_safetensors_bytes_exact_padding():
    text = b'{"__metadata__":{"k":"v"}}'  # 26 bytes -> 6 spaces
    blob = struct.pack("<Q", len(text)) + text
    out = canonical_safetensors_bytes(blob)
    assert out == struct.pack("<Q", 32) + text + b" " * 6
    with pytest.raises(ValueError):
        canonical_safetensors_bytes(b"\x00" * 4)


def test_canonical_bytes_of_library_saves_are_byte_identical():
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(3, dtype=np.float16)}
    meta = {f"k{i}": str(i) for i in range(10)}
    one = canonical_safetensors_bytes(st_save(arrays, metadata=meta))
    two = canonical_safetensors_bytes(st_save(dict(reversed(list(arrays.items()))),
                                              metadata=dict(reversed(meta.items()))))
    assert one == two
    assert st_load(one)["w"].tolist() == arrays["w"].tolist()


def test_canonicalize_safetensors_rewrites_only_when_needed(tmp_path):
    blob = _st([A, B], order=["b", "a"])
    p = _write(tmp_path, "w.safetensors", blob)
    assert canonicalize_safetensors(str(p)) is True
    assert p.read_bytes() == canonical_safetensors_bytes(blob)
    ino = p.stat().st_ino
    assert canonicalize_safetensors(p) is False
    assert p.stat().st_ino == ino  # not rewritten
    assert [x.name for x in tmp_path.iterdir()] == ["w.safetensors"]


# Atomic writes ---------------------------------------------------------------------------------------------------


def test_atomic_path_renames_temp_over_target(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.json"  # parents are made
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".tmp-out-") and tmp.name.endswith(".json")
        assert tmp.exists() and not target.exists()
        assert tmp.stat().st_mode & 0o777 == 0o666 & ~_umask()
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]
    with atomic_path(str(target)) as tmp:  # existing folder, str accepted, replaces the target
        tmp.write_text("again")
    assert target.read_text() == "again"
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_atomic_path_failure_leaves_target_and_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_body_removing_temp(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(FileNotFoundError):
        with atomic_path(target) as tmp:
            tmp.unlink()
    assert list(tmp_path.iterdir()) == []


def test_write_helpers(tmp_path):
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    write_text_atomic(tmp_path / "t.txt", "é\n")
    assert (tmp_path / "t.txt").read_bytes() == "é\n".encode("utf-8")
    write_json_atomic(tmp_path / "j.json", {"b": "é", "a": Path("x/y")})
    assert (tmp_path / "j.json").read_bytes() == '{\n  "b": "é",\n  "a": "x/y"\n}\n'.encode("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "j.json", "t.txt"]


# sweep_temp -------------------------------------------------------------------------------------------------------


def test_sweep_temp_files_and_folders_top_level_only_by_default(tmp_path):
    d = tmp_path / "w"
    (d / "sub").mkdir(parents=True)
    f = _old(_write(d, ".tmp-a.json", b"x"))
    folder = d / ".tmp-dir"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "f").write_text("x")
    _old(folder)
    nested = _old(_write(d / "sub", ".tmp-nested", b"x"))
    keep = _old(_write(d, "tmp-not-prefixed", b"x"))
    removed = sweep_temp([d])
    assert sorted(removed) == sorted([f, folder])
    assert not f.exists() and not folder.exists()
    assert nested.exists() and keep.exists()


def test_sweep_temp_recursive_and_parents_first(tmp_path):
    d = tmp_path / "w"
    outer = d / ".tmp-outer"
    outer.mkdir(parents=True)
    inner = _old(_write(outer, ".tmp-inner", b"x"))
    _old(outer)
    (d / "-sub").mkdir()
    nested = _old(_write(d / "-sub", ".tmp-n", b"x"))
    removed = sweep_temp([d], [True])
    assert removed == [outer, nested]  # shallow first; what lay in a removed folder is not listed again
    assert not inner.exists() and not nested.exists()


def test_sweep_temp_older_than_is_strict(tmp_path):
    p = _old(_write(tmp_path, ".tmp-x", b"x"), 1000.0)
    assert sweep_temp([tmp_path], older_than=1000.0) == []
    assert p.exists()
    assert sweep_temp([tmp_path], older_than=1000.5) == [p]
    assert not p.exists()


def test_sweep_temp_default_cutoff_is_process_start(tmp_path):
    fresh = _write(tmp_path, ".tmp-fresh", b"x")  # written after this process started: may be ours
    old = _old(_write(tmp_path, ".tmp-old", b"x"), W._PROCESS_START - 1)
    assert sweep_temp([tmp_path]) == [old]
    assert fresh.exists()


def test_sweep_temp_skips_new_entries_and_goes_on(tmp_path):
    fresh = _write(tmp_path, ".tmp-fresh", b"x")
    (tmp_path / "sub").mkdir()
    old = _old(_write(tmp_path / "sub", ".tmp-old", b"x"))
    assert sweep_temp([tmp_path], [True], older_than=time.time() - 3600) == [old]
    assert fresh.exists()


def test_sweep_temp_never_follows_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = _old(_write(outside, ".tmp-precious", b"keep"))
    d = tmp_path / "w"
    d.mkdir()
    (d / ".tmp-link-dir").symlink_to(outside, target_is_directory=True)
    (d / ".tmp-link-file").symlink_to(precious)
    _old(d / ".tmp-link-dir")
    _old(d / ".tmp-link-file")
    link_folder = tmp_path / "linked"
    link_folder.symlink_to(outside, target_is_directory=True)
    assert sweep_temp([d, link_folder], [True, True]) == []
    assert precious.read_bytes() == b"keep"
    assert (d / ".tmp-link-dir").is_symlink() and (d / ".tmp-link-file").is_symlink()


def test_sweep_temp_skips_missing_folders_and_goes_on(tmp_path):
    old = _old(_write(tmp_path, ".tmp-x", b"x"))
    not_dir = _write(tmp_path, "file", b"x")
    assert sweep_temp([tmp_path / "missing", not_dir, tmp_path]) == [old]


def test_sweep_temp_vanishing_entry_is_skipped(tmp_path, monkeypatch):
    a = _old(_write(tmp_path, ".tmp-a", b"x"))
    b = _old(_write(tmp_path, ".tmp-b", b"x"))
    real = Path.lstat
    gone = []

    def lstat(self):
        if self == a and not gone:  # another cleaner removed it between the listing and the check
            gone.append(self)
            self.unlink()
        return real(self)

    monkeypatch.setattr(Path, "lstat", lstat)
    assert sweep_temp([tmp_path]) == [b]
    assert gone == [a]


# The workspace ------------------------------------------------------------------------------------------------------


def test_workspace_paths(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    ws = Workspace(str(tmp_path / "link"))
    assert ws.root == real and isinstance(ws.root, Path)
    r = real
    assert (ws.story, ws.plan, ws.config, ws.storyboard) == (r / "story.txt", r / "plan.json", r / "config.json",
                                                            r / "storyboard.png")
    assert (ws.records_file, ws.runs_log) == (r / "dreamrunner.lock", r / "runs.jsonl")
    assert (ws.refs_dir, ws.retrieval_dir, ws.adapters_dir, ws.renders_dir, ws.eval_dir, ws.masks_dir) == (
        r / "refs", r / "retrieval", r / "adapters", r / "renders", r / "eval", r / "masks")
    assert ws.story_video == r / "story.mp4"
    assert ws.scene_video("s02") == r / "renders" / "s02.mp4"
    assert ws.rel(r / "renders" / "s02.mp4") == "renders/s02.mp4"
    assert ws.rel(str(tmp_path / "link" / "a.txt")) == "a.txt"
    assert ws.rel(tmp_path / "elsewhere.txt") == str(tmp_path / "elsewhere.txt")
    assert ws.exists()
    assert not Workspace(tmp_path / "nope").exists()
    _write(tmp_path, "afile", b"")
    assert not Workspace(tmp_path / "afile").exists()


def test_require_plan(tmp_path):
    ws = Workspace(tmp_path)
    with pytest.raises(MissingUpstream) as exc:
        ws.require_plan()
    assert exc.value.exit_code == 3
    assert exc.value.message == f"plan.json not found in {ws.root}"
    assert exc.value.hint == f"run `dreamrunner plan STORY.txt --workspace {ws.root}` first"
    ws.plan.write_text("{}")
    assert ws.require_plan() == ws.plan


# The lock -------------------------------------------------------------------------------------------------------


def test_lock_writes_pid_and_refuses_a_second_holder(tmp_path):
    ws = Workspace(tmp_path / "a" / "ws")  # made on first lock
    ws.root.parent.mkdir()
    (ws.root).mkdir()
    (ws.root / ".dreamrunner.pid").write_text("pid 999999999 from an older, longer line")
    with ws.locked():
        assert (ws.root / ".dreamrunner.pid").read_text() == f"pid {os.getpid()}"
        with pytest.raises(WorkspaceBusy) as exc:
            with ws.locked():
                pass
        assert exc.value.exit_code == 6
        assert exc.value.message == f"workspace {ws.root} is in use by pid {os.getpid()}"
        assert exc.value.hint == "wait for it to finish, or pass --wait to queue behind it"
        t0 = time.monotonic()
        with pytest.raises(WorkspaceBusy):
            with ws.locked(wait=True, timeout=0.3):
                pass
        assert 0.3 <= time.monotonic() - t0 < 3
    with ws.locked():  # released on exit
        pass


def test_lock_made_in_a_new_folder(tmp_path):
    ws = Workspace(tmp_path / "x" / "y")
    with ws.locked():
        assert (ws.root / ".dreamrunner.pid").exists()
    with ws.locked():  # the folder exists now
        pass


def test_lock_holder_unknown(tmp_path):
    ws = Workspace(tmp_path)
    with open(tmp_path / ".dreamrunner.pid", "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(WorkspaceBusy, match="is in use by another process$"):
            with ws.locked():
                pass


def test_lock_wait_queues_behind_the_holder(tmp_path):
    ws = Workspace(tmp_path)
    held, release = threading.Event(), threading.Event()

    def holder():
        with ws.locked():
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    t0 = time.monotonic()
    with ws.locked(wait=True, timeout=5):
        assert time.monotonic() - t0 >= 0.25
    t.join(5)


def test_lock_released_when_body_fails(tmp_path):
    ws = Workspace(tmp_path)
    with pytest.raises(KeyError):
        with ws.locked():
            raise KeyError("x")
    with ws.locked():
        pass


# runs.jsonl -------------------------------------------------------------------------------------------------------


_ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def test_log_run_writes_checksummed_line(tmp_path):
    ws = Workspace(tmp_path / "new" / "ws")  # made, with its parents
    ws.log_run({"stage": "plan", "outcome": "ok", "sha": "forged", "path": Path("x"), "name": "é"})
    raw = ws.runs_log.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    raw.decode("ascii")  # ensure_ascii
    line = json.loads(raw)
    assert list(line) == sorted(line)
    assert _ISO_UTC.match(line["time"])
    assert line["version"] == __version__
    assert line["path"] == "x" and line["name"] == "é"
    sha = line.pop("sha")
    assert sha == digest(line) != "forged"
    assert ws.runs_log.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert ws.read_runs() == [line]


def test_log_run_appends_and_isolates_a_torn_line(tmp_path):
    ws = Workspace(tmp_path)
    ws.log_run({"n": 1})
    ws.log_run({"n": 2})
    lines = ws.runs_log.read_bytes().split(b"\n")
    assert len(lines) == 3 and lines[2] == b""  # no blank line between whole lines
    with open(ws.runs_log, "ab") as f:
        f.write(b'{"n": 3, "tor')
    ws.log_run({"n": 4})
    lines = ws.runs_log.read_bytes().split(b"\n")
    assert lines[2] == b'{"n": 3, "tor' and json.loads(lines[3])["n"] == 4 and lines[4] == b""
    entries, problems = ws.read_runs_checked()
    assert [e["n"] for e in entries] == [1, 2, 4]
    assert problems == ["runs.jsonl line 3: torn or damaged (not a whole JSON line); skipped"]


def test_read_runs_checked_reports_every_bad_line(tmp_path):
    ws = Workspace(tmp_path)
    assert ws.read_runs_checked() == ([], [])
    assert ws.read_runs() == []
    good = {"stage": "plan", "n": 1}
    sealed = {**good, "sha": digest(good)}
    lines = [
        json.dumps(sealed).encode(),                                   # 1 intact
        b"",                                                           # 2 blank: ignored
        b"   ",                                                        # 3 blank: ignored
        b'{"stage": "x"}',                                             # 4 from before sha: trusted
        b'{"a": "\xff\xfe"}',                                          # 5 not UTF-8
        b'{"stage": "pl',                                              # 6 torn
        b"[1, 2]",                                                     # 7 not an object
        json.dumps({**good, "n": 2, "sha": digest(good)}).encode(),    # 8 edited
        json.dumps({"stage": "y", "sha": None}).encode(),              # 9 null sha: trusted
    ]
    ws.runs_log.write_bytes(b"\n".join(lines) + b"\n")
    entries, problems = ws.read_runs_checked()
    assert entries == [good, {"stage": "x"}, {"stage": "y"}]
    assert problems == [
        "runs.jsonl line 5: not UTF-8 (byte 7); skipped",
        "runs.jsonl line 6: torn or damaged (not a whole JSON line); skipped",
        "runs.jsonl line 7: not a JSON object; skipped",
        "runs.jsonl line 8: its checksum does not match (edited or damaged); skipped",
    ]
    assert ws.read_runs() == entries


# Records --------------------------------------------------------------------------------------------------------


def test_decision_to_dict():
    assert Decision("render", "s01", True, "never ran").to_dict() == {
        "stage": "render", "item": "s01", "run": True, "reason": "never ran"}


def test_records_load_missing_is_empty(tmp_path):
    r = Records.load(Workspace(tmp_path))
    assert r.data == {"schema": 1, "stages": {}}
    assert r.get("plan", "x") is None and r.items("plan") == {}


def test_records_checksum_format_is_stable():
    data = {"stages": {}, "schema": 1, "note": "é", "checksum": "ignored"}
    blob = b'{"note":"\\u00e9","schema":1,"stages":{}}'
    assert records_checksum(data) == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert records_checksum({"p": Path("x")}) == "sha256:" + hashlib.sha256(b'{"p":"x"}').hexdigest()


def _record(tmp_path, stage="render", item="s01", deps=None, content=b"video"):
    ws = Workspace(tmp_path)
    out = _write(ws.root, f"{item}.mp4", content)
    r = Records.load(ws)
    r.record(stage, item, deps if deps is not None else {"plan.scenes[s01]": {"a": 1}}, [out])
    return ws, r, out


def test_record_writes_sealed_entry(tmp_path):
    ws = Workspace(tmp_path)
    out = _write(tmp_path, "s01.mp4", b"video")
    dep_file = _write(tmp_path, "dep.txt", b"dep")
    deps = {"plan.scenes[s01]": {"a": 1}, "config.render": {"steps": 8}, "story": dep_file}
    r = Records.load(ws)
    r.record("render", "s01", deps, [out, tmp_path / "not-written.png"], extra={"seed": 7})
    saved = json.loads(ws.records_file.read_text())
    assert saved["checksum"] == records_checksum(saved)
    assert saved["schema"] == 1
    entry = saved["stages"]["render"]["s01"]
    assert entry["deps"] == {"plan.scenes[s01]": digest({"a": 1}), "config.render": digest({"steps": 8}),
                             "story": _sha16(b"dep")}
    assert entry["outs"] == {"s01.mp4": _sha16(b"video")}
    assert entry["fingerprint"] == digest(entry["deps"])
    assert entry["values"] == {"plan.scenes[s01]": {"a": 1}, "config.render": {"steps": 8}}
    assert entry["seed"] == 7
    assert _ISO_UTC.match(entry["finished"])
    assert Records.load(ws).data == {k: v for k, v in saved.items() if k != "checksum"}
    assert r.get("render", "s01") == entry


def test_record_without_config_or_plan_deps_keeps_no_values(tmp_path):
    ws, r, _ = _record(tmp_path, deps={"story": "text"})
    assert "values" not in r.get("render", "s01")
    assert set(r.get("render", "s01")) == {"deps", "outs", "finished", "fingerprint"}


def test_record_reloads_before_writing(tmp_path):
    ws = Workspace(tmp_path)
    out = _write(tmp_path, "o", b"x")
    r1, r2 = Records.load(ws), Records.load(ws)
    r1.record("plan", "a", {}, [out])
    r2.record("render", "b", {}, [out])
    data = Records.load(ws).data
    assert set(data["stages"]) == {"plan", "render"}
    assert r2.get("plan", "a") is not None


def test_save_excludes_a_stale_checksum(tmp_path):
    ws = Workspace(tmp_path)
    Records(ws, {"schema": 1, "stages": {"s": {}}, "checksum": "sha256:stale"}).save()
    saved = json.loads(ws.records_file.read_text())
    assert saved["checksum"] == records_checksum({"schema": 1, "stages": {"s": {}}})
    assert Records.load(ws).data == {"schema": 1, "stages": {"s": {}}}


def test_items_is_a_copy(tmp_path):
    ws, r, _ = _record(tmp_path)
    items = r.items("render")
    assert list(items) == ["s01"]
    items.clear()
    assert r.get("render", "s01") is not None
    assert r.items("other") == {}


def test_decide_reasons(tmp_path):
    ws, r, out = _record(tmp_path, deps={"plan.scenes[s01]": {"a": 1}, "story": "text"})
    deps = {"plan.scenes[s01]": {"a": 1}, "story": "text"}
    assert r.decide("render", "s01", deps, [out]) == Decision("render", "s01", False, "up to date")
    assert r.decide("render", "s01", deps, [out], force=True) == Decision("render", "s01", True, "forced (--force)")
    assert r.decide("render", "s02", deps, [out]) == Decision("render", "s02", True, "never ran")
    assert r.decide("plan", "s01", deps, [out]).reason == "never ran"
    assert r.decide("render", "s01", {**deps, "plan.scenes[s01]": {"a": 2}}, [out]) == \
        Decision("render", "s01", True, "plan.scenes[s01].a changed")
    assert r.decide("render", "s01", {"story": "text"}, [out]).reason == "plan.scenes[s01] changed"
    d = r.decide("render", "s01", {"story": "new", "extra": 1}, [out])
    assert d.run and d.reason == "story changed, extra changed, plan.scenes[s01] changed"
    # an output edited by hand is kept (the edit wins); a missing one makes the item re-run
    out.write_bytes(b"edited")
    assert r.decide("render", "s01", deps, [out]).reason == "up to date"
    missing = ws.root / "renders" / "gone.mp4"
    d = r.decide("render", "s01", deps, [out, missing])
    assert d == Decision("render", "s01", True, "output renders/gone.mp4 missing")
    out.unlink()
    assert r.decide("render", "s01", deps, [str(out)]).reason == "output s01.mp4 missing"


def test_decide_path_deps(tmp_path):
    ws = Workspace(tmp_path)
    dep = _write(tmp_path, "ref.png", b"png")
    out = _write(tmp_path, "o", b"x")
    r = Records.load(ws)
    r.record("plan", "x", {"refs": dep}, [out])
    assert r.decide("plan", "x", {"refs": dep}, [out]).reason == "up to date"
    dep.write_bytes(b"png2")
    assert r.decide("plan", "x", {"refs": dep}, [out]).reason == "refs changed"
    dep.unlink()
    assert hash_deps({"refs": dep}) == {"refs": "missing"}
    assert r.decide("plan", "x", {"refs": dep}, [out]).reason == "refs changed"


def test_decide_names_the_config_keys_that_changed(tmp_path):
    ws = Workspace(tmp_path)
    out = _write(tmp_path, "o", b"x")
    r = Records.load(ws)
    old = {"steps": 8, "cfg": 7.5, "size": {"w": 512}}
    r.record("render", "s01", {"config.render": old, "config.adapt (motion)": {"rank": 4}, "plan": 1}, [out])

    def why(deps):
        return r.decide("render", "s01", {"config.render": old, "config.adapt (motion)": {"rank": 4}, "plan": 1,
                                          **deps}, [out]).reason

    assert why({"config.render": {**old, "steps": 40}}) == "config.render.steps 8 → 40"
    assert why({"config.render": {**old, "size": {"w": 768}, "steps": 9}}) == \
        "config.render.size.w 512 → 768, config.render.steps 8 → 9"
    assert why({"config.adapt (motion)": {"rank": 8}}) == "config.adapt.rank 4 → 8 (motion)"
    assert why({"config.render": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}}) == (
        "config.render.a (unset) → 1, config.render.b (unset) → 2, config.render.c (unset) → 3, "
        "config.render.cfg 7.5 → (unset), … and 4 more")
    assert why({"config.render": "x" * 9000}) == "config.render changed"  # too large to keep
    assert why({"plan": 2}) == "plan changed"  # not a config dep: no values kept


def test_what_changed_without_usable_old_values(tmp_path):
    ws = Workspace(tmp_path)
    out = _write(tmp_path, "o", b"x")
    r = Records(ws, {"schema": 1, "stages": {"render": {
        "old": {"deps": {"config.render": "hash-before-values"}, "outs": {}},
        "bad": {"deps": {"config.render": "h"}, "outs": {}, "values": ["not", "a", "dict"]},
        "same": {"deps": {"config.render": "h"}, "outs": {}, "values": {"config.render": {"steps": 8}}},
    }}})
    deps = {"config.render": {"steps": 40}}
    assert r.decide("render", "old", deps, [out]).reason == "config.render changed"
    assert r.decide("render", "bad", deps, [out]).reason == "config.render changed"
    # the hash differs but the kept values do not (a record edited by hand): nothing to name but the dep
    assert r.decide("render", "same", {"config.render": {"steps": 8}}, [out]).reason == "config.render changed"
    assert W._what_changed("config.render", {"config.render": {"steps": 8}}, {"config.render": {"steps": 8}}) == \
        "config.render changed"
    assert W._what_changed("config.x (q)", {}, {"config.x (q)": {"k": 1}}) == "config.x (q) changed"
    assert W._what_changed("config.x (q)", {"config.x (q)": {"k": 1}}, {"config.x (q)": {"k": 2}}) == \
        "config.x.k 1 → 2 (q)"


def test_records_without_deps_or_outs(tmp_path):
    """verify_records accepts an item without "deps" or "outs" (both default to empty): every reader must too."""
    ws = Workspace(tmp_path)
    out = _write(tmp_path, "o.mp4", b"x")
    ws.records_file.write_text(json.dumps({"schema": 1, "stages": {"render": {"s01": {}}}}))
    r = Records.load(ws)
    assert r.decide("render", "s01", {}, [out]) == Decision("render", "s01", False, "up to date")
    assert r.decide("render", "s01", {"x": 1}, [out]) == Decision("render", "s01", True, "x changed")
    assert r.output_changed("render", "s01", out) is True  # nothing recorded for it
    assert r.verify_outputs() == []


def test_dep_values_are_stored_with_sorted_keys(tmp_path):
    """The records file does not depend on the order of the config's keys."""
    assert list(dep_values({"config.render": {"b": 1, "a": {"d": 1, "c": 2}}})["config.render"]) == ["a", "b"]
    assert list(dep_values({"config.render": {"b": 1, "a": {"d": 1, "c": 2}}})["config.render"]["a"]) == ["c", "d"]
    texts = []
    for i, value in enumerate([{"b": 1, "a": 2}, {"a": 2, "b": 1}]):
        ws = Workspace(tmp_path / str(i))
        ws.root.mkdir()
        out = _write(ws.root, "o", b"x")
        Records.load(ws).record("render", "s01", {"config.render": value}, [out])
        texts.append(ws.records_file.read_text().split('"values"')[1])
    assert texts[0] == texts[1]


def test_dep_values_keeps_small_config_values():
    big = "a" * (W.MAX_VALUE_CHARS - 2)  # its JSON is exactly MAX_VALUE_CHARS long
    assert len(json.dumps(big)) == W.MAX_VALUE_CHARS
    deps = {"config.render": {"b": (1, 2), "p": Path("x")}, "config.big": big, "config.bigger": big + "a",
            "config.file": Path("f"), "plan": {"a": 1}, "xconfig": 1}
    assert dep_values(deps) == {"config.render": {"b": [1, 2], "p": "x"}, "config.big": big}


def test_output_changed(tmp_path):
    ws, r, out = _record(tmp_path)
    assert r.output_changed("render", "s01", out) is False
    assert r.output_changed("render", "nope", out) is False
    out.write_bytes(b"edited")
    assert r.output_changed("render", "s01", out) is True
    assert r.output_changed("render", "s01", str(out)) is True
    out.unlink()
    assert r.output_changed("render", "s01", out) is False
    other = _write(tmp_path, "other.mp4", b"x")  # never recorded for the item
    assert r.output_changed("render", "s01", other) is True


def test_output_changed_folder(tmp_path):
    ws = Workspace(tmp_path)
    folder = tmp_path / "adapters" / "hero"
    folder.mkdir(parents=True)
    _write(folder, "w.safetensors", _st([A]))
    r = Records.load(ws)
    r.record("adapt", "hero", {}, [folder])
    assert r.get("adapt", "hero")["outs"] == {"adapters/hero": tree_digest(folder)}
    assert r.output_changed("adapt", "hero", folder) is False
    _write(folder, "w.safetensors", _st([A], order=["a"], pad=8))  # same tensors, other bytes
    assert r.output_changed("adapt", "hero", folder) is False
    _write(folder, "extra.txt", b"x")
    assert r.output_changed("adapt", "hero", folder) is True


def test_verify_outputs(tmp_path):
    ws = Workspace(tmp_path)
    a = _write(tmp_path, "a.mp4", b"a")
    b = _write(tmp_path, "b.mp4", b"b")
    c = _write(tmp_path, "c.mp4", b"c")
    r = Records.load(ws)
    r.record("render", "s01", {}, [a, b])
    r.record("evaluate", "all", {}, [c])
    assert r.verify_outputs() == []
    a.unlink()
    b.write_bytes(b"B")
    c.write_bytes(b"C")
    assert r.verify_outputs() == [
        {"stage": "render", "item": "s01", "output": "a.mp4", "state": "missing"},
        {"stage": "render", "item": "s01", "output": "b.mp4", "state": "changed"},
        {"stage": "evaluate", "item": "all", "output": "c.mp4", "state": "changed"},
    ]


# Damaged records ----------------------------------------------------------------------------------------------------


def _damaged(ws: Workspace, content) -> RecordsDamaged:
    ws.root.mkdir(parents=True, exist_ok=True)
    ws.records_file.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    with pytest.raises(RecordsDamaged) as exc:
        Records.load(ws)
    return exc.value


def test_damaged_records_are_refused_naming_file_and_fix(tmp_path):
    ws = Workspace(tmp_path)
    hint = (f"run `dreamrunner status {ws.root} --rebuild-records` to set it aside and start empty records (then "
            "every item re-runs, overwriting its outputs: look first with --dry-run), or restore the file from a "
            "backup")
    name = f"{ws.records_file} is damaged: "
    cases = [
        (b'{"schema": 1, "stages": {}, "x": "\xff"}', "not UTF-8 text (byte 34)"),
        (b'{"schema": 1, "stages": {', "not valid JSON (Expecting property name enclosed in double quotes at line 1 "
                                       "column 26; truncated?)"),
        (b'{"schema": 1,\n "stages"', "not valid JSON (Expecting ':' delimiter at line 2 column 10; truncated?)"),
        ([1, 2], "not a JSON object"),
        ({"schema": 0, "stages": {}}, "unknown records schema 0 (expected 1)"),
        ({"schema": "1", "stages": {}}, "unknown records schema '1' (expected 1)"),
        ({"stages": {}}, "unknown records schema None (expected 1)"),
        ({"schema": 1}, "its 'stages' are not {stage: {item: {deps, outs}}}"),
        ({"schema": 1, "stages": []}, "its 'stages' are not {stage: {item: {deps, outs}}}"),
        ({"schema": 1, "stages": {"plan": []}}, "its 'stages' are not {stage: {item: {deps, outs}}}"),
        ({"schema": 1, "stages": {"plan": {"a": 1}}}, "its 'stages' are not {stage: {item: {deps, outs}}}"),
        ({"schema": 1, "stages": {"plan": {"a": {"deps": []}}}}, "its 'stages' are not {stage: {item: {deps, outs}}}"),
        ({"schema": 1, "stages": {"plan": {"a": {"outs": "x"}}}}, "its 'stages' are not {stage: {item: {deps, outs}}}"),
        ({"schema": 1, "stages": {"plan": {"a": {}}, "render": {"b": {"deps": {}, "outs": []}}}},
         "its 'stages' are not {stage: {item: {deps, outs}}}"),
        ({"schema": 1, "stages": {}, "checksum": "sha256:0"},
         "its checksum does not match its content (edited by hand, or the disk damaged it)"),
    ]
    for content, what in cases:
        err = _damaged(ws, content)
        assert err.exit_code == 5, what
        assert err.message == name + what
        assert err.hint == hint
        assert "--rebuild-records" in err.hint


def test_newer_records_schema_asks_for_an_upgrade(tmp_path):
    ws = Workspace(tmp_path)
    err = _damaged(ws, {"schema": 2, "stages": {}})
    assert err.exit_code == 5
    assert err.message == f"{ws.records_file} was written by a newer dreamrunner (records schema 2)"
    assert err.hint == "upgrade dreamrunner (`pip install -U dreamrunner`)"


def test_records_without_checksum_are_trusted_once(tmp_path):
    ws = Workspace(tmp_path)
    data = {"schema": 1, "stages": {"plan": {"a": {}, "b": {"deps": {"x": "1"}, "outs": {}}}}}
    ws.records_file.write_text(json.dumps(data))
    r = Records.load(ws)
    assert r.data == data
    r.save()
    assert json.loads(ws.records_file.read_text())["checksum"] == records_checksum(data)
    sealed = json.loads(ws.records_file.read_text())
    assert Records.load(ws).data == data and "checksum" in sealed


def test_rebuild_records(tmp_path, monkeypatch):
    ws = Workspace(tmp_path)
    assert rebuild_records(ws) is None
    assert not ws.records_file.exists()

    class FakeDatetime(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz)

    monkeypatch.setattr(W, "_dt", types.SimpleNamespace(datetime=FakeDatetime, timezone=dt.timezone))
    ws.records_file.write_bytes(b"garbage 1")
    aside = rebuild_records(ws)
    assert aside == tmp_path / "dreamrunner.lock.damaged-20240102T030405Z"
    assert aside.read_bytes() == b"garbage 1"
    assert Records.load(ws).data == {"schema": 1, "stages": {}}
    assert json.loads(ws.records_file.read_text())["checksum"] == records_checksum({"schema": 1, "stages": {}})
    ws.records_file.write_bytes(b"garbage 2")
    assert rebuild_records(ws) == tmp_path / "dreamrunner.lock.damaged-20240102T030405Z-1"
    ws.records_file.write_bytes(b"garbage 3")
    assert rebuild_records(ws) == tmp_path / "dreamrunner.lock.damaged-20240102T030405Z-2"
    assert (tmp_path / "dreamrunner.lock.damaged-20240102T030405Z").read_bytes() == b"garbage 1"
    assert (tmp_path / "dreamrunner.lock.damaged-20240102T030405Z-1").read_bytes() == b"garbage 2"
    assert (tmp_path / "dreamrunner.lock.damaged-20240102T030405Z-2").read_bytes() == b"garbage 3"


@pytest.fixture
def far_zone(monkeypatch):
    """The local time zone 5 h 30 min off UTC (a POSIX TZ string: no tz database needed)."""
    monkeypatch.setenv("TZ", "XST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_rebuild_records_stamp_is_utc_now(tmp_path, far_zone):
    assert time.localtime().tm_gmtoff == 5 * 3600 + 1800
    ws = Workspace(tmp_path)
    ws.records_file.write_bytes(b"x")
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    aside = rebuild_records(ws)
    after = dt.datetime.now(dt.timezone.utc)
    stamp = aside.name.removeprefix("dreamrunner.lock.damaged-")
    when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    assert before <= when <= after


# StageRun ---------------------------------------------------------------------------------------------------------


def test_stage_run_sweeps_its_folders_and_notes_it(tmp_path):
    ws = Workspace(tmp_path)
    (ws.root / "renders" / "deep").mkdir(parents=True)
    (ws.root / "masks").mkdir()
    (ws.root / "other").mkdir()
    gone = [_old(_write(ws.root, ".tmp-plan-1.json", b"x")),
            _old(_write(ws.root / "renders" / "deep", ".tmp-s01-2.mp4", b"x")),
            _old(_write(ws.root / "masks", ".tmp-m", b"x"))]
    kept = [_old(_write(ws.root / "other", ".tmp-o", b"x"))]
    sr = StageRun(ws, "render")
    assert all(not p.exists() for p in gone) and all(p.exists() for p in kept)
    assert sr.notes == ["removed 3 temporary file(s) left by an interrupted run: .tmp-plan-1.json, "
                        "renders/deep/.tmp-s01-2.mp4, masks/.tmp-m"]
    assert sr.info == {} and sr.items == [] and sr.records.data == {"schema": 1, "stages": {}}


def test_stage_run_root_is_swept_shallow_and_notes_cut_at_five(tmp_path):
    ws = Workspace(tmp_path)
    (ws.root / "renders").mkdir(parents=True)
    deep = _old(_write(ws.root / "renders", ".tmp-r", b"x"))
    for i in range(5):
        _old(_write(ws.root, f".tmp-{i}", b"x"))
    sr = StageRun(ws, "plan")
    assert deep.exists()  # not a plan folder, and the workspace folder itself is swept shallow
    head = "removed 5 temporary file(s) left by an interrupted run: "
    assert sr.notes[0].startswith(head) and not sr.notes[0].endswith("…")
    assert sorted(sr.notes[0][len(head):].split(", ")) == [f".tmp-{i}" for i in range(5)]
    _old(_write(ws.root, ".tmp-5", b"x"))
    (ws.root / "refs").mkdir()
    for i in range(6, 8):
        _old(_write(ws.root / "refs", f".tmp-{i}", b"x"))
    sr = StageRun(ws, "plan")
    assert len(sr.notes) == 1
    assert sr.notes[0].startswith("removed 3 temporary file(s)") and not sr.notes[0].endswith("…")
    for i in range(6):
        _old(_write(ws.root, f".tmp-{i}", b"x"))
    sr = StageRun(ws, "unknown-stage")
    assert sr.notes[0].startswith("removed 6 temporary file(s) left by an interrupted run: ")
    assert sr.notes[0].endswith(" …") and sr.notes[0].count(", ") == 4


def test_stage_run_dry_run_sweeps_nothing(tmp_path):
    ws = Workspace(tmp_path)
    p = _old(_write(ws.root, ".tmp-x", b"x"))
    sr = StageRun(ws, "plan", dry_run=True)
    assert p.exists() and sr.notes == []
    assert StageRun(ws, "plan").notes != [] and not p.exists()
    assert StageRun(ws, "plan").notes == []


def test_stage_run_decide_finish_close(tmp_path):
    ws = Workspace(tmp_path)
    out1, out2 = ws.root / "s01.mp4", ws.root / "s02.mp4"
    sr = StageRun(ws, "render")
    d1 = sr.decide("s01", {"x": 1}, [out1], info={"loras": ["hero"]})
    d2 = sr.decide("s02", {"x": 1}, [out2])
    assert d1 == Decision("render", "s01", True, "never ran")
    assert sr.items == [
        {"stage": "render", "item": "s01", "run": True, "reason": "never ran", "action": "pending",
         "loras": ["hero"]},
        {"stage": "render", "item": "s02", "run": True, "reason": "never ran", "action": "pending"},
    ]
    out1.write_bytes(b"1")
    sr.finish(d1, {"x": 1}, [out1], extra={"seed": 3})
    rec = Records.load(ws).get("render", "s01")
    assert rec["seed"] == 3
    assert sr.items[0]["action"] == "ran" and sr.items[0]["fingerprint"] == rec["fingerprint"]
    assert sr.items[1]["action"] == "pending" and "fingerprint" not in sr.items[1]
    assert d2.item == "s02"
    sr._start = 0.0
    with pytest.MonkeyPatch.context() as m:
        m.setattr(time, "monotonic", lambda: 1.23456)
        sr.close(outcome="partial", seeds=[1], models={"m": "id"})
    assert sr.info == {"seeds": [1], "models": {"m": "id"}}
    (entry,) = ws.read_runs()
    assert entry["stage"] == "render" and entry["outcome"] == "partial"
    assert entry["seeds"] == [1] and entry["models"] == {"m": "id"}
    assert entry["items"] == [{"item": "s01", "action": "ran", "reason": "never ran"},
                              {"item": "s02", "action": "pending", "reason": "never ran"}]
    assert entry["seconds"] == 1.235  # time since the StageRun began, in ms
    res = sr.result(extra_key=1)
    assert res == {"stage": "render", "workspace": str(ws.root), "dry_run": False, "items": sr.items, "notes": [],
                   "seeds": [1], "models": {"m": "id"}, "extra_key": 1}

    sr = StageRun(ws, "render")
    assert sr.decide("s01", {"x": 1}, [out1]).reason == "up to date"
    assert sr.items[0]["action"] == "skipped"
    sr.close()
    assert ws.read_runs()[-1]["outcome"] == "ok"
    assert isinstance(ws.read_runs()[-1]["seconds"], float) and 0 <= ws.read_runs()[-1]["seconds"] < 60
    assert ws.read_runs()[-1]["items"] == [{"item": "s01", "action": "skipped", "reason": "up to date"}]


def test_stage_run_force_and_dry_run(tmp_path):
    ws = Workspace(tmp_path)
    out = _write(ws.root, "s01.mp4", b"1")
    Records.load(ws).record("render", "s01", {}, [out])
    sr = StageRun(ws, "render", force=True, dry_run=True)
    assert sr.decide("s01", {}, [out]).reason == "forced (--force)"
    assert sr.decide("s01", {}, [out], force=False).reason == "up to date"
    assert [it["action"] for it in sr.items] == ["would run", "skipped"]
    sr.close(outcome="ok", note="x")
    assert sr.info == {"note": "x"}
    assert not ws.runs_log.exists()  # a dry run logs nothing
    assert sr.result()["dry_run"] is True
    sr = StageRun(ws, "render")
    assert sr.decide("s01", {}, [out], force=True).reason == "forced (--force)"
    assert sr.decide("s01", {}, [out]).reason == "up to date"
