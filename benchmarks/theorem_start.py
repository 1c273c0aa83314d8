"""Time to enter a theorem: a fresh coqidetop (cold) against the warm pool, measured side by side.

"Entering" is what ``with CoqEnv(theorem) as (env, state)`` does before the first tactic: get a
process with the header loaded, add the statement and ``Proof.``, read the goal. Printed, from
one run, as median and p95 in milliseconds:

1. miniF2F-rocq headers (with nesy's tactic imports (``COQ_TACTIC_IMPORTS``) added, as
   ``nesy prove`` does): for each sampled theorem, cold, then warm with the same header already
   loaded in an idle pool process (target: warm median <= 5 ms), alternating so machine noise
   hits both alike;
2. a long stdlib file (default: ``Lists/List.v``, 2,842 sentences): theorems sampled evenly
   through the file, each with everything before it in the file as its header; cold (replay the
   prefix in a fresh process), warm with the same header, warm at its position in the file going
   back (one process holds the whole file; each theorem is an ``Edit_at`` to the state before it),
   and going forward to the next theorem of the file (runs the sentences in between: the previous
   theorem's own proof, since Coq drops the states after the one it goes back to);
3. theorems of a traced library in their file's context (``--library DATA``, a ``nesy trace``
   output; :mod:`provers.coq.library`), started with the options the tracer used (``-topfile``,
   so the pool keeps one warm process per file): the test theorems of ``--split``, cold (replay
   the file's prefix in a fresh process), warm with the same header, and warm in the same file
   at its position, in the order ``nesy eval library`` takes them (a file's theorems from the
   last to the first: each one ``Edit_at`` back); and the dataset's longest file (every part),
   theorems spread through it, cold, going back and going forward to the next theorem;
4. a job's real access pattern: ``--job`` miniF2F theorems (default: all) in the order ``nesy
   prove`` takes them with warm starts (grouped by header), through one pool (fresh, warm and
   prefix starts mixed), against cold starts of the same theorems.

Usage: python benchmarks/theorem_start.py [--minif2f DIR] [--stdlib FILE] [--library DATA [--split S]] [--sample N] [--job N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from provers import EnvConfig, Theorem
from provers.coq.env import CoqEnv
from provers.coq.files import declarations, load_problem_set, theorem_from_text
from provers.coq.pool import WarmPool
from provers.coq.backend import prepare

REPO = Path(__file__).resolve().parent.parent
MINIF2F = Path(os.environ.get("NESY_SHARED_DATA", REPO.parent / "shared" / "data")) / "minif2f-rocq" / "valid"
STDLIB = Path("/usr/lib/ocaml/coq/theories/Lists/List.v")
CFG = EnvConfig(tactic_timeout_s=10, start_timeout_s=600)


def enter(thm: Theorem, pool: WarmPool | None, args: tuple[str, ...] = ()) -> tuple[float, str]:
    """Seconds to enter ``thm`` (to the initial state), and how its process was obtained."""
    cfg = replace(CFG, extra_args=args)
    t = time.perf_counter()
    env = CoqEnv(thm, cfg, pool=pool) if pool is not None else CoqEnv(thm, cfg)
    with env as (e, _state):
        dt = time.perf_counter() - t
        how = e.warm_start
    return dt, how


def stats(xs: list[float]) -> str:
    if not xs:
        return "| - | - | 0 |"
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"| {1e3 * statistics.median(xs):.2f} | {1e3 * p95:.2f} | {len(xs)} |"


def spread(items: list, n: int) -> list:
    if len(items) <= n:
        return list(items)
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def minif2f_theorems(path: Path) -> list[Theorem]:
    return [prepare(p.theorem) for p in load_problem_set(path) if p.theorem is not None]


def bench_minif2f(theorems: list[Theorem], sample: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"cold": [], "warm (same header)": []}
    by_header: dict[str, list[Theorem]] = {}
    for t in theorems:
        by_header.setdefault(t.header, []).append(t)
    # the most common headers first, one theorem each, then more of them
    headers = sorted(by_header, key=lambda h: -len(by_header[h]))
    picked: list[Theorem] = []
    rank = 0
    while len(picked) < sample and any(rank < len(by_header[h]) for h in headers):
        picked += [by_header[h][rank] for h in headers if rank < len(by_header[h])][: sample - len(picked)]
        rank += 1
    with WarmPool() as pool:
        for thm in picked:
            try:
                cold, _ = enter(thm, None)
                enter(thm, pool)  # loads the header into an idle process (not timed)
                warm, how = enter(thm, pool)
            except Exception as exc:  # noqa: BLE001
                print(f"  skipped {thm.name}: {str(exc)[:100]}")
                continue
            assert how == "warm", how
            out["cold"].append(cold)
            out["warm (same header)"].append(warm)
    return out


def bench_stdlib(path: Path, sample: int) -> dict[str, list[float]]:
    text = path.read_text(encoding="utf-8")
    _, decls = declarations(text, str(path))
    names = [d.name for d in decls]
    picked = [theorem_from_text(text, str(path), n) for n in spread(list(dict.fromkeys(names)), sample)]
    out: dict[str, list[float]] = {"cold (replay the prefix)": [], "warm (same header)": [], "warm in the file, going back": [], "warm in the file, next theorem": []}
    for thm in picked:
        cold, _ = enter(thm, None)
        out["cold (replay the prefix)"].append(cold)
    with WarmPool() as pool:
        whole = Theorem("after_the_file", "Theorem after_the_file : True.", text)
        enter(whole, pool)  # one process replays the whole file (not timed)
        for thm in reversed(picked):
            dt, how = enter(thm, pool)
            assert how == "prefix", how
            out["warm in the file, going back"].append(dt)
            dt, how = enter(thm, pool)
            assert how == "warm", how
            out["warm (same header)"].append(dt)
        # forward: consecutive theorems from the middle of the file
        mid = len(decls) // 2
        consecutive = [theorem_from_text(text, str(path), d.name) for d in decls[mid : mid + sample + 1]]
        enter(consecutive[0], pool)
        for thm in consecutive[1:]:
            dt, how = enter(thm, pool)
            out["warm in the file, next theorem"].append(dt)
    return out


def bench_library(data: Path, split: str, sample: int) -> tuple[dict[str, list[float]], dict[str, list[float]], str]:
    """Library theorems in their file's context: the split's test theorems, and the longest file."""
    from provers.coq.library import file_order_key, load_split

    test = [p.theorem for p in load_split(data, split, "test") if p.theorem is not None]
    out: dict[str, list[float]] = {"cold (replay the file's prefix)": [], "warm (same header)": [],
                                   "warm in the same file at its position (job order)": []}
    for lt in test:
        out["cold (replay the file's prefix)"].append(enter(lt.theorem, None, lt.env_args)[0])
    with WarmPool() as pool:
        for lt in sorted(test, key=file_order_key):
            dt, how = enter(lt.theorem, pool, lt.env_args)
            if how != "fresh":  # the first theorem met in each file starts its process
                out["warm in the same file at its position (job order)"].append(dt)
            dt, how = enter(lt.theorem, pool, lt.env_args)
            assert how == "warm", how
            out["warm (same header)"].append(dt)
    # the longest file of the dataset, theorems spread through it (every part)
    every = [p.theorem for part in ("train", "val", "test") for p in load_split(data, split, part) if p.theorem is not None]
    last = {}  # file -> offset of its last theorem: the longest prefix to replay
    for lt in every:
        last[lt.file] = max(last.get(lt.file, 0), lt.position)
    longest = max(last, key=last.get)
    in_file = sorted((lt for lt in every if lt.file == longest), key=lambda lt: lt.position)
    picked = spread(in_file, sample)
    long: dict[str, list[float]] = {"cold (replay the file's prefix)": [], "warm in the file, going back": [], "warm in the file, next theorem": []}
    for lt in picked:
        long["cold (replay the file's prefix)"].append(enter(lt.theorem, None, lt.env_args)[0])
    with WarmPool() as pool:
        enter(picked[-1].theorem, pool, picked[-1].env_args)  # one process replays the file up to the last one (not timed)
        for lt in reversed(picked[:-1]):
            dt, how = enter(lt.theorem, pool, lt.env_args)
            assert how == "prefix", how
            long["warm in the file, going back"].append(dt)
        mid = len(in_file) // 2
        consecutive = in_file[mid : mid + sample + 1]
        enter(consecutive[0].theorem, pool, consecutive[0].env_args)
        for lt in consecutive[1:]:
            long["warm in the file, next theorem"].append(enter(lt.theorem, pool, lt.env_args)[0])
    return out, long, f"{longest} ({len(in_file)} theorems)"


def bench_job(theorems: list[Theorem], n: int) -> tuple[dict[str, list[float]], Counter]:
    out: dict[str, list[float]] = {"cold": [], "pool, as a job meets them": []}
    kinds: Counter = Counter()
    job = sorted(theorems, key=lambda t: t.header)[:n]  # as the Coq backend orders a job
    with WarmPool() as pool:
        for thm in job:  # interleaved: cold, then the pool's start of the same theorem
            try:
                cold, _ = enter(thm, None)
            except Exception:  # noqa: BLE001 - does not elaborate on Coq 8.16
                continue
            dt, how = enter(thm, pool)
            out["cold"].append(cold)
            out["pool, as a job meets them"].append(dt)
            kinds[how] += 1
    return out, kinds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minif2f", type=Path, default=MINIF2F, help="miniF2F-rocq valid directory")
    ap.add_argument("--stdlib", type=Path, default=STDLIB, help="a long Coq stdlib .v file")
    ap.add_argument("--library", type=Path, default=None, help="a traced dataset (nesy trace --out): library theorems in their file's context")
    ap.add_argument("--split", default="random", help="split of --library (random | novel_premises)")
    ap.add_argument("--skip-minif2f", action="store_true", help="only the library rows")
    ap.add_argument("--sample", type=int, default=16, help="theorems per measurement")
    ap.add_argument("--job", type=int, default=0, help="miniF2F theorems for the job-order measurement (default 0: all; -1: skip)")
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows: list[tuple[str, str, list[float]]] = []
    theorems = minif2f_theorems(args.minif2f) if not args.skip_minif2f else []
    if not args.skip_minif2f:
        for label, xs in bench_minif2f(theorems, args.sample).items():
            rows.append((f"miniF2F ({args.minif2f.name})", label, xs))
        for label, xs in bench_stdlib(args.stdlib, args.sample).items():
            rows.append((f"stdlib {args.stdlib.parent.name}/{args.stdlib.name}", label, xs))
    if args.library is not None:
        test, long, which = bench_library(args.library, args.split, args.sample)
        for label, xs in test.items():
            rows.append((f"library {args.library.name}, {args.split} test theorems in their files", label, xs))
        for label, xs in long.items():
            rows.append((f"library, its longest file {which}", label, xs))
    kinds: Counter = Counter()
    if args.job >= 0 and not args.skip_minif2f:
        n = args.job or len(theorems)
        job, kinds = bench_job(theorems, n)
        for label, xs in job.items():
            rows.append((f"miniF2F, {n} in nesy prove's warm order", label, xs))
    print("\n## Time to enter a theorem (ms)")
    print("| theorems | start | median | p95 | n |\n|---|---|---:|---:|---:|")
    for where, label, xs in rows:
        print(f"| {where} | {label} {stats(xs)}")
    if kinds:
        total_cold = sum(rows[-2][2])
        total_pool = sum(rows[-1][2])
        print(f"\njob order: pool starts {dict(kinds)}; {total_cold:.1f} s cold vs {total_pool:.1f} s with the pool "
              f"({total_cold / total_pool:.1f}x less)")
    warm = [xs for where, label, xs in rows if label == "warm (same header)" and where.startswith("miniF2F")]
    if warm and warm[0]:
        med = 1e3 * statistics.median(warm[0])
        print(f"miniF2F warm median {med:.2f} ms (target <= 5 ms: {'OK' if med <= 5 else 'MISSED'})")


if __name__ == "__main__":
    main()
