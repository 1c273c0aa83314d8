"""Checking a finished proof afresh, by backend: a proof counts only if this says so.

Coq: :func:`provers.coq.check.check_proof` (fresh ``coqc`` + ``Print Assumptions`` allow-list).
Lean: ``lean_dojo.check_proof`` (LeanDojo re-elaborates the file with the proof in place).
"""

from __future__ import annotations

from provers.coq.check import CheckResult, check_proof
from provers.coq.sentences import check_tactic
from provers.protocol import Theorem
from provers.registry import canonical_name


def verify_proof(backend: str, theorem: Theorem, tactics: list[str], *, timeout_s: float = 120.0) -> CheckResult:
    """Kernel-check ``tactics`` as a proof of ``theorem`` with a fresh prover process."""
    name = canonical_name(backend)
    if name == "coq":
        sentences: list[str] = []
        for tactic in tactics:
            verdict = check_tactic(tactic)
            if verdict.refused or verdict.gives_up:
                return CheckResult(False, f"proof step not allowed: {verdict.refused or 'gives up'}: {tactic[:80]!r}")
            sentences.extend(verdict.sentences)
        return check_proof(theorem, sentences, timeout_s=timeout_s)
    from provers.lean.env import import_lean_dojo, to_lean_theorem

    ld = import_lean_dojo()
    proof = "by\n" + "\n".join(f"  {t}" for t in tactics)
    ok = bool(ld.check_proof(to_lean_theorem(theorem), proof))
    return CheckResult(ok, "accepted by Lean" if ok else "rejected by Lean")
