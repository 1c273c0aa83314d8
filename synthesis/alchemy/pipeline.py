"""``nesy synth alchemy``: mutate the theorems of a traced library, verify the variants in batches,
write the verified corpus (Alchemy, ICLR 2025, on nesy's job engine).

A run reads a traced dataset (``nesy trace``'s LeanDojo layout: the theorems with their places,
the premise corpus with accessibility). Its unit of work is a *stretch*: up to ``chunk``
consecutive theorems of one file. A worker mutates each theorem of the stretch on one warm
environment process of that file (:mod:`synthesis.alchemy.mutate`; going from theorem to theorem
is an ``Edit_at``), then kernel-checks all the stretch's variants in one batch (the backend's
syntax: :meth:`synthesis.alchemy.syntax.CoqSyntax.verify_stretch`). Stretches run in parallel on
:func:`nesyrun.pool.run_pool` (threads sharing one lemma table, or Ray), one JSON row per stretch
streamed to ``results.jsonl``: a rerun with the same arguments resumes.

No evaluation data leaks into what is written: theorems in the ``val`` or ``test`` part of either
split (``random``, ``novel_premises``) are never mutated, and the premises that only the
``novel_premises`` evaluation theorems use (what makes them novel) are never used to mutate
(``include_eval`` turns both off, for studies that want everything).

Output directory::

    config.json      the configuration (a rerun with another one is refused)
    results.jsonl    one row per stretch: per theorem its counts and skip reason, every hit (lemma,
                     mode, direction, target, the state after; the state before once), the variants
    verified.jsonl   the verified variants: statement, composed proof, provenance
                     (original, lemma, mode, direction, target), states before/after, axioms
    pairs.jsonl      their traced (state, tactic) pairs (``nesy train tactics --pairs`` reads it)
    summary.json, summary.md   counts at every stage, conversion rates, CPU time, per mode
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import resource
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from nesyrun.files import atomic_write_text, writable_dir
from nesyrun.pool import PoolConfig, ResultLog, Task, run_pool
from synthesis.alchemy.mutate import MODES, MutationConfig
from synthesis.errors import (
    ConfigError,
    OutputError,
    ResumeMismatchError,
    SynthesisError,
)

STAGES = ("lemmas", "symbol_matches", "tried", "hits", "variants", "env_passed", "verified")
# per mode, besides the stages: theorems with at least one hit (Alchemy's "candidate theorems")
# and with at least one verified variant


@dataclass(frozen=True)
class AlchemyConfig:
    """What a run mutates and how (the part of the configuration a resume must match)."""

    dataset: str
    backend: str = "coq"
    modes: tuple[str, ...] = MODES
    files: tuple[str, ...] = ()  # globs over dataset-relative file paths (empty: all)
    limit: int | None = None  # at most this many theorems (in file order)
    chunk: int = 24  # theorems per stretch (one batch check each)
    include_eval: bool = False
    mutation: MutationConfig = field(default_factory=MutationConfig)
    recheck: bool = True  # coqchk over each batch
    check_timeout_s: float = 900.0

    def __post_init__(self) -> None:
        bad = [m for m in self.modes if m not in MODES]
        if bad or not self.modes:
            raise ConfigError(f"--mode must be rw, apply or both; got {', '.join(bad) or 'nothing'}")
        if self.chunk < 1:
            raise ConfigError(f"--chunk must be at least 1, got {self.chunk}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {self.limit}")
        m = self.mutation
        if m.max_candidates < 1 or m.max_variants < 1:
            raise ConfigError("--max-candidates and --max-variants must be at least 1")
        if not (m.tactic_timeout_s > 0):
            raise ConfigError(f"--tactic-timeout must be a positive number of seconds, got {m.tactic_timeout_s}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["mutation"] = asdict(self.mutation)
        return d

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------ what to mutate


@dataclass(frozen=True)
class Selection:
    """The theorems of a run, grouped into stretches, and what was left out and why."""

    stretches: list[tuple[str, list]]  # (task name, [LibraryProblem ...]) in file order
    excluded: dict[str, int]  # reason -> theorems
    novel_premises: frozenset[int]  # corpus indices never used to mutate
    theorems: int


def select(config: AlchemyConfig, corpus) -> Selection:
    """Read the dataset's theorems (all parts of ``random``), drop evaluation theorems, group."""
    from provers.registry import load_backend
    from retrieval.dataset import open_dataset

    backend = load_backend(config.backend)
    if backend.load_library is None:
        raise ConfigError(f"the {backend.name} backend cannot start theorems of a traced library")
    root = Path(config.dataset)
    ds = open_dataset(root)
    wanted = (lambda f: any(fnmatch.fnmatchcase(f, g) for g in config.files)) if config.files else None
    problems = []
    for part in ("train", "val", "test"):
        problems += backend.load_library(root, "random", part, tactic_imports=False, files=wanted)
    evaluation: set[str] = set()
    novel: set[int] = set()
    if not config.include_eval:
        for split in ("random", "novel_premises"):
            for part in ("val", "test"):
                evaluation |= {t.full_name for t in ds.read_part(split, part)}
        used_train, _ = corpus.resolve_all(p for t in ds.read_part("novel_premises", "train") for tt in t.traced_tactics
                                           for p in tt.annotated_tactic.provenances)
        for part in ("val", "test"):
            used, _ = corpus.resolve_all(p for t in ds.read_part("novel_premises", part) for tt in t.traced_tactics
                                         for p in tt.annotated_tactic.provenances)
            novel |= used - used_train
    excluded: dict[str, int] = {}
    kept = []
    for p in problems:
        if p.name in evaluation:
            excluded["evaluation split"] = excluded.get("evaluation split", 0) + 1
            continue
        if p.theorem is None or p.context is None:
            key = f"unstartable: {(p.error or 'unknown').split(':', 1)[0]}"
            excluded[key] = excluded.get(key, 0) + 1
            continue
        if p.context.context:  # the batch check reads plain modules only (provers.coq.library.opener_as_module is per theorem)
            excluded["inside a functor or module type"] = excluded.get("inside a functor or module type", 0) + 1
            continue
        kept.append(p)
    if config.files and not problems:
        raise ConfigError(f"--files {' '.join(config.files)} matches no file of {root}")
    kept.sort(key=lambda p: (p.file, p.context.position))
    if config.limit is not None:
        kept = kept[: config.limit]
    stretches: list[tuple[str, list]] = []
    by_file: dict[str, list] = {}
    for p in kept:
        by_file.setdefault(p.file, []).append(p)
    for file, ps in by_file.items():
        for k in range(0, len(ps), config.chunk):
            stretches.append((f"{file}#{k // config.chunk}", ps[k:k + config.chunk]))
    return Selection(stretches, excluded, frozenset(novel), len(kept))


# ------------------------------------------------------------------ the worker


@functools.lru_cache(maxsize=2)
def _lemma_table(dataset: str):
    from retrieval.corpus import PremiseCorpus
    from synthesis.alchemy.lemmas import LemmaTable

    table = LemmaTable(PremiseCorpus.from_jsonl(Path(dataset) / "corpus.jsonl"))
    _ = table.bm25  # built here, once, not inside a timed stretch
    return table


_TABLE_LOCK = threading.Lock()


def lemma_table(dataset: str):
    with _TABLE_LOCK:
        return _lemma_table(dataset)


class AlchemyWorker:
    """Mutates and verifies stretches (one row each); owns a warm pool of prover processes."""

    def __init__(self, config: AlchemyConfig, novel: frozenset[int], warm_budget_mib: float) -> None:
        from provers.registry import load_backend
        from synthesis.alchemy.mutate import Mutator
        from synthesis.alchemy.syntax import syntax_for

        self.config = config
        self.backend = load_backend(config.backend)
        self.syntax = syntax_for(self.backend.name)
        self.pool = self.backend.pool(True, warm_budget_mib)
        table = lemma_table(config.dataset)
        allowed = (lambda i: i not in novel) if novel else None
        mutation = replace(config.mutation, modes=config.modes)  # the run's modes decide, not a default
        self.mutator = Mutator(table, self.syntax, self._env, mutation, allowed)
        self._sources: dict[str, object] = {}

    def _env(self, theorem, env_config):
        return self.backend.env(theorem, env_config, pool=self.pool) if self.pool is not None else self.backend.env(theorem, env_config)

    def _source(self, file: str):
        if file not in self._sources:
            self._sources.clear()  # one file at a time is enough: stretches come in file order
            self._sources[file] = self.syntax.read_source(self.config.dataset, file)
        return self._sources[file]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def run(self, task: Task) -> dict:
        t0 = time.monotonic()
        problems = task.payload
        file = problems[0].file
        row: dict = {"name": task.name, "file": file, "theorems": [], "variants": []}
        src = self._source(file)
        if isinstance(src, str):
            row.update(status="error", message=src, wall_s=round(time.monotonic() - t0, 3))
            row["theorems"] = [{"name": p.name, "skipped": f"file: {src}"} for p in problems]
            return row
        placed = []
        for p in problems:
            lt = p.context
            index = src.sentence_at(lt.position)
            if index is None:
                row["theorems"].append({"name": p.name, "skipped": "file_changed: no sentence at the traced position"})
                continue
            outcome = self.mutator.mutate(lt, src, index)
            row["theorems"].append({"name": p.name, "skipped": outcome.skipped, "counts": outcome.counts,
                                    "seconds": round(outcome.seconds, 3), "env_passed": len(outcome.variants),
                                    "state_before": outcome.state, "hits": outcome.hits})
            if outcome.variants:
                placed.append((lt, index, outcome.variants))
        t1 = time.monotonic()
        verified: dict[str, object] = {}
        if placed:
            report = self.syntax.verify_stretch(src, placed, problems[0].context.check_args, recheck=self.config.recheck,
                                                timeout_s=self.config.check_timeout_s)
            if isinstance(report, str):
                row["batch"] = {"error": report}
            else:
                verified = report.verdicts
                row["batch"] = {"coqc_runs": report.coqc_runs, "seconds": round(report.seconds, 3),
                                "stages": {k: round(v, 3) for k, v in report.stages.items()}}
        by_theorem = {t["name"]: t for t in row["theorems"]}
        for lt, _, variants in placed:
            entry = by_theorem[lt.full_name]
            entry["verified"] = 0
            for v in variants:
                verdict = verified.get(v.name)
                ok = bool(verdict is not None and verdict.ok)
                d = v.to_json()
                d["verified"] = ok
                d["text"] = self.syntax.proof_block(v.statement, v.proof_sentence, list(v.proof))
                d["check"] = verdict.message if verdict is not None else "not checked"
                d["axioms"] = list(verdict.axioms) if verdict is not None else []
                row["variants"].append(d)
                if ok:
                    entry["verified"] += 1
                    entry["counts"][v.mode]["verified"] = entry["counts"][v.mode].get("verified", 0) + 1
        row.update(status="done", mutate_s=round(t1 - t0, 3), verify_s=round(time.monotonic() - t1, 3),
                   wall_s=round(time.monotonic() - t0, 3))
        return row


# ------------------------------------------------------------------ the run


def _prepare_out(config: AlchemyConfig, out: Path, fresh: bool) -> ResultLog:
    why = writable_dir(out)
    if why:
        raise OutputError(why)
    cfg_path = out / "config.json"
    if fresh:
        for name in ("results.jsonl", "verified.jsonl", "pairs.jsonl", "summary.json", "summary.md", "config.json"):
            (out / name).unlink(missing_ok=True)
    if cfg_path.exists():
        try:
            previous = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResumeMismatchError(f"{cfg_path} is not readable JSON ({exc}); use a new --out or --fresh") from None
        if previous.get("digest") != config.digest():
            raise ResumeMismatchError(f"{out} holds a run with other arguments; use the same arguments to resume, a new --out, or --fresh")
    else:
        atomic_write_text(cfg_path, json.dumps({"config": config.to_json(), "digest": config.digest()}, indent=1) + "\n")
    return ResultLog(out / "results.jsonl")


def run_alchemy(config: AlchemyConfig, out: Path, *, workers: int = 1, executor: str = "threads", address: str | None = None,
                warm_budget_mib: float = 4096.0, fresh: bool = False, progress: bool = True) -> dict:
    """Run (or resume) a mutation job into ``out``; return its summary (also written there)."""
    from tqdm import tqdm

    from retrieval.errors import RetrievalError

    dataset = Path(config.dataset)
    if not (dataset / "corpus.jsonl").is_file():
        raise ConfigError(f"{dataset}: not a traced dataset (no corpus.jsonl); make one with nesy trace")
    log = _prepare_out(config, out, fresh)
    t0 = time.monotonic()
    cpu0 = _cpu_seconds()
    try:
        table = lemma_table(str(dataset))
        selection = select(config, table.corpus)
    except RetrievalError as exc:
        raise ConfigError(f"{dataset}: {exc}") from None
    except SynthesisError:
        raise
    except Exception as exc:  # provers' own input errors (a dataset from another Coq, a missing library)
        if type(exc).__module__.split(".")[0] in ("provers", "retrieval"):
            raise ConfigError(str(exc)) from None
        raise
    tasks = [Task(name, ps) for name, ps in selection.stretches]
    done = len(log.names & {t.name for t in tasks})
    bar = tqdm(total=len(tasks), unit="stretch", file=sys.stderr, dynamic_ncols=True, disable=not progress, desc="alchemy")
    totals = {"variants": 0, "verified": 0}
    if done:
        bar.update(done)
        bar.set_postfix_str(f"resumed: {done} already done")

    def on_row(row: dict) -> None:
        totals["variants"] += len(row.get("variants", []))
        totals["verified"] += sum(1 for v in row.get("variants", []) if v.get("verified"))
        bar.update(1)
        bar.set_postfix(variants=totals["variants"], verified=totals["verified"])

    novel = selection.novel_premises
    pool_config = PoolConfig(workers=workers, address=address, executor=executor)
    try:
        run_pool(tasks, functools.partial(AlchemyWorker, config, novel, warm_budget_mib), pool_config, log, on_row=on_row,
                 error_row=lambda task, msg: {"name": task.name, "status": "error", "message": msg, "theorems": [], "variants": []})
    finally:
        bar.close()
    rows = [r for r in log.rows() if r["name"] in {t.name for t in tasks}]
    summary = summarize(rows, selection, config)
    summary["run"] = {"wall_s": round(time.monotonic() - t0, 2), "workers": workers, "resumed_stretches": done,
                      "executor": pool_config.kind}
    if pool_config.kind == "ray":  # actors are not this process's children: their CPU time is not seen here
        summary["run"]["cpu_s"] = None
    else:
        summary["run"]["cpu_s"] = round(_cpu_seconds() - cpu0, 2)
        if summary["verified"] and not done:  # a resumed run did only part of the work
            summary["run"]["cpu_s_per_verified"] = round(summary["run"]["cpu_s"] / summary["verified"], 3)
    write_outputs(out, rows, summary)
    return summary


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its reaped children (the prover processes)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def summarize(rows: list[dict], selection: Selection, config: AlchemyConfig) -> dict:
    per_mode = {m: dict.fromkeys((*STAGES, "theorems_with_hits", "theorems_verified"), 0) for m in config.modes}
    skipped: dict[str, int] = {}
    theorems = mutated = 0
    for r in rows:
        for t in r.get("theorems", []):
            theorems += 1
            if t.get("skipped"):
                key = str(t["skipped"]).split(":", 1)[0]
                skipped[key] = skipped.get(key, 0) + 1
                continue
            mutated += 1
            for m, c in (t.get("counts") or {}).items():
                if m in per_mode:
                    for k in STAGES:
                        per_mode[m][k] += int(c.get(k, 0))
                    per_mode[m]["theorems_with_hits"] += int(c.get("hits", 0) > 0)
                    per_mode[m]["theorems_verified"] += int(c.get("verified", 0) > 0)
    for m, c in per_mode.items():
        c["hit_rate"] = _rate(c["hits"], c["tried"])
        c["verified_of_variants"] = _rate(c["verified"], c["variants"])
    verified = sum(c["verified"] for c in per_mode.values())
    with_variant = sum(1 for r in rows for t in r.get("theorems", []) if t.get("verified"))
    errors = [r["name"] for r in rows if r.get("status") == "error"]
    return {
        "dataset": config.dataset, "modes": list(config.modes), "files": list(config.files),
        "theorems_selected": selection.theorems, "excluded": selection.excluded,
        "novel_premises_withheld": len(selection.novel_premises),
        "theorems": theorems, "theorems_mutated": mutated, "theorems_skipped": skipped,
        "theorems_with_verified_variant": with_variant,
        "per_mode": per_mode, "verified": verified, "stretch_errors": errors,
    }


def _rate(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def write_outputs(out: Path, rows: list[dict], summary: dict) -> None:
    verified_lines, pair_lines = [], []
    seen_pairs: set[tuple[str, str]] = set()
    for r in rows:
        for v in r.get("variants", []):
            if not v.get("verified"):
                continue
            rec = {k: v[k] for k in ("name", "original", "file", "lemma", "mode", "direction", "target", "statement",
                                     "proof_sentence", "proof", "state_before", "state_after", "axioms", "check")}
            rec["text"] = v["text"]
            verified_lines.append(json.dumps(rec, ensure_ascii=False))
            for p in v.get("pairs", []):
                key = (p["state"], p["tactic"])
                if key not in seen_pairs:
                    seen_pairs.add(key)
                    pair_lines.append(json.dumps({"state": p["state"], "tactic": p["tactic"]}, ensure_ascii=False))
    summary["pairs"] = len(pair_lines)
    try:
        atomic_write_text(out / "verified.jsonl", "".join(line + "\n" for line in verified_lines))
        atomic_write_text(out / "pairs.jsonl", "".join(line + "\n" for line in pair_lines))
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
        atomic_write_text(out / "summary.md", summary_markdown(summary))
    except OSError as exc:
        raise OutputError(f"cannot write the outputs in {out}: {exc.strerror or exc}") from None


def summary_markdown(s: dict) -> str:
    lines = [f"# nesy synth alchemy: {s['dataset']}", ""]
    lines.append(f"Theorems selected {s['theorems_selected']} (excluded: "
                 + (", ".join(f"{k} {v}" for k, v in sorted(s["excluded"].items())) or "none")
                 + f"); mutated {s['theorems_mutated']}, skipped "
                 + (", ".join(f"{k} {v}" for k, v in sorted(s["theorems_skipped"].items())) or "none") + ".")
    lines.append(f"Premises withheld as novel to the evaluation split: {s['novel_premises_withheld']}.")
    header = ("| mode | lemmas considered | symbol matches | tried | hits | theorems with a hit | variants | ran in env | verified | "
              "hits/tried | verified/variants | verified per theorem with a hit |")
    lines += ["", header,
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m, c in s["per_mode"].items():
        expansion = f"{c['verified'] / c['theorems_with_hits']:.1f}" if c.get("theorems_with_hits") else "-"
        lines.append(f"| {m} | {c['lemmas']} | {c['symbol_matches']} | {c['tried']} | {c['hits']} | {c.get('theorems_with_hits', 0)} | "
                     f"{c['variants']} | {c['env_passed']} | {c['verified']} | {_pct(c['hit_rate'])} | {_pct(c['verified_of_variants'])} | {expansion} |")
    run = s.get("run", {})
    lines += ["", f"Verified variants: {s['verified']} (from {s['theorems_with_verified_variant']} theorems); pairs {s.get('pairs', 0)}.",
              f"Wall {run.get('wall_s')} s, CPU "
              + (f"{run['cpu_s']} s" if run.get("cpu_s") is not None else "not measured (Ray actors)")
              + (f", {run['cpu_s_per_verified']} CPU-s per verified variant" if run.get("cpu_s_per_verified") else "") + ".", ""]
    if s["stretch_errors"]:
        lines.append(f"Stretches with errors: {', '.join(s['stretch_errors'][:10])}")
    return "\n".join(lines) + "\n"


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def resolve_library(arg: str) -> Path:
    """``stdlib`` -> the cached traced stdlib; a path -> a traced dataset there."""
    from nesyrun.cache import cache_dir

    if arg == "stdlib":
        path = cache_dir("traced", "coq-stdlib")
        if not (path / "corpus.jsonl").is_file():
            raise ConfigError(f"the traced standard library is not in {path}: run `nesy trace` first (about 17 minutes on 2 cores)")
        return path
    path = Path(arg).expanduser()
    if not path.exists():
        raise ConfigError(f"--library {arg}: no such directory")
    if not (path / "corpus.jsonl").is_file():
        raise ConfigError(f"--library {arg}: not a traced dataset (no corpus.jsonl); trace the library first: nesy trace {arg} --out DIR")
    return path.resolve()


__all__ = ["AlchemyConfig", "AlchemyWorker", "resolve_library", "run_alchemy", "select", "summarize", "summary_markdown"]
