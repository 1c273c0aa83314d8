"""Errors of the run infrastructure. Each package maps these to its own messages or lets the CLI
print them as ``nesy: error: ...``: they all carry a message meant for the user."""

from __future__ import annotations


class RunError(Exception):
    """Base of every error ``nesyrun`` raises for the user (bad pool settings, a missing extra)."""


class RunConfigError(RunError, ValueError):
    """A run setting that cannot work (``workers=0``, negative retries, duplicate task names)."""


class MissingExtraError(RunError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` that adds it."""


class WorkerStartError(RunError):
    """A worker could not be built (bad model path, unreachable endpoint, no Ray cluster): the job cannot run."""
