"""The tactic-generator interface and its errors.

A generator proposes tactics for a proof state::

    generate(state, k) -> [(tactic, logprob), ...]   # at most k, best first, distinct tactics

``logprob`` is the generator's log-probability of the tactic given the state (summed over its
tokens for a language model); best-first search adds them along a path. Whole-proof sampling
uses the same call on the initial state and treats each candidate as a complete proof script.

Generators are built from a :class:`GeneratorConfig` (frozen, picklable: each Ray actor builds its
own copy) by :func:`provers.generators.registry.build_generator`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

from provers.errors import InputError, ProverError
from provers.protocol import TacticState

Candidate = tuple[str, float]


class GeneratorError(ProverError):
    """A generator cannot be built or cannot answer (missing model, unreachable endpoint)."""


class GeneratorConfigError(GeneratorError, InputError):
    """A generator spec or option that makes no sense (unknown kind, missing model path)."""


class GeneratorOutputError(GeneratorError):
    """A generator returned something that is not a list of ``(tactic, finite logprob)`` pairs."""


@dataclass(frozen=True)
class GeneratorConfig:
    """How to build a generator. ``spec`` names it (see :mod:`provers.generators.registry`).

    ``decoding`` is ``"beam"`` (deterministic: the k best by beam search) or ``"sample"``
    (k samples at ``temperature``; what pass@k needs). ``max_new_tokens`` bounds one tactic (or
    one whole proof when sampling proofs). ``seed`` makes sampling repeatable per call order.
    """

    spec: str = "portfolio"
    decoding: str = "beam"
    temperature: float = 1.0
    max_new_tokens: int = 64
    max_input_chars: int = 2000
    device: str = "cpu"
    seed: int = 0
    backend: str = "coq"  # whose portfolio/syntax to use
    request_timeout_s: float = 60.0  # openai: time limit of one HTTP request
    api: str = "auto"  # openai: "auto" (probe), "completions" or "chat"
    retriever: str = "bm25"  # premises:/knn: how premises / training states are searched ("bm25" or "dense")
    retrieval_split: str = "random"  # premises:/knn: the traced split whose train part knn: remembers
    max_concurrency: int = 4  # openai: requests in flight at once (per generator)
    max_retries: int = 4  # openai: retries of a request answered 429/5xx

    def __post_init__(self) -> None:
        if self.decoding not in ("beam", "sample"):
            raise GeneratorConfigError(f"decoding must be 'beam' or 'sample', not {self.decoding!r}")
        if self.max_new_tokens < 1:
            raise GeneratorConfigError("max_new_tokens must be at least 1")
        if not self.temperature > 0:
            raise GeneratorConfigError("temperature must be positive")


class TacticGenerator(abc.ABC):
    """Proposes tactics for proof states. Subclasses implement :meth:`_generate`."""

    name: str = "generator"
    deterministic: bool = True  # the same state and k always give the same list (no sampling)

    def generate(self, state: TacticState, k: int) -> list[Candidate]:
        """At most ``k`` distinct ``(tactic, logprob)`` pairs for ``state``, best first."""
        if k < 1:
            return []
        return validate_candidates(self._generate(state, k), k, self.name)

    @abc.abstractmethod
    def _generate(self, state: TacticState, k: int) -> list[Candidate]: ...

    def begin(self, problem) -> None:
        """Say which problem (:class:`provers.protocol.Problem`) the next ``generate`` calls serve.

        The proof-job engine calls it before each theorem. Generators that depend on where the
        theorem is (the retrieval-guided ones: premises accessible at its place in its file) read
        ``problem.context``; the others ignore it.
        """

    def close(self) -> None:
        """Release what the generator holds (models, sessions). Idempotent."""


def validate_candidates(raw: object, k: int, who: str = "generator") -> list[Candidate]:
    """Check a generator's output; drop empty tactics and duplicates (keeping the best score).

    Raises :class:`GeneratorOutputError` when ``raw`` is not a list of ``(str, number)`` pairs or a
    score is not finite: a search must not go on with garbage it cannot rank.
    """
    if not isinstance(raw, (list, tuple)):
        raise GeneratorOutputError(f"{who} returned {type(raw).__name__}, expected a list of (tactic, logprob) pairs")
    best: dict[str, float] = {}
    for item in raw:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise GeneratorOutputError(f"{who} returned {item!r:.80}, expected a (tactic, logprob) pair")
        tactic, score = item
        if not isinstance(tactic, str):
            raise GeneratorOutputError(f"{who} returned a tactic of type {type(tactic).__name__}: {tactic!r:.80}")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise GeneratorOutputError(f"{who} returned a score {score!r:.40} for {tactic!r:.60}; expected a finite log-probability")
        tactic = tactic.strip()
        if not tactic:
            continue
        if tactic not in best or score > best[tactic]:
            best[tactic] = float(score)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    return ranked[:k]
