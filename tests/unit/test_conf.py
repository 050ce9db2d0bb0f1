"""notebook_host.conf: NOTEBOOK_HOST laid over defaults, cached, hooks imported lazily."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from notebook_host import conf
from notebook_host.conf import DEFAULTS, OPTION_KEYS, get_config, get_hook
from notebook_host.userinfo import default_user_info
from tests.support import hooks


def test_defaults_when_setting_is_empty() -> None:
    with override_settings(NOTEBOOK_HOST={}):
        config = get_config()
    assert config == DEFAULTS
    assert config["DEFAULT_ACCESS"] == "login"
    assert config["INCLUDE_CODE"] is False
    assert config["SESSION_TTL"] == 120
    assert config["SKEW_PROTECTION"] is True
    assert config["ASSET_URL"] is None
    assert config["USER_INFO"] == "notebook_host.userinfo.default_user_info"
    assert config["REQUEST_META"] is None
    assert config["SHUTDOWN_TIMEOUT"] == 3.0


def test_defaults_when_setting_is_none() -> None:
    with override_settings(NOTEBOOK_HOST=None):
        assert get_config() == DEFAULTS


def test_option_keys_are_known_settings() -> None:
    assert set(OPTION_KEYS) <= set(DEFAULTS)
    assert "USER_INFO" not in OPTION_KEYS
    assert "DEFAULT_ACCESS" not in OPTION_KEYS


def test_test_settings_are_laid_over_defaults() -> None:
    config = get_config()
    assert config["SESSION_TTL"] == 30  # tests/projects/default/settings.py
    assert config["REQUEST_META"] == "tests.support.hooks.request_meta"
    assert config["QUIET"] is False  # default, not named in tests/projects/default/settings.py


def test_get_config_is_cached() -> None:
    assert get_config() is get_config()


def test_override_settings_resets_the_cache() -> None:
    before = get_config()
    assert before["SESSION_TTL"] == 30
    with override_settings(NOTEBOOK_HOST={"SESSION_TTL": 5, "QUIET": True}):
        inside = get_config()
        assert inside["SESSION_TTL"] == 5
        assert inside["QUIET"] is True
        # Keys not named keep their defaults.
        assert inside["DEFAULT_ACCESS"] == "login"
        assert inside["REQUEST_META"] is None
    after = get_config()
    assert after["SESSION_TTL"] == 30
    assert after["QUIET"] is False


def test_settings_fixture_resets_the_cache(settings) -> None:
    assert get_config()["SESSION_TTL"] == 30
    settings.NOTEBOOK_HOST = {"SESSION_TTL": 7}
    assert get_config()["SESSION_TTL"] == 7


def test_other_setting_changes_keep_the_cache() -> None:
    cached = get_config()
    with override_settings(DEBUG=not cached):
        assert get_config() is cached


def test_unknown_key_raises_naming_the_key() -> None:
    with (
        override_settings(NOTEBOOK_HOST={"SESION_TTL": 5, "QUIET": True}),
        pytest.raises(ImproperlyConfigured, match="SESION_TTL") as excinfo,
    ):
        get_config()
    message = str(excinfo.value)
    assert "NOTEBOOK_HOST" in message
    # Known keys are listed to help fix the typo; the valid key is not blamed.
    assert "SESSION_TTL" in message
    assert "unknown key(s): SESION_TTL." in message


def test_several_unknown_keys_are_all_named() -> None:
    with (
        override_settings(NOTEBOOK_HOST={"B_KEY": 1, "A_KEY": 2}),
        pytest.raises(ImproperlyConfigured, match="unknown key\\(s\\): A_KEY, B_KEY"),
    ):
        get_config()


def test_lowercase_key_is_unknown() -> None:
    with (
        override_settings(NOTEBOOK_HOST={"session_ttl": 5}),
        pytest.raises(ImproperlyConfigured, match="session_ttl"),
    ):
        get_config()


def test_get_hook_imports_dotted_path() -> None:
    assert get_hook("REQUEST_META") is hooks.request_meta
    assert get_hook("USER_INFO") is default_user_info


def test_get_hook_none_is_none() -> None:
    with override_settings(NOTEBOOK_HOST={}):
        assert get_hook("REQUEST_META") is None


def test_get_hook_returns_callables_as_given() -> None:
    def hook(user):
        return {}

    with override_settings(NOTEBOOK_HOST={"USER_INFO": hook}):
        assert get_hook("USER_INFO") is hook


def test_get_hook_import_is_reset_with_the_setting() -> None:
    assert get_hook("REQUEST_META") is hooks.request_meta
    with override_settings(NOTEBOOK_HOST={"REQUEST_META": "tests.support.hooks.HeaderMiddleware"}):
        assert get_hook("REQUEST_META") is hooks.HeaderMiddleware
    assert get_hook("REQUEST_META") is hooks.request_meta
    assert conf._import_hook.cache_info().currsize >= 1


@pytest.mark.parametrize(
    "dotted",
    [
        "tests.support.hooks.no_such_hook",  # module exists, attribute does not
        "tests.no_such_module.hook",  # module does not exist
        "nodots",  # not a dotted path at all
    ],
)
def test_get_hook_bad_path_raises_improperly_configured(dotted: str) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"REQUEST_META": dotted}),
        pytest.raises(ImproperlyConfigured) as excinfo,
    ):
        get_hook("REQUEST_META")
    message = str(excinfo.value)
    assert "REQUEST_META" in message
    assert dotted in message
    assert isinstance(excinfo.value.__cause__, ImportError)


@pytest.mark.parametrize("value", [3, ["tests.support.hooks.request_meta"]])
def test_get_hook_non_string_value_raises_improperly_configured(value: object) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"REQUEST_META": value}),
        pytest.raises(ImproperlyConfigured, match="REQUEST_META"),
    ):
        get_hook("REQUEST_META")
