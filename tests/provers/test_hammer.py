"""CoqHammer's ``hammer`` (premise selection + external ATPs + reconstruction) in nesy's Coq backend."""

import dataclasses
import shutil
from pathlib import Path

import pytest

from provers import EnvConfig, Theorem, get_backend
from provers.coq.portfolio import (
    HAMMER_CALL,
    HAMMER_SETTINGS,
    HAMMER_TACTIC_TIMEOUT_S,
    coq_portfolio,
    hammer_reconstruction,
    hammer_settings,
    is_hammer_call,
    nesy_imports,
    root_only,
)
from provers.protocol import ProofFinished, ProofGivenUp, TacticError
from provers.registry import load_backend
from provers.search import SearchBudget, SearchStatus, best_first_search

HAMMER_VO = Path("/usr/lib/ocaml/coq/user-contrib/Hammer/Plugin/Hammer.vo")
needs_hammer = pytest.mark.skipif(
    shutil.which("coqidetop.opt") is None or shutil.which("eprover") is None or not HAMMER_VO.exists(),
    reason="needs Coq, CoqHammer (libcoq-hammer) and the E prover (eprover)",
)


def test_the_reconstruction_is_read_from_hammers_notices():
    one_line = ("Eprover (nbayes-32) succeeded", "Replace the hammer tactic with: sfirstorder ")
    two_lines = ("Reconstructing the proof...", "Replace the hammer tactic with:\n\tstrivial use: in_app_iff.")
    assert hammer_reconstruction(one_line) == "sfirstorder"
    assert hammer_reconstruction(two_lines) == "strivial use: in_app_iff"
    assert hammer_reconstruction(("Replace the hammer tactic with: srun eauto use: find_2 unfold: find, t.",)) == "srun (eauto) use: find_2 unfold: find, t"
    assert hammer_reconstruction(("Replace the hammer tactic with: srun (eauto) use: mem_4.",)) == "srun (eauto) use: mem_4"
    assert hammer_reconstruction(("Replace the hammer tactic with: srun eauto",)) == "srun (eauto)"
    assert hammer_reconstruction(("Hammer failed: ATPs failed to find a proof.",)) is None
    assert hammer_reconstruction(()) is None


def test_hammer_is_the_last_portfolio_tactic_and_runs_at_the_root_only():
    assert coq_portfolio(True)[-1] == HAMMER_CALL and HAMMER_CALL not in coq_portfolio(False)
    assert root_only("hammer") and root_only(" hammer. ") and not root_only("sauto") and not root_only("intros; hammer")
    assert is_hammer_call(("hammer.",)) and not is_hammer_call(("intros.", "hammer."))
    assert any("Require Import Hammer" in s for s in nesy_imports(True, True))
    assert load_backend("coq").root_only("hammer") and not load_backend("coq").root_only("lia")


@needs_hammer
def test_hammer_proves_a_lemma_and_the_proof_records_its_reconstruction():
    """``hammer`` finds the premise (in_app_iff) with the E prover; the proof is the reconstruction
    tactic hammer reports, not ``hammer`` (the check replays it without ATPs) and it passes the
    kernel check. As a root closer of best-first search it proves what the generator cannot."""
    coq = load_backend("coq")
    thm = coq.prepare(Theorem("in_right", "Lemma in_right (l1 l2 : list nat) x : In x l1 -> In x (l2 ++ l1).",
                              "Require Import List Arith."), hammer=True)
    assert "From Hammer Require Import Hammer." in thm.prelude and HAMMER_SETTINGS in thm.prelude
    # The ATPs stop at a wall-clock limit, and on a loaded CI machine (a trace running beside the
    # suite) E found the proof in the first call and not in the second within the default 8 s.
    # This test is about what nesy does with hammer's answer, so it gives the ATPs room.
    thm = dataclasses.replace(thm, prelude=thm.prelude.replace(HAMMER_SETTINGS, hammer_settings(40)))
    with get_backend("coq")(thm, EnvConfig(tactic_timeout_s=90.0)) as (env, s0):  # room for a loaded CI machine
        done = env.run_tac(s0, "hammer")
        assert isinstance(done, ProofFinished), done
        proof = env.proof_of(done)
        assert len(proof) == 1 and proof[0] != "hammer" and "in_app_iff" in proof[0], proof
        from tests.provers.test_search_best_first import TableGenerator

        useless = TableGenerator([(None, [("idtac", -0.1)])])
        r = best_first_search(env, s0, useless, SearchBudget(time_s=120, num_candidates=1), root_closers=("hammer",))
    assert r.status is SearchStatus.PROVED and r.proof == tuple(proof), (r.status, r.stop_reason, r.message, r.proof)
    verdict = coq.check(thm, proof)
    assert verdict.ok, verdict.message


@needs_hammer
def test_hammer_failing_is_an_ordinary_tactic_error():
    thm = load_backend("coq").prepare(Theorem("false_eq", "Lemma false_eq (n : nat) : n = S n.", "Require Import Arith."), hammer=True)
    with get_backend("coq")(thm, EnvConfig(tactic_timeout_s=5.0)) as (env, s0):
        result = env.run_tac(s0, "hammer")
        # the ATPs find nothing ("Hammer failed: ...") or, on a loaded machine, hammer's own
        # timeout stops it, not the 5 s tactic timeout; either way the environment goes on from s0
        assert isinstance(result, TacticError), result
        assert "hammer" in result.message.lower() or result.message == f"timeout: tactic ran over {HAMMER_TACTIC_TIMEOUT_S:g}s"
        assert not isinstance(env.run_tac(s0, "intros"), TacticError)


class _Notices:
    def __init__(self, *notices):
        self.notices = notices


@pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")
def test_the_reported_reconstruction_replaces_hammer_or_the_call_fails():
    """What run_tac does after a successful hammer, without the ATPs: the reported tactic runs on
    the state in its place; one that does not parse or replay, or none reported, is a failure."""
    thm = Theorem("plus_0", "Lemma plus_0 (n : nat) : n + 0 = n.", "Require Import Arith Lia.")
    with get_backend("coq")(thm, EnvConfig(tactic_timeout_s=5.0)) as (env, s0):
        done = env._replay_reconstruction(s0, [_Notices("Reconstructing the proof..."), _Notices("Replace the hammer tactic with:\n\tlia.")])
        assert isinstance(done, ProofFinished) and env.proof_of(done) == ["lia"]
        bad = env._replay_reconstruction(s0, [_Notices("Replace the hammer tactic with: hauto use: no_such_lemma.")])
        assert isinstance(bad, TacticError) and "does not replay" in bad.message
        wrong = env._replay_reconstruction(s0, [_Notices("Replace the hammer tactic with: exact I.")])
        assert isinstance(wrong, TacticError) and "does not replay" in wrong.message
        hostile = env._replay_reconstruction(s0, [_Notices("Replace the hammer tactic with: admit.")])
        assert isinstance(hostile, ProofGivenUp)  # vetted like any tactic: never a proof
        none = env._replay_reconstruction(s0, [_Notices("Eprover found")])
        assert isinstance(none, TacticError) and "no reconstruction" in none.message
        assert isinstance(env.run_tac(s0, "lia"), ProofFinished)  # the environment goes on


@needs_hammer
def test_an_srun_reconstruction_replays_with_its_tactic_in_brackets():
    """CoqHammer prints ``srun eauto use: X``, which its own grammar rejects; nesy replays
    ``srun (eauto) use: X`` and the kernel check accepts it."""
    coq = load_backend("coq")
    thm = coq.prepare(Theorem("rev_rev", "Lemma rev_rev (l : list nat) : rev (rev l) = l.", "Require Import List."), hammer=True)
    with get_backend("coq")(thm, EnvConfig(tactic_timeout_s=10.0)) as (env, s0):
        done = env._replay_reconstruction(s0, [_Notices("Replace the hammer tactic with:\n\tsrun eauto use: rev_involutive.")])
        assert isinstance(done, ProofFinished), done
        proof = env.proof_of(done)
    assert proof == ["srun (eauto) use: rev_involutive"]
    assert coq.check(thm, proof).ok
