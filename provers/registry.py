"""Proof-environment backends by name.

A backend is a :class:`provers.protocol.ProofEnv` subclass constructed as
``Backend(theorem, config)``. Adding one means one module behind the protocol and one line here.
Modules are imported only when their backend is asked for (Lean's pulls in lean-dojo).
"""

from __future__ import annotations

import importlib

from provers.errors import UnknownBackendError
from provers.protocol import ProofEnv

BACKENDS: dict[str, str] = {
    "coq": "provers.coq.env:CoqEnv",
    "lean": "provers.lean.env:LeanEnv",
}
ALIASES: dict[str, str] = {"rocq": "coq", "lean4": "lean", "leandojo": "lean"}


def canonical_name(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in BACKENDS:
        known = ", ".join(sorted(BACKENDS)) + " (aliases: " + ", ".join(f"{a}={b}" for a, b in sorted(ALIASES.items())) + ")"
        raise UnknownBackendError(f"unknown proof backend {name!r}; known backends: {known}")
    return key


def get_backend(name: str) -> type[ProofEnv]:
    """The environment class registered under ``name`` (or an alias)."""
    module_name, _, cls_name = BACKENDS[canonical_name(name)].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def backend_names() -> list[str]:
    return sorted(BACKENDS)
