"""Labels and hardness: a CDCL solver from python-sat, and Z3 as a cross-check.

Each formula gets a fresh solver (no learnt clauses or heuristic state carried over), so its
effort counters -- conflicts, decisions, propagations, restarts, from pysat's ``accum_stats`` --
measure that formula alone and are deterministic for a given solver and clause order. Wall-clock
solve time is measured too but kept out of the dataset (it is not reproducible).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import numpy as np

from nesyrun.extras import require
from synthesis.errors import ConfigError, MissingExtraError

# Solvers whose counters pysat exposes; name -> pysat name. Aliases map to the same solver.
SOLVERS = {
    "minisat22": "minisat22",
    "m22": "minisat22",
    "minisat": "minisat22",
    "glucose3": "glucose3",
    "g3": "glucose3",
    "glucose4": "glucose4",
    "g4": "glucose4",
    "glucose42": "glucose42",
    "maplesat": "maplesat",
    "cadical153": "cadical153",
    "cadical195": "cadical195",
}


class Label(enum.Enum):
    """Whether the theory is consistent (its CNF satisfiable)."""

    SAT = "SAT"
    UNSAT = "UNSAT"


def solver_name(name: str) -> str:
    """The pysat name of a solver given by name or alias; ConfigError for unknown names."""
    try:
        return SOLVERS[name.lower()]
    except KeyError:
        known = ", ".join(sorted(set(SOLVERS)))
        raise ConfigError(f"unknown solver {name!r}; known: {known}") from None


@dataclass(frozen=True)
class ChunkLabels:
    """Labels and counters of a chunk of formulas, one entry per formula (arrays of length B).

    ``models[i]`` is the satisfying assignment (DIMACS signed ints, length n) when ``sat[i]``,
    else ``None``. ``seconds`` is wall-clock time per formula (solver construction included).
    """

    sat: np.ndarray  # bool
    conflicts: np.ndarray  # int64
    decisions: np.ndarray
    propagations: np.ndarray
    restarts: np.ndarray
    models: list[list[int] | None]
    seconds: np.ndarray  # float64

    def effort(self, measure) -> np.ndarray:
        """The hardness figure of each formula under an :class:`EffortMeasure`."""
        from synthesis.nlsat.config import EffortMeasure

        if measure is EffortMeasure.CONFLICTS:
            return self.conflicts
        return self.decisions + self.propagations


def label_chunk(lits: np.ndarray, solver: str = "minisat22", keep_models: bool = True) -> ChunkLabels:
    """Solve every formula of a ``(B, m, k)`` literal array with a fresh pysat solver."""
    solvers = require("pysat.solvers", "logic", error=MissingExtraError)
    name = solver_name(solver)
    formulas = lits.tolist()
    count = len(formulas)
    sat = np.zeros(count, dtype=bool)
    stats = np.zeros((count, 4), dtype=np.int64)
    seconds = np.zeros(count, dtype=np.float64)
    models: list[list[int] | None] = [None] * count
    make = solvers.Solver
    clock = time.perf_counter
    for i, clauses in enumerate(formulas):
        t0 = clock()
        s = make(name=name, bootstrap_with=clauses)
        try:
            result = s.solve()
            st = s.accum_stats()
            if result and keep_models:
                models[i] = s.get_model()
        finally:
            s.delete()
        seconds[i] = clock() - t0
        sat[i] = result
        stats[i] = (st["conflicts"], st["decisions"], st["propagations"], st["restarts"])
    return ChunkLabels(sat, stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], models, seconds)


def core_size(clauses: list[list[int]], n: int, solver: str = "minisat22") -> int:
    """Size of an unsatisfiable core (not necessarily minimal) found with clause selectors.

    Raises ValueError if the formula is satisfiable.
    """
    solvers = require("pysat.solvers", "logic", error=MissingExtraError)
    selectors = list(range(n + 1, n + 1 + len(clauses)))
    with solvers.Solver(name=solver_name(solver)) as s:
        for sel, clause in zip(selectors, clauses):
            s.add_clause([*clause, -sel])
        if s.solve(assumptions=selectors):
            raise ValueError("core_size: formula is satisfiable")
        return len(s.get_core() or [])


def z3_label(clauses: list[list[int]], n: int, timeout_s: float = 60.0) -> Label | None:
    """Label a CNF with Z3 (a different solver from pysat's); None when Z3 answers unknown.

    The formula goes to Z3 as SMT-LIB text (parsed in C), which is much faster than building
    Python expressions clause by clause.
    """
    z3 = require("z3", "logic", error=MissingExtraError)
    lines = [f"(declare-const x{v} Bool)" for v in range(1, n + 1)]
    for clause in clauses:
        lits = " ".join(f"x{lit}" if lit > 0 else f"(not x{-lit})" for lit in clause)
        lines.append(f"(assert (or {lits}))" if len(clause) > 1 else f"(assert {lits})")
    s = z3.SolverFor("QF_FD") if n > 0 else z3.Solver()
    s.set("timeout", int(timeout_s * 1000))
    s.from_string("\n".join(lines))
    answer = s.check()
    if answer == z3.sat:
        return Label.SAT
    if answer == z3.unsat:
        return Label.UNSAT
    return None
