"""Tracing stdlib files cold (a fresh coqidetop per file) against the warm pool, side by side.

For each file, in one run, alternating so machine noise hits both alike:

1. **first trace**: cold, and on a pool that has never seen the file (a fresh process that then
   joins the pool). This is every file of one ``nesy trace`` run: each file is replayed under its
   own name (``-topfile``), so no two files can share a process and the pool can only cost;
2. **traced again, unchanged**: on the pool that holds the file (every sentence answered from the
   record of the first trace, one ``Edit_at``-free start) against the cold trace of 1;
3. **traced again after an edit**: a lemma inserted after the file's middle theorem, cold (a fresh
   process replays everything) and warm (one ``Edit_at`` to the state before the insertion, the
   prefix answered from the record, the rest run).

Every warm trace is checked equal to its cold trace (the JSON without seconds and peak memory).
Also printed, from the cold traces: the time to spawn coqidetop and ``Init`` it, and the time of
the file's leading ``Require``/``Import`` sentences: what a process shared *between* files could
save at most, which the pool cannot do (each file is replayed under its own ``-topfile``).
Printed: total wall time per column and the median / max per-file *start time*, the time from the
start of a file's trace until it reaches the first sentence the warm trace had to run (for 1: the
first sentence; for 2: the end of the file; for 3: the inserted lemma), cold and warm.

Usage: nice python benchmarks/trace_warm.py [--files REL ...] [--budget MIB]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time

from provers.coq.pool import WarmPool
from provers.tracing.config import stdlib
from provers.tracing.records import trace_to_json
from provers.tracing.replay import FileReplayer

FILES = [
    "Arith/Between.v", "Arith/Compare.v", "Arith/Compare_dec.v", "Arith/Div2.v", "Arith/EqNat.v",
    "Arith/Euclid.v", "Arith/Even.v", "Arith/Factorial.v", "Arith/Gt.v", "Arith/Le.v", "Arith/Lt.v",
    "Arith/Max.v",
    "Lists/List.v", "Lists/ListDec.v", "Lists/ListSet.v", "Lists/ListTactics.v", "Lists/SetoidList.v",
    "Lists/SetoidPermutation.v", "Lists/StreamMemo.v", "Lists/Streams.v",
]
INSERTED = ("\nLemma nesy_inserted (n : nat) : n + 0 = n.\n"
            "Proof. induction n as [|n IHn]; simpl; [reflexivity | rewrite IHn; reflexivity]. Qed.\n")


_LOADING = re.compile(r"\s*(?:\(\*.*?\*\)\s*)*(?:From\s+\S+\s+)?(?:Require|Import|Export)\b", re.DOTALL)


def leading_loads(r: FileReplayer, text: str, wall: float) -> float:
    """Seconds the cold trace ``r`` spent in the file's leading Require/Import sentences."""
    from provers.coq.sentences import split_sentences

    k = 0
    for s in split_sentences(text):
        if not _LOADING.match(s.text):
            break
        k += 1
    return reach(r, wall, k) - reach(r, wall, 0)


def comparable(trace) -> str:
    d = trace_to_json(trace)
    del d["stats"]["seconds"], d["stats"]["peak_rss_bytes"]
    return json.dumps(d, sort_keys=True)


def edit(text: str, trace) -> str:
    """``text`` with a lemma inserted after its middle theorem (at the end without theorems)."""
    if not trace.theorems:
        return text + INSERTED
    line, col = trace.theorems[len(trace.theorems) // 2].end
    at = sum(len(ln) + 1 for ln in text.split("\n")[: line - 1]) + col
    return text[:at] + INSERTED + text[at:]


def timed(lib, rel, pool=None, source=None):
    r = FileReplayer(lib, rel, pool=pool, source=source)
    t = time.perf_counter()
    trace = r.run()
    return trace, time.perf_counter() - t, r


def reach(r: FileReplayer, wall: float, k: int) -> float:
    """Seconds until the trace of ``r`` started sentence ``k`` (its whole time when k is the end)."""
    return r.sentence_clock[k] if k < len(r.sentence_clock) else wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", nargs="+", default=FILES, help="stdlib files, relative to theories/")
    ap.add_argument("--budget", type=float, default=2048.0, help="the pool's memory budget in MiB")
    args = ap.parse_args()
    lib = stdlib()
    cols = {c: {"wall": [], "start": []} for c in
            ("first cold", "first warm", "again cold", "again warm", "edited cold", "edited warm")}
    same = 0
    rows = []
    init, loads = [], []
    with WarmPool(args.budget) as pool:
        for rel in args.files:
            text = (lib.root / rel).read_text(encoding="utf-8")
            cold, t_cold, r_cold = timed(lib, rel)
            init.append(reach(r_cold, t_cold, 0))
            loads.append(leading_loads(r_cold, text, t_cold))
            first, t_first, r_first = timed(lib, rel, pool)
            again, t_again, r_again = timed(lib, rel, pool)
            changed = edit(text, cold)
            ecold, t_ecold, r_ecold = timed(lib, rel, source=changed)
            ewarm, t_ewarm, r_ewarm = timed(lib, rel, pool, source=changed)
            ok = comparable(cold) == comparable(first) == comparable(again) and comparable(ecold) == comparable(ewarm)
            same += ok
            n = cold.stats.sentences_total
            k = r_ewarm.reused_sentences
            for col, wall, start in (
                ("first cold", t_cold, reach(r_cold, t_cold, 0)), ("first warm", t_first, reach(r_first, t_first, 0)),
                ("again cold", t_cold, reach(r_cold, t_cold, n)), ("again warm", t_again, reach(r_again, t_again, n)),
                ("edited cold", t_ecold, reach(r_ecold, t_ecold, k)), ("edited warm", t_ewarm, reach(r_ewarm, t_ewarm, k)),
            ):
                cols[col]["wall"].append(wall)
                cols[col]["start"].append(start)
            rows.append((rel, n, cold.num_tactics, t_cold, t_first, t_again, t_ecold, t_ewarm, k, r_first.start,
                         r_again.start, r_ewarm.start, ok))
        stats = pool.stats.as_dict()
    print(f"{'file':28} {'sent.':>6} {'tactics':>7} {'cold s':>7} {'first':>7} {'again':>7} {'edit cold':>9} "
          f"{'edit warm':>9} {'reused':>6}  starts (first/again/edited)  same")
    for rel, n, tac, tc, tf, ta, tec, tew, k, s1, s2, s3, ok in rows:
        print(f"{rel:28} {n:6d} {tac:7d} {tc:7.2f} {tf:7.2f} {ta:7.3f} {tec:9.2f} {tew:9.2f} {k:6d}  {s1}/{s2}/{s3}  {ok}")
    print()
    print("| scenario | cold wall (s) | warm wall (s) | ratio | start, cold median (max) ms | start, warm median (max) ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, c, w in (("first trace (a file the pool has not seen)", "first cold", "first warm"),
                       ("traced again, unchanged", "again cold", "again warm"),
                       ("traced again after an edit (lemma inserted mid-file)", "edited cold", "edited warm")):
        cw, ww = sum(cols[c]["wall"]), sum(cols[w]["wall"])
        cs, ws = cols[c]["start"], cols[w]["start"]
        print(f"| {name} | {cw:.1f} | {ww:.1f} | {cw / ww:.1f}x | {1000 * statistics.median(cs):.1f} ({1000 * max(cs):.0f}) "
              f"| {1000 * statistics.median(ws):.1f} ({1000 * max(ws):.0f}) |")
    print(f"\ncold traces: spawn + Init median {1000 * statistics.median(init):.0f} ms (sum {sum(init):.1f} s); "
          f"leading Require/Import sentences median {1000 * statistics.median(loads):.0f} ms, max "
          f"{1000 * max(loads):.0f} ms (sum {sum(loads):.1f} s): at most what sharing processes between files "
          f"could save (not possible: each file has its own -topfile)")
    print(f"{len(args.files)} files; warm traces equal to cold ones: {same}/{len(args.files)}; pool: {stats}")


if __name__ == "__main__":
    main()
