"""mediamix: from spend and sales per week to a budget plan you can defend.

Importing mediamix (or any of its modules) sets no global state. For parallel NUTS chains
call ``mediamix.set_host_devices(n)`` before JAX starts (the CLI does it at its entry).
"""

from mediamix.devices import set_host_devices

__version__ = "0.1.0"

__all__ = ["__version__", "set_host_devices"]
