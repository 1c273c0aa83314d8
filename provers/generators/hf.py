"""A Hugging Face ``transformers`` model as a tactic generator (seq2seq or causal).

Loading: a local directory (``save_pretrained`` layout) loads offline; anything else is taken as
a hub name and loads where the hub is reachable. A name that looks like a path (``/``, ``./``,
``~``) but does not exist is an error, never a hub lookup.

Prompt: the model directory may hold ``nesy_generator.json`` (written by
:mod:`provers.generators.training`) with ``{"prompt": "...{state}...", "stop": "\\n"}``; without
it, seq2seq models read the goal text alone (ReProver's format) and causal models read
``"[GOAL]\\n{state}\\n[PROOFSTEP]\\n"``. The tactic is the generated text up to ``stop``. A causal
model reads at most its positions less ``max_new_tokens``: a longer input (a state longer than
that alone) keeps its last tokens, the goal and the prompt's tail, as ``nesy train tactics
--data`` cuts its training examples (an uncut input would index past GPT-2's position table).

Retrieval (``hf:PATH,premises=TRACED_DIR[,n=N]``): the model reads ReProver's input instead of
the bare state: the top ``N`` premises that the retriever (``GeneratorConfig.retriever``,
``--retriever bm25|dense``) ranks for the state among those of the traced dataset's corpus
*accessible at the theorem's place* (:mod:`provers.generators.place`: never the theorem itself or
anything later in its file), prepended to the state by
:func:`provers.generators.reprover_input.format_augmented_state` (the one definition a trainer
imports too), each premise left out whole when it does not fit the model's input length, the
state never cut. The augmented state takes the place of ``{state}`` in the prompt. ``N`` defaults
to the ``premises`` a model declares in ``nesy_generator.json`` (a model trained on this input
writes ``"input": "reprover-v1", "premises": N``; such a model without ``premises=`` is an
error), else :data:`DEFAULT_PREMISES`. The input length is ``max_input_tokens`` from the file, else
the model's position limit (less ``max_new_tokens`` for a causal model). Without ``premises=``
the input is exactly the bare-state prompt above.

Decoding: ``beam`` returns the k best beams; ``sample`` draws k samples at the configured
temperature. Either way each candidate's score is its **summed token log-probability** under the
model at temperature 1 (one extra forward pass that rescores the k outputs), so beam and sampling
scores are comparable and add up along a search path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provers.errors import MissingDependencyError
from provers.generators.base import Candidate, GeneratorConfig, GeneratorConfigError, GeneratorError, TacticGenerator
from provers.generators.reprover_input import FORMAT as REPROVER_FORMAT
from provers.generators.reprover_input import STATE_CUTS, cut_state
from provers.protocol import TacticState

PROMPT_FILE = "nesy_generator.json"
CAUSAL_PROMPT = "[GOAL]\n{state}\n[PROOFSTEP]\n"
SEQ2SEQ_PROMPT = "{state}"
DEFAULT_PREMISES = 16  # premises retrieved per state; those that fit the input length are kept
SPEC_OPTIONS = ("premises", "n")
_SETTINGS = ("prompt", "stop", "max_input_chars", "input", "premises", "max_input_tokens", "state_cut")


def parse_hf_arg(arg: str) -> tuple[str, dict[str, str]]:
    """``"PATH,premises=DIR,n=8"`` -> ``("PATH", {"premises": "DIR", "n": "8"})``; a typed error for
    an unknown or empty option."""
    model, *parts = arg.split(",")
    options: dict[str, str] = {}
    for part in parts:
        key, eq, value = (x.strip() for x in part.partition("="))
        if not eq or key not in SPEC_OPTIONS or not value:
            raise GeneratorConfigError(f"hf:{arg}: bad option {part.strip()!r}; options: premises=TRACED_DIR, n=NUMBER_OF_PREMISES")
        if key in options:
            raise GeneratorConfigError(f"hf:{arg}: option {key!r} given twice")
        options[key] = value
    if "n" in options and "premises" not in options:
        raise GeneratorConfigError(f"hf:{arg}: n= is the number of retrieved premises; it needs premises=TRACED_DIR")
    return model.strip(), options


def import_transformers() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError("the transformers generator needs torch and transformers: pip install 'nesy[ml]'") from exc
    return torch, transformers


def resolve_model(name_or_path: str) -> tuple[str, bool]:
    """``(source, is_local)``: a directory that exists, or a hub name; a missing path is an error."""
    raw = name_or_path.strip()
    if not raw:
        raise GeneratorConfigError("empty model name")
    path = Path(raw).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise GeneratorConfigError(f"model directory {path} has no config.json (is it a save_pretrained directory?)")
        return str(path), True
    if path.exists():
        raise GeneratorConfigError(f"model path {path} is a file; expected a directory saved with save_pretrained")
    looks_like_path = raw.startswith(("/", "./", "../", "~")) or raw.count("/") > 1 or raw.endswith(("/", ".bin", ".safetensors"))
    if looks_like_path:
        raise GeneratorConfigError(f"model path {path} does not exist")
    return raw, False


class HFGenerator(TacticGenerator):
    def __init__(self, name_or_path: str, config: GeneratorConfig | None = None, *, premises: str | None = None,
                 num_premises: int | None = None) -> None:
        """``premises``: a traced dataset whose premises the model reads before the state (module
        doc); ``num_premises``: how many are retrieved (default: the model's, else DEFAULT_PREMISES)."""
        self.config = config or GeneratorConfig(spec=f"hf:{name_or_path}")
        torch, transformers = import_transformers()
        self._torch = torch
        source, local = resolve_model(name_or_path)
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=local)
            model_config = transformers.AutoConfig.from_pretrained(source, local_files_only=local)
            self.seq2seq = bool(getattr(model_config, "is_encoder_decoder", False))
            cls = transformers.AutoModelForSeq2SeqLM if self.seq2seq else transformers.AutoModelForCausalLM
            self.model = cls.from_pretrained(source, local_files_only=local)
        except (OSError, ValueError) as exc:
            where = f"local directory {source}" if local else f"the Hugging Face hub (name {source!r}; is the hub reachable?)"
            raise GeneratorError(f"cannot load a transformers model from {where}: {str(exc).splitlines()[0][:300]}") from exc
        self.model.to(self.config.device)
        self.model.eval()
        settings = _prompt_settings(Path(source) if local else None, self.seq2seq)
        self.prompt: str = settings["prompt"]
        self.stop: str = settings["stop"]
        self.max_input_chars = min(self.config.max_input_chars, int(settings.get("max_input_chars", self.config.max_input_chars)))
        self.state_cut = settings.get("state_cut", "head")  # which end of a long state is kept (reprover_input.cut_state)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.name = f"hf:{Path(source).name if local else source}"
        self.deterministic = self.config.decoding == "beam"
        positions = _position_limit(model_config)
        # a causal model reads at most its positions less the tokens it generates: a longer input
        # keeps its end (the goal, the prompt's tail), as the trainer cuts it (training.causal_example)
        self.max_prompt_tokens = None if self.seq2seq or positions is None else max(1, positions - self.config.max_new_tokens)
        self._calls = 0
        self.retrieval: _Retrieval | None = None
        declared = int(settings.get("premises", 0) or 0)
        if premises is None and declared:
            raise GeneratorConfigError(
                f"model {source} was trained on retrieved premises + state ({declared} premises, "
                f"input {settings.get('input', '?')!r}); give it the traced dataset: hf:{name_or_path},premises=TRACED_DIR")
        if premises is not None:
            n = num_premises if num_premises is not None else (declared or DEFAULT_PREMISES)
            if n < 1:
                raise GeneratorConfigError(f"hf: the number of retrieved premises must be at least 1, not {n}")
            limit = _max_input_tokens(model_config, self.tokenizer, self.seq2seq, self.config.max_new_tokens, settings.get("max_input_tokens"))
            self.retrieval = _Retrieval(premises, self.config.retriever, n, limit, self.tokenizer)
            self.name += f"[premises:{self.config.retriever},n={n}]"

    def begin(self, problem) -> None:
        if self.retrieval is not None:
            self.retrieval.begin(problem)

    def model_input(self, state: str) -> str:
        """The text the model reads for ``state``: the prompt around the state (cut at
        ``max_input_chars``), or around ReProver's premises + state with a retriever."""
        if self.retrieval is None:
            return self.prompt.format(state=cut_state(state, self.max_input_chars, self.state_cut))
        return self.retrieval.model_input(self.prompt, cut_state(state, self.max_input_chars, self.state_cut), state)

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        torch = self._torch
        text = self.model_input(state.pp)
        enc = self.tokenizer(text, return_tensors="pt").to(self.config.device)
        if self.max_prompt_tokens is not None and enc["input_ids"].shape[1] > self.max_prompt_tokens:
            enc = {key: value[:, -self.max_prompt_tokens:] for key, value in enc.items()}
        eos = self.tokenizer.eos_token_id
        kwargs: dict[str, Any] = dict(
            max_new_tokens=self.config.max_new_tokens,
            num_return_sequences=k,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=eos,
        )
        if self.config.decoding == "beam":
            kwargs.update(num_beams=k, do_sample=False, length_penalty=0.0, early_stopping=True)
        else:
            torch.manual_seed(self.config.seed * 1_000_003 + self._calls)
            kwargs.update(do_sample=True, temperature=self.config.temperature, top_k=0, top_p=1.0)
        self._calls += 1
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        prompt_len = 0 if self.seq2seq else enc["input_ids"].shape[1]
        start = 1 if self.seq2seq else prompt_len  # seq2seq outputs begin with the decoder start token
        continuations = [_cut_at_eos(row[start:].tolist(), eos, self.tokenizer.pad_token_id) for row in out]
        scores = self._logprobs(enc, continuations)
        candidates: list[Candidate] = []
        for ids, score in zip(continuations, scores):
            tactic = self.tokenizer.decode([t for t in ids if t != eos], skip_special_tokens=True)
            if self.stop and self.stop in tactic:
                tactic = tactic.split(self.stop, 1)[0]
            candidates.append((tactic.strip(), score))
        return candidates

    def _logprobs(self, enc: Any, continuations: list[list[int]]) -> list[float]:
        """Summed log-probabilities of each continuation given the prompt, at temperature 1."""
        torch = self._torch
        if not continuations:
            return []
        n = len(continuations)
        width = max(1, max(len(c) for c in continuations))
        pad = self.tokenizer.pad_token_id
        labels = torch.full((n, width), -100, dtype=torch.long)
        for i, c in enumerate(continuations):
            if c:
                labels[i, : len(c)] = torch.tensor(c)
        labels = labels.to(self.config.device)
        with torch.no_grad():
            if self.seq2seq:
                dec_in = self.model.prepare_decoder_input_ids_from_labels(labels=labels.masked_fill(labels == -100, pad))
                logits = self.model(
                    input_ids=enc["input_ids"].expand(n, -1),
                    attention_mask=enc["attention_mask"].expand(n, -1),
                    decoder_input_ids=dec_in,
                ).logits
                positions = logits
            else:
                prompt = enc["input_ids"].expand(n, -1)
                cont = labels.masked_fill(labels == -100, pad)
                ids = torch.cat([prompt, cont], dim=1)
                mask = torch.cat([enc["attention_mask"].expand(n, -1), (labels != -100).long()], dim=1)
                logits = self.model(input_ids=ids, attention_mask=mask).logits
                p = prompt.shape[1]
                positions = logits[:, p - 1 : p - 1 + width, :]
            logp = torch.log_softmax(positions.float(), dim=-1)
            safe = labels.masked_fill(labels == -100, 0)
            token_lp = logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
            token_lp = token_lp.masked_fill(labels == -100, 0.0)
        return [float(x) for x in token_lp.sum(dim=1)]

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        self.retrieval = None


class _Retrieval:
    """What ``hf:...,premises=DIR`` adds: a retriever over the traced dataset's corpus, the place
    of the theorem being proved, and ReProver's input within the model's length in tokens."""

    def __init__(self, data: str, kind: str, n: int, max_tokens: int, tokenizer: Any) -> None:
        import functools

        from provers.generators.place import Place, build_premise_retriever, dataset_dir, load_corpus

        self.path = dataset_dir(data, "premises")
        self.corpus = load_corpus(self.path)
        self.retriever = build_premise_retriever(kind, self.corpus, "hf: premises=")
        self.n = n
        self.max_tokens = max_tokens
        self.tokenizer = tokenizer
        self.place: Place | None = None
        self._piece_tokens = functools.lru_cache(maxsize=8192)(self._count_piece)

    def begin(self, problem) -> None:
        from provers.generators.place import place_of

        self.place = place_of(problem)

    def _count_piece(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def premises(self, state: str) -> list[str]:
        """The serialized top-n premises for ``state`` accessible at the place, best first."""
        from provers.generators.place import retrieve_at
        from provers.generators.reprover_input import premise_name_at, serialize_premise

        out = []
        for idx, _ in retrieve_at(self.retriever, state, self.place, self.n):
            p = self.corpus.premises[idx]
            out.append(serialize_premise(p.code, p.full_name, premise_name_at(p, self.place.file if self.place else None)))
        return out

    def model_input(self, prompt: str, shown: str, state: str) -> str:
        """``shown`` (the state as cut for the model) after the premises retrieved for the whole ``state``."""
        from provers.generators.reprover_input import model_text

        return model_text(prompt, shown, self.premises(state), self.max_tokens,
                          tokens=lambda text: len(self.tokenizer(text)["input_ids"]), piece_tokens=self._piece_tokens)


def _position_limit(model_config: Any) -> int | None:
    """The positions a model has (GPT-2's ``n_positions``, ...), None when it does not say."""
    limits = [v for a in ("n_positions", "max_position_embeddings", "n_ctx") if isinstance(v := getattr(model_config, a, None), int) and v > 0]
    return min(limits) if limits else None


def _max_input_tokens(model_config: Any, tokenizer: Any, seq2seq: bool, max_new_tokens: int, declared: str | None) -> int:
    """Tokens the model may read: the model directory's ``max_input_tokens``, else its position
    limit (and the tokenizer's), less the tokens a causal model generates after the input."""
    if declared:
        return int(declared)
    limits = [v for a in ("n_positions", "max_position_embeddings", "n_ctx") if isinstance(v := getattr(model_config, a, None), int) and v > 0]
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limits.append(tok_max)
    limit = min(limits) if limits else 512
    if not seq2seq:
        limit -= max_new_tokens
    if limit < 16:
        raise GeneratorConfigError(f"hf: the model reads at most {limit + (0 if seq2seq else max_new_tokens)} tokens: no room for premises and a state")
    return limit


def _cut_at_eos(ids: list[int], eos: int | None, pad: int | None) -> list[int]:
    """Tokens up to and including the first eos (pad tokens after it dropped)."""
    out = []
    for t in ids:
        out.append(t)
        if t == eos:
            break
    while out and pad is not None and pad != eos and out[-1] == pad:
        out.pop()
    return out


def _prompt_settings(directory: Path | None, seq2seq: bool) -> dict[str, str]:
    settings: dict[str, str] = {"prompt": SEQ2SEQ_PROMPT if seq2seq else CAUSAL_PROMPT, "stop": "" if seq2seq else "\n"}
    if directory is not None and (directory / PROMPT_FILE).is_file():
        try:
            data = json.loads((directory / PROMPT_FILE).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise GeneratorConfigError(f"{directory / PROMPT_FILE}: not valid JSON ({exc})") from exc
        settings.update({k: str(v) for k, v in data.items() if k in _SETTINGS})
    if settings.get("state_cut", "head") not in STATE_CUTS:
        raise GeneratorConfigError(f"{directory / PROMPT_FILE}: state_cut must be one of {', '.join(STATE_CUTS)}, not {settings['state_cut']!r}")
    if settings.get("input") not in (None, REPROVER_FORMAT):
        raise GeneratorConfigError(f"{directory / PROMPT_FILE}: unknown input format {settings['input']!r} (known: {REPROVER_FORMAT})")
    for key in ("premises", "max_input_tokens"):
        if key in settings and not settings[key].isdigit():
            raise GeneratorConfigError(f"{directory / PROMPT_FILE}: {key} must be a whole number, not {settings[key]!r}")
    if "{state}" not in settings["prompt"]:
        raise GeneratorConfigError(f"prompt template {settings['prompt']!r} has no {{state}} placeholder")
    return settings
