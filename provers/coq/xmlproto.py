"""Encoding and decoding of coqidetop's XML protocol (Coq 8.16, protocol version 20200911).

Only the calls nesy needs: ``Init``, ``Add``, ``Edit_at``, ``Goal``, ``Status``, ``Query``, ``Quit``.
Values follow the protocol's generic encoding: ``<pair>a b</pair>``, ``<string>``, ``<int>``,
``<bool val=.../>``, ``<state_id val=.../>``, ``<option val="none|some">``, ``<union
val="in_l|in_r">``, and answers ``<value val="good">...</value>`` or ``<value val="fail">
<state_id/> richpp</value>``. Pretty-printed text arrives as "richpp": XML markup around text;
we keep the text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property, lru_cache
from xml.sax.saxutils import escape

from provers.protocol import Goal, Hypothesis, render_goals


class ProtocolError(Exception):
    """coqidetop answered something we cannot read (a bug or a version mismatch)."""


# ---------------------------------------------------------------- encoding


def _string(s: str) -> str:
    return f"<string>{escape(s)}</string>"


def call_init() -> str:
    return '<call val="Init"><option val="none"/></call>'


def call_add(sentence: str, state_id: int) -> str:
    # add_sty = (((string * edit_id) * (state_id * verbose)) * int) * (int * int)
    return (
        '<call val="Add"><pair><pair><pair><pair>'
        f'{_string(sentence)}<int>-1</int></pair><pair><state_id val="{state_id}"/><bool val="false"/>'
        "</pair></pair><int>0</int></pair><pair><int>0</int><int>0</int></pair></pair></call>"
    )


def call_annotate(text: str) -> str:
    """Parse (not run) the first sentence of ``text`` at the document's tip; fails if there is none."""
    return f"<call val=\"Annotate\">{_string(text)}</call>"


def call_edit_at(state_id: int) -> str:
    return f'<call val="Edit_at"><state_id val="{state_id}"/></call>'


def call_status(force: bool = True) -> str:
    return f'<call val="Status"><bool val="{"true" if force else "false"}"/></call>'


def call_goal() -> str:
    return '<call val="Goal"><unit/></call>'


def call_query(query: str, state_id: int, route_id: int = 0) -> str:
    """``Query``: run a read-only command (``Locate x.``, ``Print Libraries.``) at ``state_id``.

    Its output arrives as notice/info feedback (:attr:`Answer.notices`); the document is unchanged.
    """
    return (
        f'<call val="Query"><pair><route_id val="{route_id}"/><pair>{_string(query)}'
        f'<state_id val="{state_id}"/></pair></pair></call>'
    )


def call_quit() -> str:
    return '<call val="Quit"><unit/></call>'


# ---------------------------------------------------------------- decoding

_ENTITY_FIXES = {"&nbsp;": "&#160;"}


@dataclass(frozen=True)
class Answer:
    """One answer to a call: ``good`` and its payload element, or the failure's text.

    ``payload`` (the first child of ``<value val="good">``) is parsed from ``raw`` only when
    asked for: most answers on the hot path (``Add``, ``Edit_at``) need no more than ``good`` and
    :meth:`new_state_id`.
    """

    good: bool
    raw: bytes = b""  # the <value> element as received
    error: str = ""  # the failure message (plain text)
    fail_state: int | None = None  # the state id Coq says to go back to
    messages: tuple[str, ...] = ()  # error/warning messages sent as feedback before the answer
    notices: tuple[str, ...] = ()  # notice/info messages (the output of a Query), plain text

    @cached_property
    def payload(self) -> ET.Element | None:
        if not self.good:
            return None
        value = _xml(self.raw)
        return value[0] if len(value) else None

    def new_state_id(self) -> int:
        """The state id of a good ``Add`` answer (``<pair><state_id val=N/>...``), without XML parsing."""
        m = _ADD_SID.match(self.raw)
        if m is None:
            return parse_add(self.payload)
        return int(m.group(1))


_ADD_SID = re.compile(rb'<value val="good"><pair><state_id val="(\d+)"/>')


_SELF_CLOSED_VALUE = re.compile(rb"<value[^>]*/>")


def find_answer_end(buf: bytes, start: int = 0) -> int:
    """Index just past the first complete ``<value ...>...</value>`` in ``buf``, or -1.

    ``start``: where to begin looking (a reader that appends chunks need not rescan what it
    already looked at; it passes a little before the old end, so a tag split across chunks is
    still found).
    """
    k = buf.find(b"</value>", start)
    if k >= 0:
        return k + 8
    v = buf.find(b"<value", max(0, start - 64))
    if v < 0:  # the common case while feedback streams in: no value yet
        return -1
    m = _SELF_CLOSED_VALUE.search(buf, v)
    return m.end() if m else -1


def parse_answer(chunk: bytes) -> Answer:
    """Parse the feedback and the final ``<value>`` that make up one answer.

    Only the ``<value>`` element and message feedback are parsed as XML: the bulk of most answers
    is "processing"/"processed" feedback, skipped without parsing (this is the hot path).
    """
    cut = chunk.rfind(b"<value")
    if cut < 0:
        raise ProtocolError(f"answer without <value>: {chunk[:300]!r}")
    raw = chunk[cut:]
    good = raw.startswith(b'<value val="good"')
    messages: list[str] = []
    notices: list[str] = []
    feedback = chunk[:cut]
    if b'feedback_content val="message"' in feedback:
        for fb in _xml(b"<root>" + feedback + b"</root>").iter("feedback"):
            content = fb.find("feedback_content")
            msg = content.find("message") if content is not None and content.get("val") == "message" else None
            if msg is None:
                continue
            level = msg.find("message_level")
            pp = msg.find("richpp")
            lvl = level.get("val") if level is not None else "?"
            if lvl in ("error", "warning") and pp is not None:
                messages.append(f"{lvl}: {richpp_text(pp)}")
            elif lvl in ("notice", "info") and pp is not None:
                notices.append(richpp_text(pp))
    if good:
        return Answer(True, raw, messages=tuple(messages), notices=tuple(notices))
    value = _xml(raw)
    sid = value.find("state_id")
    pp = value.find("richpp")
    err = richpp_text(pp) if pp is not None else "".join(value.itertext())
    return Answer(
        False,
        raw,
        error=err.strip(),
        fail_state=int(sid.get("val")) if sid is not None else None,
        messages=tuple(messages),
        notices=tuple(notices),
    )


def _xml(data: bytes) -> ET.Element:
    text = data.decode("utf-8", errors="replace")
    for bad, good in _ENTITY_FIXES.items():
        text = text.replace(bad, good)
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ProtocolError(f"unreadable answer from coqidetop: {exc}: {text[:300]!r}") from exc


def richpp_text(elem: ET.Element) -> str:
    """The plain text of a richpp element (markup dropped, non-breaking spaces made plain)."""
    return "".join(elem.itertext()).replace("\u00a0", " ")


def state_id_of(elem: ET.Element | None) -> int:
    if elem is None or elem.tag != "state_id":
        raise ProtocolError(f"expected a state_id, got {None if elem is None else elem.tag}")
    return int(elem.get("val"))


def parse_add(payload: ET.Element) -> int:
    """The new state id from an ``Add`` answer: ``<pair><state_id/><union .../></pair>``."""
    if payload is None or payload.tag != "pair":
        raise ProtocolError("malformed Add answer")
    return state_id_of(payload[0])


@dataclass(frozen=True)
class Goals:
    """What ``Goal`` returned: focused goals, goals hidden by bullets/braces, shelved, given up."""

    focused: tuple[Goal, ...]
    unfocused: tuple[Goal, ...]
    shelved: tuple[Goal, ...]
    given_up: tuple[Goal, ...]

    # Both are computed once per object: goals_of memoises Goals on the answer's bytes, so a
    # state that recurs in a search is rendered once.
    @cached_property
    def hidden(self) -> tuple[Goal, ...]:
        """Goals that are there but not in focus (hidden by bullets or braces, or shelved)."""
        return self.unfocused + self.shelved

    @cached_property
    def _text(self) -> str:
        return render_goals(self.focused, self.hidden)

    def text(self) -> str:
        """The state as nesy shows it everywhere: what the environment hands to search and
        generators, and what tracing records for training (one rendering, so a model reads at
        proving time the text it was trained on)."""
        return self._text


_GOAL_ID = re.compile(rb"<goal><string>[^<]*</string>")


def goals_of(answer: Answer) -> Goals | None:
    """The goals of a good ``Goal`` answer.

    Memoised on the answer's bytes with Coq's internal goal ids blanked (nesy's goals do not
    carry them): equal proof states come back again and again in a search.
    """
    return _goals_from_raw(_GOAL_ID.sub(b"<goal><string></string>", answer.raw))


@lru_cache(maxsize=1 << 12)
def _goals_from_raw(raw: bytes) -> Goals | None:
    value = _xml(raw)
    return parse_goals(value[0] if len(value) else None)


def parse_goals(payload: ET.Element | None) -> Goals | None:
    """``<option val="some"><goals>...</goals></option>`` → :class:`Goals`; ``none`` → None."""
    if payload is None or payload.tag != "option":
        raise ProtocolError("malformed Goal answer")
    if payload.get("val") == "none":
        return None
    goals = payload.find("goals")
    if goals is None or len(goals) < 4:
        raise ProtocolError("malformed goals")
    focused = tuple(_goal(g) for g in goals[0])
    unfocused: list[Goal] = []
    for pair in goals[1]:  # list of (before, after) pairs of goal lists, innermost first
        for side in pair:
            unfocused.extend(_goal(g) for g in side)
    shelved = tuple(_goal(g) for g in goals[2])
    given_up = tuple(_goal(g) for g in goals[3])
    return Goals(focused, tuple(unfocused), shelved, given_up)


def _goal(elem: ET.Element) -> Goal:
    # <goal><string>id</string><list>richpp*</list><richpp>ccl</richpp>[<option>name</option>]</goal>
    hyps = tuple(parse_hypothesis(richpp_text(h)) for h in elem[1])
    ccl = richpp_text(elem[2])
    name = None
    if len(elem) > 3 and elem[3].tag == "option" and elem[3].get("val") == "some":
        name = "".join(elem[3].itertext()) or None
    return Goal(hyps, _squash(ccl), name)


def _squash(text: str) -> str:
    """Coq breaks long lines at its margin; the layout carries no meaning, so normalise it."""
    return " ".join(text.split())


_DEFINED_HYP = re.compile(r"^([^:=]+?)\s*:=\s*(.*)$")


@lru_cache(maxsize=1 << 14)
def parse_hypothesis(text: str) -> Hypothesis:
    """``x, y : R`` or ``f := fun x => x : nat -> nat`` → :class:`Hypothesis`.

    Memoised: the same hypotheses appear in state after state of a proof search.
    """
    text = _squash(text)
    body = None
    m = _DEFINED_HYP.match(text) if ":=" in text else None
    if m:
        names, rest = m.group(1), m.group(2)
        body, _, typ = _split_top_colon(rest)
    else:
        names, _, typ = text.partition(" : ")
    return Hypothesis(tuple(n.strip() for n in names.split(",")), typ.strip(), body.strip() if body else None)


def _split_top_colon(text: str) -> tuple[str, str, str]:
    """Split ``body : type`` at the last top-level `` : `` (bodies may hold typed binders)."""
    depth = 0
    cut = -1
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == ":" and depth == 0 and text[i - 1 : i] == " " and text[i + 1 : i + 2] == " ":
            cut = i
    if cut < 0:
        return text, "", ""
    return text[:cut].strip(), ":", text[cut + 1 :].strip()
