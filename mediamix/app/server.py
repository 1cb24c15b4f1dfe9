"""The web planner: a JSON API under /api and server-rendered pages (Runs, Planner, Scenarios).

`create_app(store, token=..., ...)` assembles the FastAPI application from its parts:
:mod:`~mediamix.app.middleware` (token, Host and Origin checks, body size cap, errors as
status codes), :mod:`~mediamix.app.api` (the JSON API), :mod:`~mediamix.app.pages` (the
pages) and :mod:`~mediamix.app.schemas` (the bodies). Safe by default:

- with a token, every request must carry `Authorization: Bearer <token>` (pages may use the
  cookie set by `/login?token=...`, SameSite=Strict); without one the server is meant for
  127.0.0.1 only (`mediamix serve` refuses other hosts without a token);
- `allowed_hosts` rejects requests for other Host names (DNS rebinding) and a state-changing
  request from another origin is refused (cross-site form posts);
- request bodies are capped at `max_upload_bytes`;
- names from users are data, never file paths (run directories are named by the server);
- a failed fit or solve only marks its own run or returns an error; saved scenarios stay.
"""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mediamix import __version__
from mediamix.app import api, pages
from mediamix.app.deps import Settings
from mediamix.app.middleware import BodyLimit, RequestGuard, add_error_handlers
from mediamix.app.store import Store

DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def create_app(
    store: Store,
    *,
    token: str | None = None,
    allowed_hosts: list[str] | tuple[str, ...] | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    executor: ThreadPoolExecutor | None = None,
) -> FastAPI:
    """The planner's web application over `store`.

    `token`: when set, required on every request (Bearer header or login cookie).
    `allowed_hosts`: Host header names accepted (None: any; `mediamix serve` passes the
    loopback names when bound to loopback). `executor`: runs fit jobs (default: one worker
    thread). Runs left queued or running by a previous server are marked failed.
    """
    store.fail_interrupted()
    jobs = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="mediamix-fit")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
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
    app.add_middleware(BodyLimit, limit=max_upload_bytes)
    app.add_middleware(RequestGuard, token=token, allowed_hosts=allowed_hosts)
    add_error_handlers(app)
    app.include_router(api.router)
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
