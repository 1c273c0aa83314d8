"""Contrastive training of the dense retriever, as ReProver trains its premise retriever.

Each training example is (goal state before a tactic, one premise the tactic used). A batch of
``B`` examples is scored against every premise in the batch: the ``B`` positives (in-batch
negatives for the other queries) plus ``num_negatives`` sampled per example from the premises
accessible to its theorem, ``num_in_file_negatives`` of them from the positive premise's own file
(hard negatives). The loss is InfoNCE (cross-entropy over cosine similarities / temperature);
other premises the same tactic used are masked out rather than counted as negatives. ReProver
uses an MSE on the similarity matrix instead; InfoNCE is the usual choice for such dual encoders
and trains faster in few steps.

Query and premise share one encoder (mean pooling, L2 norm), so a checkpoint is a plain model
directory plus ``nesy_retriever.json``, loadable by path anywhere a model name is accepted.

Queries are goal states in the goal-first format of :func:`retrieval.text.query_text` (the
conclusion before the hypotheses, so the cut at ``max_seq_len`` keeps it), recorded in the
checkpoint as ``query_format``.

The learning rate follows a warm-up and cosine to the planned last step. Every ``val_every``
steps the encoder is scored on a fixed sample of the split's val part (:class:`Validation`); the
best-scoring weights are the checkpoint, and ``patience`` validations without a better Recall@10
end the run as converged. The run's whole state is saved at each validation, so a rerun with the
same settings continues an interrupted or time-limited run exactly. The defaults are sized for
CPUs: sequences of 128 tokens, batches of 16, and a wall-clock budget per invocation
(``time_budget_s``, 20 minutes); the budget and why training stopped are part of the result.
"""

from __future__ import annotations

import enum
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nesyrun.extras import require
from nesyrun.files import atomic_write_text
from nesyrun.training import warmup_cosine
from retrieval.errors import MissingExtraError
from retrieval.corpus import PremiseCorpus
from retrieval.dataset import TracedTheorem
from retrieval.encoder import CHECKPOINT_META, DenseEncoder, EncoderConfig, read_checkpoint_meta
from retrieval.errors import TrainingError
from retrieval.index import exact_top_k
from retrieval.metrics import aggregate, recall_at_k, reciprocal_rank
from retrieval.queries import build_queries
from retrieval.text import QUERY_FORMAT, premise_text, query_text


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters and budget. Sizes are per step; times in seconds.

    The learning rate warms up linearly for ``warmup_steps`` then follows a cosine to 5% of its
    peak at the planned last step (``max_steps``, else ``max_epochs`` of the training pairs).
    Every ``val_every`` steps the encoder is validated (:class:`Validation`) and the run's state
    is saved; the best validated weights are the checkpoint, and ``patience`` validations without
    improvement end the run (``StopReason.CONVERGED``). ``time_budget_s`` bounds one invocation:
    a rerun with the same ``out_dir`` and settings continues where the last one stopped.
    """

    base_model: str = "minilm"
    max_seq_len: int = 128
    batch_size: int = 16
    num_negatives: int = 2
    num_in_file_negatives: int = 1
    learning_rate: float = 5e-5
    warmup_steps: int = 20
    weight_decay: float = 0.01
    temperature: float = 0.05
    max_steps: int | None = None
    max_epochs: float = 1.0
    time_budget_s: float | None = 1200.0
    seed: int = 0
    freeze_embeddings: bool = True  # the token-embedding table: most parameters, little to learn
    trainable_layers: int | None = None  # train only the top N transformer layers (None: all)
    val_every: int = 200  # steps between validations (and resume points); 0: no validation
    val_queries: int = 300  # validation queries sampled from the val part
    val_pool: int = 3000  # random premises ranked with the validation queries' positives
    patience: int = 3  # validations without a better Recall@10 before stopping; 0: never

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise TrainingError("batch_size must be at least 1")
        if not 0 <= self.num_in_file_negatives <= self.num_negatives:
            raise TrainingError("need 0 <= num_in_file_negatives <= num_negatives")
        if self.temperature <= 0:
            raise TrainingError("temperature must be positive")
        if self.val_every < 0 or self.val_queries < 1 or self.val_pool < 0 or self.patience < 0:
            raise TrainingError("need val_every >= 0, val_queries >= 1, val_pool >= 0 and patience >= 0")
        if self.max_steps is not None and self.max_steps < 1:
            raise TrainingError("max_steps must be at least 1")
        if self.max_epochs <= 0:
            raise TrainingError("max_epochs must be positive")

    def run_settings(self) -> dict:
        """What a resumed run must share with the run it continues (all but the time budget)."""
        d = asdict(self)
        d.pop("time_budget_s")
        return d


class StopReason(enum.Enum):
    MAX_STEPS = "max_steps"
    EPOCHS = "epochs"
    TIME_BUDGET = "time_budget"
    CONVERGED = "converged"  # ``patience`` validations without a better Recall@10


@dataclass(frozen=True)
class TrainResult:
    """What a run did: where the checkpoint is, how far it got, why it stopped, its losses."""

    checkpoint: Path
    steps: int
    examples_seen: int
    num_train_pairs: int
    seconds: float
    stop_reason: StopReason
    config: TrainConfig
    loss_history: tuple[tuple[int, float], ...] = field(repr=False)
    validations: tuple[dict, ...] = ()  # {"step", "recall_at_1", "recall_at_10", "mrr", ...}
    best_step: int | None = None  # the step whose weights are the checkpoint (None: the last)
    resumed_from: int = 0  # the step this invocation continued from (0: a fresh run)

    @property
    def _window(self) -> int:
        return max(1, min(10, len(self.loss_history) // 4))

    @property
    def first_loss(self) -> float:
        """Mean loss of the first steps (up to 10, at most a quarter of the run)."""
        head = [l for _, l in self.loss_history[:self._window]]
        return float(np.mean(head)) if head else float("nan")

    @property
    def last_loss(self) -> float:
        """Mean loss of the last steps (same window as :attr:`first_loss`)."""
        tail = [l for _, l in self.loss_history[-self._window:]]
        return float(np.mean(tail)) if tail else float("nan")


@dataclass(frozen=True)
class _Pair:
    query: str
    positive: int
    all_positives: frozenset[int]
    candidates_key: tuple  # (file_path, theorem_start)


def _pairs(corpus: PremiseCorpus, theorems: Sequence[TracedTheorem]) -> list[_Pair]:
    qs = build_queries(corpus, theorems)
    return [
        _Pair(query_text(q.state), p, frozenset(q.positives), (q.file_path, tuple(q.theorem_start)))
        for q in qs.queries
        for p in q.positives
    ]


class _NegativeSampler:
    """Accessible premises of a theorem, minus the positives; in-file ones from the positive's file."""

    def __init__(self, corpus: PremiseCorpus, rng: random.Random) -> None:
        self.corpus = corpus
        self.rng = rng

    def sample(self, pair: _Pair, n: int, n_in_file: int) -> list[int]:
        if n == 0:
            return []
        acc = self.corpus.accessible_indices(*pair.candidates_key)
        first, stop = self.corpus.file_range(self.corpus[pair.positive].path)
        in_file = acc[(acc >= first) & (acc < stop)]
        chosen: list[int] = []
        for pool, want in ((in_file, n_in_file), (acc, n)):
            tries = 0
            while len(chosen) < want and pool.size and tries < 4 * n + 8:
                tries += 1
                cand = int(pool[self.rng.randrange(pool.size)])
                if cand not in pair.all_positives and cand not in chosen:
                    chosen.append(cand)
        return chosen


class Validation:
    """A fixed, cheap stand-in for the full evaluation, run during training.

    ``val_queries`` queries of the val part (seeded sample) rank a fixed pool: every positive of
    those queries plus ``val_pool`` random premises, each query seeing only the pool members
    accessible at its theorem. Recall@1/10 and MRR are ``retrieval.metrics``' over
    that pool -- an easier task than ranking all accessible premises, so its figures are higher
    than the final evaluation's; they rank checkpoints, they are not the reported result.
    """

    def __init__(self, corpus: PremiseCorpus, val_theorems: Sequence[TracedTheorem], config: TrainConfig) -> None:
        rng = random.Random(config.seed + 1)
        queries = list(build_queries(corpus, val_theorems).queries)
        if len(queries) > config.val_queries:
            queries = rng.sample(queries, config.val_queries)
        self.queries = queries
        pool = {p for q in queries for p in q.positives}
        others = [i for i in range(len(corpus)) if i not in pool]
        pool.update(rng.sample(others, min(config.val_pool, len(others))))
        self.pool = np.array(sorted(pool), dtype=np.int64)
        self.pool_texts = [premise_text(corpus[int(i)]) for i in self.pool]
        self.query_texts = [query_text(q.state) for q in queries]
        # per query: the pool positions accessible at its theorem (the pool is sorted, so a tie
        # goes to the lower corpus index, as everywhere in retrieval)
        self.candidates = [np.flatnonzero(np.isin(self.pool, corpus.accessible_indices(q.file_path, q.theorem_start)))
                           for q in queries]

    def __len__(self) -> int:
        return len(self.queries)

    def run(self, encoder: DenseEncoder) -> dict:
        scores = encoder.encode(self.query_texts) @ encoder.encode(self.pool_texts).T
        per_query = []
        for q, row, cand in zip(self.queries, scores, self.candidates):
            ranking = [int(i) for i in self.pool[exact_top_k(row, cand, 100)[0]]]
            per_query.append((recall_at_k(q.positives, ranking, 1), recall_at_k(q.positives, ranking, 10),
                              reciprocal_rank(q.positives, ranking)))
        m = aggregate("validation", per_query, 100)
        return {"recall_at_1": round(m.recall_at_1, 2), "recall_at_10": round(m.recall_at_10, 2),
                "mrr": round(m.mrr, 4), "queries": len(self.queries), "pool": len(self.pool)}


RESUME_STATE = "resume.pt"  # inside the checkpoint directory: what a rerun continues from
VALIDATION_LOG = "validation.jsonl"  # one line per validation, streamed during training


def _save_checkpoint(out: Path, encoder: DenseEncoder, meta: dict) -> None:
    """Write the model, tokenizer and ``nesy_retriever.json`` into ``out``, file by file through
    a temporary directory (the resume state and validation log beside them are kept)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        encoder.model.save_pretrained(str(tmp), safe_serialization=True)
        encoder.tokenizer.save_pretrained(str(tmp))
        (tmp / CHECKPOINT_META).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
        for f in sorted(tmp.iterdir(), key=lambda f: f.name == CHECKPOINT_META):  # the meta last
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


TRAIN_SETTINGS = "train_settings.json"  # the settings of the run in a checkpoint directory


def _check_out(out: Path, config: TrainConfig) -> None:
    """``out`` is new, empty, or holds a run with the same settings (which this call continues)."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / TRAIN_SETTINGS).is_file():
        raise TrainingError(f"{out} exists and is not a nesy retriever training run; choose another --out")
    try:
        saved = json.loads((out / TRAIN_SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{out / TRAIN_SETTINGS} is unreadable ({exc}); choose another --out") from exc
    mine = json.loads(json.dumps(config.run_settings()))
    diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
    if diff:
        raise TrainingError(
            f"{out} holds a run with other settings ("
            + ", ".join(f"{k}: {saved.get(k)!r} there, {mine.get(k)!r} now" for k in diff)
            + "); rerun with the same settings to continue it, or choose another --out")


def train_retriever(
    corpus: PremiseCorpus,
    train_theorems: Sequence[TracedTheorem],
    out_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    val_theorems: Sequence[TracedTheorem] = (),
    progress: bool = False,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Fine-tune ``config.base_model`` on the tactics of ``train_theorems``; save to ``out_dir``.

    With ``val_theorems`` (and ``config.val_every``), the run is validated every ``val_every``
    steps, the best weights are kept and ``patience`` flat validations stop it. The run's state
    (weights, optimiser, schedule, data order, random states) is saved at every validation and
    when the time budget ends the invocation, and a rerun with the same settings continues from
    it: an interrupted run gives the weights an uninterrupted one would. A finished run is not
    trained again. ``on_step(step, loss)`` is called after every step.

    Raises TrainingError when the theorems yield no (state, premise) pair, or when ``out_dir``
    holds a run with other settings.
    """
    torch = require("torch", "ml", error=MissingExtraError)
    from tqdm import tqdm

    out = Path(out_dir)
    _check_out(out, config)
    pairs = _pairs(corpus, train_theorems)
    if not pairs:
        raise TrainingError("no training examples: no tactic of the training theorems uses a premise of the corpus")
    validation = Validation(corpus, val_theorems, config) if config.val_every and val_theorems else None
    if validation is not None and not len(validation):
        validation = None
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    encoder = DenseEncoder(EncoderConfig(model=config.base_model, max_seq_len=config.max_seq_len))
    encoder.model.train()
    if config.freeze_embeddings:
        for p in encoder.model.get_input_embeddings().parameters():
            p.requires_grad_(False)
    if config.trainable_layers is not None:
        layers = getattr(getattr(encoder.model, "encoder", None), "layer", None)
        if layers is None:
            raise TrainingError(f"trainable_layers needs a BERT-style model (model.encoder.layer); {encoder.model_dir} is not")
        for p in encoder.model.parameters():
            p.requires_grad_(False)
        for layer in list(layers)[len(layers) - config.trainable_layers:] if config.trainable_layers else []:
            for p in layer.parameters():
                p.requires_grad_(True)
    sampler = _NegativeSampler(corpus, rng)
    params = [p for p in encoder.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)

    steps_per_epoch = max(1, len(pairs) // config.batch_size)
    max_steps = int(np.ceil(config.max_epochs * steps_per_epoch))
    if config.max_steps is not None:
        max_steps = min(max_steps, config.max_steps)
    scheduler = warmup_cosine(torch, optimizer, config.warmup_steps, max_steps)
    planned_stop = StopReason.MAX_STEPS if config.max_steps is not None and config.max_steps <= max_steps else StopReason.EPOCHS

    # the run's state; a resumed run reads it back
    history: list[tuple[int, float]] = []
    validations: list[dict] = []
    order: list[int] = []
    seen = 0
    step = 0
    elapsed = 0.0  # training seconds of earlier invocations
    best: dict | None = None
    finished: str | None = None
    state_path = out / RESUME_STATE
    if state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        data = (corpus.digest, len(pairs))
        if "corpus_digest" in state and (state["corpus_digest"], state["num_pairs"]) != data:
            raise TrainingError(
                f"{out} holds a run on other data (corpus {str(state.get('corpus_digest'))[:12]}, {state.get('num_pairs')} pairs "
                f"there; corpus {data[0][:12]}, {data[1]} pairs now); rerun on the same data, or choose another --out")
        encoder.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        rng.setstate(state["python_rng"])
        step, seen, order, elapsed = state["step"], state["seen"], list(state["order"]), state["seconds"]
        history = [tuple(h) for h in state["loss_history"]]
        validations, best, finished = list(state["validations"]), state["best"], state.get("finished")
    resumed_from = step
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / TRAIN_SETTINGS, json.dumps(config.run_settings(), indent=2) + "\n")

    def meta(stop: StopReason | None, seconds: float) -> dict:
        return {
            "name": f"trained:{out.name}",
            "format": 1,
            "base_model": config.base_model,
            "base_model_id": encoder.model_id,
            "max_seq_len": config.max_seq_len,
            "pooling": "mean",
            "normalize": True,
            "query_format": QUERY_FORMAT,
            "corpus_digest": corpus.digest,
            "train_config": asdict(config),
            "result": {
                "steps": step, "planned_steps": max_steps, "examples_seen": seen, "num_train_pairs": len(pairs),
                "seconds": round(seconds, 1), "stop_reason": stop.value if stop else None,
                "best_step": best["step"] if best else None, "best_validation": best,
            },
            "validations": validations,
            "loss_history": history,
        }

    def save_state(seconds: float, finished_as: str | None = None) -> None:
        state = {
            "model": encoder.model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
            "python_rng": rng.getstate(), "step": step, "seen": seen, "order": order, "seconds": seconds,
            "loss_history": history, "validations": validations, "best": best, "finished": finished_as,
            "corpus_digest": corpus.digest, "num_pairs": len(pairs),
        }
        tmp = state_path.with_name(state_path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, state_path)

    if finished is not None:  # nothing left to do: report the finished run
        stop = StopReason(finished)
        return _result(out, step, seen, len(pairs), elapsed, stop, config, history, validations, best, resumed_from)

    def validate() -> dict:
        recent = [l for _, l in history[-config.val_every:]]
        row = {"step": step, **validation.run(encoder),
               "loss": round(float(np.mean(recent)), 4) if recent else None,
               "seconds": round(elapsed + time.monotonic() - start, 1)}
        validations.append(row)
        with open(out / VALIDATION_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        message = f"step {step}: validation R@1 {row['recall_at_1']} R@10 {row['recall_at_10']} MRR {row['mrr']}"
        if progress:
            tqdm.write(message + (f" (loss {row['loss']})" if recent else " (the starting encoder)"))
        return row

    stop: StopReason | None = None
    patience_left = config.patience
    if best is not None and config.patience:
        patience_left = config.patience - sum(1 for v in validations if v["step"] > best["step"])
    start = time.monotonic()
    if validation is not None and step == 0 and not validations:
        # the starting encoder is a candidate too: a run that only hurts keeps its weights
        best = validate()
        _save_checkpoint(out, encoder, meta(None, 0.0))
    bar = tqdm(total=max_steps, initial=step, desc="training retriever", unit="step", disable=not progress)
    try:
        while True:
            if step >= max_steps:
                stop = planned_stop
                break
            if config.time_budget_s is not None and time.monotonic() - start >= config.time_budget_s:
                stop = StopReason.TIME_BUDGET
                break
            if len(order) < config.batch_size:
                fresh = list(range(len(pairs)))
                rng.shuffle(fresh)
                order.extend(fresh)
            batch = [pairs[i] for i in order[:config.batch_size]]
            del order[:config.batch_size]
            docs: list[int] = []
            slot: dict[int, int] = {}

            def _slot(idx: int, slot: dict[int, int] = slot, docs: list[int] = docs) -> int:
                if idx not in slot:
                    slot[idx] = len(docs)
                    docs.append(idx)
                return slot[idx]

            targets = [_slot(p.positive) for p in batch]
            for p in batch:
                for neg in sampler.sample(p, config.num_negatives, config.num_in_file_negatives):
                    _slot(neg)
            mask = torch.zeros(len(batch), len(docs), dtype=torch.bool)
            for j, p in enumerate(batch):
                for other in p.all_positives:
                    if other in slot and slot[other] != targets[j]:
                        mask[j, slot[other]] = True
            q = encoder.embed_tensor([p.query for p in batch])
            d = encoder.embed_tensor([premise_text(corpus[i]) for i in docs])
            logits = (q @ d.T) / config.temperature
            logits = logits.masked_fill(mask, float("-inf"))
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(targets))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            seen += len(batch)
            history.append((step, float(loss.item())))
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1][1]:.3f}")
            if on_step is not None:
                on_step(step, history[-1][1])
            if validation is not None and step % config.val_every == 0:
                row = validate()
                if best is None or (row["recall_at_10"], row["mrr"]) > (best["recall_at_10"], best["mrr"]):
                    best = row
                    patience_left = config.patience
                    _save_checkpoint(out, encoder, meta(None, elapsed + time.monotonic() - start))
                else:
                    patience_left -= 1
                save_state(elapsed + time.monotonic() - start)
                if config.patience and patience_left <= 0:
                    stop = StopReason.CONVERGED
                    break
    finally:
        bar.close()
    seconds = elapsed + time.monotonic() - start
    encoder.model.eval()
    done = stop is not StopReason.TIME_BUDGET
    save_state(seconds, stop.value if done else None)
    if best is None:  # nothing validated: the last weights are the checkpoint
        _save_checkpoint(out, encoder, meta(stop, seconds))
    else:  # the best validated weights are already in ``out``; record how the run ended
        m = read_checkpoint_meta(out)
        final = meta(stop, seconds)
        final["result"]["checkpoint_step"] = best["step"]
        m.update({k: final[k] for k in ("result", "validations", "loss_history")})
        atomic_write_text(out / CHECKPOINT_META, json.dumps(m, indent=2, default=str) + "\n")
    return _result(out, step, seen, len(pairs), seconds, stop, config, history, validations, best, resumed_from)


def _result(out, step, seen, n_pairs, seconds, stop, config, history, validations, best, resumed_from) -> TrainResult:
    return TrainResult(out, step, seen, n_pairs, seconds, stop, config, tuple(tuple(h) for h in history),
                       tuple(validations), best["step"] if best else None, resumed_from)
