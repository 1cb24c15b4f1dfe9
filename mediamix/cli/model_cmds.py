"""CLI commands: model."""

from __future__ import annotations

COMMANDS: list = []
