"""Throughput of ``nesy trace`` on the Debian Coq standard library.

Traces the library from scratch (the per-file cache in ``OUT/traces`` is removed first, so nothing
is resumed) with the same driver the CLI uses, and reports, measured in this one run:

* wall-clock time for the whole library (target: under 30 minutes on 2 cores),
* tactics traced per second of wall time, and sentences replayed per second,
* peak memory: the largest total resident set of this process and all its descendants (Ray's
  processes, the coqidetop processes) sampled every 0.5 s, and the largest single coqidetop,
* the premise look-ups: ``Locate`` round trips and cache hits,
* the load average before and after (other jobs on the machine slow every figure down).

    .venv/bin/python benchmarks/trace_throughput.py [--out ~/.cache/nesy/traced/coq-stdlib] \
        [--workers 2] [--limit N] [--json results.json]

``--limit N`` traces only the first N files by path (a quick check, not the figure).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path


def _tree_rss(root_pid: int) -> tuple[int, int]:
    """(sum of RSS over root_pid and its descendants, largest coqidetop RSS), in bytes."""
    import psutil

    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    total = biggest = 0
    for p in procs:
        try:
            rss = p.memory_info().rss
            total += rss
            if "coqidetop" in p.name():
                biggest = max(biggest, rss)
        except psutil.Error:
            continue
    return total, biggest


class _Sampler(threading.Thread):
    def __init__(self, period_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.period_s = period_s
        self.peak_total = 0
        self.peak_coq = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total, coq = _tree_rss(os.getpid())
            self.peak_total = max(self.peak_total, total)
            self.peak_coq = max(self.peak_coq, coq)
            self._halt.wait(self.period_s)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def compare_resolution(out: Path) -> dict:
    """How a corpus-only resolver would have done against ``Locate`` on the names tactics use.

    The alternative to a ``Locate`` round trip: take the identifier as written and pick the
    premises whose full name ends with it among the files the theorem's file loads (and the file
    itself). Counted over every used name that ``Locate`` resolved to a corpus premise.
    """
    from provers.tracing.driver import TRACES_DIR
    from provers.tracing.records import trace_from_json

    traces = [trace_from_json(json.loads(p.read_text(encoding="utf-8"))) for p in (out / TRACES_DIR).rglob("*.json")]
    by_module = {t.module: t for t in traces}
    owner = {p.full_name: t.path for t in traces for p in t.premises}
    by_suffix: dict[str, list[str]] = {}
    for name in owner:
        parts = name.split(".")
        for k in range(1, len(parts)):
            by_suffix.setdefault(".".join(parts[k:]), []).append(name)
    unique_right = ambiguous = wrong = missing = 0
    for t in traces:
        visible = {t.path} | {by_module[m].path for m in t.imports if m in by_module}
        for th in t.theorems:
            for tac in th.tactics:
                for u in tac.used:
                    if u.full_name not in owner:
                        continue
                    cands = [n for n in by_suffix.get(u.text.lstrip("@"), []) if owner[n] in visible]
                    if not cands:
                        missing += 1
                    elif len(cands) > 1:
                        ambiguous += 1
                    elif cands[0] == u.full_name:
                        unique_right += 1
                    else:
                        wrong += 1
    total = unique_right + ambiguous + wrong + missing
    return {"names": total, "suffix_unique_correct": unique_right, "suffix_ambiguous": ambiguous,
            "suffix_wrong": wrong, "suffix_not_found": missing}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("~/.cache/nesy/traced/coq-stdlib").expanduser())
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="only the first N files (sorted by path)")
    ap.add_argument("--sentence-timeout", type=float, default=300.0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--compare-only", action="store_true",
                    help="do not trace: only compare Locate with corpus-suffix resolution on OUT's traces")
    args = ap.parse_args()
    if args.compare_only:
        c = compare_resolution(args.out.expanduser())
        n = max(1, c["names"])
        print(f"corpus-suffix resolution vs Locate on {c['names']} premise uses: unique and correct "
              f"{c['suffix_unique_correct'] / n:.1%}, ambiguous {c['suffix_ambiguous'] / n:.1%}, "
              f"wrong {c['suffix_wrong'] / n:.1%}, not found {c['suffix_not_found'] / n:.1%}")
        return 0

    from tqdm import tqdm

    from provers.tracing.config import TraceConfig, stdlib
    from provers.tracing.driver import TRACES_DIR, run_trace

    out = args.out.expanduser()
    shutil.rmtree(out / TRACES_DIR, ignore_errors=True)  # measure a full trace, not a resume
    config = TraceConfig(library=stdlib(), out=out, workers=args.workers, limit=args.limit,
                         sentence_timeout_s=args.sentence_timeout)
    load_before = os.getloadavg()
    sampler = _Sampler()
    sampler.start()
    bar = tqdm(unit="file", file=sys.stderr, dynamic_ncols=True)
    counts = {"tactics": 0, "failed": 0}

    def on_start(total: int, done: int) -> None:
        bar.reset(total=total)

    def on_file(o) -> None:
        counts["tactics"] += o.tactics
        counts["failed"] += o.error is not None
        bar.update(1)
        bar.set_postfix(tactics=counts["tactics"], failed=counts["failed"], refresh=False)

    t0 = time.monotonic()
    try:
        result = run_trace(config, on_start=on_start, on_file=on_file)
    finally:
        wall = time.monotonic() - t0
        sampler.stop()
        bar.close()
    load_after = os.getloadavg()

    # per-file statistics from the traces just written
    from provers.tracing.driver import load_cached  # noqa: F401  (documents where traces live)
    from provers.tracing.records import trace_from_json

    sentences = queries = hits = 0
    for p in (out / TRACES_DIR).rglob("*.json"):
        d = trace_from_json(json.loads(p.read_text(encoding="utf-8")))
        sentences += d.stats.sentences
        queries += d.stats.locate_queries
        hits += d.stats.locate_hits
    figures = {
        "files": result.files,
        "failed_files": len(result.failed),
        "premises": result.dataset.premises,
        "theorems": result.dataset.theorems,
        "tactics": result.dataset.tactics,
        "tactics_with_premises": result.dataset.tactics_with_premises,
        "sentences": sentences,
        "wall_s": round(wall, 1),
        "tactics_per_s": round(result.tactics_traced_now / wall, 1),
        "sentences_per_s": round(sentences / wall, 1),
        "peak_rss_tree_mb": round(sampler.peak_total / 2**20),
        "peak_rss_coqidetop_mb": round(max(sampler.peak_coq, result.peak_rss_bytes) / 2**20),
        "locate_queries": queries,
        "locate_cache_hits": hits,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "target_wall_s": 1800,
    }
    print(f"nesy trace on {config.library.root} with {args.workers} workers "
          f"(load average before {load_before[0]:.1f}, after {load_after[0]:.1f}, {os.cpu_count()} CPUs)")
    print(f"  files {result.files} (failed {len(result.failed)}), premises {result.dataset.premises}, "
          f"theorems {result.dataset.theorems}, tactics {result.dataset.tactics} ({result.dataset.tactics_with_premises} with premises)")
    print(f"  wall {wall:.1f}s ({wall / 60:.1f} min; target < 30 min: {'met' if wall < 1800 else 'NOT met'}), "
          f"{figures['tactics_per_s']} tactics/s, {figures['sentences_per_s']} sentences/s")
    print(f"  peak memory: process tree {figures['peak_rss_tree_mb']} MB, largest coqidetop "
          f"{figures['peak_rss_coqidetop_mb']} MB")
    print(f"  Locate: {queries} round trips, {hits} cache hits "
          f"({hits / max(1, hits + queries):.0%} of look-ups answered from the cache)")
    if result.failed:
        print(f"  failed files: {', '.join(p for p, _ in result.failed[:10])}{' ...' if len(result.failed) > 10 else ''}")
    c = compare_resolution(out)
    figures["resolution_vs_suffix"] = c
    n = max(1, c["names"])
    print(f"  premise resolution: Locate (exact). A corpus-suffix resolver over the loaded files would get "
          f"{c['suffix_unique_correct'] / n:.1%} of {c['names']} uses right, {c['suffix_ambiguous'] / n:.1%} "
          f"ambiguous, {c['suffix_wrong'] / n:.1%} wrong, {c['suffix_not_found'] / n:.1%} not found")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
