"""Per-notebook options and their validation at URLconf import time."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .conf import OPTION_KEYS, get_config

_TYPES: dict[str, tuple[type, ...]] = {
    "include_code": (bool,),
    "session_ttl": (int,),
    "show_tracebacks": (bool,),
    "redirect_console_to_browser": (bool,),
    "html_head": (str,),
    "quiet": (bool,),
    "skew_protection": (bool,),
    "asset_url": (str, type(None)),
}


@dataclass(frozen=True)
class NotebookOptions:
    """The marimo options one notebook is served with."""

    include_code: bool
    session_ttl: int
    show_tracebacks: bool
    redirect_console_to_browser: bool
    html_head: str
    quiet: bool
    skew_protection: bool
    asset_url: str | None

    @classmethod
    def resolve(cls, overrides: dict[str, Any]) -> NotebookOptions:
        """Lay ``overrides`` over the global defaults of NOTEBOOK_HOST."""
        config = get_config()
        values = {key.lower(): config[key] for key in OPTION_KEYS}
        values.update(overrides)
        if values["asset_url"] is None:
            from .static import default_asset_url

            values["asset_url"] = default_asset_url()
        return cls(**values)


def validate_options(where: str, options: dict[str, Any]) -> dict[str, Any]:
    """Fail at startup, naming the notebook, on an unknown or mistyped option."""
    known = {f.name for f in fields(NotebookOptions)}
    for key, value in options.items():
        if key not in known:
            raise ImproperlyConfigured(
                f"{where}: unknown option {key!r}. Known options: {', '.join(sorted(known))}."
            )
        expected = _TYPES[key]
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            names = " or ".join(t.__name__ for t in expected)
            raise ImproperlyConfigured(f"{where}: option {key!r} must be {names}, got {value!r}.")
        if key == "session_ttl" and value < 0:
            raise ImproperlyConfigured(f"{where}: session_ttl must be >= 0.")
    return options
