"""Bounds on what comes in from outside: files people give us (stories, plan.json, config.json) and LLM replies.

Each reader states its limit, and a refusal (InputInvalid, exit 5) names the file, the limit and what raises it
(docs/reliability.md, "Every external input has a bound"):

* files: regular files only (a FIFO, ``/dev/zero`` or a folder is refused before it is opened for reading, so
  nothing blocks), at most ``limit`` bytes (read with at most ``limit + 1`` bytes in memory), strict UTF-8 (a leading
  byte-order mark, as Windows editors write it, is dropped);
* JSON: at most ``MAX_JSON_DEPTH`` levels of nesting and numbers of at most ``MAX_JSON_NUMBER_CHARS`` characters
  (Python parses a 100,000-digit integer in quadratic time, and refuses 4,301 digits with a ValueError that is no
  JSON error). A plan.json is 6 levels deep with numbers of ~20 characters, so the limits are fixed, not keys.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import InputInvalid

MAX_JSON_DEPTH = 64  # levels of [ and {; plan.json has 6, config.json 3
MAX_JSON_NUMBER_CHARS = 100  # characters of one number literal; a float needs at most 24
MAX_JSON_FILE_BYTES = 64 * 2**20  # plan.json, config.json (a 200-scene plan is ~2 MB)


class BoundExceeded(InputInvalid):
    """An input past one of the bounds above (exit 5); the message names the limit and how to raise it."""


def read_text(path: Path, limit: int, *, what: str, key: str | None = None) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, without a leading byte-order mark.

    ``what`` names the file in messages (``story file``); ``key`` is the config key that raises ``limit`` (None: a
    fixed limit). FileNotFoundError and other OS errors reach the caller (which words "not found" its own way); a
    FIFO, device or folder, a file over the limit and text that is not UTF-8 raise InputInvalid.
    """
    path = Path(path)
    # O_NONBLOCK: opening a FIFO with no writer returns at once instead of blocking (no effect on regular files).
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a socket"
                    if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise InputInvalid(f"{what} {path} is {kind}, not a regular file; only regular files are read",
                               hint="give the path of an ordinary text file (copy the pipe's output to a file first)")
        blob = f.read(limit + 1)  # never more than the limit (+1 to see that it is over) in memory
    if len(blob) > limit:
        raise BoundExceeded(
            f"{what} {path} is {max(st.st_size, len(blob)):,} bytes, above the limit of {limit:,} bytes"
            + (f" ({key})" if key else ""),
            hint=(f"shorten it, or raise the limit with --set {key}={max(st.st_size, 2 * limit)}" if key
                  else "this limit is fixed: the file is far larger than any valid one; restore it from a copy"))
    try:
        return blob.decode("utf-8-sig")  # a leading BOM is dropped (Windows editors write one)
    except UnicodeDecodeError as exc:
        at = exc.start + len(blob) - len(exc.object)  # utf-8-sig counts from after the BOM
        raise InputInvalid(f"{what} {path} is not UTF-8 text (invalid byte 0x{blob[at]:02x} at byte {at})",
                           hint="save it as UTF-8 text") from None


def loads_json(text: str | bytes, source: str) -> Any:
    """``json.loads`` with the depth and number-size bounds; ``source`` names the input in messages.

    json.JSONDecodeError (bad syntax) reaches the caller, which words it for its file; a bound raises
    BoundExceeded.
    """

    def number(kind: type) -> Any:
        def parse(literal: str) -> Any:
            if len(literal) > MAX_JSON_NUMBER_CHARS:
                raise BoundExceeded(
                    f"{source}: a number of {len(literal):,} characters ({literal[:12]}…), above the limit of "
                    f"{MAX_JSON_NUMBER_CHARS} characters for one JSON number",
                    hint="no valid value is that long (the limit is fixed): fix or remove that number")
            return kind(literal)
        return parse

    too_deep = BoundExceeded(f"{source}: JSON nested more than {MAX_JSON_DEPTH} levels deep, the limit",
                             hint="plan.json and config.json need 6 levels, so this input is damaged or hostile (the "
                                  "limit is fixed); restore it from a copy or write it again")
    try:
        data = json.loads(text, parse_int=number(int), parse_float=number(float))
    except RecursionError:  # the C parser recurses per level: ~1000 levels end here, not in a crash
        raise too_deep from None
    # Shallower than the recursion limit but deeper than ours: walk it without recursion.
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise too_deep
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return data


def read_json(path: Path, *, what: str) -> Any:
    """A JSON file (plan.json, config.json): ``read_text`` with MAX_JSON_FILE_BYTES, then ``loads_json``."""
    return loads_json(read_text(path, MAX_JSON_FILE_BYTES, what=what), str(path))
