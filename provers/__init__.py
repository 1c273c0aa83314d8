"""provers: proof environments behind one protocol (Coq, Lean), proof search, evaluation.

Start here: :mod:`provers.protocol` (the protocol), :func:`provers.registry.load_backend` (a backend's descriptor,
:class:`provers.backend.Backend`) and :func:`provers.registry.get_backend` (its environment class).
"""

from provers.protocol import (  # noqa: F401 - the public protocol
    CheckResult,
    EnvConfig,
    ErrorKind,
    Goal,
    Hypothesis,
    Problem,
    ProofEnv,
    ProofFinished,
    ProofGivenUp,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
)
from provers.registry import backend_names, get_backend, load_backend  # noqa: F401
