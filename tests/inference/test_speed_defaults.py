"""Defaults that keep a cold fit fast: a host device per NUTS chain from the command line, a
clear warning when Python code has fewer devices than chains, the adstock convolution as
one contraction (the same numbers as the textbook convolution), and the SVI site list
traced without compiling anything."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from mediamix.devices import DEFAULT_HOST_DEVICES, chains_in_args, host_devices_for
from mediamix.inference.nuts import NUTS
from mediamix.transforms.adstock import ADSTOCKS, apply_weights


def test_the_command_line_asks_for_a_device_per_chain_at_least_four() -> None:
    assert DEFAULT_HOST_DEVICES == 4
    assert host_devices_for(["fit", "data.csv", "--kpi", "sales"]) == 4
    assert host_devices_for(["fit", "data.csv", "--chains", "2"]) == 4
    assert host_devices_for(["fit", "data.csv", "--chains", "6"]) == 6
    assert host_devices_for(["fit", "data.csv", "--chains=8"]) == 8
    assert chains_in_args(["fit", "--chains", "many"]) is None  # the command reports it


def test_mediamix_fit_chains_gets_that_many_devices_before_jax_starts() -> None:
    """The CLI's entry sets the devices from ``--chains`` (here 6 on a 2-core machine), so
    ``mediamix fit --chains N`` runs its chains in parallel."""
    code = (
        "import sys\n"
        "from mediamix.cli import main\n"
        "sys.argv = ['mediamix', 'fit', '--chains', '6', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "import jax\n"
        "print('devices', jax.local_device_count())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # the CLI sets it
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**env, "JAX_PLATFORMS": "cpu"})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "devices 6" in out.stdout, out.stdout


def tiny_model(design, structure=None):
    import numpyro
    import numpyro.distributions as dist

    mu = numpyro.sample("mu", dist.Normal(0, 5))
    numpyro.sample("y", dist.Normal(mu, 1.0), obs=design["y"])


@pytest.fixture(scope="module")
def design():
    import jax.numpy as jnp

    return {"y": jnp.asarray(np.random.default_rng(1).normal(0.5, 1.0, 20))}


def test_more_chains_than_devices_warn_and_name_the_fix(design) -> None:
    import jax

    n = jax.local_device_count() + 1  # the tests run with 4 host devices
    with pytest.warns(RuntimeWarning, match=rf"set_host_devices\({n}\)") as seen:
        res = NUTS(chains=n, draws=3, warmup=3).run(tiny_model, design, None)
    assert res.info["chain_method"] == "sequential"
    assert f"{n} chains but JAX has {n - 1} host device(s)" in str(seen[0].message)


def reference_convolution(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """y[t, c] = sum_l w[c, l] x[t - l, c] per channel with numpy's convolve (zeros before)."""
    T, C = x.shape
    return np.stack([np.convolve(x[:, c], w[c])[:T] for c in range(C)], axis=1)


@pytest.mark.parametrize("T,C,L", [(30, 4, 6), (5, 2, 8), (52, 1, 1)])
def test_apply_weights_equals_the_reference_convolution(T: int, C: int, L: int) -> None:
    import jax.numpy as jnp

    rng = np.random.default_rng(T + C + L)
    x = rng.gamma(1.0, 1.0, (3, T, C))  # three draws
    w = rng.uniform(0.0, 1.0, (3, C, L))
    ref = np.stack([reference_convolution(x[s], w[s]) for s in range(3)])
    np.testing.assert_allclose(apply_weights(x, w), ref, rtol=1e-12, atol=1e-12)
    got = np.asarray(apply_weights(jnp.asarray(x, jnp.float32), jnp.asarray(w, jnp.float32)))
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
    # leading axes broadcast: one series, three sets of weights
    np.testing.assert_allclose(apply_weights(x[0], w), np.stack(
        [reference_convolution(x[0], w[s]) for s in range(3)]), rtol=1e-12)  # fmt: skip


def test_geometric_adstock_of_a_pulse_is_the_decay() -> None:
    x = np.zeros((10, 1))
    x[2, 0] = 1.0
    y = ADSTOCKS["geometric"](x, L=4, lam=np.array([0.5]))
    np.testing.assert_allclose(y[:, 0], [0, 0, 1, 0.5, 0.25, 0.125, 0, 0, 0, 0])


def test_svi_site_list_is_traced_without_compiling(design) -> None:
    import jax.monitoring as mon

    from mediamix.inference.svi import model_sites

    def model(d, observe=True):
        import numpyro
        import numpyro.distributions as dist

        a = numpyro.sample("a", dist.Gamma(2.0, 1.0))  # a sampler that is slow to compile
        numpyro.deterministic("twice", 2 * a)
        numpyro.sample("y", dist.Normal(a, 1.0), obs=d["y"] if observe else None)

    seen: list[float] = []
    mon.register_event_duration_secs_listener(
        lambda name, secs, **kw: seen.append(secs) if "backend_compile" in name else None
    )
    assert model_sites(model, design) == ["a", "twice"]
    assert seen == [], "model_sites compiled a program"
