"""The form and Pydantic adapters: cleaning, canonical queries, field schemas."""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import marimo
import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel, Field

from devtools.params_forms import ItemFilter, ItemModel, Region
from notebook_host.marimo.protocol import FRONTEND_PARAMS as MARIMO_PARAMS
from notebook_host.params.declarations import DirectoryParamsMap, NotebookParams
from notebook_host.params.query import parse_query, split_marimo
from tests.support.paths import ROOT

BOTH = [ItemFilter, ItemModel]


def check(source, query: str, **kwargs):
    return NotebookParams(source, **kwargs).check(parse_query(query))


@pytest.mark.parametrize("source", BOTH)
class TestBothAdapters:
    def test_defaults_fill_an_empty_query(self, source) -> None:
        assert check(source, "").query == "limit=100&offset=0&order_by=created_at"

    def test_declared_order_and_repeated_values(self, source) -> None:
        checked = check(source, "tags=b&limit=5&tags=a")
        assert checked.pairs == [
            ("limit", "5"),
            ("offset", "0"),
            ("order_by", "created_at"),
            ("tags", "b"),
            ("tags", "a"),
        ]

    def test_blank_values_take_the_default(self, source) -> None:
        assert check(source, "limit=&offset=").query == "limit=100&offset=0&order_by=created_at"

    def test_a_blank_last_value_takes_the_default(self, source) -> None:
        # Found by tests/live/test_params_fuzz_live.py: the canonical query must check to itself.
        checked = check(source, "limit=0&limit=")
        assert checked.query == "limit=100&offset=0&order_by=created_at"
        assert check(source, checked.query).pairs == checked.pairs

    def test_a_single_field_takes_the_last_value(self, source) -> None:
        # As marimo's frontend does on the socket URL, and Django's QueryDict.
        assert check(source, "limit=5&limit=7").pairs[0] == ("limit", "7")

    def test_errors_name_each_field(self, source) -> None:
        checked = check(source, "limit=0&offset=x&order_by=name&tags=z")
        assert not checked.valid
        assert sorted(checked.errors) == ["limit", "offset", "order_by", "tags"]
        assert all(isinstance(m, str) for ms in checked.errors.values() for m in ms)
        assert checked.pairs == []

    def test_bounds(self, source) -> None:
        assert check(source, "limit=100").valid
        assert not check(source, "limit=101").valid
        assert not check(source, "offset=-1").valid

    def test_unknown_names_by_flag(self, source) -> None:
        assert check(source, "limt=5").errors == {"limt": ["Unknown parameter."]}
        assert check(source, "limt=5", unknown="drop").query == check(source, "").query
        assert check(source, "limt=5", unknown="pass").pairs[-1] == ("limt", "5")

    def test_canonical_is_a_fixed_point(self, source) -> None:
        params = NotebookParams(source)
        first = params.check(parse_query("tags=c&tags=a&offset=3"))
        assert params.check(first.pairs).pairs == first.pairs

    def test_has_multiple(self, source) -> None:
        assert NotebookParams(source).has_multiple

    def test_schemas_document_type_bounds_choices_default_help(self, source) -> None:
        schemas = {p["name"]: p for p in NotebookParams(source).schemas()}
        assert list(schemas) == ["limit", "offset", "order_by", "tags"]
        limit = schemas["limit"]
        assert limit["in"] == "query"
        assert limit["required"] is False
        assert limit["description"] == "Rows per page."
        assert limit["schema"]["type"] == "integer"
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
        assert limit["schema"]["default"] == 100
        assert schemas["order_by"]["schema"]["enum"] == ["created_at", "updated_at"]
        assert schemas["order_by"]["schema"]["default"] == "created_at"
        tags = schemas["tags"]
        assert tags["schema"]["type"] == "array"
        assert tags["schema"]["items"]["enum"] == ["a", "b", "c"]
        assert (tags["style"], tags["explode"]) == ("form", True)


class Typed(forms.Form):
    day = forms.DateField(initial=datetime.date(2024, 1, 31), required=False)
    flag = forms.BooleanField(required=False, initial=False)
    ratio = forms.FloatField(min_value=0.0, max_value=1.0, required=False)
    name = forms.CharField(max_length=5, required=True)


class TestFormDetails:
    def test_types_round_trip(self) -> None:
        checked = check(Typed, "name=ab&flag=true&ratio=0.5")
        assert checked.pairs == [
            ("day", "2024-01-31"),
            ("flag", "true"),
            ("ratio", "0.5"),
            ("name", "ab"),
        ]
        assert check(Typed, checked.query).pairs == checked.pairs

    def test_required_field(self) -> None:
        assert "name" in check(Typed, "").errors
        assert "name" in check(Typed, "name=toolong").errors

    def test_schema_types(self) -> None:
        schemas = {p["name"]: p for p in NotebookParams(Typed).schemas()}
        assert schemas["day"]["schema"] == {
            "type": "string",
            "format": "date",
            "default": "2024-01-31",
        }
        assert schemas["flag"]["schema"]["type"] == "boolean"
        assert schemas["ratio"]["schema"] == {"type": "number", "minimum": 0.0, "maximum": 1.0}
        assert schemas["name"]["schema"] == {"type": "string", "maxLength": 5}
        assert schemas["name"]["required"] is True


class TestPydanticDetails:
    def test_model_validators_and_descriptions(self) -> None:
        class Window(BaseModel):
            start: int = Field(0, description="First row.")
            end: int = 10

        assert check(Window, "start=3").query == "start=3&end=10"
        assert check(Window, "start=x").errors["start"]
        schemas = {p["name"]: p for p in NotebookParams(Window).schemas()}
        assert schemas["start"]["description"] == "First row."
        assert "description" not in schemas["start"]["schema"]

    def test_a_form_does_not_import_pydantic(self) -> None:
        """Forms work without Pydantic: it is imported only for a model."""
        code = (
            "import sys, django, os;"
            "os.environ['DJANGO_SETTINGS_MODULE']='tests.projects.default.settings';django.setup();"
            "from notebook_host.params.declarations import NotebookParams;"
            "from django import forms\n"
            "class F(forms.Form):\n    x = forms.IntegerField(required=False)\n"
            "NotebookParams(F).check([('x', '1')]);"
            "assert 'pydantic' not in sys.modules, 'pydantic imported'"
        )
        import subprocess

        root = ROOT
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr


class TestDeclarations:
    def test_dotted_path(self) -> None:
        params = NotebookParams("devtools.params_forms.ItemFilter")
        assert params.source is ItemFilter

    @pytest.mark.parametrize("bad", [object, "devtools.params_forms.Nope", 42, dict])
    def test_bad_declaration_fails_loudly(self, bad) -> None:
        with pytest.raises(ImproperlyConfigured, match="where-it-is"):
            NotebookParams(bad, where="where-it-is")

    def test_bad_unknown_flag(self) -> None:
        with pytest.raises(ImproperlyConfigured, match="unknown_params"):
            NotebookParams(ItemFilter, unknown="ignore")

    def test_directory_globs_callable_and_single(self) -> None:
        by_glob = DirectoryParamsMap(
            {"sales/*.py": Region, "*.py": ItemFilter}, unknown="reject", where="d"
        )
        assert by_glob.for_path("sales/q3.py").source is Region
        assert by_glob.for_path("other.py").source is ItemFilter
        assert by_glob.for_path("notes.txt") is None
        by_call = DirectoryParamsMap(
            lambda rel: Region if rel.startswith("r") else None, unknown="drop", where="d"
        )
        assert by_call.for_path("r.py").source is Region
        assert by_call.for_path("r.py").unknown == "drop"
        assert by_call.for_path("x.py") is None
        single = DirectoryParamsMap(ItemModel, unknown="pass", where="d")
        assert single.for_path("any/thing.py").source is ItemModel


class TestMarimoParams:
    def test_split_keeps_order(self) -> None:
        own, user = split_marimo(parse_query("kiosk=true&limit=5&session_id=s1&tags=a"))
        assert own == [("kiosk", "true"), ("session_id", "s1")]
        assert user == [("limit", "5"), ("tags", "a")]

    def test_every_name_the_pinned_frontend_reads_is_passed_through(self) -> None:
        """marimo's frontend keeps its URL parameter names in one table."""
        assets = Path(marimo.__file__).parent / "_static" / "assets"
        table = None
        for script in assets.glob("utils-*.js"):
            match = re.search(r"\{showCode:`show-code`[^}]*\}", script.read_text())
            if match:
                table = match.group(0)
        assert table, "marimo's URL parameter table moved: update MARIMO_PARAMS"
        names = set(re.findall(r":`([^`]+)`", table))
        assert {"session_id", "kiosk", "show-chrome", "view-as", "access_token"} <= names
        assert names <= MARIMO_PARAMS


def test_url_helpers_check_declarations_at_import() -> None:
    from notebook_host.urls import notebook, notebook_directory

    with pytest.raises(ImproperlyConfigured, match="unknown_params only applies"):
        notebook("x/", "x.py", access="public", unknown_params="pass")
    with pytest.raises(ImproperlyConfigured, match=r"notebook\('x/'.*params must be"):
        notebook("x/", "x.py", access="public", params=dict)
    with pytest.raises(ImproperlyConfigured, match="unknown_params must be"):
        notebook_directory("d/", ".", access="public", params=Region, unknown_params="nope")
    pattern = notebook("x/", "x.py", access="public", params=Region, unknown_params="drop")
    spec = pattern.callback.target
    assert spec.params.source is Region and spec.params.unknown == "drop"
