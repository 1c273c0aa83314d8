"""``nesy synth ...`` commands of ``synthesis/``. Cheap to import: argparse only.

Each generator registers one subcommand; the run functions import the library lazily, build one
frozen config, call the library and print a short summary. Errors for the user are
:class:`synthesis.errors.SynthesisError` subclasses (printed by ``nesy`` as ``nesy: error: ...``).
"""

from __future__ import annotations

import argparse


def register(commands) -> None:
    _register_nlsat(commands)


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

    from synthesis.nlsat.config import EffortMeasure, Fragment, NLSatConfig, RunOptions, parse_int_sweep, parse_ratio_sweep
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
