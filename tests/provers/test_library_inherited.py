"""A library theorem whose own proof rests on axioms its file declares (``Uint63``'s primitive
integer specifications): a proof found in its file's context is accepted when it rests on
nothing the library's own proof of the same theorem does not, and refused otherwise.

Needs Coq (coqc); skipped without it.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from provers.coq.library import (
    LibraryConfig,
    _FileText,
    check_library_proof,
    library_theorem,
)
from provers.tracing.config import Library

pytestmark = pytest.mark.skipif(shutil.which("coqc") is None, reason="Coq is not installed")

A_V = """\
Axiom spec : forall n : nat, n + 0 = n.
Axiom cheat : False.
Module M.
  Axiom m_spec : 1 + 1 = 2.
End M.
Lemma uses_spec : forall n, n + 0 = n.
Proof. exact spec. Qed.
Lemma uses_m : 1 + 1 = 2.
Proof. exact M.m_spec. Qed.
Lemma plain : 0 + 0 = 0.
Proof. reflexivity. Qed.
Definition f (n : nat) := n + 0.
Axiom f_spec : forall n, f n = n.
Lemma uses_f : forall n, f n = n.
Proof. exact f_spec. Qed.
"""


def theorem(root, name: str, compiled: bool = True, edited: str | None = None):
    src = root / "A.v"
    src.write_text(A_V, encoding="utf-8")
    if compiled:  # the library's own compiled proofs, as nesy trace leaves them
        subprocess.run(["coqc", "-q", "-R", str(root), "Lib", str(src)], check=True, cwd=root, capture_output=True)
    if edited is not None:  # the source edited after compiling: the compiled file is stale
        src.write_text(edited, encoding="utf-8")
    line = next(i for i, ln in enumerate((edited or A_V).splitlines(), 1) if ln.startswith(f"Lemma {name} "))
    return library_theorem(Library(root, "Lib"), ("-R", str(root), "Lib"), "A.v", _FileText(src), f"Lib.A.{name}", (line, 1),
                           LibraryConfig(tactic_imports=False))


def test_an_axiom_the_librarys_own_proof_uses_is_accepted(tmp_path):
    lt = theorem(tmp_path, "uses_spec")
    assert lt.module == "Lib.A"
    verdict = check_library_proof(lt, ["intros n.", "apply spec."])
    assert verdict.ok, verdict.message
    assert verdict.axioms == ("P.spec",)
    assert "as the library's own proof of Lib.A.uses_spec" in verdict.message
    # inside a module of the file too
    inner = check_library_proof(theorem(tmp_path, "uses_m"), ["exact M.m_spec."])
    assert inner.ok, inner.message


def test_an_axiom_the_librarys_own_proof_does_not_use_is_refused(tmp_path):
    lt = theorem(tmp_path, "uses_spec")
    for proof, name in ((["destruct cheat."], "P.cheat"),  # declared in the file, not used by the library's proof
                        (["intros n.", "assert (1 + 1 = 2) by exact M.m_spec.", "apply spec."], "P.M.m_spec")):  # one of two is not
        verdict = check_library_proof(lt, proof)
        assert not verdict.ok, (proof, verdict.message)
        assert name in verdict.message
    both = check_library_proof(lt, ["intros n.", "destruct cheat."])
    assert not both.ok and "P.cheat" in both.disallowed
    twin = check_library_proof(lt, ["exact nesy_problem_statement."])  # the check's own admitted twin
    assert not twin.ok and "nesy_problem_statement" in twin.message
    plain = check_library_proof(theorem(tmp_path, "plain"), ["destruct cheat."])
    assert not plain.ok and "rests on no axiom" in plain.message
    assert check_library_proof(theorem(tmp_path, "plain"), ["reflexivity."]).ok


def test_an_axiom_about_the_files_own_definition_is_accepted(tmp_path):
    """The copy's ``f_spec`` mentions the copy's ``f``; the library's own proof rests on its own."""
    verdict = check_library_proof(theorem(tmp_path, "uses_f"), ["exact f_spec."])
    assert verdict.ok, verdict.message
    assert verdict.axioms == ("P.f_spec",)


def test_an_axiom_edited_after_compiling_is_not_inherited(tmp_path):
    """The compiled library's ``uses_spec`` rests on the old ``spec``; the source now says
    ``spec : False``. Same name, another statement: the compiled file is older than its source,
    so nothing is inherited and the proof through the new axiom is refused."""
    stale = A_V.replace("Axiom spec : forall n : nat, n + 0 = n.", "Axiom spec : False.")
    lt = theorem(tmp_path, "uses_spec", edited=stale)
    verdict = check_library_proof(lt, ["destruct spec."])
    assert not verdict.ok, verdict.message
    assert "P.spec" in verdict.disallowed
    assert "A.vo is older than its source" in verdict.message
    # the same proof against a library compiled from that source: its own uses_spec does not
    # compile any more, so there is no library to inherit from (the build fails first)
    src = tmp_path / "A.v"
    assert subprocess.run(["coqc", "-q", "-R", str(tmp_path), "Lib", str(src)], check=False, cwd=tmp_path, capture_output=True).returncode != 0
    # recompiled from the original source, the edit undone: inherited again
    lt = theorem(tmp_path, "uses_spec")
    assert check_library_proof(lt, ["intros n.", "apply spec."]).ok


def test_without_the_compiled_library_nothing_is_inherited(tmp_path):
    lt = theorem(tmp_path, "uses_spec", compiled=False)
    verdict = check_library_proof(lt, ["exact spec."])
    assert not verdict.ok
    assert "P.spec" in verdict.message and "its compiled file was not found" in verdict.message


def test_a_header_that_needs_its_own_name_is_said_so(tmp_path):
    """Coq's setoid rewriting finds ``Proper`` by its absolute name ``Coq.Classes.Morphisms``, so
    that file's prefix does not compile under the check's private name; the same happens to any
    prefix that names its own file absolutely. The refusal says it is the header, not the proof."""
    src = tmp_path / "B.v"
    src.write_text("Definition a := 1.\nDefinition b := Lib.B.a.\nLemma c : b = 1.\nProof. reflexivity. Qed.\n", encoding="utf-8")
    lt = library_theorem(Library(tmp_path, "Lib"), ("-R", str(tmp_path), "Lib"), "B.v", _FileText(src), "Lib.B.c", (3, 1),
                         LibraryConfig(tactic_imports=False))
    verdict = check_library_proof(lt, ["reflexivity."])
    assert not verdict.ok
    assert "rejected the theorem's header (line 2 of its 2, before the proof)" in verdict.message
    assert "NesyCheck.P" in verdict.message
