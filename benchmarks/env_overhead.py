"""Overhead of nesy's Coq environment over raw coqidetop round trips, measured side by side.

Prints, from one run:

1. the median latency of one tactic step through ``CoqEnv.run_tac`` divided by the median of the
   fastest raw coqidetop client doing the same protocol work — Edit_at back, Add, Goal written
   in one pipelined batch, as ``CoqEnv`` does — for the same tactics, alternating step by step so
   machine noise hits both alike (target: <= 1.15); a raw client making three round trips is
   timed in a pass of its own and printed beside them;
2. the cost of moving to another branch of the search tree (replaying the path) at depths 1, 3
   and 6, against a step on the current branch;
3. resident memory of one environment's coqidetop process, for a bare header and for Reals.

Usage: python benchmarks/env_overhead.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import time

from provers import EnvConfig, ProofFinished, TacticState, Theorem
from provers.coq import xmlproto
from provers.coq.env import CoqEnv
from provers.coq.process import find_coqidetop

HEADER = "Require Import Arith Lia."
STATEMENT = "Theorem bench (a b c : nat) (H : a <= b) : a + c <= b + c /\\ c * 1 = c /\\ b + 0 = b."
TACTICS = ["intros.", "split.", "repeat split.", "simpl.", "cbn.", "idtac.", "unfold lt.", "revert H.", "split; [lia|].", "rewrite Nat.add_0_r."]


class RawCoq:
    """The least Python can do: write the XML, read until </value>, no parsing beyond that."""

    def __init__(self) -> None:
        self.p = subprocess.Popen([find_coqidetop(), "-main-channel", "stdfds", "-async-proofs", "off"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.fd = self.p.stdout.fileno()
        self.buf = b""

    def call(self, xml: str) -> bytes:
        return self.call_many([xml])[0]

    def call_many(self, xmls: list[str]) -> list[bytes]:
        self.p.stdin.write("".join(xmls).encode())
        self.p.stdin.flush()
        outs: list[bytes] = []
        while len(outs) < len(xmls):
            k = self.buf.find(b"</value>")
            if k >= 0:
                outs.append(self.buf[: k + 8])
                self.buf = self.buf[k + 8 :]
                continue
            select.select([self.fd], [], [])
            self.buf += os.read(self.fd, 1 << 16)
        return outs

    def add(self, sentence: str, sid: int) -> int:
        out = self.call(xmlproto.call_add(sentence, sid))
        return int(out.split(b'<state_id val="', 1)[1].split(b'"', 1)[0])

    def start(self) -> int:
        out = self.call(xmlproto.call_init())
        sid = int(out.split(b'val="')[2].split(b'"')[0])
        for s in [HEADER, STATEMENT, "Proof."]:
            sid = self.add(s, sid)
        self.call(xmlproto.call_status(True))
        return sid

    def step(self, root: int, tactic: str) -> None:
        """Three round trips: Add, Goal (executes the sentence, returns the goals), Edit_at back."""
        self.add(tactic, root)
        self.call(xmlproto.call_goal())
        self.call(xmlproto.call_edit_at(root))

    def step_pipelined(self, root: int, tactic: str) -> None:
        """The same work in one write: Edit_at back to the root, Add, Goal (what CoqEnv sends)."""
        self.call_many([xmlproto.call_edit_at(root), xmlproto.call_add(tactic, root), xmlproto.call_goal()])

    def close(self) -> None:
        self.p.kill()
        self.p.wait()


def tactic_overhead(rounds: int) -> tuple[float, float, float]:
    """Median seconds per step: CoqEnv, raw pipelined client, raw three-round-trip client.

    CoqEnv and the pipelined client (the baseline of the ratio) alternate step by step, the
    order rotating, so that machine noise hits both alike; the three-round-trip client is timed
    in a pass of its own, alternating with a second pipelined client, for reference (a third
    process in the same interleaving disturbed the other two on 2 cores).
    """
    raw = RawCoq()
    root = raw.start()
    env_times, raw_times, raw3_times = [], [], []
    with CoqEnv(Theorem("bench", STATEMENT, HEADER), EnvConfig(tactic_timeout_s=30)) as (env, s0):
        for tac in TACTICS:  # warm up all sides
            raw.step(root, tac)
            raw.step_pipelined(root, tac)
            env.run_tac(s0, tac)
        for r in range(rounds):
            for i, tac in enumerate(TACTICS):
                for name in (("raw", "env") if (r + i) % 2 == 0 else ("env", "raw")):
                    t = time.perf_counter()
                    if name == "raw":
                        raw.step_pipelined(root, tac)
                        raw_times.append(time.perf_counter() - t)
                    else:
                        env.run_tac(s0, tac)
                        env_times.append(time.perf_counter() - t)
    # The reference pass alternates the three-round-trip client with a second pipelined one, so
    # that it too is timed while two prover processes take turns.
    other = RawCoq()
    other_root = other.start()
    for r in range(rounds):
        for i, tac in enumerate(TACTICS):
            if (r + i) % 2:
                other.step_pipelined(other_root, tac)
            t = time.perf_counter()
            raw.step(root, tac)
            raw3_times.append(time.perf_counter() - t)
            if (r + i) % 2 == 0:
                other.step_pipelined(other_root, tac)
    other.close()
    raw.close()
    return statistics.median(env_times), statistics.median(raw_times), statistics.median(raw3_times)


def branch_switch(rounds: int) -> dict[int, tuple[float, float]]:
    """Median seconds to run a tactic on the leaf of the other branch vs on the current leaf."""
    out = {}
    thm = Theorem("bench", STATEMENT, HEADER)
    for depth in (1, 3, 6):
        with CoqEnv(thm, EnvConfig(tactic_timeout_s=30)) as (env, s0):
            leaves = []
            for first in ("idtac.", "cbv beta."):
                s = env.run_tac(s0, first)
                for _ in range(depth - 1):
                    s = env.run_tac(s, "idtac.")
                assert isinstance(s, TacticState)
                leaves.append(s)
            switch, stay = [], []
            for i in range(rounds):
                leaf = leaves[i % 2]
                t = time.perf_counter()
                env.run_tac(leaf, "cbn.")  # leaf of the other branch: rewind + replay `depth` steps
                switch.append(time.perf_counter() - t)
                t = time.perf_counter()
                env.run_tac(leaf, "cbn.")  # same leaf again: only an Edit_at back
                stay.append(time.perf_counter() - t)
            out[depth] = (statistics.median(switch), statistics.median(stay))
    return out


def python_cost(n: int = 2000) -> tuple[float, float]:
    """Microseconds of Python per ``run_tac`` with the prover's answers replayed from memory:
    (uncached, memoised). ``check_tactic``, hypothesis and goal parsing are memoised; the latency
    figure above repeats the same tactics on the same state, so it runs on the memoised path, as a
    search does whenever a state or tactic comes back."""
    from provers.coq import sentences

    with CoqEnv(Theorem("bench", STATEMENT, HEADER), EnvConfig(tactic_timeout_s=30)) as (env, s0):
        real = env._proc
        recorded: list = []
        original = real.call_many

        def spy(xmls, timeout_s=None):
            answers = original(xmls, timeout_s)
            recorded.append([a.raw for a in answers])
            return answers

        real.call_many = spy
        env.run_tac(s0, "split.")
        env.run_tac(s0, "split.")
        raws = recorded[-1]

        class Replay:
            def call_many(self, xmls, timeout_s=None):
                return [xmlproto.parse_answer(r) for r in raws]

        env._proc = Replay()
        caches = (sentences.check_tactic, xmlproto.parse_hypothesis, xmlproto._goals_from_raw)
        t = time.perf_counter()
        for _ in range(n):
            for c in caches:
                c.cache_clear()
            env.run_tac(s0, "split.")
        uncached = (time.perf_counter() - t) / n
        t = time.perf_counter()
        for _ in range(n):
            env.run_tac(s0, "split.")
        cached = (time.perf_counter() - t) / n
        env._proc = real
    return uncached * 1e6, cached * 1e6


def memory() -> dict[str, float]:
    sizes = {}
    for label, header, stmt in [
        ("Init only", "", "Theorem m : True."),
        ("Arith + Lia", HEADER, "Theorem m : True."),
        ("Reals + Lra", "Require Import Reals Lra.", "Theorem m : True."),
    ]:
        with CoqEnv(Theorem("m", stmt, header)) as (env, s0):
            assert not isinstance(env.run_tac(s0, "exact I."), TacticState) or True
            sizes[label] = env.rss_bytes() / 2**20
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    env_med, raw_med, raw3_med = tactic_overhead(args.rounds)
    ratio = env_med / raw_med
    print("\n## Tactic step latency (median over %d steps each, interleaved step by step)" % (args.rounds * len(TACTICS)))
    print("| path | median ms |\n|---|---:|")
    print(f"| raw coqidetop, Edit_at + Add + Goal pipelined in one write (the baseline) | {raw_med * 1e3:.2f} |")
    print(f"| raw coqidetop, three round trips (own pass, also alternating) | {raw3_med * 1e3:.2f} |")
    print(f"| nesy CoqEnv.run_tac | {env_med * 1e3:.2f} |")
    print(f"ratio env/raw-pipelined = {ratio:.3f}  (target <= 1.15: {'OK' if ratio <= 1.15 else 'MISSED'}); "
          f"env/raw-three-round-trips = {env_med / raw3_med:.3f}")
    uncached, cached = python_cost()
    print(f"Python per step, answers replayed from memory: {uncached:.0f} us uncached, {cached:.0f} us memoised "
          f"(the latency above runs memoised: same tactics, same state)")
    print("\n## Moving to another branch (replay) vs staying on the branch")
    print("| depth of the other leaf | switch ms | stay ms | switch/stay |\n|---:|---:|---:|---:|")
    for depth, (sw, st) in branch_switch(max(10, args.rounds)).items():
        print(f"| {depth} | {sw * 1e3:.2f} | {st * 1e3:.2f} | {sw / st:.2f} |")
    print("\n## Resident memory of one environment (coqidetop process)")
    print("| header | RSS MiB |\n|---|---:|")
    for label, mib in memory().items():
        print(f"| {label} | {mib:.0f} |")
    assert ProofFinished  # imported for the reader: the protocol's result types


if __name__ == "__main__":
    main()
