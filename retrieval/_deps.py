"""Imports of heavy optional dependencies, done where they are used.

Each helper returns the module or raises :class:`~retrieval.errors.MissingExtraError` naming the
``pip install`` that provides it. Nothing heavy is imported when ``retrieval`` is imported.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from retrieval.errors import MissingExtraError


def require(module: str, extra: str = "ml") -> ModuleType:
    """Import ``module`` or raise MissingExtraError telling which nesy extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module} is not installed ({exc}); run: pip install 'nesy[{extra}]'"
        ) from exc


def torch() -> ModuleType:
    return require("torch")


def faiss() -> ModuleType:
    return require("faiss")


def transformers() -> ModuleType:
    return require("transformers")


def rank_bm25() -> ModuleType:
    return require("rank_bm25")
