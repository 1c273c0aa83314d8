"""Retrieval metrics, as ReProver reports them.

For one query with positive premises ``P`` and a ranking ``r`` (best first):

* ``recall@k = |P ∩ r[:k]| / |P|`` (so Recall@1 is at most ``1/|P|`` when ``|P| > 1``);
* reciprocal rank ``= 1 / (1 + position of the first positive in r)``, 0 when none is ranked.

A split's figures are the means over its queries; recalls are reported in percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def recall_at_k(positives: Iterable[int], ranking: Sequence[int], k: int) -> float:
    pos = set(positives)
    if not pos:
        raise ValueError("recall is undefined for a query without positives")
    return len(pos.intersection(ranking[:k])) / len(pos)


def reciprocal_rank(positives: Iterable[int], ranking: Sequence[int]) -> float:
    pos = set(positives)
    for i, idx in enumerate(ranking):
        if idx in pos:
            return 1.0 / (i + 1)
    return 0.0


@dataclass(frozen=True)
class RetrievalMetrics:
    """Means over ``num_queries`` queries: recalls in percent, MRR in [0, 1].

    ``depth`` is how many premises were retrieved per query (MRR counts ranks up to it).
    """

    retriever: str
    recall_at_1: float
    recall_at_10: float
    mrr: float
    num_queries: int
    depth: int


def aggregate(retriever: str, per_query: Sequence[tuple[float, float, float]], depth: int) -> RetrievalMetrics:
    """Means of ``(recall@1, recall@10, reciprocal rank)`` triples."""
    n = len(per_query)
    if n == 0:
        return RetrievalMetrics(retriever, 0.0, 0.0, 0.0, 0, depth)
    return RetrievalMetrics(
        retriever,
        100.0 * sum(q[0] for q in per_query) / n,
        100.0 * sum(q[1] for q in per_query) / n,
        sum(q[2] for q in per_query) / n,
        n,
        depth,
    )


def format_table(rows: Sequence[RetrievalMetrics]) -> str:
    """A markdown table: one row per retriever."""
    lines = ["| retriever | Recall@1 (%) | Recall@10 (%) | MRR | queries |", "|---|---:|---:|---:|---:|"]
    for m in rows:
        lines.append(f"| {m.retriever} | {m.recall_at_1:.2f} | {m.recall_at_10:.2f} | {m.mrr:.4f} | {m.num_queries} |")
    return "\n".join(lines)
