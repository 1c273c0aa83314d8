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

The defaults are sized for CPUs: sequences of 128 tokens, batches of 16, and a wall-clock
budget (``time_budget_s``, 20 minutes) that ends training cleanly; the budget and why training
stopped are part of the result.
"""

from __future__ import annotations

import enum
import json
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nesyrun.extras import require
from retrieval.errors import MissingExtraError
from retrieval.corpus import PremiseCorpus
from retrieval.dataset import TracedTheorem
from retrieval.encoder import CHECKPOINT_META, DenseEncoder, EncoderConfig
from retrieval.errors import TrainingError
from retrieval.queries import build_queries
from retrieval.text import premise_text, query_text


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters and budget. Sizes are per step; times in seconds."""

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

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise TrainingError("batch_size must be at least 1")
        if not 0 <= self.num_in_file_negatives <= self.num_negatives:
            raise TrainingError("need 0 <= num_in_file_negatives <= num_negatives")
        if self.temperature <= 0:
            raise TrainingError("temperature must be positive")


class StopReason(enum.Enum):
    MAX_STEPS = "max_steps"
    EPOCHS = "epochs"
    TIME_BUDGET = "time_budget"


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


def _save_checkpoint(out: Path, encoder: DenseEncoder, meta: dict) -> None:
    if out.exists() and not (out / CHECKPOINT_META).is_file() and any(out.iterdir()):
        raise TrainingError(f"{out} exists and is not a nesy retriever checkpoint; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        encoder.model.save_pretrained(str(tmp), safe_serialization=True)
        encoder.tokenizer.save_pretrained(str(tmp))
        (tmp / CHECKPOINT_META).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{time.time_ns()}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def train_retriever(
    corpus: PremiseCorpus,
    train_theorems: Sequence[TracedTheorem],
    out_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    progress: bool = False,
) -> TrainResult:
    """Fine-tune ``config.base_model`` on the tactics of ``train_theorems``; save to ``out_dir``.

    Raises TrainingError when the theorems yield no (state, premise) pair.
    """
    torch = require("torch", "ml", error=MissingExtraError)
    transformers = require("transformers", "ml", error=MissingExtraError)
    from tqdm import tqdm

    pairs = _pairs(corpus, train_theorems)
    if not pairs:
        raise TrainingError("no training examples: no tactic of the training theorems uses a premise of the corpus")
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
    scheduler = transformers.get_constant_schedule_with_warmup(optimizer, config.warmup_steps)

    steps_per_epoch = max(1, len(pairs) // config.batch_size)
    max_steps = int(np.ceil(config.max_epochs * steps_per_epoch))
    if config.max_steps is not None:
        max_steps = min(max_steps, config.max_steps)
    stop = StopReason.MAX_STEPS if config.max_steps is not None and config.max_steps <= max_steps else StopReason.EPOCHS
    history: list[tuple[int, float]] = []
    order: list[int] = []
    seen = 0
    start = time.monotonic()
    step = 0
    bar = tqdm(total=max_steps, desc="training retriever", unit="step", disable=not progress)
    try:
        while step < max_steps:
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

            def _slot(idx: int) -> int:
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
    finally:
        bar.close()
    seconds = time.monotonic() - start
    encoder.model.eval()
    out = Path(out_dir)
    result = TrainResult(out, step, seen, len(pairs), seconds, stop, config, tuple(history))
    meta = {
        "name": f"trained:{out.name}",
        "format": 1,
        "base_model": config.base_model,
        "base_model_id": encoder.model_id,
        "max_seq_len": config.max_seq_len,
        "pooling": "mean",
        "normalize": True,
        "corpus_digest": corpus.digest,
        "train_config": asdict(config),
        "result": {
            "steps": step, "examples_seen": seen, "num_train_pairs": len(pairs), "seconds": round(seconds, 1),
            "stop_reason": stop.value, "first_loss": result.first_loss, "last_loss": result.last_loss,
        },
        "loss_history": history,
    }
    _save_checkpoint(out, encoder, meta)
    return result
