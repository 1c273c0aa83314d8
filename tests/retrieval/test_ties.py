"""BM25 reads goal states as a careful user would, and every top-k breaks ties by lower index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval.building import write_dataset
from retrieval.corpus import PremiseCorpus
from retrieval.dataset import (AnnotatedTactic, CorpusFile, Pos, Premise, Provenance, TracedTactic,
                               TracedTheorem)
from retrieval.index import exact_top_k
from retrieval.retrievers import BM25Retriever, RetrievalRequest
from retrieval.splits import SplitConfig
from retrieval.text import bm25_query_tokens, bm25_tokens

STATE = "n, m : nat\nH : n <= m\n============================\nS n <= S m"


def test_goal_separator_and_hypothesis_names_are_not_query_terms():
    toks = bm25_query_tokens(STATE)
    assert "=" not in toks and not any(set(t) == {"="} for t in toks)
    assert toks == ["nat", "n", "<=", "m", "s", "n", "<=", "s", "m"]
    assert bm25_query_tokens("x := 3 : nat\n============================\nx = 3\n\n(unfocused goals: 1)\n\nTrue") == \
        ["3", "nat", "x", "=", "3", "true"]
    # brackets and separators are layout; symbol runs are one term
    assert bm25_tokens("(a ++ [b]) :: l -> f (x, y).") == ["a", "++", "b", "::", "l", "->", "f", "x", "y"]


def test_bm25_scores_ignore_the_separator_line():
    files = [CorpusFile("A.v", (), (
        Premise("eq_a", "A.v", "Lemma eq_a : a = a = a = a.", Pos(1, 1), Pos(1, 20)),
        Premise("le_succ", "A.v", "Lemma le_succ : forall n m, n <= m -> S n <= S m.", Pos(2, 1), Pos(2, 40)),
        *(Premise(f"f{i}", "A.v", f"Lemma f{i} : foo{i} bar = baz{i}.", Pos(3 + i, 1), Pos(3 + i, 30)) for i in range(6)),
    ))]
    r = BM25Retriever(PremiseCorpus(files))
    bare = "n, m : nat\nH : n <= m\nS n <= S m"
    np.testing.assert_allclose(r.scores(STATE), r.scores(bare))
    (top,) = r.rank([RetrievalRequest(STATE)], 1)
    assert top.indices == (1,)


@pytest.mark.parametrize("seed", range(20))
def test_exact_top_k_cuts_ties_by_lower_index(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=200).astype(np.float64)  # many ties
    cand = np.sort(rng.choice(200, size=120, replace=False))
    full, _ = exact_top_k(scores, cand, 100)
    expected = sorted(cand, key=lambda i: (-scores[i], i))
    assert list(full) == expected[:100]
    for k in (1, 5, 10, 37):
        idx, _ = exact_top_k(scores, cand, k)
        assert list(idx) == list(full[:k])  # a top-k is the prefix of a deeper ranking


def test_retrieve_and_eval_retrieval_return_the_same_top_10(tmp_path, capsys):
    from nesy.cli import main

    # 40 premises with the same statement: BM25 ties all of them, the cut falls inside the tie
    prems = tuple(Premise(f"same{i:02d}", "A.v", f"Lemma same{i:02d} : twin x = x.", Pos(i + 1, 1), Pos(i + 1, 30))
                  for i in range(40))
    files = [CorpusFile("A.v", (), prems), CorpusFile("B.v", ("A.v",), (
        Premise("other", "B.v", "Lemma other : unrelated.", Pos(1, 1), Pos(1, 20)),))]
    state = "x : nat\n============================\ntwin x = x"
    used = prems[23]
    thms = []
    for t in range(12):
        tac = TracedTactic(f"apply {used.full_name}.", AnnotatedTactic(
            f"apply <a>{used.full_name}</a>.",
            (Provenance(used.full_name, "A.v", used.start, used.end),)), state, "no goals")
        thms.append(TracedTheorem(f"t{t}", "B.v", Pos(10 + 5 * t, 1), Pos(12 + 5 * t, 5), (tac,),
                                  theorem_statement=f"Lemma t{t} : twin x = x."))
    data = tmp_path / "ds"
    write_dataset(data, files, thms, split_config=SplitConfig(seed=0, val_fraction=0.25, test_fraction=0.25))
    test = json.loads((data / "random" / "test.json").read_text())
    out = tmp_path / "eval"
    assert main(["eval", "retrieval", "--data", str(data), "--split", "random", "--part", "test",
                 "--retrievers", "bm25", "--out", str(out)]) == 0
    rec = json.loads((out / "bm25.jsonl").read_text().splitlines()[0])
    thm = next(t for t in test if t["full_name"] == rec["theorem"])
    capsys.readouterr()
    assert main(["retrieve", state, "--data", str(data), "--retriever", "bm25", "-k", "10", "--json",
                 "--file", "B.v", "--pos", f"{thm['start'][0]}:{thm['start'][1]}"]) == 0
    got = [json.loads(line)["full_name"] for line in capsys.readouterr().out.splitlines()]
    assert got == [r["full_name"] for r in rec["retrieved"]]
    assert got == [f"same{i:02d}" for i in range(10)]  # ties: lower index first


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_dense_search_breaks_ties_by_lower_index(kind):
    pytest.importorskip("faiss")
    from retrieval.index import IndexConfig, PremiseIndex

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(300, 16)).astype("float32")
    emb[[40, 7, 120, 9]] = emb[9]  # premises with the same statement embed the same
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    index = PremiseIndex.build(emb, corpus_digest="d", model_id="m", config=IndexConfig(kind=kind))
    for cand in (None, np.arange(0, 300)):
        _, ids = index.search(emb[[9]], 3, cand)
        if index.exact:
            assert list(ids[0]) == [7, 9, 40]  # the cut falls inside the 4-way tie
            _, deep = index.search(emb[[9]], 10, cand)
            assert list(deep[0][:4]) == [7, 9, 40, 120]
        else:  # approximate: what it returns is sorted the same way (it may miss a tie at the cut)
            assert list(ids[0]) == sorted(ids[0]) and set(ids[0]) <= {7, 9, 40, 120}
