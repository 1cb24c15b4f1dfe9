"""The estimator: samplers as objects, options checked per method, no import side effects."""

import os
import subprocess
import sys

import pytest

from mediamix.errors import SpecError
from mediamix.estimator import MMM
from mediamix.inference import MAP, NUTS, SVI, sampler


def test_sampler_from_name_and_options():
    assert sampler("nuts", chains=2, draws=10) == NUTS(chains=2, draws=10)
    assert sampler("svi", steps=10) == SVI(steps=10)
    obj = MAP(steps=50)
    assert sampler(obj) is obj


@pytest.mark.parametrize(
    "method, options, message",
    [
        ("svi", {"chains": 4}, "chains do not apply to method 'svi'; its options are steps"),
        ("map", {"draws": 10, "warmup": 5}, "draws, warmup do not apply to method 'map'"),
        ("nuts", {"steps": 100}, "steps do not apply to method 'nuts'"),
        ("hmc", {}, "method must be one of nuts, svi, map"),
    ],
)
def test_options_that_do_not_apply_are_an_error(method, options, message):
    with pytest.raises(SpecError, match=message):
        sampler(method, **options)


def test_sampler_options_are_validated_when_made():
    with pytest.raises(SpecError, match="NUTS: chains must be an integer >= 1"):
        NUTS(chains=0)
    with pytest.raises(SpecError, match="NUTS: target_accept must be in"):
        NUTS(target_accept=1.5)
    with pytest.raises(SpecError, match="SVI: guide must be one of normal, lowrank"):
        SVI(guide="full")
    with pytest.raises(SpecError, match="MAP: learning_rate must be a number > 0"):
        MAP(learning_rate=0)
    with pytest.raises(SpecError, match="beside a MAP object"):
        sampler(MAP(), steps=3)


def test_fit_refuses_inapplicable_options_before_any_work(sim_data):
    ds, _ = sim_data
    with pytest.raises(SpecError, match="chains do not apply to method 'map'"):
        MMM().fit(ds, "map", chains=4)


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout + out.stderr


def test_importing_mediamix_sets_no_global_state():
    _run(
        "import os, mediamix.model, mediamix.optimize, mediamix.estimator, mediamix.cli,"
        " mediamix.runs; assert 'XLA_FLAGS' not in os.environ"
    )


def test_set_host_devices_before_and_after_jax_starts():
    got = _run(
        "import warnings, mediamix\n"
        "assert mediamix.set_host_devices(3) == 3\n"
        "import jax\n"
        "assert jax.local_device_count() == 3, jax.local_device_count()\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    assert mediamix.set_host_devices(2) == 3\n"
        "print(w[0].message)\n"
    )
    assert "already started with 3 host device(s)" in got
