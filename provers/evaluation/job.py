"""The evaluation job (``nesy eval minif2f``, ``nesy eval library``): one row per theorem, on one
process or a Ray actor pool.

Problems come from a source (:mod:`provers.evaluation.data`): stand-alone miniF2F files, or the
theorems of a traced library, each with its file context (start options, the kernel check in
the file's context, the order a warm worker takes a file's theorems in).

For each theorem an :class:`EvalWorker` starts the backend's environment (Coq: with
``From Coq Require Import Lia Lra Psatz.`` added after the header, as ``nesy prove`` does), runs
``attempts`` independent best-first searches, or draws ``attempts`` whole proofs, and kernel-checks
every distinct proof found with a fresh prover (:func:`provers.verify.verify_proof`). Only checked
proofs count: ``successes[i]`` is True when attempt i found a proof that passed the check.

Row statuses (:class:`provers.prove.Status`): ``proved`` (at least one checked proof),
``failed`` (none within the budget), ``not_elaborated`` (the statement does not elaborate on this
prover: reported, not counted as a prover failure), ``check_failed`` (found proofs were all
refused by the kernel check), ``error`` (unreadable file, generator failure, prover crash).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from provers.distributed import PoolConfig, PoolStats, ResultLog, Task, run_pool
from provers.errors import EnvError, EnvInitError, InputError, ProverError
from provers.evaluation.data import Problem
from provers.evaluation.metrics import coverage_curve, fit_power_law
from provers.generators.base import GeneratorConfig, GeneratorError, TacticGenerator
from provers.protocol import EnvConfig, Theorem
from provers.prove import ProveConfig, Status, new_warm_pool, prepare_theorem, warm_order
from provers.registry import canonical_name, get_backend
from provers.search.best_first import best_first_search, sample_proofs
from provers.search.result import SearchBudget, SearchStatus


@dataclass(frozen=True)
class EvalConfig:
    """Everything one evaluation run needs; one of these per generator compared."""

    backend: str = "coq"
    search: str = "best-first"  # or "sample"
    attempts: int = 1
    budget: SearchBudget = field(default_factory=SearchBudget)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    check: bool = True
    check_timeout_s: float = 120.0
    warm: bool = True  # Coq: each worker keeps warm processes keyed by header (provers.coq.pool)
    warm_budget_mib: float = 2048.0

    def __post_init__(self) -> None:
        if self.search not in ("best-first", "sample"):
            raise InputError(f"search must be 'best-first' or 'sample', not {self.search!r}")
        if self.attempts < 1:
            raise InputError("attempts must be at least 1")
        canonical_name(self.backend)


class EvalWorker:
    """Proves one theorem per :meth:`run` call; owns its generator, its warm pool and, per theorem, its environment."""

    def __init__(self, config: EvalConfig, generator: TacticGenerator | None = None) -> None:
        from provers.generators.registry import build_generator

        self.config = config
        self.generator = generator if generator is not None else build_generator(config.generator)
        self.pool = new_warm_pool(ProveConfig(backend=config.backend, warm=config.warm, warm_budget_mib=config.warm_budget_mib))

    def close(self) -> None:
        self.generator.close()
        if self.pool is not None:
            self.pool.close()

    def run(self, task: Task) -> dict:
        problem: Problem = task.payload
        start = time.monotonic()
        base = {"name": problem.name, "file": problem.file, "generator": self.generator.name, "search": self.config.search, "worker_pid": os.getpid()}
        if problem.theorem is None:  # unreadable, or a library theorem that cannot start in its file: the reason
            return {**base, "status": Status.ERROR.value, "message": problem.error or "unreadable problem", "wall_s": 0.0}
        ctx = problem.context  # a library theorem's file context (provers.coq.library), or None
        theorem = problem.theorem if ctx is not None else prepare_theorem(problem.theorem, ProveConfig(backend=self.config.backend))
        env_config = EnvConfig(tactic_timeout_s=self.config.budget.tactic_timeout_s, extra_args=tuple(getattr(ctx, "env_args", ())))
        backend = get_backend(self.config.backend)
        started: dict = {}
        try:
            with backend(theorem, env_config, pool=self.pool) if self.pool is not None else backend(theorem, env_config) as (env, init):
                started = {"start": getattr(env, "warm_start", "cold"), "start_s": round(time.monotonic() - start, 4)}
                body = self._attempts(env, init, theorem, ctx)
        except EnvInitError as exc:
            return {**base, "status": Status.NOT_ELABORATED.value, "message": str(exc)[:1000], "wall_s": time.monotonic() - start}
        except GeneratorError as exc:
            return {**base, "status": Status.ERROR.value, "message": f"generator failed: {exc}"[:1000], "wall_s": time.monotonic() - start}
        except (EnvError, ProverError) as exc:
            return {**base, "status": Status.ERROR.value, "message": f"{type(exc).__name__}: {exc}"[:1000], "wall_s": time.monotonic() - start}
        return {**base, **body, **started, "wall_s": time.monotonic() - start}

    def _attempts(self, env, init, theorem: Theorem, ctx=None) -> dict:
        cfg = self.config
        verdicts: dict[tuple[str, ...], tuple[bool, str]] = {}
        check_s = 0.0

        def verified(proof: tuple[str, ...]) -> bool:
            nonlocal check_s
            if proof not in verdicts:
                if not cfg.check:
                    verdicts[proof] = (True, "not checked (--no-check)")
                else:
                    t0 = time.monotonic()
                    if ctx is not None:  # the check in the problem's own context (a library file's)
                        v = ctx.check(list(proof), timeout_s=cfg.check_timeout_s)
                    else:
                        v = _verify(cfg.backend, theorem, list(proof), cfg.check_timeout_s)
                    check_s += time.monotonic() - t0
                    verdicts[proof] = (v.ok, v.message)
            return verdicts[proof][0]

        successes: list[bool] = []
        found: list[tuple[str, ...]] = []
        model_s = env_s = 0.0
        nodes = expanded = tactics = 0
        proved_nodes: int | None = None
        stops: list[str] = []
        messages: list[str] = []
        if cfg.search == "best-first":
            for _ in range(cfg.attempts):
                r = best_first_search(env, init, self.generator, cfg.budget)
                model_s += r.model_s
                env_s += r.env_s
                nodes += r.nodes_total
                expanded += r.nodes_expanded
                tactics += r.tactics_run
                stops.append(r.stop_reason.value)
                if r.message:
                    messages.append(r.message)
                ok = r.status is SearchStatus.PROVED and verified(r.proof)
                if r.proof is not None:
                    found.append(r.proof)
                if ok and proved_nodes is None:
                    proved_nodes = r.nodes_total
                successes.append(ok)
        else:
            s = sample_proofs(env, init, self.generator, cfg.budget, cfg.attempts)
            model_s, env_s, tactics = s.model_s, s.env_s, s.tactics_run
            stops.append(s.stop_reason.value)
            if s.message:
                messages.append(s.message)
            ok_proof = [verified((p,)) for p in s.proofs]
            found = [(p,) for p in s.proofs]
            successes = [i >= 0 and ok_proof[i] for i in s.proof_of_sample]
            nodes = len(s.successes)  # for sampling, a 'node' is a drawn proof
            if any(successes):
                proved_nodes = successes.index(True) + 1  # samples drawn until the first checked proof
        good = [p for p in found if verdicts.get(p, (False, ""))[0]]
        if good:  # without the kernel check a found proof is reported, never counted as proved
            status, proof = (Status.PROVED if cfg.check else Status.UNCHECKED), list(good[0])
        elif found:
            status, proof = Status.CHECK_FAILED, list(found[0])
        else:
            status, proof = Status.FAILED, None
        checks = [m for p, (_, m) in verdicts.items() if (proof and tuple(proof) == p)]
        return {
            "status": status.value,
            "proof": proof,
            "attempts": cfg.attempts,
            "samples": len(successes),
            "correct": sum(successes),
            "successes": successes,
            "nodes_total": nodes,
            "nodes_expanded": expanded,
            "nodes_to_proof": proved_nodes,
            "tactics_run": tactics,
            "model_s": round(model_s, 4),
            "env_s": round(env_s, 4),
            "check_s": round(check_s, 4),
            "stop_reasons": stops,
            "check": checks[0] if checks else "",
            "message": "; ".join(messages)[:500],
        }


def _verify(backend: str, theorem: Theorem, tactics: list[str], timeout_s: float):
    from provers.verify import verify_proof

    return verify_proof(backend, theorem, tactics, timeout_s=timeout_s)


def _error_row(config: EvalConfig, generator_name: str):
    def make(task: Task, message: str) -> dict:
        p: Problem = task.payload
        return {"name": p.name, "file": p.file, "generator": generator_name, "search": config.search, "status": Status.ERROR.value, "message": message}

    return make


def run_eval(
    problems: list[Problem],
    config: EvalConfig,
    out_dir: Path,
    pool: PoolConfig,
    *,
    on_row=None,
) -> tuple[list[dict], PoolStats]:
    """Evaluate ``config`` on ``problems``; stream rows to ``out_dir/results.jsonl`` (resumable).

    Returns the rows of these problems (including ones from earlier runs) and the pool's stats.
    Proofs of proved Coq theorems are also written to ``out_dir/proofs/<name>.v``.
    """
    from functools import partial

    out_dir.mkdir(parents=True, exist_ok=True)
    log = ResultLog(out_dir / "results.jsonl")
    by_name = {p.name: p for p in problems}

    def written(row: dict) -> None:
        if row.get("status") == Status.PROVED.value and row.get("proof") and canonical_name(config.backend) == "coq":
            _write_proof(out_dir, by_name[row["name"]], row["proof"], config)
        if on_row:
            on_row(row)

    ordered = job_order(problems) if config.warm and canonical_name(config.backend) == "coq" else problems
    tasks = [Task(p.name, p) for p in ordered]
    stats = run_pool(tasks, partial(EvalWorker, config), pool, log, on_row=written, error_row=_error_row(config, config.generator.spec))
    rows = [r for r in log.rows() if r["name"] in by_name]
    return rows, stats


def job_order(problems: list[Problem]) -> list[Problem]:
    """The order a warm job takes ``problems`` in: by header (:func:`warm_order`), or, for problems
    with a context, as the context says (a library file's theorems from the last to the first, so
    that each start on a warm process of that file is one ``Edit_at`` back)."""
    if any(p.context is not None for p in problems):
        return sorted(problems, key=lambda p: (1, *p.context.order_key) if p.context is not None else (0, p.file, 0))
    return warm_order(problems)


def _write_proof(out_dir: Path, problem: Problem, proof: list[str], config: EvalConfig) -> None:
    from provers.coq.check import proof_file_text
    from provers.coq.sentences import check_tactic

    if problem.theorem is None:
        return
    if problem.context is not None:
        sentences = [s for t in proof for s in check_tactic(t).sentences]
        (out_dir / "proofs").mkdir(exist_ok=True)
        (out_dir / "proofs" / f"{problem.name}.v").write_text(problem.context.proof_file(sentences), encoding="utf-8")
        return
    theorem = prepare_theorem(problem.theorem, ProveConfig(backend=config.backend))
    sentences = [s for t in proof for s in check_tactic(t).sentences]
    (out_dir / "proofs").mkdir(exist_ok=True)
    (out_dir / "proofs" / f"{problem.name}.v").write_text(proof_file_text(theorem, sentences), encoding="utf-8")


def summarize(rows: list[dict], attempts: int) -> dict:
    """Pass rate, pass@k (unbiased, k = 1..attempts), time and nodes per proved theorem."""
    counts = {s.value: 0 for s in Status}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    elaborated = [r for r in rows if r["status"] not in (Status.NOT_ELABORATED.value, Status.ERROR.value)]
    proved = [r for r in rows if r["status"] == Status.PROVED.value]
    # A theorem whose sampling stopped early (time budget) counts its missing samples as failures.
    pairs = [(attempts, min(attempts, int(r.get("correct", 0)))) for r in elaborated]
    curve = coverage_curve(pairs, attempts) if elaborated else []
    fit = fit_power_law(list(range(1, attempts + 1)), curve) if curve else None

    def stat(values: list[float]) -> dict | None:
        return {"mean": statistics.fmean(values), "median": statistics.median(values)} if values else None

    return {
        "total": len(rows),
        "counts": counts,
        "elaborated": len(elaborated),
        "proved": len(proved),
        "pass_rate": len(proved) / len(elaborated) if elaborated else 0.0,
        "pass_rate_all": len(proved) / len(rows) if rows else 0.0,
        "pass_at_k": {str(k): v for k, v in enumerate(curve, start=1)},
        "power_law_fit": asdict(fit) if fit else None,
        "seconds_per_proved": stat([r["wall_s"] for r in proved]),
        "nodes_per_proved": stat([r["nodes_to_proof"] for r in proved if r.get("nodes_to_proof") is not None]),
        "model_s_total": sum(r.get("model_s", 0.0) for r in rows),
        "env_s_total": sum(r.get("env_s", 0.0) for r in rows),
        "check_s_total": sum(r.get("check_s", 0.0) for r in rows),
        "wall_s_total": sum(r.get("wall_s", 0.0) for r in rows),
    }


def summary_markdown(results: dict[str, dict], title: str) -> str:
    """One table comparing the summaries of several generators (``label -> summary``)."""
    lines = [
        f"# {title}",
        "",
        "| generator | theorems | elaborated | proved | failed | check failed | not elaborated | errors | pass rate | pass@1 | s/proved (mean) | nodes/proved (mean) | model s | prover s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in results.items():
        c = s["counts"]
        spp = f"{s['seconds_per_proved']['mean']:.1f}" if s["seconds_per_proved"] else "-"
        npp = f"{s['nodes_per_proved']['mean']:.1f}" if s["nodes_per_proved"] else "-"
        p1 = s["pass_at_k"].get("1")
        lines.append(
            f"| `{label}` | {s['total']} | {s['elaborated']} | {s['proved']} | {c['failed']} | {c['check_failed']} | {c['not_elaborated']} | {c['error']} "
            f"| {100 * s['pass_rate']:.1f}% | {100 * p1:.1f}% | {spp} | {npp} | {s['model_s_total']:.0f} | {s['env_s_total']:.0f} |"
            if p1 is not None
            else f"| `{label}` | {s['total']} | 0 | 0 | - | - | {c['not_elaborated']} | {c['error']} | - | - | - | - | - | - |"
        )
    for label, s in results.items():
        if len(s["pass_at_k"]) > 1:
            ks = list(s["pass_at_k"])
            lines += ["", f"pass@k for `{label}`: " + ", ".join(f"k={k}: {100 * s['pass_at_k'][k]:.1f}%" for k in ks)]
            if s["power_law_fit"]:
                f = s["power_law_fit"]
                lines.append(f"fit: coverage ≈ exp({f['a']:.4f} · k^{f['b']:.4f}) ({f['points']} points)")
    lines.append("")
    return "\n".join(lines)


def with_generator(config: EvalConfig, spec: str) -> EvalConfig:
    return replace(config, generator=replace(config.generator, spec=spec))
