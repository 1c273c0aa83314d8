"""User-facing errors of ``synthesis/``.

Every error that the user can fix (bad arguments, an impossible request, a missing optional
dependency, an output directory written by a different configuration) is a subclass of
:class:`SynthesisError`; the ``nesy`` CLI prints it as ``nesy: error: <message>`` and exits 2.
Bugs stay ordinary exceptions.

Hierarchy::

    SynthesisError
    ├── ConfigError              bad or impossible request, raised before any work starts
    ├── MissingExtraError        an optional dependency is not installed
    ├── ResumeMismatchError      --out holds a run of a different configuration
    ├── OutputError              --out (or a file below it) cannot be created or written
    ├── BucketFailedError        worker tasks crashed; the rest is saved, a rerun resumes
    └── CrossCheckDisagreement   two solvers disagree on a label (the formula is saved)
"""

from __future__ import annotations

from pathlib import Path


class SynthesisError(Exception):
    """Base class of the errors meant for the user of ``synthesis/``."""


class ConfigError(SynthesisError, ValueError):
    """A request that is malformed or cannot be satisfied; raised before any work starts."""


class MissingExtraError(SynthesisError, ImportError):
    """An optional dependency is missing; the message names the ``pip install`` to run
    (raised through :func:`nesyrun.extras.require`)."""


class ResumeMismatchError(SynthesisError):
    """The output directory already holds a run made with a different configuration."""


class OutputError(SynthesisError):
    """The output directory, or a file in it, cannot be created or written (what is already
    written stays; a rerun resumes)."""


class BucketFailedError(SynthesisError):
    """Some worker tasks crashed; the other results were written and a rerun resumes the rest."""


class CrossCheckDisagreement(SynthesisError):
    """The labelling solver and the cross-check solver disagree; the run stops.

    ``path`` is the DIMACS file where the offending formula was saved.
    """

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path
