"""The tag's options (height, loading, theme, query): each checked, with a sentence when wrong."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict

from ..params.query import Pairs

#: The tag's own keyword arguments; every other one goes to ``reverse()``.
OPTIONS = ("query", "height", "title", "loading", "theme")
LOADING = ("lazy", "eager")
#: marimo's page themes (its own ``?theme=`` query parameter).
THEMES = ("light", "dark", "system")
#: The frame's height before an auto-sized page reports its own.
AUTO_INITIAL_HEIGHT = "150px"
LENGTH = re.compile(
    r"^(?:0|\d+(?:\.\d+)?(?:px|em|rem|ex|ch|vh|vw|vmin|vmax|svh|lvh|dvh|%|cm|mm|in|pt|pc))$"
)


class EmbedConfigError(ImproperlyConfigured):
    """A tag whose arguments cannot work (bad option, not a notebook page)."""


def check_height(value: Any) -> str:
    """ "auto", a CSS length, or a number of pixels; else EmbedConfigError."""
    if isinstance(value, bool):
        raise EmbedConfigError(f"{{% notebook %}}: height={value!r} is not a length.")
    if isinstance(value, int | float) and value >= 0:
        return f"{value}px"
    if isinstance(value, str) and (value == "auto" or LENGTH.match(value.strip())):
        return value.strip()
    raise EmbedConfigError(
        f'{{% notebook %}}: height={value!r}: use "auto", a CSS length ("480px", "60vh") '
        "or a number of pixels."
    )


def check_loading(value: Any) -> str:
    if value not in LOADING:
        raise EmbedConfigError(f"{{% notebook %}}: loading={value!r}: use one of {LOADING}.")
    return cast(str, value)


def check_theme(value: Any) -> str:
    if value not in THEMES:
        raise EmbedConfigError(f"{{% notebook %}}: theme={value!r}: use one of {THEMES}.")
    return cast(str, value)


#: The options checked as soon as their value is known (a literal: at compile time).
CHECKS = {"height": check_height, "loading": check_loading, "theme": check_theme}


def query_pairs(query: Any) -> Pairs:
    """A ``query=`` mapping as (name, value) pairs; lists give repeated names."""
    if query is None or query == "":
        return []
    if isinstance(query, QueryDict):
        return [(k, v) for k, values in query.lists() for v in values]
    if not isinstance(query, Mapping):
        raise EmbedConfigError(f"{{% notebook %}}: query must be a dict, got {query!r}.")
    pairs: Pairs = []
    for name, value in query.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, bool):
                text = "true" if item else "false"
            elif isinstance(item, datetime.date | datetime.time):
                text = item.isoformat()
            else:
                text = str(item)
            pairs.append((str(name), text))
    return pairs
