"""The records a search returns: frozen, with the status set once, at the end."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass


class SearchStatus(enum.Enum):
    PROVED = "proved"  # a finished proof was found (never downgraded, whatever the budget)
    FAILED = "failed"  # the whole tree failed: every branch ended in errors
    OPEN = "open"  # the budget ran out with open branches and no proof


class StopReason(enum.Enum):
    PROOF_FOUND = "proof_found"
    EXHAUSTED = "exhausted"  # no open node left to expand
    TIME = "time"  # the wall-time budget ran out
    EXPANSIONS = "expansions"  # the expansion budget ran out
    SAMPLES = "samples"  # whole-proof sampling drew every sample it was allowed
    ENV_ERRORS = "env_errors"  # the prover crashed/hung too many times in a row


MAX_WIDEN = 10  # doublings of k at most (SearchBudget.widen): 8 * 2**10 tactics per node already


@dataclass(frozen=True)
class SearchBudget:
    """Limits of one search. ``time_s`` counts model and prover time (wall clock).

    ``num_candidates`` is k, the tactics asked of the generator per expansion (best-first) or per
    draw (sampling); ``max_expansions`` bounds generator calls in best-first search;
    ``max_depth`` bounds proof length; ``tactic_timeout_s`` bounds one tactic in the prover.

    ``widen`` (best-first only): how many times the search may double k when every open node has
    been expanded and neither a proof nor a budget limit was reached. Each widening reopens the
    unfinished nodes and asks the generator again with twice the k, running only tactics not yet
    tried there; so a search whose first k proposals all fail keeps using its budget instead of
    stopping early (k = 8 with ``widen=3`` reaches 64). 0 stops at the first exhaustion.
    """

    time_s: float = 60.0
    max_expansions: int = 100
    num_candidates: int = 8
    max_depth: int = 30
    tactic_timeout_s: float = 5.0
    max_env_errors: int = 5  # consecutive crashes/hangs before giving up on the theorem
    widen: int = 0

    def __post_init__(self) -> None:
        from provers.errors import InputError

        if not (self.time_s > 0 and self.tactic_timeout_s > 0):
            raise InputError("search budget: time_s and tactic_timeout_s must be positive")
        if self.max_expansions < 1 or self.num_candidates < 1 or self.max_depth < 1:
            raise InputError("search budget: max_expansions, num_candidates and max_depth must be at least 1")
        if not 0 <= self.widen <= MAX_WIDEN:
            raise InputError(f"search budget: widen must be between 0 and {MAX_WIDEN} (doublings of k), not {self.widen}")


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one best-first search.

    Invariant: ``status is PROVED`` iff ``proof is not None``. ``model_s`` is time inside the
    generator, ``env_s`` time inside the prover (``run_tac``); ``wall_s`` is the whole search.
    ``proof`` is the list of tactics from the initial state (the environment's ``proof_of``),
    not yet kernel-checked: the caller does that.
    """

    theorem: str
    status: SearchStatus
    stop_reason: StopReason
    proof: tuple[str, ...] | None
    budget: SearchBudget
    nodes_total: int
    nodes_expanded: int
    tactics_run: int
    tactic_errors: int
    env_crashes: int
    model_s: float
    env_s: float
    wall_s: float
    message: str = ""
    widenings: int = 0  # times k was doubled after the frontier emptied (``SearchBudget.widen``)

    def __post_init__(self) -> None:
        if (self.status is SearchStatus.PROVED) != (self.proof is not None):
            raise ValueError("a SearchResult is PROVED exactly when it carries a proof")

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        d["stop_reason"] = self.stop_reason.value
        d["proof"] = list(self.proof) if self.proof is not None else None
        return d


@dataclass(frozen=True)
class SampleResult:
    """The outcome of whole-proof sampling: ``successes[i]`` says whether draw i finished the proof.

    ``proofs`` are the distinct proofs that finished (not yet kernel-checked), in draw order;
    ``proof_of_sample[i]`` is the index into ``proofs`` for a successful draw, else -1.
    """

    theorem: str
    stop_reason: StopReason
    successes: tuple[bool, ...]
    proof_of_sample: tuple[int, ...]
    proofs: tuple[str, ...]
    budget: SearchBudget
    tactics_run: int
    env_crashes: int
    model_s: float
    env_s: float
    wall_s: float
    message: str = ""

    @property
    def status(self) -> SearchStatus:
        return SearchStatus.PROVED if self.proofs else SearchStatus.OPEN

    @property
    def samples(self) -> int:
        return len(self.successes)
