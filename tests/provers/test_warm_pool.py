"""Warm Coq processes (provers.coq.pool) against a real coqidetop: reuse, no leaks, budget, failures."""

import os
import shutil
import signal

import pytest

from provers import EnvConfig, ErrorKind, ProofFinished, TacticError, TacticState, Theorem
from provers.coq import xmlproto
from provers.coq.env import CoqEnv
from provers.coq.files import theorem_from_text
from provers.coq.pool import WarmPool, _shared_sentences
from provers.errors import EnvCrashError, EnvInitError, EnvTimeoutError

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None, reason="Coq (coqidetop) is not installed")

CFG = EnvConfig(tactic_timeout_s=5.0)
BASE = "Require Import Arith."
STATEMENT = "Theorem t (n : nat) : n + 0 = n /\\ True."

# Everything after BASE changes what a theorem sees: libraries, an axiom and a theorem using it,
# a definition, a notation, options, a scope that makes `n + 0` ill-typed on nat, Ltac, hints.
DIRTY = "\n".join([
    BASE,
    "Require Import Lia ZArith.",
    "Axiom cheat : False.",
    "Definition leaked := 1.",
    "Theorem leaked_thm : 1 = 2.",
    "Proof. exact (False_ind _ cheat). Qed.",
    "Notation \"'foo'\" := 0.",
    "Set Implicit Arguments.",
    "Set Default Goal Selector \"all\".",
    "Ltac mytac := exact I.",
    "Hint Resolve cheat : core.",
    "Open Scope Z_scope.",
])

TACTICS = ["lia.", "exact (False_ind _ cheat).", "mytac.", "intros; exfalso; auto.", "split. auto.", "split; [now rewrite Nat.add_0_r | exact I]."]
QUERIES = ["Check leaked.", "Print Assumptions leaked_thm.", "Check foo.", "Test Implicit Arguments.", "Test Default Goal Selector.", "Locate Z.", "Print Libraries."]


def query(env: CoqEnv, text: str) -> tuple[bool, str]:
    """Run a read-only command at the environment's current state (test-only use of its process)."""
    ans = env._proc.call(xmlproto.call_query(text, env._live[-1][1]), 10)
    return ans.good, (" | ".join(ans.notices) if ans.good else ans.error)


def observe(env: CoqEnv, s0: TacticState) -> dict:
    """What a theorem sees: its initial state, what each tactic does, what each query answers."""
    out = {"pp": s0.pp}
    for tac in TACTICS:
        r = env.run_tac(s0, tac)
        out[tac] = (type(r).__name__, r.pp if isinstance(r, TacticState) else getattr(r, "message", ""))
    for q in QUERIES:
        out[q] = query(env, q)
    return out


def test_same_header_reuses_the_process_and_starts_where_a_fresh_one_would():
    thm = Theorem("t", STATEMENT, BASE)
    with WarmPool() as pool:
        with CoqEnv(thm, CFG, pool=pool) as (env, s0):
            assert env.warm_start == "fresh"
            pid = env.pid
            first = observe(env, s0)
        assert [h for h, _ in pool.idle()] == [BASE]
        with CoqEnv(thm, CFG, pool=pool) as (env, s0):
            assert env.warm_start == "warm" and env.pid == pid
            again = observe(env, s0)
        assert pool.stats.fresh == 1 and pool.stats.warm == 1
    assert again == first
    with CoqEnv(thm, CFG) as (env, s0):  # cold: no pool
        assert env.warm_start == "cold"
        assert observe(env, s0) == first
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # closing the pool closed its processes


def test_nothing_added_after_the_shared_header_leaks_into_the_next_theorem():
    with WarmPool() as pool:
        with CoqEnv(Theorem("dirty", "Theorem dirty : True.", DIRTY), CFG, pool=pool) as (env, s0):
            pid = env.pid
            assert query(env, "Test Implicit Arguments.")[1].endswith("on")  # the header took effect
            assert query(env, "Check leaked.")[0]
        with CoqEnv(Theorem("t", STATEMENT, BASE), CFG, pool=pool) as (env, s0):
            assert env.warm_start == "prefix" and env.pid == pid
            warm = observe(env, s0)
    with CoqEnv(Theorem("t", STATEMENT, BASE), CFG) as (env, s0):
        cold = observe(env, s0)
    assert warm == cold
    # and the observations do tell the difference: on the dirty header they change
    assert not cold["Check leaked."][0] and not cold["Print Assumptions leaked_thm."][0]
    assert cold["lia."][0] == "TacticError" and cold["mytac."][0] == "TacticError"
    assert cold["split; [now rewrite Nat.add_0_r | exact I]."][0] == "ProofFinished"


FILE = """Require Import Arith.

Theorem first (n : nat) : n + 0 = n.
Proof. now rewrite Nat.add_0_r. Qed.

Definition double n := n + n.

Lemma second (n : nat) : double n = 2 * n.
Proof. unfold double. lia. Qed.
"""


def test_in_file_states_are_reused_and_later_names_are_absent():
    text = FILE.replace("Require Import Arith.", "Require Import Arith Lia.")
    thms = [theorem_from_text(text, "f.v", name) for name in ("first", "second")]
    third = Theorem("third", "Theorem third : second = second.", text)  # after the whole file
    with WarmPool() as pool:
        with CoqEnv(third, CFG, pool=pool) as (env, s0):
            pid = env.pid
            assert isinstance(env.run_tac(s0, "reflexivity."), ProofFinished)
        seen = {}
        for thm in reversed(thms):  # going back in the file: one Edit_at each
            with CoqEnv(thm, CFG, pool=pool) as (env, s0):
                assert env.warm_start == "prefix" and env.pid == pid
                seen[thm.name] = (s0.pp, [query(env, q)[0] for q in ("Check second.", "Check double.", "Check first.")])
        assert pool.stats.fresh == 1 and pool.stats.prefix == 2
    for thm in thms:
        with CoqEnv(thm, CFG) as (env, s0):
            assert seen[thm.name] == (s0.pp, [query(env, q)[0] for q in ("Check second.", "Check double.", "Check first.")])
    assert seen["first"][1] == [False, False, False] and seen["second"][1] == [False, True, True]


def test_shared_sentences_cut_at_sentence_ends_only():
    loaded = "Require Import Reals.\nOpen Scope R_scope."
    ends = [len("Require Import Reals."), len(loaded)]
    assert _shared_sentences(loaded, ends, loaded) == 2
    assert _shared_sentences(loaded, ends, "Require Import Reals.\nOpen Scope nat_scope.") == 1
    assert _shared_sentences(loaded, ends, "Require Import Reals.Rbase.") == 0  # same text, another sentence
    assert _shared_sentences(loaded, ends, "Require Import Reals.") == 1
    assert _shared_sentences(loaded, ends, loaded + "\nRequire Import Lra.") == 2
    assert _shared_sentences(loaded, ends, "Require Import Arith.") == 0


def test_a_tiny_budget_evicts_the_least_recently_used():
    a = Theorem("a", "Theorem a : 1 + 1 = 2.", "Definition x := 1.")
    b = Theorem("b", "Theorem b : 2 + 2 = 4.", "Definition y := 2.")
    with WarmPool(budget_mib=0) as pool:
        with CoqEnv(a, CFG, pool=pool) as (env, _):
            pid = env.pid
        assert pool.idle() == [] and pool.stats.evicted == 1
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with WarmPool() as pool:
        with CoqEnv(a, CFG, pool=pool) as (env, _):
            pid_a = env.pid
        (_, rss), = pool.idle()
        assert rss > 10 << 20  # a coqidetop is tens of MiB
        pool.budget_bytes = int(1.5 * rss)  # room for one such process, not two
        with CoqEnv(b, CFG, pool=pool) as (env, _):
            assert env.warm_start == "fresh"
            pid_b = env.pid
        assert [h for h, _ in pool.idle()] == [b.header] and pool.stats.evicted == 1
        assert pool.idle_bytes() <= pool.budget_bytes
        with pytest.raises(ProcessLookupError):
            os.kill(pid_a, 0)
        os.kill(pid_b, 0)


def test_a_crashed_process_leaves_the_pool():
    thm = Theorem("t", STATEMENT, BASE)
    with WarmPool() as pool:
        with CoqEnv(thm, CFG, pool=pool) as (env, s0):
            dead = env.pid
            os.kill(dead, signal.SIGKILL)
            with pytest.raises(EnvCrashError):
                env.run_tac(s0, "split.")
            assert env.pid != dead  # restarted on a fresh process
            assert isinstance(env.run_tac(s0, "split."), TacticState)
        assert pool.stats.fresh == 2 and len(pool.idle()) == 1
        with CoqEnv(thm, CFG, pool=pool) as (env, _):
            assert env.warm_start == "warm" and env.pid != dead


def test_a_header_that_fails_keeps_the_good_prefix_and_bad_statements_are_init_errors():
    with WarmPool() as pool:
        with pytest.raises(EnvInitError, match="header"):
            with CoqEnv(Theorem("t", STATEMENT, BASE + "\nRequire Import NoSuchLibrary."), CFG, pool=pool):
                pass
        assert pool.stats.header_failures == 1 and [h for h, _ in pool.idle()] == [BASE]
        with pytest.raises(EnvInitError, match="statement"):
            with CoqEnv(Theorem("bad", "Theorem bad : n + 0 = n.", BASE), CFG, pool=pool):
                pass
        with CoqEnv(Theorem("t", STATEMENT, BASE), CFG, pool=pool) as (env, s0):
            assert env.warm_start == "warm"
            assert isinstance(env.run_tac(s0, "exact I."), TacticError)
            assert isinstance(env.run_tac(s0, "split."), TacticState)
        with pytest.raises(EnvInitError, match="header"):
            with CoqEnv(Theorem("t", STATEMENT, "Require Import NoSuchLibrary."), CFG, pool=pool):
                pass
        assert pool.stats.fresh == 2  # the second failure started a process and killed it
        assert [h for h, _ in pool.idle()] == [BASE]
    with pytest.raises(ValueError, match="budget"):
        WarmPool(budget_mib=-1)


def test_a_recovered_timeout_keeps_the_process_but_a_hung_one_leaves():
    thm = Theorem("t", STATEMENT, BASE)
    cfg = EnvConfig(tactic_timeout_s=1.0)
    with WarmPool() as pool:
        with CoqEnv(thm, cfg, pool=pool) as (env, s0):
            pid = env.pid
            r = env.run_tac(s0, "let rec loop x := loop x in loop 0.")
            assert isinstance(r, TacticError) and r.kind is ErrorKind.TIMEOUT and env.restarts == 0
        with CoqEnv(thm, cfg, pool=pool) as (env, s0):
            assert env.warm_start == "warm" and env.pid == pid  # interrupted and answered: still good
            assert isinstance(env.run_tac(s0, "split; [now rewrite Nat.add_0_r | exact I]."), ProofFinished)
            os.kill(pid, signal.SIGSTOP)  # now it cannot answer the interrupt: killed after the grace period
            with pytest.raises(EnvTimeoutError):
                env.run_tac(s0, "split.")
            assert env.pid != pid and env.restarts == 1
        assert all(p != pid for p in _idle_pids(pool)) and len(pool.idle()) == 1
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _idle_pids(pool: WarmPool) -> list[int]:
    return [lease.proc.pid for lease in pool._idle]


def test_lemma_tracing_on_the_warm_pool_gives_the_pairs_of_cold_tracing():
    from provers.generators.training import collect_pairs, synthetic_lemmas, trace_theorem

    lemmas = synthetic_lemmas(4, seed=3)
    cold = []
    for lemma in lemmas:
        cold += [p for p in trace_theorem(lemma) if p not in cold]
    assert cold and collect_pairs(lemmas, workers=2) == cold
