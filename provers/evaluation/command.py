"""The run functions behind ``nesy eval minif2f`` and ``nesy eval library`` (parsing lives in
:mod:`provers.cli_search`): two problem sources, one job engine (:mod:`provers.evaluation.job`)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path


def _label_dir(spec: str) -> str:
    """A directory name for a generator spec: readable and stable (hashlib, never hash())."""
    import hashlib

    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", spec.split("/")[-1] if spec.startswith("hf:") else spec)[:40].strip("_")
    return f"{readable or 'gen'}-{hashlib.sha1(spec.encode()).hexdigest()[:8]}"


def _check_search_args(args: argparse.Namespace) -> None:
    from nesy.errors import UsageError

    if args.workers < 1 or args.attempts < 1 or args.k < 1 or args.expansions < 1:
        raise UsageError("--workers, --attempts, --k and --expansions must be at least 1")
    if args.time <= 0 or args.tactic_timeout <= 0 or args.request_timeout <= 0:
        raise UsageError("--time, --tactic-timeout and --request-timeout must be positive")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.warm_budget < 0:
        raise UsageError("--warm-budget must be at least 0 MiB")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")


def _select(problems: list, args: argparse.Namespace, where: str) -> list:
    from nesy.errors import UsageError

    if args.names:
        wanted = [n.strip() for n in args.names.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {p.name for p in problems})
        if unknown:
            raise UsageError(f"--names: not in {where}: {', '.join(unknown[:10])}")
        problems = [p for p in problems if p.name in set(wanted)]
    if args.limit is not None:
        problems = problems[: args.limit]
    return problems


def run_eval_minif2f(args: argparse.Namespace) -> int:
    from provers.evaluation.data import default_data_dir, load_minif2f
    from provers.registry import canonical_name

    _check_search_args(args)
    backend = canonical_name(args.backend)
    data = args.data or default_data_dir(backend)
    problems = load_minif2f(data, args.split, backend=backend, lean_repo=args.lean_repo, lean_commit=args.lean_commit)
    problems = _select(problems, args, f"the {args.split} split")
    return _run_job(args, problems, backend, f"miniF2F {args.split}", f"{args.split}, {data}", "nesy eval minif2f")


def run_eval_library(args: argparse.Namespace) -> int:
    """``nesy eval library``: the theorems of a traced library's split, each in its file's context."""
    from provers.evaluation.data import load_library

    _check_search_args(args)
    problems = load_library(args.data, args.split, args.part, tactic_imports=not args.no_tactic_imports)
    problems = _select(problems, args, f"{args.split}/{args.part}")
    return _run_job(args, problems, "coq", f"library {args.data.name} {args.split}/{args.part}",
                    f"{args.split}/{args.part}, {args.data}", "nesy eval library")


def _run_job(args: argparse.Namespace, problems: list, backend: str, title: str, where: str, command: str) -> int:
    """Run every generator spec of ``args`` on ``problems`` (one job engine for every source)."""
    from tqdm import tqdm

    from provers.distributed import PoolConfig
    from provers.evaluation.job import EvalConfig, run_eval, summarize, summary_markdown, with_generator
    from provers.evaluation.metrics import plot_coverage
    from provers.generators.base import GeneratorConfig
    from provers.prove import Status
    from provers.search.result import SearchBudget

    specs = args.generator or ["portfolio"]
    decoding = args.decoding or ("beam" if args.search == "best-first" and args.attempts == 1 else "sample")
    budget = SearchBudget(time_s=args.time, max_expansions=args.expansions, num_candidates=args.k, max_depth=args.max_depth, tactic_timeout_s=args.tactic_timeout)
    gen_config = GeneratorConfig(spec=specs[0], decoding=decoding, temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed, backend=backend,
                                 request_timeout_s=args.request_timeout, api=args.api, max_concurrency=args.concurrency)
    base = EvalConfig(backend=backend, search=args.search, attempts=args.attempts, budget=budget, generator=gen_config, check=not args.no_check,
                      warm=not args.no_warm, warm_budget_mib=args.warm_budget)
    pool = PoolConfig(workers=args.workers, address=args.address, use_ray=args.ray, max_retries=args.retries)
    from provers.generators.registry import check_endpoints

    for spec in specs:
        check_endpoints(replace(gen_config, spec=spec))  # a missing server or model: one error, now
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, dict] = {}
    curves: dict[str, list[float]] = {}
    for spec in specs:
        config = with_generator(base, spec)
        sub = out / _label_dir(spec)
        if args.fresh and sub.exists():
            shutil.rmtree(sub)
        print(f"{command}: {len(problems)} theorems ({where}) | generator {spec} | {args.search} x{args.attempts} "
              f"| k={budget.num_candidates}, {budget.time_s:g}s/attempt, {budget.max_expansions} expansions, {budget.tactic_timeout_s:g}s/tactic "
              f"| {pool.workers} worker(s){' on Ray' if pool.ray else ''} -> {sub}/", file=sys.stderr)
        counts = {"proved": 0, "failed": 0, "other": 0}
        bar = tqdm(total=len(problems), unit="thm", file=sys.stderr, dynamic_ncols=True, desc=spec[:30])

        def on_row(row: dict, bar=bar, counts=counts) -> None:
            key = "proved" if row["status"] == Status.PROVED.value else "failed" if row["status"] == Status.FAILED.value else "other"
            counts[key] += 1
            bar.update(1)
            bar.set_postfix(proved=counts["proved"], failed=counts["failed"], other=counts["other"], remaining=bar.total - bar.n)

        from provers.distributed import ResultLog

        already = len(ResultLog(sub / "results.jsonl").names & {p.name for p in problems})
        if already:
            bar.update(already)
            bar.set_postfix_str(f"resumed: {already} already done")
        rows, stats = run_eval(problems, config, sub, pool, on_row=on_row)
        bar.close()
        summary = summarize(rows, args.attempts)
        summary["config"] = {**json.loads(json.dumps(asdict(config), default=str)), "split": args.split, "data": str(args.data or where), "workers": pool.workers,
                             "command": command, "part": getattr(args, "part", None), "limit": args.limit}
        summary["pool"] = asdict(stats)
        (sub / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        summaries[spec] = summary
        curves[spec] = [summary["pass_at_k"][str(k)] for k in range(1, args.attempts + 1)] if summary["pass_at_k"] else []
    text = summary_markdown(summaries, f"{title} ({backend}, {args.search}, {len(problems)} theorems)")
    (out / "summary.md").write_text(text, encoding="utf-8")
    fits = plot_coverage({k: v for k, v in curves.items() if v}, str(out / "coverage.png"), f"{title}: coverage vs samples")
    print(text)
    for label, fit in fits.items():
        if fit is None and args.attempts > 1:
            print(f"(no power-law fit for {label}: needs at least 2 values of k with 0 < coverage < 1)")
    print(f"results: {out}/*/results.jsonl  summary: {out / 'summary.md'}  plot: {out / 'coverage.png'}")
    return 0
