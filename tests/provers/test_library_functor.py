"""Library theorems inside functors and module types (29% of the stdlib's test theorems).

The environment replays the file's prefix as it is (the functor stays open); the kernel check
reads each open functor as a plain module that declares its parameters (``Declare Module``) and
each open module type as a module, so the checked constant exists outside and ``Print
Assumptions`` names every parameter field it uses. Those fields, and nothing else, count as the
theorem's context: a global axiom, an axiom the functor body declares, and the check's own
admitted twin of the statement are still rejected.

Needs Coq (coqc, coqidetop); skipped without it.
"""

from __future__ import annotations

import shutil

import pytest

from provers import EnvConfig, ProofFinished, TacticError
from provers.coq.env import CoqEnv
from provers.coq.library import LibraryConfig, Unstartable, UnstartableError, _FileText, check_library_proof, library_theorem, opener_as_module
from provers.tracing.config import Library

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None,
                                reason="Coq is not installed")

F_V = """\
Axiom cheat : False.

Module Type Order.
  Parameter t : Type.
  Parameter lt : t -> t -> Prop.
  Axiom lt_irrefl : forall x, ~ lt x x.
  Axiom lt_trans : forall x y z, lt x y -> lt y z -> lt x z.
  Lemma lt_not_refl : forall x, lt x x -> False.
  Proof.
    intros x H. exact (lt_irrefl x H).
  Qed.
End Order.

Module Facts (Import O : Order) (P Q : Order) <: Order.
  Definition t := O.t.
  Axiom body_cheat : False.
  Section S.
    Variable x : O.t.
    Lemma lt_asym : forall y, lt x y -> ~ lt y x.
    Proof.
      intros y H H'. exact (lt_irrefl x (lt_trans x y x H H')).
    Qed.
  End S.
  Lemma p_irrefl : forall y : P.t, ~ P.lt y y.
  Proof.
    exact P.lt_irrefl.
  Qed.
End Facts.
"""


def theorem(tmp_path, name: str):
    """The library theorem ``name`` of F.v, at the line and column its ``Lemma`` stands."""
    src = tmp_path / "F.v"
    src.write_text(F_V, encoding="utf-8")
    line, col = next((i, len(ln) - len(ln.lstrip()) + 1) for i, ln in enumerate(F_V.splitlines(), 1) if ln.strip().startswith(f"Lemma {name} "))
    return library_theorem(Library(tmp_path, "Lib"), (), "F.v", _FileText(src), f"Lib.F.{name}", (line, col), LibraryConfig(tactic_imports=False))


def test_openers_read_as_modules_with_declared_parameters():
    assert opener_as_module("Module Facts (Import O : Order) (P Q : Order) <: Order.") == (
        "Module Facts. Declare Module O : Order. Import O. Declare Module P : Order. Declare Module Q : Order.", ("O", "P", "Q"))
    assert opener_as_module("Module Type ZBitsProp\n (Import A : ZAxiomsSig')\n (B : ZMulOrderProp A).") == (
        "Module ZBitsProp. Declare Module A : ZAxiomsSig'. Import A. Declare Module B : ZMulOrderProp A.", ("A", "B"))
    assert opener_as_module("Module Type T.") == ("Module T.", ())
    assert opener_as_module("Module M <: T.") == ("Module M.", ())
    assert opener_as_module("Module F (X : T with Definition t := (nat * nat)%type).")[0].endswith(
        "Declare Module X : T with Definition t := (nat * nat)%type.")
    assert opener_as_module("Module F (X : T) := G X.") is None  # defines a module, opens nothing
    assert opener_as_module("Module F (X T).") is None


def test_a_theorem_in_a_functor_starts_there_and_its_proof_is_checked(tmp_path):
    lt = theorem(tmp_path, "lt_asym")
    assert lt.context == ("P.Facts.O.", "P.Facts.P.", "P.Facts.Q.")
    with CoqEnv(lt.theorem, EnvConfig(tactic_timeout_s=10, extra_args=lt.env_args)) as (env, s0):
        assert "x : O.t" in s0.pp or "x : t" in s0.pp  # the section variable, in the open functor
        assert isinstance(env.run_tac(s0, "exact p_irrefl."), TacticError)  # a later lemma: invisible
        done = env.run_tac(s0, "intros y H H'. exact (lt_irrefl x (lt_trans x y x H H')).")
        assert isinstance(done, ProofFinished), done
        verdict = check_library_proof(lt, env.proof_sentences(done))
    assert verdict.ok, verdict.message
    assert "assumptions of its functor or module type context" in verdict.message
    assert verdict.axioms == ()  # parameter fields are context, not axioms


def test_parameter_fields_pass_but_nothing_else_does(tmp_path):
    lt = theorem(tmp_path, "p_irrefl")
    assert check_library_proof(lt, ["exact P.lt_irrefl."]).ok
    for cheat, why in ((["destruct cheat."], "cheat"),  # a global axiom of the file
                       (["destruct body_cheat."], "body_cheat"),  # declared in the functor body
                       (["exact nesy_problem_statement."], "")):  # the check's own admitted twin
        verdict = check_library_proof(lt, cheat)
        assert not verdict.ok, (cheat, verdict.message)
        assert why in verdict.message


def test_a_theorem_in_a_module_type_uses_its_fields(tmp_path):
    lt = theorem(tmp_path, "lt_not_refl")
    assert lt.context == ("P.Order.",)
    assert check_library_proof(lt, ["intros x H.", "exact (lt_irrefl x H)."]).ok
    assert not check_library_proof(lt, ["intros x H.", "destruct cheat."]).ok
    twin = check_library_proof(lt, ["exact nesy_problem_statement."])  # under P.Order. too, yet not context
    assert not twin.ok and "P.Order.nesy_problem_statement" in twin.message


def test_an_unreadable_functor_opener_is_a_reason(tmp_path):
    src = tmp_path / "G.v"
    src.write_text("Module Type T. End T.\nModule F (X T).\nLemma a : True.\nProof. exact I. Qed.\nEnd F.\n", encoding="utf-8")
    with pytest.raises(UnstartableError) as info:
        library_theorem(Library(tmp_path, "Lib"), (), "G.v", _FileText(src), "Lib.G.F.a", (3, 1), LibraryConfig(tactic_imports=False))
    assert info.value.reason is Unstartable.IN_FUNCTOR
