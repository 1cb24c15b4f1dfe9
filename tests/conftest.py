"""Test-wide settings: JAX sees 4 host devices so NUTS chains run in parallel."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
