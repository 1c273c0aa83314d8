"""E (``eprover``) as a subprocess on TPTP FOF input, where the binary exists (``$NESY_EPROVER``
or ``eprover`` on PATH). Optional: ``get_prover("eprover")`` raises ``ProverUnavailableError``
when it is missing.

Verdicts are read from the SZS status line: Theorem / Unsatisfiable -> proved;
CounterSatisfiable / Satisfiable -> not proved (saturated); ResourceOut / Timeout -> budget
ran out; GaveUp -> gave up. E's own CPU limit is ``ceil(t)``; the process group is killed at
``t + grace`` wall-clock seconds.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from logic.errors import ProverUnavailableError
from logic.printers import tptp_problem
from logic.solvers.base import ProofAttempt, ProofStatus, Prover, run_process
from logic.syntax import Formula

_SZS = re.compile(r"SZS status (\w+)")


def find_eprover() -> Path:
    env = os.environ.get("NESY_EPROVER")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise ProverUnavailableError(f"$NESY_EPROVER={env} is not an executable file")
        return Path(env)
    found = shutil.which("eprover")
    if not found:
        raise ProverUnavailableError("E prover not found: install it (Debian: apt-get install eprover) or set $NESY_EPROVER")
    return Path(found)


@dataclass(frozen=True)
class EConfig:
    binary: Path | None = None
    grace_s: float = 1.0


class EProver(Prover):
    name = "eprover"
    parallel = True

    def __init__(self, config: EConfig | None = None) -> None:
        self.config = config or EConfig()
        self.binary = self.config.binary or find_eprover()

    def _prove(self, premises: Sequence[Formula], goal: Formula | None, timeout_s: float) -> ProofAttempt:
        problem = tptp_problem(premises, goal)
        argv = [str(self.binary), "--auto", "--silent", "--tptp3-in", f"--cpu-limit={math.ceil(timeout_s)}"]
        outcome = run_process(argv, problem, timeout_s + self.config.grace_s)
        if outcome.timed_out:
            return ProofAttempt(ProofStatus.TIMEOUT, outcome.elapsed_s, f"eprover killed at the {timeout_s:g}s limit")
        match = _SZS.search(outcome.stdout)
        status = match.group(1) if match else None
        if status in ("Theorem", "Unsatisfiable", "ContradictoryAxioms"):
            return ProofAttempt(ProofStatus.PROVED, outcome.elapsed_s)
        if status in ("CounterSatisfiable", "Satisfiable"):
            return ProofAttempt(ProofStatus.NOT_PROVED, outcome.elapsed_s)
        if status in ("ResourceOut", "Timeout", "MemoryOut"):
            return ProofAttempt(ProofStatus.TIMEOUT, outcome.elapsed_s, f"eprover: {status}")
        if status == "GaveUp":
            return ProofAttempt(ProofStatus.GAVE_UP, outcome.elapsed_s, "eprover: GaveUp")
        tail = (outcome.stderr or outcome.stdout).strip().splitlines()
        return ProofAttempt(ProofStatus.CRASH, outcome.elapsed_s, f"eprover exit code {outcome.returncode}: {tail[-1][:300] if tail else 'no output'}")
