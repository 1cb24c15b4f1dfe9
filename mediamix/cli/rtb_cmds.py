"""CLI commands: rtb."""

from __future__ import annotations

COMMANDS: list = []
