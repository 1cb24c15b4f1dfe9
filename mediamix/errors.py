"""The project's own exception types.

Each is raised with a message that names the place (column, row, value, parameter) and
the fix. They are caught once at the edges (CLI, HTTP) and shown as one clear message.
"""

from __future__ import annotations


class MediamixError(Exception):
    """Base class of every error a user can cause and fix."""


class DataError(MediamixError, ValueError):
    """The input data is unusable as given (missing column, bad value, bad dates, ...)."""


class SpecError(MediamixError, ValueError):
    """A model specification, prior, problem file or parameter is invalid."""


class InfeasibleError(MediamixError):
    """The constraints of an allocation problem cannot all hold at once."""


class ConvergenceError(MediamixError):
    """A sampler or solver did not reach a usable answer."""


def did_you_mean(name: object, choices) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices`` to ``name``, or an empty string."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


class ExportUnavailableError(MediamixError):
    """Static image export needs a package or a browser that is not installed."""


class NotFoundError(MediamixError, LookupError):
    """A saved record (a planner run or scenario) that is not there under the id given."""


class ConflictError(MediamixError):
    """A write that clashes with saved data (e.g. a scenario name already used)."""
