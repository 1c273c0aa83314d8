"""The search tree as plain data: merging, cycles, status propagation, invariants."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provers.protocol import ErrorKind, ProofFinished, TacticError, TacticState
from provers.search.tree import EdgeOutcome, NodeStatus, SearchTree, TreeInvariantError


def S(text, i=0):
    return TacticState(text, i)


def test_merge_cycle_and_propagation():
    t = SearchTree(S("root"))
    a = t.add_result(0, "t1", -1.0, S("A", 1))
    b = t.add_result(0, "t2", -2.0, S("B", 2))
    merged = t.add_result(b.dst, "t3", -0.5, S("A", 3))  # same goals as A, other id: merges
    assert merged.dst == a.dst and len(t.nodes) == 3
    back = t.add_result(a.dst, "t4", -0.1, S("root", 4))  # leads back to an ancestor: dead edge
    assert back.outcome is EdgeOutcome.CYCLE and back.dst is None
    t.check_invariants()
    assert t.nodes[a.dst].cumulative_logprob == -1.0 and t.nodes[a.dst].depth == 1
    t.add_result(a.dst, "bad", -0.3, TacticError("no", ErrorKind.FAILED))
    t.mark_expanded(a.dst)
    assert t.nodes[a.dst].status is NodeStatus.FAILED
    assert t.nodes[b.dst].status is NodeStatus.OPEN  # not expanded yet
    t.mark_expanded(b.dst)
    assert t.nodes[b.dst].status is NodeStatus.FAILED
    t.mark_expanded(0)
    assert t.root.status is NodeStatus.FAILED  # all children failed
    t.check_invariants()


def test_reopening_a_failed_node_reopens_the_ancestors_its_failure_closed():
    t = SearchTree(S("root"))
    a = t.add_result(0, "t1", -1.0, S("A", 1))
    t.add_result(a.dst, "bad", -0.3, TacticError("no", ErrorKind.FAILED))
    t.mark_expanded(a.dst)
    t.mark_expanded(0)
    assert t.root.status is NodeStatus.FAILED
    t.reopen(a.dst)  # a wider expansion will try more tactics there
    assert t.nodes[a.dst].status is NodeStatus.OPEN and not t.nodes[a.dst].expanded
    assert t.root.status is NodeStatus.OPEN and t.root.expanded  # the root is open again through its child
    assert len(t.edges) == 2  # what was tried stays recorded
    t.check_invariants()
    done = t.add_result(a.dst, "lia", -0.2, ProofFinished(2))
    assert t.root.status is NodeStatus.PROVED and t.proof_tactics() == ["t1", "lia"]
    with pytest.raises(ValueError):
        t.reopen(done.dst)


def test_proof_propagates_to_root_and_path_is_read_back():
    t = SearchTree(S("root"))
    a = t.add_result(0, "intros", -0.5, S("A", 1))
    t.add_result(a.dst, "timeout", -0.1, TacticError("t", ErrorKind.TIMEOUT))
    done = t.add_result(a.dst, "lia", -0.2, ProofFinished(2))
    assert done.outcome is EdgeOutcome.PROOF
    assert t.root.status is NodeStatus.PROVED and t.nodes[a.dst].status is NodeStatus.PROVED
    assert t.proof_tactics() == ["intros", "lia"]
    assert t.edges[0].outcome is EdgeOutcome.STATE and t.edges[1].outcome is EdgeOutcome.TIMEOUT
    t.check_invariants()
    with pytest.raises(ValueError):
        t.add_result(done.dst, "x", 0.0, S("C"))


def test_invariant_checker_catches_corruption():
    t = SearchTree(S("root"))
    a = t.add_result(0, "t", -1.0, S("A", 1))
    t.nodes[a.dst].status = NodeStatus.PROVED
    with pytest.raises(TreeInvariantError, match="children say"):
        t.check_invariants()
    t.nodes[a.dst].status = NodeStatus.OPEN
    t.nodes[a.dst].cumulative_logprob = 0.0
    with pytest.raises(TreeInvariantError, match="priority"):
        t.check_invariants()


ops = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from(["state", "error", "proof", "expand"]), st.integers(0, 6), st.floats(-5, 0)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_random_operations_keep_the_invariants(seq):
    t = SearchTree(S("g0"))
    for pick, kind, target, lp in seq:
        open_nodes = [n.index for n in t.nodes if not n.is_terminal]
        src = open_nodes[pick % len(open_nodes)]
        if kind == "expand":
            t.mark_expanded(src)
        elif kind == "error":
            t.add_result(src, f"e{pick}", lp, TacticError("x"))
        elif kind == "proof":
            t.add_result(src, f"p{pick}", lp, ProofFinished(1000 + len(t.nodes)))
        else:
            t.add_result(src, f"s{pick}", lp, S(f"g{target}", len(t.nodes)))
        t.check_invariants()
    if t.root.status is NodeStatus.PROVED:
        assert t.proof_tactics()
