"""Query strings as (name, value) pairs, and cleaned values back as query strings.

What the declarations, their adapters and the page/socket gate share: the
split between marimo's own parameters and the notebook's, and
:class:`Checked`, the outcome of checking a query.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..marimo.protocol import FRONTEND_PARAMS

Pairs = list[tuple[str, str]]


def parse_query(query: str | bytes) -> Pairs:
    """A query string as (name, value) pairs; bad bytes never raise."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    return parse_qsl(query, keep_blank_values=True)


def split_marimo(pairs: Iterable[tuple[str, str]]) -> tuple[Pairs, Pairs]:
    """(marimo's own pairs, the user's pairs), each in their original order."""
    own: Pairs = []
    user: Pairs = []
    for key, value in pairs:
        (own if key in FRONTEND_PARAMS else user).append((key, value))
    return own, user


def last_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each name's last value: what marimo's frontend forwards to the socket."""
    return dict(pairs)


@dataclass
class Checked:
    """The outcome of checking a query against a notebook's parameters."""

    #: ``{field: [messages]}``; empty when the query is valid.
    errors: dict[str, list[str]]
    #: The canonical user pairs (declared fields, defaults filled, then any
    #: passed unknown names); empty when invalid.
    pairs: Pairs = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def query(self) -> str:
        return urlencode(self.pairs, doseq=True)


def encode_value(value: Any) -> list[str]:
    """A cleaned value as the query strings that parse back to it."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [v for item in items for v in encode_value(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, enum.Enum):
        return encode_value(value.value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return [value.isoformat()]
    return [str(value)]
