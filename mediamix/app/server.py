"""The web planner: a JSON API under /api and server-rendered pages (Runs, Planner, Scenarios).

`create_app(store, token=..., ...)` assembles the FastAPI application from its parts:
:mod:`~mediamix.app.middleware` (token, Host and Origin checks, body size cap, errors as
status codes), :mod:`~mediamix.app.api` (the JSON API), :mod:`~mediamix.app.pages` (the
pages) and :mod:`~mediamix.app.schemas` (the bodies). Safe by default:

- with a token, every request must carry `Authorization: Bearer <token>` (pages may use the
  cookie the login form sets: `POST /login`, SameSite=Strict, so the token never appears in
  an address); without one the server is meant for 127.0.0.1 only (`serve` refuses other
  hosts without a token) and a weak token is refused (`weak_token_reason`);
- `allowed_hosts` rejects requests for other Host names (DNS rebinding) and a state-changing
  request from another origin is refused (cross-site form posts);
- request bodies are capped at `max_upload_bytes`;
- names from users are data, never file paths (run directories are named by the server);
- a failed fit or solve only marks its own run or returns an error; saved scenarios stay;
- jobs have an owner: while the application runs, a thread beats the heartbeat of this
  server's jobs every `heartbeat_seconds` and marks failed the jobs of servers whose
  heartbeat lapsed; another live server's jobs are never touched;
- `serve(host, port, ...)` binds the port before it opens the store, so a second server on
  a busy port exits without touching anything.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mediamix import __version__
from mediamix.app import api, pages
from mediamix.app.deps import Settings
from mediamix.app.middleware import (
    LOGIN_PATH,
    TOKEN_COOKIE,
    BodyLimit,
    JsonGuard,
    RequestGuard,
    add_error_handlers,
    same_token,
)
from mediamix.app.store import HEARTBEAT_SECONDS, Store
from mediamix.errors import SpecError

logger = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MIN_TOKEN_LENGTH = 16
MIN_TOKEN_DISTINCT = 6
TOKEN_ADVICE = "e.g. from: python -c 'import secrets; print(secrets.token_urlsafe())'"


def weak_token_reason(token: str) -> str | None:
    """Why `token` is too weak to guard the planner (None: it is fine).

    The rule: at least `MIN_TOKEN_LENGTH` characters; no spaces or control characters (a
    header value loses them); at least `MIN_TOKEN_DISTINCT` different characters; not a short
    piece repeated (`abcabc...`) and not a run where 80 % of the steps between neighbours are
    the same (`abcdef...`, `0123...`)."""
    n = len(token)
    if n < MIN_TOKEN_LENGTH:
        return f"has {n} characters; use at least {MIN_TOKEN_LENGTH} random ones"
    if any(c.isspace() or not c.isprintable() for c in token):
        return "contains spaces or control characters; use letters, digits and - _ only"
    distinct = len(set(token))
    if distinct < MIN_TOKEN_DISTINCT:
        return (
            f"uses only {distinct} different character(s); use at least {MIN_TOKEN_DISTINCT}"
            " (random text has many)"
        )
    for k in range(1, n // 2 + 1):
        if n % k == 0 and token[:k] * (n // k) == token:
            return f"repeats {token[:k]!r}; use random characters"
    steps = Counter(ord(b) - ord(a) for a, b in zip(token, token[1:], strict=False))
    if steps.most_common(1)[0][1] >= 0.8 * (n - 1):
        return "is a simple run of characters; use random ones"
    return None


def check_token(token: str | None) -> None:
    """Refuse a weak access token (`weak_token_reason`) with the rule and how to make one."""
    if token is None:
        return
    reason = weak_token_reason(token)
    if reason is not None:
        raise SpecError(f"MEDIAMIX_TOKEN {reason}; {TOKEN_ADVICE}")


_LOGIN_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>mediamix: sign in</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main><h1>mediamix planner</h1>{note}
<form method="post" action="/login">
<label>Access token <input type="password" name="token" autocomplete="current-password"
required autofocus></label> <button type="submit">Sign in</button></form></main></body></html>
"""


def login_router(token: str | None) -> APIRouter:
    """`GET /login`: the sign-in form; `POST /login` (form field `token`): the cookie. The
    token travels in the body, never in the address (browser history, server logs)."""
    router = APIRouter(include_in_schema=False)

    @router.get(LOGIN_PATH)
    def login_form() -> Response:
        if token is None:
            return RedirectResponse("/runs", status_code=303)
        return HTMLResponse(_LOGIN_FORM.format(note=""))

    @router.post(LOGIN_PATH)
    def login(given: str = Form(default="", alias="token", max_length=1000)) -> Response:
        if token is None:
            return RedirectResponse("/runs", status_code=303)
        if not same_token(given, token):
            note = f"<p class='error'>{html.escape('wrong access token; try again')}</p>"
            return HTMLResponse(_LOGIN_FORM.format(note=note), status_code=401)
        resp = RedirectResponse("/runs", status_code=303)
        resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return resp

    return router


def start_heartbeat(store: Store, interval: float, grace: float) -> Callable[[], None]:
    """Beat the heartbeat of `store`'s jobs every `interval` seconds and fail the jobs whose
    server's heartbeat lapsed (older than `grace`); returns the function that stops it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                store.beat()
                store.fail_interrupted(grace_seconds=grace)
            except Exception:  # the database is away for a moment: try again next beat
                logger.exception("heartbeat of the planner's jobs failed")

    thread = threading.Thread(target=loop, name="mediamix-heartbeat", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=max(1.0, interval))

    return halt


def create_app(
    store: Store,
    *,
    token: str | None = None,
    allowed_hosts: list[str] | tuple[str, ...] | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    executor: ThreadPoolExecutor | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> FastAPI:
    """The planner's web application over `store`.

    `token`: when set, required on every request (Bearer header or login cookie); a weak
    one is refused (`weak_token_reason`). `allowed_hosts`: Host header names accepted
    (None: any; `serve` passes the loopback names when bound to loopback). `executor`: runs
    fit jobs (default: one worker thread). Jobs left queued or running by a server whose
    heartbeat lapsed (3 x `heartbeat_seconds`) are marked failed; while the application
    runs it beats the heartbeat of its own jobs every `heartbeat_seconds`.
    """
    check_token(token)
    grace = 3 * heartbeat_seconds
    store.fail_interrupted(grace_seconds=grace)
    jobs = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="mediamix-fit")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        halt = start_heartbeat(store, heartbeat_seconds, grace)
        try:
            yield
        finally:
            halt()
            if executor is None:
                jobs.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads its assets from a CDN; the schema is /openapi.json
        redoc_url=None,
        title="mediamix planner",
        version=__version__,
        description="Fit media mix models, plan budgets and keep scenarios.",
    )
    app.state.store = store
    app.state.jobs = jobs
    app.state.settings = Settings(token=token, max_upload_bytes=max_upload_bytes)
    # The last one added runs first: the guard answers before any body is read.
    app.add_middleware(JsonGuard)
    app.add_middleware(BodyLimit, limit=max_upload_bytes)
    app.add_middleware(RequestGuard, token=token, allowed_hosts=allowed_hosts)
    add_error_handlers(app)
    app.include_router(api.router)
    app.include_router(login_router(token))  # before the pages: it answers /login
    app.mount("/static", StaticFiles(directory=str(pages.STATIC_DIR)), name="static")
    app.include_router(pages.router)
    return app


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port`, or a :class:`SpecError` saying the port is taken."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SpecError(f"cannot listen on {host!r}: {exc.strerror}; check --host") from None
    family, _type, _proto, _name, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise SpecError(
            f"cannot listen on {host}:{port}: {exc.strerror}. Another program (perhaps another"
            " mediamix serve) uses the port: stop it or pick another --port. Nothing in the"
            " store was touched."
        ) from None
    return sock


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    home: Path | str | None = None,
    url: str | None = None,
    token: str | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    echo: Callable[[str], None] = print,
) -> None:
    """Run the planner until stopped: check the token and host, bind the port, and only then
    open the store (so a refused start changes nothing in it)."""
    import uvicorn
    from sqlalchemy.engine import make_url

    check_token(token)
    loopback = is_loopback(host)
    if not loopback and token is None:
        raise SpecError(
            f"refusing to listen on {host}: other machines could reach the planner without a"
            " password. Set MEDIAMIX_TOKEN to a long random string (every request must then send"
            " 'Authorization: Bearer <token>'), or keep the default --host 127.0.0.1"
        )
    sock = bind_socket(host, port)
    try:
        store = Store.open(home, url=url)
        app = create_app(
            store,
            token=token,
            allowed_hosts=LOOPBACK_HOSTS if loopback else None,
            max_upload_bytes=max_upload_bytes,
        )
        shown = host if ":" not in host else f"[{host}]"
        echo(f"mediamix planner on http://{shown}:{sock.getsockname()[1]}/  (Ctrl+C stops it)")
        echo(f"store: {make_url(store.url).render_as_string(hide_password=True)}")
        if token is not None:
            echo(f"access token required: sign in at http://{shown}:{port}{LOGIN_PATH}")
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    finally:
        sock.close()
