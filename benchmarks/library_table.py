"""The library-context prover's table: five rows, one benchmark, the same budget for every row.

Rows (issue 11): the automation portfolio alone and the portfolio with CoqHammer (``--search
portfolio``, what ``nesy prove`` runs: every tactic of the portfolio in turn, none cut by ``--k``);
and best-first search with the portfolio as closers at every node plus the ``premises:``
generator, the ``knn:`` generator, or both mixed. Each row is ``nesy eval library`` (or ``nesy eval minif2f`` with
``--minif2f``) with the same ``--time``, ``--expansions``, ``--k``, ``--widen`` and ``--tactic-timeout``; the
three invocations write under one ``--out`` (``portfolio/``, ``hammer/``, ``closers/``), resume
on rerun, and the script prints one table from their ``summary.json`` files.

Usage::

    python benchmarks/library_table.py --data ~/.cache/nesy/traced/coq-stdlib --split random \\
        --sample 300 --out ~/.cache/nesy/runs/table-random [--time 20] [--workers 2]
    python benchmarks/library_table.py --data ~/.cache/nesy/traced/coq-stdlib --minif2f ../shared/data/minif2f-rocq \\
        --out ~/.cache/nesy/runs/table-minif2f      # premises:/knn: still read the traced stdlib

``--rows`` picks a subset (``portfolio,hammer,premises,knn,both``; ``knn-fit`` adds ``knn:`` with
its refinements, ``knn:DIR,bonus=0.1,fit=drop``, for the ablation); ``--hf NAME=SPEC`` adds a
row ``closers + hf:SPEC`` (a trained tactic model, issue 12), run in the same closers invocation;
``--retriever dense:PATH`` has the ``premises:``/``knn:`` rows use a trained retriever (give it its
own ``--out``: a row's directory is named by its generator spec, not the retriever).
``--table-only`` prints the table from what is there without running anything.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROWS = ("portfolio", "hammer", "premises", "knn", "both")
EXTRA_ROWS = ("knn-fit",)  # only when asked for: knn: with its refinements (same-file bonus, hypothesis names fitted)


def _invocations(args: argparse.Namespace, rows: list[str]) -> list[tuple[str, list[str], dict[str, str]]]:
    """(sub-directory, extra arguments, {row: generator spec}) for each ``nesy eval`` run needed."""
    data = str(args.data)
    specs = {"premises": f"premises:{data}", "knn": f"knn:{data}", "both": f"premises:{data}+knn:{data}",
             "knn-fit": f"knn:{data},bonus=0.1,fit=drop"}
    runs = []
    if "portfolio" in rows:
        runs.append(("portfolio", ["--search", "portfolio"], {"portfolio": "portfolio"}))
    if "hammer" in rows:
        runs.append(("hammer", ["--search", "portfolio", "--hammer"], {"hammer": "portfolio"}))
    specs.update({f"hf:{name}": f"hf:{spec}" for name, spec in args.models})
    closers = {r: specs[r] for r in ("premises", "knn", "both", *EXTRA_ROWS, *(f"hf:{n}" for n, _ in args.models)) if r in rows}
    if closers:
        extra = ["--closers"] + [a for s in closers.values() for a in ("--generator", s)]
        runs.append(("closers", extra, closers))
    return runs


def _models(args: argparse.Namespace) -> list[tuple[str, str]]:
    """``--hf NAME=SPEC`` rows: (name, what follows ``hf:``)."""
    out = []
    for item in args.hf:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise SystemExit(f"library_table.py: error: --hf {item!r}: expected NAME=MODEL[,premises=TRACED]")
        out.append((name.strip(), spec.strip()))
    return out


def _common(args: argparse.Namespace) -> list[str]:
    if args.minif2f:
        base = ["eval", "minif2f", "--data", str(args.minif2f), "--split", args.minif2f_split]
    else:
        base = ["eval", "library", "--data", str(args.data), "--split", args.split, "--part", args.part]
    base += ["--time", str(args.time), "--expansions", str(args.expansions), "--k", str(args.k),
             "--tactic-timeout", str(args.tactic_timeout), "--widen", str(args.widen), "--workers", str(args.workers), "--seed", str(args.seed)]
    if args.retriever != "bm25":
        base += ["--retriever", args.retriever]
    if args.sample:
        base += ["--sample", str(args.sample)]
    if args.limit:
        base += ["--limit", str(args.limit)]
    return base


def _summary(out: Path, spec: str) -> dict | None:
    from nesy.commands.search import _label_dir

    path = out / _label_dir(spec) / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else None


LABELS = {
    "portfolio": "portfolio alone",
    "hammer": "portfolio + CoqHammer",
    "premises": "closers + `premises:`",
    "knn": "closers + `knn:`",
    "both": "closers + `premises:` + `knn:`",
    "knn-fit": "closers + `knn:` same file first, names fitted (`bonus=0.1,fit=drop`)",
}


def _label(row: str) -> str:
    return LABELS.get(row) or f"closers + `hf:` {row.removeprefix('hf:')}"


def table(args: argparse.Namespace, rows: list[str]) -> str:
    lines = ["| row | theorems | started | proved | pass rate | s/proved | wall s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for sub, _, specs in _invocations(args, rows):
        for row, spec in specs.items():
            s = _summary(args.out / sub, spec)
            if s is None:
                lines.append(f"| {_label(row)} | -- | -- | not run | | | |")
                continue
            spp = s.get("seconds_per_proved", {}).get("mean")
            lines.append(
                f"| {_label(row)} | {s['total']} | {s['elaborated']} | {s['proved']} | {100 * s['pass_rate_all']:.1f}% "
                f"| {spp:.1f} | {s['wall_s_total']:.0f} |" if spp is not None else
                f"| {_label(row)} | {s['total']} | {s['elaborated']} | {s['proved']} | {100 * s['pass_rate_all']:.1f}% | -- | {s['wall_s_total']:.0f} |"
            )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="traced dataset (the theorems, and what premises:/knn: read)")
    ap.add_argument("--split", default="random", choices=("random", "novel_premises"))
    ap.add_argument("--part", default="test")
    ap.add_argument("--minif2f", type=Path, default=None, help="prove miniF2F-rocq theorems from this directory instead")
    ap.add_argument("--minif2f-split", default="valid")
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--time", type=float, default=20.0)
    ap.add_argument("--expansions", type=int, default=100)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--widen", type=int, default=3, help="best-first rows: doublings of k when the frontier empties (nesy eval --widen; 0: none)")
    ap.add_argument("--tactic-timeout", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retriever", default="bm25",
                    help="premises:/knn: rows: bm25, dense or dense:PATH (a trained checkpoint); use a new --out per retriever")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--hf", action="append", default=[], metavar="NAME=SPEC",
                    help="one more row: closers + hf:SPEC (e.g. traced=~/.cache/nesy/models/tactic-traced,premises=TRACED); repeatable")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(rows) - set(ROWS) - set(EXTRA_ROWS))
    if unknown:
        ap.error(f"--rows: unknown {', '.join(unknown)} (choose from {', '.join(ROWS + EXTRA_ROWS)})")
    args.models = _models(args)
    rows += [f"hf:{n}" for n, _ in args.models]
    if not args.table_only:
        for sub, extra, _ in _invocations(args, rows):
            cmd = [sys.executable, "-m", "nesy", *_common(args), *extra, "--out", str(args.out / sub)]
            print("+ nesy " + " ".join(cmd[3:]), file=sys.stderr, flush=True)
            code = subprocess.call(cmd)
            if code != 0:
                print(f"nesy exited with {code}; the table shows what finished", file=sys.stderr)
    text = table(args, rows)
    print(text)
    (args.out).mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
