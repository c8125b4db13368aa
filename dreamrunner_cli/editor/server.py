"""The editor's HTTP server: the standard library's ThreadingHTTPServer, nothing else.

- It binds 127.0.0.1 only (a free port unless one is asked for).
- Every URL starts with a random token (``secrets.token_urlsafe``): ``http://127.0.0.1:PORT/TOKEN/``. A request
  without the right token gets 403, compared with ``hmac.compare_digest``. The page's own URLs are relative, so they
  carry the token without any script knowing it.
- After the token, the path must be one of a fixed set of names (``GET_ROUTES``, ``POST_ROUTES``); it is never
  decoded and never joined to a folder, so no URL reaches any other file (``..``, ``%2e%2e``, ``%2F``, double
  encoding and absolute paths are simply names not in the set: 404).
- Responses are never cached, and a Content-Security-Policy allows only the page's own files.
- HTTP/1.0 (one request per connection), so stopping the server waits only for requests in flight (a save
  finishes; nothing half-written).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from ..bounds import MAX_JSON_FILE_BYTES, loads_json
from ..errors import DreamrunnerError, PlanInvalid, WorkspaceBusy
from .session import EditorSession, PlanChanged

log = logging.getLogger("dreamrunner.edit")

# The page: one HTML, one CSS, one JS file, shipped as package data (dreamrunner_cli/editor/static).
ASSETS = {
    "": ("editor.html", "text/html; charset=utf-8"),
    "editor.css": ("editor.css", "text/css; charset=utf-8"),
    "editor.js": ("editor.js", "text/javascript; charset=utf-8"),
}
WORKSPACE_FILES = {"plan.json": "application/json", "storyboard.png": "image/png"}
GET_ROUTES = set(ASSETS) | set(WORKSPACE_FILES) | {"api/plan"}
POST_ROUTES = {"api/validate", "api/mask", "api/save"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def asset(name: str) -> bytes:
    return (resources.files("dreamrunner_cli.editor") / "static" / name).read_bytes()


class EditorServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for a save in flight
    allow_reuse_address = False  # a port in use is an error, never shared

    def __init__(self, session: EditorSession, port: int = 0, token: str | None = None):
        self.session = session
        self.token = token or secrets.token_urlsafe(24)
        super().__init__(("127.0.0.1", port), EditorHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.token}/"


class EditorHandler(BaseHTTPRequestHandler):
    server: EditorServer
    server_version = "dreamrunner-edit"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.info("%s %s", self.address_string(), format % args)

    # Routing -------------------------------------------------------------------------------------------------
    def _route(self) -> str | None:
        """The name after the token, or None once a response (403, redirect) has been sent."""
        path = self.path.split("?", 1)[0]
        _, _, rest = path.partition("/")
        token, slash, name = rest.partition("/")
        given = token.encode("latin-1", "replace")  # http.server decodes the request line as latin-1
        if not hmac.compare_digest(given, self.server.token.encode("ascii")):
            self._send_json(HTTPStatus.FORBIDDEN, {"error": "forbidden", "message": "this URL lacks the editor's "
                            "token: open the URL `dreamrunner edit` printed"})
            return None
        if not slash:  # /TOKEN → /TOKEN/, so the page's relative URLs keep the token
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", f"/{self.server.token}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return name

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        name = self._route()
        if name is None:
            return
        if name not in GET_ROUTES:
            return self._not_found()
        if name in ASSETS:
            file, ctype = ASSETS[name]
            return self._send(HTTPStatus.OK, asset(file), ctype)
        if name == "api/plan":
            return self._call(self.server.session.load)
        path = self.server.session.ws.root / name  # one of WORKSPACE_FILES: fixed names, never the URL's text
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return self._not_found()
        self._send(HTTPStatus.OK, body, WORKSPACE_FILES[name])

    def do_POST(self) -> None:  # noqa: N802
        name = self._route()
        if name is None:
            return
        if name not in POST_ROUTES:
            return self._not_found()
        origin = self.headers.get("Origin")
        if origin and origin != f"http://127.0.0.1:{self.server.port}":  # another site's page (defence in depth)
            return self._send_json(HTTPStatus.FORBIDDEN, {"error": "forbidden", "message": f"origin {origin}"})
        body = self._body()
        if body is None:
            return
        session = self.server.session
        if name == "api/validate":
            return self._call(lambda: session.validate(body.get("plan")))
        if name == "api/mask":
            return self._call(lambda: session.mask(body.get("plan"), str(body.get("scene", ""))))
        return self._call(lambda: session.save(body.get("plan"), str(body.get("digest", ""))))

    def do_PUT(self) -> None:  # noqa: N802
        self._send_json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method not allowed"})

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    # Helpers -------------------------------------------------------------------------------------------------
    def _body(self) -> dict | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_JSON_FILE_BYTES:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "bad request", "message": "a JSON body of at most "
                            f"{MAX_JSON_FILE_BYTES:,} bytes, with its Content-Length"})
            return None
        try:
            data = loads_json(self.rfile.read(length), "the request")
        except (ValueError, DreamrunnerError) as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "bad request", "message": str(exc)})
            return None
        if not isinstance(data, dict):
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "bad request", "message": "a JSON object"})
            return None
        return data

    def _call(self, fn) -> None:
        """Run a session call; its errors become the statuses the page reads (409 changed, 423 busy, 422
        invalid), each with the CLI's message, hint and exit code."""
        try:
            result = fn()
        except PlanChanged as exc:
            return self._send_json(HTTPStatus.CONFLICT, {"error": "changed", "message": str(exc),
                                                         "hint": "reload the plan (your unsaved edits are dropped), "
                                                                 "or keep editing and copy them over"})
        except WorkspaceBusy as exc:
            return self._send_json(HTTPStatus.LOCKED, {**exc.to_dict(), "hint": "nothing was written: save again "
                                   "when it has finished (your edits stay in the page)"})
        except PlanInvalid as exc:
            from .session import split_detail

            return self._send_json(HTTPStatus.UNPROCESSABLE_ENTITY, {**exc.to_dict(), "errors": [
                split_detail(d) for d in exc.details] or [{"path": "", "message": exc.message}]})
        except DreamrunnerError as exc:
            return self._send_json(HTTPStatus.UNPROCESSABLE_ENTITY, exc.to_dict())
        except OSError as exc:  # disk full, permission denied: named, like the CLI's exit 8
            log.warning("edit: %s", exc)
            return self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {
                "error": "FileAccessError", "message": f"{exc.filename or 'a file'}: {exc.strerror or exc}",
                "exit_code": 8})
        except Exception as exc:  # noqa: BLE001 - the page gets a message; the terminal the traceback
            log.exception("edit: unexpected failure")
            return self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {
                "error": type(exc).__name__, "message": f"unexpected failure: {exc}", "exit_code": 1})
        self._send_json(HTTPStatus.OK, result)

    def _not_found(self) -> None:
        self._send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def _send_json(self, status: HTTPStatus, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        self.wfile.write(body)
