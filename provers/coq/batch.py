"""The kernel check of many new theorems at once: one ``coqc`` run for a whole batch.

Used by the theorem mutator (``nesy synth alchemy``): the variants of the theorems of one stretch
of a library file are written into that file's text, each just before its original, and compiled
together under the private library name ``NesyCheck.P`` (never the library's own name). As
Alchemy does, an item that makes ``coqc`` fail is removed and the rest compiled again (at most
``max_rounds`` runs). What passes is then held to the same standard as one proof
(:mod:`provers.coq.check`):

* every sentence of an item is vetted as hostile input (:func:`provers.coq.sentences.check_tactic`
  for its proof, the system-command refusal for all of it) and must be one sentence to Coq too
  (``coqc -time``'s character ranges);
* ``Print Assumptions`` of every item, read fail-closed, against the allow-list;
* ``coqchk`` re-checks the compiled batch once (no type-in-type, unsafe fixpoint or assumed
  positivity anywhere in it).

A batch whose shared text (the library file's prefix) does not compile rejects all its items with
that reason; nothing here raises for a bad item.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from provers.coq.check import (
    _TIME_LINE,
    CheckConfig,
    _coq,
    _coqc,
    _coqchk,
    _lib,
    _print_assumptions,
    _system_command,
    _tail,
    _why,
)
from provers.coq.process import private_tempdir
from provers.coq.sentences import SentenceError, check_tactic, split_sentences


@dataclass(frozen=True)
class BatchItem:
    """One theorem of a batch: ``block`` is its declaration, proof and ``Qed.``; ``qualified`` the
    name ``Print Assumptions`` reads it by inside the checked library (module path + name)."""

    name: str
    qualified: str
    block: str
    proof: tuple[str, ...] = ()  # the proof sentences, vetted again here


@dataclass(frozen=True)
class BatchVerdict:
    ok: bool
    message: str
    axioms: tuple[str, ...] = ()


@dataclass
class BatchReport:
    """Per item its verdict, and what the batch cost."""

    verdicts: dict[str, BatchVerdict] = field(default_factory=dict)
    coqc_runs: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)


_ERROR_LINE = re.compile(r'^File "[^"]*", line (\d+), characters (\d+)-(\d+):', re.MULTILINE)


def check_batch(pieces: list[str | BatchItem], config: CheckConfig, *, max_rounds: int = 8) -> BatchReport:
    """Compile ``pieces`` (shared text and items, in file order) as one file; see the module doc."""
    start = time.monotonic()
    report = BatchReport()
    items = [p for p in pieces if isinstance(p, BatchItem)]
    alive: list[BatchItem] = []
    for it in items:
        why = _vet(it)
        if why:
            report.verdicts[it.name] = BatchVerdict(False, why)
        else:
            alive.append(it)
    shared = "".join(p for p in pieces if isinstance(p, str))
    refusal = _system_command(shared)
    if refusal:
        for it in alive:
            report.verdicts[it.name] = BatchVerdict(False, f"the file {refusal}")
        return report
    tmp = private_tempdir("batch")
    try:
        d = Path(tmp)
        while alive:
            if report.coqc_runs >= max_rounds:
                for it in alive:
                    report.verdicts[it.name] = BatchVerdict(False, f"not checked: the batch still failed after {max_rounds} coqc runs")
                alive = []
                break
            keep = {it.name for it in alive}
            text, spans = _assemble(pieces, keep)
            (d / "P.v").write_text(text, encoding="utf-8")
            t0 = time.monotonic()
            code, out = _coq([_coqc(), "-q", "-time", *config.extra_args, *_lib(), "P.v"], d, config)
            report.stages["coqc"] = report.stages.get("coqc", 0.0) + time.monotonic() - t0
            report.coqc_runs += 1
            if code == 0:
                break
            culprit = _culprit(out, text, spans) if code is not None else None
            if culprit is None:
                why = _why(code, out, config)
                for it in alive:
                    report.verdicts[it.name] = BatchVerdict(False, f"the batch does not compile outside its items: {why}")
                alive = []
                break
            report.verdicts[culprit] = BatchVerdict(False, f"coqc rejected it: {_tail(_error_of(out), 300)}")
            alive = [it for it in alive if it.name != culprit]
        if not alive:
            return report
        bad = _boundaries(text, spans, out)
        for name, why in bad.items():
            report.verdicts[name] = BatchVerdict(False, why)
        alive = [it for it in alive if it.name not in bad]
        if not alive:
            return report
        t0 = time.monotonic()
        blocks = _print_assumptions(d, [it.qualified for it in alive], config)
        report.stages["assumptions"] = time.monotonic() - t0
        if isinstance(blocks, str):
            for it in alive:
                report.verdicts[it.name] = BatchVerdict(False, blocks)
            return report
        if config.recheck:
            t0 = time.monotonic()
            verdict = _coqchk(d, config)
            report.stages["coqchk"] = time.monotonic() - t0
            if verdict:
                for it in alive:
                    report.verdicts[it.name] = BatchVerdict(False, verdict)
                return report
        for it, axioms in zip(alive, blocks):
            disallowed = [a for a in axioms if a not in config.allowed_axioms]
            if disallowed:
                report.verdicts[it.name] = BatchVerdict(False, f"uses axioms outside the allow-list: {', '.join(disallowed)}", tuple(axioms))
            else:
                what = "accepted by coqc" + (" and coqchk" if config.recheck else "")
                report.verdicts[it.name] = BatchVerdict(True, f"{what}; axioms: {', '.join(axioms) or 'none'}", tuple(axioms))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        report.seconds = time.monotonic() - start
    return report


def _vet(item: BatchItem) -> str | None:
    for s in item.proof:
        verdict = check_tactic(s)
        if verdict.refused or verdict.gives_up:
            return f"proof sentence not allowed: {verdict.refused or 'gives up'}: {s[:80]!r}"
    refusal = _system_command(item.block)
    return f"the item {refusal}" if refusal else None


def _assemble(pieces: list[str | BatchItem], keep: set[str]) -> tuple[str, dict[str, tuple[int, int]]]:
    """The file text, and each kept item's character span in it."""
    out: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    at = 0
    for p in pieces:
        if isinstance(p, BatchItem):
            if p.name not in keep:
                continue
            text = "\n" + p.block.rstrip() + "\n"
            spans[p.name] = (at, at + len(text))
        else:
            text = p
        out.append(text)
        at += len(text)
    return "".join(out), spans


def _error_of(out: str) -> str:
    m = _ERROR_LINE.search(out)
    return out[m.start():] if m else out


def _culprit(out: str, text: str, spans: dict[str, tuple[int, int]]) -> str | None:
    """The item the first error of ``coqc`` points into, or None (the shared text failed)."""
    m = _ERROR_LINE.search(out)
    if m is None:
        return None
    line = int(m.group(1))
    starts = [0] + [x.end() for x in re.finditer("\n", text)]
    if not 1 <= line <= len(starts):
        return None
    offset = starts[line - 1]
    for name, (a, b) in spans.items():
        if a <= offset < b:
            return name
    return None


def _boundaries(text: str, spans: dict[str, tuple[int, int]], coqc_time_output: str) -> dict[str, str]:
    """Items whose sentences Coq did not run as nesy split them (see provers.coq.check)."""
    coq = {(int(a), int(b)) for a, b in _TIME_LINE.findall(coqc_time_output)}
    bad: dict[str, str] = {}
    for name, (a, b) in spans.items():
        chunk = text[a:b]
        base = len(text[:a].encode("utf-8"))
        try:
            sentences = split_sentences(chunk)
        except SentenceError as exc:
            bad[name] = f"cannot be cut into sentences: {exc}"
            continue
        for s in sentences:
            x = base + len(chunk[: s.start].encode("utf-8"))
            y = x + len(s.text.encode("utf-8"))
            if (x, y) not in coq:
                bad[name] = f"Coq reads the item as other sentences than nesy split: {s.text[:80]!r}"
                break
    return bad


__all__ = ["BatchItem", "BatchReport", "BatchVerdict", "check_batch"]
