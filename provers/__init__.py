"""provers: proof environments behind one protocol (Coq, Lean), proof search, evaluation.

Start here: :mod:`provers.protocol` (the protocol), :func:`provers.registry.get_backend`.
"""

from provers.protocol import (  # noqa: F401 - the public protocol
    EnvConfig,
    ErrorKind,
    Goal,
    Hypothesis,
    ProofEnv,
    ProofFinished,
    ProofGivenUp,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
)
from provers.registry import backend_names, get_backend  # noqa: F401
