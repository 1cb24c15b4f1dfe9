"""SVI and MAP in chunks: the same steps as one uninterrupted run, one compiled program for
every chunk, progress after each chunk, and an exception from the callback lands between
chunks."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mediamix.inference.map import MAP
from mediamix.inference.progress import OptimiserProgress, chunk_length
from mediamix.inference.svi import SVI, optimiser, start_state

COMPILES: list[float] = []


def _listen() -> None:
    import jax.monitoring as mon

    if not getattr(_listen, "done", False):
        mon.register_event_duration_secs_listener(
            lambda name, secs, **kw: COMPILES.append(secs) if "backend_compile" in name else None
        )
        _listen.done = True


def model(design, structure=None, observe=True):
    import numpyro
    import numpyro.distributions as dist

    mu = numpyro.sample("mu", dist.Normal(0, 5))
    s = numpyro.sample("s", dist.HalfNormal(2))
    numpyro.deterministic("twice", 2 * mu)
    numpyro.sample("y", dist.Normal(mu, s), obs=design["y"] if observe else None)


@pytest.fixture(scope="module")
def design():
    import jax.numpy as jnp

    return {"y": jnp.asarray(np.random.default_rng(0).normal(1.0, 2.0, 40))}


def one_long_svi(design, steps: int, seed: int):
    """numpyro's `SVI.run` in one go, with the guide, optimiser and start SVI uses."""
    import jax
    from numpyro.infer import SVI as Engine
    from numpyro.infer import Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal
    from numpyro.infer.initialization import init_to_median

    m = functools.partial(model, structure=None)
    g = AutoNormal(m, init_loc_fn=init_to_median(num_samples=15), init_scale=0.05)
    svi = Engine(m, g, optimiser(0.02, steps), Trace_ELBO())
    state = start_state(svi, m, jax.random.PRNGKey(seed), design)
    return svi.run(jax.random.PRNGKey(seed), steps, design, progress_bar=False, init_state=state)


def test_svi_chunks_give_the_one_long_run_and_compile_once(design) -> None:
    _listen()
    seen: list[tuple[OptimiserProgress, int]] = []
    steps = 410  # 20 chunks of 21 steps, the last one of 11: still one program
    res = SVI(steps=steps, draws=50).run(
        model, design, None, seed=2, progress=lambda p: seen.append((p, len(COMPILES)))
    )
    ref = one_long_svi(design, steps, 2)
    assert chunk_length(steps) == 21
    assert [p.done for p, _ in seen] == [min(steps, 21 * k) for k in range(1, 21)]
    assert all(p.total == steps and p.phase == "optimising" for p, _ in seen)
    fractions = [p.fraction for p, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[0][0].remaining is None and all(p.remaining is not None for p, _ in seen[1:])
    # nothing compiles after the first chunk
    after_first = [n for _, n in seen]
    assert after_first[0] == after_first[-1], "a later chunk compiled again"
    # the same optimisation as one uninterrupted run: the loss trace and the final loss
    np.testing.assert_allclose(res.info["final_loss"], float(ref.losses[-1]), rtol=1e-5, atol=1e-6)
    step = max(1, steps // 200)
    np.testing.assert_allclose(
        res.info["losses"], np.asarray(ref.losses)[::step], rtol=1e-5, atol=1e-5
    )
    assert seen[-1][0].loss == pytest.approx(float(ref.losses[-1]), rel=1e-5)
    assert "optimising 410/410 steps" in seen[-1][0].line()


def test_svi_params_equal_one_long_run(design, monkeypatch) -> None:
    """The fitted guide's parameters (the ones its draws come from) match the long run's."""
    import mediamix.inference.svi as svi_module

    got: dict = {}
    real = svi_module.draw_program

    def spy(*a, **kw):
        run = real(*a, **kw)

        def spied(key, params, args):
            got.update({k: np.asarray(v) for k, v in params.items()})
            return run(key, params, args)

        return spied

    monkeypatch.setattr(svi_module, "draw_program", spy)
    svi_module._engine.cache_clear()  # a new engine: its draws go through the spy
    SVI(steps=200, draws=20).run(model, design, None, seed=5)
    ref = one_long_svi(design, 200, 5)
    assert set(got) == set(ref.params) and got
    for name, value in ref.params.items():
        np.testing.assert_allclose(got[name], np.asarray(value), rtol=1e-5, atol=1e-6)


def test_an_exception_from_the_callback_stops_the_svi_fit_between_chunks(design) -> None:
    class Stop(Exception):
        pass

    calls: list[int] = []

    def stop_after_two(p: OptimiserProgress) -> None:
        calls.append(p.done)
        if len(calls) == 2:
            raise Stop

    with pytest.raises(Stop):
        SVI(steps=200, draws=10).run(model, design, None, progress=stop_after_two)
    assert calls == [10, 20]


def test_map_reports_progress_per_chunk(design) -> None:
    seen: list[OptimiserProgress] = []
    res = MAP(steps=450).run(model, design, None, progress=seen.append)
    assert seen, "no progress reported"
    assert [p.done for p in seen] == list(range(100, 100 * len(seen) + 1, 100))
    assert all(p.total == 500 and p.phase == "optimising" for p in seen)
    assert seen[-1].done == res.info["steps_run"]
    assert seen[-1].loss == pytest.approx(res.info["final_loss"])


def test_progress_true_prints_lines_and_false_prints_nothing(design, capsys) -> None:
    SVI(steps=40, draws=5).run(model, design, None, progress=False)
    MAP(steps=200).run(model, design, None, progress=False)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    SVI(steps=40, draws=5).run(model, design, None, progress=True)
    MAP(steps=200).run(model, design, None, progress=True)
    err = capsys.readouterr().err
    assert "SVI optimising 2/40 steps · loss" in err
    assert "SVI optimising 40/40 steps" in err
    assert "MAP optimising 100/200 steps" in err
