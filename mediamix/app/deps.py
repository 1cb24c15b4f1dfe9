"""What the routers take from the application: the store, the fit executor, the settings."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mediamix.app.store import Store


@dataclass(frozen=True)
class Settings:
    """How the application was built (`create_app`'s options)."""

    token: str | None
    max_upload_bytes: int


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_jobs(request: Request) -> Executor:
    return request.app.state.jobs


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
JobsDep = Annotated[Executor, Depends(get_jobs)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
