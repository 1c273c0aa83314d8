"""Tracing every file of a library: in parallel on Ray (or serially), resumable, then assembled.

Layout of the output directory ``out``::

    corpus.jsonl, random/, novel_premises/, metadata.json, nesy_manifest.json   the dataset
    traces/<path>.json     one file's trace (:mod:`provers.tracing.records`), written atomically
    errors.jsonl           one line per file that failed to compile or replay (path, sentence, message)
    summary.md             counts and timings
    build/<binding>/       a user's library compiled (a mirror of its .v files, its .vo/.glob)

Resuming: a file whose ``traces/<path>.json`` exists and carries the same key (its bytes, its
options, the tracer version, the Coq version) is not traced again; failed files are traced again
only with ``retry_failed``. Every file is written to a temporary name and renamed, and the
dataset is written with an ``.incomplete`` marker until its manifest is in place, so an
interrupted run leaves nothing a later run would trust.

One worker runs files in this process; more run one Ray task per file (``address`` joins a
running cluster, else a local one is started with that many CPUs). Both call the same function.

Warm starts: on one worker, files are replayed on a :class:`provers.coq.pool.WarmPool` (the
caller's ``pool``, else one for the run when ``config.warm``), which keeps each traced file's
process with the state and coqidetop's answers after every sentence; a file traced again by the
same pool (edited further down, or retried) starts at its first changed sentence
(:mod:`provers.tracing.replay`). Two different files never share a process (each is replayed
under its own name, ``-topfile``), so inside one run, where each file is traced once, the pool
reuses nothing; it pays for callers that trace the same files again (``benchmarks/trace_warm.py``).
Ray tasks always start a fresh process.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nesyrun.extras import require
from nesyrun.pool import map_unordered
from provers.coq.pool import WarmPool
from provers.coq.process import coq_tool
from provers.errors import MissingDependencyError
from provers.tracing.assemble import AssemblyStats
from provers.tracing.config import TraceConfig, TraceInputError
from provers.tracing.records import FileError, FileStats, FileTrace, trace_from_json, trace_to_json

TRACES_DIR = "traces"
BUILD_DIR = "build"  # .vo/.glob of a user's library, per name binding (never in the source tree)
ERRORS_FILE = "errors.jsonl"
SUMMARY_FILE = "summary.md"


@dataclass(frozen=True)
class FileOutcome:
    """One file's result as the progress callback sees it."""

    path: str
    tactics: int
    theorems: int
    seconds: float
    error: str | None
    cached: bool


@dataclass(frozen=True)
class TraceResult:
    """What a tracing run did: the dataset's counts (``dataset``) and this run's own."""

    out: Path
    files: int  # source files of the library (``dataset.files`` counts the traced ones)
    failed: tuple[tuple[str, str], ...]  # (path, error description)
    dataset: AssemblyStats
    traced_now: int  # files traced in this run (the rest came from the cache)
    tactics_traced_now: int
    trace_seconds: float  # sum of per-file replay times of the files traced now
    wall_seconds: float
    peak_rss_bytes: int  # largest coqidetop resident set seen
    part_sizes: dict


def coq_version() -> str:
    out = subprocess.run([coq_tool("coqc"), "--version"], capture_output=True, text=True, timeout=60).stdout
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def trace_path(out: Path, rel: str) -> Path:
    return out / TRACES_DIR / (rel + ".json")


def load_cached(out: Path, rel: str, key: str) -> FileTrace | None:
    """The cached trace of ``rel`` if it exists, is readable and was made with ``key``."""
    p = trace_path(out, rel)
    if not p.is_file():
        return None
    try:
        t = trace_from_json(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable: traced again (the file is replaced atomically then)
    return t if t.key == key and t.path == rel else None


def trace_one(config: TraceConfig, rel: str, key: str, pool: WarmPool | None = None) -> dict:
    """Replay one file (on ``pool``'s processes when given), store its trace atomically, return a
    small outcome dict (Ray-friendly)."""
    from provers.tracing.replay import replay_file
    from nesyrun.files import atomic_write_text

    trace = replay_file(config.library, rel, key, config.sentence_timeout_s, pool=pool)
    atomic_write_text(trace_path(config.out, rel), json.dumps(trace_to_json(trace), ensure_ascii=False))
    return _outcome(trace, cached=False)


def _outcome(t: FileTrace, cached: bool) -> dict:
    return {"path": t.path, "tactics": t.num_tactics, "theorems": len(t.theorems), "seconds": t.stats.seconds,
            "error": t.error.describe(t.path) if t.error else None, "cached": cached,
            "peak_rss": t.stats.peak_rss_bytes}


def select_files(config: TraceConfig) -> list[str]:
    lib = config.library
    rels = [lib.rel(f) for f in lib.files()]
    if config.only:
        missing = [o for o in config.only if o not in rels]
        if missing:
            raise TraceInputError(f"not .v files of {lib.root}: {', '.join(missing)}")
        chosen = set(config.only)
        if config.with_deps:
            from provers.tracing.deps import dependencies

            deps = dependencies(lib, lib.files())
            todo = list(chosen)
            while todo:
                for d in deps.get(todo.pop(), ()):
                    if d not in chosen:
                        chosen.add(d)
                        todo.append(d)
        rels = [r for r in rels if r in chosen]
    if config.limit is not None:
        rels = rels[: config.limit]
    return rels


def run_trace(
    config: TraceConfig,
    on_start: Callable[[int, int], None] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
    on_compile: Callable[[str, str | None], None] | None = None,
    pool: WarmPool | None = None,
) -> TraceResult:
    """Trace the library of ``config`` into ``config.out`` (see the module documentation).

    ``on_start(total, cached)`` is called once the work is known, ``on_file`` after each file
    (cached ones included), ``on_compile`` after each file coqc compiled (user libraries).
    ``pool``: warm processes to replay on (one worker only; the caller closes it); without it,
    and with ``config.warm``, one is made for this run and closed at its end.
    Raises TraceInputError for bad input (missing/empty directory, nothing traced at all).
    """
    serial = config.workers == 1 and config.address is None
    own = pool is None and serial and config.warm
    if own:
        pool = WarmPool(config.warm_budget_mib)
    try:
        return _run_trace(config, on_start, on_file, on_compile, pool if serial else None)
    finally:
        if own:
            pool.close()


def _run_trace(config: TraceConfig, on_start, on_file, on_compile, pool: WarmPool | None) -> TraceResult:
    t0 = time.monotonic()
    lib = config.library
    rels = select_files(config)
    version = coq_version()
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    compile_failed: dict[str, str] = {}
    if not lib.prebuilt:
        from provers.tracing.deps import compile_library, mirror_sources

        # built in a private directory of the output, one per name binding: nothing is written
        # into the user's tree, and a .vo built under another -R is never picked up
        build = (out / BUILD_DIR / lib.binding_digest()).resolve()
        mirror_sources(lib, build)
        lib = dataclasses.replace(lib, build_root=build)
        config = dataclasses.replace(config, library=lib)
        res = compile_library(lib, [build / r for r in rels], config.coqc_timeout_s, on_compile)
        compile_failed = {r: e for r, e in res.failed.items() if r in set(rels)}
    traces: dict[str, FileTrace] = {}
    todo: list[tuple[str, str]] = []
    for rel in rels:
        if rel in compile_failed:
            continue
        key = config.cache_key(rel, (lib.root / rel).read_bytes(), version)
        cached = load_cached(out, rel, key)
        if cached is not None and (cached.error is None or not config.retry_failed):
            traces[rel] = cached
        else:
            todo.append((rel, key))
    if on_start:
        on_start(len(rels), len(traces) + len(compile_failed))
    for rel, err in compile_failed.items():
        if on_file:
            on_file(FileOutcome(rel, 0, 0, 0.0, f"{rel}: {err}", False))
    for t in traces.values():
        if on_file:
            on_file(FileOutcome(**{k: v for k, v in _outcome(t, True).items() if k != "peak_rss"}))
    # largest files first: the long ones start early and the tail of the run stays short
    todo.sort(key=lambda rk: -(lib.root / rk[0]).stat().st_size)
    peak = 0
    for outcome in _execute(config, todo, pool):
        peak = max(peak, outcome.pop("peak_rss", 0))
        rel = outcome["path"]
        key = dict(todo)[rel]
        loaded = load_cached(out, rel, key)
        if loaded is None:  # the worker died before writing: record it, go on
            loaded = _failed_trace(config, rel, key, outcome.get("error") or "the worker stopped before writing its trace")
        traces[rel] = loaded
        if on_file:
            on_file(FileOutcome(**outcome))
    traced_now = [traces[r] for r, _ in todo if r in traces]
    # errors.jsonl and the dataset
    from nesyrun.files import atomic_writer

    failed: list[tuple[str, str]] = []
    with atomic_writer(out / ERRORS_FILE) as fh:
        for rel in rels:
            if rel in compile_failed:
                rec = {"path": rel, "stage": "compile", "message": compile_failed[rel]}
                failed.append((rel, f"{rel}: {compile_failed[rel]}"))
            elif traces[rel].error is not None:
                e = traces[rel].error
                rec = {"path": rel, "stage": "replay", "message": e.message, "sentence_index": e.sentence_index,
                       "line": e.line, "column": e.column, "sentence": e.sentence}
                failed.append((rel, e.describe(rel)))
            else:
                continue
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    good = [traces[r] for r in rels if r in traces]
    if not any(t.premises for t in good):
        first = "; ".join(msg for _, msg in failed[:3])
        raise TraceInputError(
            f"nothing was traced from {lib.root}: no file declared a premise"
            + (f" ({len(failed)} file(s) failed: {first})" if failed else "")
        )
    from provers.tracing import assemble

    summary, stats = assemble.write(
        out, good, seed=config.seed, val_fraction=config.val_fraction, test_fraction=config.test_fraction,
        url=config.url, commit=config.commit,
        metadata={"library": str(lib.root), "logical_name": lib.prefix, "coq": version, "files": len(rels),
                  "failed_files": len(failed),
                  # where the compiled library is (the private build directory): library-context proving reads it
                  "build_dir": str(lib.build_root) if lib.build_root is not None else None},
    )
    result = TraceResult(
        out=out, files=len(rels), failed=tuple(failed), dataset=stats,
        traced_now=len(traced_now), tactics_traced_now=sum(t.num_tactics for t in traced_now),
        trace_seconds=round(sum(t.stats.seconds for t in traced_now), 2),
        wall_seconds=round(time.monotonic() - t0, 2),
        peak_rss_bytes=max([peak] + [t.stats.peak_rss_bytes for t in good]),
        part_sizes=summary.part_sizes,
    )
    from nesyrun.files import atomic_write_text

    atomic_write_text(out / SUMMARY_FILE, summary_markdown(result, lib.root))
    return result


def _failed_trace(config: TraceConfig, rel: str, key: str, message: str) -> FileTrace:
    return FileTrace(path=rel, module=config.library.module_name(rel), key=key, imports=(), premises=(),
                     theorems=(), error=FileError(message), stats=FileStats())


def _execute(config: TraceConfig, todo: list[tuple[str, str]], pool: WarmPool | None = None):
    """Yield one outcome dict per file, in this process (on ``pool`` when given) or from Ray
    tasks as they finish (:func:`nesyrun.pool.map_unordered`)."""
    if pool is not None:
        for rel, key in todo:
            yield trace_one(config, rel, key, pool)
        return
    if config.workers > 1 or config.address is not None:
        require("ray", "dist", error=MissingDependencyError, what="tracing on several workers")
    for (rel, _), outcome in map_unordered(_trace_item, todo, args=(config,), workers=config.workers, address=config.address):
        if isinstance(outcome, BaseException):  # a worker that crashed: the file is recorded as failed
            outcome = {"path": rel, "tactics": 0, "theorems": 0, "seconds": 0.0, "cached": False,
                       "error": f"{rel}: the Ray worker failed: {type(outcome).__name__}: {str(outcome)[:300]}"}
        yield outcome


def _trace_item(config: TraceConfig, item: tuple[str, str]) -> dict:
    return trace_one(config, *item)


def summary_markdown(r: TraceResult, root: Path) -> str:
    rate = r.tactics_traced_now / r.wall_seconds if r.wall_seconds else 0.0
    d = r.dataset
    lines = [
        f"# nesy trace: {root}",
        "",
        "| files | failed | premises | theorems | tactics | tactics with premises | traced now | wall (s) | tactics/s | peak coqidetop RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r.files} | {len(r.failed)} | {d.premises} | {d.theorems} | {d.tactics} | {d.tactics_with_premises} | "
        f"{r.traced_now} | {r.wall_seconds:.1f} | {rate:.1f} | {r.peak_rss_bytes / 2**20:.0f} |",
        "",
        "Splits: " + ", ".join(f"{k}: {v}" for k, v in sorted(r.part_sizes.items())),
        "",
        f"Names used by tactics that are premises of the corpus: {d.names_resolved}; "
        f"term names outside the corpus (auto-generated schemes, other libraries): {d.names_outside}.",
    ]
    if r.failed:
        lines += ["", f"## Files that failed ({len(r.failed)}; details in {ERRORS_FILE})", ""]
        lines += [f"- {msg[:300]}" for _, msg in r.failed[:50]]
    return "\n".join(lines) + "\n"
