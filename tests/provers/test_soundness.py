"""Soundness: no false proof is ever counted.

A corpus of malicious and broken inputs, each with the verdict expected and why: tactic strings
run through ``CoqEnv`` against false statements (then kernel-checked if the session says the
proof is finished), proof files checked against their problem (``nesy check --problem``), and
whole files checked for soundness (``nesy check`` without a problem). Every one must be refused,
given up, or rejected by the check; none may count. A fuzz test assembles random tactic strings
from vernacular keywords, selectors, comments, bullets and braces; and a SIGKILLed ``nesy`` job
must leave no prover process behind.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from provers import Theorem
from provers.coq.check import _boundary_mismatch, check_file, check_proof, parse_assumptions, AssumptionReportError
from provers.coq.env import CoqEnv
from provers.protocol import EnvConfig, ProofFinished, ProofGivenUp, TacticError, TacticState

needs_coq = pytest.mark.skipif(shutil.which("coqc") is None or shutil.which("coqchk") is None, reason="Coq (coqc, coqchk) is not installed")

REPO = Path(__file__).resolve().parents[2]
FALSE_EQ = Theorem("one_eq_two", "Theorem one_eq_two : 1 = 2.")
FALSE = Theorem("f", "Theorem f : False.")


@dataclass(frozen=True)
class Case:
    id: str
    input: object
    expected: str  # refused | gives_up | rejected (by the check) | fails (tactic error or open goals)
    why: str


# ------------------------------------------------------------------------- tactic strings

GUARD = "fix g 1. intro n. exact (g n)."
TACTIC_CASES = [
    Case("issue-end-to-end", f"assert (H : nat -> 1 = 2). 1 (**) : {{ Unset Guard Checking. {GUARD} }} exact (H 0).", "refused",
         "a comment inside a goal selector hid 'Unset Guard Checking' from the splitter"),
    Case("selector-comment-after-colon", f"assert (H : nat -> 1 = 2). 1 : (**) {{ Unset Guard Checking. {GUARD} }} exact (H 0).", "refused",
         "same, comment after the colon"),
    Case("selector-nested-comment", f"assert (H : nat -> 1 = 2). 1 (* (* *) *) : {{ Unset Guard Checking. {GUARD} }} exact (H 0).", "refused",
         "nested comments are blanks to Coq too"),
    Case("named-selector-comment", "[one_eq_two] (**) : { Unset Universe Checking. }", "refused", "named goal selector with a comment"),
    Case("qed-after-tactic", "idtac. Qed.", "refused", "a second sentence closing the proof"),
    Case("admitted", "Admitted.", "refused", "vernacular that ends the proof without one"),
    Case("time-admitted", "Time Admitted.", "refused", "a control prefix before Admitted"),
    Case("timeout-admitted", "Timeout 5 Admitted.", "refused", "Timeout N before Admitted"),
    Case("selector-admitted", "all: Admitted.", "refused", "a selector before a command"),
    Case("double-selector", "1: 2: Qed.", "refused", "two selectors must not hide the word after them"),
    Case("comment-then-qed", "(* harmless *) Qed.", "refused", "a comment before a command"),
    Case("nbsp-separated", "idtac.\u00a0Qed.", "refused", "a non-ASCII blank that Coq and Python read differently"),
    Case("tab-separated", "idtac.\tQed.", "refused", "a tab is a blank: two sentences, the second refused"),
    Case("zero-width", "idtac.\u200bQed.", "refused", "a zero-width format character"),
    Case("nul-byte", "idtac.\x00Qed.", "refused", "a NUL byte"),
    Case("string-hides-comment", 'idtac "(*". Qed. idtac "*)".', "refused", "a comment opener inside a string is not a comment"),
    Case("attribute", "#[bypass_check(guard)] fix g 1.", "refused", "attributes are vernacular"),
    Case("brace-unset", "{ Unset Guard Checking. }", "refused", "a command inside braces"),
    Case("bullet-abort", "- Abort.", "refused", "a command after a bullet"),
    Case("redirect", 'Redirect "/tmp/nesy-pwned" Print nat.', "refused", "writes a file"),
    Case("local-axiom", "Local Axiom cheat : 1 = 2.", "refused", "declares an axiom"),
    Case("unshelve", "Unshelve.", "refused", "capitalised vernacular"),
    Case("admit", "admit.", "gives_up", "admit closes a goal without proof"),
    Case("give-up", "give_up.", "gives_up", "give_up too"),
    Case("admit-in-ltac", "exact ltac:(admit).", "gives_up", "admit inside a term's tactic"),
    Case("all-admit", "all: admit.", "gives_up", "admit on every goal"),
    Case("exact-no-check", "exact_no_check (eq_refl 1).", "rejected", "the tactic engine skips the type check; Qed's kernel does not"),
    Case("vm-cast-no-check", "vm_cast_no_check (eq_refl 1).", "rejected", "same through the VM cast"),
    Case("guard-without-unset", f"assert (H : nat -> 1 = 2). {{ {GUARD} }} exact (H 0).", "rejected",
         "a non-terminating fixpoint: the guard checker refuses it at Qed"),
]


def _run_tactic(env_thm: Theorem, tactic: str):
    with CoqEnv(env_thm, EnvConfig(tactic_timeout_s=10)) as (env, init):
        result = env.run_tac(init, tactic)
        proof = env.proof_sentences(result) if isinstance(result, ProofFinished) else None
    return result, proof


@needs_coq
@pytest.mark.parametrize("case", TACTIC_CASES, ids=lambda c: c.id)
def test_malicious_tactic_is_never_counted(case: Case):
    result, proof = _run_tactic(FALSE_EQ, case.input)
    if case.expected == "refused":
        assert isinstance(result, TacticError) and result.kind.value == "refused", (case.why, result)
    elif case.expected == "gives_up":
        assert isinstance(result, ProofGivenUp), (case.why, result)
    else:
        assert not isinstance(result, (ProofGivenUp,)), (case.why, result)
    if isinstance(result, ProofFinished):
        verdict = check_proof(FALSE_EQ, proof)
        assert not verdict.ok, (case.why, verdict.message)
    # whatever the session said, the check refuses the raw string as a proof
    assert not check_proof(FALSE_EQ, [case.input]).ok, case.why


# ------------------------------------------------------------------------- proof files against their problem

PROBLEM = "Require Import Arith.\n\nTheorem one_eq_two : 1 = 2.\nProof.\nAdmitted.\n"
PROOF_FILE_CASES = [
    Case("statement-edited", "Require Import Arith.\n\nTheorem one_eq_two : 1 = 1.\nProof.\n  reflexivity.\nQed.\n", "rejected",
         "the proved statement is not the problem's"),
    Case("section-context", "Require Import Arith.\nSection S. Context (H : 1 = 2).\nTheorem one_eq_two : 1 = 2.\nProof.\n  exact H.\nQed.\nEnd S.\n",
         "rejected", "a section hypothesis weakens the statement"),
    Case("notation-redefined", "Require Import Arith.\nNotation \"x = y\" := (x <> y) : type_scope.\nTheorem one_eq_two : 1 = 2.\nProof.\n  discriminate.\nQed.\n",
         "rejected", "a notation re-reads the statement"),
    Case("eq-shadowed", "Require Import Arith.\nDefinition eq (a b : nat) := True.\nTheorem one_eq_two : 1 = 2.\nProof.\n  exact I.\nQed.\n",
         "rejected", "a shadowing definition before the statement"),
    Case("abort-then-true", "Require Import Arith.\n\nTheorem one_eq_two : 1 = 2.\nAbort.\nTheorem one_eq_two : 1 = 1.\nProof. reflexivity. Qed.\n",
         "rejected", "an aborted false statement followed by a true one of the same name"),
    Case("admitted-proof", "Require Import Arith.\n\nTheorem one_eq_two : 1 = 2.\nProof.\nAdmitted.\n", "rejected", "no proof at all"),
    Case("trailing-axiom", "Require Import Arith.\n\nTheorem one_eq_two : 1 = 2.\nProof.\n  exact_no_check (eq_refl 1).\nQed.\nAxiom x : False.\n",
         "rejected", "commands after the proof"),
    Case("prelude-not-require", "Require Import Arith.\nUnset Guard Checking.\nTheorem one_eq_two : 1 = 2.\nProof.\n  assert (H : nat -> 1 = 2). { fix g 1. intro n. exact (g n). } exact (H 0).\nQed.\n",
         "rejected", "only Require lines may be added between header and statement"),
    Case("guard-in-proof", "Require Import Arith.\n\nTheorem one_eq_two : 1 = 2.\nProof.\n  assert (H : nat -> 1 = 2). 1 (**) : { Unset Guard Checking. fix g 1. intro n. exact (g n). } exact (H 0).\nQed.\n",
         "rejected", "the issue's attack as a written proof file"),
]


@needs_coq
@pytest.mark.parametrize("case", PROOF_FILE_CASES, ids=lambda c: c.id)
def test_proof_file_against_its_problem(case: Case, tmp_path):
    problem = tmp_path / "problem" / "one_eq_two.v"
    problem.parent.mkdir()
    problem.write_text(PROBLEM)
    proof = tmp_path / "one_eq_two.v"
    proof.write_text(case.input)
    r = check_file(proof, problem=problem)
    assert not r.ok, (case.why, r.message)


@needs_coq
def test_prelude_that_changes_the_statement_is_caught_as_terms():
    # nesy's own prelude comes after the header: Coq must confirm the proved constant has the
    # type the problem's header gives the statement. Here the prelude re-reads False.
    thm = Theorem("f", "Theorem f : False.", "", prelude="Definition False := True.")
    r = check_proof(thm, ["exact I."])
    assert not r.ok and "coqc rejected" in r.message, r.message


@needs_coq
def test_a_real_proof_file_with_nesy_prelude_passes(tmp_path):
    problem = tmp_path / "p" / "t.v"
    problem.parent.mkdir()
    problem.write_text("Require Import Reals.\nOpen Scope R_scope.\n\n(* the problem *)\nTheorem t (x : R) : 0 <= x * x.\nProof.\nAdmitted.\n")
    proof = tmp_path / "t.v"
    proof.write_text("Require Import Reals.\n(* a comment *) Open Scope R_scope.\nFrom Coq Require Import Lia Lra Psatz.\n\nTheorem t (x : R) : 0 <= x * x.\nProof.\n  nra.\nQed.\n")
    r = check_file(proof, problem=problem)
    assert r.ok and r.scope == "statement", r.message


# ------------------------------------------------------------------------- whole files (soundness only)

GUARD_FILE = "Unset Guard Checking.\nFixpoint g (n : nat) : 1 = 2 := g n.\nSet Guard Checking.\nTheorem bad : 1 = 2. Proof. exact (g 0). Qed.\n"
WHOLE_FILE_CASES = [
    Case("unset-guard", GUARD_FILE, "rejected", "reported as 'assumed to be guarded'"),
    Case("bypass-guard", "#[bypass_check(guard)] Fixpoint g (n : nat) : 1 = 2 := g n.\nTheorem bad : 1 = 2. Proof. exact (g 0). Qed.\n",
         "rejected", "the attribute form"),
    Case("unset-positivity", "Unset Positivity Checking.\nInductive bad := mk : (bad -> False) -> bad.\nSet Positivity Checking.\n"
         "Definition self (b : bad) : bad -> False := match b with mk f => f end.\n"
         "Theorem f : False. Proof. exact (self (mk (fun b => self b b)) (mk (fun b => self b b))). Qed.\n", "rejected",
         "reported as 'assumed to be positive'"),
    Case("bypass-positivity", "#[bypass_check(positivity)] Inductive bad := mk : (bad -> False) -> bad.\n"
         "Definition self (b : bad) : bad -> False := match b with mk f => f end.\n"
         "Theorem f : False. Proof. exact (self (mk (fun b => self b b)) (mk (fun b => self b b))). Qed.\n", "rejected", "the attribute form"),
    Case("unset-universe", "Unset Universe Checking.\nDefinition U := Type.\nDefinition u : U := U.\nSet Universe Checking.\n"
         "Theorem t : True. Proof. pose u. exact I. Qed.\n", "rejected", "type-in-type: 'relies on an unsafe hierarchy'"),
    Case("admitted-definition", "Definition d : 1 = 2. Admitted.\nTheorem t : 1 = 2. Proof. exact d. Qed.\n", "rejected", "an admitted Definition"),
    Case("admitted-goal", "Goal 1 = 2. Admitted.\nTheorem t : True. Proof. exact I. Qed.\n", "rejected", "an admitted Goal"),
    Case("admitted-in-module", "Module M. Theorem x : 1 = 2. Admitted. End M.\nTheorem t : 1 = 2. Proof. exact M.x. Qed.\n", "rejected",
         "an admitted theorem inside a module"),
    Case("time-admitted-file", "Theorem t : 1 = 2. Proof. Time Admitted.\n", "rejected", "Time before Admitted"),
    Case("timeout-admitted-file", "Theorem t : 1 = 2. Proof. Timeout 5 Admitted.\n", "rejected", "Timeout N before Admitted"),
    Case("polymorphic-axiom", "Polymorphic Axiom cheat : 1 = 2.\nTheorem t : 1 = 2. Proof. exact cheat. Qed.\n", "rejected", "a prefixed axiom"),
    Case("functor-axiom", "Module Type T. End T.\nModule F (X : T). Axiom a : False. End F.\nModule E. End E.\nModule G := F E.\n"
         "Theorem bad : False. Proof. exact G.a. Qed.\n", "rejected", "an axiom inside a functor, reached through its application"),
    Case("fake-classic", "Module Classical_Prop. Axiom classic : False. End Classical_Prop.\n"
         "Theorem sneaky : False. Proof. exact Classical_Prop.classic. Qed.\n", "rejected", "a user axiom named like an allowed one"),
    Case("redirect-file", 'Redirect "/tmp/nesy-pwned-redirect" Print nat.\nTheorem t : True. Proof. exact I. Qed.\n', "rejected", "writes a file"),
    Case("extraction", 'Require Extraction.\nExtraction "/tmp/nesy-pwned.ml" nat.\nTheorem t : True. Proof. exact I. Qed.\n', "rejected", "writes a file"),
    Case("recursive-extraction", "Require Extraction.\nRecursive Extraction nat.\nTheorem t : True. Proof. exact I. Qed.\n", "rejected", "extraction"),
    Case("cd", 'Cd "/tmp".\nTheorem t : True. Proof. exact I. Qed.\n', "rejected", "changes directory"),
    Case("load", 'Load "/etc/hostname".\nTheorem t : True. Proof. exact I. Qed.\n', "rejected", "reads another file"),
    Case("declare-ml", 'Declare ML Module "nesy_pwn".\nTheorem t : True. Proof. exact I. Qed.\n', "rejected", "loads native code"),
    Case("loadpath", 'Add LoadPath "/tmp" as Pwn.\nTheorem t : True. Proof. exact I. Qed.\n', "rejected", "changes the load path"),
]


@needs_coq
@pytest.mark.parametrize("case", WHOLE_FILE_CASES, ids=lambda c: c.id)
def test_whole_file_soundness(case: Case, tmp_path):
    f = tmp_path / "f.v"
    f.write_text(case.input)
    r = check_file(f)
    assert not r.ok, (case.why, r.message)
    assert not Path("/tmp/nesy-pwned-redirect.out").exists() and not Path("/tmp/nesy-pwned.ml").exists()


def test_corpus_is_large_enough():
    assert len(TACTIC_CASES) + len(PROOF_FILE_CASES) + len(WHOLE_FILE_CASES) >= 30


@needs_coq
def test_sound_whole_file_passes_with_soundness_scope(tmp_path):
    f = tmp_path / "ok.v"
    f.write_text("Require Import Arith Lia.\nModule M. Lemma a (n : nat) : n + 0 = n. Proof. lia. Qed. End M.\n"
                 "Goal True. exact I. Qed.\nTheorem b : 2 + 2 = 4. Proof. reflexivity. Qed.\n")
    r = check_file(f)
    assert r.ok and r.scope == "soundness" and "soundness only" in r.message, r.message
    assert {"M.a", "b"} <= set(r.per_theorem)


# ------------------------------------------------------------------------- the readers fail closed


def test_assumption_reader_rejects_unknown_lines():
    assert parse_assumptions("Closed under the global context\n") == [()]
    assert parse_assumptions("Axioms:\nA.x : 1 = 2\nB.y\n  : forall n : nat,\n    n = n\n") == [("A.x", "B.y")]
    for report in ("Axioms:\nP.g is assumed to be guarded.\n", "Axioms:\nP.bad is assumed to be positive.\n",
                   "Axioms:\nP.u relies on an unsafe hierarchy.\n", "Axioms:\nsomething new that Coq prints\n",
                   "Closed under the global context, mostly\n", "  stray indented line\n"):
        with pytest.raises(AssumptionReportError):
            parse_assumptions(report)
    assert parse_assumptions("Section Variables:\nx : nat\n") == [("Section variable x",)]


def test_boundary_check_compares_coq_sentences_with_nesy_split():
    text = "Theorem t : True.\nProof.\n1: {\nidtac. }\nQed.\n"
    ok = "Chars 0 - 17 [Theorem~t~:~True.]\nChars 18 - 24 [Proof.]\nChars 25 - 29 [1:~{]\nChars 30 - 36 [idtac.]\nChars 37 - 38 [}]\nChars 39 - 43 [Qed.]\n"
    assert _boundary_mismatch(text, ok) is None
    assert _boundary_mismatch(text, ok.replace("Chars 30 - 36", "Chars 30 - 33")) is not None
    assert _boundary_mismatch(text, ok + "Chars 33 - 36 [x]\n") is not None


# ------------------------------------------------------------------------- fuzz

NASTY = ["Unset Guard Checking.", "Qed.", "Admitted.", "Defined.", "Abort.", "Time", "Timeout 3", "Redirect \"f\"", "Proof.",
         "(*", "*)", "\"", "\"(*\"", "#[bypass_check(guard)]", "Local", "Axiom c : 1 = 2.", "Unset Universe Checking.", "Goal 1 = 2.",
         "..", "ltac:(", ")", "admit.", "give_up.", "\u00a0", "\x0c"]
TACTICS = ["fix g 1.", "intro n.", "exact (g n).", "assert (H : nat -> 1 = 2).", "exact (H 0).", "exact I.", "exact c.",
           "exact_no_check (eq_refl 1).", "vm_cast_no_check (eq_refl 1).", "native_cast_no_check (eq_refl 1).", "idtac.",
           "reflexivity.", "lia.", "1", "2", ":", "{", "}", "-", "+", "*", "all:", "[one_eq_two]:", "(**)", "(* x *)", ".", " ",
           "\n", "\t", "par:", "!:", "...", ";", "shelve.", "Unshelve.", "abstract (exact_no_check (eq_refl 1))."]


def _fuzz_string(rng: random.Random) -> str:
    return " ".join(rng.choice(NASTY) if rng.random() < 0.2 else rng.choice(TACTICS) for _ in range(rng.randint(1, 8)))


@needs_coq
def test_fuzz_no_false_proof_is_accepted():
    rng = random.Random(20261130)
    strings = [_fuzz_string(rng) for _ in range(500)]
    finished = accepted = 0
    checked: dict[tuple[str, ...], bool] = {}
    with CoqEnv(FALSE_EQ, EnvConfig(tactic_timeout_s=5)) as (env, init):
        frontier = [init]
        for i, tactic in enumerate(strings):
            state = frontier[i % len(frontier)]  # from the root and from states reached earlier
            result = env.run_tac(state, tactic)
            if isinstance(result, TacticState) and len(frontier) < 20:
                frontier.append(result)
            if isinstance(result, ProofFinished):
                finished += 1
                proof = tuple(env.proof_sentences(result))
                if proof not in checked:
                    checked[proof] = check_proof(FALSE_EQ, list(proof)).ok
                accepted += checked[proof]
    assert accepted == 0, f"{accepted} false proofs accepted ({finished} sessions finished)"
    assert finished > 0  # the fuzz reaches the check, not only the guard


# ------------------------------------------------------------------------- no orphan provers


def _processes_with_marker(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


@needs_coq
@pytest.mark.parametrize("command", ["prove", "eval"])
def test_sigkill_leaves_no_prover_process(command, tmp_path):
    problems = tmp_path / "minif2f" / "valid"  # the miniF2F-rocq layout, which both commands read
    problems.mkdir(parents=True)
    for i in range(6):  # slow to fail: every theorem keeps coqidetop busy
        (problems / f"slow{i}.v").write_text(f"Require Import Arith.\nTheorem slow{i} (n m : nat) : n * m = m * n + {i + 1}.\nProof.\nAdmitted.\n")
    marker = f"NESY_TEST_MARKER_{os.getpid()}_{command}"
    env = {**os.environ, marker: "1", "PYTHONPATH": str(REPO)}
    if command == "prove":
        cmd = [sys.executable, "-m", "nesy.cli", "prove", str(problems), "--out", str(tmp_path / "out"), "--workers", "2",
               "--tactics", "repeat (idtac; try (intros; nia));; intros; nia", "--tactic-timeout", "30", "--budget", "60"]
    else:
        cmd = [sys.executable, "-m", "nesy.cli", "eval", "minif2f", "--data", str(problems.parent), "--out", str(tmp_path / "out"),
               "--generator", "portfolio", "--workers", "1", "--tactic-timeout", "30", "--time", "60"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [p for p in _processes_with_marker(marker) if p != proc.pid]:
            time.sleep(0.2)
        children = [p for p in _processes_with_marker(marker) if p != proc.pid]
        assert children, "no prover process started"
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        time.sleep(1.0)
        left = _processes_with_marker(marker)
        assert left == [], f"processes left after SIGKILL: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_with_marker(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ------------------------------------------------------------------------- the CLI


@needs_coq
def test_nesy_prove_then_check_against_problem_and_tampering(tmp_path):
    problems = tmp_path / "problems"
    problems.mkdir()
    (problems / "add0.v").write_text("Require Import Arith.\n\nTheorem add0 (n : nat) : n + 0 = n.\nProof.\nAdmitted.\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = [sys.executable, "-m", "nesy.cli"]
    done = subprocess.run([*run, "prove", str(problems), "--out", str(tmp_path / "out"), "--workers", "1", "--tactics", "intros; lia"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    proof = tmp_path / "out" / "proofs" / "add0.v"
    from provers.coq.portfolio import COQ_TACTIC_IMPORTS

    assert COQ_TACTIC_IMPORTS in proof.read_text()
    ok = subprocess.run([*run, "check", str(proof), "--problem", str(problems)], env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    soundness = subprocess.run([*run, "check", str(proof)], env=env, capture_output=True, text=True, timeout=300)
    assert soundness.returncode == 0 and "soundness only" in soundness.stdout + soundness.stderr
    proof.write_text(proof.read_text().replace("n + 0 = n", "n = n"))  # a weaker statement, still proved
    proof.write_text(proof.read_text().replace("intros; lia.", "reflexivity."))
    bad = subprocess.run([*run, "check", str(proof), "--problem", str(problems)], env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and bad.stdout.startswith("FAIL") and "statement" in bad.stdout, bad.stdout
