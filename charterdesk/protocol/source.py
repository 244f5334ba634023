"""YAML that remembers where every key and value stood in the file.

PyYAML's composer gives each node a start mark; we build plain Python data from
the node tree ourselves and keep, for every path (``("sla", "policies", 1,
"targets")``), the line and column of its key and of its value. Errors found
later, by the schema or the cross-checks, are then reported at that place.
Duplicate keys, which YAML would silently let the last one win, are errors.

Two YAML habits are softened here so that the schema can explain them in the
author's terms: a plain scalar that looks like a date but is not one
(``2026-13-01``) stays text, and the original text of every plain scalar is
kept (``plain``), so that ``NO`` read as false or ``3.10`` read as 3.1 can be
quoted back exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

try:  # the C loader is much faster when libyaml is present; both compose the same nodes
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based, as editors show them
    column: int  # 1-based


@dataclass
class Source:
    """The parsed data of one file and where each part of it came from."""

    filename: str
    text: str
    data: object
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, Position]] = field(default_factory=list)
    # For each duplicated key, where it first stood.
    first_keys: dict[Path, Position] = field(default_factory=dict)
    # The text of every unquoted scalar as written, by path (``NO``, ``3.10``, ``2026-13-01``).
    plain: dict[Path, str] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> Position:
        """Where ``path`` stands; for a path that is not in the file, where its nearest parent stands."""
        table = self.keys if key else self.values
        for length in range(len(path), -1, -1):
            prefix = path[:length]
            if prefix in table:
                return table[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return Position(1, 1)


class SourceError(Exception):
    """The text is not YAML at all; carries the place the parser gave up."""

    def __init__(self, message: str, position: Position):
        super().__init__(message)
        self.message = message
        self.position = position


def read_source(text: str, filename: str = "<protocol>") -> Source:
    """Parse ``text``; raise SourceError, at the place and in plain words, when it is not YAML."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        source = Source(filename=filename, text=text, data=None)
        if node is not None:
            source.data = _Builder(loader, source).build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        raise SourceError(f"not valid YAML: {_explain(exc, text)}", position) from None
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors such as bad bytes
        raise SourceError(f"not valid YAML: {exc}", Position(1, 1)) from None
    finally:
        loader.dispose()
    return source


def _explain(exc: yaml.MarkedYAMLError, text: str) -> str:
    """PyYAML's message, said the way a person editing the file needs to hear it."""
    problem = exc.problem or exc.context or "this is not valid YAML"
    context = exc.context or ""
    mark = exc.problem_mark
    char = _char_at(text, mark)
    opened = ""
    if exc.context_mark is not None:
        opened = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
    if char == "\t" or "tab character" in problem:
        return "a tab character; YAML indents with spaces only, so replace the tab with spaces"
    if "flow sequence" in context:
        return f"the [ list opened at {opened} is not closed: a ',' or ']' is missing"
    if "flow mapping" in context:
        return f"the {{ mapping opened at {opened} is not closed: a ',' or '}}' is missing"
    if "quoted scalar" in context and "end of stream" in problem:
        return f"the quoted text that starts at {opened} has no closing quote"
    if "unknown escape character" in problem:
        return (
            "a backslash in double quotes starts an escape such as \\n; write two backslashes "
            "(\"\\\\d\") or use single quotes ('\\d')"
        )
    if "mapping values are not allowed" in problem:
        return "a ': ' inside a value; put the value in quotes if it contains a colon"
    if "did not find expected key" in problem:
        return f"this line is not indented like the keys of the mapping that starts at {opened}"
    if "expected '-' indicator" in problem:
        return f"this line is not indented like the items of the list that starts at {opened}"
    if "cannot start any token" in problem and char:
        return f"'{char}' cannot start a value; put the value in quotes"
    if "constructor for the tag" in problem:
        tag = problem.rsplit(" ", 1)[-1].replace("tag:yaml.org,2002:", "!!")
        return f"the tag {tag} is not allowed; a protocol file uses plain YAML values"
    if "undefined alias" in problem:
        return "an alias (*name) that refers to no anchor (&name)"
    if "another document" in problem:
        return "a second YAML document (after a '---' line); a protocol file is a single document"
    if "unhashable key" in problem:
        return "a key must be a plain word"
    return f"{problem} ({context} at {opened})" if context and opened else problem


def _char_at(text: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return ""
    lines = text.splitlines()
    if mark.line >= len(lines) or mark.column >= len(lines[mark.line]):
        return ""
    return lines[mark.line][mark.column]


class _Builder:
    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, source: Source):
        self.loader = loader
        self.source = source

    def build(self, node: yaml.Node, path: Path) -> object:
        self.source.values[path] = _position(node)
        if isinstance(node, yaml.MappingNode):
            result: dict[object, object] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SourceError("YAML merge keys (<<) are not supported", _position(key_node))
                key = self._construct(key_node)
                if isinstance(key, (list, dict)):
                    raise SourceError("a key must be a plain word", _position(key_node))
                # Mapping keys are always strings in a path; list indices are ints.
                child = (*path, str(key))
                if key in result:
                    self.source.duplicate_keys.append((child, _position(key_node)))
                    self.source.first_keys.setdefault(child, self.source.keys[child])
                self.source.keys[child] = _position(key_node)
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and not node.style:  # None, or "" from the C loader
            self.source.plain[path] = node.value
        return self._construct(node)

    def _construct(self, node: yaml.Node) -> object:
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError:
            # A plain scalar that YAML takes for a date but is none (2026-13-01): keep the text,
            # and the schema says what is wrong with it where a date is expected.
            return node.value


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)
