"""The Coq environment against a real coqidetop: states, branches, timeouts, crashes, bad input."""

import os
import signal
import shutil
import time

import pytest

from provers import EnvConfig, ErrorKind, ProofFinished, ProofGivenUp, TacticError, TacticState, Theorem, get_backend
from provers.errors import EnvCrashError, EnvInitError

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None, reason="Coq (coqidetop) is not installed")

CONJ = Theorem("conj_thm", "Theorem conj_thm (n : nat) (H : n > 0) : n + 0 = n /\\ True.", "Require Import Arith Lia.")
PLUS0 = Theorem("plus0", "Theorem plus0 (n : nat) : n + 0 = n.", "")


def env_for(thm, timeout=3.0):
    return get_backend("coq")(thm, EnvConfig(tactic_timeout_s=timeout))


def test_initial_state_is_structured():
    with env_for(CONJ) as (env, s0):
        assert isinstance(s0, TacticState)
        (goal,) = s0.goals
        assert [h.names for h in goal.hypotheses] == [("n",), ("H",)]
        assert goal.hypotheses[1].type == "n > 0"
        assert goal.conclusion == "n + 0 = n /\\ True"
        assert "H : n > 0" in s0.pp and s0.pp.endswith("n + 0 = n /\\ True")


def test_proof_with_bullets_and_several_sentences():
    with env_for(CONJ) as (env, s0):
        s1 = env.run_tac(s0, "split.")
        assert isinstance(s1, TacticState) and len(s1.goals) == 2
        s2 = env.run_tac(s1, "- lia.")
        assert isinstance(s2, TacticState) and s2.goals == () and len(s2.unfocused) == 1
        done = env.run_tac(s2, "- exact I.")
        assert isinstance(done, ProofFinished)
        assert env.proof_of(done) == ["split.", "- lia.", "- exact I."]
        assert isinstance(env.run_tac(s0, "split. - lia. - exact I."), ProofFinished)


def test_equal_goals_compare_equal_whatever_the_id():
    with env_for(CONJ) as (env, s0):
        a = env.run_tac(s0, "idtac.")
        b = env.run_tac(s0, "cbv beta.")
        assert isinstance(a, TacticState) and isinstance(b, TacticState)
        assert a.id != b.id and a == b == s0 and hash(a) == hash(s0)
        c = env.run_tac(s0, "split.")
        assert c != s0


def test_errors_leave_the_state_usable():
    with env_for(CONJ) as (env, s0):
        err = env.run_tac(s0, "apply no_such_lemma.")
        assert isinstance(err, TacticError) and err.kind is ErrorKind.FAILED and "no_such_lemma" in err.message
        parse = env.run_tac(s0, "split (.")
        assert isinstance(parse, TacticError)
        assert isinstance(env.run_tac(s0, "split; [lia | exact I]."), ProofFinished)


def test_run_tac_on_any_earlier_state_switches_branches():
    with env_for(CONJ) as (env, s0):
        left = env.run_tac(s0, "split.")
        right = env.run_tac(s0, "constructor.")  # another branch from the root
        deeper = env.run_tac(left, "2: exact I.")  # back to the first branch: replay
        assert isinstance(deeper, TacticState) and len(deeper.goals) == 1
        assert isinstance(env.run_tac(right, "1: lia. exact I."), ProofFinished)
        assert isinstance(env.run_tac(deeper, "lia."), ProofFinished)
        assert env.replayed_sentences >= 1


def test_refused_and_given_up_never_reach_coq():
    with env_for(CONJ) as (env, s0):
        for tactic in ("Admitted.", "split. Qed.", "Axiom a : False.", "Require Import Classical."):
            r = env.run_tac(s0, tactic)
            assert isinstance(r, TacticError) and r.kind is ErrorKind.REFUSED
        assert isinstance(env.run_tac(s0, "split; admit."), ProofGivenUp)
        assert isinstance(env.run_tac(s0, "give_up."), ProofGivenUp)
        assert isinstance(env.run_tac(s0, "split; [lia | exact I]."), ProofFinished)


def test_looping_tactic_is_cut_and_session_survives():
    with env_for(PLUS0, timeout=1.0) as (env, s0):
        t = time.monotonic()
        r = env.run_tac(s0, "repeat rewrite plus_n_O.")
        assert isinstance(r, TacticError) and r.kind is ErrorKind.TIMEOUT
        assert time.monotonic() - t < 8
        r2 = env.run_tac(s0, "let rec loop x := loop x in loop 0.")
        assert isinstance(r2, TacticError) and r2.kind is ErrorKind.TIMEOUT
        assert isinstance(env.run_tac(s0, "induction n; simpl; auto."), ProofFinished)
        assert env.restarts == 0


def test_killed_process_gives_crash_error_then_recovers():
    with env_for(PLUS0) as (env, s0):
        s1 = env.run_tac(s0, "induction n.")
        pid = env.pid
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
        with pytest.raises(EnvCrashError):
            env.run_tac(s1, "reflexivity.")
        assert env.pid != pid and env.restarts == 1
        # states handed out before the crash are still valid (replayed)
        s2 = env.run_tac(s1, "- reflexivity.")
        assert isinstance(s2, TacticState)
        assert isinstance(env.run_tac(s2, "- simpl. rewrite IHn. reflexivity."), ProofFinished)
    # and a fresh environment works
    with env_for(PLUS0) as (env, s0):
        assert isinstance(env.run_tac(s0, "induction n; simpl; auto."), ProofFinished)


def test_context_manager_kills_the_process():
    with env_for(PLUS0) as (env, _):
        pid = env.pid
    time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize(
    "thm,fragment",
    [
        (Theorem("bad", "Theorem bad : forall x, x = undefined_thing.", ""), "undefined_thing"),
        (Theorem("bad", "Theorem bad : True.", "Require Import NoSuchLibrary."), "NoSuchLibrary"),
        (Theorem("bad", "Theorem bad : True.", "(* unterminated"), "unterminated comment"),
        (Theorem("bad", "Definition bad := 1.", ""), "No proof-editing in progress"),
    ],
)
def test_init_failures_are_clean(thm, fragment):
    with pytest.raises(EnvInitError, match=fragment):
        with env_for(thm):
            pass


def test_state_from_another_env_is_rejected():
    with env_for(PLUS0) as (env, s0):
        with pytest.raises(ValueError):
            env.run_tac(TacticState("x", 999), "auto.")


def test_prover_writes_nothing_into_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with env_for(CONJ) as (env, s0):
        assert isinstance(env.run_tac(s0, "split; [nia | exact I]."), ProofFinished)
    assert list(tmp_path.iterdir()) == []  # lia/nia caches went to the process's private directory
