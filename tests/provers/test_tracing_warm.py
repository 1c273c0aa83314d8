"""Tracing on the warm pool (provers.tracing.replay with a provers.coq.pool.WarmPool).

A file traced on a pooled process must come out exactly as a fresh process traces it (the same
JSON but for the two measurements, seconds and peak memory), whether the process is fresh, holds
the whole file (traced again), or holds a prefix of it (the file edited further down, or fixed
after an error). A process that timed out or died never serves another trace; a tiny budget
evicts. Needs Coq; skipped without it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from provers.coq.pool import WarmPool
from provers.coq.sentences import split_sentences
from provers.tracing.config import TraceConfig, TraceInputError, stdlib
from provers.tracing.driver import run_trace, trace_path
from provers.tracing.records import trace_to_json
from provers.tracing.replay import FileReplayer

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None,
                                reason="Coq is not installed")

LIB = stdlib()
# Small stdlib files with proofs, sections, modules, Requires and used premises.
FILES = ["Arith/Le.v", "Lists/ListDec.v", "Arith/Between.v"]
EXTRA = "\nLemma nesy_inserted (n : nat) : n + 0 = n.\nProof.\n  induction n; simpl.\n  - reflexivity.\n  - rewrite IHn. reflexivity.\nQed.\n"


def same(trace) -> str:
    """The trace's JSON without what a run measures (seconds, peak memory)."""
    d = trace_to_json(trace)
    del d["stats"]["seconds"], d["stats"]["peak_rss_bytes"]
    return json.dumps(d, sort_keys=True)


def source(rel: str) -> str:
    return (LIB.root / rel).read_text(encoding="utf-8")


def edited(rel: str) -> str:
    """The file with a lemma inserted after its middle theorem."""
    text = source(rel)
    cold = FileReplayer(LIB, rel).run()
    th = cold.theorems[len(cold.theorems) // 2]
    lines = text.split("\n")
    at = sum(len(ln) + 1 for ln in lines[: th.end[0] - 1]) + th.end[1]  # just after the theorem's closer
    return text[:at] + EXTRA + text[at:]


@pytest.mark.parametrize("rel", FILES)
def test_warm_traces_equal_cold_ones(rel):
    cold = FileReplayer(LIB, rel).run()
    assert cold.error is None and cold.theorems
    with WarmPool() as pool:
        first = FileReplayer(LIB, rel, pool=pool)
        t1 = first.run()
        again = FileReplayer(LIB, rel, pool=pool)
        t2 = again.run()
        text = edited(rel)
        changed = FileReplayer(LIB, rel, pool=pool, source=text)
        t3 = changed.run()
        assert pool.stats.fresh == 1 and pool.stats.discarded == 0
    assert (first.start, again.start, changed.start) == ("fresh", "warm", "prefix")
    assert again.reused_sentences == cold.stats.sentences_total
    assert 0 < changed.reused_sentences < t3.stats.sentences_total
    assert same(t1) == same(cold) and same(t2) == same(cold)
    assert same(t3) == same(FileReplayer(LIB, rel, source=text).run())
    assert "nesy_inserted" in same(t3)


def test_a_file_fixed_after_an_error_starts_at_its_last_good_sentence():
    rel = FILES[0]
    text = source(rel)
    bad = text + "\nLemma nesy_fixed : 1 = 1.\nProof. exact I. Qed.\n"
    fixed = text + "\nLemma nesy_fixed : 1 = 1.\nProof. reflexivity. Qed.\n"
    with WarmPool() as pool:
        t_bad = FileReplayer(LIB, rel, pool=pool, source=bad).run()
        assert t_bad.error is not None and t_bad.error.sentence == "exact I."
        assert len(pool.idle()) == 1  # a Coq error is no misbehaviour: the process stays
        r = FileReplayer(LIB, rel, pool=pool, source=fixed)
        t_fixed = r.run()
    assert r.start == "prefix" and r.reused_sentences == t_bad.error.sentence_index  # up to "Proof."
    assert same(t_bad) == same(FileReplayer(LIB, rel, source=bad).run())
    assert same(t_fixed) == same(FileReplayer(LIB, rel, source=fixed).run())


def test_an_edit_inside_a_proof_goes_back_into_the_proof():
    rel = FILES[1]
    text = source(rel)
    cold = FileReplayer(LIB, rel).run()
    th = cold.theorems[len(cold.theorems) // 2]
    start = sum(len(ln) + 1 for ln in text.split("\n")[: th.start[0] - 1]) + th.start[1] - 1
    at = text.index(th.tactics[-1].tactic, start)  # before the proof's last tactic
    new = text[:at] + "idtac. " + text[at:]
    with WarmPool() as pool:
        FileReplayer(LIB, rel, pool=pool).run()
        r = FileReplayer(LIB, rel, pool=pool, source=new)
        warm = r.run()
    assert warm.error is None and r.start == "prefix"
    assert r.reused_sentences == len(split_sentences(text[:at]))  # every sentence before the insertion
    assert same(warm) == same(FileReplayer(LIB, rel, source=new).run())
    assert ["idtac." in [t.tactic for t in x.tactics] for x in warm.theorems].count(True) == 1


def test_a_process_that_timed_out_is_not_pooled():
    rel = FILES[0]
    hang = source(rel) + "\nGoal True.\nProof.\n  repeat (assert True by exact I).\nQed.\n"
    with WarmPool() as pool:
        r = FileReplayer(LIB, rel, sentence_timeout_s=1.0, pool=pool, source=hang)
        t = r.run()
        assert t.error is not None and "timed out" in t.error.message
        assert pool.idle() == [] and pool.stats.discarded == 1
        r2 = FileReplayer(LIB, rel, pool=pool)
        assert same(r2.run()) == same(FileReplayer(LIB, rel).run())
        assert r2.start == "fresh" and pool.stats.fresh == 2


def test_a_crashed_process_is_not_reused():
    rel = FILES[1]
    with WarmPool() as pool:
        t1 = FileReplayer(LIB, rel, pool=pool).run()
        [lease] = pool._idle
        os.kill(lease.proc.proc.pid, signal.SIGKILL)
        lease.proc.proc.wait(timeout=10)
        r = FileReplayer(LIB, rel, pool=pool)
        t2 = r.run()
        assert r.start == "fresh" and pool.stats.fresh == 2 and pool.stats.discarded == 1
        assert [lease.proc.pid for lease in pool._idle] != [lease.proc.pid]
    assert t2.error is None and same(t2) == same(t1)


def test_a_tiny_budget_evicts_during_tracing(tmp_path):
    only = tuple(FILES[:2])
    with WarmPool(budget_mib=1) as pool:
        config = TraceConfig(library=LIB, out=tmp_path / "warm", workers=1, only=only)
        run_trace(config, pool=pool)
        assert pool.stats.fresh == 2 and pool.stats.evicted == 2 and pool.idle() == []
        r = FileReplayer(LIB, only[0], pool=pool)
        r.run()
        assert r.start == "fresh"  # its process was evicted
    cold = TraceConfig(library=LIB, out=tmp_path / "cold", workers=1, only=only, warm=False)
    run_trace(cold)
    for rel in only:  # the driver's per-file traces: the same with and without the pool
        a = json.loads(trace_path(tmp_path / "warm", rel).read_text())
        b = json.loads(trace_path(tmp_path / "cold", rel).read_text())
        for d in (a, b):
            del d["stats"]["seconds"], d["stats"]["peak_rss_bytes"]
        assert a == b


def test_a_negative_budget_is_an_input_error(tmp_path):
    with pytest.raises(TraceInputError):
        TraceConfig(library=LIB, out=tmp_path, warm_budget_mib=-1)


def test_nesy_trace_refuses_a_negative_warm_budget(tmp_path, capsys):
    from nesy.cli import main

    assert main(["trace", "--warm-budget", "-1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--warm-budget must be at least 0 MiB" in err and "Traceback" not in err
