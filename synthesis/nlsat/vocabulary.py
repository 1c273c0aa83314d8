"""Vocabulary for rendering: entity names and attributes (adjectives), read from data files.

Files hold one word per line; blank lines and lines starting with ``#`` are ignored. Names are
capitalised words (``Bob``), attributes lower-case adjectives (``big``). Words that would clash
with the fragments' function words (``is``, ``not``, ``every``, ...) are rejected.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from synthesis.errors import ConfigError

RESERVED = frozenset(
    "a an and all every person people who is are not no or if then some x it they the".split()
)
NAME = re.compile(r"[A-Z][a-z]+\Z")
ADJECTIVE = re.compile(r"[a-z]+\Z")


@dataclass(frozen=True)
class Vocabulary:
    """Entity names and attributes; both non-empty, without duplicates or reserved words."""

    names: tuple[str, ...]
    adjectives: tuple[str, ...]

    def fingerprint(self) -> str:
        text = "names:" + ",".join(self.names) + ";adjectives:" + ",".join(self.adjectives)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def capacity(self) -> int:
        """How many distinct (entity, attribute) facts there are."""
        return len(self.names) * len(self.adjectives)


def _read_words(text: str, source: str, pattern: re.Pattern, kind: str) -> tuple[str, ...]:
    words: list[str] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        word = raw.strip()
        if not word or word.startswith("#"):
            continue
        if not pattern.match(word):
            raise ConfigError(f"{source}:{lineno}: {word!r} is not a {kind}")
        if word.lower() in RESERVED:
            raise ConfigError(f"{source}:{lineno}: {word!r} is a reserved word of the NL fragments")
        if word in seen:
            raise ConfigError(f"{source}:{lineno}: duplicate word {word!r}")
        seen.add(word)
        words.append(word)
    if not words:
        raise ConfigError(f"{source}: empty vocabulary (no {kind}s)")
    return tuple(words)


def load_vocabulary(names_file: str | None = None, adjectives_file: str | None = None) -> Vocabulary:
    """Read the vocabulary: the given files, or the built-in ones in ``synthesis/nlsat/data``."""

    def read(path: str | None, default: str) -> tuple[str, str]:
        if path is None:
            return resources.files("synthesis.nlsat").joinpath("data", default).read_text(), f"<built-in {default}>"
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"vocabulary file not found: {p}")
        try:
            return p.read_bytes().decode("utf-8"), str(p)
        except OSError as exc:
            raise ConfigError(f"cannot read vocabulary file {p}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"vocabulary file {p} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None

    names_text, names_src = read(names_file, "names.txt")
    adj_text, adj_src = read(adjectives_file, "adjectives.txt")
    names = _read_words(names_text, names_src, NAME, "capitalised name (like Bob)")
    adjectives = _read_words(adj_text, adj_src, ADJECTIVE, "lower-case adjective (like big)")
    return Vocabulary(names, adjectives)
