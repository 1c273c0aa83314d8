"""Best-first search and whole-proof sampling against a real Coq process."""

import os
import shutil
import signal

import pytest

from provers import EnvConfig, Theorem, get_backend
from provers.generators.base import GeneratorOutputError, TacticGenerator
from provers.generators.portfolio import PortfolioGenerator
from provers.search import SearchBudget, SearchStatus, SearchTree, StopReason, best_first_search, sample_proofs
from provers.search.tree import EdgeOutcome, NodeStatus
from provers.registry import load_backend

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")

THM = Theorem("two_step", "Theorem two_step (n : nat) : n + 0 = n /\\ (n < 2 -> n * n < 4).", "Require Import Arith Lia.")


class TableGenerator(TacticGenerator):
    """Proposes tactics by looking at the goal text: a deterministic, inspectable generator."""

    name = "table"

    def __init__(self, rules):
        self.rules = rules  # [(substring or None, [(tactic, logprob)])]
        self.calls = 0

    def _generate(self, state, k):
        self.calls += 1
        for needle, cands in self.rules:  # the first rule whose needle is in the goal text
            if needle is None or needle in state.pp:
                return cands[:k]
        return []


def env(thm=THM, timeout=5.0):
    return get_backend("coq")(thm, EnvConfig(tactic_timeout_s=timeout))


def test_finds_multi_step_proof_that_passes_the_kernel_check():
    gen = TableGenerator([("/\\", [("split", -0.1), ("lia", -0.5)]), ("n * n", [("intros", -0.3), ("nia", -0.9)])])
    with env() as (e, s0):
        tree = SearchTree(s0)
        r = best_first_search(e, s0, gen, SearchBudget(time_s=60, num_candidates=4), tree=tree)
        tree.check_invariants()
    assert r.status is SearchStatus.PROVED and r.stop_reason is StopReason.PROOF_FOUND
    assert r.proof[0] == "split" and len(r.proof) >= 3
    assert tree.root.status is NodeStatus.PROVED and tree.proof_tactics() == list(r.proof)
    assert r.model_s > 0 and r.env_s > 0 and r.env_s + r.model_s <= r.wall_s + 1e-6
    assert load_backend("coq").check(THM, list(r.proof)).ok


def test_exhausted_tree_is_failed_and_expansion_budget_leaves_it_open():
    bad = TableGenerator([(None, [("apply no_such_lemma", -0.1), ("exact I", -0.2)])])
    with env() as (e, s0):
        r = best_first_search(e, s0, bad, SearchBudget(time_s=30))
    assert r.status is SearchStatus.FAILED and r.stop_reason is StopReason.EXHAUSTED and r.proof is None
    assert r.tactic_errors == 2 and r.nodes_expanded == 1
    grow = TableGenerator([(None, [("assert (True) by exact I", -0.1)])])  # a new state every time
    with env() as (e, s0):
        r = best_first_search(e, s0, grow, SearchBudget(time_s=30, max_expansions=3))
    assert r.status is SearchStatus.OPEN and r.stop_reason is StopReason.EXPANSIONS and r.nodes_expanded == 3


def test_a_proof_found_as_the_budget_runs_out_is_reported_proved():
    """ReProver resets a found proof to OPEN when the time is up at the same moment: we must not."""
    now = [0.0]
    budget = SearchBudget(time_s=10)

    class SlowEnv:  # the real env, but every tactic "takes" the whole budget on the fake clock
        def __init__(self, inner):
            self.inner, self.theorem = inner, inner.theorem

        def run_tac(self, state, tactic):
            now[0] += 11.0
            return self.inner.run_tac(state, tactic)

        def proof_of(self, state):
            return self.inner.proof_of(state)

    with env() as (e, s0):
        r = best_first_search(SlowEnv(e), s0, TableGenerator([(None, [("split; nia", -0.1)])]), budget, clock=lambda: now[0])
    assert r.wall_s > budget.time_s
    assert r.status is SearchStatus.PROVED and r.proof == ("split; nia",)


def test_prover_crash_is_contained_and_garbage_is_an_error():
    class Killer(TacticGenerator):
        name = "killer"

        def __init__(self, env):
            self.env, self.n = env, 0

        def _generate(self, state, k):
            self.n += 1
            if self.n == 1:
                os.kill(self.env.pid, signal.SIGKILL)  # the prover dies before the first tactic
            return [("intros", -0.1), ("split; nia", -0.2)]

    with env() as (e, s0):
        tree = SearchTree(s0)
        r = best_first_search(e, s0, Killer(e), SearchBudget(time_s=60), tree=tree)
        tree.check_invariants()
    assert r.env_crashes == 1 and any(ed.outcome is EdgeOutcome.CRASH for ed in tree.edges)
    assert r.status is SearchStatus.PROVED

    class Garbage(TacticGenerator):
        name = "garbage"

        def _generate(self, state, k):
            return [("lia", float("nan")), (42, -1.0)]

    with env() as (e, s0), pytest.raises(GeneratorOutputError, match="finite log-probability"):
        best_first_search(e, s0, Garbage(), SearchBudget(time_s=10))


def test_whole_proof_sampling_counts_each_draw():
    gen = PortfolioGenerator(("intros; lia", "split; nia", "split; lia", "auto"))
    with env() as (e, s0):
        r = sample_proofs(e, s0, gen, SearchBudget(time_s=60, num_candidates=2), samples=4)
    assert r.samples == 4 and r.successes == (False, True, False, False)
    assert r.status is SearchStatus.PROVED and r.proofs == ("split; nia",)
    assert r.proof_of_sample == (-1, 0, -1, -1)


def test_closers_are_tried_at_every_expanded_node_besides_the_k_proposals():
    """The generator only rewrites; a closer (lia) finishes the child, not the root. Closers that
    fail are not tree edges; the closing one is, and the proof passes the kernel check."""
    thm = Theorem("app_twice", "Theorem app_twice (l : list nat) : length (l ++ l) = 2 * length l.", "Require Import List Lia.")
    gen = TableGenerator([("++", [("rewrite app_length", -0.1)]), (None, [("idtac", -0.2)])])
    closers = ("apply no_such_lemma", "lia")
    with env(thm) as (e, s0):
        without = best_first_search(e, s0, gen, SearchBudget(time_s=30, num_candidates=1))
        tree = SearchTree(s0)
        r = best_first_search(e, s0, gen, SearchBudget(time_s=60, num_candidates=1), tree=tree, closers=closers)
        tree.check_invariants()
    assert without.status is not SearchStatus.PROVED
    assert r.status is SearchStatus.PROVED and r.proof == ("rewrite app_length", "lia")
    assert not any(edge.tactic == "apply no_such_lemma" for edge in tree.edges)
    assert load_backend("coq").check(thm, list(r.proof)).ok


def test_root_closers_run_on_the_initial_state_only():
    """A root closer (CoqHammer's slow ``hammer``, in a real job) is tried once, on the initial
    state: here lia cannot close the root, and as a root closer it never meets the child it would
    close as an every-node closer."""
    thm = Theorem("app_twice", "Theorem app_twice (l : list nat) : length (l ++ l) = 2 * length l.", "Require Import List Lia.")
    gen = TableGenerator([("++", [("rewrite app_length", -0.1)]), (None, [("idtac", -0.2)])])
    with env(thm) as (e, s0):
        tree = SearchTree(s0)
        r = best_first_search(e, s0, gen, SearchBudget(time_s=30, num_candidates=1), tree=tree, root_closers=("lia",))
    assert r.status is SearchStatus.FAILED and r.stop_reason is StopReason.EXHAUSTED
    assert r.tactics_run == 1 + 1 + 1  # lia at the root, the rewrite, idtac on the child (a repeat: no new node)
    assert [edge.tactic for edge in tree.edges] == ["rewrite app_length", "idtac"]


def test_closers_at_the_root_prove_what_the_portfolio_proves_whatever_the_generator():
    thm = Theorem("root_closed", "Theorem root_closed (x : nat) : x + 1 > x.", "Require Import Arith Lia.")
    useless = TableGenerator([(None, [("idtac", -0.1)])])
    with env(thm) as (e, s0):
        r = best_first_search(e, s0, useless, SearchBudget(time_s=30, num_candidates=8), closers=load_backend("coq").portfolio(False))
    assert r.status is SearchStatus.PROVED and r.nodes_expanded == 0 and len(r.proof) == 1


def test_widening_doubles_k_when_the_frontier_empties_and_runs_only_new_tactics():
    """k = 2 proposes two failing tactics; without widening the search stops there. With
    ``widen=1`` the root is reopened with k = 4: the two failures are not run again, the third
    tactic proves it, and the proof passes the kernel check."""
    thm = Theorem("wide", "Theorem wide (n : nat) : n + 0 = n.", "Require Import Arith Lia.")
    gen = TableGenerator([(None, [("apply no_such_lemma", -0.1), ("exact I", -0.2), ("lia", -0.3), ("auto", -0.4)])])
    with env(thm) as (e, s0):
        narrow = best_first_search(e, s0, gen, SearchBudget(time_s=30, num_candidates=2))
        tree = SearchTree(s0)
        r = best_first_search(e, s0, gen, SearchBudget(time_s=30, num_candidates=2, widen=1), tree=tree)
        tree.check_invariants()
    assert narrow.status is SearchStatus.FAILED and narrow.stop_reason is StopReason.EXHAUSTED and narrow.widenings == 0
    assert r.status is SearchStatus.PROVED and r.proof == ("lia",) and r.widenings == 1
    assert [edge.tactic for edge in tree.edges] == ["apply no_such_lemma", "exact I", "lia"]  # nothing run twice
    assert load_backend("coq").check(thm, list(r.proof)).ok


def test_widening_stops_at_its_limit_and_runs_closers_once_per_node():
    bad = TableGenerator([(None, [("apply no_such_lemma", -0.1), ("exact I", -0.2), ("exact 0", -0.3), ("exact tt", -0.4), ("apply f_equal", -0.5)])])
    with env() as (e, s0):
        tree = SearchTree(s0)
        r = best_first_search(e, s0, bad, SearchBudget(time_s=30, num_candidates=1, widen=2), tree=tree, closers=("apply no_such_closer",))
        tree.check_invariants()
    # k = 1, 2, 4: five distinct tactics offered, four asked for; the closer runs once, not three times
    assert r.status is SearchStatus.FAILED and r.stop_reason is StopReason.EXHAUSTED and r.widenings == 2
    assert r.tactics_run == 1 + 4 and r.nodes_expanded == 1 and bad.calls == 3
    assert tree.root.status is NodeStatus.FAILED
    with pytest.raises(Exception, match="widen"):
        SearchBudget(widen=-1)
