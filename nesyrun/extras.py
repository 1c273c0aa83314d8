"""Imports of optional dependencies (nesy's extras), done where they are used.

One helper for every package: :func:`require` returns the module or raises the caller's error
type (by default :class:`nesyrun.errors.MissingExtraError`) with the ``pip install`` that provides
it. Nothing heavy is imported at package import time.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from nesyrun.errors import MissingExtraError


def require(module: str, extra: str, *, error: type[Exception] = MissingExtraError, what: str = "") -> ModuleType:
    """Import ``module`` or raise ``error`` naming the nesy extra that installs it.

    ``what`` says what needs it ("distributed runs"), for a better message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        need = f"{what} need{'s' if what and not what.endswith('s') else ''} {module}" if what else f"{module} is not installed"
        raise error(f"{need} ({exc}); run: pip install 'nesy[{extra}]'") from exc
