"""A small synthetic library in the LeanDojo layout, for demos, tests and smoke runs.

Four files: ``Toy/Base.v`` (imports nothing), ``Toy/Mid.v`` (imports Base), ``Toy/Top.v``
(imports Mid, hence Base transitively) and ``Toy/Side.v`` (imports Base only). Every concept
``i`` has one lemma ``fact_i`` that talks about a fruit word and goal states that talk about an
animal word; the animal-to-fruit pairing is arbitrary, so no pretrained model or word overlap
can know it, and only training on the pairs can learn it. ``Top.v`` also defines lemmas of its
own that later theorems of the same file use.

Everything is generated from ``seed``; nothing is read from disk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from retrieval.dataset import (
    AnnotatedTactic,
    CorpusFile,
    Pos,
    Premise,
    Provenance,
    TracedTactic,
    TracedTheorem,
)
from retrieval.building import DatasetSummary, write_dataset
from retrieval.splits import SplitConfig

ANIMALS = ("otter", "falcon", "badger", "heron", "lynx", "moose", "viper", "walrus", "yak", "zebra",
           "gecko", "koala", "llama", "panda", "raven", "shrew")
FRUITS = ("mango", "plum", "kiwi", "fig", "lime", "pear", "date", "guava", "lemon", "olive", "peach",
          "quince", "papaya", "cherry", "apricot", "melon")
_GOALS = (
    "x : nat\nH : {a} x\n⊢ {a} (S x)",
    "n m : nat\nHn : {a} n\n⊢ {a} (n + m)",
    "l : list nat\nHl : Forall {a} l\n⊢ {a} (length l)",
    "y : nat\nIH : {a} y -> {a} (S y)\n⊢ {a} (S (S y))",
)


@dataclass(frozen=True)
class ToyLibrary:
    files: tuple[CorpusFile, ...]
    theorems: tuple[TracedTheorem, ...]


def _premise(path: str, name: str, code: str, line: int) -> Premise:
    return Premise(full_name=name, path=path, code=code, start=Pos(line, 1), end=Pos(line + 1, 10), kind="Lemma")


def toy_library(n_concepts: int = 12, theorems_per_concept: int = 6, seed: int = 0) -> ToyLibrary:
    """The library described in the module docstring (``n_concepts <= 16``)."""
    if not 1 <= n_concepts <= len(ANIMALS):
        raise ValueError(f"n_concepts must be in 1..{len(ANIMALS)}")
    rng = random.Random(seed)
    fruits = list(FRUITS[:n_concepts])
    rng.shuffle(fruits)  # the arbitrary pairing animal i <-> fruits[i]
    base, mid, top, side = "Toy/Base.v", "Toy/Mid.v", "Toy/Top.v", "Toy/Side.v"
    per_file: dict[str, list[Premise]] = {base: [], mid: [], top: [], side: []}
    facts: dict[int, Premise] = {}
    for i in range(n_concepts):
        path = base if i % 2 == 0 else mid
        line = 10 * (len(per_file[path]) + 1)
        f = fruits[i]
        facts[i] = _premise(path, f"Toy.fact_{i}", f"Lemma fact_{i} : forall x : nat, {f} x -> {f} (S x).", line)
        per_file[path].append(facts[i])
        per_file[path].append(_premise(path, f"Toy.aux_{i}", f"Lemma aux_{i} : forall x : nat, ripe_{f} x \\/ ~ ripe_{f} x.",
                                       line + 5))
    theorems: list[TracedTheorem] = []
    line_of = {top: 1000, side: 1000}
    for i in range(n_concepts):
        for t in range(theorems_per_concept):
            fact = facts[i]
            path = top if (fact.path == mid or t % 2 == 0) else side  # Side.v cannot see Mid.v
            line = line_of[path]
            line_of[path] += 20
            goal = _GOALS[t % len(_GOALS)].format(a=ANIMALS[i])
            provs = [Provenance(fact.full_name, fact.path, fact.start, fact.end)]
            text = f"apply <a>fact_{i}</a>"
            if path == top and per_file[top] and t % 3 == 2:
                own = per_file[top][-1]  # a lemma of Top.v defined above this theorem
                provs.append(Provenance(own.full_name, own.path, own.start, own.end))
                text += f"; rewrite <a>{own.full_name.split('.')[-1]}</a>"
            tac = TracedTactic(text.replace("<a>", "").replace("</a>", ""), AnnotatedTactic(text, tuple(provs)),
                               goal, "no goals")
            intro = TracedTactic("intros", AnnotatedTactic("intros", ()), goal, goal)
            theorems.append(TracedTheorem(
                full_name=f"Toy.thm_{i}_{t}", file_path=path, start=Pos(line, 1), end=Pos(line + 3, 5),
                traced_tactics=(intro, tac), theorem_statement=goal.split("⊢ ")[-1],
            ))
            if path == top and t % 3 == 1:
                per_file[top].append(_premise(top, f"Toy.thm_{i}_{t}", f"Lemma thm_{i}_{t} : {goal.split('⊢ ')[-1]}.", line))
    files = (
        CorpusFile(base, (), tuple(per_file[base])),
        CorpusFile(mid, (base,), tuple(per_file[mid])),
        CorpusFile(top, (mid,), tuple(per_file[top])),
        CorpusFile(side, (base,), tuple(per_file[side])),
    )
    return ToyLibrary(files, tuple(theorems))


def write_toy_dataset(root: str | Path, *, n_concepts: int = 12, theorems_per_concept: int = 6, seed: int = 0,
                      split_config: SplitConfig = SplitConfig(seed=0, val_fraction=0.15, test_fraction=0.15)
                      ) -> DatasetSummary:
    """Write :func:`toy_library` as a dataset directory with both splits."""
    lib = toy_library(n_concepts, theorems_per_concept, seed)
    return write_dataset(root, lib.files, lib.theorems, split_config=split_config,
                         metadata={"source": "retrieval.examples.toy_library", "seed": seed})
