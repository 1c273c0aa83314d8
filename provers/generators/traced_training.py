"""``nesy train tactics --data TRACED``: a retrieval-augmented tactic model trained on the (state,
tactic) pairs of a traced library (issue 12, item 2).

What it trains on. Every ``(state_before, tactic)`` of the *training* part of one split
(``random`` or ``novel_premises``) of a dataset written by ``nesy trace``; never its ``val`` or
``test`` part (``val`` is what the accuracy report reads; ``test`` is what ``nesy eval library``
proves). Before anything is trained, :func:`find_overlap` compares the training theorems with the
split's ``val`` + ``test`` theorems by full name and by normalised statement (the declaration with
its attributes, keyword and name removed, whitespace collapsed). A shared name means a broken
dataset: always an error. A shared statement is what the Coq stdlib really has (the same lemma
stated in ``FMapAVL`` and ``FMapList``, ``Nat.not_le`` and ``Compare_dec.not_le``: 225 of the
``random`` split's 1,238 val+test theorems have a training twin); it is an error unless
``drop_overlap`` removes those training theorems, and the report says how many went.

Pairs replayed from proofs the model found (``proof_pairs``, written by ``nesy iterate``,
:mod:`provers.evaluation.iterate`) are added as they are: each names its theorem, which must be a
training theorem of the split (not a val/test twin left out), and is placed there; a pair of a
val/test theorem is an :class:`OverlapError`.

Optionally, synthesized pairs (``pairs.jsonl`` of ``nesy synth alchemy``, which never mutates a
val/test theorem of either split) are mixed in at ``pairs_ratio`` synthesized pairs per traced pair
(all of the file when None); the report gives both counts.

What the model reads. With retrieval (the default), ReProver's input: the top ``num_premises``
premises accessible at the theorem's place (its file, before its declaration: the rule of
:mod:`provers.generators.place`), retrieved by BM25 (or the dense encoder) for the state,
serialized and laid out by :mod:`provers.generators.reprover_input` within the model's input
length, then the state. It is built by :func:`training_input`, which calls the very functions the
``hf:DIR,premises=TRACED`` generator calls when proving, so the training text is the proving text
(a test checks equality against the generator's ``model_input``). During training each premise is
left out with probability ``premise_drop`` (ReProver's ``p_drop``, 0.5 there too), drawn from a
generator seeded by ``(seed, step, row)``, so a resumed run draws the same. Synthesized pairs have
no place: their premises come from the whole corpus less the split's val/test theorems. Without
retrieval (``retrieval=False``, the ablation) the input is the bare-state prompt of ``hf:`` and
``nesy_generator.json`` declares no premises.

Long states. A state longer than ``max_input_chars`` (2,000: 8,295 of the 72,725 states of the
stdlib's ``random`` train + val parts) keeps its *end*, where Coq prints the goal
(:func:`~provers.generators.reprover_input.cut_state`, declared ``"state_cut": "tail"`` so that
``hf:`` cuts alike; older models without the key keep the start, as before). An input still longer
than the model's positions less ``max_new_tokens`` keeps its last tokens, in training
(:func:`provers.generators.training.causal_example`) as when proving.

Retrieval for tens of thousands of pairs: one query per distinct ``(state, file, position)``,
batched through the retriever, the answers (corpus indices) cached on disk under
``~/.cache/nesy/tactic-retrieval/`` keyed by the corpus file, split, retriever and n, so reruns,
resumed runs and other model sizes reuse them. BM25 takes about 8 ms per query on the stdlib's
23k premises (measured here on 146 queries, one core), about 9 minutes for the 67k distinct
training states of the ``random`` split.

The model. A GPT-2 built from a config with a byte-level BPE tokenizer trained on the training
texts (the recipe of :mod:`provers.generators.training`, shared functions), or ``init``: a
pretrained causal LM directory fine-tuned as it is, with its own tokenizer (checked against the
model before training). Saved with ``save_pretrained`` plus ``nesy_generator.json`` (prompt,
``max_input_chars``, and with retrieval ``"input": "reprover-v1"``, ``"premises": n``,
``"max_input_tokens"``), so ``hf:DIR[,premises=TRACED]`` loads it unchanged.

Reproducible and resumable, as :mod:`logic.translate.seq2seq`: the batch of step ``s`` is a
function of ``(seed, s)`` alone (a per-epoch seeded shuffle), every ``checkpoint_every`` steps the
model, tokenizer, optimizer, scheduler, step and torch RNG state are saved (``train_state.pt``,
atomically), and a rerun with the same settings continues from there to the same final weights.
``minutes`` stops a run early (at a step boundary, after a checkpoint); rerun to continue.

The report (``training.json`` in the model directory, returned as :class:`TracedTrainReport`):
pairs used (traced / synthesized), overlap removed, steps, loss, seconds, and top-1 / top-k
accuracy on (a seeded sample of) the validation pairs: the model is loaded back through the
``hf:`` generator, asked for k tactics by beam search on each val state at its theorem's place,
and a pair counts when its tactic is among them (tactics compared whitespace-collapsed, without
the final period).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

from nesyrun.cache import cache_dir
from nesyrun.files import atomic_write_text
from nesyrun.training import optimizer_step, resume, warmup_cosine
from provers.errors import InputError
from provers.generators.hf import CAUSAL_PROMPT, PROMPT_FILE, import_transformers
from provers.generators.place import Place
from provers.generators.reprover_input import FORMAT as REPROVER_FORMAT
from provers.generators.reprover_input import (
    cut_state,
    model_text,
    premise_name_at,
    serialize_premise,
)

STATE_FILE = "train_state.pt"
REPORT_FILE = "training.json"
TOKENIZER_SAMPLE = 20000  # training texts the BPE tokenizer is trained on (a seeded sample)


class TrainingInputError(InputError):
    """Input ``nesy train tactics --data`` cannot train on (printed as ``nesy: error: ...``)."""


class OverlapError(TrainingInputError):
    """Training theorems that are also validation/test theorems (by name or statement)."""


def default_traced_model_dir(name: str = "tactic-traced") -> Path:
    return cache_dir("models", name)


@dataclass(frozen=True)
class TracedTrainConfig:
    """One training run. The default model (3 layers, width 192, about 1.9M parameters with the
    4,000-token vocabulary) trains at about 3 s per step of 16 examples on one loaded CPU thread
    (``benchmarks/tactic_train_step.py`` on the stdlib slice), so the default 1,200 steps take
    about an hour."""

    data: Path
    out: Path
    split: str = "random"
    retrieval: bool = True
    retriever: str = "bm25"
    num_premises: int = 8
    premise_drop: float = 0.5
    pairs: Path | None = None  # synthesized pairs (alchemy's pairs.jsonl)
    pairs_ratio: float | None = None  # synthesized per traced pair; None: all of the file
    proof_pairs: Path | None = None  # pairs replayed from found proofs of training theorems (nesy iterate)
    drop_overlap: bool = False
    init: Path | None = None  # a pretrained causal LM directory to fine-tune
    vocab_size: int = 4000
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 192
    n_positions: int = 512
    max_new_tokens: int = 64  # room left after the input for the tactic (and at proving time)
    max_input_chars: int = 2000  # a state is cut here (as the hf: generator cuts it)
    steps: int = 1200
    minutes: float | None = None
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 100
    seed: int = 0
    checkpoint_every: int = 200
    top_k: int = 8
    val_limit: int | None = 300  # validation pairs in the accuracy report (a seeded sample)
    threads: int | None = None


@dataclass(frozen=True)
class TrainingPair:
    """One training example: a state, the tactic run on it, and the theorem's place (None for a
    synthesized pair)."""

    state: str
    tactic: str
    place: Place | None = None
    source: str = "traced"  # "synthesized" (no place) or "proof" (replayed from a found proof)


@dataclass(frozen=True)
class Overlap:
    names: tuple[str, ...] = ()
    statements: tuple[tuple[str, str], ...] = ()  # (training theorem, evaluation theorem)

    def __bool__(self) -> bool:
        return bool(self.names or self.statements)


@dataclass
class TracedTrainReport:
    out: str
    counts: dict
    steps: int
    total_steps: int
    finished: bool
    resumed_from_step: int
    train_seconds: float
    final_loss: float
    parameters: int
    accuracy: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------- data


_ATTRIBUTES = re.compile(r"^(?:#\[[^\]]*\]\s*)+")
_MODIFIERS = re.compile(r"^(?:(?:Local|Global|Polymorphic|Monomorphic|Program|Private|Cumulative|NonCumulative)\s+)+")
_HEAD = re.compile(r"^[A-Z]\w*\s+[\w'.]+")  # Lemma foo, Theorem bar, Definition baz, ...


def normalise_statement(statement: str) -> str:
    """A theorem's statement without its attributes, modifiers, keyword and name, whitespace collapsed."""
    s = " ".join(statement.split())
    s = _MODIFIERS.sub("", _ATTRIBUTES.sub("", s))
    return _HEAD.sub("", s, count=1).strip()


def normalise_tactic(tactic: str) -> str:
    """A tactic for exact-match comparison: whitespace collapsed, without the final period."""
    return " ".join(tactic.split()).rstrip(".").rstrip()


def find_overlap(train: Sequence, evaluation: Sequence) -> Overlap:
    """Training theorems that are evaluation theorems, by full name or by normalised statement
    (theorems without a recorded statement are compared by name only)."""
    eval_names = {t.full_name for t in evaluation}
    names = sorted({t.full_name for t in train} & eval_names)
    eval_statements: dict[str, str] = {}
    for t in evaluation:
        if t.theorem_statement:
            eval_statements.setdefault(normalise_statement(t.theorem_statement), t.full_name)
    statements = []
    for t in train:
        if t.theorem_statement and t.full_name not in eval_names:
            key = normalise_statement(t.theorem_statement)
            if key and key in eval_statements:
                statements.append((t.full_name, eval_statements[key]))
    return Overlap(tuple(names), tuple(statements))


def place_of_traced(theorem) -> Place:
    """The place of a traced theorem, as :func:`provers.generators.place.place_of` reads it from
    the problems ``nesy eval library`` loads (file, declaration start, names)."""
    return Place(theorem.file_path, (int(theorem.start.line), int(theorem.start.column)), theorem.full_name,
                 theorem.full_name.rsplit(".", 1)[-1])


def traced_pairs(theorems: Sequence) -> list[TrainingPair]:
    """Every (state before, tactic) of ``theorems``, in order; the tactic whitespace-collapsed (the
    ``hf:`` generator stops at a newline)."""
    out = []
    for t in theorems:
        place = place_of_traced(t)
        for tt in t.traced_tactics:
            tactic = " ".join(tt.tactic.split())
            if tt.state_before.strip() and tactic:
                out.append(TrainingPair(tt.state_before, tactic, place))
    return out


def _json_lines(path: Path, what: str):
    """``(line number, line, parsed JSON)`` of each non-blank line of ``path``; a
    :class:`TrainingInputError` naming ``what``, the file and the line for what cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingInputError(f"{what} {path}: cannot read it ({exc})") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, line, json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingInputError(f"{what} {path}:{n}: not JSON ({exc.msg})") from exc


def read_synthesized_pairs(path: Path) -> list[TrainingPair]:
    """The ``{state, tactic}`` lines of ``path``; a :class:`TrainingInputError` for a missing, empty
    or malformed file (naming the line)."""
    path = Path(path).expanduser()
    out = []
    for n, line, row in _json_lines(path, "--pairs"):
        if not (isinstance(row, dict) and isinstance(row.get("state"), str) and isinstance(row.get("tactic"), str)
                and row["state"].strip() and row["tactic"].strip()):
            raise TrainingInputError(f"--pairs {path}:{n}: expected {{\"state\": non-empty text, \"tactic\": non-empty text}}, got {line[:120]!r}")
        out.append(TrainingPair(row["state"], " ".join(row["tactic"].split()), None, "synthesized"))
    if not out:
        raise TrainingInputError(f"--pairs {path}: no pairs in it (empty file)")
    return out


def read_proof_pairs(path: Path, train: Sequence, eval_names: set[str], where: str) -> list[TrainingPair]:
    """The ``{state, tactic, name}`` lines of ``path`` (pairs replayed from found proofs), each
    placed at its theorem, which must be one of ``train`` (the split's training theorems, val/test
    twins already left out): a pair of a val/test theorem is an :class:`OverlapError`, one of a
    theorem the split does not train on a :class:`TrainingInputError`, both naming the theorem."""
    path = Path(path).expanduser()
    places = {t.full_name: place_of_traced(t) for t in train}
    out = []
    for n, line, row in _json_lines(path, "proof pairs"):
        if not (isinstance(row, dict) and all(isinstance(row.get(k), str) and row[k].strip() for k in ("state", "tactic", "name"))):
            raise TrainingInputError(f"proof pairs {path}:{n}: expected {{\"state\", \"tactic\", \"name\": non-empty text}}, got {line[:120]!r}")
        name = row["name"]
        if name in eval_names:
            raise OverlapError(f"proof pairs {path}:{n}: {name} is a val/test theorem of {where}; it is never trained on")
        if name not in places:
            raise TrainingInputError(f"proof pairs {path}:{n}: {name} is not a training theorem of {where} "
                                     "(or was left out as a val/test twin)")
        out.append(TrainingPair(row["state"], " ".join(row["tactic"].split()), places[name], "proof"))
    return out


def _open_split(data: Path, split: str):
    from retrieval.dataset import open_dataset
    from retrieval.errors import RetrievalError

    root = Path(data).expanduser()
    try:
        ds = open_dataset(root)
        parts = {part: ds.read_part(split, part) for part in ("train", "val", "test")}
    except RetrievalError as exc:
        raise TrainingInputError(f"--data {root}: not a usable traced dataset ({exc}); make one with nesy trace") from exc
    return root.resolve(), parts


# ------------------------------------------------------------------------------- retrieval


class PremiseSource:
    """The premises a training pair reads: the retriever's top-n accessible at its place, cached
    per distinct (state, place) in memory and on disk (module doc)."""

    def __init__(self, data: Path, split: str, kind: str, n: int, excluded_names: set[str]) -> None:
        from provers.generators.place import build_premise_retriever, load_corpus

        self.corpus = load_corpus(data)
        self.kind, self.n = kind, n
        self._retriever = None
        self._build = lambda: build_premise_retriever(kind, self.corpus, "nesy train tactics --data")
        names = self.corpus.premises
        self.excluded = frozenset(i for i, p in enumerate(names) if p.full_name in excluded_names)
        corpus_file = data / "corpus.jsonl"
        stat = corpus_file.stat()
        from retrieval.errors import RetrievalError
        from retrieval.registry import parse_retriever_spec

        try:
            model = parse_retriever_spec(kind)[1].model
            if model is not None:  # dense:PATH: the answers are those of the weights now at PATH
                from retrieval.encoder import model_digest, resolve_model_dir

                model = model_digest(resolve_model_dir(model))
        except RetrievalError as exc:
            raise InputError(f"nesy train tactics --data: --retriever {kind}: {exc}") from exc
        key = json.dumps([str(corpus_file), stat.st_size, int(stat.st_mtime), split, kind, n, sorted(excluded_names)]
                         + ([model] if model else []))
        self.cache_path = cache_dir("tactic-retrieval", hashlib.sha1(key.encode()).hexdigest()[:16] + ".json")
        self._cache: dict[str, list[int]] = {}
        if self.cache_path.is_file():
            try:
                self._cache = json.loads(self.cache_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                self._cache = {}  # a damaged cache is rebuilt
        self.queries = 0

    @staticmethod
    def key(state: str, place: Place | None) -> str:
        where = "" if place is None else f"{place.file}:{place.start[0]}:{place.start[1]}"
        return hashlib.sha1(f"{where}\0{state}".encode()).hexdigest()

    def fill(self, pairs: Sequence[TrainingPair], on_progress: Callable[[int, int], None] | None = None, batch: int = 256) -> None:
        """Retrieve for every pair not in the cache yet (one query per distinct state and place)."""
        from retrieval.dataset import Pos
        from retrieval.retrievers import RetrievalRequest

        todo: dict[str, TrainingPair] = {}
        for p in pairs:
            k = self.key(p.state, p.place)
            if k not in self._cache and k not in todo:
                todo[k] = p
        items = list(todo.items())
        done = 0
        last_save = time.monotonic()
        for i in range(0, len(items), batch):
            chunk = items[i : i + batch]
            if self._retriever is None:
                self._retriever = self._build()
            requests = [RetrievalRequest(p.state) if p.place is None else RetrievalRequest(p.state, p.place.file, Pos(*p.place.start))
                        for _, p in chunk]
            # unplaced pairs: the whole corpus less the excluded (evaluation) theorems
            width = self.n + (len(self.excluded) if any(p.place is None for _, p in chunk) else 0)
            rankings = self._retriever.rank(requests, width)
            for (k, p), ranking in zip(chunk, rankings):
                idx = [int(j) for j in ranking.indices if p.place is not None or j not in self.excluded][: self.n]
                self._cache[k] = idx
            done += len(chunk)
            self.queries += len(chunk)
            if on_progress:
                on_progress(done, len(items))
            if time.monotonic() - last_save > 120:
                self.save()
                last_save = time.monotonic()
        if items:
            self.save()

    def save(self) -> None:
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.cache_path, json.dumps(self._cache))

    def texts(self, state: str, place: Place | None) -> list[str]:
        """The serialized premises for ``state`` at ``place``, best first (as ``hf:`` serializes them)."""
        k = self.key(state, place)
        if k not in self._cache:
            self.fill([TrainingPair(state, "", place)])
        file = place.file if place else None
        out = []
        for i in self._cache[k]:
            p = self.corpus.premises[i]
            out.append(serialize_premise(p.code, p.full_name, premise_name_at(p, file)))
        return out


STATE_CUT = "tail"  # a state longer than max_input_chars keeps its end, the goal (reprover_input.cut_state)


def training_input(tokenizer, state: str, premise_texts: Sequence[str] | None, *, max_input_chars: int, max_input_tokens: int,
                   drop: float = 0.0, rng: random.Random | None = None, piece_tokens: Callable[[str], int] | None = None,
                   state_cut: str = STATE_CUT) -> str:
    """The text the model reads for ``state``: with ``premise_texts`` (None: no retrieval)
    ReProver's input within ``max_input_tokens``, exactly as ``hf:DIR,premises=...`` builds it
    (:class:`provers.generators.hf._Retrieval`); else the bare-state prompt. Either way the state
    is cut to ``max_input_chars`` as ``hf:`` cuts it for a model declaring ``state_cut``."""
    shown = cut_state(state, max_input_chars, state_cut)
    if premise_texts is None:
        return CAUSAL_PROMPT.format(state=shown)
    return model_text(CAUSAL_PROMPT, shown, premise_texts, max_input_tokens,
                      tokens=lambda text: len(tokenizer(text)["input_ids"]),
                      piece_tokens=piece_tokens or (lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])),
                      drop=drop, rng=rng)


# ----------------------------------------------------------------------------------- model


def _weights_present(path: Path) -> bool:
    return any((path / name).is_file() for name in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                                                    "pytorch_model.bin.index.json"))


def load_init(path: Path):
    """``(model, tokenizer)`` of a pretrained causal LM directory, checked against each other."""
    _, transformers = import_transformers()
    path = Path(path).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise TrainingInputError(f"--init {path}: not a model directory (no config.json; expected one written by save_pretrained)")
    if not _weights_present(path):
        raise TrainingInputError(f"--init {path}: no weights there (model.safetensors or pytorch_model.bin)")
    try:
        config = transformers.AutoConfig.from_pretrained(str(path), local_files_only=True)
        if getattr(config, "is_encoder_decoder", False):
            raise TrainingInputError(f"--init {path}: an encoder-decoder model; this trainer fine-tunes causal LMs (GPT-2 and the like)")
        tok = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise TrainingInputError(f"--init {path}: cannot load a causal LM and its tokenizer: {str(exc).splitlines()[0][:300]}") from exc
    check_tokenizer(tok, model, f"--init {path}")
    return model, tok


def check_tokenizer(tok, model, where: str) -> None:
    """A :class:`TrainingInputError` when ``tok`` cannot feed ``model`` (ids past its vocabulary,
    no end-of-sequence token)."""
    rows = model.get_input_embeddings().num_embeddings
    if tok.eos_token_id is None:
        raise TrainingInputError(f"{where}: the tokenizer has no end-of-sequence token; a tactic could not end")
    if len(tok) > rows:
        raise TrainingInputError(f"{where}: the tokenizer does not match the model: {len(tok)} tokens, but the model has "
                                 f"{rows} embedding rows (a tokenizer from another model?)")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token


def _positions(model) -> int:
    c = model.config
    for a in ("n_positions", "max_position_embeddings", "n_ctx"):
        v = getattr(c, a, None)
        if isinstance(v, int) and v > 0:
            return v
    return 512


# -------------------------------------------------------------------------------- training


def _settings(config: TracedTrainConfig) -> dict:
    """What a resumed run must share with the run it continues."""
    d = asdict(config)
    for k in ("out", "minutes", "threads", "checkpoint_every", "top_k", "val_limit"):
        d.pop(k)
    if d["proof_pairs"] is None:  # runs from before the option resume as they were
        d.pop("proof_pairs")
    return {k: (str(Path(v).expanduser().resolve()) if isinstance(v, Path) else v) for k, v in d.items()}


def _check_config(c: TracedTrainConfig) -> None:
    if c.split not in ("random", "novel_premises"):
        raise TrainingInputError(f"--split must be random or novel_premises, not {c.split!r}")
    if c.retriever not in ("bm25", "dense"):
        raise TrainingInputError(f"--retriever must be bm25 or dense, not {c.retriever!r}")
    if c.num_premises < 1:
        raise TrainingInputError("--premises must be at least 1")
    if not 0.0 <= c.premise_drop < 1.0:
        raise TrainingInputError(f"--premise-drop must be in [0, 1), not {c.premise_drop}")
    if c.pairs_ratio is not None and (c.pairs is None or not c.pairs_ratio > 0):
        raise TrainingInputError("--pairs-ratio needs --pairs FILE and must be positive")
    if c.steps < 1 or c.batch_size < 1 or c.checkpoint_every < 1 or c.top_k < 1:
        raise TrainingInputError("--steps, --batch, --checkpoint-every and --k must be at least 1")
    if c.minutes is not None and not c.minutes > 0:
        raise TrainingInputError("--minutes must be positive")
    if c.val_limit is not None and c.val_limit < 0:
        raise TrainingInputError("--val-limit must be at least 0")
    if not c.lr > 0 or c.max_new_tokens < 1 or c.max_input_chars < 1:
        raise TrainingInputError("--lr, --max-new-tokens and --max-input-chars must be positive")
    from provers.generators.base import GeneratorConfig

    if c.max_input_chars > GeneratorConfig().max_input_chars:  # hf: cuts a state there when proving
        raise TrainingInputError(f"--max-input-chars at most {GeneratorConfig().max_input_chars} (the hf: generator cuts states there)")


def prepare(config: TracedTrainConfig, progress: Callable[[str], None] | None = None):
    """Read and check the data (overlap first): ``(root, pairs, val theorems, counts, excluded names)``."""
    _check_config(config)
    root, parts = _open_split(config.data, config.split)
    train, evaluation = parts["train"], parts["val"] + parts["test"]
    overlap = find_overlap(train, evaluation)
    dropped = 0
    if overlap.names:
        raise OverlapError(f"{root} ({config.split}): {len(overlap.names)} training theorem(s) are also val/test theorems by name "
                           f"(e.g. {', '.join(overlap.names[:3])}); the split is broken, re-trace it")
    if overlap.statements:
        if not config.drop_overlap:
            ex = "; ".join(f"{a} = {b}" for a, b in overlap.statements[:3])
            raise OverlapError(f"{root} ({config.split}): {len(overlap.statements)} training theorem(s) have the statement of a "
                               f"val/test theorem (e.g. {ex}); pass --drop-overlap to train without them")
        gone = {a for a, _ in overlap.statements}
        train = tuple(t for t in train if t.full_name not in gone)
        dropped = len(gone)
    pairs = traced_pairs(train)
    if not pairs:
        raise TrainingInputError(f"{root} ({config.split}/train): no traced tactics to train on")
    counts = {"train_theorems": len(train), "traced_pairs": len(pairs), "overlap_dropped_theorems": dropped,
              "synthesized_pairs_in_file": 0, "synthesized_pairs": 0}
    if config.proof_pairs is not None:
        found = read_proof_pairs(config.proof_pairs, train, {t.full_name for t in evaluation}, f"{root} ({config.split})")
        counts["proof_pairs"] = len(found)
        pairs = pairs + found
    if config.pairs is not None:
        synth = read_synthesized_pairs(config.pairs)
        counts["synthesized_pairs_in_file"] = len(synth)
        if config.pairs_ratio is not None:
            want = min(len(synth), round(config.pairs_ratio * len(pairs)))
            random.Random(f"{config.seed}|pairs").shuffle(synth)
            synth = synth[:want]
        counts["synthesized_pairs"] = len(synth)
        pairs = pairs + synth
    counts["pairs"] = len(pairs)
    if progress:
        proofs = f", {counts['proof_pairs']} from found proofs" if "proof_pairs" in counts else ""
        progress(f"{len(pairs)} training pairs: {counts['traced_pairs']} traced ({len(train)} theorems of {config.split}/train"
                 f"{f', {dropped} dropped as val/test twins' if dropped else ''}){proofs}, {counts['synthesized_pairs']} synthesized")
    return root, pairs, parts["val"], counts, {t.full_name for t in evaluation}


def train_traced(config: TracedTrainConfig, *, progress: Callable[[str], None] | None = None,
                 on_step: Callable[[int, int, float], None] | None = None,
                 on_retrieval: Callable[[int, int], None] | None = None) -> TracedTrainReport:
    """Train (or resume) a tactic model on a traced dataset into ``config.out`` (module doc)."""
    torch, transformers = import_transformers()
    root, pairs, val, counts, eval_names = prepare(config, progress)
    out = Path(config.out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainingInputError(f"cannot create --out {out}: {exc.strerror or exc}") from None
    if config.threads:
        torch.set_num_threads(config.threads)
    settings = _settings(config)
    meta_path, state_path = out / REPORT_FILE, out / STATE_FILE
    meta: dict = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TrainingInputError(f"{meta_path}: not valid JSON ({exc}); use a new --out") from exc
        if meta.get("settings") != settings:
            raise TrainingInputError(f"{out} holds a model trained with other settings; use a new --out (or the same options to resume)")
    elif any(out.iterdir()):
        raise TrainingInputError(f"--out {out} is not empty and holds no training run of this command; use a new directory")

    source = None
    if config.retrieval:
        source = PremiseSource(root, config.split, config.retriever, config.num_premises, eval_names)
        if progress:
            progress(f"retrieving the top {config.num_premises} premises ({config.retriever}) per distinct state; cache {source.cache_path}")
        source.fill(pairs, on_retrieval)
        counts["retrieval_queries_run"] = source.queries

    # tokenizer and model
    torch.manual_seed(config.seed)
    resumed_tok = (out / "tokenizer.json").is_file() and state_path.is_file()
    if config.init is not None:
        model, tok = load_init(config.init)
    elif resumed_tok:
        tok = transformers.AutoTokenizer.from_pretrained(str(out))
        model = None
    else:
        from provers.generators.training import train_bpe_tokenizer

        sample = list(range(len(pairs)))
        random.Random(f"{config.seed}|tokenizer").shuffle(sample)
        texts = []
        for i in sample[:TOKENIZER_SAMPLE]:
            p = pairs[i]
            prem = "".join(t + "\n\n" for t in source.texts(p.state, p.place)) if source else ""
            texts.append(CAUSAL_PROMPT.format(state=prem + cut_state(p.state, config.max_input_chars, STATE_CUT)) + p.tactic)
        tok = train_bpe_tokenizer(texts, config.vocab_size)
        model = None
    if model is None:
        from provers.generators.training import gpt2_from_config

        model = gpt2_from_config(tok, n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd, n_positions=config.n_positions)
    check_tokenizer(tok, model, str(out) if resumed_tok else "the tokenizer")
    n_positions = _positions(model)
    max_input_tokens = n_positions - config.max_new_tokens
    if max_input_tokens < 32:
        raise TrainingInputError(f"the model reads {n_positions} tokens: no room for a state after {config.max_new_tokens} new tokens")

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    total = config.steps

    scheduler = warmup_cosine(torch, optimizer, config.warmup, total)
    step = resume(torch, state_path, model, optimizer, scheduler)
    resumed_from = step
    if not meta:
        meta = {"settings": settings, "counts": counts, "train_seconds": 0.0, "steps": 0, "cut_examples": 0}

    import functools

    piece_tokens = functools.lru_cache(maxsize=65536)(lambda text: len(tok(text, add_special_tokens=False)["input_ids"]))
    steps_per_epoch = max(1, math.ceil(len(pairs) / config.batch_size))
    from provers.generators.training import causal_example, collate

    def batch_for(s: int):
        epoch, index = divmod(s, steps_per_epoch)
        order = list(range(len(pairs)))
        random.Random(f"{config.seed}|{epoch}").shuffle(order)
        rows = order[index * config.batch_size : (index + 1) * config.batch_size]
        examples, cut = [], 0
        for j, i in enumerate(rows):
            p = pairs[i]
            texts = source.texts(p.state, p.place) if source else None
            text = training_input(tok, p.state, texts, max_input_chars=config.max_input_chars, max_input_tokens=max_input_tokens,
                                  drop=config.premise_drop if source else 0.0, rng=random.Random(f"{config.seed}|{s}|{j}"),
                                  piece_tokens=piece_tokens)
            ids, labels, was_cut = causal_example(tok, text, p.tactic, n_positions, max_prompt=max_input_tokens)
            examples.append((ids, labels))
            cut += was_cut
        return collate(torch, examples, tok.pad_token_id), cut

    generator_settings = {"prompt": CAUSAL_PROMPT, "stop": "\n", "max_input_chars": config.max_input_chars, "state_cut": STATE_CUT}
    if source:
        generator_settings.update({"input": REPROVER_FORMAT, "premises": config.num_premises, "max_input_tokens": max_input_tokens,
                                   "retriever": config.retriever})
    started = time.perf_counter()
    segment_start = started
    losses: list[float] = []
    last_loss = meta.get("final_loss", float("nan"))

    def save(finished: bool) -> None:
        nonlocal segment_start
        model.save_pretrained(str(out), safe_serialization=True)
        tok.save_pretrained(str(out))
        atomic_write_text(out / PROMPT_FILE, json.dumps(generator_settings, indent=2))
        tmp = state_path.with_name(STATE_FILE + ".tmp")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "step": step, "torch_rng": torch.get_rng_state()}, tmp)
        tmp.replace(state_path)
        now = time.perf_counter()
        meta.update(steps=step, total_steps=total, finished=finished, final_loss=last_loss,
                    train_seconds=round(meta["train_seconds"] + now - segment_start, 1))
        segment_start = now
        atomic_write_text(meta_path, json.dumps(meta, indent=1))

    model.train()
    while step < total:
        if config.minutes is not None and step > resumed_from and time.perf_counter() - started > config.minutes * 60:
            break  # at least one step per invocation, so a rerun always makes progress
        (ids, mask, labels), cut = batch_for(step)
        loss = optimizer_step(torch, model, optimizer, scheduler, ids, mask, labels)
        step += 1
        meta["cut_examples"] = meta.get("cut_examples", 0) + cut
        losses.append(loss)
        last_loss = sum(losses[-50:]) / len(losses[-50:])
        if on_step:
            on_step(step, total, last_loss)
        if step % config.checkpoint_every == 0 and step < total:
            save(False)
    finished = step >= total
    if step > resumed_from or not state_path.is_file():
        save(finished)
    model.eval()
    accuracy = meta.get("accuracy", {})
    stale = accuracy.get("k") != config.top_k or accuracy.get("val_limit", -1) != config.val_limit
    if finished and config.val_limit != 0 and stale:
        accuracy = evaluate_accuracy(out, root, val, config, progress=progress)
        meta["accuracy"] = accuracy
        atomic_write_text(meta_path, json.dumps(meta, indent=1))
    return TracedTrainReport(str(out), meta["counts"], step, total, finished, resumed_from, meta["train_seconds"], last_loss,
                             sum(p.numel() for p in model.parameters()), accuracy if finished else {})


# ------------------------------------------------------------------------------ evaluation


def validation_pairs(val: Sequence, limit: int | None, seed: int) -> list[TrainingPair]:
    """The validation pairs the report reads: all of them, or a seeded sample of ``limit``."""
    pairs = traced_pairs(val)
    if limit is not None and len(pairs) > limit:
        chosen = sorted(random.Random(f"{seed}|val").sample(range(len(pairs)), limit))
        pairs = [pairs[i] for i in chosen]
    return pairs


def problem_at(place: Place):
    """A stand-in for a library problem at ``place``, what a generator's ``begin`` reads."""
    ctx = SimpleNamespace(file=place.file, start=place.start, full_name=place.full_name, theorem=None)
    return SimpleNamespace(name=place.full_name, context=ctx)


def evaluate_accuracy(model_dir: Path, data: Path, val: Sequence, config: TracedTrainConfig, *,
                      progress: Callable[[str], None] | None = None) -> dict:
    """Top-1 / top-k exact-match tactic accuracy of the saved model on the validation pairs, read
    through the ``hf:`` generator (beam search, k beams) at each theorem's place."""
    from provers.generators.base import GeneratorConfig
    from provers.generators.hf import HFGenerator
    from provers.protocol import TacticState

    pairs = validation_pairs(val, config.val_limit, config.seed)
    result = {"k": config.top_k, "val_limit": config.val_limit, "pairs": len(pairs), "top1": None, f"top{config.top_k}": None}
    if not pairs:
        return result
    gen_config = GeneratorConfig(spec=f"hf:{model_dir}", decoding="beam", max_new_tokens=config.max_new_tokens,
                                 max_input_chars=config.max_input_chars, retriever=config.retriever, seed=config.seed)
    gen = HFGenerator(str(model_dir), gen_config, premises=str(data) if config.retrieval else None)
    hit1 = hitk = 0
    started = time.perf_counter()
    try:
        current = None
        for n, p in enumerate(pairs, 1):
            if p.place != current:
                gen.begin(problem_at(p.place))
                current = p.place
            tactics = [normalise_tactic(t) for t, _ in gen.generate(TacticState(p.state, 0), config.top_k)]
            want = normalise_tactic(p.tactic)
            hit1 += bool(tactics) and tactics[0] == want
            hitk += want in tactics
            if progress and n % 50 == 0:
                progress(f"validation: {n}/{len(pairs)} pairs, top-1 {hit1 / n:.3f}, top-{config.top_k} {hitk / n:.3f}")
    finally:
        gen.close()
    result.update({"top1": round(hit1 / len(pairs), 4), f"top{config.top_k}": round(hitk / len(pairs), 4),
                   "seconds": round(time.perf_counter() - started, 1)})
    return result
