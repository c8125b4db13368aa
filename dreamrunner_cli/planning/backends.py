"""Chat backends for the LLM planner: any OpenAI-compatible server, or a local transformers chat model.

A backend turns a list of chat messages into one reply text. It knows nothing about plans: parsing, validation,
repair and caching live in ``planning/llm.py``. Both backends are built lazily (no network or model loading until
the first request), so a planner whose replies all come from the cache runs offline without a server or weights.

The API key is read from the environment at the moment a client is created and handed to the ``openai`` client only;
it never enters a return value, a cache key, a log line or an error message (``redact`` scrubs server messages).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from ..errors import BackendUnavailable, InputInvalid, ModelUnavailable, UsageError

if TYPE_CHECKING:
    from ..config import PlanConfig

log = logging.getLogger("dreamrunner.planning")

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_AFTER_CAP_S = 60.0


DEFAULT_MAX_NEW_TOKENS = 4096  # transformers backend, when plan.max_tokens is null
PROGRESS_EVERY_S = 1.0  # the transformers backend reports generation progress at most this often

# A progress callback: (phase, tokens generated so far, seconds so far). Phases: "loading" (before the weights
# load), "loaded" (seconds = load time), "generating" (every PROGRESS_EVERY_S while a local model generates, and
# once when its reply ends).
ProgressFn = Callable[[str, int, float], None]


@dataclass
class Completion:
    """One reply. ``attempts`` counts the requests made (retries included); ``mode`` is the structured-output mode
    that produced it (json_schema, json_object, off, or prompt for local models); ``tokens`` the reply's length in
    tokens when known."""

    text: str
    attempts: int
    mode: str
    finish_reason: str | None = None
    tokens: int | None = None


@dataclass(frozen=True)
class Context:
    """The model's context window, the tokens reserved for the reply (plan.max_tokens), and where the window
    size was read (for error messages)."""

    window: int
    reply: int
    source: str


class GenerationTimeout(BackendUnavailable):
    """The local model did not finish within plan.timeout_s; ``partial`` is the reply generated so far."""

    def __init__(self, message: str, partial: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.partial = partial


class ContextOverflow(BackendUnavailable):
    """Prompt + reserved reply tokens do not fit in the model's context (found before generating)."""


class Deadline:
    """A total deadline (plan.timeout_s for one reply, retries included). ``cancel()`` ends it early: a request
    abandoned at the deadline (or on Ctrl-C) stops at its next chunk."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.cancelled = False

    def left(self) -> float:
        return 0.0 if self.cancelled else max(self.end - time.monotonic(), 0.0)

    def cancel(self) -> None:
        self.cancelled = True


class DeadlinePassed(Exception):
    """Raised where a request sees its Deadline pass (internal: the backend turns it into BackendUnavailable)."""


def run_until(deadline: Deadline, fn: Callable[[], Any]) -> Any:
    """``fn()`` in a daemon thread; its result or exception, or DeadlinePassed once the deadline passes.

    A socket timeout bounds each read, not the whole request: a server that sends one byte a second never trips
    it. Waiting on a thread does bound it, whatever the server does (even while it drips the headers). The thread
    left behind sees the cancelled deadline at its next chunk, or its read timeout (the time that was left), and
    ends; being a daemon, it never keeps the process alive.
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which re-raises it
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="dreamrunner-llm-request", daemon=True).start()
    try:
        finished = done.wait(deadline.left())
    finally:
        if not done.is_set():
            deadline.cancel()  # the deadline passed, or Ctrl-C/SIGTERM interrupted the wait
    if not finished:
        raise DeadlinePassed
    if "error" in box:
        raise box["error"]
    return box["value"]


class ChatBackend(Protocol):
    name: str
    model: str
    progress: ProgressFn | None  # set by the planner; None = silent

    def identity(self) -> dict[str, Any]:
        """What identifies the model's replies, for the cache key (never a secret)."""
        ...

    def complete(self, messages: list[dict[str, str]], schema_name: str, schema: dict[str, Any],
                 seed: int | None = None) -> Completion:
        """Send the messages; return the reply text. ``seed``: the sampling seed of this call (the planner varies
        it per repair). Raises BackendUnavailable when no reply can be had."""
        ...

    def context(self) -> Context | None:
        """The context window (None: unknown, so unchecked). May load the model or ask the server once."""
        ...

    def count_tokens(self, messages: list[dict[str, str]]) -> tuple[int, bool]:
        """The prompt's length in tokens, and whether that count is exact (False: an estimate)."""
        ...

    def scrub(self, text: str) -> str:
        """Remove any secret (the API key) from text before it is written anywhere."""
        ...


def resolve_model(cfg: PlanConfig, backend: str) -> str:
    model = cfg.llm_model or os.environ.get("DREAMRUNNER_LLM_MODEL")
    if not model:
        example = "llama3.1:8b" if backend == "openai" else "Qwen/Qwen2.5-7B-Instruct"
        raise UsageError(f"the {backend} planner needs a model name",
                         hint=f"pass --llm-model NAME (e.g. {example}) or set DREAMRUNNER_LLM_MODEL")
    return model


def redact(text: str, secret: str | None) -> str:
    """Remove the API key (and anything shaped like one) from a server's message before it is shown or logged."""
    if secret:
        text = text.replace(secret, "***")
    return re.sub(r"\b(sk|key|api)[-_][A-Za-z0-9_\-*]{6,}", r"\1-***", text)


_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|structured output|guided|grammar|"
                           r"json mode|schema", re.IGNORECASE)
_CONTEXT_WORDS = re.compile(r"context length|context window|maximum context|too many tokens|max_tokens|"
                            r"prompt is too long|reduce the length", re.IGNORECASE)


SERVER_CONTEXT_KEYS = ("max_model_len", "max_context_length", "context_length", "context_window")


def refuses_response_format(message: str) -> bool:
    """Does a 400/422 message say the server refused ``response_format`` (not, say, a prompt past the context)?"""
    return bool(_FORMAT_WORDS.search(message)) and not _CONTEXT_WORDS.search(message)


# OpenAI-compatible servers (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio) ----------------------------------


class OpenAIBackend:
    """Chat completions over HTTP with the ``openai`` package.

    Structured output (``plan.structured_output``): ``json_schema`` sends the reply's JSON schema as
    ``response_format`` (vLLM, Ollama, llama.cpp and OpenAI constrain decoding with it); ``json_object`` is JSON
    mode; ``off`` sends neither. ``auto`` starts with json_schema and steps down, once per session and with a
    warning, when the server answers 400/422 to it. Retries: 429, 5xx and connection errors are retried
    ``plan.max_retries`` times with exponential backoff (``Retry-After`` honoured); 401/403/404 and a refused
    connection (nothing listens at the URL) fail at once.

    Bounds (docs/reliability.md): ``plan.timeout_s`` is a total deadline for one reply, every attempt and backoff
    included, however slowly the server sends (``run_until``); the response body is read in chunks and refused past
    ``plan.max_reply_bytes`` (exit 5); it must be UTF-8 JSON within bounds.loads_json's limits (exit 5 naming the
    server, never the story).
    """

    name = "openai"

    def __init__(self, cfg: PlanConfig):
        self.cfg = cfg
        self.model = resolve_model(cfg, "openai")
        self.base_url = (cfg.llm_base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE_URL).rstrip("/")
        self.mode = "json_schema" if cfg.structured_output == "auto" else cfg.structured_output
        self.mode_notes: list[str] = []  # each step down of the structured-output mode, for provenance
        self.progress: ProgressFn | None = None  # no token stream here: the planner reports each request
        self._client: Any = None
        self._secret: str | None = None
        self._context: Context | None | bool = False  # False: not asked yet

    def identity(self) -> dict[str, Any]:
        # The base URL is left out on purpose: a recorded session replays against any server (or none).
        return {"backend": self.name, "model": self.model}

    def _get_client(self) -> Any:
        if self._client is None:
            import openai

            key = os.environ.get(self.cfg.llm_api_key_env) or None
            if key is None:
                if urlparse(self.base_url).hostname == "api.openai.com":
                    raise BackendUnavailable(
                        f"no API key for {self.base_url}: ${self.cfg.llm_api_key_env} is not set",
                        hint=f"export {self.cfg.llm_api_key_env}=... (never put the key in config.json), or point "
                             "--llm-base-url at a local server such as vLLM or Ollama")
                key = "none"  # local servers (vLLM, Ollama, llama.cpp) accept any key
            self._secret = key
            # Our own retry loop below counts attempts and applies the backoff policy; the client's is off.
            self._client = openai.OpenAI(api_key=key, base_url=self.base_url, timeout=self.cfg.timeout_s,
                                         max_retries=0)
        return self._client

    def _response_format(self, schema_name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
        if self.mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": schema_name, "schema": schema, "strict": False}}
        if self.mode == "json_object":
            return {"type": "json_object"}
        return None

    def _step_down(self, why: str) -> bool:
        """auto mode: json_schema → json_object → off. Returns False when there is nothing left to try."""
        if self.cfg.structured_output != "auto" or self.mode == "off":
            return False
        new = "json_object" if self.mode == "json_schema" else "off"
        note = f"{self.base_url} refused response_format {self.mode} ({why}); using {new} from now on"
        log.warning("LLM planner: %s", note)
        self.mode_notes.append(note)
        self.mode = new
        return True

    def complete(self, messages: list[dict[str, str]], schema_name: str, schema: dict[str, Any],
                 seed: int | None = None) -> Completion:
        import openai

        client = self._get_client()
        attempts = 0
        backoff = self.cfg.retry_backoff_s
        retries_left = self.cfg.max_retries
        deadline = Deadline(self.cfg.timeout_s)  # one total for the reply: every attempt and backoff
        while True:
            attempts += 1
            kwargs: dict[str, Any] = {"model": self.model, "messages": messages,
                                      "temperature": self.cfg.temperature}
            if self.cfg.max_tokens is not None:
                kwargs["max_tokens"] = self.cfg.max_tokens
            if seed is not None:
                kwargs["seed"] = seed
            if self.cfg.stop:
                kwargs["stop"] = list(self.cfg.stop)
            fmt = self._response_format(schema_name, schema)
            if fmt is not None:
                kwargs["response_format"] = fmt
            try:
                body = run_until(deadline, lambda: self._post(client, kwargs, deadline))
            except DeadlinePassed:
                raise self._gave_up(self._no_reply(), attempts) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise BackendUnavailable(
                    f"the LLM server at {self.base_url} refused the API key (HTTP {exc.status_code}): "
                    f"{self._message(exc)}",
                    hint=f"set a valid key in ${self.cfg.llm_api_key_env} (it is read from the environment only)",
                ) from None
            except openai.NotFoundError as exc:
                raise BackendUnavailable(
                    f"model {self.model!r} or the chat-completions endpoint was not found at {self.base_url} "
                    f"(HTTP 404): {self._message(exc)}",
                    hint="check --llm-model against the server's model list (GET /v1/models) and that "
                         "--llm-base-url ends in /v1, e.g. http://localhost:11434/v1 for Ollama",
                ) from None
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                # Only a refusal of response_format steps down; a context overflow or a bad parameter does not.
                if fmt is not None and refuses_response_format(self._message(exc)) and self._step_down(
                        f"HTTP {exc.status_code}: {self._message(exc)[:200]}"):
                    continue
                raise BackendUnavailable(
                    f"the LLM server at {self.base_url} rejected the request (HTTP {exc.status_code}): "
                    f"{self._message(exc)}",
                    hint="a too long prompt or an unsupported parameter is the usual cause; try "
                         "--set plan.max_tokens=null or another model",
                ) from None
            except (openai.APIStatusError, openai.APIConnectionError) as exc:
                # Transient: 408, 409, 429, 5xx, timeouts (APITimeoutError is an APIConnectionError), refused
                # connections. Anything else is the request's fault: fail at once with the server's message.
                status = getattr(exc, "status_code", None)
                if status is not None and status not in (408, 409, 429) and status < 500:
                    raise BackendUnavailable(
                        f"the LLM server at {self.base_url} answered HTTP {status}: {self._message(exc)}") from None
                if isinstance(exc, openai.APITimeoutError) or deadline.left() <= 0:
                    # Each read waits at most the time left, so a read timeout means the deadline has passed.
                    raise self._gave_up(self._no_reply(), attempts) from None
                reason = self._describe_transient(exc)
                if _refused(exc):  # nothing listens there: waiting will not start the server
                    raise BackendUnavailable(
                        f"LLM server {self.base_url} (model {self.model!r}): {reason} (connection refused); not "
                        "retried", hint=self._gave_up(reason, attempts).hint) from None
                if retries_left <= 0:
                    raise self._gave_up(reason, attempts) from None
                wait = self._retry_after(exc, backoff)
                if wait >= deadline.left():
                    raise self._gave_up(f"{reason}; the next retry (in {wait:g} s) would pass plan.timeout_s="
                                        f"{self.cfg.timeout_s:g} s, the deadline for one reply", attempts) from None
                log.info("LLM planner: %s; retrying in %.1f s (%d left)", reason, wait, retries_left)
                time.sleep(wait)
                retries_left -= 1
                backoff *= 2
                continue
            except openai.APIError as exc:  # e.g. a 200 whose body is not a chat completion
                raise self._not_openai(self._message(exc)) from None
            return self._completion(body, attempts)

    def _post(self, client: Any, kwargs: dict[str, Any], deadline: Deadline) -> bytes:
        """One request (in run_until's thread): the body of a 200 response, read chunk by chunk within the deadline
        and plan.max_reply_bytes (counted after decompression, so a gzip bomb stops early too)."""
        import httpx2  # the openai client's HTTP library: errors while the body streams come from it
        import openai

        limit = self.cfg.max_reply_bytes
        # Every read waits at most the time left (a silent server ends in a read timeout, not in the thread).
        with client.chat.completions.with_streaming_response.create(**kwargs,
                                                                    timeout=max(deadline.left(), 0.01)) as raw:
            request = raw.http_response.request
            body = bytearray()
            try:
                for chunk in raw.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise InputInvalid(
                            f"the LLM server at {self.base_url} sent a response of more than {limit:,} bytes, the "
                            "limit (plan.max_reply_bytes); it was refused while it arrived",
                            hint=f"raise the limit (--set plan.max_reply_bytes={2 * limit}) if the server is right "
                                 "to send that much, or lower plan.max_tokens")
                    if deadline.left() <= 0:
                        raise DeadlinePassed
            except httpx2.TimeoutException as exc:
                raise openai.APITimeoutError(request=request) from exc
            except httpx2.TransportError as exc:  # the connection broke mid-body: transient, like a reset
                raise openai.APIConnectionError(request=request) from exc
        return bytes(body)

    def _completion(self, body: bytes, attempts: int) -> Completion:
        """The reply in a chat-completions response body, decoded strictly: UTF-8, bounded JSON."""
        from ..bounds import loads_json

        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputInvalid(
                f"the LLM server at {self.base_url} sent a response that is not UTF-8 text (invalid byte "
                f"0x{body[exc.start]:02x} at byte {exc.start} of {len(body):,}); the reply was not used",
                hint="the server (or a proxy in front of it) is broken: check its logs and its model's tokenizer, "
                     "or try another server; replies already cached are not affected") from None
        try:
            data = loads_json(text, f"the response of the LLM server at {self.base_url}")
        except (ValueError, TypeError) as exc:  # JSONDecodeError (a bound is InputInvalid: it passes through)
            raise self._not_openai(f"its response is not JSON ({str(exc)[:200]})") from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices:
            return Completion(text="", attempts=attempts, mode=self.mode, finish_reason="no choices")
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = message.get("content")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        tokens = usage.get("completion_tokens")
        finish = choice.get("finish_reason")
        return Completion(text=content if isinstance(content, str) else "", attempts=attempts, mode=self.mode,
                          finish_reason=finish if isinstance(finish, str) else None,
                          tokens=tokens if isinstance(tokens, int) else None)

    def _no_reply(self) -> str:
        return (f"no complete reply within plan.timeout_s={self.cfg.timeout_s:g} s (the deadline for one reply, "
                "retries included)")

    def _not_openai(self, why: str) -> BackendUnavailable:
        return BackendUnavailable(
            f"the server at {self.base_url} did not answer like an OpenAI-compatible chat-completions API: {why}",
            hint="check --llm-base-url (it should end in /v1)")

    # The context window: plan.context_tokens, else what the server's model list says ---------------------------
    def context(self) -> Context | None:
        if self._context is False:
            reply = self.cfg.max_tokens or 0  # null: the server decides, so only the prompt must fit
            if self.cfg.context_tokens:
                self._context = Context(self.cfg.context_tokens, reply, "plan.context_tokens")
            else:
                found = self._server_context()
                self._context = Context(found[0], reply, found[1]) if found else None
        return self._context  # type: ignore[return-value]

    def _server_context(self) -> tuple[int, str] | None:
        """``GET /models``: vLLM says ``max_model_len``, LM Studio ``max_context_length``, OpenRouter
        ``context_length``, llama.cpp ``meta.n_ctx_train`` (its training context, an upper bound). OpenAI and
        Ollama say nothing: unknown, unchecked (set plan.context_tokens)."""
        import openai

        wait = min(self.cfg.timeout_s, 10.0)
        client = self._get_client().with_options(timeout=wait)
        try:
            page = run_until(Deadline(wait), client.models.list)  # a total deadline here too
            entries = [m.model_dump() for m in page.data]
        except DeadlinePassed:
            log.info("LLM planner: %s/models did not answer within %g s", self.base_url, wait)
            return None
        except (openai.APIError, ValueError, TypeError, AttributeError) as exc:
            log.info("LLM planner: %s/models did not say the context length (%s)", self.base_url,
                     redact(str(exc), self._secret)[:120])
            return None
        for entry in entries:
            if entry.get("id") != self.model:
                continue
            meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
            for key, value in (*((k, entry.get(k)) for k in SERVER_CONTEXT_KEYS), ("meta.n_ctx_train",
                                                                                 meta.get("n_ctx_train"))):
                if isinstance(value, int) and value > 0:
                    return value, f"{key} of {self.model!r} in {self.base_url}/models"
        return None

    def count_tokens(self, messages: list[dict[str, str]]) -> tuple[int, bool]:
        """No tokenizer here: an estimate that errs low (4 characters a token, 4 tokens of framing a message), so a
        prompt is only refused when it is surely too long."""
        return sum(len(m["content"]) // 4 + 4 for m in messages), False

    def scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret and self._secret != "none" else text

    # Helpers -----------------------------------------------------------------------------------------------
    def _message(self, exc: Exception) -> str:
        body = getattr(exc, "body", None)
        msg = None
        if isinstance(body, dict):
            err = body.get("error", body)
            msg = err.get("message") if isinstance(err, dict) else str(err)
        return redact(str(msg or getattr(exc, "message", None) or exc), self._secret)

    def _describe_transient(self, exc: Exception) -> str:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return self._no_reply()
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot connect to {self.base_url}"
        return f"HTTP {getattr(exc, 'status_code', '?')}: {self._message(exc)[:200]}"

    def _retry_after(self, exc: Exception, backoff: float) -> float:
        response = getattr(exc, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        if header:
            try:
                return min(max(float(header), 0.0), RETRY_AFTER_CAP_S)
            except ValueError:
                pass
        return backoff

    def _gave_up(self, reason: str, attempts: int) -> BackendUnavailable:
        if reason.startswith("cannot connect"):
            hint = ("start the server (e.g. `vllm serve MODEL` or `ollama serve`) or fix --llm-base-url; "
                    "replies already cached replay without a server")
        elif reason.startswith("no complete reply") or "would pass plan.timeout_s" in reason:
            hint = "raise plan.timeout_s (--set plan.timeout_s=600) or use a smaller/faster model"
        else:
            hint = "the server is overloaded or failing; try again later or raise plan.max_retries"
        return BackendUnavailable(f"LLM server {self.base_url} (model {self.model!r}): {reason}; gave up after "
                                  f"{attempts} attempt{'s' if attempts != 1 else ''}", hint=hint)


# Local transformers chat models -----------------------------------------------------------------------------


def _refused(exc: BaseException) -> bool:
    """Was the connection refused (ECONNREFUSED somewhere in the exception's chain: openai → httpx → OS)?"""
    import errno

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError) or getattr(cur, "errno", None) == errno.ECONNREFUSED:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """For chat templates that refuse the system role (Gemma-2, Mistral-Instruct v0.1/v0.2): the system text goes
    at the top of the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if system and rest and rest[0]["role"] == "user":
        rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
    elif system:
        rest.insert(0, {"role": "user", "content": system})
    return rest


def chat_prompt(tok: Any, messages: list[dict[str, str]]) -> str:
    """The model's prompt text from its chat template; a template that raises on the system role gets the system
    text folded into the first user turn (other template errors are reported, not hidden)."""
    try:
        return tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    except Exception as exc:  # jinja2's TemplateError: raise_exception("System role not supported")
        if not any(m["role"] == "system" for m in messages) or "system" not in str(exc).lower():
            raise BackendUnavailable(f"the chat template of the local model failed: {str(exc)[:300]}",
                                     hint="use an instruction-tuned chat model whose template accepts "
                                          "user/assistant turns") from None
        log.info("LLM planner: the chat template refuses the system role; folding it into the first user turn")
        return tok.apply_chat_template(fold_system(messages), add_generation_prompt=True, tokenize=False)


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


class JsonEnd:
    """Feeds on reply text piece by piece; ``done`` once one complete JSON object has been written (the braces
    balance again outside strings). Text before the first ``{`` (prose, a code fence) is skipped."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.done = False

    def feed(self, text: str) -> bool:
        for ch in text:
            if self.done:
                break
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == '"':
                    self.in_string = False
            elif ch == '"' and self.depth:
                self.in_string = True
            elif ch == "{":
                self.depth += 1
            elif ch == "}" and self.depth:
                self.depth -= 1
                self.done = self.depth == 0
        return self.done


class _Watch:
    """A transformers StoppingCriteria, called after every generated token: stops at plan.timeout_s (wall clock),
    at a stop string (checked on the decoded text, so any tokenizer works; the reply is cut before it, as OpenAI
    servers do) and, with plan.stop_at_json_end, once the reply holds a complete JSON object; reports progress."""

    def __init__(self, tok: Any, prompt_len: int, timeout_s: float, json_end: bool, progress: ProgressFn | None,
                 stops: list[str] | None = None):
        self.tok = tok
        self.prompt_len = prompt_len
        self.timeout_s = timeout_s
        self.json_end = JsonEnd() if json_end else None
        self.stops = [x for x in (stops or []) if x]
        self.stop_window = max((len(x) for x in self.stops), default=0) + 4  # tokens decoded to look for a stop
        self.progress = progress
        self.t0 = time.monotonic()
        self.last_report = self.t0
        self.reported = -1  # the token count of the last progress report
        self.seen = 0  # new tokens already fed to json_end
        self.timed_out = False
        self.stopped_at_string = False

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def __call__(self, input_ids: Any, scores: Any = None, **kwargs: Any) -> Any:
        import torch

        n = input_ids.shape[1] - self.prompt_len  # new tokens so far; input_ids: (1, prompt_len + n)
        now = time.monotonic()
        stop = False
        if self.json_end is not None and n > self.seen:
            stop = self.json_end.feed(self.tok.decode(input_ids[0, self.prompt_len + self.seen:],
                                                      skip_special_tokens=True))
            self.seen = n
        if self.stops and n > 0:
            start = max(self.prompt_len, input_ids.shape[1] - self.stop_window)
            tail = self.tok.decode(input_ids[0, start:], skip_special_tokens=True)
            if any(x in tail for x in self.stops):
                self.stopped_at_string = stop = True
        if now - self.t0 > self.timeout_s:
            self.timed_out = stop = True
        if self.progress is not None and now - self.last_report >= PROGRESS_EVERY_S:
            self.last_report = now
            self.reported = n
            self.progress("generating", n, now - self.t0)
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    def final(self, n: int) -> None:
        """The reply's last count, so every reply reports progress at least once, however fast it was."""
        if self.progress is not None and n != self.reported:
            self.reported = n
            self.progress("generating", n, self.elapsed)


def model_source(model: str) -> tuple[str, dict[str, Any], bool]:
    """``--llm-model`` → (what from_pretrained gets, extra kwargs, local?). A ``.gguf`` file loads with
    ``gguf_file=`` (transformers dequantises it; needs the ``gguf`` package)."""
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelUnavailable(f"GGUF file {path} not found",
                                   hint="pass an existing .gguf file, a local model folder or a Hub id to --llm-model")
        return str(path.parent), {"gguf_file": path.name}, True
    if path.is_dir():
        return str(path), {"use_safetensors": True}, True
    return model, {"use_safetensors": True}, False


class TransformersBackend:
    """A local causal LM with a chat template: a folder, a Hub id in the local cache, or a single ``.gguf`` file.

    Offline-aware: with HF_HUB_OFFLINE=1 (or for a local folder or file) nothing is downloaded
    (``local_files_only``). safetensors (or GGUF) weights only, never remote code. There is no constrained
    decoding: the reply schema is in the prompt, and the planner's validation and repair loop catch what the model
    gets wrong. Generation is bounded: plan.timeout_s of wall clock (then GenerationTimeout, with the reply so
    far), plan.max_tokens, plan.stop strings, and by default the end of the first complete JSON object;
    plan.repetition_penalty keeps small models from looping. Progress goes to ``self.progress``.
    """

    name = "transformers"

    def __init__(self, cfg: PlanConfig):
        self.cfg = cfg
        self.model = resolve_model(cfg, "transformers")
        self.device: str | None = None
        self.progress: ProgressFn | None = None
        self._tok: Any = None
        self._lm: Any = None

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"backend": self.name, "model": self.model}
        path = Path(self.model).expanduser()
        if path.is_dir() or path.is_file():
            # A local folder's (or file's) weights can change under the same name: key the cache on what is there.
            from ..workspace import digest

            cfg_file = path / "config.json"
            ident["weights"] = digest({
                "config": cfg_file.read_text(encoding="utf-8") if cfg_file.is_file() else None,
                "files": sorted((p.name, p.stat().st_size) for p in
                                ([path] if path.is_file() else path.glob("*.safetensors"))),
            })
        return ident

    def scrub(self, text: str) -> str:
        return text  # no secrets on this path

    def _load(self) -> None:
        if self._lm is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source, extra, local = model_source(self.model)
        local_only = _offline() or local
        if self.progress is not None:
            self.progress("loading", 0, 0.0)
        t0 = time.monotonic()
        # GGUF weights are dequantised to float32 by transformers; other checkpoints keep their own dtype.
        dtype = {} if "gguf_file" in extra else {"dtype": "auto"}
        try:
            tok = AutoTokenizer.from_pretrained(source, local_files_only=local_only, trust_remote_code=False,
                                                **{k: v for k, v in extra.items() if k == "gguf_file"})
            lm = AutoModelForCausalLM.from_pretrained(source, local_files_only=local_only, trust_remote_code=False,
                                                      **extra, **dtype)
        except ImportError as exc:  # e.g. GGUF without the gguf package
            raise ModelUnavailable(f"cannot load the local chat model {self.model!r}: {str(exc).splitlines()[0][:300]}",
                                   hint="install what the message names (for a .gguf file: pip install gguf)") from None
        except (OSError, ValueError, EnvironmentError) as exc:
            where = "offline (HF_HUB_OFFLINE=1), so only the local cache was searched" if local_only else ""
            raise ModelUnavailable(
                f"cannot load the local chat model {self.model!r}{': ' + where if where else ''}: "
                f"{str(exc).splitlines()[0][:300]}",
                hint=f"download it where there is internet (`hf download {self.model}`) or pass a local folder "
                     "with safetensors weights (or a .gguf file) via --llm-model PATH",
            ) from None
        if not getattr(tok, "chat_template", None):
            raise ModelUnavailable(f"{self.model!r} has no chat template",
                                   hint="use an instruction-tuned chat model (its tokenizer_config.json carries "
                                        "a chat_template)")
        device = self.cfg.llm_device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable(f"plan.llm_device={device!r} but CUDA is not available",
                                     hint="set --set plan.llm_device=cpu (slow) or run on a GPU machine")
        log.info("LLM planner: %s on %s", self.model, device)
        self.device = device
        self._tok, self._lm = tok, lm.to(device).eval()
        if self.progress is not None:
            self.progress("loaded", 0, time.monotonic() - t0)

    def context(self) -> Context | None:
        """The smallest of the model config's ``max_position_embeddings`` and the tokenizer's
        ``model_max_length`` (when it is a real number), unless plan.context_tokens says otherwise."""
        reply = self.cfg.max_tokens or DEFAULT_MAX_NEW_TOKENS
        if self.cfg.context_tokens:
            return Context(self.cfg.context_tokens, reply, "plan.context_tokens")
        self._load()
        config = self._lm.config
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        found = []
        mpe = getattr(text_config, "max_position_embeddings", None)
        if isinstance(mpe, int) and mpe > 0:
            found.append((mpe, "max_position_embeddings in the model's config"))
        tml = getattr(self._tok, "model_max_length", None)
        if isinstance(tml, int) and 0 < tml < 10_000_000:  # transformers' "unknown" is a huge sentinel
            found.append((tml, "model_max_length of the tokenizer"))
        if not found:
            return None
        window, source = min(found)
        return Context(window, reply, source)

    def count_tokens(self, messages: list[dict[str, str]]) -> tuple[int, bool]:
        self._load()
        text = chat_prompt(self._tok, messages)
        return len(self._tok(text, add_special_tokens=False)["input_ids"]), True

    def complete(self, messages: list[dict[str, str]], schema_name: str, schema: dict[str, Any],
                 seed: int | None = None) -> Completion:
        import torch
        from transformers import StoppingCriteriaList

        self._load()
        tok, lm, cfg = self._tok, self._lm, self.cfg
        text = chat_prompt(tok, messages)
        enc = tok(text, return_tensors="pt", add_special_tokens=False).to(self.device)
        prompt_len = enc["input_ids"].shape[1]
        max_new = cfg.max_tokens or DEFAULT_MAX_NEW_TOKENS
        watch = _Watch(tok, prompt_len, cfg.timeout_s, cfg.stop_at_json_end, self.progress, cfg.stop)
        sample = cfg.temperature > 0
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": max_new, "do_sample": sample, "repetition_penalty": cfg.repetition_penalty,
            "stopping_criteria": StoppingCriteriaList([watch]),
            "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id}
        if sample:
            gen_kwargs["temperature"] = cfg.temperature
            torch.manual_seed(seed or 0)  # reproducible sampling, like the server's seed
        with torch.inference_mode():
            out = lm.generate(**enc, **gen_kwargs)  # (1, prompt_len + new_len)
        new = out[0, prompt_len:]
        reply = tok.decode(new, skip_special_tokens=True)
        n = int(new.shape[0])
        watch.final(n)
        if watch.timed_out:
            raise GenerationTimeout(
                f"the local model {self.model!r} did not finish its reply within plan.timeout_s="
                f"{cfg.timeout_s:g} s ({n} tokens in {watch.elapsed:.1f} s, {n / max(watch.elapsed, 1e-9):.1f} "
                f"tokens/s on {self.device}; the reply may hold at most plan.max_tokens={max_new})",
                partial=reply,
                hint="raise the limit (--set plan.timeout_s=900), use a GPU (--set plan.llm_device=cuda) or a "
                     "smaller/faster model, or lower plan.max_tokens")
        if watch.stopped_at_string:
            cut = [i for i in (reply.find(x) for x in watch.stops) if i >= 0]
            reply = reply[:min(cut)] if cut else reply
            finish = "stop"
        elif n >= max_new:
            finish = "length"
        elif watch.json_end is not None and watch.json_end.done:
            finish = "json_end"
        else:
            finish = "stop"
        return Completion(text=reply, attempts=1, mode="prompt", finish_reason=finish, tokens=n)
