"""The Coq proof environment: :class:`CoqEnv` over one ``coqidetop.opt`` process.

How states map onto Coq. coqidetop keeps one linear document of sentences, each with a state id.
nesy hands out its own stable state ids (nodes of a tree, the root being the state after
``Proof.``) and remembers for each node its parent and the sentences of the tactic that made it.
The live document is one path of that tree. ``run_tac`` on a node of the live path goes back
with ``Edit_at`` (cheap: Coq keeps the states); on a node of another branch it goes back to the
deepest common node and replays the sentences down to the target (each replayed tactic runs
again). ``benchmarks/env_overhead.py`` measures both. A pool of processes, one per branch, was
the alternative: it costs a process (tens of MB and the header's load time) per live branch,
while the replay cost is the tactics themselves, a few ms each for most.

Failures. A tactic that fails or is cut by the per-tactic time limit (SIGINT, which leaves
coqidetop usable) is a :class:`TacticError`, and the document is reset to the state the tactic
was run on. If coqidetop dies or ignores the interrupt, the process is restarted (header and
statement elaborated again), :class:`EnvCrashError`/:class:`EnvTimeoutError` is raised, and
every node handed out earlier stays valid: it is replayed when next used.

Warm starts. Given ``pool=`` (a :class:`provers.coq.pool.WarmPool`), the environment takes a
process with its header already loaded from the pool and gives it back on exit instead of
closing it; a process that is restarted after a crash or hang is killed, never pooled.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from provers.coq import xmlproto
from provers.coq.pool import Lease, WarmPool
from provers.coq.portfolio import HAMMER_TACTIC_TIMEOUT_S, hammer_reconstruction, is_hammer_call
from provers.coq.process import CallTimedOut, CoqProcess, ProcessDied, ProcessHung
from provers.coq.sentences import SentenceError, check_tactic, is_bullet_or_brace, split_sentences
from provers.errors import EnvCrashError, EnvInitError, EnvTimeoutError
from provers.protocol import (
    EnvConfig,
    ErrorKind,
    ProofEnv,
    ProofFinished,
    ProofGivenUp,
    TacticError,
    TacticResult,
    TacticState,
    Theorem,
)


@dataclass(frozen=True)
class _Node:
    parent: int | None  # None for the root
    sentences: tuple[str, ...]  # what was added to reach this node from the parent
    tactic: str  # the tactic string as given by the caller


class CoqEnv(ProofEnv):
    """A proof environment for one Coq theorem (see the module documentation)."""

    backend_name = "coq"

    def __init__(self, theorem: Theorem, config: EnvConfig | None = None, *, pool: WarmPool | None = None) -> None:
        self.theorem = theorem
        self.config = config or EnvConfig()
        self._pool = pool  # warm processes (provers.coq.pool); None: a fresh process per theorem
        self._lease: Lease | None = None
        self._proc: CoqProcess | None = None
        self._nodes: dict[int, _Node] = {}
        self._live: list[tuple[int, int]] = []  # live path: (node id, coq state id), root first
        self._next_id = 0
        self.restarts = 0
        self.replayed_sentences = 0
        self._confirmed: set[str] = set()  # sentences Coq has been seen to read as exactly one sentence
        self.initial_state: TacticState | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> tuple[CoqEnv, TacticState]:
        try:
            root_sid = self._start()
            goals = self._goals()
        except BaseException:
            self._shutdown()
            raise
        if goals is None or not goals.focused:
            self._shutdown()
            raise EnvInitError(f"{self.theorem.name}: no goal after 'Proof.' (is the statement a theorem?)")
        self._nodes = {0: _Node(None, (), "")}
        self._next_id = 1
        self._live = [(0, root_sid)]
        state = TacticState(goals.text(), 0, goals.focused, goals.hidden)
        self.initial_state = state
        return self, state

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        if self._proc is not None:
            if self._lease is not None and self._lease.proc is self._proc:
                self._pool.release(self._lease)  # back to its header's state in the pool, or killed
            else:
                self._proc.close()
            self._proc = None
        self._lease = None

    def _start(self) -> int:
        """Start coqidetop, elaborate header and statement, enter the proof; return its state id."""
        if self._pool is not None:
            return self._start_pooled()
        workdir = str(self.config.workdir) if self.config.workdir else None
        try:
            self._proc = CoqProcess(self.config.extra_args, cwd=workdir)
        except OSError as exc:
            raise EnvInitError(f"cannot start coqidetop: {exc}") from exc
        what = "starting coqidetop"
        try:
            ans = self._proc.call(xmlproto.call_init(), self.config.start_timeout_s)
            if not ans.good:
                raise EnvInitError(f"coqidetop Init failed: {ans.error}")
            sid = xmlproto.state_id_of(ans.payload)
            try:
                header = [s.text for s in split_sentences(self.theorem.header)]
                header += [s.text for s in split_sentences(self.theorem.prelude)]
                statement = [s.text for s in split_sentences(self.theorem.statement)]
            except SentenceError as exc:
                raise EnvInitError(f"{self.theorem.name}: {exc}") from exc
            if not statement:
                raise EnvInitError(f"{self.theorem.name}: empty statement")
            for part, sentences in (("header", header), ("statement", [*statement, "Proof."])):
                what = f"elaborating the {part} of {self.theorem.name}"
                for sentence in sentences:
                    ans = self._proc.call(xmlproto.call_add(sentence, sid), self.config.start_timeout_s)
                    if not ans.good:
                        raise EnvInitError(f"{what}: cannot parse {sentence[:80]!r}: {ans.error}")
                    sid = ans.new_state_id()
                ans = self._proc.call(xmlproto.call_status(True), self.config.start_timeout_s)
                if not ans.good:
                    raise EnvInitError(f"{what}: {ans.error}")
            return sid
        except (ProcessDied, ProcessHung, CallTimedOut) as exc:
            raise EnvInitError(f"{what}: {exc}") from exc

    def _start_pooled(self) -> int:
        """Like :meth:`_start`, on a process from the warm pool that has the header loaded."""
        prelude = self.theorem.prelude  # what nesy adds after the header (not part of the problem)
        loaded = "\n".join(part for part in (self.theorem.header, prelude) if part.strip())
        self._lease = self._pool.acquire(loaded, self.config, self.theorem.name)
        self._proc = self._lease.proc
        try:
            statement = [s.text for s in split_sentences(self.theorem.statement)]
        except SentenceError as exc:
            raise EnvInitError(f"{self.theorem.name}: {exc}") from exc
        if not statement:
            raise EnvInitError(f"{self.theorem.name}: empty statement")
        what = f"elaborating the statement of {self.theorem.name}"
        timeout = self.config.start_timeout_s
        try:
            sid = self._lease.sid
            for sentence in statement:
                ans = self._proc.call(xmlproto.call_add(sentence, sid), timeout)
                if not ans.good:
                    raise EnvInitError(f"{what}: cannot parse {sentence[:80]!r}: {ans.error}")
                sid = ans.new_state_id()
            added, ans = self._proc.call_many([xmlproto.call_add("Proof.", sid), xmlproto.call_status(True)], timeout)
            if not added.good:
                raise EnvInitError(f"{what}: cannot parse 'Proof.': {added.error}")
            if not ans.good:
                raise EnvInitError(f"{what}: {ans.error}")
            return added.new_state_id()
        except (ProcessDied, ProcessHung, CallTimedOut) as exc:
            self._lease.broken = True  # a statement that hangs or kills Coq: the process leaves the pool
            raise EnvInitError(f"{what}: {exc}") from exc

    # ------------------------------------------------------------------ protocol

    def run_tac(self, state: TacticState, tactic: str) -> TacticResult:
        if not isinstance(state, TacticState):
            raise TypeError(f"run_tac needs a TacticState, got {type(state).__name__}")
        if state.id not in self._nodes:
            raise ValueError(f"state {state.id} does not belong to this environment")
        if self._proc is None:
            raise EnvInitError("the environment is not started (use it as a context manager)")
        check = check_tactic(tactic)
        if check.refused:
            return TacticError(check.refused, ErrorKind.REFUSED)
        if check.gives_up:
            return ProofGivenUp(f"tactic gives up on a goal: {tactic.strip()[:80]!r}")
        timeout = self.config.tactic_timeout_s
        hammer = is_hammer_call(check.sentences)
        if hammer:
            timeout = max(timeout, HAMMER_TACTIC_TIMEOUT_S)
        with self._guard():
            pending = self._goto(state.id, defer_rewind=True)
            base_sid = self._live[-1][1]
            first, rest = check.sentences[0], check.sentences[1:]
            # One pipelined batch: [Edit_at back] + Add + (Goal, if the tactic is one sentence).
            # ``Goal`` executes what was added (coqidetop runs sentences lazily) and returns the
            # goals; a failing tactic makes it answer "fail".
            batch = [xmlproto.call_edit_at(pending)] if pending is not None else []
            # Sentences seen for the first time are also parsed by Coq without their terminator
            # (Annotate parses one sentence and sends it back): if Coq still finds a complete
            # sentence there, it would read this text as more than the one sentence nesy vetted.
            probes = [(t, p) for t in check.sentences if t not in self._confirmed for p in [_without_terminator(t)] if p]
            batch += [xmlproto.call_annotate(p) for _, p in probes]
            batch.append(xmlproto.call_add(first, base_sid))
            if not rest:
                batch.append(xmlproto.call_goal())
            try:
                answers = self._proc.call_many(batch, timeout)
            except CallTimedOut as exc:
                self._check_rewound(pending, exc.answers)
                return self._timed_out(base_sid, timeout)
            self._check_rewound(pending, answers)
            at = 1 if pending is not None else 0
            split = [t for (t, _), a in zip(probes, answers[at : at + len(probes)]) if a.good]
            at += len(probes)
            added = answers[at]
            if split:
                if added.good:
                    self._rewind(base_sid)
                return TacticError(f"refused: Coq reads {split[0][:60]!r} as more than one sentence", ErrorKind.REFUSED)
            self._confirmed.update(t for t, _ in probes)
            if not added.good:
                return TacticError(_clean(added.error))
            sid = added.new_state_id()
            for sentence in rest:
                ans = self._proc.call(xmlproto.call_add(sentence, sid), timeout)
                if not ans.good:
                    self._rewind(base_sid)
                    return TacticError(_clean(ans.error))
                sid = ans.new_state_id()
            if rest:
                try:
                    ans = self._proc.call(xmlproto.call_goal(), timeout)
                except CallTimedOut:
                    return self._timed_out(base_sid, timeout)
            else:
                ans = answers[-1]
            if not ans.good:
                self._rewind(base_sid)
                return TacticError(_clean(ans.error))
            goals = xmlproto.goals_of(ans)
            if goals is None:  # the tactic string closed the proof itself
                self._rewind(base_sid)
                return TacticError("refused: the tactic left proof mode", ErrorKind.REFUSED)
            if goals.given_up:
                self._rewind(base_sid)
                return ProofGivenUp("a goal was given up")
            if hammer:  # the tree records the reconstruction hammer reported, replayed here without ATPs
                self._rewind(base_sid)
                return self._replay_reconstruction(state, answers)
            node_id = self._next_id
            self._next_id += 1
            self._nodes[node_id] = _Node(state.id, check.sentences, tactic)
            self._live.append((node_id, sid))
            messages = "\n".join(ans.messages) or None
            if not goals.focused and not goals.hidden:
                return ProofFinished(node_id, messages)
            return TacticState(goals.text(), node_id, goals.focused, goals.hidden, messages)

    def _replay_reconstruction(self, state: TacticState, answers) -> TacticResult:
        """After a successful ``hammer``: run the reconstruction tactic it reported on ``state``
        instead, so that proofs never contain ``hammer`` (whose ATPs the check would run again).
        A reconstruction that is missing, refused or does not replay makes the call a failure."""
        found = hammer_reconstruction(n for a in answers for n in a.notices)
        if found is None:
            return TacticError("hammer succeeded but reported no reconstruction tactic")
        result = self.run_tac(state, found)
        if isinstance(result, TacticError):
            return TacticError(f"hammer's reconstruction {found!r} does not replay: {result.message}"[:500], result.kind)
        return result

    def proof_of(self, state: TacticState | ProofFinished) -> list[str]:
        return [self._nodes[n].tactic for n in self._path(state.id)[1:]]

    def proof_sentences(self, state: TacticState | ProofFinished) -> list[str]:
        """The sentences (one per Coq sentence) that lead from the root to ``state``."""
        return [s for n in self._path(state.id)[1:] for s in self._nodes[n].sentences]

    def proof_script(self, state: ProofFinished) -> str:
        return "\n".join(self.proof_sentences(state))

    @property
    def warm_start(self) -> str:
        """How this environment got its process: 'cold' (no pool) or the pool's fresh | warm | prefix."""
        return self._lease.how if self._lease is not None else "cold"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def rss_bytes(self) -> int:
        return self._proc.rss_bytes() if self._proc else 0

    # ------------------------------------------------------------------ internals

    def _path(self, node_id: int) -> list[int]:
        if node_id not in self._nodes:
            raise ValueError(f"state {node_id} does not belong to this environment")
        path = []
        cur: int | None = node_id
        while cur is not None:
            path.append(cur)
            cur = self._nodes[cur].parent
        return path[::-1]

    def _goto(self, node_id: int, defer_rewind: bool = False) -> int | None:
        """Make ``node_id`` the tip of the live document (rewind, then replay if needed).

        With ``defer_rewind``, a rewind that needs no replay after it is not sent: its Coq state
        id is returned for the caller to send (pipelined with its next calls) and the live path
        is already cut as if it had been sent. Otherwise returns None.
        """
        target = self._path(node_id)
        keep = 0
        while keep < len(self._live) and keep < len(target) and self._live[keep][0] == target[keep]:
            keep += 1
        if keep < len(self._live):
            if defer_rewind and keep == len(target):
                del self._live[keep:]
                return self._live[-1][1]
            self._rewind(self._live[keep - 1][1])
        sid = self._live[-1][1]
        for nid in target[keep:]:
            for sentence in self._nodes[nid].sentences:
                ans = self._proc.call(xmlproto.call_add(sentence, sid), self.config.tactic_timeout_s)
                if not ans.good:
                    raise EnvCrashError(f"replay of a known tactic failed to parse: {ans.error}")
                sid = ans.new_state_id()
                self.replayed_sentences += 1
            self._live.append((nid, sid))
        if len(target) > keep:
            try:
                ans = self._proc.call(xmlproto.call_status(True), self.config.tactic_timeout_s * 2)
            except CallTimedOut:
                ans = None
            if ans is None or not ans.good:
                # A tactic that succeeded before failed on replay (nondeterminism or a time limit hit
                # under load). Keep the document consistent and report it as infrastructure trouble.
                self._reset_to_root()
                raise EnvTimeoutError(f"replaying the path to state {node_id} failed: {ans.error if ans else 'timeout'}")

    def _timed_out(self, base_sid: int, timeout: float) -> TacticError:
        """Back to the state the tactic ran on, after an interrupted tactic."""
        self._rewind(base_sid)
        return TacticError(f"timeout: tactic ran over {timeout:g}s", ErrorKind.TIMEOUT)

    def _check_rewound(self, pending: int | None, answers: list[xmlproto.Answer]) -> None:
        if pending is not None and (not answers or not answers[0].good):
            # The document is in an unknown place: the guard restarts the process.
            raise xmlproto.ProtocolError(f"Edit_at {pending} failed: {answers[0].error if answers else 'no answer'}")

    def _rewind(self, coq_sid: int) -> None:
        ans = self._proc.call(xmlproto.call_edit_at(coq_sid), self.config.tactic_timeout_s)
        if not ans.good:
            raise EnvCrashError(f"Edit_at {coq_sid} failed: {ans.error}")
        while self._live and self._live[-1][1] != coq_sid:
            self._live.pop()

    def _reset_to_root(self) -> None:
        self._rewind(self._live[0][1])

    def _goals(self) -> xmlproto.Goals | None:
        ans = self._proc.call(xmlproto.call_goal(), self.config.tactic_timeout_s)
        if not ans.good:
            raise EnvCrashError(f"Goal failed: {ans.error}")
        return xmlproto.goals_of(ans)

    def _guard(self) -> _Guard:
        return _Guard(self)

    def _restart(self) -> None:
        """Replace a dead or hung process; all nodes stay valid (replayed on demand)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc = None
        self.restarts += 1
        root_sid = self._start()
        self._live = [(0, root_sid)]


class _Guard:
    """Turns process death or a hang into a restart plus EnvCrashError/EnvTimeoutError."""

    def __init__(self, env: CoqEnv) -> None:
        self.env = env

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            return False
        if issubclass(exc_type, (ProcessDied, ProcessHung, xmlproto.ProtocolError)):
            try:
                self.env._restart()
            except EnvInitError as init_exc:
                raise EnvCrashError(f"{exc}; restarting failed too: {init_exc}") from exc
            if issubclass(exc_type, ProcessHung):
                raise EnvTimeoutError(f"{exc}; the environment was restarted") from exc
            raise EnvCrashError(f"{exc}; the environment was restarted") from exc
        if issubclass(exc_type, CallTimedOut):
            # A rewind or replay call was interrupted: the document is in an unknown place.
            self.env._restart()
            raise EnvTimeoutError("coqidetop timed out while moving between states; restarted") from exc
        return False


def _without_terminator(sentence: str) -> str | None:
    """The sentence without what ends it (``.``, ``...``, a selector's ``{``); None for bullets and braces."""
    if is_bullet_or_brace(sentence):
        return None
    for end in ("...", ".", "{"):
        if sentence.endswith(end):
            return sentence[: -len(end)]
    return None


def _clean(message: str) -> str:
    return message.strip() or "tactic failed"
