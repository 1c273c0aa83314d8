"""One conformance suite, run for every registered backend.

Each backend supplies a small theorem, a tactic that proves it, one that fails, one that makes
progress, and one that gives up. A new backend is done when this suite passes for it. Lean needs
a toolchain and a traced repository: set NESY_LEAN_TEST_REPO, NESY_LEAN_TEST_COMMIT,
NESY_LEAN_TEST_FILE, NESY_LEAN_TEST_THEOREM (and NESY_LEAN_TEST_PROOF, default ``omega``) where
``lake`` is on PATH; elsewhere it is skipped with the reason printed.
"""

import os
import shutil
from dataclasses import dataclass

import pytest

from provers import EnvConfig, ErrorKind, ProofFinished, ProofGivenUp, TacticError, TacticState, Theorem, backend_names, get_backend
from provers.errors import UnknownBackendError
from provers.registry import canonical_name
from provers.registry import load_backend


@dataclass
class Case:
    theorem: Theorem
    proof: str
    wrong: str
    progress: str
    give_up: str


def coq_case():
    if not (shutil.which("coqidetop.opt") or shutil.which("coqidetop")):
        pytest.skip("Coq is not installed (apt-get install -y coq libcoq-stdlib)")
    thm = Theorem("conf", "Theorem conf (a b : nat) : a + b = b + a.", "Require Import Arith Lia.")
    return Case(thm, "intros; lia.", "apply no_such_lemma.", "revert a.", "admit.")


def lean_case():
    pytest.importorskip("lean_dojo", reason="lean-dojo is not installed: pip install 'nesy[lean]'")
    if not shutil.which("lake"):
        pytest.skip("no Lean toolchain on PATH (lake not found): the Lean backend's integration test needs one")
    keys = ["NESY_LEAN_TEST_REPO", "NESY_LEAN_TEST_COMMIT", "NESY_LEAN_TEST_FILE", "NESY_LEAN_TEST_THEOREM"]
    missing = [k for k in keys if not os.environ.get(k)]
    if missing:
        pytest.skip(f"Lean toolchain found but {', '.join(missing)} not set (a theorem in a LeanDojo-traceable repo)")
    thm = Theorem(os.environ["NESY_LEAN_TEST_THEOREM"], "", repo_url=os.environ["NESY_LEAN_TEST_REPO"],
                  commit=os.environ["NESY_LEAN_TEST_COMMIT"], file_path=os.environ["NESY_LEAN_TEST_FILE"])
    return Case(thm, os.environ.get("NESY_LEAN_TEST_PROOF", "omega"), "exact no_such_lemma", "skip", "sorry")


CASES = {"coq": coq_case, "lean": lean_case}


def test_every_backend_has_a_conformance_case():
    assert set(CASES) == set(backend_names())


@pytest.fixture(params=[*backend_names(), "coq-warm"])
def case_env(request):
    if request.param == "coq-warm":  # Coq on a process reused from the warm pool (provers/coq/pool.py)
        case = CASES["coq"]()
        from provers.coq.pool import WarmPool

        with WarmPool() as pool:
            with get_backend("coq")(case.theorem, EnvConfig(tactic_timeout_s=30), pool=pool) as (env, init):
                env.run_tac(init, case.progress)  # leave something behind on the process
            with get_backend("coq")(case.theorem, EnvConfig(tactic_timeout_s=30), pool=pool) as (env, init):
                assert env.warm_start == "warm"
                yield "coq", case, env, init
        return
    case = CASES[request.param]()
    backend = get_backend(request.param)
    with backend(case.theorem, EnvConfig(tactic_timeout_s=30)) as (env, init):
        yield request.param, case, env, init


def test_initial_state(case_env):
    _, _, _, init = case_env
    assert isinstance(init, TacticState) and init.num_goals >= 1
    assert init.goals and init.goals[0].conclusion
    assert init.pp


def test_wrong_tactic_is_a_value_and_state_survives(case_env):
    _, case, env, init = case_env
    r = env.run_tac(init, case.wrong)
    assert isinstance(r, TacticError) and r.kind is ErrorKind.FAILED and r.message
    assert isinstance(env.run_tac(init, case.proof), ProofFinished)


def test_progress_then_branch_back(case_env):
    _, case, env, init = case_env
    s1 = env.run_tac(init, case.progress)
    assert isinstance(s1, TacticState)
    done = env.run_tac(init, case.proof)  # back to the root from a deeper state
    assert isinstance(done, ProofFinished)
    assert env.proof_of(done) == [case.proof]


def test_give_up_is_never_a_proof(case_env):
    _, case, env, init = case_env
    assert isinstance(env.run_tac(init, case.give_up), ProofGivenUp)


def test_found_proof_passes_the_fresh_check(case_env):
    name, case, env, init = case_env
    done = env.run_tac(init, case.proof)
    assert isinstance(done, ProofFinished)
    assert load_backend(name).check(case.theorem, env.proof_of(done)).ok


def test_unknown_backend_name_is_a_clear_error():
    with pytest.raises(UnknownBackendError, match="unknown proof backend 'isabelle'.*coq.*lean"):
        get_backend("isabelle")
    assert canonical_name("Rocq") == "coq" and canonical_name("lean4") == "lean"


# ------------------------------------------------------------------ loading and checking

# A problem file per backend, in the layout its loader reads (no prover needed to load).
PROBLEM_FILES = {
    "coq": ("conf.v", "Require Import Arith Lia.\n\nTheorem conf (a b : nat) : a + b = b + a.\nProof.\nAdmitted.\n"),
    "lean": ("conf.lean", "import Mathlib\n\ntheorem conf (a b : Nat) : a + b = b + a := by\n  sorry\n"),
}


def test_every_backend_has_a_problem_file():
    assert set(PROBLEM_FILES) == set(backend_names())


@pytest.mark.parametrize("name", backend_names())
def test_loading_problems_and_writing_proof_files_round_trip(name, tmp_path):
    b = load_backend(name)
    fname, text = PROBLEM_FILES[name]
    assert fname.endswith(b.problem_suffix)
    (tmp_path / fname).write_text(text)
    (tmp_path / f"broken{b.problem_suffix}").write_text("this is not a theorem\n")
    problems = b.load_problems(tmp_path)
    assert [p.name for p in problems] == ["broken", "conf"]
    assert problems[0].theorem is None and problems[0].error  # an error, not an exception
    thm = problems[1].theorem
    assert thm.name == "conf" and "a + b = b + a" in thm.statement
    assert b.load_problems(tmp_path / fname)[0].theorem == thm  # one file works too
    prepared = b.prepare(thm, hammer=False, tactic_imports=True)
    assert prepared.statement == thm.statement and prepared.header == thm.header  # only nesy's prelude may differ
    out = tmp_path / "proofs"
    out.mkdir()
    (out / fname).write_text(b.proof_file(prepared, ["intros", "omega" if name == "lean" else "lia"]))
    (again,) = b.load_problems(out / fname)
    assert again.theorem is not None and again.theorem.name == "conf" and again.theorem.statement.strip() == thm.statement.strip()
    with pytest.raises(Exception) as info:
        b.load_problems(tmp_path / "missing")
    assert "no such file" in str(info.value)


def test_the_coq_check_accepts_proofs_and_refuses_the_rest(tmp_path):
    """The check each backend provides, for Coq (Lean's needs a toolchain: see test_found_proof_passes_the_fresh_check)."""
    case = coq_case()
    b = load_backend("coq")
    thm = b.prepare(case.theorem)
    assert b.check(thm, [case.proof]).ok
    assert not b.check(thm, [case.wrong]).ok
    assert not b.check(thm, [case.give_up]).ok
    assert not b.check(thm, [case.progress]).ok  # progress is not a proof
    other = Theorem("conf", "Theorem conf (a b : nat) : a * b = b * a.", case.theorem.header)
    assert not b.check(thm, ["exact Nat.mul_comm"]).ok and b.check(other, ["intros; apply Nat.mul_comm."]).ok
