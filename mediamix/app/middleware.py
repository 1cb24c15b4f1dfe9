"""The planner's HTTP edge: access token, Host and Origin checks, the body size cap, and the
mapping from the project's errors to status codes.

- `RequestGuard`: with `allowed_hosts`, a request for another Host name is refused (DNS
  rebinding); a state-changing request from another origin is refused (cross-site posts);
  with a token, every request but `/login` must carry it (`Authorization: Bearer <token>`,
  or the cookie `/login?token=...` sets). Answers get no-sniff / no-frame / no-referrer
  headers.
- `BodyLimit`: request bodies over the limit are refused with 413, whether declared or
  streamed.
- `add_error_handlers(app)`: unknown id 404, clash 409, a user's data, spec, infeasible or
  convergence error 422, any other `MediamixError` 400, a malformed body 422 naming each
  field. Pages (paths outside `/api`) get the message as a small HTML page.
"""

from __future__ import annotations

import hmac
import html
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

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
                    f" (pages: open {LOGIN_PATH}?token=<token>)"
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
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return JSONResponse(
            {"detail": "; ".join(parts), "errors": jsonable_encoder(exc.errors())},
            status_code=422,
        )
