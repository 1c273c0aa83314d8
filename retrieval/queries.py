"""Retrieval queries from traced theorems: one per tactic, with the premises it used as answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retrieval.corpus import PremiseCorpus
from retrieval.dataset import Pos, TracedTheorem


@dataclass(frozen=True)
class RetrievalQuery:
    """The goal state before a tactic, where it is, and the premises the tactic used.

    ``positives`` are sorted, distinct corpus indices; ``(file_path, theorem_start)`` decides which
    premises are accessible.
    """

    theorem: str
    file_path: str
    theorem_start: Pos
    tactic_index: int
    state: str
    positives: tuple[int, ...]

    @property
    def key(self) -> str:
        """A stable id: ``file:line:col:theorem#tactic``."""
        return f"{self.file_path}:{self.theorem_start.line}:{self.theorem_start.column}:{self.theorem}#{self.tactic_index}"


@dataclass(frozen=True)
class QuerySet:
    """Queries built from a split part, with what was left out and why."""

    queries: tuple[RetrievalQuery, ...]
    num_theorems: int
    num_tactics: int
    num_without_premises: int  # tactics naming no premise (not queries, as in ReProver)
    num_unresolved: int  # provenances that resolve to no premise of the corpus
    num_unknown_file: int  # theorems whose file is not in the corpus (skipped)


def build_queries(corpus: PremiseCorpus, theorems: Iterable[TracedTheorem], *, keep_empty: bool = False) -> QuerySet:
    """One query per traced tactic that uses at least one resolvable premise.

    With ``keep_empty`` tactics without premises are kept too (with empty ``positives``), for
    callers that only want to retrieve.
    """
    queries: list[RetrievalQuery] = []
    n_thm = n_tac = n_empty = n_unres = n_unknown = 0
    for thm in theorems:
        n_thm += 1
        if not corpus.has_file(thm.file_path):
            n_unknown += 1
            continue
        for k, tac in enumerate(thm.traced_tactics):
            n_tac += 1
            found, unresolved = corpus.resolve_all(tac.annotated_tactic.provenances)
            n_unres += unresolved
            if not found:
                n_empty += 1
                if not keep_empty:
                    continue
            queries.append(
                RetrievalQuery(thm.full_name, thm.file_path, Pos(*thm.start), k, tac.state_before, tuple(sorted(found)))
            )
    return QuerySet(tuple(queries), n_thm, n_tac, n_empty, n_unres, n_unknown)
