"""Sentence splitting and the vetting of untrusted tactic strings (no Coq process needed)."""

import pytest

from provers.coq.sentences import DANGEROUS_VERNACULAR, SentenceError, check_tactic, split_sentences


def texts(s):
    return [x.text for x in split_sentences(s)]


def test_split_basic_and_qualified_names():
    assert texts("intros. rewrite Nat.add_comm. reflexivity.") == ["intros.", "rewrite Nat.add_comm.", "reflexivity."]


def test_split_bullets_braces_and_selectors():
    assert texts("split.\n- lia.\n- { exact I. }\n2: { auto. }") == [
        "split.", "-", "lia.", "-", "{", "exact I.", "}", "2: {", "auto.", "}",
    ]
    assert texts("-- lia. ** auto.") == ["--", "lia.", "**", "auto."]


def test_split_comments_and_strings():
    assert texts('(* a. b. (* nested. *) *) idtac "x. y."". z". auto.') == ['idtac "x. y."". z".', "auto."]


def test_split_errors():
    with pytest.raises(SentenceError):
        split_sentences("intros. (* never closed")
    with pytest.raises(SentenceError):
        split_sentences('idtac "open string.')
    with pytest.raises(SentenceError):
        split_sentences("intros. lia")  # trailing text without a full stop


FORBIDDEN = [
    "Admitted.", "Qed.", "Defined.", "Save foo.", "Abort.", "Axiom ax : False.", "Parameter p : nat.",
    "Conjecture c : False.", "Hypothesis h : False.", "Variable v : False.", "Require Import Classical.",
    "Import Foo.", "Export Foo.", "Load \"evil.v\".", "Redirect \"out\" Print All.", "Drop.",
    "Set Printing All.", "Unset Guard Checking.", "Extraction foo.", "Recursive Extraction foo.",
    "Declare ML Module \"evil\".", "Add LoadPath \"/tmp\".", "Lemma l : False.", "Theorem t : False.",
    "Definition d := 1.", "Fixpoint f (n:nat) : nat := f n.", "Ltac t := idtac.", "Proof.",
    "Timeout 5 lia.", "Time lia.", "Fail lia.", "Succeed lia.", "Local Obligation Tactic := idtac.",
    "#[local] Hint Resolve foo : core.", "Hint Resolve foo.", "Opaque plus.", "Print Assumptions t.",
    "Module M.", "End M.", "Instance i : Foo.", "Restart.", "Undo.", "Reset t.", "Back.",
]


@pytest.mark.parametrize("tactic", FORBIDDEN)
def test_each_vernacular_command_refused(tactic):
    verdict = check_tactic(tactic)
    assert verdict.refused, tactic
    assert verdict.sentences == ()


@pytest.mark.parametrize("tactic", ["lia. Qed.", "exact I.\nAdmitted.", "- lia. Axiom x : False.", "all: Admitted.", "1: Qed.", "idtac. Set Printing All"])
def test_vernacular_hidden_after_tactics_refused(tactic):
    assert check_tactic(tactic).refused


def test_every_listed_command_is_refused_with_its_name():
    for word in DANGEROUS_VERNACULAR:
        verdict = check_tactic(f"{word} foo.")
        assert verdict.refused and word in verdict.refused


@pytest.mark.parametrize("tactic", ["admit.", "intros; admit.", "split; [lia | give_up].", "all: admit."])
def test_give_up_detected(tactic):
    verdict = check_tactic(tactic)
    assert verdict.gives_up and not verdict.refused


@pytest.mark.parametrize(
    "tactic,expected",
    [
        ("lia", ("lia.",)),
        ("intros; lia.", ("intros; lia.",)),
        ("split. - lia. - auto.", ("split.", "-", "lia.", "-", "auto.")),
        ("  (* comment *) auto  ", ("auto.",)),
        ('idtac "Qed.".', ('idtac "Qed.".',)),
        ("apply admit_lemma.", ("apply admit_lemma.",)),
        ("all: lia.", ("all: lia.",)),
    ],
)
def test_allowed_tactics(tactic, expected):
    verdict = check_tactic(tactic)
    assert verdict.refused is None and not verdict.gives_up
    assert verdict.sentences == expected


@pytest.mark.parametrize("tactic", ["", "   ", "(* only a comment *)", "lia\x00", "(* open"])
def test_malformed_tactics_refused(tactic):
    assert check_tactic(tactic).refused
