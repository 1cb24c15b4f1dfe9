"""CLI commands: optimize."""

from __future__ import annotations

COMMANDS: list = []
