"""Generators by name: ``build_generator(GeneratorConfig(spec=...))``.

Spec syntax (also what ``--generator`` takes):

==================================  ====================================================
``portfolio``                       the backend's automation portfolio
``portfolio:TAC1;;TAC2``            a portfolio of your own
``hf:PATH_OR_HUB_NAME``             a transformers model (seq2seq or causal)
``hf:PATH,premises=TRACED[,n=N]``   the same reading ReProver's input: N retrieved premises, then the state
``openai:URL[#MODEL]``              an OpenAI-compatible server (docs/models.md)
``premises:TRACED_DIR``             tactics from the premises retrieved for the goal, accessible at the theorem
``knn:TRACED_DIR``                  tactics of the nearest traced training states (Tactician-style;
                                    ``knn:DIR,bonus=0.1,fit=drop``: same file first, names fitted)
``A+B``, ``A*0.7+B*0.3``            a mix of generators (weights default to equal)
==================================  ====================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from provers.generators.base import GeneratorConfig, GeneratorConfigError, TacticGenerator

KINDS = ("portfolio", "hf", "openai", "premises", "knn")
ALIASES = {"transformers": "hf", "huggingface": "hf", "vllm": "openai", "symbolic": "portfolio"}


def _portfolio(arg: str, config: GeneratorConfig) -> TacticGenerator:
    from provers.generators.portfolio import PortfolioGenerator

    tactics = tuple(t.strip() for t in arg.split(";;") if t.strip()) if arg else None
    return PortfolioGenerator(tactics, backend=config.backend)


def _hf(arg: str, config: GeneratorConfig) -> TacticGenerator:
    from provers.generators.hf import HFGenerator, parse_hf_arg

    model, options = parse_hf_arg(arg)
    if not model:
        raise GeneratorConfigError("hf: needs a model directory or hub name, e.g. hf:~/.cache/nesy/models/tactic-tiny")
    n = options.get("n")
    if n is not None and not n.isdigit():
        raise GeneratorConfigError(f"hf:{arg}: n must be a whole number of premises, not {n!r}")
    return HFGenerator(model, config, premises=options.get("premises"), num_premises=int(n) if n is not None else None)


def _openai(arg: str, config: GeneratorConfig) -> TacticGenerator:
    from provers.generators.openai_api import OpenAIGenerator

    if not arg:
        raise GeneratorConfigError("openai: needs the API base URL, e.g. openai:http://127.0.0.1:8000/v1#MODEL")
    return OpenAIGenerator(arg, config)


def _premises(arg: str, config: GeneratorConfig) -> TacticGenerator:
    from provers.generators.premises import PremiseGenerator

    return PremiseGenerator(arg, config)


def _knn(arg: str, config: GeneratorConfig) -> TacticGenerator:
    from provers.generators.knn import KnnGenerator

    return KnnGenerator(arg, config)


BUILDERS: dict[str, Callable[[str, GeneratorConfig], TacticGenerator]] = {
    "portfolio": _portfolio, "hf": _hf, "openai": _openai, "premises": _premises, "knn": _knn,
}


def split_mix(spec: str) -> list[tuple[str, float]]:
    """``"A*0.7+B"`` -> ``[("A", 0.7), ("B", 1.0)]``."""
    parts = []
    for chunk in spec.split("+"):
        chunk = chunk.strip()
        if not chunk:
            raise GeneratorConfigError(f"empty part in generator mix {spec!r}")
        body, star, weight = chunk.rpartition("*")
        if star and weight.replace(".", "", 1).isdigit():
            parts.append((body.strip(), float(weight)))
        else:
            parts.append((chunk, 1.0))
    return parts


def build_generator(config: GeneratorConfig) -> TacticGenerator:
    """The generator ``config.spec`` names; :class:`GeneratorConfigError` for an unknown kind."""
    parts = split_mix(config.spec)
    if len(parts) > 1:
        from provers.generators.mix import MixGenerator

        return MixGenerator([(build_generator(replace(config, spec=s)), w) for s, w in parts])
    spec = parts[0][0]
    kind, _, arg = spec.partition(":")
    key = ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if key not in BUILDERS:
        raise GeneratorConfigError(f"unknown generator {kind!r} in {config.spec!r}; known: {', '.join(KINDS)} (aliases: {', '.join(f'{a}={b}' for a, b in sorted(ALIASES.items()))})")
    return BUILDERS[key](arg.strip(), config)


def check_endpoints(config: GeneratorConfig) -> None:
    """Probe the ``openai:`` parts of ``config.spec`` now (a model list and a one-token request),
    so that a server or model that is not there is one error before a job starts, not a failure
    in every worker. Other kinds are left to the workers (loading a model here would be costly)."""
    for spec, _ in split_mix(config.spec):
        kind = spec.partition(":")[0].strip().lower()
        if ALIASES.get(kind, kind) == "openai":
            build_generator(replace(config, spec=spec)).close()
