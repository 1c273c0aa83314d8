"""Best-first proof search and whole-proof sampling over any :class:`provers.protocol.ProofEnv`.

Best-first search (as in ReProver/GPT-f): the frontier is ordered by the cumulative
log-probability of the tactics on the path to each node. Each expansion asks the generator for k
tactics for the best open node, runs all of them, and adds the results to the
:class:`~provers.search.tree.SearchTree`; the search stops at the first finished proof, when no
open node is left, or when a budget runs out. The status is decided once, at the end: a proof
found is PROVED even if the budget ran out in the same step.

Whole-proof sampling (the pass@k regime of DeepSeek-Prover and "Large Language Monkeys") asks the
same generator for complete proof scripts on the initial state and runs each as one tactic.

Both functions keep all per-theorem state in local objects; the caller owns the environment.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Sequence

from provers.errors import EnvError
from provers.generators.base import TacticGenerator
from provers.protocol import ProofEnv, ProofFinished, TacticState
from provers.search.result import SampleResult, SearchBudget, SearchResult, SearchStatus, StopReason
from provers.search.tree import EdgeOutcome, NodeStatus, SearchTree

Clock = Callable[[], float]


class _Timers:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.start = clock()
        self.model = 0.0
        self.env = 0.0

    def elapsed(self) -> float:
        return self.clock() - self.start


def best_first_search(
    env: ProofEnv,
    initial: TacticState,
    generator: TacticGenerator,
    budget: SearchBudget,
    *,
    clock: Clock = time.monotonic,
    tree: SearchTree | None = None,
    closers: Sequence[str] = (),
    root_closers: Sequence[str] = (),
) -> SearchResult:
    """Search for a proof of ``env``'s theorem from ``initial`` (see the module doc).

    ``closers`` (the automation portfolio, say) are tried on every node as it is expanded, before
    the generator's k proposals and not counted among them: a closer that finishes the proof is
    an edge of the tree; one that fails or leaves goals is dropped (it only costs time). So the
    search proves at least what the closers prove on the initial state within the same budget.
    ``root_closers`` (closers too slow for every node: CoqHammer's ``hammer``) run after them on
    the initial state only.

    When no open node is left and ``budget.widen`` allows, the search widens instead of stopping:
    the unfinished expanded nodes are reopened and expanded again with twice the k, running only
    tactics not yet tried on them (closers run once per node). Until the first exhaustion the
    search is exactly the unwidened one, so widening never loses a proof it would have found.

    Raises only what the generator raises (:class:`~provers.generators.base.GeneratorError`:
    the caller decides whether that is the theorem's error row or the job's end). Prover crashes
    are contained: the edge is recorded as CRASH and the search goes on, up to
    ``budget.max_env_errors`` in a row. Pass ``tree`` to inspect it afterwards.
    """
    tree = tree if tree is not None else SearchTree(initial)
    timers = _Timers(clock)
    counter = itertools.count()  # ties broken by discovery order: deterministic
    frontier: list[tuple[float, int, int]] = [(-0.0, next(counter), 0)]
    expansions = tactics_run = tactic_errors = crashes = consecutive_crashes = 0
    finished: ProofFinished | None = None
    stop = StopReason.EXHAUSTED
    message = ""

    k = budget.num_candidates
    widenings = 0
    closed: set[int] = set()  # nodes the closers already ran on

    while finished is None:
        if not frontier:
            # Exhausted: every node expanded with k candidates. Widen (double k) if allowed.
            if widenings >= budget.widen:
                break
            if timers.elapsed() >= budget.time_s or expansions >= budget.max_expansions:
                stop = StopReason.TIME if timers.elapsed() >= budget.time_s else StopReason.EXPANSIONS
                break
            reopened = _reopen(tree, budget.max_depth)
            if not reopened:
                break
            widenings += 1
            k *= 2
            for i in reopened:
                heapq.heappush(frontier, (-tree.nodes[i].cumulative_logprob, next(counter), i))
            continue
        if timers.elapsed() >= budget.time_s:
            stop = StopReason.TIME
            break
        if expansions >= budget.max_expansions:
            stop = StopReason.EXPANSIONS
            break
        _, _, index = heapq.heappop(frontier)
        node = tree.nodes[index]
        if node.expanded or node.status is not NodeStatus.OPEN or node.depth >= budget.max_depth:
            continue
        # a reopened node runs only new tactics; a generator's proposal equal to a closer is not rerun
        tried = {tree.edges[e].tactic for e in node.out_edges} | set(closers) | set(root_closers)
        here = () if index in closed else (*closers, *root_closers) if index == 0 else closers
        for tactic in here:
            if timers.elapsed() >= budget.time_s:
                break
            t0 = clock()
            try:
                result = env.run_tac(node.state, tactic)
            except EnvError as exc:
                timers.env += clock() - t0
                crashes += 1
                consecutive_crashes += 1
                if consecutive_crashes >= budget.max_env_errors:
                    message = f"prover failed {consecutive_crashes} times in a row; last: {exc}"
                    break
                continue
            timers.env += clock() - t0
            tactics_run += 1
            consecutive_crashes = 0
            if isinstance(result, ProofFinished):
                tree.add_result(index, tactic, 0.0, result)
                finished = result
                break
            tactic_errors += not isinstance(result, TacticState)
        closed.add(index)
        if finished is not None or message:
            if message:
                stop = StopReason.ENV_ERRORS
            break
        if timers.elapsed() >= budget.time_s:
            stop = StopReason.TIME
            break
        t0 = clock()
        try:
            candidates = generator.generate(node.state, k)
        finally:
            timers.model += clock() - t0
        expansions += 1
        for tactic, logprob in candidates:
            if tactic in tried:
                continue
            tried.add(tactic)
            if timers.elapsed() >= budget.time_s:
                break
            t0 = clock()
            try:
                result = env.run_tac(node.state, tactic)
            except EnvError as exc:
                timers.env += clock() - t0
                crashes += 1
                consecutive_crashes += 1
                tree.add_result(index, tactic, logprob, EdgeOutcome.CRASH, str(exc)[:200])
                if consecutive_crashes >= budget.max_env_errors:
                    message = f"prover failed {consecutive_crashes} times in a row; last: {exc}"
                    break
                continue
            timers.env += clock() - t0
            tactics_run += 1
            consecutive_crashes = 0
            edge = tree.add_result(index, tactic, logprob, result)
            if edge.outcome in (EdgeOutcome.ERROR, EdgeOutcome.TIMEOUT, EdgeOutcome.GIVEN_UP):
                tactic_errors += 1
            if isinstance(result, ProofFinished):
                finished = result
                break
            if edge.outcome is EdgeOutcome.STATE and edge.dst == len(tree.nodes) - 1:
                child = tree.nodes[edge.dst]
                heapq.heappush(frontier, (-child.cumulative_logprob, next(counter), child.index))
        else:
            tree.mark_expanded(index)
        if message:
            stop = StopReason.ENV_ERRORS
            break

    if finished is not None:
        stop = StopReason.PROOF_FOUND
    proof = tuple(env.proof_of(finished)) if finished is not None else None
    if proof is not None:
        status = SearchStatus.PROVED
    elif tree.root.status is NodeStatus.FAILED:
        status = SearchStatus.FAILED
    else:
        status = SearchStatus.OPEN
    counts = tree.counts()
    return SearchResult(
        theorem=env.theorem.name,
        status=status,
        stop_reason=stop,
        proof=proof,
        budget=budget,
        nodes_total=counts["nodes"],
        nodes_expanded=counts["expanded"],
        tactics_run=tactics_run,
        tactic_errors=tactic_errors,
        env_crashes=crashes,
        model_s=timers.model,
        env_s=timers.env,
        wall_s=timers.elapsed(),
        message=message,
        widenings=widenings,
    )


def _reopen(tree: SearchTree, max_depth: int) -> list[int]:
    """Reopen every expanded, unfinished node below ``max_depth`` for a wider expansion."""
    out = []
    for node in tree.nodes:
        if node.expanded and not node.is_terminal and node.depth < max_depth:
            tree.reopen(node.index)
            out.append(node.index)
    return out


def sample_proofs(
    env: ProofEnv,
    initial: TacticState,
    generator: TacticGenerator,
    budget: SearchBudget,
    samples: int,
    *,
    stop_at_first: bool = False,
    clock: Clock = time.monotonic,
) -> SampleResult:
    """Draw up to ``samples`` whole proofs from ``generator`` on ``initial`` and run each.

    Draws come in batches of ``budget.num_candidates``. A deterministic generator (beam search,
    the portfolio) is asked once for all ``samples``: asking again would give the same list.
    ``successes`` lists, in draw order, whether each draw finished the proof.
    """
    timers = _Timers(clock)
    successes: list[bool] = []
    proof_index: list[int] = []
    proofs: list[str] = []
    outcome_of: dict[str, int] = {}  # candidate text -> proof index or -1 (run once, counted per draw)
    tactics_run = crashes = consecutive = 0
    stop = StopReason.SAMPLES
    message = ""
    while len(successes) < samples:
        if timers.elapsed() >= budget.time_s:
            stop = StopReason.TIME
            break
        want = samples if generator.deterministic else min(budget.num_candidates, samples - len(successes))
        t0 = clock()
        try:
            batch = generator.generate(initial, want)
        finally:
            timers.model += clock() - t0
        for script, _ in batch:
            if timers.elapsed() >= budget.time_s:
                stop = StopReason.TIME
                break
            if script not in outcome_of:
                t0 = clock()
                try:
                    result = env.run_tac(initial, script)
                    consecutive = 0
                except EnvError as exc:
                    crashes += 1
                    consecutive += 1
                    result = None
                    message = str(exc)[:200]
                finally:
                    timers.env += clock() - t0
                tactics_run += 1
                if isinstance(result, ProofFinished):
                    outcome_of[script] = len(proofs)
                    proofs.append("\n".join(env.proof_of(result)))
                else:
                    outcome_of[script] = -1
            idx = outcome_of[script]
            successes.append(idx >= 0)
            proof_index.append(idx)
            if consecutive >= budget.max_env_errors:
                stop = StopReason.ENV_ERRORS
                break
            if stop_at_first and idx >= 0:
                break
        if stop is not StopReason.SAMPLES or (stop_at_first and proofs) or generator.deterministic or not batch:
            break
    return SampleResult(
        theorem=env.theorem.name,
        stop_reason=stop,
        successes=tuple(successes),
        proof_of_sample=tuple(proof_index),
        proofs=tuple(proofs),
        budget=budget,
        tactics_run=tactics_run,
        env_crashes=crashes,
        model_s=timers.model,
        env_s=timers.env,
        wall_s=timers.elapsed(),
        message=message,
    )
