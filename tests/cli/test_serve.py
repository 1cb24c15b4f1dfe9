"""`mediamix serve` from the command line: a refused start changes nothing in the store."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from mediamix.cli import cli


def test_serve_on_a_busy_port_exits_2_and_leaves_the_store_alone(tmp_path):
    home = tmp_path / "home"
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        res = CliRunner().invoke(cli, ["serve", "--port", str(port), "--home", str(home)])
    finally:
        busy.close()
    assert res.exit_code == 2, res.output
    assert f"cannot listen on 127.0.0.1:{port}" in res.output
    assert "Nothing in the store was touched" in res.output
    assert not home.exists() or not any(home.iterdir())


def test_serve_refuses_a_weak_token_before_opening_the_store(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("MEDIAMIX_TOKEN", "a" * 20)
    res = CliRunner().invoke(cli, ["serve", "--port", "0", "--home", str(home)])
    assert res.exit_code == 2, res.output
    assert "MEDIAMIX_TOKEN" in res.output
    assert not home.exists() or not any(home.iterdir())
