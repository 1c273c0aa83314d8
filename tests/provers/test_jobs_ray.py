"""The actor pool: one row per theorem even when an actor is killed, resume, start failures."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial

import pytest

from provers.evaluation.data import builtin_problems
from nesyrun.pool import PoolConfig, ResultLog, Task, WorkerStartError, run_pool
from provers.evaluation.data import load_minif2f
from provers.evaluation.job import ProofJobConfig, ProofWorker
from provers.generators.base import GeneratorConfig, GeneratorConfigError
from provers.search.result import SearchBudget

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None, reason="Coq is not installed")

FAST = ProofJobConfig(
    budget=SearchBudget(time_s=20, num_candidates=3, tactic_timeout_s=2),
    generator=GeneratorConfig(spec="portfolio:intros; lia;;intros; lra;;intros; ring"),
    check=False,
)


def problems(n):
    return load_minif2f(builtin_problems(), "valid")[:n]


def test_local_pool_writes_each_theorem_once_and_resumes(tmp_path):
    probs = problems(6)
    log = ResultLog(tmp_path / "r.jsonl")
    stats = run_pool([Task(p.name, p) for p in probs[:4]], partial(ProofWorker, FAST), PoolConfig(workers=1), log)
    assert stats.backend == "local" and stats.done == 4
    stats = run_pool([Task(p.name, p) for p in probs], partial(ProofWorker, FAST), PoolConfig(workers=1), ResultLog(tmp_path / "r.jsonl"))
    assert stats.skipped == 4 and stats.done == 2
    names = [json.loads(line)["name"] for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert sorted(names) == sorted(p.name for p in probs)


@pytest.mark.slow
def test_killed_actor_theorem_is_retried_and_each_theorem_appears_once(tmp_path, ray_session):
    probs = problems(22)
    seen_pids, killed = [], []

    def on_row(row):
        pid = row.get("worker_pid")
        if pid and pid not in seen_pids:
            seen_pids.append(pid)
        others = [p for p in seen_pids if p != pid]
        if not killed and others:  # kill the *other* actor: it is in the middle of a theorem
            os.kill(others[0], signal.SIGKILL)
            killed.append(others[0])

    log = ResultLog(tmp_path / "r.jsonl")
    stats = run_pool([Task(p.name, p) for p in probs], partial(ProofWorker, FAST), PoolConfig(workers=2, max_retries=2), log, on_row=on_row)
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert killed and stats.backend == "ray"
    assert sorted(r["name"] for r in rows) == sorted(p.name for p in probs)  # exactly one row each
    assert stats.actor_deaths >= 1 and stats.retries >= 1
    assert any(r["attempt"] == 2 for r in rows)
    assert all(r["status"] in ("unchecked", "failed") for r in rows)  # check=False: found proofs are never "proved"
    assert killed[0] not in {r["worker_pid"] for r in rows if r["attempt"] == 2}


def test_worker_that_cannot_start_is_one_clear_error(tmp_path, ray_session):
    bad = ProofJobConfig(generator=GeneratorConfig(spec=f"hf:{tmp_path}/no-model"))
    tasks = [Task(p.name, p) for p in problems(2)]
    with pytest.raises(GeneratorConfigError, match="does not exist"):
        run_pool(tasks, partial(ProofWorker, bad), PoolConfig(workers=1), ResultLog(tmp_path / "a.jsonl"))
    with pytest.raises(WorkerStartError, match="does not exist"):
        run_pool(tasks, partial(ProofWorker, bad), PoolConfig(workers=2), ResultLog(tmp_path / "b.jsonl"))


@pytest.mark.slow
def test_interrupted_job_rerun_redoes_nothing_finished(tmp_path):
    src = tmp_path / "probs"
    src.mkdir()
    files = sorted(builtin_problems().glob("*.v"))  # enough theorems that the interrupt lands mid-job
    for f in files:
        shutil.copy(f, src)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nesy.cli", "eval", "minif2f", "--data", str(src), "--out", str(out),
           "--generator", "portfolio:intros; lia;;intros; lra;;intros; nia", "--k", "3", "--tactic-timeout", "2", "--time", "20", "--no-check"]
    # SIGINT may be ignored where the tests run (a background job inherits SIG_IGN, and Python then
    # installs no KeyboardInterrupt handler): give the job the default disposition, as a terminal would.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(out.glob("*/results.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 3:
            results = found[0]
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert results is not None
    before = results.read_text().splitlines()
    assert 3 <= len(before) < len(files)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    after = results.read_text().splitlines()
    assert after[: len(before)] == before  # finished rows untouched
    names = [json.loads(line)["name"] for line in after]
    assert len(names) == len(set(names)) == len(files)
    first_pids = {json.loads(line)["worker_pid"] for line in before}
    assert not first_pids & {json.loads(line)["worker_pid"] for line in after[len(before):]}
