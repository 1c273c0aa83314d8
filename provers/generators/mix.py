"""A combinator that mixes generators by weight.

For ``generate(state, k)`` each part ``i`` with weight ``w_i`` (normalised to sum 1) is asked for
``max(1, round(k * w_i))`` candidates; their log-probabilities get ``log(w_i)`` added (the mixture's
log-probability, up to the other parts' mass on the same tactic, which we approximate by the max),
duplicates keep the best score, and the best k of the union are returned, best first (the
shares can add up to more than k through rounding; k is a promise every generator keeps).
"""

from __future__ import annotations

import math

from provers.generators.base import Candidate, GeneratorConfigError, TacticGenerator
from provers.protocol import TacticState


class MixGenerator(TacticGenerator):
    def __init__(self, parts: list[tuple[TacticGenerator, float]]) -> None:
        if not parts:
            raise GeneratorConfigError("a mix needs at least one generator")
        if any(not (w > 0) for _, w in parts):
            raise GeneratorConfigError("mix weights must be positive")
        total = sum(w for _, w in parts)
        self.parts = [(g, w / total) for g, w in parts]
        self.name = "mix(" + ", ".join(f"{g.name}:{w:.2f}" for g, w in self.parts) + ")"
        self.deterministic = all(g.deterministic for g, _ in self.parts)

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        best: dict[str, float] = {}
        for gen, weight in self.parts:
            share = max(1, round(k * weight))
            for tactic, score in gen.generate(state, share):
                mixed = score + math.log(weight)
                if tactic not in best or mixed > best[tactic]:
                    best[tactic] = mixed
        return sorted(best.items(), key=lambda kv: -kv[1])

    def begin(self, problem) -> None:
        for gen, _ in self.parts:
            gen.begin(problem)

    def close(self) -> None:
        for gen, _ in self.parts:
            gen.close()
