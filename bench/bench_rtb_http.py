"""Latency of the HTTP bidder under load: p50 / p99 over loopback, and the budget under it.

Starts ``mediamix rtb serve`` (uvicorn) in a subprocess with a trained FM model and its own
SQLite store, then sends OpenRTB 2.6 requests (``tmax`` 100 ms) from a small asyncio
HTTP/1.1 client over keep-alive connections:

- closed loop (default): ``--connections`` connections (50) each send their next request as
  soon as the last one is answered, ``--requests`` (5000) in all;
- open loop (``--rate R``): request i is released at ``t0 + i / R`` for ``--seconds``, and its
  latency counts from that *scheduled* time, so a server that falls behind shows it (no
  coordinated omission).

Afterwards every bid's win notice is sent at its bid price, and the bidder's /status must show
spend <= budget. Bounded: a few thousand requests.

    python bench/bench_rtb_http.py [--requests 5000] [--connections 50] [--budget 20]
    python bench/bench_rtb_http.py --rate 1000 --seconds 10 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


async def _http(reader, writer, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
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
    payload = await reader.readexactly(length) if length else b""
    return int(lines[0].split()[1]), payload


async def _worker(port, jobs, bodies, lat, codes, kinds, nurls):
    """One keep-alive HTTP/1.1 connection: take (index, start time) jobs, send, time.

    ``jobs`` is an asyncio.Queue (open loop: scheduled times) or an iterator of indices
    (closed loop: the clock starts when the request is sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            if isinstance(jobs, asyncio.Queue):
                job = await jobs.get()
                if job is None:
                    return
                i, t_start = job
            else:
                i = next(jobs, None)
                if i is None:
                    return
                t_start = time.perf_counter()
            code, payload = await _http(
                reader, writer, "POST", "/openrtb2/bid", bodies[i % len(bodies)]
            )
            lat[i] = time.perf_counter() - t_start
            codes[i] = code
            if code == 200 and b'"seatbid"' in payload:
                kinds[i] = 1
                for bid in json.loads(payload)["seatbid"][0]["bid"]:
                    nurls.append((bid["nurl"], bid["price"]))
            elif code == 200 and b'"nbr"' in payload:
                kinds[i] = 2  # a no-bid with a reason (15: the deadline could not be met)
    finally:
        writer.close()


async def load(port, bodies, connections, n=None, rate=None, seconds=None):
    """Closed loop over ``n`` requests, or open loop at ``rate`` for ``seconds``."""
    n = int(rate * seconds) if rate else int(n)
    lat = np.full(n, np.nan)
    codes = np.zeros(n, dtype=int)
    kinds = np.zeros(n, dtype=int)
    nurls: list = []
    # warm-up on its own arrays (no-bids: a currency the bidder does not use)
    warm = [json.dumps({**json.loads(bodies[0]), "cur": ["EUR"]}).encode()]
    wl, wc, wk = np.zeros(300), np.zeros(300, dtype=int), np.zeros(300, dtype=int)
    it = iter(range(300))
    await asyncio.gather(*(_worker(port, it, warm, wl, wc, wk, []) for _ in range(4)))

    t0 = time.perf_counter()
    if rate is None:
        it = iter(range(n))
        await asyncio.gather(
            *(_worker(port, it, bodies, lat, codes, kinds, nurls) for _ in range(connections))
        )
    else:
        queue: asyncio.Queue = asyncio.Queue()
        workers = [
            asyncio.create_task(_worker(port, queue, bodies, lat, codes, kinds, nurls))
            for _ in range(connections)
        ]
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
    return lat, codes, kinds, nurls, elapsed


async def send_wins(port, nurls, connections=8):
    """Every bid wins at its own price: its nurl with ${AUCTION_PRICE} replaced."""
    answers = []

    async def one(chunk):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for url, price in chunk:
                target = url.replace("${AUCTION_PRICE}", repr(float(price)))
                answers.append((await _http(reader, writer, "GET", target))[0])
        finally:
            writer.close()

    await asyncio.gather(*(one(nurls[k::connections]) for k in range(connections)))
    return answers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=5000, help="closed loop: requests in all")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rate", type=float, default=None, help="open loop: requests per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="open loop: duration")
    ap.add_argument("--budget", type=float, default=20.0, help="the bidder's budget")
    args = ap.parse_args()
    if not 1 <= args.requests <= 200_000 or not 1 <= args.connections <= 1000:
        raise SystemExit("keep it a bench: --requests in [1, 200000], --connections in [1, 1000]")

    with tempfile.TemporaryDirectory() as tmp:
        model_path = trained_model().save(Path(tmp) / "fm.npz")
        prices = Path(tmp) / "win_prices.txt"
        rng = np.random.default_rng(1)
        np.savetxt(prices, rng.lognormal(np.log(20), 0.5, 20_000))
        port = free_port()
        cmd = [
            sys.executable, "-c", "from mediamix.cli import main; main()",
            "rtb", "serve", "--port", str(port), "--model", str(model_path),
            "--cpc", "1.0", "--budget", str(args.budget), "--win-prices", str(prices),
            "--ad-id", "cosmetics_ad_0", "--store", str(Path(tmp) / "rtb.sqlite"),
            "--bid-ttl", "600",
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
            lat, codes, kinds, nurls, elapsed = asyncio.run(
                load(port, bodies, args.connections, n=args.requests, rate=args.rate,
                     seconds=args.seconds)
            )  # fmt: skip
            cpu = server_cpu_seconds(server.pid) - cpu0
            before = httpx.get(f"http://127.0.0.1:{port}/status").json()
            wins = asyncio.run(send_wins(port, nurls))
            status = httpx.get(f"http://127.0.0.1:{port}/status").json()
        finally:
            server.terminate()
            server.wait(timeout=10)

    ok = (codes == 200) | (codes == 204)
    ms = lat[ok] * 1e3
    mode = (
        f"open loop at {args.rate:,.0f} req/s"
        if args.rate
        else f"closed loop, {args.connections} connections"
    )
    print(f"load               : {mode}")
    print(
        f"requests sent      : {codes.size} in {elapsed:.2f} s ({codes.size / elapsed:,.0f} req/s)"
    )
    print(
        f"responses          : {int((kinds == 1).sum())} bids, "
        f"{int(((codes == 204) | ((codes == 200) & (kinds == 0))).sum())} no-bids (204), "
        f"{int((kinds == 2).sum())} no-bids with nbr 15 (deadline), {int((~ok).sum())} errors"
    )
    print(f"server counted     : {status['requests']} requests, {status['bids']} bids, "
          f"no-bids {status['no_bids']}")  # fmt: skip
    print(
        f"server CPU         : {cpu:.2f} s = {cpu / codes.size * 1e6:.0f} us per request "
        f"({100 * cpu / elapsed:.0f}% of one core)"
    )
    for q in (50, 90, 99, 99.9):
        print(f"latency p{q:<5}     : {np.percentile(ms, q):7.2f} ms")
    print(f"latency max        : {ms.max():7.2f} ms")
    exposure = sum(price for _, price in nurls) / 1000
    print(
        f"budget             : {args.budget:g}; bids made could cost {exposure:.4f} "
        f"(reserved {before['reserved']:.4f} + spent {before['spent']:.4f} before the wins)"
    )
    print(
        f"win notices        : {sum(w == 204 for w in wins)} of {len(wins)} accepted; "
        f"spent {status['spent']:.4f}, reserved {status['reserved']:.4f}"
    )
    assert exposure <= args.budget + 1e-9 and status["spent"] <= args.budget + 1e-9
    print(f"spend <= budget    : yes ({status['spent']:.4f} <= {args.budget:g})")
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(f"server stack       : uvicorn ({http} parser, {loop} loop), 1 worker, loopback")
    print(f"machine load       : {' '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")


if __name__ == "__main__":
    main()
