"""How the audit log names people, customers and other rows: by kind and id, never by their data.

An entry says "person #3" and "customer #17", never a name, an address or a title someone
typed: erasing a person's or a customer's data later leaves the signed chain intact, and the
log holds nothing to erase. The log page puts the current names back at display time
(``names_for``), for readers who may see them; the stored entry never changes.

The audit app stands below the apps whose rows it names (floors: docs/architecture.md), so an
app above registers how to name its own rows (``register_names``) in its ``AppConfig.ready``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# "person #3", "customer #17": the form ``ref`` writes and the log page resolves.
REF = re.compile(r"\b(person|customer) #(\d+)\b")


def ref(thing) -> str:
    """``kind #id`` for a saved row (``person #3``, ``customer #17``, ``macro #4``); "system" for
    the desk itself (None, or something with no id)."""
    pk = getattr(thing, "pk", None)
    if thing is None or pk is None:
        return "system"
    meta = getattr(thing, "_meta", None)
    kind = meta.model_name if meta is not None else type(thing).__name__.lower()
    return f"{kind} #{pk}"


# kind -> (request, ids) -> {id: name}; only the names this reader may see.
Resolver = Callable[[object, set[int]], dict[int, str]]
_resolvers: dict[str, Resolver] = {}


def register_names(kind: str, resolver: Resolver) -> None:
    """How the log page names rows of ``kind`` for a reader (an app's ``ready()`` calls it)."""
    _resolvers[kind] = resolver


def names_for(request, texts: Iterable[str]) -> dict[tuple[str, int], str]:
    """The current names of the people and customers the texts name by id, that the reader may see."""
    wanted: dict[str, set[int]] = {}
    for text in texts:
        for kind, number in REF.findall(text or ""):
            wanted.setdefault(kind, set()).add(int(number))
    names: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        resolver = _resolvers.get(kind)
        if resolver is None:
            continue
        for pk, name in resolver(request, ids).items():
            names[(kind, pk)] = name
    return names


def with_names(text: str, names: dict[tuple[str, int], str]) -> str:
    """``text`` with each known ``person #3`` shown as ``Dana Reyes (person #3)``."""

    def named(match: re.Match) -> str:
        name = names.get((match[1], int(match[2])))
        return f"{name} ({match[0]})" if name else match[0]

    return REF.sub(named, text or "")


def people_names(request, ids: set[int]) -> dict[int, str]:
    """People's names for readers of the log (``audit.view``: they run the desk's team)."""
    from django.contrib.auth import get_user_model

    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "name"))


register_names("person", people_names)


# Free text that reaches the log from outside (a mail server's diagnostic, a quarantine reason
# quoting a header, a note typed about a sender) may quote an address; the log keeps the text
# without it.
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+\.[A-Za-z]{2,}")


def without_addresses(text: str) -> str:
    """``text`` with every email address replaced by ``[address]``."""
    return _ADDRESS.sub("[address]", text or "")


def without_names(text: str, *names: str) -> str:
    """``text`` without the words of ``names`` (a customer's name quoted in a reply check's
    objection, or in the reason an agent gave) nor any email address."""
    for name in names:
        for word in sorted(set((name or "").split()), key=len, reverse=True):
            if len(word) > 1:
                text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", "[name]", text, flags=re.IGNORECASE)
    return without_addresses(text)
