"""Proof search: the tree (:mod:`~provers.search.tree`), best-first search and whole-proof
sampling (:mod:`~provers.search.best_first`), closers tried in turn on one state
(:mod:`~provers.search.closers`), and their frozen results (:mod:`~provers.search.result`)."""

from provers.search.best_first import best_first_search, sample_proofs  # noqa: F401
from provers.search.closers import Attempt, ClosersResult, try_closers  # noqa: F401
from provers.search.result import SampleResult, SearchBudget, SearchResult, SearchStatus, StopReason  # noqa: F401
from provers.search.tree import EdgeOutcome, NodeStatus, SearchTree, TreeInvariantError  # noqa: F401
