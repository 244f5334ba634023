"""Load a protocol file: YAML -> typed models -> cross-checks, with every problem at its line and column."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .models import Protocol, did_you_mean, explain_date, shown_on_one_line
from .source import Path, Position, Source, SourceError, read_source


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or doubtful, for a warning) with a protocol file."""

    filename: str
    line: int
    column: int
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.filename}:{self.line}:{self.column}: {label}{where}{self.message}"


@dataclass
class LoadResult:
    protocol: Protocol | None
    problems: list[Problem] = field(default_factory=list)
    source: Source | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.protocol is not None and not self.errors


class ProtocolInvalid(Exception):
    """Raised by ``load_protocol_or_raise``; ``problems`` has every error."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def format_path(path: Path) -> str:
    """``("sla", "policies", 1, "targets")`` -> ``sla.policies[1].targets``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # A key holding a line break would split the problem's one line in two.
            name = shown_on_one_line(str(part))
            out += f".{name}" if out else name
    return out


def load_protocol(text: str, filename: str = "<protocol>") -> LoadResult:
    """Parse, validate and cross-check a protocol file. Never raises for bad input.

    Every schema error is reported at once, and the cross-checks run even then whenever they
    safely can: the values and keys the schema refused are set aside (see ``_set_aside``) and
    the rest is cross-checked, so that an unknown key under ``sla`` does not hide a broken
    reference in ``team`` until the next run.
    """
    try:
        source = read_source(text, filename)
    except SourceError as exc:
        problem = Problem(filename, exc.position.line, exc.position.column, "", exc.message)
        return LoadResult(None, [problem])
    problems = [_duplicate_key(source, path, position) for path, position in source.duplicate_keys]
    if not isinstance(source.data, dict):
        problems.append(Problem(filename, 1, 1, "", _not_a_mapping(source.data)))
        return LoadResult(None, problems, source)
    try:
        protocol = Protocol.model_validate(source.data)
    except ValidationError as exc:
        problems.extend(_schema_problems(source, exc))
        problems.extend(_partial_cross_check(source, exc))
        return LoadResult(None, _sorted(problems), source)
    problems.extend(_cross_check(source, protocol))
    result = LoadResult(protocol, _sorted(problems), source)
    if result.errors:
        result.protocol = None
    return result


def _cross_check(source: Source, protocol: Protocol) -> list[Problem]:
    from .checks import cross_check  # imported late: checks imports models too

    return [
        _problem(source, path, message, severity=severity)
        for path, message, severity in cross_check(protocol)
    ]


# How many times values are set aside and the rest validated again: each round can only reach
# one level further up (a required value set aside makes its parent incomplete, and so on).
_ROUNDS = 6
# Required values that no check reads: when one is refused, this stands in for it.
_STAND_INS: dict[str, object] = {
    "format": 1,
    "company": "-",
    "title": "-",
    "version": "-",
    "introduction": {"purpose": "-", "scope": "-"},
}


def _partial_cross_check(source: Source, exc: ValidationError) -> list[Problem]:
    """Cross-check what is sound when the schema refused part of the file.

    Exactly what the schema refused is set aside: an unknown key, a bad value, an item or a
    mapping that lacks a required key. When that leaves a required value missing, its parent
    is set aside in turn, for a few rounds. If what remains is a protocol, it is cross-checked,
    and a finding is reported unless it stands where something was set aside (or around it:
    a calendar whose bad timezone was set aside "needs a timezone" only because of that).
    References to items that were set aside are not findings either: the file has them.
    """
    from .checks import REFERENCED, cross_check  # imported late: checks imports models too

    assert isinstance(source.data, dict)
    aside: set[Path] = set()
    unknown: set[Path] = set()  # unknown keys: setting them aside changes nothing the checks see
    errors = exc.errors(include_url=False)
    kept: dict[Path, list[int]] = {}
    stand_ins: dict[str, object] = {}
    for _ in range(_ROUNDS):
        found = set()
        new_stand_ins = False
        for error in errors:
            loc = _clean_loc(error["loc"])
            if error["type"] == "missing" and len(loc) == 1 and loc[0] in _STAND_INS:
                new_stand_ins |= loc[0] not in stand_ins
                stand_ins[str(loc[0])] = _STAND_INS[str(loc[0])]
                continue
            path = _set_aside(source.data, _unprune(source.data, _error_path(error), kept))
            if not path:
                return []  # the file as a whole is wrong (a required section is missing): nothing to check
            found.add(path)
            if error["type"] == "extra_forbidden":
                unknown.add(path)
        if found <= aside and not new_stand_ins:
            return []  # no progress: what the schema refuses cannot be set aside
        aside |= found
        kept = {}
        data = _pruned(source.data, (), aside, _prefixes(aside), kept)
        assert isinstance(data, dict)
        data = {**data, **stand_ins}
        try:
            protocol = Protocol.model_validate(data)
        except ValidationError as again:
            errors = again.errors(include_url=False)
            continue
        break
    else:
        return []
    # A misspelt section ('escalations') is there in the author's mind: checks that ask whether
    # a section exists must not then complain that 'escalation' is missing.
    sections = {str(path[0]) for path in aside if len(path) == 1}
    meant = {
        close
        for key in sections
        for close in difflib.get_close_matches(key, list(Protocol.model_fields), n=1)
    }
    lost: dict[str, set[str] | None] = {}
    for what, list_path in REFERENCED.items():
        for path in aside:
            ids = lost.setdefault(what, set())
            if ids is None:
                continue
            if list_path[: len(path)] == path:
                lost[what] = None  # the whole list is set aside
            elif path[: len(list_path)] == list_path and len(path) > len(list_path):
                item = _at(source.data, path[: len(list_path) + 1])
                item_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(item_id, str) and path[len(list_path) + 1 :] != ("id",):
                    ids.add(item_id)
                else:  # the id itself was refused ('Agent'): references to it may be spelt any way
                    lost[what] = None
    problems = []
    refused = aside - unknown
    findings = cross_check(protocol, skipped=frozenset(sections | meant), lost=lost, aside=refused)
    for path, message, severity in findings:
        original = _unprune(source.data, path, kept)
        if any(_related(original, gone) for gone in refused):
            continue
        problems.append(_problem(source, original, message, severity=severity))
    return problems


def _error_path(error: Any) -> Path:
    """The path of the value (or key) a pydantic error is about, in the data's own terms."""
    path = _clean_loc(error["loc"])
    at = (error.get("ctx") or {}).get("at")
    if error["type"] == "charterdesk" and at is not None:
        path = (*path, str(at))
    if error["type"] == "missing":
        path = path[:-1]  # the mapping that lacks the key
    return path


def _set_aside(data: object, path: Path) -> Path:
    """The longest part of ``path`` that is in ``data``: what to set aside for an error at ``path``."""
    out: list[str | int] = []
    for part in path:
        if isinstance(data, dict):
            key = next((k for k in data if str(k) == str(part)), _MISSING)
            if key is _MISSING:
                break
            data = data[key]
            out.append(str(part))
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
            out.append(part)
        else:
            break
    return tuple(out)


_MISSING = object()


def _at(data: object, path: Path) -> object:
    for part in path:
        if isinstance(data, dict):
            data = next((v for k, v in data.items() if str(k) == str(part)), None)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _prefixes(paths: set[Path]) -> set[Path]:
    return {path[:length] for path in paths for length in range(len(path) + 1)}


def _pruned(
    value: object, path: Path, aside: set[Path], prefixes: set[Path], kept: dict[Path, list[int]]
) -> object:
    """``value`` without what is set aside; for each list that lost items, ``kept`` has the indices left."""
    if path not in prefixes:
        return value  # nothing below is set aside: the very same object will do
    if isinstance(value, dict):
        return {
            key: _pruned(item, (*path, str(key)), aside, prefixes, kept)
            for key, item in value.items()
            if (*path, str(key)) not in aside
        }
    if isinstance(value, list):
        indices = [index for index in range(len(value)) if (*path, index) not in aside]
        if len(indices) < len(value):
            kept[path] = indices
        return [_pruned(value[index], (*path, index), aside, prefixes, kept) for index in indices]
    return value


def _unprune(data: object, path: Path, kept: dict[Path, list[int]]) -> Path:
    """A path in the data with items set aside, as the same path in the whole file."""
    out: list[str | int] = []
    for part in path:
        if isinstance(data, list) and isinstance(part, int):
            indices = kept.get(tuple(out))
            index = indices[part] if indices is not None and part < len(indices) else part
            out.append(index)
            data = data[index] if 0 <= index < len(data) else None
        else:
            out.append(part)
            data = _at(data, (part,))
    return tuple(out)


def _related(path: Path, gone: Path) -> bool:
    """Whether a finding at ``path`` may be the doing of a value set aside at ``gone``: it is
    there, inside it, around it, or beside it in the same mapping (a subdivision whose country
    was set aside "needs a country")."""
    shorter = min(len(path), len(gone))
    if path[:shorter] == gone[:shorter]:
        return True
    # Top-level sections stand apart: a refused 'refunds' says nothing about 'team'.
    return len(gone) > 1 and isinstance(gone[-1], str) and path[: len(gone) - 1] == gone[:-1]


def _not_a_mapping(data: object) -> str:
    if data is None:
        return "the file is empty; a protocol file starts with format: 1, then company, title, version, ..."
    if isinstance(data, list):
        return (
            "the file is a list ('- ' items); a protocol file is a mapping of sections, "
            "starting with format: 1, then company: ..., title: ..."
        )
    return "the file is a single value; a protocol file is a mapping of sections, starting with format: 1"


def _duplicate_key(source: Source, path: Path, position: Position) -> Problem:
    first = source.first_keys.get(path)
    where = f" (first at line {first.line})" if first else ""
    message = (
        f"'{path[-1]}' is given twice in this mapping{where}; YAML keeps only the last one, so remove one"
    )
    return _problem(source, path, message, position)


def load_protocol_file(path: str | FilePath) -> LoadResult:
    file = FilePath(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadResult(None, [Problem(str(path), 1, 1, "", "no such file")])
    except IsADirectoryError:
        return LoadResult(None, [Problem(str(path), 1, 1, "", "a folder, not a protocol file")])
    except PermissionError:
        return LoadResult(None, [Problem(str(path), 1, 1, "", "not readable (permission denied)")])
    except UnicodeDecodeError as exc:
        return LoadResult(None, [Problem(str(path), 1, 1, "", f"not UTF-8 text ({exc.reason})")])
    return load_protocol(text, str(path))


def load_protocol_or_raise(text: str, filename: str = "<protocol>") -> Protocol:
    result = load_protocol(text, filename)
    if not result.ok:
        raise ProtocolInvalid(result.errors)
    assert result.protocol is not None
    return result.protocol


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.column, p.severity, p.message))


def _problem(
    source: Source,
    path: Path,
    message: str,
    position: Position | None = None,
    *,
    key: bool = False,
    severity: Literal["error", "warning"] = "error",
) -> Problem:
    position = position or source.position(path, key=key)
    return Problem(source.filename, position.line, position.column, format_path(path), message, severity)


# --------------------------------------------------------------------------- schema errors in plain words


def _schema_problems(source: Source, exc: ValidationError) -> list[Problem]:
    errors = exc.errors(include_url=False)
    described = []
    for error in errors:
        path = _clean_loc(error["loc"])
        message, at_key, path = _describe(error, path, source)
        described.append((error["type"], path, message, at_key))
    # "'purpose' is required" next to "unknown key 'purpse'; did you mean 'purpose'?" says the same
    # thing twice: keep the did-you-mean.
    suggested = {
        (path[:-1], message.rsplit("'", 2)[-2])
        for kind, path, message, _ in described
        if kind == "extra_forbidden" and "did you mean" in message
    }
    problems = []
    seen: set[tuple[Path, str]] = set()
    for kind, path, message, at_key in described:
        if kind == "missing" and (path[:-1], str(path[-1])) in suggested:
            continue
        if (path, message) in seen:
            continue
        seen.add((path, message))
        problems.append(_problem(source, path, message, key=at_key))
    return problems


def _clean_loc(loc: tuple[Any, ...]) -> Path:
    """pydantic adds the names of union members and validators to a location; keep only real keys."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int):
            out.append(part)
        elif isinstance(part, str) and ("[" in part or part in _UNION_TAGS):
            continue
        else:
            out.append(str(part))
    return tuple(out)


_UNION_TAGS = {
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "literal",
    "none",
    "date",
    "Duration",
    "function-after",
}
_BOOL_WORDS = {"true", "false", "True", "False", "TRUE", "FALSE"}


def _describe(error: Any, path: Path, source: Source) -> tuple[str, bool, Path]:
    """The message for one pydantic error, whether it belongs on the key, and the path it is about."""
    kind = error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    plain = source.plain.get(path)
    if value is None and kind != "missing" and path and path != ("format",) and not context.get("at"):
        # `key:` with nothing after it: YAML reads null, and "None is not a duration" helps nobody.
        return (
            f"'{path[-1]}' is empty; write its value after the colon, or its keys indented below it",
            False,
            path,
        )
    if kind == "charterdesk":
        at = context.get("at")
        if at is not None:
            path = (*path, at)
        if isinstance(value, (int, float)) and path == ("version",) and plain is not None:
            # YAML has already turned 3.10 into 3.1: quote back what the author wrote.
            return f'the version must be text in quotes: write version: "{plain}"', False, path
        if isinstance(value, bool) and plain is not None and plain not in _BOOL_WORDS:
            return _read_as_bool(plain, value), False, path
        return error["msg"], bool(context.get("key")), path
    if isinstance(value, bool) and plain is not None and plain not in _BOOL_WORDS and kind != "missing":
        return _read_as_bool(plain, value), False, path
    if path == ("format",):
        if kind == "missing":
            return "'format' is required: start the file with format: 1", False, path
        if value is None:
            return "format is empty; write format: 1 (this desk reads format 1 files)", False, path
        return (
            f"format must be 1: this desk reads format 1 files, and this one says {_show(value)}",
            False,
            path,
        )
    if kind == "missing":
        return f"'{path[-1]}' is required", False, path
    if kind == "extra_forbidden":
        return _unknown_key(path), True, path
    if kind in ("literal_error", "enum"):
        expected = context.get("expected", "").replace(chr(39), "")
        options = [option.strip() for option in expected.replace(" or ", ",").split(",") if option.strip()]
        hint = did_you_mean(value, options) if isinstance(value, str) else ""
        return (
            f"{_show(value)} is not allowed; use {expected}" + (f" ({hint[2:]})" if hint else ""),
            False,
            path,
        )
    if kind in ("string_type",):
        return f"{_show(value)} must be text", False, path
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{_show(value)} is not a whole number", False, path
    if kind in ("float_type", "float_parsing"):
        return f"{_show(value)} is not a number", False, path
    if kind in ("bool_type", "bool_parsing"):
        return f"{_show(value)} is not true or false", False, path
    if kind in ("list_type",):
        if isinstance(value, (str, int, float)):
            item = plain if plain is not None else f'"{value}"'
            return f"must be a list, even of one item: write [{item}]", False, path
        return f"{_show(value)} must be a list (one '- item' a line, or [a, b])", False, path
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{_show(value)} must be a mapping of keys to values (key: value, one a line)", False, path
    if kind.startswith("date_") or kind == "datetime_type":
        return explain_date(plain if plain is not None else value), False, path
    if kind == "too_short":
        return "must not be empty", False, path
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(context.values()), "")
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        return f"{_show(value)} must be {words} {bound}", False, path
    if kind == "string_pattern_mismatch":
        return f"{_show(value)} is not in the expected form", False, path
    if kind == "value_error":
        return str(context.get("error", error["msg"])), False, path
    return error["msg"], False, path


def _read_as_bool(plain: str, value: bool) -> str:
    word = "true" if value else "false"
    return f'YAML reads {plain} as {word}; put it in quotes to mean the text: "{plain}"'


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"'{value}'"


def _unknown_key(path: Path) -> str:
    name = str(path[-1])
    known = _known_keys(path[:-1])
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{name}'{hint}"


def _known_keys(parent: Path) -> list[str]:
    """The keys the schema allows at ``parent``, for a did-you-mean hint."""
    model: Any = Protocol
    for part in parent:
        if isinstance(part, int):
            continue
        field_info = getattr(model, "model_fields", {}).get(part)
        if field_info is None:
            return []
        model = _inner_model(field_info.annotation)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
