"""First-order provers behind one interface (see ``logic.solvers.base``), chosen by name.

>>> prover = get_prover("z3")            # or "prover9", "eprover" (where the binary exists)
>>> prover.entails(premises, conclusion, timeout_s=10.0).answer
"""

from __future__ import annotations

from collections.abc import Callable

from logic.errors import UnknownBackendError
from logic.solvers.base import (
    Answer,
    EntailmentResult,
    ErrorStage,
    ProofAttempt,
    ProofStatus,
    Prover,
    SatResult,
    Satisfiability,
)


def _prover9() -> Prover:
    from logic.solvers.prover9 import Prover9

    return Prover9()


def _z3() -> Prover:
    from logic.solvers.z3_backend import Z3Prover

    return Z3Prover()


def _eprover() -> Prover:
    from logic.solvers.eprover import EProver

    return EProver()


PROVERS: dict[str, Callable[[], Prover]] = {"prover9": _prover9, "z3": _z3, "eprover": _eprover}
ALIASES = {"p9": "prover9", "e": "eprover", "z3-solver": "z3"}


def prover_names() -> list[str]:
    return sorted(PROVERS)


def get_prover(name: str) -> Prover:
    """Return a fresh prover by name (``prover9``, ``z3``, ``eprover``; aliases ``p9``, ``e``).

    Raises ``UnknownBackendError`` for other names and ``ProverUnavailableError`` when the
    backend's binary is missing (E only; Prover9 is located lazily on first use)."""
    key = ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else name
    if key not in PROVERS:
        raise UnknownBackendError(f"unknown prover {name!r}; choose one of {', '.join(prover_names())}")
    return PROVERS[key]()


__all__ = [
    "Answer",
    "EntailmentResult",
    "ErrorStage",
    "ProofAttempt",
    "ProofStatus",
    "Prover",
    "SatResult",
    "Satisfiability",
    "get_prover",
    "prover_names",
]
