"""A Hugging Face ``transformers`` model as a tactic generator (seq2seq or causal).

Loading: a local directory (``save_pretrained`` layout) loads offline; anything else is taken as
a hub name and loads where the hub is reachable. A name that looks like a path (``/``, ``./``,
``~``) but does not exist is an error, never a hub lookup.

Prompt: the model directory may hold ``nesy_generator.json`` (written by
:mod:`provers.generators.training`) with ``{"prompt": "...{state}...", "stop": "\\n"}``; without
it, seq2seq models read the goal text alone (ReProver's format) and causal models read
``"[GOAL]\\n{state}\\n[PROOFSTEP]\\n"``. The tactic is the generated text up to ``stop``.

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
from provers.protocol import TacticState

PROMPT_FILE = "nesy_generator.json"
CAUSAL_PROMPT = "[GOAL]\n{state}\n[PROOFSTEP]\n"
SEQ2SEQ_PROMPT = "{state}"


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
    def __init__(self, name_or_path: str, config: GeneratorConfig | None = None) -> None:
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
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.name = f"hf:{Path(source).name if local else source}"
        self.deterministic = self.config.decoding == "beam"
        self._calls = 0

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        torch = self._torch
        text = self.prompt.format(state=state.pp[: self.max_input_chars])
        enc = self.tokenizer(text, return_tensors="pt").to(self.config.device)
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
        settings.update({k: str(v) for k, v in data.items() if k in ("prompt", "stop", "max_input_chars")})
    if "{state}" not in settings["prompt"]:
        raise GeneratorConfigError(f"prompt template {settings['prompt']!r} has no {{state}} placeholder")
    return settings
