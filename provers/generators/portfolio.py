"""A backend's automation portfolio (:attr:`provers.backend.Backend.portfolio`) as a tactic generator.

It proposes the portfolio's tactics in their fixed order (cheap first), whatever the state, with
a uniform log-probability ``-log(len(portfolio))`` each, so that mixing it with a model does not
let either side's scale dominate by accident.
"""

from __future__ import annotations

import math

from provers.generators.base import Candidate, GeneratorConfigError, TacticGenerator
from provers.protocol import TacticState
from provers.registry import load_backend


class PortfolioGenerator(TacticGenerator):
    deterministic = True

    def __init__(self, tactics: tuple[str, ...] | None = None, *, backend: str = "coq", hammer: bool = False) -> None:
        self.tactics = tuple(tactics) if tactics else load_backend(backend).portfolio(hammer)
        if not self.tactics:
            raise GeneratorConfigError("the portfolio generator needs at least one tactic")
        self.name = f"portfolio({len(self.tactics)})"
        self._score = -math.log(len(self.tactics))

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        return [(t, self._score) for t in self.tactics[:k]]
