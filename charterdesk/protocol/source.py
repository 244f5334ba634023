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

Aliases (``*name``) are expanded, each use placed where the alias stands, and every use
counts again: a few lines of nested aliases can stand for billions of values (an "alias
bomb"). Before anything is built, the expanded size is worked out, and a file that passes
``MAX_VALUES`` is refused at the alias that takes it there; an alias used inside its own
anchor (which would never end) is refused where it stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent

try:  # the C parser is much faster when libyaml is present; both give the same events
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]

# A real protocol has a few thousand values; the spec's example has about 700.
MAX_VALUES = 200_000


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
    loader = _AliasLoader(text)
    try:
        node = loader.get_single_node()
        source = Source(filename=filename, text=text, data=None)
        if node is not None:
            _measure(node)
            source.data = _Builder(loader, source).build(node, ())
    except RecursionError:
        raise SourceError(
            "the file nests lists or mappings too deeply to read; a protocol needs only a few levels",
            Position(1, 1),
        ) from None
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


@dataclass(frozen=True, slots=True)
class _Alias:
    """A use of an anchored node (``*name``), and where the use stands: the composer alone
    would hand back the anchored node itself, whose place is the anchor's."""

    node: yaml.Node
    anchor: str
    position: Position


class _AliasLoader(_Loader):
    """The safe loader, composing in Python so that every alias keeps its own place.

    The parser (the part that reads the text) is still libyaml's when present. The composer
    is PyYAML's own, with one change: an alias becomes an ``_Alias`` wrapping the anchored
    node, instead of that node itself.
    """

    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def get_single_node(self) -> yaml.Node | None:
        self.anchors: dict[str, yaml.Node] = {}
        return Composer.get_single_node(self)  # type: ignore[arg-type]

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | _Alias:
        if self.check_event(AliasEvent):
            event = cast(AliasEvent, self.peek_event())
            node = cast(yaml.Node, Composer.compose_node(self, parent, index))  # type: ignore[arg-type]
            mark = event.start_mark
            position = Position(mark.line + 1, mark.column + 1) if mark is not None else _position(node)
            return _Alias(node, str(event.anchor), position)
        return cast(yaml.Node, Composer.compose_node(self, parent, index))  # type: ignore[arg-type]


def _measure(root: yaml.Node | _Alias) -> None:
    """Refuse, before building anything, a file whose aliases make it endless or enormous.

    Each node's expanded size (its values, each alias counted as all that it stands for) is
    worked out once; a walk in file order then adds them up and stops at the alias (or value)
    that takes the total past ``MAX_VALUES``: the place where the author wrote the blow-up.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node | _Alias) -> int:
        if isinstance(node, _Alias):
            if id(node.node) in open_nodes:
                raise SourceError(
                    f"the alias *{node.anchor} is used inside its own anchor &{node.anchor}, so the "
                    f"value would never end; write the values out instead",
                    node.position,
                )
            return size(node.node)
        known = sizes.get(id(node))
        if known is None:
            open_nodes.add(id(node))
            # Capped: a few nested aliases stand for more values than a number should carry.
            known = min(1 + sum(size(child) for child in _children(node)), MAX_VALUES + 1)
            open_nodes.discard(id(node))
            sizes[id(node)] = known
        return known

    total = 0

    def walk(node: yaml.Node | _Alias) -> None:
        nonlocal total
        if isinstance(node, _Alias):
            total += size(node)
            if total > MAX_VALUES:
                raise SourceError(
                    f"the file expands to more than {MAX_VALUES:,} values (YAML aliases such as "
                    f"*{node.anchor} used over and over?); write the values out",
                    node.position,
                )
            return
        total += 1
        if total > MAX_VALUES:
            raise SourceError(
                f"the file has more than {MAX_VALUES:,} values; a protocol has a few thousand",
                _position(node),
            )
        for child in _children(node):
            walk(child)

    walk(root)


def _children(node: yaml.Node) -> list[yaml.Node | _Alias]:
    """The values directly inside ``node``: the items of a list, the values of a mapping."""
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [value for _, value in node.value]
    return []


class _Builder:
    """Plain data from a measured node tree, noting where each key and value stands."""

    def __init__(self, loader: _AliasLoader, source: Source):
        self.loader = loader
        self.source = source

    def build(self, node: yaml.Node | _Alias, path: Path) -> object:
        if isinstance(node, _Alias):
            # Built again at each use, and placed where the alias stands, not at the anchor.
            value = self.build(node.node, path)
            self.source.values[path] = node.position
            return value
        self.source.values[path] = _position(node)
        if isinstance(node, yaml.MappingNode):
            result: dict[object, object] = {}
            for key_item, value_node in node.value:
                key_node = key_item.node if isinstance(key_item, _Alias) else key_item
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SourceError("YAML merge keys (<<) are not supported", _position(key_node))
                if not isinstance(key_node, yaml.ScalarNode):
                    raise SourceError("a key must be a plain word", _place(key_item))
                key = self._construct(key_node)
                # Mapping keys are always strings in a path; list indices are ints.
                child = (*path, str(key))
                if key in result:
                    self.source.duplicate_keys.append((child, _place(key_item)))
                    self.source.first_keys.setdefault(child, self.source.keys[child])
                self.source.keys[child] = _place(key_item)
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


def _place(node: yaml.Node | _Alias) -> Position:
    """Where a node, or the alias that stands for one, is written."""
    return node.position if isinstance(node, _Alias) else _position(node)
