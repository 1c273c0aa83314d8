"""A small tactic model trained here: data from Coq traces, a BPE tokenizer, a tiny GPT-2.

Where no pretrained prover model can be downloaded, this builds one from scratch so that tests
and the README comparison use a real transformers generator:

1. :func:`synthetic_lemmas` writes true Coq lemmas from templates (linear equations and
   inequalities over nat/Z/R, ring identities, squares, conjunctions, propositional facts), each
   with random coefficients drawn from a seeded ``random.Random``. None is a miniF2F statement.
2. :func:`collect_pairs` runs Coq on each lemma (and on any extra theorems, e.g. nesy's built-in
   problems): ``intros``, then ``split`` where the goal is a conjunction, then the first portfolio
   tactic that closes each goal. Every step that Coq accepted becomes a ``(state, tactic)`` pair,
   as does the one-shot ``intros; TAC`` from the initial state.
3. :func:`train_tactic_model` trains a byte-level BPE tokenizer and a GPT-2 of the configured size
   on ``[GOAL] state [PROOFSTEP] tactic</s>`` (loss on the tactic only) and saves both with
   ``save_pretrained`` plus ``nesy_generator.json`` (prompt format), loadable by
   :class:`provers.generators.hf.HFGenerator`.

Weights go to a cache directory (``$NESY_CACHE`` or ``~/.cache/nesy``), never into the repo.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from nesyrun.cache import cache_dir
from provers.generators.hf import CAUSAL_PROMPT, PROMPT_FILE, import_transformers
from provers.protocol import EnvConfig, ProofFinished, TacticState, Theorem

LEMMA_HEADER = "Require Import Arith ZArith Reals Lia Lra Psatz.\nOpen Scope R_scope."


def default_model_dir(name: str = "tactic-gpt-tiny") -> Path:
    return cache_dir() / "models" / name


# ---------------------------------------------------------------------- data


def synthetic_lemmas(n: int, seed: int = 0) -> list[Theorem]:
    """``n`` true lemmas from templates (see the module doc); the same ``seed`` gives the same list."""
    rng = random.Random(seed)

    def c(lo: int = 1, hi: int = 9) -> int:
        return rng.randint(lo, hi)

    def t_lin_z() -> str:
        a, b, v = c(), c(-9, 9), c(-9, 9)
        return f"forall x : Z, ({a} * x + {b} = {a * v + b})%Z -> x = {v}%Z"

    def t_lin_nat() -> str:
        a, b, v = c(), c(0, 9), c(0, 9)
        return f"forall n : nat, {a} * n + {b} = {a * v + b} -> n = {v}"

    def t_ineq_nat() -> str:
        a, b = c(), c(0, 9)
        return f"forall x y : nat, x <= y -> {a} * x + {b} <= {a} * y + {b + c(0, 3)}"

    def t_sys_z() -> str:
        x, y, a, b = c(-5, 5), c(-5, 5), c(), c()
        return f"forall x y : Z, (x + y = {x + y})%Z -> ({a} * x - {b} * y = {a * x - b * y})%Z -> x = {x}%Z"

    def t_lin_r() -> str:
        a, b, v = c(), c(-9, 9), c(-9, 9)
        return f"forall x : R, {a} * x + {b} = {a * v + b} -> x = {v}"

    def t_ineq_r() -> str:
        a, b = c(), c()
        return f"forall x y : R, x < y -> {a} * x + {b} < {a} * y + {b}"

    def t_ring_r() -> str:
        k = c(1, 5)
        return rng.choice(
            [
                f"forall a b : R, (a + {k} * b) * (a - {k} * b) = a * a - {k * k} * (b * b)",
                f"forall a b : R, (a + b) ^ 2 = a ^ 2 + 2 * a * b + b ^ 2",
                f"forall x : R, (x + {k}) * (x + {k}) = x * x + {2 * k} * x + {k * k}",
            ]
        )

    def t_ring_z() -> str:
        k = c(1, 5)
        return f"forall a b : Z, ((a + {k} * b) * (a - {k} * b) = a * a - {k * k} * (b * b))%Z"

    def t_square_r() -> str:
        return f"forall x : R, 0 <= x * x + {c(0, 9)}"

    def t_square_z() -> str:
        return f"forall x y : Z, (0 <= x * x + y * y + {c(0, 9)})%Z"

    def t_conj_z() -> str:
        v = c(-9, 9)
        return f"forall x : Z, x = {v}%Z -> (x + 1 = {v + 1})%Z /\\ (2 * x = {2 * v})%Z"

    def t_compute() -> str:
        a, b = c(2, 30), c(2, 30)
        return rng.choice([f"({a} * {b} + {a} = {a * b + a})%Z", f"({a * b + 1} mod {a} = 1)%Z" if a > 1 else f"({a} = {a})%Z", f"(Nat.pow 2 {c(1, 8)} > 1)%nat"])

    def t_prop() -> str:
        return rng.choice(
            [
                "forall P Q : Prop, P /\\ Q -> Q /\\ P",
                "forall P Q R : Prop, (P -> Q) -> (Q -> R) -> P -> R",
                "forall P Q : Prop, P \\/ Q -> Q \\/ P",
                "forall P : Prop, P -> ~ ~ P",
            ]
        )

    def t_field_r() -> str:
        k = c(2, 9)
        return f"forall x : R, x <> 0 -> x * (1 / x) * {k} = {k}"

    templates: list[Callable[[], str]] = [t_lin_z, t_lin_nat, t_ineq_nat, t_sys_z, t_lin_r, t_ineq_r, t_ring_r, t_ring_z, t_square_r, t_square_z, t_conj_z, t_compute, t_prop, t_field_r]
    out, seen = [], set()
    while len(out) < n:
        body = rng.choice(templates)()
        if body in seen and len(seen) < 10 * n:
            continue
        seen.add(body)
        name = f"syn_{len(out)}"
        out.append(Theorem(name, f"Lemma {name} : {body}.", LEMMA_HEADER))
    return out


@dataclass(frozen=True)
class Pair:
    state: str
    tactic: str


CLOSERS: tuple[str, ...] = ("reflexivity", "lia", "lra", "ring", "field", "nia", "nra", "tauto", "firstorder", "auto", "vm_compute; reflexivity")


def trace_theorem(theorem: Theorem, *, tactic_timeout_s: float = 3.0, closers: tuple[str, ...] = CLOSERS, pool=None) -> list[Pair]:
    """Pairs Coq accepted along ``intros`` / ``split`` / closing steps (see the module doc).

    ``pool``: a :class:`provers.coq.pool.WarmPool` to start on (the lemmas share one header).
    """
    from provers.errors import EnvError
    from provers.registry import get_backend

    pairs: list[Pair] = []
    config = EnvConfig(tactic_timeout_s=tactic_timeout_s)
    env_obj = get_backend("coq")(theorem, config, pool=pool) if pool is not None else get_backend("coq")(theorem, config)
    try:
        with env_obj as (env, s0):

            def close(state: TacticState) -> str | None:
                for tac in closers:
                    r = env.run_tac(state, tac)
                    if isinstance(r, ProofFinished) or (isinstance(r, TacticState) and r.num_goals < state.num_goals):
                        return tac
                return None

            state = s0
            r = env.run_tac(s0, "intros")
            if isinstance(r, TacticState) and r != s0:
                pairs.append(Pair(s0.pp, "intros"))
                state = r
            tac = close(state)
            if tac is not None:
                pairs.append(Pair(state.pp, tac))
                if state is not s0:
                    pairs.append(Pair(s0.pp, f"intros; {tac}"))
                return pairs
            r = env.run_tac(state, "split")
            if isinstance(r, TacticState) and r.num_goals > state.num_goals:
                pairs.append(Pair(state.pp, "split"))
                cur = r
                while isinstance(cur, TacticState):
                    tac = close(cur)
                    if tac is None:
                        break
                    pairs.append(Pair(cur.pp, tac))
                    cur = env.run_tac(cur, tac)
    except EnvError:
        return pairs
    return pairs


def collect_pairs(theorems: Iterable[Theorem], *, workers: int = 2, tactic_timeout_s: float = 3.0, on_progress: Callable[[int], None] | None = None) -> list[Pair]:
    """Trace every theorem (in threads sharing one warm pool); distinct pairs in input order."""
    from concurrent.futures import ThreadPoolExecutor

    from provers.coq.pool import WarmPool

    theorems = list(theorems)
    with WarmPool() as warm, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = []
        for i, pairs in enumerate(pool.map(lambda t: trace_theorem(t, tactic_timeout_s=tactic_timeout_s, pool=warm), theorems)):
            results.append(pairs)
            if on_progress:
                on_progress(i + 1)
    seen, out = set(), []
    for pairs in results:
        for p in pairs:
            if p not in seen:
                seen.add(p)
                out.append(p)
    return out


def write_pairs(pairs: list[Pair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(asdict(p)) + "\n" for p in pairs), encoding="utf-8")


def read_pairs(path: Path) -> list[Pair]:
    from provers.errors import InputError

    try:
        return [Pair(**json.loads(line)) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise InputError(f"{path}: not a pairs file (JSONL of {{state, tactic}}): {exc}") from exc


# ---------------------------------------------------------------------- model


@dataclass(frozen=True)
class TrainConfig:
    """Size and schedule of the tiny model. Defaults train in about a minute on 2 CPU cores."""

    vocab_size: int = 800
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    n_positions: int = 512
    max_input_chars: int = 400
    steps: int = 300
    batch_size: int = 8
    lr: float = 2e-3
    seed: int = 0


@dataclass(frozen=True)
class TrainReport:
    out_dir: str
    pairs: int
    steps: int
    final_loss: float
    seconds: float
    parameters: int


def _example_text(state: str, max_chars: int) -> str:
    return CAUSAL_PROMPT.format(state=state[:max_chars])


# Shared with the traced-data trainer (:mod:`provers.generators.traced_training`): one tokenizer
# recipe, one model recipe, one way to lay out an example and a batch.


def train_bpe_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on ``texts`` (special tokens ``<pad>``, ``</s>``,
    ``<unk>``; nothing added around an encoded text), as a transformers fast tokenizer."""
    _, transformers = import_transformers()
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(list(texts) + ["\n"], trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


def gpt2_from_config(tok, *, n_layer: int, n_head: int, n_embd: int, n_positions: int):
    """A freshly initialised GPT-2 sized as given, for the vocabulary of ``tok`` (call
    ``torch.manual_seed`` first: the initial weights come from torch's generator)."""
    _, transformers = import_transformers()
    model_config = transformers.GPT2Config(
        vocab_size=len(tok),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    return transformers.GPT2LMHeadModel(model_config)


def causal_example(tok, prompt_text: str, tactic: str, n_positions: int, *, max_prompt: int | None = None) -> tuple[list[int], list[int], bool]:
    """``(input ids, labels, cut)`` for one example: the prompt as the model reads it when proving
    (``tok(prompt_text)``, special tokens and all), then the tactic and end-of-sequence, the loss
    on the tactic only (labels -100 on the prompt).

    ``max_prompt``: a longer prompt keeps its last ``max_prompt`` tokens (the end of the state and
    the prompt's tail), as the ``hf:`` generator cuts an over-long input of a causal model. The
    whole is then cut at ``n_positions``. ``cut`` says whether anything was cut.
    """
    prompt = tok(prompt_text)["input_ids"]
    target = tok(tactic, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    cut = len(prompt) + len(target) > n_positions
    if max_prompt is not None and len(prompt) > max_prompt:
        prompt, cut = prompt[len(prompt) - max_prompt:], True
    ids = (prompt + target)[:n_positions]
    labels = ([-100] * len(prompt) + target)[:n_positions]
    return ids, labels, cut


def collate(torch, batch: list[tuple[list[int], list[int]]], pad_id: int):
    """``(input_ids, attention_mask, labels)`` tensors for ``batch``, right-padded."""
    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, (x, y) in enumerate(batch):
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
        mask[i, : len(x)] = 1
    return ids, mask, labels


def train_tactic_model(pairs: list[Pair], out_dir: Path, config: TrainConfig = TrainConfig(), *, on_step: Callable[[int, float], None] | None = None) -> TrainReport:
    """Train tokenizer and model on ``pairs`` and save them to ``out_dir`` (see the module doc)."""
    from provers.errors import InputError

    if not pairs:
        raise InputError("no training pairs: nothing to train the tactic model on")
    torch, _ = import_transformers()

    start = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    texts = [_example_text(p.state, config.max_input_chars) + p.tactic for p in pairs]
    tok = train_bpe_tokenizer(texts, config.vocab_size)
    model = gpt2_from_config(tok, n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd, n_positions=config.n_positions)
    examples = [causal_example(tok, _example_text(p.state, config.max_input_chars), p.tactic, config.n_positions)[:2] for p in pairs]
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * max(0.05, 1 - s / config.steps))
    model.train()
    loss_value = float("nan")
    for step in range(config.steps):
        batch = [examples[rng.randrange(len(examples))] for _ in range(config.batch_size)]
        ids, mask, labels = collate(torch, batch, tok.pad_token_id)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_value = float(loss.detach())
        if on_step:
            on_step(step + 1, loss_value)
    model.eval()
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    (out_dir / PROMPT_FILE).write_text(json.dumps({"prompt": CAUSAL_PROMPT, "stop": "\n", "max_input_chars": config.max_input_chars}, indent=2), encoding="utf-8")
    report = TrainReport(str(out_dir), len(pairs), config.steps, loss_value, time.monotonic() - start, sum(p.numel() for p in model.parameters()))
    (out_dir / "nesy_training.json").write_text(json.dumps({"train_config": asdict(config), "report": asdict(report)}, indent=2), encoding="utf-8")
    return report
