"""Any OpenAI-compatible *completions* endpoint (vLLM, llama.cpp server, TGI) as a generator.

``openai:URL[#MODEL]``: ``URL`` is the API base (``http://host:8000/v1``); requests go to
``URL/completions`` with ``n=k``, ``logprobs=1`` and the same prompt format as the causal
transformers generator. The score of a completion is the sum of its ``token_logprobs`` (0.0 when
the server returns none, which it says in the generator's name). The server is probed at
construction (``GET URL/models``) so that an unreachable endpoint is one clear error before a job
starts, not a failure per theorem. The API key, if any, is read from ``OPENAI_API_KEY``.
Only the standard library is used (``urllib``).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from provers.generators.base import Candidate, GeneratorConfig, GeneratorConfigError, GeneratorError, TacticGenerator
from provers.generators.hf import CAUSAL_PROMPT
from provers.protocol import TacticState


class OpenAIGenerator(TacticGenerator):
    def __init__(self, url: str, model: str | None = None, config: GeneratorConfig | None = None, *, prompt: str = CAUSAL_PROMPT, stop: str = "\n") -> None:
        if not url.startswith(("http://", "https://")):
            raise GeneratorConfigError(f"endpoint URL must start with http:// or https://, got {url!r}")
        self.url = url.rstrip("/")
        self.config = config or GeneratorConfig(spec=f"openai:{url}", decoding="sample")
        self.prompt = prompt
        self.stop = stop
        self.deterministic = False
        models = self._request("GET", "/models", None, timeout=min(10.0, self.config.request_timeout_s))
        available = [m.get("id") for m in models.get("data", []) if isinstance(m, dict)] if isinstance(models, dict) else []
        if model is None:
            if not available:
                raise GeneratorConfigError(f"{self.url}/models lists no model; name one as openai:{self.url}#MODEL")
            model = available[0]
        self.model = model
        self.name = f"openai:{self.model}@{self.url}"

    def _request(self, method: str, path: str, body: dict | None, *, timeout: float) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        key = os.environ.get("OPENAI_API_KEY")
        if key:
            req.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the user's URL
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            raise GeneratorError(f"completion endpoint {self.url}{path} answered HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GeneratorError(f"cannot reach the completion endpoint {self.url}{path}: {reason}") from exc
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise GeneratorError(f"completion endpoint {self.url}{path} did not answer JSON: {raw[:200]!r}") from exc

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        body = {
            "model": self.model,
            "prompt": self.prompt.format(state=state.pp[: self.config.max_input_chars]),
            "n": k,
            "max_tokens": self.config.max_new_tokens,
            "temperature": self.config.temperature if self.config.decoding == "sample" else 0.0,
            "logprobs": 1,
            "seed": self.config.seed,
        }
        if self.stop:
            body["stop"] = [self.stop]
        answer = self._request("POST", "/completions", body, timeout=self.config.request_timeout_s)
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list):
            raise GeneratorError(f"completion endpoint {self.url} answered without a 'choices' list: {str(answer)[:200]}")
        out: list[Candidate] = []
        for choice in choices:
            text = choice.get("text") if isinstance(choice, dict) else None
            if not isinstance(text, str):
                raise GeneratorError(f"completion endpoint {self.url} returned a choice without text: {str(choice)[:200]}")
            lps = (choice.get("logprobs") or {}).get("token_logprobs") or []
            score = float(sum(x for x in lps if isinstance(x, (int, float))))
            if self.stop and self.stop in text:
                text = text.split(self.stop, 1)[0]
            out.append((text, score))
        return out
