"""The planner's HTTP edge: access token, Host and Origin checks, the body size cap, and the
mapping from the project's errors to status codes.

- `RequestGuard`: with `allowed_hosts`, a request for another Host name is refused (DNS
  rebinding); a state-changing request from another origin is refused (cross-site posts);
  with a token, every request but `/login` must carry it (`Authorization: Bearer <token>`,
  or the cookie the login form at `/login` sets). Answers get no-sniff / no-frame / no-referrer
  headers.
- `BodyLimit`: request bodies over the limit are refused with 413, whether declared or
  streamed.
- `JsonGuard`: a JSON body is read once before the application sees it: malformed JSON,
  NaN / Infinity (or a number too large for a float) and nesting deeper than
  `MAX_JSON_DEPTH` are refused with 422 and the reason (key path, limit).
- `add_error_handlers(app)`: unknown id 404, clash 409, a user's data, spec, infeasible or
  convergence error 422, any other `MediamixError` 400, a malformed body 422 naming each
  field. Pages (paths outside `/api`) get the message as a small HTML page.
"""

from __future__ import annotations

import hmac
import html
import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from mediamix.app.schemas import MAX_JSON_DEPTH, json_depth, non_finite_path
from mediamix.errors import (
    ConflictError,
    ConvergenceError,
    DataError,
    InfeasibleError,
    MediamixError,
    NotFoundError,
    SpecError,
)

TOKEN_COOKIE = "mediamix_token"
LOGIN_PATH = "/login"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

#: status code per error type, most specific first (a subclass is matched before its base)
ERROR_STATUS: tuple[tuple[type[MediamixError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (DataError, 422),
    (SpecError, 422),
    (InfeasibleError, 422),
    (ConvergenceError, 422),
    (MediamixError, 400),
)


def is_page(request: Request) -> bool:
    """Pages answer errors in HTML, the API (paths under /api) in JSON."""
    return not request.url.path.startswith("/api")


def error_response(detail: str, status: int, page: bool) -> Response:
    """`{"detail": ...}` for the API; a small escaped HTML page for pages."""
    if page:
        return HTMLResponse(
            f"<h1>{status}</h1><p>{html.escape(detail, quote=False)}</p>", status_code=status
        )
    return JSONResponse({"detail": detail}, status_code=status)


def host_name(host_header: str) -> str:
    """The name part of a Host header (no port; IPv6 without brackets), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def bearer_token(request: Request) -> str | None:
    """The token a request carries: the Bearer header, else the login cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(TOKEN_COOKIE)


def same_token(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class RequestGuard(BaseHTTPMiddleware):
    """Host, Origin and token checks on every request (module docstring)."""

    def __init__(self, app, *, token: str | None = None, allowed_hosts=None) -> None:
        super().__init__(app)
        self.token = token
        self.hosts = {h.lower().strip("[]") for h in allowed_hosts} if allowed_hosts else None

    async def dispatch(self, request: Request, call_next) -> Response:
        page = is_page(request)
        host = request.headers.get("host", "")
        if self.hosts is not None and host_name(host) not in self.hosts:
            return error_response("unknown Host header; open the planner by its address", 400, page)
        if request.method in _UNSAFE:
            origin = request.headers.get("origin")
            if origin == "null" or (origin and urlsplit(origin).netloc.lower() != host.lower()):
                return error_response("cross-origin request refused", 403, page)
        if self.token is not None and request.url.path != LOGIN_PATH:
            if not same_token(bearer_token(request), self.token):
                detail = (
                    "missing or wrong access token; send 'Authorization: Bearer <token>'"
                    f" (pages: sign in at {LOGIN_PATH})"
                )
                resp = error_response(detail, 401, page)
                resp.headers["WWW-Authenticate"] = "Bearer"
                return resp
        response = await call_next(request)
        if request.url.path == LOGIN_PATH and self.token is not None:
            return response
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413 (declared or streamed)."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        seen = 0
        state = {"started": False, "rejected": False}

        async def limited_receive():
            nonlocal seen
            if state["rejected"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer 413 now; the application sees a disconnected client and
                    # whatever it tries to send afterwards is dropped.
                    state["rejected"] = True
                    if not state["started"]:
                        state["started"] = True
                        await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["rejected"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["rejected"]:  # an error after the 413 went out is the client leaving
                raise

    async def _reject(self, send) -> None:
        body = (
            b'{"detail":"the request is larger than the upload limit of '
            + str(self.limit).encode()
            + b' bytes; upload a smaller file or raise the limit with --max-upload-mb"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def json_body_problem(body: bytes) -> str | None:
    """Why a JSON request body is refused (None: it is fine to parse)."""
    if not body.strip():
        return None  # the route says what it needs ("Field required")
    try:
        value = json.loads(body)
    except RecursionError:
        return f"the JSON body nests too deeply; at most {MAX_JSON_DEPTH} levels are accepted"
    except UnicodeDecodeError:
        return "the body is not valid JSON: it is not UTF-8 text"
    except ValueError as exc:
        reason = getattr(exc, "msg", str(exc))
        where = (
            f" (line {exc.lineno}, column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        return f"the body is not valid JSON: {reason}{where}"
    if json_depth(value) > MAX_JSON_DEPTH:
        return (
            f"the JSON body nests lists or objects more than {MAX_JSON_DEPTH} levels deep;"
            f" at most {MAX_JSON_DEPTH} are accepted"
        )
    path = non_finite_path(value)
    if path is not None:
        return (
            f"{path}: NaN and Infinity (or numbers beyond 1.8e308) are not JSON numbers;"
            " send a finite number, or null to leave the value out"
        )
    return None


class JsonGuard:
    """Check JSON request bodies before the application parses them (module docstring).

    Sits inside `BodyLimit`, so the body it buffers is already capped."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _UNSAFE:
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        if b"json" not in content_type:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left (or the 413 went out)
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = json_body_problem(body)
        if problem is not None:
            response = JSONResponse({"detail": problem}, status_code=422)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body}]), send)


def _replay(messages: list[dict[str, Any]]):
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        return {"type": "http.disconnect"}

    return receive


def _error_items(errors: Any) -> list[dict[str, Any]]:
    """Validation errors as plain JSON: type, location and message (never the input, which
    may hold values JSON cannot carry)."""
    items = []
    for err in errors:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        items.append({"type": str(err.get("type", "")), "loc": loc, "msg": str(err.get("msg", ""))})
    return items


def add_error_handlers(app: FastAPI) -> None:
    """Answer the project's errors with their message and status (`ERROR_STATUS`)."""

    def handler(status: int):
        async def handle(request: Request, exc: Exception) -> Response:
            return error_response(str(exc), status, is_page(request))

        return handle

    for exc_type, status in ERROR_STATUS:
        app.add_exception_handler(exc_type, handler(status))

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> Response:
        items = _error_items(exc.errors())
        parts = []
        for err in items:
            if err["type"] == "json_invalid":
                parts.append("the body is not valid JSON")
                continue
            loc = ".".join(str(p) for p in err["loc"] if p not in ("body",))
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        detail = "; ".join(parts) or "the request is malformed"
        if is_page(request):
            return error_response(detail, 422, True)
        return JSONResponse({"detail": detail, "errors": items}, status_code=422)
