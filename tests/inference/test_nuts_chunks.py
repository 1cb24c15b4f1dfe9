"""NUTS in chunks: the same chain as numpyro's MCMC in one go, one compiled program for every
chunk, progress after each chunk, and a Ctrl-C answered between chunks."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mediamix.inference.nuts import NUTS, SamplerProgress, chunk_length, duration

COMPILES: list[float] = []


def _listen() -> None:
    import jax.monitoring as mon

    if not getattr(_listen, "done", False):
        mon.register_event_duration_secs_listener(
            lambda name, secs, **kw: COMPILES.append(secs) if "backend_compile" in name else None
        )
        _listen.done = True


def jax_devices() -> int:
    import jax

    return jax.local_device_count()


def model(design, structure=None):
    import numpyro
    import numpyro.distributions as dist

    mu = numpyro.sample("mu", dist.Normal(0, 5))
    s = numpyro.sample("s", dist.HalfNormal(2))
    numpyro.deterministic("twice", 2 * mu)
    numpyro.sample("y", dist.Normal(mu, s), obs=design["y"])


@pytest.fixture(scope="module")
def design():
    import jax.numpy as jnp

    return {"y": jnp.asarray(np.random.default_rng(0).normal(1.0, 2.0, 40))}


def one_long_run(design, chains: int, draws: int, warmup: int):
    """numpyro's MCMC in one go, with the kernel settings NUTS uses."""
    import jax
    from numpyro.infer import MCMC, init_to_median
    from numpyro.infer import NUTS as Kernel

    kernel = Kernel(functools.partial(model, structure=None), target_accept_prob=0.85,
                    max_tree_depth=10, init_strategy=init_to_median(num_samples=15))  # fmt: skip
    method = "parallel" if jax.local_device_count() >= chains else "sequential"
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method=method, progress_bar=False, jit_model_args=True)  # fmt: skip
    mcmc.run(jax.random.PRNGKey(3), design, extra_fields=("diverging", "energy", "num_steps"))
    return mcmc.get_samples(group_by_chain=True), mcmc.get_extra_fields(group_by_chain=True)


# chains=2 run in parallel on the test's 4 host devices, chains=5 one after another
@pytest.mark.parametrize("chains", [2, 5])
def test_chunks_give_the_one_long_run_and_compile_once(design, chains: int) -> None:
    _listen()
    seen: list[tuple[SamplerProgress, int]] = []
    res = NUTS(chains=chains, draws=50, warmup=30).run(
        model, design, None, seed=3, progress=lambda p: seen.append((p, len(COMPILES)))
    )
    samples, extra = one_long_run(design, chains, 50, 30)
    assert set(res.samples) == {"mu", "s", "twice"}
    # parallel chains start as MCMC starts them (the initialisation compiled, under pmap):
    # the same chain to float precision. Run one after another, MCMC initialises each chain
    # eagerly, NUTS in one compiled program: the starts differ in the last bits, and the
    # chains then drift apart slowly (here by at most about 0.5%).
    exact = jax_devices() >= chains
    tol = {"rtol": 1e-6, "atol": 1e-9} if exact else {"rtol": 2e-2, "atol": 2e-2}
    for site, value in samples.items():
        assert res.samples[site].shape == (chains, 50)
        np.testing.assert_allclose(res.samples[site], np.asarray(value), **tol)
    np.testing.assert_allclose(res.sample_stats["energy"], np.asarray(extra["energy"]), **tol)
    if exact:
        assert (res.sample_stats["n_steps"] == np.asarray(extra["num_steps"])).all()
    assert res.sample_stats["diverging"].shape == (chains, 50)
    assert res.info["chunk"] == 5 == chunk_length(50)

    # nothing compiles after the first chunk: 3 warmup + 10 sampling chunks share one program
    after_first = [n for _, n in seen[1:]]
    assert len(seen) == 1 + 30 // 5 + 50 // 5
    assert after_first[0] == after_first[-1], "a later chunk compiled again"


def test_progress_reports_phase_steps_and_time_left(design) -> None:
    seen: list[SamplerProgress] = []
    NUTS(chains=2, draws=40, warmup=20).run(model, design, None, seed=0, progress=seen.append)
    assert (seen[0].phase, seen[0].done, seen[0].total, seen[0].fraction) == ("warmup", 0, 20, 0)
    assert [p.phase for p in seen].count("warmup") == 1 + 20 // 4
    assert [(p.done, p.total) for p in seen if p.phase == "sampling"] == [
        (4 * k, 40) for k in range(1, 11)
    ]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(set(fractions)) == len(seen)
    assert seen[1].remaining is None  # the first chunk holds the compilation: no estimate yet
    assert all(p.remaining is not None and p.remaining >= 0 for p in seen[2:])
    assert seen[-1].remaining == 0
    assert all(b.elapsed >= a.elapsed for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1].line().startswith("sampling 40/40 draws · ")
    assert "about 0 s left" in seen[-1].line()


def test_ctrl_c_arrives_between_chunks(design) -> None:
    seen: list[SamplerProgress] = []

    def stop_in_sampling(p: SamplerProgress) -> None:
        seen.append(p)
        if p.phase == "sampling" and p.done == 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        NUTS(chains=2, draws=40, warmup=20).run(model, design, None, progress=stop_in_sampling)
    assert (seen[-1].phase, seen[-1].done) == ("sampling", 12)


def test_cli_progress_lines_on_stderr(design, capsys) -> None:
    NUTS(chains=1, draws=10, warmup=10).run(model, design, None, progress=True)
    err = capsys.readouterr().err
    assert "NUTS warmup 10/10 warmup steps" in err and "NUTS sampling 10/10 draws" in err


def test_durations_read_as_people_write_them() -> None:
    assert [duration(s) for s in (0.4, 8, 59.6, 125, 3840)] == [
        "0 s", "8 s", "1 min 00 s", "2 min 05 s", "1 h 04 min"
    ]  # fmt: skip
    assert [chunk_length(d) for d in (1, 9, 10, 15, 1000)] == [1, 1, 1, 2, 100]
