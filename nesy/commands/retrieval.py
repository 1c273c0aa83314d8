"""``nesy index``, ``nesy retrieve``, ``nesy eval retrieval`` and ``nesy train retriever``.

Cheap to import: argparse only; the library is imported inside the run functions. Each run
function builds one config, calls the library, prints a short summary to stdout (progress bars
go to stderr) and returns an exit code; library errors reach the user as ``nesy: error: ...``.
"""

from __future__ import annotations

import argparse
import sys


def register(commands) -> None:
    p = commands.add("index", help="embed a premise corpus and save a faiss index", run=_run_index)
    _corpus_args(p)
    p.add_argument("--out", required=True, help="index directory to write (index.faiss + manifest.json)")
    _model_args(p)
    p.add_argument("--kind", default="auto", help="flat (exact), hnsw, ivf, or auto (hnsw from 100k premises)")

    p = commands.add("retrieve", help="print the top-k premises for a goal state", run=_run_retrieve)
    p.add_argument("goal", help="the goal state (quote it)")
    _corpus_args(p)
    p.add_argument("--retriever", default="dense", help="a retriever of retrieval.registry: dense or bm25")
    p.add_argument("--index", help="index directory from `nesy index` (dense; default: build in memory)")
    _model_args(p)
    p.add_argument("-k", type=int, default=10, help="how many premises to print")
    p.add_argument("--file", help="restrict to premises accessible from this corpus file ...")
    p.add_argument("--pos", help="... at LINE:COL (default: end of the file)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")

    p = commands.add("eval retrieval", help="Recall@1/@10 and MRR of BM25 and dense retrievers on a split",
                     run=_run_eval)
    p.add_argument("--data", required=True, help="dataset directory (LeanDojo Benchmark layout)")
    p.add_argument("--split", default="novel_premises", help="random or novel_premises")
    p.add_argument("--part", default="test", help="train, val or test")
    p.add_argument("--retrievers", default=None,
                   help="comma-separated: bm25, pretrained, trained (default: bm25,pretrained, plus trained "
                        "when --checkpoint is given)")
    p.add_argument("--checkpoint", help="trained retriever checkpoint directory (from `nesy train retriever`)")
    _model_args(p, model_help="pretrained encoder: a name (minilm) or a model directory")
    p.add_argument("--out", help="results directory (default: results/retrieval-SPLIT-PART)")
    p.add_argument("--limit", type=int, help="evaluate only the first N queries (quick checks)")
    p.add_argument("--depth", type=int, default=100, help="premises ranked per query (MRR counts ranks up to it)")

    p = commands.add("train retriever", help="fine-tune the dense premise retriever contrastively", run=_run_train)
    p.add_argument("--data", required=True, help="dataset directory (LeanDojo Benchmark layout)")
    p.add_argument("--split", default="novel_premises", help="random or novel_premises (trains on its train part)")
    p.add_argument("--out", required=True,
                   help="checkpoint directory to write; a rerun with the same settings continues the run in it")
    p.add_argument("--base-model", default="minilm", help="encoder to start from: a name or a model directory")
    p.add_argument("--max-minutes", type=float, default=20.0,
                   help="wall-clock budget of this invocation (a rerun continues); 0 for none")
    p.add_argument("--max-steps", type=int, help="planned optimizer steps (the cosine schedule ends there)")
    p.add_argument("--epochs", type=float, default=1.0, help="passes over the (state, premise) pairs")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5, help="AdamW learning rate")
    p.add_argument("--num-negatives", type=int, default=2, help="sampled negatives per example (plus in-batch)")
    p.add_argument("--num-in-file-negatives", type=int, default=1,
                   help="how many of those come from the positive premise's file")
    p.add_argument("--max-seq-len", type=int, default=128, help="tokens per goal state / premise")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-every", type=int, default=200,
                   help="validate (on the split's val part) and save a resume point every N steps; 0: never")
    p.add_argument("--val-queries", type=int, default=300, help="val queries per validation (seeded sample)")
    p.add_argument("--val-pool", type=int, default=3000,
                   help="random premises ranked with the val queries' positives at each validation")
    p.add_argument("--patience", type=int, default=3,
                   help="stop after N validations without a better Recall@10 (converged); 0: never")


def _corpus_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--data", help="dataset directory (its corpus.jsonl is used)")
    g.add_argument("--corpus", help="a corpus.jsonl file")


def _model_args(p: argparse.ArgumentParser, model_help: str = "encoder: a name (minilm) or a model/checkpoint directory") -> None:
    p.add_argument("--model", default="minilm", help=model_help)
    p.add_argument("--max-seq-len-encode", dest="encode_max_len", type=int, default=None,
                   help="tokens per text when encoding (default: the checkpoint's, else 256)")
    p.add_argument("--batch-size-encode", dest="encode_batch", type=int, default=64, help="texts per forward pass")
    p.add_argument("--cache-dir", help="embedding cache directory (default: $NESY_CACHE or ~/.cache/nesy)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write cached embeddings")


def _load_corpus(args):
    from retrieval.corpus import PremiseCorpus
    from retrieval.dataset import open_dataset

    if getattr(args, "corpus", None):
        return PremiseCorpus.from_jsonl(args.corpus)
    return PremiseCorpus.from_jsonl(open_dataset(args.data).corpus_path)


def _quiet_transformers() -> None:
    """The CLI shows its own progress bars; silence transformers' weight-loading bars."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def _encoder(args, model: str | None = None):
    from retrieval.encoder import DenseEncoder, EncoderConfig

    _quiet_transformers()

    return DenseEncoder(EncoderConfig(model=model or args.model, max_seq_len=args.encode_max_len,
                                      batch_size=args.encode_batch))


def _options(args, **overrides):
    from retrieval.registry import RetrieverOptions

    _quiet_transformers()
    values = {"model": getattr(args, "model", None), "cache": _cache(args), "max_seq_len": args.encode_max_len, "batch_size": args.encode_batch}
    return RetrieverOptions(**{**values, **overrides})


def _cache(args):
    from retrieval.embeddings import EmbeddingCache

    return None if args.no_cache else EmbeddingCache(args.cache_dir)


def _run_index(args: argparse.Namespace) -> int:
    import time

    from retrieval.embeddings import embed_corpus
    from retrieval.index import IndexConfig, PremiseIndex

    t0 = time.monotonic()
    corpus = _load_corpus(args)
    encoder = _encoder(args)
    emb = embed_corpus(corpus, encoder, _cache(args), progress=True)
    index = PremiseIndex.build(emb, corpus_digest=corpus.digest, model_id=encoder.model_id,
                               config=IndexConfig(kind=args.kind))
    index.save(args.out)
    print(f"indexed {index.size} premises from {len(corpus.files)} files ({index.kind}, dim {index.dim}, "
          f"model {encoder.name}) into {args.out} in {time.monotonic() - t0:.1f}s")
    return 0


def _parse_pos(text: str | None):
    from retrieval.dataset import Pos
    from retrieval.errors import RetrievalError

    if text is None:
        return Pos(10**9, 0)
    try:
        line, col = text.split(":")
        return Pos(int(line), int(col))
    except ValueError as exc:
        raise RetrievalError(f"--pos must be LINE:COL, got {text!r}") from exc


def _run_retrieve(args: argparse.Namespace) -> int:
    import json

    from retrieval.errors import UnknownPremiseError
    from retrieval.registry import build_retriever
    from retrieval.retrievers import RetrievalRequest

    if args.k < 1:
        from retrieval.errors import RetrievalError

        raise RetrievalError("-k must be at least 1")
    corpus = _load_corpus(args)
    retriever = build_retriever(args.retriever, corpus, _options(args, index=args.index, progress=True))
    if args.file is not None and not corpus.has_file(args.file):
        raise UnknownPremiseError(f"--file {args.file!r} is not a file of the corpus")
    request = RetrievalRequest(args.goal, args.file, _parse_pos(args.pos) if args.file else None)
    ranking = retriever.rank([request], args.k)[0]
    for rank, (i, s) in enumerate(zip(ranking.indices, ranking.scores), start=1):
        p = corpus[i]
        if args.json:
            print(json.dumps({"rank": rank, "score": s, "full_name": p.full_name, "path": p.path,
                              "code": p.code}, ensure_ascii=False))
        else:
            code = " ".join(p.code.split())
            print(f"{rank:>3}  {s:8.4f}  {p.full_name}  ({p.path})  {code[:100]}")
    if not ranking.indices:
        print("no accessible premise", file=sys.stderr)
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from retrieval.corpus import PremiseCorpus
    from retrieval.dataset import open_dataset
    from retrieval.errors import RetrievalError, UnknownNameError
    from retrieval.evaluation import RetrievalEvalConfig, evaluate
    from retrieval.metrics import format_table
    from retrieval.queries import build_queries
    from retrieval.registry import build_retriever

    names = [n.strip() for n in (args.retrievers or "").split(",") if n.strip()]
    if not names:
        names = ["bm25", "pretrained"] + (["trained"] if args.checkpoint else [])
    known = ("bm25", "pretrained", "trained")
    for n in names:
        if n not in known:
            raise UnknownNameError(f"unknown retriever {n!r}; known: {', '.join(known)}")
    if "trained" in names and not args.checkpoint:
        raise RetrievalError("retriever 'trained' needs --checkpoint DIR (from `nesy train retriever`)")
    ds = open_dataset(args.data)
    corpus = PremiseCorpus.from_jsonl(ds.corpus_path)
    theorems = ds.read_part(args.split, args.part)
    qs = build_queries(corpus, theorems)
    queries = qs.queries[: args.limit] if args.limit else qs.queries
    if not queries:
        raise RetrievalError(f"{args.split}/{args.part} has no tactic that uses a premise of the corpus; nothing to evaluate")
    out = Path(args.out or f"results/retrieval-{args.split}-{args.part}")
    out.mkdir(parents=True, exist_ok=True)
    config = RetrievalEvalConfig(depth=args.depth)
    rows = []
    for name in names:
        # eval's names: bm25, and the dense retriever with the pretrained encoder or a trained checkpoint
        kind, model = ("bm25", None) if name == "bm25" else ("dense", args.model if name == "pretrained" else args.checkpoint)
        retriever = build_retriever(kind, corpus, _options(args, model=model, name=name, progress=True))
        print(f"evaluating {name} on {len(queries)} queries ...", file=sys.stderr)
        rows.append(evaluate(retriever, corpus, queries, config, jsonl_path=out / f"{name}.jsonl", progress=True))
    table = format_table(rows)
    summary = {
        "data": str(args.data), "split": args.split, "part": args.part, "corpus_digest": corpus.digest,
        "num_premises": len(corpus), "num_theorems": qs.num_theorems, "num_tactics": qs.num_tactics,
        "tactics_without_premises": qs.num_without_premises, "unresolved_provenances": qs.num_unresolved,
        "theorems_with_unknown_file": qs.num_unknown_file, "num_queries": len(queries),
        "checkpoint": args.checkpoint, "pretrained_model": args.model,
        "results": [r.__dict__ for r in rows],
    }
    from nesyrun.files import atomic_write_text

    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_text(out / "summary.md", table + "\n")
    print(f"{args.split}/{args.part}: {len(queries)} queries from {qs.num_theorems} theorems, "
          f"{len(corpus)} premises ({qs.num_unresolved} unresolved provenances skipped)")
    print(table)
    print(f"per-query results: {out}/<retriever>.jsonl; summary: {out}/summary.json")
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from retrieval.corpus import PremiseCorpus
    from retrieval.dataset import open_dataset
    from retrieval.training import TrainConfig, train_retriever

    config = TrainConfig(
        base_model=args.base_model, max_seq_len=args.max_seq_len, batch_size=args.batch_size,
        num_negatives=args.num_negatives, num_in_file_negatives=args.num_in_file_negatives,
        learning_rate=args.lr, max_steps=args.max_steps, max_epochs=args.epochs,
        time_budget_s=args.max_minutes * 60 if args.max_minutes and args.max_minutes > 0 else None,
        seed=args.seed, val_every=args.val_every, val_queries=args.val_queries, val_pool=args.val_pool,
        patience=args.patience,
    )
    ds = open_dataset(args.data)
    corpus = PremiseCorpus.from_jsonl(ds.corpus_path)
    train = ds.read_part(args.split, "train")
    val = ds.read_part(args.split, "val") if args.val_every else []
    _quiet_transformers()
    result = train_retriever(corpus, train, args.out, config, val_theorems=val, progress=True)
    if result.resumed_from and result.resumed_from == result.steps and result.stop_reason.value != "time_budget":
        print(f"the run in {result.checkpoint} had finished; nothing left to train")
    elif result.resumed_from:
        print(f"continued the run in {result.checkpoint} from step {result.resumed_from}")
    print(f"trained {result.steps} steps on {result.examples_seen} examples "
          f"({result.num_train_pairs} (state, premise) pairs) in {result.seconds:.0f}s, "
          f"stopped by {result.stop_reason.value}; loss {result.first_loss:.3f} -> {result.last_loss:.3f}")
    if result.stop_reason.value == "time_budget":
        print("the time budget ended this invocation: rerun the same command to continue")
    if result.validations:
        best = next(v for v in result.validations if v["step"] == result.best_step)
        print(f"validation ({best['queries']} val queries, a pool of {best['pool']} premises): "
              + ", ".join(f"step {v['step']} R@10 {v['recall_at_10']}" for v in result.validations))
        print(f"checkpoint = the weights of step {result.best_step} (validation R@10 {best['recall_at_10']}, "
              f"MRR {best['mrr']}); log: {result.checkpoint}/validation.jsonl")
    print(f"checkpoint: {result.checkpoint}  (use: nesy eval retrieval --checkpoint {result.checkpoint} ...)")
    return 0
