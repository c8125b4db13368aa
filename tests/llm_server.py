"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, for the LLM planner tests.

It serves a script of steps, one per request: a reply, an HTTP error status, a hang, a 400 for requests that
ask for json_schema output, a reply dripped one byte at a time (``drip``: the body, or the headers too), or raw
response bytes (``raw``: invalid UTF-8, oversized or gzip-bombed bodies). When the script is empty it asks
``responder`` for reply text or a step (``plan_responder`` writes a valid plan for whatever the planner asks,
reading only the first user message), or answers 500 "script exhausted" so a test
that makes more requests than it scripted fails visibly. Every request is recorded (body and headers).
``GET /v1/models`` lists ``models`` (id → extra fields, e.g. vLLM's ``max_model_len``); those requests are recorded
in ``model_lists`` only, so chat request counts stay exact.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def build_tiny_chat_model(path: Path, max_position_embeddings: int = 8192) -> Path:
    """A random 1-layer Llama with a word-level tokenizer and a chat template, saved as safetensors in ``path``
    (for the transformers backend; its replies are garbage)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    words = '{ } [ ] : , " reasoning scenes keyframes box caption the a is story scene system user assistant'
    tk.train_from_iterator([words],
                           trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    tok.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}assistant:{% endif %}")
    torch.manual_seed(0)
    lm = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=2,
                                      max_position_embeddings=max_position_embeddings,
                                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id))
    lm.save_pretrained(path)
    tok.save_pretrained(path)
    assert list(path.glob("*.safetensors"))
    return path


def reply(content: str | dict, finish_reason: str = "stop") -> dict:
    return {"kind": "reply", "content": content if isinstance(content, str) else json.dumps(content),
            "finish_reason": finish_reason}


def status(code: int, message: str = "scripted error", headers: dict[str, str] | None = None) -> dict:
    return {"kind": "status", "code": code, "message": message, "headers": headers or {}}


def hang(seconds: float) -> dict:
    return {"kind": "hang", "seconds": seconds}


def drip(interval: float = 1.0, headers: bool = False, content: str = "{}") -> dict:
    """A 200 reply sent one byte every ``interval`` seconds (the body; with ``headers``, the status line and headers
    too): every read gets a byte, so no read timeout ever fires. Ends early on stop()."""
    return {"kind": "drip", "interval": interval, "headers": headers, "content": content}


def raw(body: bytes, headers: dict[str, str] | None = None) -> dict:
    """A 200 response with exactly these body bytes (Content-Type: application/json unless ``headers`` says)."""
    return {"kind": "raw", "body": body, "headers": {"Content-Type": "application/json", **(headers or {})}}


def completion_body(content: str | bytes) -> bytes:
    """The bytes of a chat-completions response whose reply is ``content`` (bytes: spliced in as they are)."""
    marker = "@@CONTENT@@"
    text = json.dumps({"id": "chatcmpl-raw", "object": "chat.completion", "created": 0, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": marker}}]})
    head, tail = text.encode().split(marker.encode())
    return head + (content if isinstance(content, bytes) else content.encode()) + tail


def reject_json_schema() -> dict:
    """400 if the request asks for response_format json_schema; otherwise fall through to the next step."""
    return {"kind": "reject_json_schema"}


class ScriptedLLMServer:
    def __init__(self, script: list[dict] | None = None,
                 responder: Callable[[dict], str | dict] | None = None):
        self.script: deque[dict] = deque(script or [])
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.models: dict[str, dict[str, Any]] = {}
        self.model_lists = 0
        self.dripped = 0  # bytes sent by drip steps (after the first of each)
        self._lock = threading.Lock()
        self._release = threading.Event()  # ends hangs early on stop()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                if not self.path.endswith("/models"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                with server._lock:
                    server.model_lists += 1
                    data = [{"id": mid, "object": "model", "created": 0, "owned_by": "test", **extra}
                            for mid, extra in server.models.items()]
                self._send(200, {"object": "list", "data": data})

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    server.requests.append({"path": self.path, "body": body, "headers": headers})
                    step = server._next_step(body)
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if step["kind"] == "hang":
                    server._release.wait(step["seconds"])
                    step = {"kind": "status", "code": 504, "message": "hung", "headers": {}}
                if step["kind"] == "status":
                    return self._send(step["code"], {"error": {"message": step["message"], "type": "scripted"}},
                                      step["headers"])
                if step["kind"] == "drip":
                    return self._drip(step)
                if step["kind"] == "raw":
                    return self._send_bytes(200, step["body"], step["headers"])
                self._send(200, {
                    "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion", "created": 0,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "finish_reason": step["finish_reason"],
                                 "message": {"role": "assistant", "content": step["content"]}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _send(self, code: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                self._send_bytes(code, json.dumps(payload).encode(),
                                 {"Content-Type": "application/json", **(headers or {})})

            def _send_bytes(self, code: int, data: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def _drip(self, step: dict) -> None:
                body = completion_body(step["content"])
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                        "\r\n").encode()
                if not step["headers"]:
                    self.wfile.write(head)
                    head = b""
                self.close_connection = True
                try:
                    for i in range(len(head) + len(body)):
                        self.wfile.write((head + body)[i:i + 1])
                        if server._release.wait(step["interval"]):
                            return  # stop(): end the drip
                        with server._lock:
                            server.dripped += 1
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _next_step(self, body: dict) -> dict:
        while self.script:
            step = self.script.popleft()
            if step["kind"] == "reject_json_schema":
                if (body.get("response_format") or {}).get("type") == "json_schema":
                    return status(400, "response_format json_schema is not supported by this server")
                continue
            return step
        if self.responder is not None:
            answer = self.responder(body)  # reply text, or a step (drip, raw, status, ...)
            return answer if isinstance(answer, dict) else reply(answer)
        return status(500, "script exhausted: the test made more requests than it scripted")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> ScriptedLLMServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# A responder that plans like a (very literal) LLM: valid under every check, for any story --------------------

_MOTIONS = [("walking", "walking along a path"), ("waving", "waving hands"), ("jumping", "jumping up and down"),
            ("sitting", "sitting down"), ("running", "running forward"), ("dancing", "dancing in a circle"),
            ("stretching", "stretching arms"), ("looking", "looking around")]
_PLACES = ["a sunny meadow", "a quiet kitchen", "a forest path", "a sandy beach", "a small garden",
           "a city park", "a cosy bedroom", "a wooden bridge"]


def _line(text: str, label: str) -> str:
    m = re.search(rf"^{re.escape(label)}: (.*)$", text, flags=re.M)
    assert m, f"{label!r} not found in the prompt"
    return m.group(1)


def plan_responder(body: dict) -> str:
    """Answer the planner's first question in the conversation (repairs get the same, correct answer)."""
    system = body["messages"][0]["content"]
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if "storyboard for a text-to-video model" in system:
        return json.dumps(_outline(user, system))
    if "lay out one scene" in system:
        return json.dumps(_layout(user))
    if "regions of a storyboard key frame overlap" in system:
        groups = json.loads(_line(user, "Groups"))
        return json.dumps({"reasoning": "join the captions",
                           "merged": [{"group": g["group"], "caption": " while ".join(g["captions"])}
                                      for g in groups]})
    raise AssertionError("unknown prompt")


def _outline(user: str, system: str) -> dict:
    given = _line(user, "Characters given")
    story = user.split("Story:\n", 1)[1]
    # No characters given: like a real model, name the story's main character (its most frequent name).
    names = re.findall(r"(?<=[a-z,] )([A-Z][a-z]+)\b", story) or re.findall(r"\b([A-Z][a-z]+)\b", story) or ["Hero"]
    main = max(sorted(set(names)), key=names.count)
    chars = json.loads(given) if given.startswith("[") else [
        {"id": main.lower(), "name": main, "description": "a small hero in a red coat"}]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", story) if s.strip()]
    lo = int(re.search(r"Write between (\d+) and (\d+) scenes", system).group(1))
    hi = int(re.search(r"Write between (\d+) and (\d+) scenes", system).group(2))
    n = min(max(len(sentences), lo), hi)
    per_scene = 1 if len(chars) > 1 else 2  # one motion per character, or two for a single character
    scenes, used = [], []
    for k in range(n):
        ids = []
        for j in range(max(per_scene, len(chars)) if len(chars) > 1 else per_scene):
            mid, desc = _MOTIONS[(2 * k + j) % len(_MOTIONS)]
            if mid not in ids:
                ids.append(mid)
            if (mid, desc) not in used:
                used.append((mid, desc))
        chunk = sentences[k * len(sentences) // n:(k + 1) * len(sentences) // n] or [sentences[-1]]
        scenes.append({"id": f"s{k + 1:02d}", "location": _PLACES[k % len(_PLACES)],
                       "characters": [c["id"] for c in chars], "motions": ids, "narration": " ".join(chunk),
                       "background": f"{_PLACES[k % len(_PLACES)].capitalize()} in soft daylight."})
    used_ids = {m for s in scenes for m in s["motions"]}
    return {"reasoning": f"{n} scenes, one per part of the story.",
            "characters": [{"id": c["id"], "name": c.get("name", c["id"]), "description": c["description"]}
                           for c in chars],
            "objects": [],
            "motions": [{"id": m, "description": d} for m, d in used if m in used_ids],
            "scenes": scenes}


def _layout(user: str) -> dict:
    chars = json.loads(_line(user, "Characters in the scene"))
    motions = json.loads(_line(user, "Motions of this scene, in order"))
    k = int(_line(user, "Key frames"))
    # Character i gets motions i, i+n, ... and its own vertical strip of the picture; its frames are split evenly.
    frames: list[list[dict]] = [[] for _ in range(k)]
    for i, c in enumerate(chars):
        mine = motions[i::len(chars)] or [{"id": "none", "description": "standing still"}]
        x0, x1 = i / len(chars), (i + 1) / len(chars)
        for f in range(k):
            m = mine[min(f * len(mine) // k, len(mine) - 1)]
            frames[f].append({"entity": c["id"], "motion": m["id"],
                              "caption": f"A {c['token']} {c['description']} is {m['description']}",
                              "box": [round(x0, 3), 0.1, round(x1, 3), 1.0]})
    return {"reasoning": "each motion holds an equal share of the frames", "keyframes": [
        {"regions": regions} for regions in frames]}
