"""notebook_host.targets.options: per-notebook options over NOTEBOOK_HOST, validated at import."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from notebook_host.conf import OPTION_KEYS, validate_options
from notebook_host.targets.options import NotebookOptions

WHERE = "notebook('sales/', 'notebooks/sales.py')"


def test_option_fields_mirror_option_keys() -> None:
    names = {f.name for f in dataclasses.fields(NotebookOptions)}
    assert names == {key.lower() for key in OPTION_KEYS}


def test_resolve_without_overrides_uses_settings_and_defaults() -> None:
    options = NotebookOptions.resolve({})
    assert options == NotebookOptions(
        include_code=False,
        session_ttl=30,  # tests/projects/default/settings.py
        show_tracebacks=False,
        redirect_console_to_browser=False,
        html_head="",
        quiet=False,
        skew_protection=True,
        asset_url="/static/marimo/0.25.2",  # the staticfiles finder is installed
    )


def test_resolve_lays_overrides_over_defaults() -> None:
    options = NotebookOptions.resolve({"include_code": True, "session_ttl": 5})
    assert options.include_code is True
    assert options.session_ttl == 5
    # Untouched options keep the global value.
    assert options.skew_protection is True
    assert options.html_head == ""


def test_resolve_follows_notebook_host_setting() -> None:
    with override_settings(
        NOTEBOOK_HOST={
            "QUIET": True,
            "SESSION_TTL": 0,
            "ASSET_URL": "https://cdn.example.com/marimo/{version}/",
            "HTML_HEAD": "<meta name=x>",
        }
    ):
        options = NotebookOptions.resolve({})
        assert options.quiet is True
        assert options.session_ttl == 0
        assert options.asset_url == "https://cdn.example.com/marimo/{version}/"
        assert options.html_head == "<meta name=x>"
        overridden = NotebookOptions.resolve({"quiet": False, "asset_url": None})
        assert overridden.quiet is False
        assert overridden.asset_url == "/static/marimo/0.25.2"  # None: automatic
        assert overridden.session_ttl == 0


def test_resolve_does_not_mutate_overrides() -> None:
    overrides = {"quiet": True}
    NotebookOptions.resolve(overrides)
    assert overrides == {"quiet": True}


def test_options_are_frozen() -> None:
    options = NotebookOptions.resolve({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.quiet = True  # type: ignore[misc]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"include_code": True},
        {"session_ttl": 0},
        {"session_ttl": 3600},
        {"show_tracebacks": True, "redirect_console_to_browser": True, "quiet": True},
        {"html_head": "<script></script>"},
        {"skew_protection": False},
        {"asset_url": None},
        {"asset_url": "https://cdn.example.com/{version}/"},
    ],
)
def test_validate_accepts_valid_options(options: dict) -> None:
    assert validate_options(WHERE, options) is options


@pytest.mark.parametrize("key", ["include_cod", "SESSION_TTL", "access", "name"])
def test_validate_rejects_unknown_option_naming_the_notebook(key: str) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        validate_options(WHERE, {key: True})
    message = str(excinfo.value)
    assert message.startswith(f"{WHERE}: unknown option {key!r}")
    # Lists the known options so the typo is easy to fix.
    assert "include_code" in message
    assert "session_ttl" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("session_ttl", "5", "int"),
        ("session_ttl", 1.5, "int"),
        ("session_ttl", None, "int"),
        ("session_ttl", True, "int"),  # bool is an int subclass, still refused
        ("include_code", 1, "bool"),
        ("include_code", "yes", "bool"),
        ("include_code", None, "bool"),
        ("show_tracebacks", 0, "bool"),
        ("redirect_console_to_browser", "true", "bool"),
        ("quiet", 1, "bool"),
        ("skew_protection", "False", "bool"),
        ("html_head", None, "str"),
        ("html_head", b"<meta>", "str"),
        ("asset_url", 3, "str or NoneType"),
    ],
)
def test_validate_rejects_wrong_types_naming_the_notebook(
    key: str, value: object, expected: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        validate_options(WHERE, {key: value})
    message = str(excinfo.value)
    assert message.startswith(WHERE)
    assert repr(key) in message
    assert f"must be {expected}" in message
    assert repr(value) in message


@pytest.mark.parametrize("ttl", [-1, -120])
def test_validate_rejects_negative_session_ttl(ttl: int) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        validate_options(WHERE, {"session_ttl": ttl})
    message = str(excinfo.value)
    assert message.startswith(WHERE)
    assert "session_ttl must be >= 0" in message


def test_validate_reports_first_bad_option_among_good_ones() -> None:
    with pytest.raises(ImproperlyConfigured, match="'quiet'"):
        validate_options(WHERE, {"include_code": True, "quiet": "no", "session_ttl": 1})
