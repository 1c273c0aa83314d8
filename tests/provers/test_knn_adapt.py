"""Fitting a remembered tactic's hypothesis names to a new goal (:mod:`provers.generators.adapt`)."""

from __future__ import annotations

import pytest

from provers.generators.adapt import correspondence, fit_tactic, hypotheses

SRC = "n, m : nat\nH : n <= m\nIHn : forall k,\n  k <= n -> P k\n============================\nP m"
TGT = "a : nat\nb : nat\nHab : a <= b\nIHa : forall k, k <= a -> P k\n============================\nP b"


def test_hypotheses_of_the_first_goal_with_shared_and_multiline_types():
    assert hypotheses(SRC) == (("n", "nat"), ("m", "nat"), ("H", "n <= m"), ("IHn", "forall k, k <= n -> P k"))
    two_goals = "x := 3 : nat\nHx : x > 0\n============================\nx = 3\n\ny : nat\n============================\ny = y"
    assert hypotheses(two_goals) == (("x", ":= 3 : nat"), ("Hx", "x > 0"))  # the first goal only
    assert hypotheses("(unfocused goals: 2)\nH : True\n============================\nTrue") == (("H", "True"),)
    assert hypotheses("============================\nTrue") == ()


def test_the_correspondence_follows_types_with_earlier_names_mapped():
    assert correspondence(hypotheses(SRC), hypotheses(TGT)) == {"n": "a", "m": "b", "H": "Hab", "IHn": "IHa"}
    # a hypothesis that keeps its name and type keeps its name, and is not offered to another one
    src = hypotheses("H : A\nH0 : A\n============================\nA")
    assert correspondence(src, hypotheses("H0 : A\nH1 : A\n============================\nA")) == {"H": "H1", "H0": "H0"}


@pytest.mark.parametrize("tactic, fitted", [
    ("apply IHn.", "apply IHa."),
    ("apply IHn; exact H.", "apply IHa; exact Hab."),
    ("induction n as [|n' IH].", "induction a as [|n' IH]."),  # binders the tactic introduces are left alone
    ("lia.", "lia."),
    ("apply Nat.le_trans with (m := m).", "apply Nat.le_trans with (m := b)."),  # a named argument is the lemma's
    ("rewrite Nat.add_comm in H.", "rewrite Nat.add_comm in Hab."),  # a qualified name is not a local
    ("destruct H as [x Hx].", "destruct Hab as [x Hx]."),
])
def test_fit_renames_the_locals_the_tactic_uses(tactic, fitted):
    assert fit_tactic(tactic, SRC, TGT) == fitted


def test_fit_renames_simultaneously_and_refuses_what_it_cannot_fit():
    # H -> H0 and H0 -> H1 at once, not H -> H0 -> H1
    assert fit_tactic("rewrite H, H0.", "H : A\nH0 : B\n============================\nA",
                      "H0 : A\nH1 : B\n============================\nA") == "rewrite H0, H1."
    # H has no counterpart (no hypothesis of type A) and is not in the new context
    assert fit_tactic("exact H.", "H : A\n============================\nA", "H0 : B\n============================\nA") is None
    # renaming H to Hq would capture the binder Hq the tactic introduces
    assert fit_tactic("intros Hq; exact H.", "H : A\n============================\nB -> A",
                      "Hq : A\n============================\nB -> A") is None
    # a name that is in both contexts with an unmatched type is left as written
    assert fit_tactic("exact H.", "H : A\n============================\nA", "H : C\n============================\nA") == "exact H."
    # a state without hypotheses: nothing to fit
    assert fit_tactic("intros x H.", "============================\nforall x, x = x", "whatever") == "intros x H."
