"""Evaluate retrievers on the queries of a split part, writing one JSONL record per query."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nesyrun.files import atomic_writer
from retrieval.corpus import PremiseCorpus
from retrieval.metrics import RetrievalMetrics, aggregate, recall_at_k, reciprocal_rank
from retrieval.queries import RetrievalQuery
from retrieval.retrievers import RetrievalRequest, Retriever

DEFAULT_DEPTH = 100


@dataclass(frozen=True)
class RetrievalEvalConfig:
    """How deep to rank (MRR counts ranks up to ``depth``) and how many top premises to record."""

    depth: int = DEFAULT_DEPTH
    record_top: int = 10


def evaluate(
    retriever: Retriever,
    corpus: PremiseCorpus,
    queries: Sequence[RetrievalQuery],
    config: RetrievalEvalConfig = RetrievalEvalConfig(),
    *,
    jsonl_path: str | Path | None = None,
    progress: bool = False,
) -> RetrievalMetrics:
    """Rank accessible premises for every query and score the rankings against its positives.

    With ``jsonl_path`` one record per query is written (atomically): query key, positives,
    top premises with scores, recall@1, recall@10 and reciprocal rank.
    """
    requests = [RetrievalRequest(q.state, q.file_path, q.theorem_start) for q in queries]
    rankings = retriever.rank(requests, config.depth, progress=progress)
    per_query = []
    records = []
    for q, r in zip(queries, rankings):
        triple = (recall_at_k(q.positives, r.indices, 1), recall_at_k(q.positives, r.indices, 10),
                  reciprocal_rank(q.positives, r.indices))
        per_query.append(triple)
        if jsonl_path is not None:
            records.append({
                "retriever": retriever.name,
                "query": q.key,
                "theorem": q.theorem,
                "file_path": q.file_path,
                "tactic_index": q.tactic_index,
                "positives": [corpus[i].full_name for i in q.positives],
                "retrieved": [{"full_name": corpus[i].full_name, "path": corpus[i].path, "score": round(s, 6)}
                              for i, s in zip(r.indices[:config.record_top], r.scores[:config.record_top])],
                "recall@1": triple[0],
                "recall@10": triple[1],
                "reciprocal_rank": triple[2],
            })
    if jsonl_path is not None:
        with atomic_writer(jsonl_path) as handle:
            for rec in records:
                handle.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return aggregate(retriever.name, per_query, config.depth)
