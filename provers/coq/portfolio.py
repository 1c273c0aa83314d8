"""Coq's automation portfolio: decision procedures and automation tactics to try in turn.

Each entry is a whole-proof attempt from the initial state. The order puts cheap, often
successful procedures first. ``intros`` first is harmless when there is nothing to introduce.
"""

from __future__ import annotations

import re

# Rewrites with every hypothesis of the form ``forall x, f x = ...`` until none applies (at least
# once), then substitutes and calls nra: miniF2F's "f x = x + 2, g x = x^2, f (g x) = g (f x)"
# problems, which lra/nra alone cannot see through.
FUNCTION_EQUATIONS_NRA = ("intros; progress (repeat match goal with H : forall _, _ = _ |- _ => progress rewrite !H in * end); "
                          "try subst; nra")

# Complex numbers (Coquelicot's ``C``, pairs of reals): substitute, split every complex variable
# into its real and imaginary parts, unfold the operations, split pair equations into their two
# components, then nra on each. Fails at once unless the goal or a hypothesis is an equation
# between complex numbers. Names are qualified so that a problem's own ``C`` is never taken for it.
_CX = "Coquelicot.Complex."
COMPLEX_COMPONENTS_NRA = (
    f"intros; match goal with |- @eq {_CX}C _ _ => idtac | |- @eq {_CX}C _ _ /\\ _ => idtac "
    f"| _ : @eq {_CX}C _ _ |- _ => idtac end; subst; repeat match goal with z : {_CX}C |- _ => destruct z end; "
    f"unfold {_CX}Cminus, {_CX}Cplus, {_CX}Cmult, {_CX}Copp, {_CX}RtoC, {_CX}Ci in *; simpl in *; "
    "repeat match goal with H : (_, _) = (_, _) |- _ => injection H; clear H; intros end; "
    "repeat split; try (apply injective_projections; simpl); nra")

# Real equations with divisions (`3 + 1/x = 7/x`, `x <> 0`): clear the denominators of every
# hypothesis and of the goal (field_simplify_eq), discharging each "denominator <> 0" from a
# hypothesis `a <> b` (`x - 3 <> 0` from `x <> 3`), then nra. Fails at once without a division.
_NONZERO = "solve [ assumption | intro; match goal with Hn : _ <> _ |- False => apply Hn; lra end | lra ]"
CLEAR_DENOMINATORS_NRA = (
    "intros; match goal with |- context [Rdiv _ _] => idtac | |- context [Rinv _] => idtac "
    "| _ : context [Rdiv _ _] |- _ => idtac | _ : context [Rinv _] |- _ => idtac end; "
    f"repeat match goal with H : context [Rdiv _ _] |- _ => field_simplify_eq in H; [ {_NONZERO} .. | ] "
    f"| H : context [Rinv _] |- _ => field_simplify_eq in H; [ {_NONZERO} .. | ] end; "
    f"try (field_simplify_eq; [ | {_NONZERO} .. ]); nra")

# Square roots: functions given by equations rewritten and hypotheses substituted as above, then
# for every `sqrt e` in sight the facts `0 <= sqrt e` and `sqrt e * sqrt e = e` (when nra shows
# `0 <= e`), then nra: `sqrt (x^2 + y^2) = 11` from `x + y = 13`, `x * y = 24`. Fails at once
# without a square root.
_SQRT_FACTS = ("lazymatch goal with _ : sqrt e * sqrt e = e |- _ => fail | _ => pose proof (sqrt_pos e); "
               "assert (sqrt e * sqrt e = e) by (apply sqrt_sqrt; nra) end")
SQRT_FACTS_NRA = (
    "intros; try (progress (repeat match goal with H : forall _, _ = _ |- _ => progress rewrite !H in * end)); try subst; "
    "match goal with |- context [sqrt _] => idtac | _ : context [sqrt _] |- _ => idtac end; "
    f"repeat match goal with |- context [sqrt ?e] => {_SQRT_FACTS} | _ : context [sqrt ?e] |- _ => {_SQRT_FACTS} end; nra")

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
    # functions given by equations (`forall x, f x = 2 * x + 1`): rewrite every use, then nra
    # (fails at once without such a hypothesis, so it never repeats the nra above)
    FUNCTION_EQUATIONS_NRA,
    # equations with divisions: clear the denominators first (fails at once without a division)
    CLEAR_DENOMINATORS_NRA,
    # complex numbers: real and imaginary parts (fails at once without a complex equation)
    COMPLEX_COMPONENTS_NRA,
    # square roots: `0 <= sqrt e` and `sqrt e * sqrt e = e` for each one (fails at once without one)
    SQRT_FACTS_NRA,
    "firstorder",
    "intros; eauto with arith",
    "tauto",
)

# Sentences added after a problem's own header so that the portfolio's tactics exist (miniF2F
# files often import only Reals or Arith). They load decision procedures, no axioms; the proof
# files nesy writes and checks contain them too. ``ZifyNat`` teaches lia's preprocessing (zify)
# nat's division, modulo and power and bounds every Z division and modulo it meets: `n mod 7 = 5
# -> (5 * n) mod 7 = 4` is then one ``lia``.
COQ_TACTIC_IMPORTS = "From Coq Require Import Lia Lra Psatz ZifyNat."

# CoqHammer (Debian libcoq-hammer). ``Hammer`` exports its reconstruction tactics (sauto, hauto,
# ...) and adds ``hammer``: premise selection over everything in scope, the external ATPs found on
# PATH (Debian's ``eprover``; Vampire, CVC4 and Z3's ``z3_tptp`` when installed: Debian's ``z3``
# has no TPTP front end, so CoqHammer does not use it), then a reconstruction tactic that replays
# the ATP's proof in Coq. HAMMER_ATP_LIMIT_S bounds the ATPs' time.
HAMMER_IMPORT = "From Hammer Require Import Hammer."
HAMMER_ATP_LIMIT_S = 8


def hammer_settings(atp_limit_s: int) -> str:
    """The sentence that bounds the ATPs' wall-clock time of every ``hammer`` call."""
    return f"Set Hammer ATPLimit {atp_limit_s}."


HAMMER_SETTINGS = hammer_settings(HAMMER_ATP_LIMIT_S)
HAMMER_CALL = "hammer"
HAMMER_PORTFOLIO: tuple[str, ...] = ("sauto", "hauto", "intros; sauto lq: on", HAMMER_CALL)
# One ``hammer`` call: features of the whole environment (about 10 s of one core the first time in
# a process), the ATPs (HAMMER_ATP_LIMIT_S) and the reconstruction. It gets this much time instead
# of the usual per-tactic timeout, and runs on the initial state only when closers run at every node.
HAMMER_TACTIC_TIMEOUT_S = 30.0
_REPLACE = "Replace the hammer tactic with:"
# CoqHammer 1.3 reports ``srun eauto use: foo`` where its grammar needs ``srun (eauto) use: foo``
# (``srun`` takes a tactic, then options such as ``use:``/``unfold:``): the tactic gets brackets.
_SRUN = re.compile(r"^srun\s+(?!\()(.+?)((?:\s+[a-z]+:\s.*)?)$")


def coq_portfolio(hammer: bool = False) -> tuple[str, ...]:
    """The portfolio, with CoqHammer's tactics last when ``hammer``."""
    return COQ_PORTFOLIO + HAMMER_PORTFOLIO if hammer else COQ_PORTFOLIO


def nesy_imports(tactic_imports: bool = True, hammer: bool = False) -> list[str]:
    """The sentences nesy adds after a header so that its automation exists: the imports of
    lia/lra/psatz, and CoqHammer (with its ATP time limit) with ``hammer``."""
    return ([COQ_TACTIC_IMPORTS] if tactic_imports else []) + ([HAMMER_IMPORT, HAMMER_SETTINGS] if hammer else [])


def _plain_hammer(text: str) -> bool:
    """``text`` is the bare ``hammer`` call, with or without its terminator."""
    return text.strip().removesuffix(".").strip() == HAMMER_CALL


def is_hammer_call(sentences) -> bool:
    """The vetted sentences are one plain ``hammer.`` (the ATP call, slow; see HAMMER_TACTIC_TIMEOUT_S)."""
    return len(sentences) == 1 and _plain_hammer(sentences[0])


def root_only(tactic: str) -> bool:
    """A closer too slow to try on every node of a search: run it on the initial state only."""
    return _plain_hammer(tactic)


def hammer_reconstruction(notices) -> str | None:
    """The tactic a successful ``hammer`` reports ("Replace the hammer tactic with: hauto use: foo.")
    without its terminator, or None when no notice says so. The environment replays it in place of
    ``hammer`` (``hammer`` fails if it does not replay), so proofs and the kernel check never need
    the ATPs."""
    for notice in notices:
        text = " ".join(notice.split())
        if text.startswith(_REPLACE):
            tactic = text[len(_REPLACE):].strip().removesuffix(".").strip()
            return _SRUN.sub(r"srun (\1)\2", tactic) or None
    return None
