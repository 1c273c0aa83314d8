"""What counts as a premise, where included members are dated, and where tracing builds.

Each test traces a small library written here (tmp dirs) and fails on the tracer before
TRACER_VERSION 7. Needs Coq (coqc, coqidetop); skipped without it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from provers.tracing.config import Library, TraceConfig
from provers.tracing.driver import run_trace, trace_path
from provers.tracing.records import trace_from_json

pytestmark = pytest.mark.skipif(shutil.which("coqidetop.opt") is None and shutil.which("coqidetop") is None,
                                reason="Coq is not installed")

MODS_V = r"""Require Import Relations.Relation_Definitions.

Module Type T.
  Parameter t : Type.
  Axiom ax : forall x : t, x = x.
End T.

Module Type T2.
  Include T.
  Lemma lem : forall x : t, x = x.
  Proof. intros x. apply ax. Qed.
End T2.

Module G (Import P : T).
  Lemma gl : forall x : t, x = x.
  Proof. intros y. apply ax. Qed.
End G.

Module N.
  Definition t := nat.
  Definition ax : forall x : t, x = x := fun x => eq_refl.
  Include G.
  Lemma after : forall x : nat, x = x.
  Proof. intros Eq. apply gl. Qed.
End N.

(* "order" is also the record Relation_Definitions.order, which Locate lists first *)
Ltac order := idtac.
Lemma uses_order : True.
Proof. order. exact I. Qed.

Module Nat2.
  Ltac order := idtac.
End Nat2.

Lemma uses_qualified : True.
Proof.
  Nat2.order.
  exact I.
Qed.

Section S.
  Variable v : nat.
  Let l := 3.
  Let ll : l = 3.
  Proof. reflexivity. Qed.
  Lemma uses_l : l = 3.
  Proof. apply ll. Qed.
End S.

Lemma intro_names : forall n : nat, n = n -> True.
Proof.
  intros n Eq.
  destruct n as [|m Lt]; exact I.
Qed.
"""


def _tactics(trace, name):
    (th,) = [t for t in trace.theorems if t.full_name == name]
    return [(tac.tactic, [u.full_name for u in tac.used]) for tac in th.tactics]


@pytest.fixture(scope="module")
def mods(tmp_path_factory):
    root = tmp_path_factory.mktemp("mods")
    src = root / "src"
    src.mkdir()
    (src / "Mods.v").write_text(MODS_V, encoding="utf-8")
    out = root / "out"
    result = run_trace(TraceConfig(library=Library(src, "L"), out=out, workers=1))
    assert not result.failed, result.failed
    import json

    trace = trace_from_json(json.loads(trace_path(out, "Mods.v").read_text(encoding="utf-8")))
    return src, out, trace


def test_tactic_names_are_not_premises(mods):
    _, _, trace = mods
    assert _tactics(trace, "L.Mods.uses_order") == [("order.", []), ("exact I.", ["Coq.Init.Logic.I"])]


def test_names_a_tactic_introduces_are_not_premises(mods):
    _, _, trace = mods
    assert _tactics(trace, "L.Mods.intro_names") == [
        ("intros n Eq.", []), ("destruct n as [|m Lt]; exact I.", ["Coq.Init.Logic.I"]),
    ]
    assert _tactics(trace, "L.Mods.N.after")[0] == ("intros Eq.", [])


def test_section_lets_are_not_global_premises(mods):
    _, _, trace = mods
    names = {p.full_name for p in trace.premises}
    assert "L.Mods.l" not in names and "L.Mods.ll" not in names
    assert "L.Mods.ll" not in {t.full_name for t in trace.theorems}
    assert _tactics(trace, "L.Mods.uses_l") == [("apply ll.", [])]


def test_qualified_tactic_sentences_are_traced(mods):
    _, _, trace = mods
    assert _tactics(trace, "L.Mods.uses_qualified") == [("Nat2.order.", []), ("exact I.", ["Coq.Init.Logic.I"])]


def test_included_members_are_dated_at_the_include_and_accessible(mods):
    from retrieval.corpus import PremiseCorpus
    from retrieval.dataset import open_dataset

    _, out, trace = mods
    prem = {p.full_name: p for p in trace.premises}
    include_line = MODS_V.splitlines().index("  Include G.") + 1
    assert prem["L.Mods.N.gl"].start[0] == include_line and prem["L.Mods.N.gl"].kind == "Included"
    # members a module type gets by Include are premises too, dated at its Include
    assert prem["L.Mods.T2.ax"].start[0] == MODS_V.splitlines().index("  Include T.") + 1
    ds = open_dataset(out)
    corpus = PremiseCorpus.from_jsonl(ds.corpus_path)
    theorems = {t.full_name: t for part in ("train", "val", "test") for t in ds.read_part("random", part)}
    uses = {}
    for name in ("L.Mods.N.after", "L.Mods.T2.lem", "L.Mods.G.gl"):
        thm = theorems[name]
        mask = corpus.accessible_mask(thm.file_path, thm.start)
        provs = [p for tac in thm.traced_tactics for p in tac.annotated_tactic.provenances]
        assert provs, name
        assert all(mask[corpus.resolve(p)] for p in provs), name  # every use is accessible
        uses[name] = [p.full_name for p in provs]
    assert uses == {"L.Mods.N.after": ["L.Mods.N.gl"], "L.Mods.T2.lem": ["L.Mods.T2.ax"],
                    # a functor parameter's field is the field of the parameter's module type
                    "L.Mods.G.gl": ["L.Mods.T.ax"]}


def _build_products(d: Path) -> list[str]:
    return sorted(p.name for p in d.rglob("*") if p.suffix in (".vo", ".vos", ".vok", ".glob", ".aux")
                  or p.name.endswith(".aux"))


A_V = "Definition x := 1.\nLemma x_eq : x = 1.\nProof. reflexivity. Qed.\n"
B_V = "Require Import {name}.A.\nLemma y : x = 1.\nProof. apply x_eq. Qed.\n"


def test_tracing_never_writes_into_the_source_tree(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "A.v").write_text(A_V)
    (src / "B.v").write_text(B_V.format(name="Lib"))
    r = run_trace(TraceConfig(library=Library(src, "Lib"), out=tmp_path / "out", workers=1))
    assert not r.failed and r.dataset.theorems == 2
    assert _build_products(src) == []
    assert _build_products(tmp_path / "out" / "build")  # built there instead


def test_stale_build_products_of_another_binding_do_not_break_a_run(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "A.v").write_text(A_V)
    (src / "B.v").write_text(B_V.format(name="Lib"))
    # an earlier build (by hand, or an older tracer) under another logical name, newer than A.v
    subprocess.run(["coqc", "-q", "-R", str(src), "Other", str(src / "A.v")], check=True, cwd=src,
                   capture_output=True)
    assert (src / "A.vo").exists()
    out = tmp_path / "out"
    r = run_trace(TraceConfig(library=Library(src, "Lib"), out=out, workers=1))
    assert not r.failed and r.dataset.theorems == 2
    # and the same output directory traced again under another name: its own build
    (src / "B.v").write_text(B_V.format(name="Other"))
    r = run_trace(TraceConfig(library=Library(src, "Other"), out=out, workers=1))
    assert not r.failed and r.dataset.theorems == 2


def test_coqproject_bindings_are_read(tmp_path):
    from retrieval.dataset import read_corpus

    src = tmp_path / "proj"
    (src / "theories" / "sub").mkdir(parents=True)
    (src / "_CoqProject").write_text("# project file\n-R theories MyLib\n-arg -w -arg -notation-overridden\n")
    (src / "theories" / "A.v").write_text(A_V)
    (src / "theories" / "sub" / "B.v").write_text(B_V.format(name="MyLib"))
    (src / "scratch.v").write_text("Lemma outside : True. Proof. exact I. Qed.\n")  # not in the project
    lib = Library.from_directory(src)
    assert lib.module_name("theories/sub/B.v") == "MyLib.sub.B"
    r = run_trace(TraceConfig(library=lib, out=tmp_path / "out", workers=1))
    assert not r.failed and r.files == 2
    corpus = read_corpus(tmp_path / "out" / "corpus.jsonl")
    names = {p.full_name for f in corpus.files for p in f.premises}
    assert {"MyLib.A.x", "MyLib.A.x_eq", "MyLib.sub.B.y"} <= names
    # an explicit -R wins over the project file
    assert Library.from_directory(src, "Given").module_name("theories/A.v") == "Given.theories.A"


def test_only_with_deps_adds_the_files_required(tmp_path):
    from provers.tracing.driver import select_files

    src = tmp_path / "src"
    src.mkdir()
    (src / "A.v").write_text(A_V)
    (src / "B.v").write_text(B_V.format(name="Lib"))
    (src / "C.v").write_text("Definition c := 0.\n")
    cfg = TraceConfig(library=Library(src, "Lib"), out=tmp_path / "out", only=("B.v",), with_deps=True)
    assert select_files(cfg) == ["A.v", "B.v"]
    assert _build_products(src) == []
