"""The tracer's syntactic parts: declarations, scopes, identifiers, Locate and Print Module output."""

from __future__ import annotations

import pytest

from provers.tracing.config import Library, TraceInputError
from provers.tracing.locate import LocateCache, parse_locate
from provers.tracing.replay import is_tactic, parse_print_module
from provers.tracing.syntax import Scopes, blank_comments, declared, identifiers


def names(sentence: str) -> list[tuple[str, str]]:
    return [(d.name, d.kind) for d in declared(sentence)]


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("Lemma foo (n : nat) : n = n.", [("foo", "Lemma")]),
        ("#[global] Instance inst : C nat := fun x => x.", [("inst", "Instance")]),
        ("Local Definition d := 3.", [("d", "Definition")]),
        ("Instance : C nat.", []),
        ("Variable x : nat.", []),
        ("Axioms a b : nat.", [("a", "Axioms"), ("b", "Axioms")]),
        ("Parameters (x y : nat) (z : bool).", [("x", "Parameters"), ("y", "Parameters"), ("z", "Parameters")]),
        ("Fixpoint ev n := match n with S m => od m | _ => true end with od n := false.",
         [("ev", "Fixpoint"), ("od", "Fixpoint")]),
        ("Variant t := A | B.", [("t", "Variant"), ("A", "Constructor"), ("B", "Constructor")]),
        ("Record R := mk { f1 : nat ; f2 :> bool }.",
         [("R", "Record"), ("mk", "Constructor"), ("f1", "Field"), ("f2", "Field")]),
        ("Record P := { p1 : nat }.", [("P", "Record"), ("Build_P", "Constructor"), ("p1", "Field")]),
        ("Class C (A : Type) := cf : A -> A.", [("C", "Class"), ("cf", "Field")]),
        ("Scheme le_ind2 := Induction for le Sort Prop.", [("le_ind2", "Scheme")]),
        ("Require Import Arith.", []),
        ("(* Lemma hidden : True. *) Definition shown := 1.", [("shown", "Definition")]),
    ],
)
def test_declared_names(sentence, expected):
    assert names(sentence) == expected


def test_inductive_constructors_have_their_own_clause_spans():
    s = "Inductive le (n : nat) : nat -> Prop :=\n  | le_n : le n n\n  | le_S : forall m, le n m -> le n (S m)\nwhere \"a <= b\" := (le a b)."
    ds = declared(s)
    assert [(d.name, d.kind) for d in ds] == [("le", "Inductive"), ("le_n", "Constructor"), ("le_S", "Constructor")]
    le_s = ds[2]
    assert s[le_s.start:le_s.end].strip() == "le_S : forall m, le n m -> le n (S m)"
    assert le_s.code == "le_S : forall m, le n m -> le n (S m)"
    assert ds[1].start != ds[2].start


def test_scopes_modules_sections_and_normalisation():
    sc = Scopes("Lib.F")
    assert sc.update("Module M.") == ("open", None)
    assert sc.full_name("x") == "Lib.F.M.x"
    sc.update("Section S.")
    assert sc.full_name("y") == "Lib.F.M.y"  # sections add nothing
    # Locate names a constant of an open section with the section in its path
    assert sc.normalize("Lib.F.M.S.y") == "Lib.F.M.y"
    assert sc.normalize("Other.z") == "Other.z"
    assert sc.update("Module N := Make M.") == ("define", "Lib.F.M.N")
    assert sc.update("Module Type T.") == ("open", None)
    # module types and functors are listed too (their Include'd members are premises)
    assert sc.update("End T.") == ("close", "Lib.F.M.T") and sc.last.kind == "Module Type"
    assert sc.update("End S.") == ("close", None)
    assert sc.update("End M.") == ("close", "Lib.F.M")
    assert sc.update("Module F (Import X Y : T <+ T') (Z : U) <: U.") == ("open", None)
    assert sc.parameter("Y") == ("T", "T'") and sc.parameter("Z") == ("U",) and sc.parameter("W") is None
    assert sc.update("End F.") == ("close", "Lib.F.F") and sc.last.functor
    assert sc.prefix() == "Lib.F"
    assert sc.update("Module Type S' := S <+ Notations.") == ("define", "Lib.F.S'")
    # a `with ... :=` constraint does not define the module: it opens it
    assert sc.update("Module PositiveMap <: S with Module E:=PositiveOrderedTypeBits.") == ("open", None)
    assert sc.prefix() == "Lib.F.PositiveMap"
    assert sc.update("End PositiveMap.") == ("close", "Lib.F.PositiveMap")
    assert sc.update("Module M : T with Definition t := nat := N.") == ("define", "Lib.F.M")


def test_identifiers_skip_comments_strings_keywords_and_binders():
    got = [i.text for i in identifiers('rewrite <- (Nat.add_comm n) in H; apply @le_S with (m := 3). (* lt_n *) idtac "lt_S".')]
    assert got == ["Nat.add_comm", "n", "H", "le_S"]
    tac = "apply Nat.le_trans."
    (ident,) = identifiers(tac)
    assert tac[ident.start:ident.end] == "Nat.le_trans"


@pytest.mark.parametrize("tactic, expected", [
    # a word in tactic position is a tactic, even where a constant has that name (Coq's
    # Locate lists the record Relation_Definitions.order before the Ltac order)
    ("order.", []), ("Nat.order.", []), ("2: order.", []), ("try order.", []), ("now order.", []),
    ("try (order; apply le_n).", ["le_n"]), ("split; [apply le_n | order].", ["le_n"]),
    ("first [order | apply Nat.le_refl].", ["Nat.le_refl"]), ("do 2 order.", []),
    ("rewrite (div_mod a b) at 1 by order.", ["div_mod", "a", "b"]), ("intuition order.", []),
    ("destruct (lt_total x y); intuition order.", ["lt_total", "x", "y"]),
    # hint databases are not terms
    ("case (compare_spec x y); autorewrite with order; now symmetry.", ["compare_spec", "x", "y"]),
    ("auto with arith order.", []), ("eauto with order using le_n.", ["le_n"]),
    ("apply f with (x := order).", ["f", "order"]),
    # names the tactic introduces itself
    ("intros Ha Eq.", []), ("intros x H%le_S_n.", ["le_S_n"]),
    ("destruct x as [n Eq]; apply le_n.", ["x", "le_n"]),
    ("induction n as [|n IH] eqn:Heq.", []), ("rename H into Eq.", ["H"]),
    ("assert (Eq : x = 0) by apply le_n.", ["x", "le_n"]), ("set (Eq := 3).", []),
    ("remember (S n) as Eq.", ["S", "n"]), ("pose proof (le_S n) as Lt.", ["le_S", "n"]),
    ("apply (fun Eq => le_S Eq).", ["le_S"]), ("exact (forall (Eq : nat), Eq = Eq).", ["nat"]),
    # terms stay terms
    ("exists O.", ["O"]), ("destruct (le_lt_dec n m) as [H|H].", ["le_lt_dec", "n", "m"]),
    ("rewrite (app_nil_r [x]).", ["app_nil_r", "x"]),
])
def test_identifiers_are_terms_not_tactics_or_introduced_names(tactic, expected):
    assert [i.text for i in identifiers(tactic)] == expected


def test_blank_comments_keeps_offsets():
    s = 'a (* b\n c *) "d" e'
    out = blank_comments(s)
    assert len(out) == len(s) and out.count("\n") == 1 and "b" not in out and out.endswith('" " e'.replace('" "', '" "'))


LOCATE = """Constant Coq.NArith.BinNat.N.add_comm
  (shorter name to refer to it in current context is BinNat.N.add_comm)
Constant Coq.Arith.PeanoNat.Nat.add_comm
  (shorter name to refer to it in current context is Nat.add_comm)"""


def test_parse_locate_follows_coq_resolution():
    assert parse_locate("add_comm", LOCATE) is None  # only qualified names reach these
    got = parse_locate("Nat.add_comm", LOCATE)
    assert got is not None and got.full_name == "Coq.Arith.PeanoNat.Nat.add_comm" and got.kind == "Constant"
    assert parse_locate("S", "Constructor Coq.Init.Datatypes.S").kind == "Constructor"
    assert parse_locate("lia", "Ltac Coq.micromega.Lia.lia").kind == "Ltac"
    assert parse_locate("foo", "No object of basename foo") is None


def test_locate_cache_forgets_shadowed_names():
    asked = []

    def query(q: str) -> str:
        asked.append(q)
        return "Constant Lib.F.foo"

    cache = LocateCache(query)
    assert cache.resolve("foo").full_name == "Lib.F.foo"
    cache.resolve("foo")
    assert (cache.queries, cache.hits) == (1, 1)
    cache.forget("foo")
    cache.resolve("foo")
    assert cache.queries == 2 and asked == ["Locate foo."] * 2


def test_parse_print_module():
    printed = """Module
Nat
:= Struct
     Definition t : Set.
     Parameter add_comm : forall n m : nat,
       n + m = m + n.
     Inductive b : Set :=  x : b.
     Module Sub := Struct Parameter z : nat. End
   End
"""
    assert parse_print_module(printed) == [
        ("t", "Definition", "t : Set"),
        ("add_comm", "Parameter", "add_comm : forall n m : nat, n + m = m + n"),
    ]


@pytest.mark.parametrize("sentence, expected", [
    ("intros.", True), ("--", False), ("-", False), ("{", False), ("2: lia.", True),
    ("Proof.", False), ("Show.", False), ("all: auto.", True), ("(* c *) simpl.", True),
    ("Nat.order.", True), ("Z.swap_greater.", True), ("1: Nat.order.", True), ("Qed.", False),
])
def test_is_tactic(sentence, expected):
    assert is_tactic(sentence) is expected


def test_parse_print_module_of_module_types_and_functors_on_one_line():
    printed = """Module Type
 T3 =
 Funsig (P:T)
   Sig Parameter gl : forall x : P.t, x = x. Module Sub : Sig Parameter z : nat. End Parameter t3 : True. End"""
    assert parse_print_module(printed) == [
        ("gl", "Parameter", "gl : forall x : P.t, x = x"), ("t3", "Parameter", "t3 : True"),
    ]


def test_library_errors(tmp_path):
    with pytest.raises(TraceInputError, match="no such directory"):
        Library(tmp_path / "absent", "X").files()
    with pytest.raises(TraceInputError, match="no .v files"):
        Library(tmp_path, "X").files()
    with pytest.raises(TraceInputError, match="not a dotted Coq identifier"):
        Library(tmp_path, "1bad-name")
    lib = Library(tmp_path, "My.Lib", noinit_dirs=("Init",))
    assert lib.module_name("Sub/F.v") == "My.Lib.Sub.F"
    assert "-noinit" in lib.args_for("Init/A.v") and "-noinit" not in lib.args_for("A.v")
