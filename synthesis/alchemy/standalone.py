"""Checking verified variants again, one at a time: each in a fresh kernel check of its own (the
single-proof check of ``nesy eval library``, in its original's file context), independent of the
batch that verified it. ``benchmarks/alchemy_sample.py`` runs it on 100 random variants of a run;
``benchmarks/alchemy_cost.py`` on a few, to compare the cost with the batch's.
"""

from __future__ import annotations

import json
import random
import resource
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StandaloneResult:
    record: dict  # the line of verified.jsonl
    ok: bool
    message: str
    cpu_s: float  # CPU seconds of the Coq processes of this check
    same_as_original: bool  # the variant's stated type equals its original's (up to whitespace)


def children_cpu_seconds() -> float:
    """CPU seconds of this process's reaped children (the Coq processes of a check)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def read_verified(out: Path) -> list[dict]:
    path = Path(out) / "verified.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def originals_of(dataset: Path, files: set[str], backend: str = "coq") -> dict:
    """The library theorems of ``files`` of a traced dataset, by full name (all split parts)."""
    from provers.registry import load_backend

    be = load_backend(backend)
    out = {}
    for part in ("train", "val", "test"):
        for p in be.load_library(dataset, "random", part, tactic_imports=False, files=lambda f: f in files):
            if p.context is not None:
                out[p.name] = p.context
    return out


def check_sample(out: Path, n: int, seed: int = 0) -> list[StandaloneResult]:
    """``n`` random verified variants of the run in ``out``, each checked alone."""
    from synthesis.alchemy.syntax import syntax_for

    config = json.loads((Path(out) / "config.json").read_text(encoding="utf-8"))["config"]
    rows = read_verified(out)
    sample = random.Random(seed).sample(rows, min(n, len(rows)))
    originals = originals_of(Path(config["dataset"]), {r["file"] for r in sample}, config.get("backend", "coq"))
    syn = syntax_for(config.get("backend", "coq"))
    results = []
    for r in sample:
        lt = originals.get(r["original"])
        if lt is None:
            results.append(StandaloneResult(r, False, "the original is no longer in the dataset", 0.0, False))
            continue
        c0 = children_cpu_seconds()
        verdict = syn.check_alone(lt, r["statement"], r["proof"], r["name"])
        cpu = children_cpu_seconds() - c0
        same = " ".join(syn.declaration(r["statement"]).type.split()) == " ".join(
            syn.declaration(lt.check_statement or lt.theorem.statement).type.split())
        results.append(StandaloneResult(r, verdict.ok, verdict.message, cpu, same))
    return results


__all__ = ["StandaloneResult", "check_sample", "children_cpu_seconds", "originals_of", "read_verified"]
