"""``nesy iterate``: expert iteration on a tiny library written and traced here with nesy's own
tracer (two files, 13 theorems, both splits), from a GPT-2 of a few thousand parameters trained on
it for a few steps. The search runs with the automation closers, so theorems get proved whatever
the tiny model proposes; the proofs are kernel-checked in their file's context as always.

Needs Coq (coqc, coqidetop) and transformers; skipped without them.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None,
                                reason="Coq is not installed")
pytest.importorskip("transformers")

from provers.evaluation.iterate import (
    EvaluationLeakError,
    EvaluationSet,
    IterateConfig,
    Iteration,
    iterate,
)

NUM_V = """\
Definition double (n : nat) := n + n.

Lemma double_0 : double 0 = 0.
Proof. reflexivity. Qed.

Lemma double_1 : double 1 = 2.
Proof. reflexivity. Qed.

Lemma double_eq : forall n : nat, double n = n + n.
Proof. intros n. unfold double. reflexivity. Qed.

Lemma add_0_r' : forall n : nat, n + 0 = n.
Proof. intros n. induction n; simpl; auto. Qed.

Lemma double_2 : double 2 = 4.
Proof. unfold double. reflexivity. Qed.

Lemma succ_pos : forall n : nat, 0 < S n.
Proof. intros n. apply le_n_S. apply le_0_n. Qed.

Lemma le_refl' : forall n : nat, n <= n.
Proof. intros n. auto. Qed.
"""

SEQ_V = """\
Require Import Lib.Num.
Require Import Coq.Lists.List.

Lemma app_nil_r' : forall l : list nat, l ++ nil = l.
Proof. intros l. induction l as [|a l IH]; simpl; [reflexivity | rewrite IH; reflexivity]. Qed.

Lemma length_nil : length (@nil nat) = 0.
Proof. reflexivity. Qed.

Lemma double_3 : double 3 = 6.
Proof. reflexivity. Qed.

Lemma and_swap : forall A B : Prop, A /\\ B -> B /\\ A.
Proof. intros A B H. destruct H as [a b]. split; assumption. Qed.

Lemma or_swap : forall A B : Prop, A \\/ B -> B \\/ A.
Proof. intros A B H. destruct H as [a | b]; [right | left]; assumption. Qed.

Lemma double_plus : forall n : nat, double n = 2 * n.
Proof. intros n. unfold double. simpl. rewrite Num.add_0_r'. reflexivity. Qed.
"""

TINY = {"vocab_size": 300, "n_layer": 1, "n_head": 2, "n_embd": 32, "n_positions": 256, "max_new_tokens": 32, "batch_size": 4,
        "steps": 6, "checkpoint_every": 2, "top_k": 4, "lr": 5e-3, "warmup": 2, "threads": 1}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("iterate")


@pytest.fixture(autouse=True)
def cache(base, monkeypatch):
    monkeypatch.setenv("NESY_CACHE", str(base / "cache"))  # the retrieval cache stays in the test's directory


@pytest.fixture(scope="module")
def traced(base) -> Path:
    from provers.tracing.config import Library, TraceConfig
    from provers.tracing.driver import run_trace

    src = base / "src"
    src.mkdir()
    (src / "Num.v").write_text(NUM_V, encoding="utf-8")
    (src / "Seq.v").write_text(SEQ_V, encoding="utf-8")
    run_trace(TraceConfig(library=Library(src, "Lib"), out=base / "traced", workers=1, val_fraction=0.2, test_fraction=0.2))
    return base / "traced"


@pytest.fixture(scope="module")
def init_model(traced, base) -> Path:
    import os

    from provers.generators.traced_training import TracedTrainConfig, train_traced

    os.environ["NESY_CACHE"] = str(base / "cache")
    out = base / "init"
    assert train_traced(TracedTrainConfig(data=traced, out=out, drop_overlap=True, val_limit=4, **TINY)).finished
    return out


def _argv(traced: Path, init: Path, out: Path, *more: str) -> list[str]:
    return ["iterate", "--data", str(traced), "--init", str(init), "--out", str(out), "--rounds", "2", "--theorems", "3",
            "--time", "5", "--expansions", "4", "--k", "2", "--tactic-timeout", "3", "--closers", "--steps", "3", "--batch", "4",
            "--val-limit", "4", "--val-k", "2", *more]


def _config(traced: Path, init: Path, out: Path, **more) -> IterateConfig:
    """The settings of :func:`_argv`, through the library."""
    return IterateConfig(data=traced, init=init, out=out, **{"rounds": 2, "theorems": 3, "time_s": 5, "expansions": 4, "k": 2,
                                                             "tactic_timeout_s": 3, "closers": True, "steps": 3, "batch_size": 4,
                                                             "val_limit": 4, "top_k": 2, **more})


@pytest.fixture(scope="module")
def iterated(traced, init_model, base) -> Path:
    """Two rounds through the command line."""
    from nesy.cli import main

    out = base / "run"
    assert main(_argv(traced, init_model, out)) == 0
    return out


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _eval_names(traced: Path) -> set[str]:
    from retrieval.dataset import open_dataset

    ds = open_dataset(traced)
    return {t.full_name for split in ("random", "novel_premises") for part in ("val", "test") for t in ds.read_part(split, part)}


# ---------------------------------------------------------------------------------- rounds


def test_each_round_keeps_its_model_data_and_numbers(iterated, traced, init_model):
    records = [json.loads((iterated / f"round-{k}" / "round.json").read_text()) for k in (1, 2)]
    for k, r in enumerate(records, 1):
        assert set(r["stages"]) == {"prove", "pairs", "train"}
        assert r["theorems_tried"] == 3 and r["proved"] >= 2  # the closers prove at least 2 of any 3 eligible theorems
        assert r["total_pairs"] >= r["new_pairs"] >= 0 and r["train_seconds"] >= 0 and r["loss"] > 0
        assert r["val_top1"] is not None and r["val_topk"] is not None and r["k"] == 2
        model = iterated / f"round-{k}" / "model"
        settings = json.loads((model / "nesy_generator.json").read_text())
        assert settings["premises"] == 8 and (model / "config.json").is_file()  # hf:MODEL,premises=TRACED loads it
        training = json.loads((model / "training.json").read_text())
        assert training["settings"]["init"] == str((init_model if k == 1 else iterated / "round-1" / "model").resolve())
        assert training["counts"]["proof_pairs"] == r["total_pairs"]
        assert training["steps"] == 3
    assert records[1]["stages"]["prove"]["generator"].startswith(f"hf:{iterated / 'round-1' / 'model'},premises=")
    summary = (iterated / "summary.md").read_text()
    assert "| 1 | 3 |" in summary and "| 2 | 3 |" in summary
    assert "| 0 (--init) | - |" in summary and "(k=4) |" in summary  # the starting model's own report (its k)


def test_pairs_are_replayed_kernel_checked_proofs_deduplicated_and_accumulated(iterated, traced):
    eval_names = _eval_names(traced)
    r1, r2 = _rows(iterated / "round-1" / "all_pairs.jsonl"), _rows(iterated / "round-2" / "all_pairs.jsonl")
    assert r1 and r2 == r1 + _rows(iterated / "round-2" / "pairs.jsonl")
    assert len({(p["state"], p["tactic"]) for p in r2}) == len(r2)
    proved = {}
    for k in (1, 2):
        for row in _rows(iterated / f"round-{k}" / "prove" / "results.jsonl"):
            if row["status"] == "proved":
                assert "accepted by coqc" in row["check"]
                proved.setdefault(row["name"], row["proof"])
    by_theorem: dict[str, list[str]] = {}
    for p in r2:
        assert p["name"] not in eval_names and p["file"] in ("Num.v", "Seq.v") and p["statement"].startswith("Lemma ")
        by_theorem.setdefault(p["name"], []).append(p["tactic"])
        assert "============================" in p["state"]  # the environment's goal text, as hf: reads it
    assert set(by_theorem) <= set(proved)
    for name, tactics in by_theorem.items():
        assert tactics == [" ".join(t.split()) for t in proved[name]]  # one pair per step of the checked proof
    # a theorem proved again in round 2 adds nothing
    again = json.loads((iterated / "round-2" / "round.json").read_text())["stages"]["pairs"]["proved_again"]
    round1_names = {p["name"] for p in r1}
    round2_proved = {r["name"] for r in _rows(iterated / "round-2" / "prove" / "results.jsonl") if r["status"] == "proved"}
    assert again == len(round2_proved & round1_names)
    assert not {p["name"] for p in _rows(iterated / "round-2" / "pairs.jsonl")} & round1_names


def test_a_rerun_skips_finished_stages(iterated, traced, init_model, capsys):
    from nesy.cli import main

    stamps = {p: p.stat().st_mtime_ns for p in iterated.rglob("*") if p.is_file() and p.name not in ("summary.md", "config.json")}
    capsys.readouterr()
    assert main(_argv(traced, init_model, iterated)) == 0
    err = capsys.readouterr().err
    for k in (1, 2):
        for stage in ("prove", "pairs", "train"):
            assert f"round {k}: {stage} done earlier, skipped" in err
    assert "proving" not in err.replace("done earlier", "")
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}


def test_a_rerun_with_other_settings_is_refused_and_more_rounds_are_not(iterated, traced, init_model, tmp_path):
    from provers.evaluation.iterate import IterateError

    with pytest.raises(IterateError, match=r"other settings \(steps\)"):
        iterate(_config(traced, init_model, iterated, steps=5))
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(IterateError, match="not empty and holds no nesy iterate run"):
        iterate(_config(traced, init_model, stray))
    from provers.evaluation.iterate import run_settings

    stored = json.loads((iterated / "config.json").read_text())["settings"]
    assert run_settings(_config(traced, init_model, iterated, rounds=3, workers=2)) == stored  # a rerun may add rounds
    assert run_settings(_config(traced, init_model, iterated, seed=1)) != stored


def test_only_kernel_checked_proofs_become_pairs(traced, init_model, tmp_path):
    config = IterateConfig(data=traced, init=init_model, out=tmp_path / "run", rounds=1, tactic_timeout_s=5)
    it = Iteration(config)
    eligible, _ = it.eligible()
    names = {p.name for p in eligible}
    assert {"Lib.Num.double_0", "Lib.Num.add_0_r'", "Lib.Num.le_refl'", "Lib.Seq.length_nil"} <= names
    assert not names & _eval_names(traced)  # Lib.Seq.double_plus trains in random but is a novel_premises test theorem
    prove = tmp_path / "run" / "round-1" / "prove"
    prove.mkdir(parents=True)
    rows = [{"name": "Lib.Num.double_0", "status": "proved", "proof": ["reflexivity"]},
            {"name": "Lib.Num.add_0_r'", "status": "check_failed", "proof": ["intros; lia"]},  # a real proof, but not accepted
            {"name": "Lib.Num.le_refl'", "status": "unchecked", "proof": ["reflexivity"]},  # --no-check: never counted
            {"name": "Lib.Seq.length_nil", "status": "proved", "proof": ["idtac"]}]  # does not replay to a finished proof
    (prove / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    stage = it.pairs(1, eligible)
    pairs = _rows(tmp_path / "run" / "round-1" / "pairs.jsonl")
    assert [(p["name"], p["tactic"]) for p in pairs] == [("Lib.Num.double_0", "reflexivity")]
    assert "double 0 = 0" in pairs[0]["state"]
    assert stage["replay_failed"] == ["Lib.Seq.length_nil"] and stage["new_pairs"] == 1


@pytest.mark.parametrize("name, statement, why", [
    ("Lib.Num.double_eq", "Lemma double_eq : forall n : nat, double n = n + n.", "Lib.Num.double_eq is a random/val theorem"),
    ("Lib.Seq.double_plus", "Lemma double_plus : forall n : nat, double n = 2 * n.", "Lib.Seq.double_plus is a novel_premises/test theorem"),
    ("Lib.Num.fresh", "Theorem fresh :\n  double 1   = 2.", "Lib.Num.fresh states what Lib.Num.double_1"),
])
def test_the_overlap_check_stops_before_training(iterated, traced, init_model, tmp_path, name, statement, why):
    out = tmp_path / "run"
    shutil.copytree(iterated / "round-1", out / "round-1")
    shutil.copy(iterated / "config.json", out / "config.json")
    shutil.rmtree(out / "round-1" / "model")
    record = json.loads((out / "round-1" / "round.json").read_text())
    del record["stages"]["train"]
    (out / "round-1" / "round.json").write_text(json.dumps(record))
    with (out / "round-1" / "all_pairs.jsonl").open("a") as f:
        f.write(json.dumps({"state": "============================\ndouble 1 = 2", "tactic": "reflexivity", "name": name,
                            "file": "Num.v", "statement": statement}) + "\n")
    with pytest.raises(EvaluationLeakError, match=why.replace(".", r"\.")):
        iterate(_config(traced, init_model, out, rounds=1))
    assert not (out / "round-1" / "model").exists()  # nothing trained
    assert "train" not in json.loads((out / "round-1" / "round.json").read_text())["stages"]


def test_the_evaluation_set_spans_both_splits(traced):
    ev = EvaluationSet(traced)
    assert ev.hit("Lib.Num.double_eq", None) and ev.hit("Lib.Seq.double_plus", None)  # random/val, novel_premises/test
    assert ev.hit("Lib.Num.double_0", None) is None
    assert ev.hit("X.y", "Lemma y :  double 3 = 6.")  # Lib.Seq.double_3's statement (random/test)


def test_a_malformed_pairs_file_is_a_typed_error(traced, tmp_path):
    from provers.evaluation.iterate import IterateError, check_pairs

    ev = EvaluationSet(traced)
    bad = tmp_path / "all_pairs.jsonl"
    for text, match in (("{not json\n", "not JSON"), ('{"state": "s", "tactic": "t"}\n', "without the name")):
        bad.write_text(text)
        with pytest.raises(IterateError, match=match):
            check_pairs(bad, ev)
    bad.write_text('{"state": "s", "tactic": "t", "name": "Lib.Num.double_0"}\n\n')
    assert check_pairs(bad, ev) == 1


# ------------------------------------------------------------------------------ bad input


def test_bad_input_is_one_error_line(traced, init_model, tmp_path, capsys):
    from nesy.cli import main

    out = tmp_path / "out"
    not_hf = tmp_path / "not-hf"
    not_hf.mkdir()
    (not_hf / "weights.txt").write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--init", str(tmp_path / "missing")], "--init .*: no such directory"),
        (["--init", str(not_hf)], "not a Hugging Face model directory"),
        (["--data", str(empty)], "not a usable traced dataset"),
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--widen", "-1"], "--widen must be between 0 and 10"),
        (["--pairs", str(tmp_path / "no-pairs.jsonl")], "--pairs .*no-pairs.jsonl: cannot read it"),
    ]
    for override, message in cases:
        argv = _argv(traced, init_model, out)
        for flag, value in zip(override[::2], override[1::2]):
            if flag in argv:
                argv[argv.index(flag) + 1] = value
            else:
                argv += [flag, value]
        capsys.readouterr()
        assert main(argv) == 2, override
        err = capsys.readouterr().err
        assert err.startswith("nesy: error:") and len(err.strip().splitlines()) == 1, err
        assert re.search(message, err), (message, err)
    assert not out.exists()
