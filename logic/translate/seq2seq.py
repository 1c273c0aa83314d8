"""A sentence-level NL -> FOL translator trained here: a small BART (or T5, ``--arch``) built
from a config, with a byte-level BPE tokenizer trained on the data (``nesy train translator``).

Training data (``build_pairs``), one pair per distinct sentence:

* FOLIO train: each premise with its gold ``premises-FOL`` formula and each conclusion with its
  ``conclusion-FOL`` (formulas that do not parse are skipped and counted), source prefix ``folio:``;
* ProofWriter train (and optionally NLSat shards, ``sentences``/``fol`` per record): each sentence
  with the controlled-English parser's formula -- a *distillation* of the deterministic parser
  (classical negation), source prefix ``rule:``; with ``augment`` N, also N fresh-vocabulary
  copies of each of those stories (``logic.translate.augment``), made after the originals.

Targets are nesy's own printing of the parsed formula (``str(parse(...))``), so every target
parses. Before training, every pair whose sentence occurs (after normalising case and spaces) in
an evaluation split -- FOLIO validation, ProofWriter dev and test -- is removed, and the counts are
written to ``training.json``.

Delexicalisation (``TrainConfig.delex``, on by default; ``logic.translate.delex``): content
words are replaced by numbered placeholders in the source (``If <0> <1> <2> then ...``, "the" left out) and
symbol names in the target are written with those placeholders (``<1>(<0>, <2>)``); function
words are learned from the pairs and saved as ``delex.json`` next to the model. The model learns
sentence *templates* (ProofWriter's 11k training sentences have about 1,200), each as often as
its sentences occur; the translator relexicalises its output from the sentence's own words.

Translation (``Seq2SeqTranslator``): every sentence of a problem is translated k times (greedy for
the first sample when k = 1, sampling otherwise); a sample that does not parse is re-sampled, for
that sentence only, up to ``retries`` times (repaired decoding); sample j of a problem is the j-th
sample of each of its sentences. A sample that parses but names a constant the sentence does not
mention, gives a predicate another arity than most outputs for the problem do, or (distilled
``rule:`` data only) leaves out a content word of the sentence, is re-sampled the same way (and
kept if no re-sample does better). The caller proves each sample and takes LINC's majority vote with
failed samples excluded. Before proving, the names of each sample's formulas are unified across
the story (``logic.translate.unify``: ``Dogs``/``Dog``, ``vic_dicara``/``vicdicara``).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from logic.errors import DataError, LogicError, MissingDependencyError, ModelError, ParseError, TranslationError
from logic.parsing import parse
from logic.solvers.base import ErrorStage
from logic.syntax import signature

PREFIX = {"folio": "folio: ", "proofwriter": "rule: ", "prontoqa": "rule: ", "nlsat": "rule: "}


def normalise_text(sentence: str) -> str:
    return re.sub(r"\s+", " ", sentence.strip().lower())


@dataclass(frozen=True)
class PairSet:
    pairs: tuple[tuple[str, str], ...]  # (source with prefix, target formula text)
    counts: dict  # what came from where, what was skipped and why


def _jsonl_or_json(path: Path) -> list[dict]:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    try:
        rows = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is neither a JSON list nor JSON lines: {exc}") from None
    return [r for r in rows if isinstance(r, dict)]


def evaluation_sentences(folio_dir: Path | None, proofwriter_dir: Path | None) -> set[str]:
    """Normalised sentences of every evaluation split (never trained on)."""
    from logic.datasets import load

    held_out: set[str] = set()
    sources = []
    if folio_dir is not None:
        sources.append(("folio", folio_dir, "validation"))
    if proofwriter_dir is not None:
        sources += [("proofwriter", proofwriter_dir, "test"), ("proofwriter", proofwriter_dir, "dev")]
    for dataset, path, split in sources:
        for p in load(dataset, path, split):
            held_out.update(normalise_text(s) for s in (*p.context, p.question))
    return held_out


def build_pairs(
    *,
    folio_dir: Path | None,
    proofwriter_dir: Path | None,
    nlsat_dirs: Sequence[Path] = (),
    max_rule_pairs: int | None = None,
    seed: int = 0,
    augment: int = 0,
) -> PairSet:
    from logic.datasets import resolve
    from logic.translate.controlled import Lexicon, split_sentences, translate_sentence

    held_out = evaluation_sentences(folio_dir, proofwriter_dir)
    counts: dict = {"held_out_sentences": len(held_out), "folio": {}, "rule": {}}
    pairs: dict[str, str] = {}

    def add(source: str, target: str, bucket: dict) -> None:
        if normalise_text(source.split(": ", 1)[1]) in held_out:
            bucket["removed_overlap"] = bucket.get("removed_overlap", 0) + 1
            return
        if source in pairs:
            bucket["duplicates"] = bucket.get("duplicates", 0) + 1
            return
        pairs[source] = target
        bucket["pairs"] = bucket.get("pairs", 0) + 1

    if folio_dir is not None:
        stats = counts["folio"]
        for row in _jsonl_or_json(resolve("folio", folio_dir, "train")):
            nl = list(row.get("premises") or []) + [row.get("conclusion")]
            fol = list(row.get("premises-FOL") or []) + [row.get("conclusion-FOL")]
            if len(nl) != len(fol):
                stats["skipped_misaligned"] = stats.get("skipped_misaligned", 0) + 1
                continue
            for s, f in zip(nl, fol):
                if not isinstance(s, str) or not isinstance(f, str) or not s.strip():
                    continue
                try:
                    target = str(parse(f))
                except ParseError:
                    stats["skipped_unparsable_gold"] = stats.get("skipped_unparsable_gold", 0) + 1
                    continue
                add(PREFIX["folio"] + s.strip(), target, stats)

    rule_sentences: list[tuple[str, Lexicon]] = []
    stories: list[list[str]] = []  # the same sentences, story by story (for fresh-vocabulary copies)
    if proofwriter_dir is not None:
        for row in _jsonl_or_json(resolve("proofwriter", proofwriter_dir, "train")):
            context = row.get("context")
            question = row.get("question")
            if not isinstance(context, str) or not isinstance(question, str):
                continue
            sentences = split_sentences(context) + [question.rsplit("?", 1)[-1].strip()]
            lexicon = Lexicon.from_sentences(sentences)
            rule_sentences += [(s, lexicon) for s in sentences]
            stories.append(sentences)
    for d in nlsat_dirs:
        shards = sorted(Path(d).glob("shards/*.jsonl"))
        if not shards:
            raise DataError(f"--nlsat {d}: no shards/*.jsonl (an NLSat output directory is expected)")
        for shard in shards:
            for row in _jsonl_or_json(shard):
                sentences = [s for s in row.get("sentences") or [] if isinstance(s, str)]
                lexicon = Lexicon.from_sentences(sentences)
                rule_sentences += [(s, lexicon) for s in sentences]
                stories.append(sentences)
    rng = random.Random(seed)
    seen: set[str] = set()
    unique = []
    for s, lex in rule_sentences:
        if s not in seen:
            seen.add(s)
            unique.append((s, lex))
    rng.shuffle(unique)
    stats = counts["rule"]
    for s, lex in unique:
        if max_rule_pairs is not None and stats.get("pairs", 0) >= max_rule_pairs:
            break
        try:
            target = str(translate_sentence(s, lex, negation="classical"))
        except (TranslationError, ValueError):
            stats["skipped_untranslatable"] = stats.get("skipped_untranslatable", 0) + 1
            continue
        add(PREFIX["proofwriter"] + s, target, stats)
    if augment > 0 and stories:
        from logic.translate.augment import fresh_copy

        banned = frozenset(w for s in held_out for w in re.findall(r"[a-z]+", s))
        copies = counts["augmented"] = {"copies_per_story": augment, "sentences": 0}
        for _ in range(augment):
            for story in stories:
                if max_rule_pairs is not None and stats.get("pairs", 0) >= max_rule_pairs:
                    break
                for s, target in fresh_copy(story, rng, banned):
                    copies["sentences"] += 1
                    add(PREFIX["proofwriter"] + s, target, stats)
    if not pairs:
        raise DataError("no training pairs: give --folio and/or --proofwriter (or --nlsat) data")
    return PairSet(tuple(sorted(pairs.items())), counts)


# ------------------------------------------------------------------------------------ training


@dataclass(frozen=True)
class TrainConfig:
    out: Path
    folio: Path | None = None
    proofwriter: Path | None = None
    nlsat: tuple[Path, ...] = ()
    max_rule_pairs: int | None = None
    vocab_size: int = 2000
    d_model: int = 128
    layers: int = 2
    heads: int = 4
    d_ff: int = 384
    batch_size: int = 32
    lr: float = 2e-3
    epochs: float = 6.0
    minutes: float | None = None  # stop after this much training time (the run can be resumed)
    seed: int = 0
    threads: int | None = None
    max_source_tokens: int = 96
    max_target_tokens: int = 128
    checkpoint_every: int = 200
    delex: bool = True  # placeholders for content words (logic.translate.delex)
    keep_articles: bool = True  # delexicalised source keeps "the" (marks where a name starts)
    augment: int = 1  # fresh-vocabulary copies of each controlled-English training story (logic.translate.augment)
    placeholder_tokens: bool = True  # each placeholder spelling is one token (logic.translate.delex.placeholder_tokens)
    arch: str = "bart"  # "bart" (absolute positions) or "t5" (the models trained before; see _build_model)


@dataclass
class TrainReport:
    out: Path
    pairs: int
    steps: int
    total_steps: int
    epochs_done: float
    train_seconds: float
    final_loss: float
    resumed_from_step: int
    finished: bool
    counts: dict = field(default_factory=dict)


def _torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("training the translator needs torch and transformers: pip install 'nesy[ml]'") from exc
    return torch


def _train_tokenizer(texts: Iterable[str], vocab_size: int, path: Path, added: Sequence[str] = ()):
    """A byte-level BPE tokenizer trained on ``texts``; each of ``added`` is then one token."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    if added:
        tok.add_tokens([AddedToken(t, normalized=False) for t in added])
    from tokenizers.processors import TemplateProcessing

    tok.post_processor = TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(str(path))
    return fast


DELEX_FILE = "delex.json"


def _delex_pairs(pairs: Sequence[tuple[str, str]], function_words: frozenset[str], keep_articles: bool) -> list[tuple[str, str]]:
    """Each (prefix + sentence, formula) pair with placeholders for content words. Templates are
    *not* deduplicated: a template is trained on as often as distinct sentences have it, so the
    common forms ("<0> is <1>.") weigh more than a rare long rule."""
    from logic.translate.delex import delexicalise_source, delexicalise_target

    out = []
    for source, target in pairs:
        prefix, sentence = source.split(": ", 1)
        delex, words = delexicalise_source(sentence, function_words, keep_articles)
        out.append((f"{prefix}: {delex}", delexicalise_target(target, words)))
    return out


ARCHITECTURES = ("bart", "t5")


def _build_model(config: TrainConfig, tokenizer):
    """A seq2seq model from a config. ``bart`` (the default) has learned *absolute* position
    embeddings; ``t5``'s only order signal is a relative-position bias, which a model this small
    trained from scratch barely uses: it then reads a sentence almost as a bag of tokens and
    cannot tell "The <0> <1> the <2> <3>." from "The <0> <1> <2> the <3>." (measured: the two
    encodings differ by 5e-7 at the first token after 2.5 epochs)."""
    from transformers import BartConfig, BartForConditionalGeneration, T5Config, T5ForConditionalGeneration

    if config.arch == "t5":
        return T5ForConditionalGeneration(T5Config(
            vocab_size=len(tokenizer), d_model=config.d_model, d_kv=config.d_model // config.heads, d_ff=config.d_ff,
            num_layers=config.layers, num_decoder_layers=config.layers, num_heads=config.heads, dropout_rate=0.1,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id,
            feed_forward_proj="gated-gelu", tie_word_embeddings=True,
        ))
    if config.arch == "bart":
        return BartForConditionalGeneration(BartConfig(
            vocab_size=len(tokenizer), d_model=config.d_model, encoder_layers=config.layers, decoder_layers=config.layers,
            encoder_attention_heads=config.heads, decoder_attention_heads=config.heads,
            encoder_ffn_dim=config.d_ff, decoder_ffn_dim=config.d_ff, dropout=0.1, attention_dropout=0.0,
            max_position_embeddings=max(config.max_source_tokens, config.max_target_tokens) + 2,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.eos_token_id, forced_bos_token_id=None, forced_eos_token_id=tokenizer.eos_token_id,
            tie_word_embeddings=True, scale_embedding=True,
        ))
    raise LogicError(f"unknown translator architecture {config.arch!r} (choose from {', '.join(ARCHITECTURES)})")


def train_translator(config: TrainConfig, progress: Callable[[str], None] | None = None) -> TrainReport:
    """Train (or resume) a translator into ``config.out``; see the module docstring."""
    from nesyrun.training import optimizer_step, resume, warmup_cosine

    torch = _torch()
    from transformers import PreTrainedTokenizerFast

    out = config.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create --out {out}: {exc.strerror or exc}") from None
    state_path = out / "train_state.pt"
    meta_path = out / "training.json"
    def plain(v):  # paths resolved, so a rerun from another directory or spelling still matches
        if isinstance(v, Path):
            return str(v.expanduser().resolve())
        return [plain(x) for x in v] if isinstance(v, tuple) else v

    settings = {k: plain(v) for k, v in asdict(config).items()}
    for k in ("out", "minutes", "threads", "checkpoint_every", "epochs"):
        settings.pop(k)
    if config.threads:
        torch.set_num_threads(config.threads)

    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("settings") != settings:
            raise LogicError(f"{out} holds a translator trained with other settings; use a new --out")
        pairs = [tuple(p) for p in json.loads((out / "pairs.json").read_text())]
        counts = meta["counts"]
        if config.delex:
            pairs = _delex_pairs(pairs, frozenset(json.loads((out / DELEX_FILE).read_text())["function_words"]), config.keep_articles)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(out / "tokenizer"))
    else:
        data = build_pairs(
            folio_dir=config.folio, proofwriter_dir=config.proofwriter, nlsat_dirs=config.nlsat,
            max_rule_pairs=config.max_rule_pairs, seed=config.seed, augment=config.augment,
        )
        pairs, counts = list(data.pairs), data.counts
        (out / "pairs.json").write_text(json.dumps(pairs))
        if config.delex:
            from logic.translate.delex import learn_function_words

            function_words = learn_function_words((s.split(": ", 1)[1], t) for s, t in pairs)
            (out / DELEX_FILE).write_text(json.dumps({"function_words": sorted(function_words), "keep_articles": config.keep_articles}, indent=0))
            pairs = _delex_pairs(pairs, function_words, config.keep_articles)
            counts["delexicalised_templates"] = len(set(pairs))
        added: list[str] = []
        if config.delex and config.placeholder_tokens:
            from logic.translate.delex import placeholder_tokens

            added = placeholder_tokens()
        tokenizer = _train_tokenizer((t for p in pairs for t in p), config.vocab_size, out / "tokenizer", added)
        meta = {"settings": settings, "counts": counts, "train_seconds": 0.0, "steps": 0}
        meta_path.write_text(json.dumps(meta, indent=1))

    torch.manual_seed(config.seed)
    model = _build_model(config, tokenizer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    total_steps = max(1, int(config.epochs * steps_per_epoch))
    warmup = min(200, total_steps // 10 + 1)

    scheduler = warmup_cosine(torch, optimizer, warmup, total_steps)
    step = resume(torch, state_path, model, optimizer, scheduler)
    resumed_from = step

    sources = tokenizer([s for s, _ in pairs], truncation=True, max_length=config.max_source_tokens)["input_ids"]
    targets = tokenizer([t for _, t in pairs], truncation=True, max_length=config.max_target_tokens)["input_ids"]

    def batch_for(epoch: int, index: int):
        order = list(range(len(pairs)))
        random.Random(f"{config.seed}|{epoch}").shuffle(order)
        ids = order[index * config.batch_size : (index + 1) * config.batch_size]
        src = [sources[i] for i in ids]
        tgt = [targets[i] for i in ids]
        pad = tokenizer.pad_token_id
        ls, lt = max(map(len, src)), max(map(len, tgt))
        input_ids = torch.tensor([s + [pad] * (ls - len(s)) for s in src])
        labels = torch.tensor([t + [-100] * (lt - len(t)) for t in tgt])
        return input_ids, (input_ids != pad).long(), labels

    def save(finished: bool) -> None:
        model.save_pretrained(str(out), safe_serialization=True)
        tokenizer.save_pretrained(str(out))
        tmp = state_path.with_name("train_state.pt.tmp")
        torch.save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step, "torch_rng": torch.get_rng_state()},
            tmp,
        )
        os.replace(tmp, state_path)
        meta.update(steps=step, total_steps=total_steps, finished=finished, train_seconds=round(meta["train_seconds"] + elapsed(), 1), final_loss=last_loss)
        meta_path.write_text(json.dumps(meta, indent=1))

    started = time.perf_counter()
    checkpoint_started = started

    def elapsed() -> float:
        return time.perf_counter() - checkpoint_started

    last_loss = float("nan")
    model.train()
    losses: list[float] = []
    while step < total_steps:
        if config.minutes is not None and step > resumed_from and time.perf_counter() - started > config.minutes * 60:
            break  # at least one step per invocation, so a rerun always makes progress
        input_ids, attention, labels = batch_for(step // steps_per_epoch, step % steps_per_epoch)
        loss = optimizer_step(torch, model, optimizer, scheduler, input_ids, attention, labels)
        step += 1
        losses.append(loss)
        if step % 50 == 0 and progress is not None:
            last_loss = sum(losses[-50:]) / len(losses[-50:])
            progress(f"step {step}/{total_steps} epoch {step / steps_per_epoch:.2f} loss {last_loss:.4f} {time.perf_counter() - started:.0f}s")
        if step % config.checkpoint_every == 0:
            last_loss = sum(losses[-50:]) / len(losses[-50:])
            save(False)
            checkpoint_started = time.perf_counter()
    if losses:
        last_loss = sum(losses[-50:]) / len(losses[-50:])
    elif isinstance(meta.get("final_loss"), (int, float)):
        last_loss = meta["final_loss"]  # a rerun of a finished run: keep the recorded loss
    finished = step >= total_steps
    save(finished)
    return TrainReport(out, len(pairs), step, total_steps, step / steps_per_epoch, meta["train_seconds"], last_loss, resumed_from, finished, counts)


# --------------------------------------------------------------------------------- translation


def is_seq2seq_dir(path: str | Path) -> bool:
    cfg = Path(path).expanduser() / "config.json"
    try:
        return bool(json.loads(cfg.read_text()).get("is_encoder_decoder"))
    except (OSError, ValueError, AttributeError):
        return False


class Seq2SeqTranslator:
    """Sentence-level translation with a model saved by ``train_translator`` (``hf:PATH``)."""

    def __init__(self, path: str | Path, dataset: str, *, samples: int = 5, temperature: float = 0.8, retries: int = 3, seed: int = 0, threads: int | None = None, max_new_tokens: int = 128, unify: bool = True) -> None:
        torch = _torch()
        from transformers import AutoModelForSeq2SeqLM, PreTrainedTokenizerFast

        if threads:
            torch.set_num_threads(threads)
        path = Path(path).expanduser()  # hf:~/.cache/nesy/translator
        try:
            self.tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path))
            self.model = AutoModelForSeq2SeqLM.from_pretrained(str(path)).eval()
        except Exception as exc:  # transformers raises many types; translate at the boundary
            raise ModelError(f"cannot load the translator in {path}: {exc}") from exc
        self.torch = torch
        self.unify = unify
        self.function_words: frozenset[str] | None = None
        self.keep_articles = False
        delex_file = Path(path).expanduser() / DELEX_FILE
        if delex_file.is_file():
            try:
                delex = json.loads(delex_file.read_text())
                self.function_words = frozenset(delex["function_words"])
                self.keep_articles = bool(delex.get("keep_articles", False))  # older models left "the" out
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ModelError(f"cannot read {delex_file}: {exc}") from None
        self.prefix = PREFIX.get(dataset, "folio: ")
        self.samples = samples
        self.temperature = temperature
        self.retries = retries
        positions = getattr(self.model.config, "max_position_embeddings", None) if self.model.config.model_type == "bart" else None
        # BART has learned positions: an output longer than they reach would crash generate
        self.max_new_tokens = min(max_new_tokens, positions - 2) if positions else max_new_tokens
        self.generator_seed = seed
        self.name = f"seq2seq:{Path(path).name}"
        self.calls = 0

    def _generate(self, sentences: list[str], count: int, greedy: bool) -> list[list[str]]:
        """``count`` outputs per sentence, relexicalised when the model is delexicalised (an
        output with a placeholder the sentence lacks is returned as the ``ParseError``)."""
        from logic.translate.delex import delexicalise_source, relexicalise

        torch = self.torch
        words: list[list[str]] = []
        sources = []
        for s in sentences:
            if self.function_words is None:
                sources.append(s)
                words.append([])
            else:
                d, w = delexicalise_source(s, self.function_words, self.keep_articles)
                sources.append(d)
                words.append(w)
        enc = self.tokenizer([self.prefix + s for s in sources], return_tensors="pt", padding=True)
        enc.pop("token_type_ids", None)
        torch.manual_seed(self.generator_seed + self.calls)
        self.calls += 1
        with torch.no_grad():
            out = self.model.generate(
                **enc, max_new_tokens=self.max_new_tokens, do_sample=not greedy, temperature=self.temperature if not greedy else None,
                top_k=0 if not greedy else None, num_return_sequences=count,
            )
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        rows = [texts[i * count : (i + 1) * count] for i in range(len(sentences))]
        if self.function_words is None:
            return rows

        def relex(text: str, w: list[str]):
            try:
                return relexicalise(text, w)
            except ParseError as exc:
                return exc

        return [[relex(t, words[i]) for t in row] for i, row in enumerate(rows)]

    def _score(self, result, sentence: str, arity: dict[str, int]) -> int:
        """How acceptable one output is: 0 does not parse, 1 parses, 2 also names only constants
        the sentence mentions, 3 (``ACCEPTABLE``) also gives each predicate the arity that most
        outputs for the problem give it and, for the distilled ``rule:`` data only (whose
        formulas always do), uses every content word of the sentence."""
        if isinstance(result, ParseError):
            return 0
        if not grounded(result, sentence):
            return 1
        if any(sym.kind == "pred" and arity.get(sym.name, sym.arity) != sym.arity for sym in signature([result])):
            return 2
        if self.function_words is not None and self.prefix == PREFIX["proofwriter"] and not covers(result, sentence, self.function_words):
            return 2
        return ACCEPTABLE

    def translate(self, context: Sequence[str], question: str):
        from logic.translate.llm import Translation, TranslationFailure
        from logic.translate.unify import unify_names

        sentences = [*context, question]
        k = self.samples
        greedy = k == 1
        raw = self._generate(sentences, k, greedy)
        parsed: list[list[object]] = [[None] * k for _ in sentences]
        for i, row in enumerate(raw):
            for j, text in enumerate(row):
                parsed[i][j] = _try_parse(text)
                row[j] = text.text if isinstance(text, ParseError) else text
        votes: Counter[tuple[str, int]] = Counter()
        for row in parsed:
            for result in row:
                if not isinstance(result, ParseError):
                    votes.update({(sym.name, sym.arity) for sym in signature([result]) if sym.kind == "pred"})
        arity: dict[str, int] = {}
        for (name, n), _ in votes.most_common():
            arity.setdefault(name, n)  # the arity most outputs of this problem give the name
        score = [[self._score(parsed[i][j], sentences[i], arity) for j in range(k)] for i in range(len(sentences))]
        for _ in range(self.retries):  # repaired decoding: resample only what is not yet acceptable
            todo = [(i, j) for i in range(len(sentences)) for j in range(k) if score[i][j] < ACCEPTABLE]
            if not todo:
                break
            need = sorted({i for i, _ in todo})
            fresh = self._generate([sentences[i] for i in need], k, greedy=False)
            for i, row in zip(need, fresh):
                slots = [j for (ii, j) in todo if ii == i]
                for j, text in zip(slots, row):
                    result = _try_parse(text)
                    value = self._score(result, sentences[i], arity)
                    if value > score[i][j]:  # kept only when better: parsed > grounded > covering
                        parsed[i][j], raw[i][j], score[i][j] = result, text.text if isinstance(text, ParseError) else text, value
        readings = []
        for j in range(k):
            column = [parsed[i][j] for i in range(len(sentences))]
            text = "\n".join(f"{sentences[i]} => {raw[i][j]}" for i in range(len(sentences)))
            bad = next((c for c in column if isinstance(c, ParseError)), None)
            if bad is not None:
                readings.append(TranslationFailure(ErrorStage.PARSE, str(bad), text))
            else:
                if self.unify:
                    column = unify_names(column)  # type: ignore[arg-type]
                readings.append(Translation(tuple(column[:-1]), column[-1], raw=text))  # type: ignore[arg-type]
        return readings


ACCEPTABLE = 3


def covers(formula, sentence: str, function_words: frozenset[str]) -> bool:
    """Every content word of ``sentence`` is (part of) a symbol name of ``formula``."""
    from logic.translate.delex import PLACEHOLDER, delexicalise_source, delexicalise_target

    _, words = delexicalise_source(sentence, function_words)
    used = {int(m.group(1)) for m in PLACEHOLDER.finditer(delexicalise_target(str(formula), words))}
    return used >= set(range(len(words)))


def grounded(formula, sentence: str) -> bool:
    """Every constant of ``formula`` is written in ``sentence`` (``bald_eagle`` as "bald eagle",
    case ignored). A translation naming something the sentence does not mention is re-sampled
    (it is kept when no re-sample does better)."""
    from logic.syntax import signature

    if isinstance(formula, ParseError):
        return False
    words = " " + re.sub(r"[^a-z0-9]+", " ", sentence.lower()) + " "
    for sym in signature([formula]):
        if sym.kind == "const" and f" {sym.name.lower().replace('_', ' ')} " not in words:
            return False
    return True


def _try_parse(text):
    if isinstance(text, ParseError):  # a placeholder the sentence does not have
        return text
    try:
        return parse(text)
    except ParseError as exc:
        return exc
