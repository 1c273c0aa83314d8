"""The Lean 4 backend as one descriptor (:class:`provers.backend.Backend`), over lean-dojo."""

from __future__ import annotations

from collections.abc import Sequence

from provers.backend import Backend
from provers.lean.env import LeanEnv, import_lean_dojo, to_lean_theorem
from provers.lean.files import load_problems, load_split
from provers.protocol import CheckResult, Theorem

LEAN_PORTFOLIO: tuple[str, ...] = (
    "rfl",
    "norm_num",
    "simp",
    "omega",
    "linarith",
    "nlinarith",
    "positivity",
    "decide",
    "ring",
    "field_simp",
    "aesop",
)


def portfolio(hammer: bool = False) -> tuple[str, ...]:
    return LEAN_PORTFOLIO  # no hammer for Lean here


def proof_text(tactics: Sequence[str]) -> str:
    return "by\n" + "\n".join(f"  {t}" for t in tactics)


def check(theorem: Theorem, tactics: Sequence[str], timeout_s: float = 120.0) -> CheckResult:
    """LeanDojo re-elaborates the theorem's file with the proof in place (``lean_dojo.check_proof``)."""
    import time

    t0 = time.monotonic()
    ld = import_lean_dojo()
    ok = bool(ld.check_proof(to_lean_theorem(theorem), proof_text(tactics)))
    return CheckResult(ok, "accepted by Lean" if ok else "rejected by Lean", seconds=time.monotonic() - t0)


def proof_file(theorem: Theorem, tactics: Sequence[str]) -> str:
    """The problem's header and statement with the proof after ``:=``."""
    return f"{theorem.header.rstrip()}\n\n{theorem.statement.strip()} {proof_text(tactics)}\n"


BACKEND = Backend(
    name="lean",
    env=LeanEnv,
    problem_suffix=".lean",
    load_problems=load_problems,
    load_split=load_split,
    portfolio=portfolio,
    check=check,
    proof_file=proof_file,
    benchmark_dirs={"minif2f": "minif2f-lean4"},
    aliases=("lean4", "leandojo"),
    needs="nesy[lean] and a Lean toolchain (elan/lake)",
)
