"""The LeanDojo Benchmark layout: the single place that knows its files and fields.

A dataset directory holds::

    corpus.jsonl                       one JSON object per source file
    random/{train,val,test}.json       a JSON list of traced theorems per part
    novel_premises/{train,val,test}.json
    metadata.json                      optional (LeanDojo writes one; so do we)

``corpus.jsonl`` lines are ``{"path": str, "imports": [str], "premises": [{"full_name": str,
"code": str, "start": [line, col], "end": [line, col], "kind": str}]}``; ``imports`` names other
``path`` values of the same corpus (direct imports only). A theorem is ``{"url", "commit",
"file_path", "full_name", "theorem_statement"?, "start", "end", "traced_tactics": [{"tactic",
"annotated_tactic": [text with <a>name</a> marks, [{"full_name", "def_path", "def_pos",
"def_end_pos"}]], "state_before", "state_after"}]}``. Positions are 1-based ``[line, column]``
pairs, as in LeanDojo Benchmark 4, whose published files these readers read unchanged.

Readers turn every malformed line into a :class:`~retrieval.errors.DatasetFormatError` naming the
file and line. Writers go through :mod:`nesyrun.files`, so no half-written file is ever left;
:func:`write_layout` additionally marks the directory ``.incomplete`` until every file is in
place, and readers refuse a directory carrying that marker. This module only reads and writes
the format: building a dataset (checking the corpus, computing the splits) is
:mod:`retrieval.building`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from nesyrun.files import atomic_writer, sha256_file
from retrieval.errors import DatasetFormatError, IncompleteDatasetError

SPLIT_NAMES = ("random", "novel_premises")
PART_NAMES = ("train", "val", "test")
CORPUS_FILE = "corpus.jsonl"
METADATA_FILE = "metadata.json"
MANIFEST_FILE = "nesy_manifest.json"
INCOMPLETE_MARKER = ".incomplete"
MANIFEST_FORMAT = 1

MARK_START = "<a>"
MARK_END = "</a>"
_MARK_RE = re.compile(re.escape(MARK_START) + r"(.*?)" + re.escape(MARK_END), re.DOTALL)


class Pos(NamedTuple):
    """A 1-based ``(line, column)`` position; tuples order positions in reading order."""

    line: int
    column: int


@dataclass(frozen=True)
class Premise:
    """A retrievable declaration (lemma, definition, ...) of one source file.

    ``code`` is its statement as written (no proof); ``start <= end`` span its declaration in
    ``path``. Two premises are equal when path, name and span agree.
    """

    full_name: str
    path: str
    code: str = field(compare=False)
    start: Pos
    end: Pos
    kind: str = field(default="", compare=False)


@dataclass(frozen=True)
class CorpusFile:
    """One line of ``corpus.jsonl``: a source file, its direct imports and its premises in order."""

    path: str
    imports: tuple[str, ...]
    premises: tuple[Premise, ...]


@dataclass(frozen=True)
class CorpusData:
    """What :func:`read_corpus` returns: the files, and how many ill-formed premises it skipped
    (no name, an empty statement, or a LeanDojo mutual block named ``[a, b]``)."""

    files: tuple[CorpusFile, ...]
    skipped_premises: int = 0


@dataclass(frozen=True)
class Provenance:
    """Where a name used by a tactic is defined: ``def_pos <= ... <= def_end_pos`` in ``def_path``."""

    full_name: str
    def_path: str
    def_pos: Pos
    def_end_pos: Pos


@dataclass(frozen=True)
class AnnotatedTactic:
    """A tactic with every premise it names wrapped as ``<a>name</a>``, one provenance per mark."""

    text: str
    provenances: tuple[Provenance, ...]

    @property
    def marked_names(self) -> tuple[str, ...]:
        """The names between ``<a>`` and ``</a>``, in order."""
        return tuple(m.group(1) for m in _MARK_RE.finditer(self.text))

    @property
    def plain_text(self) -> str:
        """The tactic text with the marks removed."""
        return self.text.replace(MARK_START, "").replace(MARK_END, "")


@dataclass(frozen=True)
class TracedTactic:
    """One tactic step of a proof, with the goal states around it."""

    tactic: str
    annotated_tactic: AnnotatedTactic
    state_before: str
    state_after: str


@dataclass(frozen=True)
class TracedTheorem:
    """A theorem of ``file_path`` spanning ``start..end`` and the tactics of its proof.

    ``url``/``commit`` identify the source repository (LeanDojo fills them; a local Coq library
    may leave them empty); ``theorem_statement`` is present in recent LeanDojo releases only.
    """

    full_name: str
    file_path: str
    start: Pos
    end: Pos
    traced_tactics: tuple[TracedTactic, ...]
    url: str = ""
    commit: str = ""
    theorem_statement: str | None = None


# --------------------------------------------------------------------------------------------
# JSON <-> dataclasses


class _Where:
    """A file and line, for error messages."""

    def __init__(self, path: str | Path, line: int | None = None, prefix: str = "") -> None:
        self.path, self.line, self.prefix = path, line, prefix

    def error(self, message: str) -> DatasetFormatError:
        return DatasetFormatError(self.path, self.prefix + message, self.line)


_POS_STR = re.compile(r"^\s*(?:Pos)?\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)\s*$")


def _pos(value: Any, what: str, where: _Where) -> Pos:
    """``[line, col]`` (also ``"(line, col)"`` / ``"Pos(line, col)"``, as some LeanDojo versions write)."""
    if isinstance(value, str):
        match = _POS_STR.match(value)
        if match:
            return Pos(int(match.group(1)), int(match.group(2)))
    elif isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        return Pos(int(value[0]), int(value[1]))
    raise where.error(f"{what} must be a [line, column] pair of integers, got {value!r}")


def _str(obj: dict, key: str, where: _Where, *, default: str | None = None, context: str = "") -> str:
    if key not in obj:
        if default is not None:
            return default
        raise where.error(f"missing field {key!r}{context}")
    value = obj[key]
    if not isinstance(value, str):
        raise where.error(f"field {key!r}{context} must be a string, got {type(value).__name__}")
    return value


def _list(obj: dict, key: str, where: _Where, context: str = "") -> list:
    if key not in obj:
        raise where.error(f"missing field {key!r}{context}")
    value = obj[key]
    if not isinstance(value, list):
        raise where.error(f"field {key!r}{context} must be a list, got {type(value).__name__}")
    return value


def _is_ill_formed_premise(raw: dict) -> bool:
    name = raw.get("full_name")
    return (
        name is None
        or (isinstance(name, str) and name.startswith("[") and name.endswith("]"))
        or raw.get("code") == ""
    )


def corpus_file_from_json(obj: Any, where: _Where) -> tuple[CorpusFile, int]:
    """Parse one ``corpus.jsonl`` object; returns the file and the number of premises skipped."""
    if not isinstance(obj, dict):
        raise where.error(f"expected a JSON object, got {type(obj).__name__}")
    path = _str(obj, "path", where)
    imports = _list(obj, "imports", where)
    if not all(isinstance(i, str) for i in imports):
        raise where.error(f"'imports' of {path} must be a list of strings")
    premises: list[Premise] = []
    skipped = 0
    for k, raw in enumerate(_list(obj, "premises", where)):
        ctx = f" in premise #{k} of {path}"
        if not isinstance(raw, dict):
            raise where.error(f"premise #{k} of {path} must be an object")
        if _is_ill_formed_premise(raw):
            skipped += 1
            continue
        start = _pos(raw.get("start"), f"'start'{ctx}", where)
        end = _pos(raw.get("end"), f"'end'{ctx}", where)
        if end < start:
            raise where.error(f"'end' {list(end)} is before 'start' {list(start)}{ctx}")
        premises.append(
            Premise(
                full_name=_str(raw, "full_name", where, context=ctx),
                path=path,
                code=_str(raw, "code", where, context=ctx),
                start=start,
                end=end,
                kind=_str(raw, "kind", where, default="", context=ctx),
            )
        )
    return CorpusFile(path=path, imports=tuple(imports), premises=tuple(premises)), skipped


def corpus_file_to_json(cf: CorpusFile) -> dict:
    return {
        "path": cf.path,
        "imports": list(cf.imports),
        "premises": [
            {
                "full_name": p.full_name,
                "code": p.code,
                "start": list(p.start),
                "end": list(p.end),
                "kind": p.kind,
            }
            for p in cf.premises
        ],
    }


def _provenance(raw: Any, where: _Where, ctx: str) -> Provenance:
    if not isinstance(raw, dict):
        raise where.error(f"provenance{ctx} must be an object")
    return Provenance(
        full_name=_str(raw, "full_name", where, context=ctx),
        def_path=_str(raw, "def_path", where, context=ctx),
        def_pos=_pos(raw.get("def_pos"), f"'def_pos'{ctx}", where),
        def_end_pos=_pos(raw.get("def_end_pos"), f"'def_end_pos'{ctx}", where),
    )


def theorem_from_json(obj: Any, where: _Where) -> TracedTheorem:
    """Parse one theorem object of a split file."""
    if not isinstance(obj, dict):
        raise where.error(f"expected a theorem object, got {type(obj).__name__}")
    name = _str(obj, "full_name", where)
    ctx_thm = f" of theorem {name}"
    tactics: list[TracedTactic] = []
    for i, raw in enumerate(_list(obj, "traced_tactics", where, ctx_thm)):
        ctx = f" in tactic #{i} of theorem {name}"
        if not isinstance(raw, dict):
            raise where.error(f"tactic #{i} of theorem {name} must be an object")
        annotated = raw.get("annotated_tactic")
        if not (isinstance(annotated, list) and len(annotated) == 2 and isinstance(annotated[0], str)
                and isinstance(annotated[1], list)):
            raise where.error(f"'annotated_tactic'{ctx} must be [text, [provenance, ...]]")
        tactics.append(
            TracedTactic(
                tactic=_str(raw, "tactic", where, context=ctx),
                annotated_tactic=AnnotatedTactic(
                    annotated[0], tuple(_provenance(p, where, ctx) for p in annotated[1])
                ),
                state_before=_str(raw, "state_before", where, context=ctx),
                state_after=_str(raw, "state_after", where, context=ctx),
            )
        )
    statement = obj.get("theorem_statement")
    if statement is not None and not isinstance(statement, str):
        raise where.error(f"'theorem_statement'{ctx_thm} must be a string")
    start = _pos(obj.get("start"), f"'start'{ctx_thm}", where)
    end = _pos(obj.get("end"), f"'end'{ctx_thm}", where)
    return TracedTheorem(
        full_name=name,
        file_path=_str(obj, "file_path", where, context=ctx_thm),
        start=start,
        end=end,
        traced_tactics=tuple(tactics),
        url=_str(obj, "url", where, default="", context=ctx_thm),
        commit=_str(obj, "commit", where, default="", context=ctx_thm),
        theorem_statement=statement,
    )


def theorem_to_json(thm: TracedTheorem) -> dict:
    out: dict[str, Any] = {"url": thm.url, "commit": thm.commit, "file_path": thm.file_path,
                           "full_name": thm.full_name}
    if thm.theorem_statement is not None:
        out["theorem_statement"] = thm.theorem_statement
    out["start"] = list(thm.start)
    out["end"] = list(thm.end)
    out["traced_tactics"] = [
        {
            "tactic": t.tactic,
            "annotated_tactic": [
                t.annotated_tactic.text,
                [
                    {"full_name": p.full_name, "def_path": p.def_path,
                     "def_pos": list(p.def_pos), "def_end_pos": list(p.def_end_pos)}
                    for p in t.annotated_tactic.provenances
                ],
            ],
            "state_before": t.state_before,
            "state_after": t.state_after,
        }
        for t in thm.traced_tactics
    ]
    return out


# --------------------------------------------------------------------------------------------
# Files


def read_corpus(path: str | Path) -> CorpusData:
    """Read a ``corpus.jsonl``; a malformed line raises DatasetFormatError naming its line.

    Blank lines are ignored. Duplicate file paths are an error. Import targets are checked by
    :class:`retrieval.corpus.PremiseCorpus`, which also checks that imports form no cycle.
    """
    path = Path(path)
    _check_readable(path)
    files: list[CorpusFile] = []
    seen: set[str] = set()
    skipped = 0
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = _Where(path, lineno)
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise where.error(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
            cf, n_skipped = corpus_file_from_json(obj, where)
            if cf.path in seen:
                raise where.error(f"file {cf.path!r} appears twice in the corpus")
            seen.add(cf.path)
            files.append(cf)
            skipped += n_skipped
    return CorpusData(files=tuple(files), skipped_premises=skipped)


def write_corpus(path: str | Path, files: Iterable[CorpusFile]) -> int:
    """Write ``corpus.jsonl`` atomically, one file per line; returns the number of lines."""
    count = 0
    with atomic_writer(path) as handle:
        for cf in files:
            handle.write(json.dumps(corpus_file_to_json(cf), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_theorems(path: str | Path) -> tuple[TracedTheorem, ...]:
    """Read one split part (a JSON list of theorems), as LeanDojo publishes it or we write it."""
    path = Path(path)
    _check_readable(path)
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", exc.lineno) from exc
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(path, f"not UTF-8 text ({exc.reason})") from exc
    if not isinstance(data, list):
        raise DatasetFormatError(path, f"expected a JSON list of theorems, got {type(data).__name__}")
    # The JSON parser does not keep line numbers of list items: name the theorem's index instead.
    return tuple(theorem_from_json(obj, _Where(path, None, f"theorem #{i}: ")) for i, obj in enumerate(data))


def write_theorems(path: str | Path, theorems: Iterable[TracedTheorem]) -> int:
    """Write a JSON list of theorems atomically, one theorem per line; returns how many."""
    count = 0
    with atomic_writer(path) as handle:
        handle.write("[")
        for thm in theorems:
            handle.write(",\n" if count else "\n")
            handle.write(json.dumps(theorem_to_json(thm), ensure_ascii=False))
            count += 1
        handle.write("\n]\n")
    return count


def _check_readable(path: Path) -> None:
    if not path.is_file():
        raise DatasetFormatError(path, "file not found")
    markers = [path.parent / INCOMPLETE_MARKER]
    if path.parent.name in SPLIT_NAMES:
        markers.append(path.parent.parent / INCOMPLETE_MARKER)
    for m in markers:
        if m.exists():
            raise IncompleteDatasetError(
                path, f"the dataset writer did not finish ({m} exists); rerun the tracer"
            )


# --------------------------------------------------------------------------------------------
# Dataset directories


@dataclass(frozen=True)
class Dataset:
    """A dataset directory: its corpus and the location of its split files."""

    root: Path

    @property
    def corpus_path(self) -> Path:
        return self.root / CORPUS_FILE

    def part_path(self, split: str, part: str) -> Path:
        if split not in SPLIT_NAMES and not (self.root / split).is_dir():
            raise DatasetFormatError(self.root, f"unknown split {split!r}; known: {', '.join(SPLIT_NAMES)}")
        if part not in PART_NAMES:
            raise DatasetFormatError(self.root, f"unknown part {part!r}; known: {', '.join(PART_NAMES)}")
        return self.root / split / f"{part}.json"

    def read_corpus(self) -> CorpusData:
        return read_corpus(self.corpus_path)

    def read_part(self, split: str, part: str) -> tuple[TracedTheorem, ...]:
        return read_theorems(self.part_path(split, part))


def open_dataset(root: str | Path) -> Dataset:
    """Open a dataset directory (ours or a LeanDojo Benchmark 4 download) for reading.

    Raises DatasetFormatError when ``corpus.jsonl`` is absent, IncompleteDatasetError when a
    writer did not finish, and, for directories written by :func:`write_layout`, when a file's
    size or checksum differs from the manifest.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetFormatError(root, "dataset directory not found")
    if (root / INCOMPLETE_MARKER).exists():
        raise IncompleteDatasetError(root, "the dataset writer did not finish (.incomplete marker present); rerun it")
    ds = Dataset(root)
    if not ds.corpus_path.is_file():
        raise DatasetFormatError(root, f"no {CORPUS_FILE} in this directory (expected the LeanDojo Benchmark layout)")
    manifest = root / MANIFEST_FILE
    if manifest.is_file():
        _verify_manifest(root, manifest)
    return ds


def _verify_manifest(root: Path, manifest: Path) -> None:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not an object")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DatasetFormatError(manifest, f"malformed manifest ({exc})") from exc
    for rel, meta in files.items():
        path = root / rel
        if not path.is_file():
            raise DatasetFormatError(path, "listed in the manifest but missing")
        if path.stat().st_size != meta.get("bytes"):
            raise DatasetFormatError(path, f"size {path.stat().st_size} differs from the manifest's {meta.get('bytes')}; the file was changed or truncated")
        if sha256_file(path) != meta.get("sha256"):
            raise DatasetFormatError(path, "checksum differs from the manifest; the file was changed or corrupted")


def write_layout(
    root: str | Path,
    files: Sequence[CorpusFile],
    splits: dict[str, dict[str, Sequence[TracedTheorem]]],
    metadata: dict | None = None,
) -> dict[str, int]:
    """Write a complete directory in the LeanDojo Benchmark layout, atomically per file.

    ``splits`` maps split name -> part -> theorems. While writing, ``root/.incomplete`` exists,
    so readers refuse the directory; it is removed after ``nesy_manifest.json`` (sizes and
    sha256 of every file) is in place. A crash part-way therefore never leaves a dataset that a
    later run would trust. Returns the number of theorems written per part file. Deciding what
    goes into the splits, and checking the corpus, is :mod:`retrieval.building`'s job.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    marker = root / INCOMPLETE_MARKER
    marker.write_text("written by retrieval.dataset.write_layout; removed when complete\n", encoding="utf-8")
    (root / MANIFEST_FILE).unlink(missing_ok=True)
    written: dict[str, dict] = {}

    def _record(rel: str) -> None:
        p = root / rel
        written[rel] = {"bytes": p.stat().st_size, "sha256": sha256_file(p)}

    write_corpus(root / CORPUS_FILE, files)
    _record(CORPUS_FILE)
    part_sizes: dict[str, int] = {}
    for split_name, parts in splits.items():
        for part in PART_NAMES:
            rel = f"{split_name}/{part}.json"
            part_sizes[rel] = write_theorems(root / rel, parts.get(part, ()))
            _record(rel)
    meta = {"format": "LeanDojo Benchmark layout", "written_by": "nesy", **(metadata or {})}
    with atomic_writer(root / METADATA_FILE) as handle:
        json.dump(meta, handle, indent=2, ensure_ascii=False, default=str)
    _record(METADATA_FILE)
    with atomic_writer(root / MANIFEST_FILE) as handle:
        json.dump({"format": MANIFEST_FORMAT, "files": written}, handle, indent=2)
    marker.unlink()
    return part_sizes
