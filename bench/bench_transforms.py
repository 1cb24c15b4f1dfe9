"""Throughput of the transform pipeline (geometric adstock + Hill) over posterior draws.

Prints milliseconds per call for 1,000 draws x 156 weeks x 5 channels: jit-compiled JAX in
float32 (what the model runs) and plain numpy in float64 (what the optimizer, the simulator
and the report run; the same family functions, no JAX).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from mediamix.transforms import adstock, saturation


def _per_call(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main() -> None:
    rng = np.random.default_rng(0)
    S, T, C, L = 1000, 156, 5, 8
    x_np = rng.gamma(2.0, size=(T, C))
    lam_np = rng.uniform(0.1, 0.9, size=(S, C))
    k_np = rng.uniform(0.5, 2.0, size=(S, C))
    x = jnp.asarray(x_np, dtype=jnp.float32)
    lam = jnp.asarray(lam_np, dtype=jnp.float32)
    k = jnp.asarray(k_np, dtype=jnp.float32)

    @jax.jit
    def pipeline(x, lam, k):
        return saturation.hill(adstock.geometric(x, lam, L), 1.0, k[:, None, :], 2.0)

    t0 = time.perf_counter()
    pipeline(x, lam, k).block_until_ready()
    compile_s = time.perf_counter() - t0
    per_call = _per_call(lambda: pipeline(x, lam, k).block_until_ready(), 50)
    print(f"transforms (jax, float32): compile {compile_s:.2f} s; {per_call * 1e3:.2f} ms per call")
    print(
        f"transforms (jax, float32): {S * T * C / per_call / 1e6:.1f} M channel-periods per second"
    )

    def numpy_pipeline():
        return saturation.hill(adstock.geometric(x_np, lam_np, L), 1.0, k_np[:, None, :], 2.0)

    y = numpy_pipeline()
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, np.asarray(pipeline(x, lam, k)), rtol=1e-4, atol=1e-6)
    per_call = _per_call(numpy_pipeline, 10)
    print(f"transforms (numpy, float64): {per_call * 1e3:.2f} ms per call")
    print(
        f"transforms (numpy, float64): {S * T * C / per_call / 1e6:.1f} M channel-periods per second"
    )


if __name__ == "__main__":
    main()
