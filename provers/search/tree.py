"""The search tree of a proof search, as plain data.

Nodes are proof states, edges are tactics tried. Equal goal states merge (``TacticState``
compares by its pretty-printed goals only), so the "tree" is a directed acyclic graph: a tactic
that leads back to an ancestor (or to the same state) is recorded as a dead edge, never as a
cycle. Statuses propagate upwards as results arrive:

* a node is PROVED when it is a finished proof or any child is PROVED;
* a node is FAILED when it has been expanded and every edge out of it is dead (an error, a
  timeout, a cycle) or leads to a FAILED child;
* otherwise it is OPEN.

The tree never talks to a prover or a model: :mod:`provers.search.best_first` drives it.
``check_invariants()`` re-derives every status and link from scratch; tests call it after each
step.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from provers.protocol import ErrorKind, ProofFinished, ProofGivenUp, TacticError, TacticState


class NodeStatus(enum.Enum):
    OPEN = "open"
    PROVED = "proved"
    FAILED = "failed"


class EdgeOutcome(enum.Enum):
    """What running the edge's tactic did."""

    STATE = "state"  # a new or merged proof state (``dst`` is set)
    PROOF = "proof"  # finished the proof (``dst`` is the finished node)
    ERROR = "error"  # the prover rejected the tactic
    TIMEOUT = "timeout"  # cut by the per-tactic time limit
    GIVEN_UP = "given_up"  # admit/sorry: never progress
    CYCLE = "cycle"  # led to a state already on a path to this node (or to itself)
    CRASH = "crash"  # the prover process died or hung while running it (it was restarted)


DEAD = frozenset({EdgeOutcome.ERROR, EdgeOutcome.TIMEOUT, EdgeOutcome.GIVEN_UP, EdgeOutcome.CYCLE, EdgeOutcome.CRASH})


@dataclass
class Edge:
    src: int  # index of the node the tactic ran on
    tactic: str
    logprob: float  # the generator's score for this tactic (a log-probability, <= 0 for real ones)
    outcome: EdgeOutcome
    dst: int | None = None  # set iff outcome is STATE or PROOF
    message: str = ""


@dataclass
class Node:
    index: int  # position in ``SearchTree.nodes``; the root is 0
    state: TacticState | ProofFinished
    # Sum of the edge log-probabilities along ``parent_edge``'s chain back to the root: the
    # priority of best-first search. Set once, when the node is first reached (merges keep it).
    cumulative_logprob: float
    depth: int  # number of edges on the ``parent_edge`` chain
    parent_edge: int | None  # index into ``SearchTree.edges``; None only for the root
    status: NodeStatus = NodeStatus.OPEN
    expanded: bool = False  # the generator was asked and every candidate run; never for PROOF nodes
    out_edges: list[int] = field(default_factory=list)  # edge indices, in the order tried
    in_edges: list[int] = field(default_factory=list)  # live edges (STATE/PROOF) that reach this node

    @property
    def is_terminal(self) -> bool:
        return isinstance(self.state, ProofFinished)


class TreeInvariantError(AssertionError):
    """``check_invariants`` found the tree inconsistent (a bug in the search, not in the input)."""


class SearchTree:
    """Nodes and edges of one search, with status propagation and state merging."""

    def __init__(self, root: TacticState) -> None:
        self.nodes: list[Node] = [Node(0, root, 0.0, 0, None)]
        self.edges: list[Edge] = []
        self._by_state: dict[TacticState, int] = {root: 0}  # merge table: goal text -> node index

    @property
    def root(self) -> Node:
        return self.nodes[0]

    # ------------------------------------------------------------------ building

    def add_result(self, src: int, tactic: str, logprob: float, result: object, message: str = "") -> Edge:
        """Record that ``tactic`` ran on node ``src`` and gave ``result``.

        ``result`` is a :data:`provers.protocol.TacticResult` or one of the
        :class:`EdgeOutcome` values for failures (``TIMEOUT``, ``CRASH``, ...). Returns the edge;
        its ``dst`` is the node reached (new or merged) for live outcomes.
        """
        node = self.nodes[src]
        if node.is_terminal:
            raise ValueError("cannot run a tactic on a finished proof")
        edge = Edge(src, tactic, logprob, EdgeOutcome.ERROR, None, message)
        if isinstance(result, ProofFinished):
            edge.outcome = EdgeOutcome.PROOF
            edge.dst = self._new_node(result, node, len(self.edges), logprob)
        elif isinstance(result, TacticState):
            known = self._by_state.get(result)
            if known is None:
                edge.outcome = EdgeOutcome.STATE
                edge.dst = self._new_node(result, node, len(self.edges), logprob)
                self._by_state[result] = edge.dst
            elif self._reaches(known, src):
                edge.outcome = EdgeOutcome.CYCLE
            else:
                edge.outcome = EdgeOutcome.STATE
                edge.dst = known
        elif isinstance(result, EdgeOutcome):
            if result in (EdgeOutcome.STATE, EdgeOutcome.PROOF):
                raise ValueError("STATE/PROOF edges need the state they reached")
            edge.outcome = result
        elif isinstance(result, ProofGivenUp):
            edge.outcome = EdgeOutcome.GIVEN_UP
        elif isinstance(result, TacticError):
            edge.outcome = EdgeOutcome.TIMEOUT if result.kind is ErrorKind.TIMEOUT else EdgeOutcome.ERROR
            edge.message = edge.message or result.message[:200]
        else:
            raise TypeError(f"not a tactic result: {type(result).__name__}")
        index = len(self.edges)
        self.edges.append(edge)
        node.out_edges.append(index)
        if edge.dst is not None:
            self.nodes[edge.dst].in_edges.append(index)
        self._update(src)
        return edge

    def mark_expanded(self, index: int) -> None:
        """All candidates for node ``index`` have been run: it may now become FAILED."""
        node = self.nodes[index]
        if node.is_terminal:
            raise ValueError("a finished proof is never expanded")
        node.expanded = True
        self._update(index)

    def reopen(self, index: int) -> None:
        """Undo ``mark_expanded`` (the search will ask the generator for more candidates here).

        A node that had FAILED (every candidate dead) is OPEN again, and so is every ancestor
        whose failure followed from it; edges already recorded stay.
        """
        node = self.nodes[index]
        if node.is_terminal:
            raise ValueError("a finished proof is never expanded")
        node.expanded = False
        self._update(index)

    def _new_node(self, state: TacticState | ProofFinished, parent: Node, edge_index: int, logprob: float) -> int:
        index = len(self.nodes)
        status = NodeStatus.PROVED if isinstance(state, ProofFinished) else NodeStatus.OPEN
        self.nodes.append(Node(index, state, parent.cumulative_logprob + logprob, parent.depth + 1, edge_index, status))
        return index

    def _reaches(self, start: int, target: int) -> bool:
        """Whether ``target`` is reachable from ``start`` along live edges (``start == target`` too)."""
        stack, seen = [start], set()
        while stack:
            i = stack.pop()
            if i == target:
                return True
            if i in seen:
                continue
            seen.add(i)
            stack.extend(self.edges[e].dst for e in self.nodes[i].out_edges if self.edges[e].dst is not None)
        return False

    def _update(self, index: int) -> None:
        """Recompute ``index``'s status and propagate any change to its parents."""
        stack = [index]
        while stack:
            node = self.nodes[stack.pop()]
            new = self._derived_status(node)
            if new is not node.status:
                node.status = new
                stack.extend(self.edges[e].src for e in node.in_edges)

    def _derived_status(self, node: Node) -> NodeStatus:
        if node.is_terminal:
            return NodeStatus.PROVED
        children = [self.edges[e] for e in node.out_edges]
        if any(e.dst is not None and self.nodes[e.dst].status is NodeStatus.PROVED for e in children):
            return NodeStatus.PROVED
        if node.expanded and all(e.dst is None or self.nodes[e.dst].status is NodeStatus.FAILED for e in children):
            return NodeStatus.FAILED
        return NodeStatus.OPEN

    # ------------------------------------------------------------------ reading

    def proof_tactics(self) -> list[str] | None:
        """Tactics from the root to a finished proof along PROVED nodes, or None if not proved."""
        if self.root.status is not NodeStatus.PROVED:
            return None
        tactics, node, seen = [], self.root, set()
        while not node.is_terminal:
            seen.add(node.index)
            edge = next(
                self.edges[e]
                for e in node.out_edges
                if self.edges[e].dst is not None and self.nodes[self.edges[e].dst].status is NodeStatus.PROVED
                and self.edges[e].dst not in seen
            )
            tactics.append(edge.tactic)
            node = self.nodes[edge.dst]
        return tactics

    def counts(self) -> dict[str, int]:
        return {
            "nodes": len(self.nodes),
            "expanded": sum(n.expanded for n in self.nodes),
            "edges": len(self.edges),
            "dead_edges": sum(e.outcome in DEAD for e in self.edges),
        }

    # ------------------------------------------------------------------ invariants

    def check_invariants(self) -> None:
        """Re-derive every link and status; raise :class:`TreeInvariantError` on the first mismatch."""

        def fail(msg: str) -> None:
            raise TreeInvariantError(msg)

        root = self.root
        if root.parent_edge is not None or root.in_edges or root.cumulative_logprob != 0.0 or root.depth != 0:
            fail("the root has a parent, a non-zero priority or depth")
        seen_states: dict[TacticState, int] = {}
        for i, node in enumerate(self.nodes):
            if node.index != i:
                fail(f"node {i} has index {node.index}")
            if isinstance(node.state, TacticState):
                if node.state in seen_states:
                    fail(f"nodes {seen_states[node.state]} and {i} hold equal states (should have merged)")
                seen_states[node.state] = i
                if self._by_state.get(node.state) != i:
                    fail(f"merge table does not point at node {i}")
            elif node.expanded or node.out_edges:
                fail(f"finished node {i} was expanded")
            if i and node.parent_edge is None:
                fail(f"node {i} has no parent edge")
            if node.parent_edge is not None:
                pe = self.edges[node.parent_edge]
                if pe.dst != i:
                    fail(f"node {i}'s parent edge does not lead to it")
                parent = self.nodes[pe.src]
                if node.depth != parent.depth + 1:
                    fail(f"node {i} depth {node.depth} != parent depth + 1")
                if not math.isclose(node.cumulative_logprob, parent.cumulative_logprob + pe.logprob, abs_tol=1e-9):
                    fail(f"node {i} priority is not its parent's plus its edge's log-probability")
            for e in node.out_edges:
                if self.edges[e].src != i:
                    fail(f"edge {e} listed under node {i} starts elsewhere")
            for e in node.in_edges:
                if self.edges[e].dst != i:
                    fail(f"in-edge {e} of node {i} does not lead to it")
            if node.status is not self._derived_status(node):
                fail(f"node {i} is {node.status.value} but its children say {self._derived_status(node).value}")
        for k, edge in enumerate(self.edges):
            live = edge.outcome in (EdgeOutcome.STATE, EdgeOutcome.PROOF)
            if live != (edge.dst is not None):
                fail(f"edge {k} ({edge.outcome.value}) has dst={edge.dst}")
            if k not in self.nodes[edge.src].out_edges:
                fail(f"edge {k} missing from its source's out-edges")
            if edge.dst is not None and k not in self.nodes[edge.dst].in_edges:
                fail(f"edge {k} missing from its target's in-edges")
            if edge.outcome is EdgeOutcome.PROOF and not self.nodes[edge.dst].is_terminal:
                fail(f"PROOF edge {k} leads to an unfinished node")
        # acyclic: a topological order exists
        indegree = [len(n.in_edges) for n in self.nodes]
        ready = [i for i, d in enumerate(indegree) if d == 0]
        visited = 0
        while ready:
            i = ready.pop()
            visited += 1
            for e in self.nodes[i].out_edges:
                d = self.edges[e].dst
                if d is not None:
                    indegree[d] -= 1
                    if indegree[d] == 0:
                        ready.append(d)
        if visited != len(self.nodes):
            fail("the live edges form a cycle")
