"""``premises:DATASET``: tactics built from the premises a retriever ranks first for the goal.

For a goal state the retriever (``GeneratorConfig.retriever``: ``bm25``, or ``dense`` = the
encoder + faiss of :mod:`retrieval.registry`) ranks the premises of the traced dataset's corpus
*accessible at the theorem's place* (:mod:`provers.generators.place`: never the theorem itself, its
own proof's lemmas or anything later in its file). Each of the top premises ``P`` becomes tactics
``apply P``, ``eapply P``, ``exact P`` and, when its statement is an equation or an iff,
``rewrite P`` and ``rewrite <- P``; the best three together give ``eauto using P1, P2, P3``.
Beside them the structural moves that fit the goal: ``intros``, ``split``, ``left``/``right``,
``subst``, ``simpl in *``, ``induction x`` and ``destruct x`` for the goal's variables.

Scores are log-probabilities: a premise's probability is the softmax of its retrieval score
(relative to the best one: :func:`provers.generators.place.relative_scores`), a tactic's is that
times the share its form (``apply``, ``rewrite <-``, ``induction``, ...) has among the training
part's tactics of the traced split, and the whole list is normalised by a log-softmax over the
candidates, so scores add up along a search path like a language model's.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from provers.generators.base import Candidate, GeneratorConfig, GeneratorError, TacticGenerator
from provers.generators.place import (
    Place, build_premise_retriever, dataset_dir, load_corpus, load_part, log_softmax, place_of, relative_scores, retrieve_at,
)
from provers.protocol import TacticState

PREMISE_FORMS = ("apply", "eapply", "exact", "rewrite", "rewrite <-", "eauto using")
STRUCTURAL_FORMS = ("intros", "split", "left", "right", "subst", "simpl in *", "induction", "destruct")
SHARPNESS = 3.0  # half the best retrieval score costs 1.5 nats
TOP_PREMISES = 8  # premises turned into tactics per state (at least k)
_EQUATION = re.compile(r"(?<![<>=])=(?![>=])|<->")
_INDUCTIVE = re.compile(r"^(nat|bool|list\b|Z|N|positive|option\b|prod\b|comparison|ascii|string|sumbool|Prop\b)")
_HYP_LINE = re.compile(r"^([A-Za-z_][\w']*(?:\s*,\s*[A-Za-z_][\w']*)*)\s*:\s*(.+)$")


def _form(tactic: str) -> str | None:
    """The form of a training tactic among PREMISE_FORMS + STRUCTURAL_FORMS (None: another)."""
    t = " ".join(tactic.replace(";", " ; ").split())
    words = t.split()
    if not words:
        return None
    first = words[0].rstrip(".")
    if first == "rewrite" and len(words) > 1 and words[1].startswith("<-"):
        return "rewrite <-"
    if first in ("eauto", "auto") and " using " in f" {t} ":
        return "eauto using"
    if first == "simpl" and "in" in words[1:3]:
        return "simpl in *"
    if first == "intro":
        return "intros"
    if first in PREMISE_FORMS or first in STRUCTURAL_FORMS:
        return first
    return None


def form_priors(theorems) -> dict[str, float]:
    """Each form's share of the training tactics that have one of the forms (add-one smoothed)."""
    counts = Counter(_form(t.tactic) for thm in theorems for t in thm.traced_tactics)
    forms = PREMISE_FORMS + STRUCTURAL_FORMS
    total = sum(counts[f] + 1 for f in forms)
    return {f: (counts[f] + 1) / total for f in forms}


def goal_variables(state: str) -> list[str]:
    """Variables of the first goal's hypotheses whose type is an inductive type (for induction/destruct)."""
    out: list[str] = []
    for line in state.splitlines():
        if line.strip().startswith("====="):
            break
        m = _HYP_LINE.match(line.strip())
        if m and _INDUCTIVE.match(m.group(2).strip()):
            out.extend(n.strip() for n in m.group(1).split(","))
    return out


def _first_goal(state: str) -> str:
    parts = state.split("============================", 1)
    goal = parts[1] if len(parts) > 1 else state
    return goal.strip().split("\n\n", 1)[0]


def structural_moves(state: str) -> list[str]:
    """The structural moves that can apply to the first goal of ``state``."""
    goal = _first_goal(state)
    moves = []
    if goal.startswith(("forall", "~")) or "->" in goal:
        moves.append("intros")
    if "/\\" in goal or "<->" in goal:
        moves.append("split")
    if "\\/" in goal:
        moves += ["left", "right"]
    hyps = state.split("============================", 1)[0]
    if re.search(r":\s*[A-Za-z_][\w']*\s*=\s*", hyps) or re.search(r"=\s*[A-Za-z_][\w']*\s*$", hyps, re.MULTILINE):
        moves.append("subst")
    moves.append("simpl in *")
    for v in goal_variables(state):
        moves += [f"induction {v}", f"destruct {v}"]
    return moves


def relative_name(full_name: str, path: str) -> str:
    """``Coq.Arith.PeanoNat.Nat.add_comm`` of ``Arith/PeanoNat.v`` -> ``Nat.add_comm`` (the name
    inside its own file); the full name when the file's module path is not in it."""
    module = path.removesuffix(".v").replace("/", ".")
    at = full_name.find(module + ".")
    if at == 0 or (at > 0 and full_name[at - 1] == "."):
        return full_name[at + len(module) + 1:]
    return full_name


class PremiseGenerator(TacticGenerator):
    """Tactics from the retrieved premises accessible at the theorem (see the module docstring)."""

    deterministic = True

    def __init__(self, arg: str, config: GeneratorConfig, *, retriever=None) -> None:
        self.path = dataset_dir(arg, "premises")
        self.corpus = load_corpus(self.path)
        self.retriever = retriever or build_premise_retriever(config.retriever, self.corpus, "premises")
        try:
            self.priors = form_priors(load_part(self.path, config.retrieval_split, "train"))
        except GeneratorError:
            self.priors = {f: 1 / len(PREMISE_FORMS + STRUCTURAL_FORMS) for f in PREMISE_FORMS + STRUCTURAL_FORMS}
        self.name = f"premises({config.retriever})"
        self.place: Place | None = None

    def begin(self, problem) -> None:
        self.place = place_of(problem)  # the retriever filters by it (RetrievalRequest's file and position)

    def retrieve(self, state: str, n: int) -> list[tuple[int, float]]:
        """The ``n`` best accessible premises for ``state``: (corpus index, retrieval score)."""
        return retrieve_at(self.retriever, state, self.place, n)

    def _name(self, idx: int) -> str:
        """How a tactic names premise ``idx`` here: its absolute name, except for a premise of the
        theorem's own file, named relative to the file (the kernel check compiles the file's
        prefix under a private library name, where the file's absolute names do not exist)."""
        p = self.corpus.premises[idx]
        if self.place is not None and p.path == self.place.file:
            return relative_name(p.full_name, p.path)
        return p.full_name

    def _generate(self, state: TacticState, k: int) -> list[Candidate]:
        text = state.pp
        raw: dict[str, float] = {}

        def add(tactic: str, logp: float) -> None:
            if tactic not in raw or logp > raw[tactic]:
                raw[tactic] = logp

        top = self.retrieve(text, max(k, TOP_PREMISES))
        if top:
            premise_logp = log_softmax(relative_scores([s for _, s in top], SHARPNESS))
            for (idx, _), lp in zip(top, premise_logp):
                name = self._name(idx)
                forms = ["apply", "eapply", "exact"]
                if _EQUATION.search(self.corpus.premises[idx].code):
                    forms += ["rewrite", "rewrite <-"]
                for form in forms:
                    add(f"{form} {name}", lp + math.log(self.priors[form]))
            names = [self._name(i) for i, _ in top[:3]]
            add("eauto using " + ", ".join(names), max(premise_logp[:3]) + math.log(self.priors["eauto using"]))
        for move in structural_moves(text):
            form = move.split()[0] if move.split()[0] in ("induction", "destruct") else move
            add(move, math.log(self.priors[form]))
        tactics = list(raw)
        scores = log_softmax([raw[t] for t in tactics])
        return sorted(zip(tactics, scores), key=lambda kv: -kv[1])[:k]
