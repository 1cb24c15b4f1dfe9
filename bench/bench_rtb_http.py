"""Latency of the HTTP bidder under load: p50 / p99 at a fixed request rate over loopback.

Starts ``mediamix rtb serve`` (uvicorn) in a subprocess with a trained FM model, then sends
OpenRTB 2.6 requests open-loop at ``--rate`` per second for ``--seconds`` from a small
asyncio HTTP/1.1 client over keep-alive connections. Latency is measured from each request's *scheduled*
send time to its response, so a server that falls behind shows it (no coordinated omission).

    python bench/bench_rtb_http.py [--rate 1000] [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rtb_decisions import bid_requests, trained_model  # noqa: E402


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        import os

        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _worker(port, queue, bodies, lat, codes):
    """One keep-alive HTTP/1.1 connection: take (index, scheduled time) jobs, send, time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            job = await queue.get()
            if job is None:
                return
            i, t_sched = job
            body = bodies[i % len(bodies)]
            head = (
                "POST /openrtb2/bid HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\nx-openrtb-version: 2.6\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            writer.write(head + body)
            await writer.drain()
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if length:
                await reader.readexactly(length)
            lat[i] = time.perf_counter() - t_sched
            codes[i] = int(lines[0].split()[1])
    finally:
        writer.close()


async def load(port: int, bodies: list[bytes], rate: float, seconds: float, connections: int):
    """Open-loop load: a scheduler releases request i at t0 + i / rate to a pool of
    keep-alive connections (a minimal asyncio HTTP/1.1 client, so the generator's own cost
    stays small next to the server's)."""
    n = int(rate * seconds)
    lat = np.full(n, np.nan)
    codes = np.zeros(n, dtype=int)
    # warm-up on its own arrays
    wq: asyncio.Queue = asyncio.Queue()
    wl, wc = np.zeros(300), np.zeros(300, dtype=int)
    for i in range(300):
        wq.put_nowait((i, time.perf_counter()))
    for _ in range(4):
        wq.put_nowait(None)
    await asyncio.gather(*(_worker(port, wq, bodies, wl, wc) for _ in range(4)))

    queue: asyncio.Queue = asyncio.Queue()
    workers = [
        asyncio.create_task(_worker(port, queue, bodies, lat, codes)) for _ in range(connections)
    ]
    t0 = time.perf_counter()
    for i in range(n):
        t_sched = t0 + i / rate
        delay = t_sched - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, t_sched))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - t0
    return lat, codes, elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_path = trained_model().save(Path(tmp) / "fm.npz")
        prices = Path(tmp) / "win_prices.txt"
        rng = np.random.default_rng(1)
        np.savetxt(prices, rng.lognormal(np.log(20), 0.5, 20_000))
        port = free_port()
        cmd = [
            sys.executable, "-c", "from mediamix.cli import main; main()",
            "rtb", "serve", "--port", str(port), "--model", str(model_path),
            "--cpc", "1.0", "--budget", "1e9", "--win-prices", str(prices),
            "--ad-id", "cosmetics_ad_0",
        ]  # fmt: skip
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            import httpx

            deadline = time.time() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.time() > deadline:
                    raise SystemExit("server did not start: " + server.stderr.read().decode())
                time.sleep(0.2)
            bodies = [json.dumps(r).encode() for r in bid_requests(5000)]
            cpu0 = server_cpu_seconds(server.pid)
            lat, codes, elapsed = asyncio.run(
                load(port, bodies, args.rate, args.seconds, args.connections)
            )
            cpu = server_cpu_seconds(server.pid) - cpu0
            status = httpx.get(f"http://127.0.0.1:{port}/status").json()
        finally:
            server.terminate()
            server.wait(timeout=10)

    ok = (codes == 200) | (codes == 204)
    ms = lat[ok] * 1e3
    print(
        f"requests sent      : {codes.size} in {elapsed:.2f} s "
        f"({codes.size / elapsed:,.0f} req/s achieved, target {args.rate:,.0f})"
    )
    print(
        f"responses          : {int((codes == 200).sum())} bids, "
        f"{int((codes == 204).sum())} no-bids, {int((~ok).sum())} errors"
    )
    print(f"server counted     : {status['requests']} requests, {status['bids']} bids")
    print(
        f"server CPU         : {cpu:.2f} s = {cpu / codes.size * 1e6:.0f} us per request "
        f"({100 * cpu / elapsed:.0f}% of one core)"
    )
    for q in (50, 90, 99, 99.9):
        print(f"latency p{q:<5}     : {np.percentile(ms, q):7.2f} ms")
    print(f"latency max        : {ms.max():7.2f} ms")
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(f"server stack       : uvicorn ({http} parser, {loop} loop), 1 worker, loopback")
    verdict = "meets" if np.percentile(ms, 99) < 5.0 else "MISSES"
    print(f"target p99 < 5 ms at {args.rate:,.0f} req/s: {verdict}")


if __name__ == "__main__":
    main()
