"""mediamix.runs: the one owner of the run-folder and saved-model layout.

``RunDir(path).write(fitted, plan=None, checks=None)`` writes a complete run folder;
``RunDir(path).read()`` reads one lazily; ``RunDir(path).migrate()`` upgrades older folders.
The layout itself (file names, format version, the saved model's files) is in
:mod:`mediamix.runs.layout`, which the estimator uses to save and load models.
"""

from __future__ import annotations

from mediamix.runs.layout import FORMAT_VERSION

__all__ = ["FORMAT_VERSION", "RunDir", "RunView", "fitted_responses"]


def __getattr__(name: str):
    # RunDir sits above the estimator, which itself saves models through runs.layout: loaded on
    # first use so that importing the layout does not import the estimator.
    if name in ("RunDir", "RunView", "fitted_responses"):
        from mediamix.runs import rundir

        return getattr(rundir, name)
    raise AttributeError(f"module 'mediamix.runs' has no attribute {name!r}")
