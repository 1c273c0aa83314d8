"""``nesy synth ...`` commands of ``synthesis/``. Cheap to import: argparse only.

Each generator registers one subcommand; the run functions import the library lazily, build one
frozen config, call the library and print a short summary. Errors for the user are
:class:`synthesis.errors.SynthesisError` subclasses (printed by ``nesy`` as ``nesy: error: ...``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands) -> None:
    _register_nlsat(commands)
    _register_alchemy(commands)


def _register_alchemy(commands) -> None:
    p = commands.add(
        "synth alchemy",
        help="Alchemy-style mutation: rewrite/apply variants of a traced library's theorems, kernel-checked in batches",
        run=_run_alchemy,
    )
    p.add_argument("--library", required=True, help="a traced dataset directory (nesy trace --out DIR), or 'stdlib' for the cached traced Coq stdlib")
    p.add_argument("--mode", choices=("rw", "apply", "both"), default="both", help="rewrite a hypothesis or the conclusion, apply a lemma to a hypothesis, or both")
    p.add_argument("--out", type=Path, required=True, help="output directory (rerun with the same arguments to resume)")
    p.add_argument("--files", action="append", default=[], metavar="GLOB", help="only these files of the library (dataset-relative globs, e.g. 'Arith/*'; repeatable)")
    p.add_argument("--limit", type=int, default=None, help="at most N theorems (in file order)")
    p.add_argument("--backend", default="coq", help="proof backend (its registry name)")
    p.add_argument("--max-candidates", type=int, default=48, help="lemmas tried per target and mode after pruning (best BM25 first)")
    p.add_argument("--max-variants", type=int, default=64, help="variants kept per theorem")
    p.add_argument("--tactic-timeout", type=_positive, default=5.0, help="seconds per tactic in the prover")
    p.add_argument("--chunk", type=int, default=24, help="theorems per stretch: one batch kernel check each")
    p.add_argument("--include-eval", action="store_true", help="also mutate val/test theorems and use novel premises (leaks evaluation data into what is written)")
    p.add_argument("--no-recheck", action="store_true", help="skip coqchk over each batch (coqc + Print Assumptions only)")
    p.add_argument("--no-prune", action="store_true", help="ablation: try as many lemmas drawn at random instead of the symbol/BM25-pruned ones")
    p.add_argument("--workers", type=int, default=1, help="stretches in parallel")
    p.add_argument("--ray", action="store_true", help="run the workers as Ray actors instead of threads")
    p.add_argument("--address", default=None, help="Ray cluster address to join")
    p.add_argument("--warm-budget", type=float, default=4096.0, help="MiB of warm prover processes per worker")
    p.add_argument("--fresh", action="store_true", help="discard an earlier run in --out")
    p.add_argument("--no-progress", action="store_true")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _run_alchemy(args: argparse.Namespace) -> int:
    from synthesis.alchemy.mutate import MODES, MutationConfig
    from synthesis.alchemy.pipeline import AlchemyConfig, resolve_library, run_alchemy
    from synthesis.errors import ConfigError

    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    dataset = resolve_library(args.library)
    modes = MODES if args.mode == "both" else (args.mode,)
    config = AlchemyConfig(
        dataset=str(dataset), backend=args.backend, modes=modes, files=tuple(args.files), limit=args.limit, chunk=args.chunk,
        include_eval=args.include_eval, recheck=not args.no_recheck,
        mutation=MutationConfig(modes=modes, max_candidates=args.max_candidates, max_variants=args.max_variants,
                                tactic_timeout_s=args.tactic_timeout, prune=not args.no_prune),
    )
    executor = "ray" if (args.ray or args.address) else "threads"
    summary = run_alchemy(config, args.out.expanduser(), workers=args.workers, executor=executor, address=args.address,
                          warm_budget_mib=args.warm_budget, fresh=args.fresh, progress=not args.no_progress)
    from synthesis.alchemy.pipeline import summary_markdown

    print(summary_markdown(summary), end="")
    print(f"wrote {args.out}/verified.jsonl, pairs.jsonl, summary.md")
    return 0


def _register_nlsat(commands) -> None:
    p = commands.add(
        "synth nlsat",
        help="random k-SAT across the phase transition, labelled, hardness-filtered, rendered as NL theories",
        run=_run_nlsat,
    )
    p.add_argument("--k", type=int, default=3, help="literals per clause (2 for the easier 2-SAT curriculum)")
    p.add_argument("--vars", required=True, help="variable counts: 12, 5,8,12, 5..12 or 10..100:10")
    p.add_argument("--ratio", required=True, help="clause/variable ratios: 4.26, 2.0,4.26 or 3.0..7.0:0.25 (inclusive)")
    p.add_argument("--per-bucket", type=int, required=True, help="records per (n, m) bucket")
    p.add_argument("--fragment", choices=["rules", "disjunctive", "relative"], default="rules", help="NL fragment")
    p.add_argument("--hard-percentile", type=float, default=0.0, help="keep candidates above this effort percentile (per bucket and label); 0 = off")
    p.add_argument("--effort", choices=["conflicts", "decisions+propagations"], default="conflicts", help="hardness measure for the filter")
    p.add_argument("--no-balance", action="store_true", help="do not balance SAT/UNSAT within buckets")
    p.add_argument("--no-dedup", action="store_true", help="keep formulas equal up to clause/literal order and renaming")
    p.add_argument("--solver", default="minisat22", help="labelling solver (pysat): minisat22, glucose3, glucose4, cadical153, ...")
    p.add_argument("--cross-check", type=float, default=0.05, help="fraction of labels re-checked with Z3")
    p.add_argument("--core", action="store_true", help="record an unsat-core size for UNSAT records")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stats-samples", type=int, default=500, help="candidates always labelled per bucket (the card's P(SAT) sample)")
    p.add_argument("--max-candidates", type=int, default=20000, help="candidate budget per bucket")
    p.add_argument("--names", default=None, help="file of entity names (default: built-in)")
    p.add_argument("--adjectives", default=None, help="file of attributes (default: built-in)")
    p.add_argument("--out", required=True, help="output directory (rerun with the same arguments to resume)")
    p.add_argument("--workers", type=int, default=1, help="Ray workers on this machine (1 = no Ray)")
    p.add_argument("--address", default=None, help="Ray cluster address to connect to instead")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-progress", action="store_true")


def _run_nlsat(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from synthesis.nlsat.config import (
        EffortMeasure,
        Fragment,
        NLSatConfig,
        RunOptions,
        parse_int_sweep,
        parse_ratio_sweep,
    )
    from synthesis.nlsat.pipeline import run_nlsat

    config = NLSatConfig(
        vars=parse_int_sweep(args.vars),
        ratios=parse_ratio_sweep(args.ratio),
        per_bucket=args.per_bucket,
        k=args.k,
        fragment=Fragment(args.fragment),
        hard_percentile=args.hard_percentile,
        balance=not args.no_balance,
        dedup=not args.no_dedup,
        effort=EffortMeasure(args.effort),
        solver=args.solver,
        cross_check=args.cross_check,
        core=args.core,
        seed=args.seed,
        stats_samples=args.stats_samples,
        max_candidates=args.max_candidates,
        names_file=args.names,
        adjectives_file=args.adjectives,
    )
    options = RunOptions(
        out=Path(args.out), workers=args.workers, address=args.address, progress=not args.no_progress, plots=not args.no_plots
    )
    summary = run_nlsat(config, options)
    card = summary.card
    print(
        f"nlsat: {summary.records} records ({card['records_sat']} SAT / {card['records_unsat']} UNSAT) in "
        f"{summary.buckets} buckets ({summary.resumed} resumed), shortfall {card['shortfall']}, {summary.wall_s:.1f} s"
    )
    for row in card["per_n"]:
        h = row["hardness_ratio"][card["effort_measure"]]
        spi = summary.seconds_per_instance.get(row["n"])
        cross = f"{row['crossing_ratio']:.3f}" if row["crossing_ratio"] is not None else "-"
        ratios = " ".join(f"p{p}={h[f'p{p}']['ratio']:.2f}" if h[f"p{p}"]["ratio"] is not None else f"p{p}=-" for p in (75, 90, 95))
        t = f"{spi * 1e3:.3f} ms/instance" if spi is not None else "resumed"
        print(f"  n={row['n']}: P(SAT)=0.5 at {cross}; hardness ({card['effort_measure']}) {ratios}; {t}")
    print(f"card: {summary.out / 'card.md'}", file=sys.stdout)
    return 0
