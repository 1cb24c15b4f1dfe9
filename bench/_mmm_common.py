"""Shared pieces of the MMM benchmarks: simulation, fitting with mediamix, the peer venv.

The peer (PyMC-Marketing) lives in a throw-away virtual environment outside the
repository; mediamix never imports it. ``ensure_peer_venv`` creates that environment
with pinned versions the first time and reuses it afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# JAX reads these at import: one host device per chain so NUTS chains can run in parallel.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

BENCH_DIR = Path(__file__).resolve().parent
PEER_SCRIPT = BENCH_DIR / "peer_pymc_marketing.py"
DEFAULT_PEER_VENV = "/tmp/mediamix-peer-venv"
# The newest PyMC-Marketing release that installs on Python 3.11 here (checked 2026-11-24),
# with the NumPyro/JAX backend and nutpie. None of these pulls PyTorch.
PEER_PINS = (
    "pymc-marketing==0.19.2",
    "pymc==5.28.5",
    "pytensor==2.38.3",
    "numpyro==0.22.0",
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "nutpie==0.16.8",
)


@dataclass(frozen=True)
class FitResult:
    """What a benchmark reads off one fit: time, diagnostics, ROAS draws summarised."""

    tool: str
    method: str
    wall_seconds: float
    min_ess_bulk: float
    max_rhat: float
    divergences: int
    roas: dict[str, dict[str, float]]  # channel -> {median, lower, upper} (90% interval)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def min_ess_per_second(self) -> float:
        return self.min_ess_bulk / self.wall_seconds if self.wall_seconds > 0 else float("nan")


def roas_abs_errors(fit: FitResult, true_roas: dict[str, float]) -> list[float]:
    """|posterior median ROAS - true ROAS| for each channel."""
    return [abs(fit.roas[ch]["median"] - true_roas[ch]) for ch in true_roas]


def roas_covered(fit: FitResult, true_roas: dict[str, float]) -> list[bool]:
    """Whether each channel's true ROAS lies inside the fit's 90% interval."""
    return [fit.roas[ch]["lower"] <= true_roas[ch] <= fit.roas[ch]["upper"] for ch in true_roas]


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (all threads)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


# --------------------------------------------------------------------------- mediamix side


@dataclass(frozen=True)
class SimData:
    """One simulated data set with its truth, as both tools read it."""

    frame: Any  # pandas.DataFrame
    truth: dict[str, Any]

    @property
    def channels(self) -> list[str]:
        return list(self.truth["channels"])

    @property
    def spend_columns(self) -> list[str]:
        return [ch["spend_column"] for ch in self.truth["channels"].values()]

    @property
    def controls(self) -> list[str]:
        return list(self.truth["controls"])

    @property
    def date_column(self) -> str:
        return self.truth["date_column"]

    @property
    def kpi_column(self) -> str:
        return self.truth["kpi_column"]

    @property
    def n_weeks(self) -> int:
        return int(self.truth["n_periods"])

    @property
    def true_roas(self) -> dict[str, float]:
        return {name: float(ch["roas"]) for name, ch in self.truth["channels"].items()}


def simulate_data(seed: int, n_weeks: int, n_channels: int, **kwargs: Any) -> SimData:
    """Weekly data from mediamix's simulator (geometric adstock + Hill, its default noise)."""
    from mediamix.data.simulate import simulate

    frame, truth = simulate(n_periods=n_weeks, n_channels=n_channels, seed=seed, **kwargs)
    return SimData(frame, truth)


def fit_mediamix(
    sim: SimData,
    method: str = "nuts",
    *,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int = 0,
    spec: Any = None,
) -> FitResult:
    """Fit mediamix's default model; wall time covers the whole ``fit`` call.

    That is data preparation, JIT compilation, sampling (or optimisation) and the
    diagnostics ``fit`` computes afterwards (posterior predictive check included).
    """
    import warnings

    import numpy as np

    from mediamix.data.simulate import simulated_dataset
    from mediamix.estimator import MMM

    ds = simulated_dataset(sim.frame, sim.truth)
    kwargs: dict[str, Any] = {"seed": seed}
    if method == "nuts":
        kwargs.update(chains=chains, draws=draws, warmup=warmup)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), cpu_seconds()
        fitted = MMM(spec).fit(ds, method=method, **kwargs)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        roas_draws = np.asarray(fitted.roas_draws())
    roas = {}
    for i, name in enumerate(fitted.channel_names):
        r = roas_draws[:, i]
        roas[name] = {
            "mean": float(np.mean(r)),
            "median": float(np.median(r)),
            "lower": float(np.quantile(r, 0.05)),
            "upper": float(np.quantile(r, 0.95)),
        }
    d = fitted.diagnostics
    min_ess = float(d.min_ess_bulk) if d is not None and d.min_ess_bulk is not None else np.nan
    max_rhat = float(d.max_rhat) if d is not None and d.max_rhat is not None else np.nan
    div = getattr(d, "divergences", None)
    return FitResult(
        tool="mediamix",
        method=method,
        wall_seconds=wall,
        min_ess_bulk=min_ess,
        max_rhat=max_rhat,
        divergences=int(div) if div is not None else -1,
        roas=roas,
        extra={
            "sampling_seconds": fitted.fit_seconds,
            "cpu_seconds": cpu,
            "chain_method": fitted.info.get("chain_method"),
            "ppc_coverage": getattr(d, "ppc_coverage", None),
        },
    )


# --------------------------------------------------------------------------- peer venv


def peer_venv_path() -> Path:
    return Path(os.environ.get("MEDIAMIX_PEER_VENV", DEFAULT_PEER_VENV))


def _peer_ready(python: Path) -> bool:
    if not python.exists():
        return False
    code = "import pymc_marketing, numpyro, jax; print(pymc_marketing.__version__)"
    r = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    want = PEER_PINS[0].split("==")[1]
    return r.returncode == 0 and r.stdout.strip() == want


def ensure_peer_venv(log=print) -> Path:
    """Create (once) the peer's virtual environment outside the repository; return its Python."""
    venv = peer_venv_path()
    python = venv / "bin" / "python"
    if _peer_ready(python):
        return python
    repo = BENCH_DIR.parent.resolve()
    if venv.resolve().is_relative_to(repo):
        raise SystemExit(f"MEDIAMIX_PEER_VENV={venv} lies inside the repository; pick a /tmp path")
    log(f"peer: creating {venv} and installing {' '.join(PEER_PINS)} (about a minute)")
    t0 = time.perf_counter()
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *PEER_PINS], check=True)
    log(f"peer: installed in {time.perf_counter() - t0:.0f} s")
    if not _peer_ready(python):
        raise SystemExit(f"peer: {venv} does not import pymc_marketing after install")
    return python


def run_peer(
    python: Path,
    csv: Path,
    channels: list[str],
    *,
    date: str,
    target: str,
    controls: list[str] | None = None,
    names: dict[str, str] | None = None,
    sampler: str = "numpyro",
    chains: int = 4,
    draws: int = 1000,
    tune: int = 1000,
    seed: int = 0,
    extra_args: tuple[str, ...] = (),
    timeout: float = 3600.0,
) -> FitResult:
    """Fit PyMC-Marketing in its own process (``names``: spend column -> channel name).

    ``wall_seconds`` is the peer's own ``fit`` call (model build, compilation, sampling and
    the deterministics it computes afterwards), as timed inside its process; the process
    time with Python start-up and imports is in ``extra["process_seconds"]``.
    """
    fd, out_name = tempfile.mkstemp(prefix=f"peer_{sampler}_", suffix=".json", dir=csv.parent)
    os.close(fd)
    out = Path(out_name)
    cmd = [
        str(python),
        str(PEER_SCRIPT),
        "--csv",
        str(csv),
        "--date",
        date,
        "--target",
        target,
        "--channels",
        ",".join(channels),
        "--controls",
        ",".join(controls or []),
        "--sampler",
        sampler,
        "--chains",
        str(chains),
        "--draws",
        str(draws),
        "--tune",
        str(tune),
        "--seed",
        str(seed),
        "--out",
        str(out),
        *extra_args,
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    process_seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"peer ({sampler}) failed:\n{r.stderr[-3000:]}")
    res = json.loads(out.read_text())
    return FitResult(
        tool="pymc-marketing",
        method=sampler,
        wall_seconds=res["fit_seconds"],
        min_ess_bulk=res["min_ess_bulk"],
        max_rhat=res["max_rhat"],
        divergences=res["divergences"],
        roas={(names or {}).get(col, col): v for col, v in res["roas"].items()},
        extra={**res, "process_seconds": process_seconds},
    )
