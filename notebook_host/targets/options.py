"""The marimo options one notebook is served with: its overrides over NOTEBOOK_HOST.

The option names and types are :data:`notebook_host.conf.OPTION_TYPES`;
they are validated when the URLconf is imported (``conf.validate_options``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..conf import OPTION_KEYS, get_config
from ..marimo.app import AppOptions
from ..marimo.frontend import default_asset_url


@dataclass(frozen=True)
class NotebookOptions(AppOptions):
    """The marimo options one notebook is served with."""

    @classmethod
    def resolve(cls, overrides: dict[str, Any]) -> NotebookOptions:
        """Lay ``overrides`` over the global defaults of NOTEBOOK_HOST."""
        config = get_config()
        values = {key.lower(): config[key] for key in OPTION_KEYS}
        values.update(overrides)
        if values["asset_url"] is None:
            values["asset_url"] = default_asset_url()
        return cls(**values)
