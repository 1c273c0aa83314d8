"""Coq's automation portfolio: decision procedures and automation tactics to try in turn.

Each entry is a whole-proof attempt from the initial state. The order puts cheap, often
successful procedures first. ``intros`` first is harmless when there is nothing to introduce.
"""

from __future__ import annotations

# Ordered from cheap to expensive. Arithmetic: lia (linear integer/nat), nia (nonlinear
# integer), lra/nra (linear/nonlinear real), psatz (Positivstellensatz, needs csdp), field/ring
# (equalities in fields/rings); logic: intuition/firstorder combined with arithmetic; computation:
# reflexivity after evaluation.
COQ_PORTFOLIO: tuple[str, ...] = (
    "reflexivity",
    "intros; lia",
    "intros; lra",
    "intros; ring",
    "intros; field",
    "intros; field; auto",
    "vm_compute; reflexivity",
    "intros; subst; lia",
    "intros; nia",
    "intros; nra",
    "intros; field_simplify; lra",
    "intros; repeat split; lia",
    "intros; repeat split; lra",
    "intros; psatz Z 2",
    "intros; psatz R 2",
    "intuition lia",
    "intuition lra",
    "intros; simpl; lia",
    "intros; subst; nia",
    "intros; subst; nra",
    "firstorder",
    "intros; eauto with arith",
    "tauto",
)

# Sentences added after a problem's own header so that the portfolio's tactics exist (miniF2F
# files often import only Reals or Arith). They load decision procedures, no axioms; the proof
# files nesy writes and checks contain them too.
COQ_TACTIC_IMPORTS = "From Coq Require Import Lia Lra Psatz."

# CoqHammer's proof-search tactics (Debian libcoq-hammer); they need HAMMER_IMPORT in the header.
HAMMER_IMPORT = "From Hammer Require Import Tactics."
HAMMER_PORTFOLIO: tuple[str, ...] = ("sauto", "hauto", "intros; sauto lq: on")



def coq_portfolio(hammer: bool = False) -> tuple[str, ...]:
    """The portfolio, with CoqHammer's tactics last when ``hammer``."""
    return COQ_PORTFOLIO + HAMMER_PORTFOLIO if hammer else COQ_PORTFOLIO


def nesy_imports(tactic_imports: bool = True, hammer: bool = False) -> list[str]:
    """The sentences nesy adds after a header so that its automation exists: the imports of
    lia/lra/psatz, and CoqHammer's tactics with ``hammer``."""
    return ([COQ_TACTIC_IMPORTS] if tactic_imports else []) + ([HAMMER_IMPORT] if hammer else [])
