"""Many models of one structure in one compiled program: NUTS, SVI and MAP vectorised over
models.

Models share a structure when everything static about them is equal
(`mediamix.model.reuse.structure_key`); their data and the priors scaled to their data go to
the model as traced arguments (`mediamix.model.reuse.PriorsAsArgs`), so one compilation
serves every model of the group.

- NUTS (`run_nuts`): one numpyro NUTS kernel (`mediamix.inference.nuts.make_kernel`), its
  ``init`` and ``sample`` taking each model's arguments, over lanes (model x chain), each
  lane with its own initial point (`mediamix.inference.init.init_to_prior_centre`), step size
  and mass-matrix adaptation; lanes are spread over the host devices with ``jax.pmap`` when
  JAX has more than one, and a device's lanes run one after another (``lax.map``, a CPU's
  default: each lane takes the steps of a fit alone) or in lockstep (``jax.vmap``, an
  accelerator's default: each step waits for the longest trajectory of the device's lanes).
  Like `mediamix.inference.nuts`, the kernel is set up inside the traced init program
  (nothing runs eagerly) and the steps run in chunks of one compiled program (a traced step
  count) with a `SamplerProgress` after each.
- SVI (`run_svi`) and MAP (`run_map`): the optimiser's update vmapped over models, each with
  its own guide parameters and optimiser state, the same steps and seeds as one fit alone;
  MAP freezes each model at the chunk where its own early stop would end it.

Each model gets its own `FitResult` (draws ``(chain, draw, ...)``), in the order given.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mediamix.devices import enable_compile_cache
from mediamix.errors import ConvergenceError, SpecError
from mediamix.inference import map as _map
from mediamix.inference.init import init_to_prior_centre
from mediamix.inference.nuts import (
    NUTS,
    SamplerProgress,
    chain_keys,
    chunk_length,
    make_kernel,
    one_chain_chunk,
    one_chain_init,
    stderr_progress,
)
from mediamix.inference.progress import Clock, OptimiserProgress, reporter
from mediamix.inference.progress import chunk_length as steps_chunk
from mediamix.inference.result import FitResult
from mediamix.inference.svi import SVI, loss_rel_change, model_sites, optimiser, start_state
from mediamix.model.reuse import PriorsAsArgs, prior_arrays, structure_key
from mediamix.model.structure import Structure

# -- structure and priors ---------------------------------------------------------------------


def stack(trees: list) -> Any:
    """Pytrees of equal structure stacked on a new leading axis (numpy, then JAX)."""
    import jax
    import jax.numpy as jnp

    return jax.tree.map(lambda *xs: jnp.asarray(np.stack([np.asarray(x) for x in xs])), *trees)


def _check_group(structures: list[Structure], designs: list[dict]) -> None:
    if not structures:
        raise SpecError("a batch needs at least one model; got none")
    if len(structures) != len(designs):
        raise SpecError(
            f"a batch needs one design per structure; got {len(structures)} structures and "
            f"{len(designs)} designs"
        )
    key = structure_key(structures[0], designs[0])
    for i, (s, d) in enumerate(zip(structures, designs, strict=True)):
        if structure_key(s, d) != key:
            raise SpecError(
                f"model {i} of the batch does not share model 0's structure (channels, "
                "transforms, periods, controls or spec differ); batch only models of one "
                "structure (mediamix.estimator.batch.fit_batch groups them for you)"
            )


def _model_args(designs: list[dict], structures: list[Structure]):
    """The first model's ``(design, priors)`` and every model's, stacked on axis 0."""

    priors = [prior_arrays(s.priors) for s in structures]
    first = (dict(designs[0]), {k: _tree_jnp(v) for k, v in priors[0].items()})
    return first, (stack([dict(d) for d in designs]), stack(priors))


def _tree_jnp(tree):
    import jax
    import jax.numpy as jnp

    return jax.tree.map(jnp.asarray, tree)


def _take(tree, i):
    import jax

    return jax.tree.map(lambda v: v[i], tree)


# -- NUTS ---------------------------------------------------------------------------------


def run_nuts(
    sampler: NUTS,
    model,
    designs: list[dict],
    structures: list[Structure],
    *,
    seed: int = 0,
    progress: Any = False,
    lockstep: bool | None = None,
) -> list[FitResult]:
    """NUTS on every model of one structure at once; one `FitResult` per model.

    Lanes are (model, chain) pairs; each chain of each model starts from its own
    ``init_to_prior_centre`` point and adapts its own step size and diagonal (or dense) mass
    matrix over ``sampler.warmup`` steps. The chains of a model use the keys
    ``split(PRNGKey(seed), chains)``, as `NUTS.run` does. ``lockstep``: the lanes of a
    device in one vmapped step (True) or one after another (False, `_over_lanes`); None
    (the default): in lockstep on an accelerator, one after another on a CPU.
    """
    import jax
    import jax.numpy as jnp

    _check_group(structures, designs)
    enable_compile_cache()
    report = reporter(progress, stderr_progress)
    M, K = len(designs), int(sampler.chains)
    W, D = int(sampler.warmup), int(sampler.draws)
    length = chunk_length(D)
    clock = Clock(W + D)
    if report is not None:
        report(SamplerProgress("warmup", 0, W, W, D, 0.0, None))

    _, stacked = _model_args(designs, structures)
    # one kernel for every lane, set up inside the traced init program (as
    # `mediamix.inference.nuts` does): set up eagerly on the first model, numpyro's
    # initialisation runs op by op, compiling each step (about 15 s of a cold batch)
    kernel = make_kernel(PriorsAsArgs(model, structures[0]), sampler.target_accept,
                         sampler.max_tree_depth, sampler.dense_mass)  # fmt: skip

    # lanes: model-major (lane = model * K + chain), spread over host devices when present
    lanes = M * K
    n_dev = min(jax.local_device_count(), lanes)
    per_dev = -(-lanes // n_dev)
    padded = per_dev * n_dev
    lane_model = np.minimum(np.arange(padded) // K, M - 1)  # padding repeats the last model
    lane_keys = chain_keys(jax.random.PRNGKey(seed), K)[np.arange(padded) % K]
    lane_args = jax.tree.map(lambda v: v[lane_model], stacked)

    if lockstep is None:
        lockstep = jax.default_backend() != "cpu"
    init_map, chunk_map = _over_lanes(one_chain_init(kernel, W), one_chain_chunk(kernel, length),
                                      lockstep)  # fmt: skip
    if n_dev > 1:

        def split(tree):  # (padded, ...) -> (n_dev, per_dev, ...)
            return jax.tree.map(lambda v: v.reshape((n_dev, per_dev) + v.shape[1:]), tree)

        def join(tree):
            return jax.tree.map(lambda v: np.asarray(v).reshape((padded,) + v.shape[2:]), tree)

        init_all = jax.pmap(init_map)
        chunk_all = jax.pmap(chunk_map, in_axes=(0, None, 0))
        dev_args = split(lane_args)
        states = init_all(split(lane_keys), dev_args)

        def advance(states, n):
            states, rec = chunk_all(states, jnp.int32(n), dev_args)
            return states, join(rec)
    else:
        init_all = jax.jit(init_map)
        chunk_all = jax.jit(chunk_map)
        states = init_all(lane_keys, lane_args)

        def advance(states, n):
            states, rec = chunk_all(states, jnp.int32(n), lane_args)
            return states, jax.tree.map(np.asarray, rec)

    parts = []
    for phase, steps, before in (("warmup", W, 0), ("sampling", D, W)):
        done = 0
        while done < steps:
            n = min(length, steps - done)
            states, rec = advance(states, n)
            done += n
            if phase == "sampling":
                parts.append(jax.tree.map(lambda v, n=n: v[:, :n], rec))
            if report is not None:
                elapsed, remaining = clock.tick(before + done)
                report(SamplerProgress(phase, done, steps, W, D, elapsed, remaining))
    z, diverging, energy, n_steps = jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *parts)
    info = {"chain_method": "batched", "chains": K, "draws": D, "warmup": W, "chunk": length,
            "batch_size": M, "devices": n_dev}  # fmt: skip
    out = []
    for m in range(M):
        sl = slice(m * K, (m + 1) * K)
        samples = {k: np.asarray(v[sl]) for k, v in z.items()}
        stats = {"diverging": diverging[sl], "energy": energy[sl], "n_steps": n_steps[sl]}
        out.append(FitResult(samples, stats, {**info, "batch_index": m}))
    return out


def _over_lanes(init_lane, chunk_lane, lockstep: bool):
    """``(init(keys, args), chunk(states, n, args))`` over a leading lane axis.

    ``lockstep``: ``jax.vmap``, every lane's step in one wide operation (what an accelerator
    wants; each step waits for the batch's longest trajectory). Otherwise ``lax.map``: the
    lanes one after another inside one program, each with its own trajectory length; on a
    CPU this traces and compiles a program the size of one chain's (a vmapped NUTS step took
    3 times as long to compile and 18 times as long to trace) and wastes no work on lanes
    that finished their trajectory early."""
    import jax
    from jax import lax

    if lockstep:
        return jax.vmap(init_lane), jax.vmap(chunk_lane, in_axes=(0, None, 0))

    def init(keys, args):
        return lax.map(lambda ka: init_lane(*ka), (keys, args))

    def chunk(states, n, args):
        return lax.map(lambda sa: chunk_lane(sa[0], n, sa[1]), (states, args))

    return init, chunk


# -- SVI ----------------------------------------------------------------------------------


def _svi_engine(sampler_guide: str, wrapped, steps: int, learning_rate: float):
    from numpyro.infer import SVI as Engine
    from numpyro.infer import Trace_ELBO
    from numpyro.infer.autoguide import AutoDelta, AutoLowRankMultivariateNormal, AutoNormal

    init = init_to_prior_centre()
    if sampler_guide == "delta":
        g = AutoDelta(wrapped, init_loc_fn=init)
    else:
        auto = AutoNormal if sampler_guide == "normal" else AutoLowRankMultivariateNormal
        g = auto(wrapped, init_loc_fn=init, init_scale=0.05)
    return Engine(wrapped, g, optimiser(learning_rate, steps), Trace_ELBO()), g


def _svi_states(guide: str, wrapped, steps: int, lr: float, seed: int, first, stacked):
    """The engine (its guide set up on the first model) and every model's initial state,
    made as a fit of it alone makes it (`mediamix.inference.svi.start_state`)."""
    import jax

    svi, g = _svi_engine(guide, wrapped, steps, lr)
    # sets up the guide on abstract values: nothing is run or compiled (a concrete
    # ``svi.init`` runs the model op by op and searches for a valid start, compiling each
    # step: most of a batch's start-up time and a few hundred MiB of resident memory)
    jax.eval_shape(functools.partial(start_state, svi, wrapped, jax.random.PRNGKey(seed)), *first)

    def init_one(args):
        own, _ = _svi_engine(guide, wrapped, steps, lr)  # a fresh guide per trace
        return start_state(own, wrapped, jax.random.PRNGKey(seed), *args)

    return svi, g, jax.jit(jax.vmap(init_one))(stacked)


def _guide_draws(wrapped, g, params, stacked, first, draws: int, seed: int) -> dict:
    """Draws of every latent and deterministic site per model: ``{site: (M, draws, ...)}``."""
    import jax
    from numpyro.infer import Predictive

    sites = model_sites(lambda d, observe=True: wrapped(d, first[1], observe), first[0])

    def one(p, args):
        pred = Predictive(wrapped, guide=g, params=p, num_samples=draws, return_sites=sites)
        return pred(jax.random.PRNGKey(seed), *args, observe=False)

    out = jax.jit(jax.vmap(one))(params, stacked)
    return {k: np.asarray(v) for k, v in out.items() if k in sites}


def run_svi(
    sampler: SVI,
    model,
    designs: list[dict],
    structures: list[Structure],
    *,
    seed: int = 0,
    progress: Any = False,
) -> list[FitResult]:
    """SVI on every model of one structure at once: the same guide, optimiser, steps and seeds
    as `SVI.run` on each model alone, the update vmapped over models."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    _check_group(structures, designs)
    enable_compile_cache()
    report = reporter(progress)
    M, steps = len(designs), int(sampler.steps)
    wrapped = PriorsAsArgs(model, structures[0])
    first, stacked = _model_args(designs, structures)
    svi, g, states = _svi_states(
        sampler.guide, wrapped, steps, sampler.learning_rate, seed, first, stacked
    )
    length = steps_chunk(steps)

    @jax.jit
    def run(states, n, args):
        def one(state, a):
            def body(i, carry):
                s, buf = carry
                s, loss = svi.update(s, *a)
                return s, buf.at[i].set(loss)

            buf = jnp.full((length,), jnp.nan, jnp.float32)
            return lax.fori_loop(0, n, body, (state, buf))

        return jax.vmap(one)(states, args)

    clock = Clock(steps)
    parts, done = [], 0
    while done < steps:
        n = min(length, steps - done)
        states, buf = run(states, jnp.int32(n), stacked)
        part = np.asarray(buf)[:, :n]
        parts.append(part)
        done += n
        if report is not None:
            elapsed, remaining = clock.tick(done)
            loss = float(np.mean(part[:, -1]))
            report(OptimiserProgress("SVI", done, steps, loss, elapsed, remaining))
    losses = np.concatenate(parts, axis=1)
    _check_finite("variational", losses[:, -1])
    params = jax.vmap(svi.get_params)(states)
    draws = _guide_draws(wrapped, g, params, stacked, first, int(sampler.draws), seed + 1)
    out = []
    for m in range(M):
        lm = losses[m]
        info = {"guide": sampler.guide, "steps": sampler.steps, "final_loss": float(lm[-1]),
                "losses": lm[:: max(1, steps // 200)].tolist(),
                "loss_rel_change": loss_rel_change(lm), "batch_size": M, "batch_index": m}  # fmt: skip
        out.append(FitResult({k: v[m][None] for k, v in draws.items()}, {}, info))
    return out


def _check_finite(what: str, last: np.ndarray) -> None:
    bad = [int(i) for i in np.nonzero(~np.isfinite(last))[0]]
    if bad:
        method = "variational" if what == "variational" else "MAP"
        raise ConvergenceError(
            f"the {method} fit of model(s) {', '.join(map(str, bad))} of the batch diverged "
            "(loss is not finite); try a smaller learning_rate, more steps, or method='nuts'"
        )


# -- MAP ----------------------------------------------------------------------------------


def run_map(
    sampler,
    model,
    designs: list[dict],
    structures: list[Structure],
    *,
    seed: int = 0,
    progress: Any = False,
) -> list[FitResult]:
    """MAP on every model of one structure at once: Adam in chunks of `map.CHUNK` steps
    vmapped over models; a model whose chunk improved its loss by less than `map.RTOL`
    (relative) stops there, as it would alone, and keeps its state while the others run on."""
    import jax
    import jax.numpy as jnp

    _check_group(structures, designs)
    enable_compile_cache()
    report = reporter(progress)
    M, steps = len(designs), int(sampler.steps)
    wrapped = PriorsAsArgs(model, structures[0])
    first, stacked = _model_args(designs, structures)
    svi, g, states = _svi_states(
        "delta", wrapped, steps, sampler.learning_rate, seed, first, stacked
    )

    @jax.jit
    def chunk(states, running, args):
        def one(state, a, go):
            new, losses = jax.lax.scan(lambda s, _: svi.update(s, *a), state, None,
                                       length=_map.CHUNK)  # fmt: skip
            kept = jax.tree.map(lambda x, y: jnp.where(go, x, y), new, state)
            return kept, losses[-1]

        return jax.vmap(one)(states, args, running)

    total = -(-steps // _map.CHUNK) * _map.CHUNK
    clock = Clock(total)
    running = np.ones(M, bool)
    done = np.zeros(M, int)
    prev = np.full(M, np.inf)
    loss = np.full(M, np.inf)
    rel = np.full(M, np.nan)
    converged = np.zeros(M, bool)
    step = 0
    while step < steps and running.any():
        states, last = chunk(states, jnp.asarray(running), stacked)
        last = np.asarray(last, dtype=float)
        step += _map.CHUNK
        live = running.copy()
        loss[live] = last[live]
        done[live] = step
        _check_finite("map", np.where(live, loss, 0.0))
        if report is not None:
            elapsed, remaining = clock.tick(step)
            report(OptimiserProgress("MAP", step, total, float(np.mean(loss)), elapsed, remaining))
        has_prev = live & np.isfinite(prev)
        rel[has_prev] = (prev[has_prev] - loss[has_prev]) / np.maximum(1.0, np.abs(loss[has_prev]))
        stop = live & (prev - loss < _map.RTOL * np.maximum(1.0, np.abs(loss)))
        converged |= stop
        running &= ~stop
        prev = np.where(live, loss, prev)
    params = jax.vmap(svi.get_params)(states)
    draws = _guide_draws(wrapped, g, params, stacked, first, 1, seed + 1)
    out = []
    for m in range(M):
        info = {"steps": sampler.steps, "steps_run": int(done[m]), "final_loss": float(loss[m]),
                "loss_rel_change": float(rel[m]), "loss_converged": bool(converged[m]),
                "batch_size": M, "batch_index": m}  # fmt: skip
        out.append(FitResult({k: v[m][None] for k, v in draws.items()}, {}, info))
    return out


def run_batch(
    sampler,
    model,
    designs: list[dict],
    structures: list[Structure],
    *,
    seed=0,
    progress=False,
    lockstep: bool | None = None,
) -> list[FitResult]:
    """The batched run for a sampler object (`NUTS`, `SVI` or `MAP`); ``lockstep`` as for
    `run_nuts` (SVI and MAP always step their models in one vmapped update)."""
    if sampler.name == "nuts":
        return run_nuts(sampler, model, designs, structures, seed=seed, progress=progress,
                        lockstep=lockstep)  # fmt: skip
    runner = {"svi": run_svi, "map": run_map}[sampler.name]
    return runner(sampler, model, designs, structures, seed=seed, progress=progress)
