"""Mutating one theorem: invocable lemmas found through the proof environment, variants composed
from the original proof (Alchemy, ICLR 2025, rebuilt on nesy's protocol).

For a theorem started in its file's context (:class:`provers.coq.library.LibraryTheorem`), in one
warm environment:

1. ``intros`` brings the statement's hypotheses into the context (state S1); the *targets* are the
   conclusion and each introduced hypothesis.
2. For each target and mode the pruned candidate lemmas (:class:`synthesis.alchemy.lemmas.LemmaTable`)
   are run on S1 (a tactic each, ~1 ms on a warm process; the environment goes back to S1 with
   ``Edit_at``). A **hit** is a candidate that changes exactly its target and leaves one goal (rw),
   or turns the hypothesis into 1..``max_antecedents`` new ones (apply); each hit records the
   states before and after.
3. Each hit becomes a **variant**: the mutated statement (the declaration's own binders, then the
   introduced hypotheses, one replaced, then the conclusion) and its proof composed from the
   original (:mod:`synthesis.alchemy.syntax`). Variants equal to the original, or to an earlier
   variant, up to the names of the introduced hypotheses and whitespace, are dropped.
4. Each variant is **run in the environment** at the same place (a warm start: ``Edit_at`` back to
   the theorem's position, ``Add`` the variant): it counts only if its whole proof runs to no
   goals. The states along the way are its traced (state, tactic) pairs. The batch kernel check
   (:mod:`synthesis.alchemy.verify`) then decides which variants are written.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace

from provers.protocol import EnvConfig, ProofFinished, TacticError, TacticState, Theorem
from synthesis.alchemy.syntax import SyntaxError_, fresh_names

MODES = ("rw", "apply")


@dataclass(frozen=True)
class MutationConfig:
    """Limits of the mutation of one theorem."""

    modes: tuple[str, ...] = MODES
    max_candidates: int = 48  # lemmas tried per target and mode, after pruning (best BM25 first)
    max_variants: int = 64  # per theorem, kept in the order found
    max_antecedents: int = 3  # apply: hypotheses a lemma may turn one into
    tactic_timeout_s: float = 5.0
    max_proof_sentences: int = 400  # originals with longer proofs are skipped
    prune: bool = True  # False: the ablation, as many candidates drawn at random (benchmarks/alchemy_cost.py)


@dataclass(frozen=True)
class Variant:
    """One mutated theorem, its composed proof and where it came from."""

    name: str
    original: str  # full name of the original theorem
    file: str
    lemma: str  # full name of the invocable lemma
    mode: str  # rw | apply
    direction: str  # -> | <- | "" (apply)
    target: str  # "goal" or the hypothesis name
    statement: str
    proof: tuple[str, ...]  # the sentences between the Proof sentence and Qed.
    proof_sentence: str  # Proof. (or the original's Proof using ...)
    state_before: str
    state_after: str
    pairs: tuple[tuple[str, str], ...] = ()  # traced (state, tactic) along the proof in the environment

    def to_json(self) -> dict:
        d = asdict(self)
        d["proof"] = list(self.proof)
        d["pairs"] = [{"state": s, "tactic": t} for s, t in self.pairs]
        return d


@dataclass
class TheoremOutcome:
    """What mutating one theorem produced: its variants (passed in the environment), the counts
    at every stage, and a reason when it was skipped."""

    name: str
    file: str
    skipped: str | None = None
    variants: list[Variant] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    state: str = ""  # the state every candidate ran on (after intros)
    hits: list[dict] = field(default_factory=list)  # every hit: lemma, mode, direction, target, state after
    seconds: float = 0.0


def original_proof(src, index: int, syntax) -> tuple[str, list[str]] | str:
    """The original proof of the declaration at sentence ``index`` of ``src``
    (:class:`provers.coq.library._FileText`): its ``Proof`` sentence and the sentences up to the
    terminator (comments stripped); or why it cannot be reused."""
    from provers.coq.sentences import SentenceError, strip_comments

    out: list[str] = []
    proof_sentence = "Proof."
    for j in range(index + 1, len(src.sentences)):
        try:
            text = " ".join(strip_comments(src.sentences[j].text).split())
        except SentenceError as exc:
            return f"unreadable proof: {exc}"
        if not text:
            continue
        if j == index + 1 and re.match(r"^Proof\b", text):
            if text.startswith("Proof with"):
                return "proof_with: 'Proof with' tactics ('...') cannot be replayed after the composed steps"
            if text != "Proof." and not text.startswith("Proof using"):
                return f"term_proof: the proof is a term ({text[:40]!r})"
            proof_sentence = text
            continue
        if text in syntax.given_up:
            return "admitted: the original has no proof"
        if syntax.ends_proof(text):
            return proof_sentence, out
        out.append(text)
    return "no terminator: the proof does not end in the file"


def _hyp_map(goal) -> dict[str, str]:
    out = {}
    for h in goal.hypotheses:
        for n in h.names:
            out[n] = h.type if h.body is None else f"{h.body} : {h.type}"
    return out


def _canon(text: str, names: list[str]) -> str:
    text = " ".join(text.split())
    for i, n in enumerate(names):
        text = re.sub(rf"(?<![\w'.]){re.escape(n)}(?![\w'])", f"_v{i}", text)
    return text


class Mutator:
    """Mutates theorems of one library, one worker's state: the lemma table, the corpus, the
    syntax, and how to open environments (``env_factory(theorem, config)`` -> a context manager
    giving ``(env, state)``, normally a warm-pool :class:`provers.coq.env.CoqEnv`)."""

    def __init__(self, table, syntax, env_factory, config: MutationConfig, allowed=None) -> None:
        self.table = table
        self.corpus = table.corpus
        self.syntax = syntax
        self.env_factory = env_factory
        self.config = config
        self.allowed = allowed

    def _lemma_name(self, idx: int, file: str) -> str:
        from provers.generators.premises import relative_name

        p = self.corpus.premises[idx]
        return relative_name(p.full_name, p.path) if p.path == file else p.full_name

    def mutate(self, lt, src, index: int) -> TheoremOutcome:
        """Mutate the library theorem ``lt`` (declared at sentence ``index`` of ``src``)."""
        t0 = time.monotonic()
        out = TheoremOutcome(lt.full_name, lt.file)
        counts = out.counts
        for mode in self.config.modes:
            counts[mode] = {"lemmas": 0, "symbol_matches": 0, "tried": 0, "hits": 0, "variants": 0, "env_passed": 0}
        try:
            decl = self.syntax.declaration(lt.check_statement or lt.theorem.statement)
        except SyntaxError_ as exc:
            out.skipped = f"declaration: {exc}"
            return out
        proof = original_proof(src, index, self.syntax)
        if isinstance(proof, str):
            out.skipped = proof
            return out
        proof_sentence, original = proof
        if len(original) > self.config.max_proof_sentences:
            out.skipped = f"long_proof: {len(original)} sentences"
            return out
        theorem = Theorem(name=lt.theorem.name, statement=lt.theorem.statement, header=lt.theorem.header,
                          file_path=lt.file, line=lt.theorem.line, prelude="")
        env_cfg = EnvConfig(tactic_timeout_s=self.config.tactic_timeout_s, extra_args=lt.env_args)
        try:
            with self.env_factory(theorem, env_cfg) as (env, s0):
                s1, introduced, hits = self._hits(env, s0, lt, counts)
                binders = self.syntax.typed_binders(decl.binders, _hyp_map(s0.goals[0])) if s0.goals else decl.binders
        except Exception as exc:  # noqa: BLE001 - the environment's trouble is this theorem's row, never the job's
            out.skipped = f"start: {type(exc).__name__}: {exc}"[:300]
            out.seconds = time.monotonic() - t0
            return out
        variants = self._variants(s1, introduced, hits, lt, replace(decl, binders=binders), proof_sentence, original, counts)
        out.variants = self._run_variants(variants, lt, counts)
        if hits:
            out.state = s1.pp
            out.hits = [{"lemma": h["lemma_full"], "mode": h["mode"], "direction": h["direction"], "target": h["target"],
                         "state_after": h["after"]} for h in hits]
        out.seconds = time.monotonic() - t0
        return out

    # ------------------------------------------------------------ 1-2: targets and hits

    def _hits(self, env, s0: TacticState, lt, counts: dict) -> tuple[TacticState, list[str], list[dict]]:
        """The state every candidate runs on (after ``intros``), the names ``intros`` introduced,
        and the hits."""
        cfg, syn = self.config, self.syntax
        if len(s0.goals) != 1 or s0.unfocused:
            return s0, [], []
        r = env.run_tac(s0, syn.intro_all)
        s1 = r if isinstance(r, TacticState) and len(r.goals) == 1 and not r.unfocused else s0
        g1 = s1.goals[0]
        before = set(_hyp_map(s0.goals[0]))
        hyps1 = _hyp_map(g1)
        introduced = [n for h in g1.hypotheses for n in h.names if n not in before]
        if any(h.body is not None for h in g1.hypotheses if set(h.names) - before):
            return s1, introduced, []  # a let-bound hypothesis: no binder can state it
        targets: list[tuple[str, str]] = [("goal", g1.conclusion)] + [(n, hyps1[n]) for n in introduced]
        accessible = self.corpus.accessible_indices(lt.file, lt.start)
        hits = []
        for mode in cfg.modes:
            for target, text in targets:
                if mode == "apply" and target == "goal":
                    continue
                cands, c = self.table.candidates(text, accessible, mode, cfg.max_candidates, self.allowed, prune=cfg.prune)
                for k in ("lemmas", "symbol_matches", "tried"):
                    counts[mode][k] += c[k]
                for idx, direction in cands:
                    lemma = self._lemma_name(idx, lt.file)
                    hit = self._try(env, s1, g1, hyps1, mode, target, lemma, direction)
                    if hit is not None:
                        hit["lemma_full"] = self.corpus.premises[idx].full_name
                        counts[mode]["hits"] += 1
                        hits.append(hit)
        return s1, introduced, hits

    def _try(self, env, s1, g1, hyps1: dict, mode: str, target: str, lemma: str, direction: str) -> dict | None:
        syn, cfg = self.syntax, self.config
        if mode == "rw":
            tactic = syn.rewrite(lemma, direction, None if target == "goal" else target)
        else:
            tactic = syn.apply_to_hyp(lemma, target)
        try:
            r = env.run_tac(s1, tactic)
        except Exception:  # noqa: BLE001 - a crashed or hung prover on one candidate: a miss (the env restarts itself)
            return None
        if not isinstance(r, TacticState) or r.unfocused:
            return None
        if not syn.evar_free(r.pp):
            return None
        if mode == "rw":
            if len(r.goals) != 1:
                return None  # a conditional rewrite left side goals
            g = r.goals[0]
            hyps = _hyp_map(g)
            if target == "goal":
                if hyps != hyps1 or g.conclusion == g1.conclusion or syn.trivial(g.conclusion) or g.conclusion in hyps.values():
                    return None  # unchanged, or made trivial (x = x, or the goal is now a hypothesis)
                return {"mode": mode, "target": target, "lemma": lemma, "direction": direction, "new": g.conclusion, "after": r.pp}
            if g.conclusion != g1.conclusion or set(hyps) != set(hyps1) or hyps[target] == hyps1[target] or syn.trivial(hyps[target]):
                return None
            if hyps[target] == g.conclusion or syn.vacuous(hyps[target]):
                return None  # the hypothesis became the goal, or False
            if any(hyps[n] != hyps1[n] for n in hyps if n != target):
                return None
            return {"mode": mode, "target": target, "lemma": lemma, "direction": direction, "new": hyps[target], "after": r.pp}
        k = len(r.goals) - 1
        if not 1 <= k <= cfg.max_antecedents:
            return None
        main = r.goals[-1]
        if syn.temp_hyp not in _hyp_map(main):
            return None
        new = []
        for g in r.goals[:k]:
            if _hyp_map(g) != hyps1 or g.conclusion in (hyps1[target], g1.conclusion) or syn.trivial(g.conclusion) or syn.vacuous(g.conclusion):
                return None
            new.append(g.conclusion)
        return {"mode": mode, "target": target, "lemma": lemma, "direction": "", "new": new, "after": r.pp}

    # ------------------------------------------------------------ 3: variants

    def _variants(self, s1: TacticState, names: list[str], hits: list[dict], lt, decl, proof_sentence: str, original: list[str],
                  counts: dict) -> list[Variant]:
        syn = self.syntax
        out: list[Variant] = []
        if not hits:
            return out
        g1 = s1.goals[0]
        hyps1 = _hyp_map(g1)
        binders = [((n,), hyps1[n]) for n in names]
        conclusion = g1.conclusion
        seen = {_canon(" | ".join([*(t for _, t in binders), conclusion]), names)}  # the original itself
        for hit in hits:
            mode, target, lemma = hit["mode"], hit["target"], hit["lemma"]
            if mode == "rw" and target == "goal":
                new_binders, new_concl, new_names = binders, hit["new"], names
                bridge = syn.bridge_rw_goal(names, conclusion, lemma, hit["direction"])
            elif mode == "rw":
                new_binders = [((n,), hit["new"] if n == target else t) for (n,), t in binders]
                new_concl, new_names = conclusion, names
                bridge = syn.bridge_rw_hyp(names, target, hyps1[target], lemma, hit["direction"])
            else:
                taken = set(hyps1) | {decl.name}
                fresh = fresh_names(target, len(hit["new"]), taken)
                new_binders, new_names = [], []
                for (n,), t in binders:
                    if n == target:
                        new_binders += [((f,), a) for f, a in zip(fresh, hit["new"])]
                        new_names += fresh
                    else:
                        new_binders.append(((n,), t))
                        new_names.append(n)
                new_concl = conclusion
                bridge = syn.bridge_apply(new_names, names, target, hyps1[target], lemma, fresh)
            key = _canon(" | ".join([*(t for _, t in new_binders), new_concl]), new_names)
            if key in seen:
                continue
            seen.add(key)
            vname = f"{decl.name}_nesy_{mode}{len(out) + 1}"
            statement = syn.statement(vname, decl.binders, new_binders, new_concl)
            out.append(Variant(
                name=vname, original=lt.full_name, file=lt.file, lemma=hit["lemma_full"], mode=mode,
                direction=hit["direction"], target=target, statement=statement, proof=(*bridge, *original),
                proof_sentence=proof_sentence, state_before=s1.pp, state_after=hit["after"]))
            counts[mode]["variants"] += 1
            if len(out) >= self.config.max_variants:
                break
        return out

    # ------------------------------------------------------------ 4: the variant runs in the environment

    def _run_variants(self, variants: list[Variant], lt, counts: dict) -> list[Variant]:
        passed = []
        for v in variants:
            theorem = Theorem(name=v.name, statement=v.statement, header=lt.theorem.header, file_path=lt.file,
                              line=lt.theorem.line, prelude="")
            env_cfg = EnvConfig(tactic_timeout_s=self.config.tactic_timeout_s, extra_args=lt.env_args)
            pairs: list[tuple[str, str]] = []
            try:
                with self.env_factory(theorem, env_cfg) as (env, state):
                    for sentence in v.proof:
                        if isinstance(state, ProofFinished):
                            state = None
                            break
                        before = state.pp
                        r = env.run_tac(state, sentence)
                        if isinstance(r, TacticError) or not isinstance(r, (TacticState, ProofFinished)):
                            state = None
                            break
                        pairs.append((before, sentence))
                        state = r
            except Exception:  # noqa: BLE001 - a variant the prover cannot start or run: dropped, not the job's error
                state = None
            if isinstance(state, ProofFinished):
                counts[v.mode]["env_passed"] += 1
                passed.append(_with_pairs(v, pairs))
        return passed


def _with_pairs(v: Variant, pairs: list[tuple[str, str]]) -> Variant:
    return replace(v, pairs=tuple(pairs))


__all__ = ["MODES", "MutationConfig", "Mutator", "TheoremOutcome", "Variant", "original_proof"]
