"""Proof backends by name: each name maps to one :class:`provers.backend.Backend` descriptor.

Adding a backend means one folder behind the protocol (``provers/<name>/backend.py`` exporting
``BACKEND``) and one line here. Modules are imported only when their backend is asked for
(Lean's pulls in lean-dojo lazily, when a theorem starts).
"""

from __future__ import annotations

import importlib

from provers.backend import Backend
from provers.errors import UnknownBackendError
from provers.protocol import ProofEnv

BACKENDS: dict[str, str] = {
    "coq": "provers.coq.backend:BACKEND",
    "lean": "provers.lean.backend:BACKEND",
}
ALIASES: dict[str, str] = {"rocq": "coq", "lean4": "lean", "leandojo": "lean"}


def canonical_name(name: str) -> str:
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in BACKENDS:
        known = ", ".join(sorted(BACKENDS)) + " (aliases: " + ", ".join(f"{a}={b}" for a, b in sorted(ALIASES.items())) + ")"
        raise UnknownBackendError(f"unknown proof backend {name!r}; known backends: {known}")
    return key


def load_backend(name: str) -> Backend:
    """The descriptor registered under ``name`` (or an alias)."""
    module_name, _, attr = BACKENDS[canonical_name(name)].partition(":")
    return getattr(importlib.import_module(module_name), attr)


def get_backend(name: str) -> type[ProofEnv]:
    """The environment class of the backend ``name``: ``get_backend("coq")(theorem, config)``."""
    return load_backend(name).env


def backend_names() -> list[str]:
    return sorted(BACKENDS)
