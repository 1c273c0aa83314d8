"""Closers: whole-proof tactics tried one after another on one state, the first that finishes wins.

This is ``nesy prove``'s search (the automation portfolio from the initial state: ``lia``,
``nra``, ``psatz``, ... in turn) and the building block for automation at every node of a tree
search. Each tactic runs from the same state (a failed one leaves nothing behind), bounded by
the environment's tactic timeout; the whole call by ``budget.time_s``. Every try is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from provers.errors import EnvError
from provers.protocol import ProofEnv, ProofFinished, ProofGivenUp, TacticError, TacticState
from provers.search.result import SearchBudget, StopReason


@dataclass(frozen=True)
class Attempt:
    """One tactic tried: ``outcome`` is proved | failed | timeout | refused | gave_up | open | crash."""

    tactic: str
    outcome: str
    seconds: float
    message: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ClosersResult:
    """``proof`` (the environment's tactics to the finished state) iff a tactic finished the proof."""

    proof: tuple[str, ...] | None
    attempts: tuple[Attempt, ...]
    stop_reason: StopReason
    env_s: float
    wall_s: float

    @property
    def tactics_run(self) -> int:
        return len(self.attempts)


def try_closers(env: ProofEnv, state: TacticState, tactics: Sequence[str], budget: SearchBudget, *, clock=time.monotonic) -> ClosersResult:
    """Run each of ``tactics`` on ``state`` until one finishes the proof or ``budget.time_s`` runs out."""
    start = clock()
    attempts: list[Attempt] = []
    env_s = 0.0
    stop = StopReason.EXHAUSTED
    crashes = 0
    for tactic in tactics:
        if clock() - start >= budget.time_s:
            stop = StopReason.TIME
            break
        t0 = clock()
        try:
            result = env.run_tac(state, tactic)
        except EnvError as exc:
            dt = clock() - t0
            env_s += dt
            attempts.append(Attempt(tactic, "crash", dt, str(exc)[:300]))
            crashes += 1
            if crashes >= budget.max_env_errors:
                stop = StopReason.ENV_ERRORS
                break
            continue
        dt = clock() - t0
        env_s += dt
        match result:
            case ProofFinished():
                attempts.append(Attempt(tactic, "proved", dt))
                return ClosersResult(tuple(env.proof_of(result)), tuple(attempts), StopReason.PROOF_FOUND, env_s, clock() - start)
            case TacticError(message=m, kind=k):
                attempts.append(Attempt(tactic, k.value, dt, m[:300]))
            case ProofGivenUp():
                attempts.append(Attempt(tactic, "gave_up", dt))
            case TacticState():
                attempts.append(Attempt(tactic, "open", dt, f"{result.num_goals} goal(s) left"))
    return ClosersResult(None, tuple(attempts), stop, env_s, clock() - start)
