"""Premise corpus (accessibility, lookups, bad input), BM25 and the metrics."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.corpus import PremiseCorpus
from retrieval.dataset import CorpusFile, Pos, Premise, Provenance
from retrieval.errors import DatasetFormatError, EmptyCorpusError, UnknownPremiseError
from retrieval.evaluation import evaluate
from retrieval.examples import toy_library
from retrieval.metrics import aggregate, format_table, recall_at_k, reciprocal_rank
from retrieval.queries import build_queries
from retrieval.retrievers import BM25Retriever, RetrievalRequest
from retrieval.text import bm25_query_tokens, bm25_tokens, premise_text


def _p(path, name, code, line):
    return Premise(name, path, code, Pos(line, 1), Pos(line, 40))


def _corpus() -> PremiseCorpus:
    """A <- B <- C (C imports B imports A) and D imports A only."""
    return PremiseCorpus([
        CorpusFile("A.v", (), (_p("A.v", "a1", "Lemma a1 : plus n O = n.", 1), _p("A.v", "a2", "Lemma a2 : mult n 1 = n.", 5))),
        CorpusFile("B.v", ("A.v",), (_p("B.v", "b1", "Lemma b1 : app l nil = l.", 3),)),
        CorpusFile("C.v", ("B.v",), (_p("C.v", "c1", "Lemma c1 : rev (rev l) = l.", 10),
                                     _p("C.v", "c2", "Lemma c2 : length (rev l) = length l.", 20))),
        CorpusFile("D.v", ("A.v",), (_p("D.v", "d1", "Lemma d1 : S n <> O.", 2),)),
    ], source="test-corpus")


def _names(c: PremiseCorpus, idx) -> list[str]:
    return [c[int(i)].full_name for i in idx]


def test_accessible_premises_follow_reprover_rule():
    c = _corpus()
    # In C.v at line 15: its own c1 (ends at line 10) + transitive imports B and A; not c2, not D.
    assert _names(c, c.accessible_indices("C.v", Pos(15, 1))) == ["a1", "a2", "b1", "c1"]
    # A premise ending exactly at the theorem's start is accessible; one ending after it is not.
    assert "c1" in _names(c, c.accessible_indices("C.v", Pos(10, 40)))
    assert "c1" not in _names(c, c.accessible_indices("C.v", Pos(10, 39)))
    assert _names(c, c.accessible_indices("D.v", Pos(100, 1))) == ["a1", "a2", "d1"]
    assert _names(c, c.accessible_indices("A.v", Pos(1, 1))) == []
    assert c.accessible_mask("B.v", Pos(1, 1)).tolist() == [True, True, False, False, False, False]
    assert c.imported_files("C.v") == {"A.v", "B.v"}
    assert len(c.accessible_indices("Nowhere.v", Pos(1, 1))) == 0


def test_resolve_and_lookup():
    c = _corpus()
    assert c.resolve(Provenance("b1", "B.v", Pos(3, 9), Pos(3, 11))) == 2  # by position inside the span
    assert c.resolve(Provenance("c2", "C.v", Pos(99, 1), Pos(99, 2))) == 4  # by name in the file
    assert c.resolve(Provenance("zz", "C.v", Pos(99, 1), Pos(99, 2))) is None
    assert c.lookup("d1") == 5
    with pytest.raises(UnknownPremiseError, match=r"'b11' is not in test-corpus; did you mean b1"):
        c.lookup("b11")


def test_bad_corpora():
    with pytest.raises(EmptyCorpusError, match="no premises"):
        PremiseCorpus([CorpusFile("A.v", (), ())])
    with pytest.raises(EmptyCorpusError):
        PremiseCorpus([])
    with pytest.raises(DatasetFormatError, match="imports 'Z.v', which is not in the corpus"):
        PremiseCorpus([CorpusFile("A.v", ("Z.v",), (_p("A.v", "a", "x", 1),))])
    with pytest.raises(DatasetFormatError, match="import cycle: A.v -> B.v -> A.v"):
        PremiseCorpus([CorpusFile("A.v", ("B.v",), (_p("A.v", "a", "x", 1),)), CorpusFile("B.v", ("A.v",), ())])


def test_corpus_digest_is_stable_and_content_sensitive():
    assert _corpus().digest == _corpus().digest
    lib = toy_library(n_concepts=3)
    assert PremiseCorpus(lib.files).digest != _corpus().digest


def test_leandojo_provenances_resolve(tmp_path):
    from tests.retrieval.test_dataset import _write_leandojo
    from retrieval.dataset import open_dataset

    ds = open_dataset(_write_leandojo(tmp_path / "ld"))
    c = PremiseCorpus.from_jsonl(ds.corpus_path)
    qs = build_queries(c, ds.read_part("random", "test"))
    assert qs.num_unresolved == 0 and len(qs.queries) == 2
    assert [c[q.positives[0]].full_name for q in qs.queries] == ["Complex.lim_eq_lim_im_add_lim_re", "Complex.ofReal'"]
    # Both premises are accessible from the theorem (own file, before it; and an import).
    acc = set(c.accessible_indices(qs.queries[0].file_path, qs.queries[0].theorem_start).tolist())
    assert {q.positives[0] for q in qs.queries} <= acc


# ------------------------------------------------------------------------------------- BM25


def test_bm25_scores_equal_rank_bm25():
    from rank_bm25 import BM25Okapi

    c = PremiseCorpus(toy_library(n_concepts=8).files)
    r = BM25Retriever(c)
    ref = BM25Okapi([bm25_tokens(premise_text(p)) for p in c.premises])
    for goal in ["x : nat\nH : mango x\n⊢ mango (S x)", "forall x, ripe_kiwi x", "nothing matches ∀"]:
        np.testing.assert_allclose(r.scores(goal), ref.get_scores(bm25_query_tokens(goal)), rtol=1e-9, atol=1e-12)


def test_bm25_ranks_lexical_match_first_and_respects_accessibility():
    c = _corpus()
    r = BM25Retriever(c)
    (top,) = r.rank([RetrievalRequest("l : list A\n⊢ rev (rev l) = l")], 3)
    assert c[top.indices[0]].full_name == "c1"
    assert list(top.scores) == sorted(top.scores, reverse=True)
    # From D.v, c1 is not accessible: it must not appear, whatever its score.
    (filtered,) = r.rank([RetrievalRequest("⊢ rev (rev l) = l", "D.v", Pos(50, 1))], 10)
    assert _names(c, filtered.indices) and set(_names(c, filtered.indices)) <= {"a1", "a2", "d1"}


def test_bm25_tokens_split_names():
    assert bm25_tokens("Nat.add_zero n") == ["nat.add_zero", "nat", "add", "zero", "n"]
    assert bm25_tokens("⊢ a+b") == ["⊢", "a", "+", "b"]


# ---------------------------------------------------------------------------------- metrics


def test_metrics_hand_checked():
    # positives {3, 7}; ranking 5, 3, 9, 7 -> R@1 = 0, R@10 = 2/2, RR = 1/2
    assert recall_at_k([3, 7], [5, 3, 9, 7], 1) == 0.0
    assert recall_at_k([3, 7], [5, 3, 9, 7], 10) == 1.0
    assert recall_at_k([3, 7], [3, 5], 10) == 0.5
    assert reciprocal_rank([3, 7], [5, 3, 9, 7]) == 0.5
    assert reciprocal_rank([3], [1, 2]) == 0.0
    m = aggregate("x", [(0.0, 1.0, 0.5), (1.0, 0.5, 1.0), (0.0, 0.0, 0.0)], depth=100)
    assert (m.recall_at_1, m.recall_at_10, m.mrr, m.num_queries) == pytest.approx((100 / 3, 50.0, 0.5, 3))
    assert "| x | 33.33 | 50.00 | 0.5000 | 3 |" in format_table([m])
    with pytest.raises(ValueError):
        recall_at_k([], [1], 1)


def test_evaluate_writes_per_query_jsonl(tmp_path):
    import json

    lib = toy_library(n_concepts=6, theorems_per_concept=2)
    c = PremiseCorpus(lib.files)
    qs = build_queries(c, lib.theorems)
    assert qs.num_without_premises == len(lib.theorems)  # every "intros" step
    m = evaluate(BM25Retriever(c), c, qs.queries, jsonl_path=tmp_path / "bm25.jsonl")
    lines = [json.loads(l) for l in (tmp_path / "bm25.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == m.num_queries == len(qs.queries)
    assert np.mean([l["reciprocal_rank"] for l in lines]) == pytest.approx(m.mrr)
    assert 100 * np.mean([l["recall@10"] for l in lines]) == pytest.approx(m.recall_at_10)
    assert all(len(l["retrieved"]) <= 10 and l["positives"] for l in lines)
