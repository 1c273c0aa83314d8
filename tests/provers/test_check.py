"""The fresh-coqc kernel check and the reading of .v problem files."""

import shutil

import pytest

from provers import Theorem
from provers.coq.check import REALS_AXIOMS, check_file, check_proof, parse_assumptions
from provers.coq.files import TheoremFileError, load_problem_set, load_theorem, theorem_from_text

needs_coq = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq (coqc) is not installed")

THM = Theorem("t", "Theorem t (x : nat) : x + 0 = x.", "Require Import Arith.")


@needs_coq
def test_check_accepts_a_real_proof():
    r = check_proof(THM, ["induction x.", "- reflexivity.", "- simpl. rewrite IHx. reflexivity."])
    assert r.ok, r.message
    assert r.axioms == ()


@needs_coq
def test_check_rejects_incomplete_wrong_and_given_up_proofs():
    assert not check_proof(THM, ["induction x."]).ok
    assert not check_proof(THM, ["reflexivity."]).ok
    assert not check_proof(THM, ["admit."]).ok
    assert not check_proof(THM, ["Admitted."]).ok


@needs_coq
def test_check_reports_axioms_outside_the_allow_list():
    thm = Theorem("t", "Theorem t : False.", "Axiom cheat : False.")
    r = check_proof(thm, ["exact cheat."])
    assert not r.ok and any(a.endswith("cheat") for a in r.disallowed)


@needs_coq
def test_reals_axioms_are_allowed():
    thm = Theorem("t", "Theorem t (x : R) : 0 <= x * x.", "Require Import Reals Lra Psatz.\nOpen Scope R_scope.")
    r = check_proof(thm, ["nra."])
    assert r.ok, r.message
    assert set(r.axioms) <= REALS_AXIOMS and r.axioms


@needs_coq
def test_user_axiom_named_like_an_allowed_one_is_caught(tmp_path):
    f = tmp_path / "sneaky.v"
    f.write_text(
        "Module Classical_Prop. Axiom classic : False. End Classical_Prop.\n"
        "Theorem sneaky : False. Proof. exact Classical_Prop.classic. Qed.\n"
    )
    r = check_file(f)
    assert not r.ok and r.disallowed == ("P.Classical_Prop.classic",)


@needs_coq
def test_check_file_ok_and_admitted(tmp_path):
    good = tmp_path / "good.v"
    good.write_text("Lemma a : True. Proof. exact I. Qed.\nTheorem b : 1 + 1 = 2. Proof. reflexivity. Qed.\n")
    r = check_file(good)
    assert r.ok and set(r.per_theorem) == {"a", "b"}
    bad = tmp_path / "bad.v"
    bad.write_text("Lemma a : False. Proof. Admitted.\nTheorem b : False. Proof. exact a. Qed.\n")
    r = check_file(bad)
    assert not r.ok and "a" in " ".join(r.disallowed)
    broken = tmp_path / "broken.v"
    broken.write_text("Theorem b : 1 = 2. Proof. reflexivity. Qed.\n")
    assert not check_file(broken).ok


def test_parse_assumptions_blocks():
    out = (
        "Closed under the global context\n"
        "Axioms:\nClassical_Prop.classic : forall P : Prop, P \\/ ~ P\n"
        "ClassicalDedekindReals.sig_forall_dec\n  : forall P : nat -> Prop,\n    foo\n"
        "Axioms:\nx : False\n"
    )
    assert parse_assumptions(out) == [(), ("Classical_Prop.classic", "ClassicalDedekindReals.sig_forall_dec"), ("x",)]


def test_theorem_from_text_picks_the_file_theorem():
    text = "Require Import Reals.\nDefinition f (x : R) := x.\n\nTheorem other : True.\nProof. Admitted.\n\nTheorem p1 (x : R) : f x = x.\nProof.\n"
    thm = theorem_from_text(text, "dir/p1.v")
    assert thm.name == "p1" and thm.line == 7
    assert thm.statement == "Theorem p1 (x : R) : f x = x."
    assert thm.header.endswith("Proof. Admitted.")
    first = theorem_from_text(text, "dir/unnamed.v")
    assert first.name == "other"


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("Require Import Reals.\n", "no Theorem/Lemma"),
        ("Theorem t : True. (* unterminated", "unterminated comment"),
        ("Theorem t : True", "not terminated"),
        ("", "no Theorem/Lemma"),
    ],
)
def test_malformed_files_give_clear_errors(text, fragment):
    with pytest.raises(TheoremFileError, match=fragment):
        theorem_from_text(text, "x.v")


def test_load_errors(tmp_path):
    with pytest.raises(TheoremFileError, match="no such file"):
        load_theorem(tmp_path / "missing.v")
    binary = tmp_path / "bin.v"
    binary.write_bytes(b"\xff\xfe\x00Theorem")
    with pytest.raises(TheoremFileError, match="not UTF-8"):
        load_theorem(binary)
    with pytest.raises(TheoremFileError, match="no .v files"):
        load_problem_set(_empty(tmp_path))


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_problem_set_keeps_bad_files_as_errors(tmp_path):
    (tmp_path / "a.v").write_text("Theorem a : True.\nProof.\n")
    (tmp_path / "b.v").write_text("nothing here")
    problems = load_problem_set(tmp_path)
    assert [p.name for p in problems] == ["a", "b"]
    assert problems[0].theorem is not None and problems[1].theorem is None and "no Theorem" in problems[1].error
