"""The LeanDojo Benchmark layout: readers, writers, splits, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.dataset import (
    INCOMPLETE_MARKER,
    AnnotatedTactic,
    Pos,
    Premise,
    Provenance,
    TracedTactic,
    TracedTheorem,
    open_dataset,
    read_corpus,
    read_theorems,
    write_corpus,
    write_theorems,
)
from retrieval.building import write_dataset
from retrieval.errors import DatasetFormatError, IncompleteDatasetError, UnknownPremiseError
from retrieval.examples import toy_library, write_toy_dataset
from retrieval.splits import (
    Split,
    SplitConfig,
    novel_premise_violations,
    novel_premises_split,
    premises_used,
    random_split,
)

# Shaped exactly like LeanDojo Benchmark 4's published files (field names, nesting, [line, col]
# lists, unicode goals, the extra url/commit/theorem_statement fields, a premise LeanDojo marks
# ill-formed). Written by hand for this test.
LEANDOJO_CORPUS = [
    {"path": ".lake/packages/lean4/src/lean/Init/Prelude.lean", "imports": [],
     "premises": [{"full_name": "id", "code": "def id {α : Sort u} (a : α) : α := a",
                   "start": [21, 1], "end": [21, 37], "kind": "commanddeclaration"},
                  {"full_name": None, "code": "", "start": [30, 1], "end": [30, 2], "kind": "commanddeclaration"}]},
    {"path": "Mathlib/Data/Complex/Basic.lean", "imports": [".lake/packages/lean4/src/lean/Init/Prelude.lean"],
     "premises": [{"full_name": "Complex.ofReal'", "code": "def ofReal' (r : ℝ) : ℂ :=\n  ⟨r, 0⟩",
                   "start": [89, 1], "end": [90, 9], "kind": "commanddeclaration"}]},
    {"path": "Mathlib/Data/Complex/Abs.lean", "imports": ["Mathlib/Data/Complex/Basic.lean"],
     "premises": [{"full_name": "Complex.lim_eq_lim_im_add_lim_re",
                   "code": "theorem lim_eq_lim_im_add_lim_re (f : CauSeq ℂ abs) :\n    lim f = ↑(lim (cauSeqRe f)) + ↑(lim (cauSeqIm f)) * I",
                   "start": [313, 1], "end": [318, 40], "kind": "commanddeclaration"}]},
]
LEANDOJO_THEOREM = {
    "url": "https://github.com/leanprover-community/mathlib4",
    "commit": "fe4454af900584467d21f4fd4fe951d29d9332a7",
    "file_path": "Mathlib/Data/Complex/Abs.lean",
    "full_name": "Complex.lim_im",
    "theorem_statement": "theorem lim_im (f : CauSeq ℂ abs) : lim (cauSeqIm f) = (lim f).im",
    "start": [327, 1],
    "end": [328, 48],
    "traced_tactics": [
        {"tactic": "rw [lim_eq_lim_im_add_lim_re]",
         "annotated_tactic": ["rw [<a>lim_eq_lim_im_add_lim_re</a>]",
                              [{"full_name": "Complex.lim_eq_lim_im_add_lim_re",
                                "def_path": "Mathlib/Data/Complex/Abs.lean",
                                "def_pos": [313, 9], "def_end_pos": [313, 33]}]],
         "state_before": "f : CauSeq ℂ ⇑abs'\n⊢ CauSeq.lim (cauSeqIm f) = (CauSeq.lim f).im",
         "state_after": "f : CauSeq ℂ ⇑abs'\n⊢ CauSeq.lim (cauSeqIm f) = (↑(CauSeq.lim (cauSeqRe f)) + ↑(CauSeq.lim (cauSeqIm f)) * I).im"},
        {"tactic": "simp [ofReal']",
         "annotated_tactic": ["simp [<a>ofReal'</a>]",
                              [{"full_name": "Complex.ofReal'", "def_path": "Mathlib/Data/Complex/Basic.lean",
                                "def_pos": [89, 5], "def_end_pos": [89, 11]}]],
         "state_before": "f : CauSeq ℂ ⇑abs'\n⊢ CauSeq.lim (cauSeqIm f) = (↑(CauSeq.lim (cauSeqRe f)) + ↑(CauSeq.lim (cauSeqIm f)) * I).im",
         "state_after": "no goals"},
    ],
}


def _write_leandojo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with (root / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for line in LEANDOJO_CORPUS:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    for split in ("random", "novel_premises"):
        (root / split).mkdir(exist_ok=True)
        for part in ("train", "val", "test"):
            data = [LEANDOJO_THEOREM] if part == "test" else []
            (root / split / f"{part}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (root / "metadata.json").write_text(json.dumps({"from_repo": {"url": LEANDOJO_THEOREM["url"]}}))
    return root


def test_reads_leandojo_published_format(tmp_path):
    ds = open_dataset(_write_leandojo(tmp_path / "leandojo_benchmark_4"))
    data = ds.read_corpus()
    assert [f.path for f in data.files] == [c["path"] for c in LEANDOJO_CORPUS]
    assert data.skipped_premises == 1  # the premise without a name
    prelude = data.files[0]
    assert prelude.premises == (Premise("id", prelude.path, "", Pos(21, 1), Pos(21, 37)),)
    assert prelude.premises[0].kind == "commanddeclaration"
    assert data.files[2].imports == ("Mathlib/Data/Complex/Basic.lean",)
    (thm,) = ds.read_part("novel_premises", "test")
    assert thm.full_name == "Complex.lim_im" and thm.start == Pos(327, 1) and thm.end == Pos(328, 48)
    assert thm.url.endswith("mathlib4") and thm.theorem_statement.startswith("theorem lim_im")
    tac = thm.traced_tactics[0]
    assert tac.annotated_tactic.marked_names == ("lim_eq_lim_im_add_lim_re",)
    assert tac.annotated_tactic.plain_text == tac.tactic
    assert tac.annotated_tactic.provenances[0] == Provenance(
        "Complex.lim_eq_lim_im_add_lim_re", "Mathlib/Data/Complex/Abs.lean", Pos(313, 9), Pos(313, 33))
    assert "⊢" in tac.state_before and thm.traced_tactics[1].state_after == "no goals"
    assert ds.read_part("random", "train") == ()


def test_leandojo_file_round_trips_through_our_writer(tmp_path):
    src = _write_leandojo(tmp_path / "src")
    thms = read_theorems(src / "random" / "test.json")
    write_theorems(tmp_path / "out.json", thms)
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == [LEANDOJO_THEOREM]


def test_corpus_and_theorems_round_trip(tmp_path):
    lib = toy_library(n_concepts=4, theorems_per_concept=3)
    assert write_corpus(tmp_path / "corpus.jsonl", lib.files) == 4
    back = read_corpus(tmp_path / "corpus.jsonl")
    assert back.files == lib.files and back.skipped_premises == 0
    assert [p.code for f in back.files for p in f.premises] == [p.code for f in lib.files for p in f.premises]
    write_theorems(tmp_path / "t.json", lib.theorems)
    assert read_theorems(tmp_path / "t.json") == lib.theorems


def test_write_dataset_layout_and_manifest(tmp_path):
    summary = write_toy_dataset(tmp_path / "ds")
    root = tmp_path / "ds"
    assert not (root / INCOMPLETE_MARKER).exists()
    for split in ("random", "novel_premises"):
        parts = [read_theorems(root / split / f"{p}.json") for p in ("train", "val", "test")]
        assert sum(map(len, parts)) == summary.num_theorems
        names = [t.full_name for part in parts for t in part]
        assert len(set(names)) == len(names)
    ds = open_dataset(root)
    assert len(ds.read_corpus().files) == 4
    # A changed file no longer matches the manifest: the dataset is not trusted.
    (root / "random" / "test.json").write_text("[]\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="test.json"):
        open_dataset(root)


def test_incomplete_dataset_is_refused(tmp_path):
    write_toy_dataset(tmp_path / "ds")
    (tmp_path / "ds" / INCOMPLETE_MARKER).write_text("x")
    with pytest.raises(IncompleteDatasetError, match="did not finish"):
        open_dataset(tmp_path / "ds")
    with pytest.raises(IncompleteDatasetError):
        read_theorems(tmp_path / "ds" / "random" / "train.json")


def test_unresolvable_premise_is_rejected_and_nothing_written(tmp_path):
    lib = toy_library(n_concepts=3, theorems_per_concept=2)
    bad_tac = TracedTactic("apply nope", AnnotatedTactic("apply <a>nope</a>", (
        Provenance("Toy.nope", "Toy/Base.v", Pos(999, 1), Pos(999, 5)),)), "⊢ True", "no goals")
    bad = TracedTheorem("Toy.bad", "Toy/Top.v", Pos(5000, 1), Pos(5001, 1), (bad_tac,))
    with pytest.raises(UnknownPremiseError, match=r"Toy\.bad.*'Toy\.nope'.*Toy/Base\.v:999:1"):
        write_dataset(tmp_path / "ds", lib.files, lib.theorems + (bad,))
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"path": "A.v", "imports": [], "premises": [', "line 2|:2: not valid JSON"),
        ('{"imports": [], "premises": []}', "missing field 'path'"),
        ('{"path": "A.v", "imports": [], "premises": [{"full_name": "x", "code": "c", "start": [1], "end": [1, 2]}]}',
         "'start' in premise #0 of A.v must be a \\[line, column\\] pair"),
        ('[1, 2]', "expected a JSON object"),
    ],
)
def test_malformed_corpus_line_names_file_and_line(tmp_path, line, message):
    good = json.dumps({"path": "B.v", "imports": [], "premises": []})
    path = tmp_path / "corpus.jsonl"
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match=message) as info:
        read_corpus(path)
    assert str(info.value).startswith(f"{path}:2: ")


def test_malformed_split_file(tmp_path):
    path = tmp_path / "test.json"
    path.write_text('[\n{"full_name": "t", "file_path": "A.v", "start": [1, 1], "end": [2, 1],\n "traced_tactics": [{"tactic": 3}]}\n]')
    with pytest.raises(DatasetFormatError, match=r"theorem #0: missing field 'annotated_tactic'|annotated_tactic"):
        read_theorems(path)
    path.write_text('[{"full_name": "t",,}]')
    with pytest.raises(DatasetFormatError, match=r"test\.json:1: not valid JSON"):
        read_theorems(path)
    with pytest.raises(DatasetFormatError, match="file not found"):
        read_theorems(tmp_path / "missing.json")


# ----------------------------------------------------------------------------------- splits


def _theorems():
    return toy_library(n_concepts=12, theorems_per_concept=6, seed=3).theorems


def test_novel_premises_split_invariants():
    thms = _theorems()
    cfg = SplitConfig(seed=7, val_fraction=0.1, test_fraction=0.1)
    split = novel_premises_split(thms, cfg)
    assert split.test and split.val
    assert novel_premise_violations(split) == []
    assert sorted(t.full_name for t in split.train + split.val + split.test) == sorted(t.full_name for t in thms)
    assert len(split.test) <= round(0.1 * len(thms)) and len(split.val) <= round(0.1 * len(thms))
    # Deterministic, and independent of the input order.
    assert novel_premises_split(list(reversed(thms)), cfg) == split
    assert novel_premises_split(thms, SplitConfig(seed=8, val_fraction=0.1, test_fraction=0.1)) != split


def test_random_split_sizes_and_violation_detector():
    thms = _theorems()
    split = random_split(thms, SplitConfig(seed=1, val_fraction=0.1, test_fraction=0.2))
    assert (len(split.val), len(split.test)) == (round(0.1 * len(thms)), round(0.2 * len(thms)))
    assert random_split(list(reversed(thms)), SplitConfig(seed=1, val_fraction=0.1, test_fraction=0.2)) == split
    # The detector is not vacuous: a test theorem whose premises all appear in train is flagged.
    train_premises = set().union(*(premises_used(t) for t in split.train))
    flagged = [t.full_name for t in split.val + split.test if premises_used(t) <= train_premises]
    assert flagged and novel_premise_violations(split) == flagged


def test_theorems_without_premises_stay_in_train():
    thm = TracedTheorem("X.t", "X.v", Pos(1, 1), Pos(2, 1),
                        (TracedTactic("auto", AnnotatedTactic("auto", ()), "⊢ True", "no goals"),))
    split = novel_premises_split([thm] * 1 + list(_theorems()), SplitConfig(val_fraction=0.2, test_fraction=0.2))
    assert thm in split.train
    assert isinstance(split, Split)


def test_split_config_raises_the_package_error():
    from retrieval.errors import RetrievalError, SplitConfigError
    from retrieval.splits import SplitConfig

    for bad in ({"val_fraction": -0.1}, {"test_fraction": 1.0}, {"val_fraction": 0.6, "test_fraction": 0.5}):
        with pytest.raises(SplitConfigError) as info:
            SplitConfig(**bad)
        assert isinstance(info.value, RetrievalError)


def test_the_format_module_imports_no_builder():
    import subprocess
    import sys

    code = "import sys, retrieval.dataset; print(sorted(m for m in sys.modules if m.startswith('retrieval')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "retrieval.splits" not in out and "retrieval.corpus" not in out and "retrieval.building" not in out
