"""The one engine for proof jobs: one row per theorem, on this process, threads or Ray actors.

Every proof job -- ``nesy prove`` (the ``portfolio`` search: automation tactics in turn from the
initial state, stop at the first kernel-checked proof), ``nesy eval minif2f`` (best-first search
or whole-proof sampling with any generator) -- is a :class:`ProofJobConfig` run by
:func:`run_proof_job` on :func:`nesyrun.pool.run_pool`. For each theorem a :class:`ProofWorker`
starts the backend's environment (on its warm pool when the backend has one), runs ``attempts``
searches or draws, and kernel-checks every distinct proof found with the backend's fresh check.
Only checked proofs count: ``successes[i]`` is True when attempt i found a proof that passed.

Rows (:class:`provers.evaluation.rows.ProofRow`) stream to ``OUT/results.jsonl`` (a rerun skips
the names already there); each proved theorem's proof file goes to ``OUT/proofs/``; the summary
to ``OUT/summary.json``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

from nesyrun.files import atomic_write_text
from nesyrun.pool import PoolConfig, ResultLog, Task, run_pool
from provers.errors import EnvError, EnvInitError, InputError, ProverError
from provers.evaluation.rows import ProofRow, Status, error_row, summarize
from provers.generators.base import GeneratorConfig, GeneratorError, TacticGenerator
from provers.protocol import EnvConfig, Problem, Theorem
from provers.registry import canonical_name, load_backend
from provers.search.best_first import best_first_search, sample_proofs
from provers.search.closers import try_closers
from provers.search.result import SearchBudget, SearchStatus

SEARCHES = ("best-first", "sample", "portfolio")


@dataclass(frozen=True)
class ProofJobConfig:
    """Everything one proof job needs (one of these per generator compared).

    ``search``: ``best-first``, ``sample`` (whole proofs from the generator) or ``portfolio``
    (``tactics``, else the backend's portfolio, tried in turn on the initial state; no generator).
    ``closers``: best-first search also tries that portfolio on every node it expands, besides the
    generator's k proposals (:func:`provers.search.best_first.best_first_search`).
    ``budget.time_s`` bounds one attempt. ``hammer``/``tactic_imports``: what the backend adds
    after each header for its automation. ``warm``: start theorems on a warm pool of provers.
    """

    backend: str = "coq"
    search: str = "best-first"
    attempts: int = 1
    budget: SearchBudget = field(default_factory=SearchBudget)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    tactics: tuple[str, ...] = ()
    closers: bool = False
    hammer: bool = False
    tactic_imports: bool = True
    check: bool = True
    check_timeout_s: float = 120.0
    warm: bool = True
    warm_budget_mib: float = 2048.0
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.search not in SEARCHES:
            raise InputError(f"search must be one of {', '.join(SEARCHES)}, not {self.search!r}")
        if self.attempts < 1:
            raise InputError("attempts must be at least 1")
        if self.check_timeout_s <= 0:
            raise InputError("the kernel check's timeout must be positive")
        if self.warm_budget_mib < 0:
            raise InputError("the warm pool's memory budget must be at least 0 MiB")
        canonical_name(self.backend)

    @property
    def label(self) -> str:
        """What the rows' ``generator`` field says."""
        if self.search == "portfolio":
            return f"portfolio({len(self.portfolio_tactics())})"
        return self.generator.spec + (" + closers" if self.closers else "")

    def portfolio_tactics(self) -> tuple[str, ...]:
        return self.tactics or load_backend(self.backend).portfolio(self.hammer)

    def prepare(self, theorem: Theorem) -> Theorem:
        return load_backend(self.backend).prepare(theorem, hammer=self.hammer, tactic_imports=self.tactic_imports)


def prove_preset(*, backend: str = "coq", tactics: tuple[str, ...] = (), tactic_timeout_s: float = 10.0, theorem_budget_s: float = 60.0,
                 **options) -> ProofJobConfig:
    """``nesy prove``: the automation portfolio tried in turn on each theorem, first checked proof wins."""
    budget = SearchBudget(time_s=theorem_budget_s, tactic_timeout_s=tactic_timeout_s)
    return ProofJobConfig(backend=backend, search="portfolio", tactics=tactics, budget=budget, **options)


class ProofWorker:
    """Proves one theorem per :meth:`run` call; owns its generator and warm pool (unless given a
    shared one) and, per theorem, its environment."""

    def __init__(self, config: ProofJobConfig, generator: TacticGenerator | None = None, warm_pool=None) -> None:
        self.config = config
        self.backend = load_backend(config.backend)
        if config.search == "portfolio":
            self.generator = None
        elif generator is not None:
            self.generator = generator
        else:
            from provers.generators.registry import build_generator

            self.generator = build_generator(config.generator)
        self._own_pool = warm_pool is None
        self.pool = warm_pool if warm_pool is not None else self.backend.pool(config.warm, config.warm_budget_mib)

    @property
    def label(self) -> str:
        if self.generator is None:
            return self.config.label
        return self.generator.name + (" + closers" if self.config.closers else "")

    def close(self) -> None:
        if self.generator is not None:
            self.generator.close()
        if self.pool is not None and self._own_pool:
            self.pool.close()

    def run(self, task: Task) -> dict:
        problem: Problem = task.payload
        start = time.monotonic()
        base = {"name": problem.name, "file": problem.file, "generator": self.label, "search": self.config.search, "worker_pid": os.getpid()}
        if problem.theorem is None:
            return ProofRow(**base, status=Status.ERROR, message=problem.error or "unreadable problem").to_json()
        ctx = problem.context  # a library theorem in its file's context: already prepared, its own check
        if self.generator is not None:
            try:
                self.generator.begin(problem)  # where the theorem is: what a retrieval-guided generator may use
            except GeneratorError as exc:
                return ProofRow(**base, status=Status.ERROR, message=f"generator failed: {exc}"[:1000]).to_json()
        theorem = problem.theorem if ctx is not None else self.config.prepare(problem.theorem)
        extra = self.config.extra_args + tuple(getattr(ctx, "env_args", ()))
        env_config = EnvConfig(tactic_timeout_s=self.config.budget.tactic_timeout_s, extra_args=extra)
        env_obj = self.backend.env(theorem, env_config, pool=self.pool) if self.pool is not None else self.backend.env(theorem, env_config)
        started: dict = {}

        def row(status: Status, message: str, **more) -> dict:
            return ProofRow(**base, status=status, message=message[:1000], wall_s=time.monotonic() - start, **started, **more).to_json()

        try:
            with env_obj as (env, init):
                started = {"start": getattr(env, "warm_start", "cold"), "start_s": round(time.monotonic() - start, 4)}
                body = self._attempts(env, init, theorem, ctx)
        except EnvInitError as exc:
            return row(Status.NOT_ELABORATED, str(exc))
        except GeneratorError as exc:
            return row(Status.ERROR, f"generator failed: {exc}")
        except (EnvError, ProverError) as exc:
            return row(Status.ERROR, f"{type(exc).__name__}: {exc}")
        return ProofRow(**base, **body, **started, wall_s=time.monotonic() - start).to_json()

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
                    if ctx is not None:  # the check in the problem's own context
                        v = ctx.check(list(proof), timeout_s=cfg.check_timeout_s)
                    else:
                        v = self.backend.check(theorem, list(proof), timeout_s=cfg.check_timeout_s)
                    check_s += time.monotonic() - t0
                    verdicts[proof] = (v.ok, v.message)
            return verdicts[proof][0]

        successes: list[bool] = []
        found: list[tuple[str, ...]] = []
        model_s = env_s = 0.0
        nodes = expanded = widenings = tactics = 0
        proved_nodes: int | None = None
        stops: list[str] = []
        messages: list[str] = []
        tried: tuple[dict, ...] = ()
        if cfg.search == "portfolio":
            for _ in range(cfg.attempts):
                r = try_closers(env, init, cfg.portfolio_tactics(), cfg.budget)
                env_s += r.env_s
                tactics += r.tactics_run
                nodes += r.tactics_run
                stops.append(r.stop_reason.value)
                tried = tuple(a.to_json() for a in r.attempts)
                ok = r.proof is not None and verified(r.proof)
                if r.proof is not None:
                    found.append(r.proof)
                if ok and proved_nodes is None:
                    proved_nodes = r.tactics_run
                successes.append(ok)
        elif cfg.search == "best-first":
            for _ in range(cfg.attempts):
                closers = cfg.portfolio_tactics() if cfg.closers else ()
                slow = tuple(t for t in closers if self.backend.root_only(t))
                r = best_first_search(env, init, self.generator, cfg.budget, closers=tuple(t for t in closers if t not in slow),
                                      root_closers=slow)
                model_s += r.model_s
                env_s += r.env_s
                nodes += r.nodes_total
                expanded += r.nodes_expanded
                widenings += r.widenings
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
            status, proof = (Status.PROVED if cfg.check else Status.UNCHECKED), good[0]
        elif found:
            status, proof = Status.CHECK_FAILED, found[0]
        else:
            status, proof = Status.FAILED, None
        return {
            "status": status,
            "proof": proof,
            "check": verdicts[proof][1] if proof in verdicts else "",
            "attempts": cfg.attempts,
            "samples": len(successes),
            "correct": sum(successes),
            "successes": tuple(successes),
            "nodes_total": nodes,
            "nodes_expanded": expanded,
            "nodes_to_proof": proved_nodes,
            "widenings": widenings,
            "tactics_run": tactics,
            "model_s": round(model_s, 4),
            "env_s": round(env_s, 4),
            "check_s": round(check_s, 4),
            "stop_reasons": tuple(stops),
            "message": "; ".join(messages)[:500],
            "tried": tried,
        }


def run_proof_job(
    problems: list[Problem],
    config: ProofJobConfig,
    out_dir: Path,
    pool: PoolConfig,
    *,
    on_row: Callable[[dict], None] | None = None,
    generator: TacticGenerator | None = None,
) -> tuple[list[dict], dict]:
    """Run ``config`` on ``problems``; stream rows to ``out_dir/results.jsonl`` (resumable); write
    each proved theorem's proof file to ``out_dir/proofs/`` and the summary to ``out_dir/summary.json``.

    Returns the rows of these problems (including ones from earlier runs) and that summary (with
    the job's config and the pool's stats).
    ``generator``: an already-built generator (in-process runs only: tests, notebooks).
    """
    backend = load_backend(config.backend)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = ResultLog(out_dir / "results.jsonl")
    by_name = {p.name: p for p in problems}
    if len(by_name) != len(problems):
        dup = sorted({p.name for p in problems if sum(q.name == p.name for q in problems) > 1})[:5]
        raise InputError(f"two problems share a name: {', '.join(dup)} (rows are keyed by theorem name)")

    def written(row: dict) -> None:
        if row.get("status") == Status.PROVED.value and row.get("proof"):
            write_proof_file(out_dir, backend, config, by_name[row["name"]], row["proof"])
        if on_row:
            on_row(row)

    shared = None
    if pool.kind == "threads":
        shared = backend.pool(config.warm, config.warm_budget_mib)  # one warm pool for the threads of this process
    factory = partial(ProofWorker, config, generator, shared)
    label = config.label

    def make_error(task: Task, message: str) -> dict:
        p: Problem = task.payload
        return error_row(p.name, p.file, message, generator=label, search=config.search)

    ordered = job_order(backend, list(problems)) if config.warm else list(problems)
    try:
        stats = run_pool([Task(p.name, p) for p in ordered], factory, pool, log, on_row=written, error_row=make_error)
    finally:
        if shared is not None:
            shared.close()
    rows = [r for r in log.rows() if r["name"] in by_name]
    summary = summarize(rows, config.attempts)
    summary["config"] = json.loads(json.dumps(asdict(config), default=str))
    summary["pool"] = asdict(stats)
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return rows, summary


def job_order(backend, problems: list[Problem]) -> list[Problem]:
    """The order a warm job takes ``problems`` in: the backend's (by header, for Coq), and problems
    with a context as their context says (a library file's theorems in the order that makes each
    start on a warm process of that file cheapest), after the others."""
    plain = backend.order([p for p in problems if p.context is None])
    placed = sorted((p for p in problems if p.context is not None), key=lambda p: tuple(p.context.order_key))
    return plain + placed


def write_proof_file(out_dir: Path, backend, config: ProofJobConfig, problem: Problem, proof: list[str]) -> Path | None:
    """``out_dir/proofs/<name><suffix>``: the problem's header and statement with the proof (what
    ``nesy check --problem`` accepts), or the problem context's own proof file."""
    if problem.theorem is None:
        return None
    path = out_dir / "proofs" / f"{problem.name}{backend.problem_suffix}"
    if problem.context is not None:
        from provers.coq.sentences import check_tactic  # library contexts are Coq's (provers.coq.library)

        atomic_write_text(path, problem.context.proof_file([s for t in proof for s in check_tactic(t).sentences]))
    else:
        atomic_write_text(path, backend.proof_file(config.prepare(problem.theorem), proof))
    return path


def with_generator(config: ProofJobConfig, spec: str) -> ProofJobConfig:
    return replace(config, generator=replace(config.generator, spec=spec))
