"""Training the dense retriever: the goal-first query text, validation and early stopping, the
best-validated checkpoint, and resuming an interrupted run to the same weights as an
uninterrupted one. Runs the real MiniLM on the toy library (small sequences, a few steps)."""

from __future__ import annotations

import json

import pytest

from retrieval.text import bm25_query_tokens, query_text

STATE = (
    "a, b : nat\nH : a = b\n============================\nb = a\n\n"
    "x : nat\n============================\nx + 0 = x"
)


def test_query_text_puts_the_first_goal_first():
    assert query_text(STATE).splitlines() == ["b = a", "a, b : nat", "H : a = b", "x + 0 = x"]
    assert query_text("============================\nforall n, n = n") == "forall n, n = n"
    # annotated text and the unfocused-goals header are layout
    assert query_text("(unfocused goals: 2)\nn : nat\n============================\n<a>f</a> n = n") == "f n = n\nn : nat"
    assert query_text("plain text, no goal") == "plain text, no goal"
    assert query_text("") == ""
    # BM25 reads the state itself, not the dense query's order
    assert bm25_query_tokens(STATE)[:3] == ["nat", "a", "="]


pytest.importorskip("torch", reason="needs the ml extra: pip install 'nesy[ml]'")

from retrieval.corpus import PremiseCorpus
from retrieval.dataset import open_dataset
from retrieval.errors import TrainingError
from retrieval.examples import write_toy_dataset
from retrieval.training import RESUME_STATE, StopReason, TrainConfig, train_retriever

TINY = {"max_seq_len": 32, "batch_size": 4, "num_negatives": 1, "warmup_steps": 1, "time_budget_s": None,
        "max_epochs": 50, "trainable_layers": 1, "val_queries": 8, "val_pool": 20}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    path = tmp_path_factory.mktemp("toy") / "ds"
    write_toy_dataset(path, n_concepts=6, theorems_per_concept=4)
    ds = open_dataset(path)
    return PremiseCorpus.from_jsonl(ds.corpus_path), ds.read_part("random", "train"), ds.read_part("random", "val")


def _weights(out):
    import torch

    return torch.load(out / RESUME_STATE, weights_only=False)["model"]


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(tmp_path, toy):
    import torch

    corpus, train, val = toy
    cfg = TrainConfig(max_steps=6, val_every=3, patience=0, learning_rate=3e-4, **TINY)
    whole = train_retriever(corpus, train, tmp_path / "whole", cfg, val_theorems=val)
    assert whole.steps == 6 and whole.stop_reason is StopReason.MAX_STEPS
    assert [v["step"] for v in whole.validations] == [0, 3, 6]  # step 0: the starting encoder

    def interrupt(step, loss):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_retriever(corpus, train, tmp_path / "cut", cfg, val_theorems=val, on_step=interrupt)
    again = train_retriever(corpus, train, tmp_path / "cut", cfg, val_theorems=val)
    assert again.resumed_from == 3 and again.steps == 6
    assert again.loss_history == whole.loss_history
    assert [v["recall_at_10"] for v in again.validations] == [v["recall_at_10"] for v in whole.validations]
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the validation log streams one line per validation, the interrupted step's included once
    lines = [json.loads(l) for l in (tmp_path / "cut" / "validation.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [0, 3, 6]
    # a finished run is reported, not trained again
    done = train_retriever(corpus, train, tmp_path / "whole", cfg, val_theorems=val)
    assert done.steps == 6 and done.resumed_from == 6 and done.stop_reason is StopReason.MAX_STEPS


@pytest.mark.slow
def test_flat_validation_stops_the_run_and_keeps_the_best_weights(tmp_path, toy):
    from retrieval.encoder import DenseEncoder, EncoderConfig, read_checkpoint_meta

    corpus, train, val = toy
    # a zero learning rate never improves on the starting encoder: two flat validations end the run
    cfg = TrainConfig(max_steps=50, val_every=2, patience=2, learning_rate=0.0, **TINY)
    result = train_retriever(corpus, train, tmp_path / "ckpt", cfg, val_theorems=val)
    assert result.stop_reason is StopReason.CONVERGED
    assert result.steps == 4 and [v["step"] for v in result.validations] == [0, 2, 4]
    assert result.best_step == 0
    meta = read_checkpoint_meta(tmp_path / "ckpt")
    assert meta["result"]["checkpoint_step"] == 0 and meta["result"]["stop_reason"] == "converged"
    assert meta["query_format"] == "goal-first-v1"
    assert DenseEncoder(EncoderConfig(model=str(tmp_path / "ckpt"))).max_seq_len == 32


@pytest.mark.slow
def test_a_run_with_other_settings_is_not_continued(tmp_path, toy):
    corpus, train, _ = toy
    cfg = TrainConfig(max_steps=2, val_every=0, **TINY)
    train_retriever(corpus, train, tmp_path / "ckpt", cfg)
    with pytest.raises(TrainingError, match=r"other settings \(batch_size: 4 there, 8 now"):
        train_retriever(corpus, train, tmp_path / "ckpt", TrainConfig(**{**cfg.__dict__, "batch_size": 8}))
    with pytest.raises(TrainingError, match="a run on other data"):
        train_retriever(corpus, train[: len(train) // 2], tmp_path / "ckpt", cfg)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(TrainingError, match="not a nesy retriever training run"):
        train_retriever(corpus, train, tmp_path / "other", cfg)


def test_bad_settings_are_named():
    with pytest.raises(TrainingError, match="val_every"):
        TrainConfig(val_every=-1)
    with pytest.raises(TrainingError, match="max_steps"):
        TrainConfig(max_steps=0)


def test_a_checkpoint_is_queried_in_the_format_it_was_trained_on(tmp_path):
    import shutil

    from retrieval.encoder import (
        CHECKPOINT_META,
        DenseEncoder,
        EncoderConfig,
        resolve_model_dir,
    )
    from retrieval.errors import ModelNotFoundError
    from retrieval.text import query_text_as

    assert DenseEncoder(EncoderConfig(model="minilm")).query_format == "goal-first-v1"
    ckpt = tmp_path / "old"
    shutil.copytree(resolve_model_dir("minilm"), ckpt)
    (ckpt / CHECKPOINT_META).write_text(json.dumps({"name": "trained:old", "train_config": {}}))
    old = DenseEncoder(EncoderConfig(model=str(ckpt)))
    assert old.query_format == "raw"  # trained before goal-first queries: reads states as printed
    assert query_text_as(old.query_format, STATE) == STATE
    (ckpt / CHECKPOINT_META).write_text(json.dumps({"train_config": {}, "query_format": "future-v9"}))
    with pytest.raises(ModelNotFoundError, match="query format 'future-v9'"):
        DenseEncoder(EncoderConfig(model=str(ckpt)))
